"""``ipafstudy omop screen``: IPAF candidates and study-drug exposure from an OMOP CDM, explained per criterion.

The screen is one Ibis expression tree (``screen_table``) that the database runs: ILD persons -> facts
(``omop.facts``) -> the IPAF classification (``omop.ipaf_expr``) -> exposure to the study drug and age at its
start -> the first eligibility step each person fails, in the order of ``cohort.screening``. Only two small
lookups run before it (the resolved concept sets, and the data cut-off when the settings leave it open).
Python then formats the result: ``candidates.csv`` (one row per ILD person: verdict and evidence per
criterion), ``flow.json`` (the screening flow with counts) and ``run.json`` (inputs with checksums, settings,
concept files, versions, output checksums), all written atomically into a new (or, with force, existing) folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import platform
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from ipafstudy.cohort.screening import NOT_IPAF_REASONS, step_labels
from ipafstudy.fileio import atomic_write_bytes, atomic_write_text, check_output_dir, output_dir, sha256_file
from ipafstudy.omop import facts as F
from ipafstudy.omop import ipaf_expr as X
from ipafstudy.omop.cdm import CdmTables, cdm_tables
from ipafstudy.omop.concepts import ConceptSets, resolve, unresolved_codes
from ipafstudy.settings import ClinicalSettings

#: Steps of the OMOP screen, in order (keys as cohort.screening's FLOW_KEYS where the step is the same).
SCREEN_STEPS: tuple[str, ...] = ("persons", "no_ild", "not_ipaf", "no_tacrolimus", "under_age", "short_exposure",
                                 "eligible")
OUTPUT_FILES = ("candidates.csv", "flow.json", "run.json")


@dataclass(frozen=True)
class ScreenOptions:
    """What the screen needs from a plan: the clinical settings and the study drug (concept-set drug name)."""

    settings: ClinicalSettings = field(default_factory=ClinicalSettings)
    drug: str = "tacrolimus"
    drug_label: str | None = None
    primary_outcome: str = "fvc_pct_pred"

    @property
    def label(self) -> str:
        return self.drug_label or self.drug


def materialise(expr: ir.Table) -> ir.Table:
    """A small result (resolved concept sets) run once and held as an in-memory table for the big tree."""
    return ibis.memtable(expr.to_pyarrow())


@contextlib.contextmanager
def _unfused_selects() -> Iterator[None]:
    """Ibis compiles without merging nested SELECTs (``ibis.options.sql.fuse_selects``), restored afterwards.

    Why: for the screen's tree (about 60 KB of SQL) Ibis spends about 40 % of its compile time trying to merge
    each SELECT into the one below and rejecting most merges; the database's optimizer flattens the nested
    SELECTs itself. Same query, same rows (tests/omop run the screen on DuckDB, PostgreSQL and Spark).
    """
    before = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = False
    try:
        yield
    finally:
        ibis.options.sql.fuse_selects = before


def execute(expr: ir.Table) -> Any:
    """Run a screen expression (compiled as :func:`_unfused_selects` says) and fetch it as a pyarrow table."""
    with _unfused_selects():
        return expr.to_pyarrow()


def data_cutoff(tables: CdmTables, settings: ClinicalSettings) -> dt.date | None:
    """The cut-off: the setting, else the latest observation_period_end_date of the CDM (None when empty)."""
    if settings.data_cutoff_date is not None:
        return settings.data_cutoff_date
    value = tables.observation_period.observation_period_end_date.cast("date").max().to_pyarrow().as_py()
    return value


def screen_table(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, options: ScreenOptions,
                 cutoff: dt.date | None, persons: ir.Table | None = None) -> ir.Table:
    """The screen as one expression: one row per person of ``persons`` (default: every ILD person).

    Columns: the classification of ``ipaf_expr.classify`` (without evidence: see :func:`screen_query`), then
    drug_exposed, drug_start, drug_end, drug_ongoing, drug_days, drug_courses, drug_courses_joined, age_at_start
    and ``step`` (the first step failed, or 'eligible').
    """
    return _screen_parts(tables, sets, resolved, options, cutoff, persons)[0]


def _screen_parts(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, options: ScreenOptions,
                  cutoff: dt.date | None, persons: ir.Table | None) -> tuple[ir.Table, ir.Table]:
    s = options.settings
    population = F.ild_persons(tables, sets, resolved) if persons is None else persons
    facts = F.screen_facts(tables, sets, resolved, population)
    evidence = facts.evidence(s)
    cls = X.classify(facts.persons, evidence, s)
    exposure = F.drug_exposures(tables, sets, resolved, options.drug, cutoff, population)
    t = cls.left_join(exposure, "person_id")
    t = t.drop(*[c for c in t.columns if c == "person_id_right"])
    t = t.mutate(drug_exposed=t.drug_start.notnull())
    t = F.age_on(tables, t, "drug_start")
    ild = t.entry_interstitial_pneumonia.fill_null(False)
    step = ibis.cases(
        (~ild, "no_ild"),
        (t.status != "ipaf", "not_ipaf"),
        (~t.drug_exposed, "no_tacrolimus"),
        (t.age_at_start.isnull() | (t.age_at_start < s.min_age), "under_age"),
        (t.drug_days.isnull() | (t.drug_days < s.min_exposure_days), "short_exposure"),
        else_="eligible",
    )
    return t.mutate(step=step), X.criterion_evidence(evidence)


def screen_query(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, options: ScreenOptions,
                 cutoff: dt.date | None, persons: ir.Table | None = None) -> ir.Table:
    """``screen_table`` and the evidence of every criterion (``ipaf_expr.criterion_evidence``) as ONE query.

    A union: the per-person rows (``criterion`` NULL) and the evidence rows (``criterion`` set, the per-person
    columns NULL), so the facts are read once; :func:`split_result` separates them, :func:`with_evidence`
    puts the evidence beside each person.
    """
    table, evidence = _screen_parts(tables, sets, resolved, options, cutoff, persons)
    schema, ev_schema = table.schema(), evidence.schema()
    left = table.mutate(**{f"e_{a}": ibis.null(ev_schema[a]) for a in ("criterion", *X.EVIDENCE_ATTRIBUTES)})
    right = evidence.select(
        person_id=evidence.person_id,
        **{c: ibis.null(schema[c]) for c in table.columns if c != "person_id"},
        **{f"e_{a}": evidence[a] for a in ("criterion", *X.EVIDENCE_ATTRIBUTES)},
    )
    return left.union(right.select(*left.columns))


def split_result(result: Any) -> tuple[Any, Any]:
    """The executed ``screen_query`` (pyarrow table) -> (per-person frame, evidence frame) in pandas."""
    import pyarrow.compute as pc

    is_evidence = pc.is_valid(result.column("e_criterion"))
    person_columns = [c for c in result.column_names if not c.startswith("e_")]
    evidence_columns = ["person_id", *(f"e_{a}" for a in ("criterion", *X.EVIDENCE_ATTRIBUTES))]
    persons = result.filter(pc.invert(is_evidence)).select(person_columns).to_pandas()
    evidence = result.filter(is_evidence).select(evidence_columns).to_pandas()
    evidence.columns = ["person_id", "criterion", *X.EVIDENCE_ATTRIBUTES]
    return persons, evidence


def with_evidence(persons: Any, evidence: Any) -> Any:
    """Per person, ``<criterion>_<attribute>`` columns from the long evidence (a pandas pivot, no loop)."""
    import pandas as pd

    wide = evidence.set_index(["person_id", "criterion"])[list(X.EVIDENCE_ATTRIBUTES)].unstack("criterion")
    columns = {}
    for criterion in X.criterion_columns():
        for attr in X.EVIDENCE_ATTRIBUTES:
            key = (attr, criterion)
            columns[f"{criterion}_{attr}"] = wide[key] if key in wide.columns else pd.Series(dtype=object)
    block = pd.DataFrame(columns, index=wide.index)
    return persons.join(block, on="person_id")


def screen_frame(tables: CdmTables, sets: ConceptSets, resolved: ir.Table, options: ScreenOptions,
                 cutoff: dt.date | None, persons: ir.Table | None = None) -> Any:
    """The executed screen with evidence columns: one pandas row per person (one query)."""
    persons_frame, evidence = split_result(execute(screen_query(tables, sets, resolved, options, cutoff, persons)))
    return with_evidence(persons_frame, evidence)


# ---------------------------------------------------------------------------------------------------------------
# Formatting (on the executed result, column by column in Arrow and NumPy: no per-person loop)
# ---------------------------------------------------------------------------------------------------------------


def _text(array: Any) -> Any:
    """Any Arrow column as text ('' for NULL): dates ISO, whole numbers without '.0' (640.0 -> '640')."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(array.type):
        whole = pc.and_(pc.is_finite(array), pc.equal(array, pc.floor(array)))
        as_int = pc.cast(pc.if_else(whole, array, None), pa.int64(), safe=False)
        text = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(array, pa.string()))
    else:
        text = pc.cast(array, pa.string())
    return pc.fill_null(text, "")


def _array(values: Any) -> Any:
    """One Arrow array (a chunked array's chunks combined)."""
    return values.combine_chunks() if hasattr(values, "combine_chunks") else values


def _yes_no(array: Any) -> Any:
    """A nullable boolean column as yes / no / unknown."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.if_else(array, "yes", "no"), "unknown")


def _join(*parts: Any) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "")


def _evidence_values(evidence: Any, codes: Any, names: list[str]) -> Any:
    """The evidence value of every evidence row as text, each by its criterion's format: 'yes'/'no',
    'ANA positive speckled 1:640' (serologic_ana), 'RF positive 45 (ULN 20)' (serologic_rf), 'nsip'.

    The ANA and RF formats are built on their own rows only and put back in place (``replace_with_mask``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = _array(_text(evidence.column("e_text")))
    for criterion in ("serologic_ana", "serologic_rf"):
        if criterion not in names:
            continue
        mask = pa.array(codes == names.index(criterion))
        rows = evidence.filter(mask)
        text, number = _text(rows.column("e_text")), _text(rows.column("e_number"))
        if criterion == "serologic_ana":
            formatted = pc.if_else(pc.equal(number, ""), text, _join(text, " 1:", number))
        else:
            uln = _text(rows.column("e_number2"))
            valued = pc.if_else(pc.equal(number, ""), text, _join(text, " ", number))
            formatted = pc.if_else(pc.equal(uln, ""), valued, _join(valued, " (ULN ", uln, ")"))
        values = pc.replace_with_mask(values, mask, _array(pc.cast(formatted, pa.string())))
    return values


def candidates_table(result: Any) -> Any:
    """candidates.csv as a pyarrow table of text columns, from the executed ``screen_query`` (pyarrow): per ILD
    person the verdict, step, exposure and, per criterion, verdict and evidence (concept, date, value).

    The evidence rows are formatted as text once (all criteria together), then each criterion's cells are
    one ``take`` per text column, aligned with the persons (a person without evidence points at an empty row).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    is_evidence = pc.is_valid(result.column("e_criterion"))
    person_columns = [c for c in result.column_names if not c.startswith("e_")]
    evidence_columns = ["person_id", *(c for c in result.column_names if c.startswith("e_"))]
    people = result.select(person_columns).filter(pc.invert(is_evidence)).sort_by("person_id").combine_chunks()
    evidence = result.select(evidence_columns).filter(is_evidence).combine_chunks()  # one chunk: fast take
    out: dict[str, Any] = {"person_id": _text(people.column("person_id"))}
    for name in ("status", "step", "failure", "combination", "reason", "deciding_items"):
        out[name] = _text(people.column(name))
    out["ro52_isolated"] = _yes_no(people.column("ro52_isolated"))
    exposed = people.column("drug_exposed")
    out["drug_exposed"] = _yes_no(exposed)
    out["drug_start"], out["drug_end"] = _text(people.column("drug_start")), _text(people.column("drug_end"))
    out["drug_ongoing"] = pc.if_else(exposed, _yes_no(people.column("drug_ongoing")), "")
    for name in ("drug_days", "drug_courses", "drug_courses_joined", "age_at_start"):
        out[name] = _text(people.column(name))
    for d in X.DOMAINS:
        out[f"domain_{d}"] = _yes_no(people.column(f"domain_{d}"))
    ids = people.column("person_id").to_numpy()
    # the criterion names dictionary-encoded once: each criterion's rows by an integer test, not a string filter
    encoded = pc.dictionary_encode(evidence.column("e_criterion")).combine_chunks()
    codes, names = encoded.indices.to_numpy(), encoded.dictionary.to_pylist()
    evidence_ids = evidence.column("person_id").to_numpy()
    blank = pa.array([""], pa.string())  # the row a person without evidence points at (index len(evidence))
    cells = {suffix: pa.concat_arrays([_array(pc.cast(values, pa.string())), blank]) for suffix, values in (
        ("concept_id", _text(evidence.column("e_concept_id"))), ("date", _text(evidence.column("e_date"))),
        ("value", _evidence_values(evidence, codes, names)))}
    for criterion in X.criterion_columns():
        out[criterion] = _yes_no(people.column(criterion))
        mine = np.flatnonzero(codes == names.index(criterion)) if criterion in names else np.array([], np.int64)
        where = np.full(len(ids), evidence.num_rows, dtype=np.int64)  # each person's evidence row, or the blank
        where[np.searchsorted(ids, evidence_ids[mine])] = mine
        index = pa.array(where)
        for suffix, values in cells.items():
            out[f"{criterion}_{suffix}"] = values.take(index)
    return pa.table({k: pc.cast(v, pa.string()) for k, v in out.items()})


def candidates_frame(result: Any) -> Any:
    """:func:`candidates_table` as a pandas DataFrame (text cells)."""
    return candidates_table(result).to_pandas()


def csv_bytes(table: Any, plain: frozenset[str] = frozenset()) -> bytes:
    """A table of text columns as CSV, byte for byte what ``fileio.csv_text`` writes, built in Arrow.

    Same conventions (header, ',' separator, '\\n' line ends, minimal quoting: a cell with a comma, quote or a
    line feed is quoted and its quotes doubled) and the same formula escaping (``fileio.escape_formula`` on the cells
    that start with a formula character), at a small fraction of the time of pandas' writer (60,000 candidates x
    131 columns). ``plain``: columns whose cells cannot need quoting or escaping by construction (ids, dates,
    numbers, yes/no), not tested cell by cell. ``tests/omop`` compares the two.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from ipafstudy.fileio import FORMULA_TRIGGERS, csv_text, escape_formula

    header = csv_text(pd.DataFrame(columns=table.column_names))
    if table.num_rows == 0:
        return header.encode("utf-8")
    cells = []
    for name in table.column_names:
        column = pc.cast(table.column(name), pa.string()).combine_chunks()
        if name in plain:
            cells.append(column)
            continue
        risky = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=pa.array(FORMULA_TRIGGERS))
        if pc.any(risky).as_py():
            values = column.to_pylist()
            flags = risky.to_pylist()
            column = pa.array([escape_formula(v) if f else v for v, f in zip(values, flags, strict=True)], pa.string())
        # as csv_text (line end \n): a lone \r stays unquoted; three literal searches are faster than one regex
        needs = pc.or_(pc.or_(pc.match_substring(column, ","), pc.match_substring(column, '"')),
                       pc.match_substring(column, "\n"))
        if not pc.any(needs).as_py():  # most columns have no cell to quote: skip building the quoted text
            cells.append(column)
            continue
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
        cells.append(pc.if_else(needs, quoted, column))
    lines = pc.binary_join_element_wise(*cells, ",")
    # all lines joined in Arrow (one list of every line, joined by '\n'), no Python string per line
    every = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()),
                                          pc.cast(lines, pa.large_string()))
    body = pc.binary_join(every, pa.scalar("\n", pa.large_string()))[0]
    return header.encode("utf-8") + body.as_buffer().to_pybytes() + b"\n"


def flow_record(result: Any, n_persons: int, options: ScreenOptions) -> dict[str, Any]:
    """flow.json: each step with n before / removed / after, its label and rule, and the not-IPAF breakdown.

    ``result``: one row per screened (ILD) person with step, status and failure (candidates.csv's columns).
    """
    labels = step_labels(options.settings, options.primary_outcome, options.label)
    words = {
        "persons": ("Persons in the CDM", "every person of the person table"),
        "no_ild": ("No interstitial lung disease", "no condition of the interstitial_pneumonia concept set"),
        "not_ipaf": labels["not_ipaf"],
        "no_tacrolimus": (labels["no_tacrolimus"][0], f"no {options.label} drug_exposure (RxNorm ingredient and "
                          "descendants, topical routes left out) starting on or before the data cut-off"),
        "under_age": labels["under_age"],
        "short_exposure": labels["short_exposure"],
        "eligible": ("Eligible for extraction", "baseline and follow-up of the outcomes are decided on the extract "
                     "(ipafstudy omop extract, then ipafstudy screen / analyze)"),
    }
    counts = result["step"].value_counts().to_dict()
    steps = []
    remaining = n_persons
    for key in SCREEN_STEPS:
        label, reason = words[key]
        if key in ("persons", "eligible"):
            steps.append({"key": key, "label": label, "reason": reason, "n": remaining if key == "eligible"
                          else n_persons})
            continue
        removed = n_persons - len(result) if key == "no_ild" else int(counts.get(key, 0))
        step: dict[str, Any] = {"key": key, "label": label, "reason": reason, "n_before": remaining,
                                "n_removed": removed, "n_after": remaining - removed}
        if key == "not_ipaf":
            gone = result[result["step"] == "not_ipaf"]
            kind = gone["failure"].where(gone["status"] != "indeterminate", "indeterminate")  # '' -> not counted
            step["breakdown"] = [{"key": k, "label": v, "n": int((kind == k).sum())}
                                 for k, v in NOT_IPAF_REASONS.items()]
        steps.append(step)
        remaining -= removed
    return {"steps": steps, "status_counts": {k: int((result["status"] == k).sum())
                                              for k in ("ipaf", "not_ipaf", "indeterminate")}}


# ---------------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------------


def _versions(con: Any) -> dict[str, str]:
    from importlib import metadata

    from ipafstudy import __version__

    out = {"ipafstudy": __version__, "python": platform.python_version(), "ibis-framework": ibis.__version__}
    for dist in ("duckdb", "pyarrow", "pandas"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover
            continue
    out["backend"] = str(getattr(con, "name", type(con).__name__))
    with contextlib.suppress(Exception):  # a backend without a version string is not an error of the screen
        out["backend_version"] = str(con.version)
    return dict(sorted(out.items()))


def _mask_url(db: str) -> str:
    """A connection URL with its password replaced by *** (run records are shared); also ``?password=``."""
    from ipafstudy.omop.engines import mask_url

    return mask_url(db)


def input_record(db: str, extra_files: Mapping[str, str | None]) -> dict[str, Any]:
    """Inputs with checksums: the DuckDB file (or every file of a Parquet folder), plan and concept files."""
    path = Path(db)
    if "://" in db:
        record: dict[str, Any] = {"db": _mask_url(db), "kind": "url"}
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        record = {"db": str(path), "kind": "folder",
                  "files": [{"path": str(p.relative_to(path)), "sha256": sha256_file(p)} for p in files]}
    else:
        record = {"db": str(path), "kind": "duckdb", "sha256": sha256_file(path)}
    out = {"database": record}
    for name, value in extra_files.items():
        out[name] = None if not value else {"path": str(value), "sha256": sha256_file(value)}
    return out


@dataclass(frozen=True)
class ScreenRun:
    """What a screen produced (for the CLI's summary and for tests)."""

    out: Path
    candidates: Any
    flow: dict[str, Any]
    record: dict[str, Any]
    written: tuple[Path, ...]


def run_screen(db: str, out: str | Path, options: ScreenOptions, sets: ConceptSets, *, force: bool = False,
               plan_path: str | None = None, concepts_path: str | None = None) -> ScreenRun:
    """Connect, check, screen and write the outputs; bad input fails before anything is written."""
    from ipafstudy.omop.cdm import connect

    check_output_dir(out, force=force)
    con = connect(db)
    tables = cdm_tables(con)
    # the inputs' SHA-256 (a DuckDB file of 10^6 persons is 0.6 GB) in a second thread, while the screen runs:
    # hashlib and file reads release the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        inputs = pool.submit(input_record, db, {"plan": plan_path, "concepts": concepts_path})
        resolved = materialise(resolve(tables, sets))
        cutoff = data_cutoff(tables, options.settings)
        result = execute(screen_query(tables, sets, resolved, options, cutoff))
        n_persons = int(tables.person.count().to_pyarrow().as_py())
        candidates = candidates_table(result)
        flow = flow_record(candidates.select(["step", "status", "failure"]).to_pandas(), n_persons, options)
        missing = [{"concept_set": s, "vocabulary_id": v, "code": c} for s, v, c in unresolved_codes(tables, sets)]
        record: dict[str, Any] = {
            "command": "ipafstudy omop screen",
            "inputs": inputs.result(),
            "settings": options.settings.to_dict(),
            "data_cutoff_date_used": cutoff.isoformat() if cutoff else None,
            "data_cutoff_rule": "stated (clinical setting data_cutoff_date)" if options.settings.data_cutoff_date
            else "derived: the latest observation_period_end_date",
            "drug": {"concept_set_drug": options.drug, "label": options.label},
            "concept_sets": {"files": list(sets.files), "codes_not_in_database": missing},
            "versions": _versions(con),
        }
    free = {"reason", "deciding_items", "combination", *(f"{c}_value" for c in X.criterion_columns())}
    plain = frozenset(c for c in candidates.column_names if c not in free)
    texts = {"candidates.csv": csv_bytes(candidates, plain), "flow.json": _json(flow).encode("utf-8")}
    with output_dir(out, force=force) as folder:
        written = [atomic_write_bytes(folder / name, data) for name, data in texts.items()]
        record["outputs"] = {p.name: sha256_file(p) for p in written}
        written.append(atomic_write_text(folder / "run.json", _json(record)))
    return ScreenRun(Path(out), candidates.to_pandas(), flow, record, tuple(written))


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


def render_flow(flow: Mapping[str, Any]) -> str:
    """Plain-text flow for the terminal."""
    lines = []
    for step in flow["steps"]:
        if "n" in step:
            lines.append(f"{step['label']}: n = {step['n']}")
            continue
        lines.append(f"  - {step['label']}: {step['n_removed']} removed ({step['n_before']} -> {step['n_after']})")
        for b in step.get("breakdown", []):
            lines.append(f"      {b['label']}: {b['n']}")
    return "\n".join(lines)


__all__: Sequence[str] = ("SCREEN_STEPS", "ScreenOptions", "ScreenRun", "candidates_frame", "data_cutoff", "execute",
                          "flow_record", "materialise", "render_flow", "run_screen", "screen_frame", "screen_query",
                          "screen_table", "split_result", "with_evidence")
