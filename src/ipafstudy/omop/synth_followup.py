"""Synthetic study follow-up records in OMOP form: HRCT zone reads, clinic-visit outcomes and adverse events.

Why: the extract of a synthetic CDM must run through ``ipafstudy analyze``, which needs, for the persons on the
study drug, zone-level HRCT reads before and during the course (two readers, an adjudicator where they disagree by
more than one grade), clinic visits with the reference study's outcomes (mMRC, ESR, CRP, methylprednisolone dose)
and adverse events with their attributes. Generated vectorised (numpy, no loop over persons) and written in the
representation docs/omop.md documents ("Extract"), so the extract reads them back; concept ids come from the
caller's set-name -> concept_id mapping (whatever ids the synthetic CDM gives its concepts).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ipafstudy.omop.extract import CONDITION_OCCURRENCE_FIELD
from ipafstudy.rules.codes import PATTERNS, ZONES

READERS = (101, 102, 103, 104)  # provider_id of the first / second readers (drawn per scan)
ADJUDICATOR = 109
AE_EVENTS = ("hypomagnesaemia", "infection", "renal_insufficiency", "gastrointestinal_discomfort", "hypertension",
             "hyperglycaemia", "tremor", "other")
OTHER_DETAILS = ("rash", "headache", "fatigue")
#: Visit outcomes: set name, unit set key, low, high, decimals.
VISIT_MEASURES = (("mmrc", 0, 4, 0), ("esr", 5, 80, 0), ("crp", 0.5, 40, 1), ("methylprednisolone_dose", 0, 16, 0))
#: Mean grade per pattern at baseline (honeycombing and consolidation are rare).
BASE_GRADE = {"ggo": 1.6, "fibrosis": 1.4, "honeycombing": 0.2, "consolidation": 0.3}


def _ids(ids: Mapping[str, int], name: str) -> int:
    if name not in ids:
        raise KeyError(f"synthetic follow-up needs a concept id for concept set {name!r}")
    return int(ids[name])


def followup_rows(
    person_id: np.ndarray, start_day: np.ndarray, end_day: np.ndarray, ids: Mapping[str, int],
    units: Mapping[str, int], rng: np.random.Generator, first_id: Mapping[str, int],
) -> dict[str, dict[str, np.ndarray]]:
    """Rows (table -> column -> array) of HRCT reads, visits and adverse events for persons on the study drug.

    ``start_day`` / ``end_day``: the course, as days since 1970-01-01 (no record is dated after ``end_day``, except
    the baseline HRCT and visit, which precede the start); ``ids``: concept-set name -> concept id;
    ``units``: measurement set name -> the unit_concept_id to write (0 = no unit, e.g. mMRC); ``first_id``: the
    first free id of measurement_id, observation_id and condition_occurrence_id.
    """
    person_id = np.asarray(person_id, dtype=np.int64)
    start = np.asarray(start_day, dtype=np.int64)
    end = np.maximum(np.asarray(end_day, dtype=np.int64), start)
    n = len(person_id)
    meas: dict[str, list[np.ndarray]] = {k: [] for k in (
        "person_id", "measurement_concept_id", "measurement_date", "measurement_type_concept_id", "value_as_number",
        "unit_concept_id", "provider_id")}

    def add_meas(pid, concept, day, type_id, value, unit, provider) -> None:
        size = len(pid)
        for key, arr in (("person_id", pid), ("measurement_concept_id", concept), ("measurement_date", day),
                         ("measurement_type_concept_id", type_id), ("value_as_number", value),
                         ("unit_concept_id", unit), ("provider_id", provider)):
            meas[key].append(np.broadcast_to(np.asarray(arr), (size,)).astype(
                np.float64 if key == "value_as_number" else np.int64))

    # ---- HRCT: a baseline scan up to 60 days before the start, a follow-up scan during the course
    length = end - start
    base_day = start - rng.integers(0, 61, n)
    follow_day = start + np.clip((length * rng.uniform(0.6, 0.95, n)).astype(np.int64), 90, None)
    follow_day = np.minimum(follow_day, end)  # nothing after the course end (the caller's data cut-off)
    improvement = rng.normal(0.6, 0.5, n)  # grades fall on treatment for most
    ehr = 32817
    for scan, day in (("baseline", base_day), ("follow_up", follow_day)):
        r1 = rng.choice(READERS[:2], n)
        r2 = rng.choice(READERS[2:], n)
        for z in ZONES:
            grades = {}
            for p in PATTERNS:
                truth = rng.normal(BASE_GRADE[p], 0.8, n) - (improvement if scan == "follow_up" else 0.0)
                g1 = np.clip(np.rint(truth), 0, 4)
                step = rng.choice([-2, -1, 0, 1, 2], n, p=[0.02, 0.14, 0.7, 0.12, 0.02])
                grades[p] = (g1, np.clip(g1 + step, 0, 4))
            # the adjudicator reads every pattern of a zone where the readers differ by more than one grade
            gap = np.any([np.abs(g1 - g2) > 1 for g1, g2 in grades.values()], axis=0)
            for p, (g1, g2) in grades.items():
                concept = _ids(ids, f"hrct_zone_{z}_{p}_grade")
                add_meas(person_id, concept, day, _ids(ids, "hrct_role_reader1"), g1, 0, r1)
                add_meas(person_id, concept, day, _ids(ids, "hrct_role_reader2"), g2, 0, r2)
                adjudicated = np.clip(np.rint((g1 + g2) / 2), 0, 4)
                add_meas(person_id[gap], concept, day[gap], _ids(ids, "hrct_role_adjudicator"), adjudicated[gap], 0,
                         ADJUDICATOR)

    # ---- clinic visits: baseline (0-30 days before the start), then every ~90 days during the course (max 4)
    k = np.clip(length // 90, 0, 4)
    visit_person = np.repeat(np.arange(n), k + 1)
    offset = np.concatenate([np.arange(m + 1) for m in k]) if n else np.zeros(0, dtype=np.int64)
    visit_day = np.where(offset == 0, start[visit_person] - rng.integers(0, 31, len(visit_person)),
                         start[visit_person] + offset * 90)
    visit_day = np.minimum(visit_day, np.maximum(end[visit_person], start[visit_person]))
    trend = 1.0 - 0.12 * offset  # outcomes improve on treatment
    for name, low, high, decimals in VISIT_MEASURES:
        base = rng.uniform(low, high, n)[visit_person]
        value = np.round(np.clip(base * trend + rng.normal(0, (high - low) * 0.05, len(visit_person)), low, high),
                         decimals)
        add_meas(person_id[visit_person], _ids(ids, name), visit_day, ehr, value, int(units[name]), 0)

    out: dict[str, dict[str, np.ndarray]] = {}
    columns = {key: np.concatenate(parts) if parts else np.zeros(0) for key, parts in meas.items()}
    columns["measurement_id"] = first_id["measurement"] + np.arange(len(columns["person_id"]), dtype=np.int64)
    out["measurement"] = columns

    # ---- adverse events: 40 % of persons have one during the course
    has_ae = rng.random(n) < 0.4
    ae_person = person_id[has_ae]
    m = len(ae_person)
    onset = np.minimum(start[has_ae] + rng.integers(7, 90, m), end[has_ae])
    event = rng.choice(len(AE_EVENTS), m)
    concept = np.array([_ids(ids, f"ae_{e}") if e != "other" else 0 for e in AE_EVENTS], dtype=np.int64)[event]
    detail = np.array([e if e != "other" else "" for e in AE_EVENTS], dtype=object)[event]
    is_other = concept == 0
    detail[is_other] = rng.choice(OTHER_DETAILS, int(is_other.sum()))
    cond_id = first_id["condition_occurrence"] + np.arange(m, dtype=np.int64)
    out["condition_occurrence"] = {
        "condition_occurrence_id": cond_id, "person_id": ae_person, "condition_concept_id": concept,
        "condition_start_date": onset, "condition_type_concept_id": np.full(m, _ids(ids, "ae_report")),
        "condition_source_value": detail,
    }
    grade = rng.choice([1, 1, 1, 2, 2, 3], m).astype(np.float64)
    serious = np.where(grade >= 3, _ids(ids, "answer_yes"), _ids(ids, "answer_no"))
    outcome = np.full(m, _ids(ids, "ae_outcome_resolved"))
    attribution = np.where(rng.random(m) < 0.5, _ids(ids, "ae_attribution_possibly_related"),
                           _ids(ids, "ae_attribution_related"))
    obs_person, obs_concept, obs_number, obs_value, obs_event, obs_day = [], [], [], [], [], []
    for attr, number, value in (("ae_grade", grade, None), ("ae_serious", None, serious),
                                ("ae_outcome", None, outcome), ("ae_attribution", None, attribution)):
        obs_person.append(ae_person)
        obs_concept.append(np.full(m, _ids(ids, attr)))
        obs_number.append(number if number is not None else np.full(m, np.nan))
        obs_value.append(value if value is not None else np.zeros(m, dtype=np.int64))
        obs_event.append(cond_id)
        obs_day.append(onset)
    total = 4 * m
    out["observation"] = {
        "observation_id": first_id["observation"] + np.arange(total, dtype=np.int64),
        "person_id": np.concatenate(obs_person), "observation_concept_id": np.concatenate(obs_concept),
        "observation_date": np.concatenate(obs_day), "value_as_number": np.concatenate(obs_number),
        "value_as_concept_id": np.concatenate(obs_value), "observation_event_id": np.concatenate(obs_event),
        "obs_event_field_concept_id": np.full(total, CONDITION_OCCURRENCE_FIELD, dtype=np.int64),
    }
    return out
