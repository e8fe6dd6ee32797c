"""Optional treatments.route column (issue 11 item 1): spellings, bad values, dictionary and template."""

from __future__ import annotations

from pathlib import Path

from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.data.schema import ROUTES, TABLES

try:
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]


def _with_routes(tmp_path: Path, *routes: str) -> Path:
    tables = tiny_tables()
    for row, route in zip(tables["treatments"], routes, strict=False):
        row["route"] = route
    return write_csv_study(tmp_path / "s", tables)


def test_route_spellings_are_read(tmp_path: Path) -> None:
    study = load_study(_with_routes(tmp_path, "PO", "i.v.", "Topical", ""))
    assert list(study.treatments["route"].fillna("<blank>")) == ["oral", "intravenous", "topical", "<blank>"]


def test_unknown_route_is_an_error_listing_the_routes(tmp_path: Path) -> None:
    (issue,) = validate_path(_with_routes(tmp_path, "rectal")).errors
    assert (issue.rule, issue.column, issue.row, issue.value) == ("category", "route", 2, "rectal")
    assert "oral" in issue.message and "topical" in issue.message


def test_without_a_route_column_nothing_changes(tmp_path: Path) -> None:
    study = load_study(write_csv_study(tmp_path / "s", tiny_tables()))
    assert study.treatments["route"].isna().all()


def test_route_is_in_the_schema_the_dictionary_and_template_read():
    col = TABLES["treatments"].column("route")
    assert not col.required and col.allowed == ROUTES and "topical" in ROUTES
