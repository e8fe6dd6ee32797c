"""Table 1 from the analysis dataset: the plan's rows, Unknown rows, follow-up time and exposure duration.

Rules (docs/analysis.md, "Table 1"):

* Each plan row is resolved by ``AnalysisPlan.table1_variables`` (catalogue kind, label, section, levels).
* 0/1 and level rows count patients with the value among those in whom it is KNOWN (the denominator is printed when
  it is not the column total); when some patients lack the value an Unknown row follows with their number
  (denominator: every patient of the column). A continuous row summarises the known values; its n is printed when
  it is not the column total.
* Follow-up (always reported, after the plan rows): exposure duration (start to end of exposure or data cut-off,
  both days counted, as ``min_exposure_days``) and, per outcome, start to the follow-up value; in months of
  365.25 / 12 days; with landmarks, a row per landmark (start to the value chosen for it). Outcomes whose value is
  on the same day in every patient (the HRCT scores of one scan; the measures of one complete visit) share one row
  that names them all.
* Split by subgroup (``table1_by_subgroup``): a column per group of the plan's subgroup; patients without a group
  (missing or another value) are in the overall column only. Tests on the known values: Mann-Whitney (two groups)
  or Kruskal-Wallis (three or more) for continuous rows; chi-square or Fisher (``compare_categorical``, r x c) on
  the groups x (yes, no) or groups x levels table for 0/1 and categorical rows; Unknown rows are not tested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ipafstudy import stats
from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.analysis.results import BaselineRow, BaselineTable, Continuous, Count
from ipafstudy.analysis.table1_catalogue import Table1Variable
from ipafstudy.errors import InvalidOptionError

MONTH_DAYS = 365.25 / 12
FOLLOW_UP_SECTION = "Follow-up"
EXPOSURE_START = "exposure_start_date"
EXPOSURE_DAYS = "exposure_days"


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="raise").astype(float)


def _level_text(value: Any) -> str:
    """A categorical cell as its level code: 2.0 -> '2' (a numeric variable shown level by level)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _levels(var: Table1Variable, known: pd.Series) -> list[tuple[str, str]]:
    """Levels shown: the plan's only; else the catalogue's (always) then any other level found, sorted."""
    if var.levels_only:
        return list(var.levels)
    listed = [code for code, _ in var.levels]
    extra = sorted(set(known) - set(listed))
    return list(var.levels) + [(lv, var.level_label(lv)) for lv in extra]


def _count(known_mask: pd.Series, hit: pd.Series) -> Count:
    return Count(n=int((hit & known_mask).sum()), denominator=int(known_mask.sum()),
                 n_missing=int((~known_mask).sum()))


class _Row:
    """One variable evaluated on the overall column and each group column."""

    def __init__(self, data: pd.DataFrame, parts: Mapping[str, pd.DataFrame], notes: Any, plan: AnalysisPlan):
        self.data, self.parts, self.notes, self.plan = data, parts, notes, plan

    def continuous(self, key: str, label: str, section: str, values: pd.Series, variable: str) -> BaselineRow:
        """``values`` indexed like ``data`` (the group columns take their rows)."""
        def summary(v: pd.Series, where: str) -> Continuous | None:
            q = self.notes.call(where, stats.quantiles, v, method=self.plan.statistics.quantile_method)
            d = self.notes.call(where, stats.describe_continuous, v)
            if (q is None or q.n == 0) and (d is None or d.n == 0):  # no value: the cell prints as missing
                return None
            return Continuous(q, d, self.plan.statistics.continuous_summary)

        groups = {g: summary(values.loc[p.index], f"Table 1 {label} ({g})") for g, p in self.parts.items()}
        name, test = self._rank_test(label, {g: values.loc[p.index].dropna() for g, p in self.parts.items()})
        return BaselineRow(key=key, label=label, section=section, value=summary(values, f"Table 1 {label}"),
                           variable=variable, kind="continuous", groups=groups, test_name=name, test=test)

    def _rank_test(self, label: str, samples: Mapping[str, pd.Series]) -> tuple[str | None, Any]:
        if len(samples) < 2:
            return None, None
        st = self.plan.statistics
        if len(samples) == 2:
            x, y = samples.values()
            test = self.notes.call(f"Table 1 {label}", stats.mann_whitney, x, y, method=st.mann_whitney_method,
                                   continuity=st.mann_whitney_continuity, tie_decimals=st.tie_decimals)
            return ("Mann-Whitney U" if test is not None else None), test
        test = self.notes.call(f"Table 1 {label}", stats.kruskal_wallis, dict(samples), tie_decimals=st.tie_decimals)
        return ("Kruskal-Wallis" if test is not None else None), test

    def _categorical_test(self, label: str, table: list[list[int]]) -> tuple[str | None, Any]:
        if len(table) < 2:
            return None, None
        test = self.notes.call(f"Table 1 {label}", stats.compare_categorical, np.array(table, dtype=int))
        return getattr(test, "test", None), test

    def counts(self, var: Table1Variable, key_of: Any) -> list[BaselineRow]:
        """0/1 row or one row per level, then the Unknown row when some values are missing."""
        col = self.data[var.column]
        known = col.notna()
        parts = self.parts
        rows: list[BaselineRow] = []
        if var.kind == "binary":
            yes = _numeric(col).eq(1.0)
            table = [[int((yes & known).loc[p.index].sum()), int((~yes & known).loc[p.index].sum())]
                     for p in parts.values()]
            name, test = self._categorical_test(var.label, table)
            rows.append(BaselineRow(
                key=var.column, label=var.label, section=var.section, value=_count(known, yes), variable=var.column,
                kind="binary", groups={g: _count(known.loc[p.index], yes.loc[p.index]) for g, p in parts.items()},
                test_name=name, test=test,
            ))
        else:
            text = pd.Series([_level_text(v) if k else None for v, k in zip(col, known, strict=True)], index=col.index)
            shown = _levels(var, text[known])
            found = sorted(set(text[known]))
            table = [[int((text.loc[p.index] == lv).sum()) for lv in found] for p in parts.values()]
            name, test = self._categorical_test(var.label, table)
            for i, (level, label) in enumerate(shown):
                hit = text.eq(level)
                rows.append(BaselineRow(
                    key=key_of(level), label=label, section=var.section, value=_count(known, hit),
                    variable=var.column, kind="level", level=level,
                    groups={g: _count(known.loc[p.index], hit.loc[p.index]) for g, p in parts.items()},
                    test_name=name if i == 0 else None, test=test if i == 0 else None,
                ))
        n_missing = int((~known).sum())
        if n_missing:
            everyone = pd.Series(True, index=col.index)
            rows.append(BaselineRow(
                key=f"{var.column}=unknown", label=f"{var.label}: unknown", section=var.section,
                value=_count(everyone, ~known), variable=var.column, kind="unknown", level=None,
                groups={g: _count(everyone.loc[p.index], ~known.loc[p.index]) for g, p in parts.items()},
            ))
        return rows


def _split(data: pd.DataFrame, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    """The subgroup columns: the plan's groups in order (none given: every level found, sorted); a 0/1 or numeric
    subgroup column matches as text ('1', '0'). Blank or other values belong to no column."""
    if not plan.table1_by_subgroup:
        return {}
    col = data[plan.subgroup.variable]
    text = pd.Series([_level_text(v) if pd.notna(v) else None for v in col], index=col.index, dtype=object)
    groups = plan.subgroup.groups
    if groups is None:
        groups = tuple(sorted(set(text.dropna())))
    return {str(g): data[text.eq(str(g)).fillna(False).astype(bool)] for g in groups}


def follow_up_days(data: pd.DataFrame, code: str, point: str = "follow_up") -> pd.Series:
    """Days from the exposure start to the outcome's value at ``point`` (follow_up or a landmark m6; NaN without)."""
    start = pd.to_datetime(data[EXPOSURE_START], errors="raise")
    end = pd.to_datetime(data[f"{code}_{point}_date"], errors="raise")
    return (end - start).dt.days.astype(float)


def _lowered(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _follow_up_rows(row: _Row, data: pd.DataFrame, plan: AnalysisPlan) -> list[BaselineRow]:
    """Exposure duration and start-to-follow-up time per outcome, in months (always reported)."""
    if EXPOSURE_START not in data.columns or EXPOSURE_DAYS not in data.columns:
        return []
    out = [row.continuous("exposure_months", "Exposure duration (start to end of exposure or data cut-off), months",
                          FOLLOW_UP_SECTION, _numeric(data[EXPOSURE_DAYS]) / MONTH_DAYS, EXPOSURE_DAYS)]
    # outcomes whose value at a time point is on the same day in every patient share a row (one scan, one visit)
    same: dict[tuple[str, tuple[Any, ...]], list[Any]] = {}
    for o in plan.outcomes:
        for point in _time_points(data, o.code):
            dates = tuple(None if pd.isna(v) else str(v) for v in data[f"{o.code}_{point}_date"])
            same.setdefault((point, dates), []).append(o)
    for (point, _), outcomes in same.items():
        names = ", ".join(_lowered(o.label) for o in outcomes)
        what = "follow-up value" if point == "follow_up" else f"month-{point.removeprefix('m')} value"
        code = outcomes[0].code
        out.append(row.continuous(f"follow_up_months_{code}" + ("" if point == "follow_up" else f"_{point}"),
                                  f"Time from start to {what} ({names}), months", FOLLOW_UP_SECTION,
                                  follow_up_days(data, code, point) / MONTH_DAYS, f"{code}_{point}_date"))
    return out


def _time_points(data: pd.DataFrame, code: str) -> list[str]:
    """The outcome's follow-up time points in the dataset: each landmark (``<code>_m6_date``, by month) when the
    plan has landmarks (``<code>_follow_up_date`` then repeats one of them), else ``follow_up``."""
    found = [c for c in data.columns if re.fullmatch(rf"{re.escape(code)}_m\d+_date", c)]
    if found:
        return sorted((c.removeprefix(f"{code}_").removesuffix("_date") for c in found), key=lambda m: int(m[1:]))
    return ["follow_up"] if f"{code}_follow_up_date" in data.columns else []


def baseline_table(data: pd.DataFrame, plan: AnalysisPlan, notes: Any) -> BaselineTable:
    """Table 1 from the analysis dataset (rows in plan order, then follow-up); see the module docstring."""
    data = data.reset_index(drop=True)
    parts = _split(data, plan)
    row = _Row(data, parts, notes, plan)
    rows: list[BaselineRow] = []
    for i, var in enumerate(plan.table1_variables()):
        if var.column not in data.columns:
            raise InvalidOptionError(f"table1[{i}]: {var.column!r} is not a column of the analysis dataset")
        if var.kind == "continuous":
            rows.append(row.continuous(var.column, var.label, var.section, _numeric(data[var.column]), var.column))
        else:
            rows.extend(row.counts(var, lambda level, c=var.column: f"{c}={level}"))
    combos = [r for r in rows if r.variable == "domain_combination" and r.kind == "level"]
    if combos and sum(r.value.n for r in combos) != len(data):  # type: ignore[union-attr]
        total = sum(r.value.n for r in combos)  # type: ignore[union-attr]
        notes.add(f"Table 1: domain combinations add up to {total}, not the {len(data)} analysed patients")
    rows += _follow_up_rows(row, data, plan)
    sizes = {g: len(p) for g, p in parts.items()}
    return BaselineTable(
        n=len(data), rows=tuple(rows), groups=tuple(parts),
        group_labels={g: plan.subgroup.labels.get(g, g) for g in parts}, group_sizes=sizes,
        n_ungrouped=len(data) - sum(sizes.values()) if parts else 0,
        subgroup_variable=plan.subgroup.variable if parts else None,
    )
