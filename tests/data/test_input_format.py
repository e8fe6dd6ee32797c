"""Input format (issue 10 item 21): cytoplasmic ANA and ICAP AC codes, several biopsy findings per patient,
``antibody_both`` and ``analysed`` in screening.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ipafstudy.cli import main
from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.rules.common import RuleInputError
from ipafstudy.rules.ipaf import AntibodyTest, IpafInput, classify_ipaf
from ipafstudy.settings import ClinicalSettings

try:
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]

DEFAULT = ClinicalSettings()


def _ipaf_ready(**overrides: object) -> IpafInput:
    """Entry met, Raynaud (clinical domain met); serology and morphology decided by the overrides."""
    base: dict[str, object] = {
        "patient_id": "X", "interstitial_pneumonia": True, "alternative_etiology_excluded": True,
        "defined_ctd": False, "raynaud": True, "hrct_pattern": "uip", "biopsy_pattern": "not_done",
        **{f: False for f in ("pleural_involvement", "pericardial_involvement", "airways_disease",
                              "pulmonary_vasculopathy")},
    }
    base.update(overrides)
    return IpafInput(**base)  # type: ignore[arg-type]


def _item(res, domain: str, name: str):
    return next(o for o in res.domains[domain].items if o.item == name)


# --- ANA pattern: cytoplasmic and ICAP codes ------------------------------------------------------


@pytest.mark.parametrize("titre", [80, 320, 1280, None])
def test_cytoplasmic_ana_never_meets_the_ana_item(titre: int | None) -> None:
    test = AntibodyTest("ANA", "positive", titre=titre, pattern="cytoplasmic")  # was a RuleInputError
    res = classify_ipaf(_ipaf_ready(antibodies=(test,)), DEFAULT)
    ana = _item(res, "serologic", "ana")
    assert ana.met is False and "cytoplasmic" in ana.detail


# ICAP (anapatterns.org; Chan 2015, Damoiseaux 2019): the anti-cell code, written as labs print it, and the
# pattern word of the IPAF statement it denotes (AC-2/4/5 are nuclear speckled, AC-8/9/10 nucleolar,
# AC-15 to AC-23 cytoplasmic, AC-6 nuclear dots and AC-24 mitotic are none of the named patterns).
ICAP_CASES = [
    ("AC-1", "homogeneous"), ("AC-2", "speckled"), ("ac 4", "speckled"), ("AC5", "speckled"),
    ("AC-3", "centromere"), ("AC-8", "nucleolar"), ("AC-9", "nucleolar"), ("AC-10", "nucleolar"),
    ("AC-15", "cytoplasmic"), ("AC-19", "cytoplasmic"), ("AC-21", "cytoplasmic"), ("AC-23", "cytoplasmic"),
    ("AC-6", "other"), ("AC-24", "other"), ("Cytoplasmic", "cytoplasmic"),
]


def test_icap_codes_and_cytoplasmic_load(tmp_path: Path) -> None:
    tables = tiny_tables()
    rows = [{"patient_id": "P02", "test_date": "2020-02-01", "antibody": "ANA", "result": "positive",
             "titre": "1:640", "pattern": code} for code, _ in ICAP_CASES]
    tables["antibodies"] = [dict(r, test_date=f"2020-02-{k + 1:02d}") for k, r in enumerate(rows)]
    folder = write_csv_study(tmp_path / "study", tables)
    ab = load_study(folder).antibodies
    assert list(ab["pattern"]) == [want for _, want in ICAP_CASES]


def test_ac0_and_unknown_codes_are_errors(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["antibodies"][0]["pattern"] = "AC-0"  # negative is a result, not a pattern
    tables["antibodies"][1]["pattern"] = "AC-31"
    folder = write_csv_study(tmp_path / "study", tables)
    errors = [(i.row, i.column, i.rule) for i in validate_path(folder).errors]
    assert errors == [(2, "pattern", "category"), (3, "pattern", "category")]


def test_ana_by_icap_code_decides_the_item(tmp_path: Path) -> None:
    """AC-4 at 1:320 is speckled >= 1:320 (met); AC-20 at 1:1280 is cytoplasmic (not met)."""
    for code, met in (("AC-4", True), ("AC-20", False), ("AC-3", True)):
        tables = tiny_tables()
        tables["antibodies"] = [{"patient_id": "P03", "test_date": "2020-03-05", "antibody": "ANA",
                                 "result": "positive", "titre": "1:320" if code != "AC-20" else "1:1280",
                                 "pattern": code}]
        folder = write_csv_study(tmp_path / code, tables)
        study = load_study(folder)
        row = study.patients.set_index("patient_id").loc["P03"].to_dict() | {"patient_id": "P03"}
        tests = [AntibodyTest("ANA", "positive", titre=int(t), pattern=p)
                 for t, p in zip(study.antibodies["titre"], study.antibodies["pattern"], strict=True)]
        res = classify_ipaf(IpafInput.from_mapping(row, tests), DEFAULT)
        assert _item(res, "serologic", "ana").met is met, code


# --- several histology findings ---------------------------------------------------------------------


def test_several_biopsy_findings_load_in_one_cell(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][0]["biopsy_pattern"] = "UIP; lymphoid aggregates with germinal centres"
    tables["patients"][1]["biopsy_pattern"] = "uip;other; UIP"  # duplicates kept once
    tables["patients"][2]["biopsy_pattern"] = "NSIP + OP"
    folder = write_csv_study(tmp_path / "study", tables)
    p = load_study(folder).patients.set_index("patient_id")["biopsy_pattern"]
    assert p.to_dict() == {"P01": "uip;lymphoid_aggregates_germinal_centres", "P02": "uip;other", "P03": "nsip_op"}


def test_bad_or_contradictory_findings_are_errors(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][0]["biopsy_pattern"] = "nsip; granuloma"
    tables["patients"][1]["biopsy_pattern"] = "not done; nsip"
    folder = write_csv_study(tmp_path / "study", tables)
    errors = validate_path(folder).errors
    assert [(i.row, i.column, i.rule) for i in errors] == [(2, "biopsy_pattern", "category"),
                                                           (3, "biopsy_pattern", "category")]
    assert "'granuloma' is not an accepted value" in errors[0].message
    assert "not_done" in errors[1].message


@pytest.mark.parametrize(("findings", "met"), [
    ("uip;lymphoid_aggregates_germinal_centres", True),  # any qualifying finding meets the item
    (("lymphoplasmacytic_infiltration", "uip"), True),
    ("uip;other", False),
    ("uip", False),
    ("not_done", False),
    (None, None),
])
def test_histology_item_met_if_any_finding_qualifies(findings: object, met: bool | None) -> None:
    res = classify_ipaf(_ipaf_ready(biopsy_pattern=findings), DEFAULT)
    assert _item(res, "morphologic", "biopsy_pattern").met is met


def test_not_done_with_a_finding_is_refused_by_the_rule() -> None:
    with pytest.raises(RuleInputError, match="not_done"):
        _ipaf_ready(biopsy_pattern="not_done;nsip")
    with pytest.raises(RuleInputError, match="granuloma"):
        _ipaf_ready(biopsy_pattern="nsip;granuloma")


# --- screening.csv ------------------------------------------------------------------------------------


def test_screening_csv_has_antibody_both_and_analysed(tmp_path: Path) -> None:
    tables = tiny_tables()
    # P01 has anti-Jo-1 (an MSA); an anti-Ro52 (an MAA) on the same day makes it "both".
    tables["antibodies"].append({"patient_id": "P01", "test_date": "2020-01-10", "antibody": "Ro52",
                                 "result": "positive"})
    folder = write_csv_study(tmp_path / "study", tables)
    out = tmp_path / "screen"
    assert main(["screen", str(folder), "--out", str(out)]) == 0
    with open(out / "screening.csv", encoding="utf-8", newline="") as handle:
        rows = {r["patient_id"]: r for r in csv.DictReader(handle)}
    assert "eligible" not in rows["P01"]
    assert {pid: r["antibody_both"] for pid, r in rows.items()} == {"P01": "True", "P02": "False", "P03": "False"}
    assert all(r["analysed"] in ("True", "False") for r in rows.values())
    assert all((r["analysed"] == "True") == (r["exclusion_step"] == "") for r in rows.values())
