"""Fixtures that read the datasets and R outputs committed in tests/reference/."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference"


def read_ref(name: str) -> pd.DataFrame:
    """A CSV written by one of the R scripts (first line is a '#' provenance comment)."""
    return pd.read_csv(REF / name, comment="#")


def records(name: str) -> list[dict]:
    return read_ref(name).to_dict("records")


@pytest.fixture(scope="session")
def paired_data() -> dict[str, tuple[pd.Series, pd.Series]]:
    frame = read_ref("paired_data.csv")
    out = {}
    for name, part in frame.groupby("dataset", sort=False):
        idx = part["id"].astype(str).to_numpy()
        out[name] = (
            pd.Series(part["before"].to_numpy(dtype=float), index=idx),
            pd.Series(part["after"].to_numpy(dtype=float), index=idx),
        )
    return out
