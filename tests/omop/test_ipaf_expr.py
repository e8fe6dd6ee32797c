"""The Ibis IPAF expressions give classify_ipaf's verdicts, reasons and deciding items, patient by patient."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from tests.omop.ipaf_cases import fact_frames, random_inputs

from ipafstudy.omop import ipaf_expr as X
from ipafstudy.rules.ipaf import AntibodyTest, IpafInput, classify_ipaf
from ipafstudy.settings import ClinicalSettings

SCHEMAS = {"findings": X.FINDINGS_SCHEMA, "tests": X.ANTIBODY_SCHEMA, "hrct": X.HRCT_SCHEMA,
           "biopsy": X.BIOPSY_SCHEMA, "persons": ibis.schema({"person_id": "int64"})}


def run_expr(inputs: list[IpafInput], settings: ClinicalSettings) -> pd.DataFrame:
    """The expression path on an in-memory DuckDB: one row per person, indexed by person_id."""
    frames = fact_frames(inputs)
    t = {name: ibis.memtable(pa.Table.from_pandas(frames[name], schema=SCHEMAS[name].to_pyarrow(),
                                                  preserve_index=False)) for name in SCHEMAS}
    evidence = X.finding_evidence(t["findings"]).union(X.antibody_evidence(t["tests"], settings)).union(
        X.pattern_evidence(t["hrct"], t["biopsy"]))
    con = ibis.duckdb.connect()
    got = con.to_pyarrow(X.classify(t["persons"], evidence, settings)).to_pandas().set_index("person_id")
    ev = con.to_pyarrow(X.criterion_evidence(evidence)).to_pandas()
    wide = ev.set_index(["person_id", "criterion"]).unstack("criterion")
    wide.columns = [f"{criterion}_{attr}" for attr, criterion in wide.columns]
    return got.join(wide)


def _cell(column: str, value: object) -> object:
    """An expression-path value in the form of IpafClassification.to_row (yes/no/unknown, '' for NULL text)."""
    missing = value is None or (isinstance(value, float) and value != value) or value is pd.NA
    if column == "ro52_isolated" or column.startswith(("entry_", "domain_", *(f"{d}_" for d in X.DOMAINS))):
        return "unknown" if missing else ("yes" if value else "no")
    return "" if missing else value


def mismatches(inputs: list[IpafInput], settings: ClinicalSettings) -> list[str]:
    got = run_expr(inputs, settings)
    out = []
    for inp in inputs:
        want = classify_ipaf(inp, settings).to_row()
        row = got.loc[int(inp.patient_id)]
        for column, value in want.items():
            if column == "patient_id":
                continue
            mine = _cell(column, row[column])
            if mine != value:
                out.append(f"patient {inp.patient_id} {column}: rules {value!r}, expression {mine!r}")
    return out


SETTINGS = [
    ClinicalSettings(),
    ClinicalSettings(missing_feature_means="absent"),
    ClinicalSettings(ro52_alone_counts_as_ssa=True),
    ClinicalSettings(missing_feature_means="absent", ro52_alone_counts_as_ssa=True),
]


@pytest.mark.parametrize("settings", SETTINGS,
                         ids=lambda s: f"{s.missing_feature_means}-ro52{s.ro52_alone_counts_as_ssa}")
def test_random_patients_same_as_rules(settings: ClinicalSettings) -> None:
    inputs = random_inputs(600, seed=20261201)
    rows = [classify_ipaf(i, settings).to_row() for i in inputs]
    # The sample must exercise the rules: every status, and every item seen met, not met and (unless read as
    # absent) unknown; otherwise equality would prove little.
    assert {r["status"] for r in rows} == {"ipaf", "not_ipaf", "indeterminate"}
    wanted = {"yes", "no"} if settings.missing_feature_means == "absent" else {"yes", "no", "unknown"}
    for column in X.criterion_columns():
        seen = {r[column] for r in rows}
        assert wanted <= seen or column.startswith("entry_"), (column, seen)
    assert mismatches(inputs, settings) == []


def test_thresholds_and_edge_patients() -> None:
    """Hand-made patients at the inclusive thresholds, without any record, and with one item only."""
    yes = {"interstitial_pneumonia": True, "alternative_etiology_excluded": True, "defined_ctd": False}
    cases = [
        IpafInput("1"),  # no record at all
        IpafInput("2", **yes, raynaud=True, antibodies=(AntibodyTest("ANA", "positive", 320, "speckled"),)),
        IpafInput("3", **yes, raynaud=True, antibodies=(AntibodyTest("ANA", "positive", 319, "speckled"),)),
        IpafInput("4", **yes, raynaud=True, antibodies=(AntibodyTest("ANA", "positive", 160, None),)),
        IpafInput("5", **yes, raynaud=True, antibodies=(AntibodyTest("ANA", "positive", None, "nucleolar"),)),
        IpafInput("6", **yes, raynaud=True, antibodies=(AntibodyTest("RF", "positive", None, None, 40.0, 20.0),)),
        IpafInput("7", **yes, raynaud=True, antibodies=(AntibodyTest("RF", "positive", None, None, 39.99, 20.0),)),
        IpafInput("8", **yes, raynaud=True, antibodies=(AntibodyTest("RF", "positive", None, None, 90.0, None),)),
        IpafInput("9", **yes, raynaud=True, antibodies=(AntibodyTest("Ro52", "positive"),)),
        IpafInput("10", **yes, hrct_pattern="uip", biopsy_pattern="uip;lymphoid_aggregates_germinal_centres",
                  gottron_sign=True),
        IpafInput("11", **yes, biopsy_pattern="not_done", raynaud=False, mechanics_hands=True),
        IpafInput("12", interstitial_pneumonia=True, defined_ctd=True, raynaud=True, hrct_pattern="nsip"),
    ]
    for settings in SETTINGS:
        assert mismatches(cases, settings) == []
    got = run_expr(cases, ClinicalSettings())
    assert got.loc[2, "serologic_ana"] and got.loc[2, "status"] == "ipaf"
    assert not got.loc[3, "serologic_ana"] and got.loc[3, "status"] == "indeterminate"  # morphologic unknown
    assert got.loc[6, "serologic_rf"] and not got.loc[7, "serologic_rf"]
    assert pd.isna(got.loc[8, "serologic_rf"]) and got.loc[8, "status"] == "indeterminate"


def test_several_records_any_met_wins_with_earliest_met_as_evidence() -> None:
    """Two ANA tests: the 1:640 homogeneous one meets the item and is the evidence, not the earlier 1:160 one."""
    yes = {"interstitial_pneumonia": True, "alternative_etiology_excluded": True, "defined_ctd": False}
    inp = IpafInput("1", **yes, antibodies=(AntibodyTest("ANA", "positive", 160, "speckled"),
                                            AntibodyTest("ANA", "positive", 640, "homogeneous"),
                                            AntibodyTest("ANA", "positive", 1280, "homogeneous")))
    row = run_expr([inp], ClinicalSettings()).loc[1]
    assert row["serologic_ana"]
    assert row["serologic_ana_number"] == 640.0  # the earliest of the two that meet it (fact_frames: day k)
    assert row["serologic_ana_date"] == dt.date(2020, 1, 2)
    assert row["serologic_ana_text"] == "ANA positive homogeneous"
    assert "serologic_rf_concept_id" not in row.index and pd.isna(row["serologic_rf"])  # no RF record


def test_kleene_not_survives_is_null() -> None:
    """Regression: Ibis compiles (~x).isnull() as NOT (x IS NULL); an unknown defined CTD must stay unknown."""
    inp = IpafInput("1", interstitial_pneumonia=True, alternative_etiology_excluded=True, raynaud=True,
                    hrct_pattern="nsip")
    row = run_expr([inp], ClinicalSettings()).loc[1]
    assert pd.isna(row["entry_no_defined_ctd"])
    assert row["status"] == "indeterminate" and row["deciding_items"] == "no_defined_ctd"
