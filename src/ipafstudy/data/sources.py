"""Raw tables as read from a file (before any parsing) and the checksums of the files read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ipafstudy.data.model import SourceFile


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks (inputs are opened read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_file(path: str | Path, kind: str) -> SourceFile:
    """Provenance record of one input file: absolute path, checksum and what it was read as."""
    resolved = Path(path).resolve()
    return SourceFile(path=str(resolved), sha256=sha256_file(resolved), kind=kind)


@dataclass
class RawRow:
    """One data row: the row number the user sees in their file and the raw cell values."""

    row: int
    values: dict[str, object]


@dataclass
class RawTable:
    """A table as found in the input: canonical column names -> raw cells, with provenance.

    ``headers`` maps each canonical column name to the header as written in the file, so
    messages can quote the user's own spelling. ``header_known`` is False for a REDCap
    export, whose columns are checked against its own data dictionary instead.
    """

    name: str
    file: str
    sheet: str | None
    rows: list[RawRow] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    header_known: bool = True


def atomic_write(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    Refuses to replace an existing file unless ``force``: outputs are never overwritten silently.
    """
    import os
    import tempfile

    from ipafstudy.errors import OutputExistsError

    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists; pass --force (force=True) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary shareable files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
