"""Follow-up of the untreated IPAF patients (screen fate ``no_tacrolimus``): the comparator arm of the demo.

Why separate, and drawn last from its own random stream: the rows of every other patient, the screening flow and
the treated cohort stay byte-identical to the generator without this step (only these patients gain measurements
and HRCT reads), and no record is dated after the latest date the other tables already hold, so the derived data
cut-off does not move either.

Model (issue 12 item 4, a demo of the target-trial emulation, not a clinical claim): the visit schedule of a
treated patient without the drug. The first scan (the comparator's index visit) is 0-45 days after the antibody
work-up; a fifth of the patients also had an older scan before it (the index rule must skip it). Clinic visits
(mMRC, ESR, CRP, steroid dose) every 30-90 days and a last scan at the last visit, over a follow-up of about
eleven months. Untreated patients are a little milder at baseline (confounding by indication, what the
propensity model adjusts for) and improve less than the treated (the latent response is shifted downwards).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ipafstudy.data.synth.courses import _Builder
from ipafstudy.data.synth.design import EXTENT_BY_PATTERN, R_ACTIVITY, R_OWN, SiteProfile, _day, _grade, _pick
from ipafstudy.data.synth.model import _mmrc, _post_pct, _zone_pct

UNTREATED_SEED_TAG = 0xC0A7
SEVERITY_SHIFT = -0.3  # untreated patients are milder at baseline
RESPONSE_SHIFT_UNTREATED = -1.6  # ... and improve less without the drug
P_OLDER_SCAN = 0.2


@dataclass(frozen=True)
class Untreated:
    """What the main loop knew about an untreated IPAF patient (no random draw is repeated here)."""

    pid: str
    site: SiteProfile
    hrct_pattern: str
    severity: float
    work_up: dt.date  # first antibody test date


def _latest(rows: dict[str, list[dict[str, object]]]) -> dt.date:
    days = [v for table in rows.values() for r in table for k, v in r.items()
            if isinstance(v, dt.date) and k != "birth_date"]
    return max(days)


def untreated_follow_up(seed: int, patients: list[Untreated], rows: dict[str, list[dict[str, object]]],
                        truth: dict[str, dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    """Measurements and HRCT reads of the untreated patients (new rows per table); ``truth`` gains their intentions.

    ``rows`` are the rows generated so far (read only, for the latest date in the records).
    """
    b = _Builder(np.random.default_rng(np.random.SeedSequence([int(seed), UNTREATED_SEED_TAG])))
    cap = _latest(rows)
    for p in sorted(patients, key=lambda u: u.pid):
        t = _one(b, p, cap)
        if t:
            truth[p.pid]["untreated_follow_up"] = t
    return b.rows


def _one(b: _Builder, p: Untreated, cap: dt.date) -> dict[str, object]:
    rng = b.rng
    pattern = p.hrct_pattern if p.hrct_pattern in EXTENT_BY_PATTERN else "other"
    severity = p.severity + SEVERITY_SHIFT
    index = _day(p.work_up, int(rng.integers(0, 46)))
    duration = int(np.clip(round(math.exp(rng.normal(math.log(330), 0.5))), 120, 900))
    end = min(_day(index, duration), cap)
    if (end - index).days < 120:  # too little follow-up before the records end: no follow-up written
        return {}
    responder = float(rng.normal(RESPONSE_SHIFT_UNTREATED, 1.0))
    base_pct = _zone_pct(rng, pattern, severity)
    post_pct, _ = _post_pct(rng, base_pct, responder)
    mmrc_b = _mmrc(rng, severity)
    mmrc_p = int(np.clip(round(mmrc_b - 0.2 * responder - 0.3 + rng.normal(0, 0.5)), 0, 4))
    activity, e_esr, e_crp = rng.normal(0, 1, size=3)
    esr_b = float(np.clip(math.exp(math.log(22) + 0.8 * (R_ACTIVITY * activity + R_OWN * e_esr) + 0.2 * severity),
                          3, 120))
    crp_b = float(np.clip(math.exp(math.log(4.5) + 1.5 * (R_ACTIVITY * activity + R_OWN * e_crp)
                                   + 0.3 * severity), 0.2, 150))
    esr_p = float(np.clip(esr_b * math.exp(rng.normal(math.log(0.8), 0.4)), 2, 120))
    crp_p = float(np.clip(crp_b * math.exp(rng.normal(math.log(0.7), 0.6)), 0.1, 150))
    mpred_b = float(_pick(rng, {"8": 0.2, "12": 0.2, "16": 0.25, "20": 0.25, "30": 0.1}))
    mpred_p = float(np.clip(2 * round(mpred_b * math.exp(rng.normal(math.log(0.75), 0.35)) / 2), 4, mpred_b))
    prednisone = bool(rng.random() < p.site.prednisone_share)

    visits = [index]
    t = _day(index, int(rng.integers(30, 91)))
    while t <= end:
        visits.append(t)
        t = _day(t, int(rng.integers(30, 91)))
    last = visits[-1]
    span = max(1, (last - index).days)
    older = rng.random() < P_OLDER_SCAN
    if older:
        b.scan(p.pid, _day(p.work_up, -int(rng.integers(60, 200))), base_pct * 1.05, p.site)
    for v in visits:
        x = (v - index).days / span
        jitter = 1.0 if v in (index, last) else float(math.exp(rng.normal(0, 0.12)))
        b.measure(p.pid, v, "mmrc", round(mmrc_b + x * (mmrc_p - mmrc_b)), p.site)
        b.measure(p.pid, v, "esr", float(max(2, round((esr_b + x * (esr_p - esr_b)) * jitter))), p.site)
        b.measure(p.pid, v, "crp", round(max(0.1, (crp_b + x * (crp_p - crp_b)) * jitter), 2), p.site)
        b.steroid(p.pid, v, float(2 * round((mpred_b + x * (mpred_p - mpred_b)) / 2)), prednisone, p.site)
    b.scan(p.pid, index, base_pct, p.site)
    b.scan(p.pid, last, post_pct, p.site)

    def total(pct: np.ndarray) -> int:
        return int(np.vectorize(_grade)(pct).sum())

    return {"index_date": index.isoformat(), "follow_up_date": last.isoformat(), "older_scan": bool(older),
            "intended_baseline": {"hrct_total": total(base_pct), "mmrc": mmrc_b},
            "intended_follow_up": {"hrct_total": total(post_pct), "mmrc": mmrc_p}}
