"""Adverse events: recorded + lab-derived, merging window, per-patient counting, on-treatment only."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import D, full_patient, meas, merge

from ipafstudy.cohort.adverse_events import MERGE_WINDOW_DAYS, merge_events
from ipafstudy.cohort.build import build_cohort
from ipafstudy.settings import ClinicalSettings

S = D(2023, 1, 1)


def ae(pid, day, event, grade=None):
    return {"patient_id": pid, "onset_date": day, "event": event, "grade": grade, "serious": "no",
            "led_to_discontinuation": "no", "led_to_dose_change": "no", "outcome": "resolved",
            "attribution": "possibly_related"}


def _study():
    p1 = full_patient("P01", S, None)
    p2 = full_patient("P02", S, None)
    extra = {
        "adverse_events": [
            ae("P01", D(2023, 2, 1), "hypomagnesaemia"),
            ae("P01", D(2023, 3, 1), "infection", 2),
            ae("P01", D(2022, 12, 1), "infection", 2),  # before tacrolimus: not an adverse event of it
            ae("P02", D(2023, 6, 1), "infection", 3),
        ],
        "measurements": [
            meas("P01", D(2023, 2, 5), "magnesium", 0.60),   # 4 days after the recorded one: same event, grade 1
            meas("P01", D(2023, 2, 20), "magnesium", 0.80),  # normal: episode ends
            meas("P01", D(2023, 4, 20), "magnesium", 0.45),  # new episode ...
            meas("P01", D(2023, 4, 25), "magnesium", 0.35),  # ... nadir 0.35: CTCAE grade 3 (0.3 <= Mg < 0.4)
            meas("P01", D(2023, 5, 1), "magnesium", 0.80),
            meas("P02", D(2022, 12, 20), "creatinine", 80.0),  # baseline
            meas("P02", D(2023, 3, 1), "creatinine", 130.0),   # 130 / 80 = 1.625 >= 1.5: KDIGO AKI stage 1
        ],
    }
    return merge(p1, p2, extra)


def test_events_merged_and_counted_by_hand():
    c = build_cohort(_study())
    assert c.analysed_ids == ("P01", "P02")
    ev = c.adverse_events
    hypo = ev[ev["event"] == "hypomagnesaemia"].reset_index(drop=True)
    assert list(hypo["source"]) == ["recorded", "lab-derived"]
    assert hypo.at[0, "onset_date"] == D(2023, 2, 1) and hypo.at[0, "lab_onset_date"] == D(2023, 2, 5)
    assert hypo.at[0, "grade"] == 1 and hypo.at[0, "lab_value"] == pytest.approx(0.60)
    assert hypo.at[1, "onset_date"] == D(2023, 4, 20) and hypo.at[1, "grade"] == 3
    assert hypo.at[1, "lab_value"] == pytest.approx(0.35)
    renal = ev[ev["event"] == "renal_insufficiency"]
    assert list(renal["patient_id"]) == ["P02"] and "stage 1" in renal.iloc[0]["detail"]
    assert list(c.adverse_events_outside["onset_date"]) == [D(2022, 12, 1)]

    s = c.adverse_event_summary.set_index("event")
    assert (s.at["hypomagnesaemia", "n_patients"], s.at["hypomagnesaemia", "n_events"]) == (1, 2)
    assert s.at["hypomagnesaemia", "percent"] == pytest.approx(50.0)
    assert (s.at["infection", "n_patients"], s.at["infection", "n_events"]) == (2, 2)  # one per patient
    assert s.at["renal_insufficiency", "n_patients"] == 1
    assert s.at["hypertension", "n_patients"] == 0  # every type listed: zeros are explicit


def test_settings_switch_lab_rules():
    c = build_cohort(_study(), ClinicalSettings(renal_rule="none", hypomagnesemia_mmol_l=0.5))
    s = c.adverse_event_summary.set_index("event")
    assert s.at["renal_insufficiency", "n_patients"] == 0
    hypo = c.adverse_events[c.adverse_events["event"] == "hypomagnesaemia"]
    # with threshold 0.5 only the April episode (0.45, 0.35) is low; the recorded Feb event stays unmerged
    assert list(hypo["source"]) == ["recorded", "lab-derived"]
    assert hypo.iloc[0]["lab_onset_date"] is None


def _rec(day):
    return {"patient_id": "P", "event": "hypomagnesaemia", "onset_date": day, "grade": 2, "grade_source": "recorded",
            "lab_value": None, "lab_onset_date": None, "lab_grade": None, "source": "recorded",
            "source_ref": "ae row 2"}


def _lab(day, value=0.6, grade=1):
    return {"patient_id": "P", "event": "hypomagnesaemia", "onset_date": day, "grade": grade, "grade_source": "lab",
            "lab_value": value, "lab_onset_date": day, "lab_grade": grade, "source": "lab-derived",
            "source_ref": "m row 5"}


@pytest.mark.parametrize(("gap", "merged"), [(0, True), (MERGE_WINDOW_DAYS, True), (-MERGE_WINDOW_DAYS, True),
                                             (MERGE_WINDOW_DAYS + 1, False)])
def test_merge_window_edges(gap, merged):
    day = D(2023, 3, 1)
    out = merge_events([_rec(day)], [_lab(day + dt.timedelta(days=gap))])
    assert len(out) == (1 if merged else 2)
    assert out[0]["grade"] == 2  # a recorded grade is never replaced by the lab grade


def test_lab_episode_goes_to_the_nearest_recorded_event():
    out = merge_events([_rec(D(2023, 3, 1)), _rec(D(2023, 3, 11))], [_lab(D(2023, 3, 8))])
    assert [r["lab_onset_date"] for r in out] == [None, D(2023, 3, 8)]


def test_magnesium_reported_in_mg_dl_is_graded_on_ctcae_mg_dl_boundaries():
    # Centre B reports magnesium in mg/dL; the data layer converts to mmol/L and keeps the original.
    # 1.2 mg/dL = 1.2 / 2.43 = 0.494 mmol/L. CTCAE: 1.2 mg/dL is grade 1 (its mmol/L twin 0.5 is grade 1 too);
    # grading the converted 0.494 on the mmol/L boundaries would give grade 2.
    import dataclasses

    study = merge(full_patient("P01", S, None), {"measurements": [
        meas("P01", D(2023, 2, 5), "magnesium", 1.2 / 2.43),
        meas("P01", D(2023, 3, 5), "magnesium", 0.80),
        meas("P01", D(2023, 4, 5), "magnesium", 0.9 / 2.43),  # 0.9 mg/dL: grade 2 (0.370 mmol/L would be grade 3)
    ]})
    m = study.measurements
    originals = {D(2023, 2, 5): (1.2, "mg/dL"), D(2023, 3, 5): (0.8, "mmol/L"), D(2023, 4, 5): (0.9, "mg/dL")}
    study = dataclasses.replace(study, measurements=m.assign(
        original_value=[originals.get(d, (v, None))[0] for d, v in zip(m["date"], m["value"], strict=True)],
        original_unit=[originals.get(d, (v, None))[1] for d, v in zip(m["date"], m["value"], strict=True)],
    ))
    ev = build_cohort(study).adverse_events
    hypo = ev[ev["event"] == "hypomagnesaemia"]
    assert list(zip(hypo["onset_date"], hypo["grade"], strict=True)) == [(D(2023, 2, 5), 1), (D(2023, 4, 5), 2)]
