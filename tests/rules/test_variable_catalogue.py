"""Issue 11 item 2: the built-in lung-function/laboratory variables, aliases and plan-declared variables.

Every expected value is worked by hand from the unit definitions written beside it.
"""

from __future__ import annotations

import pytest

from ipafstudy.rules.units import (
    BUILTIN_VARIABLES,
    MEASUREMENT_VARIABLES,
    MeasurementVariable,
    UnknownUnitError,
    accepted_units,
    convert_measurement,
)


@pytest.mark.parametrize(
    ("variable", "value", "unit", "expected_var", "expected_value", "expected_unit"),
    [
        ("fvc_ml", 2.31, "L", "fvc_ml", 2310.0, "mL"),  # 1 L = 1000 mL
        ("fvc_ml", 2310, "mL", "fvc_ml", 2310.0, "mL"),
        ("fev1_ml", 1.5, "l", "fev1_ml", 1500.0, "mL"),
        ("fvc_pct_pred", 72, "%", "fvc_pct_pred", 72.0, "%"),
        ("fvc_pct_pred", 72, "% predicted", "fvc_pct_pred", 72.0, "%"),
        ("dlco_pct_pred", 48, "% pred", "dlco_pct_pred", 48.0, "%"),
        ("tlc_pct_pred", 80, "%", "tlc_pct_pred", 80.0, "%"),
        ("six_mwd_m", 410, "m", "six_mwd_m", 410.0, "m"),
        ("spo2_rest_pct", 94, "%", "spo2_rest_pct", 94.0, "%"),
        ("kl6", 950, "U/mL", "kl6", 950.0, "U/mL"),
        ("kl6", 950, "kU/L", "kl6", 950.0, "U/mL"),  # 1 kU/L = 1000 U / 1000 mL = 1 U/mL
        ("ck", 120, "U/L", "ck", 120.0, "U/L"),
        ("ck", 2, "ukat/L", "ck", 120.0, "U/L"),  # 1 ukat/L = 1 umol/s/L = 60 umol/min/L = 60 U/L
        ("ferritin", 300, "ng/mL", "ferritin", 300.0, "ng/mL"),
        ("ferritin", 300, "µg/L", "ferritin", 300.0, "ng/mL"),  # 1 ng/mL = 1e-9 g / 1e-3 L = 1e-6 g/L = 1 ug/L
        ("neutrophils", 4.2, "10^9/L", "neutrophils", 4.2, "10^9/L"),
        ("neutrophils", 4200, "/uL", "neutrophils", 4.2, "10^9/L"),  # 4200 per 1e-6 L = 4.2e9 per L
        ("neutrophils", 1500, "cells/µL", "neutrophils", 1.5, "10^9/L"),
        ("neutrophils", 1500, "/mm3", "neutrophils", 1.5, "10^9/L"),  # 1 mm3 = 1 uL
        ("alt", 45, "IU/L", "alt", 45.0, "U/L"),
        ("glucose", 5.5, "mmol/L", "glucose", 5.5, "mmol/L"),
        ("glucose", 90.08, "mg/dL", "glucose", 5.0, "mmol/L"),  # 90.08 / 18.016 = 5.0 exactly in decimal
        ("glucose", 180.16, "mg/dl", "glucose", 10.0, "mmol/L"),
    ],
)
def test_new_builtin_conversions_worked_by_hand(variable, value, unit, expected_var, expected_value, expected_unit):
    assert convert_measurement(variable, value, unit) == (expected_var, pytest.approx(expected_value, rel=1e-12),
                                                          expected_unit)


@pytest.mark.parametrize(
    ("written", "unit", "code"),
    [
        ("fvc_percent_predicted", "%", "fvc_pct_pred"),
        ("FVC % predicted", "%", None),  # '%' in a name is not a spelling we guess
        ("fvc", "%", "fvc_pct_pred"),
        ("FVC", "L", "fvc_ml"),
        ("fvc", "mL", "fvc_ml"),
        ("dlco", "%", "dlco_pct_pred"),
        ("DLCO", "% predicted", "dlco_pct_pred"),
        ("dlco", "mmol/min/kPa", None),  # absolute DLCO is not built in
        ("dlco_percent_predicted", "%", "dlco_pct_pred"),
        ("fev1", "L", "fev1_ml"),
        ("fev1", "%", None),
        ("6MWD", "m", "six_mwd_m"),
        ("SpO2", "%", "spo2_rest_pct"),
        ("KL-6", "U/mL", "kl6"),
        ("ANC", "/uL", "neutrophils"),
        ("ldh", "U/L", None),
    ],
)
def test_aliases(written, unit, code):
    assert BUILTIN_VARIABLES.resolve(written, unit) == code


def test_alias_converts_under_the_canonical_code():
    assert convert_measurement("fvc_percent_predicted", 72, "%") == ("fvc_pct_pred", 72.0, "%")
    assert convert_measurement("FVC", 2.5, "L") == ("fvc_ml", 2500.0, "mL")


def test_absolute_dlco_is_refused_with_a_declaration_snippet():
    with pytest.raises(UnknownUnitError) as info:
        convert_measurement("dlco", 5.1, "mmol/min/kPa")
    text = str(info.value)
    assert "dlco_pct_pred" in text and "variables: [{code: dlco_mmol_min_kpa" in text
    assert "unit: mmol/min/kPa" in text and "range: [LOW, HIGH]" in text


def test_unknown_variable_message_says_how_to_declare_it():
    with pytest.raises(UnknownUnitError) as info:
        convert_measurement("ldh", 250, "U/L")
    text = str(info.value)
    assert "'ldh' is not a known measurement variable" in text and "fvc_ml" in text
    assert "declare it in the analysis plan and pass it with --plan" in text
    snippet = "variables: [{code: ldh, label: ldh, unit: U/L, units: {U/L: 1}, range: [LOW, HIGH], integer: false}]"
    assert snippet in text


def test_new_variables_accept_their_canonical_unit_and_have_ranges():
    for code in ("fvc_ml", "fvc_pct_pred", "dlco_pct_pred", "fev1_ml", "tlc_pct_pred", "six_mwd_m", "spo2_rest_pct",
                 "kl6", "ck", "ferritin", "neutrophils", "alt", "glucose"):
        spec = MEASUREMENT_VARIABLES[code]
        assert spec.minimum < spec.maximum
        assert convert_measurement(code, spec.maximum, spec.canonical_unit)[1] == spec.maximum
    assert accepted_units("fvc") == ()  # unit-dependent spellings have no units of their own
    assert accepted_units("fvc_percent_predicted") == ("%", "%pred", "%predicted")


def _kl6x() -> MeasurementVariable:
    return MeasurementVariable("kl6x", "KL-6", "U/mL", 0, 50000)


def test_declared_variable_is_accepted_and_converted():
    cat = BUILTIN_VARIABLES.with_declared([_kl6x()], {"kl6x": {"U/mL": 1, "kU/L": 1000}})
    assert cat.declared == ("kl6x",)
    assert cat.resolve("KL6X") == "kl6x"
    assert cat.convert("kl6x", 1.2, "kU/L") == ("kl6x", pytest.approx(1200.0), "U/mL")  # the plan's factor
    assert cat.convert("kl6x", 800, "u/ml") == ("kl6x", 800.0, "U/mL")
    assert "kl6x" in cat.codes() and "kl6x" not in BUILTIN_VARIABLES.codes()
    with pytest.raises(UnknownUnitError, match=r"'mg/L' is not accepted for kl6x"):
        cat.convert("kl6x", 1, "mg/L")


def test_canonical_unit_is_accepted_even_when_not_listed():
    cat = BUILTIN_VARIABLES.with_declared([_kl6x()], {})
    assert cat.accepted_units("kl6x") == ("u/ml",)


@pytest.mark.parametrize(
    ("var", "units", "message"),
    [
        (MeasurementVariable("crp", "CRP", "mg/L", 0, 10), {}, "already a built-in variable"),
        (MeasurementVariable("fvc_percent_predicted", "x", "%", 0, 10), {}, "built-in spelling of fvc_pct_pred"),
        (MeasurementVariable("dlco", "x", "mmol/min/kPa", 0, 10), {}, "built-in spelling of dlco_pct_pred"),
        (MeasurementVariable("KL 6", "x", "U/mL", 0, 10), {}, "must be lower case letters"),
        (MeasurementVariable("kl6x", "x", "U/mL", 10, 10), {}, r"range \[10, 10\] must be two numbers, low < high"),
        (MeasurementVariable("kl6x", "x", "U/mL", 0, 10), {"kl6x": {"kU/L": 0}}, "must be a positive number"),
        (MeasurementVariable("kl6x", "x", "U/mL", 0, 10), {"kl6x": {"U/mL": 2}}, "is the canonical unit"),
    ],
)
def test_bad_declarations_are_refused(var, units, message):
    with pytest.raises(UnknownUnitError, match=message):
        BUILTIN_VARIABLES.with_declared([var], units)


def test_every_bad_declaration_is_reported_at_once():
    with pytest.raises(UnknownUnitError) as info:
        BUILTIN_VARIABLES.with_declared(
            [MeasurementVariable("crp", "CRP", "mg/L", 0, 10), _kl6x(), _kl6x()], {}
        )
    assert "variables[crp]" in str(info.value) and "variables[kl6x]: declared twice" in str(info.value)


def test_docs_table_states_each_variables_better_direction_and_panel():
    """docs/data.md's catalogue table shows the code's better direction and panel (issue 11 item 3)."""
    from pathlib import Path

    from ipafstudy.rules.units import MEASUREMENT_VARIABLES

    text = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    rows = {cells[1].strip(): cells for line in text.splitlines() if line.startswith("| ")
            for cells in [line.split("|")] if len(cells) == 8}
    for code, var in MEASUREMENT_VARIABLES.items():
        assert rows[code][5].strip() == (var.better or "(must be stated)"), code
        assert rows[code][6].strip() == (var.panel or "(own)"), code
    # the reference study's visit is one panel; lung function another; no variable improves both ways
    assert {c for c, v in MEASUREMENT_VARIABLES.items() if v.panel == "clinic_visit"} == {
        "mmrc", "esr", "crp", "methylprednisolone_dose"}
    assert {c for c, v in MEASUREMENT_VARIABLES.items() if v.better is None} == {
        "magnesium", "tacrolimus_trough", "neutrophils", "glucose"}
