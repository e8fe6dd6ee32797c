"""Median change with a bootstrap CI, vectorised over replicates (one numpy Generator call).

Resampling patients with replacement, B = 10 000 and a recorded seed reproduce the study's
"Boot CI"; the same seed and data give identical numbers on every run.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from ipafstudy.conventions import (
    CI_METHODS,
    DEFAULT_BOOTSTRAP_RESAMPLES,
    DEFAULT_CI_METHOD,
    DEFAULT_CONFIDENCE,
    CiMethod,
)
from ipafstudy.errors import InsufficientDataError, StatisticalWarning, check_option
from ipafstudy.stats._base import ResultMixin, check_confidence, check_integer, pair_values

DEFAULT_SEED = 20240101
_CHUNK_CELLS = 2_000_000  # resample matrix cells per block: bounds memory, keeps the loop over blocks tiny


@dataclass(frozen=True, slots=True)
class MedianChangeResult(ResultMixin):
    """Median of ``after - before`` with its bootstrap CI; ``reason`` explains a NaN CI."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    n_excluded: int
    n_resamples: int
    seed: int
    ci_method: str
    confidence: float
    reason: str = ""


def bootstrap_medians(d: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``n_resamples`` with-replacement resamples of ``d`` (rows drawn in blocks)."""
    n = d.size
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = np.median(d[idx], axis=1)
    return out


def _bca_interval(d: np.ndarray, boot: np.ndarray, estimate: float, conf: float) -> tuple[float, float, str]:
    """BCa limits as R ``boot.ci(type="bca")`` (z0 from the share of replicates below the estimate)."""
    share = float(np.mean(boot < estimate))
    if share <= 0.0 or share >= 1.0:
        return math.nan, math.nan, (
            "BCa not computable: every bootstrap median lies on one side of the estimate "
            "(typical for integer scores with many ties); use ci_method='percentile'"
        )
    z0 = sps.norm.ppf(share)
    n = d.size
    jack = np.array([np.median(np.delete(d, i)) for i in range(n)])
    dev = jack.mean() - jack
    denom = 6.0 * float(np.sum(dev**2)) ** 1.5
    if denom == 0.0:
        return math.nan, math.nan, (
            "BCa not computable: all leave-one-out medians are equal, so the acceleration is undefined "
            "(typical for integer scores with many ties); use ci_method='percentile'"
        )
    acc = float(np.sum(dev**3)) / denom
    alpha = (1.0 - conf) / 2.0
    z = sps.norm.ppf([alpha, 1.0 - alpha])
    adj = sps.norm.cdf(z0 + (z0 + z) / (1.0 - acc * (z0 + z)))
    if not np.all(np.isfinite(adj)):
        return math.nan, math.nan, "BCa not computable: adjusted percentiles are undefined; use ci_method='percentile'"
    low, high = np.quantile(boot, adj, method="linear")
    return float(low), float(high), ""


def median_change(
    before: Any,
    after: Any,
    *,
    n_resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci_method: CiMethod = DEFAULT_CI_METHOD,
    confidence: float = DEFAULT_CONFIDENCE,
) -> MedianChangeResult:
    """Median of ``after - before`` with a bootstrap CI (patients resampled with replacement).

    ``percentile`` (default) takes the alpha/2 and 1 - alpha/2 quantiles of the bootstrap
    medians (numpy "linear" interpolation); ``bca`` adds bias correction and acceleration
    (jackknife). When BCa cannot be computed the CI is NaN, ``reason`` says why, and a
    StatisticalWarning is issued. Pairing as in ``wilcoxon_signed_rank``.

    >>> res = median_change([1, 2, 3, 4], [1, 1, 1, 1], n_resamples=1000)
    >>> res.estimate, res.seed
    (-1.5, 20240101)
    """
    caller = "median_change"
    check_option(caller, "ci_method", ci_method, CI_METHODS)
    conf = check_confidence(caller, confidence)
    check_integer(caller, "n_resamples", n_resamples, low=100, expected="an integer >= 100")
    check_integer(caller, "seed", seed, low=0, expected="a non-negative integer")
    b, a, n_excluded = pair_values(before, after, caller=caller)
    d = a - b
    n = int(d.size)
    if n == 0:
        raise InsufficientDataError(f"{caller}(): no complete before/after pairs ({n_excluded} excluded)")
    estimate = float(np.median(d))
    rng = np.random.default_rng(int(seed))
    boot = bootstrap_medians(d, int(n_resamples), rng)
    reason = "n = 1: the bootstrap cannot vary; CI equals the single difference" if n == 1 else ""
    if ci_method == "percentile":
        alpha = (1.0 - conf) / 2.0
        low, high = (float(v) for v in np.quantile(boot, [alpha, 1.0 - alpha], method="linear"))
    else:
        low, high, reason = _bca_interval(d, boot, estimate, conf)
        if reason:
            warnings.warn(f"{caller}(): {reason}", StatisticalWarning, stacklevel=2)
    return MedianChangeResult(estimate, low, high, n, n_excluded, int(n_resamples), int(seed), ci_method, conf, reason)
