"""The analysis plan: default round trip, and every bad entry named by its key with the allowed values."""

from __future__ import annotations

import pytest
import yaml

from ipafstudy.analysis.plan import AnalysisPlan, default_plan_yaml, load_plan, plan_from_dict, variable_label
from ipafstudy.errors import InvalidOptionError
from ipafstudy.settings import ClinicalSettings


def test_default_yaml_loads_back_to_the_default_plan():
    text = default_plan_yaml()
    assert text.startswith("#")
    loaded = plan_from_dict(yaml.safe_load(text))
    assert loaded.to_dict() == AnalysisPlan().to_dict()
    # every clinical setting is written out with its default, and documented in a comment above it
    for name in ClinicalSettings().to_dict():
        assert f"\n  {name}:" in text


def test_default_plan_is_the_reference_analysis():
    plan = AnalysisPlan()
    # the reference study's design, as written in shared/spec and the paper's methods
    assert plan.primary_outcome == "hrct_total"
    assert plan.subgroup.groups == ("MSA", "MAA")
    assert plan.regression.outcome == "hrct_total_change"
    assert plan.regression.predictors == (
        "hrct_consolidation_baseline", "hrct_ggo_baseline", "ever_smoker", "hrct_total_baseline")
    assert len(plan.correlation.outcomes) == 8 and "methylprednisolone_dose" not in plan.correlation.outcomes
    st = plan.statistics
    assert (st.quantile_method, st.zero_method, st.continuity, st.wilcoxon_method, st.effect_size_n) == (
        "spss", "wilcox", False, "asymptotic", "pairs")
    assert st.bootstrap_resamples == 10_000 and st.bootstrap_ci_method == "percentile"
    assert plan.settings == ClinicalSettings()


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"statistics": {"quantile_method": "sas"}}, ["statistics.quantile_method", "'sas'", "'spss'", "'r7'"]),
        ({"statistics": {"zero_method": "zsplit"}}, ["statistics.zero_method", "'wilcox'", "'pratt'"]),
        ({"statistcs": {}}, ["statistcs", "unknown key"]),
        ({"correlation": {"adjust": "bonferroni"}}, ["correlation.adjust", "'holm'", "'bh'"]),
        ({"primary_outcome": "fev1"}, ["primary_outcome", "'fev1'"]),
        ({"regression": {"predictors": ["bmi"]}}, ["regression.predictors", "'bmi'", "hrct_ggo_baseline"]),
        ({"regression": {"predictors": []}}, ["regression.predictors", "at least one"]),
        ({"statistics": {"bootstrap_resamples": 10}}, ["statistics.bootstrap_resamples", "100"]),
        ({"statistics": {"confidence": 95}}, ["statistics.confidence"]),
        ({"clinical": {"min_age": "adult"}}, ["clinical.min_age", "'adult'", "number"]),
        ({"clinical": {"follow_up_rule": "last"}}, ["follow_up_rule", "latest_complete_visit"]),
        ({"clinical": {"baseline_days": 90}}, ["baseline_days", "baseline_window_days"]),
        ({"clinical": {"data_cutoff_date": "2024-02-30"}}, ["clinical.data_cutoff_date", "YYYY-MM-DD"]),
        ({"figures": {"box_plot_outcomes": ["fev1"]}}, ["figures.box_plot_outcomes", "fev1"]),
        ({"outcomes": [{"code": "fev1", "label": "FEV1"}]}, ["outcomes[0].code", "'fev1'", "hrct_total", "fev1_ml"]),
        ({"subgroup": {"groups": ["MSA", "MSA"]}}, ["subgroup", "differ"]),
        ({"outcomes": [{"code": "esr", "label": "X"}, {"code": "crp", "label": "X"}], "primary_outcome": "esr",
          "correlation": {"outcomes": ["esr", "crp"]}, "figures": {"box_plot_outcomes": ["esr"]},
          "regression": {"outcome": "esr_change", "predictors": ["crp_baseline"]}}, ["labels must differ"]),
    ],
)
def test_bad_plan_entries_name_the_key_and_what_is_allowed(data, fragments):
    with pytest.raises(InvalidOptionError) as info:
        plan_from_dict(data, source="'plan.yaml'")
    message = str(info.value)
    assert "plan.yaml" in message
    for fragment in fragments:
        assert fragment in message


def test_several_problems_are_reported_at_once():
    with pytest.raises(InvalidOptionError) as info:
        plan_from_dict({"statistics": {"quantile_method": "x", "zero_method": "y"}})
    assert "quantile_method" in str(info.value) and "zero_method" in str(info.value)


def test_clinical_settings_flow_into_the_plan():
    plan = plan_from_dict({"clinical": {"min_exposure_days": 180, "data_cutoff_date": "2024-06-30"}})
    assert plan.settings.min_exposure_days == 180
    assert plan.settings.data_cutoff_date.isoformat() == "2024-06-30"
    assert plan.to_dict()["clinical"]["min_exposure_days"] == 180


def test_load_plan_file_errors(tmp_path):
    with pytest.raises(InvalidOptionError, match="does not exist"):
        load_plan(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("statistics: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidOptionError, match="not valid YAML"):
        load_plan(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InvalidOptionError, match="mapping"):
        load_plan(listy)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_plan(empty).to_dict() == AnalysisPlan().to_dict()


def test_variable_labels():
    plan = AnalysisPlan()
    assert variable_label("hrct_ggo_baseline", plan) == "Baseline GGO"
    assert variable_label("hrct_consolidation_baseline", plan) == "Baseline consolidation"
    assert variable_label("hrct_total_change", plan) == "Δ Total HRCT score"
    assert variable_label("ever_smoker", plan).startswith("Smoking")


def test_docs_show_the_current_default_plan():
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"
    assert default_plan_yaml() in docs.read_text(encoding="utf-8"), "regenerate with `ipafstudy plan --default`"
