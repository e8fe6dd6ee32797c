"""Rate of change over all visits: a linear mixed model with a random intercept and slope per patient.

How INBUILD and SENSCIS report FVC decline: the fixed slope of ``value ~ time + (time | subject)``
fitted by REML (R: ``lme4::lmer(value ~ time + (time | id), REML = TRUE)``). statsmodels' MixedLM is
wrapped so that its defaults never leak: the optimizers are a fixed list tried in order, every
warning is captured into ``status`` instead of being printed, and a fit that does not converge, or
whose random-effects covariance is singular (slope variance or |correlation| at its boundary), is
replaced by the random-intercept model ``value ~ time + (1 | subject)`` with the reason recorded.

``change_point=c`` fits a piecewise (broken-stick) line with a knot at time ``c``:
``value ~ time + post + (time | subject)`` with ``post = max(time - c, 0)``. The slope before the
knot is the coefficient of ``time``, the slope after it is ``time + post``, and the coefficient of
``post`` is their difference (the test of "did the rate of change differ after the drug started?").
The random slope is on ``time`` (one per patient for both phases), which keeps three variance
parameters instead of six.

Inference is Wald z (normal approximation): estimate +/- z_{1-a/2} SE and p = 2 Phi(-|est/SE|), as
statsmodels reports it. lme4 prints t values without a p value on purpose (the degrees of freedom of
a mixed model are not well defined); Satterthwaite or Kenward-Roger df (R lmerTest, pbkrtest) give
slightly wider intervals in small cohorts. The z test is stated in every result and in the report.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ipafstudy.conventions import DEFAULT_CONFIDENCE
from ipafstudy.errors import DataValidationError, InsufficientDataError, check_option
from ipafstudy.stats._base import ResultMixin, check_confidence

#: Optimizers tried in this order; the first that converges is used (statsmodels' own default order differs), and a
#: gradient method's solution is polished by Powell's method.
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "powell", "nm")
#: A diagonal entry of theta (the relative Cholesky factor) below this is a singular fit (lme4's isSingular tol).
SINGULAR_TOLERANCE = 1e-4
#: |correlation| of intercept and slope above this is a singular (boundary) fit.
CORRELATION_BOUNDARY = 0.999
#: REML log-likelihoods closer than this count as equal (optimizers stop at about 1e-8 relative).
LOGLIK_TOLERANCE = 1e-6
#: Deviance evaluations per optimizer run: bounds the time a model with no optimum can take.
MAX_DEVIANCE_EVALUATIONS = 20_000
ENGINES: tuple[str, ...] = ("profiled", "statsmodels")
TEST = "Wald z (normal approximation); lme4 reports no p value, lmerTest's Satterthwaite df would be slightly wider"


@dataclass(frozen=True, slots=True)
class FixedEffect(ResultMixin):
    """One fixed-effect coefficient (or a contrast of them) with its Wald z CI and p."""

    term: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float


@dataclass(frozen=True, slots=True)
class VarianceComponents(ResultMixin):
    """Random-effects variances and the residual variance (lme4's VarCorr, squared)."""

    intercept: float
    slope: float | None
    covariance: float | None
    correlation: float | None
    residual: float


@dataclass(frozen=True, slots=True)
class SlopeResult(ResultMixin):
    """A fitted slope model: the fixed slope(s) per time unit, counts, variance components and status."""

    value: str
    time: str
    subject: str
    model: str  # "random_slope" or "random_intercept"
    change_point: float | None
    n_subjects: int
    n_observations: int
    n_subjects_one_value: int
    fixed: tuple[FixedEffect, ...]
    slope: FixedEffect | None  # no change point: the slope per time unit
    slope_before: FixedEffect | None  # with a change point
    slope_after: FixedEffect | None
    slope_difference: FixedEffect | None
    variance: VarianceComponents
    loglik: float
    reml: bool
    converged: bool
    status: str  # "converged", or why the random-slope model was replaced / what went wrong
    fallback: bool
    optimizer: str | None
    confidence: float
    engine: str = "profiled"
    test: str = TEST


def _effect(term: str, estimate: float, se: float, confidence: float) -> FixedEffect:
    z_crit = float(sps.norm.ppf(0.5 + confidence / 2))
    z = estimate / se if se > 0 else math.nan
    p = float(2 * sps.norm.sf(abs(z))) if se > 0 else math.nan
    return FixedEffect(term, float(estimate), float(se), float(estimate - z_crit * se), float(estimate + z_crit * se),
                       float(z), p)


def _prepare(frame: pd.DataFrame, value: str, time: str, subject: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(None, "slope_model(): frame must be a pandas DataFrame (one row per observation)")
    missing = [c for c in (value, time, subject) if c not in frame.columns]
    if missing:
        raise DataValidationError(None, f"slope_model(): frame has no column(s) {missing}; columns are "
                                        f"{list(map(str, frame.columns))}")
    out = pd.DataFrame({"subject": frame[subject].astype(object)})
    for name, col in (("value", value), ("time", time)):
        converted = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & converted.isna()
        if bad.any():
            row = bad.idxmax()
            raise DataValidationError(None, f"slope_model(): {col} must be numeric; row {row!r} holds "
                                            f"{frame[col][row]!r}")
        if np.isinf(converted.to_numpy(dtype=float)).any():
            raise DataValidationError(None, f"slope_model(): {col} contains infinite values")
        out[name] = converted.astype(float)
    out = out.dropna().copy()
    out["subject"] = out["subject"].astype(str)
    # Deterministic order: by subject then time, whatever order the rows came in.
    return out.sort_values(["subject", "time", "value"], kind="mergesort").reset_index(drop=True)


def _fit(endog: np.ndarray, exog: np.ndarray, groups: np.ndarray, exog_re: np.ndarray, reml: bool,
         optimizers: tuple[str, ...] = OPTIMIZERS) -> tuple[Any, str, list[str]]:
    """Fit with each optimizer in turn; return the first converged fit (else the last), its optimizer, warnings."""
    from statsmodels.regression.mixed_linear_model import MixedLM  # lazy: statsmodels is slow to import

    last: tuple[Any, str, list[str]] | None = None
    model = MixedLM(endog, exog, groups, exog_re=exog_re)
    for method in optimizers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = model.fit(reml=reml, method=method, maxiter=2000)
                if res.converged and method != "powell":
                    # Gradient methods stop ~1e-4 (relative) short in the variance parameters; a derivative-free
                    # polish from their solution reaches lme4's optimum (tests compare to 1e-4).
                    polished = model.fit(reml=reml, method="powell", start_params=res.params_object, maxiter=2000)
                    if polished.converged and polished.llf >= res.llf:
                        res, method = polished, f"{method}+powell"
            except (np.linalg.LinAlgError, ValueError) as exc:
                last = (None, method, [f"{type(exc).__name__}: {exc}"])
                continue
        messages = sorted({str(w.message).strip() for w in caught})
        if res.converged and np.all(np.isfinite(res.fe_params)):
            return res, method, messages
        last = (res, method, messages or ["the optimizer did not converge"])
    assert last is not None
    return last


def _fixed_covariance(res: Any, exog: np.ndarray, groups: np.ndarray, exog_re: np.ndarray) -> np.ndarray:
    """(X' V^-1 X)^-1 at the estimated variance components: lme4's ``vcov`` (statsmodels' own ``cov_params``
    inverts the joint Hessian of fixed and variance parameters, which gives different SEs)."""
    g = np.asarray(res.cov_re, dtype=float)
    scale = float(res.scale)
    info = np.zeros((exog.shape[1], exog.shape[1]))
    for key in dict.fromkeys(groups):
        rows = groups == key
        x, z = exog[rows], exog_re[rows]
        v = z @ g @ z.T + scale * np.eye(int(rows.sum()))
        info += x.T @ np.linalg.solve(v, x)
    return np.linalg.inv(info)



@dataclass(frozen=True)
class _Fit:
    """What either engine returns: REML/ML optimum, fixed effects, random-effects covariance, residual variance."""

    converged: bool
    llf: float
    fe_params: np.ndarray
    cov_re: np.ndarray
    scale: float
    theta: np.ndarray  # relative Cholesky factor of cov_re / scale (lme4's theta), lower triangle by rows


class _Profiled:
    """lme4's profiled (RE)ML deviance for one grouping factor, on per-subject sums (Woodbury identity).

    With V_i / sigma^2 = I + Z_i L L' Z_i' (L lower-triangular, theta its entries), everything the deviance needs
    comes from the q x q matrices M_i = I + L' Z_i'Z_i L and the per-subject cross-products, so one evaluation
    costs a few batched numpy operations whatever the number of values (Bates et al., J Stat Softw 2015, 67(1)).
    """

    def __init__(self, y: np.ndarray, x: np.ndarray, z: np.ndarray, codes: np.ndarray, n_groups: int,
                 reml: bool) -> None:
        self.n, self.p = x.shape
        self.q = z.shape[1]
        self.reml = reml

        def per_group(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.zeros((n_groups, a.shape[1], b.shape[1]))
            np.add.at(out, codes, np.einsum("ni,nj->nij", a, b))
            return out

        yy = y[:, None]
        self.ztz, self.ztx, self.zty = per_group(z, z), per_group(z, x), per_group(z, yy)[:, :, 0]
        self.xtx, self.xty, self.yty = x.T @ x, x.T @ y, float(y @ y)
        self.rows, self.cols = np.tril_indices(self.q)

    def lam(self, theta: np.ndarray) -> np.ndarray:
        out = np.zeros((self.q, self.q))
        out[self.rows, self.cols] = theta
        return out

    def _inverse_logdet(self, m: np.ndarray) -> tuple[np.ndarray, float]:
        """Inverse and summed log-determinant of the stacked q x q matrices M_i (closed form for q <= 2)."""
        if self.q == 1:
            return 1.0 / m, float(np.log(m[:, 0, 0]).sum())
        if self.q == 2:
            a, b, d = m[:, 0, 0], m[:, 0, 1], m[:, 1, 1]
            det = a * d - b * b
            inv = np.empty_like(m)
            inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 0], inv[:, 1, 1] = d / det, -b / det, -b / det, a / det
            return inv, float(np.log(det).sum())
        return np.linalg.inv(m), float(np.linalg.slogdet(m)[1].sum())

    def _reduce(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """X'V^-1X, X'V^-1y, y'V^-1y (V scaled by sigma^2) and sum log|M_i|, written out per subject for q <= 2
        (a few vector operations per evaluation instead of stacked small-matrix products)."""
        if self.q == 2:
            a, b, c = theta
            s0, s1, s2 = self.ztz[:, 0, 0], self.ztz[:, 0, 1], self.ztz[:, 1, 1]
            m00 = 1.0 + a * a * s0 + 2.0 * a * b * s1 + b * b * s2
            m01 = c * (a * s1 + b * s2)
            m11 = 1.0 + c * c * s2
            det = m00 * m11 - m01 * m01
            w00, w01, w11 = m11 / det, -m01 / det, m00 / det
            b0 = a * self.ztx[:, 0, :] + b * self.ztx[:, 1, :]  # rows of L' Z'X per subject
            b1 = c * self.ztx[:, 1, :]
            c0 = a * self.zty[:, 0] + b * self.zty[:, 1]
            c1 = c * self.zty[:, 1]
            xvx = self.xtx - (b0.T * w00) @ b0 - (b0.T * w01) @ b1 - (b1.T * w01) @ b0 - (b1.T * w11) @ b1
            xvy = self.xty - b0.T @ (w00 * c0 + w01 * c1) - b1.T @ (w01 * c0 + w11 * c1)
            yvy = self.yty - float((w00 * c0 * c0 + 2.0 * w01 * c0 * c1 + w11 * c1 * c1).sum())
            return xvx, xvy, yvy, float(np.log(det).sum()) if np.all(det > 0) else math.inf
        if self.q == 1:
            (a,) = theta
            m = 1.0 + a * a * self.ztz[:, 0, 0]
            b0 = a * self.ztx[:, 0, :]
            c0 = a * self.zty[:, 0]
            xvx = self.xtx - (b0.T / m) @ b0
            xvy = self.xty - b0.T @ (c0 / m)
            return xvx, xvy, self.yty - float((c0 * c0 / m).sum()), float(np.log(m).sum())
        lam = self.lam(theta)
        m = np.eye(self.q) + lam.T @ self.ztz @ lam
        minv, logdet_m = self._inverse_logdet(m)
        bq = lam.T @ self.ztx
        cq = self.zty @ lam
        minv_b = minv @ bq
        minv_c = (minv @ cq[:, :, None])[:, :, 0]
        xvx = self.xtx - (bq.transpose(0, 2, 1) @ minv_b).sum(axis=0)
        xvy = self.xty - (minv_b * cq[:, :, None]).sum(axis=(0, 1))
        return xvx, xvy, self.yty - float((cq * minv_c).sum()), logdet_m

    def solve(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        """(deviance, beta, X'V^-1X scaled, sigma^2) at ``theta``."""
        xvx, xvy, yvy, logdet_m = self._reduce(np.asarray(theta, dtype=float))
        beta = np.linalg.solve(xvx, xvy)
        r2 = yvy - float(beta @ xvy)
        if not (r2 > 0 and math.isfinite(logdet_m)):
            return math.inf, beta, xvx, math.nan
        dof = self.n - self.p if self.reml else self.n
        dev = logdet_m + dof * (1.0 + math.log(2.0 * math.pi * r2 / dof))
        if self.reml:
            dev += float(np.linalg.slogdet(xvx)[1])
        return dev, beta, xvx, r2 / dof

    def deviance(self, theta: np.ndarray) -> float:
        try:
            return self.solve(theta)[0]
        except np.linalg.LinAlgError:
            return math.inf


def _fit_profiled(endog: np.ndarray, exog: np.ndarray, groups: np.ndarray, exog_re: np.ndarray,
                  reml: bool) -> tuple[_Fit | None, str, list[str]]:
    """Minimise the profiled deviance over theta from lme4's start (theta = identity) with Powell's method.

    theta is unconstrained: L L' is a valid covariance for any theta, and a column of L and its sign-flipped
    copy give the same model, so the diagonal is made non-negative afterwards (lme4's convention). A boundary
    optimum (a variance of 0) is then an ordinary stationary point. Deterministic (no random starts); a run
    that stops early is restarted once from where it stopped.
    """
    from scipy.optimize import minimize

    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    prof = _Profiled(endog, exog, exog_re, np.asarray(codes), len(uniques), reml)
    q = exog_re.shape[1]
    start = np.eye(q)[prof.rows, prof.cols].astype(float)
    # maxfev bounds a run on a deviance with no minimum (a normal fit needs a few hundred evaluations)
    options = {"xtol": 1e-6, "ftol": 1e-10, "maxiter": 20000, "maxfev": MAX_DEVIANCE_EVALUATIONS}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = minimize(prof.deviance, start, method="Powell", options=options)
        if not best.success:  # one restart from where it stopped
            best = minimize(prof.deviance, best.x, method="Powell", options=options)
    messages = sorted({str(w.message).strip() for w in caught})
    if not (np.isfinite(best.fun) and best.success):
        messages.append(f"the optimizer stopped: {best.message}")
        return None, "Powell", messages
    lam = prof.lam(np.asarray(best.x, dtype=float))
    lam = lam * np.where(np.diag(lam) < 0, -1.0, 1.0)[None, :]  # flip columns: same L L', diagonal >= 0
    theta = lam[prof.rows, prof.cols]
    dev, beta, _xvx, sigma2 = prof.solve(theta)
    return _Fit(True, -dev / 2.0, beta, sigma2 * (lam @ lam.T), float(sigma2), theta), "Powell", messages


def _design(data: pd.DataFrame, change_point: float | None) -> tuple[np.ndarray, list[str]]:
    t = data["time"].to_numpy(dtype=float)
    cols, names = [np.ones_like(t), t], ["Intercept", "time"]
    if change_point is not None:
        cols.append(np.maximum(t - change_point, 0.0))
        names.append("post")
    return np.column_stack(cols), names


def _singular(res: Any) -> str | None:
    """Why a random-slope fit is on the boundary (None when it is not): lme4's ``isSingular`` rule, a diagonal
    entry of the relative Cholesky factor theta below 1e-4, plus |correlation| at 1."""
    cov = np.asarray(res.cov_re, dtype=float)
    scale = float(res.scale)
    if cov.shape != (2, 2) or not np.all(np.isfinite(cov)) or not scale > 0:
        return "the random-effects covariance could not be estimated"
    theta = getattr(res, "theta", None)
    if theta is None:
        try:
            chol = np.linalg.cholesky(cov / scale)
            theta = chol[np.tril_indices(2)]
        except np.linalg.LinAlgError:
            return "the random-effects covariance is not positive definite (singular fit)"
    if theta[2] < SINGULAR_TOLERANCE:
        return "the random-slope variance is estimated at zero (singular fit)"
    if theta[0] < SINGULAR_TOLERANCE:
        return "the random-intercept variance is estimated at zero (singular fit)"
    corr = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
    if abs(corr) >= CORRELATION_BOUNDARY:
        return f"the intercept-slope correlation is at its boundary ({corr:+.3f}; singular fit)"
    return None

def slope_model(
    frame: pd.DataFrame,
    value: str,
    time: str,
    subject: str,
    *,
    random_slope: bool = True,
    change_point: float | None = None,
    reml: bool = True,
    confidence: float = DEFAULT_CONFIDENCE,
    engine: str = "profiled",
) -> SlopeResult:
    """Fixed slope of ``value`` per unit of ``time`` from a random-intercept (and slope) model per ``subject``.

    Rows with a missing value or time are dropped; a subject with one value still informs the intercept
    variance. ``random_slope=False`` fits the random-intercept model directly. Raises
    ``InsufficientDataError`` when the model cannot be identified (fewer than 2 subjects, no two distinct
    times, or with a change point no value on one side of it).

    ``engine="profiled"`` (default) minimises lme4's profiled deviance directly (exact to lme4 at 1e-6 and fast:
    a few ms per model); ``"statsmodels"`` uses statsmodels' MixedLM (~100 times slower, ~1e-5 agreement).
    """
    confidence = check_confidence("slope_model", confidence)
    check_option("slope_model", "engine", engine, ENGINES)
    if change_point is not None:
        try:
            change_point = float(change_point)
        except (TypeError, ValueError):
            raise DataValidationError(None, f"slope_model(): change_point={change_point!r} is not a number") from None
        if not math.isfinite(change_point):
            raise DataValidationError(None, f"slope_model(): change_point={change_point!r} is not a finite number")
    data = _prepare(frame, value, time, subject)
    counts = data.groupby("subject", sort=True).size()
    n_subjects, n_obs = int(counts.size), len(data)
    if n_subjects < 2:
        raise InsufficientDataError(f"slope_model(): {n_subjects} subject(s) with a value; at least 2 are needed")
    if data["time"].nunique() < 2:
        raise InsufficientDataError("slope_model(): every value has the same time; a slope needs two distinct times")
    if change_point is not None:
        before, after = int((data["time"] < change_point).sum()), int((data["time"] > change_point).sum())
        if before == 0 or after == 0:
            side = "before" if before == 0 else "after"
            raise InsufficientDataError(f"slope_model(): no value {side} the change point {change_point:g}; "
                                        "the piecewise slope cannot be estimated")
    exog, names = _design(data, change_point)
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise InsufficientDataError("slope_model(): the times do not identify every slope (too few distinct times)")
    n_fixed = exog.shape[1]
    if n_obs <= n_fixed + (3 if random_slope else 1):
        raise InsufficientDataError(f"slope_model(): {n_obs} values are too few for the model")
    endog = data["value"].to_numpy(dtype=float)
    ols_residual = endog - exog @ np.linalg.lstsq(exog, endog, rcond=None)[0]
    if float(ols_residual @ ols_residual) <= 1e-12 * max(1.0, float(endog @ endog)):
        # every value on one line (e.g. all 0): the residual variance is 0 and the deviance has no minimum
        raise InsufficientDataError("slope_model(): every value lies exactly on one line (no variation around it), "
                                    "so the variance components cannot be estimated")
    groups = data["subject"].to_numpy()
    t = data["time"].to_numpy(dtype=float)
    re_slope, re_intercept = np.column_stack([np.ones_like(t), t]), np.ones((n_obs, 1))
    # The random-intercept model is nested in the random-slope one: it is the fallback, and its REML
    # log-likelihood is the floor a correctly maximised random-slope fit must reach.
    def fit(re: np.ndarray, optimizers: tuple[str, ...] = OPTIMIZERS) -> tuple[Any, str, list[str]]:
        if engine == "statsmodels":
            return _fit(endog, exog, groups, re, reml, optimizers)
        return _fit_profiled(endog, exog, groups, re, reml)

    def intercept_fit() -> tuple[Any, str]:
        res_i, opt_i, msg_i = fit(re_intercept)
        if res_i is None or not res_i.converged:
            raise InsufficientDataError("slope_model(): the random-intercept model did not converge "
                                        f"({'; '.join(msg_i)})")
        return res_i, opt_i

    fallback, status = False, "converged"
    if not random_slope:
        res, optimizer = intercept_fit()
        re_used = re_intercept
    else:
        reason = None
        res_s, opt_s, msg_s = fit(re_slope)
        if engine == "statsmodels" and res_s is not None and res_s.converged:
            # statsmodels can stop short of the maximum near a boundary; the nested random-intercept model's
            # REML log-likelihood is a floor the random-slope fit must reach, else a derivative-free retry.
            floor = intercept_fit()[0].llf
            if res_s.llf < floor - LOGLIK_TOLERANCE:
                res_s, opt_s, msg_s = fit(re_slope, optimizers=("powell", "nm"))
            if res_s is not None and res_s.converged and res_s.llf < floor - LOGLIK_TOLERANCE:
                reason = ("the random-slope fit did not reach the random-intercept model's likelihood "
                          f"({res_s.llf:.4f} < {floor:.4f}), so its maximum was not found")
        if reason is None and (res_s is None or not res_s.converged):
            reason = "the random-slope model did not converge (" + "; ".join(msg_s) + ")"
        if reason is None:
            reason = _singular(res_s)
        if reason is None:
            res, optimizer, re_used = res_s, opt_s, re_slope
        else:
            fallback, status = True, f"fell back to a random-intercept model: {reason}"
            res, optimizer = intercept_fit()
            re_used = re_intercept
    fe = np.asarray(res.fe_params, dtype=float)
    cov_fe = _fixed_covariance(res, exog, groups, re_used)
    se = np.sqrt(np.diag(cov_fe))
    fixed = tuple(_effect(n, fe[i], se[i], confidence) for i, n in enumerate(names))
    slope = before_e = after_e = diff = None
    if change_point is None:
        slope = fixed[1]
    else:
        before_e = _effect("slope_before", fe[1], se[1], confidence)
        c = np.array([0.0, 1.0, 1.0])
        after_e = _effect("slope_after", float(c @ fe), float(math.sqrt(c @ cov_fe @ c)), confidence)
        diff = _effect("slope_difference", fe[2], se[2], confidence)
    cov_re = np.asarray(res.cov_re, dtype=float)
    scale = float(res.scale)
    uses_slope = cov_re.shape == (2, 2)
    if uses_slope:
        corr = float(cov_re[0, 1] / math.sqrt(cov_re[0, 0] * cov_re[1, 1]))
        variance = VarianceComponents(float(cov_re[0, 0]), float(cov_re[1, 1]), float(cov_re[0, 1]), corr, scale)
    else:
        variance = VarianceComponents(float(cov_re[0, 0]), None, None, None, scale)
    return SlopeResult(
        value=value, time=time, subject=subject, model="random_slope" if uses_slope else "random_intercept",
        change_point=change_point, n_subjects=n_subjects, n_observations=n_obs,
        n_subjects_one_value=int((counts == 1).sum()), fixed=fixed, slope=slope, slope_before=before_e,
        slope_after=after_e, slope_difference=diff, variance=variance, loglik=float(res.llf), reml=bool(reml),
        converged=bool(res.converged), status=status, fallback=fallback, optimizer=optimizer, confidence=confidence,
        engine=engine,
    )
