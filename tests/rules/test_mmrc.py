"""mMRC / MRC dyspnoea scales (clinical-rules.md s.4)."""

from __future__ import annotations

import pytest

from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.common import RuleInputError
from ipafstudy.rules.mmrc import describe_mmrc, to_mmrc


@pytest.mark.parametrize(("value", "scale", "expected"),
                         [(0, "mmrc", 0), (4, "mmrc", 4), (2.0, "mmrc", 2), (1, "mrc", 0), (5, "mrc", 4),
                          (3, "mrc", 2)])
def test_to_mmrc(value, scale, expected):
    assert to_mmrc(value, scale) == expected


@pytest.mark.parametrize(("value", "scale"), [(5, "mmrc"), (-1, "mmrc"), (7, "mmrc"), (0, "mrc"), (6, "mrc"),
                                              (2.5, "mmrc"), (None, "mmrc"), ("two", "mmrc"), (True, "mmrc"),
                                              (float("nan"), "mrc")])
def test_out_of_range_is_an_error_naming_the_scale(value, scale):
    with pytest.raises(RuleInputError, match=scale.upper()):
        to_mmrc(value, scale)


def test_unknown_scale():
    with pytest.raises(InvalidOptionError, match="scale='borg'"):
        to_mmrc(2, "borg")


def test_descriptions():
    assert "100 yards" in describe_mmrc(3)
    with pytest.raises(RuleInputError):
        describe_mmrc(5)
