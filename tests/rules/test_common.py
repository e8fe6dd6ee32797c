"""Tri-state reading shared by the rules (blank is unknown, never silently 'no')."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipafstudy.rules.common import RuleInputError, as_tristate, float_or_nan


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (None, None), (np.bool_(True), True), (np.bool_(False), False),
     ("yes", True), ("No", False), (" unknown ", None), ("", None), (float("nan"), None), (pd.NA, None),
     ("TRUE", True), ("n", False)],
)
def test_as_tristate(value, expected):
    assert as_tristate(value, field="raynaud") is expected


@pytest.mark.parametrize("value", [1, 0, "maybe", "present", 2.0, [True]])
def test_as_tristate_rejects_guesses(value):
    with pytest.raises(RuleInputError, match=r"raynaud of patient 'P3'"):
        as_tristate(value, field="raynaud", owner="patient 'P3'")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), (" 2.5 ", 2.5), (7, 7.0), (np.int64(4), 4.0), (True, 1.0), ("-0", -0.0)],
)
def test_float_or_nan_reads_numbers(value, expected):
    assert float_or_nan(value) == expected


@pytest.mark.parametrize("value", [None, "", "1:320", "abc", [1], pd.NA, float("nan")])
def test_float_or_nan_gives_nan_for_non_numbers(value):
    assert np.isnan(float_or_nan(value))
