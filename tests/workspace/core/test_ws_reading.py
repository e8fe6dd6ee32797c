"""Reading in the workspace (service level, SQLite and PostgreSQL): cell saving, validation as in the loaders,
blinding, idempotent double submission, two tabs, restart, finishing, the adjudication queue and the audit."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from ipafstudy.workspace import reading as R
from ipafstudy.workspace.reading import (
    Conflict,
    Forbidden,
    IncompleteRead,
    InvalidScore,
    NotFound,
    adjudication_queue,
    audit_rows,
    finish_read,
    read_form,
    read_of_role,
    save_adjudication,
    save_cell,
    worklist,
)

ZONES = ("RU", "RM", "RL", "LU", "LM", "LL")
PATTERNS = ("ggo", "fibrosis", "honeycombing", "consolidation")
SCAN_DATE = dt.date(2025, 4, 14)


@pytest.fixture
def scan(ws) -> int:
    return R.add_scan(ws, "P-001", SCAN_DATE)


def fill(ws, user, scan_id, values: dict[tuple[str, str], dict]) -> None:
    for (zone, pattern), value in values.items():
        save_cell(ws, user, scan_id, zone, pattern, **value)


def all_cells(grade: int) -> dict[tuple[str, str], dict]:
    return {(z, p): {"grade": grade} for z in ZONES for p in PATTERNS}


def test_zones_and_patterns_are_the_study_codes():
    assert (R.ZONES, R.PATTERNS) == (ZONES, PATTERNS)


def test_a_reader_saves_cells_and_sees_only_their_own(ws, team, scan):
    saved = save_cell(ws, team.reader1, scan, "RU", "fibrosis", grade=3)
    assert (saved.grade, saved.percent, saved.old_grade, saved.changed) == (3, None, None, True)
    save_cell(ws, team.reader1, scan, "LL", "ggo", percent=12.5)
    form = read_form(ws, team.reader1, scan)
    assert {k: (c.grade, c.percent) for k, c in form.cells.items()} == {("RU", "fibrosis"): (3, None),
                                                                         ("LL", "ggo"): (None, 12.5)}
    assert form.status == "in_progress" and len(form.missing) == 22
    assert read_form(ws, team.reader2, scan).cells == {}  # reader2's own (empty) read, not reader1's


def test_blinding_a_reader_never_gets_the_other_readers_scores(ws, team, scan):
    fill(ws, team.reader1, scan, all_cells(2))
    with pytest.raises(Forbidden):
        read_of_role(ws, team.reader2, scan, "reader1")
    with pytest.raises(Forbidden):
        read_of_role(ws, team.reader1, scan, "reader2")
    with pytest.raises(Forbidden):
        read_of_role(ws, team.reader2, scan, "adjudicator")
    # Another radiologist holding the reader1 role cannot open, change or list alice's read.
    with pytest.raises(Forbidden):
        read_form(ws, team.other_reader1, scan)
    with pytest.raises(Forbidden):
        save_cell(ws, team.other_reader1, scan, "RU", "ggo", grade=0)
    assert [t.scan_id for t in worklist(ws, team.other_reader1)] == []
    # reader2's worklist shows the scan as new with nothing saved: no trace of reader1's 24 cells.
    assert [(t.scan_id, t.status, t.n_cells_saved) for t in worklist(ws, team.reader2)] == [(scan, "new", 0)]
    assert [(t.status, t.n_cells_saved) for t in worklist(ws, team.reader1)] == [("in_progress", 24)]
    # Before the scan is in the queue the adjudicator and the investigator are blinded too.
    for user in (team.adjudicator, team.investigator):
        with pytest.raises(Forbidden):
            read_of_role(ws, user, scan, "reader1")
    with pytest.raises(Forbidden):
        adjudication_queue(ws, team.reader2)
    with pytest.raises(Forbidden):
        save_adjudication(ws, team.reader2, scan, "RU", "ggo", 1)
    with pytest.raises(Forbidden):
        save_cell(ws, team.adjudicator, scan, "RU", "ggo", grade=1)


@pytest.mark.parametrize(("kwargs", "column", "rule"), [
    ({"grade": 5}, "fibrosis", "range"),
    ({"grade": -1}, "fibrosis", "range"),
    ({"grade": 2.5}, "fibrosis", "type"),
    ({"grade": "two"}, "fibrosis", "type"),
    ({"grade": True}, "fibrosis", "type"),
    ({"percent": 100.5}, "fibrosis_pct", "range"),
    ({"percent": "1,5"}, "fibrosis_pct", "type"),
    ({"percent": float("inf")}, "fibrosis_pct", "type"),
])
def test_a_value_the_loaders_refuse_is_refused_naming_zone_pattern_value_and_rule(ws, team, scan, kwargs, column,
                                                                                rule):
    with pytest.raises(InvalidScore) as err:
        save_cell(ws, team.reader1, scan, "RM", "fibrosis", **kwargs)
    value = next(iter(kwargs.values()))
    assert (err.value.zone, err.value.pattern, err.value.column, err.value.rule) == ("RM", "fibrosis", column, rule)
    assert err.value.value is value or err.value.value == value
    text = str(err.value)
    assert "zone RM" in text and "pattern fibrosis" in text and f"rule {rule}" in text and repr(value) in text
    assert read_form(ws, team.reader1, scan).cells == {}  # nothing saved
    assert [r for r in audit_rows(ws) if r["action"] == "save_cell"] == []


def test_the_edges_of_the_ranges_are_accepted(ws, team, scan):
    for grade in (0, 4, "3", 2.0):
        assert save_cell(ws, team.reader1, scan, "RU", "ggo", grade=grade).grade == int(float(grade))
    for pct in (0, 100, "37.5"):
        assert save_cell(ws, team.reader1, scan, "RU", "ggo", percent=pct).percent == float(pct)


def test_unknown_zone_pattern_and_scan(ws, team, scan):
    with pytest.raises(InvalidScore, match="zone 'XX' is not one of RU, RM, RL, LU, LM, LL") as err:
        save_cell(ws, team.reader1, scan, "XX", "ggo", grade=1)
    assert err.value.rule == "category"
    with pytest.raises(InvalidScore, match="pattern 'emphysema'"):
        save_cell(ws, team.reader1, scan, "RU", "emphysema", grade=1)
    with pytest.raises(NotFound):
        save_cell(ws, team.reader1, scan + 99, "RU", "ggo", grade=1)
    with pytest.raises(NotFound):
        read_of_role(ws, team.reader1, scan, "reader3")


def test_grade_and_percent_that_disagree_are_kept_with_a_warning(ws, team, scan):
    saved = save_cell(ws, team.reader1, scan, "RU", "ggo", grade=1, percent=60)  # 60 % is grade 3
    assert (saved.grade, saved.percent) == (1, 60.0)
    assert "grade_pct_mismatch" in saved.warning and "grade 3" in saved.warning
    assert save_cell(ws, team.reader1, scan, "RU", "ggo", grade=3, percent=60).warning is None


def test_double_submission_with_one_request_id_saves_once(ws, team, scan):
    first = save_cell(ws, team.reader1, scan, "RU", "ggo", grade=2, request_id="req-1")
    again = save_cell(ws, team.reader1, scan, "RU", "ggo", grade=2, request_id="req-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.grade, again.old_grade, again.saved_at) == (2, None, first.saved_at)
    saves = [r for r in audit_rows(ws) if r["action"] == "save_cell"]
    assert len(saves) == 1 and saves[0]["request_id"] == "req-1"
    # The same id for another request is a client bug: refused, nothing written.
    with pytest.raises(Conflict, match="req-1"):
        save_cell(ws, team.reader1, scan, "RU", "ggo", grade=3, request_id="req-1")
    with pytest.raises(Conflict):
        save_cell(ws, team.reader2, scan, "RU", "ggo", grade=2, request_id="req-1")
    assert read_form(ws, team.reader1, scan).cells[("RU", "ggo")].grade == 2


def test_double_submission_at_the_same_moment_saves_once(ws, team, scan):
    results, errors = [], []

    def submit():
        try:
            results.append(save_cell(ws, team.reader1, scan, "RL", "consolidation", grade=4, request_id="same"))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert len([r for r in audit_rows(ws) if r["action"] == "save_cell"]) == 1


def test_two_tabs_of_one_reader_both_persist_and_the_last_write_per_cell_wins(ws, team, scan):
    tab1 = save_cell(ws, team.reader1, scan, "RU", "ggo", grade=1, request_id="tab1-a")
    tab2 = save_cell(ws, team.reader1, scan, "LM", "honeycombing", grade=2, request_id="tab2-a")
    save_cell(ws, team.reader1, scan, "RU", "ggo", grade=3, request_id="tab2-b")  # tab 2 overwrites tab 1's cell
    cells = read_form(ws, team.reader1, scan).cells
    assert {k: c.grade for k, c in cells.items()} == {("RU", "ggo"): 3, ("LM", "honeycombing"): 2}
    saves = [(r["key"].split()[-2:], r["old"], r["new"], r["request_id"]) for r in audit_rows(ws)
             if r["action"] == "save_cell"]
    assert saves == [
        (["RU", "ggo"], None, {"grade": 1, "percent": None}, "tab1-a"),
        (["LM", "honeycombing"], None, {"grade": 2, "percent": None}, "tab2-a"),
        (["RU", "ggo"], {"grade": 1, "percent": None}, {"grade": 3, "percent": None}, "tab2-b"),
    ]
    assert not tab1.replayed and not tab2.replayed


def test_concurrent_saves_of_different_cells_all_persist(ws, team, scan):
    cells = [(z, p) for z in ZONES for p in PATTERNS]
    errors = []

    def tab(part):
        try:
            for i, (z, p) in enumerate(part):
                save_cell(ws, team.reader1, scan, z, p, grade=(ZONES.index(z) + PATTERNS.index(p)) % 5,
                          request_id=f"{z}-{p}-{i}")
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(cells[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = {k: c.grade for k, c in read_form(ws, team.reader1, scan).cells.items()}
    assert got == {(z, p): (ZONES.index(z) + PATTERNS.index(p)) % 5 for z, p in cells}


def test_a_server_restart_loses_no_saved_score(open_ws, team, scan):
    first = open_ws()
    save_cell(first, team.reader1, scan, "RU", "ggo", grade=2)
    save_cell(first, team.reader1, scan, "RM", "ggo", percent=30)
    first.dispose()
    restarted = open_ws()
    cells = read_form(restarted, team.reader1, scan).cells
    assert {k: (c.grade, c.percent) for k, c in cells.items()} == {("RU", "ggo"): (2, None),
                                                                   ("RM", "ggo"): (None, 30.0)}
    save_cell(restarted, team.reader1, scan, "RL", "ggo", grade=1)  # and reading goes on
    assert len(read_form(restarted, team.reader1, scan).cells) == 3


def test_finish_needs_all_24_cells_and_then_locks_the_read(ws, team, scan):
    values = all_cells(1)
    del values[("LL", "consolidation")]
    fill(ws, team.reader1, scan, values)
    with pytest.raises(IncompleteRead, match="1 of 24 cells are still empty: LL consolidation") as err:
        finish_read(ws, team.reader1, scan)
    assert err.value.missing == ["LL consolidation"]
    save_cell(ws, team.reader1, scan, "LL", "consolidation", percent=0)
    assert finish_read(ws, team.reader1, scan).status == "finished"
    assert finish_read(ws, team.reader1, scan).status == "finished"  # twice is harmless
    with pytest.raises(Conflict, match="finished"):
        save_cell(ws, team.reader1, scan, "RU", "ggo", grade=4)
    with pytest.raises(Forbidden):
        finish_read(ws, team.investigator, scan)
    assert [t.status for t in worklist(ws, team.reader1)] == ["finished"]
    finished = [r for r in audit_rows(ws) if r["action"] == "finish_read"]
    assert [(r["username"], r["old"], r["new"]) for r in finished] == [
        ("alice", {"status": "in_progress"}, {"status": "finished"})]


def _two_reads(ws, team, scan):
    """reader1: every cell grade 1, except RM honeycombing 10 %. reader2: every cell grade 1, except
    RU fibrosis 3 (gap 2 > 1: flagged), LL ggo 2 (gap 1: not flagged) and RM honeycombing 40 %
    (percent gap 30 >= 25: flagged; its grades 1 vs 2 differ by 1 only)."""
    r1 = all_cells(1)
    r1[("RM", "honeycombing")] = {"percent": 10}
    r2 = all_cells(1)
    r2[("RU", "fibrosis")] = {"grade": 3}
    r2[("LL", "ggo")] = {"grade": 2}
    r2[("RM", "honeycombing")] = {"percent": 40}
    fill(ws, team.reader1, scan, r1)
    fill(ws, team.reader2, scan, r2)
    return r1, r2


def test_discordant_zones_go_to_the_adjudicator_once_both_readers_finished(ws, team, scan):
    _two_reads(ws, team, scan)
    finish_read(ws, team.reader1, scan)
    assert adjudication_queue(ws, team.adjudicator) == []  # reader2 not finished yet
    assert worklist(ws, team.adjudicator) == []
    with pytest.raises(Forbidden):
        read_of_role(ws, team.adjudicator, scan, "reader1")
    finish_read(ws, team.reader2, scan)
    queue = adjudication_queue(ws, team.adjudicator)
    got = [(i.zone, i.pattern, i.reader1_grade, i.reader2_grade, i.reader1_percent, i.reader2_percent, i.open)
           for i in queue]
    # RM honeycombing shows the grades of the percentages too: 10 % is grade 1, 40 % grade 2 (25 % steps).
    assert got == [("RU", "fibrosis", 1, 3, None, None, True), ("RM", "honeycombing", 1, 2, 10.0, 40.0, True)]
    assert "grade gap 2 > 1" in queue[0].flag_reason and "percent gap 30 >= 25" in queue[1].flag_reason
    # Now the adjudicator sees both reads in full; the readers still see only their own.
    assert read_of_role(ws, team.adjudicator, scan, "reader2").cells[("LL", "ggo")].grade == 2
    assert read_of_role(ws, team.adjudicator, scan, "reader1").cells[("LL", "ggo")].grade == 1
    with pytest.raises(Forbidden):
        read_of_role(ws, team.reader1, scan, "reader2")
    with pytest.raises(Forbidden):
        read_of_role(ws, team.investigator, scan, "reader1")  # not closed yet
    assert [(t.status, t.n_cells_saved) for t in worklist(ws, team.adjudicator)] == [("open", 0)]
    with pytest.raises(Conflict, match="not flagged"):
        save_adjudication(ws, team.adjudicator, scan, "LL", "ggo", 2)
    with pytest.raises(InvalidScore, match="rule range"):
        save_adjudication(ws, team.adjudicator, scan, "RU", "fibrosis", 9)
    save_adjudication(ws, team.adjudicator, scan, "RU", "fibrosis", 2)
    assert [t.status for t in worklist(ws, team.investigator)] == ["adjudication"]
    save_adjudication(ws, team.adjudicator, scan, "RM", "honeycombing", 1, request_id="adj-2")
    assert [i.open for i in adjudication_queue(ws, team.adjudicator)] == [False, False]
    assert adjudication_queue(ws, team.adjudicator, open_only=True) == []
    assert [t.status for t in worklist(ws, team.adjudicator)] == ["adjudicated"]
    assert [t.status for t in worklist(ws, team.investigator)] == ["closed"]
    closed = read_of_role(ws, team.investigator, scan, "adjudicator")
    assert {k: c.grade for k, c in closed.cells.items()} == {("RU", "fibrosis"): 2, ("RM", "honeycombing"): 1}


def test_the_gap_comes_from_the_workspace_settings(open_ws, scan):
    from ipafstudy.settings import ClinicalSettings

    from .conftest import make_team

    strict = open_ws(settings=ClinicalSettings(adjudication_grade_gap=0, adjudication_percent_gap=50))
    team = make_team(strict)
    _two_reads(strict, team, scan)
    finish_read(strict, team.reader1, scan)
    finish_read(strict, team.reader2, scan)
    # gap 0: every grade difference is flagged (RU fibrosis 2, LL ggo 1); RM honeycombing's 30-point percent gap
    # is below 50, but its grades from percent, 1 (10 %) and 2 (40 %), differ by 1 > 0.
    got = [(i.zone, i.pattern) for i in adjudication_queue(strict, team.adjudicator)]
    assert got == [("RU", "fibrosis"), ("RM", "honeycombing"), ("LL", "ggo")]


def test_every_change_is_in_the_audit_with_who_when_old_and_new(ws, team, scan, clock):
    save_cell(ws, team.reader1, scan, "RU", "ggo", grade=1)
    clock.advance(minutes=3)
    save_cell(ws, team.reader1, scan, "RU", "ggo", grade=1)  # no change: no row
    save_cell(ws, team.reader1, scan, "RU", "ggo", percent=20)
    rows = [r for r in audit_rows(ws) if r["action"] == "save_cell"]
    assert [(r["username"], r["at"], r["table_name"], r["old"], r["new"]) for r in rows] == [
        ("alice", dt.datetime(2026, 3, 2, 9, 0), "cells", None, {"grade": 1, "percent": None}),
        ("alice", dt.datetime(2026, 3, 2, 9, 3), "cells", {"grade": 1, "percent": None},
         {"grade": None, "percent": 20.0}),
    ]
    assert rows[0]["key"] == f"scan {scan} (P-001 2025-04-14) reader1 RU ggo"
