"""p-value formatting and stars (hand-checked rules)."""

from __future__ import annotations

import math

import pytest

from ipafstudy.errors import DataValidationError, InvalidOptionError
from ipafstudy.stats import adjust_p, format_p, significance_stars


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0, "<0.001"), (0.00099, "<0.001"), (0.001, "0.001"), (0.0123, "0.012"), (0.05, "0.050"), (1.0, "1.000"),
     (math.nan, "NA"), (None, "NA")],
)
def test_format_p(p, text):
    assert format_p(p) == text


def test_format_p_digits():
    assert format_p(0.00012, digits=4) == "0.0001"
    assert format_p(0.00002, digits=4) == "<0.0001"
    assert format_p(0.04, digits=2) == "0.04"


@pytest.mark.parametrize(("p", "text"), [(0.0045, "0.005"), (0.0125, "0.013"), (0.0135, "0.014"), (0.9995, "1.000")])
def test_format_p_rounds_half_up_on_the_printed_digits(p, text):
    # 0.0045 is stored as 0.00449999...; binary rounding would print 0.004, a journal rounds the
    # written number half up. Expectations worked by hand.
    assert format_p(p) == text


@pytest.mark.parametrize(("p", "digits", "text"), [(0.7 + 0.0245, 3, "0.725"), (0.45499999999999996, 2, "0.46"),
                                                   (0.0044999999999999997, 3, "0.005")])
def test_format_p_rounds_half_up_after_12_significant_digits(p, digits, text):
    # The stored doubles sit just below a written half (0.7244999999999999 for 0.7245); a reader rounds
    # the written 0.7245 half up to 0.725.
    assert format_p(p, digits=digits) == text


@pytest.mark.parametrize("bad", [0, 11, 2.5, True])
def test_format_p_bad_digits(bad):
    with pytest.raises(InvalidOptionError, match="digits"):
        format_p(0.5, digits=bad)


def test_format_p_rejects_non_probability():
    with pytest.raises(DataValidationError):
        format_p(1.5)


@pytest.mark.parametrize(
    ("p", "stars"), [(0.0009, "***"), (0.001, "**"), (0.0099, "**"), (0.01, "*"), (0.049, "*"), (0.05, ""),
                     (0.9, ""), (math.nan, ""), (None, "")],
)
def test_stars(p, stars):
    assert significance_stars(p) == stars


def test_holm_and_bh_by_hand():
    # p = 0.01, 0.02, 0.03 (m = 3). Holm: 0.03, 0.04, 0.04 (monotone). BH: 0.03, 0.03, 0.03.
    assert adjust_p([0.01, 0.02, 0.03], method="holm").tolist() == pytest.approx([0.03, 0.04, 0.04])
    assert adjust_p([0.03, 0.02, 0.01], method="bh").tolist() == pytest.approx([0.03, 0.03, 0.03])


def test_adjust_all_nan_and_bad_values():
    out = adjust_p([math.nan, math.nan])
    assert all(math.isnan(v) for v in out)
    with pytest.raises(DataValidationError):
        adjust_p([0.2, 1.3])


@pytest.mark.parametrize("func", [format_p, significance_stars])
@pytest.mark.parametrize("bad", ["a", [0.1], -0.1])
def test_non_numeric_or_invalid_p_is_data_error(func, bad):
    with pytest.raises(DataValidationError):
        func(bad)


def test_adjust_p_non_numeric():
    with pytest.raises(DataValidationError, match="must be numbers"):
        adjust_p(["a", 0.1])
    assert math.isnan(adjust_p([None, 0.2])[0])
