"""Baseline of measurement variables that are not outcomes (Table 1 rows such as ``fvc_pct_pred_baseline``).

The value is chosen by the outcomes' baseline rule (``timepoints.choose_baseline``: the closest value to the
exposure start within ``baseline_window_days``, same-day values averaged), so a Table 1 baseline and a Table 2
baseline of the same variable can never disagree. No follow-up is chosen: the variable is not an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ipafstudy.cohort._common import as_date, source_text
from ipafstudy.cohort.exposure import Exposure
from ipafstudy.cohort.timepoints import Observation, TimepointValue, choose_baseline
from ipafstudy.settings import ClinicalSettings

BASELINE_VALUE_COLUMNS = ("patient_id", "variable", "value", "date", "reason")


def baseline_values(
    meas_by_patient: Mapping[str, Sequence[Mapping[str, Any]]],
    exposures: Mapping[str, Exposure],
    patient_ids: Sequence[str],
    variables: Sequence[str],
    settings: ClinicalSettings,
) -> pd.DataFrame:
    """One row per patient and variable: the baseline value and date, or no value and the reason."""
    rows = []
    wanted = set(variables)
    for pid in patient_ids:
        start = exposures[pid].start
        if start is None or not variables:
            continue
        obs: dict[str, list[Observation]] = {v: [] for v in variables}
        for r in meas_by_patient.get(pid, ()):
            var, day, value = str(r.get("variable")), as_date(r.get("date")), r.get("value")
            if var in wanted and day is not None and value is not None and not pd.isna(value):
                obs[var].append(Observation(var, day, float(value), source_text(r)))
        for v in variables:
            got = choose_baseline(pid, v, obs[v], start, settings)
            if isinstance(got, TimepointValue):
                rows.append({"patient_id": pid, "variable": v, "value": got.value, "date": got.date, "reason": None})
            else:
                rows.append({"patient_id": pid, "variable": v, "value": float("nan"), "date": None,
                             "reason": got.reason})
    return pd.DataFrame(rows, columns=list(BASELINE_VALUE_COLUMNS))
