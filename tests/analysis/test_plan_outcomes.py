"""Plan outcomes (issue 11 item 3): any HRCT score or measurement variable, label/unit/better from the catalogue,
and every bad entry named by its key."""

from __future__ import annotations

import pytest

from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.errors import InvalidOptionError

BASE = {"primary_outcome": "fvc_pct_pred", "correlation": {"outcomes": ["fvc_pct_pred", "hrct_total"]},
        "figures": {"box_plot_outcomes": ["fvc_pct_pred"]},
        "regression": {"outcome": "fvc_pct_pred_change", "predictors": ["fvc_pct_pred_baseline"]}}
KL6X = {"code": "kl6x", "label": "KL-6 (lab X)", "unit": "U/mL", "range": [0, 50000]}


def plan(outcomes, **extra):
    return plan_from_dict({**BASE, "outcomes": outcomes, **extra}, source="'plan.yaml'")


def errors(outcomes, **extra) -> str:
    with pytest.raises(InvalidOptionError) as info:
        plan(outcomes, **extra)
    return str(info.value)


def test_label_unit_and_better_default_from_the_catalogue():
    p = plan([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}, {"code": "esr"}, {"code": "mmrc"},
              {"code": "fvc_ml"}, {"code": "kl6"}])
    got = {o.code: (o.label, o.unit, o.better) for o in p.outcomes}
    assert got == {
        "fvc_pct_pred": ("FVC, % predicted", None, "higher"),  # the label already says the unit
        "hrct_total": ("Total HRCT score", None, "lower"),
        "esr": ("ESR", "mm/h", "lower"),
        "mmrc": ("mMRC dyspnoea grade", None, "lower"),  # a score: no unit
        "fvc_ml": ("FVC, mL", None, "higher"),
        "kl6": ("KL-6", "U/mL", "lower"),
    }


def test_outcome_overrides_label_unit_and_better():
    p = plan([{"code": "fvc_pct_pred", "label": "FVC", "unit": "% pred", "better": "lower"},
              {"code": "hrct_total", "better": "higher"}, {"code": "esr", "unit": None}])
    assert plan([{"code": "fvc_pct_pred", "label": "FVC"}, {"code": "hrct_total"}]).outcomes[0].unit == "%"
    got = {o.code: (o.label, o.unit, o.better) for o in p.outcomes}
    assert got == {"fvc_pct_pred": ("FVC", "% pred", "lower"), "hrct_total": ("Total HRCT score", None, "higher"),
                   "esr": ("ESR", None, "lower")}  # an explicit null unit stays null


def test_resolved_plan_round_trips():
    p = plan([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}])
    again = plan_from_dict(p.model_dump(mode="json"))
    assert again == p
    assert AnalysisPlan().outcome("hrct_honeycombing").label == "HCs"  # the default plan keeps its labels
    assert {o.better for o in AnalysisPlan().outcomes} == {"lower"}


def test_declared_variable_as_outcome_takes_its_better_or_needs_one():
    p = plan([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}, {"code": "kl6x"}],
             variables=[{**KL6X, "better": "lower"}])
    assert (p.outcome("kl6x").label, p.outcome("kl6x").unit, p.outcome("kl6x").better) == ("KL-6 (lab X)", "U/mL",
                                                                                           "lower")
    message = errors([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}, {"code": "kl6x"}], variables=[KL6X])
    assert "outcomes[2].better" in message and "'kl6x'" in message and "under variables" in message
    # the outcome may state it instead of the declaration
    p = plan([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}, {"code": "kl6x", "better": "higher"}],
             variables=[KL6X])
    assert p.outcome("kl6x").better == "higher"


def test_unknown_code_and_missing_direction_are_all_reported_with_their_keys():
    message = errors([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}, {"code": "bogus_score"},
                      {"code": "fvc_percent_predicted"}, {"code": "tacrolimus_trough"}, {"code": "fev1"}])
    assert "plan.yaml" in message
    assert "outcomes[2].code: 'bogus_score' is not an HRCT score or a measurement variable" in message
    assert "variables: [{code: bogus_score" in message  # how to declare it
    assert "hrct_total" in message and "dlco_pct_pred" in message  # the allowed codes
    assert "outcomes[3].code" in message and "spelling of 'fvc_pct_pred'" in message
    assert "outcomes[4].better" in message  # a trough level has no better direction
    assert "outcomes[5].code" in message and "fev1_ml" in message
    bad = errors([{"code": "fvc_pct_pred", "better": "up"}, {"code": "hrct_total"}])
    assert "outcomes[0].better" in bad and "'lower'" in bad


def test_variable_declaration_checks_its_panel():
    message = errors([{"code": "fvc_pct_pred"}, {"code": "hrct_total"}],
                     variables=[{**KL6X, "panel": "Lung Function"}])
    assert "variables[0].panel: panel 'Lung Function'" in message


def test_decimals_come_from_the_catalogue_and_the_plan_overrides_them():
    p = plan([{"code": "fvc_pct_pred"}, {"code": "fvc_ml"}, {"code": "crp"}, {"code": "esr", "decimals": 0},
              {"code": "kl6x", "decimals": 3}, {"code": "hrct_total"}],
             variables=[{**KL6X, "better": "lower", "decimals": 1}])
    assert {o.code: o.decimals for o in p.outcomes} == {
        "fvc_pct_pred": None, "fvc_ml": 0, "crp": 2, "esr": 0, "kl6x": 3, "hrct_total": None}
    decimals = p.print_decimals
    # outcomes override the catalogue; variables that are not outcomes keep the catalogue's
    assert (decimals["esr"], decimals["kl6x"], decimals["fvc_ml"], decimals["crp"]) == (0, 3, 0, 2)
    assert decimals["six_mwd_m"] == 0 and "fvc_pct_pred" not in decimals and "hrct_total" not in decimals


@pytest.mark.parametrize("bad", [-1, 7, 1.5, "two"])
def test_decimals_out_of_range_are_plan_problems(bad):
    text = errors([{"code": "fvc_pct_pred", "decimals": bad}, {"code": "hrct_total"}])
    assert "decimals" in text
