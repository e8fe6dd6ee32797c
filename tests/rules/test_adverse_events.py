"""Lab-derived adverse events: CTCAE hypomagnesaemia grades and KDIGO AKI, with hand-worked dates and values."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ipafstudy.rules.adverse_events import (
    AkiEvent,
    MagnesiumEvent,
    ctcae_hypomagnesaemia_grade,
    hypomagnesaemia_events,
    kdigo_aki_events,
)
from ipafstudy.rules.common import RuleInputError
from ipafstudy.settings import ClinicalSettings

DEFAULT = ClinicalSettings()
D = dt.date


def series(*pairs) -> pd.DataFrame:
    return pd.DataFrame({"date": [p[0] for p in pairs], "value": [p[1] for p in pairs]})


# --- CTCAE grade -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mg", "grade"),
    [(1.0, 0), (0.70, 0), (0.6999, 1), (0.5, 1), (0.4999, 2), (0.4, 2), (0.3999, 3), (0.3, 3), (0.2999, 4),
     (0.0, 4)],
)
def test_ctcae_grade_every_boundary(mg, grade):
    assert ctcae_hypomagnesaemia_grade(mg) == grade


def test_ctcae_grade_uses_the_given_lln():
    assert ctcae_hypomagnesaemia_grade(0.72, lower_limit_normal=0.74) == 1
    assert ctcae_hypomagnesaemia_grade(0.74, lower_limit_normal=0.74) == 0
    assert ctcae_hypomagnesaemia_grade(0.45, lower_limit_normal=0.45) == 0  # at the LLN: normal


@pytest.mark.parametrize(("mg", "lln"), [(-0.1, 0.7), (float("nan"), 0.7), ("low", 0.7), (0.5, 0.0), (0.5, None)])
def test_ctcae_grade_bad_input(mg, lln):
    with pytest.raises(RuleInputError):
        ctcae_hypomagnesaemia_grade(mg, lln)


# --- hypomagnesaemia episodes ----------------------------------------------------------------------

MG = series(
    (D(2022, 12, 20), 0.60),  # before start: ignored
    (D(2023, 1, 1), 0.70),  # start day, exactly the threshold: not low
    (D(2023, 1, 15), 0.75),
    (D(2023, 2, 1), 0.65),  # episode 1 starts
    (D(2023, 2, 15), 0.45),  # nadir of episode 1 (grade 2)
    (D(2023, 3, 1), 0.72),  # normal: episode 1 ends
    (D(2023, 4, 1), 0.69),  # episode 2 (grade 1)
    (D(2023, 6, 30), 0.71),  # end day
    (D(2023, 7, 5), 0.30),  # after end: ignored
)


def test_hypomagnesaemia_episodes():
    events = hypomagnesaemia_events(MG, D(2023, 1, 1), D(2023, 6, 30), DEFAULT)
    assert events == [MagnesiumEvent(D(2023, 2, 1), 0.45, 2), MagnesiumEvent(D(2023, 4, 1), 0.69, 1)]
    onset, nadir, grade = events[0]  # plain tuple unpacking works
    assert (onset, nadir, grade) == (D(2023, 2, 1), 0.45, 2)


def test_hypomagnesaemia_open_ended_exposure():
    events = hypomagnesaemia_events(MG.drop(index=7), D(2023, 1, 1), None, DEFAULT)
    # without the 30 June value, 0.69 (1 Apr) and 0.30 (5 Jul) are consecutive: one episode, grade 3
    assert events[-1] == MagnesiumEvent(D(2023, 4, 1), 0.30, 3)
    assert len(events) == 2


def test_hypomagnesaemia_threshold_setting_merges_episodes():
    events = hypomagnesaemia_events(MG, D(2023, 1, 1), D(2023, 6, 30), ClinicalSettings(hypomagnesemia_mmol_l=0.73))
    # below 0.73: 0.70 on 1 Jan is an episode (grade 1 against LLN 0.73); 0.75 ends it; then 0.65, 0.45,
    # 0.72, 0.69, 0.71 (1 Feb to 30 Jun) have no normal value between them: one episode, nadir 0.45
    assert events == [MagnesiumEvent(D(2023, 1, 1), 0.70, 1), MagnesiumEvent(D(2023, 2, 1), 0.45, 2)]


def test_hypomagnesaemia_start_and_end_days_count():
    vals = series((D(2023, 1, 1), 0.6), (D(2023, 1, 2), 0.8), (D(2023, 1, 31), 0.55))
    events = hypomagnesaemia_events(vals, D(2023, 1, 1), D(2023, 1, 31), DEFAULT)
    assert [e.onset_date for e in events] == [D(2023, 1, 1), D(2023, 1, 31)]


def test_hypomagnesaemia_row_order_and_timestamps_do_not_matter():
    shuffled = MG.sample(frac=1.0, random_state=1)
    as_ts = MG.assign(date=pd.to_datetime(MG["date"]))
    expected = hypomagnesaemia_events(MG, D(2023, 1, 1), D(2023, 6, 30), DEFAULT)
    assert hypomagnesaemia_events(shuffled, D(2023, 1, 1), D(2023, 6, 30), DEFAULT) == expected
    assert hypomagnesaemia_events(as_ts, "2023-01-01", "2023-06-30", DEFAULT) == expected


def test_hypomagnesaemia_no_values_or_all_normal():
    empty = pd.DataFrame({"date": [], "value": []})
    assert hypomagnesaemia_events(empty, D(2023, 1, 1), None, DEFAULT) == []
    assert hypomagnesaemia_events(series((D(2023, 1, 5), 0.9)), D(2023, 1, 1), None, DEFAULT) == []


@pytest.mark.parametrize(
    ("frame", "start", "end", "message"),
    [
        (pd.DataFrame({"date": [D(2023, 1, 1)]}), D(2023, 1, 1), None, "value"),
        (series((D(2023, 1, 1), -0.2)), D(2023, 1, 1), None, "negative"),
        (series((None, 0.5)), D(2023, 1, 1), None, "date is missing"),
        (series(("not a date", 0.5)), D(2023, 1, 1), None, "not a date"),
        (series((D(2023, 1, 1), 0.5)), D(2023, 2, 1), D(2023, 1, 1), "before its start"),
    ],
)
def test_hypomagnesaemia_bad_input(frame, start, end, message):
    with pytest.raises(RuleInputError, match=message):
        hypomagnesaemia_events(frame, start, end, DEFAULT)


def test_input_frame_not_modified():
    before = MG.copy()
    hypomagnesaemia_events(MG, D(2023, 1, 1), None, DEFAULT)
    pd.testing.assert_frame_equal(MG, before)


# --- KDIGO AKI -------------------------------------------------------------------------------------

START, END = D(2023, 1, 1), D(2023, 12, 31)


def test_aki_absolute_rise_within_48_hours():
    cr = series((D(2023, 1, 1), 80), (D(2023, 1, 10), 85), (D(2023, 1, 12), 112), (D(2023, 1, 13), 90))
    # 12 Jan: 112 - 85 = 27 >= 26.5 two days after; 112 / 85 = 1.32 < 1.5. 13 Jan: 90 is 3 days after 85 -> ends
    assert kdigo_aki_events(cr, START, END, 80.0) == [
        AkiEvent(D(2023, 1, 12), 112.0, 1, "rise >= 26.5 umol/L within 48 h")]


@pytest.mark.parametrize(("later", "expected"), [(111.5, 1), (111.4, 0)])
def test_aki_absolute_rise_exactly_26_5(later, expected):
    cr = series((D(2023, 2, 1), 85.0), (D(2023, 2, 2), later))
    assert len(kdigo_aki_events(cr, START, END, None)) == expected


@pytest.mark.parametrize(("days", "expected"), [(2, 1), (3, 0)])
def test_aki_48_hours_with_dates(days, expected):
    cr = series((D(2023, 2, 1), 85.0), (D(2023, 2, 1) + dt.timedelta(days=days), 115.0))  # 115/85 = 1.35
    assert len(kdigo_aki_events(cr, START, END, None)) == expected


def test_aki_hours_with_timestamps():
    cr = series((pd.Timestamp("2023-02-01 08:00"), 85.0), (pd.Timestamp("2023-02-03 09:00"), 115.0))
    assert kdigo_aki_events(cr, START, END, None) == []  # 49 h apart
    cr = series((pd.Timestamp("2023-02-01 08:00"), 85.0), (pd.Timestamp("2023-02-03 08:00"), 115.0))
    assert len(kdigo_aki_events(cr, START, END, None)) == 1  # exactly 48 h


def test_aki_relative_rise_against_lowest_value_in_prior_7_days():
    cr = series((D(2023, 2, 1), 70.0), (D(2023, 2, 3), 90.0), (D(2023, 2, 6), 105.0))
    # 6 Feb: lowest value in the 7 days before = 70; 105 / 70 = 1.5 exactly -> stage 1
    ev = kdigo_aki_events(cr, START, END, 100.0)
    assert [(e.onset_date, e.peak, e.stage) for e in ev] == [(D(2023, 2, 6), 105.0, 1)]
    assert "lowest value in prior 7 days 70" in ev[0].criterion


def test_aki_falls_back_to_treatment_baseline_when_nothing_in_7_days():
    cr = series((D(2023, 1, 1), 60.0), (D(2023, 3, 1), 119.0), (D(2023, 4, 1), 60.0), (D(2023, 5, 1), 120.0),
                (D(2023, 6, 1), 60.0), (D(2023, 7, 1), 180.0))
    ev = kdigo_aki_events(cr, START, END, 60.0)
    # no value in the 7 days before any of them, so the reference is the baseline 60:
    # 119/60 = 1.98 -> stage 1; 120/60 = 2.0 -> stage 2; 180/60 = 3.0 -> stage 3; the 60s end each episode
    assert [(e.onset_date, e.stage) for e in ev] == [(D(2023, 3, 1), 1), (D(2023, 5, 1), 2), (D(2023, 7, 1), 3)]
    assert "treatment baseline 60" in ev[0].criterion
    assert kdigo_aki_events(cr, START, END, None) == []  # no reference at all: (b) cannot be tested


def test_aki_consecutive_qualifying_values_are_one_episode():
    cr = series((D(2023, 4, 1), 70.0), (D(2023, 4, 2), 110.0), (D(2023, 4, 3), 150.0), (D(2023, 4, 20), 75.0))
    # 2 Apr: 110/70 = 1.57 (and +40 in 24 h); 3 Apr: 150/70 = 2.14 -> stage 2; 20 Apr: 75 (nothing in 7 days,
    # baseline 70 -> 1.07) ends it
    assert kdigo_aki_events(cr, START, END, 70.0) == [
        AkiEvent(D(2023, 4, 2), 150.0, 2, "rise >= 26.5 umol/L within 48 h; >= 1.5 x reference "
                 "(lowest value in prior 7 days 70 umol/L)")]


def test_aki_stage_3_by_absolute_value():
    cr = series((D(2023, 5, 1), 330.0), (D(2023, 5, 2), 360.0))  # +30 in 24 h and >= 353.6
    assert kdigo_aki_events(cr, START, END, 300.0)[0].stage == 3


def test_aki_values_before_start_are_references_not_events():
    cr = series((D(2022, 12, 30), 70.0), (D(2022, 12, 31), 140.0), (D(2023, 1, 1), 110.0))
    # 31 Dec qualifies but is before the start; 1 Jan: lowest in 7 days = 70 -> 110/70 = 1.57 (start day counts)
    ev = kdigo_aki_events(cr, START, END, None)
    assert [(e.onset_date, e.peak, e.stage) for e in ev] == [(D(2023, 1, 1), 110.0, 1)]


def test_aki_same_day_values_are_not_ordered():
    cr = series((D(2023, 6, 1), 80.0), (D(2023, 6, 1), 120.0))
    assert kdigo_aki_events(cr, START, END, None) == []


def test_aki_renal_rule_none_disables():
    cr = series((D(2023, 2, 1), 70.0), (D(2023, 2, 2), 200.0))
    assert len(kdigo_aki_events(cr, START, END, 70.0, DEFAULT)) == 1
    assert kdigo_aki_events(cr, START, END, 70.0, ClinicalSettings(renal_rule="none")) == []


def test_aki_stable_creatinine_has_no_events():
    cr = series(*[(D(2023, 1, 1) + dt.timedelta(days=7 * i), 80.0 + (i % 3)) for i in range(20)])
    assert kdigo_aki_events(cr, START, END, 80.0) == []


@pytest.mark.parametrize("baseline", [0.0, -5.0, "high"])
def test_aki_bad_baseline(baseline):
    with pytest.raises(RuleInputError, match="baseline"):
        kdigo_aki_events(series((D(2023, 1, 2), 80.0)), START, END, baseline)


# --- KDIGO boundaries after unit conversion (audit) -------------------------------------------------
# Values that a laboratory writes with one decimal, or in mg/dL, are not exact in binary floating
# point, so a rise of exactly 26.5 umol/L or exactly 1.5 x can come out a hair below the threshold.
# The expectations are worked by hand in decimal arithmetic: the spec's thresholds are inclusive.


@pytest.mark.parametrize(("first", "later"), [(60.1, 86.6), (63.8, 90.3), (70.2, 96.7)])
def test_aki_absolute_rise_of_exactly_26_5_with_decimals(first, later):
    # later - first = 26.5 exactly in decimal; 1.5 x is not reached (86.6 / 60.1 = 1.44)
    cr = series((D(2023, 2, 1), first), (D(2023, 2, 2), later))
    ev = kdigo_aki_events(cr, START, END, None)
    assert [(e.onset_date, e.stage, e.criterion) for e in ev] == [
        (D(2023, 2, 2), 1, "rise >= 26.5 umol/L within 48 h")]


@pytest.mark.parametrize(("first_mg_dl", "later_mg_dl"), [(0.8, 1.2), (1.3, 1.95), (0.6, 0.9)])
def test_aki_relative_rise_of_exactly_1_5_in_mg_dl(first_mg_dl, later_mg_dl):
    # 1.2 / 0.8 = 1.95 / 1.3 = 0.9 / 0.6 = 1.5 exactly; converted with 1 mg/dL = 88.4 umol/L. The values are
    # 5 days apart (outside 48 h), so only the 1.5 x criterion can fire: stage 1 (1.5 < 2.0).
    cr = series((D(2023, 2, 1), first_mg_dl * 88.4), (D(2023, 2, 6), later_mg_dl * 88.4))
    ev = kdigo_aki_events(cr, START, END, None)
    assert [(e.onset_date, e.stage) for e in ev] == [(D(2023, 2, 6), 1)]
    assert ev[0].criterion.startswith(">= 1.5 x reference (lowest value in prior 7 days")


def test_aki_stage_ratios_of_exactly_2_and_3_in_mg_dl():
    # 1.4 / 0.7 = 2.0 exactly -> stage 2; 2.1 / 0.7 = 3.0 exactly -> stage 3 (values 7 days apart, < 353.6 umol/L)
    for later, stage in ((1.4, 2), (2.1, 3)):
        cr = series((D(2023, 2, 1), 0.7 * 88.4), (D(2023, 2, 8), later * 88.4))
        assert [e.stage for e in kdigo_aki_events(cr, START, END, None)] == [stage]


# --- CTCAE grade in mg/dL (audit) ------------------------------------------------------------------
# CTCAE gives each boundary in both units: 0.5 mmol/L (1.2 mg/dL), 0.4 (0.9), 0.3 (0.7). The mg/dL
# figures are rounded, so 1.2 mg/dL is 1.2 / 2.43 = 0.494 mmol/L: converting first would put a value
# CTCAE calls grade 1 in grade 2. A value reported in mg/dL is graded against the mg/dL boundaries;
# the lower limit of normal stays in mmol/L (the setting's unit): 0.70 mmol/L = 0.70 x 2.43 = 1.701 mg/dL.


@pytest.mark.parametrize(
    ("mg_dl", "grade"),
    [(1.75, 0), (1.71, 0), (1.70, 1), (1.2, 1), (1.19, 2), (0.9, 2), (0.89, 3), (0.7, 3), (0.69, 4), (0.0, 4)],
)
def test_ctcae_grade_mg_dl_boundaries(mg_dl, grade):
    assert ctcae_hypomagnesaemia_grade(mg_dl, 0.70, unit="mg/dL") == grade


@pytest.mark.parametrize("unit", ["mmol/L", "mmol/l", " MMOL/L "])
def test_ctcae_grade_mmol_l_spellings(unit):
    assert ctcae_hypomagnesaemia_grade(0.5, 0.70, unit=unit) == 1


@pytest.mark.parametrize("unit", ["mg/dL", "MG/DL", "mg / dl", "mg per dL"])
def test_ctcae_grade_mg_dl_spellings(unit):
    assert ctcae_hypomagnesaemia_grade(1.2, 0.70, unit=unit) == 1  # 1.2 mg/dL: grade 1 (0.494 mmol/L: grade 2)


def test_ctcae_grade_unknown_unit_is_an_error():
    with pytest.raises(RuleInputError, match="mEq/L"):
        ctcae_hypomagnesaemia_grade(1.0, 0.70, unit="mEq/L")  # convert to mmol/L first (exact: / 2)


def test_hypomagnesaemia_grade_uses_the_reported_mg_dl_value():
    # episode detection in mmol/L (1.2 / 2.43 = 0.494 < 0.70); the nadir's grade from its reported 1.2 mg/dL
    frame = pd.DataFrame({
        "date": [D(2023, 2, 1), D(2023, 3, 1), D(2023, 4, 1), D(2023, 5, 1), D(2023, 6, 1)],
        "value": [1.2 / 2.43, 0.8, 0.9 / 2.43, 0.8, 0.45],
        "original_value": [1.2, 0.8, 0.9, 1.6, 0.45],
        "original_unit": ["mg/dL", "mmol/L", "mg/dL", "mEq/L", "mmol/L"],
    })
    events = hypomagnesaemia_events(frame, D(2023, 1, 1), None, DEFAULT)
    assert [(e.onset_date, e.grade) for e in events] == [(D(2023, 2, 1), 1), (D(2023, 4, 1), 2), (D(2023, 6, 1), 2)]
    assert events[0].nadir == pytest.approx(1.2 / 2.43, rel=1e-12)  # nadir stays in mmol/L


def test_hypomagnesaemia_without_original_columns_grades_mmol_l():
    frame = series((D(2023, 2, 1), 1.2 / 2.43))
    assert hypomagnesaemia_events(frame, D(2023, 1, 1), None, DEFAULT)[0].grade == 2  # 0.494 mmol/L < 0.5


@pytest.mark.parametrize(("days", "n_events"), [(7, 1), (8, 0)])
def test_aki_relative_window_is_seven_days_inclusive(days, n_events):
    # 105 / 70 = 1.5 exactly; a +35 rise more than 48 h apart. The 70 counts as reference 7 days before, not 8.
    cr = series((D(2023, 3, 1), 70.0), (D(2023, 3, 1) + dt.timedelta(days=days), 105.0))
    assert len(kdigo_aki_events(cr, START, END, None)) == n_events
