"""omop.concepts: bundled concept sets, user YAML, resolving through concept / concept_ancestor, unit checks."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from ipafstudy.omop.cdm import CDM_TABLES, OmopError, cdm_tables, connect
from ipafstudy.omop.concepts import (
    GROUPS,
    bad_units,
    check_units,
    load_concept_sets,
    parse_concept_sets,
    resolve,
    unit_table,
    unresolved_codes,
)
from ipafstudy.omop.synth import _schema
from ipafstudy.rules.antibodies import ANTI_SYNTHETASE_ANTIBODIES
from ipafstudy.rules.ipaf import (
    ANA_PATTERNS,
    BIOPSY_PATTERNS,
    CLINICAL_FIELDS,
    COMPARTMENT_FIELDS,
    HRCT_PATTERNS,
)
from ipafstudy.rules.units import BUILTIN_VARIABLES


@pytest.fixture(scope="module")
def sets():
    return load_concept_sets()


def test_bundled_sets_name_every_fact_the_rules_read(sets):
    for field in (*CLINICAL_FIELDS, *COMPARTMENT_FIELDS):
        assert sets[field].group == "finding"
        assert sets[field].attributes["field"] == field
    for name in ("interstitial_pneumonia", "defined_ctd", "alternative_etiology", "alternative_etiology_excluded"):
        assert sets[name].group == "entry"
    for name in ("answer_yes", "answer_no", "result_positive", "result_negative", "result_borderline"):
        assert sets[name].group == "answer"
    for pattern in ANA_PATTERNS:
        assert sets[f"ana_pattern_{pattern}"].attributes["pattern"] == pattern
    for pattern in HRCT_PATTERNS:
        assert sets[f"hrct_{pattern}"].attributes["pattern"] == pattern
    for pattern in BIOPSY_PATTERNS:
        assert sets[f"biopsy_{pattern}"].attributes["pattern"] == pattern
    antibodies = {s.attributes["antibody"] for s in sets.in_group("antibody")}
    needed = {"ANA", "RF", "CCP", "dsDNA", "Ro60", "Ro52", "SSA", "La", "RNP", "Sm", "Scl-70", "PM-Scl", "MDA-5"}
    assert needed | set(ANTI_SYNTHETASE_ANTIBODIES) <= antibodies
    assert sets["tacrolimus"].include_descendants and sets["interstitial_pneumonia"].include_descendants
    assert {s.group for s in sets} <= set(GROUPS)
    assert all(s.source for s in sets), [s.name for s in sets if not s.source]


def test_only_verified_standard_codes_carry_a_concept_id(sets):
    """A concept_id in the YAML is what synth writes; for a standard vocabulary it must have been checked."""
    for cs in sets:
        for code in (*cs.codes, *cs.units):
            if code.vocabulary_id != "IPAFSTUDY" and code.concept_id is not None:
                assert code.verified, (cs.name, code.vocabulary_id, code.code)
            if code.vocabulary_id == "IPAFSTUDY":
                assert code.concept_id is not None and code.concept_id > 2_000_000_000, (cs.name, code.code)


def test_unit_factors_agree_with_rules_units(sets):
    for cs in sets.in_group("measurement"):
        assert cs.study_unit == BUILTIN_VARIABLES.variables[cs.name].canonical_unit
        for unit in cs.units:
            if unit.vocabulary_id == "None":  # no unit recorded: the value is in the study unit (mMRC grade)
                assert (unit.factor, unit.offset) == (1.0, 0.0)
                continue
            _, converted, _ = BUILTIN_VARIABLES.convert(cs.name, 10.0, unit.code)
            assert converted == pytest.approx(10.0 * unit.factor + unit.offset, rel=1e-12), (cs.name, unit.code)
    # worked by hand from clinical-rules.md s.6: 1 mg/dL CRP = 10 mg/L; 1 mg/dL creatinine = 88.4 umol/L
    crp = {u.code: u.factor for u in sets["crp"].units}
    assert crp["mg/dL"] == 10.0 and crp["mg/L"] == 1.0
    assert {u.code: u.factor for u in sets["creatinine"].units}["mg/dL"] == pytest.approx(88.4)


def test_user_yaml_appends_codes_adds_sets_and_replaces(tmp_path, sets):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "concept_sets:\n"
        "  raynaud:\n"
        "    source: site code list\n"
        "    codes:\n"
        "      - {vocabulary_id: ICD10CM, code: I73.00, name: Raynaud's syndrome without gangrene}\n"
        "  crp:\n"
        "    units:\n"
        "      - {vocabulary_id: UCUM, code: ug/mL, name: microgram per milliliter, factor: 1}\n"
        "  my_site_ild:\n"
        "    group: entry\n"
        "    domain: Condition\n"
        "    source: local\n"
        "    codes: [{vocabulary_id: IPAFSTUDY, code: site_ild, name: Site ILD code}]\n"
        "  defined_ctd:\n"
        "    replace: true\n"
        "    group: entry\n"
        "    domain: Condition\n"
        "    source: only SLE\n"
        "    codes: [{vocabulary_id: SNOMED, code: '55464009', name: SLE}]\n"
    )
    merged = load_concept_sets(extra)
    raynaud = merged["raynaud"]
    assert [c.code for c in raynaud.codes] == [c.code for c in sets["raynaud"].codes] + ["I73.00"]
    assert raynaud.include_descendants is sets["raynaud"].include_descendants
    assert "site code list" in raynaud.source
    assert [u.code for u in merged["crp"].units][-1] == "ug/mL"
    assert [u.code for u in merged["crp"].units].count("mg/L") == 1
    assert merged["my_site_ild"].codes[0].code == "site_ild"
    assert [c.code for c in merged["defined_ctd"].codes] == ["55464009"]
    assert merged.files[-1] == str(extra)


def test_a_unit_given_again_takes_the_new_factor(tmp_path, sets):
    extra = tmp_path / "units.yaml"
    extra.write_text("concept_sets:\n  crp:\n    units:\n      - {vocabulary_id: UCUM, code: mg/dL, factor: 11}\n")
    units = {u.code: u.factor for u in load_concept_sets(extra)["crp"].units}
    assert units == {"mg/L": 1.0, "mg/dL": 11.0}
    assert len(load_concept_sets(extra)["crp"].units) == len(sets["crp"].units)


def test_concept_id_zero_only_for_the_no_matching_concept(sets):
    assert {u.concept_id for u in sets["mmrc"].units} == {0}
    text = ("concept_sets:\n  x:\n    group: entry\n    domain: Condition\n"
            "    codes: [{vocabulary_id: SNOMED, code: '1', concept_id: 0}]\n")
    with pytest.raises(OmopError, match="0 only for vocabulary None"):
        parse_concept_sets(text, "zero.yaml")


def test_bad_yaml_lists_every_problem_at_once(tmp_path):
    text = (
        "concept_sets:\n"
        "  a:\n"
        "    group: nonsense\n"
        "    domain: Condition\n"
        "    colour: red\n"
        "    codes: [{vocabulary_id: SNOMED, name: no code}]\n"
        "  b:\n"
        "    group: measurement\n"
        "    domain: Measurement\n"
        "    study_unit: mg/L\n"
        "    codes: [{vocabulary_id: LOINC, code: 1-1}]\n"
        "    units: [{vocabulary_id: UCUM, code: furlong}]\n"
    )
    with pytest.raises(OmopError) as err:
        parse_concept_sets(text, "bad.yaml")
    text = str(err.value)
    assert "group 'nonsense'" in text
    assert "unknown key(s) colour" in text
    assert "codes[0]: code is missing" in text
    assert "unit 'furlong' has no factor" in text
    assert len(err.value.problems) >= 4
    with pytest.raises(OmopError, match="no such concept-set file"):
        load_concept_sets(tmp_path / "absent.yaml")
    with pytest.raises(OmopError, match="not valid YAML"):
        parse_concept_sets("concept_sets: [unclosed", "broken.yaml")


# A CDM built by hand: ILD (SNOMED 233703007) -> child 11 -> grandchild 12, a concept outside every set (13),
# tacrolimus ingredient (RxNorm 42316) -> clinical drug 21, units mg/L (31), mg/dL (32), mg/mmol (33).
_CONCEPTS = [
    (1, "Interstitial lung disease", "Condition", "SNOMED", "233703007"),
    (11, "child", "Condition", "SNOMED", "child-1"),
    (12, "grandchild", "Condition", "SNOMED", "grandchild-1"),
    (13, "unrelated", "Condition", "SNOMED", "other-1"),
    (20, "tacrolimus", "Drug", "RxNorm", "42316"),
    (21, "tacrolimus 1 MG Oral Capsule", "Drug", "RxNorm", "cap-1"),
    (30, "CRP", "Measurement", "LOINC", "1988-5"),
    (31, "milligram per liter", "Unit", "UCUM", "mg/L"),
    (32, "milligram per deciliter", "Unit", "UCUM", "mg/dL"),
    (33, "milligram per millimole", "Unit", "UCUM", "mg/mmol"),
]
_ANCESTORS = [(1, 1, 0), (1, 11, 1), (1, 12, 2), (11, 11, 0), (11, 12, 1), (12, 12, 0), (13, 13, 0), (20, 20, 0),
              (20, 21, 1), (21, 21, 0)]


def _hand_cdm(tmp_path, measurements=()):
    tables = {name: pa.Table.from_pylist([], schema=_schema(name)) for name in CDM_TABLES}
    tables["concept"] = pa.Table.from_pylist(
        [{"concept_id": c, "concept_name": n, "domain_id": d, "vocabulary_id": v, "concept_class_id": d,
          "standard_concept": "S", "concept_code": code} for c, n, d, v, code in _CONCEPTS], schema=_schema("concept"))
    tables["concept_ancestor"] = pa.Table.from_pylist(
        [{"ancestor_concept_id": a, "descendant_concept_id": d, "min_levels_of_separation": lv,
          "max_levels_of_separation": lv} for a, d, lv in _ANCESTORS], schema=_schema("concept_ancestor"))
    tables["measurement"] = pa.Table.from_pylist(
        [{"measurement_id": i + 1, "person_id": 1, "measurement_concept_id": concept, "unit_concept_id": unit,
          "value_as_number": 1.0} for i, (concept, unit) in enumerate(measurements)], schema=_schema("measurement"))
    path = tmp_path / "hand.duckdb"
    con = duckdb.connect(str(path))
    for name, table in tables.items():
        con.register("t", table)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM t')
        con.unregister("t")
    con.close()
    return cdm_tables(connect(path))


_HAND_SETS = """
concept_sets:
  ild:
    group: entry
    domain: Condition
    include_descendants: true
    source: test
    codes: [{vocabulary_id: SNOMED, code: '233703007', name: ILD}]
  ild_only_itself:
    group: entry
    domain: Condition
    source: test
    codes: [{vocabulary_id: SNOMED, code: '233703007', name: ILD}]
  tacrolimus:
    group: drug
    domain: Drug
    include_descendants: true
    source: test
    codes: [{vocabulary_id: RxNorm, code: '42316', name: tacrolimus}, {vocabulary_id: RxNorm, code: absent-9}]
  crp:
    group: measurement
    domain: Measurement
    source: test
    study_unit: mg/L
    codes: [{vocabulary_id: LOINC, code: 1988-5, name: CRP}]
    units: [{vocabulary_id: UCUM, code: mg/L}, {vocabulary_id: UCUM, code: mg/dL}]
"""


def _sets(text=_HAND_SETS):
    from ipafstudy.omop.concepts import ConceptSets

    return ConceptSets(parse_concept_sets(text, "hand.yaml"))


def _pairs(table):
    arrow = table.to_pyarrow()
    return sorted(zip(arrow.column("concept_set").to_pylist(), arrow.column("concept_id").to_pylist(), strict=True))


def test_resolve_adds_descendants_through_concept_ancestor(tmp_path):
    tables = _hand_cdm(tmp_path)
    got = _pairs(resolve(tables, _sets()))
    assert got == [("crp", 30), ("ild", 1), ("ild", 11), ("ild", 12), ("ild_only_itself", 1), ("tacrolimus", 20),
                   ("tacrolimus", 21)]
    assert resolve(tables, _sets()).schema()["concept_id"].is_int64()
    assert unresolved_codes(tables, _sets()) == [("tacrolimus", "RxNorm", "absent-9")]


def test_unknown_vocabulary_is_one_clear_error(tmp_path):
    tables = _hand_cdm(tmp_path)
    text = _HAND_SETS + (
        "  typo:\n    group: entry\n    domain: Condition\n    source: test\n"
        "    codes: [{vocabulary_id: SNOMEDCT, code: '1', name: x}]\n"
    )
    with pytest.raises(OmopError) as err:
        resolve(tables, _sets(text))
    assert err.value.problems == [
        "concept.vocabulary_id 'SNOMEDCT' (used by concept set typo) has no concept in the database's concept table"
    ]


def test_units_table_and_unit_without_conversion(tmp_path):
    tables = _hand_cdm(tmp_path, measurements=[(30, 31), (30, 32), (30, 33), (30, 33), (30, None), (13, 33)])
    units = unit_table(tables, _sets()).to_pyarrow().to_pylist()
    assert sorted((u["unit_concept_id"], u["factor"]) for u in units) == [(31, 1.0), (32, 10.0)]
    with pytest.raises(OmopError) as err:
        check_units(tables, _sets())
    problems = err.value.problems
    assert len(problems) == 2  # mg/mmol (2 rows) and no unit (1 row); the unrelated concept 13 is not checked
    assert problems[0].startswith("measurement.unit_concept_id 0 = not in concept: 1 row(s) of concept set 'crp'")
    assert problems[1].startswith("measurement.unit_concept_id 33 = mg/mmol (milligram per millimole): 2 row(s)")
    assert "accepted: mg/L, mg/dL" in problems[1]
    (tmp_path / "ok").mkdir()
    check_units(_hand_cdm(tmp_path / "ok", measurements=[(30, 31), (30, 32)]), _sets())  # all convertible: no error


def test_expressions_compile_for_postgres_without_semi_or_anti_joins(tmp_path):
    """Ibis 12 writes 'LEFT ANTI JOIN' when an anti join is followed by another join: PostgreSQL rejects it."""
    import ibis

    tables = _hand_cdm(tmp_path)
    for expr in (resolve(tables, _sets()), unit_table(tables, _sets()), bad_units(tables, _sets())):
        sql = ibis.to_sql(expr, dialect="postgres").upper()
        assert "SELECT" in sql and "SEMI JOIN" not in sql and "ANTI JOIN" not in sql
