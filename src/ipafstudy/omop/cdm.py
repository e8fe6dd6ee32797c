"""The OMOP Common Data Model tables the screening reads, and the connection to a CDM database.

One Ibis expression tree serves every engine (DuckDB embedded, PostgreSQL, Spark), so this module only
names tables and columns (OMOP CDM v5.4, https://ohdsi.github.io/CommonDataModel/cdm54.html) and checks that a
database has them; it never writes SQL strings. A database that lacks a table or column gets ONE error naming
every missing ``table`` and ``table.column`` at once, before any query runs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipafstudy.errors import IpafstudyError

if TYPE_CHECKING:  # pragma: no cover
    import ibis
    import ibis.expr.types as ir

# Required columns per table: what the screen, the extract and the synthetic CDM read or write. Extra columns
# in a real CDM are ignored; nullable CDM columns (birth_datetime, care_site_id, range_high, ...) must EXIST but
# may hold NULL.
CDM_TABLES: dict[str, tuple[str, ...]] = {
    "person": (
        "person_id", "gender_concept_id", "year_of_birth", "month_of_birth", "day_of_birth", "birth_datetime",
        "care_site_id",
    ),
    "observation_period": (
        "observation_period_id", "person_id", "observation_period_start_date", "observation_period_end_date",
    ),
    "condition_occurrence": (
        "condition_occurrence_id", "person_id", "condition_concept_id", "condition_start_date",
        "condition_end_date", "condition_type_concept_id", "condition_source_value",
    ),
    "drug_exposure": (
        "drug_exposure_id", "person_id", "drug_concept_id", "drug_exposure_start_date", "drug_exposure_end_date",
        "quantity", "days_supply", "route_concept_id", "dose_unit_source_value", "drug_source_value",
    ),
    "measurement": (
        "measurement_id", "person_id", "measurement_concept_id", "measurement_date", "measurement_type_concept_id",
        "value_as_number", "value_as_concept_id", "unit_concept_id", "range_low", "range_high", "provider_id",
        "measurement_source_value",
    ),
    "observation": (
        "observation_id", "person_id", "observation_concept_id", "observation_date", "observation_type_concept_id",
        "value_as_number", "value_as_string", "value_as_concept_id", "unit_concept_id", "observation_event_id",
        "obs_event_field_concept_id",
    ),
    "concept": (
        "concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id", "standard_concept",
        "concept_code",
    ),
    "concept_ancestor": (
        "ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation", "max_levels_of_separation",
    ),
}


class OmopError(IpafstudyError, ValueError):
    """A CDM database or a concept-set file the screening cannot use; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str] | str, *, what: str = "the OMOP CDM input") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = f"{what}: {self.problems[0]}"
        else:
            message = f"{what}: {len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


@dataclass(frozen=True)
class CdmTables:
    """The CDM tables of one connection as Ibis tables (one attribute per ``CDM_TABLES`` entry)."""

    person: ir.Table
    observation_period: ir.Table
    condition_occurrence: ir.Table
    drug_exposure: ir.Table
    measurement: ir.Table
    observation: ir.Table
    concept: ir.Table
    concept_ancestor: ir.Table

    def as_dict(self) -> dict[str, ir.Table]:
        """Table name -> Ibis table, in ``CDM_TABLES`` order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _is_url(db: str) -> bool:
    return "://" in db


def connect(db: str | Path) -> ibis.BaseBackend:
    """An Ibis backend for ``db``: a DuckDB file (opened read-only: inputs are never modified), or a URL/folder.

    ``postgresql://...`` and ``spark://...`` URLs and a folder of Parquet files are handed to
    ``ipafstudy.omop.engines.connect`` (PostgreSQL and Spark support).
    """
    text = str(db)
    path = Path(text)
    if _is_url(text) or path.is_dir():
        try:
            from ipafstudy.omop import engines  # PostgreSQL and Spark (omop.engines), imported only when asked for
        except ImportError as exc:
            raise OmopError(f"{text}: PostgreSQL / Spark connections are not available in this installation "
                            f"({_first_line(exc)}); give a DuckDB file") from None
        return engines.connect(text)
    if not path.is_file():
        raise OmopError(f"{text}: no such DuckDB file (give a .duckdb file, a postgresql:// or spark:// URL, "
                        "or a folder of Parquet files)")
    import ibis

    try:
        backend = ibis.duckdb.connect(database=str(path), read_only=True)
    except Exception as exc:  # duckdb.IOException and friends: one line naming the file
        raise OmopError(f"{text}: cannot be opened as a DuckDB database ({_first_line(exc)})") from None
    backend.raw_sql("SET enable_progress_bar = false")  # DuckDB draws bars on the console for queries over 2 s
    return backend


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _table_names(con: Any) -> dict[str, str]:
    """Lower-case table name -> the name the backend uses (PostgreSQL folds case; Parquet folders may not)."""
    return {name.lower(): name for name in con.list_tables()}


def missing_cdm_parts(con: Any) -> list[str]:
    """Every required table or ``table.column`` the connection lacks, as one-line problems (empty when fine)."""
    present = _table_names(con)
    problems: list[str] = []
    for table, columns in CDM_TABLES.items():
        if table not in present:
            problems.append(f"table {table} is missing (required columns: {', '.join(columns)})")
            continue
        have = {c.lower() for c in con.table(present[table]).columns}
        lacking = [c for c in columns if c not in have]
        if lacking:
            problems.append(
                f"table {table} lacks column{'s' if len(lacking) > 1 else ''} "
                + ", ".join(f"{table}.{c}" for c in lacking)
            )
    return problems


def check_cdm(con: Any) -> None:
    """Raise OmopError naming EVERY missing table and column at once; return None when the CDM is usable."""
    problems = missing_cdm_parts(con)
    if problems:
        raise OmopError(problems, what="the database is not a usable OMOP CDM")


def cdm_tables(con: Any) -> CdmTables:
    """The required CDM tables as Ibis tables (after ``check_cdm``), columns renamed to lower case if needed."""
    check_cdm(con)
    present = _table_names(con)
    tables: dict[str, Any] = {}
    for name in CDM_TABLES:
        table = con.table(present[name])
        renames = {c.lower(): c for c in table.columns if c != c.lower()}
        tables[name] = table.rename(renames) if renames else table
    return CdmTables(**tables)
