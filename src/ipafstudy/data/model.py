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

    Representation, as produced by ``ipafstudy.data.loaders`` (test missing values with
    ``pd.isna``):

    * date columns: dtype object holding ``datetime.date``; missing = ``None`` (never NaT);
    * number and integer columns (grades, titres too): float64; missing = NaN;
    * text and coded columns: pandas' string dtype (``str`` in pandas 3); missing = NaN;
      coded values are canonical (lower case, except HRCT zones 'RU'...'LL'); a blank
      yes/no/unknown cell is 'unknown', other blank codes are missing; ``drug`` is lower case;
    * ``patient_id``: text, trimmed ('12' for a spreadsheet number 12);
    * ``_source_file``: file name; ``_source_sheet``: sheet name or missing (CSV);
      ``_source_row``: int64;
    * measurements are in the canonical unit of each variable (``rules.units``); steroids
      other than methylprednisolone are converted to ``methylprednisolone_dose``.
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
