"""The validated study object every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ipafstudy.data.schema import TABLES


@dataclass(frozen=True)
class SourceFile:
    """A file that was read, with the checksum recorded in every run record."""

    path: str
    sha256: str
    kind: str  # "csv", "xlsx", "redcap-records", "redcap-dictionary", "mapping"


@dataclass
class Study:
    """Six tables keyed by ``patient_id`` (string), already normalised and validated.

    Every frame has the schema columns plus ``_source_file``, ``_source_sheet`` and
    ``_source_row`` (the row number as the user sees it in their file). Dates are
    ``datetime.date`` objects or missing; tri-state findings are 'yes'/'no'/'unknown'.
    ``antibodies`` also keeps ``antibody_raw`` (the laboratory's spelling) and
    ``measurements`` keeps ``original_value``, ``original_unit`` and ``original_variable``.
    """

    patients: pd.DataFrame
    antibodies: pd.DataFrame
    treatments: pd.DataFrame
    measurements: pd.DataFrame
    hrct_reads: pd.DataFrame
    adverse_events: pd.DataFrame
    sources: tuple[SourceFile, ...] = field(default_factory=tuple)

    def table(self, name: str) -> pd.DataFrame:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; tables are {sorted(TABLES)}")
        return getattr(self, name)

    @property
    def patient_ids(self) -> list[str]:
        return sorted(self.patients["patient_id"].astype(str))
