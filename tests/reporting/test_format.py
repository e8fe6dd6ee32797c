"""Formatting rules worked by hand (expected strings typed from the rule, not from our output)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.format import (
    JournalStyle,
    fmt_ci,
    fmt_estimate_ci,
    fmt_int,
    fmt_mean_sd,
    fmt_median_iqr,
    fmt_n_pct,
    fmt_number,
    fmt_p,
    get_style,
    keep_relations_together,
    print_style,
    significance_stars,
)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (2.675, 2, "2.68"),  # binary 2.67499999... ; half-up on the decimal string
        (0.125, 2, "0.13"),  # half-even would give 0.12
        (0.5, 0, "1"),  # half-even would give 0
        (2.5, 0, "3"),
        (-2.5, 0, "-3"),  # halves away from zero
        (1.005, 2, "1.01"),
        (-0.04, 1, "0.0"),  # never "-0.0"
        (-0.0, 2, "0.00"),
        (-0.05, 1, "-0.1"),
        (56, 0, "56"),
        (56, 1, "56.0"),
        (1234.5678, 2, "1234.57"),
        (1e-7, 3, "0.000"),
    ],
)
def test_fmt_number_half_up(value, decimals, expected):
    assert fmt_number(value, decimals) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        # Values a computation leaves 1-2 units in the last binary place below a written half. The reader
        # sees 0.455 / -1.575 / 0.7245 and rounds half up by hand.
        (0.45499999999999996, 2, "0.46"),
        (-1.5749999999999997, 2, "-1.58"),
        (0.7 + 0.0245, 3, "0.725"),  # 0.7244999999999999
        (0.1 + 0.0455, 3, "0.146"),  # 0.14550000000000002 (already above the half)
        (0.4549999, 2, "0.45"),  # a genuinely lower value (7 significant digits) is not pushed up
        (-0.0049999999999999996, 2, "-0.01"),
    ],
)
def test_fmt_number_half_up_on_the_decimal_a_person_sees(value, decimals, expected):
    assert fmt_number(value, decimals) == expected


def test_fmt_p_half_up_on_the_decimal_a_person_sees():
    # 0.7 + 0.0245 is stored as 0.7244999999999999; written 0.7245, half-up to 3 decimals: 0.725.
    assert fmt_p(0.7 + 0.0245) == "0.725"
    assert fmt_p(0.45499999999999996, style="nejm") == "0.46"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, math.nan])
def test_missing_prints_na_or_dash(missing):
    assert fmt_number(missing, 1) == "NA"
    assert fmt_number(missing, 1, style=JournalStyle(missing="—")) == "—"
    assert fmt_p(missing) == "NA"
    assert significance_stars(missing) == ""


def test_infinite_and_bad_input():
    assert fmt_number(float("inf"), 1) == "Inf"
    assert fmt_number(float("-inf"), 1) == "-Inf"
    with pytest.raises(TypeError, match="expected a number"):
        fmt_number("abc", 1)
    with pytest.raises(TypeError, match="boolean"):
        fmt_number(True, 1)
    with pytest.raises(InvalidOptionError, match="decimals"):
        fmt_number(1.0, -1)


def test_unicode_minus():
    assert fmt_number(-1.25, 1, style=JournalStyle(unicode_minus=True)) == "\u22121.3"


def test_print_style_typesets_minus_and_missing_only():
    typeset = print_style()
    assert fmt_number(-1.25, 1, style=typeset) == "\u22121.3"
    assert fmt_number(-0.04, 1, style=typeset) == "0.0"  # rounds to zero: no sign at all
    assert fmt_number(float("-inf"), 1, style=typeset) == "\u2212Inf"
    assert fmt_number(None, style=typeset) == "\u2014"
    assert fmt_ci(-3.0, -1.0, 1, style=typeset) == "\u22123.0, \u22121.0"
    # a dash separator with a negative bound switches to " to " whichever minus is printed
    assert fmt_median_iqr(-3, -2, -1, 0, style=print_style("nejm")) == "\u22122 (\u22123 to \u22121)"
    assert fmt_p(0.0004, style=typeset) == "<0.001" and fmt_n_pct(3, 4, style=typeset) == "3 (75.0%)"
    # the machine style is untouched: ASCII hyphen-minus and "NA" for CSV/JSON
    assert fmt_number(-1.25, 1) == "-1.3" and fmt_number(None) == "NA"
    # everything else of the journal style is kept
    assert print_style("jama").p_leading_zero is False and print_style("jama").name == "jama"


def test_fmt_int():
    assert fmt_int(48) == "48"
    assert fmt_int(48.0) == "48"
    with pytest.raises(ValueError, match="whole number"):
        fmt_int(4.5)


@pytest.mark.parametrize(
    ("p", "default", "nejm", "jama"),
    [
        (0.0004, "<0.001", "<0.001", "<.001"),
        (0.000999, "<0.001", "<0.001", "<.001"),
        (0.001, "0.001", "0.001", ".001"),
        (0.00451, "0.005", "0.005", ".005"),
        (0.0496, "0.050", "0.05", ".05"),
        (0.302, "0.302", "0.30", ".30"),
        (0.1251, "0.125", "0.13", ".13"),
        (0.0099, "0.010", "0.010", ".010"),  # below 0.01: three decimals even when it rounds to 0.010
        (0.995, "0.995", ">0.99", ">.99"),
        (1.0, "1.000", ">0.99", ">.99"),
        (0.0, "<0.001", "<0.001", "<.001"),
    ],
)
def test_fmt_p_styles(p, default, nejm, jama):
    assert fmt_p(p) == default
    assert fmt_p(p, style="nejm") == nejm
    assert fmt_p(p, style="jama") == jama


def test_fmt_p_rejects_non_probability():
    with pytest.raises(ValueError, match="not a probability"):
        fmt_p(1.2)
    with pytest.raises(ValueError, match="not a probability"):
        fmt_p(-0.01)


@pytest.mark.parametrize(
    ("p", "stars"),
    [(0.0009, "***"), (0.001, "**"), (0.0099, "**"), (0.01, "*"), (0.0499, "*"), (0.05, "ns"), (0.9, "ns")],
)
def test_significance_stars_strict_less_than(p, stars):
    assert significance_stars(p) == stars


def test_stars_ns_label_and_bad_p():
    assert significance_stars(0.07, ns="") == ""
    with pytest.raises(ValueError, match="not a probability"):
        significance_stars(1.5)


def test_median_iqr_and_negative_ranges():
    assert fmt_median_iqr(50, 56, 59, 0) == "56 (50, 59)"
    assert fmt_median_iqr(50, 56, 59.25, 1) == "56.0 (50.0, 59.3)"
    assert fmt_median_iqr(50, 56, 59, 0, style="nejm") == "56 (50–59)"
    # a dash between negative numbers is unreadable: switch to " to "
    assert fmt_median_iqr(-5, -3, -1, 0, style="nejm") == "-3 (-5 to -1)"
    assert fmt_median_iqr(None, None, None) == "NA"
    assert fmt_median_iqr(None, 3, None, 0) == "3 (NA, NA)"


def test_mean_sd_and_ci():
    assert fmt_mean_sd(12.345, 4.55, 1) == "12.3 (4.6)"  # 4.55 -> 4.6 half-up
    with pytest.raises(ValueError, match="negative"):
        fmt_mean_sd(1, -1)
    assert fmt_ci(-3, -1, 1) == "-3.0, -1.0"
    assert fmt_ci(-3, -1, 1, style="nejm") == "-3.0 to -1.0"
    with pytest.raises(ValueError, match="above upper"):
        fmt_ci(2, 1)
    assert fmt_estimate_ci(-2, -3, -1, 0) == "-2 (-3, -1)"
    assert fmt_estimate_ci(-2, None, None, 0) == "-2"


def test_n_pct_exact_percentages():
    assert fmt_n_pct(34, 48) == "34 (70.8%)"  # 34/48 = 70.8333...
    assert fmt_n_pct(1, 8, decimals=0) == "1 (13%)"  # 12.5 exactly -> half-up 13
    assert fmt_n_pct(3, 8, decimals=1) == "3 (37.5%)"
    assert fmt_n_pct(7, 48, show_denom=True) == "7/48 (14.6%)"  # 14.5833...
    assert fmt_n_pct(0, 0, show_denom=True) == "0/0 (NA)"
    assert fmt_n_pct(2, 3, style=JournalStyle(pct_sign=False), decimals=2) == "2 (66.67)"
    assert fmt_n_pct(None, 5) == "NA"


@pytest.mark.parametrize(("n", "d", "msg"), [(5, 4, "larger"), (-1, 4, "non-negative"), (1.5, 4, "whole")])
def test_n_pct_bad_input(n, d, msg):
    with pytest.raises(ValueError, match=msg):
        fmt_n_pct(n, d)


def test_style_validation_and_presets():
    with pytest.raises(InvalidOptionError, match="style='lancet'"):
        get_style("lancet")
    with pytest.raises(InvalidOptionError, match="p_style"):
        JournalStyle(p_style="other")
    with pytest.raises(InvalidOptionError, match="p_decimals"):
        JournalStyle(p_decimals=0)
    st = get_style("nejm").with_options(decimals=2)
    assert st.decimals == 2 and st.name == "nejm"
    assert fmt_p(0.5, style=JournalStyle(p_decimals=2)) == "0.50"
    assert fmt_p(0.005, style=JournalStyle(p_decimals=2)) == "<0.01"


def test_keep_relations_together():
    nb = "\u00a0"
    assert keep_relations_together("p < 0.001; r = 0.82") == f"p{nb}<{nb}0.001; r{nb}={nb}0.82"
    assert keep_relations_together("aged ≥ 18 and ≤ 80") == f"aged{nb}≥{nb}18 and{nb}≤{nb}80"
    assert keep_relations_together("x=1, a => b, end =") == "x=1, a => b, end ="  # no spaced sign: unchanged
    assert keep_relations_together("") == ""


@pytest.mark.parametrize(("p", "text"), [(0.0123, "p = 0.012"), (0.0004, "p < 0.001"), (1.0, "p = 1.000")])
def test_fmt_p_relation_reads_as_running_text(p, text):
    from ipafstudy.reporting.format import fmt_p_relation

    assert fmt_p_relation(p) == text


def test_variable_decimals_win_over_the_fallback_and_the_style_default():
    from ipafstudy.reporting.format import get_style

    st = get_style("default").with_variable_decimals({"fvc_ml": 0, "crp": 3})
    assert st.decimals_for("fvc_ml") == 0
    assert st.decimals_for("crp", {"crp": 2}) == 3  # the plan's/catalogue's decimals beat the renderer's fallback
    assert st.decimals_for("trough", {"trough": 2}) == 2
    assert st.decimals_for("esr", {"trough": 2}) == st.decimals == 1
    assert st.with_variable_decimals({"crp": 3, "fvc_ml": 0}) == st  # order-independent, so equal plans compare equal
    assert fmt_number(2419.5, st.decimals_for("fvc_ml"), style=st) == "2420"  # half-up, no decimals
