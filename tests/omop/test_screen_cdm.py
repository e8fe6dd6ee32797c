"""The OMOP screen on a small DuckDB CDM written by the test: same verdicts as classify_ipaf, same exposure as
cohort.exposure, same age as cohort.exposure.age_at, for identical patients."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.omop.cdm_builder import CHILD, CdmBuilder
from tests.omop.ipaf_cases import random_inputs
from tests.omop.test_ipaf_expr import _cell

from ipafstudy.cohort.exposure import age_at, patient_exposure
from ipafstudy.omop.cdm import cdm_tables, connect
from ipafstudy.omop.concepts import load_concept_sets, resolve
from ipafstudy.omop.screen import ScreenOptions, materialise, screen_frame
from ipafstudy.rules.drugs import DrugMatcher
from ipafstudy.rules.ipaf import ENTRY_FIELDS, IpafInput, classify_ipaf
from ipafstudy.settings import ClinicalSettings


def screen(db: Path, options: ScreenOptions, cutoff: dt.date | None, *, everyone: bool = True,
           concepts: Path | None = None) -> pd.DataFrame:
    sets = load_concept_sets(concepts)
    con = connect(db)
    tables = cdm_tables(con)
    resolved = materialise(resolve(tables, sets))
    persons = tables.person if everyone else None
    return screen_frame(tables, sets, resolved, options, cutoff, persons).set_index("person_id")


def known_entry(inputs: list[IpafInput], seed: int) -> list[IpafInput]:
    """A CDM records diagnoses, not their absence: entry requirements are never unknown there."""
    rng = np.random.default_rng(seed)
    out = []
    for inp in inputs:
        values = {f: (bool(rng.random() < 0.8) if f != "defined_ctd" else bool(rng.random() < 0.15))
                  if getattr(inp, f) is None else getattr(inp, f) for f in ENTRY_FIELDS}
        out.append(dataclasses.replace(inp, **values))
    return out


@pytest.mark.parametrize("settings", [ClinicalSettings(), ClinicalSettings(missing_feature_means="absent",
                                                                           ro52_alone_counts_as_ssa=True)],
                         ids=["defaults", "absent-ro52"])
def test_cdm_screen_same_as_rules(tmp_path: Path, settings: ClinicalSettings) -> None:
    inputs = known_entry(random_inputs(400, seed=13), seed=14)
    builder = CdmBuilder()
    for inp in inputs:
        builder.ipaf(inp)
    db = builder.write(tmp_path / "cdm.duckdb")
    got = screen(db, ScreenOptions(settings=settings), dt.date(2024, 12, 31))
    assert sorted(got.index) == [int(i.patient_id) for i in inputs]
    problems = []
    statuses = set()
    for inp in inputs:
        want = classify_ipaf(inp, settings).to_row()
        statuses.add(want["status"])
        row = got.loc[int(inp.patient_id)]
        for column, value in want.items():
            if column != "patient_id" and _cell(column, row[column]) != value:
                problems.append(f"{inp.patient_id} {column}: rules {value!r}, CDM screen {row[column]!r}")
    # with known entry requirements, only unknown domain items leave a patient indeterminate
    possible = {"ipaf", "not_ipaf"} | ({"indeterminate"} if settings.missing_feature_means == "unknown" else set())
    assert statuses == possible
    assert problems == []


def test_candidates_are_the_ild_persons_with_evidence(tmp_path: Path) -> None:
    yes = {"alternative_etiology_excluded": True, "defined_ctd": False}
    inputs = [IpafInput("1", interstitial_pneumonia=True, raynaud=True, hrct_pattern="nsip", **yes),
              IpafInput("2", interstitial_pneumonia=False, raynaud=True, hrct_pattern="nsip", **yes)]
    builder = CdmBuilder()
    for inp in inputs:
        builder.ipaf(inp)
    db = builder.write(tmp_path / "cdm.duckdb")
    got = screen(db, ScreenOptions(), dt.date(2024, 12, 31), everyone=False)
    assert list(got.index) == [1]  # person 2 has no ILD diagnosis: not a candidate
    row = got.loc[1]
    assert row["status"] == "ipaf" and row["step"] == "no_tacrolimus"
    # the ILD record is a descendant of the ILD concept: found through concept_ancestor, and is the evidence
    assert row["entry_interstitial_pneumonia_concept_id"] == builder.by_set[CHILD["interstitial_pneumonia"]]
    assert row["entry_interstitial_pneumonia_date"] == dt.date(2020, 1, 1)
    assert row["morphologic_hrct_pattern_text"] == "nsip"
    assert row["morphologic_hrct_pattern_concept_id"] == builder.set_id("hrct_pattern", pattern="nsip")
    assert pd.isna(row["entry_no_defined_ctd_concept_id"])  # "no CTD" rests on the absence of a diagnosis


# ---------------------------------------------------------------------------------------------------------------
# Drug exposure and age against cohort.exposure
# ---------------------------------------------------------------------------------------------------------------

TOPICAL = 4_263_689  # SNOMED "Topical route" (added to the concept sets by the test's --concepts file)


def _route_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "extra.yaml"
    path.write_text(
        "format: 1\nconcept_sets:\n  route_topical:\n    group: route\n    domain: Route\n"
        "    attributes: {route: topical}\n    source: test\n    codes:\n"
        f"      - {{vocabulary_id: SNOMED, code: '359540000', name: Topical route, concept_id: {TOPICAL}}}\n",
        encoding="utf-8")
    return path


def random_courses(rng: np.random.Generator, start: dt.date) -> list[tuple[dt.date | None, dt.date | None, bool]]:
    """1-5 courses with gaps of 0, 1, 2 or more days, overlaps, open ends, late starts, topical ones."""
    out = []
    day = start
    for _ in range(int(rng.integers(1, 6))):
        day = day + dt.timedelta(days=int(rng.choice([-30, -1, 0, 1, 2, 3, 40])))
        length = int(rng.choice([0, 1, 29, 60, 89, 90, 400]))
        end = None if rng.random() < 0.12 else day + dt.timedelta(days=length)
        out.append((day, end, bool(rng.random() < 0.1)))
        if end is not None:
            day = end
    return out


@pytest.mark.parametrize("cutoff", [dt.date(2021, 6, 30), None], ids=["cutoff", "no-cutoff"])
def test_exposure_same_as_cohort_rule(tmp_path: Path, cutoff: dt.date | None) -> None:
    rng = np.random.default_rng(5)
    builder = CdmBuilder(load_concept_sets(_route_yaml(tmp_path)))
    drug = builder.by_set[CHILD["tacrolimus"]]
    want = {}
    for pid in range(1, 301):
        builder.person(pid)
        builder.condition(pid, builder.by_set["interstitial_pneumonia"], dt.date(2019, 1, 1))
        courses = random_courses(rng, dt.date(2020, 1, 1) + dt.timedelta(days=int(rng.integers(0, 600))))
        rows = []
        for start, end, topical in courses:
            builder.drug(pid, drug, start, end, TOPICAL if topical else 0)
            rows.append({"drug": "tacrolimus", "start_date": start, "end_date": end,
                         "route": "topical" if topical else None})
        if pid % 7 == 0:  # another drug never counts
            builder.drug(pid, builder.by_set["mycophenolate"], dt.date(2019, 5, 1), dt.date(2019, 9, 1))
        want[pid] = patient_exposure(str(pid), rows, cutoff, DrugMatcher("tacrolimus", ("tacrolimus",)))
    db = builder.write(tmp_path / "cdm.duckdb")
    got = screen(db, ScreenOptions(), cutoff, concepts=_route_yaml(tmp_path))
    seen = {"joined": 0, "ignored": 0, "ongoing": 0, "unexposed": 0}
    for pid, exp in want.items():
        row = got.loc[pid]
        assert bool(row["drug_exposed"]) == exp.exposed, pid
        if not exp.exposed:
            seen["unexposed"] += 1
            continue
        assert row["drug_start"] == exp.start, pid
        assert (None if pd.isna(row["drug_end"]) else row["drug_end"]) == exp.end, pid
        assert bool(row["drug_ongoing"]) == exp.ongoing, pid
        assert (None if pd.isna(row["drug_days"]) else int(row["drug_days"])) == exp.exposure_days, pid
        assert int(row["drug_courses_joined"]) == exp.n_courses_joined, pid
        seen["joined"] += exp.n_courses_joined > 1
        seen["ignored"] += exp.n_courses_ignored > 0
        seen["ongoing"] += exp.ongoing
    assert min(seen.values()) > 0, seen  # every branch of the rule was exercised


def test_age_at_start_completed_years(tmp_path: Path) -> None:
    builder = CdmBuilder()
    drug = builder.by_set["tacrolimus"]
    births = {1: (dt.date(1960, 3, 1), dt.date(2020, 2, 29)), 2: (dt.date(1960, 3, 1), dt.date(2020, 3, 1)),
              3: (dt.date(1964, 2, 29), dt.date(2021, 2, 28)), 4: (dt.date(1964, 2, 29), dt.date(2021, 3, 1)),
              5: (dt.date(2003, 6, 15), dt.date(2021, 6, 14))}
    for pid, (birth, start) in births.items():
        builder.person(pid, birth)
        builder.drug(pid, drug, start, start + dt.timedelta(days=100))
    builder.person(6, (1970, None, None))  # only the year: OHDSI convention year(start) - year_of_birth
    builder.drug(6, drug, dt.date(2020, 1, 10), dt.date(2020, 9, 1))
    builder.person(7, (1900, 1, 1), birth_datetime=dt.datetime(1970, 12, 31, 23, 0))  # birth_datetime wins
    builder.drug(7, drug, dt.date(2020, 12, 30), dt.date(2021, 9, 1))
    got = screen(builder.write(tmp_path / "cdm.duckdb"), ScreenOptions(), dt.date(2024, 12, 31))
    for pid, (birth, start) in births.items():
        assert got.loc[pid, "age_at_start"] == age_at(birth, start), pid
    assert got.loc[6, "age_at_start"] == 50
    assert got.loc[7, "age_at_start"] == age_at(dt.date(1970, 12, 31), dt.date(2020, 12, 30)) == 49
    assert got.loc[5, "step"] == "no_ild"


def test_person_facts_are_the_patients_columns(tmp_path: Path) -> None:
    """facts.person_facts (for the extract): the IpafInput fields back, biopsy findings in BIOPSY_PATTERNS order."""
    from ipafstudy.omop.facts import person_facts
    from ipafstudy.rules.ipaf import BIOPSY_PATTERNS, IpafInput

    inputs = known_entry(random_inputs(150, seed=21), seed=22)
    builder = CdmBuilder()
    for inp in inputs:
        builder.ipaf(inp)
    db = builder.write(tmp_path / "cdm.duckdb")
    sets = load_concept_sets()
    tables = cdm_tables(connect(db))
    resolved = materialise(resolve(tables, sets))
    got = person_facts(tables, sets, resolved, ClinicalSettings()).to_pyarrow().to_pandas().set_index("person_id")
    order = {b: i for i, b in enumerate(BIOPSY_PATTERNS)}
    for inp in inputs:
        row = got.loc[int(inp.patient_id)].where(got.loc[int(inp.patient_id)].notna(), None)
        back = IpafInput.from_mapping({**row.to_dict(), "patient_id": inp.patient_id})
        want = inp.biopsy_pattern and ";".join(sorted(inp.biopsy_pattern.split(";"), key=order.__getitem__))
        assert back.biopsy_pattern == want, inp.patient_id
        for name in IpafInput.field_names():
            if name not in ("patient_id", "biopsy_pattern"):
                assert getattr(back, name) == getattr(inp, name), (inp.patient_id, name)


def test_formula_text_in_a_site_label_is_escaped(tmp_path: Path) -> None:
    """A --concepts file may carry any label; candidates.csv never lets a spreadsheet run it."""
    from ipafstudy.cli import main

    extra = tmp_path / "extra.yaml"
    extra.write_text("format: 1\nconcept_sets:\n  hrct_site:\n    group: hrct_pattern\n    domain: Meas Value\n"
                     "    attributes: {pattern: '=HYPERLINK(\"x\")'}\n    source: test\n    codes:\n"
                     "      - {vocabulary_id: MYSITE, code: weird, name: weird, concept_id: 2100000009}\n",
                     encoding="utf-8")
    builder = CdmBuilder(load_concept_sets(extra))
    builder.ipaf(IpafInput("1", interstitial_pneumonia=True, alternative_etiology_excluded=True, defined_ctd=False))
    builder.observation(1, builder.by_set["hrct_read"], dt.date(2020, 1, 1), 2100000009)
    db = builder.write(tmp_path / "cdm.duckdb")
    assert main(["omop", "screen", str(db), "--out", str(tmp_path / "out"), "--concepts", str(extra)]) == 0
    cand = pd.read_csv(tmp_path / "out" / "candidates.csv", dtype=str, keep_default_na=False)
    assert cand.loc[0, "morphologic_hrct_pattern_value"] == "'=HYPERLINK(\"x\")"
    assert cand.loc[0, "morphologic_hrct_pattern"] == "no"  # not a suggestive pattern
