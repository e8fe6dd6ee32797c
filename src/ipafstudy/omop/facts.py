"""Per-person facts of the IPAF screening, read from an OMOP CDM as Ibis expressions (docs/omop.md, reading rules).

Every concept id comes from the concept sets resolved against the database (``concepts.resolve``), chosen by
the set's ``group`` and ``attributes`` (never by a hard-coded id), so a site's own codes added in a --concepts
file count everywhere. The reading rules (shared with ``omop.synth``, which plants data that follows them):

* Entry requirements are diagnoses, and a CDM records diagnoses, not their absence: interstitial pneumonia =
  a condition_occurrence of a set with ``field: interstitial_pneumonia`` (ILD and its descendants), else no;
  defined CTD = a condition (or an observation answered yes) of a ``field: defined_ctd`` set, else no;
  alternative etiology excluded = no when a condition of a set with ``meaning: not_excluded`` exists or the
  local observation is answered no, else yes. Evidence: the earliest such record (none for a "no" by absence).
* Domain findings (group ``finding``): yes = a condition_occurrence of the set, or an observation of it answered
  yes (``answer_yes``) or without an answer; no = an observation answered no (``answer_no``); no row = unknown.
  Other answers are not read.
* Antibodies (group ``antibody``): measurement rows; result from value_as_concept_id (``result`` sets); a row
  without a result concept but with value_as_number and range_high is positive when the value is above
  range_high, negative otherwise; without either it is not a result and not read. ANA titre denominator and
  RF value in value_as_number, RF upper limit of normal in range_high (0 or less = not recorded). An ANA
  pattern is a measurement of the pattern set (``role: pattern``) on the same person and date, its
  value_as_concept_id in an ``ana_pattern`` set; several patterns that day each pair with the test.
* HRCT pattern / biopsy findings: observation rows of the record set (``role: record``) of group
  ``hrct_pattern`` / ``biopsy_pattern``, the pattern or finding in value_as_concept_id.
* Several records of one item are combined as ``omop.ipaf_expr`` explains (any record meeting the item wins).
* Drug exposure: drug_exposure rows whose drug_concept_id is in the drug's set (RxNorm ingredient and every
  descendant), courses with a topical route (``route: topical`` sets) left out, joined into one exposure by the
  rule of ``cohort.exposure`` (first course; a course starting at most CONTINUATION_GAP_DAYS after the current
  end continues it; the first real gap ends it; an end after the data cut-off or missing ends at the cut-off;
  courses starting after the cut-off do not count; days count the first and the last day).
* Age at the drug start: completed years from birth_datetime, else from year/month/day_of_birth; with only
  year_of_birth known, the OHDSI convention year(start) - year_of_birth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ipafstudy.cohort.exposure import CONTINUATION_GAP_DAYS, NON_EXPOSURE_ROUTES
from ipafstudy.omop import ipaf_expr as X
from ipafstudy.omop.cdm import CdmTables, OmopError
from ipafstudy.omop.concepts import ConceptSet, ConceptSets
from ipafstudy.rules.ipaf import BIOPSY_PATTERNS, CLINICAL_FIELDS, COMPARTMENT_FIELDS, ENTRY_FIELDS
from ipafstudy.settings import ClinicalSettings

#: An open end (ongoing course) while courses are joined; replaced by the cut-off afterwards.
OPEN_END = dt.date(9999, 12, 31)
#: Findings read from the patients table columns of the same names (person_facts).
FINDING_FIELDS = (*CLINICAL_FIELDS, *COMPARTMENT_FIELDS)


def _labels(sets: ConceptSets, resolved: ir.Table, group: str, attribute: str,
            keep: Callable[[ConceptSet], bool] = lambda s: True) -> ir.Table:
    """Table(concept_id, label): the concepts of the group's sets that have ``attribute``, labelled by its value."""
    chosen = [(s.name, str(s.attributes[attribute])) for s in sets.in_group(group)
              if attribute in s.attributes and keep(s)]
    names = pa.table({"l_set": pa.array([c[0] for c in chosen], pa.string()),
                      "label": pa.array([c[1] for c in chosen], pa.string())})
    table = ibis.memtable(names)
    return resolved.join(table, resolved.concept_set == table.l_set).select(
        concept_id=resolved.concept_id.cast("int64"), label=table.label).distinct()


def _only(table: ir.Table, persons: ir.Table | None) -> ir.Table:
    """``table`` restricted to the persons of ``persons`` (all when None): a semi-join.

    Applied AFTER the join with the (small) concept table, not on the raw CDM table: the concept join is the
    more selective step, and DuckDB does not move a join across the semi-join, so a semi-join on the raw table
    probed every row (at 10^6 persons 29.5 M measurement rows, against 1.1 M after the antibody join).
    """
    # isin (IN subquery), not semi_join: Ibis 12 compiles a semi join followed by another join to LEFT SEMI JOIN,
    # which PostgreSQL does not have (tests/omop/test_engines_agree.py).
    return table if persons is None else table.filter(table.person_id.isin(persons.person_id))


def _answer(sets: ConceptSets, resolved: ir.Table, table: ir.Table) -> ir.Table:
    """``table`` (observation rows) with ``answer``: 'yes', 'no', NULL for no answer, 'other' for other answers."""
    answers = _labels(sets, resolved, "answer", "answer").rename(a_concept="concept_id", a_label="label")
    joined = table.left_join(answers, table.value_as_concept_id.cast("int64") == answers.a_concept)
    value = joined.value_as_concept_id
    answer = ibis.cases(
        (joined.a_label.notnull(), joined.a_label),
        (value.isnull() | (value == 0), ibis.null("string")),
        else_="other",
    )
    return joined.mutate(answer=answer).drop("a_concept", "a_label")


def _finding_rows(rows: ir.Table, field: ir.Value, present: ir.Value, concept: ir.Value, date: ir.Value,
                  rank: ir.Value | int = 0) -> ir.Table:
    return rows.select(person_id=rows.person_id.cast("int64"), field=field.cast("string"),
                       present=present.cast("boolean"), concept_id=concept.cast("int64"), date=date.cast("date"),
                       rank=ibis.literal(rank, "int8") if isinstance(rank, int) else rank.cast("int8"))


def _conditions(tables: CdmTables, concepts: ir.Table, persons: ir.Table | None) -> ir.Table:
    co = tables.condition_occurrence
    return _only(co.join(concepts, co.condition_concept_id.cast("int64") == concepts.concept_id).select(
        person_id=co.person_id, label=concepts.label, concept_id=concepts.concept_id,
        date=co.condition_start_date.cast("date")), persons)


def _observations(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, concepts: ir.Table,
                  persons: ir.Table | None) -> ir.Table:
    ob = tables.observation
    ob = ob.join(concepts, ob.observation_concept_id.cast("int64") == concepts.concept_id)
    ob = _only(ob.select(person_id=ob.person_id, label=ob.label, concept_id=ob.concept_id,
                         date=ob.observation_date.cast("date"), value_as_concept_id=ob.value_as_concept_id), persons)
    return _answer(sets, resolved, ob)


def entry_findings(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, persons: ir.Table) -> ir.Table:
    """One FINDINGS_SCHEMA row per person and entry requirement (never unknown: absence of a diagnosis is no)."""
    entry = _labels(sets, resolved, "entry", "field", lambda s: s.attributes.get("meaning") != "not_excluded")
    against = _labels(sets, resolved, "entry", "field", lambda s: s.attributes.get("meaning") == "not_excluded")
    cond = _conditions(tables, entry, persons)
    cond = cond.filter(cond.label.isin(["interstitial_pneumonia", "defined_ctd"]))
    obs = _observations(tables, sets, resolved, entry, persons)
    ctd_obs = obs.filter((obs.label == "defined_ctd") & (obs.answer.isnull() | (obs.answer == "yes")))
    alt_obs = obs.filter((obs.label == "alternative_etiology_excluded")
                         & (obs.answer.isnull() | obs.answer.isin(["yes", "no"])))
    alt_cond = _conditions(tables, against, persons)
    alt_cond = alt_cond.filter(alt_cond.label == "alternative_etiology_excluded")
    alt_no = alt_obs.answer.fill_null("yes") == "no"
    records = [
        _finding_rows(cond, cond.label, ibis.literal(True), cond.concept_id, cond.date),
        _finding_rows(ctd_obs, ctd_obs.label, ibis.literal(True), ctd_obs.concept_id, ctd_obs.date),
        _finding_rows(alt_cond, alt_cond.label, ibis.literal(False), alt_cond.concept_id, alt_cond.date),
        # an explicit "no" outranks an explicit "yes"; either outranks the default
        _finding_rows(alt_obs, alt_obs.label, ~alt_no, alt_obs.concept_id, alt_obs.date, ibis.ifelse(alt_no, 0, 1)),
    ]
    defaults = ibis.memtable(pa.table({
        "d_field": pa.array(list(ENTRY_FIELDS), pa.string()),
        "d_present": pa.array([f == "alternative_etiology_excluded" for f in ENTRY_FIELDS], pa.bool_()),
    }))
    p = persons.select(person_id=persons.person_id.cast("int64")).distinct()
    base = p.cross_join(defaults)
    records.append(_finding_rows(base, base.d_field, base.d_present, ibis.null("int64"), ibis.null("date"), 9))
    rows = ibis.union(*records)
    order = [rows["rank"].asc(), rows.date.asc(nulls_first=False), rows.concept_id.asc(nulls_first=False)]
    ranked = rows.mutate(_n=ibis.row_number().over(group_by=[rows.person_id, rows.field], order_by=order))
    return ranked.filter(ranked._n == 0).select("person_id", "field", "present", "concept_id", "date")


def domain_findings(tables: CdmTables, sets: ConceptSets, resolved: ir.Table,
                    persons: ir.Table | None) -> ir.Table:
    """FINDINGS_SCHEMA rows of the clinical and compartment findings: yes / explicit no records only."""
    concepts = _labels(sets, resolved, "finding", "field")
    cond = _conditions(tables, concepts, persons)
    obs = _observations(tables, sets, resolved, concepts, persons)
    obs = obs.filter(obs.answer.isnull() | obs.answer.isin(["yes", "no"]))
    return ibis.union(
        _finding_rows(cond, cond.label, ibis.literal(True), cond.concept_id, cond.date),
        _finding_rows(obs, obs.label, obs.answer.fill_null("yes") == "yes", obs.concept_id, obs.date),
    ).select("person_id", "field", "present", "concept_id", "date")


def antibody_tests(tables: CdmTables, sets: ConceptSets, resolved: ir.Table,
                   persons: ir.Table | None) -> ir.Table:
    """ANTIBODY_SCHEMA rows: one per antibody measurement with a readable result (ANA with its pattern(s))."""
    tests = _labels(sets, resolved, "antibody", "antibody", lambda s: s.attributes.get("role") != "pattern")
    pattern_records = _labels(sets, resolved, "antibody", "antibody",
                              lambda s: s.attributes.get("role") == "pattern").rename(p_concept="concept_id")
    patterns = _labels(sets, resolved, "ana_pattern", "pattern").rename(v_concept="concept_id", v_label="label")
    results = _labels(sets, resolved, "answer", "result").rename(r_concept="concept_id", r_label="label")
    m = tables.measurement
    t = m.join(tests, m.measurement_concept_id.cast("int64") == tests.concept_id)
    t = t.left_join(results, t.value_as_concept_id.cast("int64") == results.r_concept)
    number, high = t.value_as_number.cast("float64"), t.range_high.cast("float64")
    derived = ibis.ifelse(number.notnull() & high.notnull(), ibis.ifelse(number > high, "positive", "negative"),
                          ibis.null("string"))
    t = t.select(
        person_id=t.person_id.cast("int64"), name=t.label, result=t.r_label.fill_null(derived),
        titre=ibis.ifelse(number > 0, number, ibis.null("float64")), value=number,
        uln=ibis.ifelse(high > 0, high, ibis.null("float64")), concept_id=t.concept_id,
        date=t.measurement_date.cast("date"), measurement_id=t.measurement_id.cast("int64"),
    )
    t = _only(t.filter(t.result.notnull()), persons)
    pm = tables.measurement
    pat = pm.join(pattern_records, pm.measurement_concept_id.cast("int64") == pattern_records.p_concept)
    pat = pat.join(patterns, pat.value_as_concept_id.cast("int64") == patterns.v_concept)
    pat = pat.select(p_person=pat.person_id.cast("int64"), p_date=pat.measurement_date.cast("date"),
                     pattern=pat.v_label)
    pat = (pat if persons is None else pat.filter(pat.p_person.isin(persons.person_id))).distinct()
    ana = t.filter(t.name == "ANA")
    ana = ana.left_join(pat, [ana.person_id == pat.p_person, ana.date == pat.p_date]).drop("p_person", "p_date")
    other = t.filter(t.name != "ANA").mutate(pattern=ibis.null("string"))
    cols = ["person_id", "name", "result", "titre", "pattern", "value", "uln", "concept_id", "date"]
    return ibis.union(ana.select(*cols), other.select(*cols))


def _pattern_reads(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, group: str,
                   persons: ir.Table | None, column: str) -> ir.Table:
    records = _labels(sets, resolved, group, "role", lambda s: s.attributes.get("role") == "record")
    values = _labels(sets, resolved, group, "pattern").rename(v_concept="concept_id", v_label="label")
    ob = tables.observation
    ob = ob.join(records, ob.observation_concept_id.cast("int64") == records.concept_id)
    ob = ob.join(values, ob.value_as_concept_id.cast("int64") == values.v_concept)
    return _only(ob.select(person_id=ob.person_id.cast("int64"), **{column: ob.v_label},
                           concept_id=ob.v_concept, date=ob.observation_date.cast("date")), persons)


@dataclass(frozen=True)
class ScreenFacts:
    """The fact tables ``omop.ipaf_expr`` reads (schemas there), for one population of persons."""

    persons: ir.Table
    findings: ir.Table
    antibodies: ir.Table
    hrct: ir.Table
    biopsy: ir.Table

    def evidence(self, settings: ClinicalSettings) -> ir.Table:
        """Evidence rows of every criterion (EVIDENCE_SCHEMA)."""
        return ibis.union(X.finding_evidence(self.findings), X.antibody_evidence(self.antibodies, settings),
                          X.pattern_evidence(self.hrct, self.biopsy))


def screen_facts(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, persons: ir.Table) -> ScreenFacts:
    """Every IPAF fact of ``persons`` (a table with person_id) as Ibis expressions; nothing runs yet."""
    findings = ibis.union(entry_findings(tables, sets, resolved, persons),
                          domain_findings(tables, sets, resolved, persons))
    return ScreenFacts(
        persons=persons.select(person_id=persons.person_id.cast("int64")).distinct(),
        findings=findings,
        antibodies=antibody_tests(tables, sets, resolved, persons),
        hrct=_pattern_reads(tables, sets, resolved, "hrct_pattern", persons, "pattern"),
        biopsy=_pattern_reads(tables, sets, resolved, "biopsy_pattern", persons, "finding"),
    )


def ild_persons(tables: CdmTables, sets: ConceptSets, resolved: ir.Table) -> ir.Table:
    """Table(person_id): every person with an interstitial pneumonia diagnosis (the screening candidates)."""
    concepts = _labels(sets, resolved, "entry", "field",
                       lambda s: s.attributes.get("field") == "interstitial_pneumonia"
                       and s.attributes.get("meaning") != "not_excluded")
    cond = _conditions(tables, concepts, None)
    return cond.select(person_id=cond.person_id.cast("int64")).distinct()


# ---------------------------------------------------------------------------------------------------------------
# Drug exposure and age
# ---------------------------------------------------------------------------------------------------------------


def drug_concepts(sets: ConceptSets, resolved: ir.Table, drug: str) -> ir.Table:
    """Table(concept_id) of the drug's sets (group drug, ``attributes.drug == drug``); an unknown drug is an error."""
    names = [s.name for s in sets.in_group("drug") if str(s.attributes.get("drug", s.name)) == drug]
    if not names:
        known = sorted({str(s.attributes.get("drug", s.name)) for s in sets.in_group("drug")})
        raise OmopError(f"no drug concept set for the study drug {drug!r} (drug sets: {', '.join(known)}); add one "
                        "with group: drug and attributes: {drug: " + drug + "} in a --concepts YAML file",
                        what="concept sets")
    found = _labels(sets, resolved, "drug", "drug", lambda s: s.name in names)
    return found.select("concept_id").distinct()


def drug_exposures(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, drug: str,
                   cutoff: dt.date | None, persons: ir.Table | None) -> ir.Table:
    """Per exposed person: drug_start, drug_end, drug_ongoing, drug_days, drug_courses, drug_courses_joined.

    The rule of ``cohort.exposure.patient_exposure`` (module docstring), as window functions: courses sorted by
    start (then end, id); a running maximum of the previous ends; a course starting more than
    CONTINUATION_GAP_DAYS after it opens a new run; only the first run is the exposure.
    """
    concepts = drug_concepts(sets, resolved, drug)
    de = tables.drug_exposure
    de = _only(de.filter(de.drug_concept_id.cast("int64").isin(concepts.concept_id)), persons)
    topical = _labels(sets, resolved, "route", "route",
                      lambda s: str(s.attributes.get("route")) in NON_EXPOSURE_ROUTES)
    de = de.filter(~de.route_concept_id.cast("int64").isin(topical.concept_id).fill_null(False))
    c = de.select(person_id=de.person_id.cast("int64"), start=de.drug_exposure_start_date.cast("date"),
                  end=de.drug_exposure_end_date.cast("date"), course_id=de.drug_exposure_id.cast("int64"))
    c = c.filter(c.start.notnull())
    counted = c.group_by("person_id").aggregate(drug_courses=c.count())
    if cutoff is not None:
        c = c.filter(c.start <= ibis.literal(cutoff, "date"))
    c = c.mutate(end_key=c.end.fill_null(ibis.literal(OPEN_END, "date")))
    order = [c.start.asc(), c.end_key.asc(), c.course_id.asc()]
    c = c.mutate(run_end=c.end_key.max().over(ibis.window(group_by="person_id", order_by=order,
                                                          preceding=None, following=0)))
    c = c.mutate(prev_end=c.run_end.lag().over(ibis.window(group_by="person_id", order_by=order)))
    gap = c.prev_end.notnull() & (c.start.delta(c.prev_end.fill_null(c.start), unit="day") > CONTINUATION_GAP_DAYS)
    c = c.mutate(_gap=gap.cast("int32"))
    c = c.mutate(_run=c._gap.sum().over(ibis.window(group_by="person_id", order_by=order, preceding=None,
                                                     following=0)))
    first = c.filter(c._run == 0)
    exp = first.group_by("person_id").aggregate(drug_start=first.start.min(), _end=first.end_key.max(),
                                                drug_courses_joined=first.count())
    if cutoff is None:
        end = ibis.ifelse(exp._end == ibis.literal(OPEN_END, "date"), ibis.null("date"), exp._end)
        ongoing = end.isnull()
    else:
        cut = ibis.literal(cutoff, "date")
        end = ibis.ifelse(exp._end > cut, cut, exp._end)
        ongoing = exp._end > cut  # ongoing, or a recorded end after the cut-off
    exp = exp.mutate(drug_end=end, drug_ongoing=ongoing)
    exp = exp.mutate(drug_days=exp.drug_end.delta(exp.drug_start, unit="day") + 1).drop("_end")
    exp = exp.join(counted, "person_id")
    return exp.select("person_id", "drug_start", "drug_end", "drug_ongoing", "drug_days", "drug_courses",
                      "drug_courses_joined")


def age_on(tables: CdmTables, persons: ir.Table, day_column: str) -> ir.Table:
    """``persons`` with ``age_at_start``: completed years on ``day_column`` (module docstring rule); NULL if unknown."""
    pe = tables.person.select(
        a_person=tables.person.person_id.cast("int64"), bdt=tables.person.birth_datetime.cast("date"),
        yob=tables.person.year_of_birth.cast("int64"), mob=tables.person.month_of_birth.cast("int64"),
        dob=tables.person.day_of_birth.cast("int64"),
    )
    t = persons.left_join(pe, persons.person_id == pe.a_person)
    day = t[day_column]
    year = t.bdt.year().cast("int64").fill_null(t.yob)
    month_day = ibis.ifelse(t.bdt.notnull(), t.bdt.month() * 100 + t.bdt.day(), t.mob * 100 + t.dob)
    before_birthday = (day.month() * 100 + day.day()) < month_day
    age = day.year() - year - ibis.ifelse(before_birthday.fill_null(False), 1, 0)
    return t.mutate(age_at_start=age.cast("float64")).drop("a_person", "bdt", "yob", "mob", "dob")


def person_facts(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, settings: ClinicalSettings,
                 persons: ir.Table | None = None) -> ir.Table:
    """One row per person: the patients-table IPAF columns as ``ipafstudy validate`` reads them.

    interstitial_pneumonia, alternative_etiology_excluded, defined_ctd and the findings as 'yes' / 'no' / NULL
    (unknown); hrct_pattern = the pattern the screen's HRCT item rests on; biopsy_pattern = every finding
    recorded, ';'-joined in BIOPSY_PATTERNS order ('not_done' only when no finding was recorded). For the extract:
    ``ipafstudy screen`` on these columns gives the verdicts ``ipafstudy omop screen`` gives.
    """
    persons = tables.person if persons is None else persons
    facts = screen_facts(tables, sets, resolved, persons)
    no_biopsy = facts.biopsy.filter(ibis.literal(False))  # biopsy findings are listed below, not ranked
    best = X.best_evidence(ibis.union(X.finding_evidence(facts.findings), X.pattern_evidence(facts.hrct, no_biopsy)))
    yes_no = ibis.cases((best.code == X.MET, "yes"), (best.code == X.NOT_MET, "no"), else_=ibis.null("string"))
    fields: Sequence[str] = (*ENTRY_FIELDS, *FINDING_FIELDS)
    aggs: dict[str, ir.Value] = {f: ibis.ifelse(best.key == f, yes_no, ibis.null("string")).max() for f in fields}
    aggs["hrct_pattern"] = ibis.ifelse(best.key == "hrct_pattern", best.text, ibis.null("string")).max()
    wide = best.group_by("person_id").aggregate(**aggs)
    b = facts.biopsy
    found = b.group_by("person_id").aggregate(**{f"_b_{k}": (b.finding == k).any() for k in BIOPSY_PATTERNS})
    findings = [ibis.ifelse(found[f"_b_{k}"], k, ibis.null("string")) for k in BIOPSY_PATTERNS if k != "not_done"]
    joined = ibis.literal(";").join(findings).fill_null("")
    found = found.select(b_person=found.person_id, biopsy_pattern=ibis.cases(
        (joined != "", joined), (found._b_not_done, "not_done"), else_=ibis.null("string")))
    p = facts.persons
    out = p.left_join(wide, "person_id")
    out = out.drop(*[c for c in out.columns if c == "person_id_right"])
    out = out.left_join(found, out.person_id == found.b_person).drop("b_person")
    return out.select("person_id", *fields, "hrct_pattern", "biopsy_pattern")
