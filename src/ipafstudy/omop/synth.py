"""A synthetic OMOP CDM with a known truth: for tests, benchmarks and a reviewer's own check of the screening.

Every person gets background records (conditions, drugs, measurements, observations: about ``rows_per_person``
clinical rows); a fraction has an interstitial lung disease (ILD) and IPAF facts drawn at random, a fraction has
IPAF-like findings WITHOUT an ILD (distractors), and the first persons carry a fixed catalogue of edge cases
(``SCENARIOS``: ANA titre thresholds, nucleolar / centromere at any titre, RF at exactly 2 x ULN, a defined CTD
through a descendant concept, ILD through a descendant two levels down, unknown and explicitly absent findings...).

The facts are written as OMOP rows following the reading rules of docs/omop.md, and the truth of each person is
computed from the SAME facts by ``rules.ipaf.classify_ipaf`` (never typed in): entry requirements, each domain,
the overall status (with ``missing_feature_means`` 'unknown' and 'absent'), and exposure to tacrolimus.

Generation is vectorised numpy in fixed blocks of persons (``BLOCK_PERSONS``), each block with its own seeded
generator, so the data do not depend on how they are written and a block's rows are appended to DuckDB and freed
before the next block is drawn (10^6 persons x ~100 rows stays within a few hundred MB; docs/omop.md).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ipafstudy.cohort.exposure import patient_exposure
from ipafstudy.omop.cdm import CDM_TABLES, OmopError
from ipafstudy.omop.concepts import ConceptSets, load_concept_sets

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

DEFAULT_SEED = 20151
BLOCK_PERSONS = 10_000
ILD_RATE = 0.06
DISTRACTOR_RATE = 0.04
DEFAULT_ROWS_PER_PERSON = 100
SYNTH_VOCABULARY = "SYNTHETIC"
#: Ids for vocabulary codes the YAML gives no concept_id, and for the synthetic-only concepts.
SYNTH_CONCEPT_ID_START = 1_990_000_000
EPOCH = np.datetime64("1970-01-01", "D")
DATA_START = int((np.datetime64("2008-01-01", "D") - EPOCH).astype(int))
DATA_END = int((np.datetime64("2024-12-31", "D") - EPOCH).astype(int))
TRUTH_SUFFIX = ".truth.json"
WRITER_MEMORY_LIMIT = "1GB"  # DuckDB's buffer while writing (its default is 80 % of the machine's memory)

# Facts: finding fields (IpafInput names) and their states.
UNKNOWN, YES, NO = 0, 1, 2
FINDING_FIELDS = (
    "mechanics_hands", "digital_tip_ulceration", "inflammatory_arthritis", "palmar_telangiectasia", "raynaud",
    "digital_oedema", "gottron_sign", "pleural_involvement", "pericardial_involvement", "airways_disease",
    "pulmonary_vasculopathy",
)
# Antibody results: 0 untested.
RESULTS = ("", "positive", "negative", "borderline")
QUALITATIVE_ANTIBODIES = (
    "CCP", "dsDNA", "Ro60", "Ro52", "SSA", "La", "RNP", "Sm", "Scl-70", "PM-Scl", "MDA-5", "Jo-1", "PL-7", "PL-12",
    "EJ", "OJ", "KS", "Zo", "YRS", "Mi-2", "SRP", "NXP-2", "TIF1-gamma", "SAE", "HMGCR", "Ku",
)
ANA_TITRES = (0, 40, 80, 160, 320, 640, 1280)  # 0 = titre not recorded
ANA_PATTERN_CODES = ("", "homogeneous", "speckled", "diffuse", "nucleolar", "centromere", "cytoplasmic", "other")
HRCT_CODES = ("", "uip", "nsip", "op", "nsip_op", "lip", "other")
BIOPSY_CODES = ("", "not_done", "nsip", "op", "nsip_op", "lip", "lymphoid_aggregates_germinal_centres",
                "lymphoplasmacytic_infiltration", "uip", "other")

# Descendant concepts the synthetic CDM writes INSTEAD of the concept-set codes, so a reader must expand sets
# through concept_ancestor: (key, vocabulary_id, concept_code, name, domain, concept_id or None, parents).
# Real OMOP concepts where verified (docs/omop.md: OHDSI/Covid-19 vocabulary lists, OHDSI/PhenotypeLibrary,
# PEDSnet/Variable-Dictionary); the hierarchy written here is a simplified subset of the vocabularies'. The
# SYNTHETIC ones exist only here. Parents: "set:NAME" = the set's first code, "code:VOCAB:CODE", or another key.
_DESCENDANTS: tuple[tuple[str, str, str, str, str, int | None, tuple[str, ...]], ...] = (
    ("interstitial_pneumonia", "SNOMED", "64667001", "Interstitial pneumonia", "Condition", 4273378,
     ("set:interstitial_pneumonia",)),
    ("nsip", "SNOMED", "129452008", "Nonspecific interstitial pneumonia", "Condition", 4044215,
     ("interstitial_pneumonia",)),
    ("ipf", "SNOMED", "700250006", "Idiopathic pulmonary fibrosis", "Condition", 45763750, ("interstitial_pneumonia",)),
    ("lip", "SNOMED", "44274007", "Lymphoid interstitial pneumonia", "Condition", 4195014, ("interstitial_pneumonia",)),
    ("cop", "SNOMED", "719218000", "Cryptogenic organizing pneumonia", "Condition", 36714118,
     ("set:interstitial_pneumonia",)),
    ("ctd_ild", "SNOMED", "711379004", "Interstitial lung disease due to connective tissue disease", "Condition",
     46272927, ("set:interstitial_pneumonia",)),
    ("rheumatoid_lung", "SNOMED", "319841000119107", "Rheumatoid lung disease with rheumatoid arthritis", "Condition",
     37395590, ("set:interstitial_pneumonia", "code:SNOMED:69896004")),
    ("sle_organ", SYNTH_VOCABULARY, "sle_organ", "Systemic lupus erythematosus with organ involvement (synthetic)",
     "Condition", None, ("set:defined_ctd",)),
    ("farmers_lung", SYNTH_VOCABULARY, "farmers_lung", "Farmer's lung (synthetic)", "Condition", None,
     ("set:alternative_etiology",)),
    ("raynaud_secondary", "SNOMED", "361131008", "Isolated primary Raynaud's phenomenon", "Condition", 4263253,
     ("set:raynaud",)),
    ("tac_er_tab", "RxNorm", "1664464", "Tacrolimus 1 MG Extended Release Oral Tablet", "Drug", 46287739,
     ("set:tacrolimus",)),
    ("tac_tab", "RxNorm", "427808", "Tacrolimus 1 MG Oral Tablet", "Drug", 19106286, ("set:tacrolimus",)),
    ("tac_inj", "RxNorm", "1738338", "Tacrolimus 5 MG/ML Injection", "Drug", 35604552, ("set:tacrolimus",)),
)
# ILD as recorded: the set's own concept or a descendant (rheumatoid_lung, also a defined CTD, only in a scenario).
ILD_CONCEPTS = ("set:interstitial_pneumonia", "interstitial_pneumonia", "nsip", "ipf", "lip", "cop", "ctd_ild",
                "rheumatoid_lung")
RANDOM_ILD_CONCEPTS = len(ILD_CONCEPTS) - 1
TACROLIMUS_CONCEPTS = ("tac_er_tab", "tac_tab", "tac_inj")
N_BACKGROUND = {"Condition": 40, "Drug": 30, "Measurement": 40, "Observation": 20}
# Share of each table in the background rows (conditions, drugs, measurements, observations).
BACKGROUND_SHARE = {"condition_occurrence": 0.15, "drug_exposure": 0.10, "measurement": 0.60, "observation": 0.15}
STUDY_MEASUREMENTS = ("esr", "crp", "magnesium", "creatinine", "fvc_ml", "fvc_pct_pred", "dlco_pct_pred")
# Plausible study-unit ranges for background study measurements (uniform; the synth needs no realism beyond units).
_STUDY_RANGES = {"esr": (2, 80), "crp": (0.5, 60), "magnesium": (0.5, 1.1), "creatinine": (45, 180),
                 "fvc_ml": (1200, 4500), "fvc_pct_pred": (40, 110), "dlco_pct_pred": (25, 100)}
GENDER = {"MALE": 8507, "FEMALE": 8532}
# The unit each follow-up visit measure is written in (a code of the set's units in the YAML).
FOLLOWUP_UNITS = {"mmrc": "No matching concept", "esr": "mm/h", "crp": "mg/L", "methylprednisolone_dose": "mg/d"}


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary subset
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthVocabulary:
    """The concept and concept_ancestor rows the synthetic CDM ships, and the ids the generator writes."""

    concept: pa.Table
    concept_ancestor: pa.Table
    set_ids: Mapping[str, int]  # concept-set name -> the concept id synth writes for it (its first code)
    code_ids: Mapping[str, int]  # SYNTHETIC code -> id
    unit_ids: Mapping[str, Mapping[str, int]]  # measurement set -> UCUM code -> id
    background: Mapping[str, np.ndarray]  # domain -> background concept ids
    sets: ConceptSets
    antibody_sets: Mapping[str, str]  # canonical antibody name -> concept-set name


def build_vocabulary(sets: ConceptSets) -> SynthVocabulary:
    """Concept rows for every code of every set (ids from the YAML or assigned), plus synthetic-only concepts."""
    import pyarrow as pa

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    next_id = SYNTH_CONCEPT_ID_START

    def add(vocab: str, code: str, name: str, domain: str, cid: int | None, klass: str = "") -> int:
        nonlocal next_id
        key = (vocab, code)
        if key in rows:
            return int(rows[key]["concept_id"])
        if cid is None:
            next_id += 1
            cid = next_id
        rows[key] = {"concept_id": cid, "concept_name": name or code, "domain_id": domain, "vocabulary_id": vocab,
                     "concept_class_id": klass or domain, "standard_concept": "S", "concept_code": code}
        return cid

    set_ids: dict[str, int] = {}
    unit_ids: dict[str, dict[str, int]] = {}
    for cs in sets:
        ids = [add(c.vocabulary_id, c.code, c.name, cs.domain, c.concept_id) for c in cs.codes]
        set_ids[cs.name] = ids[0]
        unit_ids[cs.name] = {u.code: add(u.vocabulary_id, u.code, u.name, "Unit", u.concept_id) for u in cs.units}
    for name, cid in GENDER.items():
        add("Gender", name[0], name, "Gender", cid)
    code_ids: dict[str, int] = {}
    ancestor_pairs: list[tuple[int, int]] = []
    for key, vocab_id, code, name, domain, known_id, parents in _DESCENDANTS:
        cid = add(vocab_id, code, name, domain, known_id)
        code_ids[key] = cid
        for parent in parents:
            if parent.startswith("set:"):
                parent_id = set_ids[parent[4:]]
            elif parent.startswith("code:"):
                _, voc, pcode = parent.split(":", 2)
                parent_id = int(rows[(voc, pcode)]["concept_id"])
            else:
                parent_id = code_ids[parent]
            ancestor_pairs.append((parent_id, cid))
    background: dict[str, np.ndarray] = {}
    for domain, n in N_BACKGROUND.items():
        background[domain] = np.array(
            [add(SYNTH_VOCABULARY, f"bg_{domain.lower()}_{i}", f"Background {domain.lower()} {i}", domain, None)
             for i in range(n)], dtype=np.int64)
    # concept_ancestor: every concept is its own descendant (level 0), plus the transitive closure of the pairs.
    parents: dict[int, list[int]] = {}
    for parent, child in ancestor_pairs:
        parents.setdefault(child, []).append(parent)
    closure: list[tuple[int, int, int]] = []
    for row in rows.values():
        cid = int(row["concept_id"])
        closure.append((cid, cid, 0))
        frontier, level, seen = [cid], 0, {cid}
        while frontier:
            level += 1
            frontier = [p for c in frontier for p in parents.get(c, []) if p not in seen]
            seen.update(frontier)
            closure.extend((p, cid, level) for p in frontier)
    concept = pa.Table.from_pylist(sorted(rows.values(), key=lambda r: r["concept_id"]), schema=_schema("concept"))
    closure.sort()
    anc = pa.table({
        "ancestor_concept_id": pa.array([a for a, _, _ in closure], pa.int64()),
        "descendant_concept_id": pa.array([d for _, d, _ in closure], pa.int64()),
        "min_levels_of_separation": pa.array([lv for _, _, lv in closure], pa.int64()),
        "max_levels_of_separation": pa.array([lv for _, _, lv in closure], pa.int64()),
    })
    antibody_sets = {str(cs.attributes["antibody"]): cs.name for cs in sets.in_group("antibody")
                     if "role" not in cs.attributes}
    return SynthVocabulary(concept, anc, set_ids, code_ids, unit_ids, background, sets, antibody_sets)


_TYPES = {
    "person": {"year_of_birth": "int32", "month_of_birth": "int32", "day_of_birth": "int32",
               "birth_datetime": "timestamp", "gender_concept_id": "int64", "care_site_id": "int64"},
    "observation_period": {"observation_period_start_date": "date", "observation_period_end_date": "date"},
    "condition_occurrence": {"condition_start_date": "date", "condition_end_date": "date",
                             "condition_source_value": "string"},
    "drug_exposure": {"drug_exposure_start_date": "date", "drug_exposure_end_date": "date", "quantity": "float64",
                      "days_supply": "int32", "dose_unit_source_value": "string", "drug_source_value": "string"},
    "measurement": {"measurement_date": "date", "value_as_number": "float64", "range_low": "float64",
                    "range_high": "float64", "measurement_source_value": "string"},
    "observation": {"observation_date": "date", "value_as_number": "float64", "value_as_string": "string"},
    "concept": {"concept_name": "string", "domain_id": "string", "vocabulary_id": "string",
                "concept_class_id": "string", "standard_concept": "string", "concept_code": "string"},
    "concept_ancestor": {},
}


def _schema(table: str) -> pa.Schema:
    """Arrow schema of a CDM table as synth writes it (ids and concept ids int64, dates date32)."""
    import pyarrow as pa

    kinds = {"int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(), "string": pa.string(),
             "date": pa.date32(), "timestamp": pa.timestamp("s")}
    types = _TYPES[table]
    return pa.schema([(c, kinds[types.get(c, "int64")]) for c in CDM_TABLES[table]])


# ---------------------------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------------------------

# The edge-case catalogue: persons 1..len(SCENARIOS) get exactly these facts (ILD unless said otherwise).
# Keys: ild (concept key or None), ctd ('sle' | 'sle_organ' | None), alt ('hp' | 'farmers_lung' | 'no' | 'yes'),
# finding fields -> 'yes' | 'yes_obs' | 'no' | 'both', 'ana' -> (result, titre, pattern), 'rf' -> (result, value,
# uln), antibody names -> result, 'hrct' -> code, 'biopsy' -> codes, 'tacrolimus' -> [(start offset, days)].
SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ipaf_clinical_serologic", {"raynaud": "yes", "ana": ("positive", 320, "speckled")}),
    ("ana_160_speckled_below_threshold", {"raynaud": "yes", "ana": ("positive", 160, "speckled")}),
    ("ana_320_homogeneous_at_threshold", {"raynaud": "yes", "ana": ("positive", 320, "homogeneous")}),
    ("ana_80_nucleolar_any_titre", {"gottron_sign": "yes", "ana": ("positive", 80, "nucleolar")}),
    ("ana_40_centromere_any_titre", {"digital_oedema": "yes", "ana": ("positive", 40, "centromere")}),
    ("ana_nucleolar_titre_missing", {"raynaud": "yes", "ana": ("positive", 0, "nucleolar")}),
    ("ana_speckled_titre_missing_unknown", {"raynaud": "yes", "ana": ("positive", 0, "speckled")}),
    ("ana_640_pattern_missing_unknown", {"raynaud": "yes", "ana": ("positive", 640, "")}),
    ("ana_1280_cytoplasmic_not_met", {"raynaud": "yes", "ana": ("positive", 1280, "cytoplasmic"),
                                       "hrct": "uip", "biopsy": ("not_done",)}),
    ("rf_exactly_2x_uln", {"mechanics_hands": "yes", "rf": ("positive", 40.0, 20.0)}),
    ("rf_below_2x_uln", {"mechanics_hands": "yes", "rf": ("positive", 39.9, 20.0), "hrct": "uip"}),
    ("rf_positive_value_missing_unknown", {"mechanics_hands": "yes", "rf": ("positive", math.nan, 20.0)}),
    ("rf_negative_no_value", {"mechanics_hands": "yes", "rf": ("negative", math.nan, math.nan), "hrct": "nsip"}),
    ("defined_ctd_sle", {"ctd": "set:defined_ctd", "raynaud": "yes", "ana": ("positive", 640, "homogeneous")}),
    ("defined_ctd_descendant", {"ctd": "sle_organ", "raynaud": "yes", "hrct": "nsip"}),
    ("ild_descendant_level_2", {"ild": "nsip", "raynaud": "yes", "hrct": "nsip"}),
    ("rheumatoid_lung_is_ild_and_ctd", {"ild": "rheumatoid_lung", "raynaud": "yes", "hrct": "nsip",
                                        "ana": ("positive", 640, "speckled")}),
    ("no_ild_with_features", {"ild": None, "raynaud": "yes", "ana": ("positive", 1280, "nucleolar"),
                              "hrct": "nsip"}),
    ("alternative_etiology_hp", {"alt": "set:alternative_etiology", "raynaud": "yes", "hrct": "nsip"}),
    ("alternative_etiology_descendant", {"alt": "farmers_lung", "raynaud": "yes", "hrct": "nsip"}),
    ("alternative_etiology_recorded_no", {"alt": "no", "raynaud": "yes", "hrct": "nsip"}),
    ("uip_clinical_serologic", {"hrct": "uip", "raynaud": "yes", "Jo-1": "positive"}),
    ("uip_clinical_only_not_ipaf", {
        "hrct": "uip", "biopsy": ("not_done",), "raynaud": "yes", "ana": ("negative", 0, ""),
        "rf": ("negative", math.nan, math.nan),
        **{ab: "negative" for ab in ("CCP", "dsDNA", "Ro60", "La", "RNP", "Sm", "Scl-70", "PM-Scl", "MDA-5", "Jo-1",
                                     "PL-7", "PL-12", "EJ", "OJ", "KS", "Zo", "YRS")},
        **{f: "no" for f in ("pleural_involvement", "pericardial_involvement", "airways_disease",
                             "pulmonary_vasculopathy")}}),
    ("ild_only_everything_unknown", {}),
    ("clinical_absent_serologic_morphologic", {
        **{f: "no" for f in FINDING_FIELDS[:7]}, "ana": ("positive", 320, "diffuse"), "hrct": "op"}),
    ("multi_compartment_pleural", {"pleural_involvement": "yes", "inflammatory_arthritis": "yes",
                                   "hrct": "uip"}),
    ("biopsy_lymphoid_aggregates", {"biopsy": ("uip", "lymphoid_aggregates_germinal_centres"),
                                    "ana": ("positive", 160, "nucleolar")}),
    ("ro52_alone", {"Ro52": "positive", "Ro60": "negative", "hrct": "nsip"}),
    ("borderline_jo1", {"Jo-1": "borderline", "hrct": "nsip", "raynaud": "yes"}),
    ("pl12_antisynthetase", {"PL-12": "positive", "hrct": "nsip_op"}),
    ("raynaud_yes_and_no_yes_wins", {"raynaud": "both", "hrct": "lip"}),
    ("clinical_yes_by_observation", {"palmar_telangiectasia": "yes_obs", "digital_tip_ulceration": "yes",
                                     "hrct": "op"}),
    ("raynaud_descendant", {"raynaud": "yes_descendant", "Scl-70": "positive"}),
    ("tacrolimus_two_courses", {"raynaud": "yes", "ana": ("positive", 320, "speckled"), "hrct": "nsip",
                                "tacrolimus": ((30, 120), (200, 365))}),
    ("tacrolimus_short", {"raynaud": "yes", "hrct": "nsip", "dsDNA": "positive", "tacrolimus": ((10, 45),)}),
    ("tacrolimus_continued_course", {"raynaud": "yes", "hrct": "nsip", "CCP": "positive",
                                     "tacrolimus": ((10, 60), (70, 100))}),
)


@dataclass
class Facts:
    """The planted facts of a block of persons, one numpy array (or matrix) per fact."""

    person_id: np.ndarray
    scenario: np.ndarray  # index into SCENARIOS, -1 = random
    index_day: np.ndarray  # day the ILD (or the distractor's findings) was recorded
    ild: np.ndarray  # index into ILD_CONCEPTS, -1 = no ILD
    ctd: np.ndarray  # 0 none, 1 set concept, 2 descendant, 3 through the ILD concept (rheumatoid lung)
    alt: np.ndarray  # 0 none, 1 HP (set), 2 descendant, 3 observation no, 4 observation yes
    findings: np.ndarray  # (n, len(FINDING_FIELDS)) 0 unknown, 1 yes (condition), 2 no (obs), 3 yes (obs),
    #                        4 yes + no (both recorded), 5 yes through a descendant concept
    antibodies: np.ndarray  # (n, len(QUALITATIVE_ANTIBODIES)) index into RESULTS
    ana: np.ndarray  # (n, 3): result, titre, pattern index
    rf: np.ndarray  # (n, 3) float: result, value (nan), uln (nan)
    hrct: np.ndarray  # index into HRCT_CODES
    biopsy: np.ndarray  # (n, 2) indexes into BIOPSY_CODES (0 none)
    tac: np.ndarray  # (n, 3, 2): up to three courses (start offset from index_day, days); days 0 = none

    def any_fact(self) -> np.ndarray:
        return ((self.ild >= 0) | (self.ctd > 0) | (self.alt > 0) | (self.findings > 0).any(1)
                | (self.antibodies > 0).any(1) | (self.ana[:, 0] > 0) | (self.rf[:, 0] > 0) | (self.hrct > 0)
                | (self.biopsy[:, 0] > 0) | (self.tac[:, :, 1] > 0).any(1))


def _choice(rng: np.random.Generator, n: int, probs: dict[int, float]) -> np.ndarray:
    keys = np.array(list(probs), dtype=np.int64)
    p = np.array(list(probs.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _random_facts(rng: np.random.Generator, person_id: np.ndarray) -> Facts:
    """Random facts: ILD persons (ILD_RATE) get IPAF facts, distractors (DISTRACTOR_RATE) findings without ILD."""
    n = len(person_id)
    kind = rng.random(n)
    ild_mask = kind < ILD_RATE
    distractor = (kind >= ILD_RATE) & (kind < ILD_RATE + DISTRACTOR_RATE)
    fact_mask = ild_mask | distractor
    ild = np.where(ild_mask, rng.integers(0, RANDOM_ILD_CONCEPTS, n), -1)
    index_day = rng.integers(DATA_START + 365, DATA_END - 400, n)
    ctd = np.where(fact_mask, _choice(rng, n, {0: 0.88, 1: 0.08, 2: 0.04}), 0)
    alt = np.where(ild_mask, _choice(rng, n, {0: 0.78, 1: 0.05, 2: 0.02, 3: 0.05, 4: 0.10}), 0)
    nf = len(FINDING_FIELDS)
    findings = _choice(rng, n * nf, {0: 0.60, 1: 0.10, 2: 0.22, 3: 0.04, 4: 0.02, 5: 0.02}).reshape(n, nf)
    findings[~fact_mask] = 0
    na = len(QUALITATIVE_ANTIBODIES)
    antibodies = _choice(rng, n * na, {0: 0.62, 1: 0.04, 2: 0.32, 3: 0.02}).reshape(n, na)
    antibodies[~fact_mask] = 0
    ana = np.zeros((n, 3), dtype=np.int64)
    ana[:, 0] = _choice(rng, n, {0: 0.25, 1: 0.45, 2: 0.27, 3: 0.03})
    ana[:, 1] = np.where(ana[:, 0] > 0, rng.choice(ANA_TITRES, n, p=[0.10, 0.10, 0.15, 0.20, 0.20, 0.15, 0.10]), 0)
    ana[:, 2] = np.where(ana[:, 0] == 1, rng.integers(0, len(ANA_PATTERN_CODES), n), 0)
    ana[~fact_mask] = 0
    rf = np.full((n, 3), math.nan)
    rf_state = _choice(rng, n, {0: 0.45, 1: 0.25, 2: 0.30})
    uln = rng.choice([14.0, 15.0, 20.0], n)
    ratio = rng.choice([0.5, 1.0, 1.5, 1.99, 2.0, 3.0, 6.0], n)
    value = np.where(rf_state == 1, uln * np.maximum(ratio, 1.0), uln * np.minimum(ratio, 0.9))
    value[rng.random(n) < 0.1] = math.nan
    rf[:, 0] = np.where(fact_mask, rf_state, 0)
    rf[:, 1] = np.where(rf_state > 0, value, math.nan)
    rf[:, 2] = np.where(rf_state > 0, uln, math.nan)
    hrct = np.where(fact_mask, _choice(rng, n, {0: 0.15, 1: 0.30, 2: 0.30, 3: 0.08, 4: 0.05, 5: 0.04, 6: 0.08}), 0)
    biopsy = np.zeros((n, 2), dtype=np.int64)
    biopsy[:, 0] = np.where(fact_mask, _choice(rng, n, {0: 0.60, 1: 0.25, **{k: 0.15 / 8 for k in range(2, 10)}}), 0)
    second = (biopsy[:, 0] >= 2) & (rng.random(n) < 0.3)
    biopsy[:, 1] = np.where(second, rng.integers(2, len(BIOPSY_CODES), n), 0)
    biopsy[biopsy[:, 1] == biopsy[:, 0], 1] = 0
    tac = np.zeros((n, 3, 2), dtype=np.int64)
    exposed = (ild_mask & (rng.random(n) < 0.25)) | (~ild_mask & (rng.random(n) < 0.004))
    courses = rng.integers(1, 4, n)
    start = rng.integers(0, 200, n)
    for k in range(3):
        days = rng.integers(14, 400, n)
        on = exposed & (courses > k)
        tac[:, k, 0] = np.where(on, start, 0)
        tac[:, k, 1] = np.where(on, days, 0)
        gap = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 120, n))  # 0: the next course continues this one
        start = start + days + gap
    return Facts(person_id, np.full(n, -1), index_day, ild, ctd, alt, findings, antibodies, ana, rf, hrct, biopsy,
                 tac)


_FINDING_STATE = {"yes": 1, "no": 2, "yes_obs": 3, "both": 4, "yes_descendant": 5}


def _apply_scenarios(facts: Facts) -> None:
    """Overwrite the first persons (person_id 1..len(SCENARIOS)) with the edge-case catalogue."""
    for i, (_, spec) in enumerate(SCENARIOS):
        rows = np.nonzero(facts.person_id == i + 1)[0]
        if not len(rows):
            continue
        r = rows[0]
        facts.scenario[r] = i
        ild = spec.get("ild", "set:interstitial_pneumonia")
        facts.ild[r] = -1 if ild is None else ILD_CONCEPTS.index(ild)
        facts.ctd[r] = {None: 0, "set:defined_ctd": 1, "sle_organ": 2}[spec.get("ctd")]
        if ild == "rheumatoid_lung":
            facts.ctd[r] = 3  # the ILD concept itself is also a defined CTD: no row of its own
        facts.alt[r] = {None: 0, "set:alternative_etiology": 1, "farmers_lung": 2, "no": 3, "yes": 4}[spec.get("alt")]
        facts.findings[r] = [_FINDING_STATE[spec[f]] if f in spec else 0 for f in FINDING_FIELDS]
        facts.antibodies[r] = [RESULTS.index(spec[a]) if a in spec else 0 for a in QUALITATIVE_ANTIBODIES]
        result, titre, pattern = spec.get("ana", ("", 0, ""))
        facts.ana[r] = (RESULTS.index(result), titre, ANA_PATTERN_CODES.index(pattern))
        rf_result, value, uln = spec.get("rf", ("", math.nan, math.nan))
        facts.rf[r] = (RESULTS.index(rf_result), value, uln)
        facts.hrct[r] = HRCT_CODES.index(spec.get("hrct", ""))
        codes = [*spec.get("biopsy", ()), "", ""][:2]
        facts.biopsy[r] = [BIOPSY_CODES.index(c) for c in codes]
        facts.tac[r] = 0
        for k, (offset, days) in enumerate(spec.get("tacrolimus", ())):
            facts.tac[r, k] = (offset, days)


def block_facts(seed: int, block: int, persons: int) -> Facts:
    """The facts of block ``block`` (persons block*BLOCK_PERSONS+1 ...), drawn from its own seeded generator."""
    first = block * BLOCK_PERSONS + 1
    person_id = np.arange(first, min(first + BLOCK_PERSONS, persons + 1), dtype=np.int64)
    rng = np.random.default_rng([seed, block, 1])
    facts = _random_facts(rng, person_id)
    if block == 0:
        _apply_scenarios(facts)
    return facts


# ---------------------------------------------------------------------------------------------------------------
# Facts -> IpafInput -> truth (rules/ipaf.classify_ipaf)
# ---------------------------------------------------------------------------------------------------------------


def _finding_value(state: int) -> bool | None:
    return None if state == UNKNOWN else state != NO


def ipaf_input(facts: Facts, i: int) -> Any:
    """The IpafInput the reading rules of docs/omop.md give for person ``i`` of ``facts``."""
    from ipafstudy.rules.ipaf import AntibodyTest, IpafInput

    tests = [AntibodyTest(name, RESULTS[s]) for name, s in zip(QUALITATIVE_ANTIBODIES, facts.antibodies[i],
                                                                 strict=True) if s > 0]
    result, titre, pattern = (int(x) for x in facts.ana[i])
    if result:
        tests.append(AntibodyTest("ANA", RESULTS[result], titre=titre or None,
                                  pattern=ANA_PATTERN_CODES[pattern] or None))
    rf_result, value, uln = facts.rf[i]
    if rf_result:
        tests.append(AntibodyTest("RF", RESULTS[int(rf_result)], value=None if math.isnan(value) else value,
                                  upper_limit_normal=None if math.isnan(uln) else uln))
    biopsy = [BIOPSY_CODES[b] for b in facts.biopsy[i] if b]
    return IpafInput(
        patient_id=str(int(facts.person_id[i])),
        interstitial_pneumonia=bool(facts.ild[i] >= 0),
        alternative_etiology_excluded=bool(facts.alt[i] in (0, 4)),
        defined_ctd=bool(facts.ctd[i] > 0),
        **{f: _finding_value(int(s)) for f, s in zip(FINDING_FIELDS, facts.findings[i], strict=True)},
        hrct_pattern=HRCT_CODES[int(facts.hrct[i])] or None,
        biopsy_pattern=";".join(biopsy) or None,
        antibodies=tuple(tests),
    )


TRUTH_COLUMNS = (
    "person_id", "scenario", "ild", "status", "status_missing_absent", "combination", "entry_interstitial_pneumonia",
    "entry_alternative_etiology_excluded", "entry_no_defined_ctd", "domain_clinical", "domain_serologic",
    "domain_morphologic", "items_met", "tacrolimus_exposed", "tacrolimus_first_start", "tacrolimus_last_end",
    "tacrolimus_days", "tacrolimus_end", "tacrolimus_exposure_days", "facts",
)
# tacrolimus_days: distinct days covered by any planted course; tacrolimus_end / tacrolimus_exposure_days: the study
# rule of cohort/exposure.py (first continuous run of courses, a course starting <= 1 day after the end continues
# it, capped at the data cut-off = DATA_END, the latest observation_period_end_date), as the screen applies it.


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _truth_row(facts: Facts, i: int, settings: Any, absent: Any) -> list[Any]:
    from ipafstudy.rules.ipaf import classify_ipaf

    inp = ipaf_input(facts, i)
    cls = classify_ipaf(inp, settings)
    cls_absent = classify_ipaf(inp, absent)
    entry = {o.item: _yn(o.met) for o in cls.entry}
    items = [f"{d}.{item}" for d, dom in cls.domains.items() for item in dom.items_met]
    courses = _courses(facts, i)
    if courses:
        first = min(s for s, _ in courses)
        last = max(e for _, e in courses)
        covered = len({day for s, e in courses for day in range(s, e + 1)})
        study = patient_exposure(
            str(int(facts.person_id[i])),
            [{"drug": "tacrolimus", "start_date": _iso(s), "end_date": _iso(e)} for s, e in courses],
            dt.date.fromisoformat(_iso(DATA_END)),
        )
        end = study.end.isoformat() if study.end else None
        exposure = [True, _iso(first), _iso(last), covered, end, study.exposure_days]
    else:
        exposure = [False, None, None, 0, None, None]
    sc = int(facts.scenario[i])
    return [
        int(facts.person_id[i]), SCENARIOS[sc][0] if sc >= 0 else "", bool(facts.ild[i] >= 0), cls.status,
        cls_absent.status, cls.combination or "", entry["interstitial_pneumonia"],
        entry["alternative_etiology_excluded"], entry["no_defined_ctd"],
        *(_yn(cls.domains[d].met) for d in ("clinical", "serologic", "morphologic")), ";".join(items), *exposure,
        planted_facts(facts, i),
    ]


def _courses(facts: Facts, i: int) -> list[tuple[int, int]]:
    """The planted tacrolimus courses of person ``i`` as written: (first day, last day), capped at DATA_END."""
    out = []
    for start, days in facts.tac[i]:
        if days > 0:
            first = int(facts.index_day[i] + start)
            out.append((first, min(first + int(days) - 1, DATA_END)))
    return [(a, b) for a, b in out if a <= DATA_END]


def _concept_words(key: str) -> str:
    """'set:NAME' -> 'NAME (first code of the set)'; a descendant key -> 'VOCABULARY CODE name'."""
    if key.startswith("set:"):
        return f"{key[4:]} (first code of the set)"
    _, vocab, code, name, *_ = next(d for d in _DESCENDANTS if d[0] == key)
    return f"{vocab} {code} {name}"


def planted_facts(facts: Facts, i: int) -> dict[str, Any]:
    """The facts planted for person ``i`` in plain words (only what was planted; absent keys = nothing written).

    ``ild`` / ``defined_ctd`` / ``alternative_etiology``: the concept key written (a concept-set name or a
    descendant of ``_DESCENDANTS``); findings: 'yes' (condition or observation answered yes), 'yes_null_answer',
    'no' (observation answered no), 'yes_and_no', 'yes_descendant'; antibodies: result; ``ANA``: result, titre
    (None = not recorded), pattern; ``RF``: result, value, ULN; ``hrct`` / ``biopsy``: codes; ``tacrolimus``:
    courses [first day, last day] as written.
    """
    out: dict[str, Any] = {}
    if facts.ild[i] >= 0:
        out["ild"] = _concept_words(ILD_CONCEPTS[int(facts.ild[i])])
    ctd = int(facts.ctd[i])
    if ctd:
        out["defined_ctd"] = {1: _concept_words("set:defined_ctd"), 2: _concept_words("sle_organ"),
                              3: "the ILD concept (rheumatoid lung disease with rheumatoid arthritis)"}[ctd]
    alt = int(facts.alt[i])
    if alt:
        out["alternative_etiology"] = {1: _concept_words("set:alternative_etiology"),
                                       2: _concept_words("farmers_lung"), 3: "excluded: recorded no",
                                       4: "excluded: recorded yes"}[alt]
    words = {1: "yes", 2: "no", 3: "yes_null_answer", 4: "yes_and_no", 5: "yes_descendant"}
    for field, state in zip(FINDING_FIELDS, facts.findings[i], strict=True):
        if state:
            out[field] = words[int(state)]
    for name, state in zip(QUALITATIVE_ANTIBODIES, facts.antibodies[i], strict=True):
        if state:
            out[name] = RESULTS[int(state)]
    result, titre, pattern = (int(x) for x in facts.ana[i])
    if result:
        out["ANA"] = [RESULTS[result], titre or None, ANA_PATTERN_CODES[pattern] or None]
    rf_result, value, uln = facts.rf[i]
    if rf_result:
        out["RF"] = [RESULTS[int(rf_result)], None if math.isnan(value) else float(value),
                     None if math.isnan(uln) else float(uln)]
    if facts.hrct[i]:
        out["hrct"] = HRCT_CODES[int(facts.hrct[i])]
    biopsy = [BIOPSY_CODES[int(b)] for b in facts.biopsy[i] if b]
    if biopsy:
        out["biopsy"] = biopsy
    courses = _courses(facts, i)
    if courses:
        out["tacrolimus"] = [[_iso(a), _iso(b)] for a, b in courses]
    return out


def _iso(day: int) -> str:
    return str(EPOCH + np.timedelta64(int(day), "D"))


def block_truth(facts: Facts) -> list[list[Any]]:
    """Truth rows (TRUTH_COLUMNS) of the persons with any planted fact; the others share ``default_truth()``."""
    from ipafstudy.settings import ClinicalSettings

    settings = ClinicalSettings()
    absent = ClinicalSettings(missing_feature_means="absent")
    return [_truth_row(facts, int(i), settings, absent) for i in np.nonzero(facts.any_fact())[0]]


def default_truth() -> dict[str, Any]:
    """The truth of a person without any planted fact (no ILD, nothing recorded), from classify_ipaf itself."""
    empty = Facts(np.array([0]), np.array([-1]), np.array([DATA_START]), np.array([-1]), np.zeros(1, int),
                  np.zeros(1, int), np.zeros((1, len(FINDING_FIELDS)), int),
                  np.zeros((1, len(QUALITATIVE_ANTIBODIES)), int), np.zeros((1, 3), int),
                  np.array([[0, math.nan, math.nan]]), np.zeros(1, int), np.zeros((1, 2), int),
                  np.zeros((1, 3, 2), int))
    from ipafstudy.settings import ClinicalSettings

    row = _truth_row(empty, 0, ClinicalSettings(), ClinicalSettings(missing_feature_means="absent"))
    out = dict(zip(TRUTH_COLUMNS, row, strict=True))
    del out["person_id"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Facts -> OMOP rows (vectorised)
# ---------------------------------------------------------------------------------------------------------------


class _Rows:
    """Arrow chunks of one table for one block (columns built vectorised as rows are added)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.schema = _schema(table)
        self.chunks: dict[str, list[pa.Array]] = {c: [] for c in CDM_TABLES[table][1:]}
        self.n = 0

    def add(self, n: int, **columns: Any) -> None:
        if n == 0:
            return
        for name, chunks in self.chunks.items():
            chunks.append(_arrow(columns.get(name), n, self.schema.field(name).type))
        self.n += n

    def to_arrow(self, first_id: int) -> pa.Table:
        import pyarrow as pa

        arrays = [pa.array(np.arange(first_id, first_id + self.n, dtype=np.int64))]
        for field in self.schema:
            if field.name in self.chunks:
                chunks = self.chunks[field.name]
                arrays.append(pa.concat_arrays(chunks) if chunks else pa.array([], field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _arrow(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    """One column chunk: a scalar (None = NULL) repeated n times, or a numpy array (NaN = NULL for numbers)."""
    import pyarrow as pa

    if value is None:
        return pa.nulls(n, typ)
    if not isinstance(value, np.ndarray):
        if isinstance(value, str):
            return pa.repeat(pa.scalar(value, typ), n)
        value = np.full(n, value)
    if pa.types.is_string(typ):
        return pa.array(value.astype(object), typ)
    if pa.types.is_floating(typ):
        values = value.astype(float)
        return pa.array(values, typ, mask=np.isnan(values))
    if pa.types.is_date32(typ):
        return pa.array(value.astype(np.int32), pa.int32()).cast(typ)
    if pa.types.is_timestamp(typ):
        return pa.array(value.astype(np.int64), pa.int64()).cast(typ)
    return pa.array(value.astype(np.int64), pa.int64()).cast(typ)


def block_tables(facts: Facts, vocab: SynthVocabulary, seed: int, block: int, rows_per_person: int,
                 first_ids: Mapping[str, int] | None = None) -> dict[str, _Rows]:
    """OMOP rows of one block: person, observation_period, study follow-up, planted facts, background records.

    ``first_ids``: the first row id of each table in this block (follow-up observations point at condition ids).
    """
    rng = np.random.default_rng([seed, block, 2])
    pid = facts.person_id
    n = len(pid)
    out = {name: _Rows(name) for name in CDM_TABLES if name not in ("concept", "concept_ancestor")}
    # person and observation period
    year = rng.integers(1940, 2000, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    births = ((year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)).astype("datetime64[D]")
    births = (births + (day - 1) - EPOCH).astype(np.int64)
    out["person"].add(n, person_id=pid, gender_concept_id=np.where(rng.random(n) < 0.55, GENDER["FEMALE"],
                                                                     GENDER["MALE"]),
                      year_of_birth=year, month_of_birth=month, day_of_birth=day, birth_datetime=births * 86400,
                      care_site_id=rng.integers(1, 4, n))
    obs_start = np.minimum(rng.integers(DATA_START, DATA_START + 3 * 365, n), facts.index_day - 300)
    out["observation_period"].add(n, person_id=pid, observation_period_start_date=obs_start,
                                  observation_period_end_date=np.full(n, DATA_END))
    _followup(facts, vocab, np.random.default_rng([seed, block, 3]), out, first_ids or dict.fromkeys(CDM_TABLES, 1))
    _planted_rows(facts, vocab, rng, out)
    _background_rows(facts, vocab, rng, out, obs_start, rows_per_person)
    return out


def _followup(facts: Facts, vocab: SynthVocabulary, rng: np.random.Generator, out: dict[str, _Rows],
              first_ids: Mapping[str, int]) -> None:
    """Study follow-up of every person on tacrolimus (omop.synth_followup): HRCT reads, visits, adverse events.

    Written FIRST in the block, so the ids synth_followup gives (from ``first_ids``) are the ids the rows get.
    """
    from ipafstudy.omop.synth_followup import followup_rows

    courses = facts.tac[:, :, 1] > 0
    on = courses[:, 0] & (facts.index_day + facts.tac[:, 0, 0] <= DATA_END)
    if not on.any():
        return
    start = facts.index_day[on] + facts.tac[on, 0, 0]
    last = facts.index_day[on, None] + facts.tac[on, :, 0] + facts.tac[on, :, 1] - 1
    end = np.minimum(np.where(courses[on], last, 0).max(axis=1), DATA_END)
    units = {name: vocab.unit_ids[name][code] for name, code in FOLLOWUP_UNITS.items()}
    rows = followup_rows(facts.person_id[on], start, end, vocab.set_ids, units, rng,
                         {t: first_ids[t] for t in ("measurement", "condition_occurrence", "observation")})
    for table, columns in rows.items():
        if out[table].n:
            raise AssertionError(f"follow-up rows must come first in table {table}")  # ids would not match
        n = len(columns["person_id"])
        out[table].add(n, **{k: v for k, v in columns.items() if k != CDM_TABLES[table][0]})
        ids = columns[CDM_TABLES[table][0]]
        if n and not np.array_equal(ids, first_ids[table] + np.arange(n)):
            raise AssertionError(f"follow-up ids of {table} are not consecutive from the block's first id")


def _condition(out: dict[str, _Rows], pid: np.ndarray, concept: Any, day: np.ndarray, source: str) -> None:
    out["condition_occurrence"].add(
        len(pid), person_id=pid, condition_concept_id=concept, condition_start_date=day, condition_end_date=None,
        condition_type_concept_id=32817, condition_source_value=source,
    )


def _observation(out: dict[str, _Rows], pid: np.ndarray, concept: Any, day: np.ndarray, value: Any) -> None:
    out["observation"].add(
        len(pid), person_id=pid, observation_concept_id=concept, observation_date=day,
        observation_type_concept_id=32817, value_as_number=None, value_as_string=None, value_as_concept_id=value,
        unit_concept_id=0, observation_event_id=None, obs_event_field_concept_id=0,
    )


def _measurement(out: dict[str, _Rows], pid: np.ndarray, concept: Any, day: np.ndarray, *, number: Any = None,
                 value: Any = None, unit: Any = 0, high: Any = None, source: str = "") -> None:
    out["measurement"].add(
        len(pid), person_id=pid, measurement_concept_id=concept, measurement_date=day,
        measurement_type_concept_id=32817, value_as_number=number, value_as_concept_id=value, unit_concept_id=unit,
        range_low=None, range_high=high, provider_id=None, measurement_source_value=source,
    )


def _planted_rows(facts: Facts, vocab: SynthVocabulary, rng: np.random.Generator, out: dict[str, _Rows]) -> None:
    ids, codes = vocab.set_ids, vocab.code_ids
    pid, day0 = facts.person_id, facts.index_day

    def concept_of(key: str) -> int:
        return ids[key[4:]] if key.startswith("set:") else codes[key]

    def offset(mask: np.ndarray, low: int = -200, high: int = 60) -> np.ndarray:
        return day0[mask] + rng.integers(low, high, int(mask.sum()))

    ild_ids = np.array([concept_of(k) for k in ILD_CONCEPTS])
    m = facts.ild >= 0
    _condition(out, pid[m], ild_ids[facts.ild[m]], day0[m], "ILD")
    for state, key in ((1, "set:defined_ctd"), (2, "sle_organ")):
        m = facts.ctd == state
        _condition(out, pid[m], concept_of(key), offset(m, -2000, 0), "CTD")
    for state, key in ((1, "set:alternative_etiology"), (2, "farmers_lung")):
        m = facts.alt == state
        _condition(out, pid[m], concept_of(key), offset(m, -400, 0), "alternative etiology")
    for state, answer in ((3, "answer_no"), (4, "answer_yes")):
        m = facts.alt == state
        _observation(out, pid[m], ids["alternative_etiology_excluded"], offset(m, 0, 30), ids[answer])
    for j, field in enumerate(FINDING_FIELDS):
        state = facts.findings[:, j]
        concept = ids[field]
        is_condition = vocab.sets[field].domain == "Condition"
        yes = (state == 1) | (state == 4)
        if is_condition:
            _condition(out, pid[yes], concept, offset(yes), field)
        else:
            _observation(out, pid[yes], concept, offset(yes), ids["answer_yes"])
        m = state == 3  # yes by an observation with a NULL answer
        _observation(out, pid[m], concept, offset(m), None)
        m = (state == 2) | (state == 4)
        _observation(out, pid[m], concept, offset(m), ids["answer_no"])
        m = state == 5  # yes through a descendant concept (only raynaud has one; others fall back to the set)
        desc = codes.get(f"{field}_secondary", concept)
        if is_condition:
            _condition(out, pid[m], desc, offset(m), field)
        else:
            _observation(out, pid[m], concept, offset(m), ids["answer_yes"])
    result_ids = np.array([0, ids["result_positive"], ids["result_negative"], ids["result_borderline"]])
    for j, name in enumerate(QUALITATIVE_ANTIBODIES):
        state = facts.antibodies[:, j]
        m = state > 0
        _measurement(out, pid[m], ids[vocab.antibody_sets[name]], offset(m), value=result_ids[state[m]], source=name)
    result, titre, pattern = facts.ana[:, 0], facts.ana[:, 1], facts.ana[:, 2]
    m = result > 0
    ana_day = offset(m)
    _measurement(out, pid[m], ids["antibody_ana"], ana_day, value=result_ids[result[m]],
                 number=np.where(titre[m] > 0, titre[m], np.nan), source="ANA")
    pattern_ids = np.array([0, *(ids[f"ana_pattern_{p}"] for p in ANA_PATTERN_CODES[1:])])
    has_pattern = pattern[m] > 0
    _measurement(out, pid[m][has_pattern], ids["ana_pattern"], ana_day[has_pattern],
                 value=pattern_ids[pattern[m][has_pattern]], source="ANA pattern")
    rf_state = facts.rf[:, 0].astype(int)
    m = rf_state > 0
    _measurement(out, pid[m], ids["antibody_rf"], offset(m), value=result_ids[rf_state[m]], number=facts.rf[m, 1],
                 high=facts.rf[m, 2], source="RF")
    hrct_ids = np.array([0, *(ids[f"hrct_{p}"] for p in HRCT_CODES[1:])])
    m = facts.hrct > 0
    _observation(out, pid[m], ids["hrct_read"], offset(m, -60, 30), hrct_ids[facts.hrct[m]])
    biopsy_ids = np.array([0, *(ids[f"biopsy_{p}"] for p in BIOPSY_CODES[1:])])
    for k in range(2):
        m = facts.biopsy[:, k] > 0
        _observation(out, pid[m], ids["lung_biopsy"], day0[m] + 10, biopsy_ids[facts.biopsy[m, k]])
    tac_ids = np.array([codes[c] for c in TACROLIMUS_CONCEPTS])
    for k in range(facts.tac.shape[1]):
        start, days = facts.tac[:, k, 0], facts.tac[:, k, 1]
        begin_all = day0 + start
        m = (days > 0) & (begin_all <= DATA_END)
        begin = begin_all[m]
        end = np.minimum(begin + days[m] - 1, DATA_END)  # nothing after the end of the observation periods
        out["drug_exposure"].add(
            int(m.sum()), person_id=pid[m], drug_concept_id=tac_ids[rng.integers(0, len(tac_ids), int(m.sum()))],
            drug_exposure_start_date=begin, drug_exposure_end_date=end,
            quantity=rng.choice([1.0, 2.0, 3.0, 4.0], int(m.sum())), days_supply=end - begin + 1, route_concept_id=0,
            dose_unit_source_value="mg/day", drug_source_value="tacrolimus",
        )


def _background_rows(facts: Facts, vocab: SynthVocabulary, rng: np.random.Generator, out: dict[str, _Rows],
                     obs_start: np.ndarray, rows_per_person: int) -> None:
    """About ``rows_per_person`` clinical rows per person outside the IPAF facts (background load for the scan)."""
    pid = facts.person_id
    n = len(pid)
    for table, share in BACKGROUND_SHARE.items():
        counts = rng.poisson(rows_per_person * share, n)
        who = np.repeat(np.arange(n), counts)
        total = len(who)
        day = rng.integers(obs_start[who], DATA_END + 1)
        p = pid[who]
        if table == "condition_occurrence":
            concept = rng.choice(vocab.background["Condition"], total)
            _condition(out, p, concept, day, "background")
        elif table == "drug_exposure":
            concept = rng.choice(vocab.background["Drug"], total)
            end = np.minimum(day + rng.integers(0, 90, total), DATA_END)
            out[table].add(total, person_id=p, drug_concept_id=concept, drug_exposure_start_date=day,
                           drug_exposure_end_date=end, quantity=rng.integers(1, 4, total).astype(float),
                           days_supply=end - day + 1, route_concept_id=0, dose_unit_source_value=None,
                           drug_source_value="background")
        elif table == "observation":
            concept = rng.choice(vocab.background["Observation"], total)
            _observation(out, p, concept, day, None)
        else:
            study = rng.random(total) < 0.25
            _background_measurements(out, vocab, rng, p[~study], day[~study])
            _study_measurements(out, vocab, rng, p[study], day[study])


def _background_measurements(out: dict[str, _Rows], vocab: SynthVocabulary, rng: np.random.Generator,
                             pid: np.ndarray, day: np.ndarray) -> None:
    total = len(pid)
    concept = rng.choice(vocab.background["Measurement"], total)
    _measurement(out, pid, concept, day, number=np.round(rng.normal(50, 15, total), 1), unit=0,
                 source="background")


def _study_measurements(out: dict[str, _Rows], vocab: SynthVocabulary, rng: np.random.Generator, pid: np.ndarray,
                        day: np.ndarray) -> None:
    """Study variables (ESR, CRP, Mg, creatinine, FVC, DLCO) in any accepted unit; value = study value converted."""
    sets = vocab.sets
    which = rng.integers(0, len(STUDY_MEASUREMENTS), len(pid))
    for k, name in enumerate(STUDY_MEASUREMENTS):
        m = which == k
        cnt = int(m.sum())
        if not cnt:
            continue
        units = sets[name].units
        pick = rng.integers(0, len(units), cnt)
        low, high = _STUDY_RANGES[name]
        study_value = rng.uniform(low, high, cnt)
        factor = np.array([u.factor for u in units])[pick]
        offset = np.array([u.offset for u in units])[pick]
        unit_ids = np.array([vocab.unit_ids[name][u.code] for u in units])[pick]
        _measurement(out, pid[m], vocab.set_ids[name], day[m], number=np.round((study_value - offset) / factor, 4),
                     unit=unit_ids, source=name)


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------


def _check_args(persons: int, seed: int, rows_per_person: int) -> None:
    from ipafstudy.errors import InvalidOptionError

    if isinstance(persons, bool) or not isinstance(persons, int | np.integer) or persons < 1:
        raise InvalidOptionError(f"synth --omop: --persons must be a whole number >= 1, got {persons!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidOptionError(f"synth --omop: --seed must be a whole number >= 0, got {seed!r}")
    if isinstance(rows_per_person, bool) or not isinstance(rows_per_person, int) or rows_per_person < 0:
        raise InvalidOptionError(f"synth --omop: rows_per_person must be a whole number >= 0, got {rows_per_person!r}")


def iter_synthetic_blocks(persons: int, seed: int = DEFAULT_SEED, *, rows_per_person: int = DEFAULT_ROWS_PER_PERSON,
                          sets: ConceptSets | None = None
                          ) -> Iterator[tuple[dict[str, pa.Table], list[list[Any]]]]:
    """(clinical tables, truth rows) block by block; row ids continue across blocks."""
    _check_args(persons, seed, rows_per_person)
    vocab = build_vocabulary(sets or load_concept_sets())
    next_ids = dict.fromkeys(CDM_TABLES, 1)
    for block in range(math.ceil(persons / BLOCK_PERSONS)):
        facts = block_facts(seed, block, persons)
        rows = block_tables(facts, vocab, seed, block, rows_per_person, next_ids)
        tables = {}
        for name, r in rows.items():
            tables[name] = r.to_arrow(next_ids[name])
            next_ids[name] += tables[name].num_rows
        yield tables, block_truth(facts)


def synthetic_cdm(persons: int, seed: int = DEFAULT_SEED, *, rows_per_person: int = DEFAULT_ROWS_PER_PERSON
                  ) -> dict[str, pa.Table]:
    """The whole synthetic CDM in memory (every CDM_TABLES table), identical for every engine loading it."""
    import pyarrow as pa

    sets = load_concept_sets()
    vocab = build_vocabulary(sets)
    parts: dict[str, list[pa.Table]] = {}
    for tables, _ in iter_synthetic_blocks(persons, seed, rows_per_person=rows_per_person, sets=sets):
        for name, table in tables.items():
            parts.setdefault(name, []).append(table)
    out = {name: pa.concat_tables(parts[name]) for name in CDM_TABLES if name in parts}
    out["concept"] = vocab.concept
    out["concept_ancestor"] = vocab.concept_ancestor
    return {name: out[name] for name in CDM_TABLES}


def synthetic_truth(persons: int, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The truth document alone (what write_synthetic_cdm writes beside the database)."""
    rows: list[list[Any]] = []
    for block in range(math.ceil(persons / BLOCK_PERSONS)):
        rows.extend(block_truth(block_facts(seed, block, persons)))
    return _truth_document(persons, seed, rows)


def _truth_document(persons: int, seed: int, rows: list[list[Any]]) -> dict[str, Any]:
    from collections import Counter

    default = default_truth()
    listed = {r[0] for r in rows}
    status = Counter(r[3] for r in rows)
    status[default["status"]] += persons - len(listed)
    return {
        "generator": "ipafstudy.omop.synth",
        "persons": persons,
        "seed": seed,
        "reading_rules": "docs/omop.md (concept sets: resources/omop_concepts.yaml)",
        "settings": {"status": "missing_feature_means=unknown", "status_missing_absent": "missing_feature_means=absent",
                     "ro52_alone_counts_as_ssa": False},
        "counts": {"status": dict(sorted(status.items())), "ild": sum(1 for r in rows if r[2]),
                   "tacrolimus_exposed": sum(1 for r in rows if r[13]), "listed": len(rows)},
        "data_cutoff": _iso(DATA_END),
        "default": default,
        "columns": list(TRUTH_COLUMNS),
        "rows": rows,
        "scenarios": [name for name, _ in SCENARIOS],
    }


def truth_frame(truth: Mapping[str, Any]) -> Any:
    """One row per person (pandas DataFrame indexed by person_id): listed rows, every other person the default."""
    import pandas as pd

    listed = pd.DataFrame(truth["rows"], columns=truth["columns"]).set_index("person_id")
    index = pd.RangeIndex(1, int(truth["persons"]) + 1, name="person_id")
    frame = pd.DataFrame({k: [v] * len(index) for k, v in truth["default"].items()}, index=index)
    frame.update(listed)
    for col in listed.columns:
        frame[col] = frame[col].astype(listed[col].dtype) if len(listed) else frame[col]
    return frame


def truth_path(out: Path | str) -> Path:
    """Where the truth of the database ``out`` is written: db.duckdb -> db.truth.json."""
    path = Path(out)
    return path.with_name(path.stem + TRUTH_SUFFIX)


def write_synthetic_cdm(out: Path | str, persons: int, seed: int = DEFAULT_SEED, *, force: bool = False,
                        rows_per_person: int = DEFAULT_ROWS_PER_PERSON) -> Path:
    """Write a DuckDB CDM and its truth JSON beside it (both atomically; existing files need ``force``)."""
    import duckdb

    from ipafstudy.fileio import atomic_write_text, check_output_file

    _check_args(persons, seed, rows_per_person)
    target, truth_target = Path(out), truth_path(out)
    check_output_file(target, force=force)
    check_output_file(truth_target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(tmp_name)  # duckdb creates the file itself
    tmp = Path(tmp_name)
    try:
        sets = load_concept_sets()
        vocab = build_vocabulary(sets)
        con = duckdb.connect(str(tmp))
        try:
            # Row order inside DuckDB carries no meaning (every row has its id), and a bounded buffer keeps the
            # writer's memory flat: 10^6 persons x 100 rows is ~10^8 rows, far more than memory.
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET enable_progress_bar = false")  # no bars on the console
            con.execute(f"SET memory_limit = '{WRITER_MEMORY_LIMIT}'")
            for name in CDM_TABLES:
                _create(con, name, _schema(name))
            _append(con, "concept", vocab.concept)
            _append(con, "concept_ancestor", vocab.concept_ancestor)
            rows: list[list[Any]] = []
            for tables, truth_rows in iter_synthetic_blocks(persons, seed, rows_per_person=rows_per_person,
                                                            sets=sets):
                for name, table in tables.items():
                    _append(con, name, table)
                rows.extend(truth_rows)
                del tables
            con.execute("CHECKPOINT")
        finally:
            con.close()
        text = json.dumps(_truth_document(persons, seed, rows), separators=(",", ":"), allow_nan=False)
        os.replace(tmp, target)
        try:
            atomic_write_text(truth_target, text + "\n")
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise
    return target


def _create(con: Any, name: str, schema: pa.Schema) -> None:
    import pyarrow as pa

    empty = pa.Table.from_pylist([], schema=schema)
    con.register("_synth_chunk", empty)
    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _synth_chunk')
    con.unregister("_synth_chunk")


def _append(con: Any, name: str, table: pa.Table) -> None:
    con.register("_synth_chunk", table)
    con.execute(f'INSERT INTO "{name}" SELECT * FROM _synth_chunk')
    con.unregister("_synth_chunk")


def check_persons(persons: Any) -> None:
    """Public check used by the CLI before any work (same message as the library)."""
    _check_args(persons, 0, 0)


__all__ = [
    "DEFAULT_SEED", "SCENARIOS", "OmopError", "build_vocabulary", "default_truth", "synthetic_cdm",
    "synthetic_truth", "truth_frame", "truth_path", "write_synthetic_cdm",
]
