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
from ipafstudy.rules.common import RuleInputError, TriState, as_tristate, float_or_nan
from ipafstudy.settings import ClinicalSettings
from ipafstudy.values import is_missing

# Value sets; data/schema.py imports them from here, so the data model and the rules share one definition.
ANTIBODY_RESULTS = ("positive", "negative", "borderline")
ANA_PATTERNS = ("homogeneous", "speckled", "diffuse", "nucleolar", "centromere", "cytoplasmic", "other")
# International Consensus on ANA Patterns (ICAP; Chan et al., Front Immunol 2015;6:412; Damoiseaux et al.,
# Ann Rheum Dis 2019;78:879-889; https://www.anapatterns.org): anti-cell (AC) code -> the pattern the IPAF
# statement names. Nuclear homogeneous, speckled, nucleolar and centromere codes map to those words; the
# cytoplasmic codes AC-15..AC-23 to 'cytoplasmic'; every other nuclear (dots, envelope, PCNA-, CENP-F-like),
# mitotic (AC-24..AC-28) or composite (AC-29, topo I-like) code to 'other'. AC-0 (negative) is a result,
# not a pattern, and is not accepted here.
ICAP_AC_PATTERNS: dict[str, str] = {
    "AC-1": "homogeneous",  # nuclear homogeneous
    "AC-2": "speckled",  # nuclear dense fine speckled
    "AC-3": "centromere",
    "AC-4": "speckled",  # nuclear fine speckled
    "AC-5": "speckled",  # nuclear large/coarse speckled
    "AC-6": "other",  # multiple nuclear dots
    "AC-7": "other",  # few nuclear dots
    "AC-8": "nucleolar",  # homogeneous nucleolar
    "AC-9": "nucleolar",  # clumpy nucleolar
    "AC-10": "nucleolar",  # punctate nucleolar
    "AC-11": "other",  # smooth nuclear envelope
    "AC-12": "other",  # punctate nuclear envelope
    "AC-13": "other",  # PCNA-like
    "AC-14": "other",  # CENP-F-like
    **{f"AC-{n}": "cytoplasmic" for n in range(15, 24)},  # fibrillar, dots, speckled, reticular/AMA, Golgi, rods
    **{f"AC-{n}": "other" for n in range(24, 30)},  # mitotic (centrosome, spindle, NuMA, bridge, coat), topo I-like
}
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
# A biopsy may show several histologic findings (e.g. NSIP and lymphoid aggregates): one cell lists them
# separated by ';'. The morphologic histology item is met when any finding qualifies.
FINDINGS_SEPARATOR = ";"

# Thresholds of the statement ("1:320 or higher", "2 times ULN or more"): inclusive.
ANA_MIN_TITRE = 320
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


def _whole_titre(name: str, titre: object) -> int:
    """A titre denominator as int (320 for 1:320); 320.0 is accepted, 320.5 or 0 is not."""
    number = float_or_nan(titre)
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


def biopsy_findings(value: str | None) -> tuple[str, ...]:
    """The findings of a biopsy_pattern cell: 'nsip;lymphoid_aggregates_germinal_centres' -> two findings."""
    if value is None:
        return ()
    return tuple(part.strip() for part in str(value).split(FINDINGS_SEPARATOR) if part.strip())


def _biopsy_cell(value: object, owner: str) -> str | None:
    """One canonical biopsy_pattern text (findings joined by ';', first order kept) or None when unknown."""
    if is_missing(value):
        return None
    parts = list(value) if isinstance(value, (list, tuple)) else list(biopsy_findings(str(value)))
    findings = tuple(dict.fromkeys(str(p).strip() for p in parts if str(p).strip().lower() not in ("", "unknown")))
    if not findings:
        return None
    bad = [f for f in findings if f not in BIOPSY_PATTERNS]
    if bad:
        raise RuleInputError(f"biopsy_pattern of {owner}: {bad[0]!r} is not one of {', '.join(BIOPSY_PATTERNS)}")
    if "not_done" in findings and len(findings) > 1:
        raise RuleInputError(f"biopsy_pattern of {owner}: 'not_done' cannot be combined with findings {findings}")
    return FINDINGS_SEPARATOR.join(findings)


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
        hrct = self.hrct_pattern
        if is_missing(hrct) or (isinstance(hrct, str) and hrct.strip().lower() in ("", "unknown")):
            object.__setattr__(self, "hrct_pattern", None)
        elif hrct not in HRCT_PATTERNS:
            raise RuleInputError(f"hrct_pattern of {owner}: {hrct!r} is not one of {', '.join(HRCT_PATTERNS)}")
        object.__setattr__(self, "biopsy_pattern", _biopsy_cell(self.biopsy_pattern, owner))
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



# ---------------------------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------------------------

_FINDING_TEXT = {True: "recorded yes", False: "recorded no", None: "not recorded (unknown)"}


def _finding(item: str, value: bool | None) -> RuleOutcome:
    return RuleOutcome(item, value, _FINDING_TEXT[value])


def _titre_text(titre: int | None) -> str:
    return "titre not recorded" if titre is None else f"1:{titre}"


def _ana_test(test: AntibodyTest) -> tuple[bool | None, str]:
    """One ANA test against item 1 (any-titre patterns first, then titre >= 1:320 for the others)."""
    if test.result != "positive":
        return False, f"ANA {test.result}"
    pattern, titre = test.pattern, test.titre
    shown = f"ANA {_titre_text(titre)} {pattern or 'pattern not recorded'}"
    if pattern in ANA_ANY_TITRE_PATTERNS:
        return True, f"{shown} ({pattern} pattern counts at any titre)"
    if pattern == "cytoplasmic":
        return False, f"{shown} (a cytoplasmic pattern is not one of the nuclear patterns the ANA item names)"
    if pattern == "other":
        return False, f"{shown} (pattern not diffuse, speckled, homogeneous, nucleolar or centromere)"
    if titre is None:
        return None, f"{shown} (titre needed)"
    if titre < ANA_MIN_TITRE:
        if pattern is None:
            return None, f"{shown} (below 1:{ANA_MIN_TITRE}; would count only if nucleolar or centromere)"
        return False, f"{shown} (below 1:{ANA_MIN_TITRE})"
    if pattern is None:
        return None, f"{shown} (>= 1:{ANA_MIN_TITRE} but pattern needed)"
    return True, f"{shown} (>= 1:{ANA_MIN_TITRE} with a {pattern} pattern)"


def _rf_test(test: AntibodyTest) -> tuple[bool | None, str]:
    """One RF test: value >= 2 x ULN when both are known; a negative/borderline result is below 2 x ULN."""
    if test.value is not None and test.upper_limit_normal is not None:
        ratio = test.value / test.upper_limit_normal
        met = test.value >= RF_ULN_MULTIPLE * test.upper_limit_normal
        sign = ">=" if met else "<"
        return met, (
            f"RF {test.value:g} {sign} {RF_ULN_MULTIPLE:g} x ULN {test.upper_limit_normal:g} ({ratio:.2f} x ULN)"
        )
    if test.result != "positive":
        return False, f"RF {test.result} (below the ULN, so below {RF_ULN_MULTIPLE:g} x ULN)"
    missing = "value" if test.value is None else "ULN"
    return None, f"RF positive but {missing} not recorded (needed for >= {RF_ULN_MULTIPLE:g} x ULN)"


def _combine_tests(item: str, verdicts: list[tuple[bool | None, str]], untested: str) -> RuleOutcome:
    """Any test meeting the item wins; else any undecidable test leaves it unknown; else not met."""
    if not verdicts:
        return RuleOutcome(item, None, untested)
    for wanted in (True, None):
        hits = [detail for met, detail in verdicts if met is wanted]
        if hits:
            return RuleOutcome(item, wanted, "; ".join(hits))
    return RuleOutcome(item, False, "; ".join(detail for _, detail in verdicts))


def _antibody_item(item: str, label: str, members: frozenset[str], tests: tuple[AntibodyTest, ...],
                   note: str = "") -> RuleOutcome:
    """A qualitative item met by a positive result for any member antibody.

    Not met when at least one member was tested and none was positive (members never tested are
    listed in the detail); unknown when no member was tested.
    """
    mine = [t for t in tests if t.name in members]
    positive = sorted({t.name for t in mine if t.result == "positive"})
    suffix = f"; {note}" if note else ""
    if positive:
        return RuleOutcome(item, True, f"{label} positive ({', '.join(positive)}){suffix}")
    if not mine:
        return RuleOutcome(item, None, f"{label} not tested{suffix}")
    results = sorted({f"{t.name} {t.result}" for t in mine})
    untested = sorted(members - {t.name for t in mine})
    detail = ", ".join(results)
    if any(t.result == "borderline" for t in mine):
        detail += " (borderline is not positive)"
    if untested and len(members) > 1:
        detail += f"; not tested: {', '.join(untested)}"
    return RuleOutcome(item, False, detail + suffix)


_SIMPLE_SEROLOGY: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("anti_ccp", "anti-CCP", frozenset({"CCP"})),
    ("anti_dsdna", "anti-dsDNA", frozenset({"dsDNA"})),
    ("anti_la", "anti-La (SS-B)", frozenset({"La"})),
    ("anti_rnp", "anti-RNP", frozenset({"RNP"})),
    ("anti_smith", "anti-Smith", frozenset({"Sm"})),
    ("anti_scl70", "anti-Scl-70", frozenset({"Scl-70"})),
    ("anti_trna_synthetase", "anti-tRNA synthetase", ANTI_SYNTHETASE_ANTIBODIES),
    ("anti_pm_scl", "anti-PM-Scl", frozenset({"PM-Scl"})),
    ("anti_mda5", "anti-MDA-5", frozenset({"MDA-5"})),
)


def _serologic_items(tests: tuple[AntibodyTest, ...], settings: ClinicalSettings) -> list[RuleOutcome]:
    ana = _combine_tests("ana", [_ana_test(t) for t in tests if t.name == "ANA"], "ANA not tested")
    rf = _combine_tests("rf", [_rf_test(t) for t in tests if t.name == "RF"], "RF not tested")
    ro_members = frozenset({"Ro60", "SSA"} | ({"Ro52"} if settings.ro52_alone_counts_as_ssa else set()))
    ro_note = "Ro52 counts (ro52_alone_counts_as_ssa=True)" if settings.ro52_alone_counts_as_ssa else ""
    ro = _antibody_item("anti_ro", "anti-Ro (SS-A)", ro_members, tests, ro_note)
    simple = {item: _antibody_item(item, label, members, tests) for item, label, members in _SIMPLE_SEROLOGY}
    by_item = {"ana": ana, "rf": rf, "anti_ro": ro, **simple}
    return [by_item[name] for name in SEROLOGIC_ITEMS]


def _morphologic_items(inp: IpafInput) -> list[RuleOutcome]:
    hrct = inp.hrct_pattern
    if hrct is None:
        hrct_item = RuleOutcome("hrct_pattern", None, "HRCT pattern not recorded")
    elif hrct in SUGGESTIVE_HRCT:
        hrct_item = RuleOutcome("hrct_pattern", True, f"HRCT {hrct.upper()} pattern is suggestive")
    elif hrct == "uip":
        hrct_item = RuleOutcome(
            "hrct_pattern", False, "HRCT UIP pattern does not satisfy item 1 (other items and domains still count)"
        )
    else:
        hrct_item = RuleOutcome("hrct_pattern", False, f"HRCT pattern {hrct!r} is not NSIP, OP, NSIP+OP or LIP")
    findings = biopsy_findings(inp.biopsy_pattern)
    suggestive = [f for f in findings if f in SUGGESTIVE_BIOPSY]
    if not findings:
        biopsy_item = RuleOutcome("biopsy_pattern", None, "biopsy status not recorded")
    elif findings == ("not_done",):
        biopsy_item = RuleOutcome("biopsy_pattern", False, "no surgical lung biopsy")
    elif suggestive:
        others = [f for f in findings if f not in SUGGESTIVE_BIOPSY]
        also = f" (also {', '.join(others)})" if others else ""
        biopsy_item = RuleOutcome(
            "biopsy_pattern", True,
            f"biopsy finding{'s' if len(suggestive) > 1 else ''} {' and '.join(suggestive)} "
            f"{'are' if len(suggestive) > 1 else 'is'} suggestive{also}",
        )
    else:
        shown = " and ".join(findings)
        biopsy_item = RuleOutcome(
            "biopsy_pattern", False,
            f"biopsy pattern {shown} {'are' if len(findings) > 1 else 'is'} not suggestive",
        )
    compartments = [_finding(name, getattr(inp, name)) for name in COMPARTMENT_FIELDS]
    return [hrct_item, biopsy_item, *compartments]


def _as_absent(outcome: RuleOutcome, settings: ClinicalSettings) -> RuleOutcome:
    if outcome.met is None and settings.missing_feature_means == "absent":
        return RuleOutcome(
            outcome.item, False, f"{outcome.detail}; read as absent (missing_feature_means='absent')"
        )
    return outcome


def _domain(name: str, items: list[RuleOutcome], settings: ClinicalSettings) -> DomainOutcome:
    items = [_as_absent(o, settings) for o in items]
    met = tuple(o.item for o in items if o.met is True)
    unknown = tuple(o.item for o in items if o.met is None)
    state: bool | None = True if met else (None if unknown else False)
    return DomainOutcome(name, state, met, unknown, tuple(items))


def _entry(inp: IpafInput) -> tuple[RuleOutcome, ...]:
    ctd = inp.defined_ctd
    no_ctd = None if ctd is None else not ctd
    ctd_text = {
        True: "meets classification criteria of a defined CTD",
        False: "no defined CTD",
        None: "defined CTD not recorded (unknown)",
    }[ctd]
    return (
        _finding("interstitial_pneumonia", inp.interstitial_pneumonia),
        _finding("alternative_etiology_excluded", inp.alternative_etiology_excluded),
        RuleOutcome("no_defined_ctd", no_ctd, ctd_text),
    )


_ENTRY_FAILURE = {
    "interstitial_pneumonia": "no interstitial pneumonia",
    "alternative_etiology_excluded": "alternative etiology not excluded",
    "no_defined_ctd": "meets criteria of a defined connective tissue disease",
}


def _combination(met_domains: list[str]) -> str:
    return "all three" if len(met_domains) == 3 else " + ".join(met_domains)


def classify_ipaf(inp: IpafInput, settings: ClinicalSettings) -> IpafClassification:
    """Classify one patient as 'ipaf', 'not_ipaf' or 'indeterminate' and say why.

    IPAF = all three entry requirements met AND at least two of the clinical, serologic and
    morphologic domains met. 'not_ipaf' when an entry requirement is not met, or when fewer than
    two domains can still be met. 'indeterminate' when the answer depends on unknown data;
    ``deciding_items`` then lists the unknown entry requirements and the unknown items
    ('domain.item') of the domains that could still tip it. For 'ipaf' it lists the items met
    in the met domains; for 'not_ipaf' the failed entry requirements or the domains not met.

    ``settings.missing_feature_means='absent'`` reads unknown domain items as not met; the entry
    requirements are never assumed (an unknown entry requirement keeps the patient indeterminate).
    """
    entry = _entry(inp)
    tests = inp.antibodies
    domains = {
        "clinical": _domain("clinical", [_finding(n, getattr(inp, n)) for n in CLINICAL_FIELDS], settings),
        "serologic": _domain("serologic", _serologic_items(tests, settings), settings),
        "morphologic": _domain("morphologic", _morphologic_items(inp), settings),
    }
    ro_positive = {t.name for t in tests if t.result == "positive"}
    ro52_isolated = "Ro52" in ro_positive and not ro_positive & {"Ro60", "SSA"}

    failed_entry = [o.item for o in entry if o.met is False]
    unknown_entry = [o.item for o in entry if o.met is None]
    met = [d for d in DOMAINS if domains[d].met is True]
    unknown = [d for d in DOMAINS if domains[d].met is None]
    combination: str | None = None
    if failed_entry:
        status = "not_ipaf"
        reason = "entry requirement not met: " + "; ".join(_ENTRY_FAILURE[i] for i in failed_entry)
        deciding = tuple(failed_entry)
    elif len(met) + len(unknown) < 2:
        status = "not_ipaf"
        shown = ", ".join(met) if met else "none"
        reason = f"features in fewer than two domains (met: {shown}); IPAF needs at least two"
        deciding = tuple(d for d in DOMAINS if domains[d].met is False)
    elif unknown_entry or len(met) < 2:
        status = "indeterminate"
        parts = []
        deciding_list = list(unknown_entry)
        if unknown_entry:
            parts.append("entry requirement(s) unknown: " + ", ".join(unknown_entry))
        if len(met) < 2:
            parts.append(
                f"{len(met)} domain(s) met ({', '.join(met) or 'none'}), unknown: {', '.join(unknown)}; two needed"
            )
            deciding_list += [f"{d}.{item}" for d in unknown for item in domains[d].items_unknown]
        reason = "depends on unknown data: " + "; ".join(parts)
        deciding = tuple(deciding_list)
    else:
        status = "ipaf"
        combination = _combination(met)
        reason = f"all entry requirements met; domains met: {combination}"
        deciding = tuple(f"{d}.{item}" for d in met for item in domains[d].items_met)
    return IpafClassification(
        patient_id=inp.patient_id,
        status=status,
        entry=entry,
        domains=domains,
        combination=combination,
        reason=reason,
        deciding_items=deciding,
        ro52_isolated=ro52_isolated,
    )
