"""Raw tables as read from a file (before any parsing) and the checksums of the files read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ipafstudy.data.model import SourceFile
from ipafstudy.fileio import sha256_file


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
