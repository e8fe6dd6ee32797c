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
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ipafstudy.errors import OutputExistsError


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (for provenance and run records; opened read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def csv_text(frame: Any) -> str:
    """A pandas DataFrame as CSV text: no index, "\\n" line ends, blanks for missing, minimal quoting.

    Every argument is passed explicitly so a pandas default change cannot alter our files.
    """
    return frame.to_csv(
        index=False, sep=",", lineterminator="\n", na_rep="", quoting=csv.QUOTE_MINIMAL, quotechar='"',
        float_format=None, date_format=None,
    )


def prepare_output_dir(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create ``path`` (and parents) or accept it if empty; a non-empty directory needs ``force``.

    ``force=True`` deletes nothing: files the run writes replace same-named files atomically and
    any other files already there are left alone (so ``--out`` pointing at a folder that also holds
    other results never loses them).
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
        return out
    out.mkdir(parents=True, exist_ok=True)
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
