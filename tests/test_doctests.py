"""Every docstring example in the package runs and prints what it claims (pytest does not collect src/).

The modules are found by the ``>>>`` in their source, and doctest must see at least one example in each: examples
doctest cannot see fail instead of passing with nothing run. (Examples marked ``+SKIP`` are usage, not checks.)
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import ipafstudy

PACKAGE = Path(ipafstudy.__file__).parent


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found_where_we_know_they_are():
    for name in ("ipafstudy.stats.paired", "ipafstudy.stats.quantiles", "ipafstudy.reporting.format",
                 "ipafstudy.values"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    found = sum(len(test.examples) for test in doctest.DocTestFinder().find(module))
    assert found > 0, f"{name} has '>>>' in its source but doctest finds no example"
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
