"""A small OMOP CDM written by the tests themselves from IpafInput facts and drug courses (independent of synth).

Each fact becomes the OMOP rows docs/omop.md describes, alternating between the equivalent forms (a condition or
an observation answered yes, an observation without an answer, a diagnosis of an alternative etiology or the
local observation answered no), and an unknown finding sometimes becomes an observation with an answer the
reading rules do not read. Concept ids follow the bundled concept sets; the ILD, CTD and tacrolimus records use
a DESCENDANT concept (reached only through concept_ancestor).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ipafstudy.omop.cdm import CDM_TABLES
from ipafstudy.omop.concepts import ConceptSets, load_concept_sets
from ipafstudy.rules.ipaf import CLINICAL_FIELDS, COMPARTMENT_FIELDS, IpafInput

FIRST_ID = 3_000_000_000
UNREAD_ANSWER = 45_877_994  # an answer concept outside answer_yes / answer_no ("unknown"): never read
CHILD = {"interstitial_pneumonia": "ild_child", "defined_ctd": "ctd_child", "tacrolimus": "tac_child"}
TYPES = {
    "person_id": pa.int64(), "gender_concept_id": pa.int64(), "year_of_birth": pa.int64(),
    "month_of_birth": pa.int64(), "day_of_birth": pa.int64(), "birth_datetime": pa.timestamp("us"),
    "care_site_id": pa.int64(), "observation_period_id": pa.int64(), "observation_period_start_date": pa.date32(),
    "observation_period_end_date": pa.date32(), "condition_occurrence_id": pa.int64(),
    "condition_concept_id": pa.int64(), "condition_start_date": pa.date32(), "condition_end_date": pa.date32(),
    "condition_type_concept_id": pa.int64(), "condition_source_value": pa.string(), "drug_exposure_id": pa.int64(),
    "drug_concept_id": pa.int64(), "drug_exposure_start_date": pa.date32(), "drug_exposure_end_date": pa.date32(),
    "quantity": pa.float64(), "days_supply": pa.int64(), "route_concept_id": pa.int64(),
    "dose_unit_source_value": pa.string(), "drug_source_value": pa.string(), "measurement_id": pa.int64(),
    "measurement_concept_id": pa.int64(), "measurement_date": pa.date32(), "measurement_type_concept_id": pa.int64(),
    "value_as_number": pa.float64(), "value_as_concept_id": pa.int64(), "unit_concept_id": pa.int64(),
    "range_low": pa.float64(), "range_high": pa.float64(), "provider_id": pa.int64(),
    "measurement_source_value": pa.string(), "observation_id": pa.int64(), "observation_concept_id": pa.int64(),
    "observation_date": pa.date32(), "observation_type_concept_id": pa.int64(), "value_as_string": pa.string(),
    "observation_event_id": pa.int64(), "obs_event_field_concept_id": pa.int64(), "concept_id": pa.int64(),
    "concept_name": pa.string(), "domain_id": pa.string(), "vocabulary_id": pa.string(),
    "concept_class_id": pa.string(), "standard_concept": pa.string(), "concept_code": pa.string(),
    "ancestor_concept_id": pa.int64(), "descendant_concept_id": pa.int64(), "min_levels_of_separation": pa.int64(),
    "max_levels_of_separation": pa.int64(),
}


class CdmBuilder:
    """Collects CDM rows; ``write(path)`` makes the DuckDB file."""

    def __init__(self, sets: ConceptSets | None = None) -> None:
        self.sets = sets or load_concept_sets()
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in CDM_TABLES}
        self.ids: dict[tuple[str, str], int] = {}
        self.next_id = FIRST_ID
        self.by_set: dict[str, int] = {}
        for cs in self.sets:
            ids = [self.concept(c.vocabulary_id, c.code, c.name, cs.domain, c.concept_id) for c in cs.codes]
            self.by_set[cs.name] = ids[0]
        for set_name, child in CHILD.items():
            cid = self.concept("TESTVOCAB", child, f"descendant of {set_name}", "Condition", None)
            self.rows["concept_ancestor"].append(
                {"ancestor_concept_id": self.by_set[set_name], "descendant_concept_id": cid,
                 "min_levels_of_separation": 1, "max_levels_of_separation": 1})
            self.by_set[child] = cid
        self.concept("TESTVOCAB", "unread_answer", "Unknown (answer not read)", "Meas Value", UNREAD_ANSWER)
        for row in list(self.rows["concept"]):
            self.rows["concept_ancestor"].append(
                {"ancestor_concept_id": row["concept_id"], "descendant_concept_id": row["concept_id"],
                 "min_levels_of_separation": 0, "max_levels_of_separation": 0})
        self.row_id = 0

    def concept(self, vocab: str, code: str, name: str, domain: str, cid: int | None) -> int:
        key = (vocab, code)
        if key in self.ids:
            return self.ids[key]
        if cid is None:
            self.next_id += 1
            cid = self.next_id
        self.ids[key] = cid
        self.rows["concept"].append({"concept_id": cid, "concept_name": name, "domain_id": domain,
                                     "vocabulary_id": vocab, "concept_class_id": domain, "standard_concept": "S",
                                     "concept_code": code})
        return cid

    def set_id(self, group: str, **attrs: str) -> int:
        """The first concept of the set of ``group`` whose attributes include ``attrs``."""
        for cs in self.sets.in_group(group):
            if all(str(cs.attributes.get(k)) == v for k, v in attrs.items()):
                return self.by_set[cs.name]
        raise KeyError(f"no set of group {group} with {attrs}")

    def _id(self) -> int:
        self.row_id += 1
        return self.row_id

    def person(self, pid: int, birth: dt.date | tuple[int, int | None, int | None] = (1960, 6, 15),
               birth_datetime: dt.datetime | None = None, period_end: dt.date = dt.date(2024, 12, 31)) -> None:
        year, month, day = (birth.year, birth.month, birth.day) if isinstance(birth, dt.date) else birth
        self.rows["person"].append({"person_id": pid, "gender_concept_id": 8532, "year_of_birth": year,
                                    "month_of_birth": month, "day_of_birth": day, "birth_datetime": birth_datetime,
                                    "care_site_id": None})
        self.rows["observation_period"].append({"observation_period_id": pid, "person_id": pid,
                                                "observation_period_start_date": dt.date(2010, 1, 1),
                                                "observation_period_end_date": period_end})

    def condition(self, pid: int, concept: int, day: dt.date) -> None:
        self.rows["condition_occurrence"].append({
            "condition_occurrence_id": self._id(), "person_id": pid, "condition_concept_id": concept,
            "condition_start_date": day, "condition_end_date": None, "condition_type_concept_id": 32817,
            "condition_source_value": None})

    def observation(self, pid: int, concept: int, day: dt.date, value_concept: int | None) -> None:
        self.rows["observation"].append({
            "observation_id": self._id(), "person_id": pid, "observation_concept_id": concept,
            "observation_date": day, "observation_type_concept_id": 32817, "value_as_number": None,
            "value_as_string": None, "value_as_concept_id": value_concept, "unit_concept_id": None,
            "observation_event_id": None, "obs_event_field_concept_id": None})

    def measurement(self, pid: int, concept: int, day: dt.date, value_concept: int | None = None,
                    number: float | None = None, high: float | None = None) -> None:
        self.rows["measurement"].append({
            "measurement_id": self._id(), "person_id": pid, "measurement_concept_id": concept,
            "measurement_date": day, "measurement_type_concept_id": 32817, "value_as_number": number,
            "value_as_concept_id": value_concept, "unit_concept_id": None, "range_low": None, "range_high": high,
            "provider_id": None, "measurement_source_value": None})

    def drug(self, pid: int, concept: int, start: dt.date | None, end: dt.date | None,
             route: int | None = None) -> None:
        self.rows["drug_exposure"].append({
            "drug_exposure_id": self._id(), "person_id": pid, "drug_concept_id": concept,
            "drug_exposure_start_date": start, "drug_exposure_end_date": end, "quantity": None, "days_supply": None,
            "route_concept_id": route, "dose_unit_source_value": None, "drug_source_value": None})

    def ipaf(self, inp: IpafInput, day: dt.date = dt.date(2020, 1, 1)) -> int:
        """Rows for one IpafInput (entry requirements must be known); returns the person_id."""
        pid = int(inp.patient_id)
        self.person(pid)
        alt = self.by_set["alternative_etiology_excluded"]
        yes, no = self.by_set["answer_yes"], self.by_set["answer_no"]
        if inp.interstitial_pneumonia:
            self.condition(pid, self.by_set[CHILD["interstitial_pneumonia"]], day)
        if inp.defined_ctd:
            self.condition(pid, self.by_set[CHILD["defined_ctd"]], day)
        if inp.alternative_etiology_excluded is False:
            if pid % 2:
                self.condition(pid, self.by_set["alternative_etiology"], day)
            else:
                self.observation(pid, alt, day, no)
        elif pid % 3 == 0:
            self.observation(pid, alt, day, yes)
        for k, name in enumerate((*CLINICAL_FIELDS, *COMPARTMENT_FIELDS)):
            value, concept = getattr(inp, name), self.by_set[name]
            form = (pid + k) % 3
            if value is True:
                if form == 0:
                    self.condition(pid, concept, day)
                else:
                    self.observation(pid, concept, day, yes if form == 1 else None)
            elif value is False:
                self.observation(pid, concept, day, no)
            elif form == 0:
                self.observation(pid, concept, day, UNREAD_ANSWER)
        results = {r: self.set_id("answer", result=r) for r in ("positive", "negative", "borderline")}
        for k, t in enumerate(inp.antibodies):
            when = day + dt.timedelta(days=k)
            concept = self.set_id("antibody", antibody=t.name)
            number = t.titre if t.name == "ANA" else t.value
            self.measurement(pid, concept, when, results[t.result], None if number is None else float(number),
                             t.upper_limit_normal)
            if t.name == "ANA" and t.pattern is not None:
                self.measurement(pid, self.by_set["ana_pattern"], when, self.set_id("ana_pattern", pattern=t.pattern))
        if inp.hrct_pattern is not None:
            self.observation(pid, self.by_set["hrct_read"], day, self.set_id("hrct_pattern", pattern=inp.hrct_pattern))
        if inp.biopsy_pattern is not None:
            for finding in inp.biopsy_pattern.split(";"):
                self.observation(pid, self.by_set["lung_biopsy"], day,
                                 self.set_id("biopsy_pattern", pattern=finding))
        return pid

    def tables(self) -> dict[str, pa.Table]:
        out = {}
        for name, columns in CDM_TABLES.items():
            rows = self.rows[name]
            out[name] = pa.table({c: pa.array([r[c] for r in rows], type=TYPES[c]) for c in columns})
        return out

    def write(self, path: Path) -> Path:
        con = duckdb.connect(str(path))
        try:
            for name, table in self.tables().items():
                con.register("_arrow", table)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _arrow')
                con.unregister("_arrow")
        finally:
            con.close()
        return path


def build(inputs: Sequence[IpafInput], path: Path) -> Path:
    """A CDM with one person per IpafInput."""
    builder = CdmBuilder()
    for inp in inputs:
        builder.ipaf(inp)
    return builder.write(path)
