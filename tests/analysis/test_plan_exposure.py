"""Plan sections exposure and concomitant (issue 11 item 1): defaults and every error with its key."""

from __future__ import annotations

import pytest

from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.errors import InvalidOptionError


def test_default_exposure_is_tacrolimus_with_its_brand_names():
    plan = AnalysisPlan()
    drug = plan.exposure_drug
    assert (drug.drug, drug.display) == ("tacrolimus", "tacrolimus")
    assert all(drug.matches(n) for n in ("tacrolimus", "FK506", "Prograf", "Advagraf", "Envarsus"))
    assert plan.concomitant_drugs == ()


def test_exposure_label_and_names_from_the_plan():
    plan = plan_from_dict({"exposure": {"drug": "mmf", "label": "mycophenolate", "names": ["CellCept", "MMF"]}})
    assert plan.exposure_drug.display == "mycophenolate"
    assert plan.exposure_drug.matches("cellcept") and not plan.exposure_drug.matches("tacrolimus")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"exposure": {"names": []}}, "exposure.names"),
        ({"exposure": {"names": [" "]}}, "at least one non-blank name"),
        ({"concomitant": [{"code": "MMF", "names": ["mmf"]}]}, "concomitant[0].code"),
        ({"concomitant": [{"code": "mmf"}]}, "concomitant[0].names"),
        ({"concomitant": [{"code": "mmf", "names": ["mmf"]}, {"code": "mmf", "names": ["cellcept"]}]},
         "concomitant[1].code: 'mmf' is repeated"),
        ({"concomitant": [{"code": "tac", "names": ["Prograf"]}]},
         "concomitant[0].names: ['Prograf'] also name the exposure drug 'tacrolimus'"),
        ({"regression": {"predictors": ["concomitant_mmf"]}}, "'concomitant_mmf' is not a known variable"),
        ({"exposure": {"drug": "x", "names": ["x"], "route": "oral"}}, "exposure.route: unknown key"),
        ({"adverse_events": {"lab_rules": ["ldh_increase"]}}, "adverse_events.lab_rules[0]: 'ldh_increase' is not"),
        ({"adverse_events": {"lab_rules": ["aki", "aki"]}}, "lab rules are repeated"),
        ({"adverse_events": {"alt_uln": 0}}, "adverse_events.alt_uln"),
        ({"adverse_events": {"neutrophils_lln": 15}}, "adverse_events.neutrophils_lln"),
    ],
)
def test_bad_exposure_sections_name_the_key(data, message):
    with pytest.raises(InvalidOptionError) as info:
        plan_from_dict(data)
    assert message in str(info.value)


def test_concomitant_column_is_a_known_predictor():
    plan = plan_from_dict({"concomitant": [{"code": "mmf", "names": ["mmf"]}],
                           "regression": {"predictors": ["concomitant_mmf", "ever_smoker"]}})
    assert plan.regression.predictors == ("concomitant_mmf", "ever_smoker")


def test_default_lab_rules_are_the_reference_studys():
    rules = AnalysisPlan().adverse_events.rules()
    assert (rules.rules, rules.neutrophils_lln, rules.alt_uln) == (("hypomagnesaemia", "aki"), 2.0, 40.0)
