"""Additional analysis "slopes": rate of change of each outcome over all dated values (issue 12 item 1).

Data per outcome, from the cohort's long table of dated values (``Cohort.observations``): values on
the same day for one patient are averaged (as the time-point rules do); time = days from the drug
start / 365.25 (years). Values after the end of exposure (the data cut-off for ongoing treatment) are
left out: they are off treatment.

* Overall slope: values from the start of the baseline window (``baseline_window_days`` before the
  drug start) to the end of exposure, i.e. the on-treatment course from baseline on.
* Piecewise (``change_point``, default 0 = the drug start): every value up to the end of exposure,
  including all earlier pre-treatment values, with a knot at the change point; slope before, after
  and their difference.

Only patients with at least ``min_values`` values in the model's window enter it. Each model is
:func:`ipafstudy.stats.slope_model` (REML); a failure is a note, not an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ipafstudy import stats
from ipafstudy.analysis.results import _ToDict

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class OutcomeSlopes(_ToDict):
    """One outcome's overall and piecewise slope models (None when not estimable; ``notes`` say why)."""

    code: str
    label: str
    unit: str | None
    n_patients_overall: int
    n_values_overall: int
    n_patients_piecewise: int
    n_values_piecewise: int
    overall: Any  # stats.SlopeResult | None
    piecewise: Any  # stats.SlopeResult | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlopesResult(_ToDict):
    """All outcomes' slope models with the options used."""

    rows: tuple[OutcomeSlopes, ...]
    change_point: float | None
    min_values: int
    random_slope: bool
    baseline_window_days: int
    n_analysed: int
    time_unit: str = "years (days from the drug start / 365.25)"


def _end_days(cohort: Any) -> dict[str, int]:
    """Days from the drug start to the end of exposure, per analysed patient (ongoing: up to the cut-off)."""
    out = {}
    cutoff = getattr(cohort, "data_cutoff_date", None)
    for pid, exp in getattr(cohort, "exposures", {}).items():
        if exp.start is None:
            continue
        end = exp.end or cutoff or dt.date.max
        out[str(pid)] = (end - exp.start).days if end != dt.date.max else 10**9
    return out


def long_values(cohort: Any, code: str) -> pd.DataFrame:
    """patient_id, days, years, value for one outcome: same-day values averaged, off-treatment values dropped."""
    obs = getattr(cohort, "observations", None)
    if obs is None or len(obs) == 0:
        return pd.DataFrame(columns=["patient_id", "days", "years", "value"])
    part = obs[obs["outcome"] == code]
    ends = _end_days(cohort)
    part = part[[int(d) <= ends.get(str(p), -1) for p, d in zip(part["patient_id"], part["days_from_start"],
                                                                   strict=True)]]
    day = part.groupby(["patient_id", "days_from_start"], sort=True)["value"].mean().reset_index()
    day = day.rename(columns={"days_from_start": "days"})
    day["patient_id"] = day["patient_id"].astype(str)
    day["years"] = day["days"].astype(float) / DAYS_PER_YEAR
    return day[["patient_id", "days", "years", "value"]]


def _enough(frame: pd.DataFrame, min_values: int) -> pd.DataFrame:
    counts = frame.groupby("patient_id")["value"].transform("size")
    return frame[counts >= min_values].reset_index(drop=True)


def model_frames(cohort: Any, code: str, window: int, min_values: int) -> dict[str, pd.DataFrame]:
    """The values each model of one outcome uses: "overall" (from the baseline window on) and "piecewise" (all)."""
    values = long_values(cohort, code)
    return {"overall": _enough(values[values["days"] >= -window], min_values),
            "piecewise": _enough(values, min_values)}


def run(ctx: Any) -> SlopesResult | None:
    """Slope models per outcome of the plan (or of ``additional.slopes.outcomes``)."""
    spec = ctx.plan.additional.slopes
    cohort, notes = ctx.cohort, ctx.notes
    if cohort is None or getattr(cohort, "observations", None) is None:
        notes.add("Additional analyses, slopes: not computed (no dated values available)")
        return None
    window = int(getattr(ctx.plan.settings, "baseline_window_days", 0))
    codes = spec.outcomes or ctx.plan.outcome_codes
    rows = []
    for code in codes:
        o = ctx.plan.outcome(code)
        frames = model_frames(cohort, code, window, spec.min_values)
        overall_data, piece_data = frames["overall"], frames["piecewise"]
        fit_kw = {"value": "value", "time": "years", "subject": "patient_id", "random_slope": spec.random_slope,
                  "confidence": ctx.plan.statistics.confidence}
        overall = notes.call(f"Additional analyses, {o.label} slope", stats.slope_model, overall_data, **fit_kw)
        piecewise = None
        if spec.change_point is not None:
            piecewise = notes.call(f"Additional analyses, {o.label} piecewise slope", stats.slope_model, piece_data,
                                   change_point=spec.change_point, **fit_kw)
        rows.append(OutcomeSlopes(
            code=code, label=o.label, unit=o.unit,
            n_patients_overall=int(overall_data["patient_id"].nunique()), n_values_overall=len(overall_data),
            n_patients_piecewise=int(piece_data["patient_id"].nunique()), n_values_piecewise=len(piece_data),
            overall=overall, piecewise=piecewise,
        ))
    return SlopesResult(rows=tuple(rows), change_point=spec.change_point, min_values=spec.min_values,
                        random_slope=spec.random_slope, baseline_window_days=window,
                        n_analysed=len(ctx.data))
