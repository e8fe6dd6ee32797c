"""The examples in the reporting docstrings run and print what they claim."""

from __future__ import annotations

import doctest

import pytest

from ipafstudy.reporting import docx, figures, format, html, io, tablespec, xlsx

MODULES = [format, tablespec, io, figures, docx, html, xlsx]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
