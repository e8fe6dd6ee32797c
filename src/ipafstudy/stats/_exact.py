"""Exact permutation distributions by dynamic programming on doubled ranks.

Average ranks are multiples of 1/2, so doubling makes them integers and the null
distribution of a rank sum can be counted exactly, ties included (the conditional exact
test of coin / StatXact). Without ties this is the classical Wilcoxon distribution.
"""

from __future__ import annotations

import numpy as np

from ipafstudy.errors import InsufficientDataError

MAX_EXACT_SUM = 2_000_000


def _doubled(ranks: np.ndarray) -> np.ndarray:
    twice = np.rint(2 * np.asarray(ranks, dtype=float)).astype(np.int64)
    if not np.allclose(twice, 2 * np.asarray(ranks, dtype=float)):
        raise InsufficientDataError("exact distribution needs ranks that are multiples of 1/2")
    return twice


def signed_rank_pmf(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Support (in rank units) and probabilities of W+ when each rank's sign is a fair coin."""
    r2 = _doubled(ranks)
    total = int(r2.sum())
    if total > MAX_EXACT_SUM:
        raise InsufficientDataError(
            f"exact distribution too large (n = {r2.size}); use method='asymptotic'"
        )
    counts = np.zeros(total + 1)
    counts[0] = 1.0
    for r in r2:
        shifted = np.zeros_like(counts)
        shifted[r:] = counts[: counts.size - r]
        counts = 0.5 * (counts + shifted)
    support = np.arange(total + 1) / 2.0
    keep = counts > 0
    return support[keep], counts[keep]


def rank_sum_pmf(ranks: np.ndarray, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of the sum of ``n1`` ranks drawn without replacement from ``ranks``."""
    r2 = _doubled(ranks)
    total = int(np.sort(r2)[::-1][:n1].sum())
    if total * (n1 + 1) * r2.size > 50 * MAX_EXACT_SUM:
        raise InsufficientDataError(
            f"exact distribution too large (n = {r2.size}); use method='asymptotic'"
        )
    # table[k, s] = number of k-subsets of the items seen so far with doubled sum s (as floats).
    table = np.zeros((n1 + 1, total + 1))
    table[0, 0] = 1.0
    for r in r2:
        if r > total:
            continue
        table[1:, r:] = table[1:, r:] + table[:-1, : total + 1 - r]
    counts = table[n1]
    probs = counts / counts.sum()
    support = np.arange(total + 1) / 2.0
    keep = probs > 0
    return support[keep], probs[keep]


def two_sided_p(support: np.ndarray, probs: np.ndarray, observed: float) -> float:
    """P(|W - E W| >= |w - E W|) with a small tolerance for floating ties (coin's definition)."""
    mean = float(np.sum(support * probs))
    dev = abs(observed - mean)
    p = float(probs[np.abs(support - mean) >= dev - 1e-7].sum())
    return min(1.0, p)
