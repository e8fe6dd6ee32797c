"""HRCT score, reader discordance and consensus (clinical-rules.md s.3), worked by hand."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from ipafstudy.data import schema
from ipafstudy.rules.common import RuleInputError
from ipafstudy.rules.hrct import (
    PATTERNS,
    READER_ROLES,
    ZONES,
    consensus,
    discordance,
    grade_from_percent,
    reader_scores,
    zone_grades,
)
from ipafstudy.settings import ClinicalSettings

DEFAULT = ClinicalSettings()
D1 = dt.date(2023, 1, 10)


def read(role: str, pid: str = "P1", date: dt.date = D1, zones=ZONES, pct: bool = False, **patterns):
    """Rows of one reader for one scan; each pattern given as one grade for all zones or six grades."""
    rows = []
    for i, zone in enumerate(zones):
        row = {"patient_id": pid, "scan_date": date, "reader": f"dr_{role}", "reader_role": role, "zone": zone}
        for p in PATTERNS:
            val = patterns.get(p, 0)
            val = val[i] if isinstance(val, (list, tuple)) else val
            row[f"{p}_pct" if pct else p] = val
        rows.append(row)
    return rows


def frame(*row_lists) -> pd.DataFrame:
    rows = [r for rl in row_lists for r in rl]
    df = pd.DataFrame(rows)
    for p in PATTERNS:
        for col in (p, f"{p}_pct"):
            if col not in df.columns:
                df[col] = float("nan")
    return df


# --- grade_from_percent ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pct", "grade"),
    [(0, 0), (0.0001, 1), (25, 1), (25.0001, 2), (50, 2), (50.0001, 3), (75, 3), (75.0001, 4), (100, 4),
     (12.5, 1), (37.5, 2)],
)
def test_grade_from_percent_boundaries(pct, grade):
    assert grade_from_percent(pct) == grade


@pytest.mark.parametrize("pct", [101, -0.1, 100.0001, float("nan"), None, True, "abc"])
def test_grade_from_percent_rejects_bad_values(pct):
    with pytest.raises(RuleInputError):
        grade_from_percent(pct)


def test_constants_match_schema():
    assert (ZONES, PATTERNS, READER_ROLES) == (schema.ZONES, schema.PATTERNS, schema.READER_ROLES)
    assert set(schema.HRCT_READS.column_names) >= {"patient_id", "scan_date", "reader", "reader_role", "zone"}


# --- zone_grades ---------------------------------------------------------------------------------


def test_zone_grades_fill_from_percent_and_report_conflict():
    df = frame(read("reader1", ggo=2))
    df["ggo_pct"] = [40.0, 60.0, None, None, None, None]  # RU agrees (grade 2), RM conflicts (3)
    df.loc[2, "ggo"] = None
    df.loc[2, "ggo_pct"] = 80.0  # RL: grade filled from 80 % -> 4
    before = df.copy()
    g = zone_grades(df)
    ggo = g[g["pattern"] == "ggo"].set_index("zone")
    assert ggo.loc["RU", "grade"] == 2 and not ggo.loc["RU", "conflict"]
    assert ggo.loc["RM", "grade"] == 2 and ggo.loc["RM", "conflict"]
    assert "60 % is grade 3" in ggo.loc["RM", "conflict_detail"]
    assert (ggo.loc["RL", "grade"], ggo.loc["RL", "grade_source"]) == (4, "percent")
    assert ggo.loc["LU", "grade_source"] == "grade"
    assert len(g) == 6 * 4
    pd.testing.assert_frame_equal(df, before)  # input untouched


def test_zone_grades_missing_grade_and_percent_is_missing():
    df = frame(read("reader1"))
    df.loc[0, "fibrosis"] = None
    g = zone_grades(df)
    cell = g[(g["zone"] == "RU") & (g["pattern"] == "fibrosis")].iloc[0]
    assert pd.isna(cell["grade"]) and cell["grade_source"] == "missing"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("ggo", 5, "grade 5"), ("ggo", 2.5, "grade 2.5"), ("ggo", -1, "grade -1"), ("ggo_pct", 120.0, "120"),
     ("zone", "RX", "'RX'"), ("reader_role", "reader3", "'reader3'")],
)
def test_zone_grades_bad_values_name_row_and_column(column, value, message):
    df = frame(read("reader1"))
    df[column] = df[column].astype(object)
    df.loc[3, column] = value
    with pytest.raises(RuleInputError, match=message) as err:
        zone_grades(df)
    assert "index 3" in str(err.value)


def test_zone_grades_error_uses_source_provenance():
    df = frame(read("reader1"))
    df["_source_file"] = "hrct.xlsx"
    df["_source_sheet"] = "reads"
    df["_source_row"] = range(2, 8)
    df.loc[1, "ggo"] = 9
    with pytest.raises(RuleInputError, match=r"hrct.xlsx \[reads\] row 3, column ggo"):
        zone_grades(df)


def test_duplicate_read_is_an_error():
    df = frame(read("reader1"), read("reader1", zones=("LL",)))
    with pytest.raises(RuleInputError, match="second reader1 read of zone LL"):
        zone_grades(df)


def test_missing_column_is_an_error():
    with pytest.raises(RuleInputError, match="zone"):
        zone_grades(pd.DataFrame({"patient_id": ["P1"], "scan_date": [D1], "reader_role": ["reader1"]}))


# --- reader_scores -------------------------------------------------------------------------------


def test_reader_scores_hand_worked():
    df = frame(read("reader1", ggo=[1, 2, 3, 4, 0, 1], fibrosis=2, honeycombing=0, consolidation=4),
               read("reader2", ggo=1, fibrosis=[0, 0, 0, 1, 1, 1]))
    s = reader_scores(df).set_index("reader_role")
    # reader1: ggo 1+2+3+4+0+1 = 11, fibrosis 6*2 = 12, honeycombing 0, consolidation 6*4 = 24, total 47
    assert s.loc["reader1", ["ggo", "fibrosis", "honeycombing", "consolidation", "total"]].tolist() == [
        11.0, 12.0, 0.0, 24.0, 47.0]
    # reader2: ggo 6, fibrosis 3, total 9
    assert s.loc["reader2", ["ggo", "fibrosis", "total"]].tolist() == [6.0, 3.0, 9.0]
    assert s["complete"].all() and (s["n_zones"] == 6).all()


def test_reader_scores_maximum_is_96():
    s = reader_scores(frame(read("reader1", ggo=4, fibrosis=4, honeycombing=4, consolidation=4)))
    assert s["total"].iloc[0] == 96.0


def test_reader_scores_missing_zone_is_nan_with_count():
    s = reader_scores(frame(read("reader1", zones=ZONES[:5], ggo=1)))
    assert math.isnan(s["ggo"].iloc[0]) and math.isnan(s["total"].iloc[0])
    assert s["n_zones"].iloc[0] == 5 and not s["complete"].iloc[0]


def test_reader_scores_missing_one_pattern_grade():
    df = frame(read("reader1", ggo=1, fibrosis=1))
    df.loc[5, "fibrosis"] = None
    s = reader_scores(df).iloc[0]
    assert s["ggo"] == 6.0 and math.isnan(s["fibrosis"]) and math.isnan(s["total"])


# --- discordance ---------------------------------------------------------------------------------


def _cell(disc, zone="RU", pattern="ggo"):
    return disc[(disc["zone"] == zone) & (disc["pattern"] == pattern)].iloc[0]


@pytest.mark.parametrize(("g1", "g2", "flagged"), [(1, 2, False), (1, 3, True), (4, 0, True), (2, 2, False)])
def test_grade_gap_one_vs_two(g1, g2, flagged):
    disc = discordance(frame(read("reader1", ggo=g1), read("reader2", ggo=g2)), DEFAULT)
    cell = _cell(disc)
    assert cell["gap"] == abs(g1 - g2)
    assert cell["flagged"] is flagged or bool(cell["flagged"]) == flagged
    assert bool(cell["open"]) == flagged


@pytest.mark.parametrize(
    ("p1", "p2", "flagged"),
    [(10.0, 34.9, False), (10.0, 35.0, True), (35.1, 60.1, True), (0.0, 24.9, False), (20.0, 45.0, True)],
)
def test_percent_gap_24_9_vs_25(p1, p2, flagged):
    # grades: 10 % -> 1, 34.9/35 % -> 2 (gap 1, not flagged by grade); only the percent gap decides
    disc = discordance(frame(read("reader1", pct=True, ggo=p1), read("reader2", pct=True, ggo=p2)), DEFAULT)
    cell = _cell(disc)
    assert cell["gap"] <= 1
    assert bool(cell["flagged"]) == flagged


def test_percent_gap_needs_both_percents():
    df = frame(read("reader1", pct=True, ggo=10.0), read("reader2", ggo=2))  # 10 % vs grade 2 (no percent)
    cell = _cell(discordance(df, DEFAULT))
    assert pd.isna(cell["percent_gap"]) and not cell["flagged"]


def test_gap_settings():
    df = frame(read("reader1", ggo=1), read("reader2", ggo=2))
    assert bool(_cell(discordance(df, ClinicalSettings(adjudication_grade_gap=0)))["flagged"])
    df = frame(read("reader1", pct=True, ggo=10.0), read("reader2", pct=True, ggo=35.0))
    assert not _cell(discordance(df, ClinicalSettings(adjudication_percent_gap=30)))["flagged"]


def test_adjudicator_grade_closes_the_flag():
    df = frame(read("reader1", ggo=0), read("reader2", ggo=3), read("adjudicator", zones=("RU",), ggo=2))
    disc = discordance(df, DEFAULT)
    ru, rm = _cell(disc, "RU"), _cell(disc, "RM")
    assert ru["flagged"] and ru["adjudicator_grade"] == 2 and not ru["open"]
    assert rm["flagged"] and pd.isna(rm["adjudicator_grade"]) and rm["open"]
    assert len(disc) == 24


# --- consensus -----------------------------------------------------------------------------------


def _flagged_scan(with_adjudicator: bool = True) -> pd.DataFrame:
    # reader1 ggo 1 everywhere; reader2 ggo 2 except LL = 4 (gap 3: flagged); adjudicator LL ggo = 3
    parts = [read("reader1", ggo=1), read("reader2", ggo=[2, 2, 2, 2, 2, 4])]
    if with_adjudicator:
        parts.append(read("adjudicator", zones=("LL",), ggo=3))
    return frame(*parts)


@pytest.mark.parametrize(
    ("rule", "ggo"),
    [
        ("mean_then_adjudicator", 5 * 1.5 + 3),  # five means of (1+2)/2 plus the adjudicator's 3 = 10.5
        ("adjudicator_else_reader1", 5 * 1 + 3),  # reader1's 1 in five zones plus 3 = 8
        ("mean", 5 * 1.5 + (1 + 4) / 2),  # all means: 7.5 + 2.5 = 10
    ],
)
def test_each_consensus_rule(rule, ggo):
    res = consensus(_flagged_scan(), ClinicalSettings(consensus_rule=rule))
    scan = res.scans.iloc[0]
    assert scan["ggo"] == pytest.approx(ggo)
    assert scan["fibrosis"] == 0.0 and scan["total"] == pytest.approx(ggo)
    assert bool(scan["complete"]) and scan["n_flagged"] == 1 and scan["n_open"] == 0
    assert res.open_flags.empty
    assert res.consensus_rule == rule


@pytest.mark.parametrize("rule", ["mean_then_adjudicator", "adjudicator_else_reader1", "mean"])
def test_open_flag_blocks_the_scan_under_every_rule(rule):
    res = consensus(_flagged_scan(with_adjudicator=False), ClinicalSettings(consensus_rule=rule))
    scan = res.scans.iloc[0]
    assert not scan["complete"] and math.isnan(scan["ggo"]) and math.isnan(scan["total"])
    assert scan["n_open"] == 1 and "open flag" in scan["issue"]
    assert res.open_flags[["zone", "pattern", "reader1_grade", "reader2_grade"]].values.tolist() == [
        ["LL", "ggo", 1, 4]]
    ll = res.zones[(res.zones["zone"] == "LL") & (res.zones["pattern"] == "ggo")].iloc[0]
    assert math.isnan(ll["final_grade"]) and ll["rule_used"].startswith("open")


def test_unflagged_adjudicator_is_ignored_by_mean_then_adjudicator():
    df = frame(read("reader1", ggo=1), read("reader2", ggo=2), read("adjudicator", ggo=4))
    assert consensus(df, DEFAULT).scans["ggo"].iloc[0] == 9.0  # 6 x 1.5
    assert consensus(df, ClinicalSettings(consensus_rule="adjudicator_else_reader1")).scans["ggo"].iloc[0] == 24.0


def test_single_reader_scan_is_reported_not_scored():
    res = consensus(frame(read("reader1", ggo=2)), DEFAULT)
    scan = res.scans.iloc[0]
    assert not scan["complete"] and math.isnan(scan["total"])
    assert "read by reader1 only" in scan["issue"]


def test_missing_zone_blocks_the_scan():
    df = frame(read("reader1", ggo=1), read("reader2", zones=ZONES[1:], ggo=1))  # reader2 skipped RU
    scan = consensus(df, DEFAULT).scans.iloc[0]
    assert not scan["complete"] and math.isnan(scan["ggo"])
    assert "missing zone grades: RU ggo" in scan["issue"]


def test_zone_absent_for_both_readers_blocks_the_scan():
    df = frame(read("reader1", zones=ZONES[:5]), read("reader2", zones=ZONES[:5]))
    scan = consensus(df, DEFAULT).scans.iloc[0]
    assert not scan["complete"] and "LL ggo" in scan["issue"]


def test_two_scans_two_patients_are_kept_apart_and_ordered():
    d0 = dt.date(2022, 6, 1)
    df = frame(
        read("reader1", pid="P2", ggo=2), read("reader2", pid="P2", ggo=2),
        read("reader1", pid="P1", date=D1, consolidation=1), read("reader2", pid="P1", date=D1, consolidation=1),
        read("reader1", pid="P1", date=d0, consolidation=3), read("reader2", pid="P1", date=d0, consolidation=2),
    )
    scans = consensus(df, DEFAULT).scans
    assert scans[["patient_id", "scan_date"]].values.tolist() == [["P1", d0], ["P1", D1], ["P2", D1]]
    assert scans["consolidation"].tolist() == [15.0, 6.0, 0.0]  # 6 x 2.5, 6 x 1, 0
    assert scans["ggo"].tolist() == [0.0, 0.0, 12.0]


def test_row_order_does_not_change_the_result():
    df = _flagged_scan()
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a, b = consensus(df, DEFAULT), consensus(shuffled, DEFAULT)
    pd.testing.assert_frame_equal(a.scans, b.scans)
    pd.testing.assert_frame_equal(a.zones, b.zones)


def test_conflicts_are_carried_into_consensus():
    df = frame(read("reader1", ggo=1), read("reader2", ggo=1))
    df.loc[0, "ggo_pct"] = 90.0  # grade 1 recorded, 90 % would be grade 4
    res = consensus(df, DEFAULT)
    assert len(res.conflicts) == 1 and res.conflicts["zone"].iloc[0] == "RU"
    assert res.scans["ggo"].iloc[0] == 6.0  # the recorded grade is used


def test_empty_reads_give_empty_frames_with_columns():
    empty = frame(read("reader1")).iloc[0:0]
    res = consensus(empty, DEFAULT)
    assert res.scans.empty and "total" in res.scans.columns
    assert res.open_flags.empty and "zone" in res.open_flags.columns
    assert reader_scores(empty).empty and discordance(empty, DEFAULT).empty
