"""Safe file output shared by every layer: output folders, atomic writes, checksums, stable zips.

One implementation so that every file the package writes (cohort CSVs, templates, screening
outputs, reports) gets the same guarantees: a crash or Ctrl-C never leaves a half-written file,
an existing file is only ever replaced whole, and nothing is overwritten without ``force``.
A leaf module: imports nothing of ours except :mod:`ipafstudy.errors`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ipafstudy.errors import OutputExistsError, OutputNotWritableError


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (for provenance and run records; opened read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: A signed number, alone ("-1.5", "+2", "-1e-05") or in a numeric-only cell ("-0.59, 2.65", "-3 (-12%)"): no
#: letters, no references, no function call, so a spreadsheet cannot do anything harmful with it.
_NUMERIC_ONLY = re.compile(r"^[+-](?:\d*\.?\d+(?:[eE][+-]?\d+)?|[0-9.,()% +\-]*)$")


def escape_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading single quote.

    Only text is touched: numbers (also negative ones), missing values and numeric-only text such as
    "-1.5" or "-0.59, 2.65" come back unchanged; "=HYPERLINK(...)", "+cmd", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0"
    and text starting with a tab or carriage return get a "'" in front (OWASP CSV-injection rule).

    >>> escape_formula("=1+1"), escape_formula("-1.5"), escape_formula(-1.5), escape_formula("P-01")
    ("'=1+1", '-1.5', -1.5, 'P-01')
    """
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS and not _NUMERIC_ONLY.match(value):
        return "'" + value
    return value


def unescape_formula(value: Any) -> Any:
    """Undo :func:`escape_formula` when our own CSV output is read back (worklists, analysis_dataset.csv)."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def escape_formulas(frame: Any) -> Any:
    """A copy of a DataFrame whose text cells and column names went through :func:`escape_formula`.

    Numeric, boolean and date columns are returned as they are (a number is never text in the file).
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype == object or str(column.dtype) in ("string", "str"):
            out[name] = column.map(escape_formula, na_action="ignore")
    out.columns = [escape_formula(c) for c in out.columns]
    return out


def unescape_formulas(frame: Any) -> Any:
    """Undo :func:`escape_formulas` on a DataFrame read from one of our CSV files (in place; returned)."""
    for name in frame.columns:
        if frame[name].dtype == object or str(frame[name].dtype) in ("string", "str"):
            frame[name] = frame[name].map(unescape_formula, na_action="ignore")
    frame.columns = [unescape_formula(c) for c in frame.columns]
    return frame


def csv_text(frame: Any, *, escape: bool = True) -> str:
    """A pandas DataFrame as CSV text: no index, "\\n" line ends, blanks for missing, minimal quoting.

    Text cells that a spreadsheet would evaluate are escaped (:func:`escape_formula`); ``escape=False`` only for
    files that are inputs, not outputs (the synthetic cohort). Every argument is passed explicitly so a pandas
    default change cannot alter our files.
    """
    if escape:
        frame = escape_formulas(frame)
    return frame.to_csv(
        index=False, sep=",", lineterminator="\n", na_rep="", quoting=csv.QUOTE_MINIMAL, quotechar='"',
        float_format=None, date_format=None,
    )


def _existing_ancestor(path: Path) -> Path:
    """The nearest folder of ``path`` (itself or a parent) that exists; a file in the way is an error."""
    here = path.absolute()
    while not here.exists():
        if here.parent == here:
            break
        here = here.parent
    if here.exists() and not here.is_dir():
        raise OutputNotWritableError(f"Cannot create {path}: {here} is a file, not a folder")
    return here


def _probe_writable(folder: Path, target: Path) -> None:
    """Create and remove a temporary file in ``folder``: the only test that also holds for root and read-only disks."""
    try:
        fd, name = tempfile.mkstemp(prefix=".ipafstudy-probe.", dir=folder)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputNotWritableError(
            f"Cannot write to {target}: folder {folder} does not accept new files ({reason})"
        ) from None
    os.close(fd)
    os.unlink(name)


def check_output_dir(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Check, before any work, that ``path`` can become an output folder; creates nothing.

    The folder (or, when it does not exist yet, its nearest existing parent) must be writable; an
    existing non-empty folder needs ``force``; a file at ``path`` is an error.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"Output path {out} exists and is a file, not a folder; choose another --out")
    if out.is_dir():
        entries = sorted(p.name for p in out.iterdir())
        if entries and not force:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise OutputExistsError(
                f"Output directory {out} already exists and is not empty "
                f"({len(entries)} {'entry' if len(entries) == 1 else 'entries'}: {shown}). "
                "Choose a new --out directory, or pass --force to write into it (files with the same names are "
                "replaced; nothing else is deleted)."
            )
        _probe_writable(out, out)
        return out
    _probe_writable(_existing_ancestor(out), out)
    return out


def check_output_file(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Check, before any work, that the user-named file ``path`` may be written; creates nothing."""
    target = Path(path)
    if target.is_dir():
        raise OutputExistsError(f"{target} is a folder; give a file name")
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists; pass --force (force=True) to replace it")
    _probe_writable(_existing_ancestor(target.parent), target)
    return target


@contextlib.contextmanager
def output_dir(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Create (or accept) the output folder for a block of writes; on any failure, leave no partial run.

    If this call created the folder and the block raises (an error or Ctrl-C), the folder and the
    parents this call created are removed again, so a failed run leaves nothing behind. An existing
    folder (``force``) is never removed: files already replaced there stay replaced (each one whole).
    """
    out = Path(path)
    top_new: Path | None = None
    if not out.exists():
        top_new = out.absolute()
        while not top_new.parent.exists():
            top_new = top_new.parent
    prepare_output_dir(out, force=force)
    try:
        yield out
    except BaseException:
        if top_new is not None:
            shutil.rmtree(top_new, ignore_errors=True)
        raise


def prepare_output_dir(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create ``path`` (and parents) or accept it if empty; a non-empty directory needs ``force``.

    ``force=True`` deletes nothing: files the run writes replace same-named files atomically and
    any other files already there are left alone (so ``--out`` pointing at a folder that also holds
    other results never loses them).
    """
    out = Path(path)
    if out.exists():
        return check_output_dir(out, force=force)
    _existing_ancestor(out)  # a file in the way is a clear error, not a traceback
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputNotWritableError(f"Cannot create output folder {out}: {exc.strerror or exc}") from None
    return out


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temp file in the same directory, fsync, then ``os.replace`` onto ``path``.

    The folder must exist (see :func:`prepare_output_dir`); a same-named file is replaced whole.
    Use :func:`write_output_file` for a single file the user named, which must not be overwritten.
    """
    target = Path(path)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"atomic_write_bytes(): data must be bytes, got {type(data).__name__}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"Cannot write {target}: directory {target.parent} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"Cannot write {target}: it is a directory")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_current_umask())  # mkstemp makes 0600; give normal file permissions
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Text version of :func:`atomic_write_bytes`; newlines are written exactly as given ("\\n")."""
    if not isinstance(text, str):
        raise TypeError(f"atomic_write_text(): text must be str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding))


def write_output_file(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write one user-named output file atomically, creating its folder; never overwrites silently.

    Refuses to replace an existing file unless ``force`` (then the old file is replaced whole).
    """
    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists; pass --force (force=True) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(target, data)


def set_xlsx_value(cell: Any, value: Any) -> Any:
    """Put ``value`` in an openpyxl cell so a spreadsheet shows it and never evaluates it; returns the cell.

    Text is stored as a string cell (type "s"), so "=HYPERLINK(...)" stays the text the reader typed, not a live
    formula (no quote is added: the cell type already makes it inert, and the value reads back unchanged).
    Numbers stay numbers, missing (None/NaN/NaT) stays empty, dates and times become ISO text.
    """
    import datetime as dt
    import math
    import numbers

    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("NaT", "<NA>"):
        cell.value = None
    elif isinstance(value, bool):
        cell.value = value
    elif isinstance(value, numbers.Number):
        number = float(value) if not isinstance(value, numbers.Integral) else int(value)
        cell.value = number if math.isfinite(number) else str(number)
    elif isinstance(value, dt.date):
        midnight = isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None
        cell.value = value.date().isoformat() if midnight else value.isoformat()
        cell.data_type = "s"
    else:
        cell.value = str(value)
        cell.data_type = "s"
    return cell


def frame_xlsx_bytes(frame: Any, sheet_name: str) -> bytes:
    """A DataFrame as a one-sheet workbook (bold header, text as text, fixed dates): deterministic bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    for c, name in enumerate(frame.columns, start=1):
        set_xlsx_value(sheet.cell(row=1, column=c), str(name)).font = Font(bold=True)
    for r, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for c, value in enumerate(row, start=1):
            set_xlsx_value(sheet.cell(row=r, column=c), value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*ZIP_EPOCH)
    return normalize_zip(buffer.getvalue(), rewrite={"docProps/core.xml": lambda x: pin_core_dates(x, stamp)})


#: Timestamp written into every zip entry (DOCX/XLSX): the earliest date a zip can hold.
ZIP_EPOCH: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)


def normalize_zip(
    data: bytes,
    *,
    rewrite: Mapping[str, Callable[[bytes], bytes]] | None = None,
    date_time: tuple[int, int, int, int, int, int] = ZIP_EPOCH,
) -> bytes:
    """Re-pack a zip (DOCX/XLSX) with fixed entry dates and attributes so equal content gives equal bytes.

    ``rewrite`` maps an entry name to a function applied to its bytes (used to pin timestamps that
    libraries write inside ``docProps/core.xml``). ``date_time`` is stamped on every entry. Entry order is kept.
    """
    rewrite = dict(rewrite or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename in rewrite:
                payload = rewrite[info.filename](payload)
            fixed = zipfile.ZipInfo(info.filename, date_time=date_time)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            fixed.create_system = 0
            dst.writestr(fixed, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


def pin_core_dates(xml: bytes, iso_timestamp: str) -> bytes:
    """Set dcterms:created/modified in an Office core.xml to ``iso_timestamp`` (e.g. 2000-01-01T00:00:00Z)."""
    text = xml.decode("utf-8")
    for tag in ("created", "modified"):
        text = re.sub(
            rf"(<dcterms:{tag}\b[^>]*>)[^<]*(</dcterms:{tag}>)",
            lambda m: m.group(1) + iso_timestamp + m.group(2),
            text,
        )
    return text.encode("utf-8")
