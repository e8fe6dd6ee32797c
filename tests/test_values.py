"""ipafstudy.values: the one is_missing and the one JSON conversion every layer uses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ipafstudy.values import is_missing, jsonable


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), (float("nan"), True), (np.nan, True), (np.float32("nan"), True), (pd.NA, True), (pd.NaT, True),
     (np.datetime64("NaT"), True), (Decimal("NaN"), True),
     (0, False), (0.0, False), ("", False), ("NA", False), (False, False), (np.float32(1.5), False),
     (np.datetime64("2024-01-01"), False), (dt.date(2024, 1, 1), False), ([], False), ([float("nan")], False),
     (np.array([np.nan]), False), (pd.Timestamp("2024-01-01"), False), (math.inf, False)],
)
def test_is_missing(value, expected):
    assert is_missing(value) is expected


def test_is_missing_never_raises_on_objects_that_cannot_compare():
    class Odd:
        def __ne__(self, other):
            raise TypeError("no comparison")

    assert is_missing(Odd()) is False


@dataclasses.dataclass(frozen=True)
class _Rec:
    n: int
    p: float
    when: dt.date


class _HasToDict:
    def to_dict(self):
        return {"b": np.int64(2), "a": {3, 1, 2}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), None), (math.inf, None), (-math.inf, None), (np.float64("nan"), None), (pd.NA, None),
        (pd.NaT, None), (np.int64(7), 7), (np.float32(0.5), 0.5), (np.bool_(True), True), (True, True),
        (dt.date(2024, 2, 29), "2024-02-29"), (dt.datetime(2024, 2, 29, 13, 5), "2024-02-29T13:05:00"),
        (pd.Timestamp("2024-02-29"), "2024-02-29T00:00:00"), (np.array([1.0, np.nan]), [1.0, None]),
        ((1, "a"), [1, "a"]), ({"b", "a"}, ["a", "b"]), (frozenset({2, 10}), [10, 2]), ({1: "x"}, {"1": "x"}),
        (_Rec(3, float("nan"), dt.date(2020, 1, 1)), {"n": 3, "p": None, "when": "2020-01-01"}),
        (_HasToDict(), {"b": 2, "a": [1, 2, 3]}), (pd.Series([1.5, np.nan], index=["x", "y"]), {"x": 1.5, "y": None}),
        (Decimal("1.5"), "1.5"),
    ],
)
def test_jsonable_values(value, expected):
    out = jsonable(value)
    assert out == expected and type(out) is type(expected)
    json.dumps(out, allow_nan=False)  # raises ValueError on NaN/inf, TypeError on a non-JSON type


def test_jsonable_table_shape_default_index_left_out():
    frame = pd.DataFrame({"rater": ["r1", "r2"], "icc": [0.5, np.nan]})
    assert jsonable(frame) == {"columns": ["rater", "icc"],
                               "records": [{"rater": "r1", "icc": 0.5}, {"rater": "r2", "icc": None}]}


def test_jsonable_table_shape_meaningful_index_kept_first():
    named = pd.DataFrame({"b": [1.0]}, index=pd.Index(["Intercept"], name="term"))
    assert jsonable(named) == {"columns": ["term", "b"], "records": [{"term": "Intercept", "b": 1.0}]}
    labelled = pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=["x", "y"], columns=["x", "y"])
    assert jsonable(labelled)["columns"] == ["index", "x", "y"]
    assert jsonable(labelled)["records"][1] == {"index": "y", "x": 0.2, "y": 1.0}
    shifted = pd.DataFrame({"a": [1]}, index=pd.RangeIndex(5, 6))
    assert jsonable(shifted) == {"columns": ["index", "a"], "records": [{"index": 5, "a": 1}]}


def test_jsonable_empty_table():
    assert jsonable(pd.DataFrame(columns=["a", "b"])) == {"columns": ["a", "b"], "records": []}


def test_values_module_imports_neither_numpy_nor_pandas():
    code = "import sys, ipafstudy.values; print('numpy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
