"""Shared fixtures for the renderer tests: small hand-written TableSpecs and a tiny saved figure."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ipafstudy.reporting.figures import save_figure
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, TableSpec


@pytest.fixture
def demo_table() -> TableSpec:
    return TableSpec(
        key="table2_paired",
        title="Before and after <tacrolimus> & co",
        columns=(
            Column("var", "Variable"),
            Column("pre", "Baseline, median (IQR)", "center"),
            Column("post", "Post, median (IQR)", "center"),
            Column("p", "p value", "right"),
        ),
        rows=(
            Row.section("HRCT scores"),
            Row(("Total HRCT score", "12 (8, 15)", "9 (6, 12)", "<0.001"), indent=1),
            Row(("GGO", "4 (2, 6)", "3 (1, 5)", "0.050"), indent=2, bold=True),
            Row(("Laboratory", "", "", ""), kind="section"),
            Row(("ESR, mm/h", "30 (18, 45)", "20 (12, 30)", "0.302"), indent=1),
        ),
        footnotes=("IQR, interquartile range.", "Wilcoxon signed-rank test."),
        number=2,
    )


@pytest.fixture
def demo_wide_table() -> TableSpec:
    cols = tuple(Column(f"c{i}", f"Column {i}", "right") for i in range(8))
    return TableSpec("wide", "A wide table", cols, (Row(tuple(f"v{i}" for i in range(8))),), number=3)


@pytest.fixture
def demo_figure(tmp_path) -> FigureSpec:
    fig = Figure(figsize=(2, 1.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1])
    png, svg = save_figure(fig, tmp_path / "fig1", dpi=100)
    return FigureSpec("fig1", "Response", "Pre, before; Post, after.", png, svg, number=1, alt_text="Line plot")
