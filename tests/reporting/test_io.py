"""Zip normalisation and table CSVs (atomic writes and checksums are tested in tests/test_fileio.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from ipafstudy.reporting import io as rio
from ipafstudy.reporting.tablespec import Column, Row, TableSpec


def test_normalize_zip_fixes_dates_and_rewrites(tmp_path):
    def make(date):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(zipfile.ZipInfo("docProps/core.xml", date_time=date),
                       f"<dcterms:modified xsi:type='x'>{date[0]}-01-01</dcterms:modified>")
            z.writestr(zipfile.ZipInfo("b.txt", date_time=date), "b")
        return buf.getvalue()

    def pin(x):
        return rio.pin_core_dates(x, "2000-01-01T00:00:00Z")

    a = rio.normalize_zip(make((2020, 1, 1, 0, 0, 0)), rewrite={"docProps/core.xml": pin})
    b = rio.normalize_zip(make((2024, 5, 6, 7, 8, 10)), rewrite={"docProps/core.xml": pin})
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert z.namelist() == ["docProps/core.xml", "b.txt"]
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")


def test_write_table_csv(tmp_path):
    spec = TableSpec("t", "T", (Column("v", "Variable"), Column("p", "p, two-sided")),
                     (Row.section("Group"), Row(("Age, years", "<0.001"), indent=1)))
    rio.write_table_csv(tmp_path / "t.csv", spec)
    text = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert text == 'Variable,"p, two-sided"\nGroup,\n"Age, years",<0.001\n'
    with pytest.raises(TypeError, match="TableSpec"):
        rio.write_table_csv(tmp_path / "u.csv", "not a spec")
