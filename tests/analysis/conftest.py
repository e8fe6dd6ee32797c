"""A small hand-built analysis dataset (the shape ``analysis_dataset`` produces), seeded and fast."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ipafstudy.analysis.dataset import CLINICAL_ITEMS, MORPHOLOGIC_ITEMS, SEROLOGIC_ITEMS, order_columns
from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict


def make_dataset(n: int = 30, seed: int = 7) -> pd.DataFrame:
    """Random but plausible patients: integer HRCT scores, mMRC grades, ties and zero changes included."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(1, n + 1)]
    data: dict[str, object] = {"patient_id": ids}
    data["sex"] = rng.choice(["female", "male"], n, p=[0.7, 0.3])
    data["sex_male"] = (data["sex"] == "male").astype(float)
    data["age_at_start"] = rng.normal(55, 10, n).round(0)
    data["ever_smoker"] = rng.choice([0.0, 1.0], n, p=[0.85, 0.15])
    data["antibody_group"] = rng.choice(np.array(["MSA", "MAA", None], dtype=object), n, p=[0.55, 0.35, 0.10])
    data["antibody_both"] = rng.choice([0.0, 1.0], n, p=[0.9, 0.1])
    data["domain_combination"] = rng.choice(
        ["serologic + morphologic", "all three", "clinical + morphologic"], n, p=[0.75, 0.2, 0.05]
    )
    domains = (("clinical", CLINICAL_ITEMS), ("serologic", SEROLOGIC_ITEMS), ("morphologic", MORPHOLOGIC_ITEMS))
    for dom, items in domains:
        for code, _ in items:
            data[f"{dom}_{code}"] = rng.choice([0.0, 1.0], n, p=[0.7, 0.3])
    data["hrct_pattern"] = rng.choice(["nsip", "nsip_op", "uip", "op"], n, p=[0.5, 0.3, 0.15, 0.05])
    data["pirfenidone"] = rng.choice([0.0, 1.0], n, p=[0.7, 0.3])
    data["nintedanib"] = np.zeros(n)
    data["tacrolimus_trough_median"] = rng.gamma(4, 1.4, n).round(2)
    start = dt.date(2022, 1, 1)
    parts = {
        "hrct_ggo": (rng.integers(0, 10, n), rng.integers(-3, 2, n)),
        "hrct_fibrosis": (rng.integers(2, 14, n), rng.integers(-1, 2, n)),
        "hrct_honeycombing": (rng.choice([0, 0, 0, 1, 2], n), rng.choice([0, 0, 0, 1], n)),
        "hrct_consolidation": (rng.integers(0, 9, n), rng.integers(-4, 1, n)),
    }
    for code, (base, delta) in parts.items():
        data[f"{code}_baseline"] = base.astype(float)
        data[f"{code}_follow_up"] = np.maximum(base + delta, 0).astype(float)
    data["hrct_total_baseline"] = sum(data[f"{c}_baseline"] for c in parts)
    data["hrct_total_follow_up"] = sum(data[f"{c}_follow_up"] for c in parts)
    mmrc = rng.integers(1, 5, n)
    data["mmrc_baseline"] = mmrc.astype(float)
    data["mmrc_follow_up"] = np.clip(mmrc - rng.integers(0, 3, n), 0, 4).astype(float)
    esr = rng.gamma(2, 14, n).round(0)
    data["esr_baseline"], data["esr_follow_up"] = esr, (esr * rng.uniform(0.2, 1.1, n)).round(0)
    crp = rng.gamma(1, 8, n).round(2)
    data["crp_baseline"], data["crp_follow_up"] = crp, (crp * rng.uniform(0.05, 1.2, n)).round(2)
    mp = rng.choice([10.0, 20.0, 30.0, 40.0], n)
    data["methylprednisolone_dose_baseline"] = mp
    data["methylprednisolone_dose_follow_up"] = np.maximum(mp - rng.choice([0, 4, 8, 16], n), 4.0)
    frame = pd.DataFrame(data)
    # a missing follow-up value and a missing baseline value: counted, not silently dropped
    frame.loc[3, "esr_follow_up"] = np.nan
    frame.loc[5, "crp_baseline"] = np.nan
    for code in AnalysisPlan().outcome_codes:
        frame[f"{code}_baseline_date"] = (start - dt.timedelta(days=10)).isoformat()
        frame[f"{code}_follow_up_date"] = (start + dt.timedelta(days=200)).isoformat()
        frame[f"{code}_change"] = frame[f"{code}_follow_up"] - frame[f"{code}_baseline"]
    return order_columns(frame, AnalysisPlan())


@pytest.fixture(scope="session")
def fast_plan() -> AnalysisPlan:
    return plan_from_dict({"statistics": {"bootstrap_resamples": 500}})


@pytest.fixture(scope="session")
def dataset() -> pd.DataFrame:
    return make_dataset()
