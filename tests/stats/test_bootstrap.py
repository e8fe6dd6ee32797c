"""Median change with bootstrap CI: hand-derivable cases, determinism, BCa failure message."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import InsufficientDataError, InvalidOptionError, StatisticalWarning
from ipafstudy.stats import median_change
from ipafstudy.stats.bootstrap import bootstrap_medians


def test_estimate_is_median_of_after_minus_before():
    res = median_change([5, 6, 7, 8, 9], [4, 6, 4, 9, 5], n_resamples=200)
    # d = -1, 0, -3, 1, -4 -> sorted -4, -3, -1, 0, 1 -> median -1
    assert res.estimate == -1.0
    assert (res.n, res.n_resamples, res.seed, res.ci_method) == (5, 200, 20240101, "percentile")


def test_two_values_percentile_interval_by_hand():
    """n = 2, d = (a, b): resample medians are a (1/4), (a+b)/2 (1/2), b (1/4) -> 95 % CI = [a, b]."""
    res = median_change([0, 0], [2, 6])
    assert (res.ci_low, res.ci_high) == (2.0, 6.0)
    assert res.estimate == 4.0


def test_bootstrap_distribution_matches_exact_probabilities():
    """n = 3 -> P(median = smallest) = P(at least two draws of it) = 7/27."""
    rng = np.random.default_rng(1)
    boot = bootstrap_medians(np.array([1.0, 2.0, 3.0]), 60_000, rng)
    assert np.mean(boot == 1.0) == pytest.approx(7 / 27, abs=0.01)
    assert np.mean(boot == 2.0) == pytest.approx(13 / 27, abs=0.01)


def test_constant_differences_give_degenerate_interval():
    res = median_change([1, 2, 3, 4], [3, 4, 5, 6])
    assert (res.estimate, res.ci_low, res.ci_high) == (2.0, 2.0, 2.0)


def test_same_seed_same_numbers_different_seed_may_differ():
    rng = np.random.default_rng(3)
    b, a = rng.normal(size=40), rng.normal(size=40)
    first, second = median_change(b, a), median_change(b, a)
    assert first.to_dict() == second.to_dict()
    other = median_change(b, a, seed=1)
    assert other.seed == 1 and (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)


def test_pairing_by_index_and_exclusion_count():
    before = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"])
    after = pd.Series([np.nan, 5.0, 2.0], index=["c", "b", "a"])
    res = median_change(before, after, n_resamples=100)
    # a: 2 - 1 = 1, b: 5 - 2 = 3, c excluded -> median 2
    assert (res.estimate, res.n, res.n_excluded) == (2.0, 2, 1)


def test_bca_fails_clearly_on_tied_integer_scores():
    before = [3] * 20 + [4] * 20
    after = [2] * 20 + [3] * 20  # every difference -1: jackknife medians all equal
    with pytest.warns(StatisticalWarning, match="BCa not computable"):
        res = median_change(before, after, ci_method="bca")
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high)
    assert "percentile" in res.reason


def test_bca_on_continuous_data_brackets_estimate():
    rng = np.random.default_rng(11)
    b = rng.normal(size=60)
    a = b + rng.normal(0.5, 1.0, size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = median_change(b, a, ci_method="bca")
    assert res.ci_low < res.estimate < res.ci_high
    assert res.reason == ""


def test_one_patient_is_documented():
    res = median_change([1.0], [3.0], n_resamples=100)
    assert (res.ci_low, res.ci_high) == (2.0, 2.0)
    assert "n = 1" in res.reason


def test_no_pairs_raises():
    with pytest.raises(InsufficientDataError):
        median_change([np.nan], [1.0])


@pytest.mark.parametrize("kwargs", [{"n_resamples": 10}, {"n_resamples": 1.5}, {"seed": -1}, {"confidence": 1.2}])
def test_bad_numeric_options(kwargs):
    with pytest.raises(InvalidOptionError):
        median_change([1, 2], [2, 3], **kwargs)
