"""Seeded example cohort: a model of screened IPAF patients, written in the CSV-folder format.

Why a model and not a table of published numbers: the demo and the test-suite need records that
behave like a real screen (people fail eligibility for real reasons, readers disagree, labs use
other units, the last visit is incomplete), so every number here comes from a patient-level model
(latent severity, antibody group, treatment response) drawn with a seeded generator. The
reference study's summary numbers appear in exactly one place, ``CALIBRATION_TARGETS``, which the
tuning report and the calibration test compare the generated eligible cohort against.

The model is documented in ``docs/synth.md``. Entry points::

    cohort = generate_cohort(seed=20250101)
    write_cohort(cohort, "out/example")
    python -m ipafstudy.data.synth --refresh-bundled     # regenerate src/ipafstudy/example_data
    python -m ipafstudy.data.synth --calibration         # intended summaries vs targets
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ipafstudy.data.schema import PATTERNS, TABLES, ZONES
from ipafstudy.errors import InvalidOptionError
from ipafstudy.fileio import atomic_write_bytes, prepare_output_dir
from ipafstudy.rules.ipaf import CLINICAL_FIELDS, COMPARTMENT_FIELDS

GENERATOR_VERSION = "1.0.0"
DEFAULT_SEED = 20250101
DEFAULT_N_SCREENED = 271
TRUTH_FILE = "generator_truth.json"
DATA_CUTOFF = dt.date(2025, 9, 30)
"""No record is dated after this day; ongoing courses run up to it."""
FIRST_START = dt.date(2021, 1, 11)

# --------------------------------------------------------------------------- calibration targets

CALIBRATION_SOURCE = "shared/reference/source-study.txt"
CALIBRATION_TARGETS: dict[str, dict[str, object]] = {
    # Screening (Methods 2.1) and subgroups (Table 4 header; clinical-rules.md s.2).
    "n_screened": {"target": 271, "tolerance": 0, "source": "Methods 2.1"},
    "n_eligible": {"target": 48, "tolerance": 0, "source": "Methods 2.1"},
    "n_msa": {"target": 28, "tolerance": 0, "source": "Table 4"},
    "n_maa": {"target": 15, "tolerance": 0, "source": "Table 4"},
    "n_neither": {"target": 5, "tolerance": 0, "source": "clinical-rules.md s.2"},
    # Table 1 (baseline characteristics, n = 48); proportions of the eligible cohort.
    "age_median": {"target": 56, "tolerance": 3, "source": "Results 3.1 text (Table 1 prints mean +/- SD)"},
    "age_q1": {"target": 50, "tolerance": 4, "source": "Results 3.1 text"},
    "age_q3": {"target": 59, "tolerance": 4, "source": "Results 3.1 text"},
    "female": {"target": 34 / 48, "tolerance": 0.15, "source": "Table 1"},
    "smoking_history": {"target": 3 / 48, "tolerance": 0.08, "source": "Table 1"},
    "inflammatory_arthritis": {"target": 6 / 48, "tolerance": 0.10, "source": "Table 1"},
    "raynaud": {"target": 4 / 48, "tolerance": 0.08, "source": "Table 1"},
    "ana_item": {"target": 13 / 48, "tolerance": 0.13, "source": "Table 1"},
    "anti_ro": {"target": 26 / 48, "tolerance": 0.15, "source": "Table 1"},
    "anti_synthetase": {"target": 20 / 48, "tolerance": 0.13, "source": "Table 1"},
    "hrct_nsip": {"target": 23 / 48, "tolerance": 0.15, "source": "Table 1"},
    "hrct_nsip_op": {"target": 15 / 48, "tolerance": 0.15, "source": "Table 1"},
    "hrct_uip": {"target": 9 / 48, "tolerance": 0.12, "source": "Table 1"},
    "pleural_involvement": {"target": 23 / 48, "tolerance": 0.15, "source": "Table 1"},
    "pirfenidone": {"target": 15 / 48, "tolerance": 0.15, "source": "Table 1"},
    # Table 2 (before / after, n = 48): median, Q1, Q3 (SPSS quantiles).
    "total_base_median": {"target": 18, "tolerance": 3, "source": "Table 2"},
    "total_base_q1": {"target": 12, "tolerance": 4, "source": "Table 2"},
    "total_base_q3": {"target": 21, "tolerance": 4, "source": "Table 2"},
    "total_post_median": {"target": 14.5, "tolerance": 3, "source": "Table 2"},
    "total_post_q1": {"target": 9.25, "tolerance": 4, "source": "Table 2"},
    "total_post_q3": {"target": 19, "tolerance": 4, "source": "Table 2"},
    "ggo_base_median": {"target": 4, "tolerance": 2, "source": "Table 2"},
    "ggo_post_median": {"target": 2, "tolerance": 2, "source": "Table 2"},
    "fibrosis_base_median": {"target": 8, "tolerance": 2.5, "source": "Table 2"},
    "fibrosis_post_median": {"target": 8, "tolerance": 2.5, "source": "Table 2"},
    "honeycombing_base_q3": {"target": 0, "tolerance": 0.5, "source": "Table 2"},
    "honeycombing_post_q3": {"target": 0, "tolerance": 0.5, "source": "Table 2"},
    "consolidation_base_median": {"target": 2.5, "tolerance": 2, "source": "Table 2"},
    "consolidation_base_q3": {"target": 7, "tolerance": 3, "source": "Table 2"},
    "consolidation_post_median": {"target": 1, "tolerance": 1.5, "source": "Table 2"},
    "mmrc_base_median": {"target": 3, "tolerance": 0.5, "source": "Table 2"},
    "mmrc_base_q1": {"target": 2, "tolerance": 0.5, "source": "Table 2"},
    "mmrc_base_q3": {"target": 3, "tolerance": 0.5, "source": "Table 2"},
    "mmrc_post_median": {"target": 1, "tolerance": 0.5, "source": "Table 2"},
    "mmrc_post_q3": {"target": 1, "tolerance": 1, "source": "Table 2"},
    "esr_base_median": {"target": 23.5, "tolerance": 8, "source": "Table 2"},
    "esr_post_median": {"target": 11, "tolerance": 5, "source": "Table 2"},
    "crp_base_median": {"target": 5.32, "tolerance": 3, "source": "Table 2"},
    "crp_post_median": {"target": 1.29, "tolerance": 1.2, "source": "Table 2"},
    "mpred_base_median": {"target": 20, "tolerance": 5, "source": "Table 2"},
    "mpred_post_median": {"target": 15, "tolerance": 5, "source": "Table 2"},
    "trough_median": {"target": 5.10, "tolerance": 1.5, "source": "Methods 2.3"},
    # Adverse events (Results 3.6): patients with at least one event, of the eligible cohort.
    "ae_hypomagnesaemia": {"target": 27 / 48, "tolerance": 0.15, "source": "Results 3.6"},
    "ae_infection": {"target": 19 / 48, "tolerance": 0.15, "source": "Results 3.6"},
    "ae_renal_insufficiency": {"target": 0.0, "tolerance": 0.0, "source": "Results 3.6"},
    "honeycombing_increase": {"target": 7 / 48, "tolerance": 0.12, "source": "Results 3.2"},
}
"""One place for the published numbers the model is tuned to (tolerances are ours)."""

# --------------------------------------------------------------------------- screening design

# Intended fate of every screened patient, as counts out of the reference screen of 271. The
# eligible count and the screen size come from the study; how the other 223 fail is our model of
# a rheumatology ILD screen (most are not IPAF; a few fail each later step).
SCREEN_DESIGN: dict[str, int] = {
    "not_ipaf:defined_ctd": 84,
    "not_ipaf:single_domain": 58,
    "not_ipaf:no_interstitial_pneumonia": 12,
    "not_ipaf:alternative_etiology": 21,
    "no_tacrolimus": 29,
    "under_min_age": 3,
    "short_exposure": 7,
    "no_baseline": 5,
    "no_follow_up": 4,
    "eligible": 48,
}
GROUP_DESIGN: dict[str, int] = {"msa": 28, "maa": 15, "neither": 5}
FATE_ORDER = ("not_ipaf", "no_tacrolimus", "under_min_age", "short_exposure", "no_baseline", "no_follow_up")
TREATED_IPAF_FATES = ("eligible", "under_min_age", "short_exposure", "no_baseline", "no_follow_up")


def _apportion(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Largest-remainder split of ``total`` in proportion to ``weights`` (ties broken by order)."""
    wsum = sum(weights.values())
    exact = {k: total * w / wsum for k, w in weights.items()}
    counts = {k: math.floor(v) for k, v in exact.items()}
    rest = total - sum(counts.values())
    order = sorted(weights, key=lambda k: (-(exact[k] - counts[k]), list(weights).index(k)))
    for k in order[:rest]:
        counts[k] += 1
    return counts


# --------------------------------------------------------------------------- sites and spellings


@dataclass(frozen=True)
class SiteProfile:
    """How one centre records its data (units, scales, spellings) and its case mix."""

    code: str
    name: str
    crp_unit: str = "mg/L"
    crp_mg_dl_share: float = 0.08  # patients whose CRP comes from a referring laboratory in mg/dL
    dyspnoea_scale: str = "mmrc"
    prednisone_share: float = 0.1
    magnesium_unit: str = "mmol/L"
    creatinine_unit: str = "umol/L"
    trough_unit: str = "ng/mL"
    esr_unit: str = "mm/h"
    steroid_unit: str = "mg/day"
    age_only: bool = False
    severity_shift: float = 0.0
    uip_shift: float = 0.0
    spelling_offset: int = 0
    readers: tuple[str, str, str] = ("RAD-01", "RAD-02", "RAD-03")


SITE_PROFILES: tuple[SiteProfile, ...] = (
    SiteProfile("A", "Centre A"),
    SiteProfile(
        "B", "Centre B", crp_unit="mg/dL", dyspnoea_scale="mrc", prednisone_share=0.6, magnesium_unit="mg/dL",
        esr_unit="mm/hr", steroid_unit="mg/d", age_only=True, severity_shift=0.3, uip_shift=0.08, spelling_offset=1,
        readers=("B-RAD1", "B-RAD2", "B-RAD3"),
    ),
    SiteProfile(
        "C", "Centre C", prednisone_share=0.0, magnesium_unit="mEq/L", creatinine_unit="mg/dL", trough_unit="ug/L",
        severity_shift=-0.2, uip_shift=-0.05, spelling_offset=2, readers=("C-R1", "C-R2", "C-R3"),
    ),
)

# Internal antibody key -> laboratory spellings (every one is known to rules.antibodies).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "ana": ("ANA", "ANA IIF", "ANA HEp-2"),
    "rf": ("RF", "rheumatoid factor", "RF IgM"),
    "ccp": ("anti-CCP", "CCP", "ACPA"),
    "dsdna": ("anti-dsDNA", "dsDNA", "ds-DNA"),
    "ro60": ("SSA60", "Ro60", "anti-SSA/Ro60", "SS-A"),
    "ro52": ("Ro52", "SSA52", "TRIM21"),
    "la": ("SSB", "SS-B", "La"),
    "sm": ("Sm", "anti-Sm", "Smith"),
    "rnp": ("U1-RNP", "RNP", "U1RNP", "snRNP"),
    "scl70": ("Scl-70", "Scl70", "topoisomerase I"),
    "jo1": ("Jo1", "JO-1", "anti-Jo-1"),
    "pl7": ("PL-7", "PL7", "anti-PL-7"),
    "pl12": ("PL-12", "PL12", "anti-PL-12"),
    "ej": ("EJ", "anti-EJ", "EJ"),
    "oj": ("OJ", "anti-OJ", "OJ"),
    "mi2": ("Mi-2", "Mi2", "Mi-2 alpha"),
    "mda5": ("MDA5", "MDA-5", "CADM-140"),
    "tif1g": ("TIF1γ", "TIF1g", "TIF1-gamma"),
    "nxp2": ("NXP2", "NXP-2", "MJ"),
    "sae": ("SAE1", "SAE", "SAE2"),
    "srp": ("SRP", "SRP54", "anti-SRP"),
    "hmgcr": ("HMGCR", "HMGR", "anti-HMGCR"),
    "pmscl": ("PM-Scl75", "PM-Scl", "PMScl"),
    "ku": ("Ku", "Ku70/80", "anti-Ku"),
}
ENA_PANEL = ("ro60", "ro52", "la", "sm", "rnp", "scl70")
MYOSITIS_BLOT = ("jo1", "pl7", "pl12", "ej", "oj", "mi2", "mda5", "tif1g", "nxp2", "sae", "srp", "pmscl", "ku")
ANTI_SYNTHETASE = ("jo1", "pl7", "pl12", "ej", "oj")
MSA_KEYS = ("jo1", "pl7", "pl12", "ej", "oj", "mi2", "mda5", "tif1g", "nxp2", "sae", "srp", "hmgcr")
MAA_KEYS = ("ro60", "ro52", "rnp", "ku", "pmscl")
SEROLOGIC_ITEM_KEYS = ("ccp", "dsdna", "ro60", "la", "rnp", "sm", "scl70", *ANTI_SYNTHETASE, "pmscl", "mda5")

# The clinical and compartment item columns are rules.ipaf's CLINICAL_FIELDS / COMPARTMENT_FIELDS. The
# generator's own IPAF model (these suggestive patterns, the ANA/RF thresholds in Features) stays separate
# on purpose: tests/cohort/test_synth_truth.py checks the rules' classification against it.
SUGGESTIVE_HRCT = ("nsip", "op", "nsip_op", "lip")
SUGGESTIVE_BIOPSY = (
    "nsip", "op", "nsip_op", "lip", "lymphoid_aggregates_germinal_centres", "lymphoplasmacytic_infiltration",
)

# --------------------------------------------------------------------------- model parameters

# Per IPAF patient: probabilities of each clinical item (Table 1 style prevalences).
P_CLINICAL = {
    "mechanics_hands": 0.005, "digital_tip_ulceration": 0.0, "inflammatory_arthritis": 0.105,
    "palmar_telangiectasia": 0.0, "raynaud": 0.075, "digital_oedema": 0.025, "gottron_sign": 0.025,
}
P_HRCT_PATTERN = {  # by antibody group; UIP more common without MSA (Graham et al. 2020)
    "msa": {"nsip": 0.45, "nsip_op": 0.38, "uip": 0.14, "op": 0.03},
    "maa": {"nsip": 0.52, "nsip_op": 0.22, "uip": 0.24, "op": 0.02},
    "neither": {"nsip": 0.5, "nsip_op": 0.22, "uip": 0.28, "op": 0.0},
}
P_MC = {"pleural_involvement": 0.42, "pericardial_involvement": 0.19, "airways_disease": 0.06,
        "pulmonary_vasculopathy": 0.1}
P_MC_PLEURAL_UIP = 0.8
P_ANTI_SYNTHETASE_IN_MSA = 0.62
ASS_MIX = {"jo1": 0.5, "pl7": 0.2, "pl12": 0.18, "ej": 0.07, "oj": 0.05}
OTHER_MSA_MIX = {"mda5": 0.12, "mi2": 0.2, "tif1g": 0.2, "nxp2": 0.16, "srp": 0.12, "sae": 0.1, "hmgcr": 0.1}
MAA_MIX = {"ro60": 0.86, "pmscl": 0.08, "rnp": 0.04, "ku": 0.02}
P_RO60_WITH_MSA = 0.4
P_RO52_WITH_RO60 = 0.55
P_ANA_ITEM = {"msa": 0.18, "maa": 0.3, "neither": 0.6}
P_ANA_BELOW = 0.35  # 1:80 or 1:160 speckled/homogeneous: positive but not an IPAF item
P_RF_ITEM, P_CCP, P_LA_WITH_RO, P_SCL70_SM = 0.06, 0.06, 0.1, 0.04

# Latent per-zone extent (grade units, 1 ~ 25 %) by HRCT pattern: (ggo, fibrosis, honeycombing, consolidation).
EXTENT_BY_PATTERN = {
    "nsip": (0.6, 1.0, 0.0, 0.5),
    "nsip_op": (0.6, 0.85, 0.0, 1.0),
    "op": (0.45, 0.4, 0.0, 1.4),
    "uip": (0.35, 1.6, 0.7, 0.4),
    "other": (0.4, 0.8, 0.0, 0.3),
}
P_NO_CONSOLIDATION = {"nsip": 0.42, "nsip_op": 0.15, "op": 0.0, "uip": 0.6, "other": 0.5}
P_HONEYCOMB_UIP = 0.55
ZONE_WEIGHT = {"RU": 0.6, "RM": 1.0, "RL": 1.4, "LU": 0.6, "LM": 1.0, "LL": 1.4}
RESPONSE_SHIFT = {"msa": 0.45, "maa": -0.35, "neither": 0.0}
READER_SD_PCT = 6.0
P_READER_SLIP = 0.012  # per reader, zone and pattern: a two-grade misread (these get flagged)
P_HONEYCOMB_INCREASE_WITH_HC = 0.75  # established honeycombing progresses in most (~15 % of the cohort overall)
P_HONEYCOMB_NEW = 0.1


# --------------------------------------------------------------------------- result object


@dataclass
class SynthCohort:
    """The six tables (schema column order, stable row order) and the generator's intentions."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, object]
    seed: int = DEFAULT_SEED
    settings: dict[str, object] = field(default_factory=dict)

    @property
    def eligible_ids(self) -> list[str]:
        patients = self.truth["patients"]
        return sorted(pid for pid, t in patients.items() if t["fate"] == "eligible")  # type: ignore[union-attr]


# --------------------------------------------------------------------------- small helpers


def _pick(rng: np.random.Generator, mix: dict[str, float]) -> str:
    keys = list(mix)
    probs = np.array([mix[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=probs / probs.sum()))]


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _grade(pct: float) -> int:
    """Grade 0-4 of an extent in percent (clinical-rules.md s.3 bands)."""
    if pct <= 0:
        return 0
    return min(4, math.ceil(pct / 25))


def _spell(rng: np.random.Generator, key: str, site: SiteProfile) -> str:
    variants = SPELLINGS[key]
    if rng.random() < 0.8:
        return variants[site.spelling_offset % len(variants)]
    return variants[int(rng.integers(len(variants)))]


def _day(d: dt.date, days: int) -> dt.date:
    return d + dt.timedelta(days=int(days))


# --------------------------------------------------------------------------- features and IPAF domains


@dataclass
class Features:
    """What the records say about one patient's IPAF classification."""

    ip: bool = True
    alt_excluded: bool = True
    defined_ctd: bool = False
    clinical: dict[str, bool] = field(default_factory=dict)
    hrct_pattern: str | None = "nsip"
    biopsy_pattern: str | None = None
    mc: dict[str, bool] = field(default_factory=dict)
    positives: set[str] = field(default_factory=set)
    ana: tuple[int | None, str | None] = (None, None)  # titre, pattern (None titre = negative)
    rf: tuple[float, float] = (5.0, 14.0)  # value, ULN

    def ana_item(self) -> bool:
        titre, pattern = self.ana
        if titre is None:
            return False
        return pattern in ("nucleolar", "centromere") or titre >= 320

    def rf_item(self) -> bool:
        return self.rf[0] >= 2 * self.rf[1]

    def domains(self) -> dict[str, bool]:
        clinical = any(self.clinical.values())
        serologic = self.ana_item() or self.rf_item() or bool(self.positives & set(SEROLOGIC_ITEM_KEYS))
        morphologic = (
            self.hrct_pattern in SUGGESTIVE_HRCT
            or self.biopsy_pattern in SUGGESTIVE_BIOPSY
            or any(self.mc.values())
        )
        return {"clinical": clinical, "serologic": serologic, "morphologic": morphologic}

    def is_ipaf(self) -> bool:
        return (
            self.ip and self.alt_excluded and not self.defined_ctd and sum(self.domains().values()) >= 2
        )

    def group(self) -> str:
        if self.positives & set(MSA_KEYS):
            return "msa"
        if self.positives & set(MAA_KEYS):
            return "maa"
        return "neither"


def _sample_ana(rng: np.random.Generator, item: bool) -> tuple[int | None, str | None]:
    if item:
        if rng.random() < 0.12:
            return int(rng.choice([80, 160, 320])), str(rng.choice(["nucleolar", "centromere"]))
        return int(rng.choice([320, 640, 1280], p=[0.5, 0.35, 0.15])), _pick(
            rng, {"speckled": 0.6, "homogeneous": 0.3, "diffuse": 0.1}
        )
    if rng.random() < P_ANA_BELOW:
        return int(rng.choice([80, 160], p=[0.4, 0.6])), _pick(rng, {"speckled": 0.7, "homogeneous": 0.3})
    return None, None


def _sample_rf(rng: np.random.Generator, item: bool) -> tuple[float, float]:
    uln = float(rng.choice([14.0, 20.0]))
    if item:
        if rng.random() < 0.4:  # exactly at 2 x ULN: the threshold is inclusive
            return 2 * uln, uln
        return round(uln * float(rng.uniform(2.1, 6.0)), 1), uln
    if rng.random() < 0.15:  # positive but below 2 x ULN
        return round(uln * float(rng.uniform(1.1, 1.9)), 1), uln
    return round(float(rng.uniform(1.0, 0.9 * uln)), 1), uln


def _sample_ipaf_candidate(rng: np.random.Generator, group: str, site: SiteProfile) -> Features:
    f = Features()
    pos: set[str] = set()
    if group == "msa":
        if rng.random() < P_ANTI_SYNTHETASE_IN_MSA:
            pos.add(_pick(rng, ASS_MIX))
        else:
            pos.add(_pick(rng, OTHER_MSA_MIX))
        if rng.random() < P_RO60_WITH_MSA:
            pos.add("ro60")
    elif group == "maa":
        pos.add(_pick(rng, MAA_MIX))
    else:
        extra = _pick(rng, {"none": 0.45, "ccp": 0.15, "la": 0.1, "scl70": 0.15, "sm": 0.15})
        if extra != "none":
            pos.add(extra)
    if "ro60" in pos and rng.random() < P_RO52_WITH_RO60:
        pos.add("ro52")
    if "ro60" in pos and rng.random() < P_LA_WITH_RO:
        pos.add("la")
    if rng.random() < P_CCP:
        pos.add("ccp")
    if group != "neither" and rng.random() < P_SCL70_SM:
        pos.add(str(rng.choice(["scl70", "sm"])))
    f.positives = pos
    f.ana = _sample_ana(rng, rng.random() < P_ANA_ITEM[group])
    f.rf = _sample_rf(rng, rng.random() < P_RF_ITEM)
    f.clinical = {k: bool(rng.random() < p) for k, p in P_CLINICAL.items()}
    pmix = dict(P_HRCT_PATTERN[group])
    pmix["uip"] = max(0.0, pmix["uip"] + site.uip_shift)
    f.hrct_pattern = _pick(rng, pmix)
    f.mc = {k: bool(rng.random() < p) for k, p in P_MC.items()}
    if f.hrct_pattern == "uip":
        f.mc["pleural_involvement"] = bool(rng.random() < P_MC_PLEURAL_UIP)
    f.biopsy_pattern = _pick(rng, {"not_done": 0.78, "": 0.17, "nsip": 0.05}) or None
    if f.hrct_pattern == "uip" and f.biopsy_pattern == "nsip":
        f.biopsy_pattern = "not_done"
    return f


def _sample_ipaf(rng: np.random.Generator, group: str, site: SiteProfile) -> Features:
    """Draw features until the patient is IPAF in the intended group (a model conditioned on fate)."""
    for _ in range(500):
        f = _sample_ipaf_candidate(rng, group, site)
        if f.is_ipaf() and f.group() == group:
            return f
    raise RuntimeError(f"could not draw an IPAF patient in group {group!r}")  # pragma: no cover


def _sample_not_ipaf(rng: np.random.Generator, reason: str, site: SiteProfile) -> Features:
    """A screened patient who is not IPAF for ``reason`` (and for no earlier entry requirement)."""
    for _ in range(500):
        group = _pick(rng, {"msa": 0.3, "maa": 0.4, "neither": 0.3})
        f = _sample_ipaf_candidate(rng, group, site)
        if reason == "defined_ctd":
            ctd = _pick(rng, {"ra": 0.3, "ssc": 0.25, "sle": 0.1, "sjogren": 0.15, "myositis": 0.2})
            f.defined_ctd = True
            if ctd == "ra":
                f.positives |= {"ccp"}
                f.rf = _sample_rf(rng, True)
                f.clinical["inflammatory_arthritis"] = True
            elif ctd == "ssc":
                f.positives |= {"scl70"}
                f.clinical["raynaud"] = True
                f.ana = (int(rng.choice([320, 640])), "nucleolar")
            elif ctd == "sle":
                f.positives |= {"dsdna", "sm"}
                f.ana = (int(rng.choice([640, 1280])), "homogeneous")
            elif ctd == "sjogren":
                f.positives |= {"ro60", "la"}
            else:
                f.positives |= {"jo1"}
                f.clinical["gottron_sign"] = True
                f.clinical["mechanics_hands"] = bool(rng.random() < 0.5)
            return f
        if reason == "no_interstitial_pneumonia":
            f.ip = False
            f.hrct_pattern = "other" if rng.random() < 0.5 else None
            return f
        if reason == "alternative_etiology":
            f.alt_excluded = False
            return f
        # single_domain: exactly one domain met, the other two definitely not met
        kind = _pick(rng, {"serologic": 0.45, "morphologic": 0.45, "clinical": 0.1})
        f.clinical = dict.fromkeys(P_CLINICAL, False)
        if kind != "morphologic":
            f.hrct_pattern = "uip"
            f.biopsy_pattern = "not_done"
            f.mc = dict.fromkeys(P_MC, False)
        if kind != "serologic":
            # Traps that look serologic but are not items: ANA 1:160 speckled, RF < 2 x ULN, Ro52 alone, Mi-2.
            f.positives = {str(rng.choice(["ro52", "mi2", "ku"]))} if rng.random() < 0.4 else set()
            f.ana = (160, "speckled") if rng.random() < 0.5 else (None, None)
            f.rf = _sample_rf(rng, False)
        if kind == "clinical":
            f.clinical[str(rng.choice(["raynaud", "inflammatory_arthritis"]))] = True
        if sum(f.domains().values()) == 1 and f.domains()[kind]:
            return f
    raise RuntimeError(f"could not draw a not-IPAF patient ({reason})")  # pragma: no cover


# --------------------------------------------------------------------------- the treated course


@dataclass
class Course:
    """One treated IPAF patient's latent trajectory: baseline and follow-up truths."""

    start: dt.date
    end: dt.date | None
    eff_end: dt.date
    base_pct: np.ndarray  # (6 zones, 4 patterns) true extent in percent
    post_pct: np.ndarray
    base: dict[str, float]
    post: dict[str, float]
    trough_mean: float
    responder: float


def _zone_pct(rng: np.random.Generator, pattern: str, severity: float) -> np.ndarray:
    levels = np.array(EXTENT_BY_PATTERN[pattern], dtype=float)
    scale = np.exp(np.array([0.35, 0.25, 0.3, 0.3]) * severity + rng.normal(0, [0.35, 0.25, 0.3, 0.35]))
    levels = levels * scale
    if rng.random() < P_NO_CONSOLIDATION[pattern]:
        levels[3] = 0.0
    if pattern != "uip" or rng.random() >= P_HONEYCOMB_UIP:
        levels[2] = 0.0
    weights = np.array([ZONE_WEIGHT[z] for z in ZONES])[:, None]
    c = levels[None, :] * weights * np.exp(rng.normal(0, 0.35, size=(6, 4)))
    pct = np.clip(30.0 * c - 10.0, 0, 100)
    pct[pct < 3] = 0.0
    if levels[2] > 0:  # honeycombing is basal and subpleural: only the lower and middle zones
        pct[[0, 3], 2] = 0.0
    return np.round(pct, 1)


def _post_pct(rng: np.random.Generator, base: np.ndarray, responder: float) -> tuple[np.ndarray, bool]:
    post = base.copy()
    cons_base = base[:, 3].mean() / 25.0
    ggo_f = math.exp(math.log(0.42) - 0.25 * responder - 0.12 * cons_base + rng.normal(0, 0.25))
    cons_f = math.exp(math.log(0.38) - 0.45 * responder + rng.normal(0, 0.35))
    post[:, 0] = base[:, 0] * min(ggo_f, 1.15) * np.exp(rng.normal(0, 0.12, 6))
    post[:, 3] = base[:, 3] * min(cons_f, 1.1) * np.exp(rng.normal(0, 0.15, 6))
    post[:, 1] = base[:, 1] * math.exp(rng.normal(0.0, 0.06)) * np.exp(rng.normal(0, 0.03, 6))
    increased = False
    p_up = P_HONEYCOMB_INCREASE_WITH_HC if base[:, 2].sum() > 0 else P_HONEYCOMB_NEW if base[:, 1].sum() > 100 else 0.0
    if rng.random() < p_up:
        zones = [2, 5] if rng.random() < 0.6 else [int(rng.choice([2, 5]))]
        for z in zones:
            post[z, 2] = max(post[z, 2] + float(rng.uniform(6, 14)), 8.0)
        increased = True
    post = np.clip(post, 0, 100)
    post[(post < 3) & (base < 3)] = 0.0
    post[post < 3] = 0.0
    return np.round(post, 1), increased


def _mmrc(rng: np.random.Generator, severity: float) -> int:
    return int(np.clip(round(2.75 + 0.45 * severity + rng.normal(0, 0.45)), 1, 4))


# --------------------------------------------------------------------------- the generator


class _Builder:
    """Accumulates table rows; one instance per call of generate_cohort."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
        self.flags: list[tuple[str, dt.date, str]] = []
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
    def scan(self, pid: str, when: dt.date, pct: np.ndarray, site: SiteProfile) -> None:
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
    age_start: float, truth: dict[str, object],
) -> dt.date:
    """Treatments, visits, scans and adverse events of one tacrolimus-treated IPAF patient."""
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
    if end > DATA_CUTOFF:
        end = None
    eff_end = end or DATA_CUTOFF
    b.add("treatments", patient_id=pid, drug="tacrolimus", start_date=start, end_date=end,
          dose=float(rng.choice([1.0, 2.0, 2.0, 3.0])), dose_unit="mg/day")

    # Latent outcomes.
    responder = float(rng.normal(RESPONSE_SHIFT[group], 1.0))
    base_pct = _zone_pct(rng, f.hrct_pattern if f.hrct_pattern in EXTENT_BY_PATTERN else "other", severity)
    post_pct, hc_up = _post_pct(rng, base_pct, responder)
    mmrc_b = _mmrc(rng, severity)
    mmrc_p = int(np.clip(round(1.0 + 0.2 * (mmrc_b - 2.5) - 0.25 * responder + rng.normal(0, 0.4)), 0, mmrc_b))
    esr_b = float(np.clip(math.exp(rng.normal(math.log(24), 0.8) + 0.2 * severity), 3, 120))
    esr_p = float(np.clip(esr_b * math.exp(rng.normal(math.log(0.48), 0.5) - 0.2 * responder), 2, 120))
    crp_b = float(np.clip(math.exp(rng.normal(math.log(5.0), 1.5) + 0.3 * severity), 0.2, 150))
    crp_p = float(np.clip(crp_b * math.exp(rng.normal(math.log(0.3), 0.7) - 0.3 * responder), 0.1, 150))
    mpred_b = float(_pick(rng, {"12": 0.04, "16": 0.08, "20": 0.42, "24": 0.08, "28": 0.05, "30": 0.15,
                                "32": 0.06, "40": 0.12}))
    mpred_p = float(np.clip(2 * round(mpred_b * math.exp(rng.normal(math.log(0.62), 0.45)) / 2), 4, mpred_b))
    prednisone = bool(rng.random() < site.prednisone_share)
    if rng.random() < site.crp_mg_dl_share:
        b.crp_mg_dl.add(pid)
    trough_mean = float(math.exp(rng.normal(math.log(5.1), 0.55)))
    hypomag = bool(rng.random() < 0.56)
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
    b.measure(pid, base_date, "mmrc", mmrc_b, site)
    b.measure(pid, base_date, "esr", float(round(esr_b)), site)
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
    for i, v in enumerate(visits):
        x = frac(v)
        last = i == len(visits) - 1
        jitter = 1.0 if v == last_complete else float(math.exp(rng.normal(0, 0.15)))
        b.measure(pid, v, "esr", float(max(2, round((esr_b + x * (esr_p - esr_b)) * jitter))), site)
        if last and incomplete_last:
            if rng.random() < 0.5:
                b.measure(pid, v, "crp", round(max(0.1, (crp_b + x * (crp_p - crp_b)) * jitter), 2), site)
            continue
        b.measure(pid, v, "crp", round(max(0.1, (crp_b + x * (crp_p - crp_b)) * jitter), 2), site)
        b.measure(pid, v, "mmrc", round(mmrc_b + x * (mmrc_p - mmrc_b)), site)
        b.steroid(pid, v, float(2 * round((mpred_b + x * (mpred_p - mpred_b)) / 2)), prednisone, site)
        b.measure(pid, v, "tacrolimus_trough", round(trough_mean * math.exp(rng.normal(0, 0.3)), 1), site)
        mg = float(rng.uniform(0.55, 0.68)) if v in low_mg_visits else max(0.72, mg_b + rng.normal(0, 0.04))
        b.measure(pid, v, "magnesium", round(mg, 2), site)
        b.measure(pid, v, "creatinine", round(creat_b * float(np.clip(math.exp(rng.normal(0, 0.05)), 0.88, 1.15)), 1),
                  site)
    if end is not None and rng.random() < 0.15 and _day(end, 30) <= DATA_CUTOFF:
        after = _day(end, 30)  # a visit after tacrolimus stopped: not a follow-up "during treatment"
        b.measure(pid, after, "esr", float(round(esr_p * rng.uniform(0.9, 1.6))), site)
        b.measure(pid, after, "crp", round(crp_p * float(rng.uniform(0.9, 2.0)), 2), site)
        b.measure(pid, after, "mmrc", mmrc_p, site)

    # HRCT scans: baseline, maybe one in between, the last during treatment (at the last complete visit).
    b.scan(pid, _day(start, -scan_offset), base_pct, site)
    if fate != "no_baseline" and rng.random() < 0.15:
        b.scan(pid, _day(start, -int(rng.integers(120, 300))), base_pct * 1.1, site)  # an older scan, out of window
    if fate == "no_follow_up":
        if scan_after_end and end is not None:
            b.scan(pid, _day(end, int(rng.integers(20, 61))), post_pct, site)
    else:
        final_scan = _day(last_complete, -int(rng.integers(0, 11)))
        if final_scan <= start:
            final_scan = last_complete
        if len(visits) >= 4 and rng.random() < 0.5:
            mid = visits[len(visits) // 2 - 1]
            if start < mid < final_scan:
                b.scan(pid, mid, base_pct + frac(mid) * (post_pct - base_pct), site)
        b.scan(pid, final_scan, post_pct, site)

    # Adverse events (one row per episode).
    if hypomag:
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
    )
    return start


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
    eligible_seen = 0
    for i, fate_key in enumerate(fates):
        site = sites[int(rng.choice(n_sites, p=site_w / site_w.sum()))] if n_sites > 1 else sites[0]
        pid = f"{site.code}-{i + 1:0{width}d}"
        fate, _, reason = fate_key.partition(":")
        t: dict[str, object] = {"fate": fate, "not_ipaf_reason": reason or None, "site": site.name}
        if fate == "eligible":
            group = groups[eligible_seen]
            eligible_seen += 1
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
            age = float(np.clip(rng.normal(55.2, 7.0), 19, 84))
        treated = fate in TREATED_IPAF_FATES or (fate == "not_ipaf" and reason == "defined_ctd" and rng.random() < 0.2)
        index_date = _day(FIRST_START, int(rng.integers(0, (DATA_CUTOFF - FIRST_START).days - 150)))
        if treated:
            index_date = _course(b, pid, fate, group, f, site, severity, age, t)
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
        b.add("patients", **patient)
        b.antibodies(pid, f, site, _day(index_date, -int(rng.integers(5, 120))))
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

    open_flags = _open_flags(b, truth_patients, int(open_hrct_flags))
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
    """Remove the adjudicator rows of ``k`` flagged zones (eligible patients first)."""
    if k == 0:
        return []
    flags = sorted(b.flags, key=lambda x: (truth[x[0]]["fate"] != "eligible", x[0], x[1], x[2]))
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


# --------------------------------------------------------------------------- writing


def _csv_text(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(round(v, 6))
        text = str(v)
        if any(ch in text for ch in ',"\n'):
            text = '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join(frame.columns)]
    lines.extend(",".join(cell(v) for v in row) for row in frame.itertuples(index=False, name=None))
    return "\n".join(lines) + "\n"


def cohort_files(cohort: SynthCohort) -> dict[str, bytes]:
    """File name -> exact bytes of the CSV folder (tables plus the truth sidecar)."""
    files = {f"{name}.csv": _csv_text(frame).encode("utf-8") for name, frame in cohort.tables.items()}
    files[TRUTH_FILE] = (json.dumps(cohort.truth, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def write_cohort(cohort: SynthCohort, out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Write the six CSV tables and ``generator_truth.json``; each file is written atomically.

    Refuses a non-empty folder unless ``force``; with ``force`` only the cohort's own files are
    replaced (other files in the folder are left alone). Returns the paths written.
    """
    out = Path(out_dir)
    prepare_output_dir(out, force=force)
    written = []
    for name, data in cohort_files(cohort).items():
        path = out / name
        atomic_write_bytes(path, data)
        written.append(path)
    return written


# --------------------------------------------------------------------------- the bundled copy


def bundled_files() -> dict[str, bytes]:
    """The example cohort shipped in the package (exactly ``generate_cohort()``)."""
    root = resources.files("ipafstudy") / "example_data"
    names = sorted(p.name for p in root.iterdir() if p.name.endswith((".csv", ".json")))
    if not names:
        raise FileNotFoundError("the bundled example cohort is missing; run python -m ipafstudy.data.synth "
                                "--refresh-bundled")
    return {name: (root / name).read_bytes() for name in names}


def copy_bundled(out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Copy the bundled example cohort into ``out_dir`` (same overwrite rules as write_cohort)."""
    out = Path(out_dir)
    files = bundled_files()
    prepare_output_dir(out, force=force)
    written = []
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        written.append(out / name)
    return written


def refresh_bundled(target: str | Path | None = None) -> Path:
    """Regenerate the bundled copy from ``generate_cohort()`` (development use)."""
    path = Path(target) if target else Path(__file__).resolve().parent.parent / "example_data"
    path.mkdir(parents=True, exist_ok=True)
    files = cohort_files(generate_cohort())
    for stale in path.iterdir():
        if stale.suffix in (".csv", ".json") and stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        atomic_write_bytes(path / name, data)
    return path


# --------------------------------------------------------------------------- tuning report


def _q(values: Sequence[float], p: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), p, method="weibull"))


def intended_summary(cohort: SynthCohort) -> dict[str, float]:
    """Summaries of the eligible cohort from the generator's intended (noise-free) values.

    Used to tune the model against CALIBRATION_TARGETS; the test computes its own summaries
    from the written tables instead.
    """
    pts = [cohort.truth["patients"][pid] for pid in cohort.eligible_ids]  # type: ignore[index]
    n = len(pts)
    out: dict[str, float] = {"n_screened": float(len(cohort.truth["patients"])), "n_eligible": float(n)}  # type: ignore[arg-type]
    for g in ("msa", "maa", "neither"):
        out[f"n_{g}"] = float(sum(p["antibody_group"] == g for p in pts))
    ages = [p["age_at_start"] for p in pts]
    out.update(age_median=_q(ages, 50), age_q1=_q(ages, 25), age_q3=_q(ages, 75))
    out["female"] = sum(p["female"] for p in pts) / n
    out["smoking_history"] = sum(p["smoking"] != "never" for p in pts) / n
    out["ana_item"] = sum(p["ana_item"] for p in pts) / n
    out["anti_ro"] = sum("ro60" in p["positive_antibodies"] for p in pts) / n
    out["anti_synthetase"] = sum(bool(set(p["positive_antibodies"]) & set(ANTI_SYNTHETASE)) for p in pts) / n
    for pat in ("nsip", "nsip_op", "uip"):
        out[f"hrct_{pat}"] = sum(p["hrct_pattern"] == pat for p in pts) / n
    out["pirfenidone"] = sum(p["pirfenidone"] for p in pts) / n
    for item in ("inflammatory_arthritis", "raynaud"):
        out[item] = sum(item in p["clinical_items"] for p in pts) / n
    out["pleural_involvement"] = sum("pleural_involvement" in p["multi_compartment"] for p in pts) / n
    for when, key in (("base", "intended_baseline"), ("post", "intended_follow_up")):
        for var in ("total", "ggo", "fibrosis", "honeycombing", "consolidation", "mmrc", "esr", "crp",
                    "methylprednisolone_dose"):
            vals = [p[key][var] for p in pts]
            name = "mpred" if var == "methylprednisolone_dose" else var
            out[f"{name}_{when}_median"] = _q(vals, 50)
            out[f"{name}_{when}_q1"] = _q(vals, 25)
            out[f"{name}_{when}_q3"] = _q(vals, 75)
    out["trough_median"] = _q([p["trough_mean"] for p in pts], 50)
    out["ae_hypomagnesaemia"] = sum(p["hypomagnesaemia"] for p in pts) / n
    out["honeycombing_increase"] = sum(p["honeycombing_increase"] for p in pts) / n
    ae = cohort.tables["adverse_events"]
    elig = set(cohort.eligible_ids)
    for event in ("infection", "renal_insufficiency"):
        out[f"ae_{event}"] = ae.loc[(ae["event"] == event) & ae["patient_id"].isin(elig), "patient_id"].nunique() / n
    return out


def calibration_report(cohort: SynthCohort) -> list[tuple[str, float, float, float, bool]]:
    """(name, intended value, target, tolerance, within) for every calibration target."""
    summary = intended_summary(cohort)
    rows = []
    for name, spec in CALIBRATION_TARGETS.items():
        target, tol = float(spec["target"]), float(spec["tolerance"])  # type: ignore[arg-type]
        value = summary[name]
        rows.append((name, value, target, tol, abs(value - target) <= tol + 1e-9))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipafstudy.data.synth", description=__doc__.splitlines()[0])
    parser.add_argument("--refresh-bundled", action="store_true", help="regenerate src/ipafstudy/example_data")
    parser.add_argument("--calibration", action="store_true", help="print intended summaries against the targets")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.refresh_bundled:
        print(f"wrote {refresh_bundled()}")
    if args.calibration:
        for name, value, target, tol, ok in calibration_report(generate_cohort(seed=args.seed)):
            print(f"{name:28s} {value:9.3f}  target {target:8.3f} +/- {tol:<6g} {'ok' if ok else 'OUT'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

