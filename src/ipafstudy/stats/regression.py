"""Multiple linear regression (OLS via statsmodels) reported as SPSS's Coefficients table.

Listwise deletion is counted; standardised beta, VIF and residual checks (Shapiro-Wilk,
Breusch-Pagan) are computed on the model's complete cases. A constant predictor or a
singular design raises an error that names the predictor(s) instead of returning nonsense.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.diagnostic import het_breuschpagan

from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError, check_option
from ipafstudy.stats._base import ResultMixin, as_float_series, check_confidence
from ipafstudy.stats.normality import ShapiroResult, shapiro_wilk

INTERCEPT = "Intercept"


@dataclass(frozen=True, slots=True)
class RegressionSettings(ResultMixin):
    """Options actually used."""

    outcome: str
    predictors: list
    confidence: float
    missing: str = "listwise"
    breusch_pagan: str = "Koenker studentised (R lmtest::bptest default)"


@dataclass(frozen=True, slots=True)
class BreuschPaganResult(ResultMixin):
    """Breusch-Pagan heteroscedasticity test on the model's predictors."""

    lm: float
    p: float
    df: int


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


def linear_regression(
    frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *, confidence: float = 0.95
) -> RegressionResult:
    """OLS of ``outcome`` on ``predictors`` (+ intercept ``Intercept``), listwise deletion.

    beta = b x SD(x) / SD(y) on the complete cases (none for the intercept); VIF as car::vif.
    Residual normality: Shapiro-Wilk; heteroscedasticity: Breusch-Pagan (Koenker, as R bptest).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 3.0, 2.0, 5.0, 4.0], "x": [1, 2, 3, 4, 5]})
    >>> round(float(linear_regression(df, "y", ["x"]).terms.loc["x", "b"]), 6)
    0.8
    """
    caller = "linear_regression"
    conf = check_confidence(caller, confidence)
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
    fit = sm.OLS(y, design, missing="none", hasconst=True).fit(method="pinv", cov_type="nonrobust")
    ci = fit.conf_int(alpha=1.0 - conf)
    sd_y = float(np.std(y, ddof=1))
    sd_x = np.std(x, axis=0, ddof=1)
    names = [INTERCEPT, *predictors]
    terms = pd.DataFrame(
        {
            "b": fit.params,
            "se": fit.bse,
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "beta": np.concatenate([[np.nan], fit.params[1:] * sd_x / sd_y]),
            "t": fit.tvalues,
            "p": fit.pvalues,
            "vif": np.concatenate([[np.nan], _vif(x)]),
        },
        index=pd.Index(names, name="term"),
    )
    bp_lm, bp_p, _, _ = het_breuschpagan(fit.resid, design, robust=True)
    settings = RegressionSettings(outcome, predictors, conf)
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
    )
