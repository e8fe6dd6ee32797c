"""The time_to_event and incidence parts on small hand-built cohorts: numbers worked by hand, skips with notes."""

from __future__ import annotations

import datetime as dt
import math
import types

import pandas as pd
import pytest
from tests.analysis.test_safety_against_r import context

from ipafstudy.analysis import incidence, time_to_event
from ipafstudy.analysis.safety_plan import IncidenceSpec, TimeToEventSpec
from ipafstudy.cohort.exposure import Exposure

D = dt.date
MONTH = 365.25 / 12


def expo(pid, days, ongoing):
    start = D(2023, 1, 1)
    return Exposure(pid, start, start + dt.timedelta(days=days - 1), ongoing, days, 1, 1, 0, (), "")


CUTOFF = D(2024, 1, 1)


def cohort(exposures, events, cutoff=CUTOFF):
    summary = pd.DataFrame({"event": ["infection", "tremor"]})
    cols = ["patient_id", "event", "days_from_start", "led_to_discontinuation", "grade", "outcome"]
    frame = pd.DataFrame(events, columns=cols)
    return types.SimpleNamespace(analysed_ids=tuple(exposures), exposures=exposures, adverse_events=frame,
                                 adverse_event_summary=summary, data_cutoff_date=cutoff)


def test_two_patients_by_hand():
    # P1 stops on day 61 after an infection on day 31 that led to it; P2 is on the drug at the cut-off (day 365)
    c = cohort({"P1": expo("P1", 61, False), "P2": expo("P2", 365, True)},
               [("P1", "infection", 30, "yes", 2, "resolved")])
    ctx = context(c)
    part = time_to_event.run(ctx)
    stop = part.row("discontinuation").km
    # n = 2: S = 1/2 at 61 days, then P2 censored at 365: the curve ends on 0.5 -> print rule: 61 days
    assert stop.n == 2 and stop.n_events == 1 and stop.surv == (0.5, 0.5)
    assert stop.median == pytest.approx(61 / MONTH)
    ae_stop = part.row("discontinuation_ae").km
    assert ae_stop.n_events == 1
    first = part.row("first_ae_type:infection").km
    assert first.time[0] == pytest.approx(31 / MONTH) and first.n_event == (1, 0)
    assert part.row("discontinuation").censored == {"on the drug at the data cut-off": 1}
    # numbers at risk every 6 months up to 365 days = 11.99 months: 0, 6
    assert part.at_risk_months == (0.0, 6.0)
    assert part.at_risk["discontinuation"] == (2, 1)
    assert ctx.notes.items == []

    inc = incidence.run(ctx)
    years = (61 + 365) / 365.25
    assert inc.patient_years == pytest.approx(years) and inc.exposure_days == 426
    (any_row, infection, tremor) = inc.rows
    assert any_row.episodes == 1 and infection.rate.rate == pytest.approx(100 / years)
    assert tremor.episodes == 0 and tremor.rate.lower == 0.0
    assert tremor.rate.upper == pytest.approx(100 * -math.log(0.025) / years)


def test_flag_without_discontinuation_is_noted_and_not_an_event():
    c = cohort({"P1": expo("P1", 100, True)}, [("P1", "infection", 10, "yes", 1, "ongoing")])
    ctx = context(c)
    part = time_to_event.run(ctx)
    assert part.row("discontinuation_ae").km.n_events == 0
    assert part.n_flag_not_discontinued == 1
    assert any("still on" in n for n in ctx.notes.items)


def test_no_analysed_patient_skips_with_a_note():
    c = cohort({}, [])
    ctx = context(c)
    assert time_to_event.run(ctx) is None and incidence.run(ctx) is None
    assert len(ctx.notes.items) == 2


def test_no_exposure_length_is_left_out_and_said():
    open_ended = Exposure("P2", D(2023, 1, 1), None, True, None, 1, 1, 0, (), "")
    c = cohort({"P1": expo("P1", 30, False), "P2": open_ended}, [])
    ctx = context(c)
    inc = incidence.run(ctx)
    assert inc.n_patients == 1 and inc.n_without_exposure_length == 1 and inc.exposure_days == 30
    assert time_to_event.run(ctx).row("discontinuation").km.n == 1
    assert any("without an exposure length" in n for n in ctx.notes.items)


def test_quantile_rule_and_at_risk_interval_follow_the_plan():
    c = cohort({"P1": expo("P1", 61, False), "P2": expo("P2", 365, True)}, [])
    part = time_to_event.run(context(c, tte=TimeToEventSpec(median_rule="quantile", at_risk_every_months=4)))
    # quantile rule: midpoint of 61 days and the last time, 365 days
    assert part.row("discontinuation").km.median == pytest.approx((61 + 365) / 2 / MONTH)
    assert part.at_risk_months == (0.0, 4.0, 8.0)  # 365 days = 11.99 months
    assert incidence.run(context(c, inc=IncidenceSpec(per_patient_years=1))).per == 1


def test_plan_specs_refuse_bad_values():
    with pytest.raises(ValueError):
        TimeToEventSpec(at_risk_every_months=0)
    with pytest.raises(ValueError):
        TimeToEventSpec(event_types=("infection", "infection"))
    with pytest.raises(ValueError):
        TimeToEventSpec(median_rule="mean")
    with pytest.raises(ValueError, match="unknown adverse-event type"):
        TimeToEventSpec(event_types=("infection", "rash"))
    assert TimeToEventSpec(event_types=("neutropenia", "other")).event_types == ("neutropenia", "other")
    with pytest.raises(ValueError):
        IncidenceSpec(per_patient_years=-1)
    with pytest.raises(ValueError):
        IncidenceSpec(unknown=1)
