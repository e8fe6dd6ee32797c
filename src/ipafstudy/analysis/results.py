"""Frozen result records of a study run; every number the report prints lives in one of these.

Each record keeps the n it was computed on and (through the stats results it holds) the
settings used, so ``results.json`` can be audited without re-running anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ipafstudy.values import jsonable


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


def _without_none(out: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Drop optional keys left at None, so results.json of a two-group study keeps its earlier form."""
    return {k: v for k, v in out.items() if not (k in keys and v is None)}


@dataclass(frozen=True)
class Count(_ToDict):
    """n (%) with its denominator: patients with the feature among those in whom it is known."""

    n: int
    denominator: int
    n_missing: int = 0

    @property
    def pct(self) -> float | None:
        return 100.0 * self.n / self.denominator if self.denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "denominator": self.denominator, "n_missing": self.n_missing, "pct": jsonable(self.pct)}


@dataclass(frozen=True)
class Continuous(_ToDict):
    """A continuous variable: quartiles and mean/SD; ``shown`` says which the tables print."""

    quantiles: Any
    describe: Any
    shown: str


@dataclass(frozen=True)
class BaselineRow(_ToDict):
    """Table 1 row: the overall value, and per subgroup with the test when Table 1 is split by subgroup.

    ``kind``: "continuous", "binary" (0/1), "level" (one level of a categorical variable; the test of the variable
    sits on its first level row) or "unknown" (patients without a value, as n of all patients in the column).
    """

    key: str
    label: str
    section: str
    value: Count | Continuous | None
    note: str | None = None
    variable: str | None = None
    kind: str = "binary"
    level: str | None = None
    groups: Mapping[str, Count | Continuous | None] = field(default_factory=dict)
    test_name: str | None = None
    test: Any = None


@dataclass(frozen=True)
class BaselineTable(_ToDict):
    """Table 1: plan rows then the follow-up rows; ``groups`` empty unless the plan splits it by subgroup."""

    n: int
    rows: tuple[BaselineRow, ...]
    groups: tuple[str, ...] = ()
    group_labels: Mapping[str, str] = field(default_factory=dict)
    group_sizes: Mapping[str, int] = field(default_factory=dict)
    #: Patients in no group column (subgroup value missing or not among the compared groups); in the overall only.
    n_ungrouped: int = 0
    subgroup_variable: str | None = None


@dataclass(frozen=True)
class PairedOutcome(_ToDict):
    """Baseline vs last follow-up for one outcome (Table 2 row, Figure 2 panel, Table 5 cell)."""

    code: str
    label: str
    unit: str | None
    group: str | None
    n_patients: int
    n_pairs: int
    baseline: Any
    follow_up: Any
    change: Any
    median_change: Any
    wilcoxon: Any
    normality: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    #: Mean and SD at baseline and follow-up (printed instead of the quartiles under ``continuous_summary: mean_sd``).
    baseline_describe: Any = None
    follow_up_describe: Any = None
    #: Which direction of change is an improvement (the plan outcome's ``better``: lower or higher).
    better: str | None = None

    def verdict(self, alpha: float) -> str | None:
        """'improved' or 'worsened' when the Wilcoxon test is significant at ``alpha``, else None.

        The direction is the side the signed ranks lean to (W+ vs W-), the direction the test found: a median
        change can be 0 while the ranks lean one way (few patients changed), so it cannot decide. Decreased and
        increased stay literal in Table 2; only this word depends on ``better``.
        """
        w = self.wilcoxon
        if self.better not in ("lower", "higher") or w is None or not w.p < alpha or w.w_plus == w.w_minus:
            return None
        went_up = w.w_plus > w.w_minus
        return "improved" if went_up == (self.better == "higher") else "worsened"


@dataclass(frozen=True)
class LandmarkOutcome(_ToDict):
    """Table 2 under landmarks: baseline vs one landmark for one outcome, and that Wilcoxon p adjusted by Holm
    across the outcome's landmarks (None when the test could not be run)."""

    month: int
    paired: PairedOutcome
    p_holm: float | None


@dataclass(frozen=True)
class GroupComparisonRow(_ToDict):
    """Table 4 row: one variable in the subgroups (2 or more), with the test named."""

    key: str
    label: str
    kind: str  # "continuous", "categorical", "level"
    groups: Mapping[str, Any]
    test_name: str | None
    test: Any
    note: str | None = None
    #: Continuous rows: mean and SD per group (printed under ``continuous_summary: mean_sd``).
    describe: Mapping[str, Any] = field(default_factory=dict)
    #: 3+ groups: the Holm-adjusted pairwise tests (stats.PairwiseResult); None for two groups.
    pairwise: Any = None

    def to_dict(self) -> dict[str, Any]:
        return _without_none(super().to_dict(), "pairwise")


@dataclass(frozen=True)
class SubgroupResponseRow(_ToDict):
    """Table 5 row: within-group Wilcoxon per group; changes between groups (Mann-Whitney, or Kruskal-Wallis)."""

    code: str
    label: str
    unit: str | None
    within: Mapping[str, PairedOutcome | None]
    between: Any
    note: str | None = None
    #: 3+ groups: Holm-adjusted pairwise Mann-Whitney of the changes; None for two groups.
    pairwise: Any = None

    def to_dict(self) -> dict[str, Any]:
        return _without_none(super().to_dict(), "pairwise")


@dataclass(frozen=True)
class BoxPlotPanel(_ToDict):
    """Figure 2 panel data: the paired values of the Table 2 comparison, and its p."""

    code: str
    label: str
    unit: str | None
    patient_ids: tuple[str, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]
    p: float | None
    before_box: Any = None
    after_box: Any = None


@dataclass(frozen=True)
class AdverseEventRow(_ToDict):
    event: str
    label: str
    patients: Count
    episodes: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MissingDataRow(_ToDict):
    """Per outcome and timepoint: how many analysed patients lack a value, and why."""

    outcome: str
    label: str
    timepoint: str
    n_analysed: int
    n_available: int
    reasons: Mapping[str, int]

    @property
    def n_missing(self) -> int:
        return self.n_analysed - self.n_available


@dataclass(frozen=True)
class StudyResults(_ToDict):
    """Everything a report needs; ``to_dict()`` is ``results.json``."""

    plan: Any
    settings: Any
    n_analysed: int
    group_sizes: Mapping[str, int]
    n_antibody_both: int | None
    dataset: pd.DataFrame
    baseline: BaselineTable
    paired: tuple[PairedOutcome, ...]
    box_plots: tuple[BoxPlotPanel, ...]
    correlation: Any
    correlation_labels: tuple[str, ...]
    regression: Any
    regression_labels: Mapping[str, str]
    subgroup_baseline: tuple[GroupComparisonRow, ...]
    subgroup_response: tuple[SubgroupResponseRow, ...]
    adverse_events: tuple[AdverseEventRow, ...]
    flow: tuple[Any, ...]
    agreement: pd.DataFrame | None
    missing: tuple[MissingDataRow, ...]
    exclusions: pd.DataFrame
    notes: tuple[str, ...]
    versions: Mapping[str, str]
    sources: tuple[Any, ...] = ()
    #: outcome -> {"baseline": rule, "follow_up": rule}: the time-point rules the cohort applied.
    timepoint_rules: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    data_cutoff_date: dt.date | None = None  # the cut-off used: stated, or derived from the records
    #: Analysed patients with no value of the subgroup variable (left out of Tables 4 and 5).
    subgroup_missing: int = 0
    #: The "Additional analyses" parts that ran (analysis.additional.AdditionalResults; None = not run).
    additional: Any = None
    #: Plan timepoints.follow_up.rule: landmarks: every outcome at every landmark (outcome order, then month).
    landmark_paired: tuple[LandmarkOutcome, ...] = ()

    def paired_for(self, code: str) -> PairedOutcome:
        for p in self.paired:
            if p.code == code:
                return p
        raise KeyError(f"no paired comparison for outcome {code!r}")

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "dataset"
               and not (f.name == "subgroup_missing" and not self.subgroup_missing)}  # 0: results.json unchanged
        out["dataset_columns"] = list(map(str, self.dataset.columns))
        return out
