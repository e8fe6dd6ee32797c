"""Bootstrap speed: 9 outcomes x (cohort n=48, subgroups n=28 and n=15) x 10 000 resamples.

Times ``ipafstudy.stats.median_change`` (vectorised: one Generator call per block of replicates)
against a plain Python loop over replicates doing the same work with the same seed, in the same
run, and checks that both give identical intervals. Run: .venv/bin/python benchmarks/bench_bootstrap.py
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from ipafstudy.stats import median_change

N_OUTCOMES = 9
GROUP_SIZES = (48, 28, 15)
N_RESAMPLES = 10_000
SEED = 20240101


def make_data() -> list[tuple[np.ndarray, np.ndarray]]:
    """Synthetic integer scores (HRCT-like) and continuous labs, fixed seed."""
    rng = np.random.default_rng(7)
    data = []
    for k in range(N_OUTCOMES):
        before = rng.integers(0, 20, size=48).astype(float) if k % 2 == 0 else rng.gamma(2.0, 10.0, size=48)
        after = before + rng.normal(-1.0, 2.0, size=48).round(0 if k % 2 == 0 else 1)
        data.append((before, after))
    return data


def loop_percentile_ci(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """The same computation with a Python loop over replicates (the naive implementation)."""
    d = after - before
    n = d.size
    rng = np.random.default_rng(SEED)
    medians = np.empty(N_RESAMPLES)
    for b in range(N_RESAMPLES):
        medians[b] = np.median(d[rng.integers(0, n, size=n)])
    low, high = np.quantile(medians, [0.025, 0.975], method="linear")
    return float(low), float(high)


def main() -> None:
    data = make_data()
    jobs = [(b[:n], a[:n]) for b, a in data for n in GROUP_SIZES]
    median_change(*jobs[0], n_resamples=N_RESAMPLES, seed=SEED)  # warm-up (imports, caches)

    start = time.perf_counter()
    fast = [median_change(b, a, n_resamples=N_RESAMPLES, seed=SEED) for b, a in jobs]
    t_fast = time.perf_counter() - start

    start = time.perf_counter()
    slow = [loop_percentile_ci(b, a) for b, a in jobs]
    t_slow = time.perf_counter() - start

    same = all((r.ci_low, r.ci_high) == s for r, s in zip(fast, slow, strict=True))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}")
    print(f"work: {N_OUTCOMES} outcomes x groups {GROUP_SIZES} x {N_RESAMPLES} resamples = {len(jobs)} bootstraps")
    print(f"vectorised median_change: {t_fast:.3f} s")
    print(f"plain Python loop:        {t_slow:.3f} s")
    print(f"speed-up:                 {t_slow / t_fast:.1f}x")
    print(f"identical intervals:      {same}")
    if not same:
        raise SystemExit("vectorised and loop bootstraps disagree")


if __name__ == "__main__":
    main()
