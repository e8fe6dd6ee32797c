"""``generate_cohort``: assign fates, draw each patient from the model and assemble the six tables and the truth.

Why separate: this is the only place that fixes the order of random draws, so byte-identical output
for a seed depends on this module and the ones it calls, nothing else.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ipafstudy.data.schema import TABLES
from ipafstudy.data.synth.courses import _Builder, _course
from ipafstudy.data.synth.defaults import DEFAULT_N_SCREENED, DEFAULT_SEED
from ipafstudy.data.synth.design import (
    AGE_CORE,
    AGE_WIDE,
    CRP_DECIMAL_TIE,
    DATA_CUTOFF,
    ELIGIBLE_SITUATIONS,
    FATE_ORDER,
    FIRST_START,
    GENERATOR_VERSION,
    GROUP_DESIGN,
    MAA_KEYS,
    MSA_KEYS,
    NO_FOLLOW_UP_SITUATION,
    P_AGE_WIDE,
    SCREEN_DESIGN,
    SITE_PROFILES,
    SUGGESTIVE_HRCT,
    TREATED_IPAF_FATES,
    SiteProfile,
    SynthCohort,
    _apportion,
    _day,
    _pick,
    _yn,
)
from ipafstudy.data.synth.model import _sample_ipaf, _sample_not_ipaf
from ipafstudy.data.synth.untreated import Untreated, untreated_follow_up
from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.ipaf import CLINICAL_FIELDS, COMPARTMENT_FIELDS


def _validate_args(seed: object, n_screened: object, n_sites: object, open_hrct_flags: object) -> None:
    for name, value, low in (("seed", seed, 0), ("n_screened", n_screened, 1), ("n_sites", n_sites, 1),
                             ("open_hrct_flags", open_hrct_flags, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise InvalidOptionError(f"generate_cohort(): {name}={value!r} must be a whole number >= {low}")
    if n_screened > 100_000:  # type: ignore[operator]
        raise InvalidOptionError(f"generate_cohort(): n_screened={n_screened!r} is above the limit of 100000")


def generate_cohort(
    *, seed: int = DEFAULT_SEED, n_screened: int = DEFAULT_N_SCREENED, n_sites: int = 1, open_hrct_flags: int = 0
) -> SynthCohort:
    """Generate a screened population (six tables) and the generator's intentions (``truth``).

    The same arguments always give identical tables. ``n_sites`` > 1 spreads patients over
    centres with their own units and case mix; ``open_hrct_flags`` leaves that many flagged
    HRCT zones without an adjudicator read (a demo for the adjudication worklist).

    >>> c = generate_cohort(n_screened=40, seed=1)
    >>> sorted(c.tables) == sorted(TABLES)
    True
    """
    _validate_args(seed, n_screened, n_sites, open_hrct_flags)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x1FAF]))
    b = _Builder(rng)
    n_screened, n_sites = int(n_screened), int(n_sites)
    fate_counts = _apportion(n_screened, SCREEN_DESIGN)
    fates: list[str] = [k for k, n in fate_counts.items() for _ in range(n)]
    fates = [fates[i] for i in rng.permutation(len(fates))]
    group_counts = _apportion(fate_counts["eligible"], GROUP_DESIGN)
    groups = [g for g, n in group_counts.items() for _ in range(n)]
    groups = [groups[i] for i in rng.permutation(len(groups))]
    n_eligible = fate_counts["eligible"]
    order = [int(i) for i in rng.permutation(n_eligible)]
    situations = dict(zip(order[: len(ELIGIBLE_SITUATIONS)], ELIGIBLE_SITUATIONS, strict=False))
    # Two MSA/MAA patients whose CRP changes are equal in decimal but not as doubles (the tie_decimals rule).
    tie_pair = [i for i in order[len(ELIGIBLE_SITUATIONS):] if groups[i] != "neither"][:2]
    if len(tie_pair) == 2:
        situations.update(zip(tie_pair, CRP_DECIMAL_TIE, strict=True))
    no_follow_up_seen = 0
    sites = [SITE_PROFILES[i % len(SITE_PROFILES)] for i in range(n_sites)]
    if n_sites > len(SITE_PROFILES):
        sites = [
            SiteProfile(**{**s.__dict__, "code": f"S{i + 1}", "name": f"Centre {i + 1}",
                           "readers": tuple(f"S{i + 1}-R{k}" for k in (1, 2, 3))})
            for i, s in enumerate(sites)
        ]
    site_w = np.array([1.0 / (1 + 0.25 * i) for i in range(n_sites)])
    width = max(4, len(str(n_screened)))
    truth_patients: dict[str, dict[str, object]] = {}
    untreated: list[Untreated] = []
    eligible_seen = 0
    for i, fate_key in enumerate(fates):
        site = sites[int(rng.choice(n_sites, p=site_w / site_w.sum()))] if n_sites > 1 else sites[0]
        pid = f"{site.code}-{i + 1:0{width}d}"
        fate, _, reason = fate_key.partition(":")
        t: dict[str, object] = {"fate": fate, "not_ipaf_reason": reason or None, "site": site.name}
        situation: str | None = None
        if fate == "eligible":
            group = groups[eligible_seen]
            situation = situations.get(eligible_seen)
            eligible_seen += 1
        elif fate == "no_follow_up":
            if no_follow_up_seen == 0 and fate_counts["no_follow_up"] >= 2:
                situation = NO_FOLLOW_UP_SITUATION
            no_follow_up_seen += 1
        elif fate != "not_ipaf":
            group = _pick(rng, {g: float(n) for g, n in GROUP_DESIGN.items()})
        if fate == "not_ipaf":
            f = _sample_not_ipaf(rng, reason, site)
            group = f.group()
        else:
            f = _sample_ipaf(rng, group, site)
        severity = float(rng.normal(site.severity_shift, 1.0))
        female = bool(rng.random() < 0.7)
        smoking = _pick(rng, {"never": 0.935, "former": 0.045, "current": 0.02})
        if fate == "under_min_age":
            age = float(rng.uniform(16.1, 17.95))
        else:
            mean, sd = AGE_WIDE if rng.random() < P_AGE_WIDE else AGE_CORE
            age = float(np.clip(rng.normal(mean, sd), 19, 84))
        treated = fate in TREATED_IPAF_FATES or (fate == "not_ipaf" and reason == "defined_ctd" and rng.random() < 0.2)
        index_date = _day(FIRST_START, int(rng.integers(0, (DATA_CUTOFF - FIRST_START).days - 150)))
        if treated:
            index_date = _course(b, pid, fate, group, f, site, severity, age, t, situation)
        else:
            drug = _pick(rng, {"mycophenolate mofetil": 0.45, "cyclophosphamide": 0.15, "azathioprine": 0.1,
                               "hydroxychloroquine": 0.1, "none": 0.2})
            if drug != "none":
                stop = _day(index_date, int(rng.integers(60, 500)))
                stopped = rng.random() < 0.5 and stop <= DATA_CUTOFF
                b.add("treatments", patient_id=pid, drug=drug, start_date=index_date,
                      end_date=stop if stopped else None, dose=None, dose_unit=None)
        birth = _day(index_date, -round(age * 365.25))
        pirf = bool(t.pop("pirfenidone_course", False))
        mc = {k: f.mc.get(k, False) for k in COMPARTMENT_FIELDS}
        patient: dict[str, object] = {
            "patient_id": pid, "site": site.name, "sex": "female" if female else "male",
            "birth_date": None if site.age_only else birth,
            "age_at_index": round(_age_years(birth, index_date), 1) if site.age_only else None,
            "smoking": smoking,
            "interstitial_pneumonia": _yn(f.ip), "alternative_etiology_excluded": _yn(f.alt_excluded),
            "defined_ctd": _yn(f.defined_ctd),
            **{k: _yn(f.clinical.get(k, False)) for k in CLINICAL_FIELDS},
            "hrct_pattern": f.hrct_pattern, "biopsy_pattern": f.biopsy_pattern,
            **{k: _yn(v) for k, v in mc.items()},
            "pirfenidone": _yn(pirf), "nintedanib": "no",
        }
        # A few blanks where they cannot change the classification (domain already met by another item).
        if fate == "eligible" and f.hrct_pattern in SUGGESTIVE_HRCT and rng.random() < 0.08:
            patient["airways_disease"] = None
        for column in f.unknown:
            patient[column] = None
        b.add("patients", **patient)
        work_up = _day(index_date, -int(rng.integers(5, 120)))
        b.antibodies(pid, f, site, work_up)
        if fate == "no_tacrolimus":
            untreated.append(Untreated(pid, site, f.hrct_pattern, severity, work_up))
        domains = f.domains()
        t.update(
            antibody_group=group,
            positive_antibodies=sorted(f.positives),
            both_msa_and_maa=bool(f.positives & set(MSA_KEYS)) and bool(f.positives & set(MAA_KEYS)),
            ipaf_domains=sorted(k for k, v in domains.items() if v),
            ana_item=f.ana_item(), rf_item=f.rf_item(), hrct_pattern=f.hrct_pattern,
            clinical_items=sorted(k for k, v in f.clinical.items() if v),
            multi_compartment=sorted(k for k, v in mc.items() if v),
            female=female, smoking=smoking, pirfenidone=pirf,
        )
        truth_patients[pid] = t

    open_flags = sorted(b.open_flags + _open_flags(b, truth_patients, int(open_hrct_flags)))
    # Last, from its own random stream: follow-up of the untreated IPAF patients (the comparator arm), so every
    # other row stays as it was (data/synth/untreated.py).
    for table, new_rows in untreated_follow_up(int(seed), untreated, b.rows, truth_patients).items():
        b.rows[table].extend(new_rows)
    tables = {name: _frame(name, b.rows[name]) for name in TABLES}
    counts: dict[str, int] = {}
    for t in truth_patients.values():
        key = str(t["fate"]) + (f":{t['not_ipaf_reason']}" if t["not_ipaf_reason"] else "")
        counts[key] = counts.get(key, 0) + 1
    truth: dict[str, object] = {
        "generator": "ipafstudy.data.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "n_screened": n_screened,
        "n_sites": n_sites,
        "data_cutoff_date": DATA_CUTOFF.isoformat(),
        "screening_order": ["screened", *FATE_ORDER, "eligible"],
        "fate_counts": dict(sorted(counts.items())),
        "eligible_group_counts": group_counts,
        "eligible_with_msa_and_maa": sum(
            bool(t["both_msa_and_maa"]) for t in truth_patients.values() if t["fate"] == "eligible"
        ),
        "hrct_flags": len(b.flags),
        "open_hrct_flags": [{"patient_id": p, "scan_date": d.isoformat(), "zone": z} for p, d, z in open_flags],
        "patients": dict(sorted(truth_patients.items())),
    }
    settings = {"seed": int(seed), "n_screened": n_screened, "n_sites": n_sites, "open_hrct_flags": open_hrct_flags}
    return SynthCohort(tables=tables, truth=truth, seed=int(seed), settings=settings)


def _age_years(birth: dt.date, on: dt.date) -> float:
    return (on - birth).days / 365.25


def _open_flags(
    b: _Builder, truth: dict[str, dict[str, object]], k: int
) -> list[tuple[str, dt.date, str]]:
    """Remove the adjudicator rows of ``k`` more flagged zones (eligible patients first) than the model leaves open."""
    if k == 0:
        return []
    builtin = set(b.open_flags)
    flags = sorted((f for f in b.flags if f not in builtin),
                   key=lambda x: (truth[x[0]]["fate"] != "eligible", x[0], x[1], x[2]))
    if k > len(flags):
        raise InvalidOptionError(
            f"generate_cohort(): open_hrct_flags={k} but this cohort has only {len(flags)} flagged HRCT zones"
        )
    chosen_idx = sorted(int(i) for i in b.rng.choice(min(len(flags), max(k, 3 * k)), size=k, replace=False))
    chosen = [flags[i] for i in chosen_idx]
    keys = set(chosen)
    b.rows["hrct_reads"] = [
        r for r in b.rows["hrct_reads"]
        if not (r["reader_role"] == "adjudicator" and (r["patient_id"], r["scan_date"], r["zone"]) in keys)
    ]
    return chosen


def _frame(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows in schema column order, sorted by patient and date for a stable file layout."""
    columns = list(TABLES[name].column_names)
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns, dtype=object)
    sort_keys = {
        "patients": ["patient_id"],
        "antibodies": ["patient_id", "test_date"],
        "treatments": ["patient_id", "start_date"],
        "measurements": ["patient_id", "date"],
        "hrct_reads": ["patient_id", "scan_date"],
        "adverse_events": ["patient_id", "onset_date"],
    }[name]
    if len(frame):
        frame = frame.sort_values(sort_keys, kind="mergesort", key=lambda s: s.astype(str)).reset_index(drop=True)
    return frame.where(frame.notna(), None)
