"""The bundled cohort's comparator (issue 12 item 4) end to end: results.json agrees with R, number by number.

``ipafstudy synth --bundled`` and ``ipafstudy analyze`` run here (the other additional parts switched off: they do
not touch the comparator); ``tests/reference/comparator_end_to_end.R`` recomputed, from
``tests/reference/comparator_dataset.csv`` (a copy of the ``comparator_dataset.csv`` that run writes), the propensity
model (glm), overlap weights, the SMD table before and after weighting and the weighted difference in change of every
outcome, and the primary outcome's bootstrap replicates on the very resamples the run drew
(``comparator_boot_indices.csv``), so even the report's CI is R's.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.analysis.comparator_bundled import boot_indices_csv, covariate_columns, primary_set, read_dataset

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.cli import main as cli_main
from ipafstudy.stats.propensity import bootstrap_weighted_difference

REF = Path(__file__).resolve().parents[1] / "reference"
DATASET = REF / "comparator_dataset.csv"
INDICES = REF / "comparator_boot_indices.csv"
RERUN = (
    "refresh: ipafstudy synth --bundled --out D && ipafstudy analyze D --out O; copy O/comparator_dataset.csv to "
    "tests/reference/; python tests/analysis/comparator_bundled.py tests/reference; "
    "Rscript tests/reference/comparator_end_to_end.R"
)
R_FILES = ("outcomes", "balance", "patients", "fit", "boot", "boot_ci")
REL, ABS = 1e-8, 1e-10
PLAN = AnalysisPlan()
OTHER_PARTS_OFF = "additional:\n" + "".join(
    f"  {part}:\n    enabled: false\n" for part in ("slopes", "power", "time_to_event", "incidence"))


def read_r(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"comparator_r_{name}.csv", comment="#", keep_default_na=False, na_values=["NA"],
                       dtype={"patient_id": str})


def assert_close(pairs: dict[str, tuple[Any, Any]], where: str) -> None:
    """Every mismatch at once."""
    bad = {k: (a, b) for k, (a, b) in pairs.items()
           if a is None or not math.isclose(float(a), float(b), rel_tol=REL, abs_tol=ABS)}
    assert not bad, f"{where}: ipafstudy vs R differ in " + "; ".join(
        f"{k}: ours {a!r}, R {b!r}" for k, (a, b) in bad.items())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("comparator_e2e")
    data, out, plan = root / "data", root / "report", root / "plan.yaml"
    plan.write_text(OTHER_PARTS_OFF, encoding="utf-8")
    assert cli_main(["synth", "--bundled", "--out", str(data)]) == 0
    assert cli_main(["analyze", str(data), "--out", str(out), "--plan", str(plan), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def comparator(report: Path) -> dict[str, Any]:
    return json.loads((report / "results.json").read_text(encoding="utf-8"))["additional"]["comparator"]


# ---- provenance: R computed from this very run's dataset and resamples -----------------------------------------
def dataset_differences(fresh: pd.DataFrame, committed: pd.DataFrame) -> list[str]:
    """Text and dates must match exactly; floats to 1e-12 relative, because the propensity fit's last bits depend
    on the numpy/BLAS build (seen: 1 ulp between two numpy releases), which is noise, not a change of the data."""
    if list(fresh.columns) != list(committed.columns) or len(fresh) != len(committed):
        return ["columns or rows changed"]
    problems = []
    for column in committed.columns:
        a, b = fresh[column], committed[column]
        if pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            bad = (np.isnan(x) != np.isnan(y)) | ~(np.isnan(y) | np.isclose(x, y, rtol=1e-12, atol=1e-14))
        else:
            bad = (a.astype(object).fillna("").astype(str) != b.astype(object).fillna("").astype(str)).to_numpy()
        if bad.any():
            problems.append(f"{column} differs in rows {np.flatnonzero(bad).tolist()}")
    return problems


def test_dataset_is_the_committed_reference(report: Path) -> None:
    problems = dataset_differences(read_dataset(report / "comparator_dataset.csv"), read_dataset(DATASET))
    assert not problems, f"the bundled comparator_dataset.csv changed: {problems}; {RERUN}"


def test_dataset_check_sees_a_real_change() -> None:
    """The tolerance is tight enough to see a propensity score moved in its 9th digit, or a changed arm label."""
    committed = read_dataset(DATASET)
    assert dataset_differences(committed.copy(), committed) == []
    moved = committed.copy()
    moved.loc[3, "ps"] = moved.loc[3, "ps"] * (1 + 1e-9)
    moved.loc[5, "arm"] = "comparator" if committed.loc[5, "arm"] == "treated" else "treated"
    assert dataset_differences(moved, committed) == ["arm differs in rows [5]", "ps differs in rows [3]"]


def test_resamples_are_the_ones_the_plan_seed_draws() -> None:
    assert boot_indices_csv(read_dataset()) == INDICES.read_text(encoding="utf-8"), f"resamples changed; {RERUN}"


@pytest.mark.parametrize("name", R_FILES)
def test_r_outputs_were_computed_from_the_committed_inputs(name: str) -> None:
    header = (REF / f"comparator_r_{name}.csv").read_text(encoding="utf-8").splitlines()[0]
    for path in (DATASET, INDICES):
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        assert f"{path.name} md5 {md5}" in header, f"comparator_r_{name}.csv is stale; {RERUN}"


# ---- the numbers ------------------------------------------------------------------------------------------------
def test_weighted_difference_of_every_outcome_matches_r(comparator: dict[str, Any]) -> None:
    ours = {o["code"]: o for o in comparator["outcomes"]}
    r = read_r("outcomes")
    assert list(ours) == r["code"].tolist() and comparator["skipped_outcomes"] == []
    assert comparator["weighting"] == "overlap"
    for row in r.to_dict("records"):
        o = ours[row["code"]]
        assert (o["n_treated"], o["n_control"]) == (row["n_treated"], row["n_control"]), row["code"]
        assert_close({k: (o[k], row[k]) for k in ("mean_treated", "mean_control", "difference",
                                                  "unweighted_difference", "ess_treated", "ess_control")}, row["code"])


def test_balance_table_matches_r(comparator: dict[str, Any]) -> None:
    r = read_r("balance")
    # the results name a term by the plan's covariate (primary_baseline), R by the dataset column
    plan_name = dict(zip(covariate_columns(PLAN), PLAN.additional.comparator.covariates, strict=True))
    r["term"] = [plan_name.get(term, term) for term in r["term"]]
    ours = comparator["balance"]
    assert [b["term"] for b in ours] == r["term"].tolist()
    for b, row in zip(ours, r.to_dict("records"), strict=True):
        assert b["binary"] == bool(row["binary"]), b["term"]
        assert_close({k: (b[k], row[k]) for k in ("mean_treated", "mean_control", "smd_before",
                                                  "mean_treated_weighted", "mean_control_weighted", "smd_after")},
                     b["term"])
    assert_close({"max_smd_before": (comparator["max_smd_before"], r["smd_before"].abs().max())}, "balance")
    assert abs(comparator["max_smd_after"]) < 1e-9  # overlap weights balance every model term exactly


def test_ps_and_weights_of_the_dataset_match_r(report: Path, comparator: dict[str, Any]) -> None:
    data = read_dataset(report / "comparator_dataset.csv")
    r = read_r("patients").set_index("patient_id")
    ours = data.dropna(subset=["ps"]).set_index("patient_id")
    assert list(ours.index) == list(r.index)
    np.testing.assert_allclose(ours["ps"], r["ps"], rtol=REL, atol=ABS)
    np.testing.assert_allclose(ours["weight"], r["weight"], rtol=REL, atol=ABS)
    fit = read_r("fit")
    assert_close({"c_statistic": (comparator["c_statistic"], fit["c_statistic"].iloc[0])}, "model")
    assert comparator["n_treated"] == int((r["treated"] == 1).sum())
    assert comparator["n_control"] == int((r["treated"] == 0).sum())


def test_bootstrap_cis_are_rs_on_the_same_resamples(comparator: dict[str, Any]) -> None:
    """The primary outcome and every outcome of the same patients: the run re-fits on the plan seed's resamples."""
    r = read_r("boot_ci")
    assert PLAN.primary_outcome in set(r["code"]) and len(r) > 1
    ours = {o["code"]: o for o in comparator["outcomes"]}
    for row in r.to_dict("records"):
        o = ours[row["code"]]
        assert comparator["bootstrap"] == row["n_boot"]
        assert_close({"ci_low": (o["ci_low"], row["ci_low"]), "ci_high": (o["ci_high"], row["ci_high"])}, row["code"])


def test_primary_bootstrap_replicates_are_rs(comparator: dict[str, Any]) -> None:
    # every replicate, including those where R's glm warned (separated resamples): R's value is the fit's limit
    data = primary_set(read_dataset(), PLAN)
    idx = pd.read_csv(INDICES).to_numpy(dtype=np.int64)
    res = bootstrap_weighted_difference(data[covariate_columns(PLAN)].set_axis(data["patient_id"].to_numpy()),
                                        data["treated"].to_numpy(dtype=float),
                                        data[f"{PLAN.primary_outcome}_change"].to_numpy(dtype=float), indices=idx)
    boot = read_r("boot")
    np.testing.assert_allclose(res.replicates, boot["t"], rtol=1e-7, atol=1e-9)
    primary = next(o for o in comparator["outcomes"] if o["code"] == PLAN.primary_outcome)
    assert primary["n_separated"] == res.n_separated >= int(boot["glm_warned"].sum())
