"""Table 1 variables: what a plan's ``table1`` row may name, and each one's default label, section, kind and levels.

Pure Python (the plan imports it and must not pull in pandas). The kind of a row (continuous, 0/1, categorical)
comes from here, never from the values: a 0/1 guess from the data would turn an mMRC baseline that happens to hold
only 0 and 1 into a yes/no row. A row may override the kind, label, section and levels in the plan.

What a row may name:

* a patient column of the analysis dataset listed in ``PATIENT_VARIABLES`` (demographics, IPAF items, antibody
  group, antifibrotics, trough median);
* ``concomitant_<code>`` for a drug of the plan's ``concomitant`` list (0/1);
* ``<variable>_baseline`` for an outcome of the plan or any measurement variable of the catalogue (built-in or
  declared in the plan's ``variables``); a variable that is not an outcome gets its baseline by the same rule as
  the outcomes (cohort.timepoints.choose_baseline).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["continuous", "binary", "categorical"]


@dataclass(frozen=True)
class Table1Variable:
    """Defaults of one Table 1 variable; ``levels`` (code, label) are always shown, in this order, even at 0."""

    column: str
    label: str
    section: str
    kind: Kind
    levels: tuple[tuple[str, str], ...] = ()
    #: True when the plan lists the levels: only they are shown (else other levels found follow, sorted).
    levels_only: bool = False

    def level_label(self, level: str) -> str:
        """A level's label: the catalogue's, else '<variable label>: <level>'."""
        return dict(self.levels).get(level, f"{self.label}: {level}")


CLINICAL_ITEMS: tuple[tuple[str, str], ...] = (
    ("mechanics_hands", "Distal digital fissuring (mechanic's hands)"),
    ("digital_tip_ulceration", "Distal digital tip ulceration"),
    ("inflammatory_arthritis", "Inflammatory arthritis or polyarticular morning joint stiffness ≥60 min"),
    ("palmar_telangiectasia", "Palmar telangiectasia"),
    ("raynaud", "Raynaud's phenomenon"),
    ("digital_oedema", "Unexplained digital oedema"),
    ("gottron_sign", "Unexplained fixed rash on the digital extensor surfaces (Gottron's sign)"),
)
SEROLOGIC_ITEMS: tuple[tuple[str, str], ...] = (
    ("ana", "ANA ≥1:320 (diffuse, speckled, homogeneous) or nucleolar/centromere pattern (any titre)"),
    ("rf", "Rheumatoid factor ≥2× upper limit of normal"),
    ("anti_ccp", "Anti-CCP"),
    ("anti_dsdna", "Anti-dsDNA"),
    ("anti_ro", "Anti-Ro (SS-A)"),
    ("anti_la", "Anti-La (SS-B)"),
    ("anti_rnp", "Anti-ribonucleoprotein (RNP)"),
    ("anti_smith", "Anti-Smith"),
    ("anti_scl70", "Anti-topoisomerase (Scl-70)"),
    ("anti_trna_synthetase", "Anti-tRNA synthetase (Jo-1, PL-7, PL-12, EJ, OJ, KS, Zo, YRS)"),
    ("anti_pm_scl", "Anti-PM-Scl"),
    ("anti_mda5", "Anti-MDA-5"),
)
HRCT_PATTERN_LEVELS: tuple[tuple[str, str], ...] = (
    ("nsip", "NSIP"),
    ("op", "OP"),
    ("nsip_op", "NSIP with OP overlap"),
    ("lip", "LIP"),
    ("uip", "UIP"),
    ("other", "Other/indeterminate"),
)
MORPHOLOGIC_ITEMS: tuple[tuple[str, str], ...] = (
    ("hrct_pattern", "Suggestive HRCT pattern (NSIP, OP, NSIP with OP overlap or LIP)"),
    ("biopsy_pattern", "Suggestive histopathology on surgical lung biopsy"),
    ("pleural_involvement", "Unexplained pleural effusion or thickening"),
    ("pericardial_involvement", "Unexplained pericardial effusion or thickening"),
    ("airways_disease", "Unexplained intrinsic airways disease"),
    ("pulmonary_vasculopathy", "Unexplained pulmonary vasculopathy"),
)
DOMAIN_COMBINATIONS: tuple[tuple[str, str], ...] = (
    ("clinical + serologic", "Clinical and serologic"),
    ("clinical + morphologic", "Clinical and morphologic"),
    ("serologic + morphologic", "Serologic and morphologic"),
    ("all three", "All three"),
)
ANTIBODY_GROUP_LEVELS: tuple[tuple[str, str], ...] = (
    ("MSA", "Myositis-specific antibody (MSA) group"),
    ("MAA", "Myositis-associated antibody (MAA) group"),
    ("neither", "Neither an MSA nor an MAA"),
)

_DEMO = "Demographics"
_CLIN = "Clinical domain"
_SERO = "Serologic domain"
_MORPH = "Morphologic domain"
_DOMAINS = "Diagnostic domains met"
_ANTIBODY = "Antibody groups"
CONCOMITANT_SECTION = "Concomitant drugs at start"
BASELINE_SECTION = "Baseline values"
#: The study drug's place in catalogue labels (templates), filled with the plan's drug label when printed.
DRUG_WORD = "{drug}"


def _v(column: str, label: str, section: str, kind: Kind = "binary",
       levels: tuple[tuple[str, str], ...] = ()) -> tuple[str, Table1Variable]:
    return column, Table1Variable(column, label, section, kind, levels)


PATIENT_VARIABLES: dict[str, Table1Variable] = dict((
    _v("age_at_start", "Age at {drug} start, years", _DEMO, "continuous"),
    _v("sex", "Sex", _DEMO, "categorical", (("male", "Male"), ("female", "Female"))),
    _v("sex_male", "Male", _DEMO),
    _v("smoking", "Smoking", _DEMO, "categorical",
       (("never", "Never smoker"), ("former", "Former smoker"), ("current", "Current smoker"))),
    _v("ever_smoker", "Smoking history (ever)", _DEMO),
    _v("site", "Site", _DEMO, "categorical"),
    *(_v(f"clinical_{c}", label, _CLIN) for c, label in CLINICAL_ITEMS),
    *(_v(f"serologic_{c}", label, _SERO) for c, label in SEROLOGIC_ITEMS),
    _v("hrct_pattern", "HRCT pattern", _MORPH, "categorical",
       tuple((c, f"HRCT pattern: {label}") for c, label in HRCT_PATTERN_LEVELS)),
    *(_v(f"morphologic_{c}", label, _MORPH) for c, label in MORPHOLOGIC_ITEMS),
    _v("domain_clinical", "Clinical domain met", _DOMAINS),
    _v("domain_serologic", "Serologic domain met", _DOMAINS),
    _v("domain_morphologic", "Morphologic domain met", _DOMAINS),
    _v("domain_combination", "Diagnostic domains met", _DOMAINS, "categorical", DOMAIN_COMBINATIONS),
    _v("antibody_group", "Antibody group", _ANTIBODY, "categorical", ANTIBODY_GROUP_LEVELS),
    _v("antibody_both", "Both an MSA and an MAA", _ANTIBODY),
    _v("pirfenidone", "Pirfenidone", "Concomitant antifibrotics"),
    _v("nintedanib", "Nintedanib", "Concomitant antifibrotics"),
    _v("tacrolimus_trough_median", "Tacrolimus trough (patient median), ng/mL", "Tacrolimus", "continuous"),
))

#: The reference study's Table 1, in order: a bare name takes every default, a mapping overrides some.
DEFAULT_TABLE1: tuple[str | dict[str, object], ...] = (
    "age_at_start", "sex", "ever_smoker",
    *(f"clinical_{c}" for c, _ in CLINICAL_ITEMS),
    *(f"serologic_{c}" for c, _ in SEROLOGIC_ITEMS),
    "hrct_pattern",
    *(f"morphologic_{c}" for c, _ in MORPHOLOGIC_ITEMS),
    "domain_combination",
    {"variable": "antibody_group", "levels": ["MSA", "MAA"]},
    "antibody_both", "pirfenidone", "nintedanib", "tacrolimus_trough_median",
)


def _with_unit(label: str, unit: str | None) -> str:
    """'ESR, mm/h'; a label that already says its unit ('FVC, % predicted') keeps it once."""
    return f"{label}, {unit}" if unit and unit not in label else label


def table1_variable(
    column: str,
    *,
    concomitant: Mapping[str, str],
    outcomes: Mapping[str, tuple[str, str | None]],
    measurements: Mapping[str, tuple[str, str | None]],
) -> Table1Variable | None:
    """Defaults for a Table 1 column, or None when no such variable exists.

    ``concomitant``: code -> label; ``outcomes`` and ``measurements``: code -> (label, unit). An outcome's
    own label (from the plan) wins over the catalogue's.
    """
    if column in PATIENT_VARIABLES:
        return PATIENT_VARIABLES[column]
    if column.startswith("concomitant_") and column.removeprefix("concomitant_") in concomitant:
        return Table1Variable(column, concomitant[column.removeprefix("concomitant_")], CONCOMITANT_SECTION, "binary")
    if column.endswith("_baseline"):
        code = column.removesuffix("_baseline")
        found = outcomes.get(code) or measurements.get(code)
        if found is not None:
            return Table1Variable(column, _with_unit(*found), BASELINE_SECTION, "continuous")
    return None


def table1_choices(
    *, concomitant: Mapping[str, str], outcomes: Mapping[str, object], measurements: Mapping[str, object]
) -> list[str]:
    """Every name a Table 1 row may use (for messages and suggestions)."""
    return [*PATIENT_VARIABLES, *(f"concomitant_{c}" for c in concomitant),
            *(f"{c}_baseline" for c in dict.fromkeys([*outcomes, *measurements]))]


def unknown_row_message(column: str, choices: list[str]) -> str:
    """Why a row is refused, with the closest names, so a typo is fixed at once."""
    close = difflib.get_close_matches(column, choices, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return (f"{column!r} is not a Table 1 variable (a patient column such as age_at_start or sex, "
            f"concomitant_<code> of a plan concomitant drug, or <variable>_baseline){hint}")
