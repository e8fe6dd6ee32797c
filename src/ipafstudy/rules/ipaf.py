"""IPAF classification (ERS/ATS research statement, Fischer et al. 2015; clinical-rules.md s.1).

Pure and explainable: ``classify_ipaf`` returns, for one patient, every entry requirement,
every domain item and domain as met / not met / unknown, the domain combination, the reason
and (when the answer depends on missing data) the items that would decide it.

Tri-state values are ``True`` / ``False`` / ``None`` (None = unknown). For convenience the
inputs also accept 'yes' / 'no' / 'unknown', NaN and pd.NA (a blank cell), which are read as
True / False / None; anything else is a RuleInputError naming the patient and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ipafstudy.rules.antibodies import ANTI_SYNTHETASE_ANTIBODIES, CANONICAL_ANTIBODIES
from ipafstudy.rules.common import RuleInputError, TriState, as_tristate, is_missing
from ipafstudy.settings import ClinicalSettings

# Value sets; equal to those in data/schema.py (a test checks), repeated because rules sit below data.
ANTIBODY_RESULTS = ("positive", "negative", "borderline")
ANA_PATTERNS = ("homogeneous", "speckled", "diffuse", "nucleolar", "centromere", "other")
HRCT_PATTERNS = ("uip", "nsip", "op", "nsip_op", "lip", "other")
BIOPSY_PATTERNS = (
    "nsip",
    "op",
    "nsip_op",
    "lip",
    "lymphoid_aggregates_germinal_centres",
    "lymphoplasmacytic_infiltration",
    "uip",
    "other",
    "not_done",
)

# Thresholds of the statement ("1:320 or higher", "2 times ULN or more"): inclusive.
ANA_MIN_TITRE = 320
ANA_TITRE_PATTERNS = frozenset({"diffuse", "speckled", "homogeneous"})
ANA_ANY_TITRE_PATTERNS = frozenset({"nucleolar", "centromere"})
RF_ULN_MULTIPLE = 2.0
SUGGESTIVE_HRCT = frozenset({"nsip", "op", "nsip_op", "lip"})
SUGGESTIVE_BIOPSY = frozenset(
    {"nsip", "op", "nsip_op", "lip", "lymphoid_aggregates_germinal_centres", "lymphoplasmacytic_infiltration"}
)

ENTRY_FIELDS = ("interstitial_pneumonia", "alternative_etiology_excluded", "defined_ctd")
CLINICAL_FIELDS = (
    "mechanics_hands",
    "digital_tip_ulceration",
    "inflammatory_arthritis",
    "palmar_telangiectasia",
    "raynaud",
    "digital_oedema",
    "gottron_sign",
)
COMPARTMENT_FIELDS = ("pleural_involvement", "pericardial_involvement", "airways_disease", "pulmonary_vasculopathy")
MORPHOLOGIC_ITEMS = ("hrct_pattern", "biopsy_pattern", *COMPARTMENT_FIELDS)
SEROLOGIC_ITEMS = (
    "ana",
    "rf",
    "anti_ccp",
    "anti_dsdna",
    "anti_ro",
    "anti_la",
    "anti_rnp",
    "anti_smith",
    "anti_scl70",
    "anti_trna_synthetase",
    "anti_pm_scl",
    "anti_mda5",
)
DOMAINS = ("clinical", "serologic", "morphologic")
DOMAIN_ITEMS: dict[str, tuple[str, ...]] = {
    "clinical": CLINICAL_FIELDS,
    "serologic": SEROLOGIC_ITEMS,
    "morphologic": MORPHOLOGIC_ITEMS,
}
# Entry requirement names as reported (the third is phrased so that 'met' means 'no defined CTD').
ENTRY_REQUIREMENTS = ("interstitial_pneumonia", "alternative_etiology_excluded", "no_defined_ctd")


def _whole_titre(name: str, titre: object) -> int:
    """A titre denominator as int (320 for 1:320); 320.0 is accepted, 320.5 or 0 is not."""
    try:
        number = float(titre)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(titre, bool) or not number >= 1 or number != int(number):
        raise RuleInputError(f"{name} titre {titre!r} must be a whole number >= 1 (320 for 1:320)")
    return int(number)


@dataclass(frozen=True)
class AntibodyTest:
    """One autoantibody result, with the canonical name (see rules.antibodies)."""

    name: str
    result: str
    titre: int | None = None
    pattern: str | None = None
    value: float | None = None
    upper_limit_normal: float | None = None

    def __post_init__(self) -> None:
        if self.name not in CANONICAL_ANTIBODIES:
            raise RuleInputError(
                f"antibody name {self.name!r} is not canonical; normalise it with "
                "rules.antibodies.normalise_antibody_name first"
            )
        if self.result not in ANTIBODY_RESULTS:
            raise RuleInputError(
                f"{self.name} result {self.result!r} is not one of {', '.join(ANTIBODY_RESULTS)}"
            )
        for name in ("titre", "pattern", "value", "upper_limit_normal"):
            if is_missing(getattr(self, name)):
                object.__setattr__(self, name, None)
        if self.titre is not None:
            object.__setattr__(self, "titre", _whole_titre(self.name, self.titre))
        if self.pattern is not None and self.pattern not in ANA_PATTERNS:
            raise RuleInputError(
                f"{self.name} pattern {self.pattern!r} is not one of {', '.join(ANA_PATTERNS)}"
            )
        for name in ("value", "upper_limit_normal"):
            val = getattr(self, name)
            if val is not None:
                if float(val) < 0:
                    raise RuleInputError(f"{self.name} {name} {val!r} must not be negative")
                object.__setattr__(self, name, float(val))
        if self.upper_limit_normal == 0.0:
            raise RuleInputError(f"{self.name} upper_limit_normal is 0; a laboratory ULN must be positive")


@dataclass(frozen=True)
class IpafInput:
    """Everything the classifier reads for one patient; field names equal the patients-table columns."""

    patient_id: str
    interstitial_pneumonia: TriState = None
    alternative_etiology_excluded: TriState = None
    defined_ctd: TriState = None
    mechanics_hands: TriState = None
    digital_tip_ulceration: TriState = None
    inflammatory_arthritis: TriState = None
    palmar_telangiectasia: TriState = None
    raynaud: TriState = None
    digital_oedema: TriState = None
    gottron_sign: TriState = None
    hrct_pattern: str | None = None
    biopsy_pattern: str | None = None
    pleural_involvement: TriState = None
    pericardial_involvement: TriState = None
    airways_disease: TriState = None
    pulmonary_vasculopathy: TriState = None
    antibodies: tuple[AntibodyTest, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        owner = f"patient {self.patient_id!r}"
        for name in (*ENTRY_FIELDS, *CLINICAL_FIELDS, *COMPARTMENT_FIELDS):
            object.__setattr__(self, name, as_tristate(getattr(self, name), field=name, owner=owner))
        for name, allowed in (("hrct_pattern", HRCT_PATTERNS), ("biopsy_pattern", BIOPSY_PATTERNS)):
            val = getattr(self, name)
            if is_missing(val) or (isinstance(val, str) and val.strip().lower() in ("", "unknown")):
                object.__setattr__(self, name, None)
            elif val not in allowed:
                raise RuleInputError(f"{name} of {owner}: {val!r} is not one of {', '.join(allowed)}")
        tests = tuple(self.antibodies)
        for test in tests:
            if not isinstance(test, AntibodyTest):
                raise RuleInputError(f"antibodies of {owner}: expected AntibodyTest objects, got {test!r}")
        object.__setattr__(self, "antibodies", tests)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Patient-level fields (the patients-table columns the classifier reads)."""
        return tuple(f.name for f in fields(cls) if f.name != "antibodies")

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], antibodies: Iterable[AntibodyTest] = ()) -> IpafInput:
        """Build from a patients-table row (dict or pandas Series); other columns are ignored.

        A column that is absent from ``row`` is unknown, exactly like a blank cell.
        """
        values = {name: row.get(name) for name in cls.field_names()}
        values["patient_id"] = str(values["patient_id"])
        return cls(**values, antibodies=tuple(antibodies))


@dataclass(frozen=True)
class RuleOutcome:
    """One requirement or item: met (True / False / None = unknown) and a human-readable why."""

    item: str
    met: bool | None
    detail: str


@dataclass(frozen=True)
class DomainOutcome:
    """A domain: met if any item is met, not met if all are not met, otherwise unknown."""

    domain: str
    met: bool | None
    items_met: tuple[str, ...]
    items_unknown: tuple[str, ...]
    items: tuple[RuleOutcome, ...]


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


@dataclass(frozen=True)
class IpafClassification:
    """The classification of one patient, with everything needed to explain it."""

    patient_id: str
    status: str  # "ipaf" | "not_ipaf" | "indeterminate"
    entry: tuple[RuleOutcome, ...]
    domains: dict[str, DomainOutcome]
    combination: str | None
    reason: str
    deciding_items: tuple[str, ...]
    ro52_isolated: bool

    def to_dict(self) -> dict[str, Any]:
        """Nested plain-Python form (JSON-ready)."""
        out = asdict(self)
        out["entry"] = [asdict(r) for r in self.entry]
        out["domains"] = {name: asdict(d) for name, d in self.domains.items()}
        return out

    def to_row(self) -> dict[str, object]:
        """One flat row for the per-patient classification CSV (yes / no / unknown cells)."""
        row: dict[str, object] = {
            "patient_id": self.patient_id,
            "status": self.status,
            "combination": self.combination or "",
            "reason": self.reason,
            "deciding_items": "; ".join(self.deciding_items),
            "ro52_isolated": _yn(self.ro52_isolated),
        }
        for outcome in self.entry:
            row[f"entry_{outcome.item}"] = _yn(outcome.met)
        for name in DOMAINS:
            dom = self.domains[name]
            row[f"domain_{name}"] = _yn(dom.met)
        for name in DOMAINS:
            for outcome in self.domains[name].items:
                row[f"{name}_{outcome.item}"] = _yn(outcome.met)
        return row


def classify_ipaf(inp: IpafInput, settings: ClinicalSettings) -> IpafClassification:
    """Classify one patient (logic follows in the next commit)."""
    raise NotImplementedError(f"classify_ipaf is being written ({len(ANTI_SYNTHETASE_ANTIBODIES)} synthetases)")
