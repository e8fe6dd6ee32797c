"""Treated courses: the row builder, and the tacrolimus course of one IPAF patient (visits, labs, scans, events).

Why separate: this is where time enters the model (start, visits, windows, scans, adverse events),
the part most edge cases of the time-point and exposure rules come from.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ipafstudy.data.schema import PATTERNS, TABLES, ZONES
from ipafstudy.data.synth.design import (
    CRP_TIE_VALUES,
    DATA_CUTOFF,
    ENA_PANEL,
    EXTENT_BY_PATTERN,
    FIRST_START,
    MYOSITIS_BLOT,
    P_READER_SLIP,
    R_ACTIVITY,
    R_FALL,
    R_FALL_OWN,
    R_OWN,
    READER_SD_PCT,
    RESPONSE_SHIFT,
    SiteProfile,
    _day,
    _grade,
    _pick,
    _spell,
    _yn,
)
from ipafstudy.data.synth.model import Features, _mmrc, _post_pct, _zone_pct

# --------------------------------------------------------------------------- the generator


class _Builder:
    """Accumulates table rows; one instance per call of generate_cohort."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
        self.flags: list[tuple[str, dt.date, str]] = []
        self.open_flags: list[tuple[str, dt.date, str]] = []  # flags the model leaves without adjudication
        self.crp_mg_dl: set[str] = set()

    def add(self, table: str, **values: object) -> None:
        self.rows[table].append(values)

    # ---- antibodies
    def antibodies(self, pid: str, f: Features, site: SiteProfile, test_date: dt.date) -> None:
        rng = self.rng
        titre, pattern = f.ana
        self.add(
            "antibodies", patient_id=pid, test_date=test_date, antibody=_spell(rng, "ana", site),
            result="positive" if titre else "negative", titre=titre, pattern=pattern,
        )
        value, uln = f.rf
        self.add(
            "antibodies", patient_id=pid, test_date=test_date, antibody=_spell(rng, "rf", site),
            result="positive" if value > uln else "negative", value=value, upper_limit_normal=uln,
        )
        blot_date = _day(test_date, int(rng.integers(0, 15)))
        for key in ("ccp", "dsdna", *ENA_PANEL, *MYOSITIS_BLOT):
            when = blot_date if key in MYOSITIS_BLOT else test_date
            self.add(
                "antibodies", patient_id=pid, test_date=when, antibody=_spell(rng, key, site),
                result="positive" if key in f.positives else "negative",
            )
        if "hmgcr" in f.positives:
            self.add(
                "antibodies", patient_id=pid, test_date=blot_date, antibody=_spell(rng, "hmgcr", site),
                result="positive",
            )

    # ---- measurements
    def measure(self, pid: str, when: dt.date, variable: str, value: float, site: SiteProfile) -> None:
        unit = {
            "esr": site.esr_unit, "crp": "mg/L", "mmrc": "mmrc", "magnesium": "mmol/L",
            "creatinine": "umol/L", "tacrolimus_trough": site.trough_unit,
        }.get(variable, "mg/day")
        if variable == "crp" and (site.crp_unit == "mg/dL" or pid in self.crp_mg_dl):
            value, unit = round(value / 10, 3), "mg/dL"
        elif variable == "mmrc" and site.dyspnoea_scale == "mrc":
            value, unit = value + 1, "mrc"
        elif variable == "magnesium" and site.magnesium_unit != "mmol/L":
            factor = 2.43 if site.magnesium_unit == "mg/dL" else 2.0
            value, unit = round(value * factor, 2), site.magnesium_unit
        elif variable == "creatinine" and site.creatinine_unit == "mg/dL":
            value, unit = round(value / 88.4, 2), "mg/dL"
        self.add("measurements", patient_id=pid, date=when, variable=variable, value=value, unit=unit)

    def steroid(self, pid: str, when: dt.date, mpred: float, prednisone: bool, site: SiteProfile) -> None:
        if prednisone:
            self.add(
                "measurements", patient_id=pid, date=when, variable="prednisone_dose", value=round(mpred * 1.25, 2),
                unit=site.steroid_unit,
            )
        else:
            self.add(
                "measurements", patient_id=pid, date=when, variable="methylprednisolone_dose", value=mpred,
                unit=site.steroid_unit,
            )

    # ---- HRCT reads
    def scan(self, pid: str, when: dt.date, pct: np.ndarray, site: SiteProfile, *, open_flag: bool = False) -> None:
        """Two blinded reads of one scan, an adjudicator read per flagged zone.

        ``open_flag``: reader 2 misreads GGO in the right lower zone by two grades and no adjudicator read is
        written for that zone, so the flag stays open (the scan is then unusable).
        """
        rng = self.rng
        reads: list[tuple[np.ndarray, np.ndarray, str]] = []
        for _reader in range(2):
            noisy = pct + rng.normal(0, READER_SD_PCT, size=pct.shape)
            noisy[:, 2] = pct[:, 2] + rng.normal(0, 2.0, size=6)  # honeycombing is distinctive
            noisy = np.where(pct <= 0, 0.0, np.maximum(noisy, 5.0))
            fp = (pct <= 0) & (rng.random(pct.shape) < 0.006)
            fp[:, 2] = False
            noisy = np.where(fp, 5.0, noisy)
            slips = (rng.random(pct.shape) < P_READER_SLIP) & (pct > 0)
            slips[:, 2] = False
            shift = np.where(rng.random(pct.shape) < 0.5, -50.0, 50.0)
            noisy = np.where(slips, np.clip(noisy + shift, 5.0, 100.0), noisy)
            rep = np.clip(np.round(noisy / 5.0) * 5.0, 0, 100)
            grades = np.vectorize(_grade)(rep)
            mode = _pick(rng, {"grade": 0.7, "pct": 0.15, "both": 0.15})
            reads.append((rep, grades, mode))
        if open_flag:
            rep2, grades2, _ = reads[1]
            zi, g1 = ZONES.index("RL"), int(reads[0][1][ZONES.index("RL"), 0])
            target = g1 - 2 if g1 >= 2 else g1 + 2
            rep2[zi, 0] = 0.0 if target == 0 else 25.0 * target - 10.0
            grades2[zi, 0] = target
        for (rep, grades, mode), role, reader in zip(reads, ("reader1", "reader2"), site.readers[:2], strict=True):
            for zi, zone in enumerate(ZONES):
                row: dict[str, object] = {
                    "patient_id": pid, "scan_date": when, "reader": reader, "reader_role": role, "zone": zone,
                }
                for pi, p in enumerate(PATTERNS):
                    row[p] = int(grades[zi, pi]) if mode in ("grade", "both") else None
                    row[f"{p}_pct"] = float(rep[zi, pi]) if mode in ("pct", "both") else None
                self.add("hrct_reads", **row)
        (r1, g1, m1), (r2, g2, m2) = reads
        both_pct = m1 != "grade" and m2 != "grade"
        for zi, zone in enumerate(ZONES):
            flagged = bool(np.any(np.abs(g1[zi] - g2[zi]) > 1))
            if both_pct:
                flagged = flagged or bool(np.any(np.abs(r1[zi] - r2[zi]) >= 25))
            if flagged:
                self.flags.append((pid, when, zone))
                if open_flag and zone == "RL":
                    self.open_flags.append((pid, when, zone))
                    continue
                adj = np.clip(pct[zi] + rng.normal(0, 3.0, size=4), 0, 100)
                adj = np.where(pct[zi] <= 0, 0.0, np.maximum(adj, 1.0))
                row = {"patient_id": pid, "scan_date": when, "reader": site.readers[2], "reader_role": "adjudicator",
                       "zone": zone}
                for pi, p in enumerate(PATTERNS):
                    row[p] = _grade(float(adj[pi]))
                    row[f"{p}_pct"] = None
                self.add("hrct_reads", **row)


def _course(
    b: _Builder, pid: str, fate: str, group: str, f: Features, site: SiteProfile, severity: float,
    age_start: float, truth: dict[str, object], situation: str | None = None,
) -> dt.date:
    """Treatments, visits, scans and adverse events of one tacrolimus-treated IPAF patient.

    ``situation`` (design.ELIGIBLE_SITUATIONS, NO_FOLLOW_UP_SITUATION) adds one case a rule must handle;
    what was done is recorded in ``truth`` so the tests can check the pipeline's answer.
    """
    rng = b.rng
    latest_start = DATA_CUTOFF - dt.timedelta(days=150)
    start = _day(FIRST_START, int(rng.integers(0, (latest_start - FIRST_START).days)))
    if fate == "short_exposure":
        duration = int(rng.integers(30, 76))
    else:
        duration = int(np.clip(round(math.exp(rng.normal(math.log(330), 0.6))), 100, 900))
    end: dt.date | None = _day(start, duration)
    scan_after_end = fate == "no_follow_up" and rng.random() < 0.5
    if end > DATA_CUTOFF - dt.timedelta(days=10) and (fate == "short_exposure" or scan_after_end):
        start = _day(DATA_CUTOFF, -duration - 90)
        end = _day(start, duration)
    if situation == "rechallenge_after_gap" and end > DATA_CUTOFF - dt.timedelta(days=200):
        start = _day(DATA_CUTOFF, -duration - 200)  # finished, with room for a second course after a gap
        end = _day(start, duration)
    if end > DATA_CUTOFF:
        end = None
    eff_end = end or DATA_CUTOFF
    dose = float(rng.choice([1.0, 2.0, 2.0, 3.0]))
    courses: list[tuple[dt.date, dt.date | None, float]] = [(start, end, dose)]
    joined, ignored = 1, 0
    if situation in ("contiguous_courses", "overlapping_courses"):
        split = _day(start, (eff_end - start).days // 2)
        first_end = split if situation == "contiguous_courses" else _day(split, int(rng.integers(5, 21)))
        second_start = _day(split, 1)
        courses = [(start, first_end, dose), (second_start, end, dose + 1.0)]  # a dose change, re-prescribed
        joined = 2
    elif situation == "rechallenge_after_gap" and end is not None:
        again = _day(end, int(rng.integers(45, 121)))
        again_end: dt.date | None = _day(again, int(rng.integers(60, 200)))
        courses.append((again, None if again_end > DATA_CUTOFF else again_end, 1.0))  # type: ignore[operator]
        ignored = 1
    for c_start, c_end, c_dose in courses:
        b.add("treatments", patient_id=pid, drug="tacrolimus", start_date=c_start, end_date=c_end, dose=c_dose,
              dose_unit="mg/day")

    # Latent outcomes.
    responder = float(rng.normal(RESPONSE_SHIFT[group], 1.0))
    base_pct = _zone_pct(rng, f.hrct_pattern if f.hrct_pattern in EXTENT_BY_PATTERN else "other", severity)
    post_pct, hc_up = _post_pct(rng, base_pct, responder)
    mmrc_b = _mmrc(rng, severity)
    mmrc_p = int(np.clip(round(1.0 + 0.2 * (mmrc_b - 2.5) - 0.25 * responder + rng.normal(0, 0.4)), 0, mmrc_b))
    # ESR and CRP share a latent inflammatory activity (baseline) and a latent acute-phase response (fall),
    # so their changes correlate (Spearman about 0.5), as two markers of one process do.
    activity, fall = rng.normal(0, 1, size=2)
    e_esr, e_crp, f_esr, f_crp = rng.normal(0, 1, size=4)
    esr_b = float(np.clip(math.exp(math.log(24) + 0.8 * (R_ACTIVITY * activity + R_OWN * e_esr) + 0.2 * severity),
                          3, 120))
    crp_b = float(np.clip(math.exp(math.log(5.0) + 1.5 * (R_ACTIVITY * activity + R_OWN * e_crp) + 0.3 * severity),
                          0.2, 150))
    esr_p = float(np.clip(esr_b * math.exp(math.log(0.48) + 0.5 * (R_FALL * fall + R_FALL_OWN * f_esr)
                                           - 0.2 * responder), 2, 120))
    crp_p = float(np.clip(crp_b * math.exp(math.log(0.3) + 0.7 * (R_FALL * fall + R_FALL_OWN * f_crp)
                                           - 0.3 * responder), 0.1, 150))
    mpred_b = float(_pick(rng, {"12": 0.04, "16": 0.08, "20": 0.42, "24": 0.08, "28": 0.05, "30": 0.15,
                                "32": 0.06, "40": 0.12}))
    mpred_p = float(np.clip(2 * round(mpred_b * math.exp(rng.normal(math.log(0.62), 0.45)) / 2), 4, mpred_b))
    if situation in CRP_TIE_VALUES:
        crp_b, crp_p = CRP_TIE_VALUES[situation]
    prednisone = bool(rng.random() < site.prednisone_share)
    if rng.random() < site.crp_mg_dl_share and situation not in CRP_TIE_VALUES:
        b.crp_mg_dl.add(pid)
    trough_mean = float(math.exp(rng.normal(math.log(5.1), 0.55)))
    hypomag = bool(rng.random() < 0.56) or situation == "lab_only_hypomagnesaemia"
    creat_b = float(rng.uniform(45, 95))
    mg_b = float(rng.uniform(0.76, 0.98))

    # Visit schedule.
    if fate == "no_baseline":
        lab_offset = 100 if rng.random() < 0.4 else int(rng.integers(95, 160))
        scan_offset = 100 if rng.random() < 0.4 else int(rng.integers(95, 200))
    else:
        lab_offset = 0 if rng.random() < 0.15 else int(rng.integers(1, 76))
        scan_offset = 0 if rng.random() < 0.12 else int(rng.integers(1, 86))
    base_date = _day(start, -lab_offset)
    visits: list[dt.date] = []
    t = _day(start, int(rng.integers(25, 46)))
    while t <= eff_end:
        visits.append(t)
        t = _day(t, int(rng.integers(30, 91)))
    if not visits:
        visits = [_day(start, max(1, (eff_end - start).days))]
    incomplete_last = len(visits) >= 2 and rng.random() < 0.3
    last_complete = visits[-2] if incomplete_last else visits[-1]
    ramp = float(rng.uniform(90, 200))

    def frac(d: dt.date) -> float:
        if d >= last_complete:
            return 1.0
        return min(1.0, max(0.0, (d - start).days / ramp)) ** 0.8

    # Baseline visit (and, for some, an older visit outside the window).
    if fate != "no_baseline" and rng.random() < 0.2:
        old = _day(start, -100)
        b.measure(pid, old, "esr", float(round(esr_b * rng.uniform(0.6, 1.4))), site)
        b.measure(pid, old, "crp", round(crp_b * float(rng.uniform(0.5, 1.5)), 2), site)
    same_day: list[dict[str, object]] = []
    if situation != "missing_baseline_mmrc":
        b.measure(pid, base_date, "mmrc", mmrc_b, site)
    b.measure(pid, base_date, "esr", float(round(esr_b)), site)
    if situation == "same_day_duplicate_baseline":  # the same ESR entered twice (validate warns: duplicate_row)
        b.measure(pid, base_date, "esr", float(round(esr_b)), site)
        same_day.append({"variable": "esr", "date": base_date.isoformat(), "values": [float(round(esr_b))] * 2})
    if situation != "missing_baseline_crp":
        b.measure(pid, base_date, "crp", round(crp_b, 2), site)
    b.steroid(pid, base_date, mpred_b, prednisone, site)
    b.measure(pid, base_date, "magnesium", round(mg_b, 2), site)
    b.measure(pid, base_date, "creatinine", round(creat_b, 1), site)
    b.add("treatments", patient_id=pid, drug="methylprednisolone", start_date=_day(start, -int(rng.integers(20, 200))),
          end_date=None if end is None else end, dose=mpred_b, dose_unit="mg/day")
    if f.mc and rng.random() < (0.6 if f.hrct_pattern == "uip" else 0.25):
        b.add("treatments", patient_id=pid, drug="pirfenidone", start_date=_day(start, -int(rng.integers(0, 120))),
              end_date=end, dose=1800.0, dose_unit="mg/day")
        truth["pirfenidone_course"] = True

    low_mg_visits: list[dt.date] = []
    if hypomag:
        complete = visits[:-1] if incomplete_last else visits  # magnesium is measured at complete visits only
        k = int(rng.integers(0, max(1, min(3, len(complete)))))
        low_mg_visits = [complete[k]]
        if rng.random() < 0.3 and k + 1 < len(complete):
            low_mg_visits.append(complete[k + 1])
    aki_visit: dt.date | None = None
    if situation == "aki":
        complete = visits[:-1] if incomplete_last else visits
        aki_visit = complete[(len(complete) - 1) // 2]
    for i, v in enumerate(visits):
        x = frac(v)
        last = i == len(visits) - 1
        jitter = 1.0 if v == last_complete else float(math.exp(rng.normal(0, 0.15)))
        b.measure(pid, v, "esr", float(max(2, round((esr_b + x * (esr_p - esr_b)) * jitter))), site)
        if last and incomplete_last:
            if rng.random() < 0.5:
                b.measure(pid, v, "crp", round(max(0.1, (crp_b + x * (crp_p - crp_b)) * jitter), 2), site)
            continue
        crp_v = round(max(0.1, (crp_b + x * (crp_p - crp_b)) * jitter), 2)
        b.measure(pid, v, "crp", crp_v, site)
        if situation == "same_day_duplicate_follow_up" and v == last_complete:  # the same CRP entered twice
            b.measure(pid, v, "crp", crp_v, site)
            same_day.append({"variable": "crp", "date": v.isoformat(), "values": [crp_v, crp_v]})
        b.measure(pid, v, "mmrc", round(mmrc_b + x * (mmrc_p - mmrc_b)), site)
        b.steroid(pid, v, float(2 * round((mpred_b + x * (mpred_p - mpred_b)) / 2)), prednisone, site)
        b.measure(pid, v, "tacrolimus_trough", round(trough_mean * math.exp(rng.normal(0, 0.3)), 1), site)
        mg = float(rng.uniform(0.55, 0.68)) if v in low_mg_visits else max(0.72, mg_b + rng.normal(0, 0.04))
        b.measure(pid, v, "magnesium", round(mg, 2), site)
        creat = creat_b * float(np.clip(math.exp(rng.normal(0, 0.05)), 0.88, 1.15))
        if v == aki_visit:
            creat = creat_b * float(rng.uniform(1.6, 1.9))  # KDIGO stage 1 against the treatment baseline
        b.measure(pid, v, "creatinine", round(creat, 1), site)
    if end is not None and rng.random() < 0.15 and _day(end, 30) <= DATA_CUTOFF:
        after = _day(end, 30)  # a visit after tacrolimus stopped: not a follow-up "during treatment"
        b.measure(pid, after, "esr", float(round(esr_p * rng.uniform(0.9, 1.6))), site)
        b.measure(pid, after, "crp", round(crp_p * float(rng.uniform(0.9, 2.0)), 2), site)
        b.measure(pid, after, "mmrc", mmrc_p, site)

    # HRCT scans: baseline, maybe one in between, the last during treatment (at the last complete visit).
    b.scan(pid, _day(start, -scan_offset), base_pct, site)
    if fate != "no_baseline" and rng.random() < 0.15:
        b.scan(pid, _day(start, -int(rng.integers(120, 300))), base_pct * 1.1, site)  # an older scan, out of window
    open_scan: dt.date | None = None
    if fate == "no_follow_up":
        if scan_after_end and end is not None:
            b.scan(pid, _day(end, int(rng.integers(20, 61))), post_pct, site)
        if situation == "open_flag_only_follow_up_scan":  # the one scan during treatment cannot be used
            open_scan = last_complete
            b.scan(pid, open_scan, post_pct, site, open_flag=True)
    else:
        final_scan = _day(last_complete, -int(rng.integers(0, 11)))
        if final_scan <= start:
            final_scan = last_complete
        mid_scan = len(visits) >= 4 and rng.random() < 0.5
        if situation == "open_flag_final_scan":
            mid = _day(start, max(1, (final_scan - start).days // 2))
            b.scan(pid, mid, base_pct + frac(mid) * (post_pct - base_pct), site)
            open_scan = final_scan
            truth["follow_up_scan"] = mid.isoformat()
        elif mid_scan:
            mid = visits[len(visits) // 2 - 1]
            if start < mid < final_scan:
                b.scan(pid, mid, base_pct + frac(mid) * (post_pct - base_pct), site)
        b.scan(pid, final_scan, post_pct, site, open_flag=open_scan is not None)

    # Adverse events (one row per episode).
    lab_only: list[dict[str, object]] = []
    if situation == "lab_only_hypomagnesaemia":
        lab_only.append({"event": "hypomagnesaemia", "onset_date": low_mg_visits[0].isoformat()})
    elif hypomag:
        b.add("adverse_events", patient_id=pid, onset_date=low_mg_visits[0], event="hypomagnesaemia",
              event_detail="oral magnesium supplementation", grade=1, serious="no", led_to_discontinuation="no",
              led_to_dose_change="no", outcome="resolved", attribution="related")
    window = max(1, (eff_end - start).days)
    if rng.random() < 0.4:
        grade = 3 if rng.random() < 0.3 else 2
        b.add("adverse_events", patient_id=pid, onset_date=_day(start, int(rng.integers(1, window + 1))),
              event="infection", event_detail=str(rng.choice(["pneumonia", "urinary tract infection",
                                                                "herpes zoster", "upper respiratory infection"])),
              grade=grade, serious=_yn(grade == 3), led_to_discontinuation="no", led_to_dose_change="no",
              outcome="resolved", attribution="possibly_related")
    for event, p, attribution in (("gastrointestinal_discomfort", 0.12, "possibly_related"),
                                  ("hypertension", 0.1, "possibly_related"), ("tremor", 0.04, "related")):
        if rng.random() < p:
            b.add("adverse_events", patient_id=pid, onset_date=_day(start, int(rng.integers(1, window + 1))),
                  event=event, grade=1, serious="no", led_to_discontinuation="no", led_to_dose_change="no",
                  outcome="ongoing" if event == "hypertension" and rng.random() < 0.5 else "resolved",
                  attribution=attribution)
    if fate == "short_exposure" and rng.random() < 0.6:
        b.add("adverse_events", patient_id=pid, onset_date=_day(end or eff_end, -int(rng.integers(0, 7))),
              event="gastrointestinal_discomfort", event_detail="nausea; tacrolimus stopped", grade=2, serious="no",
              led_to_discontinuation="yes", led_to_dose_change="no", outcome="resolved", attribution="related")

    def score(pct: np.ndarray) -> dict[str, int]:
        grades = np.vectorize(_grade)(pct)
        out = {p: int(grades[:, i].sum()) for i, p in enumerate(PATTERNS)}
        out["total"] = int(grades.sum())
        return out

    truth.update(
        tacrolimus_start=start.isoformat(),
        tacrolimus_end=None if end is None else end.isoformat(),
        intended_baseline={**score(base_pct), "mmrc": mmrc_b, "esr": round(esr_b), "crp": round(crp_b, 2),
                           "methylprednisolone_dose": mpred_b},
        intended_follow_up={**score(post_pct), "mmrc": mmrc_p, "esr": round(esr_p), "crp": round(crp_p, 2),
                            "methylprednisolone_dose": mpred_p},
        intended_follow_up_visit=last_complete.isoformat(),
        last_visit_incomplete=incomplete_last,
        honeycombing_increase=hc_up,
        hypomagnesaemia=hypomag,
        trough_mean=round(trough_mean, 2),
        age_at_start=round(age_start, 1),
        tacrolimus_courses=len(courses),
        tacrolimus_courses_joined=joined,
        tacrolimus_courses_ignored=ignored,
    )
    if aki_visit is not None:
        lab_only.append({"event": "renal_insufficiency", "onset_date": aki_visit.isoformat()})
    if situation is not None:
        truth["situation"] = situation
    if lab_only:
        truth["lab_only_events"] = lab_only
    if same_day:
        truth["same_day_values"] = same_day
    if situation in ("missing_baseline_mmrc", "missing_baseline_crp"):
        truth["missing_outcomes"] = [{"outcome": situation.rsplit("_", 1)[1], "timepoint": "baseline"}]
    if open_scan is not None:
        truth["open_flag_scan"] = open_scan.isoformat()
    return start
