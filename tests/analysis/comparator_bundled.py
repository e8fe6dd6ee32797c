"""The bundled cohort's comparator bootstrap resamples: an input of tests/reference/comparator_end_to_end.R.

``python tests/analysis/comparator_bundled.py tests/reference`` writes comparator_boot_indices.csv: the 0-based row
positions (in the primary outcome's patient set, in comparator_dataset.csv's order) that the default plan's seed
draws for each bootstrap replicate, so R re-fits its model on exactly the resamples behind the report's CI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.stats.propensity import bootstrap_indices

REF = Path(__file__).resolve().parents[1] / "reference"


def covariate_columns(plan: AnalysisPlan) -> list[str]:
    """The dataset columns of the plan's comparator covariates (primary_baseline is <primary>_baseline)."""
    return [f"{plan.primary_outcome}_baseline" if c == "primary_baseline" else c
            for c in plan.additional.comparator.covariates]


def primary_set(dataset: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Patients with every covariate and a change in the primary outcome, in the dataset's order."""
    ok = dataset[covariate_columns(plan)].notna().all(axis=1) & dataset[f"{plan.primary_outcome}_change"].notna()
    return dataset[ok]


def read_dataset(path: Path = REF / "comparator_dataset.csv") -> pd.DataFrame:
    return pd.read_csv(path, dtype={"patient_id": str}, keep_default_na=False, na_values=[""])


def boot_indices_csv(dataset: pd.DataFrame, plan: AnalysisPlan | None = None) -> str:
    plan = plan or AnalysisPlan()
    spec = plan.additional.comparator
    seed = spec.seed if spec.seed is not None else plan.statistics.seed
    t = primary_set(dataset, plan)["treated"].to_numpy(dtype=float)
    idx = bootstrap_indices(t, spec.bootstrap, int(seed))
    frame = pd.DataFrame(np.asarray(idx), columns=[f"r{i + 1}" for i in range(idx.shape[1])])
    return frame.to_csv(index=False, lineterminator="\n")


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1])
    (out / "comparator_boot_indices.csv").write_text(boot_indices_csv(read_dataset()), encoding="utf-8")
