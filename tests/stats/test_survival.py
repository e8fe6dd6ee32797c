"""Kaplan-Meier and exact Poisson rates against R survival / stats (tests/reference/survival.R)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.stats.conftest import read_ref

from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError
from ipafstudy.stats.incidence import poisson_rate
from ipafstudy.stats.survival import kaplan_meier

DATA = read_ref("survival_data.csv")
KM = read_ref("survival_km_r.csv")
MED = read_ref("survival_median_r.csv")
RISK = read_ref("survival_at_risk_r.csv")
DATASETS = list(dict.fromkeys(DATA["dataset"]))


def _fit(name: str, **kw):
    part = DATA[DATA["dataset"] == name]
    return kaplan_meier(part["time"], part["event"], **kw)


def _same(ours, theirs, rel=1e-9):
    ours = np.asarray(ours, dtype=float)
    theirs = np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape
    both_nan = np.isnan(ours) & np.isnan(theirs)
    np.testing.assert_allclose(ours[~both_nan], theirs[~both_nan], rtol=rel, atol=1e-12)
    assert (np.isnan(ours) == np.isnan(theirs)).all(), (ours, theirs)


@pytest.mark.parametrize("name", DATASETS)
def test_curve_matches_r_survfit_log_log(name):
    fit = _fit(name)
    ref = KM[KM["dataset"] == name]
    _same(fit.time, ref["time"])
    assert list(fit.n_risk) == ref["n_risk"].tolist()
    assert list(fit.n_event) == ref["n_event"].tolist()
    assert list(fit.n_censor) == ref["n_censor"].tolist()
    _same(fit.surv, ref["surv"])
    r_se = ref["std_err"].to_numpy(dtype=float)
    ours_se = np.asarray(fit.std_err)
    finite = np.isfinite(r_se)
    np.testing.assert_allclose(ours_se[finite], r_se[finite], rtol=1e-9, atol=1e-12)
    assert not np.isfinite(ours_se[~finite]).any()  # R: Inf/NA where the curve reached 0
    _same(fit.lower, ref["lower"])
    _same(fit.upper, ref["upper"])


@pytest.mark.parametrize("name", DATASETS)
def test_median_and_brookmeyer_crowley_limits_match_r_print(name):
    fit = _fit(name)
    ref = MED[MED["dataset"] == name].iloc[0]
    assert fit.n == ref["n"] and fit.n_events == ref["events"]
    _same([fit.median, fit.median_lower, fit.median_upper], [ref["print_median"], ref["print_lcl"], ref["print_ucl"]])


@pytest.mark.parametrize("name", DATASETS)
def test_median_rule_quantile_matches_r_quantile(name):
    fit = _fit(name, median_rule="quantile")
    ref = MED[MED["dataset"] == name].iloc[0]
    _same([fit.median, fit.median_lower, fit.median_upper], [ref["median"], ref["lower"], ref["upper"]])


def test_the_two_r_rules_differ_only_when_the_curve_ends_on_one_half():
    differ = [n for n in DATASETS if _fit(n).median != _fit(n, median_rule="quantile").median
              and not (math.isnan(_fit(n).median) and math.isnan(_fit(n, median_rule="quantile").median))]
    assert sorted(differ) == ["ends_at_half", "n2_mixed"]
    assert _fit("ends_at_half").median == 2.0  # S(2) = 0.5, then only censorings: the time it reached 0.5


def test_all_censored_median_not_reached():
    fit = _fit("all_censored")
    assert not fit.median_reached and fit.n_events == 0
    assert set(fit.surv) == {1.0}
    assert all(math.isnan(v) for v in fit.lower + fit.upper)  # R: NA where S = 1


def test_plateau_on_one_half_gives_the_midpoint_by_hand():
    # S: 5/6, 4/6, 3/6 = 0.5 at t=3, flat until the event at 5 (2 at risk -> 0.25): median (3 + 5) / 2
    assert _fit("plateau_half").median == 4.0


@pytest.mark.parametrize("name", ["basic", "ties", "lung"])
def test_numbers_at_risk_match_r_summary_times(name):
    fit = _fit(name)
    ref = RISK[RISK["dataset"] == name]
    assert list(fit.n_at_risk(ref["time"])) == ref["n_risk"].tolist()
    _same([fit.surv_at(t) for t in ref["time"]], ref["surv"])


def test_one_patient_and_missing_pairs():
    fit = kaplan_meier([30, None, 12], [1, 1, None])
    assert fit.n == 1 and fit.n_missing == 2 and fit.median == 30.0 and fit.surv == (0.0,)


def test_bad_input_is_named():
    with pytest.raises(DataValidationError, match="event must be 1"):
        kaplan_meier([1, 2], [1, 2])
    with pytest.raises(DataValidationError, match="time must be >= 0"):
        kaplan_meier([-1, 2], [1, 0])
    with pytest.raises(DataValidationError, match="time has 2 values but event has 1"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(InsufficientDataError):
        kaplan_meier([None], [1])
    with pytest.raises(InvalidOptionError):
        kaplan_meier([1], [1], median_rule="mean")
    with pytest.raises(InvalidOptionError):
        kaplan_meier([1], [1], confidence=95)


@pytest.mark.parametrize("row", read_ref("poisson_r.csv").to_dict("records"))
def test_garwood_limits_match_r_poisson_test(row):
    res = poisson_rate(int(row["x"]), row["t"], per=1, confidence=row["conf"])
    assert res.rate == pytest.approx(row["rate"], rel=1e-12, abs=0)
    assert res.lower == pytest.approx(row["lower"], rel=1e-9, abs=1e-15)
    assert res.upper == pytest.approx(row["upper"], rel=1e-9)


def test_rate_per_100_patient_years_by_hand():
    # 0 events in 10 patient-years: upper limit -log(0.025) / 10 per year (chi2 with 2 df / 2 = exponential)
    res = poisson_rate(0, 10.0)
    assert res.rate == 0.0 and res.lower == 0.0
    assert res.upper == pytest.approx(-math.log(0.025) / 10 * 100, rel=1e-12)
    assert poisson_rate(3, 12.0).rate == pytest.approx(25.0)


def test_poisson_bad_input():
    for bad in ((-1, 1.0), (1.5, 1.0), ("a", 1.0), (1, -2.0), (1, float("inf"))):
        with pytest.raises(DataValidationError):
            poisson_rate(*bad)
    with pytest.raises(InsufficientDataError, match="no exposure time"):
        poisson_rate(0, 0.0)
    with pytest.raises(DataValidationError, match="per must be"):
        poisson_rate(1, 1.0, per=0)
