"""Additional analysis "comparator": an observational target-trial emulation against untreated IPAF patients (item 4).

Arms: the analysed (treated) patients, index date = drug start; the comparators of ``cohort.comparator``
(IPAF, never exposed up to the data cut-off), index date = their first primary-outcome value on or after the
IPAF date. A logistic propensity model of treatment on the plan's baseline covariates gives overlap weights
(IPTW as an option); balance is shown by standardised mean differences before and after weighting; the effect is
the weighted difference in mean change (treated minus comparator) per outcome with a percentile bootstrap CI that
re-fits the propensity model in every replicate (``stats.propensity``).

Choices where the issue is silent (docs/analysis.md): complete cases: a patient with a missing covariate is left
out of the part (counted in the notes); each outcome is analysed on the patients with complete covariates and a
change in it, with the propensity model fitted on exactly them (so the bootstrap re-fits what the estimate
fitted); the SMD table, ps and weights of ``comparator_dataset.csv`` come from the primary outcome's set. The part
runs when both arms have at least ``MIN_PER_ARM`` such patients, and an outcome gets a row when it does too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipafstudy.analysis.additional_plan import COMPARATOR_COVARIATES
from ipafstudy.analysis.results import _ToDict
from ipafstudy.values import jsonable

MIN_PER_ARM = 2
CONFIDENCE = 0.95
TREATED, COMPARATOR = "treated", "comparator"


@dataclass(frozen=True)
class ComparatorOutcome(_ToDict):
    """Weighted difference in change (treated minus comparator) for one outcome, with its bootstrap CI."""

    code: str
    label: str
    unit: str | None
    n_treated: int
    n_control: int
    mean_treated: float  # weighted mean change
    mean_control: float
    difference: float
    ci_low: float
    ci_high: float
    unweighted_difference: float
    ess_treated: float
    ess_control: float
    n_separated: int
    n_not_converged: int


@dataclass(frozen=True)
class BalanceRow(_ToDict):
    """SMD of one covariate term before and after weighting."""

    term: str
    label: str
    mean_treated: float
    mean_control: float
    smd_before: float
    mean_treated_weighted: float
    mean_control_weighted: float
    smd_after: float
    binary: bool


@dataclass(frozen=True)
class ComparatorResult(_ToDict):
    """The comparator part; ``dataset`` (one row per patient) is written to ``comparator_dataset.csv``."""

    weighting: str
    stabilized: bool
    covariates: tuple[str, ...]
    primary_outcome: str
    n_treated: int
    n_control: int
    n_candidates: int
    n_excluded_missing: dict[str, int]  # arm -> patients left out for a missing covariate
    flow: tuple[dict[str, Any], ...]
    index_rule: str
    balance: tuple[BalanceRow, ...]
    max_smd_before: float
    max_smd_after: float
    c_statistic: float
    ps_range: dict[str, tuple[float, float]]  # arm -> (min, max)
    follow_up_days: dict[str, float]  # arm -> median days from the index date to the primary follow-up
    outcomes: tuple[ComparatorOutcome, ...]
    skipped_outcomes: tuple[str, ...]
    bootstrap: int
    seed: int
    confidence: float
    dataset: pd.DataFrame = dataclasses.field(repr=False)
    design: str = ("observational target-trial emulation: untreated IPAF comparators, propensity-score weights; "
                   "not a randomised comparison")

    def to_dict(self) -> dict[str, Any]:
        """Every field but the per-patient dataset (written to comparator_dataset.csv)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "dataset"}


def covariate_label(name: str, plan: Any) -> str:
    """Words for a covariate of the plan (tables and text)."""
    if name == "primary_baseline":
        return f"Baseline {_lower(plan.outcome(plan.primary_outcome).label)}"
    if name in COMPARATOR_COVARIATES:
        return {"age": "Age", "sex": "Sex", "ever_smoker": "Ever smoker", "antibody_group": "Antibody group",
                "hrct_pattern": "HRCT pattern"}[name]
    if name.endswith("_baseline"):
        return f"Baseline {_lower(plan.outcome(name[:-9]).label)}"
    return name.removeprefix("concomitant_").replace("_", " ").capitalize() + " at the index date"


def _lower(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _covariate_column(name: str, plan: Any) -> str:
    """Column of the combined frame holding a covariate."""
    if name == "primary_baseline":
        return f"{plan.primary_outcome}_baseline"
    return name


def _arm_frames(ctx: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The treated (analysis dataset) and comparator rows with index dates and the covariate columns."""
    cohort = ctx.cohort
    treated = ctx.data.copy()
    cov = cohort.covariates.set_index("patient_id") if len(cohort.covariates) else pd.DataFrame()
    pids = treated["patient_id"]
    treated["index_date"] = [cohort.exposures[p].start for p in pids]
    treated["age"] = [cov.at[p, "age_at_start"] if p in cov.index else None for p in pids]
    for name in ("sex", "hrct_pattern", *(c for c in cov.columns if str(c).startswith("concomitant_"))):
        treated[name] = [cov.at[p, name] if name in cov.columns and p in cov.index else None for p in pids]
    comp = cohort.comparator
    control = comp.analysis_frame()
    ccov = comp.covariates.set_index("patient_id")
    cids = control["patient_id"]
    control["age"] = [ccov.at[p, "age_at_index"] for p in cids]
    for name in ("sex", "hrct_pattern", *(c for c in ccov.columns if str(c).startswith("concomitant_"))):
        control[name] = [ccov.at[p, name] if name in ccov.columns else None for p in cids]
    return treated, control


def _numeric_or_text(series: pd.Series) -> pd.Series:
    """Numbers as float (0/1 flags included); anything else as text with missing kept missing."""
    as_num = pd.to_numeric(series, errors="coerce")
    if as_num.notna().sum() == series.notna().sum():
        return as_num.astype(float)
    return series.astype(object).where(series.notna(), None)


def _dataset(treated: pd.DataFrame, control: pd.DataFrame, covs: list[str], plan: Any,
             outcomes: list[str]) -> pd.DataFrame:
    """One row per patient of both arms: arm, index date, covariates, per outcome baseline/follow-up/change."""
    cols = ["patient_id", "arm", "treated", "index_date", *[_covariate_column(c, plan) for c in covs]]
    for o in outcomes:
        cols += [f"{o}_baseline", f"{o}_baseline_date", f"{o}_follow_up", f"{o}_follow_up_date", f"{o}_change"]
    cols = list(dict.fromkeys(cols))
    parts = []
    for frame, arm, flag in ((treated, TREATED, 1), (control, COMPARATOR, 0)):
        f = frame.copy()
        f["arm"], f["treated"] = arm, flag
        for c in cols:
            if c not in f.columns:
                f[c] = None
        parts.append(f[cols])
    data = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=cols)
    for c in data.columns:  # dates as ISO text in both arms (the analysis dataset may hold either)
        if c == "index_date" or c.endswith("_date"):
            data[c] = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
                       else str(v)[:10] for v in data[c]]
    for c in covs:
        col = _covariate_column(c, plan)
        data[col] = _numeric_or_text(data[col])
    return data.sort_values(["treated", "patient_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def _median_days(data: pd.DataFrame, primary: str, flag: int) -> float:
    sub = data[(data["treated"] == flag) & data[f"{primary}_follow_up_date"].notna()]
    if not len(sub):
        return float("nan")
    days = (pd.to_datetime(sub[f"{primary}_follow_up_date"]) - pd.to_datetime(sub["index_date"])).dt.days
    return float(np.median(days.to_numpy(dtype=float)))


def run(ctx: Any) -> ComparatorResult | None:
    """The comparator part, or None with a note saying why it could not run."""
    from ipafstudy.stats import propensity as ps_stats

    spec = ctx.plan.additional.comparator
    plan = ctx.plan
    what = "Additional analyses, comparator (target-trial emulation)"
    comp = getattr(ctx.cohort, "comparator", None)
    if ctx.cohort is None or comp is None:
        ctx.notes.add(f"{what}: not run (no cohort with untreated IPAF patients was built)")
        return None
    primary = plan.primary_outcome
    outcomes = [o for o in (spec.outcomes or plan.outcome_codes) if o in plan.outcome_codes]
    if primary not in outcomes:
        outcomes = [primary, *outcomes]
    covs = list(spec.covariates)
    treated, control = _arm_frames(ctx)
    data = _dataset(treated, control, covs, plan, outcomes)
    cov_cols = [_covariate_column(c, plan) for c in covs]
    unknown = [c for c, col in zip(covs, cov_cols, strict=True) if data[col].isna().all() and len(data)]
    if unknown:
        ctx.notes.add(f"{what}: not run (covariate(s) {unknown} have no value in either arm; a concomitant_<drug> "
                      "covariate needs the drug under the plan's concomitant drugs)")
        return None
    complete = data[cov_cols].notna().all(axis=1).to_numpy()
    missing = {arm: int((~complete & (data["treated"] == flag).to_numpy()).sum())
               for arm, flag in ((TREATED, 1), (COMPARATOR, 0))}
    primary_set = complete & data[f"{primary}_change"].notna().to_numpy()
    n1 = int((primary_set & (data["treated"] == 1).to_numpy()).sum())
    n0 = int((primary_set & (data["treated"] == 0).to_numpy()).sum())
    if n1 < MIN_PER_ARM or n0 < MIN_PER_ARM:
        ctx.notes.add(f"{what}: not run ({n1} treated and {n0} untreated IPAF patient(s) with every covariate and a "
                      f"{plan.outcome(primary).label} change; at least {MIN_PER_ARM} per arm are needed)")
        return None
    seed = spec.seed if spec.seed is not None else plan.statistics.seed
    stabilized = spec.stabilized and spec.weighting == "iptw"
    sub = data[primary_set]
    x = sub[cov_cols].set_axis(covs, axis=1).set_axis(sub["patient_id"].to_numpy())
    t = sub["treated"].to_numpy(dtype=float)
    fit = ctx.notes.call(f"{what}, propensity model", ps_stats.propensity_scores, x, t)
    if fit is None:
        return None
    weights = ps_stats.balancing_weights(fit, t, spec.weighting, stabilized=stabilized)
    before = ps_stats.standardized_mean_differences(x, t)
    after = ps_stats.standardized_mean_differences(x, t, weights)
    balance = _balance(before.table, after.table, plan)
    sets: dict[bytes, tuple[np.ndarray, list[str]]] = {}  # outcomes of the same patients share the re-fits
    skipped = []
    for code in outcomes:
        rows_ok = complete & data[f"{code}_change"].notna().to_numpy()
        k1 = int((rows_ok & (data["treated"] == 1).to_numpy()).sum())
        k0 = int((rows_ok & (data["treated"] == 0).to_numpy()).sum())
        if k1 < MIN_PER_ARM or k0 < MIN_PER_ARM:
            ctx.notes.add(f"{what}, {plan.outcome(code).label}: not compared ({k1} treated and {k0} comparator "
                          f"patient(s) with a change and every covariate; at least {MIN_PER_ARM} per arm are needed)")
            skipped.append(code)
            continue
        sets.setdefault(rows_ok.tobytes(), (rows_ok, []))[1].append(code)
    found: dict[str, ComparatorOutcome] = {}
    for rows_ok, codes in sets.values():
        s = data[rows_ok]
        xs = s[cov_cols].set_axis(covs, axis=1).set_axis(s["patient_id"].to_numpy())
        tt = s["treated"].to_numpy(dtype=float)
        changes = pd.DataFrame({c: s[f"{c}_change"].to_numpy(dtype=float) for c in codes}, index=xs.index)
        boots = ctx.notes.call(f"{what}, {', '.join(plan.outcome(c).label for c in codes)}",
                               ps_stats.bootstrap_weighted_differences, xs, tt, changes, method=spec.weighting,
                               stabilized=stabilized, n_boot=spec.bootstrap, seed=seed, confidence=CONFIDENCE)
        if boots is None:
            skipped += codes
            continue
        for code in codes:
            boot, y, obs = boots[code], changes[code].to_numpy(), boots[code].observed
            label = plan.outcome(code).label
            found[code] = ComparatorOutcome(
                code=code, label=label, unit=plan.outcome(code).unit, n_treated=int((tt == 1).sum()),
                n_control=int((tt == 0).sum()), mean_treated=obs.mean_treated, mean_control=obs.mean_control,
                difference=boot.estimate, ci_low=boot.ci_low, ci_high=boot.ci_high,
                unweighted_difference=float(y[tt == 1].mean() - y[tt == 0].mean()),
                ess_treated=obs.ess_treated, ess_control=obs.ess_control, n_separated=boot.n_separated,
                n_not_converged=boot.n_not_converged,
            )
        if boots[codes[0]].n_separated:
            ctx.notes.add(f"{what}, {', '.join(plan.outcome(c).label for c in codes)}: in "
                          f"{boots[codes[0]].n_separated} of {spec.bootstrap} bootstrap replicates the resampled "
                          "covariates separated the arms (those patients got PS 0 or 1)")
    rows = [found[c] for c in outcomes if c in found]
    skipped = [c for c in outcomes if c in skipped]
    data["ps"] = np.nan
    data["weight"] = np.nan
    pos = np.flatnonzero(primary_set)
    data.loc[pos, "ps"] = fit.ps.to_numpy(dtype=float)
    data.loc[pos, "weight"] = np.asarray(weights, dtype=float)
    ps_all = fit.ps.to_numpy(dtype=float)
    ps_range = {arm: (float(ps_all[t == flag].min()), float(ps_all[t == flag].max()))
                for arm, flag in ((TREATED, 1), (COMPARATOR, 0))}
    if any(missing.values()):
        ctx.notes.add(f"{what}: {missing[TREATED]} treated and {missing[COMPARATOR]} comparator patient(s) left out "
                      "for a missing covariate (complete cases)")
    return ComparatorResult(
        weighting=spec.weighting, stabilized=stabilized, covariates=tuple(covs), primary_outcome=primary,
        n_treated=n1, n_control=n0, n_candidates=len(comp.patients), n_excluded_missing=missing,
        flow=tuple(s.to_dict() for s in comp.flow), index_rule=comp.rule, balance=balance,
        max_smd_before=float(np.nanmax(np.abs([b.smd_before for b in balance]))) if balance else float("nan"),
        max_smd_after=float(np.nanmax(np.abs([b.smd_after for b in balance]))) if balance else float("nan"),
        c_statistic=float(fit.c_statistic), ps_range=ps_range,
        follow_up_days={TREATED: _median_days(data, primary, 1), COMPARATOR: _median_days(data, primary, 0)},
        outcomes=tuple(rows), skipped_outcomes=tuple(skipped), bootstrap=spec.bootstrap, seed=int(seed),
        confidence=CONFIDENCE, dataset=data,
    )


def _balance(before: pd.DataFrame, after: pd.DataFrame, plan: Any) -> tuple[BalanceRow, ...]:
    rows = []
    after_by_term = after.set_index("term")
    for r in before.to_dict("records"):
        a = after_by_term.loc[r["term"]]
        label = covariate_label(str(r["covariate"]), plan)
        if r.get("level") is not None and not (isinstance(r["level"], float) and np.isnan(r["level"])):
            label = f"{label}: {r['level']}"
        rows.append(BalanceRow(term=str(r["term"]), label=label, mean_treated=float(r["mean_treated"]),
                               mean_control=float(r["mean_control"]), smd_before=float(r["smd"]),
                               mean_treated_weighted=float(a["mean_treated"]),
                               mean_control_weighted=float(a["mean_control"]), smd_after=float(a["smd"]),
                               binary=bool(r["binary"])))
    return tuple(rows)
