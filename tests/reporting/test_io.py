"""Table CSVs (atomic writes, checksums and zip normalisation are tested in tests/test_fileio.py)."""

from __future__ import annotations

import pytest

from ipafstudy.reporting import io as rio
from ipafstudy.reporting.tablespec import Column, Row, TableSpec


def test_write_table_csv(tmp_path):
    spec = TableSpec("t", "T", (Column("v", "Variable"), Column("p", "p, two-sided")),
                     (Row.section("Group"), Row(("Age, years", "<0.001"), indent=1)))
    rio.write_table_csv(tmp_path / "t.csv", spec)
    text = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert text == 'Variable,"p, two-sided"\nGroup,\n"Age, years",<0.001\n'
    with pytest.raises(TypeError, match="TableSpec"):
        rio.write_table_csv(tmp_path / "u.csv", "not a spec")
