"""Power and sample size for a two-arm trial: t test on the change, Wilcoxon-Mann-Whitney (Noether), simulation.

* ``t_test_power`` / ``t_test_n``: two-sample, two-sided t test with equal arms, exactly as R's
  ``power.t.test(type = "two.sample", alternative = "two.sided", strict = FALSE)``: power =
  P(T' > t_{1-a/2, 2(n-1)}) with T' noncentral t, ncp = sqrt(n/2) delta / sd (the far tail is ignored, R's
  default). ``t_test_n`` returns the real n that solves it (R's ``$n``) and the n per arm to enrol (its ceiling).
* ``t_test_power_unequal``: the same test with arms of n1 and n2 (df = n1 + n2 - 2, ncp = delta /
  (sd sqrt(1/n1 + 1/n2))), for the power a completed two-group comparison had.
* ``noether_n`` / ``noether_power``: Wilcoxon-Mann-Whitney by Noether's formula (Noether GE. Sample size
  determination for some common nonparametric tests. J Am Stat Assoc 1987;82:645-647):
  N = (z_{1-a/2} + z_{power})^2 / (12 c (1 - c) (p - 1/2)^2) in total, c = share in one arm (1/2: n per arm
  = N / 2), p = P(Y > X) + P(Y = X) / 2 for an observation Y of one arm and X of the other.
* ``simulated_n``: resampling: each simulated trial draws both arms with replacement from the observed
  changes centred on 0, adds the planned effect to one arm, and tests them with the Mann-Whitney test
  (asymptotic, tie-corrected, no continuity correction: the study's between-group test). Seeded per n
  (``numpy.random.default_rng([seed, n])``), so every n has its own reproducible draws; the n per arm is
  found by doubling then bisection and reported with the simulated power it reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.optimize import brentq

from ipafstudy.errors import InsufficientDataError, InvalidOptionError
from ipafstudy.stats._base import ResultMixin, non_missing

#: Largest n per arm searched (a trial beyond this is reported as not feasible, not as a number).
MAX_N = 100_000
#: Largest n per arm the simulation evaluates (beyond it the asymptotic answers are used).
MAX_SIMULATED_N = 2_000
TIE_DECIMALS = 10
#: Up to this many distinct observed changes, simulated arms are multinomial counts over them (fast); beyond it
#: the values are drawn and ranked.
MAX_COUNT_VALUES = 60


def _check_alpha(caller: str, alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InvalidOptionError(f"{caller}(): alpha={alpha!r} is not valid; expected a number in (0, 1)")
    return float(alpha)


def _check_power(caller: str, power: float, alpha: float) -> float:
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not alpha < power < 1:
        raise InvalidOptionError(f"{caller}(): power={power!r} is not valid; expected a number in (alpha, 1)")
    return float(power)


def _check_effect(caller: str, delta: float, sd: float) -> tuple[float, float]:
    if not (isinstance(sd, (int, float)) and math.isfinite(sd) and sd > 0):
        raise InsufficientDataError(f"{caller}(): sd={sd!r}; a positive standard deviation is needed")
    if not (isinstance(delta, (int, float)) and math.isfinite(delta)) or delta == 0:
        raise InsufficientDataError(f"{caller}(): delta={delta!r}; a non-zero effect is needed to plan a trial")
    return abs(float(delta)), float(sd)


def t_test_power(n: float, delta: float, sd: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t test with ``n`` per arm (R ``power.t.test(n, delta, sd)$power``)."""
    alpha = _check_alpha("t_test_power", alpha)
    delta, sd = _check_effect("t_test_power", delta, sd)
    if not n >= 2:
        raise InvalidOptionError(f"t_test_power(): n={n!r} is not valid; expected at least 2 per arm")
    df = 2.0 * (n - 1.0)
    return float(sps.nct.sf(sps.t.isf(alpha / 2, df), df, math.sqrt(n / 2.0) * delta / sd))


def t_test_power_unequal(n1: int, n2: int, delta: float, sd: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t test with arms of ``n1`` and ``n2`` (pooled SD ``sd``)."""
    alpha = _check_alpha("t_test_power_unequal", alpha)
    delta, sd = _check_effect("t_test_power_unequal", delta, sd)
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        raise InsufficientDataError(f"t_test_power_unequal(): arms of {n1} and {n2}; at least 3 in all are needed")
    df = n1 + n2 - 2.0
    ncp = delta / (sd * math.sqrt(1.0 / n1 + 1.0 / n2))
    return float(sps.nct.sf(sps.t.isf(alpha / 2, df), df, ncp))


@dataclass(frozen=True, slots=True)
class SampleSize(ResultMixin):
    """n per arm for a target power: the real solution and the whole number to enrol (None when not feasible)."""

    method: str
    power: float
    alpha: float
    effect: float
    n_exact: float | None
    n_per_arm: int | None
    achieved_power: float | None
    note: str = ""


def t_test_n(delta: float, sd: float, power: float, alpha: float = 0.05) -> SampleSize:
    """n per arm of the two-sided two-sample t test (R ``power.t.test(delta=, sd=, power=)$n``, then ceiling)."""
    alpha = _check_alpha("t_test_n", alpha)
    power = _check_power("t_test_n", power, alpha)
    delta, sd = _check_effect("t_test_n", delta, sd)

    def gap(n: float) -> float:
        return t_test_power(n, delta, sd, alpha) - power

    if gap(MAX_N) < 0:
        return SampleSize("t test", power, alpha, delta, None, None, None, f"more than {MAX_N} per arm")
    n = 2.0 if gap(2.0) >= 0 else brentq(gap, 2.0, float(MAX_N), xtol=1e-12, rtol=1e-14, maxiter=500)
    whole = max(2, math.ceil(n - 1e-9))
    return SampleSize("t test", power, alpha, delta, float(n), whole, t_test_power(whole, delta, sd, alpha))


def superiority_probability(x: Any, y: Any) -> float:
    """P(Y > X) + P(Y = X) / 2 over all pairs of an observation of ``x`` and one of ``y`` (the Mann-Whitney
    U / (n_x n_y)); values equal to 10 decimals tie."""
    xs, _ = non_missing(x, caller="superiority_probability", name="x")
    ys, _ = non_missing(y, caller="superiority_probability", name="y")
    if xs.size == 0 or ys.size == 0:
        raise InsufficientDataError("superiority_probability(): each group needs at least one value")
    xs, ys = np.round(xs, TIE_DECIMALS), np.round(ys, TIE_DECIMALS)
    diff = ys[:, None] - xs[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def noether_n(p: float, power: float, alpha: float = 0.05, share: float = 0.5) -> SampleSize:
    """n per arm for the Wilcoxon-Mann-Whitney test by Noether's formula (total N = ceiling(N) split by ``share``)."""
    alpha = _check_alpha("noether_n", alpha)
    power = _check_power("noether_n", power, alpha)
    if not 0 < share < 1:
        raise InvalidOptionError(f"noether_n(): share={share!r} is not valid; expected a number in (0, 1)")
    if not (math.isfinite(p) and 0 <= p <= 1) or p == 0.5:
        raise InsufficientDataError(f"noether_n(): p={p!r}; P(Y > X) must differ from 1/2 to plan a trial")
    z = sps.norm.isf(alpha / 2) + sps.norm.ppf(power)
    total = float(z * z / (12.0 * share * (1.0 - share) * (p - 0.5) ** 2))
    per_arm = max(2, math.ceil(total * min(share, 1 - share) - 1e-9))
    achieved = noether_power(per_arm, per_arm, p, alpha)
    return SampleSize("Wilcoxon-Mann-Whitney (Noether)", power, alpha, float(p), total * share, per_arm, achieved)


def noether_power(n1: int, n2: int, p: float, alpha: float = 0.05) -> float:
    """Power of the Wilcoxon-Mann-Whitney test by Noether's approximation: Phi(sqrt(12 c (1-c) N) |p - 1/2| -
    z_{1-a/2}), N = n1 + n2, c = n1 / N."""
    alpha = _check_alpha("noether_power", alpha)
    total = n1 + n2
    c = n1 / total
    return float(sps.norm.cdf(math.sqrt(12.0 * c * (1.0 - c) * total) * abs(p - 0.5) - sps.norm.isf(alpha / 2)))


def _mann_whitney_p(u: np.ndarray, ties: np.ndarray, n: int) -> np.ndarray:
    """Two-sided asymptotic Mann-Whitney p per simulated trial (tie-corrected, no continuity correction)."""
    total = 2 * n
    var = n * n / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (u - n * n / 2.0) / np.sqrt(var)
    return np.where(var > 0, 2.0 * sps.norm.sf(np.abs(z)), 1.0)


def simulated_power(changes: Any, effect: float, n: int, *, alpha: float = 0.05, simulations: int = 2000,
                    seed: int = 20250101) -> float:
    """Share of simulated trials (``n`` per arm, resampled centred changes, ``effect`` added to one arm) in which
    the Mann-Whitney test has p < alpha.

    With at most ``MAX_COUNT_VALUES`` distinct observed changes, resampling with replacement is drawn as
    multinomial counts over them (the same distribution), so U and the tie correction come from count
    vectors and a trial costs O(distinct values), not a sort of 2n numbers.
    """
    values, _ = non_missing(changes, caller="simulated_power", name="changes")
    if values.size < 2:
        raise InsufficientDataError("simulated_power(): at least 2 observed changes are needed")
    vals, freq = np.unique(np.round(values - values.mean(), TIE_DECIMALS), return_counts=True)
    rng = np.random.default_rng([int(seed), int(n)])
    if vals.size > MAX_COUNT_VALUES:  # many distinct values: draw the values and rank them
        centred = np.round(values - values.mean(), TIE_DECIMALS)
        control = rng.choice(centred, size=(simulations, n), replace=True)
        treated = np.round(rng.choice(centred, size=(simulations, n), replace=True) + effect, TIE_DECIMALS)
        both = np.concatenate([treated, control], axis=1)
        u = sps.rankdata(both, axis=1)[:, :n].sum(axis=1) - n * (n + 1) / 2.0
        srt = np.sort(both, axis=1)
        start = np.ones(both.shape, dtype=bool)
        start[:, 1:] = srt[:, 1:] != srt[:, :-1]
        group = np.cumsum(start, axis=1) - 1 + (np.arange(simulations) * 2 * n)[:, None]
        counts = np.bincount(group.ravel(), minlength=simulations * 2 * n).astype(float)
        ties = (counts ** 3 - counts).reshape(simulations, 2 * n).sum(axis=1)
        return float((_mann_whitney_p(u, ties, n) < alpha).mean())
    probs = freq / freq.sum()
    control = rng.multinomial(n, probs, size=simulations).astype(float)
    treated = rng.multinomial(n, probs, size=simulations).astype(float)
    shifted = np.round(vals + effect, TIE_DECIMALS)
    # U = sum over (treated value, control value) pairs of [t > c] + [t = c] / 2
    beats = (shifted[:, None] > vals[None, :]) + 0.5 * (shifted[:, None] == vals[None, :])
    u = np.einsum("sk,sk->s", treated, control @ beats.T)
    pooled, where = np.unique(np.concatenate([vals, shifted]), return_inverse=True)
    m = vals.size
    to_pooled_c = np.zeros((m, pooled.size))
    to_pooled_t = np.zeros((m, pooled.size))
    to_pooled_c[np.arange(m), where[:m]] = 1.0
    to_pooled_t[np.arange(m), where[m:]] = 1.0
    counts = control @ to_pooled_c + treated @ to_pooled_t
    ties = (counts ** 3 - counts).sum(axis=1)
    return float((_mann_whitney_p(u, ties, n) < alpha).mean())


def simulated_n(changes: Any, effect: float, powers: Any, *, alpha: float = 0.05, simulations: int = 2000,
                seed: int = 20250101, start: int | None = None) -> tuple[SampleSize, ...]:
    """Smallest n per arm whose simulated power reaches each target in ``powers`` (one SampleSize per target,
    in the order given). Bracketing around ``start`` (e.g. the t-test n), then bisection; the simulated powers
    are shared between the targets. Simulated power is not exactly monotone in n, so each answer is the
    bisection's, reported with the power it reached.
    """
    alpha = _check_alpha("simulated_n", alpha)
    targets = [_check_power("simulated_n", p, alpha) for p in np.atleast_1d(np.asarray(powers, dtype=float))]
    if effect == 0 or not math.isfinite(effect):
        raise InsufficientDataError("simulated_n(): a non-zero effect is needed to plan a trial")
    cache: dict[int, float] = {}
    method = "simulation (resampled changes, Mann-Whitney)"

    def pw(n: int) -> float:
        if n not in cache:
            cache[n] = simulated_power(changes, effect, n, alpha=alpha, simulations=simulations, seed=seed)
        return cache[n]

    def search(target: float, guess: int) -> SampleSize:
        lo, hi = 1, max(2, guess)
        if pw(hi) >= target:
            below = max(1, int(hi * 0.8))
            if below > 1 and pw(below) < target:
                lo = below
        else:
            lo, hi = hi, max(hi + 1, math.ceil(hi * 1.25))
            while pw(hi) < target:
                lo, hi = hi, hi * 2
                if hi > MAX_SIMULATED_N:
                    return SampleSize(method, target, alpha, float(effect), None, None, None,
                                      f"more than {MAX_SIMULATED_N} per arm (not simulated further)")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if pw(mid) >= target:
                hi = mid
            else:
                lo = mid
        return SampleSize(method, target, alpha, float(effect), float(hi), hi, cache[hi])

    out: dict[float, SampleSize] = {}
    guess = max(2, int(start or 2))
    for target in sorted(set(targets)):
        out[target] = search(target, guess)
        if out[target].n_per_arm is not None:
            guess = out[target].n_per_arm
    return tuple(out[t] for t in targets)
