"""The study data model: six tables keyed by patient_id, described once.

Loaders, validation, the data dictionary (Markdown, CSV, REDCap) and the blank template
are all generated from these definitions, so they can never disagree with each other.
Tri-state clinical findings use ``yes`` / ``no`` / ``unknown``; a blank cell is read as
``unknown`` (never silently as absent: see the ``missing_feature_means`` setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The clinical value sets are defined once, beside the rules that interpret them (data may import rules).
from ipafstudy.rules.codes import PATTERNS, ZONES
from ipafstudy.rules.ipaf import ANA_PATTERNS, ANTIBODY_RESULTS, BIOPSY_PATTERNS, FINDINGS_SEPARATOR, HRCT_PATTERNS

ColumnKind = Literal["string", "integer", "number", "date", "category"]

YES_NO_UNKNOWN = ("yes", "no", "unknown")
READER_ROLES = ("reader1", "reader2", "adjudicator")
ROUTES = ("oral", "intravenous", "subcutaneous", "intramuscular", "topical", "inhaled", "other")

# Columns each loader adds so any value can be traced to the cell it came from.
SOURCE_FILE = "_source_file"
SOURCE_SHEET = "_source_sheet"
SOURCE_ROW = "_source_row"
PROVENANCE_COLUMNS = (SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW)


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    multiple: bool = False  # a coded cell may list several values separated by MULTI_SEPARATOR


MULTI_SEPARATOR = FINDINGS_SEPARATOR

@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")


def _finding(name: str, description: str) -> Column:
    return Column(name, "category", description, allowed=YES_NO_UNKNOWN)


PATIENT_ID = Column(
    "patient_id", "string", "Study identifier of the patient (text, never a row number).", True
)

PATIENTS = Table(
    "patients",
    "One row per screened patient: demographics and the index data for IPAF classification.",
    (
        PATIENT_ID,
        Column("site", "string", "Recruiting centre."),
        Column("sex", "category", "Sex.", True, allowed=("female", "male")),
        Column("birth_date", "date", "Date of birth (or give age_at_index)."),
        Column(
            "age_at_index",
            "number",
            "Age in years at tacrolimus start, when birth_date is not available.",
            unit="years",
            minimum=0,
            maximum=120,
        ),
        Column("smoking", "category", "Smoking history.", allowed=("never", "former", "current")),
        # IPAF entry requirements
        _finding("interstitial_pneumonia", "Interstitial pneumonia on HRCT and/or surgical biopsy."),
        _finding("alternative_etiology_excluded", "Alternative etiologies were excluded."),
        _finding("defined_ctd", "Meets classification criteria of a defined connective tissue disease."),
        # Clinical domain
        _finding("mechanics_hands", "Distal digital fissuring (mechanic's hands)."),
        _finding("digital_tip_ulceration", "Distal digital tip ulceration."),
        _finding(
            "inflammatory_arthritis",
            "Inflammatory arthritis or polyarticular morning joint stiffness >= 60 min.",
        ),
        _finding("palmar_telangiectasia", "Palmar telangiectasia."),
        _finding("raynaud", "Raynaud's phenomenon."),
        _finding("digital_oedema", "Unexplained digital oedema."),
        _finding("gottron_sign", "Unexplained fixed rash on the digital extensor surfaces (Gottron's sign)."),
        # Morphologic domain
        Column("hrct_pattern", "category", "HRCT pattern (ATS/ERS 2002).", allowed=HRCT_PATTERNS),
        Column(
            "biopsy_pattern",
            "category",
            "Surgical lung biopsy histopathology: one finding, or several separated by ';' "
            "(met when any finding is suggestive).",
            allowed=BIOPSY_PATTERNS,
            multiple=True,
        ),
        _finding("pleural_involvement", "Unexplained pleural effusion or thickening."),
        _finding("pericardial_involvement", "Unexplained pericardial effusion or thickening."),
        _finding("airways_disease", "Unexplained intrinsic airways disease."),
        _finding("pulmonary_vasculopathy", "Unexplained pulmonary vasculopathy."),
        # Concomitant antifibrotics
        _finding("pirfenidone", "Concomitant pirfenidone."),
        _finding("nintedanib", "Concomitant nintedanib."),
    ),
)

ANTIBODIES = Table(
    "antibodies",
    "Autoantibody results, one row per test. Names are normalised on load (see rules.antibodies).",
    (
        PATIENT_ID,
        Column("test_date", "date", "Date the sample was taken."),
        Column("antibody", "string", "Antibody name as the laboratory wrote it (normalised on load).", True),
        Column(
            "result",
            "category",
            "Qualitative result.",
            True,
            allowed=ANTIBODY_RESULTS,
        ),
        Column("titre", "integer", "ANA titre denominator (320 for 1:320); '1:320' is accepted.", minimum=1),
        Column(
            "pattern",
            "category",
            "ANA immunofluorescence pattern, or its ICAP code (AC-1 ... AC-29, read as the pattern).",
            allowed=ANA_PATTERNS,
        ),
        Column("value", "number", "Quantitative value (for RF: the measured level).", minimum=0),
        Column(
            "upper_limit_normal",
            "number",
            "Laboratory upper limit of normal, same unit as value (needed for RF).",
            minimum=0,
        ),
    ),
)

TREATMENTS = Table(
    "treatments",
    "Drug exposures from prescriptions, one row per course.",
    (
        PATIENT_ID,
        Column("drug", "string", "Drug name, e.g. tacrolimus, methylprednisolone.", True),
        Column("start_date", "date", "First day of the course.", True),
        Column("end_date", "date", "Last day of the course; empty while ongoing."),
        Column("dose", "number", "Dose.", minimum=0),
        Column("dose_unit", "string", "Unit of the dose, e.g. mg/day."),
        Column("route", "category", "Route of administration (optional); topical courses never count as exposure.",
               allowed=ROUTES),
    ),
)

MEASUREMENTS = Table(
    "measurements",
    "Dated measurements in long format; units are converted to each variable's canonical unit.",
    (
        PATIENT_ID,
        Column("date", "date", "Date of the measurement or assessment.", True),
        Column("variable", "string", "Variable code (see the measurement variables list).", True),
        Column("value", "number", "Value in the stated unit.", True),
        Column("unit", "string", "Unit of the value (for dyspnoea: the scale, mmrc or mrc).", True),
    ),
)

HRCT_READS = Table(
    "hrct_reads",
    "Zone-level HRCT reads: one row per scan, reader and zone (modified Warrick, Goldin 2008).",
    (
        PATIENT_ID,
        Column("scan_date", "date", "Date of the HRCT scan.", True),
        Column("reader", "string", "Radiologist identifier.", True),
        Column("reader_role", "category", "First, second or adjudicating reader.", True, allowed=READER_ROLES),
        Column("zone", "category", "Lung zone: right/left upper, middle, lower.", True, allowed=ZONES),
        *(
            Column(p, "integer", f"{p} extent grade 0-4 (or give {p}_pct).", minimum=0, maximum=4)
            for p in PATTERNS
        ),
        *(
            Column(f"{p}_pct", "number", f"{p} extent in percent of the zone.", unit="%", minimum=0, maximum=100)
            for p in PATTERNS
        ),
    ),
)

ADVERSE_EVENTS = Table(
    "adverse_events",
    "Adverse events recorded during treatment, one row per event episode.",
    (
        PATIENT_ID,
        Column("onset_date", "date", "Date of onset.", True),
        Column(
            "event",
            "category",
            "Event type.",
            True,
            allowed=(
                "hypomagnesaemia",
                "infection",
                "renal_insufficiency",
                "gastrointestinal_discomfort",
                "hypertension",
                "hyperglycaemia",
                "tremor",
                "other",
            ),
        ),
        Column("event_detail", "string", "Free-text detail (required in practice for 'other')."),
        Column("grade", "integer", "CTCAE grade 1-5.", minimum=1, maximum=5),
        _finding("serious", "Serious adverse event."),
        _finding("led_to_discontinuation", "Led to tacrolimus discontinuation."),
        _finding("led_to_dose_change", "Led to a tacrolimus dose change."),
        Column("outcome", "category", "Outcome.", allowed=("resolved", "ongoing", "fatal", "unknown")),
        Column(
            "attribution",
            "category",
            "Attribution to tacrolimus.",
            allowed=("related", "possibly_related", "unlikely_related", "unrelated", "unknown"),
        ),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (PATIENTS, ANTIBODIES, TREATMENTS, MEASUREMENTS, HRCT_READS, ADVERSE_EVENTS)
}
