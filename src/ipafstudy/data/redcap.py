"""REDCap: read a records export (+ data dictionary + optional YAML mapping); write a data dictionary.

A REDCap "records" export in raw format is one flat CSV: ``record_id``, ``redcap_event_name``
(longitudinal projects), ``redcap_repeat_instrument`` and ``redcap_repeat_instance`` (repeating
instruments), one column per field, checkbox fields expanded to ``field___code`` (0/1), and
``{form}_complete`` status columns. Which field belongs to which instrument, and what each coded
value means, is in the project's data dictionary CSV; a small YAML mapping file says which
instrument fills which table and which field fills which column. The defaults need no mapping
for a project built from ``ipafstudy dictionary``: instruments are named after the tables,
fields are ``<prefix><column>`` (see ``FIELD_PREFIX``) and coded values are decoded by label.

Mapping file (every key optional)::

    record_id: record_id            # field holding the patient_id (default: first dictionary field)
    instruments:                    # instrument (Form Name) -> table
      demographics: patients
      labs: measurements
    fields:                         # field -> column of its instrument's table
      dob: birth_date
      lab_test: variable
    values:                         # field -> {raw code: value}; default: the choice label
      lab_test: {"1": crp, "2": esr}
    checkboxes:                     # checkbox field -> {code: column}; ticked = yes
      ipaf_clinical: {"1": mechanics_hands, "2": raynaud}
    unchecked: unknown              # an unticked box means 'unknown' (default) or 'no'
    constants:                      # instrument -> {column: value} added to each of its rows
      labs: {unit: mg/L}
    ignore: [consent_date]          # fields not to warn about
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ipafstudy.data.issues import ValidationIssue
from ipafstudy.data.schema import TABLES, YES_NO_UNKNOWN, Column
from ipafstudy.data.sources import RawInput, RawRow, RawTable, read_csv_rows, source_file
from ipafstudy.data.spellings import canonical_header, canonical_token, is_blank
from ipafstudy.errors import IpafstudyError
from ipafstudy.rules.units import measurement_variable_codes

# Standard REDCap data dictionary header, in REDCap's own order.
DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
RECORD_ID = "record_id"
SPECIAL_COLUMNS = frozenset(
    {"redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_data_access_group",
     "redcap_survey_identifier"}
)
# Field names must be unique across a REDCap project, so columns of the repeating tables get a prefix.
FIELD_PREFIX: dict[str, str] = {
    "patients": "",
    "antibodies": "ab_",
    "treatments": "tx_",
    "measurements": "meas_",
    "hrct_reads": "hrct_",
    "adverse_events": "ae_",
}
MAPPING_KEYS = ("record_id", "instruments", "fields", "values", "checkboxes", "unchecked", "constants", "ignore")
TRI_STATE_CHOICES = (("1", "Yes"), ("0", "No"), ("9", "Unknown"))


# --------------------------------------------------------------------------- writing the dictionary


def field_name(table: str, column: str) -> str:
    """Default REDCap field of a table column: 'record_id' for patient_id, else prefix + column."""
    return RECORD_ID if column == "patient_id" else FIELD_PREFIX[table] + column


def _choices(column: Column) -> tuple[tuple[str, str], ...]:
    if column.allowed == YES_NO_UNKNOWN:
        return TRI_STATE_CHOICES
    return tuple((str(k), choice_label(v)) for k, v in enumerate(column.allowed or (), start=1))


_ACRONYMS = frozenset({"uip", "nsip", "op", "lip", "ggo", "ctd", "hrct"})


def choice_label(value: str) -> str:
    """Readable label of a canonical value ('nsip_op' -> 'NSIP OP'); it decodes back to the value."""
    if not value.islower():
        return value
    words = [w.upper() if w in _ACRONYMS else w for w in value.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _measurement_variable_choices() -> tuple[tuple[str, str], ...]:
    return tuple((code, code) for code in measurement_variable_codes())


def dictionary_rows() -> list[dict[str, str]]:
    """The REDCap data dictionary of the schema, one dict per field (REDCap column names)."""
    rows: list[dict[str, str]] = []

    def add(**values: str) -> None:
        rows.append({c: "" for c in DICTIONARY_COLUMNS} | values)

    add(**{"Variable / Field Name": RECORD_ID, "Form Name": "patients", "Field Type": "text",
           "Field Label": "Patient ID", "Required Field?": "y",
           "Field Note": TABLES["patients"].column("patient_id").description})
    for table in TABLES.values():
        for column in table.columns:
            if column.name == "patient_id":
                continue
            entry = {
                "Variable / Field Name": field_name(table.name, column.name),
                "Form Name": table.name,
                "Field Label": column.name.replace("_", " ").capitalize(),
                "Field Note": column.description + (f" Unit: {column.unit}." if column.unit else ""),
                "Required Field?": "y" if column.required else "",
                "Field Type": "text",
            }
            if column.kind == "category":
                entry["Field Type"] = "radio" if column.allowed == YES_NO_UNKNOWN else "dropdown"
                entry["Choices, Calculations, OR Slider Labels"] = " | ".join(f"{k}, {v}" for k, v in _choices(column))
            elif table.name == "measurements" and column.name == "variable":
                entry["Field Type"] = "dropdown"
                entry["Choices, Calculations, OR Slider Labels"] = " | ".join(
                    f"{k}, {v}" for k, v in _measurement_variable_choices()
                )
            elif column.kind == "date":
                entry["Text Validation Type OR Show Slider Number"] = "date_ymd"
            elif column.kind in ("number", "integer") and not (table.name == "antibodies" and column.name == "titre"):
                validation = "integer" if column.kind == "integer" else "number"
                entry["Text Validation Type OR Show Slider Number"] = validation
                if column.minimum is not None:
                    entry["Text Validation Min"] = f"{column.minimum:g}"
                if column.maximum is not None:
                    entry["Text Validation Max"] = f"{column.maximum:g}"
            add(**entry)
    return rows


def dictionary_csv_text() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(DICTIONARY_COLUMNS), lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    writer.writerows(dictionary_rows())
    return out.getvalue()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Field:
    name: str
    form: str
    kind: str
    choices: dict[str, str]


@dataclass
class RedcapMapping:
    """The parsed mapping file (see the module docstring); all parts optional."""

    record_id: str | None = None
    instruments: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    checkboxes: dict[str, dict[str, str]] = field(default_factory=dict)
    unchecked: str = "unknown"
    constants: dict[str, dict[str, str]] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()


def _str_map(raw: object, what: str, path: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise IpafstudyError(f"{path}: '{what}' must be a mapping of name: value, got {type(raw).__name__}")
    return {_yaml_text(k): _yaml_text(v) for k, v in raw.items()}


def _yaml_text(value: object) -> str:
    """YAML 1.1 reads bare yes/no as booleans; turn them back into the words the user wrote."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def read_mapping(path: str | Path | None) -> RedcapMapping:
    """Parse and check a YAML mapping file; unknown keys or tables are errors that list the valid ones."""
    if path is None:
        return RedcapMapping()
    import yaml

    name = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise IpafstudyError(f"{name}: not valid YAML ({err})") from None
    if not isinstance(data, Mapping):
        raise IpafstudyError(f"{name}: the mapping file must be a YAML mapping with keys {list(MAPPING_KEYS)}")
    unknown = sorted(set(map(str, data)) - set(MAPPING_KEYS))
    if unknown:
        raise IpafstudyError(f"{name}: unknown key(s) {unknown}; known keys are {list(MAPPING_KEYS)}")
    mapping = RedcapMapping(
        record_id=str(data["record_id"]) if data.get("record_id") else None,
        instruments=_str_map(data.get("instruments"), "instruments", name),
        fields=_str_map(data.get("fields"), "fields", name),
        values={str(k): _str_map(v, f"values.{k}", name) for k, v in (data.get("values") or {}).items()},
        checkboxes={str(k): _str_map(v, f"checkboxes.{k}", name) for k, v in (data.get("checkboxes") or {}).items()},
        unchecked=_yaml_text(data.get("unchecked", "unknown")).lower(),
        constants={str(k): _str_map(v, f"constants.{k}", name) for k, v in (data.get("constants") or {}).items()},
        ignore=tuple(str(x) for x in (data.get("ignore") or ())),
    )
    for form, table in mapping.instruments.items():
        if table not in TABLES:
            raise IpafstudyError(f"{name}: instrument {form!r} is mapped to {table!r}; tables are {list(TABLES)}")
    if mapping.unchecked not in ("unknown", "no"):
        raise IpafstudyError(f"{name}: unchecked={mapping.unchecked!r} is not valid; expected 'unknown' or 'no'")
    return mapping


def parse_choices(text: str) -> dict[str, str]:
    """'1, Yes | 0, No' -> {'1': 'Yes', '0': 'No'} (REDCap's choice syntax)."""
    out: dict[str, str] = {}
    for part in str(text or "").split("|"):
        if "," not in part:
            continue
        code, label = part.split(",", 1)
        out[code.strip()] = label.strip()
    return out


def read_dictionary(path: Path) -> dict[str, _Field]:
    """Fields of a REDCap data dictionary CSV, keyed by field name."""
    rows, _ = read_csv_rows(path)
    if not rows:
        raise IpafstudyError(f"{path.name}: the REDCap data dictionary is empty")
    header = [str(h).strip() for h in rows[0][1]]
    needed = ("Variable / Field Name", "Form Name", "Field Type")
    missing = [c for c in needed if c not in header]
    if missing:
        raise IpafstudyError(f"{path.name}: not a REDCap data dictionary; missing column(s) {missing}")
    idx = {h: i for i, h in enumerate(header)}
    choices_col = idx.get("Choices, Calculations, OR Slider Labels")
    out: dict[str, _Field] = {}
    for _, cells in rows[1:]:
        def cell(i: int | None, cells: list[object] = cells) -> str:
            return str(cells[i]).strip() if i is not None and i < len(cells) else ""

        name = cell(idx["Variable / Field Name"])
        if not name:
            continue
        kind = cell(idx["Field Type"]).lower()
        choices = parse_choices(cell(choices_col)) if kind in ("radio", "dropdown", "checkbox") else {}
        if kind in ("yesno", "truefalse"):
            choices = {"1": "yes", "0": "no"}
        out[name] = _Field(name, cell(idx["Form Name"]), kind, choices)
    return out


def _find_dictionary(export: Path) -> Path:
    candidates = sorted(p for p in export.parent.glob("*.csv") if "datadictionary" in p.name.lower().replace("_", ""))
    if len(candidates) == 1:
        return candidates[0]
    raise IpafstudyError(
        f"{export.name}: a REDCap records export needs its data dictionary; pass redcap_dictionary= "
        "(CLI: --redcap-dictionary DICTIONARY.csv)"
        + (f"; several candidates found: {[p.name for p in candidates]}" if candidates else "")
    )


def _table_of_form(form: str, mapping: RedcapMapping) -> str | None:
    if form in mapping.instruments:
        return mapping.instruments[form]
    key = canonical_header(form)
    return key if key in TABLES else None


def _column_of_field(fld: _Field, table: str, mapping: RedcapMapping) -> str | None:
    if fld.name in mapping.fields:
        return mapping.fields[fld.name]
    names = TABLES[table].column_names
    prefix = FIELD_PREFIX[table]
    if prefix and fld.name.startswith(prefix) and fld.name[len(prefix):] in names:
        return fld.name[len(prefix):]
    return fld.name if fld.name in names else None


@dataclass
class _Plan:
    """How each export column is used: plain field -> (table, column); checkbox -> (table, column, code)."""

    plain: dict[str, tuple[str, str, _Field]] = field(default_factory=dict)
    boxes: dict[str, tuple[str, str]] = field(default_factory=dict)  # export column -> (table, column)
    form_table: dict[str, str] = field(default_factory=dict)


def _plan(
    header: list[str], fields: dict[str, _Field], mapping: RedcapMapping, record_id: str, file: str,
    issues: list[ValidationIssue],
) -> _Plan:
    plan = _Plan()
    forms = {f.form for f in fields.values()}
    warned_forms: set[str] = set()
    for form in sorted(forms):
        table = _table_of_form(form, mapping)
        if table is not None:
            plan.form_table[form] = table
    for form in sorted(set(mapping.instruments) - forms):
        issues.append(ValidationIssue(file, None, None, None, form, "mapping",
                                      f"mapping names instrument {form!r}, which is not in the data dictionary"))

    def warn(column: str, message: str) -> None:
        issues.append(ValidationIssue(file, None, 1, column, column, "unmapped_field", message, "warning"))

    for col in header:
        if col == record_id or col in SPECIAL_COLUMNS or col in mapping.ignore:
            continue
        if col.endswith("_complete") and col[: -len("_complete")] in forms:
            continue
        if col.endswith("_timestamp") and col[: -len("_timestamp")] in forms:
            continue
        base, _, code = col.partition("___")
        fld = fields.get(base if code else col)
        if fld is None:
            warn(col, f"field {col!r} is not in the data dictionary; it is ignored")
            continue
        table = plan.form_table.get(fld.form)
        if table is None:
            if fld.form not in warned_forms:
                warned_forms.add(fld.form)
                warn(col, f"instrument {fld.form!r} is not mapped to a table; its fields are ignored "
                          f"(map it under 'instruments:' to one of {list(TABLES)})")
            continue
        if code:
            column = mapping.checkboxes.get(base, {}).get(code)
            if column is None:
                label = fld.choices.get(code, "")
                guess = canonical_token(label)
                column = guess if guess in TABLES[table].column_names else None
            if column is None or column not in TABLES[table].column_names:
                warn(col, f"checkbox option {code!r} of {base!r} is not mapped to a column of {table}; ignored "
                          f"(map it under 'checkboxes: {{{base}: {{'{code}': column}}}}')")
                continue
            plan.boxes[col] = (table, column)
            continue
        column = _column_of_field(fld, table, mapping)
        if column is None or column not in TABLES[table].column_names:
            warn(col, f"field {col!r} of instrument {fld.form!r} is not mapped to a column of {table}; it is "
                      f"ignored (map it under 'fields:' to one of {list(TABLES[table].column_names)})")
            continue
        plan.plain[col] = (table, column, fld)
    return plan


def _decode(raw: object, fld: _Field, mapping: RedcapMapping) -> object:
    if is_blank(raw):
        return None
    code = str(raw).strip()
    if fld.name in mapping.values:
        return mapping.values[fld.name].get(code, code)
    return fld.choices.get(code, code)


def read_redcap(
    export: Path,
    reader: RawInput,
    *,
    mapping: str | Path | None = None,
    dictionary: str | Path | None = None,
) -> None:
    """Turn a REDCap records export into raw tables (row numbers of the export file)."""
    dict_path = Path(dictionary) if dictionary is not None else _find_dictionary(export)
    if not dict_path.exists():
        raise IpafstudyError(f"{dict_path}: REDCap data dictionary not found")
    fields = read_dictionary(dict_path)
    config = read_mapping(mapping)
    reader.sources.append(source_file(export, "redcap-records"))
    reader.sources.append(source_file(dict_path, "redcap-dictionary"))
    if mapping is not None:
        reader.sources.append(source_file(mapping, "mapping"))
    rows, _ = read_csv_rows(export, reader.issues)
    if not rows:
        raise IpafstudyError(f"{export.name}: the REDCap export is empty")
    header = [str(h).strip() for h in rows[0][1]]
    record_id = config.record_id or next(iter(fields), RECORD_ID)
    if record_id not in header:
        raise IpafstudyError(
            f"{export.name}: no {record_id!r} column; is this a REDCap records export? "
            "(set 'record_id:' in the mapping file if the record ID field has another name)"
        )
    file = export.name
    plan = _plan(header, fields, config, record_id, file, reader.issues)
    col_index = {h: i for i, h in enumerate(header)}
    repeat_col = col_index.get("redcap_repeat_instrument")

    def at(cells: list[object], name: str) -> object:
        i = col_index[name]
        return cells[i] if i < len(cells) else None

    repeating = {str(cells[repeat_col]).strip() for _, cells in rows[1:]
                 if repeat_col is not None and repeat_col < len(cells) and str(cells[repeat_col]).strip()}
    tables: dict[str, RawTable] = {}
    for table in sorted(set(plan.form_table.values()), key=list(TABLES).index):
        raw = RawTable(name=table, file=file, sheet=None, header_known=False)
        raw.headers = {"patient_id": record_id}
        raw.headers |= {column: col for col, (t, column, _) in plan.plain.items() if t == table}
        raw.headers |= {column: col.partition("___")[0] for col, (t, column) in plan.boxes.items() if t == table}
        for form, consts in config.constants.items():
            if plan.form_table.get(form) == table:
                raw.headers |= {c: f"(constant for {form})" for c in consts}
        tables[table] = raw
    for number, cells in rows[1:]:
        instrument = str(cells[repeat_col]).strip() if repeat_col is not None and repeat_col < len(cells) else ""
        per_table: dict[str, dict[str, object]] = {}
        filled: set[str] = set()
        for col, (table, column, fld) in plan.plain.items():
            if (fld.form != instrument) if instrument else (fld.form in repeating):
                continue
            value = _decode(at(cells, col), fld, config)
            per_table.setdefault(table, {})[column] = value
            if value is not None:
                filled.add(table)
        for col, (table, column) in plan.boxes.items():
            fld = fields[col.partition("___")[0]]
            if (fld.form != instrument) if instrument else (fld.form in repeating):
                continue
            ticked = str(at(cells, col) or "").strip() == "1"
            values = per_table.setdefault(table, {})
            if ticked or values.get(column) != "yes":
                values[column] = "yes" if ticked else config.unchecked
            if ticked:
                filled.add(table)
        for table in filled:
            values = per_table[table]
            values["patient_id"] = at(cells, record_id)
            for form, consts in config.constants.items():
                if plan.form_table.get(form) == table and (not instrument or form == instrument):
                    values |= {c: v for c, v in consts.items() if is_blank(values.get(c))}
            tables[table].rows.append(RawRow(number, values))
    reader.tables.update(tables)
