"""The patient-level model: IPAF features conditioned on the intended fate, and latent HRCT extents.

Why separate from the courses: who is IPAF (and why not) is drawn before any treatment exists, and
tests/cohort/test_synth_truth.py checks the rules' classification against this model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ipafstudy.data.schema import ZONES
from ipafstudy.data.synth.design import (
    ASS_MIX,
    EXTENT_BY_PATTERN,
    MAA_KEYS,
    MAA_MIX,
    MSA_KEYS,
    OTHER_MSA_MIX,
    P_ANA_BELOW,
    P_ANA_ITEM,
    P_ANTI_SYNTHETASE_IN_MSA,
    P_CCP,
    P_CLINICAL,
    P_HONEYCOMB_INCREASE_WITH_HC,
    P_HONEYCOMB_NEW,
    P_HONEYCOMB_UIP,
    P_HRCT_PATTERN,
    P_LA_WITH_RO,
    P_MC,
    P_MC_PLEURAL_UIP,
    P_NO_CONSOLIDATION,
    P_RF_ITEM,
    P_RO52_WITH_RO60,
    P_RO60_WITH_MSA,
    P_SCL70_SM,
    SEROLOGIC_ITEM_KEYS,
    SUGGESTIVE_BIOPSY,
    SUGGESTIVE_HRCT,
    ZONE_WEIGHT,
    SiteProfile,
    _pick,
)

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
    unknown: frozenset[str] = frozenset()  # patient columns left blank (not recorded)

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
        if reason == "indeterminate":
            # Serologic domain met, no clinical item, the morphologic domain not recorded: two domains are
            # still possible, so the status depends on the missing items.
            f.clinical = dict.fromkeys(P_CLINICAL, False)
            f.hrct_pattern, f.biopsy_pattern = None, None
            f.mc = dict.fromkeys(P_MC, False)
            f.unknown = frozenset({"hrct_pattern", "biopsy_pattern", *P_MC})
            if not f.domains()["serologic"]:
                f.positives |= {str(rng.choice(["jo1", "ro60", "scl70"]))}
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
