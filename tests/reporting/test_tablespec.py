"""TableSpec / FigureSpec: validation, frame and dict views."""

from __future__ import annotations

import json

import pytest

from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, TableSpec


def make_spec() -> TableSpec:
    return TableSpec(
        key="table2_paired",
        title="Before and after",
        columns=(Column("var", "Variable"), Column("pre", "Baseline", "right"), Column("p", "p value", "right")),
        rows=(
            Row.section("HRCT scores"),
            Row(("Total", "12 (8, 15)", "<0.001"), indent=1),
            Row(("GGO", "4 (2, 6)", "0.002"), indent=1, bold=True),
        ),
        footnotes=("Wilcoxon signed-rank test.",),
        number=2,
    )


def test_caption_and_frame():
    spec = make_spec()
    assert spec.caption == "Table 2. Before and after"
    frame = spec.to_frame()
    assert list(frame.columns) == ["Variable", "Baseline", "p value"]
    assert frame.shape == (3, 3)
    assert frame.iloc[0].tolist() == ["HRCT scores", "", ""]
    assert frame.iloc[1, 0] == "Total"
    assert spec.to_frame(indent="  ").iloc[1, 0] == "  Total"


def test_dict_round_trip_is_json():
    spec = make_spec()
    data = json.loads(json.dumps(spec.to_dict(), allow_nan=False))
    assert TableSpec.from_dict(data) == spec


def test_duplicate_labels_are_disambiguated():
    spec = TableSpec("t", "T", (Column("a", "n"), Column("b", "n")), (Row(("1", "2")),))
    assert list(spec.to_frame().columns) == ["n [a]", "n [b]"]


def test_empty_table_frame_has_headers():
    spec = TableSpec("t", "T", (Column("a", "A"),), ())
    assert list(spec.to_frame().columns) == ["A"] and len(spec.to_frame()) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rows": (Row(("only one",)),)}, ValueError, "has 1 cells but the table has 2"),
        ({"key": "bad key/"}, ValueError, "not usable as a file name"),
        ({"columns": (Column("a", "A"), Column("a", "B"))}, ValueError, "duplicate column keys"),
        ({"number": 0}, ValueError, "positive integer"),
        ({"columns": ()}, ValueError, "no columns"),
        ({"rows": ("a",)}, TypeError, "expected Row"),
    ],
)
def test_bad_specs_are_refused(kwargs, error, match):
    base = {"key": "t", "title": "T", "columns": (Column("a", "A"), Column("b", "B")), "rows": ()}
    base.update(kwargs)
    with pytest.raises(error, match=match):
        TableSpec(**base)


def test_row_cells_must_be_strings():
    with pytest.raises(TypeError, match="formatted strings"):
        Row(("a", 1.5))  # renderers never format numbers
    with pytest.raises(InvalidOptionError, match="kind='total'"):
        Row(("a",), kind="total")
    with pytest.raises(ValueError, match="indent"):
        Row(("a",), indent=-1)
    with pytest.raises(InvalidOptionError, match="align='justify'"):
        Column("a", "A", "justify")


def test_figure_spec(tmp_path):
    fig = FigureSpec("fig1", "Box plots", "Pre vs post.", tmp_path / "a.png", str(tmp_path / "a.svg"), number=1)
    assert fig.label == "Figure 1. Box plots"
    assert fig.to_dict()["svg_path"] == str(tmp_path / "a.svg")
