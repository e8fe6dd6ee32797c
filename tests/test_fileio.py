"""Shared file output (ipafstudy.fileio): output folders, atomic writes, overwrite guard, checksums."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile

import pytest

from ipafstudy import fileio
from ipafstudy.errors import OutputExistsError


def test_prepare_output_dir(tmp_path):
    new = fileio.prepare_output_dir(tmp_path / "a" / "b")
    assert new.is_dir()
    assert fileio.prepare_output_dir(new) == new  # empty: fine
    (new / "old.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        fileio.prepare_output_dir(new)
    assert fileio.prepare_output_dir(new, force=True) == new
    assert (new / "old.txt").read_text() == "keep me"  # force never deletes
    with pytest.raises(OutputExistsError, match="is a file"):
        fileio.prepare_output_dir(new / "old.txt", force=True)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.bin"
    fileio.atomic_write_bytes(target, b"one")
    fileio.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["x.bin"]
    fileio.atomic_write_text(tmp_path / "t.txt", "é\n")
    assert (tmp_path / "t.txt").read_bytes() == "é\n".encode()


def test_atomic_write_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fileio.atomic_write_bytes(tmp_path / "missing" / "x", b"")
    with pytest.raises(TypeError, match="bytes"):
        fileio.atomic_write_bytes(tmp_path / "x", "text")
    with pytest.raises(IsADirectoryError):
        fileio.atomic_write_bytes(tmp_path, b"")


def test_sha256_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert fileio.sha256_file(tmp_path / "f", chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_write_output_file_refuses_existing_without_force(tmp_path):
    target = tmp_path / "new" / "sub" / "out.json"
    assert fileio.write_output_file(target, b"first") == target  # parent folders are created
    with pytest.raises(OutputExistsError, match="already exists"):
        fileio.write_output_file(target, b"second")
    assert target.read_bytes() == b"first"  # refused: the old file is untouched
    fileio.write_output_file(target, b"second", force=True)
    assert target.read_bytes() == b"second"
    assert sorted(os.listdir(target.parent)) == ["out.json"]  # no temp file left behind


def test_write_output_file_rejects_a_directory_and_text(tmp_path):
    with pytest.raises(IsADirectoryError):
        fileio.write_output_file(tmp_path, b"", force=True)
    with pytest.raises(TypeError, match="bytes"):
        fileio.write_output_file(tmp_path / "x", "text")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_get_normal_permissions(tmp_path, mask):
    old = os.umask(mask)
    try:
        fileio.atomic_write_bytes(tmp_path / "a", b"x")
        fileio.write_output_file(tmp_path / "b", b"x")
    finally:
        os.umask(old)
    for name in ("a", "b"):  # what open() would give, not mkstemp's 0600
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


def test_failed_replace_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_sha256_of_an_empty_file(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert fileio.sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_csv_text_is_plain_and_stable():
    import datetime as dt

    import pandas as pd

    frame = pd.DataFrame(
        {
            "id": ["P1", "P,2", 'say "hi"'],
            "value": [1.5, float("nan"), 0.1],
            "when": [dt.date(2024, 1, 2), None, dt.date(2024, 12, 31)],
        },
        index=[10, 11, 12],
    )
    # Written by hand: no index, "\n" endings, blank for missing, quotes only where needed (doubled inside).
    expected = 'id,value,when\nP1,1.5,2024-01-02\n"P,2",,\n"say ""hi""",0.1,2024-12-31\n'
    assert fileio.csv_text(frame) == expected
    assert fileio.csv_text(pd.DataFrame(columns=["a", "b"])) == "a,b\n"


def test_normalize_zip_fixes_dates_and_rewrites(tmp_path):
    def make(date):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(zipfile.ZipInfo("docProps/core.xml", date_time=date),
                       f"<dcterms:modified xsi:type='x'>{date[0]}-01-01</dcterms:modified>")
            z.writestr(zipfile.ZipInfo("b.txt", date_time=date), "b")
        return buf.getvalue()

    def pin(x):
        return fileio.pin_core_dates(x, "2000-01-01T00:00:00Z")

    a = fileio.normalize_zip(make((2020, 1, 1, 0, 0, 0)), rewrite={"docProps/core.xml": pin})
    b = fileio.normalize_zip(make((2024, 5, 6, 7, 8, 10)), rewrite={"docProps/core.xml": pin})
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert z.namelist() == ["docProps/core.xml", "b.txt"]
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")


def test_normalize_zip_stamps_the_given_date_and_normal_attributes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("a.xml", date_time=(2023, 3, 4, 5, 6, 8)), "<a/>")
    out = fileio.normalize_zip(buf.getvalue(), date_time=(2020, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        (info,) = z.infolist()
        assert info.date_time == (2020, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o644
        assert z.read("a.xml") == b"<a/>"
