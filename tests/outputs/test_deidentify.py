"""Issue 10 item 15: --deidentify writes keyed pseudonyms and study days; no original id or date survives."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from ipafstudy.cli import main
from ipafstudy.cohort.deidentify import Deidentifier, create_key, read_key
from ipafstudy.errors import InvalidOptionError, OutputExistsError

sys.path.insert(0, str(Path(__file__).parent))
from hostile import BUNDLED, EVIL_ID, hostile_copy

ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _originals(data: Path) -> tuple[set[str], set[str]]:
    """Every patient id and every date string in the input files."""
    ids, dates = set(), set()
    for path in data.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                ids.add(row["patient_id"])
                for value in row.values():
                    dates.update(ISO.findall(value or ""))
    return ids, dates


def _texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())
            if p.suffix in (".csv", ".json") and p.name != "run-record.json"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("deid")
    data = hostile_copy(base / "data")
    for name in ("k1", "k2"):
        assert main(["deidentify-key", "--out", str(base / name)]) == 0
    assert main(["analyze", str(data), "--out", str(base / "a1"), "--quiet", "--deidentify", str(base / "k1")]) == 0
    for run, key in (("s1", "k1"), ("s2", "k2"), ("s3", "k1")):
        assert main(["screen", str(data), "--out", str(base / run), "--deidentify", str(base / key)]) == 0
    assert main(["explain", str(base / "a1"), "crp", "--csv", str(base / "crp.csv")]) == 0
    return base, data


def test_no_original_id_or_date_in_deidentified_outputs(runs, capsys):
    base, data = runs
    ids, dates = _originals(data)
    assert EVIL_ID in ids and len(ids) == 271 and len(dates) > 1000
    files = {**{f"a1/{k}": v for k, v in _texts(base / "a1").items()},
             **{f"s1/{k}": v for k, v in _texts(base / "s1").items()},
             "crp.csv": (base / "crp.csv").read_text(encoding="utf-8")}
    assert {"a1/analysis_dataset.csv", "a1/results.json", "s1/screening.csv", "s1/timepoints.csv",
            "s1/flow.json", "s1/adverse_events.csv"} <= set(files)
    id_pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
    for name, text in files.items():
        assert not id_pattern.search(text), f"{name}: original id {id_pattern.search(text).group(0)!r}"
        leaked = set(ISO.findall(text)) & dates
        assert not leaked, f"{name}: original dates {sorted(leaked)[:3]}"
    # the key itself is nowhere in what analyze wrote (run record included)
    key = (base / "k1").read_text().strip()
    for path in (base / "a1").rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert main(["explain", str(base / "a1"), "crp"]) == 0
    shown = capsys.readouterr().out
    assert not id_pattern.search(shown) and not set(ISO.findall(shown)) & dates


def test_same_key_same_pseudonyms_other_key_other(runs):
    base, _ = runs
    one = pd.read_csv(base / "a1" / "analysis_dataset.csv", dtype=str)["patient_id"]
    screen = pd.read_csv(base / "s1" / "screening.csv", dtype=str)["patient_id"]
    other = pd.read_csv(base / "s2" / "screening.csv", dtype=str)["patient_id"]
    assert set(one) <= set(screen)  # analyze and screen runs with the same key give a patient the same pseudonym
    for name in ("screening.csv", "timepoints.csv", "flow.json"):
        assert (base / "s1" / name).read_bytes() == (base / "s3" / name).read_bytes()
    assert len(set(screen)) == 271 and not set(screen) & set(other)
    assert list(one) == sorted(one)  # rows in pseudonym order, not in the original id order


def test_pseudonym_is_the_documented_hmac_and_dates_are_study_days(runs):
    base, data = runs
    key = read_key(base / "k1")
    expected = "S-" + hmac.new(key, b"patient_id:A-0016", hashlib.sha256).hexdigest()[:12].upper()
    screening = pd.read_csv(base / "s1" / "screening.csv", dtype=str).set_index("patient_id")
    assert expected in screening.index
    # A-0016's dates in the original screen output, against the de-identified study days
    plain = base / "plain"
    assert main(["screen", str(data), "--out", str(plain)]) == 0
    orig = pd.read_csv(plain / "screening.csv", dtype=str).set_index("patient_id").loc["A-0016"]
    start = dt.date.fromisoformat(orig["tacrolimus_start"])
    row = screening.loc[expected]
    assert int(row["tacrolimus_start"]) == 0
    for col in ("tacrolimus_end", "baseline_date", "follow_up_date"):
        assert int(row[col]) == (dt.date.fromisoformat(orig[col]) - start).days
    assert row["site"] == orig["site"] and row["age_at_start"] == orig["age_at_start"]  # documented: kept


def test_box_plot_values_stay_with_their_patient(runs):
    base, _ = runs
    key = read_key(base / "k1")
    deid = json.loads((base / "a1" / "results.json").read_text())
    data = pd.read_csv(base / "a1" / "analysis_dataset.csv", dtype={"patient_id": str}).set_index("patient_id")
    panel = deid["box_plots"][0]
    assert panel["patient_ids"] == sorted(panel["patient_ids"])
    for pid, before in zip(panel["patient_ids"], panel["before"], strict=True):
        assert data.loc[pid, f"{panel['code']}_baseline"] == pytest.approx(before)
    assert len(key) == 32


def test_deidentifier_units():
    d = Deidentifier(b"k" * 32, {"P1": dt.date(2020, 1, 10), "P12": None})
    assert d.study_day("P1", "2020-01-01") == -9 and d.study_day("P12", "2020-01-01") is None
    assert d.text("P1 and P12 on 2020-01-11", "P1") == f"{d.pseudonym('P1')} and {d.pseudonym('P12')} on day 1"
    assert d.text("scan 2020-01-11", "P12") == "scan [date]"  # no index: the date is removed
    assert d.text("P1x and xP1") == "P1x and xP1"  # whole ids only
    frame = d.frame(pd.DataFrame({"patient_id": ["P12", "P1"], "date": ["2020-01-01", "2020-01-20"],
                                  "value": [-1.5, 2.0], "note": ["seen 2020-01-01", None]}))
    assert set(frame["patient_id"]) == {d.pseudonym("P1"), d.pseudonym("P12")}
    got = frame.set_index("patient_id")
    assert pd.isna(got.loc[d.pseudonym("P12"), "date"]) and got.loc[d.pseudonym("P1"), "date"] == 10
    assert got.loc[d.pseudonym("P12"), "note"] == "seen [date]" and got.loc[d.pseudonym("P1"), "value"] == 2.0
    assert Deidentifier(b"k" * 32, {"P1": None}).pseudonym("P1") == d.pseudonym("P1")
    assert Deidentifier(b"j" * 32, {"P1": None}).pseudonym("P1") != d.pseudonym("P1")


def test_key_file_errors(tmp_path, capsys):
    key = create_key(tmp_path / "k")
    assert (key.stat().st_mode & 0o777) == 0o600 and len(read_key(key)) == 32
    with pytest.raises(OutputExistsError):
        create_key(tmp_path / "k")  # never replaced silently: pseudonyms would change
    with pytest.raises(InvalidOptionError, match="deidentify-key --out"):
        read_key(tmp_path / "missing")
    (tmp_path / "bad").write_text("not a key\n")
    with pytest.raises(InvalidOptionError, match="hex digits"):
        read_key(tmp_path / "bad")
    out = tmp_path / "run"
    assert main(["analyze", str(BUNDLED), "--out", str(out), "--deidentify", str(tmp_path / "missing")]) == 1
    assert "deidentify-key" in capsys.readouterr().err and not out.exists()
    assert main(["screen", str(BUNDLED), "--out", str(out), "--deidentify", str(tmp_path / "bad")]) == 1
    assert not out.exists()
