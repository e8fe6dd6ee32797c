"""Power and sample size against R's power.t.test (tests/reference/power.R), Noether's formula worked by hand,
and the simulation's agreement with the asymptotic answers on normal data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ipafstudy.errors import InsufficientDataError, InvalidOptionError
from ipafstudy.stats import power as pw

from .conftest import read_ref

R_N = read_ref("power_t_n_r.csv")
R_POWER = read_ref("power_t_power_r.csv")
R_UNEQUAL = read_ref("power_t_unequal_r.csv")


@pytest.mark.parametrize("row", R_N.to_dict("records"), ids=lambda r: f"{r['delta']}-{r['sd']}-{r['power']}-"
                                                                      f"{r['sig.level']}")
def test_n_matches_power_t_test(row):
    res = pw.t_test_n(row["delta"], row["sd"], row["power"], row["sig.level"])
    assert res.n_exact == pytest.approx(row["n"], abs=1e-6)
    assert res.n_per_arm == math.ceil(row["n"])
    assert res.achieved_power >= row["power"]
    assert pw.t_test_power(res.n_per_arm - 1, row["delta"], row["sd"], row["sig.level"]) < row["power"] or \
        res.n_per_arm == 2


@pytest.mark.parametrize("row", R_POWER.to_dict("records"), ids=str)
def test_power_matches_power_t_test(row):
    got = pw.t_test_power(row["n"], row["delta"], row["sd"], row["sig.level"])
    assert got == pytest.approx(row["power"], abs=1e-10)


@pytest.mark.parametrize("row", R_UNEQUAL.to_dict("records"), ids=str)
def test_unequal_arms_match_r(row):
    got = pw.t_test_power_unequal(int(row["n1"]), int(row["n2"]), row["delta"], row["sd"], row["sig.level"])
    assert got == pytest.approx(row["power"], abs=1e-10)


def test_negative_effect_is_the_same_trial():
    assert pw.t_test_n(-3.1, 5.2, 0.8).n_exact == pytest.approx(pw.t_test_n(3.1, 5.2, 0.8).n_exact, rel=1e-12)


def test_noether_worked_by_hand():
    # p = 0.65, 80 % power, two-sided 0.05, equal arms: N = (1.959964 + 0.841621)^2 / (12 * 0.25 * 0.15^2)
    z = 1.959963984540054 + 0.8416212335729143
    total = z * z / (3 * 0.15 ** 2)  # = 116.27...
    res = pw.noether_n(0.65, 0.8)
    assert res.n_exact == pytest.approx(total / 2, rel=1e-12)
    assert res.n_per_arm == math.ceil(total / 2) == 59
    # the power formula inverts it: at n = 58.14 per arm the power is 0.80
    assert pw.noether_power(total / 2, total / 2, 0.65) == pytest.approx(0.8, abs=1e-12)
    assert pw.noether_n(0.35, 0.8).n_per_arm == 59  # direction-free


def test_superiority_probability_counts_ties_half():
    # pairs (y > x): y=2 beats 1; y=3 beats 1 and 2; y=2 ties 2 -> (1 + 2 + 0.5) / (2 * 2)... worked out:
    x, y = [1.0, 2.0], [2.0, 3.0]
    # y=2: beats 1, ties 2 -> 1.5; y=3: beats both -> 2; total 3.5 of 4 pairs
    assert pw.superiority_probability(x, y) == pytest.approx(3.5 / 4)
    assert pw.superiority_probability(y, x) == pytest.approx(0.5 / 4)


def test_simulation_agrees_with_the_asymptotic_answers_on_normal_data():
    x = sps.norm.ppf((np.arange(40) + 0.5) / 40)  # 40 evenly spaced normal quantiles, SD ~ 1
    sd = x.std(ddof=1)
    t80, t90 = (pw.t_test_n(0.5, sd, p).n_per_arm for p in (0.8, 0.9))
    p_sup = pw.superiority_probability(x, x + 0.5)
    n80, n90 = (pw.noether_n(p_sup, p).n_per_arm for p in (0.8, 0.9))
    s80, s90 = pw.simulated_n(x, 0.5, (0.8, 0.9), simulations=2000, seed=7, start=t80)
    for sim, t, noe in ((s80, t80, n80), (s90, t90, n90)):
        # the Mann-Whitney test needs ~3/pi more patients than the t test under normality (ARE 3/pi ~ 0.955)
        assert 0.95 * t <= sim.n_per_arm <= 1.15 * t
        assert abs(sim.n_per_arm - noe) <= 0.1 * noe
        assert sim.achieved_power >= sim.power
    assert s80.n_per_arm < s90.n_per_arm


def test_simulation_is_seeded():
    x = [-3.0, -2, -2, -1, 0, 0, 1, -4, -5, -2, -1, 0, 2, -3]
    a = pw.simulated_n(x, 1.5, (0.8,), seed=3)
    b = pw.simulated_n(x, 1.5, (0.8,), seed=3)
    assert a == b
    p1 = pw.simulated_power(x, 1.5, 20, seed=3)
    assert p1 == pw.simulated_power(x, 1.5, 20, seed=3)
    assert 0 < p1 < 1


def test_simulated_power_under_the_null_is_near_alpha():
    x = sps.norm.ppf((np.arange(30) + 0.5) / 30)
    assert pw.simulated_power(x, 0.0, 30, simulations=4000, seed=1) == pytest.approx(0.05, abs=0.015)


def test_rank_path_and_count_path_agree_in_distribution():
    many = sps.norm.ppf((np.arange(200) + 0.5) / 200)  # > MAX_COUNT_VALUES distinct values: draws and ranks
    few = sps.norm.ppf((np.arange(50) + 0.5) / 50)  # counts
    a = pw.simulated_power(many, 0.5, 40, simulations=4000, seed=2)
    b = pw.simulated_power(few, 0.5, 40, simulations=4000, seed=2)
    assert a == pytest.approx(b, abs=0.04)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: pw.t_test_n(0.0, 1.0, 0.8), InsufficientDataError),
        (lambda: pw.t_test_n(1.0, 0.0, 0.8), InsufficientDataError),
        (lambda: pw.t_test_n(1.0, 1.0, 1.2), InvalidOptionError),
        (lambda: pw.t_test_n(1.0, 1.0, 0.8, alpha=0), InvalidOptionError),
        (lambda: pw.t_test_power(1, 1.0, 1.0), InvalidOptionError),
        (lambda: pw.noether_n(0.5, 0.8), InsufficientDataError),
        (lambda: pw.noether_n(0.6, 0.8, share=1.0), InvalidOptionError),
        (lambda: pw.superiority_probability([], [1.0]), InsufficientDataError),
        (lambda: pw.simulated_n([1.0, 2.0], 0.0, (0.8,)), InsufficientDataError),
        (lambda: pw.simulated_power([1.0], 1.0, 5), InsufficientDataError),
        (lambda: pw.t_test_power_unequal(1, 1, 1.0, 1.0), InsufficientDataError),
    ],
)
def test_bad_input(call, error):
    with pytest.raises(error):
        call()


def test_infeasible_trial_is_reported_not_a_number():
    res = pw.t_test_n(1e-4, 10.0, 0.9)
    assert res.n_per_arm is None and "more than" in res.note
