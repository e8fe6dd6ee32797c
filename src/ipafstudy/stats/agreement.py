"""Inter-reader agreement: intraclass correlation (Shrout & Fleiss) and weighted kappa.

ICC values and F-based CIs follow psych::ICC; bands follow Koo & Li (2016) for ICC and
Landis & Koch (1977) for kappa, so a reader can check every number in R.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ipafstudy.conventions import DEFAULT_CONFIDENCE, ICC_MODELS, KAPPA_WEIGHTS, IccModel, KappaWeights
from ipafstudy.errors import DataValidationError, InsufficientDataError, check_option
from ipafstudy.stats._base import ResultMixin, as_float_array, check_confidence, pair_values


def koo_li_band(value: float) -> str:
    """Koo & Li (2016): < 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, > 0.9 excellent."""
    if math.isnan(value):
        return "not available"
    if value < 0.5:
        return "poor"
    if value < 0.75:
        return "moderate"
    if value <= 0.9:
        return "good"
    return "excellent"


def landis_koch_band(value: float) -> str:
    """Landis & Koch (1977): < 0 poor, <= .20 slight, <= .40 fair, <= .60 moderate, <= .80 substantial, else
    almost perfect.

    Boundaries are inclusive upwards (0.40 is "fair"), as in the original table.
    """
    if math.isnan(value):
        return "not available"
    if value < 0:
        return "poor"
    for upper, label in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if value <= upper:
            return label
    return "almost perfect"


@dataclass(frozen=True, slots=True)
class IccResult(ResultMixin):
    """One Shrout & Fleiss ICC with its F-based CI (psych::ICC) and the Koo & Li band."""

    value: float
    ci_low: float
    ci_high: float
    model: str
    n_subjects: int
    n_raters: int
    n_excluded: int
    f: float
    df1: int
    df2: int
    p: float
    confidence: float
    band: str
    band_scheme: str = "Koo & Li 2016 (point estimate)"
    reason: str = ""


def icc(ratings: Any, *, model: IccModel = "ICC2_1", confidence: float = DEFAULT_CONFIDENCE) -> IccResult:
    """Intraclass correlation of a subjects x raters table (rows = subjects, columns = raters).

    Models (Shrout & Fleiss 1979, names as psych::ICC): ``ICC1_1`` one-way random, single rater;
    ``ICC2_1`` two-way random, absolute agreement, single rater (default); ``ICC3_1`` two-way
    mixed, consistency, single rater; the ``_k`` variants are for the mean of k raters.
    Subjects with any missing rating are dropped and counted (psych's default listwise deletion).

    >>> import pandas as pd
    >>> round(icc(pd.DataFrame({"r1": [1, 2, 3, 4], "r2": [1, 2, 3, 4]})).value, 6)
    1.0
    """
    caller = "icc"
    check_option(caller, "model", model, ICC_MODELS)
    conf = check_confidence(caller, confidence)
    frame = ratings if isinstance(ratings, pd.DataFrame) else pd.DataFrame(np.asarray(ratings, dtype=object))
    data = np.column_stack(
        [as_float_array(frame[c], caller=caller, name=f"rater column {c!r}") for c in frame.columns]
    ) if frame.shape[1] else np.empty((frame.shape[0], 0))
    keep = ~np.isnan(data).any(axis=1) if data.size else np.zeros(frame.shape[0], dtype=bool)
    x = data[keep]
    n, k = x.shape if x.ndim == 2 else (0, 0)
    n_excluded = int(frame.shape[0] - n)
    if k < 2 or n < 2:
        raise InsufficientDataError(
            f"{caller}(): needs at least 2 subjects and 2 raters with complete ratings "
            f"(got {n} complete subjects, {k} raters; {n_excluded} subjects dropped for missing ratings)"
        )
    grand = x.mean()
    ss_total = float(np.sum((x - grand) ** 2))
    ss_rows = k * float(np.sum((x.mean(axis=1) - grand) ** 2))
    ss_cols = n * float(np.sum((x.mean(axis=0) - grand) ** 2))
    ss_err = ss_total - ss_rows - ss_cols
    msb = ss_rows / (n - 1)
    msw = (ss_total - ss_rows) / (n * (k - 1))
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    alpha = 1.0 - conf
    q = 1.0 - alpha / 2.0
    family, _, size = model.partition("_")
    # ICC1 measures error within subjects; ICC2 and ICC3 use the two-way residual.
    error_ms = msw if family == "ICC1" else mse
    df_err = n * (k - 1) if family == "ICC1" else (n - 1) * (k - 1)
    if msb == 0 and error_ms == 0:
        raise InsufficientDataError(f"{caller}(): all ratings are identical; the ICC is undefined")
    if error_ms == 0:
        if family == "ICC2" and msc > 0:
            # No residual noise but a constant offset between raters: absolute agreement is below 1.
            value = msb / (msb + k * msc / n) if size == "1" else msb / (msb + msc / n)
            reason = "no residual variance (raters differ by a constant offset): CI undefined"
        else:
            # Perfect agreement: every interval collapses to 1 (psych prints 1 with NaN bounds).
            value = 1.0
            reason = "perfect agreement: no within-subject variance, CI undefined"
        return IccResult(float(value), math.nan, math.nan, model, n, k, n_excluded, math.inf, n - 1, df_err,
                         0.0, conf, koo_li_band(float(value)), reason=reason)
    if family in ("ICC1", "ICC3"):
        # Same Shrout & Fleiss formulas; only the error mean square and its df differ (set above).
        f_stat, df1, df2 = msb / error_ms, n - 1, df_err
        f_low = f_stat / sps.f.ppf(q, df1, df2)
        f_high = f_stat * sps.f.ppf(q, df2, df1)
        if size == "1":
            value = (msb - error_ms) / (msb + (k - 1) * error_ms)
            low, high = (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)
        else:
            value = (msb - error_ms) / msb
            low, high = 1 - 1 / f_low, 1 - 1 / f_high
    else:
        f_stat, df1, df2 = msb / mse, n - 1, (n - 1) * (k - 1)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msc - mse) / n)
        fj = msc / mse
        vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        f2u = sps.f.ppf(q, n - 1, v)
        f2l = sps.f.ppf(q, v, n - 1)
        low = n * (msb - f2u * mse) / (f2u * (k * msc + (k * n - k - n) * mse) + n * msb)
        high = n * (f2l * msb - mse) / (k * msc + (k * n - k - n) * mse + n * f2l * msb)
        if size == "1":
            value = icc2
        else:
            value = (msb - mse) / (msb + (msc - mse) / n)
            low, high = low * k / (1 + low * (k - 1)), high * k / (1 + high * (k - 1))
    p = float(sps.f.sf(f_stat, df1, df2))
    return IccResult(float(value), float(low), float(high), model, n, k, n_excluded, float(f_stat), int(df1),
                     int(df2), p, conf, koo_li_band(float(value)))


@dataclass(frozen=True, slots=True)
class KappaResult(ResultMixin):
    """Cohen's (weighted) kappa between two raters and its Landis & Koch band."""

    value: float
    n: int
    n_excluded: int
    weights: str
    categories: list
    observed_agreement: float
    expected_agreement: float
    band: str
    band_scheme: str = "Landis & Koch 1977"
    reason: str = ""


def weighted_kappa(
    a: Any, b: Any, *, weights: KappaWeights = "linear", categories: Iterable[Any] = range(5)
) -> KappaResult:
    """Weighted kappa = (Po - Pe) / (1 - Pe) with agreement weights over ordered ``categories``.

    Linear: w_ij = 1 - |i - j| / (K - 1); quadratic: 1 - (i - j)^2 / (K - 1)^2 (K = number of
    categories, i, j their positions); ``unweighted`` is Cohen's kappa. Pairing as in
    ``wilcoxon_signed_rank`` (Series by patient id). A rating outside ``categories`` is an error.

    >>> weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3]).value
    1.0
    """
    caller = "weighted_kappa"
    check_option(caller, "weights", weights, KAPPA_WEIGHTS)
    cats = list(categories)
    if len(cats) < 2 or len(set(cats)) != len(cats):
        raise DataValidationError(None, f"{caller}(): categories must list at least 2 distinct values, got {cats!r}")
    try:
        lookup = {float(c): i for i, c in enumerate(cats)}
    except (TypeError, ValueError):
        raise DataValidationError(
            None, f"{caller}(): categories must be numeric scores in their order (e.g. range(5)), got {cats!r}"
        ) from None
    x, y, n_excluded = pair_values(a, b, caller=caller)
    for label, values in (("a", x), ("b", y)):
        bad = sorted({v for v in values.tolist() if v not in lookup})
        if bad:
            raise DataValidationError(
                None, f"{caller}(): rater {label} gave rating(s) {bad} outside the categories {cats}"
            )
    n = int(x.size)
    kk = len(cats)
    settings = (weights, cats)
    if n == 0:
        raise InsufficientDataError(f"{caller}(): no subject was rated by both raters ({n_excluded} excluded)")
    table = np.zeros((kk, kk))
    np.add.at(table, (np.array([lookup[v] for v in x]), np.array([lookup[v] for v in y])), 1.0)
    prop = table / n
    idx = np.arange(kk)
    diff = np.abs(idx[:, None] - idx[None, :])
    if weights == "linear":
        w = 1.0 - diff / (kk - 1)
    elif weights == "quadratic":
        w = 1.0 - diff**2 / (kk - 1) ** 2
    else:
        w = (diff == 0).astype(float)
    po = float(np.sum(w * prop))
    pe = float(np.sum(w * np.outer(prop.sum(axis=1), prop.sum(axis=0))))
    if math.isclose(pe, 1.0):
        reason = "both raters used a single identical category: chance agreement is 1, kappa undefined"
        return KappaResult(math.nan, n, n_excluded, *settings, po, pe, "not available", reason=reason)
    value = (po - pe) / (1.0 - pe)
    return KappaResult(float(value), n, n_excluded, *settings, po, pe, landis_koch_band(float(value)))
