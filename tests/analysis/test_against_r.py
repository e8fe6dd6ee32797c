"""The study's tables from the bundled cohort agree with R, number by number.

``tests/reference/study_end_to_end.R`` recomputes Tables 2-5, the Spearman matrix of the changes and the
Table 3 regression from ``tests/reference/study_analysis_dataset.csv`` (the ``analysis_dataset.csv`` that
``ipafstudy analyze`` writes for the bundled cohort) with base R, coin, car and lmtest; here
``analyse_dataset`` runs on the same file with the default plan and every number is compared with R's
(relative 1e-6 or absolute 1e-9; p-values relative only). A second variant blanks a few cells
(``study_missing_cells.csv``) and shuffles the rows, so pairing by patient id and the handling of missing
values are checked as well.
"""

from __future__ import annotations

import hashlib
import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ipafstudy.analysis.dataset import read_dataset
from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.analysis.results import StudyResults
from ipafstudy.analysis.study import analyse_dataset, run_study
from ipafstudy.data.loaders import load_study
from ipafstudy.reporting.report import dataset_csv

REF = Path(__file__).resolve().parents[1] / "reference"
DATASET = REF / "study_analysis_dataset.csv"
RERUN = (
    "re-run `Rscript tests/reference/study_end_to_end.R` after refreshing tests/reference/study_analysis_dataset.csv "
    "(ipafstudy synth --bundled --out D && ipafstudy analyze D --out O; copy O/analysis_dataset.csv)"
)
R_FILES = ("paired", "mann_whitney", "categorical", "spearman", "regression_terms", "regression_fit")
VARIANTS = ("bundled", "with_missing")
REL, ABS = 1e-6, 1e-9


def read_r(name: str) -> pd.DataFrame:
    """A reference CSV written by the R script (its first line is the provenance comment)."""
    return pd.read_csv(REF / f"study_r_{name}.csv", skiprows=1, keep_default_na=False, na_values=["NA"])


def close(ours: Any, theirs: Any, *, abs_tol: float = ABS) -> bool:
    """Equal within rel 1e-6 / abs 1e-9; R's NA matches only a value we also left out (None or NaN)."""
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        return ours is None or (isinstance(ours, float) and math.isnan(ours))
    return ours is not None and math.isclose(float(ours), float(theirs), rel_tol=REL, abs_tol=abs_tol)


def is_p_value(key: str) -> bool:
    """p-values are compared relatively only: abs 1e-9 would accept any p below 1e-9 (Table 2 has p ~ 1e-8)."""
    return "p" in key.replace("_", " ").split()


def assert_matches(pairs: dict[str, tuple[Any, Any]], where: str) -> None:
    """Compare many (ours, R) pairs and list every mismatch at once, so one run shows the whole picture."""
    bad = {k: v for k, v in pairs.items() if not close(*v, abs_tol=0.0 if is_p_value(k) else ABS)}
    assert not bad, f"{where}: ipafstudy vs R differ in " + "; ".join(
        f"{k}: ours {a!r}, R {b!r}" for k, (a, b) in bad.items()
    )


def missing_variant(data: pd.DataFrame) -> pd.DataFrame:
    """The R script's 'with_missing' variant: listed cells blanked (and that outcome's change), rows shuffled."""
    cells = pd.read_csv(REF / "study_missing_cells.csv", skiprows=1, dtype=str)
    out = data.copy()
    for pid, column in zip(cells["patient_id"], cells["column"], strict=True):
        row = out["patient_id"] == pid
        assert row.sum() == 1, f"study_missing_cells.csv names patient {pid}, not in the dataset; {RERUN}"
        out.loc[row, column] = np.nan
        for tp in ("_baseline", "_follow_up"):
            if column.endswith(tp):
                out.loc[row, column.removesuffix(tp) + "_change"] = np.nan
    order = np.random.default_rng(20250101).permutation(len(out))
    return out.iloc[order].reset_index(drop=True)


@pytest.fixture(scope="module")
def plan() -> AnalysisPlan:
    return AnalysisPlan()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return read_dataset(DATASET)


@pytest.fixture(scope="module")
def results(data: pd.DataFrame, plan: AnalysisPlan) -> dict[str, StudyResults]:
    return {"bundled": analyse_dataset(data, plan), "with_missing": analyse_dataset(missing_variant(data), plan)}


# ---- provenance ----------------------------------------------------------------------------------------


def test_dataset_regenerates_from_the_bundled_cohort(plan: AnalysisPlan) -> None:
    """If the pipeline changes the dataset, the R references are stale: say how to refresh them."""
    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    fresh = dataset_csv(run_study(study, plan))
    assert fresh == DATASET.read_text(encoding="utf-8"), f"analysis_dataset.csv of the bundled cohort changed; {RERUN}"


@pytest.mark.parametrize("name", [*R_FILES, "missing_cells"])
def test_r_outputs_were_computed_from_the_committed_dataset(name: str) -> None:
    header = (REF / f"study_{'' if name == 'missing_cells' else 'r_'}{name}.csv").read_text().splitlines()[0]
    md5 = hashlib.md5(DATASET.read_bytes()).hexdigest()
    assert header.startswith("# Generated by: Rscript tests/reference/study_end_to_end.R; R version")
    assert header.endswith(f"md5 {md5}"), f"{name}: R output is from another dataset; {RERUN}"


def test_every_variant_and_outcome_is_covered(plan: AnalysisPlan) -> None:
    """A reference file that lost rows would make the comparisons below pass vacuously."""
    paired = read_r("paired")
    assert sorted(set(paired["dataset"])) == sorted(VARIANTS)
    for v in VARIANTS:
        sub = paired[paired["dataset"] == v]
        assert list(sub.loc[sub["group"] == "all", "outcome"]) == list(plan.outcome_codes)
        assert sorted(sub["group"].unique()) == sorted(["all", *plan.subgroup.groups])
    k = len(plan.correlation.outcomes)
    assert len(read_r("spearman")) == len(VARIANTS) * k * (k - 1) // 2
    assert len(read_r("mann_whitney")) == len(VARIANTS) * (1 + 2 * len(plan.outcome_codes))


# ---- Table 2 and Table 5 (within groups): Wilcoxon signed-rank, quartiles, Shapiro-Wilk -------------------

PAIRED_ROWS = read_r("paired")


@pytest.mark.parametrize(
    "row", PAIRED_ROWS.to_dict("records"), ids=[f"{r.dataset}-{r.group}-{r.outcome}" for r in PAIRED_ROWS.itertuples()]
)
def test_paired_outcome_matches_r(row: dict[str, Any], results: dict[str, StudyResults]) -> None:
    res = results[row["dataset"]]
    if row["group"] == "all":
        got = next(p for p in res.paired if p.code == row["outcome"])
    else:
        got = next(r for r in res.subgroup_response if r.code == row["outcome"]).within[row["group"]]
    w = got.wilcoxon
    checks: dict[str, tuple[Any, Any]] = {
        "n_patients": (got.n_patients, row["n_patients"]),
        "n_pairs": (got.n_pairs, row["n_pairs"]),
        "n_nonzero": (w.n_nonzero, row["n_nonzero"]),
        "n_increased": (w.n_increased, row["n_increased"]),
        "n_decreased": (w.n_decreased, row["n_decreased"]),
        "n_unchanged": (w.n_unchanged, row["n_unchanged"]),
        "w_minus": (w.w_minus, row["w_minus"]),
        "median_change": (got.median_change.estimate, row["median_change"]),
    }
    for tp in ("baseline", "follow_up", "change"):
        q = getattr(got, tp)
        checks |= {f"{tp}_{k}": (getattr(q, k), row[f"{tp}_{k}"]) for k in ("q1", "median", "q3")}
    for tp in ("baseline", "follow_up", "difference"):
        sw = got.normality[tp]
        checks[f"shapiro_{tp}_w"] = (None if sw is None else sw.w, row[f"shapiro_{tp}_w"])
        checks[f"shapiro_{tp}_p"] = (None if sw is None else sw.p, row[f"shapiro_{tp}_p"])
    if row["n_nonzero"] == 0:
        # every difference is zero: R's wilcox.test has nothing to rank (NaN); we print z = 0, p = 1 and say why
        assert (w.z, w.p, w.r, w.w_plus) == (0.0, 1.0, 0.0, 0.0) and "all paired differences are zero" in w.reason
    else:
        checks |= {
            "w_plus (R V)": (w.w_plus, row["w_plus"]),
            "z (formula in R)": (w.z, row["z"]),
            "z (coin)": (w.z, row["z_coin"]),
            "p (wilcox.test)": (w.p, row["p"]),
            "p (coin)": (w.p, row["p_coin"]),
            "r = |z|/sqrt(n pairs)": (w.r, row["r"]),
        }
    assert_matches(checks, f"{row['dataset']} {row['group']} {row['outcome']}")


# ---- Table 4 (baseline) and Table 5 P3 (changes): Mann-Whitney MSA vs MAA -----------------------------------

MW_ROWS = read_r("mann_whitney")


@pytest.mark.parametrize(
    "row", MW_ROWS.to_dict("records"), ids=[f"{r.dataset}-{r.table}-{r.column}" for r in MW_ROWS.itertuples()]
)
def test_mann_whitney_matches_r(row: dict[str, Any], results: dict[str, StudyResults], plan: AnalysisPlan) -> None:
    res = results[row["dataset"]]
    g1, g2 = plan.subgroup.groups
    summaries = None
    if row["table"] == "table4":
        key = "age" if row["column"] == "age_at_start" else row["column"]
        t4 = next(r for r in res.subgroup_baseline if r.key == key)
        test, summaries = t4.test, t4.groups
        assert t4.test_name == "Mann-Whitney U"
    else:
        test = next(r for r in res.subgroup_response if f"{r.code}_change" == row["column"]).between
    checks: dict[str, tuple[Any, Any]] = {
        "n1": (test.n1, row["n1"]),
        "n2": (test.n2, row["n2"]),
        "U1 (R W)": (test.u1, row["u1"]),
        "U = min(U1, U2)": (test.u, row["u"]),
        "z (formula in R)": (test.z, row["z"]),
        "|z| (coin)": (abs(test.z), row["z_coin_abs"]),
        "p (wilcox.test)": (test.p, row["p"]),
        "p (coin)": (test.p, row["p_coin"]),
        "r": (test.r, row["r"]),
    }
    if summaries is not None:
        for tag, g in (("g1", g1), ("g2", g2)):
            checks |= {f"{g} {k}": (getattr(summaries[g], k), row[f"{tag}_{k}"]) for k in ("q1", "median", "q3")}
    assert_matches(checks, f"{row['dataset']} {row['table']} {row['column']}")


CAT_ROWS = read_r("categorical")


@pytest.mark.parametrize(
    "row", CAT_ROWS.to_dict("records"), ids=[f"{r.dataset}-{r.key}" for r in CAT_ROWS.itertuples()]
)
def test_table4_categorical_matches_r(row: dict[str, Any], results: dict[str, StudyResults]) -> None:
    t4 = next(r for r in results[row["dataset"]].subgroup_baseline if r.key == row["key"])
    test = t4.test
    assert [int(v) for v in np.ravel(test.table)] == [int(v) for v in row["table"].split()]
    # the SPSS/study rule: Fisher when any expected count is below 5 (R's min expected decides here)
    assert test.test == ("fisher" if row["min_expected"] < 5 else "pearson")
    assert_matches(
        {
            "chi2 (chisq.test correct=FALSE)": (test.chi2, row["chi2"]),
            "dof": (test.dof, row["dof"]),
            "chi2 p": (test.chi2_p, row["chi2_p"]),
            "min expected": (test.min_expected, row["min_expected"]),
            "Fisher p": (test.fisher_p if test.test == "fisher" else row["fisher_p"], row["fisher_p"]),
        },
        f"{row['dataset']} Table 4 {row['key']}",
    )


# ---- Figure 2: Spearman matrix of the changes --------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_spearman_matrix_matches_r(variant: str, results: dict[str, StudyResults], plan: AnalysisPlan) -> None:
    corr = results[variant].correlation
    ref = read_r("spearman")
    ref = ref[ref["dataset"] == variant]
    label = {c: plan.outcome(c).label for c in plan.correlation.outcomes}
    checks: dict[str, tuple[Any, Any]] = {}
    for row in ref.itertuples():
        a, b = label[row.var1], label[row.var2]
        checks |= {
            f"{row.var1}~{row.var2} n": (corr.n.loc[a, b], row.n),
            f"{row.var1}~{row.var2} rho": (corr.rho.loc[a, b], row.rho),
            f"{row.var1}~{row.var2} p": (corr.p.loc[a, b], row.p),
            f"{row.var1}~{row.var2} p Holm": (corr.p_adjusted.loc[a, b], row.p_holm),
        }
    assert corr.adjust == "holm"
    assert_matches(checks, f"{variant} Spearman matrix")


# ---- Table 3: regression ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_regression_matches_r(variant: str, results: dict[str, StudyResults]) -> None:
    reg = results[variant].regression
    terms = read_r("regression_terms")
    terms = terms[terms["dataset"] == variant].set_index("term")
    assert list(reg.terms.index) == list(terms.index)
    checks: dict[str, tuple[Any, Any]] = {}
    for term in terms.index:
        for k in ("b", "se", "ci_low", "ci_high", "beta", "t", "p", "vif"):
            checks[f"{term} {k}"] = (float(reg.terms.loc[term, k]), float(terms.loc[term, k]))
    fit = read_r("regression_fit")
    fit = fit[fit["dataset"] == variant].iloc[0]
    checks |= {
        "n": (reg.n, fit["n"]),
        "n dropped (listwise)": (reg.n_dropped, fit["n_dropped"]),
        "R2": (reg.r2, fit["r2"]),
        "adj R2": (reg.adj_r2, fit["adj_r2"]),
        "F": (reg.f, fit["f"]),
        "F p": (reg.f_p, fit["f_p"]),
        "df model": (reg.df_model, fit["df_model"]),
        "df resid": (reg.df_resid, fit["df_resid"]),
        "residual SD": (reg.residual_sd, fit["residual_sd"]),
        "Breusch-Pagan": (reg.heteroscedasticity.lm, fit["bp_lm"]),
        "Breusch-Pagan p": (reg.heteroscedasticity.p, fit["bp_p"]),
        "Shapiro-Wilk W": (reg.residual_normality.w, fit["shapiro_w"]),
        "Shapiro-Wilk p": (reg.residual_normality.p, fit["shapiro_p"]),
    }
    assert_matches(checks, f"{variant} regression")


# ---- the comparison can fail ---------------------------------------------------------------------------------


def test_other_conventions_disagree_with_the_r_reference(data: pd.DataFrame) -> None:
    """R's continuity correction, type-7 quartiles and Pratt zeros each move numbers beyond the tolerance.

    So the agreement above is a statement about the SPSS conventions, not a comparison too loose to fail.
    """
    ref = read_r("paired")
    ref = ref[(ref["dataset"] == "bundled") & (ref["group"] == "all")].set_index("outcome")
    options = {"continuity": True, "quantile_method": "r7", "zero_method": "pratt", "bootstrap_resamples": 100}
    other = analyse_dataset(data, plan_from_dict({"statistics": options}))
    by_code = {p.code: p for p in other.paired}
    assert not all(close(by_code[c].wilcoxon.p, ref.loc[c, "p"], abs_tol=0.0) for c in ref.index)
    assert not all(close(by_code[c].baseline.q1, ref.loc[c, "baseline_q1"]) for c in ref.index)
    # hrct_ggo has 10 zero differences: Pratt ranks them, which changes W+/W- (here W- = 741 under Wilcox)
    assert not close(by_code["hrct_ggo"].wilcoxon.w_minus, ref.loc["hrct_ggo", "w_minus"])


def test_decimal_ties_by_default_exact_doubles_as_r_on_request(data: pd.DataFrame) -> None:
    """CRP changes that are equal in decimal can differ in the last bit; by default they tie.

    Two patients' CRP changes are both -0.94 on paper (1.98 -> 1.04 and 1.62 -> 0.68) but differ as doubles;
    the same happens for -11.07. ipafstudy's default (tie_decimals = 10) ties them, as the R script does by
    rounding; R's own default (digits.rank = Inf) ranks the raw doubles, which tie_decimals = None reproduces
    (the p_exact_doubles columns). If this test fails, the tie convention changed: update the R script.
    """
    change = data["crp_change"].to_numpy(dtype=float)
    magnitudes = np.abs(change[change != 0])
    assert np.unique(magnitudes).size > np.unique(np.round(magnitudes, 10)).size  # decimal near-ties exist
    mw = read_r("mann_whitney").set_index(["dataset", "column"]).loc[("bundled", "crp_change")]
    paired = read_r("paired").set_index(["dataset", "group", "outcome"]).loc[("bundled", "all", "crp")]
    for tie_decimals, column in ((10, "p"), (None, "p_exact_doubles")):
        res = analyse_dataset(data, plan_from_dict({"statistics": {"tie_decimals": tie_decimals,
                                                                   "bootstrap_resamples": 100}}))
        between = next(r for r in res.subgroup_response if r.code == "crp").between
        wil = next(p for p in res.paired if p.code == "crp").wilcoxon
        other = "p_exact_doubles" if column == "p" else "p"
        assert close(between.p, mw[column], abs_tol=0.0) and not close(between.p, mw[other], abs_tol=0.0)
        assert close(wil.p, paired[column], abs_tol=0.0) and not close(wil.p, paired[other], abs_tol=0.0)


def test_close_treats_r_na_strictly() -> None:
    assert is_p_value("p (coin)") and is_p_value("shapiro_baseline_p") and is_p_value("GGO~CRP p Holm")
    assert not is_p_value("n_pairs") and not is_p_value("hrct_ggo_baseline b") and not is_p_value("Spearman rho")
    assert not close(1e-8, 1.5e-8, abs_tol=0.0)
    assert close(None, math.nan) and close(math.nan, math.nan)
    assert not close(0.0, math.nan) and not close(1.0, 1.0 + 1e-5) and close(1.0, 1.0 + 1e-7)
    assert close(0.0, 1e-10) and not close(0.0, 1e-8)
