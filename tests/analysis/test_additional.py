"""The "additional" plan section and the slopes part: which values enter each model, and the plan checks."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ipafstudy import stats
from ipafstudy.analysis import slopes
from ipafstudy.analysis.additional import PartContext, run_additional
from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.analysis.study import _Notes
from ipafstudy.errors import InvalidOptionError

REF = Path(__file__).resolve().parents[1] / "reference"
START = dt.date(2022, 1, 1)


def _exposure(start: dt.date | None, end: dt.date | None) -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end)


def _cohort(rows: list[tuple[str, str, int, float]], exposures: dict, cutoff: dt.date | None = None):
    frame = pd.DataFrame(
        [(pid, code, START + dt.timedelta(days=d), d, v, "test") for pid, code, d, v in rows],
        columns=["patient_id", "outcome", "date", "days_from_start", "value", "source"],
    )
    return SimpleNamespace(observations=frame, exposures=exposures, data_cutoff_date=cutoff)


def test_default_plan_runs_every_part_and_parts_can_be_switched_off():
    plan = AnalysisPlan()
    assert plan.additional.slopes.enabled and plan.additional.slopes.change_point == 0
    off = plan_from_dict({"additional": {"slopes": {"enabled": False}}})
    assert not off.additional.slopes.enabled
    ctx = PartContext(pd.DataFrame(), off, None, _Notes())
    assert "slopes" not in run_additional(ctx).parts


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"slopes": {"outcomes": ["fvc_ml"]}}, "additional.slopes.outcomes"),
        ({"slopes": {"min_values": 1}}, "additional.slopes.min_values"),
        ({"slopes": {"bogus": 1}}, "additional.slopes.bogus: unknown key"),
        ({"power": {"outcome": "nope"}}, "additional.power.outcome"),
        ({"power": {"power": [0.3]}}, "additional.power.power"),
        ({"power": {"effect_fractions": [0]}}, "additional.power.effect_fractions"),
        ({"power": {"simulations": 10}}, "additional.power.simulations"),
    ],
)
def test_plan_problems_name_their_key(section, words):
    with pytest.raises(InvalidOptionError) as exc:
        plan_from_dict({"additional": section})
    assert words in str(exc.value)


def test_long_values_average_same_day_values_and_drop_off_treatment_values():
    cohort = _cohort(
        [("a", "crp", -400, 9.0), ("a", "crp", 0, 4.0), ("a", "crp", 0, 6.0), ("a", "crp", 100, 3.0),
         ("a", "crp", 200, 1.0),  # after the end of exposure (day 150): off treatment
         ("b", "crp", 10, 2.0), ("b", "esr", 10, 50.0), ("c", "crp", 5, 1.0)],
        {"a": _exposure(START, START + dt.timedelta(days=150)), "b": _exposure(START, None),
         "c": _exposure(None, None)},
        cutoff=START + dt.timedelta(days=30),
    )
    got = slopes.long_values(cohort, "crp")
    assert got["patient_id"].tolist() == ["a", "a", "a", "b"]  # c never started the drug
    assert got["days"].tolist() == [-400, 0, 100, 10]
    assert got["value"].tolist() == [9.0, 5.0, 3.0, 2.0]  # the two day-0 values averaged
    assert got["years"].iloc[0] == pytest.approx(-400 / 365.25)


def test_slopes_part_fits_the_windows_the_docs_describe():
    data = pd.read_csv(REF / "slopes_data.csv", comment="#")
    data = data[data["dataset"] == "unbalanced"]
    rows = [(str(r.id), "crp", round(r.time * 365.25), float(r.value)) for r in data.itertuples()]
    cohort = _cohort(rows, {pid: _exposure(START, None) for pid in data["id"].astype(str)},
                     cutoff=START + dt.timedelta(days=5000))
    plan = plan_from_dict({"additional": {"slopes": {"outcomes": ["crp"]}}})
    result = slopes.run(PartContext(pd.DataFrame({"patient_id": ["x"]}), plan, cohort, _Notes()))
    (row,) = result.rows
    frame = pd.DataFrame(rows, columns=["patient_id", "outcome", "days", "value"])
    frame["years"] = frame["days"] / 365.25
    # overall: from the baseline window (90 days before the start) on, patients with at least 2 such values
    overall = frame[frame["days"] >= -90]
    overall = overall[overall.groupby("patient_id")["value"].transform("size") >= 2]
    expected = stats.slope_model(overall, value="value", time="years", subject="patient_id")
    assert row.overall.slope.estimate == pytest.approx(expected.slope.estimate, abs=1e-9)
    assert (row.n_patients_overall, row.n_values_overall) == (overall["patient_id"].nunique(), len(overall))
    # piecewise: every value, knot at the start
    piece = frame[frame.groupby("patient_id")["value"].transform("size") >= 2]
    expected = stats.slope_model(piece, value="value", time="years", subject="patient_id", change_point=0)
    assert row.piecewise.slope_difference.estimate == pytest.approx(expected.slope_difference.estimate, abs=1e-9)
    assert row.n_values_piecewise == len(piece) and row.n_values_piecewise > row.n_values_overall
    assert result.baseline_window_days == 90 and result.change_point == 0


def test_slopes_part_notes_an_outcome_it_cannot_fit():
    cohort = _cohort([("a", "crp", 0, 1.0), ("a", "crp", 30, 2.0)], {"a": _exposure(START, None)},
                     cutoff=START + dt.timedelta(days=100))
    plan = plan_from_dict({"additional": {"slopes": {"outcomes": ["crp"], "change_point": None}}})
    notes = _Notes()
    result = slopes.run(PartContext(pd.DataFrame(), plan, cohort, notes))
    assert result.rows[0].overall is None and result.rows[0].piecewise is None
    assert any("CRP slope: not computed" in n and "1 subject(s)" in n for n in notes.items)


def _power_data(changes: list[float], groups: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": [f"p{i:02d}" for i in range(len(changes))], "antibody_group": groups,
                         "hrct_total_change": changes})


def test_power_part_plans_for_the_observed_and_half_effect():
    from ipafstudy.analysis import power
    from ipafstudy.stats import power as pw

    changes = [-6.0, -4, -4, -3, -2, -2, -1, 0, 1, -5, -3, -2]
    groups = ["MSA"] * 7 + ["MAA"] * 5
    plan = plan_from_dict({"additional": {"power": {"simulations": 300}}})
    notes = _Notes()
    res = power.run(PartContext(_power_data(changes, groups), plan, None, notes))
    mean, sd = float(np.mean(changes)), float(np.std(changes, ddof=1))
    assert (res.mean_change, res.sd_change, res.n_changes) == (pytest.approx(mean), pytest.approx(sd), 12)
    assert [(s.fraction, s.power) for s in res.sizes] == [(1.0, 0.8), (1.0, 0.9), (0.5, 0.8), (0.5, 0.9)]
    for s in res.sizes:
        assert s.effect == pytest.approx(s.fraction * mean)
        assert s.t_test.n_per_arm == pw.t_test_n(s.effect, sd, s.power).n_per_arm
        centred = np.array(changes) - mean
        p = pw.superiority_probability(centred, centred + abs(s.effect))
        assert s.superiority == pytest.approx(p) and s.noether.n_per_arm == pw.noether_n(p, s.power).n_per_arm
        assert s.simulation.achieved_power >= s.power
    half = [s for s in res.sizes if s.fraction == 0.5]
    assert all(h.t_test.n_per_arm > s.t_test.n_per_arm for h, s in zip(half, res.sizes[:2], strict=True))
    sg = res.subgroup
    x, y = np.array(changes[:7]), np.array(changes[7:])
    pooled = math.sqrt((6 * x.var(ddof=1) + 4 * y.var(ddof=1)) / 10)
    assert sg.n == (7, 5) and sg.difference == pytest.approx(y.mean() - x.mean())
    assert sg.power_t_test == pytest.approx(pw.t_test_power_unequal(7, 5, y.mean() - x.mean(), pooled))
    assert pw.t_test_power_unequal(7, 5, sg.detectable_difference, pooled) == pytest.approx(0.8, abs=1e-9)
    # the curve holds both effects, t test and Noether, over n per arm
    assert {(c["method"], c["fraction"]) for c in res.curve.series} == {
        ("t test", 1.0), ("t test", 0.5), ("Wilcoxon-Mann-Whitney (Noether)", 1.0),
        ("Wilcoxon-Mann-Whitney (Noether)", 0.5)}
    assert res.curve.n[0] == 2 and list(res.curve.n) == sorted(set(res.curve.n))


@pytest.mark.parametrize(
    ("changes", "words"),
    [([-1.0, 2.0], "2 patients with a Total HRCT score change"),
     ([-2.0, -2.0, -2.0], "no spread"),
     ([-1.0, 1.0, 0.0], "a mean of 0")],
)
def test_power_part_says_why_it_cannot_plan(changes, words):
    from ipafstudy.analysis import power

    notes = _Notes()
    assert power.run(PartContext(_power_data(changes, ["MSA"] * len(changes)), AnalysisPlan(), None, notes)) is None
    assert any(words in n for n in notes.items), notes.items


def test_power_part_skips_the_subgroup_with_one_patient_in_a_group():
    from ipafstudy.analysis import power

    notes = _Notes()
    res = power.run(PartContext(_power_data([-3.0, -1, -2, -4], ["MSA", "MSA", "MSA", "MAA"]),
                                plan_from_dict({"additional": {"power": {"simulations": 200}}}), None, notes))
    assert res is not None and res.subgroup is None
    assert any("3 and 1 patients with a change" in n for n in notes.items)


def test_power_part_computes_subgroup_power_only_for_two_groups():
    from ipafstudy.analysis import power

    plan = plan_from_dict({"subgroup": {"groups": ["MSA", "MAA", "neither"]},
                           "additional": {"power": {"simulations": 200}}})
    notes = _Notes()
    data = _power_data([-3.0, -1, -2, -4, -5, 0, -2, -1, -3],
                       ["MSA", "MSA", "MSA", "MAA", "MAA", "MAA", "neither", "neither", "neither"])
    res = power.run(PartContext(data, plan, None, notes))
    assert res is not None and res.subgroup is None
    assert any("3 groups" in n for n in notes.items), notes.items
