"""Unit conversions (clinical-rules.md s.6), each factor worked by hand from the spec's equivalences."""

from __future__ import annotations

import pytest

from ipafstudy.rules.units import (
    MEASUREMENT_VARIABLES,
    STEROID_EQUIVALENT_MPRED,
    UnknownUnitError,
    accepted_units,
    convert_measurement,
    measurement_variable_codes,
    normalise_unit,
)


@pytest.mark.parametrize(
    ("variable", "value", "unit", "expected_var", "expected_value", "expected_unit"),
    [
        ("crp", 1.5, "mg/dL", "crp", 15.0, "mg/L"),  # 1 mg/dL = 10 mg/L
        ("crp", 15.0, "mg/L", "crp", 15.0, "mg/L"),
        ("esr", 40, "mm/hr", "esr", 40.0, "mm/h"),
        ("magnesium", 2.43, "mg/dL", "magnesium", 1.0, "mmol/L"),  # 1 mmol/L = 2.43 mg/dL
        ("magnesium", 1.4, "mEq/L", "magnesium", 0.7, "mmol/L"),  # 1 mmol/L = 2 mEq/L
        ("magnesium", 0.65, "mmol/L", "magnesium", 0.65, "mmol/L"),
        ("creatinine", 1.0, "mg/dL", "creatinine", 88.4, "umol/L"),  # 1 mg/dL = 88.4 umol/L
        ("creatinine", 0.5, "mg/dl", "creatinine", 44.2, "umol/L"),
        ("creatinine", 70, "µmol/L", "creatinine", 70.0, "umol/L"),
        ("tacrolimus_trough", 6.5, "ug/L", "tacrolimus_trough", 6.5, "ng/mL"),  # ng/mL = ug/L
        ("mmrc", 3, "mrc", "mmrc", 2.0, "mmrc"),  # MRC 1-5 = mMRC + 1
        ("mmrc", 1, "MRC", "mmrc", 0.0, "mmrc"),
        ("mmrc", 4, "mmrc", "mmrc", 4.0, "mmrc"),
        ("methylprednisolone_dose", 8, "mg/d", "methylprednisolone_dose", 8.0, "mg/day"),
        # 4 mg MPRED = 5 mg prednisone = 20 mg hydrocortisone = 0.75 mg dexamethasone
        ("prednisone_dose", 5, "mg/day", "methylprednisolone_dose", 4.0, "mg/day"),
        ("prednisolone_dose", 10, "mg/day", "methylprednisolone_dose", 8.0, "mg/day"),
        ("hydrocortisone_dose", 20, "mg/day", "methylprednisolone_dose", 4.0, "mg/day"),
        ("dexamethasone_dose", 0.75, "mg/day", "methylprednisolone_dose", 4.0, "mg/day"),
        ("dexamethasone_dose", 1.5, "mg/d", "methylprednisolone_dose", 8.0, "mg/day"),
    ],
)
def test_conversions(variable, value, unit, expected_var, expected_value, expected_unit):
    var, converted, canonical_unit = convert_measurement(variable, value, unit)
    assert var == expected_var
    assert converted == pytest.approx(expected_value, rel=1e-12)
    assert canonical_unit == expected_unit


def test_zero_converts_to_zero():
    assert convert_measurement("crp", 0, "mg/dL")[1] == 0.0


@pytest.mark.parametrize("unit", ["mg/dL", " MG/DL ", "mg / dl", "mg per dL"])
def test_unit_spelling_is_case_and_space_insensitive(unit):
    assert normalise_unit(unit) == "mg/dl"
    assert convert_measurement("crp", 2, unit)[1] == pytest.approx(20.0)


def test_variable_name_is_case_insensitive():
    assert convert_measurement(" CRP ", 2, "mg/L")[0] == "crp"


def test_unknown_unit_names_unit_variable_and_accepted_units():
    with pytest.raises(UnknownUnitError, match=r"'g/L'.*crp.*mg/dl"):
        convert_measurement("crp", 2, "g/L")


def test_unknown_unit_for_other_steroid():
    with pytest.raises(UnknownUnitError, match="prednisone_dose"):
        convert_measurement("prednisone_dose", 5, "mg/kg")


def test_unknown_variable_lists_known_variables():
    with pytest.raises(UnknownUnitError, match=r"'ldh'.*crp"):
        convert_measurement("ldh", 200, "U/L")


def test_unknown_unit_error_is_a_value_error():
    assert issubclass(UnknownUnitError, ValueError)


def test_accepted_units():
    assert accepted_units("magnesium") == ("meq/l", "mg/dl", "mmol/l")
    assert accepted_units("prednisone_dose") == accepted_units("methylprednisolone_dose")
    assert accepted_units("unknown_thing") == ()


def test_every_variable_has_its_canonical_unit_accepted_with_factor_one():
    for code, var in MEASUREMENT_VARIABLES.items():
        assert normalise_unit(var.canonical_unit) in accepted_units(code)
        assert convert_measurement(code, 3.0, var.canonical_unit)[1] == 3.0


def test_steroid_factors_match_spec_equivalences():
    # the dose of each steroid equivalent to 4 mg methylprednisolone, from the spec
    equivalent_dose = {"prednisone_dose": 5, "prednisolone_dose": 5, "hydrocortisone_dose": 20,
                       "dexamethasone_dose": 0.75, "methylprednisolone_dose": 4}
    for name, dose in equivalent_dose.items():
        assert dose * STEROID_EQUIVALENT_MPRED[name] == pytest.approx(4.0)


def test_plausible_ranges_from_spec():
    assert MEASUREMENT_VARIABLES["crp"].maximum == 1000  # CRP above 1000 mg/L is impossible
    assert MEASUREMENT_VARIABLES["esr"].minimum == 0
    assert (MEASUREMENT_VARIABLES["mmrc"].minimum, MEASUREMENT_VARIABLES["mmrc"].maximum) == (0, 4)
    assert MEASUREMENT_VARIABLES["mmrc"].integer


def test_measurement_variable_codes_lists_measurements_and_steroids_once_sorted():
    codes = measurement_variable_codes()
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    assert {"crp", "esr", "mmrc", "methylprednisolone_dose", "prednisone_dose", "dexamethasone_dose"} <= set(codes)
    assert set(codes) == set(MEASUREMENT_VARIABLES) | set(STEROID_EQUIVALENT_MPRED)
    with pytest.raises(UnknownUnitError, match="use one of") as info:
        convert_measurement("ldh", 200.0, "U/L")
    assert str(codes) in str(info.value)


@pytest.mark.parametrize("unit", ["\u00b5mol/L", "\u03bcmol/L", "umol/L", "UMOL/L"])
def test_micro_sign_and_greek_mu_both_mean_micro(unit):
    # U+00B5 (micro sign) and U+03BC (Greek mu) look the same in a spreadsheet; both are umol/L
    assert convert_measurement("creatinine", 88.4, unit) == ("creatinine", 88.4, "umol/L")
    assert normalise_unit(unit) in accepted_units("creatinine")
