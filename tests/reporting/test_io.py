"""Output directories, atomic writes, checksums and zip normalisation."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest

from ipafstudy.errors import OutputExistsError
from ipafstudy.reporting import io as rio
from ipafstudy.reporting.tablespec import Column, Row, TableSpec


def test_prepare_output_dir(tmp_path):
    new = rio.prepare_output_dir(tmp_path / "a" / "b")
    assert new.is_dir()
    assert rio.prepare_output_dir(new) == new  # empty: fine
    (new / "old.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        rio.prepare_output_dir(new)
    assert rio.prepare_output_dir(new, force=True) == new
    assert (new / "old.txt").read_text() == "keep me"  # force never deletes
    with pytest.raises(OutputExistsError, match="is a file"):
        rio.prepare_output_dir(new / "old.txt", force=True)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.bin"
    rio.atomic_write_bytes(target, b"one")
    rio.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["x.bin"]
    rio.atomic_write_text(tmp_path / "t.txt", "é\n")
    assert (tmp_path / "t.txt").read_bytes() == "é\n".encode()


def test_atomic_write_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rio.atomic_write_bytes(tmp_path / "missing" / "x", b"")
    with pytest.raises(TypeError, match="bytes"):
        rio.atomic_write_bytes(tmp_path / "x", "text")
    with pytest.raises(IsADirectoryError):
        rio.atomic_write_bytes(tmp_path, b"")


def test_sha256_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert rio.sha256_file(tmp_path / "f", chunk_size=1000) == hashlib.sha256(data).hexdigest()


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
