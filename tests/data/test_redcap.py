"""REDCap records exports built in the test to REDCap's documented layout.

Layout (REDCap "Export data", raw values, CSV): record_id first, then redcap_event_name
(longitudinal projects), redcap_repeat_instrument and redcap_repeat_instance, then each
instrument's fields in data-dictionary order followed by ``{instrument}_complete``; checkbox
fields become one ``field___code`` column per option holding 0/1. A row with an empty
redcap_repeat_instrument carries the non-repeating instruments of that event.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.data.redcap import dictionary_csv_text
from ipafstudy.data.schema import TABLES
from ipafstudy.errors import IpafstudyError

try:  # tests/ may or may not be a package, depending on how the suite is laid out
    from .conftest import tree_digest, write_csv_study
except ImportError:
    from conftest import tree_digest, write_csv_study  # type: ignore[no-redef]


DICT_HEADER = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]


def _write_rows(path: Path, header: list[str], rows: list[dict[str, object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in header])
    return path


# --------------------------------------------------------------------------- generated dictionary, no mapping


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else repr(value)
    return str(value)


def test_generated_dictionary_round_trips_without_mapping(tmp_path: Path) -> None:
    """Export the tiny study in REDCap layout using the generated dictionary; load it back unchanged."""
    expected = load_study(write_csv_study(tmp_path / "csv"))
    dict_path = tmp_path / "Study_DataDictionary_2024-01-01.csv"
    dict_path.write_text(dictionary_csv_text(), encoding="utf-8")
    with open(dict_path, newline="", encoding="utf-8") as handle:
        fields = list(csv.DictReader(handle))
    forms: dict[str, list[dict[str, str]]] = {}
    for f in fields:
        forms.setdefault(f["Form Name"], []).append(f)
    header = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form, fs in forms.items():
        header += [f["Variable / Field Name"] for f in fs if f["Variable / Field Name"] != "record_id"]
        header.append(f"{form}_complete")

    def encode(f: dict[str, str], value: object) -> str:
        text = _fmt(value)
        choices = f["Choices, Calculations, OR Slider Labels"]
        if not choices or not text:
            return text
        for part in choices.split("|"):
            code, label = (s.strip() for s in part.split(",", 1))
            if label.lower().replace(" ", "_") == text.lower():
                return code
        raise AssertionError(f"no code for {text!r} in {choices!r}")

    rows: list[dict[str, object]] = []
    expected_rows: dict[str, list[int]] = {}
    for name in TABLES:
        frame = expected.table(name)
        fs = forms[name]
        for i, (_, rec) in enumerate(frame.iterrows(), start=1):
            row: dict[str, object] = {"record_id": rec["patient_id"], f"{name}_complete": 2}
            if name != "patients":
                row |= {"redcap_repeat_instrument": name, "redcap_repeat_instance": i}
            for f in fs:
                field = f["Variable / Field Name"]
                if field == "record_id":
                    continue
                column = field.removeprefix({"patients": "", "antibodies": "ab_", "treatments": "tx_",
                                             "measurements": "meas_", "hrct_reads": "hrct_",
                                             "adverse_events": "ae_"}[name])
                row[field] = encode(f, rec[column])
            rows.append(row)
            expected_rows.setdefault(name, []).append(len(rows) + 1)  # header is row 1
    export = _write_rows(tmp_path / "Study_DATA_2024-01-01_1200.csv", header, rows)
    before = tree_digest(tmp_path)
    # The dictionary is found next to the export by its REDCap default name.
    study = load_study(export)
    assert tree_digest(tmp_path) == before
    assert validate_path(export, redcap_dictionary=dict_path).issues == ()
    for name in TABLES:
        got, want = study.table(name), expected.table(name)
        assert list(got["_source_row"]) == expected_rows[name]
        assert set(got["_source_file"]) <= {export.name}
        keep = [c for c in want.columns if not c.startswith("_") and not c.startswith("original_")]
        keep = [c for c in keep if c != "antibody_raw"]
        pd.testing.assert_frame_equal(got[keep].reset_index(drop=True), want[keep].reset_index(drop=True))
    kinds = sorted(s.kind for s in study.sources)
    assert kinds == ["redcap-dictionary", "redcap-records"]


# --------------------------------------------------------------------------- a real-world project with a mapping

CUSTOM_FIELDS = [
    # name, form, type, choices, validation
    ("record_id", "demographics", "text", "", ""),
    ("dob", "demographics", "text", "", "date_ymd"),
    ("gender", "demographics", "radio", "1, Female | 2, Male", ""),
    ("ild", "demographics", "yesno", "", ""),
    ("ipaf_clinical", "demographics", "checkbox", "1, Mechanic's hands | 2, Raynaud | 3, Gottron sign", ""),
    ("notes", "demographics", "notes", "", ""),
    ("lab_date", "labs", "text", "", "date_ymd"),
    ("lab_test", "labs", "dropdown", "1, C-reactive protein | 2, ESR | 3, Magnesium", ""),
    ("lab_value", "labs", "text", "", "number"),
    ("lab_unit", "labs", "text", "", ""),
    ("scan_date", "hrct_zone_read", "text", "", "date_ymd"),
    ("reader", "hrct_zone_read", "text", "", ""),
    ("reader_role", "hrct_zone_read", "dropdown", "1, Reader 1 | 2, Reader 2 | 3, Adjudicator", ""),
    ("zone", "hrct_zone_read", "dropdown", "1, RU | 2, RM | 3, RL | 4, LU | 5, LM | 6, LL", ""),
    ("ggo", "hrct_zone_read", "text", "", "integer"),
    ("fibrosis", "hrct_zone_read", "text", "", "integer"),
    ("honeycombing", "hrct_zone_read", "text", "", "integer"),
    ("consolidation", "hrct_zone_read", "text", "", "integer"),
]

MAPPING = """\
instruments:
  demographics: patients
  labs: measurements
  hrct_zone_read: hrct_reads
fields:
  dob: birth_date
  gender: sex
  ild: interstitial_pneumonia
  lab_date: date
  lab_test: variable
  lab_value: value
  lab_unit: unit
values:
  lab_test: {"1": crp, "2": esr, "3": magnesium}
checkboxes:
  ipaf_clinical: {"1": mechanics_hands}
ignore: [notes]
"""


def _custom_dictionary(path: Path) -> Path:
    rows = []
    for name, form, kind, choices, validation in CUSTOM_FIELDS:
        rows.append({"Variable / Field Name": name, "Form Name": form, "Field Type": kind, "Field Label": name,
                     "Choices, Calculations, OR Slider Labels": choices,
                     "Text Validation Type OR Show Slider Number": validation})
    return _write_rows(path, DICT_HEADER, rows)


def _custom_export(path: Path, *, bad: bool = False) -> Path:
    fields_by_form: dict[str, list[str]] = {}
    for name, form, kind, choices, _ in CUSTOM_FIELDS:
        if name == "record_id":
            continue
        if kind == "checkbox":
            codes = [c.split(",")[0].strip() for c in choices.split("|")]
            fields_by_form.setdefault(form, []).extend(f"{name}___{code}" for code in codes)
        else:
            fields_by_form.setdefault(form, []).append(name)
    header = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form, names in fields_by_form.items():
        header += [*names, f"{form}_complete"]
    box0 = {"ipaf_clinical___1": 0, "ipaf_clinical___2": 0, "ipaf_clinical___3": 0}
    rows: list[dict[str, object]] = [
        # row 2: baseline, non-repeating demographics
        {"record_id": "1001", "redcap_event_name": "baseline_arm_1", "dob": "1960-05-01", "gender": "1", "ild": "1",
         **box0, "ipaf_clinical___1": 1, "ipaf_clinical___2": 1, "notes": "free text", "demographics_complete": 2},
        # rows 3-4: repeating labs at baseline
        {"record_id": "1001", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "labs",
         "redcap_repeat_instance": 1, "lab_date": "2021-01-05", "lab_test": "1", "lab_value": "2.5",
         "lab_unit": "mg/dL", "labs_complete": 2},
        {"record_id": "1001", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "labs",
         "redcap_repeat_instance": 2, "lab_date": "2021-01-05", "lab_test": "2", "lab_value": "40",
         "lab_unit": "mg/dl" if bad else "mm/h", "labs_complete": 2},
        # rows 5-6: repeating HRCT zone reads
        {"record_id": "1001", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "hrct_zone_read",
         "redcap_repeat_instance": 1, "scan_date": "2021-01-03", "reader": "rad1", "reader_role": "1", "zone": "1",
         "ggo": "2", "fibrosis": "1", "honeycombing": "0", "consolidation": "7" if bad else "0",
         "hrct_zone_read_complete": 2},
        {"record_id": "1001", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "hrct_zone_read",
         "redcap_repeat_instance": 2, "scan_date": "2021-01-03", "reader": "rad2", "reader_role": "2", "zone": "1",
         "ggo": "3", "fibrosis": "1", "honeycombing": "0", "consolidation": "1", "hrct_zone_read_complete": 2},
        # row 7: follow-up event, non-repeating part empty (demographics not collected at this event)
        {"record_id": "1001", "redcap_event_name": "month_6_arm_1", **box0},
        # row 8: follow-up labs
        {"record_id": "1001", "redcap_event_name": "month_6_arm_1", "redcap_repeat_instrument": "labs",
         "redcap_repeat_instance": 1, "lab_date": "2021-07-01", "lab_test": "3", "lab_value": "0.65",
         "lab_unit": "mmol/L", "labs_complete": 1},
        # row 9: second patient
        {"record_id": "1002", "redcap_event_name": "baseline_arm_1", "dob": "1971-02-03",
         "gender": "7" if bad else "2", "ild": "0", **box0, "ipaf_clinical___3": 1, "demographics_complete": 2},
        # row 10: labs for a record that has no demographics
        {"record_id": "1003" if bad else "1002", "redcap_event_name": "baseline_arm_1",
         "redcap_repeat_instrument": "labs", "redcap_repeat_instance": 1, "lab_date": "2021-03-01", "lab_test": "1",
         "lab_value": "8", "lab_unit": "mg/L", "labs_complete": 2},
    ]
    return _write_rows(path, header, rows)


@pytest.fixture
def custom(tmp_path: Path) -> tuple[Path, Path, Path]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return _custom_export(tmp_path / "export.csv"), _custom_dictionary(tmp_path / "dictionary.csv"), mapping


def test_custom_project_with_mapping_events_checkboxes(custom: tuple[Path, Path, Path]) -> None:
    export, dictionary, mapping = custom
    study = load_study(export, redcap_dictionary=dictionary, mapping=mapping)
    p = study.patients.set_index("patient_id")
    assert list(p.index) == ["1001", "1002"]
    assert p.loc["1001", "birth_date"] == dt.date(1960, 5, 1)
    assert (p.loc["1001", "sex"], p.loc["1002", "sex"]) == ("female", "male")
    assert (p.loc["1001", "interstitial_pneumonia"], p.loc["1002", "interstitial_pneumonia"]) == ("yes", "no")
    # checkbox: option 1 mapped explicitly, options 2 and 3 by their labels; unticked = unknown
    assert (p.loc["1001", "mechanics_hands"], p.loc["1001", "raynaud"], p.loc["1001", "gottron_sign"]) == (
        "yes", "yes", "unknown")
    assert (p.loc["1002", "mechanics_hands"], p.loc["1002", "gottron_sign"]) == ("unknown", "yes")
    assert list(p["_source_row"]) == [2, 9]
    m = study.measurements
    assert list(m["_source_row"]) == [3, 4, 8, 10]
    assert list(m["variable"]) == ["crp", "esr", "magnesium", "crp"]
    assert m.loc[0, "value"] == pytest.approx(25.0)  # 2.5 mg/dL x 10
    h = study.hrct_reads
    assert list(h["_source_row"]) == [5, 6] and list(h["reader_role"]) == ["reader1", "reader2"]
    assert set(h["zone"]) == {"RU"}
    assert sorted(s.kind for s in study.sources) == ["mapping", "redcap-dictionary", "redcap-records"]


def test_unchecked_can_mean_no(custom: tuple[Path, Path, Path]) -> None:
    export, dictionary, mapping = custom
    mapping.write_text(MAPPING + "unchecked: no\n", encoding="utf-8")
    p = load_study(export, redcap_dictionary=dictionary, mapping=mapping).patients.set_index("patient_id")
    assert (p.loc["1001", "gottron_sign"], p.loc["1002", "mechanics_hands"]) == ("no", "no")


def test_errors_point_at_export_rows_and_fields(tmp_path: Path, custom: tuple[Path, Path, Path]) -> None:
    _, dictionary, mapping = custom
    export = _custom_export(tmp_path / "bad_export.csv", bad=True)
    report = validate_path(export, redcap_dictionary=dictionary, mapping=mapping)
    found = {(i.file, i.row, i.column, i.rule) for i in report.errors}
    assert found == {
        ("bad_export.csv", 4, "lab_unit", "unknown_unit"),
        ("bad_export.csv", 5, "consolidation", "range"),
        ("bad_export.csv", 9, "gender", "category"),
        ("bad_export.csv", 10, "record_id", "unknown_patient"),
    }


def test_unmapped_fields_are_warned_not_dropped_silently(custom: tuple[Path, Path, Path]) -> None:
    export, dictionary, mapping = custom
    mapping.write_text(MAPPING.replace("ignore: [notes]\n", ""), encoding="utf-8")
    report = validate_path(export, redcap_dictionary=dictionary, mapping=mapping)
    assert [(i.rule, i.column, i.severity) for i in report.issues] == [("unmapped_field", "notes", "warning")]


def test_without_mapping_instruments_are_unmapped(custom: tuple[Path, Path, Path]) -> None:
    export, dictionary, _ = custom
    report = validate_path(export, redcap_dictionary=dictionary)
    assert "missing_table" in report.rules()
    assert any(i.rule == "unmapped_field" and "demographics" in i.message for i in report.issues)


def test_bad_mapping_files_are_explained(custom: tuple[Path, Path, Path]) -> None:
    export, dictionary, mapping = custom
    mapping.write_text("instrumentz: {}\n", encoding="utf-8")
    with pytest.raises(IpafstudyError, match="unknown key"):
        load_study(export, redcap_dictionary=dictionary, mapping=mapping)
    mapping.write_text("instruments: {labs: labz}\n", encoding="utf-8")
    with pytest.raises(IpafstudyError, match="'labz'"):
        load_study(export, redcap_dictionary=dictionary, mapping=mapping)


def test_missing_dictionary_is_explained(custom: tuple[Path, Path, Path]) -> None:
    export, _, mapping = custom
    with pytest.raises(IpafstudyError, match="data dictionary"):
        load_study(export, mapping=mapping)
