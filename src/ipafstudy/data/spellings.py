"""Accepted spellings of coded values and column headers (one table, used by loaders, docs and template).

Spreadsheets written by hand spell the same answer many ways ("Yes", "Y", "TRUE", "1"). Every
coded cell is matched case-insensitively after trimming, with runs of spaces, hyphens, slashes
and plus signs read as one underscore; the result must be a canonical value of the column or one
of the aliases below. Nothing outside this table is guessed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from types import MappingProxyType

from ipafstudy.data.schema import TABLES, YES_NO_UNKNOWN, Column
from ipafstudy.rules.ipaf import ICAP_AC_PATTERNS
from ipafstudy.values import is_missing

# Cells read as blank in every column (R and SAS exports write these for missing values).
BLANK_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a"})

_YES = ("y", "true", "t", "1", "present")
_NO = ("n", "false", "f", "0", "absent")
_UNKNOWN = ("unk", "u", "not_known", "?", "uncertain", "indeterminate", "not_assessed")

# Column-independent aliases, by the set of allowed values they apply to.
_TRI_STATE_ALIASES: dict[str, str] = {
    **dict.fromkeys(_YES, "yes"),
    **dict.fromkeys(_NO, "no"),
    **dict.fromkeys(_UNKNOWN, "unknown"),
}

# Per (table, column) aliases: canonicalised spelling -> canonical value.
COLUMN_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("patients", "sex"): {"f": "female", "woman": "female", "w": "female", "m": "male", "man": "male"},
    ("patients", "smoking"): {
        "non_smoker": "never",
        "nonsmoker": "never",
        "no": "never",
        "ex": "former",
        "ex_smoker": "former",
        "exsmoker": "former",
        "past": "former",
        "previous": "former",
        "smoker": "current",
        "active": "current",
    },
    ("patients", "hrct_pattern"): {
        "nsip_and_op": "nsip_op",
        "nsipop": "nsip_op",
        "op_nsip": "nsip_op",
        "indeterminate": "other",
        "other_indeterminate": "other",
    },
    ("patients", "biopsy_pattern"): {
        "nsip_and_op": "nsip_op",
        "nsipop": "nsip_op",
        "op_nsip": "nsip_op",
        "none": "not_done",
        "no_biopsy": "not_done",
        "lymphoid_aggregates": "lymphoid_aggregates_germinal_centres",
        "lymphoid_aggregates_with_germinal_centres": "lymphoid_aggregates_germinal_centres",
        "lymphoid_aggregates_germinal_centers": "lymphoid_aggregates_germinal_centres",
        "lymphoplasmacytic": "lymphoplasmacytic_infiltration",
        "diffuse_lymphoplasmacytic_infiltration": "lymphoplasmacytic_infiltration",
    },
    ("antibodies", "result"): {
        "pos": "positive",
        "+": "positive",
        "detected": "positive",
        "yes": "positive",
        "neg": "negative",
        "-": "negative",
        "not_detected": "negative",
        "no": "negative",
        "equivocal": "borderline",
        "weak": "borderline",
        "weak_positive": "borderline",
        "weakly_positive": "borderline",
        "indeterminate": "borderline",
    },
    ("antibodies", "pattern"): {
        "speckle": "speckled",
        "homogenous": "homogeneous",
        "centromeric": "centromere",
        "nucleolus": "nucleolar",
        "cytoplasm": "cytoplasmic",
        "cytoplasmatic": "cytoplasmic",
        # ICAP anti-cell codes, written AC-4, AC 4 or AC4 (mapping and source: rules.ipaf.ICAP_AC_PATTERNS)
        **{code.lower().replace("-", "_"): value for code, value in ICAP_AC_PATTERNS.items()},
        **{code.lower().replace("-", ""): value for code, value in ICAP_AC_PATTERNS.items()},
    },
    ("hrct_reads", "reader_role"): {
        "reader_1": "reader1",
        "r1": "reader1",
        "first": "reader1",
        "first_reader": "reader1",
        "reader_2": "reader2",
        "r2": "reader2",
        "second": "reader2",
        "second_reader": "reader2",
        "reader_3": "adjudicator",
        "reader3": "adjudicator",
        "r3": "adjudicator",
        "third": "adjudicator",
        "third_reader": "adjudicator",
    },
    ("hrct_reads", "zone"): {
        "right_upper": "RU",
        "right_middle": "RM",
        "right_lower": "RL",
        "left_upper": "LU",
        "left_middle": "LM",
        "left_lower": "LL",
    },
    ("adverse_events", "event"): {
        "hypomagnesemia": "hypomagnesaemia",
        "low_magnesium": "hypomagnesaemia",
        "infections": "infection",
        "renal_impairment": "renal_insufficiency",
        "acute_kidney_injury": "renal_insufficiency",
        "aki": "renal_insufficiency",
        "gi_discomfort": "gastrointestinal_discomfort",
        "gastrointestinal": "gastrointestinal_discomfort",
        "hyperglycemia": "hyperglycaemia",
    },
    ("treatments", "route"): {
        "po": "oral", "per_os": "oral", "by_mouth": "oral", "enteral": "oral",
        "iv": "intravenous", "i.v.": "intravenous", "infusion": "intravenous",
        "sc": "subcutaneous", "s.c.": "subcutaneous", "subcut": "subcutaneous",
        "im": "intramuscular", "i.m.": "intramuscular",
        "cutaneous": "topical", "dermal": "topical", "skin": "topical", "ointment": "topical", "cream": "topical",
        "inhalation": "inhaled", "inh": "inhaled", "nebulised": "inhaled", "nebulized": "inhaled",
    },
    ("adverse_events", "outcome"): {"recovered": "resolved", "not_resolved": "ongoing", "death": "fatal"},
}


_SEPARATORS = re.compile(r"[\s\-/+]+")


def canonical_token(value: object) -> str:
    """Lower-case, trimmed, with runs of spaces, hyphens, slashes and '+' as one underscore."""
    text = str(value).strip().lower()
    if text in {"+", "-", "?"}:
        return text
    return _SEPARATORS.sub("_", text).strip("_")


def is_blank(value: object) -> bool:
    """True for a missing value (:func:`ipafstudy.values.is_missing`) and the blank tokens ('', 'NA', 'N/A', ...)."""
    if is_missing(value):
        return True
    return isinstance(value, str) and value.strip().lower() in BLANK_TOKENS


@functools.cache
def aliases_for(table: str, column: Column) -> Mapping[str, str]:
    """Every accepted spelling (canonicalised) of ``column`` mapped to its canonical value.

    Cached (read-only): it is asked once per coded cell while loading, and the schema never changes.
    """
    allowed = column.allowed or ()
    out: dict[str, str] = {}
    if tuple(allowed) == YES_NO_UNKNOWN:
        out.update(_TRI_STATE_ALIASES)
    out.update(COLUMN_ALIASES.get((table, column.name), {}))
    for value in allowed:
        out[canonical_token(value)] = value
    return MappingProxyType(out)


def canonical_category(table: str, column: Column, value: object) -> str | None:
    """Canonical value of a coded cell, or None when the spelling is not accepted."""
    if isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    return aliases_for(table, column).get(canonical_token(value))


def canonical_header(header: object) -> str:
    """Column header as matched against the schema: 'Patient ID ' -> 'patient_id'."""
    return re.sub(r"[\s\-]+", "_", str(header).strip().lower())


def accepted_spellings() -> Mapping[tuple[str, str], dict[str, list[str]]]:
    """(table, column) -> {canonical value: [accepted aliases]} for docs and template notes."""
    out: dict[tuple[str, str], dict[str, list[str]]] = {}
    for table in TABLES.values():
        for column in table.columns:
            if not column.allowed:
                continue
            by_value: dict[str, list[str]] = {v: [] for v in column.allowed}
            for alias, value in aliases_for(table.name, column).items():
                if alias != canonical_token(value):
                    by_value[value].append(alias)
            out[(table.name, column.name)] = {k: sorted(v) for k, v in by_value.items()}
    return out
