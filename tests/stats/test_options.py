"""Meta-tests over the whole public API: invalid options are named uniformly; results are JSON-safe."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import ipafstudy.stats as st
from ipafstudy.errors import InvalidOptionError

B = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
A = [2.0, 1.0, 5.0, 4.0, 8.0, 9.0]
FRAME = pd.DataFrame({"y": A, "x": B, "z": [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]})
RATINGS = pd.DataFrame({"r1": B, "r2": A})
PS_FRAME = pd.DataFrame({"age": [50.0, 71.0, 58.0, 60.0, 66.0, 49.0], "sex": list("FMFMMF")})
PS_TREATED = [1, 1, 0, 0, 1, 0]
LONG = pd.DataFrame({"id": list("aaabbbccc"), "t": [0.0, 0.5, 1.0] * 3,
                     "v": [5.0, 4.0, 3.5, 7.0, 6.5, 5.0, 4.0, 4.2, 3.0]})

# (function, positional args, option name) for every public option with an allowed set.
INVALID = [
    (st.wilcoxon_signed_rank, (B, A), "zero_method"),
    (st.wilcoxon_signed_rank, (B, A), "continuity"),
    (st.wilcoxon_signed_rank, (B, A), "method"),
    (st.wilcoxon_signed_rank, (B, A), "effect_size_n"),
    (st.wilcoxon_signed_rank, (B, A), "tie_decimals"),
    (st.median_change, (B, A), "ci_method"),
    (st.median_change, (B, A), "n_resamples"),
    (st.median_change, (B, A), "seed"),
    (st.median_change, (B, A), "confidence"),
    (st.hodges_lehmann, (B, A), "confidence"),
    (st.quantiles, (B,), "method"),
    (st.percentile, (B, 50), "method"),
    (st.percentile, (B,), "q"),
    (st.boxplot_stats, (B,), "method"),
    (st.boxplot_stats, (B,), "whisker"),
    (st.mann_whitney, (B, A), "method"),
    (st.mann_whitney, (B, A), "continuity"),
    (st.mann_whitney, (B, A), "tie_decimals"),
    (st.spearman, (B, A), "tie_decimals"),
    (st.spearman_matrix, (FRAME,), "tie_decimals"),
    (st.compare_categorical, ([[3, 4], [5, 6]],), "test"),
    (st.kruskal_wallis, ([B, A],), "tie_decimals"),
    (st.pairwise_mann_whitney, ([B, A, B],), "adjust"),
    (st.pairwise_mann_whitney, ([B, A, B],), "method"),
    (st.pairwise_mann_whitney, ([B, A, B],), "continuity"),
    (st.pairwise_mann_whitney, ([B, A, B],), "tie_decimals"),
    (st.pairwise_categorical, ([[3, 4], [5, 6], [1, 2]],), "adjust"),
    (st.pairwise_categorical, ([[3, 4], [5, 6], [1, 2]],), "test"),
    (st.spearman_matrix, (FRAME,), "adjust"),
    (st.linear_regression, (FRAME, "y", ["x"]), "confidence"),
    (st.icc, (RATINGS,), "model"),
    (st.icc, (RATINGS,), "confidence"),
    (st.weighted_kappa, ([0, 1, 2], [0, 2, 2]), "weights"),
    (st.adjust_p, ([0.1, 0.2],), "method"),
    (st.format_p, (0.2,), "digits"),
    (st.kaplan_meier, (B, [1, 0, 1, 1, 0, 1]), "median_rule"),
    (st.kaplan_meier, (B, [1, 0, 1, 1, 0, 1]), "confidence"),
    (st.poisson_rate, (3, 10.0), "confidence"),
    (st.slope_model, (LONG, "v", "t", "id"), "engine"),
    (st.slope_model, (LONG, "v", "t", "id"), "confidence"),
    (st.propensity_scores, (PS_FRAME, PS_TREATED), "confidence"),
    (st.balancing_weights, ([0.2, 0.6], [1, 0]), "method"),
    (st.balancing_weights, ([0.2, 0.6], [1, 0]), "stabilized"),
    (st.bootstrap_weighted_difference, (PS_FRAME, PS_TREATED, B), "method"),
    (st.bootstrap_weighted_difference, (PS_FRAME, PS_TREATED, B), "n_boot"),
    (st.bootstrap_weighted_difference, (PS_FRAME, PS_TREATED, B), "seed"),
    (st.bootstrap_weighted_difference, (PS_FRAME, PS_TREATED, B), "confidence"),
    (st.bootstrap_weighted_difference, (PS_FRAME, PS_TREATED, B), "stratified"),
    (st.bootstrap_weighted_differences, (PS_FRAME, PS_TREATED, {"b": B}), "method"),
    (st.bootstrap_weighted_differences, (PS_FRAME, PS_TREATED, {"b": B}), "n_boot"),
    (st.bootstrap_weighted_differences, (PS_FRAME, PS_TREATED, {"b": B}), "seed"),
    (st.bootstrap_weighted_differences, (PS_FRAME, PS_TREATED, {"b": B}), "confidence"),
    (st.bootstrap_weighted_differences, (PS_FRAME, PS_TREATED, {"b": B}), "stratified"),
    (st.bootstrap_weighted_differences, (PS_FRAME, PS_TREATED, {"b": B}), "stabilized"),
    (st.bootstrap_indices, (PS_TREATED, 10, 1), "stratified"),
]


@pytest.mark.parametrize(("func", "args", "option"), INVALID, ids=lambda v: getattr(v, "__name__", str(v)))
def test_invalid_option_is_named(func, args, option):
    with pytest.raises(InvalidOptionError, match=rf"{func.__name__}\(\): {option}=") as info:
        func(*args, **{option: "sideways"})
    assert "sideways" in str(info.value)


def test_every_public_function_is_covered():
    covered = {f.__name__ for f, _, _ in INVALID}
    public = {name for name in st.__all__ if callable(getattr(st, name)) and name[0].islower()}
    optionless = {"describe_continuous", "shapiro_wilk", "significance_stars", "koo_li_band",
                  "wilcoxon_conventions", "standardized_mean_differences", "weighted_difference",
                  "landis_koch_band"}
    assert public - optionless == covered


RESULTS = [
    lambda: st.wilcoxon_signed_rank(B, A),
    lambda: st.median_change(B, A, n_resamples=200),
    lambda: st.hodges_lehmann(B, A),
    lambda: st.wilcoxon_conventions(B, A),
    lambda: st.quantiles(B),
    lambda: st.boxplot_stats([*B, 50.0], whisker="tukey"),
    lambda: st.describe_continuous([1.0]),
    lambda: st.mann_whitney(B, A),
    lambda: st.compare_categorical([[3, 4], [5, 6]]),
    lambda: st.kruskal_wallis({"a": B, "b": A, "c": [float("nan")]}),
    lambda: st.pairwise_mann_whitney({"a": B, "b": A, "c": [float("nan")]}),
    lambda: st.pairwise_categorical([[3, 4], [5, 6], [0, 0]]),
    lambda: st.spearman(B, A),
    lambda: st.spearman_matrix(FRAME, adjust="bh"),
    lambda: st.linear_regression(FRAME, "y", ["x", "z"]),
    lambda: st.icc(RATINGS),
    lambda: st.weighted_kappa([0, 1, 2], [0, 2, 2]),
    lambda: st.shapiro_wilk([1.0, 2.0]),
    lambda: st.kaplan_meier([1.0, 2.0, 2.0, 5.0], [1, 1, 0, 1]),  # S reaches 0: std_err inf -> null
    lambda: st.poisson_rate(0, 2.5),
    lambda: st.slope_model(LONG, "v", "t", "id", change_point=0.25),
    lambda: st.propensity_scores(PS_FRAME, PS_TREATED),
    lambda: st.standardized_mean_differences(PS_FRAME, PS_TREATED, [0.5, 0.2, 0.3, 0.4, 0.6, 0.1]),
    lambda: st.weighted_difference(B, PS_TREATED, [0.5, 0.2, 0.3, 0.4, 0.6, 0.1]),
    lambda: st.bootstrap_weighted_difference(PS_FRAME, PS_TREATED, B, n_boot=20),
]


@pytest.mark.parametrize("make", RESULTS, ids=range(len(RESULTS)))
def test_results_frozen_and_json_safe(make):
    res = make()
    payload = res.to_dict()
    text = json.dumps(payload, allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text) == payload

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert value is None or isinstance(value, (bool, int, float, str)), type(value)

    walk(payload)
    with pytest.raises((AttributeError, TypeError)):
        res.p = 0.5  # frozen dataclass


def test_settings_echoed():
    res = st.wilcoxon_signed_rank(B, A, zero_method="pratt", continuity=True, effect_size_n="nonzero")
    assert res.to_dict()["settings"] == {
        "zero_method": "pratt", "continuity": True, "method": "asymptotic", "effect_size_n": "nonzero",
        "tie_decimals": 10, "alternative": "two-sided", "difference": "after - before",
    }
    assert st.mann_whitney(B, A, continuity=True).settings.continuity is True
    assert st.mann_whitney(B, A, tie_decimals=None).settings.tie_decimals is None
    assert st.spearman(B, A, tie_decimals=3).tie_decimals == 3
    assert st.spearman_matrix(FRAME, tie_decimals=None).tie_decimals is None
    assert st.compare_categorical([[3, 4], [5, 6]], test="fisher").settings.test == "fisher"


def test_deterministic_repeat():
    first = st.median_change(np.arange(20.0), np.arange(20.0) ** 1.1).to_dict()
    second = st.median_change(np.arange(20.0), np.arange(20.0) ** 1.1).to_dict()
    assert first == second and not math.isnan(first["ci_low"])
