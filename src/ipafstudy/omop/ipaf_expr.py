"""The IPAF classification of ``rules/ipaf.classify_ipaf`` as Ibis column expressions, for every person at once.

Why a second implementation: an OMOP database may hold millions of persons, so the rules must run inside the
database (DuckDB, PostgreSQL, Spark) as one expression tree, not as a Python loop. The constants, item names,
settings and texts are those of :mod:`ipafstudy.rules.ipaf`; ``tests/omop/test_ipaf_expr.py`` feeds identical
patients through both and requires equal verdicts, reasons and deciding items.

Three-valued logic is SQL's: an item, entry requirement or domain is a nullable boolean, NULL = unknown
(``None`` in the rules). A domain is the Kleene OR of its items (met if any is met, unknown if none is met and
one is unknown, else not met), exactly the rules' domain. Several records of one item (two ANA tests, two HRCT
reads, a "yes" and a "no" observation) are combined as the rules combine several tests: any record meeting the
item wins, else any undecidable one leaves it unknown, else not met. To do that with one GROUP BY, each record
gets a code (2 met, 1 unknown, 0 not met) and the maximum is taken; the winning record (highest code, then the
earliest date) is the item's evidence (concept, date, value).

Inputs are four "fact" tables with the schemas below (built from a CDM by :mod:`ipafstudy.omop.facts`, or from
:class:`~ipafstudy.rules.ipaf.IpafInput` objects by the tests); no record of an item means unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ipafstudy.rules.ipaf import (
    _ENTRY_FAILURE,
    _SIMPLE_SEROLOGY,
    ANA_ANY_TITRE_PATTERNS,
    ANA_MIN_TITRE,
    CLINICAL_FIELDS,
    DOMAINS,
    ENTRY_FIELDS,
    MORPHOLOGIC_ITEMS,
    RF_ULN_MULTIPLE,
    SEROLOGIC_ITEMS,
    SUGGESTIVE_BIOPSY,
    SUGGESTIVE_HRCT,
)
from ipafstudy.settings import ClinicalSettings

#: One yes/no record of a finding; ``field`` is an IpafInput field (ENTRY_FIELDS, CLINICAL_FIELDS,
#: COMPARTMENT_FIELDS), ``present`` True for a "yes" record, False for a "no" record (never NULL).
FINDINGS_SCHEMA = ibis.schema(
    {"person_id": "int64", "field": "string", "present": "boolean", "concept_id": "int64", "date": "date"}
)
#: One autoantibody test; ``name`` canonical (rules.antibodies), ``result`` positive / negative / borderline,
#: ``titre`` the denominator (320 for 1:320), ``pattern`` an ANA_PATTERNS word, ``value``/``uln`` for RF.
ANTIBODY_SCHEMA = ibis.schema(
    {"person_id": "int64", "name": "string", "result": "string", "titre": "float64", "pattern": "string",
     "value": "float64", "uln": "float64", "concept_id": "int64", "date": "date"}
)
#: One HRCT pattern read (an HRCT_PATTERNS code).
HRCT_SCHEMA = ibis.schema({"person_id": "int64", "pattern": "string", "concept_id": "int64", "date": "date"})
#: One biopsy finding (a BIOPSY_PATTERNS code; 'not_done' = no surgical lung biopsy).
BIOPSY_SCHEMA = ibis.schema({"person_id": "int64", "finding": "string", "concept_id": "int64", "date": "date"})
#: Evidence rows: one candidate record per person and key (an IpafInput field or a serologic item name).
EVIDENCE_SCHEMA = ibis.schema(
    {"person_id": "int64", "key": "string", "code": "int8", "concept_id": "int64", "date": "date",
     "text": "string", "number": "float64", "number2": "float64"}
)

MET, UNKNOWN, NOT_MET = 2, 1, 0
#: Evidence attributes carried per criterion column of the classification (``<column>_<attribute>``).
EVIDENCE_ATTRIBUTES = ("concept_id", "date", "text", "number", "number2")
#: Keys of the two flags behind ``ro52_isolated`` (positive Ro52; positive Ro60 or SSA).
_RO52, _RO60_SSA = "_ro52_positive", "_ro60_ssa_positive"
COMPARTMENT_ITEMS = MORPHOLOGIC_ITEMS[2:]


def criterion_columns() -> dict[str, str]:
    """Criterion column (as ``IpafClassification.to_row`` names it) -> the evidence key it is read from."""
    cols = {f"entry_{f}": f for f in ENTRY_FIELDS if f != "defined_ctd"}
    cols["entry_no_defined_ctd"] = "defined_ctd"
    cols.update({f"clinical_{f}": f for f in CLINICAL_FIELDS})
    cols.update({f"serologic_{f}": f for f in SEROLOGIC_ITEMS})
    cols.update({f"morphologic_{f}": f for f in MORPHOLOGIC_ITEMS})
    return cols


def _rows(table: ir.Table, key: Any, code: Any, text: Any, number: Any = None, number2: Any = None) -> ir.Table:
    """Project a fact table onto EVIDENCE_SCHEMA (same column types whatever the source)."""
    null = ibis.null("float64")
    return table.select(
        person_id=table.person_id.cast("int64"),
        key=key if isinstance(key, ir.Value) else ibis.literal(key, "string"),
        code=code.cast("int8") if isinstance(code, ir.Value) else ibis.literal(code, "int8"),
        concept_id=table.concept_id.cast("int64"),
        date=table.date.cast("date"),
        text=text.cast("string"),
        number=null if number is None else number.cast("float64"),
        number2=null if number2 is None else number2.cast("float64"),
    )


def finding_evidence(findings: ir.Table) -> ir.Table:
    """Yes/no records -> evidence rows (yes = met, no = not met); the key is the IpafInput field."""
    code = ibis.ifelse(findings.present, MET, NOT_MET)
    return _rows(findings, findings.field, code, ibis.ifelse(findings.present, "yes", "no"))


def _ana_code(t: ir.Table) -> ir.IntegerValue:
    """``rules.ipaf._ana_test`` as a CASE: any-titre patterns first, then titre >= ANA_MIN_TITRE with a pattern."""
    any_titre = sorted(ANA_ANY_TITRE_PATTERNS)
    return ibis.cases(
        (t.result != "positive", NOT_MET),
        (t.pattern.isin(any_titre), MET),
        (t.pattern.isin(["cytoplasmic", "other"]), NOT_MET),
        (t.titre.isnull(), UNKNOWN),
        (t.titre < ANA_MIN_TITRE, ibis.ifelse(t.pattern.isnull(), UNKNOWN, NOT_MET)),
        (t.pattern.isnull(), UNKNOWN),
        else_=MET,
    )


def _rf_code(t: ir.Table) -> ir.IntegerValue:
    """``rules.ipaf._rf_test``: value >= RF_ULN_MULTIPLE x ULN when both are known, else by the result."""
    return ibis.cases(
        (t.value.notnull() & t.uln.notnull(), ibis.ifelse(t.value >= RF_ULN_MULTIPLE * t.uln, MET, NOT_MET)),
        (t.result != "positive", NOT_MET),
        else_=UNKNOWN,
    )


def serology_members(settings: ClinicalSettings) -> dict[str, frozenset[str]]:
    """Serologic item -> the canonical antibodies that count for it (ANA and RF by their own rule)."""
    ro = {"Ro60", "SSA"} | ({"Ro52"} if settings.ro52_alone_counts_as_ssa else set())
    members = {"ana": frozenset({"ANA"}), "rf": frozenset({"RF"}), "anti_ro": frozenset(ro)}
    members.update({item: names for item, _label, names in _SIMPLE_SEROLOGY})
    return {item: members[item] for item in SEROLOGIC_ITEMS}


def antibody_evidence(tests: ir.Table, settings: ClinicalSettings) -> ir.Table:
    """Antibody tests -> one evidence row per test and serologic item it belongs to (plus the Ro52 flags)."""
    pairs = [(name, item) for item, names in serology_members(settings).items() for name in sorted(names)]
    pairs += [("Ro52", _RO52), ("Ro60", _RO60_SSA), ("SSA", _RO60_SSA)]
    member = ibis.memtable(pa.table({"m_name": pa.array([p[0] for p in pairs], pa.string()),
                                     "m_key": pa.array([p[1] for p in pairs], pa.string())}))
    t = tests.join(member, tests.name == member.m_name)
    positive = t.result == "positive"
    code = ibis.cases(
        (t.m_key == "ana", _ana_code(t)),
        (t.m_key == "rf", _rf_code(t)),
        (t.m_key.isin([_RO52, _RO60_SSA]), ibis.ifelse(positive, MET, UNKNOWN)),
        else_=ibis.ifelse(positive, MET, NOT_MET),
    )
    text = ibis.literal(" ").join([t.name, t.result, t.pattern])  # NULL parts are left out
    number = ibis.ifelse(t.m_key == "ana", t.titre, t.value)
    rows = _rows(t, t.m_key, code, text, number, ibis.ifelse(t.m_key == "rf", t.uln, ibis.null("float64")))
    return rows.filter(rows.key.notin([_RO52, _RO60_SSA]) | (rows.code == MET))


def pattern_evidence(hrct: ir.Table, biopsy: ir.Table) -> ir.Table:
    """HRCT reads and biopsy findings -> evidence rows of the morphologic items 1 and 2."""
    h = _rows(hrct, "hrct_pattern", ibis.ifelse(hrct.pattern.isin(sorted(SUGGESTIVE_HRCT)), MET, NOT_MET),
              hrct.pattern)
    b = _rows(biopsy, "biopsy_pattern",
              ibis.ifelse(biopsy.finding.isin(sorted(SUGGESTIVE_BIOPSY)), MET, NOT_MET), biopsy.finding)
    return h.union(b)


def best_evidence(rows: ir.Table) -> ir.Table:
    """One row per (person, key): the highest code, then the earliest date (then concept, text, number)."""
    order = [ibis.desc(rows.code), rows.date.asc(nulls_first=False), rows.concept_id.asc(nulls_first=False),
             rows.text.asc(nulls_first=False), rows.number.asc(nulls_first=False),
             rows.number2.asc(nulls_first=False)]
    ranked = rows.mutate(_rank=ibis.row_number().over(group_by=[rows.person_id, rows.key], order_by=order))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def criterion_evidence(evidence: ir.Table, *, ranked: bool = False) -> ir.Table:
    """The evidence of each criterion: Table(person_id, criterion, concept_id, date, text, number, number2).

    One row per person and criterion with a record: the record the verdict rests on (``best_evidence``);
    ``criterion`` is the classification's column name (the CTD record is the evidence of entry_no_defined_ctd).
    """
    best = evidence if ranked else best_evidence(evidence)
    # a CASE, not a join with a name table: the ranked rows then stay one shared subquery (CTE) in the SQL
    criterion = ibis.cases(*[(best.key == key, column) for column, key in criterion_columns().items()],
                           else_=ibis.null("string"))
    named = best.mutate(criterion=criterion)
    return named.filter(named.criterion.notnull()).select("person_id", "criterion", *EVIDENCE_ATTRIBUTES)


def _tri(code: ir.IntegerValue) -> ir.BooleanValue:
    """Code -> nullable boolean (2 True, 0 False, 1 or no record NULL)."""
    return ibis.cases((code == MET, True), (code == NOT_MET, False), else_=ibis.null("boolean"))


def _is_true(value: ir.BooleanValue) -> ir.BooleanValue:
    return value.fill_null(False)


def _is_false(value: ir.BooleanValue) -> ir.BooleanValue:
    return value.fill_null(True) == ibis.literal(False)


def _not(value: ir.BooleanValue) -> ir.BooleanValue:
    """Three-valued NOT without ``~``: Ibis 12 compiles ``(~x).isnull()`` to ``NOT (x) IS NULL``, which SQL
    reads as ``NOT ((x) IS NULL)``; a CASE keeps the meaning on every backend."""
    return ibis.cases((_is_true(value), False), (_is_false(value), True), else_=ibis.null("boolean"))


def _join(sep: str, parts: Sequence[ir.StringValue]) -> ir.StringValue:
    """Parts joined by ``sep``, NULL parts left out ('' when all are NULL)."""
    return ibis.literal(sep).join(list(parts)).fill_null("")


def _when(cond: ir.BooleanValue, text: str | ir.StringValue) -> ir.StringValue:
    """``text`` where ``cond`` holds, else NULL (for :func:`_join`)."""
    return ibis.ifelse(cond.fill_null(False), text, ibis.null("string"))


def classify(persons: ir.Table, evidence: ir.Table, settings: ClinicalSettings) -> ir.Table:
    """Classify every person of ``persons`` (a table with ``person_id``) from the evidence rows.

    Columns: person_id, status ('ipaf' / 'not_ipaf' / 'indeterminate'), failure ('entry_not_met' /
    'fewer_domains' for not IPAF), combination, reason, deciding_items ('; '-joined), ro52_isolated,
    ``domain_<name>`` and per criterion (``criterion_columns``) a nullable boolean: the values of
    ``IpafClassification.to_row`` with NULL for 'unknown'. The evidence is :func:`criterion_evidence` (long:
    pivoting five attributes of 28 criteria in SQL costs more than the whole classification). The verdicts need
    only the maximum code per person and key, so they are pivoted from the raw evidence rows (no ranking).
    """
    best = evidence
    keys = sorted({*criterion_columns().values(), _RO52, _RO60_SSA})
    aggs: dict[str, ir.Value] = {}
    for key in keys:  # MAX(CASE ...) rather than MAX(...) FILTER (...): several times faster on DuckDB
        aggs[f"{key}__code"] = ibis.ifelse(best.key == key, best.code, ibis.null("int8")).max()
    wide = best.group_by("person_id").aggregate(**aggs)
    p = persons.select(person_id=persons.person_id.cast("int64")).distinct()
    t = p.left_join(wide, "person_id")
    t = t.drop(*[c for c in t.columns if c == "person_id_right"])

    # Stage 1: criteria (nullable booleans) and their evidence.
    cols: dict[str, ir.Value] = {}
    for column, key in criterion_columns().items():
        value = _tri(t[f"{key}__code"])
        if column == "entry_no_defined_ctd":
            value = _not(value)  # NOT NULL is NULL: an unknown CTD stays unknown
        elif not column.startswith("entry_") and settings.missing_feature_means == "absent":
            value = value.fill_null(False)  # _as_absent: unknown domain items read as not met
        cols[column] = value
    ro52_isolated = _is_true(_tri(t[f"{_RO52}__code"])) & _is_false(_tri(t[f"{_RO60_SSA}__code"]).fill_null(False))
    t = t.select(person_id=t.person_id, ro52_isolated=ro52_isolated, **cols)

    # Stage 2: domains, the Kleene OR of their items. Each stage refers to the previous one's columns by name
    # so that the SQL stays small (a domain is not re-expanded in every text that mentions it).
    items = {d: [c for c in criterion_columns() if c.startswith(f"{d}_")] for d in DOMAINS}
    t = t.mutate(**{f"domain_{d}": reduce(lambda a, b: a | b, [t[c] for c in items[d]]) for d in DOMAINS})
    entry_cols = [c for c in criterion_columns() if c.startswith("entry_")]

    # Stage 3: counts and flags (int32: PostgreSQL cannot cast boolean to smallint).
    t = t.mutate(
        _n_met=reduce(lambda a, b: a + b, [_is_true(t[f"domain_{d}"]).cast("int32") for d in DOMAINS]),
        _n_unknown=reduce(lambda a, b: a + b, [t[f"domain_{d}"].isnull().cast("int32") for d in DOMAINS]),
        _failed_entry=reduce(lambda a, b: a | b, [_is_false(t[c]) for c in entry_cols]),
        _unknown_entry=reduce(lambda a, b: a | b, [t[c].isnull() for c in entry_cols]),
        _met_names=_join(", ", [_when(_is_true(t[f"domain_{d}"]), d) for d in DOMAINS]),
        _unknown_domains=_join(", ", [_when(t[f"domain_{d}"].isnull(), d) for d in DOMAINS]),
        _combination=_join(" + ", [_when(_is_true(t[f"domain_{d}"]), d) for d in DOMAINS]),
    )
    t = t.mutate(
        _fewer=(t._n_met + t._n_unknown < 2) & ~t._failed_entry,
        _open=(t._unknown_entry | (t._n_met < 2)),
        _met_shown=ibis.ifelse(t._met_names == "", "none", t._met_names),
    )
    t = t.mutate(_status=ibis.cases(
        (t._failed_entry | t._fewer, "not_ipaf"), (t._open, "indeterminate"), else_="ipaf",
    ))

    # Stage 4: status, reason and deciding items, worded as rules/ipaf.classify_ipaf words them.
    combination = ibis.ifelse(t._n_met == 3, "all three", t._combination)
    entry_names = {c: c[len("entry_"):] for c in entry_cols}
    unknown_entry_names = [_when(t[c].isnull(), entry_names[c]) for c in entry_cols]
    indeterminate = "depends on unknown data: " + _join("; ", [
        _when(t._unknown_entry, "entry requirement(s) unknown: " + _join(", ", unknown_entry_names)),
        _when(t._n_met < 2, t._n_met.cast("string") + " domain(s) met (" + t._met_shown + "), unknown: "
              + t._unknown_domains + "; two needed"),
    ])
    reason = ibis.cases(
        (t._failed_entry, "entry requirement not met: "
         + _join("; ", [_when(_is_false(t[c]), _ENTRY_FAILURE[entry_names[c]]) for c in entry_cols])),
        (t._fewer, "features in fewer than two domains (met: " + t._met_shown + "); IPAF needs at least two"),
        (t._open, indeterminate),
        else_="all entry requirements met; domains met: " + combination,
    )
    unknown_items = [_when((t._n_met < 2) & t[f"domain_{d}"].isnull() & t[c].isnull(), f"{d}.{c[len(d) + 1:]}")
                     for d in DOMAINS for c in items[d]]
    met_items = [_when(_is_true(t[f"domain_{d}"]) & _is_true(t[c]), f"{d}.{c[len(d) + 1:]}")
                 for d in DOMAINS for c in items[d]]
    deciding = ibis.cases(
        (t._failed_entry, _join("; ", [_when(_is_false(t[c]), entry_names[c]) for c in entry_cols])),
        (t._fewer, _join("; ", [_when(_is_false(t[f"domain_{d}"]), d) for d in DOMAINS])),
        (t._open, _join("; ", [*unknown_entry_names, *unknown_items])),
        else_=_join("; ", met_items),
    )
    return t.select(
        person_id=t.person_id,
        status=t._status,
        failure=ibis.cases((t._failed_entry, "entry_not_met"), (t._fewer, "fewer_domains"),
                           else_=ibis.null("string")),
        combination=ibis.ifelse(t._status == "ipaf", combination, ibis.null("string")),
        reason=reason,
        deciding_items=deciding,
        ro52_isolated=t.ro52_isolated,
        **{f"domain_{d}": t[f"domain_{d}"] for d in DOMAINS},
        **{c: t[c] for c in cols},
    )
