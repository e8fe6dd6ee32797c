"""Adjudication round trip: open flags -> worklist -> filled -> adjudicator rows -> scan usable again."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import D, frame, full_patient, merge, scan

from ipafstudy.cli import main
from ipafstudy.cohort.build import build_cohort
from ipafstudy.cohort.hrct import adjudication_worklist, adjudicator_rows
from ipafstudy.errors import InvalidOptionError
from ipafstudy.settings import ClinicalSettings

S = D(2023, 1, 1)
FU = S + dt.timedelta(days=150)


def _parts():
    p = full_patient("P09", S, D(2023, 8, 1))
    # reader2 grades zone RU 3 points away in every pattern (ggo 1 -> 4, the others 0 -> 3): 4 open flags
    p["hrct_reads"] = [r for r in p["hrct_reads"] if r["scan_date"] != FU] + scan("P09", FU, {"ggo": 1},
                                                                                   flagged_zone="RU")
    return p


def test_worklist_lists_the_open_cells():
    wl = adjudication_worklist(frame("hrct_reads", _parts()["hrct_reads"]), ClinicalSettings())
    assert list(wl["pattern"]) == ["ggo", "fibrosis", "honeycombing", "consolidation"]
    assert set(wl["zone"]) == {"RU"} and list(wl["reader2_grade"]) == [4, 3, 3, 3]
    assert wl["adjudicator_grade"].isna().all()


def test_filled_worklist_unblocks_the_scan():
    parts = _parts()
    wl = adjudication_worklist(frame("hrct_reads", parts["hrct_reads"]), ClinicalSettings())
    wl["adjudicator"] = "RAD-3"
    wl["adjudicator_grade"] = [1, 0, 0, 0]
    rows = adjudicator_rows(wl)
    assert len(rows) == 1 and rows.iloc[0][["ggo", "fibrosis"]].tolist() == [1, 0]
    before = build_cohort(merge(parts))
    assert before.analysed_ids == ()
    parts["hrct_reads"] += rows.to_dict("records")
    after = build_cohort(merge(parts))
    assert after.analysed_ids == ("P09",)
    # RU from the adjudicator (ggo 1), the other five zones the readers' mean (ggo 1): ggo 6 = total 6
    af = after.analysis_frame().set_index("patient_id")
    assert af.at["P09", "hrct_total_follow_up"] == 6 and af.at["P09", "hrct_total_follow_up_date"] == FU


def test_blank_rows_stay_open_and_bad_grades_are_named():
    wl = adjudication_worklist(frame("hrct_reads", _parts()["hrct_reads"]), ClinicalSettings())
    assert adjudicator_rows(wl).empty
    wl["adjudicator"] = "RAD-3"
    wl.loc[1, "adjudicator_grade"] = 5
    with pytest.raises(InvalidOptionError, match="row 3, column adjudicator_grade"):
        adjudicator_rows(wl)


def test_cli_round_trip_xlsx(tmp_path, monkeypatch):
    # the CLI reads a data folder: pretend load_study returned our hand-built study
    study = merge(_parts())
    import ipafstudy.data.loaders as loaders

    monkeypatch.setattr(loaders, "load_study", lambda _path, **_kw: study)
    out = tmp_path / "worklist.xlsx"
    assert main(["hrct", "worklist", "ANY", "--out", str(out)]) == 0
    filled = pd.read_excel(out)
    filled["adjudicator"] = "RAD-3"
    filled["adjudicator_grade"] = [1, 0, 0, 0]
    filled.to_excel(tmp_path / "filled.xlsx", index=False)
    assert main(["hrct", "adjudicated", str(tmp_path / "filled.xlsx"), "--out", str(tmp_path / "rows.csv")]) == 0
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert rows.iloc[0]["reader_role"] == "adjudicator" and rows.iloc[0]["zone"] == "RU"
    assert main(["hrct", "worklist", "ANY", "--out", str(out)]) == 1  # exists: needs --force
    # Deterministic workbook: no run-time stamps inside (zip entry dates fixed, document dates pinned).
    import zipfile

    with zipfile.ZipFile(out) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert "1980-01-01T00:00:00Z" in core and str(__import__("datetime").date.today().year) not in core
    assert main(["hrct", "scores", "ANY", "--out", str(tmp_path / "scores.csv")]) == 0
    scores = pd.read_csv(tmp_path / "scores.csv")
    cons = scores[scores["reader"] == "consensus"]
    assert list(cons["total"].isna()) == [False, True]  # baseline scored; follow-up blocked by open flags
    assert cons["total"].iloc[0] == 18


def test_cli_agreement_prints_table(monkeypatch, capsys):
    import ipafstudy.data.loaders as loaders

    study = merge(_parts())
    monkeypatch.setattr(loaders, "load_study", lambda _path, **_kw: study)
    assert main(["hrct", "agreement", "ANY"]) == 0
    out = capsys.readouterr().out
    assert "ICC(2,1)" in out and "kappa_quadratic" in out
