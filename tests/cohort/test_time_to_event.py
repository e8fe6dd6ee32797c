"""Per-patient exposure time and time-to-event rows (cohort.time_to_event), worked by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ipafstudy.cohort.exposure import Exposure
from ipafstudy.cohort.time_to_event import exposure_rows, time_to_event_rows

D = dt.date


def expo(pid, start, end, ongoing):
    days = (end - start).days + 1
    return Exposure(pid, start, end, ongoing, days, 1, 1, 0, (), "")


EXPOSURES = {
    "P1": expo("P1", D(2023, 1, 1), D(2023, 1, 31), False),   # stopped on day 31 (an AE led to it)
    "P2": expo("P2", D(2023, 1, 1), D(2023, 12, 31), True),   # on the drug at the cut-off: 365 days
    "P3": expo("P3", D(2023, 3, 1), D(2023, 3, 10), False),   # stopped on day 10, no adverse event
    "P4": Exposure("P4", D(2023, 1, 1), None, True, None, 1, 1, 0, (), ""),  # no cut-off: no length
}


def events(*rows):
    cols = ["patient_id", "event", "days_from_start", "led_to_discontinuation"]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], columns=cols)


AE = events(
    ("P1", "infection", 20, "yes"),
    ("P1", "infection", 5, "no"),        # the first infection is on day 6 (days_from_start 5 + 1)
    ("P1", "tremor", 0, "no"),           # on the start day: day 1
    ("P2", "infection", 99, "yes"),      # flagged, but P2 never stopped: cannot be an event
)


def test_exposure_rows_count_first_and_last_day():
    frame = exposure_rows(EXPOSURES, ["P1", "P2", "P4"])
    assert frame["exposure_days"].tolist()[:2] == [31, 365]
    assert frame["patient_years"].tolist()[1] == pytest.approx(365 / 365.25)
    assert frame["exposure_days"].isna().tolist() == [False, False, True]


def test_time_to_event_rows_by_hand():
    tte, flagged = time_to_event_rows(EXPOSURES, AE, ["P1", "P2", "P3", "P4"], ["infection", "tremor"])
    assert flagged == 1  # P2
    assert "P4" not in set(tte["patient_id"])  # no exposure length
    got = {(r.patient_id, r.endpoint, r.event_type if isinstance(r.event_type, str) else None): (r.time_days, r.event)
           for r in tte.itertuples()}
    assert got[("P1", "discontinuation", None)] == (31, 1)
    assert got[("P1", "discontinuation_ae", None)] == (31, 1)
    assert got[("P2", "discontinuation", None)] == (365, 0)
    assert got[("P2", "discontinuation_ae", None)] == (365, 0)
    assert got[("P3", "discontinuation", None)] == (10, 1)
    assert got[("P3", "discontinuation_ae", None)] == (10, 0)  # another reason: censored
    assert got[("P1", "first_ae", None)] == (1, 1)
    assert got[("P1", "first_ae_type", "infection")] == (6, 1)
    assert got[("P1", "first_ae_type", "tremor")] == (1, 1)
    assert got[("P2", "first_ae_type", "tremor")] == (365, 0)
    assert got[("P3", "first_ae", None)] == (10, 0)
    reasons = {(r.patient_id, r.endpoint): r.censored_because for r in tte.itertuples() if r.event == 0}
    assert reasons[("P3", "discontinuation_ae")] == "discontinued for another reason"
    assert reasons[("P2", "discontinuation")] == "on the drug at the data cut-off"
    assert reasons[("P3", "first_ae")] == "end of exposure"


def test_no_adverse_events_at_all():
    tte, flagged = time_to_event_rows(EXPOSURES, events(), ["P1", "P3"], ["infection"])
    assert flagged == 0
    assert tte[tte["endpoint"] == "first_ae_type"]["event"].tolist() == [0, 0]
    assert tte[tte["endpoint"] == "discontinuation_ae"]["event"].tolist() == [0, 0]
