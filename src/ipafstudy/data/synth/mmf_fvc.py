"""The second worked study, ``mmf-fvc``: mycophenolate in IPAF with lung-function outcomes (issue 11 item 8).

Why a second design on the same generator: the reference study (tacrolimus, HRCT and inflammation markers)
cannot show that the plan makes the study data: this one has another drug under six names, visits every
3 months with FVC (mL and % predicted), DLCO, 6-minute walk distance, neutrophils, ALT and a variable the
catalogue lacks (LDH, declared in the example plan), HRCT read by two readers (adjudicator where discordant)
at 0 and 12 months, and distractor drugs (topical tacrolimus ointment, prednisolone, hydroxychloroquine,
azathioprine). It reuses the generator's patient model (``model``: IPAF features conditioned on the fate,
latent HRCT extents), the row builder with its antibody panel and HRCT reading model (``courses._Builder``),
the table assembly (``generate._frame``) and the writing (``files``); only the design (fates, drugs, the visit
schedule and the lung-function model) is here. The example's analysis plan is ``ipafstudy plan --example
mmf-fvc`` (``ipafstudy.analysis.examples``).

``generator_truth.json`` says who should be analysed (``analysed_ids``) and why each other patient is not
(``fate``), so a test can check the pipeline's flow against the model's intentions.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ipafstudy.data.schema import PATTERNS, TABLES
from ipafstudy.data.synth.courses import _Builder
from ipafstudy.data.synth.defaults import EXAMPLE_DEFAULTS
from ipafstudy.data.synth.design import (
    DATA_CUTOFF,
    EXTENT_BY_PATTERN,
    FIRST_START,
    GENERATOR_VERSION,
    MAA_KEYS,
    MSA_KEYS,
    SITE_PROFILES,
    SynthCohort,
    _apportion,
    _day,
    _grade,
    _pick,
    _yn,
)
from ipafstudy.data.synth.generate import _frame, _validate_args
from ipafstudy.data.synth.model import Features, _post_pct, _sample_ipaf, _sample_not_ipaf, _zone_pct
from ipafstudy.rules.ipaf import CLINICAL_FIELDS, COMPARTMENT_FIELDS

EXAMPLE = "mmf-fvc"
SEED, N_SCREENED = EXAMPLE_DEFAULTS[EXAMPLE]

# --------------------------------------------------------------------------- design

# Intended fate of every screened patient, out of 150 (scaled by n_screened). Fates are the pipeline's
# screening steps in order; "no_exposure" = IPAF but never on mycophenolate.
SCREEN_DESIGN: dict[str, int] = {
    "not_ipaf:defined_ctd": 30,
    "not_ipaf:single_domain": 22,
    "not_ipaf:no_interstitial_pneumonia": 5,
    "not_ipaf:alternative_etiology": 8,
    "no_exposure": 12,
    "under_min_age": 2,
    "short_exposure": 5,
    "no_baseline": 3,
    "no_follow_up": 3,
    "eligible": 60,
}
GROUP_DESIGN: dict[str, int] = {"msa": 24, "maa": 20, "neither": 16}
TREATED_FATES = ("eligible", "under_min_age", "short_exposure", "no_baseline", "no_follow_up")
FLOW_KEY = {"not_ipaf": "not_ipaf", "no_exposure": "no_tacrolimus", "under_min_age": "under_age",
            "short_exposure": "short_exposure", "no_baseline": "no_baseline", "no_follow_up": "no_follow_up",
            "eligible": "analysed"}
"""Fate -> the key of the pipeline's screening step (cohort.screening.FLOW_KEYS) where the patient leaves."""

# How the mycophenolate course is written in treatments.drug (every one is a name in the example plan), and the
# daily dose (Myfortic / mycophenolic acid is the sodium salt: 720 mg twice daily).
MMF_NAMES: dict[str, float] = {
    "mycophenolate mofetil": 0.42, "MMF": 0.16, "CellCept": 0.14, "Mycophenolate": 0.1, "Myfortic": 0.1,
    "mycophenolic acid": 0.08,
}
EXPOSURE_NAMES = ("mycophenolate", "mycophenolate mofetil", "MMF", "CellCept", "Myfortic", "mycophenolic acid")
"""The names the example plan's ``exposure.names`` lists (mycophenolate sodium matches 'mycophenolate')."""
ROUTE_SPELLINGS = {"oral": 0.8, "PO": 0.2}
P_PREDNISOLONE_AT_START = 0.65
P_HYDROXYCHLOROQUINE = 0.2
P_AZATHIOPRINE_BEFORE = 0.15
P_TACROLIMUS_OINTMENT = 0.12
P_FVC_IN_LITRES = 0.15  # spirometry from a referring laboratory: variable 'FVC' in L (alias of fvc_ml)
P_MISSED_VISIT = 0.06
P_NO_DLCO = 0.12  # per visit: DLCO not done (cough, unable to hold the breath)
P_NEVER_DLCO = 0.04  # per patient: never able to perform DLCO
P_NO_6MWD = 0.1
P_NO_LDH = 0.2
P_INCOMPLETE_LAST = 0.25  # the last visit has spirometry only
VISIT_DAYS = 91  # visits every 3 months
SCAN_12M_DAY = 365
# FVC % predicted per year by HRCT pattern (mycophenolate stabilises or improves NSIP/OP, UIP keeps declining).
FVC_SLOPE_BY_PATTERN = {"nsip": 2.0, "nsip_op": 2.5, "op": 3.0, "uip": -2.5, "lip": 1.0, "other": 0.0}
RESPONSE_SHIFT = {"msa": 0.3, "maa": 0.0, "neither": -0.2}
# Situations (each given to one eligible patient drawn at random): what the rules must handle.
ELIGIBLE_SITUATIONS = (
    "route_missing",  # the mycophenolate course has no route: counts, one warning
    "missed_6_month_visit",  # no visit between 4 and 8 months: no 6-month landmark
    "missed_12_month_visit",  # no 12-month visit (the scan stays): no 12-month lung-function landmark
    "neutropenia",  # neutrophils 1.0-1.4 x 10^9/L at one visit: CTCAE grade 2 (lab-derived)
    "alt_increase",  # ALT 2-2.8 x ULN at one visit: CTCAE grade 1 (lab-derived)
    "neutropenia",
)
SITE = SITE_PROFILES[0]


# --------------------------------------------------------------------------- generation


def generate_mmf_fvc(*, seed: int = SEED, n_screened: int = N_SCREENED) -> SynthCohort:
    """The ``mmf-fvc`` example cohort (six tables) and the generator's intentions; same arguments, same tables.

    >>> c = generate_mmf_fvc(n_screened=30, seed=1)
    >>> sorted(c.tables) == sorted(TABLES)
    True
    """
    _validate_args(seed, n_screened, 1, 0)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x3AF0]))
    b = _Builder(rng)
    n_screened = int(n_screened)
    fate_counts = _apportion(n_screened, SCREEN_DESIGN)
    fates = [k for k, n in fate_counts.items() for _ in range(n)]
    fates = [fates[i] for i in rng.permutation(len(fates))]
    group_counts = _apportion(fate_counts["eligible"], GROUP_DESIGN)
    groups = [g for g, n in group_counts.items() for _ in range(n)]
    groups = [groups[i] for i in rng.permutation(len(groups))]
    order = [int(i) for i in rng.permutation(fate_counts["eligible"])]
    situations = dict(zip(order[: len(ELIGIBLE_SITUATIONS)], ELIGIBLE_SITUATIONS, strict=False))
    width = max(4, len(str(n_screened)))
    truth_patients: dict[str, dict[str, object]] = {}
    eligible_seen = 0
    for i, fate_key in enumerate(fates):
        pid = f"M-{i + 1:0{width}d}"
        fate, _, reason = fate_key.partition(":")
        t: dict[str, object] = {"fate": fate, "not_ipaf_reason": reason or None, "flow_step": FLOW_KEY[fate]}
        situation: str | None = None
        if fate == "eligible":
            group = groups[eligible_seen]
            situation = situations.get(eligible_seen)
            eligible_seen += 1
        elif fate != "not_ipaf":
            group = _pick(rng, {g: float(n) for g, n in GROUP_DESIGN.items()})
        if fate == "not_ipaf":
            f = _sample_not_ipaf(rng, reason, SITE)
            group = f.group()
        else:
            f = _sample_ipaf(rng, group, SITE)
        severity = float(rng.normal(0.0, 1.0))
        female = bool(rng.random() < 0.62)
        smoking = _pick(rng, {"never": 0.7, "former": 0.25, "current": 0.05})
        if fate == "under_min_age":
            age = float(rng.uniform(16.1, 17.95))
        else:
            age = float(np.clip(rng.normal(58.0, 10.5), 22, 84))
        index_date = _day(FIRST_START, int(rng.integers(0, (DATA_CUTOFF - FIRST_START).days - 150)))
        nintedanib = False
        if fate in TREATED_FATES:
            index_date, nintedanib = _mmf_course(b, pid, fate, group, f, severity, age, female, t, situation)
        else:
            _other_drugs(b, pid, fate, index_date)
        birth = _day(index_date, -round(age * 365.25))
        b.add("patients", **_patient_row(pid, f, female, smoking, birth, nintedanib))
        b.antibodies(pid, f, SITE, _day(index_date, -int(rng.integers(5, 120))))
        t.update(antibody_group=group, hrct_pattern=f.hrct_pattern, female=female, smoking=smoking,
                 both_msa_and_maa=bool(f.positives & set(MSA_KEYS)) and bool(f.positives & set(MAA_KEYS)),
                 nintedanib=nintedanib)
        truth_patients[pid] = t

    tables = {name: _frame(name, b.rows[name]) for name in TABLES}
    counts: dict[str, int] = {}
    for t in truth_patients.values():
        key = str(t["fate"]) + (f":{t['not_ipaf_reason']}" if t["not_ipaf_reason"] else "")
        counts[key] = counts.get(key, 0) + 1
    analysed = sorted(pid for pid, t in truth_patients.items() if t["fate"] == "eligible")
    truth: dict[str, object] = {
        "generator": f"ipafstudy.data.synth.mmf_fvc (example {EXAMPLE})",
        "generator_version": GENERATOR_VERSION,
        "example": EXAMPLE,
        "seed": int(seed),
        "n_screened": n_screened,
        "data_cutoff_date": DATA_CUTOFF.isoformat(),
        "exposure_names": list(EXPOSURE_NAMES),
        "fate_counts": dict(sorted(counts.items())),
        "flow_removed": {step: sum(1 for t in truth_patients.values() if t["flow_step"] == step)
                         for step in dict.fromkeys(FLOW_KEY.values())},
        "eligible_group_counts": group_counts,
        "analysed_ids": analysed,
        "hrct_flags": len(b.flags),
        "patients": dict(sorted(truth_patients.items())),
    }
    settings = {"example": EXAMPLE, "seed": int(seed), "n_screened": n_screened}
    return SynthCohort(tables=tables, truth=truth, seed=int(seed), settings=settings)


def _patient_row(pid: str, f: Features, female: bool, smoking: str, birth: dt.date,
                 nintedanib: bool) -> dict[str, object]:
    row: dict[str, object] = {
        "patient_id": pid, "site": SITE.name, "sex": "female" if female else "male", "birth_date": birth,
        "smoking": smoking, "interstitial_pneumonia": _yn(f.ip), "alternative_etiology_excluded": _yn(f.alt_excluded),
        "defined_ctd": _yn(f.defined_ctd), **{k: _yn(f.clinical.get(k, False)) for k in CLINICAL_FIELDS},
        "hrct_pattern": f.hrct_pattern, "biopsy_pattern": f.biopsy_pattern,
        **{k: _yn(f.mc.get(k, False)) for k in COMPARTMENT_FIELDS},
        "pirfenidone": "no", "nintedanib": _yn(nintedanib),
    }
    for column in f.unknown:
        row[column] = None
    return row


def _other_drugs(b: _Builder, pid: str, fate: str, index_date: dt.date) -> None:
    """Screened patients never on mycophenolate: another immunosuppressant or none."""
    rng = b.rng
    drug = _pick(rng, {"azathioprine": 0.3, "cyclophosphamide": 0.15, "hydroxychloroquine": 0.2, "rituximab": 0.05,
                       "none": 0.3})
    if drug == "none":
        return
    stop = _day(index_date, int(rng.integers(60, 500)))
    stopped = rng.random() < 0.5 and stop <= DATA_CUTOFF
    route = "intravenous" if drug in ("cyclophosphamide", "rituximab") else "oral"
    b.add("treatments", patient_id=pid, drug=drug, start_date=index_date, end_date=stop if stopped else None,
          dose=None, dose_unit=None, route=route)


def _mmf_course(
    b: _Builder, pid: str, fate: str, group: str, f: Features, severity: float, age: float, female: bool,
    truth: dict[str, object], situation: str | None,
) -> tuple[dt.date, bool]:
    """Treatments, visits every 3 months, HRCT at 0 and 12 months and adverse events of one treated patient."""
    rng = b.rng
    # Started early enough for the 6-month visit (the 12-month one for the patient who misses the 6-month visit):
    # every analysed patient has a value at the first landmark the example plan names, or at the second.
    latest_start = DATA_CUTOFF - dt.timedelta(days=430 if situation == "missed_6_month_visit" else 240)
    start = _day(FIRST_START, int(rng.integers(0, (latest_start - FIRST_START).days)))
    if fate == "short_exposure":
        duration = int(rng.integers(30, 80))
    elif fate == "no_follow_up":
        duration = int(rng.integers(100, 170))
    else:
        duration = int(np.clip(round(math.exp(rng.normal(math.log(600), 0.5))),
                               420 if situation == "missed_6_month_visit" else 200, 1400))
    if fate in ("short_exposure", "no_follow_up"):
        start = min(start, _day(DATA_CUTOFF, -duration - 120))  # stopped, with room for a visit afterwards
    end: dt.date | None = _day(start, duration)
    if end > DATA_CUTOFF:  # type: ignore[operator]
        end = None
    eff_end = end or DATA_CUTOFF

    # Treatments: the mycophenolate course and the distractors.
    name = _pick(rng, MMF_NAMES)
    dose = 1440.0 if name in ("Myfortic", "mycophenolic acid") else float(_pick(rng, {"2000": 0.7, "3000": 0.2,
                                                                                      "1500": 0.1}))
    route = None if situation == "route_missing" else _pick(rng, ROUTE_SPELLINGS)
    b.add("treatments", patient_id=pid, drug=name, start_date=start, end_date=end, dose=dose, dose_unit="mg/day",
          route=route)
    prednisolone = bool(rng.random() < P_PREDNISOLONE_AT_START)
    if prednisolone:
        p_start = _day(start, -int(rng.integers(0, 240)))
        p_end = _day(start, int(rng.integers(60, 400)))
        b.add("treatments", patient_id=pid, drug="prednisolone", start_date=p_start,
              end_date=p_end if p_end <= DATA_CUTOFF else None, dose=float(_pick(rng, {"5": 0.4, "10": 0.4,
                                                                                     "20": 0.2})),
              dose_unit="mg/day", route="oral")
    elif rng.random() < 0.3:  # prednisolone started later for a flare: not concomitant at the start
        later = _day(start, int(rng.integers(30, 200)))
        if later < eff_end:
            b.add("treatments", patient_id=pid, drug="prednisolone", start_date=later,
                  end_date=_day(later, int(rng.integers(14, 60))), dose=30.0, dose_unit="mg/day", route="oral")
    if rng.random() < P_HYDROXYCHLOROQUINE:
        b.add("treatments", patient_id=pid, drug="hydroxychloroquine",
              start_date=_day(start, -int(rng.integers(30, 700))), end_date=None, dose=200.0,
              dose_unit="mg/day", route="oral")
    if rng.random() < P_AZATHIOPRINE_BEFORE:  # switched from azathioprine: ended before mycophenolate started
        b.add("treatments", patient_id=pid, drug="azathioprine",
              start_date=_day(start, -int(rng.integers(200, 600))), end_date=_day(start, -int(rng.integers(7, 60))),
              dose=100.0, dose_unit="mg/day", route="oral")
    ointment = bool(rng.random() < P_TACROLIMUS_OINTMENT)
    if ointment:  # for skin disease: topical, never systemic exposure
        b.add("treatments", patient_id=pid, drug="tacrolimus 0.1% ointment",
              start_date=min(_day(start, int(rng.integers(-90, 200))), DATA_CUTOFF), end_date=None, dose=None,
              dose_unit=None, route="topical")
    nintedanib = f.hrct_pattern == "uip" and bool(rng.random() < 0.3)
    if nintedanib:
        b.add("treatments", patient_id=pid, drug="nintedanib", start_date=_day(start, -int(rng.integers(0, 200))),
              end_date=None, dose=300.0, dose_unit="mg/day", route="oral")

    # Latent lung function: baseline and yearly slope (% predicted per year).
    pattern = f.hrct_pattern if f.hrct_pattern in FVC_SLOPE_BY_PATTERN else "other"
    responder = float(rng.normal(RESPONSE_SHIFT[group], 1.0))
    predicted_ml = (4700.0 if not female else 3450.0) - 22.0 * (age - 50.0) + float(rng.normal(0, 250))
    fvc_b = float(np.clip(rng.normal(70.0 - 8.0 * severity, 12.0), 35, 115))
    fvc_slope = FVC_SLOPE_BY_PATTERN[pattern] + 2.0 * responder
    dlco_b = float(np.clip(rng.normal(52.0 - 7.0 * severity, 11.0), 18, 105))
    dlco_slope = 0.6 * fvc_slope + float(rng.normal(0, 1.5))
    walk_b = float(np.clip(rng.normal(410.0 - 45.0 * severity, 80.0), 80, 680))
    walk_slope = 9.0 * responder + float(rng.normal(0, 12.0))
    ldh_b = float(math.exp(rng.normal(math.log(255.0) + 0.12 * severity, 0.22)))
    neut_b = float(np.clip(rng.normal(5.2, 1.3), 2.4, 11))
    alt_b = float(np.clip(math.exp(rng.normal(math.log(22.0), 0.3)), 8, 38))
    litres = bool(rng.random() < P_FVC_IN_LITRES)
    never_dlco = bool(rng.random() < P_NEVER_DLCO)
    base_pct = _zone_pct(rng, f.hrct_pattern if f.hrct_pattern in EXTENT_BY_PATTERN else "other", severity)
    post_pct, hc_up = _post_pct(rng, base_pct, responder)

    def at(day: int, base: float, slope: float) -> float:
        return base + slope * day / 365.25

    def visit(when: dt.date, *, full: bool = True, walk: bool = True) -> dict[str, float | None]:
        day = (when - start).days
        pct = float(np.clip(at(max(day, 0), fvc_b, fvc_slope) + rng.normal(0, 2.2), 20, 140))
        values: dict[str, float | None] = {"fvc_pct_pred": round(pct), "fvc_ml": round(pct * predicted_ml / 100, -1)}
        if litres:
            b.add("measurements", patient_id=pid, date=when, variable="FVC", value=round(values["fvc_ml"] / 1000, 2),
                  unit="L")
            values["fvc_ml"] = round(round(values["fvc_ml"] / 1000, 2) * 1000)  # type: ignore[operator]
        else:
            b.add("measurements", patient_id=pid, date=when, variable="fvc_ml", value=values["fvc_ml"], unit="mL")
        b.add("measurements", patient_id=pid, date=when, variable="fvc_pct_pred", value=values["fvc_pct_pred"],
              unit="%")
        if not full:
            return values
        if not never_dlco and rng.random() >= P_NO_DLCO:
            dl = round(float(np.clip(at(max(day, 0), dlco_b, dlco_slope) + rng.normal(0, 3.0), 10, 130)))
            b.add("measurements", patient_id=pid, date=when, variable="dlco_pct_pred", value=dl, unit="% predicted")
            values["dlco_pct_pred"] = dl
        if walk and rng.random() >= P_NO_6MWD:
            w = round(float(np.clip(at(max(day, 0), walk_b, walk_slope) + rng.normal(0, 22.0), 40, 800)))
            b.add("measurements", patient_id=pid, date=when, variable="six_mwd_m", value=w, unit="m")
            values["six_mwd_m"] = w
        if rng.random() >= P_NO_LDH:
            ldh = round(ldh_b * math.exp(-0.04 * responder * min(day, 365) / 91 + rng.normal(0, 0.08)))
            b.add("measurements", patient_id=pid, date=when, variable="ldh", value=ldh, unit="U/L")
        return values

    def labs(when: dt.date, *, neut: float | None = None, alt: float | None = None) -> None:
        on = when >= start
        n = neut if neut is not None else float(np.clip(neut_b * (0.88 if on else 1.0) * math.exp(rng.normal(0, 0.12)),
                                                        2.1, 15))
        a = alt if alt is not None else float(np.clip(alt_b * math.exp(rng.normal(0, 0.15)), 6, 39))
        b.add("measurements", patient_id=pid, date=when, variable="neutrophils", value=round(n, 2), unit="10^9/L")
        b.add("measurements", patient_id=pid, date=when, variable="alt", value=round(a), unit="U/L")

    # Baseline visit (within the 90-day window, or older for the no-baseline fate).
    if fate == "no_baseline":
        base_date = _day(start, -int(rng.integers(100, 180)))
        scan_date = _day(base_date, int(rng.integers(0, 8)))
    else:
        base_date = start if rng.random() < 0.15 else _day(start, -int(rng.integers(1, 46)))
        scan_date = _day(start, -int(rng.integers(0, 61)))
    baseline = visit(base_date)
    labs(base_date)
    b.scan(pid, scan_date, base_pct, SITE)

    # Follow-up visits every 3 months while on treatment.
    visits: list[dt.date] = []
    k = 1
    while True:
        when = _day(start, VISIT_DAYS * k + int(np.clip(round(rng.normal(0, 8)), -15, 15)))
        if when > eff_end:
            break
        missed = (
            (situation == "missed_6_month_visit" and k == 2) or (situation == "missed_12_month_visit" and k == 4)
            or (k > 2 and rng.random() < P_MISSED_VISIT) or fate == "no_follow_up"
        )
        if not missed:
            visits.append(when)
        k += 1
    if fate in ("eligible", "under_min_age") and not visits:  # at least one visit on treatment
        visits.append(_day(start, min(VISIT_DAYS, (eff_end - start).days)))
    incomplete_last = len(visits) >= 3 and bool(rng.random() < P_INCOMPLETE_LAST)
    lab_events: dict[dt.date, tuple[float | None, float | None]] = {}
    complete_visits = visits[:-1] if incomplete_last else visits
    if situation in ("neutropenia", "alt_increase") and complete_visits:
        when = complete_visits[int(rng.integers(0, min(3, len(complete_visits))))]
        if situation == "neutropenia":
            lab_events[when] = (float(rng.uniform(1.05, 1.4)), None)
        else:
            lab_events[when] = (None, float(rng.uniform(85, 110)))
    values: dict[str, dict[str, float | None]] = {}
    for i, when in enumerate(visits):
        last_incomplete = incomplete_last and i == len(visits) - 1
        day = (when - start).days
        values[when.isoformat()] = visit(when, full=not last_incomplete, walk=round(day / VISIT_DAYS) % 2 == 0)
        if not last_incomplete:
            labs(when, neut=lab_events.get(when, (None, None))[0], alt=lab_events.get(when, (None, None))[1])
    after: dt.date | None = None
    if end is not None and fate in ("no_follow_up", "short_exposure"):
        after = _day(end, int(rng.integers(20, 60)))  # the next visit came after mycophenolate stopped
        visit(after)
        labs(after)

    # HRCT at 12 months (or, when the course is shorter, at the last visit on treatment).
    follow_scan: dt.date | None = None
    if fate not in ("no_follow_up", "short_exposure") and visits:
        planned = _day(start, SCAN_12M_DAY + int(rng.integers(-14, 22)))
        follow_scan = planned if planned <= eff_end else visits[-1]
        b.scan(pid, follow_scan, post_pct, SITE)
    elif after is not None and rng.random() < 0.5:
        b.scan(pid, after, post_pct, SITE)  # a scan after stopping: not a follow-up on treatment

    # Adverse events (one row per episode).
    window = max(1, (eff_end - start).days)
    if fate == "short_exposure":
        b.add("adverse_events", patient_id=pid, onset_date=_day(end or eff_end, -int(rng.integers(0, 7))),
              event="gastrointestinal_discomfort", event_detail="diarrhoea; mycophenolate stopped", grade=2,
              serious="no", led_to_discontinuation="yes", led_to_dose_change="no", outcome="resolved",
              attribution="related")
    elif rng.random() < 0.22:
        b.add("adverse_events", patient_id=pid, onset_date=_day(start, int(rng.integers(1, window + 1))),
              event="gastrointestinal_discomfort", event_detail="diarrhoea", grade=1, serious="no",
              led_to_discontinuation="no", led_to_dose_change=_yn(rng.random() < 0.4), outcome="resolved",
              attribution="related")
    if rng.random() < 0.15:
        grade = 3 if rng.random() < 0.25 else 2
        b.add("adverse_events", patient_id=pid, onset_date=_day(start, int(rng.integers(1, window + 1))),
              event="infection", event_detail=str(rng.choice(["herpes zoster", "pneumonia",
                                                                "upper respiratory infection"])),
              grade=grade, serious=_yn(grade == 3), led_to_discontinuation="no", led_to_dose_change="no",
              outcome="resolved", attribution="possibly_related")

    def score(pct: np.ndarray) -> dict[str, int]:
        grades = np.vectorize(_grade)(pct)
        out = {f"hrct_{p}": int(grades[:, i].sum()) for i, p in enumerate(PATTERNS)}
        out["hrct_total"] = int(grades.sum())
        return out

    truth.update(
        mmf_name=name,
        mmf_start=start.isoformat(),
        mmf_end=None if end is None else end.isoformat(),
        route_missing=route is None,
        concomitant_prednisolone=prednisolone,
        tacrolimus_ointment=ointment,
        fvc_in_litres=litres,
        age_at_start=round(age, 1),
        baseline_visit=base_date.isoformat(),
        baseline=baseline,
        visits=values,
        last_visit_incomplete=incomplete_last,
        baseline_scan=scan_date.isoformat(),
        follow_up_scan=None if follow_scan is None else follow_scan.isoformat(),
        intended_baseline_hrct=score(base_pct),
        intended_follow_up_hrct=score(post_pct),
        honeycombing_increase=hc_up,
        fvc_pct_pred_slope_per_year=round(fvc_slope, 2),
        lab_events=[{"date": d.isoformat(), "neutrophils": None if n is None else round(n, 2),
                     "alt": None if a is None else round(a)} for d, (n, a) in lab_events.items()],
    )
    if situation is not None:
        truth["situation"] = situation
    return start, nintedanib
