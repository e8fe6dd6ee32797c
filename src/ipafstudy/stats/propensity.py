"""Propensity scores, balancing weights, standardised mean differences and weighted differences.

The statistics of an observational comparator (target-trial emulation): a logistic model of treatment on
baseline covariates, overlap weights (or inverse-probability weights), covariate balance before and after
weighting, and the weighted difference in change between the arms with a bootstrap CI that re-fits the model
in every replicate. No cohort knowledge here: the caller chooses patients and covariates.

Conventions (checked against R ``glm``, base R formulas and ``boot`` in ``tests/reference/propensity.R``):

- The model is R's ``glm(treated ~ covariates, family = binomial)``: unpenalised maximum likelihood (statsmodels
  GLM Binomial, IRLS to full convergence). Numeric and boolean columns enter as they are; text and categorical
  columns are dummy-coded against their first level (a pandas Categorical: its category order; otherwise the
  observed values sorted as text), one 0/1 term ``name[level]`` per other observed level.
- Overlap weights: treated 1 - ps, control ps (Li, Morgan, Zaslavsky 2018). IPTW: treated 1/ps, control
  1/(1 - ps); stabilised: multiplied by the share of the patient's arm.
- SMD: (weighted) mean difference over the UNWEIGHTED pooled SD, sqrt((s1^2 + s0^2)/2) (variances with n - 1),
  or sqrt((p1(1 - p1) + p0(1 - p0))/2) for a 0/1 term, so before and after share one denominator (Austin 2009).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.optimize import linprog
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM  # not statsmodels.api: it imports all of statsmodels

from ipafstudy.conventions import (
    DEFAULT_CONFIDENCE,
    DEFAULT_PROPENSITY_BOOTSTRAP_RESAMPLES,
    DEFAULT_WEIGHTING_METHOD,
    WEIGHTING_METHODS,
    WeightingMethod,
)
from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError, check_option
from ipafstudy.stats._base import ResultMixin, check_confidence, check_integer
from ipafstudy.values import jsonable

INTERCEPT = "Intercept"
DEFAULT_SEED = 20240101
#: R glm.fit's "fitted probabilities numerically 0 or 1" threshold (10 x machine epsilon).
_R_EPS = 10 * np.finfo(float).eps
#: A bootstrap replicate whose fitted probability is this close to 0 or 1 is counted as separated.
_SEPARATED = 1e-8
_MAXITER = 100
_CHUNK_CELLS = 2_000_000  # replicate x patient x parameter cells per block of the vectorised re-fit
_SHOW = 5  # row labels shown per problem


# --------------------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class PropensityFit(ResultMixin):
    """A fitted propensity model. ``ps`` and ``linear_predictor`` are indexed like the covariates.

    ``coefficients``: one row per term (``Intercept`` first) with estimate, se, z, p and Wald CI (R
    ``summary(glm)`` and ``confint.default``). ``levels``: per categorical covariate its observed levels,
    the first being the reference. ``c_statistic``: area under the ROC curve of ps (ties count 1/2).
    """

    ps: pd.Series
    linear_predictor: pd.Series
    coefficients: pd.DataFrame
    covariates: tuple
    terms: tuple
    levels: dict
    n: int
    n_treated: int
    n_control: int
    deviance: float
    null_deviance: float
    loglik: float
    aic: float
    c_statistic: float
    iterations: int
    confidence: float
    method: str = "logistic regression (GLM binomial, logit link, unpenalised maximum likelihood)"


@dataclass(frozen=True, slots=True)
class SmdResult(ResultMixin):
    """Standardised mean differences, one row of ``table`` per term.

    Columns: term, covariate, level (categorical terms), binary, mean_treated, mean_control (weighted when
    ``weighted``), denominator (unweighted pooled SD), smd. ``smd`` is NaN where the denominator is 0 (the term
    is constant within both arms); ``undefined`` lists those terms.
    """

    table: pd.DataFrame
    weighted: bool
    max_abs_smd: float
    undefined: tuple
    convention: str = (
        "(weighted) mean difference / unweighted pooled SD: sqrt((s1^2 + s0^2) / 2) for continuous terms, "
        "sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2) for 0/1 terms"
    )


@dataclass(frozen=True, slots=True)
class WeightedDifferenceResult(ResultMixin):
    """Weighted mean of ``change`` per arm and their difference (treated minus control).

    ``ess_*`` is Kish's effective sample size (sum w)^2 / sum w^2 of each arm's weights.
    """

    difference: float
    mean_treated: float
    mean_control: float
    n_treated: int
    n_control: int
    ess_treated: float
    ess_control: float


@dataclass(frozen=True, slots=True)
class BootstrapDifferenceResult(ResultMixin):
    """Weighted difference with a percentile bootstrap CI; the propensity model is re-fitted per replicate.

    ``replicates`` (the statistic of each replicate, in order) is kept on the object but left out of
    ``to_dict()``. ``n_separated`` counts replicates in which the resampled covariates separated the arms: the
    fit then gives the separated patients ps 0 or 1 (the limit of the likelihood, as R's glm does with a
    warning), so overlap weights give them weight 0 and the replicate is kept.
    """

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    observed: WeightedDifferenceResult
    method: str
    stabilized: bool
    n_boot: int
    seed: int | None
    resampling: str
    n_separated: int
    n_not_converged: int
    replicates: np.ndarray
    ci_method: str = "percentile (numpy 'linear' quantiles = R quantile type 7)"

    def to_dict(self) -> dict[str, Any]:
        """Every field but the replicates (thousands of numbers that belong in no results file)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self) if f.name != "replicates"}


# --------------------------------------------------------------------------------------------- input checks
def _labels(index: pd.Index, mask: np.ndarray) -> str:
    shown = [repr(v) for v in index[mask][:_SHOW]]
    more = int(mask.sum()) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _raise_problems(caller: str, problems: list[str]) -> None:
    if problems:
        body = "\n".join(f"- {p}" for p in problems)
        raise DataValidationError(None, f"{caller}(): {len(problems)} problem(s) in the input:\n{body}")


def _is_categorical(col: pd.Series) -> bool:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return False
    present = col.dropna()
    return not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                   for v in present)


def _check_frame(caller: str, covariates: Any, problems: list[str]) -> pd.DataFrame:
    if not isinstance(covariates, pd.DataFrame):
        raise DataValidationError(
            None, f"{caller}(): covariates must be a pandas DataFrame (one column per covariate, one row per patient)"
        )
    if covariates.shape[1] == 0:
        raise DataValidationError(None, f"{caller}(): covariates has no columns; name at least one covariate")
    dup_cols = covariates.columns[covariates.columns.duplicated()]
    if len(dup_cols):
        problems.append(f"covariate columns appear more than once: {sorted(map(str, set(dup_cols)))}")
    dup = covariates.index.duplicated()
    if dup.any():
        problems.append(f"patients (index labels) appear more than once: {_labels(covariates.index, dup)}")
    for name in covariates.columns:
        col = covariates[name]
        if isinstance(col, pd.DataFrame):
            continue
        miss = col.isna().to_numpy()
        if miss.any():
            problems.append(
                f"covariate {name!r} is missing for {int(miss.sum())} patient(s) "
                f"(rows/ids {_labels(col.index, miss)}); the propensity model needs every covariate of every "
                "patient: impute it or leave those patients out"
            )
        elif not _is_categorical(col):
            values = col.to_numpy(dtype=float)
            bad = ~np.isfinite(values)
            if bad.any():
                problems.append(f"covariate {name!r} is infinite for rows/ids {_labels(col.index, bad)}")
    return covariates


def _aligned(caller: str, name: str, values: Any, index: pd.Index | None, n: int, problems: list[str]) -> np.ndarray:
    """``values`` as a float array in the order of ``index`` (Series by label, anything else by position)."""
    if isinstance(values, pd.DataFrame):
        raise DataValidationError(None, f"{caller}(): {name} must be one column (a Series or array), not a DataFrame")
    if isinstance(values, pd.Series):
        if values.index.duplicated().any():
            problems.append(f"{name} has duplicated labels: {_labels(values.index, values.index.duplicated())}")
            return np.full(n, np.nan)
        if index is not None and not values.index.equals(index):
            if set(values.index) != set(index):
                problems.append(
                    f"{name} is a Series whose labels are not the patients' labels (e.g. "
                    f"{sorted(map(repr, set(values.index) ^ set(index)))[:_SHOW]}); pass it with the same index "
                    "or as a plain array in the same order"
                )
                return np.full(n, np.nan)
            values = values.reindex(index)
        raw = values.to_numpy(dtype=object)
    else:
        raw = np.ravel(np.asarray(values, dtype=object))
    if raw.size != n:
        problems.append(f"{name} has {raw.size} values but there are {n} patients")
        return np.full(n, np.nan)
    out = np.full(n, np.nan)
    labels = index if index is not None else pd.RangeIndex(n)
    bad = np.zeros(n, dtype=bool)
    for i, v in enumerate(raw):
        if v is None or v is pd.NA:
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            bad[i] = True
    if bad.any():
        problems.append(f"{name} must be numeric; rows/ids {_labels(labels, bad)} are not")
    return out


def _check_treated(caller: str, t: np.ndarray, index: pd.Index, problems: list[str]) -> None:
    miss = np.isnan(t)
    if miss.any():
        problems.append(f"treated is missing for rows/ids {_labels(index, miss)}")
    bad = ~miss & (t != 0) & (t != 1)
    if bad.any():
        problems.append(f"treated must be 0 (control) or 1 (treated); rows/ids {_labels(index, bad)} hold "
                        f"{sorted(set(t[bad].tolist()))[:_SHOW]}")


def _need_both_arms(caller: str, t: np.ndarray, minimum: int = 1) -> None:
    n1, n0 = int((t == 1).sum()), int((t == 0).sum())
    if n1 < minimum or n0 < minimum:
        raise InsufficientDataError(
            f"{caller}(): needs at least {minimum} treated and {minimum} control patient(s); got {n1} treated, "
            f"{n0} control"
        )


# --------------------------------------------------------------------------------------------- design
@dataclass(frozen=True, slots=True)
class _Design:
    matrix: np.ndarray  # n x p, intercept first
    terms: tuple  # names, intercept first
    covariate_of: tuple  # covariate of each term (intercept: "")
    level_of: tuple  # level of each term (numeric / intercept: None)
    levels: dict  # categorical covariate -> observed levels (reference first)
    members: dict  # categorical covariate -> {level: boolean membership array}
    smd_terms: list  # (term, covariate, level, 0/1 array or numeric array, binary)


def _levels(col: pd.Series) -> list:
    present = col.dropna()
    if isinstance(col.dtype, pd.CategoricalDtype):
        seen = set(present.tolist())
        return [c for c in col.cat.categories if c in seen]
    return sorted(set(present.tolist()), key=lambda v: (str(v), repr(v)))


def _design(caller: str, covariates: pd.DataFrame) -> _Design:
    columns = [np.ones(len(covariates))]
    terms, cov_of, lev_of = [INTERCEPT], [""], [None]
    levels: dict[str, tuple] = {}
    members: dict[str, dict] = {}
    smd: list = []
    constant: list[str] = []
    for name in covariates.columns:
        col = covariates[name]
        if _is_categorical(col):
            lv = _levels(col)
            levels[str(name)] = tuple(lv)
            if len(lv) < 2:
                constant.append(f"{name!r} (every patient has {lv[0]!r})" if lv else f"{name!r}")
                continue
            values = col.to_numpy(dtype=object)
            dummies = {lev: (values == lev).astype(float) for lev in lv}
            members[str(name)] = {lev: values == lev for lev in lv}
            for lev in lv[1:]:
                columns.append(dummies[lev])
                terms.append(f"{name}[{lev}]")
                cov_of.append(str(name))
                lev_of.append(lev)
            for lev in (lv[1:] if len(lv) == 2 else lv):
                smd.append((f"{name}[{lev}]", str(name), lev, dummies[lev], True))
        else:
            x = col.to_numpy(dtype=float)
            if np.all(x == x[0]):
                constant.append(f"{name!r} (every patient has {x[0]:g})")
                continue
            columns.append(x)
            terms.append(str(name))
            cov_of.append(str(name))
            lev_of.append(None)
            smd.append((str(name), str(name), None, x, bool(np.isin(x, (0.0, 1.0)).all())))
    if constant:
        raise InsufficientDataError(
            f"{caller}(): constant covariate(s) {', '.join(constant)}: a covariate that does not vary cannot enter "
            "the propensity model or be balanced; leave it out"
        )
    return _Design(np.column_stack(columns), tuple(terms), tuple(cov_of), tuple(lev_of), levels, members, smd)


def _check_rank(caller: str, design: _Design) -> None:
    x = design.matrix
    scale = np.sqrt((x**2).mean(axis=0))
    _, s, vt = np.linalg.svd(x / scale, full_matrices=False)
    tol = s[0] * max(x.shape) * np.finfo(float).eps * 1e3
    null = vt[s <= tol]
    if null.size:
        involved = sorted({design.terms[j] for v in null for j in np.flatnonzero(np.abs(v) > 1e-8)})
        raise InsufficientDataError(
            f"{caller}(): the covariates are collinear (terms {', '.join(involved)} are a linear combination of "
            "each other), so their propensity-model coefficients are not identified; leave one of them out"
        )


def _separation_message(caller: str, design: _Design, t: np.ndarray) -> str | None:
    """Name the covariate(s) that separate the arms, or None when they do not (Konis 2007 linear program)."""
    x = design.matrix
    found: list[str] = []
    seen_cov: set[str] = set()
    for j in range(1, x.shape[1]):
        cov, lev = design.covariate_of[j], design.level_of[j]
        x1, x0 = x[t == 1, j], x[t == 0, j]
        if lev is None and cov not in seen_cov:
            if x1.min() >= x0.max():
                found.append(f"covariate {cov!r}: every treated patient has {cov} >= {x1.min():g} and every control "
                             f"patient {cov} <= {x0.max():g}")
            elif x1.max() <= x0.min():
                found.append(f"covariate {cov!r}: every treated patient has {cov} <= {x1.max():g} and every control "
                             f"patient {cov} >= {x0.min():g}")
            else:
                continue
            seen_cov.add(cov)
    for cov, members in design.members.items():
        if cov in seen_cov:
            continue
        for lev, member in members.items():
            n_in = int(member.sum())
            statement = None
            if not (t[member] == 1).any():
                statement = f"every patient with {cov} = {lev!r} (n = {n_in}) is a control patient"
            elif not (t[member] == 0).any():
                statement = f"every patient with {cov} = {lev!r} (n = {n_in}) is treated"
            elif (t[~member] == 0).all():
                statement = f"every treated patient has {cov} = {lev!r}"
            elif (t[~member] == 1).all():
                statement = f"every control patient has {cov} = {lev!r}"
            if statement:
                found.append(f"covariate {cov!r}: {statement}")
                seen_cov.add(cov)
                break
    if found:
        return "; ".join(found)
    # A combination of covariates: is there b != 0 with (2t - 1) x_i b >= 0 for every patient?
    scale = np.sqrt((x**2).mean(axis=0))
    signed = (2 * t - 1)[:, None] * (x / scale)
    res = linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(t)), bounds=[(-1, 1)] * x.shape[1],
                  method="highs")
    if res.status == 0 and -res.fun > 1e-7 * len(t):
        involved = sorted({design.covariate_of[j] for j in np.flatnonzero(np.abs(res.x) > 1e-6) if j > 0})
        return (f"covariates {', '.join(map(repr, involved))} together: a linear combination of them ranks every "
                "treated patient at or above every control patient")
    return None


def _prepare(caller: str, covariates: Any, treated: Any) -> tuple[pd.DataFrame, np.ndarray, _Design]:
    problems: list[str] = []
    frame = _check_frame(caller, covariates, problems)
    t = _aligned(caller, "treated", treated, frame.index, len(frame), problems)
    _check_treated(caller, t, frame.index, problems)
    _raise_problems(caller, problems)
    _need_both_arms(caller, t)
    design = _design(caller, frame)
    n, p = design.matrix.shape
    if n < p:
        raise InsufficientDataError(
            f"{caller}(): {n} patients are fewer than the {p} parameters of the propensity model (intercept and "
            f"terms {', '.join(design.terms[1:])}); use fewer covariates"
        )
    _check_rank(caller, design)
    return frame, t, design


# --------------------------------------------------------------------------------------------- propensity model
def propensity_scores(
    covariates: pd.DataFrame, treated: Any, *, confidence: float = DEFAULT_CONFIDENCE
) -> PropensityFit:
    """Propensity scores P(treated | covariates) from an unpenalised logistic regression (R ``glm`` binomial).

    ``covariates``: one row per patient (its index labels the patients), one column per covariate; text and
    categorical columns are dummy-coded against their first level. ``treated``: 1 = treated, 0 = control (a
    Series is matched by label, an array by position). Missing or non-numeric input: ``DataValidationError``
    listing every problem. A constant or collinear covariate, fewer patients than parameters, an empty arm, or
    covariates that separate the arms (no finite maximum-likelihood estimate): ``InsufficientDataError`` naming
    the covariate(s).

    >>> fit = propensity_scores(pd.DataFrame({"age": [50, 71, 58, 60]}), [1, 1, 0, 0])
    >>> round(float(fit.ps.iloc[0]), 4), fit.terms
    (0.4349, ('Intercept', 'age'))
    """
    caller = "propensity_scores"
    conf = check_confidence(caller, confidence)
    frame, t, design = _prepare(caller, covariates, treated)
    separated = _separation_message(caller, design, t)
    if separated:
        raise InsufficientDataError(
            f"{caller}(): the covariates separate treated from control patients ({separated}), so the logistic "
            "model has no finite maximum-likelihood estimate (perfect or quasi-complete separation); leave that "
            "covariate out, merge its rare levels, or coarsen it"
        )
    x = design.matrix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own separation/convergence warnings: checked below
        res = GLM(t, x, family=Binomial()).fit(
            method="IRLS", maxiter=_MAXITER, tol_criterion="params", atol=1e-11, rtol=1e-11
        )
    mu = np.asarray(res.fittedvalues, dtype=float)
    iterations = int(res.fit_history.get("iteration", 0))
    if not res.converged or iterations >= _MAXITER:
        raise InsufficientDataError(f"{caller}(): the logistic model did not converge in {_MAXITER} iterations")
    if ((mu < _R_EPS) | (mu > 1 - _R_EPS)).any():
        raise InsufficientDataError(
            f"{caller}(): fitted probabilities numerically 0 or 1 (the covariates separate the arms); leave out or "
            "coarsen the covariate that does it"
        )
    params = np.asarray(res.params, dtype=float)
    se = np.asarray(res.bse, dtype=float)
    z = params / se
    q = float(sps.norm.ppf(0.5 + conf / 2))
    coefficients = pd.DataFrame({
        "term": list(design.terms), "estimate": params, "se": se, "z": z, "p": 2 * sps.norm.sf(np.abs(z)),
        "ci_low": params - q * se, "ci_high": params + q * se,
    })
    ranks = sps.rankdata(mu)
    n1, n0 = int(t.sum()), int((1 - t).sum())
    c_stat = (float(ranks[t == 1].sum()) - n1 * (n1 + 1) / 2) / (n1 * n0)
    lin = x @ params
    return PropensityFit(
        ps=pd.Series(mu, index=frame.index, name="ps"),
        linear_predictor=pd.Series(lin, index=frame.index, name="linear_predictor"),
        coefficients=coefficients, covariates=tuple(map(str, frame.columns)), terms=design.terms,
        levels=design.levels, n=len(t), n_treated=n1, n_control=n0, deviance=float(res.deviance),
        null_deviance=float(res.null_deviance), loglik=float(res.llf), aic=float(res.deviance) + 2 * x.shape[1],
        c_statistic=c_stat, iterations=iterations, confidence=conf,
    )


# --------------------------------------------------------------------------------------------- weights
def _weights(ps: np.ndarray, t: np.ndarray, method: str, stabilized: bool) -> np.ndarray:
    if method == "overlap":
        return np.where(t == 1, 1.0 - ps, ps)
    w = np.where(t == 1, 1.0 / ps, 1.0 / (1.0 - ps))
    if stabilized:
        share = t.mean()
        w = w * np.where(t == 1, share, 1.0 - share)
    return w


def balancing_weights(
    ps: Any, treated: Any, method: WeightingMethod = DEFAULT_WEIGHTING_METHOD, *, stabilized: bool = False
) -> pd.Series:
    """Per-patient weights that balance the arms: overlap (default) or inverse probability of treatment.

    ``overlap``: treated 1 - ps, control ps (targets the population with clinical equipoise; bounded, and with a
    logistic ps model every covariate's weighted means are exactly equal between arms). ``iptw``: treated 1/ps,
    control 1/(1 - ps); ``stabilized=True`` multiplies by the share of the patient's arm (same weighted means,
    weights closer to 1). ``ps`` may be a :class:`PropensityFit`. Returns a float Series named ``weight``, indexed
    like ``ps`` (a plain array gives 0..n-1).

    >>> balancing_weights([0.25, 0.5, 0.8], [1, 0, 0]).tolist()
    [0.75, 0.5, 0.8]
    """
    caller = "balancing_weights"
    check_option(caller, "method", method, WEIGHTING_METHODS)
    if not isinstance(stabilized, bool):
        raise InvalidOptionError(f"{caller}(): stabilized={stabilized!r} is not valid; expected True or False")
    if stabilized and method != "iptw":
        raise InvalidOptionError(f"{caller}(): stabilized=True is not valid with method={method!r}; it applies "
                                 "to method='iptw'")
    if isinstance(ps, PropensityFit):
        ps = ps.ps
    index = ps.index if isinstance(ps, pd.Series) else None
    problems: list[str] = []
    p = _aligned(caller, "ps", ps, index, len(ps) if hasattr(ps, "__len__") else 1, problems)
    index = index if index is not None else pd.RangeIndex(p.size)
    t = _aligned(caller, "treated", treated, index, p.size, problems)
    _raise_problems(caller, problems)
    _check_treated(caller, t, index, problems)
    miss = np.isnan(p)
    if miss.any():
        problems.append(f"ps is missing for rows/ids {_labels(index, miss)}")
    low, high = (0.0, 1.0)
    outside = ~miss & ((p <= low) | (p >= high)) if method == "iptw" else ~miss & ((p < low) | (p > high))
    if outside.any():
        allowed = "strictly between 0 and 1 (IPTW divides by ps and 1 - ps)" if method == "iptw" else "in [0, 1]"
        problems.append(f"ps must be {allowed}; rows/ids {_labels(index, outside)} are not")
    _raise_problems(caller, problems)
    if p.size == 0:
        raise InsufficientDataError(f"{caller}(): no patients")
    return pd.Series(_weights(p, t, method, stabilized), index=index, name="weight")


def _check_weights(caller: str, w: np.ndarray, t: np.ndarray, index: pd.Index, problems: list[str]) -> None:
    miss = np.isnan(w)
    if miss.any():
        problems.append(f"weights are missing for rows/ids {_labels(index, miss)}")
    neg = ~miss & ((w < 0) | ~np.isfinite(w))
    if neg.any():
        problems.append(f"weights must be finite and >= 0; rows/ids {_labels(index, neg)} are not")


def _arm_weight_check(caller: str, w: np.ndarray, t: np.ndarray) -> None:
    for arm, label in ((1, "treated"), (0, "control")):
        if not w[t == arm].sum() > 0:
            raise InsufficientDataError(f"{caller}(): the {label} patients' weights sum to 0, so their weighted "
                                        "mean is undefined")


# --------------------------------------------------------------------------------------------- balance
def standardized_mean_differences(covariates: pd.DataFrame, treated: Any, weights: Any = None) -> SmdResult:
    """Standardised mean difference (treated minus control) of every covariate term, optionally weighted.

    Terms are those of the propensity model: a numeric covariate (0/1 when it only holds 0 and 1), a two-level
    categorical covariate as its non-reference level, one row per level for three or more levels. Numerator:
    difference of the (weighted) means; denominator: the UNWEIGHTED pooled SD sqrt((s1^2 + s0^2) / 2) (n - 1
    variances), sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2) for 0/1 terms, so before and after weighting share it.
    Input is checked as in :func:`propensity_scores` (constant covariates raise); weights must be >= 0.

    >>> res = standardized_mean_differences(pd.DataFrame({"x": [1.0, 2.0, 3.0, 5.0]}), [1, 1, 0, 0])
    >>> round(float(res.table["smd"].iloc[0]), 6)   # (1.5 - 4) / sqrt((0.5 + 2) / 2)
    -2.236068
    """
    caller = "standardized_mean_differences"
    problems: list[str] = []
    frame = _check_frame(caller, covariates, problems)
    t = _aligned(caller, "treated", treated, frame.index, len(frame), problems)
    _check_treated(caller, t, frame.index, problems)
    weighted = weights is not None
    w = np.ones(len(frame))
    if weighted:
        w = _aligned(caller, "weights", weights, frame.index, len(frame), problems)
        _raise_problems(caller, problems)
        _check_weights(caller, w, t, frame.index, problems)
    _raise_problems(caller, problems)
    _need_both_arms(caller, t)
    _arm_weight_check(caller, w, t)
    design = _design(caller, frame)
    rows = []
    for term, cov, lev, x, binary in design.smd_terms:
        x1, x0, w1, w0 = x[t == 1], x[t == 0], w[t == 1], w[t == 0]
        if binary:
            p1, p0 = x1.mean(), x0.mean()
            denom = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
        else:
            v1 = float(np.var(x1, ddof=1)) if x1.size > 1 else math.nan
            v0 = float(np.var(x0, ddof=1)) if x0.size > 1 else math.nan
            denom = math.sqrt((v1 + v0) / 2)
        m1, m0 = float(np.sum(w1 * x1) / np.sum(w1)), float(np.sum(w0 * x0) / np.sum(w0))
        smd = (m1 - m0) / denom if denom > 0 else math.nan
        rows.append({"term": term, "covariate": cov, "level": lev, "binary": binary, "mean_treated": m1,
                     "mean_control": m0, "denominator": denom, "smd": smd})
    table = pd.DataFrame(rows, columns=["term", "covariate", "level", "binary", "mean_treated", "mean_control",
                                        "denominator", "smd"])
    finite = table["smd"].abs().dropna()
    undefined = tuple(table.loc[table["smd"].isna(), "term"])
    return SmdResult(table=table, weighted=weighted, max_abs_smd=float(finite.max()) if len(finite) else math.nan,
                     undefined=undefined)


# --------------------------------------------------------------------------------------------- outcome
def _difference(y: np.ndarray, t: np.ndarray, w: np.ndarray) -> WeightedDifferenceResult:
    w1, w0 = w[t == 1], w[t == 0]
    m1 = float(np.sum(w1 * y[t == 1]) / np.sum(w1))
    m0 = float(np.sum(w0 * y[t == 0]) / np.sum(w0))
    return WeightedDifferenceResult(
        difference=m1 - m0, mean_treated=m1, mean_control=m0, n_treated=int(w1.size), n_control=int(w0.size),
        ess_treated=float(np.sum(w1) ** 2 / np.sum(w1**2)), ess_control=float(np.sum(w0) ** 2 / np.sum(w0**2)),
    )


def weighted_difference(change: Any, treated: Any, weights: Any) -> WeightedDifferenceResult:
    """Weighted mean change of the treated minus that of the controls (each arm's weights normalised to 1).

    With all weights 1 this is the plain difference of means. ``change``, ``treated`` and ``weights``: Series
    are matched by label (to the first Series given), lists and arrays by position. Missing change is an error: fit the
    propensity model on the patients who have the outcome.

    >>> weighted_difference([1.0, 3.0, 0.0, 2.0], [1, 1, 0, 0], [1.0, 3.0, 1.0, 1.0]).difference
    1.5
    """
    caller = "weighted_difference"
    problems: list[str] = []
    series = [v for v in (change, treated, weights) if isinstance(v, pd.Series)]
    index = series[0].index if series else None  # patients' labels: those of the first Series given
    y = _aligned(caller, "change", change, index, len(change) if hasattr(change, "__len__") else 1, problems)
    index = index if index is not None else pd.RangeIndex(y.size)
    t = _aligned(caller, "treated", treated, index, y.size, problems)
    w = _aligned(caller, "weights", weights, index, y.size, problems)
    _raise_problems(caller, problems)  # the values' checks below assume aligned inputs
    _check_treated(caller, t, index, problems)
    _check_weights(caller, w, t, index, problems)
    miss = np.isnan(y)
    if miss.any():
        problems.append(f"change is missing for rows/ids {_labels(index, miss)}; leave those patients out (and fit "
                        "the propensity model without them)")
    if np.isinf(y).any():
        problems.append(f"change is infinite for rows/ids {_labels(index, np.isinf(y))}")
    _raise_problems(caller, problems)
    _need_both_arms(caller, t)
    _arm_weight_check(caller, w, t)
    return _difference(y, t, w)


# --------------------------------------------------------------------------------------------- bootstrap
def _linkinv(eta: np.ndarray) -> np.ndarray:
    """Logistic function with R's guard: |eta| > 30 gives probability eps/(1 + eps) from 0 or 1."""
    eps = np.finfo(float).eps
    tmp = np.where(eta < -30, eps, np.where(eta > 30, 1 / eps, np.exp(np.clip(eta, -30, 30))))
    return tmp / (1 + tmp)


def _refit_many(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted probabilities of the logistic model re-fitted on each row of ``idx`` (vectorised Newton-Raphson).

    Same maximum-likelihood fit as the GLM (Newton = IRLS for the logit link); the Newton system is solved by
    pseudo-inverse, so a level absent from a replicate (an all-zero column) gets no coefficient and the fitted
    values are those of R's glm, which drops the aliased coefficient. Returns (ps, separated, converged).
    """
    scale = np.sqrt((x**2).mean(axis=0))
    xs = x / scale  # conditioning only: fitted values do not depend on the columns' scale; zeros stay zero
    b_all, n = idx.shape
    p = xs.shape[1]
    ps = np.empty((b_all, n))
    sep = np.zeros(b_all, dtype=bool)
    conv = np.zeros(b_all, dtype=bool)
    rows = max(1, _CHUNK_CELLS // max(n * p, 1))
    for start in range(0, b_all, rows):
        stop = min(b_all, start + rows)
        xb = xs[idx[start:stop]]
        yb = y[idx[start:stop]]
        beta = np.zeros((stop - start, p))
        live = np.arange(stop - start)  # replicates still iterating (converged ones are frozen)
        dev_old = np.full(stop - start, np.inf)
        for _ in range(_MAXITER):
            xl, yl = xb[live], yb[live]
            mu = _linkinv(np.einsum("bnp,bp->bn", xl, beta[live]))
            hess = np.matmul(np.swapaxes(xl * (mu * (1 - mu))[:, :, None], 1, 2), xl)
            grad = np.einsum("bnp,bn->bp", xl, yl - mu)
            step = np.einsum("bpq,bq->bp", np.linalg.pinv(hess, rcond=1e-12, hermitian=True), grad)
            beta[live] += step
            mu = _linkinv(np.einsum("bnp,bp->bn", xl, beta[live]))
            dev = -2 * np.sum(yl * np.log(mu) + (1 - yl) * np.log(1 - mu), axis=1)
            done = (np.abs(dev - dev_old[live]) / (np.abs(dev) + 0.1) < 1e-13) | (np.abs(step).max(axis=1) < 1e-11)
            dev_old[live] = dev
            conv[start + live[done]] = True
            live = live[~done]
            if not live.size:
                break
        mu = _linkinv(np.einsum("bnp,bp->bn", xb, beta))
        ps[start:stop] = mu
        sep[start:stop] = ((mu < _SEPARATED) | (mu > 1 - _SEPARATED)).any(axis=1)
    return ps, sep, conv


def bootstrap_indices(treated: Any, n_boot: int, seed: int, *, stratified: bool = True) -> np.ndarray:
    """The (n_boot x n) 0-based row positions :func:`bootstrap_weighted_difference` resamples with this seed.

    Why public: so the very resamples of a run can be written out and recomputed elsewhere (R adds 1). Stratified:
    each position draws from its own arm (treated positions first, then controls, from one numpy Generator).

    >>> bootstrap_indices([1, 0, 1, 0], 2, seed=1).shape
    (2, 4)
    """
    caller = "bootstrap_indices"
    check_integer(caller, "n_boot", n_boot, low=1, expected="an integer >= 1")
    check_integer(caller, "seed", seed, low=0, expected="a non-negative integer")
    if not isinstance(stratified, bool):
        raise InvalidOptionError(f"{caller}(): stratified={stratified!r} is not valid; expected True or False")
    problems: list[str] = []
    n = len(treated) if hasattr(treated, "__len__") else 1
    t = _aligned(caller, "treated", treated, treated.index if isinstance(treated, pd.Series) else None, n, problems)
    _check_treated(caller, t, pd.RangeIndex(n), problems)
    _raise_problems(caller, problems)
    return _resample(t, int(n_boot), int(seed), stratified)


def _resample(t: np.ndarray, n_boot: int, seed: int, stratified: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = t.size
    if not stratified:
        return rng.integers(0, n, size=(n_boot, n))
    idx = np.empty((n_boot, n), dtype=np.intp)
    for arm in (1, 0):  # treated first, then control: fixed order, so the same seed gives the same indices
        pos = np.flatnonzero(t == arm)
        idx[:, pos] = pos[rng.integers(0, pos.size, size=(n_boot, pos.size))]
    return idx


def bootstrap_weighted_difference(
    covariates: pd.DataFrame,
    treated: Any,
    change: Any,
    *,
    method: WeightingMethod = DEFAULT_WEIGHTING_METHOD,
    stabilized: bool = False,
    n_boot: int = DEFAULT_PROPENSITY_BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
    stratified: bool = True,
    indices: Any = None,
) -> BootstrapDifferenceResult:
    """Weighted difference in change with a percentile bootstrap CI that re-fits the propensity model each time.

    Each replicate resamples patients with replacement (``stratified=True``, default: within each arm, so both
    arms keep their size, as R ``boot(..., strata = treated)``), re-fits the logistic model on the resampled
    covariates (the full sample's dummy coding), re-computes the weights and the weighted difference. CI: the
    (1 - confidence)/2 and (1 + confidence)/2 quantiles of the replicates (R quantile type 7). Seeded and
    deterministic (:func:`bootstrap_indices` gives the resamples a seed draws). ``indices``: an (n_boot x n) array
    of 0-based row positions to use instead of drawing (e.g. R's ``boot.array(b, indices = TRUE) - 1``), which
    reproduces R's replicates exactly.
    The estimate is that of :func:`propensity_scores` + :func:`balancing_weights` + :func:`weighted_difference`
    on all patients (which must not be separated; replicates may be, see :class:`BootstrapDifferenceResult`).
    """
    caller = "bootstrap_weighted_difference"
    check_option(caller, "method", method, WEIGHTING_METHODS)
    conf = check_confidence(caller, confidence)
    for name, flag in (("stabilized", stabilized), ("stratified", stratified)):
        if not isinstance(flag, bool):
            raise InvalidOptionError(f"{caller}(): {name}={flag!r} is not valid; expected True or False")
    if indices is None:
        check_integer(caller, "n_boot", n_boot, low=2, expected="an integer >= 2")
        check_integer(caller, "seed", seed, low=0, expected="a non-negative integer")
    fit = propensity_scores(covariates, treated)
    frame = covariates
    problems: list[str] = []
    y = _aligned(caller, "change", change, frame.index, len(frame), problems)
    miss = np.isnan(y)
    if miss.any():
        problems.append(f"change is missing for rows/ids {_labels(frame.index, miss)}; leave those patients out "
                        "(the propensity model must be fitted on the patients with the outcome)")
    _raise_problems(caller, problems)
    t = _aligned(caller, "treated", treated, frame.index, len(frame), problems)
    weights = balancing_weights(fit, t, method, stabilized=stabilized).to_numpy()
    observed = _difference(y, t, weights)
    n = len(frame)
    if indices is None:
        idx = _resample(t, int(n_boot), int(seed), stratified)
        resampling = "patients within each arm" if stratified else "patients"
        used_seed: int | None = int(seed)
    else:
        raw = np.asarray(indices)
        if raw.ndim != 2 or raw.shape[1] != n or raw.shape[0] < 2 or not np.issubdtype(raw.dtype, np.integer):
            raise InvalidOptionError(
                f"{caller}(): indices must be a 2-D integer array with one row per replicate (at least 2) and "
                f"{n} columns (one per patient); got shape {raw.shape} of {raw.dtype}"
            )
        if raw.min() < 0 or raw.max() >= n:
            raise InvalidOptionError(f"{caller}(): indices must be 0-based row positions in [0, {n - 1}] (R's "
                                     "boot.array is 1-based: subtract 1)")
        idx = raw.astype(np.intp)
        resampling = "given indices"
        used_seed = None
    design = _design(caller, frame)
    ps, separated, converged = _refit_many(design.matrix, t, idx)
    yb, tb = y[idx], t[idx]
    wb = np.where(tb == 1, 1 - ps, ps) if method == "overlap" else np.where(tb == 1, 1 / ps, 1 / (1 - ps))
    w1, w0 = np.where(tb == 1, wb, 0.0), np.where(tb == 0, wb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = (w1 * yb).sum(axis=1) / w1.sum(axis=1) - (w0 * yb).sum(axis=1) / w0.sum(axis=1)
    n_undefined = int(np.isnan(reps).sum())
    if n_undefined:
        raise InsufficientDataError(
            f"{caller}(): {n_undefined} replicate(s) left one arm empty; use stratified=True (or indices that keep "
            "both arms)"
        )
    alpha = (1 - conf) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha], method="linear"))
    return BootstrapDifferenceResult(
        estimate=observed.difference, ci_low=low, ci_high=high, confidence=conf, observed=observed, method=method,
        stabilized=stabilized, n_boot=int(idx.shape[0]), seed=used_seed, resampling=resampling,
        n_separated=int(separated.sum()), n_not_converged=int((~converged).sum()), replicates=reps,
    )


def bootstrap_weighted_differences(
    covariates: pd.DataFrame,
    treated: Any,
    changes: Any,
    *,
    method: WeightingMethod = DEFAULT_WEIGHTING_METHOD,
    stabilized: bool = False,
    n_boot: int = DEFAULT_PROPENSITY_BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
    stratified: bool = True,
) -> dict[str, BootstrapDifferenceResult]:
    """:func:`bootstrap_weighted_difference` for several outcomes of the SAME patients, sharing the re-fits.

    ``changes``: a DataFrame (one column per outcome, rows like ``covariates``) or a mapping name -> values. Each
    result equals ``bootstrap_weighted_difference(covariates, treated, changes[name], ...)`` with the same seed
    (the same resamples and re-fitted models), but the propensity model is fitted and re-fitted once for all of
    them: the comparator part analyses every outcome of a patient set this way (issue 12 speed).
    """
    caller = "bootstrap_weighted_differences"
    check_option(caller, "method", method, WEIGHTING_METHODS)
    conf = check_confidence(caller, confidence)
    for name, flag in (("stabilized", stabilized), ("stratified", stratified)):
        if not isinstance(flag, bool):
            raise InvalidOptionError(f"{caller}(): {name}={flag!r} is not valid; expected True or False")
    check_integer(caller, "n_boot", n_boot, low=2, expected="an integer >= 2")
    check_integer(caller, "seed", seed, low=0, expected="a non-negative integer")
    columns = dict(changes.items()) if isinstance(changes, (pd.DataFrame, dict)) else None
    if not columns:
        raise DataValidationError(None, f"{caller}(): changes must be a DataFrame or a mapping with at least one "
                                        "outcome")
    fit = propensity_scores(covariates, treated)
    frame = covariates
    problems: list[str] = []
    ys = {}
    for name, values in columns.items():
        y = _aligned(caller, f"change {name!r}", values, frame.index, len(frame), problems)
        if np.isnan(y).any():
            problems.append(f"change {name!r} is missing for rows/ids {_labels(frame.index, np.isnan(y))}; leave "
                            "those patients out (the propensity model must be fitted on the patients with the outcome)")
        ys[str(name)] = y
    _raise_problems(caller, problems)
    t = _aligned(caller, "treated", treated, frame.index, len(frame), problems)
    weights = balancing_weights(fit, t, method, stabilized=stabilized).to_numpy()
    idx = _resample(t, int(n_boot), int(seed), stratified)
    ps, separated, converged = _refit_many(_design(caller, frame).matrix, t, idx)
    tb = t[idx]
    wb = np.where(tb == 1, 1 - ps, ps) if method == "overlap" else np.where(tb == 1, 1 / ps, 1 / (1 - ps))
    w1, w0 = np.where(tb == 1, wb, 0.0), np.where(tb == 0, wb, 0.0)
    alpha = (1 - conf) / 2
    out = {}
    for name, y in ys.items():
        yb = y[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = (w1 * yb).sum(axis=1) / w1.sum(axis=1) - (w0 * yb).sum(axis=1) / w0.sum(axis=1)
        if np.isnan(reps).any():
            raise InsufficientDataError(f"{caller}(): {int(np.isnan(reps).sum())} replicate(s) left one arm empty; "
                                        "use stratified=True")
        low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha], method="linear"))
        observed = _difference(y, t, weights)
        out[name] = BootstrapDifferenceResult(
            estimate=observed.difference, ci_low=low, ci_high=high, confidence=conf, observed=observed,
            method=method, stabilized=stabilized, n_boot=int(idx.shape[0]), seed=int(seed),
            resampling="patients within each arm" if stratified else "patients",
            n_separated=int(separated.sum()), n_not_converged=int((~converged).sum()), replicates=reps,
        )
    return out
