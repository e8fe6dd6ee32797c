"""Time to event and exposure-adjusted incidence of the bundled cohort agree with R (tests/reference/safety_bundled.R).

The R script reads the per-patient times, exposure and episodes the cohort code derives (committed CSVs; the
first test checks they still regenerate) and recomputes every median, CI, number at risk and rate with
survival::survfit(conf.type = "log-log") and poisson.test. The parts run here on the same cohort.
"""

from __future__ import annotations

import math
import types
from pathlib import Path

import pandas as pd
import pytest
from tests.analysis.safety_bundled import bundled_cohort, bundled_inputs

from ipafstudy.analysis import incidence, time_to_event
from ipafstudy.analysis.additional_plan import AdditionalSpec
from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.analysis.safety_plan import IncidenceSpec, TimeToEventSpec

REF = Path(__file__).resolve().parents[1] / "reference"
RERUN = "refresh: python tests/analysis/safety_bundled.py tests/reference && Rscript tests/reference/safety_bundled.R"


def read_r(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, comment="#", keep_default_na=False, na_values=["NA"])


class _Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)


def context(cohort, tte: TimeToEventSpec | None = None, inc: IncidenceSpec | None = None):
    """What analysis.additional gives a part: the default plan with these specs, the cohort, notes."""
    plan = AnalysisPlan(additional=AdditionalSpec(time_to_event=tte or TimeToEventSpec(),
                                                  incidence=inc or IncidenceSpec()))
    return types.SimpleNamespace(plan=plan, cohort=cohort, notes=_Notes(), data=None, main={})


@pytest.fixture(scope="module")
def cohort():
    return bundled_cohort()


def same(ours: float, theirs: float) -> bool:
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        return math.isnan(ours)
    return math.isclose(ours, float(theirs), rel_tol=1e-9, abs_tol=1e-12)


def test_inputs_regenerate_from_the_bundled_cohort(cohort):
    for name, text in bundled_inputs(cohort).items():
        assert text == (REF / name).read_text(encoding="utf-8"), f"{name} changed; {RERUN}"


def test_kaplan_meier_medians_and_numbers_at_risk_match_r(cohort):
    types_all = TimeToEventSpec(event_types=tuple(str(t) for t in cohort.adverse_event_summary["event"]))
    part = time_to_event.run(context(cohort, tte=types_all))
    ref = read_r("safety_bundled_km_r.csv").set_index("key")
    assert [r.key for r in part.rows] == list(ref.index)
    bad = []
    for r in part.rows:
        want = ref.loc[r.key]
        got = (r.km.n, r.km.n_events, r.km.median, r.km.median_lower, r.km.median_upper)
        exp = (want["n"], want["events"], want["median"], want["lower"], want["upper"])
        if got[:2] != tuple(int(v) for v in exp[:2]) or not all(map(same, got[2:], exp[2:])):
            bad.append((r.key, got, exp))
    assert not bad, bad
    risk = read_r("safety_bundled_risk_r.csv")
    assert part.at_risk_months == (0.0, 6.0, 12.0, 18.0, 24.0)
    for key, sub in risk.groupby("key", sort=False):
        assert list(part.at_risk[key]) == sub["n_risk"].tolist(), key
        km = part.row(key).km
        assert all(same(km.surv_at(t), s) for t, s in zip(sub["months"], sub["surv"], strict=True)), key


def test_incidence_matches_r_poisson_test(cohort):
    part = incidence.run(context(cohort))
    ref = read_r("safety_bundled_incidence_r.csv").set_index("event")
    assert [r.event for r in part.rows] == list(ref.index)
    for r in part.rows:
        want = ref.loc[r.event]
        assert (r.patients.n, r.episodes) == (want["patients"], want["episodes"]), r.event
        assert r.patient_years == pytest.approx(want["patient_years"], rel=1e-12)
        for ours, theirs in ((r.rate.rate, want["rate"]), (r.rate.lower, want["lower"]),
                             (r.rate.upper, want["upper"])):
            assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), r.event


def test_default_types_are_those_with_an_episode_in_table6_order(cohort):
    part = time_to_event.run(context(cohort))
    typed = [r.event_type for r in part.rows if r.endpoint == "first_ae_type"]
    on = set(cohort.adverse_events["event"])
    assert typed == [t for t in cohort.adverse_event_summary["event"] if t in on]
    assert [r.key for r in part.rows][:3] == ["discontinuation", "discontinuation_ae", "first_ae"]
    assert part.figure_keys == ("discontinuation", "first_ae")


def test_parts_can_be_narrowed(cohort):
    part = time_to_event.run(context(cohort, tte=TimeToEventSpec(first_adverse_event=False)))
    assert [r.key for r in part.rows] == ["discontinuation", "discontinuation_ae"]
    part = time_to_event.run(context(cohort, tte=TimeToEventSpec(discontinuation=False, event_types=("infection",))))
    assert [r.key for r in part.rows] == ["first_ae", "first_ae_type:infection"]
    inc = incidence.run(context(cohort, inc=IncidenceSpec(per_patient_years=1000)))
    assert inc.rows[0].rate.rate == pytest.approx(1000 * inc.rows[0].episodes / inc.patient_years)
