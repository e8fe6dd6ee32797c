"""Kaplan-Meier figure: draws exactly the curves and numbers at risk it is given; saved deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from ipafstudy.reporting.figures import save_figure
from ipafstudy.reporting.survival_figure import KmCurve, kaplan_meier_plot
from ipafstudy.stats.survival import kaplan_meier


def curve(label, time, event, at):
    km = kaplan_meier(time, event)
    return KmCurve(label, km.time, km.surv, km.lower, km.upper, km.n_censor, km.n_at_risk(at))


AT = (0.0, 2.0, 4.0)
CURVES = [curve("Stopped", [1, 2, 2, 3, 4, 5], [0, 1, 0, 1, 1, 0], AT), curve("First AE", [0.5, 3, 4.5], [1, 1, 0], AT)]


def by_gid(fig):
    return {a.get_gid(): a for ax in fig.axes for a in [*ax.lines, *ax.collections, *ax.texts] if a.get_gid()}


def test_curves_steps_censor_marks_and_numbers_at_risk():
    fig = kaplan_meier_plot(CURVES, AT, x_label="Months")
    found = by_gid(fig)
    x, y = found["km:curve:0"].get_data()
    assert list(x) == [0.0, *CURVES[0].time] and list(y) == [1.0, *CURVES[0].surv]
    cx, _ = found["km:censor:0"].get_data()
    assert list(cx) == [1.0, 2.0, 5.0]  # the times with a censored patient
    assert [found[f"km:risk:0:{j}"].get_text() for j in range(3)] == ["6", "5", "2"]
    assert [found[f"km:risk:1:{j}"].get_text() for j in range(3)] == ["3", "2", "1"]
    assert "km:band:0" in found and "km:band:1" in found
    assert list(fig.axes[0].get_xticks()) == list(AT)


def test_saved_twice_byte_identical(tmp_path):
    for name in ("a", "b"):
        save_figure(kaplan_meier_plot(CURVES, AT, x_label="Months"), tmp_path / name)
    for ext in ("png", "svg"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()


def test_all_censored_curve_has_no_band():
    flat = curve("None", [1, 2], [0, 0], (0.0, 1.0))
    found = by_gid(kaplan_meier_plot([flat], (0.0, 1.0), x_label="Months"))
    assert "km:band:0" not in found and np.allclose(found["km:curve:0"].get_data()[1], 1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="no curve"):
        kaplan_meier_plot([], AT, x_label="Months")
    short = KmCurve("x", (1.0,), (0.5,), (0.1,), (0.9,), (0,), (1,))
    with pytest.raises(ValueError, match="unequal length"):
        kaplan_meier_plot([short], AT, x_label="Months")
