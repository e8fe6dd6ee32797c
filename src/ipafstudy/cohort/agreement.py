"""Inter-reader agreement of the two HRCT readers (clinical-rules.md s.3).

* ICC(2,1) (two-way random, absolute agreement, single rater; Shrout & Fleiss) with its 95 %
  CI for each pattern score (0-24) and the total (0-96); subjects are scans scored completely
  by both reader1 and reader2 (scans missing either reader's score are counted as excluded).
* Cohen's weighted kappa (linear and quadratic weights, categories 0-4) per pattern on the
  zone grades: subjects are (scan, zone) pairs graded by both readers.

The statistics come from ``ipafstudy.stats`` (``icc``, ``weighted_kappa``); a statistic that
cannot be computed (e.g. fewer than 2 scans) is a row with NaN and the reason, not a crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ipafstudy.errors import InsufficientDataError
from ipafstudy.rules.hrct import PATTERNS, reader_scores, zone_grades
from ipafstudy.stats import icc, weighted_kappa

AGREEMENT_COLUMNS = ("measure", "statistic", "value", "ci_low", "ci_high", "n", "n_excluded", "band", "note")
GRADE_CATEGORIES = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class AgreementRow:
    measure: str
    statistic: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    n_excluded: int
    band: str
    note: str


@dataclass(frozen=True)
class AgreementResult:
    """Agreement between reader1 and reader2: one row per measure and statistic."""

    rows: tuple[AgreementRow, ...]
    n_scans: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.__dict__ for r in self.rows], columns=list(AGREEMENT_COLUMNS))

    def to_dict(self) -> dict[str, object]:
        return {"n_scans": self.n_scans, "rows": [dict(r.__dict__) for r in self.rows]}


def _pairs(frame: pd.DataFrame, index: list[str], value: str) -> pd.DataFrame:
    """reader1 and reader2 side by side per index (adjudicator reads are not part of agreement)."""
    two = frame[frame["reader_role"].isin(["reader1", "reader2"])]
    wide = two.groupby([*index, "reader_role"], sort=True)[value].first().unstack("reader_role")
    for role in ("reader1", "reader2"):
        if role not in wide.columns:
            wide[role] = math.nan
    return wide[["reader1", "reader2"]].astype(float)


def hrct_agreement(reads: pd.DataFrame) -> AgreementResult:
    """ICC(2,1) per pattern score and total, weighted kappa per pattern on zone grades."""
    rows: list[AgreementRow] = []
    if reads is None or len(reads) == 0:
        return AgreementResult((), 0)
    scores = reader_scores(reads)
    for measure in (*PATTERNS, "total"):
        pairs = _pairs(scores, ["patient_id", "scan_date"], measure)
        try:
            res = icc(pairs.reset_index(drop=True), model="ICC2_1", confidence=0.95)
            rows.append(AgreementRow(measure, "ICC(2,1)", res.value, res.ci_low, res.ci_high, res.n_subjects,
                                     res.n_excluded, res.band, ""))
        except InsufficientDataError as exc:
            rows.append(AgreementRow(measure, "ICC(2,1)", math.nan, math.nan, math.nan, 0, len(pairs),
                                     "not available", str(exc)))
    grades = zone_grades(reads)
    for pattern in PATTERNS:
        sub = grades[grades["pattern"] == pattern]
        pairs = _pairs(sub, ["patient_id", "scan_date", "zone"], "grade")
        for weights in ("linear", "quadratic"):
            try:
                res = weighted_kappa(pairs["reader1"].to_numpy(), pairs["reader2"].to_numpy(), weights=weights,
                                     categories=GRADE_CATEGORIES)
                rows.append(AgreementRow(pattern, f"kappa_{weights}", res.value, math.nan, math.nan, res.n,
                                         res.n_excluded, res.band, res.reason))
            except InsufficientDataError as exc:
                rows.append(AgreementRow(pattern, f"kappa_{weights}", math.nan, math.nan, math.nan, 0, len(pairs),
                                         "not available", str(exc)))
    n_scans = int(scores[["patient_id", "scan_date"]].drop_duplicates().shape[0])
    return AgreementResult(tuple(rows), n_scans)
