"""bootstrap_weighted_differences: several outcomes of the same patients share the propensity re-fits and give
exactly what bootstrap_weighted_difference gives for each outcome on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError
from ipafstudy.stats.propensity import bootstrap_weighted_difference, bootstrap_weighted_differences


def _data(n: int = 40, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cov = pd.DataFrame({"age": rng.normal(55, 10, n).round(0), "sex": rng.choice(["female", "male"], n),
                        "group": rng.choice(["MSA", "MAA", "neither"], n)}, index=[f"P{i}" for i in range(n)])
    treated = (rng.random(n) < 0.5).astype(float)
    changes = pd.DataFrame({"a": rng.normal(-2, 3, n), "b": rng.normal(0, 1, n).round(1)}, index=cov.index)
    return cov, treated, changes


@pytest.mark.parametrize("method", ["overlap", "iptw"])
def test_each_outcome_equals_the_single_outcome_function(method):
    cov, treated, changes = _data()
    many = bootstrap_weighted_differences(cov, treated, changes, method=method, n_boot=300, seed=5)
    assert list(many) == ["a", "b"]
    for name in ("a", "b"):
        one = bootstrap_weighted_difference(cov, treated, changes[name], method=method, n_boot=300, seed=5)
        got = many[name]
        assert np.array_equal(got.replicates, one.replicates)
        assert (got.estimate, got.ci_low, got.ci_high) == (one.estimate, one.ci_low, one.ci_high)
        assert got.to_dict() == one.to_dict()


def test_a_mapping_works_and_bad_input_is_named():
    cov, treated, changes = _data()
    res = bootstrap_weighted_differences(cov, treated, {"a": changes["a"].to_numpy()}, n_boot=50, seed=1)
    assert set(res) == {"a"}
    bad = changes.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(DataValidationError, match="change 'b' is missing for rows/ids 'P3'"):
        bootstrap_weighted_differences(cov, treated, bad, n_boot=50, seed=1)
    with pytest.raises(DataValidationError, match="at least one outcome"):
        bootstrap_weighted_differences(cov, treated, {}, n_boot=50, seed=1)
