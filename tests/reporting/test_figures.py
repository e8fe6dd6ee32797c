"""Figures draw exactly the numbers they are given (made-up stats) and save deterministically."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import PathPatch

from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.figures import (
    FlowStep,
    box_caption,
    correlation_heatmap,
    flow_diagram,
    paired_boxplots,
    save_figure,
)


def by_gid(fig, gid):
    found = [a for a in fig.findobj() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist with gid {gid!r}, found {len(found)}"
    return found[0]


@pytest.fixture
def paired():
    data = pd.DataFrame(
        [
            ("A", "ggo", "baseline", 4.0), ("A", "ggo", "follow_up", 2.0),
            ("B", "ggo", "baseline", 6.0), ("B", "ggo", "follow_up", 6.0),
            ("C", "ggo", "baseline", 10.0), ("C", "ggo", "follow_up", np.nan),
            ("A", "esr", "baseline", 30.0), ("A", "esr", "follow_up", 12.0),
            ("B", "esr", "baseline", 20.0), ("B", "esr", "follow_up", 15.0),
        ],
        columns=["patient_id", "outcome", "timepoint", "value"],
    )
    # made-up statistics (NOT the data's quartiles): the plot must draw these, not recompute
    stats = pd.DataFrame(
        [
            ("ggo", "baseline", 4.5, 5.5, 7.25, 4.0, 10.0),
            ("ggo", "follow_up", 2.5, 3.0, 5.0, 2.0, 6.0),
            ("esr", "baseline", 21.0, 24.0, 29.0, 20.0, 30.0),
            ("esr", "follow_up", 12.5, 13.0, 14.5, 12.0, 15.0),
        ],
        columns=["outcome", "timepoint", "q1", "median", "q3", "whisker_low", "whisker_high"],
    )
    return data, stats


def box_extent(patch: PathPatch) -> tuple[float, float]:
    ys = patch.get_path().vertices[:, 1]
    return float(ys.min()), float(ys.max())


def test_boxes_drawn_from_given_stats(paired):
    data, stats = paired
    fig = paired_boxplots(data, ["ggo", "esr"], {"ggo": "GGO"}, {"ggo": 0.0004, "esr": 0.2}, box_stats=stats)
    boxes = [a for a in fig.findobj(PathPatch) if str(a.get_gid()).startswith("box:")]
    assert len(boxes) == 4
    assert box_extent(by_gid(fig, "box:ggo:baseline")) == (4.5, 7.25)
    assert box_extent(by_gid(fig, "box:esr:follow_up")) == (12.5, 14.5)
    assert set(by_gid(fig, "median:ggo:baseline").get_ydata()) == {5.5}
    assert by_gid(fig, "sig:ggo").get_text() == "***"
    assert by_gid(fig, "sig:esr").get_text() == "ns"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["GGO", "esr"]
    # paired lines: only patients with both values (A, B for ggo; A, B for esr) -> 4 lines of 2 points
    grey = [ln for ax in fig.axes for ln in ax.get_lines() if len(ln.get_xdata()) == 2 and ln.get_alpha() == 0.35]
    assert len(grey) == 4


@pytest.mark.parametrize(("p", "annotate", "expected"), [
    (0.004, "stars", "**"), (0.03, "stars", "*"), (0.004, "p", "p = 0.004"), (0.0001, "p", "p < 0.001"),
    (0.03, "both", "*\np = 0.030"), (0.5, "both", "p = 0.500"),
])
def test_annotation_text(paired, p, annotate, expected):
    data, stats = paired
    fig = paired_boxplots(data, ["ggo"], None, {"ggo": p}, box_stats=stats, annotate=annotate)
    assert by_gid(fig, "sig:ggo").get_text() == expected


def test_missing_p_draws_no_mark(paired):
    data, stats = paired
    fig = paired_boxplots(data, ["ggo"], None, {"ggo": float("nan")}, box_stats=stats)
    assert not [a for a in fig.findobj() if a.get_gid() == "sig:ggo"]


def test_minmax_whiskers_must_cover_data(paired):
    data, stats = paired
    bad = stats.copy()
    bad.loc[0, "whisker_high"] = 8.0  # data max is 10
    bad.loc[0, "q3"] = 7.0
    with pytest.raises(ValueError, match="do not belong to these data"):
        paired_boxplots(data, ["ggo"], box_stats=bad)
    fig = paired_boxplots(data, ["ggo"], box_stats=bad, whiskers="tukey", show_points=False)
    # the value 10 lies beyond the Tukey whisker 8: drawn as an outlier dot even without points
    offsets = [c.get_offsets() for c in fig.axes[0].collections if len(c.get_offsets())]
    assert [float(o[0][1]) for o in offsets] == [10.0]


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda s: s.drop(index=3), "no row for"),
    (lambda s: s.assign(q1=s["median"] + 1), "not ordered"),
    (lambda s: s.drop(columns="q3"), "lacks columns"),
    (lambda s: pd.concat([s, s.iloc[[0]]]), "two rows"),
])
def test_bad_box_stats(paired, mutate, match):
    data, stats = paired
    with pytest.raises(ValueError, match=match):
        paired_boxplots(data, ["ggo", "esr"], box_stats=mutate(stats))


def test_bad_options(paired):
    data, stats = paired
    with pytest.raises(InvalidOptionError, match="whiskers='range'"):
        paired_boxplots(data, ["ggo"], box_stats=stats, whiskers="range")
    with pytest.raises(ValueError, match="more than one"):
        paired_boxplots(pd.concat([data, data.iloc[[0]]]), ["ggo"], box_stats=stats)
    with pytest.raises(ValueError, match="no outcomes"):
        paired_boxplots(data, [], box_stats=stats)


def test_one_patient_and_constant_values():
    data = pd.DataFrame([("A", "x", "baseline", 3.0), ("A", "x", "follow_up", 3.0)],
                        columns=["patient_id", "outcome", "timepoint", "value"])
    stats = pd.DataFrame([("x", t, 3.0, 3.0, 3.0, 3.0, 3.0) for t in ("baseline", "follow_up")],
                         columns=["outcome", "timepoint", "q1", "median", "q3", "whisker_low", "whisker_high"])
    fig = paired_boxplots(data, ["x"], p_values={"x": 1.0}, box_stats=stats)
    assert by_gid(fig, "sig:x").get_text() == "ns"


def test_box_caption():
    text = box_caption(whiskers="tukey", quartile_method="spss")
    assert "Hyndman-Fan type 6" in text and "1.5 × IQR" in text
    assert "minimum to the maximum" in box_caption()
    with pytest.raises(InvalidOptionError, match="quartile_method='type9'"):
        box_caption(quartile_method="type9")


def make_corr():
    keys = ["a", "b", "c"]
    rho = pd.DataFrame([[1.0, 0.487, -0.125], [0.487, 1.0, np.nan], [-0.125, np.nan, 1.0]], index=keys, columns=keys)
    p = pd.DataFrame([[np.nan, 0.0004, 0.04], [0.0004, np.nan, np.nan], [0.04, np.nan, np.nan]],
                     index=keys, columns=keys)
    return rho, p


def test_heatmap_cells_show_given_rho_and_stars():
    rho, p = make_corr()
    fig = correlation_heatmap(rho, p, {"a": "Total HRCT"})
    assert by_gid(fig, "cell:a:b").get_text() == "0.49***"
    assert by_gid(fig, "cell:c:a").get_text() == "\u22120.13*"  # -0.125 half-up away from zero; typeset minus
    assert by_gid(fig, "cell:a:a").get_text() == "1.00"  # diagonal: no stars
    assert by_gid(fig, "cell:b:c").get_text() == "\u2014"  # typeset for print: em dash for a missing rho
    image = fig.axes[0].images[0]
    assert image.norm.vmin == -1.0 and image.norm.vmax == 1.0
    assert image.get_cmap().name.startswith("RdBu_r")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Total HRCT", "b", "c"]
    assert len(fig.axes) == 2  # heatmap + colour bar


def test_heatmap_lower_triangle_and_no_stars():
    rho, p = make_corr()
    fig = correlation_heatmap(rho, p, stars=False, triangle="lower", decimals=3)
    assert not [a for a in fig.findobj() if a.get_gid() == "cell:a:b"]
    assert by_gid(fig, "cell:b:a").get_text() == "0.487"


@pytest.mark.parametrize(("rho_fix", "match"), [
    (lambda r: r.iloc[:, :2], "square"),
    (lambda r: r.rename(index={"a": "z"}), "differ"),
    (lambda r: r.replace(0.487, 1.5), "outside -1..1"),
])
def test_heatmap_bad_input(rho_fix, match):
    rho, _ = make_corr()
    with pytest.raises(ValueError, match=match):
        correlation_heatmap(rho_fix(rho))


def test_heatmap_p_must_align():
    rho, p = make_corr()
    with pytest.raises(ValueError, match="same index"):
        correlation_heatmap(rho, p.iloc[::-1])


def test_flow_diagram_boxes_and_numbers():
    fig = flow_diagram([
        ("Screened", 60, 0, ""),
        FlowStep("Eligible", 52, 8, "No follow-up HRCT (n = 5)\nTreatment < 3 months (n = 3)"),
        ("Analysed", 48, 4, "Missing baseline"),
    ])
    assert by_gid(fig, "flow:step_text:0").get_text() == "Screened\n(n = 60)"
    assert by_gid(fig, "flow:step_text:2").get_text() == "Analysed\n(n = 48)"
    assert by_gid(fig, "flow:excluded_text:1").get_text().splitlines() == [
        "Excluded (n = 8)", "No follow-up HRCT (n = 5)", "Treatment < 3 months (n = 3)"]
    assert not [a for a in fig.findobj() if a.get_gid() == "flow:excluded:0"]


def test_flow_diagram_checks_arithmetic():
    with pytest.raises(ValueError, match="expected 52"):
        flow_diagram([("Screened", 60), ("Eligible", 50, 8, "x")])
    fig = flow_diagram([("Patients", 60), ("Pairs", 50, 8, "x")], check_arithmetic=False)
    assert by_gid(fig, "flow:step_text:1").get_text() == "Pairs\n(n = 50)"
    with pytest.raises(ValueError, match="cannot remove"):
        flow_diagram([("Screened", 60, 2, "x")])
    with pytest.raises(ValueError, match="non-negative integer"):
        flow_diagram([("Screened", -1)])
    with pytest.raises(ValueError, match="no steps"):
        flow_diagram([])


def test_flow_diagram_keeps_long_words_whole():
    word = "(follow_up_rule='latest_complete_visit')"
    fig = flow_diagram([("All", 10), ("Analysed", 8, 2, f"no value after start {word}")])
    assert word in by_gid(fig, "flow:excluded_text:1").get_text().splitlines()


def test_save_figure_deterministic(tmp_path, paired):
    data, stats = paired
    outputs = []
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        fig = paired_boxplots(data, ["ggo", "esr"], None, {"ggo": 0.01}, box_stats=stats)
        png, svg = save_figure(fig, tmp_path / run / "fig1", pdf=True)
        outputs.append((png.read_bytes(), svg.read_bytes(), (tmp_path / run / "fig1.pdf").read_bytes()))
        assert png.name == "fig1.png" and svg.name == "fig1.svg"
    assert outputs[0] == outputs[1]
    png_bytes, svg_bytes, _ = outputs[0]
    assert png_bytes[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<dc:date>" not in svg_bytes
    # 300 dpi recorded in the PNG pHYs chunk: 300 / 0.0254 pixels per metre
    idx = png_bytes.index(b"pHYs")
    ppm = int.from_bytes(png_bytes[idx + 4:idx + 8], "big")
    assert ppm == math.floor(300 / 0.0254 + 0.5)


def test_save_figure_errors(tmp_path, paired):
    data, stats = paired
    fig = paired_boxplots(data, ["ggo"], box_stats=stats)
    with pytest.raises(FileNotFoundError):
        save_figure(fig, tmp_path / "missing" / "fig")
    with pytest.raises(InvalidOptionError, match="dpi"):
        save_figure(fig, tmp_path / "fig", dpi=10)


def test_all_values_missing_still_draws_given_boxes(paired):
    _, stats = paired
    empty = pd.DataFrame({"patient_id": ["A", "A"], "outcome": ["ggo", "ggo"], "timepoint": ["baseline", "follow_up"],
                          "value": [np.nan, np.nan]})
    fig = paired_boxplots(empty, ["ggo"], None, {"ggo": 0.2}, box_stats=stats)
    assert box_extent(by_gid(fig, "box:ggo:follow_up")) == (2.5, 5.0)
    assert not [c for c in fig.axes[0].collections if len(c.get_offsets())]  # no dots
