"""Seeded random IPAF patients (IpafInput) for the two-path tests: the rules and the Ibis expressions.

The draws cover every tri-state value, every HRCT/biopsy code (several biopsy findings at once, 'not_done'),
and the thresholds of the serologic items: ANA titres just below, at and above 1:320 with every pattern or
none, RF values just below, at and above 2 x ULN, missing value or ULN, borderline results and isolated Ro52.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ipafstudy.rules.ipaf import (
    ANA_PATTERNS,
    BIOPSY_PATTERNS,
    CLINICAL_FIELDS,
    COMPARTMENT_FIELDS,
    ENTRY_FIELDS,
    HRCT_PATTERNS,
    AntibodyTest,
    IpafInput,
)

ANTIBODY_NAMES = ("ANA", "ANA", "RF", "RF", "Ro60", "Ro52", "SSA", "La", "CCP", "dsDNA", "RNP", "Sm", "Scl-70",
                  "Jo-1", "PL-12", "YRS", "PM-Scl", "MDA-5", "Mi-2", "Ku")
TITRES = (None, 80, 160, 319, 320, 321, 640, 1280)
FIELD_DATE = dt.date(2020, 1, 1)


def _tri(rng: np.random.Generator, p_true: float = 0.35, p_false: float = 0.35) -> bool | None:
    u = rng.random()
    return True if u < p_true else (False if u < p_true + p_false else None)


def _antibody(rng: np.random.Generator) -> AntibodyTest:
    name = str(rng.choice(ANTIBODY_NAMES))
    result = str(rng.choice(["positive", "positive", "negative", "borderline"]))
    titre = pattern = value = uln = None
    if name == "ANA":
        titre = TITRES[rng.integers(len(TITRES))]
        pattern = None if rng.random() < 0.25 else str(rng.choice(ANA_PATTERNS))
    if name == "RF":
        uln = None if rng.random() < 0.2 else float(rng.choice([14.0, 20.0]))
        base = uln if uln is not None else 20.0
        value = None if rng.random() < 0.2 else float(rng.choice([0.5, 1.99, 2.0, 2.01, 3.0])) * base
    return AntibodyTest(name, result, titre, pattern, value, uln)


def random_inputs(n: int, seed: int) -> list[IpafInput]:
    """``n`` seeded patients; entry requirements lean to 'met' so that every status occurs often."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        values: dict[str, object] = {f: _tri(rng, 0.75, 0.12) for f in ENTRY_FIELDS}
        values["defined_ctd"] = _tri(rng, 0.12, 0.75)
        values.update({f: _tri(rng, 0.15, 0.45) for f in (*CLINICAL_FIELDS, *COMPARTMENT_FIELDS)})
        values["hrct_pattern"] = None if rng.random() < 0.3 else str(rng.choice(HRCT_PATTERNS))
        u = rng.random()
        if u < 0.3:
            biopsy = None
        elif u < 0.5:
            biopsy = "not_done"
        else:
            findings = [f for f in BIOPSY_PATTERNS if f != "not_done"]
            k = int(rng.integers(1, 3))
            biopsy = ";".join(dict.fromkeys(str(x) for x in rng.choice(findings, size=k)))
        values["biopsy_pattern"] = biopsy
        tests = tuple(_antibody(rng) for _ in range(int(rng.integers(0, 5))))
        out.append(IpafInput(patient_id=str(i + 1), antibodies=tests, **values))  # type: ignore[arg-type]
    return out


def fact_frames(inputs: list[IpafInput]) -> dict[str, pd.DataFrame]:
    """The four fact tables of ``omop.ipaf_expr`` (and persons) for ``inputs``; person_id = int(patient_id).

    Each known finding is one record; several antibody tests, biopsy findings stay several records.
    """
    persons, findings, tests, hrct, biopsy = [], [], [], [], []
    concept = 1000
    for inp in inputs:
        pid = int(inp.patient_id)
        persons.append({"person_id": pid})
        for name in (*ENTRY_FIELDS, *CLINICAL_FIELDS, *COMPARTMENT_FIELDS):
            value = getattr(inp, name)
            if value is not None:
                concept += 1
                findings.append({"person_id": pid, "field": name, "present": value, "concept_id": concept,
                                 "date": FIELD_DATE})
        for k, t in enumerate(inp.antibodies):
            tests.append({"person_id": pid, "name": t.name, "result": t.result,
                          "titre": None if t.titre is None else float(t.titre), "pattern": t.pattern,
                          "value": t.value, "uln": t.upper_limit_normal, "concept_id": 5000 + k,
                          "date": FIELD_DATE + dt.timedelta(days=k)})
        if inp.hrct_pattern is not None:
            hrct.append({"person_id": pid, "pattern": inp.hrct_pattern, "concept_id": 7000, "date": FIELD_DATE})
        if inp.biopsy_pattern is not None:
            for finding in inp.biopsy_pattern.split(";"):
                biopsy.append({"person_id": pid, "finding": finding, "concept_id": 8000, "date": FIELD_DATE})
    columns = {
        "findings": ["person_id", "field", "present", "concept_id", "date"],
        "tests": ["person_id", "name", "result", "titre", "pattern", "value", "uln", "concept_id", "date"],
        "hrct": ["person_id", "pattern", "concept_id", "date"],
        "biopsy": ["person_id", "finding", "concept_id", "date"],
    }
    rows = {"findings": findings, "tests": tests, "hrct": hrct, "biopsy": biopsy}
    frames = {name: pd.DataFrame(rows[name], columns=columns[name]) for name in columns}
    frames["persons"] = pd.DataFrame(persons, columns=["person_id"])
    return frames
