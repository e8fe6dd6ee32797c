"""The model's design: screen fates, centres and spellings, parameters, the result object and small helpers.

Why one module: every other part of the generator (patient features, treated courses, writing,
calibration) reads these constants, so keeping them together means one place to tune the model.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipafstudy.data.synth.defaults import DEFAULT_SEED

GENERATOR_VERSION = "1.1.0"
TRUTH_FILE = "generator_truth.json"
DATA_CUTOFF = dt.date(2025, 9, 30)
"""No record is dated after this day; ongoing courses run up to it."""
FIRST_START = dt.date(2021, 1, 11)

# --------------------------------------------------------------------------- screening design

# Intended fate of every screened patient, as counts out of the reference screen of 271. The
# eligible count and the screen size come from the study; how the other 223 fail is our model of
# a rheumatology ILD screen (most are not IPAF; a few fail each later step).
SCREEN_DESIGN: dict[str, int] = {
    "not_ipaf:defined_ctd": 84,
    "not_ipaf:single_domain": 57,
    "not_ipaf:indeterminate": 1,
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

# Situations that exercise the rules end to end (docs/synth.md "Situations"). Each listed eligible patient
# (drawn at random among the eligible) gets one; a screen with fewer eligible patients gets the first ones.
ELIGIBLE_SITUATIONS: tuple[str, ...] = (
    "contiguous_courses",  # tacrolimus re-prescribed from the day after the first course ends: joined
    "overlapping_courses",  # a new prescription starts before the old one ends: joined
    "rechallenge_after_gap",  # a second course after a gap: not part of the exposure
    "open_flag_final_scan",  # the final scan has a flag without adjudication: follow-up HRCT from the mid scan
    "same_day_duplicate_baseline",  # two ESR values on the baseline day: averaged
    "same_day_duplicate_follow_up",  # two CRP values at the last complete visit: averaged
    "missing_baseline_mmrc",  # no mMRC at the baseline visit: a secondary outcome without baseline
    "missing_baseline_crp",  # no CRP at the baseline visit
    "lab_only_hypomagnesaemia",  # low magnesium, no adverse-event row: a lab-derived episode
    "aki",  # one creatinine >= 1.5 x baseline, no adverse-event row: KDIGO acute kidney injury (lab-derived)
    "contiguous_courses",
    "overlapping_courses",
    "rechallenge_after_gap",
    "lab_only_hypomagnesaemia",
    "lab_only_hypomagnesaemia",
)
CRP_DECIMAL_TIE: tuple[str, str] = ("crp_decimal_tie_a", "crp_decimal_tie_b")
"""CRP 1.98 -> 1.04 and 1.62 -> 0.68 mg/L: both changes are -0.94 on paper, not as doubles (ties by decimals)."""
CRP_TIE_VALUES = {"crp_decimal_tie_a": (1.98, 1.04), "crp_decimal_tie_b": (1.62, 0.68)}
NO_FOLLOW_UP_SITUATION = "open_flag_only_follow_up_scan"
"""The first no-follow-up patient (when there are at least two) has a follow-up scan blocked by an open flag."""


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
# Age at tacrolimus start: most patients around 56 years, a fifth from a wider spread (younger on average), so
# the median and IQR follow the text (56, 50-59) and the mean and SD follow Table 1 (54.9 +/- 10.4).
AGE_CORE = (56.5, 6.8)
AGE_WIDE = (47.0, 16.0)
P_AGE_WIDE = 0.2
# ESR and CRP: loadings on the shared latent activity / fall and on their own noise (unit variance in total).
R_ACTIVITY, R_OWN = 0.75, 0.661
R_FALL, R_FALL_OWN = 0.75, 0.661


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
