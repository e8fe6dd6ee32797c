"""Multiple linear regression (OLS via statsmodels) reported as SPSS's Coefficients table.

Listwise deletion is counted; standardised beta, VIF and residual checks (Shapiro-Wilk,
Breusch-Pagan) are computed on the model's complete cases. A constant predictor or a
singular design raises an error that names the predictor(s) instead of returning nonsense.
``robust_se="hc3"`` swaps the coefficient SEs (and so t, p and CI) for HC3
heteroscedasticity-consistent ones; the result also carries what a reader needs to judge the
model: residual diagnostics for plots, binary predictors with a small minority category, and
cases per predictor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.regression.linear_model import OLS  # not statsmodels.api: it imports all of statsmodels
from statsmodels.stats.diagnostic import het_breuschpagan

from ipafstudy.conventions import DEFAULT_CONFIDENCE, DEFAULT_ROBUST_SE, ROBUST_SE_OPTIONS, RobustSe
from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError, check_option
from ipafstudy.stats._base import ResultMixin, as_float_series, check_confidence
from ipafstudy.stats.normality import ShapiroResult, shapiro_wilk

INTERCEPT = "Intercept"
#: A binary predictor whose smaller category holds fewer than this share of the cases is flagged.
MIN_MINORITY_SHARE = 0.10
#: Fewer complete cases per predictor than this is flagged (the usual rule of thumb for OLS).
MIN_CASES_PER_PREDICTOR = 10


@dataclass(frozen=True, slots=True)
class RegressionSettings(ResultMixin):
    """Options actually used."""

    outcome: str
    predictors: list
    confidence: float
    missing: str = "listwise"
    breusch_pagan: str = "Koenker studentised (R lmtest::bptest default)"
    robust_se: str = "none"


@dataclass(frozen=True, slots=True)
class BreuschPaganResult(ResultMixin):
    """Breusch-Pagan heteroscedasticity test on the model's predictors."""

    lm: float
    p: float
    df: int


@dataclass(frozen=True, slots=True)
class SparseBinary(ResultMixin):
    """A two-valued predictor whose smaller category holds fewer than 10 % of the model's cases."""

    predictor: str
    minority_value: float
    n_minority: int
    n: int


@dataclass(frozen=True, slots=True)
class RegressionDiagnostics(ResultMixin):
    """Per complete case, in input order: what R's ``plot(lm)`` panels 1 and 2 draw.

    ``standardized`` = e / (s sqrt(1 - h)) (R ``rstandard``); ``qq_theoretical`` = the normal
    quantile at ``ppoints(m)`` of each case's rank among the m defined standardized residuals (R
    ``qqnorm``). A case with leverage 1 (e.g. the only patient in a binary predictor's category) is
    fitted exactly: its standardized residual is 0/0, NaN here as in R, and it has no Q-Q position;
    ``n_leverage_one`` counts such cases.
    """

    fitted: tuple
    residuals: tuple
    standardized: tuple
    leverage: tuple
    qq_theoretical: tuple
    n_leverage_one: int = 0


@dataclass(frozen=True, slots=True)
class RegressionResult(ResultMixin):
    """Coefficients (``terms``: b, se, ci_low, ci_high, beta, t, p, vif) and model fit."""

    terms: pd.DataFrame
    r2: float
    adj_r2: float
    f: float
    f_p: float
    df_model: int
    df_resid: int
    n: int
    n_dropped: int
    residual_sd: float
    residual_normality: ShapiroResult
    heteroscedasticity: BreuschPaganResult
    settings: RegressionSettings
    diagnostics: RegressionDiagnostics | None = None
    sparse_binary: tuple = ()
    cases_per_predictor: float = math.nan
    few_cases_per_predictor: bool = False


def _vif(x: np.ndarray) -> np.ndarray:
    """VIF_j = 1 / (1 - R^2_j), predictor j regressed on the others with an intercept (car::vif)."""
    k = x.shape[1]
    out = np.ones(k)
    if k == 1:
        return out
    for j in range(k):
        others = np.column_stack([np.ones(x.shape[0]), np.delete(x, j, axis=1)])
        coef, *_ = np.linalg.lstsq(others, x[:, j], rcond=None)
        resid = x[:, j] - others @ coef
        tss = float(np.sum((x[:, j] - x[:, j].mean()) ** 2))
        r2 = 1.0 - float(resid @ resid) / tss
        out[j] = math.inf if r2 >= 1.0 else 1.0 / (1.0 - r2)
    return out


def _dependent_predictors(x: np.ndarray, names: list[str]) -> list[str]:
    """Predictors that are (numerically) linear combinations of the intercept and the others."""
    design = np.column_stack([np.ones(x.shape[0]), x])
    full_rank = np.linalg.matrix_rank(design)
    culprits = []
    for j, name in enumerate(names):
        reduced = np.delete(design, j + 1, axis=1)
        if np.linalg.matrix_rank(reduced) == full_rank:
            culprits.append(name)
    return culprits


def _ppoints(n: int) -> np.ndarray:
    """R ``ppoints(n)``: (i - a) / (n + 1 - 2a), a = 3/8 for n <= 10, else 1/2."""
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def _hc3_cov(design: np.ndarray, resid: np.ndarray, leverage: np.ndarray, caller: str) -> np.ndarray:
    """(X'X)^-1 X' diag(e_i^2 / (1 - h_i)^2) X (X'X)^-1 (MacKinnon & White 1985; Long & Ervin 2000)."""
    if np.any(leverage > 1.0 - 1e-10):
        raise InsufficientDataError(
            f"{caller}(): HC3 standard errors are undefined: a case has leverage 1 (it alone determines a "
            "coefficient, e.g. the only patient in a category of a binary predictor); use ordinary standard errors "
            "(robust_se='none') or remove that predictor"
        )
    xtx_inv = np.linalg.inv(design.T @ design)
    scaled = design * (resid / (1.0 - leverage))[:, None]
    return xtx_inv @ (scaled.T @ scaled) @ xtx_inv


def _diagnostics(fit: Any, leverage: np.ndarray) -> RegressionDiagnostics:
    """Residual plot coordinates as R: rstandard (NaN at leverage 1, as R's lm.influence) and qqnorm's x."""
    resid = np.asarray(fit.resid, dtype=float)
    exact = leverage >= 1.0 - 10 * np.finfo(float).eps  # R lm.influence: such cases get hat = 1, residual 0
    with np.errstate(divide="ignore", invalid="ignore"):
        standardized = resid / (math.sqrt(fit.scale) * np.sqrt(1.0 - leverage))
    standardized[exact] = np.nan
    defined = ~np.isnan(standardized)
    theoretical = np.full(resid.size, np.nan)
    ranks = np.argsort(np.argsort(standardized[defined], kind="mergesort"), kind="mergesort")
    theoretical[defined] = sps.norm.ppf(_ppoints(int(defined.sum())))[ranks]
    return RegressionDiagnostics(
        fitted=tuple(float(v) for v in fit.fittedvalues), residuals=tuple(float(v) for v in resid),
        standardized=tuple(float(v) for v in standardized), leverage=tuple(float(v) for v in leverage),
        qq_theoretical=tuple(float(v) for v in theoretical), n_leverage_one=int(exact.sum()),
    )


def _sparse_binary(complete: pd.DataFrame, predictors: list[str]) -> tuple[SparseBinary, ...]:
    out = []
    n = len(complete)
    for name in predictors:
        values, counts = np.unique(complete[name].to_numpy(), return_counts=True)
        if values.size != 2:
            continue
        i = int(np.argmin(counts)) if counts[0] != counts[1] else 0
        if counts[i] < MIN_MINORITY_SHARE * n:
            out.append(SparseBinary(name, float(values[i]), int(counts[i]), n))
    return tuple(out)


def linear_regression(
    frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *, confidence: float = DEFAULT_CONFIDENCE,
    robust_se: RobustSe = DEFAULT_ROBUST_SE,
) -> RegressionResult:
    """OLS of ``outcome`` on ``predictors`` (+ intercept ``Intercept``), listwise deletion.

    beta = b x SD(x) / SD(y) on the complete cases (none for the intercept); VIF as car::vif.
    Residual normality: Shapiro-Wilk; heteroscedasticity: Breusch-Pagan, Koenker's studentised
    form n R^2 (R ``lmtest::bptest`` default, statsmodels ``robust=True``), df = number of predictors.
    ``robust_se="hc3"``: SE from the HC3 covariance, t = b / SE, p and CI from the t distribution
    with the residual df (as ``lmtest::coeftest(fit, vcov = car::hccm(fit, type = "hc3"))``);
    R², F and beta stay the OLS ones.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 3.0, 2.0, 5.0, 4.0], "x": [1, 2, 3, 4, 5]})
    >>> round(float(linear_regression(df, "y", ["x"]).terms.loc["x", "b"]), 6)
    0.8
    """
    caller = "linear_regression"
    conf = check_confidence(caller, confidence)
    check_option(caller, "robust_se", robust_se, ROBUST_SE_OPTIONS)
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(None, f"{caller}(): frame must be a pandas DataFrame")
    if isinstance(predictors, str):
        raise InvalidOptionError(
            f"{caller}(): predictors must be a list of column names, not the string {predictors!r}"
        )
    predictors = list(predictors)
    if not predictors:
        raise InvalidOptionError(f"{caller}(): predictors is empty; name at least one column")
    columns = [str(c) for c in frame.columns]
    check_option(caller, "outcome", outcome, columns)
    for name in predictors:
        check_option(caller, "predictors", name, columns)
    if outcome in predictors or len(set(predictors)) != len(predictors):
        raise InvalidOptionError(
            f"{caller}(): predictors must be distinct and must not include the outcome {outcome!r}"
        )
    data = pd.DataFrame(
        {c: as_float_series(frame[c], caller=caller, name=f"column {c!r}").to_numpy(dtype=float)
         for c in [outcome, *predictors]}
    )
    complete = data.dropna()
    n, n_dropped = len(complete), len(data) - len(complete)
    k = len(predictors)
    if n < k + 2:
        raise InsufficientDataError(
            f"{caller}(): {n} complete cases ({n_dropped} dropped for missing values) cannot fit {k} predictor(s) "
            f"plus an intercept; at least {k + 2} are needed"
        )
    y = complete[outcome].to_numpy()
    x = complete[predictors].to_numpy()
    constant = [p for p in predictors if np.ptp(complete[p].to_numpy()) == 0]
    if constant:
        raise InsufficientDataError(
            f"{caller}(): predictor(s) {constant} are constant over the {n} complete cases; remove them"
        )
    if np.ptp(y) == 0:
        raise InsufficientDataError(f"{caller}(): outcome {outcome!r} is constant over the {n} complete cases")
    design = np.column_stack([np.ones(n), x])
    if np.linalg.matrix_rank(design) < k + 1:
        raise InsufficientDataError(
            f"{caller}(): singular design: predictor(s) {_dependent_predictors(x, predictors)} are linear "
            "combinations of the others; remove one of them"
        )
    fit = OLS(y, design, missing="none", hasconst=True).fit(method="pinv", cov_type="nonrobust")
    ci = fit.conf_int(alpha=1.0 - conf)
    se, tvalues, pvalues = fit.bse, fit.tvalues, fit.pvalues
    influence = fit.get_influence()
    leverage = np.asarray(influence.hat_matrix_diag, dtype=float)
    if robust_se == "hc3":
        se = np.sqrt(np.diag(_hc3_cov(design, np.asarray(fit.resid), leverage, caller)))
        tvalues = fit.params / se
        df_resid = float(fit.df_resid)
        pvalues = 2.0 * sps.t.sf(np.abs(tvalues), df_resid)
        half = sps.t.ppf(0.5 + conf / 2.0, df_resid) * se
        ci = np.column_stack([fit.params - half, fit.params + half])
    sd_y = float(np.std(y, ddof=1))
    sd_x = np.std(x, axis=0, ddof=1)
    names = [INTERCEPT, *predictors]
    terms = pd.DataFrame(
        {
            "b": fit.params,
            "se": se,
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "beta": np.concatenate([[np.nan], fit.params[1:] * sd_x / sd_y]),
            "t": tvalues,
            "p": pvalues,
            "vif": np.concatenate([[np.nan], _vif(x)]),
        },
        index=pd.Index(names, name="term"),
    )
    bp_lm, bp_p, _, _ = het_breuschpagan(fit.resid, design, robust=True)
    settings = RegressionSettings(outcome, predictors, conf, robust_se=robust_se)
    diagnostics = _diagnostics(fit, leverage)
    return RegressionResult(
        terms=terms,
        r2=float(fit.rsquared),
        adj_r2=float(fit.rsquared_adj),
        f=float(fit.fvalue),
        f_p=float(fit.f_pvalue),
        df_model=round(fit.df_model),
        df_resid=round(fit.df_resid),
        n=n,
        n_dropped=n_dropped,
        residual_sd=float(math.sqrt(fit.scale)),
        residual_normality=shapiro_wilk(fit.resid),
        heteroscedasticity=BreuschPaganResult(float(bp_lm), float(bp_p), k),
        settings=settings,
        diagnostics=diagnostics,
        sparse_binary=_sparse_binary(complete, predictors),
        cases_per_predictor=n / k,
        few_cases_per_predictor=n / k < MIN_CASES_PER_PREDICTOR,
    )
