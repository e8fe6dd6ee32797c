"""PostgreSQL and Spark behind the same Ibis interface as the embedded DuckDB CDM.

Why a module of its own: the screening code builds one Ibis expression tree and must not know which engine runs
it. Everything engine-specific lives here: how a ``DB`` argument becomes a connection, how an unreachable server
is reported (one message naming the URL with the password masked), how a synthetic CDM is loaded into PostgreSQL
or written as a Parquet folder, and how results are normalised so that the three engines give identical frames
(:func:`fetch_frame`: integer widths, dates vs timestamps, NULL ordering).

Accepted ``DB`` forms (see docs/omop.md):

* ``postgresql://user:password@host:port/database[?schema=cdm]`` (also ``postgres://``): a PostgreSQL server.
* ``spark://host:port[/database]``: a Spark standalone master; the CDM tables come from that database of the
  session catalog (default ``default``), or, with ``?parquet=/shared/folder``, from a Parquet folder every worker
  can read.
* ``spark+parquet:///absolute/folder`` or simply an existing folder: a local Spark session (``local[2]``) over a
  Parquet folder holding one ``<table>.parquet`` file or ``<table>/`` dataset folder per CDM table.

Heavy imports (ibis, pyarrow, pyspark, psycopg) happen inside the functions.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from ipafstudy.errors import IpafstudyError
from ipafstudy.fileio import check_output_dir, output_dir

if TYPE_CHECKING:
    import ibis
    import pandas as pd
    import pyarrow as pa

    TableData = pa.Table | pa.RecordBatchReader

POSTGRES_SCHEMES = ("postgresql", "postgres")
SPARK_SCHEME = "spark"
SPARK_PARQUET_SCHEME = "spark+parquet"
#: Seconds to wait for a server before calling it unreachable (a screen should not hang on a typo in the host).
CONNECT_TIMEOUT = 10
#: Session settings for every PostgreSQL connection (libpq ``options``): no JIT (see ``_postgres_params``), UTC.
POSTGRES_SESSION_OPTIONS = "-c jit=off -c timezone=UTC"
#: Local Spark session defaults: 2 threads (the CI machines have 2 cores), UTC so dates never shift.
LOCAL_SPARK_MASTER = "local[2]"


class EngineUnavailableError(IpafstudyError):
    """The database server named by a URL cannot be reached or refused the connection."""


class EngineInputError(IpafstudyError, ValueError):
    """A ``DB`` argument is not a form this package understands, or a Parquet folder holds no tables."""


def is_engine_db(db: str | os.PathLike[str]) -> bool:
    """True when ``db`` is for this module (a URL of ours or a folder), False for a DuckDB file path."""
    text = os.fspath(db)
    scheme = _scheme(text)
    if scheme in (*POSTGRES_SCHEMES, SPARK_SCHEME, SPARK_PARQUET_SCHEME):
        return True
    return scheme is None and Path(text).is_dir()


def _scheme(text: str) -> str | None:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    return match.group(1).lower() if match else None


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and run records).

    >>> mask_url("postgresql://ann:s3cret@db.example:5432/cdm?password=x")
    'postgresql://ann:***@db.example:5432/cdm?password=***'
    >>> mask_url("spark://master:7077")
    'spark://master:7077'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _password(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    return parse_qs(parts.query).get("password", [None])[0]


def _clean_reason(exc: BaseException, url: str) -> str:
    """The driver's message on one line, with the password (if the driver echoed it) masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    secret = _password(url)
    if secret:
        text = text.replace(secret, "***")
    return text


def connect(db: str | os.PathLike[str]) -> ibis.BaseBackend:
    """An Ibis backend for a PostgreSQL/Spark URL or a Parquet folder (see the module docstring)."""
    text = os.fspath(db)
    scheme = _scheme(text)
    if scheme in POSTGRES_SCHEMES:
        return connect_postgres(text)
    if scheme == SPARK_SCHEME:
        return connect_spark(text)
    if scheme == SPARK_PARQUET_SCHEME:
        return connect_parquet_folder(_parquet_url_path(text))
    if scheme is None and Path(text).is_dir():
        return connect_parquet_folder(Path(text))
    raise EngineInputError(
        f"{text!r} is not a database this package can open: give a DuckDB file, a Parquet folder, "
        "postgresql://user@host:port/database, spark://host:port[/database] or spark+parquet:///folder"
    )


def _parquet_url_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise EngineInputError(
            f"{url}: spark+parquet:// takes a local folder (spark+parquet:///absolute/folder); "
            "for a cluster use spark://host:port?parquet=/shared/folder"
        )
    return Path(unquote(parts.path))


# ----------------------------------------------------------------------------------------------------- PostgreSQL


def _postgres_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"schema", "password", "sslmode", "connect_timeout"})
    if unknown:
        raise EngineInputError(
            f"{mask_url(url)}: unknown option(s) {', '.join(unknown)}; allowed: schema, password, sslmode, "
            "connect_timeout"
        )
    database = unquote(parts.path.lstrip("/")) or None
    try:
        port = parts.port
    except ValueError:
        raise EngineInputError(f"{mask_url(url)}: the port is not a number") from None
    params: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port or 5432,
        "user": unquote(parts.username) if parts.username else None,
        "password": _password(url),
        "database": database,
        "connect_timeout": int(query.get("connect_timeout", CONNECT_TIMEOUT)),
        # The screen is one large query: PostgreSQL's JIT spent 72 of 72 s compiling it (671 functions) for 200
        # persons. Without JIT the same query runs in about a second; the plan is unchanged.
        "options": POSTGRES_SESSION_OPTIONS,
    }
    if "schema" in query:
        params["schema"] = query["schema"]
    if "sslmode" in query:
        params["sslmode"] = query["sslmode"]
    return {k: v for k, v in params.items() if v is not None}


def connect_postgres(url: str) -> ibis.BaseBackend:
    """Ibis PostgreSQL backend; an unreachable server or a refused login is one EngineUnavailableError."""
    params = _postgres_params(url)
    try:
        import ibis
        import psycopg  # noqa: F401  (the driver; a clear message when the extra is missing)
    except ImportError as exc:
        raise EngineUnavailableError(
            f"Cannot open {mask_url(url)}: the PostgreSQL driver is not installed ({exc.name}); "
            "pip install 'ipafstudy[postgres]'"
        ) from None
    try:
        return ibis.postgres.connect(**params)
    except Exception as exc:  # psycopg.OperationalError and friends: the driver's reason, masked
        raise EngineUnavailableError(
            f"Cannot connect to the PostgreSQL database {mask_url(url)}: {_clean_reason(exc, url)}"
        ) from None


def load_cdm_postgres(url: str, tables: Mapping[str, TableData], *, replace: bool = False) -> list[str]:
    """Create and fill one PostgreSQL table per CDM table (tests, benchmarks, ``copy_cdm``); returns the names.

    ``tables`` holds Arrow tables or record-batch readers (streamed batch by batch, so a 10^6-person CDM never
    sits in memory). One transaction: either every table is loaded or nothing is. Existing tables of the same
    names are an error unless ``replace``. Rows go in with COPY (CSV over the wire), not row-by-row INSERTs.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    con = connect_postgres(url)  # reachability first: an unreachable server writes nothing
    conn = con.con
    schema = _postgres_params(url).get("schema")
    from psycopg import sql

    def ident(name: str) -> sql.Composable:
        return sql.Identifier(schema, name) if schema else sql.Identifier(name)

    try:
        clash = sorted(set(tables) & set(con.list_tables()))
        if clash and not replace:
            raise EngineInputError(
                f"{mask_url(url)} already has table(s) {', '.join(clash)}; pass replace=True to replace them"
            )
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        with conn.transaction(), conn.cursor() as cur:
            for name, data in tables.items():
                columns = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_postgres_type(f.type, name, f.name)))
                    for f in data.schema
                )
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident(name)))
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(ident(name), columns))
                with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(ident(name))) as copy:
                    for batch in _batches(data):
                        if batch.num_rows:
                            sink = pa.BufferOutputStream()
                            pacsv.write_csv(batch, sink, write_options=options)
                            copy.write(sink.getvalue().to_pybytes())
            for name in tables:
                cur.execute(sql.SQL("ANALYZE {}").format(ident(name)))
    finally:
        con.disconnect()
    return list(tables)


def _batches(data: TableData) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        yield from data.to_batches(max_chunksize=1 << 17)
    else:
        yield from data


_PG_TYPES = {
    "int8": "smallint", "int16": "smallint", "int32": "integer", "int64": "bigint",
    "float": "real", "double": "double precision", "bool": "boolean",
    "string": "text", "large_string": "text", "date32[day]": "date",
}


def _postgres_type(arrow_type: pa.DataType, table: str, column: str) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "timestamp" if arrow_type.tz is None else "timestamptz"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    try:
        return _PG_TYPES[str(arrow_type)]
    except KeyError:
        raise EngineInputError(f"{table}.{column}: no PostgreSQL type for Arrow type {arrow_type}") from None


# ---------------------------------------------------------------------------------------------------------- Spark


def local_spark_session(master: str = LOCAL_SPARK_MASTER, *, scratch: Path | None = None) -> Any:
    """A SparkSession set up for reproducible results on one machine (UTC, no UI, few shuffle partitions).

    If this process already runs a SparkContext, pyspark hands back that one (one JVM per process).
    """
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("ipafstudy")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")  # one per local thread: small data, many stages
        .config("spark.default.parallelism", "2")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
    )
    if master.startswith("local"):
        # Loopback only: a local session needs no network (a cluster's executors must reach the driver, so not there).
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read by the JVM at start; no loopback warning
    if scratch is not None:
        builder = builder.config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_spark_session(session: Any) -> None:
    """Stop the session and its JVM, so no Java process outlives the caller (tests start and stop it)."""
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        proc = getattr(gateway, "proc", None)
        gateway.shutdown()
        if proc is not None:
            proc.stdin.close()  # the JVM exits when its stdin closes (pyspark's launcher contract)
            try:
                proc.wait(timeout=30)
            except Exception:
                proc.kill()
                proc.wait(timeout=30)
    SparkContext._gateway = None
    SparkContext._jvm = None


def _probe_tcp(url: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise EngineUnavailableError(
            f"Cannot connect to the Spark master {mask_url(url)}: {exc.strerror or exc}"
        ) from None


def connect_spark(url: str) -> ibis.BaseBackend:
    """Spark standalone master ``spark://host:port[/database][?parquet=/shared/folder]``."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"parquet"})
    if unknown:
        raise EngineInputError(f"{mask_url(url)}: unknown option(s) {', '.join(unknown)}; allowed: parquet")
    try:
        port = parts.port or 7077
    except ValueError:
        raise EngineInputError(f"{mask_url(url)}: the port is not a number") from None
    host = parts.hostname or ""
    if not host:
        raise EngineInputError(f"{mask_url(url)}: no host; write spark://host:port")
    _probe_tcp(url, host, port)  # before starting a JVM that would retry for minutes
    master = f"spark://{host}:{port}"
    try:
        from pyspark import SparkContext
    except ImportError:
        raise EngineUnavailableError(
            f"Cannot open {mask_url(url)}: pyspark is not installed; pip install 'ipafstudy[spark]'"
        ) from None
    active = SparkContext._active_spark_context
    if active is not None and active.master != master:
        # pyspark allows one SparkContext per process and getOrCreate() would silently reuse the other one.
        raise EngineInputError(
            f"Cannot connect to the Spark master {mask_url(url)}: this process already runs Spark with master "
            f"{active.master}; use a new process"
        )
    session = _start_session(mask_url(url), master).newSession()
    database = unquote(parts.path.strip("/"))
    if "parquet" in query:
        return _register_parquet(session, Path(query["parquet"]))
    import ibis

    if database:
        session.catalog.setCurrentDatabase(database)
    return ibis.pyspark.connect(session)


def connect_parquet_folder(folder: Path) -> ibis.BaseBackend:
    """A local Spark session over a Parquet folder; each table becomes a temporary view of its own session."""
    if not folder.is_dir():
        raise EngineInputError(f"Parquet folder {folder} does not exist or is not a folder")
    session = _start_session(f"the Parquet folder {folder}", LOCAL_SPARK_MASTER).newSession()  # own temp views
    return _register_parquet(session, folder)


def _start_session(what: str, master: str) -> Any:
    """local_spark_session() with a missing pyspark or Java reported as one clear message."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailableError(
            f"Cannot open {what} with Spark: pyspark is not installed; pip install 'ipafstudy[spark]'"
        ) from None
    try:
        return local_spark_session(master=master)
    except Exception as exc:  # PySparkRuntimeError JAVA_GATEWAY_EXITED when there is no Java
        raise EngineUnavailableError(
            f"Cannot open {what}: Spark did not start ({' '.join(str(exc).split())}); Spark needs Java 17 "
            "(apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
        ) from None


def parquet_tables(folder: Path) -> dict[str, Path]:
    """Table name -> path for every ``<name>.parquet`` file or ``<name>/`` folder of Parquet parts in ``folder``."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix == ".parquet":
            found[path.stem.lower()] = path
        elif path.is_dir() and any(path.glob("*.parquet")):
            found[path.name.lower()] = path
    return found


def _register_parquet(session: Any, folder: Path) -> ibis.BaseBackend:
    import ibis

    tables = parquet_tables(folder)
    if not tables:
        raise EngineInputError(
            f"Parquet folder {folder} holds no tables (expected <table>.parquet files or <table>/ folders, "
            "e.g. person.parquet)"
        )
    for name, path in tables.items():
        session.read.parquet(str(path.absolute())).createOrReplaceTempView(name)
    return ibis.pyspark.connect(session)


def write_cdm_parquet(
    folder: str | os.PathLike[str], tables: Mapping[str, TableData], *, force: bool = False
) -> Path:
    """Write one ``<table>.parquet`` per CDM table into ``folder``; each file appears whole or not at all.

    Tables may be Arrow tables or record-batch readers (streamed). A non-empty folder needs ``force``; a failure
    part-way removes a folder this call created.
    """
    import tempfile

    import pyarrow.parquet as pq

    out = check_output_dir(folder, force=force)
    with output_dir(out, force=force):
        for name, data in tables.items():
            target = out / f"{name}.parquet"
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            os.close(fd)
            try:
                # Microsecond timestamps: Spark, DuckDB and PostgreSQL all read them without loss.
                with pq.ParquetWriter(tmp, data.schema, compression="zstd", coerce_timestamps="us") as writer:
                    for batch in _batches(data):
                        writer.write_batch(batch)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
    return out


# ---------------------------------------------------------------------------------------------- normalised results


def fetch_frame(expr: ibis.Table, order_by: Sequence[str] | None = None) -> pd.DataFrame:
    """Execute ``expr`` and return a pandas frame that is the same on DuckDB, PostgreSQL and Spark.

    The one place where backend differences are evened out: integers come back as nullable ``Int64`` (PostgreSQL
    ``integer`` vs DuckDB ``BIGINT``, Spark NULLs making floats), dates as ``datetime.date`` objects (Spark and
    PostgreSQL can hand back timestamps at midnight), timestamps as naive UTC ``datetime64[ns]``, floats as
    ``float64``, text as ``object`` with ``None`` for NULL, booleans as nullable ``boolean``; rows are sorted by
    ``order_by`` (default: every column) with NULLs last, as no engine guarantees an order without it.
    """
    schema = expr.schema()
    frame = expr.to_pyarrow().to_pandas()
    return normalise_frame(frame, dict(schema.items()), order_by=order_by)


def normalise_frame(
    frame: pd.DataFrame, types: Mapping[str, Any], *, order_by: Sequence[str] | None = None
) -> pd.DataFrame:
    """Cast each column of ``frame`` by its Ibis type (see :func:`fetch_frame`) and sort deterministically."""
    import pandas as pd

    out = pd.DataFrame(index=range(len(frame)))
    for name in frame.columns:
        dtype = types[name]
        column = frame[name].reset_index(drop=True)
        if dtype.is_integer():
            out[name] = pd.array(column, dtype="Int64") if column.dtype != object else pd.array(
                [None if _isna(v) else int(v) for v in column], dtype="Int64"
            )
        elif dtype.is_floating() or dtype.is_decimal():
            out[name] = pd.to_numeric(column, errors="raise").astype("float64")
        elif dtype.is_boolean():
            out[name] = pd.array([None if _isna(v) else bool(v) for v in column], dtype="boolean")
        elif dtype.is_date():
            out[name] = pd.Series([None if _isna(v) else pd.Timestamp(v).date() for v in column], dtype=object)
        elif dtype.is_timestamp():
            stamps = pd.to_datetime(column)
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            out[name] = stamps.astype("datetime64[ns]")
        elif dtype.is_string():
            out[name] = pd.Series([None if _isna(v) else str(v) for v in column], dtype=object)
        else:
            out[name] = column
    keys = list(order_by) if order_by is not None else list(out.columns)
    if keys and len(out):
        out = out.sort_values(keys, na_position="last", kind="mergesort").reset_index(drop=True)
    return out


def _isna(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str | bytes) and bool(pd.isna(value)))


# ----------------------------------------------------------------------------------------------------------- copy


class _LazyReaders(Mapping[str, Any]):
    """Table name -> record-batch reader, opened only when the loader reaches that table (one open cursor)."""

    def __init__(self, con: Any, names: dict[str, str]) -> None:
        self._con, self._names = con, names

    def __getitem__(self, key: str) -> Any:
        return self._con.table(self._names[key]).to_pyarrow_batches(chunk_size=1 << 17)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def copy_cdm(source: str | os.PathLike[str], dest: str, *, force: bool = False) -> list[str]:
    """Copy the CDM tables of ``source`` (any ``DB``) into a PostgreSQL database or a new Parquet folder.

    Why: the same synthetic (or real) CDM on several engines, e.g. ``ipafstudy synth --omop`` writes DuckDB and a
    reviewer wants it on PostgreSQL and Spark too. Only the tables of ``CDM_TABLES`` are copied, all columns,
    streamed in batches. ``force`` replaces existing tables (PostgreSQL) or writes into a non-empty folder.
    """
    from ipafstudy.omop.cdm import CDM_TABLES, check_cdm
    from ipafstudy.omop.cdm import connect as connect_any

    con = connect_any(source)
    check_cdm(con)
    present = {name.lower(): name for name in con.list_tables()}
    readers = _LazyReaders(con, {name: present[name] for name in CDM_TABLES})
    if _scheme(dest) in POSTGRES_SCHEMES:
        return load_cdm_postgres(dest, readers, replace=force)
    if _scheme(dest) is not None:
        raise EngineInputError(
            f"{mask_url(dest)}: a CDM can be copied into postgresql://... or a Parquet folder (a path)"
        )
    write_cdm_parquet(dest, readers, force=force)
    return list(readers)
