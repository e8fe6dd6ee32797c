"""The analysis dataset: one flat row per analysed patient, the single input of every table.

It joins the cohort's wide analysis frame (baseline / follow-up values, their dates, changes)
with the patient covariates, flattened to plain columns (0/1 for yes/no, blank for unknown), so
it can be written to ``analysis_dataset.csv`` and every number recomputed from that file alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.analysis.table1_catalogue import (  # noqa: F401  (re-exported: the IPAF item labels)
    CLINICAL_ITEMS,
    DOMAIN_COMBINATIONS,
    HRCT_PATTERN_LEVELS,
    MORPHOLOGIC_ITEMS,
    SEROLOGIC_ITEMS,
)
from ipafstudy.fileio import unescape_formulas

INDICATOR_PREFIXES = ("clinical_", "serologic_", "morphologic_", "domain_")
_YES = {"yes", "true", "1", "1.0", "y", "positive", "met"}
_NO = {"no", "false", "0", "0.0", "n", "negative", "not met"}


def as_indicator(values: pd.Series) -> pd.Series:
    """yes/no/unknown (or bool, 1/0, None) -> 1.0 / 0.0 / NaN; unknown stays unknown."""

    def one(v: Any) -> float:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, bool | np.bool_):
            return 1.0 if v else 0.0
        text = str(v).strip().lower()
        if text in _YES:
            return 1.0
        if text in _NO:
            return 0.0
        return np.nan

    return pd.Series([one(v) for v in values], index=values.index, dtype=float)


def subgroup_levels(data: pd.DataFrame, variable: str) -> pd.Series:
    """Each patient's subgroup level as text (None when missing): 0/1 columns give "1"/"0", text is stripped."""

    def one(v: Any) -> str | None:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return text or None

    return pd.Series([one(v) for v in data[variable]], index=data.index, dtype=object)


def outcome_columns(plan: AnalysisPlan) -> list[str]:
    """Per outcome: baseline, follow-up, change (+ dates); with landmarks also ``_m6``, ``_m6_date``,
    ``_change_m6`` per landmark (the follow-up columns then repeat the analysis landmark)."""
    cols = []
    for code in plan.outcome_codes:
        cols += [f"{code}_baseline", f"{code}_baseline_date", f"{code}_follow_up", f"{code}_follow_up_date",
                 f"{code}_change"]
        for m in plan.landmarks:
            cols += [f"{code}_m{m}", f"{code}_m{m}_date", f"{code}_change_m{m}"]
    return cols


def covariate_frame(covariates: pd.DataFrame) -> pd.DataFrame:
    """Flatten the cohort covariates into plain columns with fixed meaning (0/1 indicators, text levels)."""
    cov = covariates.copy()
    cov["patient_id"] = cov["patient_id"].astype(str)
    if "sex" in cov.columns:
        sex = cov["sex"].astype(object).where(cov["sex"].notna(), None)
        cov["sex"] = [None if v is None else str(v).strip().lower() for v in sex]
        cov["sex_male"] = [np.nan if v is None else float(v == "male") for v in cov["sex"]]
    indicator_like = [
        c for c in cov.columns
        if (c.startswith(INDICATOR_PREFIXES) and c != "domain_combination")
        or c in ("ever_smoker", "antibody_both", "pirfenidone", "nintedanib")
    ]
    for c in indicator_like:
        cov[c] = as_indicator(cov[c])
    for c in ("age_at_start", "tacrolimus_trough_median"):
        if c in cov.columns:
            cov[c] = pd.to_numeric(cov[c], errors="coerce").astype(float)
    if "exposure_days" in cov.columns:
        cov["exposure_days"] = pd.to_numeric(cov["exposure_days"], errors="coerce").astype("Int64")
    if "exposure_start_date" in cov.columns:
        cov["exposure_start_date"] = [_iso(v) for v in cov["exposure_start_date"]]
    return cov


def analysis_dataset(cohort: Any, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per analysed patient: covariates, then baseline / follow-up / change per outcome."""
    frame = cohort.analysis_frame().copy()
    frame["patient_id"] = frame["patient_id"].astype(str)
    cov = covariate_frame(cohort.covariates)
    keep = [c for c in cov.columns if c not in frame.columns or c == "patient_id"]
    data = frame.merge(cov[keep], on="patient_id", how="left", validate="one_to_one")
    data = _with_baselines(data, getattr(cohort, "baseline_values", None), plan)
    missing = [c for c in outcome_columns(plan) if c not in data.columns]
    for c in missing:
        data[c] = np.nan
    for code in plan.outcome_codes:
        landmark_cols = [s for m in plan.landmarks for s in (f"m{m}", f"change_m{m}")]
        for tp in ("baseline", "follow_up", "change", *landmark_cols):
            data[f"{code}_{tp}"] = pd.to_numeric(data[f"{code}_{tp}"], errors="coerce").astype(float)
        for tp in ("baseline_date", "follow_up_date", *(f"m{m}_date" for m in plan.landmarks)):
            data[f"{code}_{tp}"] = [_iso(v) for v in data[f"{code}_{tp}"]]
    return order_columns(data, plan)


def _with_baselines(data: pd.DataFrame, values: pd.DataFrame | None, plan: AnalysisPlan) -> pd.DataFrame:
    """``<variable>_baseline`` and ``_baseline_date`` of each non-outcome variable Table 1 shows (blank if none)."""
    data = data.copy()
    for code in plan.table1_baseline_variables:
        sub = pd.DataFrame(columns=["patient_id", "value", "date"]) if values is None or not len(values) else (
            values[values["variable"] == code])
        by_id = {str(r["patient_id"]): r for r in sub.to_dict("records")}
        data[f"{code}_baseline"] = [float(by_id[p]["value"]) if p in by_id else np.nan for p in data["patient_id"]]
        data[f"{code}_baseline_date"] = [_iso(by_id[p]["date"]) if p in by_id else None for p in data["patient_id"]]
    return data


def _iso(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value)[:10]


def order_columns(data: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Fixed column order (patient id, covariates sorted, outcomes in plan order), rows by patient id."""
    outcome_cols = outcome_columns(plan)
    first = ["patient_id"]
    covs = sorted(c for c in data.columns if c not in outcome_cols and c not in first)
    ordered = data[first + covs + [c for c in outcome_cols if c in data.columns]]
    return ordered.sort_values("patient_id", kind="mergesort").reset_index(drop=True)


def exclusions_frame(cohort: Any) -> pd.DataFrame:
    """The cohort's per-patient outcome exclusions (patient_id, outcome, timepoint, reason), sorted."""
    cols = ["patient_id", "outcome", "timepoint", "reason"]
    ex = getattr(cohort, "outcome_exclusions", None)
    if ex is None or len(ex) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    ex = pd.DataFrame(ex)[cols].copy()
    for c in cols:
        ex[c] = ex[c].astype(str)
    return ex.sort_values(cols, kind="mergesort").reset_index(drop=True)


def flow_steps(cohort: Any) -> tuple[Any, ...]:
    """Screening flow steps as recorded by the cohort (empty when there is no cohort)."""
    return tuple(getattr(cohort, "flow", ()) or ())


def read_dataset(path: Any) -> pd.DataFrame:
    """Read ``analysis_dataset.csv`` back with the types the analysis used (ids as text, formula escapes undone)."""
    return unescape_formulas(pd.read_csv(path, dtype={"patient_id": str}, keep_default_na=True))


def patient_ids(data: pd.DataFrame) -> Iterable[str]:
    return data["patient_id"].astype(str)
