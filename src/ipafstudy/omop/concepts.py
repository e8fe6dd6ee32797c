"""Concept sets as data: which OMOP concepts stand for each fact the screening reads.

The bundled ``resources/omop_concepts.yaml`` lists, per concept set, the source codes (vocabulary_id +
concept_code: SNOMED CT, LOINC, RxNorm, UCUM, or the local IPAFSTUDY vocabulary), whether descendants count,
and where the codes come from. A user YAML file of the same format adds codes to a set (or new sets).

Concept ids are never taken from the YAML for screening: every database has its own ``concept`` table, so
``resolve`` looks each (vocabulary_id, concept_code) up there and adds descendants through
``concept_ancestor``. The ``concept_id`` a code may carry in the YAML is only what ``omop.synth`` writes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipafstudy.omop.cdm import OmopError

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

    from ipafstudy.omop.cdm import CdmTables

BUNDLED_CONCEPTS = "omop_concepts.yaml"
LOCAL_VOCABULARY = "IPAFSTUDY"
#: Local concepts (site-specific or ours) start here by OMOP convention (concept_id > 2,000,000,000).
LOCAL_CONCEPT_ID_START = 2_000_000_000
GROUPS = (
    "entry", "finding", "antibody", "answer", "ana_pattern", "hrct_pattern", "biopsy_pattern", "drug",
    "measurement", "hrct_zone_score", "hrct_reader_role", "ae", "ae_attribute", "record_type", "route", "smoking",
)
DOMAINS = ("Condition", "Drug", "Measurement", "Observation", "Meas Value", "Unit", "Procedure", "Type Concept",
           "Route")
_SET_KEYS = frozenset({"group", "domain", "include_descendants", "source", "description", "attributes",
                       "study_unit", "units", "codes", "replace"})
_CODE_KEYS = frozenset({"vocabulary_id", "code", "name", "concept_id", "verified"})
_UNIT_KEYS = frozenset({"vocabulary_id", "code", "name", "concept_id", "factor", "offset", "verified"})


@dataclass(frozen=True)
class ConceptCode:
    """One source code: the (vocabulary_id, concept_code) pair every OMOP vocabulary release keeps stable."""

    vocabulary_id: str
    code: str
    name: str
    concept_id: int | None = None  # what omop.synth writes; never used to screen a real database
    verified: str = ""  # where the code was checked (empty: not verified against an OHDSI source)


@dataclass(frozen=True)
class UnitConversion:
    """A unit concept and its conversion to the set's study unit: study value = value * factor + offset."""

    vocabulary_id: str
    code: str
    name: str
    factor: float
    offset: float = 0.0
    concept_id: int | None = None
    verified: str = ""


@dataclass(frozen=True)
class ConceptSet:
    """A named set of concepts; ``attributes`` tell the reader what the set means (field, antibody, pattern...)."""

    name: str
    group: str
    domain: str
    codes: tuple[ConceptCode, ...]
    include_descendants: bool = False
    source: str = ""
    description: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    study_unit: str | None = None
    units: tuple[UnitConversion, ...] = ()


@dataclass(frozen=True)
class ConceptSets:
    """All concept sets by name, plus the files they came from (for the run record)."""

    sets: Mapping[str, ConceptSet]
    files: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> ConceptSet:
        try:
            return self.sets[name]
        except KeyError:
            raise OmopError(f"no concept set named {name!r} (known: {', '.join(sorted(self.sets))})",
                            what="concept sets") from None

    def __contains__(self, name: object) -> bool:
        return name in self.sets

    def __iter__(self) -> Iterator[ConceptSet]:
        return iter(self.sets.values())

    def __len__(self) -> int:
        return len(self.sets)

    def names(self) -> list[str]:
        return list(self.sets)

    def in_group(self, group: str) -> list[ConceptSet]:
        """The sets of one group (e.g. every antibody set), in file order."""
        if group not in GROUPS:
            raise OmopError(f"unknown concept-set group {group!r} (known: {', '.join(GROUPS)})", what="concept sets")
        return [s for s in self.sets.values() if s.group == group]

    def code_rows(self) -> list[tuple[str, str, str, bool]]:
        """(concept_set, vocabulary_id, concept_code, include_descendants) for every code of every set."""
        return [(s.name, c.vocabulary_id, c.code, s.include_descendants) for s in self for c in s.codes]


# ---------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------


def _read_yaml(text: str, where: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built: 20x faster, same result
    try:
        return yaml.load(text, Loader=loader)  # a safe loader (C or Python)
    except yaml.YAMLError as exc:
        raise OmopError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})", what="concept sets") from None


def _study_factor(set_name: str, unit_code: str) -> tuple[float, float] | None:
    """The conversion rules.units knows for a study variable named like the set (one source of unit factors)."""
    from ipafstudy.rules.units import BUILTIN_VARIABLES, normalise_unit

    return BUILTIN_VARIABLES.factors.get(set_name, {}).get(normalise_unit(unit_code))


def _code(raw: Any, where: str, problems: list[str], keys: frozenset[str]) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping with vocabulary_id, code, name; got {raw!r}")
        return None
    unknown = sorted(set(raw) - keys)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(keys))})")
    out: dict[str, Any] = {}
    for key in ("vocabulary_id", "code"):
        value = raw.get(key)
        if value is None or not str(value).strip():
            problems.append(f"{where}: {key} is missing")
            return None
        out[key] = str(value).strip()
    out["name"] = str(raw.get("name") or "").strip()
    cid = raw.get("concept_id")
    if cid is not None:
        zero_ok = out["vocabulary_id"] == "None"  # concept 0 'No matching concept' (e.g. "no unit")
        if isinstance(cid, bool) or not isinstance(cid, int) or cid < 0 or (cid == 0 and not zero_ok):
            problems.append(f"{where}: concept_id {cid!r} must be a positive whole number (0 only for vocabulary None)")
            return None
        if out["vocabulary_id"] == LOCAL_VOCABULARY and cid <= LOCAL_CONCEPT_ID_START:
            problems.append(f"{where}: a local ({LOCAL_VOCABULARY}) concept_id must be > {LOCAL_CONCEPT_ID_START}")
    out["concept_id"] = cid
    out["verified"] = str(raw.get("verified") or "")
    return out


def _units(name: str, raw: Any, where: str, problems: list[str]) -> tuple[UnitConversion, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{where}.units: expected a list of units")
        return ()
    units = []
    for i, item in enumerate(raw):
        here = f"{where}.units[{i}]"
        code = _code(item, here, problems, _UNIT_KEYS)
        if code is None:
            continue
        factor, offset = item.get("factor"), item.get("offset", 0.0)
        if factor is None:
            known = _study_factor(name, code["code"])
            if known is None:
                problems.append(
                    f"{here}: unit {code['code']!r} has no factor and rules.units has no conversion for "
                    f"variable {name!r}; give factor: (study value = value * factor + offset)"
                )
                continue
            factor, offset = known
        try:
            factor, offset = float(factor), float(offset)
        except (TypeError, ValueError):
            problems.append(f"{here}: factor {factor!r} / offset {offset!r} must be numbers")
            continue
        if not (math.isfinite(factor) and math.isfinite(offset)) or factor == 0:
            problems.append(f"{here}: factor {factor!r} must be a finite non-zero number")
            continue
        units.append(UnitConversion(factor=factor, offset=offset, **code))
    return tuple(units)


def _merge_units(base: tuple[UnitConversion, ...], extra: tuple[UnitConversion, ...]) -> tuple[UnitConversion, ...]:
    """Units of a set extended by a user file: a unit given again (same vocabulary_id and code) takes the new factor."""
    merged = {(u.vocabulary_id, u.code): u for u in base}
    merged.update({(u.vocabulary_id, u.code): u for u in extra})
    return tuple(merged.values())


def _parse_set(name: str, raw: Any, where: str, problems: list[str], base: ConceptSet | None) -> ConceptSet | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping (group, domain, codes, ...)")
        return None
    unknown = sorted(set(raw) - _SET_KEYS)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_SET_KEYS))})")
    extend = base is not None and not raw.get("replace", False)
    group = raw.get("group", base.group if extend else None)
    domain = raw.get("domain", base.domain if extend else None)
    if group not in GROUPS:
        problems.append(f"{where}: group {group!r} is not one of {', '.join(GROUPS)}")
    if domain not in DOMAINS:
        problems.append(f"{where}: domain {domain!r} is not one of {', '.join(DOMAINS)}")
    codes_raw = raw.get("codes") or []
    if not isinstance(codes_raw, list):
        problems.append(f"{where}.codes: expected a list")
        codes_raw = []
    codes = []
    for i, item in enumerate(codes_raw):
        code = _code(item, f"{where}.codes[{i}]", problems, _CODE_KEYS)
        if code is not None:
            codes.append(ConceptCode(**code))
    units = _units(name, raw.get("units"), where, problems)
    attributes = raw.get("attributes", {})
    if not isinstance(attributes, Mapping):
        problems.append(f"{where}.attributes: expected a mapping")
        attributes = {}
    descendants = raw.get("include_descendants", base.include_descendants if extend else False)
    if not isinstance(descendants, bool):
        problems.append(f"{where}.include_descendants: expected true or false, got {descendants!r}")
        descendants = False
    if extend and base is not None:
        seen = {(c.vocabulary_id, c.code) for c in base.codes}
        return replace(
            base, group=group, domain=domain, include_descendants=descendants,
            codes=base.codes + tuple(c for c in codes if (c.vocabulary_id, c.code) not in seen),
            units=_merge_units(base.units, units),
            source="; ".join(s for s in (base.source, str(raw.get("source") or "")) if s),
            attributes={**base.attributes, **attributes},
            study_unit=raw.get("study_unit", base.study_unit),
        )
    if not codes:
        problems.append(f"{where}: a concept set needs at least one code")
    if units and not raw.get("study_unit"):
        problems.append(f"{where}: units are given but study_unit is missing")
    return ConceptSet(
        name=name, group=str(group), domain=str(domain), codes=tuple(codes), include_descendants=descendants,
        source=str(raw.get("source") or ""), description=str(raw.get("description") or ""),
        attributes=dict(attributes), study_unit=raw.get("study_unit"), units=units,
    )


def parse_concept_sets(text: str, where: str, base: Mapping[str, ConceptSet] | None = None) -> dict[str, ConceptSet]:
    """Parse one YAML document; sets named in ``base`` are extended (codes appended) unless ``replace: true``."""
    data = _read_yaml(text, where)
    problems: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("concept_sets"), Mapping):
        raise OmopError(f"{where}: expected a top-level mapping 'concept_sets: {{NAME: {{...}}}}'",
                        what="concept sets")
    unknown = sorted(set(data) - {"format", "concept_sets"})
    if unknown:
        problems.append(f"{where}: unknown top-level key(s) {', '.join(unknown)} (allowed: format, concept_sets)")
    if data.get("format", 1) != 1:
        problems.append(f"{where}: format {data.get('format')!r} is not supported (expected 1)")
    out = dict(base or {})
    for name, raw in data["concept_sets"].items():
        parsed = _parse_set(str(name), raw, f"{where}: concept set {name}", problems, out.get(str(name)))
        if parsed is not None:
            out[str(name)] = parsed
    if problems:
        raise OmopError(problems, what="concept sets")
    return out


@functools.lru_cache(maxsize=1)
def _bundled_sets() -> Mapping[str, ConceptSet]:
    """The bundled file, parsed once per process (its sets are frozen; callers get a copy of the mapping)."""
    bundled = resources.files("ipafstudy") / "resources" / BUNDLED_CONCEPTS
    return parse_concept_sets(bundled.read_text(encoding="utf-8"), BUNDLED_CONCEPTS)


def load_concept_sets(extra: Path | str | None = None) -> ConceptSets:
    """The bundled concept sets, extended by the user's YAML file ``extra`` (same format) when given."""
    sets = dict(_bundled_sets())
    files = [BUNDLED_CONCEPTS]
    if extra is not None:
        path = Path(extra)
        if not path.is_file():
            raise OmopError(f"{path}: no such concept-set file", what="concept sets")
        sets = parse_concept_sets(path.read_text(encoding="utf-8"), str(path), base=sets)
        files.append(str(path))
    return ConceptSets(sets=sets, files=tuple(files))


# ---------------------------------------------------------------------------------------------------------------
# Resolving against a CDM
# ---------------------------------------------------------------------------------------------------------------


def _memtable(columns: Mapping[str, Iterable[Any]], schema: Mapping[str, str]) -> ir.Table:
    import ibis
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "boolean": pa.bool_(), "float64": pa.float64()}
    arrow = pa.table({k: pa.array(list(v), type=types[schema[k]]) for k, v in columns.items()})
    return ibis.memtable(arrow)


def _check_vocabularies(tables: CdmTables, vocabularies: Iterable[str], sets: ConceptSets) -> None:
    """Unknown vocabulary_id (not in the database's concept table) -> one OmopError naming the sets that use it."""
    wanted = sorted(set(vocabularies))
    concept = tables.concept
    found = set(
        concept.filter(concept.vocabulary_id.isin(wanted)).select("vocabulary_id").distinct()
        .to_pyarrow().column("vocabulary_id").to_pylist()
    )
    missing = [v for v in wanted if v not in found]
    if missing:
        users = {v: sorted({s.name for s in sets for c in (*s.codes, *s.units) if c.vocabulary_id == v})
                 for v in missing}
        raise OmopError(
            [f"concept.vocabulary_id {v!r} (used by concept set{'s' if len(users[v]) > 1 else ''} "
             f"{', '.join(users[v])}) has no concept in the database's concept table" for v in missing],
            what="concept sets do not match the database vocabularies",
        )


def resolve(tables: CdmTables, sets: ConceptSets) -> ir.Table:
    """Table(concept_set: string, concept_id: int64): each set's concepts in THIS database, with descendants.

    A code is looked up by (vocabulary_id, concept_code) in ``concept``; when the set includes descendants,
    ``concept_ancestor`` adds every descendant (the concept itself is always included, whether or not the
    vocabulary lists it as its own descendant). A vocabulary_id the concept table lacks is an OmopError; a
    code missing from a known vocabulary is not (see ``unresolved_codes``).
    """
    rows = sets.code_rows()
    _check_vocabularies(tables, [r[1] for r in rows], sets)
    codes = _memtable(
        {"concept_set": [r[0] for r in rows], "vocabulary_id": [r[1] for r in rows],
         "concept_code": [r[2] for r in rows], "include_descendants": [r[3] for r in rows]},
        {"concept_set": "string", "vocabulary_id": "string", "concept_code": "string",
         "include_descendants": "boolean"},
    )
    concept = tables.concept.select(
        c_vocabulary_id=tables.concept.vocabulary_id, c_concept_code=tables.concept.concept_code,
        concept_id=tables.concept.concept_id.cast("int64"),
    )
    direct = codes.join(
        concept, [codes.vocabulary_id == concept.c_vocabulary_id, codes.concept_code == concept.c_concept_code]
    ).select("concept_set", "concept_id", "include_descendants")
    ancestor = tables.concept_ancestor
    with_desc = direct.filter(direct.include_descendants)
    descendants = with_desc.join(ancestor, with_desc.concept_id == ancestor.ancestor_concept_id).select(
        concept_set=with_desc.concept_set, concept_id=ancestor.descendant_concept_id.cast("int64")
    )
    return direct.select("concept_set", "concept_id").union(descendants, distinct=True)


def unresolved_codes(tables: CdmTables, sets: ConceptSets) -> list[tuple[str, str, str]]:
    """(concept_set, vocabulary_id, code) of codes the database's concept table does not have (for the run record)."""
    rows = sets.code_rows()
    codes = _memtable(
        {"concept_set": [r[0] for r in rows], "vocabulary_id": [r[1] for r in rows],
         "concept_code": [r[2] for r in rows]},
        {"concept_set": "string", "vocabulary_id": "string", "concept_code": "string"},
    )
    concept = tables.concept
    missing = codes.anti_join(
        concept, [codes.vocabulary_id == concept.vocabulary_id, codes.concept_code == concept.concept_code]
    ).to_pyarrow()
    out = zip(*(missing.column(c).to_pylist() for c in ("concept_set", "vocabulary_id", "concept_code")),
              strict=True)
    return sorted(out)


def unit_table(tables: CdmTables, sets: ConceptSets) -> ir.Table:
    """Table(concept_set, unit_concept_id: int64, factor: float64, offset: float64) for every set with units."""
    rows = [(s.name, u.vocabulary_id, u.code, u.factor, u.offset) for s in sets for u in s.units]
    units = _memtable(
        {"concept_set": [r[0] for r in rows], "vocabulary_id": [r[1] for r in rows],
         "concept_code": [r[2] for r in rows], "factor": [r[3] for r in rows], "offset": [r[4] for r in rows]},
        {"concept_set": "string", "vocabulary_id": "string", "concept_code": "string", "factor": "float64",
         "offset": "float64"},
    )
    concept = tables.concept.view()
    return units.join(
        concept, [units.vocabulary_id == concept.vocabulary_id, units.concept_code == concept.concept_code]
    ).select(
        concept_set=units.concept_set, unit_concept_id=concept.concept_id.cast("int64"),
        factor=units.factor, offset=units.offset,
    )


def bad_units(tables: CdmTables, sets: ConceptSets, resolved: ir.Table | None = None) -> ir.Table | None:
    """Table(concept_set, unit_concept_id, n, unit_name, unit_code): measurement units without a conversion.

    None when no set declares units. Only sets that declare ``units`` are checked; a NULL unit_concept_id counts
    as 0 ("No matching concept"), which needs a conversion like any other unit.
    """
    with_units = [s.name for s in sets if s.units]
    if not with_units:
        return None
    resolved = resolve(tables, sets) if resolved is None else resolved
    mine = resolved.filter(resolved.concept_set.isin(with_units))
    meas = tables.measurement
    rows = meas.join(mine, meas.measurement_concept_id.cast("int64") == mine.concept_id).select(
        concept_set=mine.concept_set, unit_concept_id=meas.unit_concept_id.cast("int64").fill_null(0),
    ).view()  # ibis 12: a select on a join must be a new relation before it is joined again (IntegrityError)
    known = unit_table(tables, sets).view()
    # a left join + IS NULL rather than anti_join: ibis 12 compiles an anti join followed by another join to
    # "LEFT ANTI JOIN", which PostgreSQL does not know (omop-engines notes)
    joined = rows.left_join(
        known, [rows.concept_set == known.concept_set, rows.unit_concept_id == known.unit_concept_id]
    ).select(concept_set=rows.concept_set, unit_concept_id=rows.unit_concept_id, factor=known.factor)
    bad = joined.filter(joined.factor.isnull()).group_by("concept_set", "unit_concept_id").agg(
        n=lambda t: t.count()
    ).view()
    concept = tables.concept.view()
    return bad.left_join(concept, bad.unit_concept_id == concept.concept_id.cast("int64")).select(
        "concept_set", "unit_concept_id", "n", unit_name=concept.concept_name, unit_code=concept.concept_code,
    ).order_by("concept_set", "unit_concept_id")


def check_units(tables: CdmTables, sets: ConceptSets, resolved: ir.Table | None = None) -> None:
    """OmopError naming every (concept set, measurement.unit_concept_id) with rows but no conversion."""
    expr = bad_units(tables, sets, resolved)
    if expr is None:
        return
    bad = expr.to_pyarrow().to_pylist()
    if bad:
        problems = []
        for row in bad:
            unit = f"{row['unit_code']} ({row['unit_name']})" if row["unit_name"] is not None else "not in concept"
            accepted = ", ".join(u.code for u in sets[row["concept_set"]].units)
            problems.append(
                f"measurement.unit_concept_id {row['unit_concept_id']} = {unit}: {row['n']} row(s) of concept set "
                f"{row['concept_set']!r} have no conversion to {sets[row['concept_set']].study_unit} "
                f"(accepted: {accepted}; add the unit with a factor in a --concepts YAML file)"
            )
        raise OmopError(problems, what="measurement units without a conversion")
