"""Validation issues as records, collected in one pass and reported together (pandera-style).

A clinician fixing a spreadsheet needs every problem at once, each pointing at a cell:
file, sheet, row (as numbered in their own file, header = row 1), column and the value found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

from ipafstudy.values import jsonable

Severity = Literal["error", "warning"]

ISSUE_FIELDS = ("file", "sheet", "row", "column", "value", "rule", "message", "severity")


@dataclass(frozen=True)
class ValidationIssue:
    """One broken rule at one place; ``row``/``column``/``sheet`` are None when not cell-specific."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: object
    rule: str
    message: str
    severity: Severity = "error"

    @property
    def location(self) -> str:
        """'measurements.csv row 14, column unit' (or with 'sheet X' for workbooks)."""
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        where = " ".join(parts)
        if self.column:
            where += f", column {self.column}"
        return where

    def describe(self) -> str:
        """The full sentence shown to the user: location, then what is wrong and what to do."""
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["value"] = jsonable(self.value)
        return out


def _sort_key(issue: ValidationIssue) -> tuple[object, ...]:
    return (issue.file, issue.sheet or "", issue.row if issue.row is not None else -1, issue.column or "")


@dataclass(frozen=True)
class ValidationReport:
    """Every issue found in the input, sorted by file, sheet and row; never raises by itself."""

    issues: tuple[ValidationIssue, ...] = field(default_factory=tuple)

    @classmethod
    def from_issues(cls, issues: Iterable[ValidationIssue]) -> ValidationReport:
        unique = list(dict.fromkeys(issues))  # identical issues reported once, first order kept
        return cls(tuple(sorted(unique, key=_sort_key)))

    @property
    def errors(self) -> tuple[ValidationIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[ValidationIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    @property
    def is_valid(self) -> bool:
        return not self.has_errors

    def rules(self) -> list[str]:
        """Rule codes in report order (handy in tests and summaries)."""
        return [i.rule for i in self.issues]

    def to_frame(self) -> pd.DataFrame:
        rows = [i.to_dict() for i in self.issues]
        frame = pd.DataFrame(rows, columns=list(ISSUE_FIELDS))
        frame["row"] = frame["row"].astype("Int64")
        return frame

    def to_dict(self) -> dict[str, object]:
        return {
            "valid": self.is_valid,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_json(self, *, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)

    def summary(self) -> str:
        n_err, n_warn = len(self.errors), len(self.warnings)
        verdict = "NOT valid" if self.has_errors else "valid"
        return f"{n_err} error(s), {n_warn} warning(s): the input is {verdict}."

    def to_text(self) -> str:
        """A readable table: severity, location, rule, message; then a one-line summary."""
        if not self.issues:
            return "No problems found. " + self.summary()
        head = ("severity", "where", "rule", "problem")
        rows = [(i.severity.upper(), i.location, i.rule, i.message) for i in self.issues]
        widths = [max(len(r[k]) for r in [head, *rows]) for k in range(3)]
        lines = []
        for r in [head, *rows]:
            lines.append("  ".join(r[k].ljust(widths[k]) for k in range(3)) + "  " + r[3])
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
        lines.append("")
        lines.append(self.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
