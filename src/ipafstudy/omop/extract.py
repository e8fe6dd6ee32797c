"""The six study tables for the candidates of an OMOP CDM, as Ibis expressions (issue 13).

Why: once the screen has found the candidates, the rest of the pipeline (``validate``, ``screen``, ``analyze``)
runs unchanged on a CSV folder. Every table is ONE Ibis expression restricted to the candidates by a semi-join,
so the database does the work (no per-patient loops) and the same expressions serve DuckDB, PostgreSQL and Spark.
How each study column sits in the CDM is documented in docs/omop.md ("Extract"); every concept is looked up
by concept-set NAME through :func:`ipafstudy.omop.concepts.resolve`, never as a number in this module (except
the OMOP Gender concepts and the field concept that links an observation to a condition occurrence).

Writing (:func:`write_extract`) executes each expression once, formats dates as ISO text, and writes the CSV
files atomically into a new (or, with ``force``, an existing) folder; a failure leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipafstudy.data.schema import TABLES
from ipafstudy.rules.codes import PATTERNS, ZONES
from ipafstudy.rules.ipaf import CLINICAL_FIELDS, COMPARTMENT_FIELDS, ENTRY_FIELDS

if TYPE_CHECKING:  # heavy imports stay late (tests/test_conventions.py)
    import ibis.expr.types as ir

#: OMOP Gender vocabulary (standard concepts of every CDM): 8532 FEMALE, 8507 MALE.
GENDER_CONCEPTS: dict[int, str] = {8532: "female", 8507: "male"}
#: The field concept of condition_occurrence.condition_occurrence_id (CDM 5.4 "Metadata" field concepts): an
#: observation whose obs_event_field_concept_id is this and whose observation_event_id is a condition occurrence
#: describes that occurrence (here: an adverse event's grade, seriousness, outcome, attribution).
CONDITION_OCCURRENCE_FIELD = 1147127

FINDING_FIELDS: tuple[str, ...] = (*ENTRY_FIELDS, *CLINICAL_FIELDS, *COMPARTMENT_FIELDS)
#: Measurement set of the ANA pattern rows (value_as_concept_id in an ana_pattern_<p> set), joined to the ANA test.
ANA_PATTERN_SET = "ana_pattern"
AE_EVENTS: tuple[str, ...] = (
    "hypomagnesaemia", "infection", "renal_insufficiency", "gastrointestinal_discomfort", "hypertension",
    "hyperglycaemia", "tremor",
)
AE_FLAGS: tuple[str, ...] = ("serious", "led_to_discontinuation", "led_to_dose_change")
AE_OUTCOMES: tuple[str, ...] = TABLES["adverse_events"].column("outcome").allowed or ()
AE_ATTRIBUTIONS: tuple[str, ...] = TABLES["adverse_events"].column("attribution").allowed or ()
ROUTES: tuple[str, ...] = TABLES["treatments"].column("route").allowed or ()
SMOKING: tuple[str, ...] = TABLES["patients"].column("smoking").allowed or ()
READER_ROLES: tuple[str, ...] = TABLES["hrct_reads"].column("reader_role").allowed or ()
SCALES: tuple[str, ...] = ("", "_pct")  # study column suffix: grade, percent

EXTRACT_TABLES: tuple[str, ...] = tuple(TABLES)
#: Columns holding text from the database (source values) rather than our own codes, ids and ISO dates: the only
#: cells a spreadsheet could read as a formula, escaped as every CSV output is (fileio.escape_formula).
FREE_TEXT: dict[str, tuple[str, ...]] = {"treatments": ("dose_unit",), "adverse_events": ("event_detail",)}


@dataclass(frozen=True)
class ExtractSummary:
    """What an extract wrote: rows per table, and rows left out with the reason (printed and in extract.json)."""

    out: Path
    persons: int
    rows: dict[str, int]
    left_out: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"persons": self.persons, "rows": dict(self.rows), "left_out": dict(self.left_out)}


# --------------------------------------------------------------------------- concept lookups


class _Codes:
    """The resolved concept sets (concept_set, concept_id) and the set definitions, for lookups by name/group."""

    def __init__(self, codes: ir.Table, sets: Any) -> None:
        self.table = codes
        self.sets = sets
        self.names = frozenset(_set_names(sets))

    def group(self, group: str, attribute: str | None = None) -> dict[str, str]:
        """Set name -> label for the sets of ``group`` (the label: the set's ``attribute``, else its name)."""
        out: dict[str, str] = {}
        for concept_set in _in_group(self.sets, group):
            attrs = getattr(concept_set, "attributes", None) or {}
            out[concept_set.name] = str(attrs.get(attribute, concept_set.name)) if attribute else concept_set.name
        return out

    def ids(self, name: str) -> ir.Table:
        """concept_id column of one set."""
        t = self.table
        return t.filter(t.concept_set == name).select("concept_id")

    def isin(self, column: ir.IntegerColumn, name: str) -> ir.BooleanValue:
        """``column`` is a concept of set ``name`` (False for a set that is not defined)."""
        import ibis

        if name not in self.names:
            return ibis.literal(False)
        return column.isin(self.ids(name).concept_id)

    def labelled(self, names: Mapping[str, str]) -> ir.Table:
        """(concept_id, label) for the sets in ``names`` (set name -> label); one row per concept and label."""
        import ibis

        present = {k: v for k, v in names.items() if k in self.names}
        if not present:
            return ibis.memtable({"concept_id": [], "label": [], "concept_set": []},
                                 schema={"concept_id": "int64", "label": "string", "concept_set": "string"})
        t = self.table.filter(self.table.concept_set.isin(list(present)))
        label = ibis.cases(*((t.concept_set == k, v) for k, v in present.items()), else_=ibis.null("string"))
        return t.select(concept_id=t.concept_id.cast("int64"), label=label, concept_set=t.concept_set).distinct()

    def decode(self, column: ir.IntegerColumn, names: Mapping[str, str]) -> ir.StringValue:
        """A CASE expression: the label of the first set in ``names`` that holds ``column`` (NULL if none)."""
        import ibis

        branches = [(self.isin(column, k), v) for k, v in names.items() if k in self.names]
        if not branches:
            return ibis.null("string")
        return ibis.cases(*branches, else_=ibis.null("string"))


def _set_names(sets: Any) -> list[str]:
    names = getattr(sets, "names", None)
    if names is not None:
        return list(names() if callable(names) else names)
    return [s.name for s in sets]


def _in_group(sets: Any, group: str) -> list[Any]:
    return list(sets.in_group(group))


# --------------------------------------------------------------------------- the tables


def _patients(cdm: Any, codes: _Codes, persons: ir.Table, facts: ir.Table | None, drug: str) -> ir.Table:
    import ibis

    p = cdm.person.semi_join(persons, "person_id")
    sex = ibis.cases(*((p.gender_concept_id == k, v) for k, v in GENDER_CONCEPTS.items()), else_=ibis.null("string"))
    birth = ibis.date(p.year_of_birth.cast("int32"), p.month_of_birth.fill_null(7).cast("int32"),
                      p.day_of_birth.fill_null(1).cast("int32"))
    if "birth_datetime" in p.columns:
        birth = p.birth_datetime.cast("date").fill_null(birth)
    site = ibis.literal("care-site-") + p.care_site_id.cast("int64").cast("string")
    out = p.select(
        person_id=p.person_id, patient_id=p.person_id.cast("int64").cast("string"), site=site, sex=sex,
        birth_date=birth,
    )
    # smoking: the latest observation of a smoking_<status> set
    o = cdm.observation.semi_join(persons, "person_id")
    status = codes.labelled({f"smoking_{s}": s for s in SMOKING})
    o = o.join(status, o.observation_concept_id == status.concept_id)
    o = o.mutate(_rank=ibis.row_number().over(group_by=o.person_id,
                                               order_by=[o.observation_date.desc(), o.label]))
    smoking = o.filter(o._rank == 0).select(person_id="person_id", smoking="label")
    out = out.left_join(smoking, "person_id").drop("person_id_right")
    if facts is None:
        facts = _screen_facts(cdm, codes, persons)
    keep = [c for c in (*FINDING_FIELDS, "hrct_pattern", "biopsy_pattern") if c in facts.columns]
    out = out.left_join(facts.select("person_id", *keep), "person_id").drop("person_id_right")
    # concomitant antifibrotics: a course of the set overlapping a course of the study drug
    d = cdm.drug_exposure.semi_join(persons, "person_id")
    study = d.filter(codes.isin(d.drug_concept_id, drug)).select(
        "person_id", s_start="drug_exposure_start_date", s_end="drug_exposure_end_date")
    for name in ("pirfenidone", "nintedanib"):
        other = d.filter(codes.isin(d.drug_concept_id, name))
        j = other.join(study, "person_id")
        overlap = j.filter(
            (j.drug_exposure_start_date <= j.s_end.fill_null(j.drug_exposure_start_date).cast("date"))
            & (j.drug_exposure_end_date.fill_null(j.s_start).cast("date") >= j.s_start)
        ).select("person_id").distinct().mutate(**{f"_{name}": ibis.literal("yes")})
        out = out.left_join(overlap, "person_id").drop("person_id_right")
        out = out.mutate(**{name: out[f"_{name}"].fill_null("no")}).drop(f"_{name}")
    columns = TABLES["patients"].column_names
    return out.select("person_id", *[out[c] if c in out.columns else ibis.null("string").name(c) for c in columns])


def _screen_facts(cdm: Any, codes: _Codes, persons: ir.Table) -> ir.Table:
    """The IPAF columns as the screen reads them (``omop.facts.person_facts``): one reading for both paths, so
    ``ipafstudy screen`` on the extract gives the verdicts ``ipafstudy omop screen`` gives."""
    from ipafstudy.omop.facts import person_facts
    from ipafstudy.settings import ClinicalSettings

    return person_facts(cdm, codes.sets, codes.table, ClinicalSettings(), persons)


def _treatments(cdm: Any, codes: _Codes, persons: ir.Table, drugs: Mapping[str, str]) -> ir.Table:
    import ibis

    d = cdm.drug_exposure.semi_join(persons, "person_id")
    named = codes.labelled(dict(drugs))
    d = d.join(named, d.drug_concept_id == named.concept_id)
    route = codes.decode(d.route_concept_id, {f"route_{r}": r for r in ROUTES})
    unit = d.dose_unit_source_value.cast("string") if "dose_unit_source_value" in d.columns else ibis.null("string")
    return d.select(
        "person_id", patient_id=d.person_id.cast("int64").cast("string"), drug=d.label,
        start_date=d.drug_exposure_start_date.cast("date"), end_date=d.drug_exposure_end_date.cast("date"),
        dose=d.quantity.cast("float64"), dose_unit=unit, route=route,
        _order=d.drug_exposure_id,
    )


def _measurements(
    cdm: Any, codes: _Codes, persons: ir.Table, variables: Mapping[str, str], units: ir.Table,
) -> tuple[ir.Table, ir.Table]:
    """(measurements, unconverted rows per set and unit): value * factor + offset from the concept-set unit table.

    ``variables``: set name -> (study variable code); the unit written is the study's canonical unit of the code.
    """
    import ibis

    from ipafstudy.rules.units import MEASUREMENT_VARIABLES

    m = cdm.measurement.semi_join(persons, "person_id")
    named = codes.labelled(dict(variables))
    m = m.join(named, m.measurement_concept_id == named.concept_id)
    table = units.select(label_u=units.concept_set, unit_id=units.unit_concept_id.cast("int64"),
                         factor=units.factor.cast("float64"), offset=units.offset.cast("float64"))
    m = m.mutate(_unit=m.unit_concept_id.cast("int64").fill_null(0))
    j = m.left_join(table, (m.concept_set == table.label_u) & (m._unit == table.unit_id))
    j = j.filter(j.value_as_number.notnull())
    missing = j.filter(j.factor.isnull()).group_by(["label", "_unit"]).aggregate(n=ibis._.count())
    ok = j.filter(j.factor.notnull())
    canonical = {code: MEASUREMENT_VARIABLES[code].canonical_unit for code in set(variables.values())
                 if code in MEASUREMENT_VARIABLES}
    unit = ibis.cases(*((ok.label == k, v) for k, v in canonical.items()), else_=ibis.null("string")) \
        if canonical else ibis.null("string")
    out = ok.select(
        "person_id", patient_id=ok.person_id.cast("int64").cast("string"), date=ok.measurement_date.cast("date"),
        variable=ok.label, value=(ok.value_as_number * ok.factor + ok.offset.fill_null(0)).round(6), unit=unit,
        _order=ok.measurement_id,
    )
    # several values of one variable on one day (repeat tests): their mean, as the study's same-day rule reads them
    # (the validator refuses conflicting same-day values); the rows merged are counted in extract.json
    out = out.group_by(["person_id", "patient_id", "date", "variable", "unit"]).aggregate(
        value=out.value.mean().round(6), _n=out.value.count(), _order=out._order.min())
    return out, missing


def _antibodies(
    cdm: Any, codes: _Codes, persons: ir.Table, antibodies: Mapping[str, str],
) -> tuple[ir.Table, ir.Table]:
    """(antibodies, rows without a result) from measurement rows of the antibody sets.

    Lookups are equi-joins with the small resolved tables (not CASE over subqueries), so the database runs one
    hash join per lookup whatever the number of rows.
    """
    import ibis

    m = cdm.measurement.semi_join(persons, "person_id")
    named = codes.labelled(dict(antibodies))
    m = m.join(named, m.measurement_concept_id == named.concept_id).select(
        "person_id", "measurement_id", "value_as_number", "value_as_concept_id", "range_high", "label",
        _date=m.measurement_date.cast("date"))
    results = codes.labelled({"result_positive": "positive", "result_negative": "negative",
                              "result_borderline": "borderline"})
    results = results.group_by("concept_id").aggregate(coded=results.label.min())
    m = m.left_join(results, m.value_as_concept_id == results.concept_id)
    derived = ibis.cases(
        (m.value_as_number.notnull() & m.range_high.notnull() & (m.value_as_number > m.range_high), "positive"),
        (m.value_as_number.notnull() & m.range_high.notnull(), "negative"),
        else_=ibis.null("string"),
    )
    is_ana = m.label == "ANA"
    m = m.select("person_id", "measurement_id", "_date", "label", result=m.coded.fill_null(derived), _ana=is_ana,
                 titre=ibis.cases((is_ana, m.value_as_number.round(0)), else_=ibis.null("float64")),
                 value=ibis.cases((~is_ana, m.value_as_number), else_=ibis.null("float64")),
                 upper_limit_normal=ibis.cases((~is_ana, m.range_high), else_=ibis.null("float64"))).view()
    # ANA pattern: a measurement of set ana_pattern on the same person and date
    pat = codes.labelled({f"ana_pattern_{p}": p for p in TABLES["antibodies"].column("pattern").allowed or ()})
    pattern_set = codes.labelled({ANA_PATTERN_SET: "ana_pattern"})
    rows = cdm.measurement.semi_join(persons, "person_id")
    rows = rows.semi_join(pattern_set, rows.measurement_concept_id == pattern_set.concept_id)
    rows = rows.join(pat, rows.value_as_concept_id == pat.concept_id)
    rows = rows.select(p_person="person_id", p_date=rows.measurement_date.cast("date"), pattern="label")
    rows = rows.group_by(["p_person", "p_date"]).aggregate(pattern=rows.pattern.min())
    j = m.left_join(rows, (m.person_id == rows.p_person) & (m._date == rows.p_date))
    j = j.mutate(pattern=ibis.cases((j._ana, j.pattern), else_=ibis.null("string")))
    ok = j.filter(j.result.notnull())
    out = ok.select(
        "person_id", patient_id=ok.person_id.cast("int64").cast("string"), test_date=ok._date, antibody=ok.label,
        result=ok.result, titre=ok.titre, pattern=ok.pattern, value=ok.value,
        upper_limit_normal=ok.upper_limit_normal, _order=ok.measurement_id,
    )
    no_result = m.filter(m.result.isnull()).group_by("label").aggregate(n=ibis._.count())
    return out, no_result


def _zone_score_labels(codes: _Codes) -> dict[str, str]:
    """hrct_zone_score set name -> "ZONE|column" (column: the pattern, or pattern_pct for a percent scale)."""
    out = {}
    for concept_set in _in_group(codes.sets, "hrct_zone_score"):
        attrs = getattr(concept_set, "attributes", None) or {}
        zone, pattern, scale = (str(attrs.get(k, "")) for k in ("zone", "pattern", "scale"))
        if zone in ZONES and pattern in PATTERNS:
            out[concept_set.name] = f"{zone}|{pattern}{'_pct' if scale in ('pct', 'percent') else ''}"
    return out


def _hrct_reads(cdm: Any, codes: _Codes, persons: ir.Table) -> ir.Table:
    import ibis

    m = cdm.measurement.semi_join(persons, "person_id")
    zc = codes.labelled(_zone_score_labels(codes))
    m = m.join(zc, m.measurement_concept_id == zc.concept_id)
    role = codes.decode(m.measurement_type_concept_id, codes.group("hrct_reader_role", "role"))
    # not label.split("|"): Spark's split takes a regular expression, where "|" splits between every character
    bar = m.label.find("|")
    zone = m.label.substr(0, bar)
    column = m.label.substr(bar + 1)
    m = m.select("person_id", scan_date=m.measurement_date.cast("date"), provider_id=m.provider_id.cast("int64"),
                 reader_role=role, zone=zone, column=column, value=m.value_as_number.cast("float64"))
    keys = ["person_id", "scan_date", "provider_id", "reader_role", "zone"]
    wide = m.group_by(keys).aggregate(
        **{f"{p}{suffix}": m.value.max(where=m.column == f"{p}{suffix}") for suffix in SCALES for p in PATTERNS})
    reader = ibis.literal("provider-") + wide.provider_id.cast("string")
    columns = TABLES["hrct_reads"].column_names
    wide = wide.mutate(patient_id=wide.person_id.cast("int64").cast("string"), reader=reader)
    return wide.select("person_id", *columns)


def _adverse_events(cdm: Any, codes: _Codes, persons: ir.Table) -> ir.Table:
    import ibis

    c = cdm.condition_occurrence.semi_join(persons, "person_id")
    c = c.filter(codes.isin(c.condition_type_concept_id, "ae_report"))
    event = codes.decode(c.condition_concept_id, {f"ae_{e}": e for e in AE_EVENTS}).fill_null("other")
    detail = c.condition_source_value.cast("string") if "condition_source_value" in c.columns else \
        ibis.null("string")
    c = c.select("person_id", _id=c.condition_occurrence_id.cast("int64"),
                 onset_date=c.condition_start_date.cast("date"), event=event, event_detail=detail)
    o = cdm.observation.semi_join(persons, "person_id")
    o = o.filter(o.obs_event_field_concept_id == CONDITION_OCCURRENCE_FIELD)
    attrs = {"ae_grade": "grade", **{f"ae_{f}": f for f in AE_FLAGS}, "ae_outcome": "outcome",
             "ae_attribution": "attribution"}
    o = o.mutate(attr=codes.decode(o.observation_concept_id, attrs))
    o = o.filter(o.attr.notnull())
    flag = codes.decode(o.value_as_concept_id, {"answer_yes": "yes", "answer_no": "no"})
    outcome = codes.decode(o.value_as_concept_id, {f"ae_outcome_{v}": v for v in AE_OUTCOMES})
    attribution = codes.decode(o.value_as_concept_id, {f"ae_attribution_{v}": v for v in AE_ATTRIBUTIONS})
    o = o.mutate(_ev=o.observation_event_id.cast("int64"), _text=ibis.cases(
        (o.attr == "outcome", outcome), (o.attr == "attribution", attribution), else_=flag))
    wide = o.group_by("_ev").aggregate(
        grade=o.value_as_number.cast("float64").max(where=o.attr == "grade"),
        **{f: o._text.max(where=o.attr == f) for f in (*AE_FLAGS, "outcome", "attribution")},
    )
    j = c.left_join(wide, c._id == wide._ev)
    columns = TABLES["adverse_events"].column_names
    j = j.mutate(patient_id=j.person_id.cast("int64").cast("string"))
    return j.select("person_id", *columns, _order=j._id)


# --------------------------------------------------------------------------- the whole extract


@dataclass(frozen=True)
class ExtractPlan:
    """The six study tables as Ibis expressions, and the checks that must be empty before writing."""

    tables: dict[str, ir.Table]
    unconverted: ir.Table  # (label, _unit, n): measurement rows whose unit has no conversion
    no_result: ir.Table  # (label, n): antibody rows without a result (left out, counted)


def extract_tables(
    cdm: Any, sets: Any, persons: ir.Table, *, codes: ir.Table | None = None, facts: ir.Table | None = None,
    drug: str = "tacrolimus",
) -> ExtractPlan:
    """The six study tables of ``persons`` (a table with ``person_id``) as Ibis expressions (nothing runs yet).

    ``codes`` is ``concepts.resolve(cdm, sets)`` (resolved here when not given); ``facts`` the per-person IPAF
    findings (default: ``omop.facts.person_facts``, the screen's reading); ``drug`` the study drug's set
    (concomitant antifibrotics are those overlapping its courses).
    """
    from ipafstudy.omop import concepts

    resolved = _Codes(codes if codes is not None else concepts.resolve(cdm, sets), sets)
    persons = persons.select("person_id").distinct()
    measurements, unconverted = _measurements(
        cdm, resolved, persons, resolved.group("measurement", "variable"), concepts.unit_table(cdm, sets))
    tests = {k: v for k, v in resolved.group("antibody", "antibody").items() if k != ANA_PATTERN_SET}
    antibodies, no_result = _antibodies(cdm, resolved, persons, tests)
    tables = {
        "patients": _patients(cdm, resolved, persons, facts, drug),
        "antibodies": antibodies,
        "treatments": _treatments(cdm, resolved, persons, resolved.group("drug", "drug")),
        "measurements": measurements,
        "hrct_reads": _hrct_reads(cdm, resolved, persons),
        "adverse_events": _adverse_events(cdm, resolved, persons),
    }
    return ExtractPlan(tables, unconverted, no_result)


#: Sort keys of each table after person_id (deterministic files whatever the engine returns first).
_SORT: dict[str, tuple[str, ...]] = {
    "patients": (),
    "antibodies": ("test_date", "antibody", "_order"),
    "treatments": ("start_date", "drug", "_order"),
    "measurements": ("date", "variable", "_order"),
    "hrct_reads": ("scan_date", "reader_role", "reader", "zone"),
    "adverse_events": ("onset_date", "event", "_order"),
}


def _frame(expr: ir.Table, name: str) -> Any:
    """Execute one table expression and return its study columns, sorted, dates as ISO text."""
    import pandas as pd

    frame = expr.to_pandas()
    keys = ["person_id", *_SORT[name]]
    if name == "hrct_reads":  # zone order RU..LL, not alphabetical
        frame["_zone"] = frame["zone"].map({z: i for i, z in enumerate(ZONES)})
        keys = [*keys[:-1], "_zone"]
    frame = frame.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)
    schema = TABLES[name]
    out = pd.DataFrame(index=frame.index)
    for column in schema.columns:
        values = frame[column.name] if column.name in frame.columns else pd.Series([None] * len(frame))
        if column.kind == "date":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif column.kind == "integer":
            values = pd.to_numeric(values).round().astype("Int64")
        out[column.name] = values
    if "_n" in frame.columns:
        out["_n"] = frame["_n"].astype("int64")
    return out


def write_extract(
    db: str | Path, out: str | Path, *, concepts_file: str | Path | None = None, force: bool = False,
    drug: str = "tacrolimus", persons: Iterable[int] | None = None, everyone: bool = False,
) -> ExtractSummary:
    """Extract the candidates of ``db`` into the CSV folder ``out`` (validated, atomic; nothing written on error).

    The candidates are the ILD persons, as the screen finds them (``omop.facts.ild_persons``); ``persons`` restricts
    them (e.g. to some of the screen's candidates), ``everyone`` takes every person of the CDM instead (the
    benchmark of the CSV path). A measurement unit without a conversion is an error listing every set and unit
    (nothing is written).
    """
    import ibis

    from ipafstudy.fileio import atomic_write_bytes, check_output_dir, csv_text, escape_formula, output_dir
    from ipafstudy.omop import cdm as cdm_module
    from ipafstudy.omop import concepts
    from ipafstudy.omop import facts as omop_facts

    check_output_dir(out, force=force)
    sets = concepts.load_concept_sets(Path(concepts_file) if concepts_file else None)
    con = cdm_module.connect(db)
    cdm = cdm_module.cdm_tables(con)
    # two small results run once and held in memory, so the six table expressions do not recompute them
    codes = ibis.memtable(concepts.resolve(cdm, sets).to_pyarrow())
    concepts.check_units(cdm, sets, codes)  # one message naming every unit without a conversion
    chosen = cdm.person.select("person_id") if everyone else omop_facts.ild_persons(cdm, sets, codes)
    if persons is not None:
        wanted = ibis.memtable({"person_id": sorted({int(p) for p in persons})}, schema={"person_id": "int64"})
        chosen = chosen.semi_join(wanted, "person_id")
    if not everyone:
        chosen = ibis.memtable(chosen.select(person_id=chosen.person_id.cast("int64")).to_pyarrow())
    plan = extract_tables(cdm, sets, chosen, codes=codes, drug=drug)
    unconverted = plan.unconverted.to_pandas()
    if len(unconverted):  # check_units() passed, so only a set without any units can get here
        problems = [f"measurement rows of concept set {r.label!r} with unit_concept_id {int(r._unit)} ({int(r.n)} "
                    "rows) have no conversion to the study unit; add the unit to the set's units in --concepts"
                    for r in unconverted.sort_values(["label", "_unit"]).itertuples()]
        raise cdm_module.OmopError(problems, what="cannot extract")
    frames = {name: _frame(expr, name) for name, expr in plan.tables.items()}
    merged = int((frames["measurements"].pop("_n") - 1).sum()) if len(frames["measurements"]) else 0
    no_result = plan.no_result.to_pandas()
    left_out = {f"antibodies without a result ({r.label})": int(r.n) for r in no_result.itertuples()}
    if merged:
        left_out["same-day measurement values averaged into one row"] = merged
    summary = ExtractSummary(Path(out), len(frames["patients"]), {k: len(v) for k, v in frames.items()}, left_out)
    with output_dir(out, force=force) as folder:
        for name, frame in frames.items():
            for column in FREE_TEXT.get(name, ()):  # only these cells carry the database's own text
                frame[column] = frame[column].map(escape_formula, na_action="ignore")
            atomic_write_bytes(folder / f"{name}.csv", csv_text(frame, escape=False).encode("utf-8"))
        record = {"source": str(db), "concepts": str(concepts_file) if concepts_file else None, **summary.to_dict()}
        atomic_write_bytes(folder / "extract.json", (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
    return summary
