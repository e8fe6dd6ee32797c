"""Measurement variables, their canonical units and unit conversions (clinical-rules.md s.6).

Pure domain knowledge: the data layer calls ``convert_measurement`` on every row it loads and
keeps the original value and unit beside the converted one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipafstudy.errors import IpafstudyError


class UnknownUnitError(IpafstudyError, ValueError):
    """A unit (or variable) that the conversion table does not know."""


@dataclass(frozen=True)
class MeasurementVariable:
    """A measurement: canonical unit, plausible range in that unit, and accepted units."""

    code: str
    label: str
    canonical_unit: str
    minimum: float
    maximum: float
    integer: bool = False


MEASUREMENT_VARIABLES: dict[str, MeasurementVariable] = {
    v.code: v
    for v in (
        MeasurementVariable("mmrc", "mMRC dyspnoea grade", "mmrc", 0, 4, integer=True),
        MeasurementVariable("esr", "ESR", "mm/h", 0, 200),
        MeasurementVariable("crp", "CRP", "mg/L", 0, 1000),
        MeasurementVariable("methylprednisolone_dose", "Methylprednisolone dose", "mg/day", 0, 2000),
        MeasurementVariable("magnesium", "Serum magnesium", "mmol/L", 0, 5),
        MeasurementVariable("tacrolimus_trough", "Tacrolimus trough level", "ng/mL", 0, 100),
        MeasurementVariable("creatinine", "Serum creatinine", "umol/L", 0, 3000),
    )
}

# factor: canonical = value * factor (+ offset), per (variable, normalised unit).
_UNIT_FACTORS: dict[str, dict[str, tuple[float, float]]] = {
    "mmrc": {"mmrc": (1.0, 0.0), "mrc": (1.0, -1.0)},  # original MRC 1-5 = mMRC + 1
    "esr": {"mm/h": (1.0, 0.0), "mm/hr": (1.0, 0.0)},
    "crp": {"mg/l": (1.0, 0.0), "mg/dl": (10.0, 0.0)},
    "methylprednisolone_dose": {"mg/day": (1.0, 0.0), "mg/d": (1.0, 0.0)},
    "magnesium": {"mmol/l": (1.0, 0.0), "mg/dl": (1 / 2.43, 0.0), "meq/l": (0.5, 0.0)},
    "tacrolimus_trough": {"ng/ml": (1.0, 0.0), "ug/l": (1.0, 0.0), "µg/l": (1.0, 0.0)},
    "creatinine": {"umol/l": (1.0, 0.0), "µmol/l": (1.0, 0.0), "mg/dl": (88.4, 0.0)},
}

# Other glucocorticoids, expressed as methylprednisolone-equivalent mg/day:
# 4 mg MPRED = 5 mg prednisone/prednisolone = 20 mg hydrocortisone = 0.75 mg dexamethasone.
STEROID_EQUIVALENT_MPRED: dict[str, float] = {
    "methylprednisolone_dose": 1.0,
    "prednisone_dose": 4 / 5,
    "prednisolone_dose": 4 / 5,
    "hydrocortisone_dose": 4 / 20,
    "dexamethasone_dose": 4 / 0.75,
}


_MICRO = str.maketrans({"\u00b5": "u", "\u03bc": "u"})  # micro sign and Greek mu: both are written for "micro"


def normalise_unit(unit: str) -> str:
    """Case- and space-insensitive unit key ('mg/dL ' -> 'mg/dl', 'mm/hr' kept, 'µmol/L' and 'μmol/L' -> 'umol/l')."""
    return "".join(str(unit).split()).lower().replace("per", "/").translate(_MICRO)


def convert_measurement(variable: str, value: float, unit: str) -> tuple[str, float, str]:
    """Return (canonical variable, value in canonical unit, canonical unit).

    Raises UnknownUnitError naming the variable, unit and the units that are accepted.
    """
    var = str(variable).strip().lower()
    key = normalise_unit(unit)
    if var in STEROID_EQUIVALENT_MPRED and var != "methylprednisolone_dose":
        if key not in _UNIT_FACTORS["methylprednisolone_dose"]:
            raise UnknownUnitError(
                f"unit {unit!r} is not accepted for {var}; use one of "
                f"{sorted(_UNIT_FACTORS['methylprednisolone_dose'])}"
            )
        return "methylprednisolone_dose", float(value) * STEROID_EQUIVALENT_MPRED[var], "mg/day"
    if var not in MEASUREMENT_VARIABLES:
        known = measurement_variable_codes()
        raise UnknownUnitError(f"unknown measurement variable {variable!r}; known variables are {known}")
    factors = _UNIT_FACTORS[var]
    if key not in factors:
        raise UnknownUnitError(f"unit {unit!r} is not accepted for {var}; use one of {sorted(factors)}")
    factor, offset = factors[key]
    return var, float(value) * factor + offset, MEASUREMENT_VARIABLES[var].canonical_unit


def measurement_variable_codes() -> list[str]:
    """Every accepted measurement variable code, sorted (steroids are converted to methylprednisolone)."""
    return sorted(set(MEASUREMENT_VARIABLES) | set(STEROID_EQUIVALENT_MPRED))


def accepted_units(variable: str) -> tuple[str, ...]:
    var = str(variable).strip().lower()
    if var in STEROID_EQUIVALENT_MPRED:
        var = "methylprednisolone_dose"
    return tuple(sorted(_UNIT_FACTORS.get(var, {})))
