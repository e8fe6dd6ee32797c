"""Every table number equals ipafstudy.stats applied to analysis_dataset.csv read back (one code path).

The expected values are recomputed here from the CSV columns, never taken from an earlier run; counts
are re-counted with plain pandas so a wrong pairing or a wrong subset would show.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy import stats
from ipafstudy.analysis.dataset import read_dataset
from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.results import Continuous, Count
from ipafstudy.analysis.study import analyse_dataset
from ipafstudy.reporting.report import dataset_csv, dumps_json


@pytest.fixture(scope="module")
def results(dataset, fast_plan):
    return analyse_dataset(dataset, fast_plan)


@pytest.fixture(scope="module")
def csv(results) -> pd.DataFrame:
    return read_dataset(io.StringIO(dataset_csv(results)))


@pytest.fixture(scope="module")
def as_json(results) -> dict:
    return json.loads(dumps_json(results.to_dict()))


def col(frame: pd.DataFrame, name: str) -> pd.Series:
    s = frame[name].astype(float)
    s.index = frame["patient_id"].astype(str)
    return s


def close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def test_csv_holds_every_value_used(results, csv):
    assert list(csv["patient_id"]) == sorted(csv["patient_id"])
    for code in results.plan.outcome_codes:
        for tp in ("baseline", "follow_up", "change"):
            a, b = col(csv, f"{code}_{tp}"), col(results.dataset, f"{code}_{tp}")
            pd.testing.assert_series_equal(a, b, check_names=False)


def test_table2_equals_stats_on_the_csv(results, csv, as_json, fast_plan):
    st = fast_plan.statistics
    by_code = {p["code"]: p for p in as_json["paired"]}
    assert list(by_code) == list(fast_plan.outcome_codes)
    for code in fast_plan.outcome_codes:
        before, after = col(csv, f"{code}_baseline"), col(csv, f"{code}_follow_up")
        both = before.notna() & after.notna()
        got = by_code[code]
        # hand count of pairs and directions with plain pandas
        d = (after - before)[both]
        assert got["n_pairs"] == int(both.sum())
        assert got["wilcoxon"]["n_increased"] == int((d > 0).sum())
        assert got["wilcoxon"]["n_decreased"] == int((d < 0).sum())
        assert got["wilcoxon"]["n_unchanged"] == int((d == 0).sum())
        w = stats.wilcoxon_signed_rank(before[both], after[both], zero_method=st.zero_method,
                                       continuity=st.continuity, method=st.wilcoxon_method,
                                       effect_size_n=st.effect_size_n)
        for k in ("w_plus", "w_minus", "z", "p", "r"):
            assert close(got["wilcoxon"][k], getattr(w, k)), (code, k)
        mc = stats.median_change(before[both], after[both], n_resamples=st.bootstrap_resamples, seed=st.seed,
                                 ci_method=st.bootstrap_ci_method, confidence=st.confidence)
        for k in ("estimate", "ci_low", "ci_high"):
            assert close(got["median_change"][k], getattr(mc, k)), (code, k)
        assert got["median_change"]["estimate"] == float(np.median(d))
        for tp, values in (("baseline", before[both]), ("follow_up", after[both])):
            q = stats.quantiles(values, method=st.quantile_method)
            assert close(got[tp]["median"], float(np.median(values)))
            for k in ("q1", "median", "q3"):
                assert close(got[tp][k], getattr(q, k)), (code, tp, k)
        sw = stats.shapiro_wilk(d)
        assert close(got["normality"]["difference"]["w"], sw.w)


def test_missing_values_are_excluded_and_counted(results):
    esr = results.paired_for("esr")
    assert esr.n_pairs == results.n_analysed - 1
    row = next(m for m in results.missing if m.outcome == "esr" and m.timepoint == "follow_up")
    assert (row.n_available, row.n_missing) == (results.n_analysed - 1, 1)
    assert sum(row.reasons.values()) == 1


def test_table1_counts_from_the_csv(results, csv):
    rows = {r.key: r for r in results.baseline.rows}
    assert results.baseline.n == len(csv)
    male = rows["sex=male"].value
    assert isinstance(male, Count) and male.n == int((csv["sex"] == "male").sum()) and male.denominator == len(csv)
    assert rows["sex=female"].value.n == int((csv["sex"] == "female").sum())
    assert rows["hrct_pattern=nsip"].value.n == int((csv["hrct_pattern"] == "nsip").sum())
    assert rows["clinical_raynaud"].value.n == int(csv["clinical_raynaud"].sum())
    assert rows["antibody_group=MSA"].value.n == int((csv["antibody_group"] == "MSA").sum())
    assert "antibody_group=neither" not in rows  # the default plan lists the MSA and MAA levels only
    age = rows["age_at_start"].value
    assert isinstance(age, Continuous) and age.shown == "median_iqr"
    q = stats.quantiles(csv["age_at_start"], method="spss")
    assert (age.quantiles.q1, age.quantiles.median, age.quantiles.q3) == (q.q1, q.median, q.q3)
    combos = [r.value.n for r in results.baseline.rows if r.variable == "domain_combination"]
    assert sum(combos) == len(csv)  # the combinations partition the cohort (the paper's add up to 49 of 48)


def test_table3_regression_equals_stats_on_the_csv(results, csv, fast_plan):
    cols = [fast_plan.regression.outcome, *fast_plan.regression.predictors]
    ref = stats.linear_regression(csv[cols].astype(float), fast_plan.regression.outcome,
                                  list(fast_plan.regression.predictors))
    got = results.regression
    pd.testing.assert_frame_equal(got.terms, ref.terms)
    assert close(got.adj_r2, ref.adj_r2) and got.n == ref.n == len(csv)


def test_figure2_spearman_equals_stats_on_the_csv(results, csv, fast_plan):
    labels = [fast_plan.outcome(c).label for c in fast_plan.correlation.outcomes]
    frame = pd.DataFrame({lab: csv[f"{c}_change"].astype(float).to_numpy()
                          for c, lab in zip(fast_plan.correlation.outcomes, labels, strict=True)})
    ref = stats.spearman_matrix(frame, adjust="holm")
    np.testing.assert_allclose(results.correlation.rho.to_numpy(), ref.rho.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(results.correlation.p_adjusted.to_numpy(), ref.p_adjusted.to_numpy(), rtol=1e-12)
    assert results.correlation.n.loc["ESR", "CRP"] == int((csv["esr_change"].notna() & csv["crp_change"].notna()).sum())


def test_tables_4_and_5_equal_stats_on_group_subsets(results, csv, fast_plan):
    groups = {g: csv[csv["antibody_group"] == g] for g in ("MSA", "MAA")}
    assert results.group_sizes == {g: len(f) for g, f in groups.items()}
    t4 = {r.key: r for r in results.subgroup_baseline}
    ref = stats.mann_whitney(groups["MSA"]["age_at_start"], groups["MAA"]["age_at_start"], method="asymptotic",
                             continuity=False)
    assert (t4["age"].test.u, t4["age"].test.p) == (ref.u, ref.p)
    male = np.array([[int(f["sex_male"].sum()), int((f["sex_male"] == 0).sum())] for f in groups.values()])
    assert t4["male"].test.p == stats.compare_categorical(male).p
    assert t4["male"].test_name == t4["male"].test.test
    for r in results.subgroup_response:
        x, y = (col(groups[g], f"{r.code}_change").dropna() for g in ("MSA", "MAA"))
        assert close(r.between.p, stats.mann_whitney(x, y, method="asymptotic", continuity=False).p)
        for g in ("MSA", "MAA"):
            b, a = col(groups[g], f"{r.code}_baseline"), col(groups[g], f"{r.code}_follow_up")
            both = b.notna() & a.notna()
            w = stats.wilcoxon_signed_rank(b[both], a[both], zero_method="wilcox", continuity=False,
                                           method="asymptotic", effect_size_n="pairs")
            assert close(r.within[g].wilcoxon.p, w.p) and r.within[g].n_pairs == int(both.sum())


def test_row_order_does_not_matter_and_reruns_are_identical(dataset, fast_plan, as_json):
    shuffled = dataset.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = analyse_dataset(shuffled, fast_plan)
    assert dumps_json(again.to_dict()) == json.dumps(as_json, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_results_json_has_n_and_settings(as_json):
    w = as_json["paired"][0]["wilcoxon"]
    assert w["settings"]["zero_method"] == "wilcox" and w["n_pairs"] > 0
    assert as_json["paired"][0]["median_change"]["seed"] == as_json["plan"]["statistics"]["seed"]
    assert as_json["plan"]["clinical"]["min_exposure_days"] == 90


def test_one_patient_and_two_patients_do_not_crash(dataset, fast_plan):
    for n in (1, 2):
        res = analyse_dataset(dataset.head(n).copy(), fast_plan)
        assert res.n_analysed == n
        assert res.regression is None  # too few patients for five coefficients
        assert any("Regression" in note for note in res.notes)
        assert json.loads(dumps_json(res.to_dict()))["n_analysed"] == n  # dumps_json refuses NaN


def test_all_missing_outcome_and_all_zero_changes(dataset, fast_plan):
    data = dataset.copy()
    data["crp_follow_up"] = np.nan
    data["crp_change"] = np.nan
    data["mmrc_follow_up"] = data["mmrc_baseline"]
    data["mmrc_change"] = 0.0
    res = analyse_dataset(data, fast_plan)
    assert "crp" not in {p.code for p in res.paired}
    assert any("CRP" in n and "no patient" in n for n in res.notes)
    mmrc = res.paired_for("mmrc")
    assert mmrc.wilcoxon.n_nonzero == 0 and mmrc.wilcoxon.p == 1.0 and mmrc.median_change.estimate == 0.0


def test_empty_subgroup_is_reported_not_crashed(dataset, fast_plan):
    data = dataset.copy()
    data["antibody_group"] = data["antibody_group"].replace({"MAA": None})
    res = analyse_dataset(data, fast_plan)
    assert res.group_sizes["MAA"] == 0
    assert all(r.within["MAA"] is None and r.between is None for r in res.subgroup_response)


def test_mean_sd_summary_is_labelled(dataset):
    plan = plan_from_dict({"statistics": {"continuous_summary": "mean_sd", "bootstrap_resamples": 200}})
    res = analyse_dataset(dataset, plan)
    age = next(r for r in res.baseline.rows if r.key == "age_at_start").value
    assert age.shown == "mean_sd"
    assert close(age.describe.mean, float(dataset["age_at_start"].mean()))


@pytest.mark.parametrize("whiskers", ["minmax", "tukey"])
def test_figure1_boxes_equal_stats_on_the_csv_pairs(dataset, whiskers):
    plan = plan_from_dict({"statistics": {"bootstrap_resamples": 200}, "figures": {"whiskers": whiskers}})
    res = analyse_dataset(dataset, plan)
    csv = read_dataset(io.StringIO(dataset_csv(res)))
    assert [p.code for p in res.box_plots] == list(plan.figures.box_plot_outcomes)
    for panel in res.box_plots:
        b, a = col(csv, f"{panel.code}_baseline"), col(csv, f"{panel.code}_follow_up")
        both = b.notna() & a.notna()
        assert panel.patient_ids == tuple(b.index[both])
        ref = stats.boxplot_stats(b[both], method="spss", whisker=whiskers)
        assert (panel.before_box.q1, panel.before_box.whisker_low, panel.before_box.whisker_high) == (
            ref.q1, ref.whisker_low, ref.whisker_high)
        assert panel.p == res.paired_for(panel.code).wilcoxon.p
    if whiskers == "minmax":
        crp = next(p for p in res.box_plots if p.code == "crp")
        assert crp.after_box.whisker_high == max(crp.after)


def test_mmrc_grade_distribution_counts(results, csv):
    rows = {r.key: r for r in results.subgroup_baseline}
    for g in ("MSA", "MAA"):
        grades = csv.loc[csv["antibody_group"] == g, "mmrc_baseline"].dropna()
        for k in range(5):
            assert rows[f"mmrc_grade_{k}"].groups[g].n == int((grades == k).sum())
        assert rows["mmrc_grades"].groups[g].n == len(grades)
    in_groups = csv.loc[csv["antibody_group"].isin(["MSA", "MAA"]), "mmrc_baseline"]
    observed = [k for k in range(5) if (in_groups == k).any()]
    table = [[int((csv.loc[csv["antibody_group"] == g, "mmrc_baseline"] == k).sum()) for k in observed]
             for g in ("MSA", "MAA")]
    assert rows["mmrc_grades"].test.p == stats.compare_categorical(np.array(table)).p
