"""Measurement variables, their canonical units and unit conversions (clinical-rules.md s.6).

Pure domain knowledge: the data layer calls ``convert_measurement`` on every row it loads and
keeps the original value and unit beside the converted one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ipafstudy.errors import IpafstudyError

Better = Literal["lower", "higher"]
"""Which direction of change is an improvement (a plan outcome's ``better``)."""


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
    #: Which direction of change is an improvement when the variable is an outcome; None: neither direction is
    #: better in general (a trough level, magnesium), so a plan using it as an outcome must say.
    better: Better | None = None
    #: Measures taken together at one visit or test session: ``follow_up_rule=latest_complete_visit`` looks for
    #: the latest date at which every outcome of the same panel was recorded. "" = a panel of its own.
    panel: str = ""
    #: Decimals printed for its summaries in tables and texts (None: the journal style's default, 1).
    decimals: int | None = None

    @property
    def visit_panel(self) -> str:
        return self.panel or self.code


#: Panel of the reference study's clinic-visit measures (one complete visit; clinical-rules.md s.5).
CLINIC_VISIT: Final = "clinic_visit"
#: Panel of one pulmonary function test session.
LUNG_FUNCTION: Final = "lung_function"

MEASUREMENT_VARIABLES: dict[str, MeasurementVariable] = {
    v.code: v
    for v in (
        MeasurementVariable("mmrc", "mMRC dyspnoea grade", "mmrc", 0, 4, integer=True, better="lower",
                            panel=CLINIC_VISIT),
        MeasurementVariable("esr", "ESR", "mm/h", 0, 200, better="lower", panel=CLINIC_VISIT),
        MeasurementVariable("crp", "CRP", "mg/L", 0, 1000, better="lower", panel=CLINIC_VISIT, decimals=2),
        MeasurementVariable("methylprednisolone_dose", "Methylprednisolone dose", "mg/day", 0, 2000, better="lower",
                            panel=CLINIC_VISIT),
        MeasurementVariable("magnesium", "Serum magnesium", "mmol/L", 0, 5),
        MeasurementVariable("tacrolimus_trough", "Tacrolimus trough level", "ng/mL", 0, 100, decimals=2),
        MeasurementVariable("creatinine", "Serum creatinine", "umol/L", 0, 3000, better="lower"),
        # Lung function, exercise and laboratory variables of ILD studies (issue 11 item 2). Ranges are
        # generous physiological limits, meant to catch a wrong unit or a typing error, not disease.
        # ``better``: lung volumes, DLCO, walk distance and SpO2 improve upwards; inflammation and injury markers
        # (KL-6, CK, ferritin, ALT, creatinine) downwards. Magnesium, the trough level, neutrophils and glucose have
        # no better direction in general (too low and too high are both harmful): a plan must state it.
        MeasurementVariable("fvc_ml", "FVC, mL", "mL", 100, 8000, better="higher", panel=LUNG_FUNCTION, decimals=0),
        MeasurementVariable("fvc_pct_pred", "FVC, % predicted", "%", 5, 200, better="higher",
                            panel=LUNG_FUNCTION),
        MeasurementVariable("fev1_ml", "FEV1, mL", "mL", 100, 7000, better="higher", panel=LUNG_FUNCTION, decimals=0),
        MeasurementVariable("dlco_pct_pred", "DLCO, % predicted", "%", 5, 200, better="higher",
                            panel=LUNG_FUNCTION),
        MeasurementVariable("tlc_pct_pred", "TLC, % predicted", "%", 10, 200, better="higher",
                            panel=LUNG_FUNCTION),
        MeasurementVariable("six_mwd_m", "6-minute walk distance, m", "m", 0, 1000, better="higher", decimals=0),
        MeasurementVariable("spo2_rest_pct", "SpO2 at rest, %", "%", 50, 100, better="higher"),
        MeasurementVariable("kl6", "KL-6", "U/mL", 0, 50000, better="lower", decimals=0),
        MeasurementVariable("ck", "Creatine kinase", "U/L", 0, 200000, better="lower", decimals=0),
        MeasurementVariable("ferritin", "Ferritin", "ng/mL", 0, 100000, better="lower", decimals=0),
        MeasurementVariable("neutrophils", "Neutrophil count", "10^9/L", 0, 100),
        MeasurementVariable("alt", "ALT", "U/L", 0, 20000, better="lower", decimals=0),
        MeasurementVariable("glucose", "Glucose", "mmol/L", 0, 100),
    )
}

# factor: canonical = value * factor (+ offset), per (variable, normalised unit).
_PERCENT_PREDICTED = {"%": (1.0, 0.0), "%pred": (1.0, 0.0), "%predicted": (1.0, 0.0)}
_UNIT_FACTORS: dict[str, dict[str, tuple[float, float]]] = {
    "mmrc": {"mmrc": (1.0, 0.0), "mrc": (1.0, -1.0)},  # original MRC 1-5 = mMRC + 1
    "esr": {"mm/h": (1.0, 0.0), "mm/hr": (1.0, 0.0)},
    "crp": {"mg/l": (1.0, 0.0), "mg/dl": (10.0, 0.0)},
    "methylprednisolone_dose": {"mg/day": (1.0, 0.0), "mg/d": (1.0, 0.0)},
    "magnesium": {"mmol/l": (1.0, 0.0), "mg/dl": (1 / 2.43, 0.0), "meq/l": (0.5, 0.0)},
    "tacrolimus_trough": {"ng/ml": (1.0, 0.0), "ug/l": (1.0, 0.0), "µg/l": (1.0, 0.0)},
    "creatinine": {"umol/l": (1.0, 0.0), "µmol/l": (1.0, 0.0), "mg/dl": (88.4, 0.0)},
    "fvc_ml": {"ml": (1.0, 0.0), "l": (1000.0, 0.0)},
    "fvc_pct_pred": _PERCENT_PREDICTED,
    "fev1_ml": {"ml": (1.0, 0.0), "l": (1000.0, 0.0)},
    "dlco_pct_pred": _PERCENT_PREDICTED,
    "tlc_pct_pred": _PERCENT_PREDICTED,
    "six_mwd_m": {"m": (1.0, 0.0)},
    "spo2_rest_pct": {"%": (1.0, 0.0)},
    "kl6": {"u/ml": (1.0, 0.0), "ku/l": (1.0, 0.0)},  # 1 kU/L = 1000 U / 1000 mL = 1 U/mL
    "ck": {"u/l": (1.0, 0.0), "iu/l": (1.0, 0.0), "ukat/l": (60.0, 0.0)},  # 1 ukat/L = 60 U/L
    "ferritin": {"ng/ml": (1.0, 0.0), "ug/l": (1.0, 0.0)},  # ng/mL = ug/L
    "neutrophils": {
        "10^9/l": (1.0, 0.0), "x10^9/l": (1.0, 0.0), "10*9/l": (1.0, 0.0), "g/l": (1.0, 0.0),
        "10^3/ul": (1.0, 0.0), "x10^3/ul": (1.0, 0.0),
        "/ul": (0.001, 0.0), "cells/ul": (0.001, 0.0), "/mm3": (0.001, 0.0),  # 1 /uL = 10^6 /L = 0.001 x 10^9/L
    },
    "alt": {"u/l": (1.0, 0.0), "iu/l": (1.0, 0.0), "ukat/l": (60.0, 0.0)},
    "glucose": {"mmol/l": (1.0, 0.0), "mg/dl": (1 / 18.016, 0.0)},  # glucose 180.16 g/mol: 1 mmol/L = 18.016 mg/dL
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


# Other spellings of built-in variables (issue 11: a cohort writing `fvc_percent_predicted` or `dlco` must not fail
# at step one). Keys are variable tokens: lower case, runs of spaces, hyphens, slashes and '+' read as one '_'.
VARIABLE_ALIASES: dict[str, str] = {
    **dict.fromkeys(("fvc_percent_predicted", "fvc_percent_pred", "fvc_pct", "fvc_percent", "fvc_pp",
                     "fvc_predicted"), "fvc_pct_pred"),
    **dict.fromkeys(("dlco_percent_predicted", "dlco_percent_pred", "dlco_pct", "dlco_percent", "dlco_pp",
                     "dlco_predicted"), "dlco_pct_pred"),
    **dict.fromkeys(("tlc_percent_predicted", "tlc_percent_pred", "tlc_pct", "tlc_percent", "tlc_pp"), "tlc_pct_pred"),
    **dict.fromkeys(("six_mwd", "6mwd", "6mwt", "6mwd_m", "six_minute_walk_distance"), "six_mwd_m"),
    **dict.fromkeys(("spo2", "spo2_rest", "spo2_pct"), "spo2_rest_pct"),
    **dict.fromkeys(("kl_6",), "kl6"),
    **dict.fromkeys(("cpk", "creatine_kinase"), "ck"),
    **dict.fromkeys(("anc", "neutrophil_count", "absolute_neutrophil_count"), "neutrophils"),
    **dict.fromkeys(("alat", "sgpt", "gpt"), "alt"),
    **dict.fromkeys(("blood_glucose", "plasma_glucose"), "glucose"),
}
# Spellings whose meaning depends on the unit: FVC in L is a volume, FVC in % is % predicted. A DLCO in an absolute
# unit (mmol/min/kPa, mL/min/mmHg) is not built in and stays an unknown variable (declare it in the plan).
UNIT_DEPENDENT_ALIASES: dict[str, tuple[str, ...]] = {
    "fvc": ("fvc_ml", "fvc_pct_pred"),
    "fev1": ("fev1_ml",),
    "dlco": ("dlco_pct_pred",),
    "tlc": ("tlc_pct_pred",),
}
_TOKEN_SEPARATORS = re.compile(r"[\s\-/+]+")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def variable_token(variable: object) -> str:
    """'FVC % predicted' -> 'fvc_%_predicted', 'KL-6' -> 'kl_6': how codes and aliases are compared."""
    return _TOKEN_SEPARATORS.sub("_", str(variable).strip().lower()).strip("_")


@dataclass(frozen=True)
class VariableCatalogue:
    """The measurement variables a study accepts: the built-in ones plus those declared in the analysis plan.

    ``factors`` maps each code to {normalised unit: (factor, offset)} with canonical = value * factor + offset.
    """

    variables: Mapping[str, MeasurementVariable]
    factors: Mapping[str, Mapping[str, tuple[float, float]]]
    declared: tuple[str, ...] = ()

    def resolve(self, variable: object, unit: object = None) -> str | None:
        """The catalogue code a written variable name stands for (steroids keep their own code), or None."""
        token = variable_token(variable)
        if token in self.variables or token in STEROID_EQUIVALENT_MPRED:
            return token
        if token in VARIABLE_ALIASES:
            return VARIABLE_ALIASES[token]
        if token in UNIT_DEPENDENT_ALIASES and unit is not None:
            key = normalise_unit(str(unit))
            for code in UNIT_DEPENDENT_ALIASES[token]:
                if key in self.factors[code]:
                    return code
        return None

    def codes(self) -> list[str]:
        """Every accepted code, sorted (aliases are not listed; steroids are converted to methylprednisolone)."""
        return sorted(set(self.variables) | set(STEROID_EQUIVALENT_MPRED))

    def accepted_units(self, variable: object) -> tuple[str, ...]:
        code = self.resolve(variable) or variable_token(variable)
        if code in STEROID_EQUIVALENT_MPRED:
            code = "methylprednisolone_dose"
        return tuple(sorted(self.factors.get(code, {})))

    def visit_panel(self, code: str) -> str:
        """The panel ``code`` is recorded in (complete-visit rule); a code the catalogue lacks is a panel of its own."""
        var = self.variables.get(code)
        return var.visit_panel if var is not None else code

    def spec(self, code: str) -> MeasurementVariable:
        return self.variables["methylprednisolone_dose" if code in STEROID_EQUIVALENT_MPRED else code]

    def convert(self, variable: str, value: float, unit: str) -> tuple[str, float, str]:
        """Return (canonical variable, value in canonical unit, canonical unit); UnknownUnitError otherwise."""
        var = self.resolve(variable, unit)
        key = normalise_unit(unit)
        if var is None:
            raise UnknownUnitError(self.unknown_variable_message(variable, unit))
        if var in STEROID_EQUIVALENT_MPRED and var != "methylprednisolone_dose":
            if key not in self.factors["methylprednisolone_dose"]:
                raise UnknownUnitError(
                    f"unit {unit!r} is not accepted for {var}; use one of "
                    f"{sorted(self.factors['methylprednisolone_dose'])}"
                )
            return "methylprednisolone_dose", float(value) * STEROID_EQUIVALENT_MPRED[var], "mg/day"
        factors = self.factors[var]
        if key not in factors:
            raise UnknownUnitError(f"unit {unit!r} is not accepted for {var}; use one of {sorted(factors)}")
        factor, offset = factors[key]
        return var, float(value) * factor + offset, self.variables[var].canonical_unit

    def unknown_variable_message(self, variable: object, unit: object = None) -> str:
        """Why a variable is refused and how to declare it in the plan (a snippet the user can paste)."""
        token = variable_token(variable)
        if token in UNIT_DEPENDENT_ALIASES:
            options = "; ".join(f"{c} ({', '.join(sorted(self.factors[c]))})" for c in UNIT_DEPENDENT_ALIASES[token])
            lead = (f"{str(variable)!r} in unit {str(unit)!r} is not a built-in measurement: it is read as {options}. "
                    f"Convert it, or declare it under a new code")
            token = f"{token}_{variable_token(normalise_unit(str(unit))).replace('%', 'pct') or 'value'}"
            token = re.sub(r"[^a-z0-9_]", "_", token)
        else:
            lead = (f"{str(variable)!r} is not a known measurement variable; use one of {self.codes()}, "
                    f"or declare it")
        code = token if _CODE.match(token) else "my_variable"
        shown_unit = str(unit).strip() if unit is not None and str(unit).strip() else "UNIT"
        snippet = (f"variables: [{{code: {code}, label: {str(variable).strip()}, unit: {shown_unit}, "
                   f"units: {{{shown_unit}: 1}}, range: [LOW, HIGH], integer: false}}]")
        return f"{lead} in the analysis plan and pass it with --plan: {snippet}"

    def with_declared(self, declared: Iterable[MeasurementVariable], units: Mapping[str, Mapping[str, float]]
                      ) -> VariableCatalogue:
        """A catalogue that also accepts the plan's declared variables; every problem is reported at once.

        ``units`` maps each declared code to {unit as written: factor to the canonical unit}; the canonical unit
        itself is accepted with factor 1 whether listed or not.
        """
        variables = dict(self.variables)
        factors = {code: dict(f) for code, f in self.factors.items()}
        problems: list[str] = []
        names: list[str] = []
        for var in declared:
            where = f"variables[{var.code}]"
            code = var.code
            if not _CODE.match(code):
                problems.append(f"{where}: code {code!r} must be lower case letters, digits and '_' (e.g. kl6_ku)")
                continue
            if code in names:
                problems.append(f"{where}: declared twice")
                continue
            if code in variables or code in STEROID_EQUIVALENT_MPRED:
                problems.append(f"{where}: {code!r} is already a built-in variable; use it as is or pick a new code")
                continue
            if code in VARIABLE_ALIASES or code in UNIT_DEPENDENT_ALIASES:
                target = VARIABLE_ALIASES.get(code) or "/".join(UNIT_DEPENDENT_ALIASES[code])
                problems.append(f"{where}: {code!r} is a built-in spelling of {target}; pick a new code")
                continue
            if var.panel and not _CODE.match(var.panel):
                problems.append(f"{where}: panel {var.panel!r} must be lower case letters, digits and '_' "
                                f"(e.g. {LUNG_FUNCTION})")
            if not (math.isfinite(var.minimum) and math.isfinite(var.maximum) and var.minimum < var.maximum):
                problems.append(f"{where}: range [{var.minimum:g}, {var.maximum:g}] must be two numbers, low < high")
            table: dict[str, tuple[float, float]] = {normalise_unit(var.canonical_unit): (1.0, 0.0)}
            for written, factor in units.get(code, {}).items():
                key = normalise_unit(written)
                number = float(factor)
                if not math.isfinite(number) or number <= 0:
                    problems.append(f"{where}: units.{written}: factor {factor!r} must be a positive number")
                elif key in table and table[key][0] != number:
                    first = "is the canonical unit, whose factor is 1" if table[key][0] == 1.0 else "is listed twice"
                    problems.append(f"{where}: units.{written}: factor {factor!r} conflicts: {written!r} {first}")
                else:
                    table[key] = (number, 0.0)
            names.append(code)
            variables[code] = var
            factors[code] = table
        if problems:
            raise UnknownUnitError("; ".join(problems))
        return VariableCatalogue(variables, factors, (*self.declared, *names))


BUILTIN_VARIABLES = VariableCatalogue(MEASUREMENT_VARIABLES, _UNIT_FACTORS)
"""The built-in catalogue; ``VariableCatalogue.with_declared`` adds a plan's variables."""


def convert_measurement(
    variable: str, value: float, unit: str, catalogue: VariableCatalogue | None = None
) -> tuple[str, float, str]:
    """Return (canonical variable, value in canonical unit, canonical unit).

    Aliases are resolved first (``fvc_percent_predicted`` -> ``fvc_pct_pred``, ``FVC`` in L -> ``fvc_ml``).
    Raises UnknownUnitError naming the variable, unit and the units that are accepted.
    """
    return (catalogue or BUILTIN_VARIABLES).convert(variable, value, unit)


def measurement_variable_codes(catalogue: VariableCatalogue | None = None) -> list[str]:
    """Every accepted measurement variable code, sorted (steroids are converted to methylprednisolone)."""
    return (catalogue or BUILTIN_VARIABLES).codes()


def accepted_units(variable: str, catalogue: VariableCatalogue | None = None) -> tuple[str, ...]:
    return (catalogue or BUILTIN_VARIABLES).accepted_units(variable)
