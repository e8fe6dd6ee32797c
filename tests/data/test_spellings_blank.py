"""is_blank: a missing value in any form, or a blank token, is a blank cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipafstudy.data.spellings import is_blank


@pytest.mark.parametrize("value", [None, float("nan"), np.float32("nan"), pd.NA, pd.NaT, "", "  ", "NA", "n/a", "null"])
def test_blank(value):
    assert is_blank(value) is True


@pytest.mark.parametrize("value", [0, 0.0, False, "0", "no", "unknown", "A-0001", pd.Timestamp("2024-01-01")])
def test_not_blank(value):
    assert is_blank(value) is False
