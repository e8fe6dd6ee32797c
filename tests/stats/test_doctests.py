"""The examples in the stats docstrings are executed (pytest's testpaths do not collect src/)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["agreement", "bootstrap", "correlation", "groups", "normality", "paired", "pvalues", "quantiles",
           "regression"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"ipafstudy.stats.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
