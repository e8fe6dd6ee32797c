"""Export to hrct_reads.csv in the study format and import of existing reads; the study loaders and the HRCT
scores read the export (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import shutil
from importlib import resources
from pathlib import Path

import pytest

from ipafstudy.workspace import reading as R
from ipafstudy.workspace.transfer import export_reads, hrct_reads_text, import_reads

from .test_ws_reading import _two_reads

HEADER = ("patient_id,scan_date,reader,reader_role,zone,ggo,fibrosis,honeycombing,consolidation,"
          "ggo_pct,fibrosis_pct,honeycombing_pct,consolidation_pct")
BUNDLED = Path(str(resources.files("ipafstudy") / "example_data"))


def _study_with_reads(tmp_path: Path, reads_text: str) -> Path:
    """The bundled cohort with its hrct_reads.csv replaced."""
    folder = tmp_path / "study"
    shutil.copytree(BUNDLED, folder)
    (folder / "hrct_reads.csv").write_text(reads_text, encoding="utf-8")
    return folder


def _expected_rows() -> list[str]:
    """By hand from _two_reads and the adjudication below (patient A-0001, scan 2025-04-14); columns after the
    zone: ggo, fibrosis, honeycombing, consolidation grades, then the same four percentages."""
    lead = "A-0001,2025-04-14"
    return [
        f"{lead},alice,reader1,RU,1,1,1,1,,,,",
        f"{lead},alice,reader1,RM,1,1,,1,,,10,",
        f"{lead},alice,reader1,RL,1,1,1,1,,,,",
        f"{lead},alice,reader1,LU,1,1,1,1,,,,",
        f"{lead},alice,reader1,LM,1,1,1,1,,,,",
        f"{lead},alice,reader1,LL,1,1,1,1,,,,",
        f"{lead},bob,reader2,RU,1,3,1,1,,,,",
        f"{lead},bob,reader2,RM,1,1,,1,,,40,",
        f"{lead},bob,reader2,RL,1,1,1,1,,,,",
        f"{lead},bob,reader2,LU,1,1,1,1,,,,",
        f"{lead},bob,reader2,LM,1,1,1,1,,,,",
        f"{lead},bob,reader2,LL,2,1,1,1,,,,",
        f"{lead},carol,adjudicator,RU,,2,,,,,,",
        f"{lead},carol,adjudicator,RM,,,1,,,,,",
    ]


def test_export_is_the_study_format_and_the_loaders_and_scores_read_it(ws, team, tmp_path):
    scan = R.add_scan(ws, "A-0001", dt.date(2025, 4, 14))
    R.add_scan(ws, "A-0001", dt.date(2025, 10, 1))  # still being read: left out
    _two_reads(ws, team, scan)
    R.finish_read(ws, team.reader1, scan)
    R.finish_read(ws, team.reader2, scan)
    assert hrct_reads_text(ws)[1].n_scans == 0  # waiting for the adjudicator: not exported yet
    R.save_adjudication(ws, team.adjudicator, scan, "RU", "fibrosis", 2)
    R.save_adjudication(ws, team.adjudicator, scan, "RM", "honeycombing", 1)

    summary = export_reads(ws, tmp_path / "hrct_reads.csv")
    text = (tmp_path / "hrct_reads.csv").read_text(encoding="utf-8")
    assert text == "\n".join([HEADER, *_expected_rows()]) + "\n"
    assert (summary.n_rows, summary.n_scans, summary.left_out) == (14, 1, {"reading": 1})

    from ipafstudy.data.loaders import load_study
    from ipafstudy.rules.hrct import consensus
    from ipafstudy.settings import ClinicalSettings

    study = load_study(_study_with_reads(tmp_path, text))
    assert len(study.hrct_reads) == 14
    scores = consensus(study.hrct_reads, ClinicalSettings()).scans
    row = scores[(scores["patient_id"] == "A-0001")].iloc[0]
    # mean_then_adjudicator, by hand: 21 cells where both gave 1 -> 1; LL ggo mean(1, 2) = 1.5;
    # RU fibrosis adjudicated 2; RM honeycombing adjudicated 1.
    assert bool(row["complete"])
    assert (row["ggo"], row["fibrosis"], row["honeycombing"], row["consolidation"]) == (6.5, 7.0, 6.0, 6.0)
    assert row["total"] == 25.5


def test_export_refuses_to_overwrite_unless_asked(ws, tmp_path):
    from ipafstudy.errors import IpafstudyError

    target = tmp_path / "hrct_reads.csv"
    target.write_text("keep me", encoding="utf-8")
    with pytest.raises(IpafstudyError, match="exists"):
        export_reads(ws, target)
    assert target.read_text(encoding="utf-8") == "keep me"
    export_reads(ws, target, overwrite=True)
    assert target.read_text(encoding="utf-8") == HEADER + "\n"


def _rows(text: str) -> set[tuple]:
    """Rows as comparable tuples: numbers as floats, blanks as None."""
    out = set()
    for rec in csv.DictReader(io.StringIO(text)):
        values = []
        for key, value in rec.items():
            if value == "":
                values.append(None)
            elif key in ("patient_id", "scan_date", "reader", "reader_role", "zone"):
                values.append(value)
            else:
                values.append(float(value))
        out.add(tuple(values))
    return out


def test_bundled_reads_import_and_export_unchanged(ws):
    original = (BUNDLED / "hrct_reads.csv").read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(original)))
    scans = {(r["patient_id"], r["scan_date"]) for r in records}
    reads = {(r["patient_id"], r["scan_date"], r["reader_role"]) for r in records}
    cells = sum(1 for r in records for p in ("ggo", "fibrosis", "honeycombing", "consolidation")
                if r[p] != "" or r[f"{p}_pct"] != "")
    counts = import_reads(ws, BUNDLED, by="test")
    assert (counts.scans_added, counts.reads_added, counts.cells_added) == (len(scans), len(reads), cells)

    # Scans with a flag still open in the file (the study's own consensus says which) stay in the workspace's
    # adjudication queue and out of the export; every other row comes back as it was.
    from ipafstudy.data.loaders import load_study
    from ipafstudy.rules.hrct import consensus
    from ipafstudy.settings import ClinicalSettings

    open_flags = consensus(load_study(BUNDLED).hrct_reads, ClinicalSettings()).open_flags
    waiting = {(pid, d.isoformat()) for pid, d in zip(open_flags["patient_id"], open_flags["scan_date"], strict=True)}
    text, summary = hrct_reads_text(ws)
    assert summary.left_out == {"adjudication": len(waiting)}
    kept = "\n".join([original.splitlines()[0], *(line for line, r in zip(original.splitlines()[1:], records,
                                                                            strict=True)
                                                  if (r["patient_id"], r["scan_date"]) not in waiting)])
    assert _rows(text) == _rows(kept)
    assert summary.n_rows == len(_rows(kept))

    again = import_reads(ws, BUNDLED)  # importing the same reads twice changes nothing
    assert (again.scans_added, again.reads_added, again.reads_unchanged) == (0, 0, len(reads))
    assert len([r for r in R.audit_rows(ws) if r["action"] == "import_read"]) == len(reads)


def test_an_import_that_differs_or_breaks_a_rule_writes_nothing(ws, tmp_path):
    from ipafstudy.errors import DataValidationError

    import_reads(ws, BUNDLED)
    before = hrct_reads_text(ws)[0]
    lines = (BUNDLED / "hrct_reads.csv").read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    first[6] = "0" if first[6] != "0" else "1"  # reader1's fibrosis grade of the first zone changed
    changed = _study_with_reads(tmp_path / "a", "\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    with pytest.raises(R.Conflict, match=f"1 read.*{first[0]} {first[1]} reader1"):
        import_reads(ws, changed)
    assert hrct_reads_text(ws)[0] == before
    first[6] = "7"
    broken = _study_with_reads(tmp_path / "b", "\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    with pytest.raises(DataValidationError, match=r"hrct_reads.csv.*row 2.*fibrosis.*7"):
        import_reads(ws, broken)
    assert hrct_reads_text(ws)[0] == before


def test_a_lone_reads_file_is_checked_against_the_project_patients(ws, tmp_path):
    from ipafstudy.errors import IpafstudyError

    lone = tmp_path / "reads.csv"
    lone.write_text(f"{HEADER}\nZ-999,2025-01-01,RAD-9,reader1,RU,1,1,1,1,,,,\n", encoding="utf-8")
    with pytest.raises(IpafstudyError, match=r"lone hrct_reads\.csv"):
        import_reads(ws, lone)
    ws.data_dir = BUNDLED
    from ipafstudy.errors import DataValidationError

    with pytest.raises(DataValidationError, match="Z-999"):
        import_reads(ws, lone)
    lone.write_text(f"{HEADER}\nA-0001,2025-01-01,RAD-9,reader1,RU,1,1,1,1,,,,\n", encoding="utf-8")
    counts = import_reads(ws, lone)
    assert (counts.scans_added, counts.reads_added, counts.cells_added) == (1, 1, 4)
    assert not math.isnan(counts.cells_added)


def test_reads_csv_writer_replaces_the_destination(ws, tmp_path):
    from ipafstudy.workspace.transfer import reads_csv_writer

    dest = tmp_path / "hrct_reads.csv"
    dest.write_text("old", encoding="utf-8")
    reads_csv_writer(ws)(dest)
    assert dest.read_text(encoding="utf-8") == HEADER + "\n"
