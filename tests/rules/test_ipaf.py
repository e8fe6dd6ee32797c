"""IPAF classification (clinical-rules.md s.1): every case worked by hand from the ERS/ATS statement."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from ipafstudy.data import schema
from ipafstudy.rules.common import RuleInputError
from ipafstudy.rules.ipaf import (
    ANA_PATTERNS,
    ANTIBODY_RESULTS,
    BIOPSY_PATTERNS,
    CLINICAL_FIELDS,
    HRCT_PATTERNS,
    MORPHOLOGIC_ITEMS,
    SEROLOGIC_ITEMS,
    AntibodyTest,
    IpafInput,
    classify_ipaf,
)
from ipafstudy.settings import ClinicalSettings

DEFAULT = ClinicalSettings()
ABSENT = ClinicalSettings(missing_feature_means="absent")
RO52_COUNTS = ClinicalSettings(ro52_alone_counts_as_ssa=True)


def neg(name: str) -> AntibodyTest:
    return AntibodyTest(name, "negative")


def pos(name: str, **kw) -> AntibodyTest:
    return AntibodyTest(name, "positive", **kw)


# One negative test for each serologic item: the serologic domain is then fully "not met".
NEGATIVE_PANEL = tuple(
    neg(n) for n in ("ANA", "RF", "CCP", "dsDNA", "Ro60", "La", "RNP", "Sm", "Scl-70", "Jo-1", "PM-Scl", "MDA-5")
)


def patient(antibodies=NEGATIVE_PANEL, **kw) -> IpafInput:
    """Entry requirements met, every feature recorded absent (UIP on HRCT, no biopsy), unless overridden."""
    base = dict(
        patient_id="P1",
        interstitial_pneumonia=True,
        alternative_etiology_excluded=True,
        defined_ctd=False,
        hrct_pattern="uip",
        biopsy_pattern="not_done",
        **{f: False for f in CLINICAL_FIELDS},
        pleural_involvement=False,
        pericardial_involvement=False,
        airways_disease=False,
        pulmonary_vasculopathy=False,
    )
    base.update(kw)
    return IpafInput(antibodies=tuple(antibodies), **base)


def with_test(test: AntibodyTest) -> tuple[AntibodyTest, ...]:
    """The negative panel with the test of the same antibody replaced."""
    return (*(t for t in NEGATIVE_PANEL if t.name != test.name), test)


def item(res, domain: str, name: str):
    return next(o for o in res.domains[domain].items if o.item == name)


# --- baseline -------------------------------------------------------------------------------


def test_all_features_absent_is_not_ipaf_with_reason():
    res = classify_ipaf(patient(), DEFAULT)
    assert res.status == "not_ipaf"
    assert [res.domains[d].met for d in ("clinical", "serologic", "morphologic")] == [False, False, False]
    assert "fewer than two domains" in res.reason
    assert res.combination is None
    assert res.deciding_items == ("clinical", "serologic", "morphologic")


# --- one case per clinical item ----------------------------------------------------------------


@pytest.mark.parametrize("field", CLINICAL_FIELDS)
def test_each_clinical_item_with_morphology_is_ipaf(field):
    res = classify_ipaf(patient(**{field: True}, hrct_pattern="nsip"), DEFAULT)
    assert res.domains["clinical"].items_met == (field,)
    assert res.status == "ipaf"
    assert res.combination == "clinical + morphologic"
    assert res.deciding_items == (f"clinical.{field}", "morphologic.hrct_pattern")


@pytest.mark.parametrize("field", CLINICAL_FIELDS)
def test_clinical_item_alone_is_one_domain_only(field):
    res = classify_ipaf(patient(**{field: True}), DEFAULT)
    assert res.domains["clinical"].met is True
    assert res.status == "not_ipaf"
    assert "met: clinical" in res.reason


# --- one case per serologic item ---------------------------------------------------------------

SEROLOGY_POSITIVE = [
    ("ana", pos("ANA", titre=320, pattern="homogeneous")),
    ("rf", pos("RF", value=60.0, upper_limit_normal=20.0)),
    ("anti_ccp", pos("CCP")),
    ("anti_dsdna", pos("dsDNA")),
    ("anti_ro", pos("Ro60")),
    ("anti_ro", pos("SSA")),
    ("anti_la", pos("La")),
    ("anti_rnp", pos("RNP")),
    ("anti_smith", pos("Sm")),
    ("anti_scl70", pos("Scl-70")),
    *[("anti_trna_synthetase", pos(n)) for n in ("Jo-1", "PL-7", "PL-12", "EJ", "OJ", "KS", "Zo", "YRS")],
    ("anti_pm_scl", pos("PM-Scl")),
    ("anti_mda5", pos("MDA-5")),
]


@pytest.mark.parametrize(("item_name", "test"), SEROLOGY_POSITIVE, ids=lambda x: getattr(x, "name", x))
def test_each_serologic_item_with_morphology_is_ipaf(item_name, test):
    res = classify_ipaf(patient(antibodies=with_test(test), pleural_involvement=True), DEFAULT)
    assert res.domains["serologic"].items_met == (item_name,)
    assert res.status == "ipaf"
    assert res.combination == "serologic + morphologic"


def test_serologic_items_are_the_twelve_of_the_statement():
    assert len(SEROLOGIC_ITEMS) == 12
    assert {i for i, _ in SEROLOGY_POSITIVE} == set(SEROLOGIC_ITEMS)


# --- one case per morphologic item -------------------------------------------------------------

MORPHOLOGY_POSITIVE = [
    *[("hrct_pattern", {"hrct_pattern": p}) for p in ("nsip", "op", "nsip_op", "lip")],
    *[
        ("biopsy_pattern", {"biopsy_pattern": p})
        for p in ("nsip", "op", "nsip_op", "lip", "lymphoid_aggregates_germinal_centres",
                  "lymphoplasmacytic_infiltration")
    ],
    ("pleural_involvement", {"pleural_involvement": True}),
    ("pericardial_involvement", {"pericardial_involvement": True}),
    ("airways_disease", {"airways_disease": True}),
    ("pulmonary_vasculopathy", {"pulmonary_vasculopathy": True}),
]


@pytest.mark.parametrize(("item_name", "kw"), MORPHOLOGY_POSITIVE)
def test_each_morphologic_item_with_clinical_is_ipaf(item_name, kw):
    res = classify_ipaf(patient(raynaud=True, **kw), DEFAULT)
    assert res.domains["morphologic"].items_met == (item_name,)
    assert res.combination == "clinical + morphologic"


@pytest.mark.parametrize("hrct", ["uip", "other"])
@pytest.mark.parametrize("biopsy", ["uip", "other", "not_done"])
def test_non_suggestive_patterns_do_not_count(hrct, biopsy):
    res = classify_ipaf(patient(raynaud=True, hrct_pattern=hrct, biopsy_pattern=biopsy), DEFAULT)
    assert res.domains["morphologic"].met is False
    assert res.status == "not_ipaf"


# --- domain combinations -----------------------------------------------------------------------


def test_clinical_plus_serologic():
    res = classify_ipaf(patient(antibodies=with_test(pos("Jo-1")), mechanics_hands=True), DEFAULT)
    assert (res.status, res.combination) == ("ipaf", "clinical + serologic")


def test_all_three():
    res = classify_ipaf(
        patient(antibodies=with_test(pos("Jo-1")), mechanics_hands=True, hrct_pattern="nsip_op"), DEFAULT
    )
    assert (res.status, res.combination) == ("ipaf", "all three")
    assert res.deciding_items == ("clinical.mechanics_hands", "serologic.anti_trna_synthetase",
                                  "morphologic.hrct_pattern")


def test_serologic_alone_is_not_ipaf():
    res = classify_ipaf(patient(antibodies=with_test(pos("Jo-1"))), DEFAULT)
    assert res.status == "not_ipaf"
    assert res.deciding_items == ("clinical", "morphologic")


# --- UIP -----------------------------------------------------------------------------------------


def test_uip_qualifies_through_clinical_and_serologic():
    res = classify_ipaf(patient(antibodies=with_test(pos("PL-7")), raynaud=True, hrct_pattern="uip"), DEFAULT)
    assert item(res, "morphologic", "hrct_pattern").met is False
    assert "UIP" in item(res, "morphologic", "hrct_pattern").detail
    assert (res.status, res.combination) == ("ipaf", "clinical + serologic")


def test_uip_with_multicompartment_involvement_meets_morphologic():
    res = classify_ipaf(patient(antibodies=with_test(pos("PL-7")), hrct_pattern="uip",
                                pericardial_involvement=True), DEFAULT)
    assert res.domains["morphologic"].items_met == ("pericardial_involvement",)
    assert (res.status, res.combination) == ("ipaf", "serologic + morphologic")


def test_uip_without_multicompartment_and_only_serology_is_not_ipaf():
    res = classify_ipaf(patient(antibodies=with_test(pos("PL-7")), hrct_pattern="uip"), DEFAULT)
    assert res.domains["morphologic"].met is False
    assert res.status == "not_ipaf"


# --- ANA -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("titre", "pattern", "expected"),
    [
        (160, "speckled", False),  # below 1:320
        (320, "speckled", True),  # inclusive threshold
        (320, "homogeneous", True),
        (320, "diffuse", True),
        (640, "speckled", True),
        (80, "nucleolar", True),  # any titre
        (40, "centromere", True),
        (None, "nucleolar", True),
        (1280, "other", False),
        (320, None, None),  # pattern decides
        (160, None, None),  # could be nucleolar
        (None, "speckled", None),  # titre decides
        (None, None, None),
    ],
)
def test_ana_item(titre, pattern, expected):
    res = classify_ipaf(patient(antibodies=with_test(pos("ANA", titre=titre, pattern=pattern))), DEFAULT)
    assert item(res, "serologic", "ana").met is expected


@pytest.mark.parametrize("result", ["negative", "borderline"])
def test_ana_not_positive_does_not_count_even_with_pattern(result):
    test = AntibodyTest("ANA", result, titre=1280, pattern="nucleolar")
    res = classify_ipaf(patient(antibodies=with_test(test)), DEFAULT)
    assert item(res, "serologic", "ana").met is False


def test_ana_any_qualifying_test_wins_over_others():
    tests = (pos("ANA", titre=160, pattern="speckled"), pos("ANA", titre=640, pattern="speckled"))
    res = classify_ipaf(patient(antibodies=(*NEGATIVE_PANEL[1:], *tests)), DEFAULT)
    assert item(res, "serologic", "ana").met is True
    assert "1:640" in item(res, "serologic", "ana").detail


def test_ana_unknown_test_beats_negative_test():
    tests = (neg("ANA"), pos("ANA", titre=None, pattern="speckled"))
    res = classify_ipaf(patient(antibodies=(*NEGATIVE_PANEL[1:], *tests)), DEFAULT)
    assert item(res, "serologic", "ana").met is None


# --- RF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "uln", "result", "expected"),
    [
        (40.0, 20.0, "positive", True),  # exactly 2 x ULN: inclusive
        (39.9, 20.0, "positive", False),
        (28.0, 14.0, "positive", True),
        (0.2, 0.1, "positive", True),  # 2 x 0.1 == 0.2 in floating point too
        (100.0, 20.0, "positive", True),
        (25.0, 20.0, "positive", False),
        (None, 20.0, "positive", None),
        (45.0, None, "positive", None),
        (None, None, "positive", None),
        (None, None, "negative", False),
        (None, None, "borderline", False),
    ],
)
def test_rf_item(value, uln, result, expected):
    test = AntibodyTest("RF", result, value=value, upper_limit_normal=uln)
    res = classify_ipaf(patient(antibodies=with_test(test)), DEFAULT)
    assert item(res, "serologic", "rf").met is expected


# --- anti-Ro, Ro52 -------------------------------------------------------------------------------


def test_isolated_ro52_reported_but_not_counted_by_default():
    res = classify_ipaf(patient(antibodies=(*NEGATIVE_PANEL, pos("Ro52"))), DEFAULT)
    assert item(res, "serologic", "anti_ro").met is False  # Ro60 tested negative
    assert res.ro52_isolated is True
    assert res.to_row()["ro52_isolated"] == "yes"


def test_isolated_ro52_counts_with_setting():
    res = classify_ipaf(patient(antibodies=(*NEGATIVE_PANEL, pos("Ro52")), airways_disease=True), RO52_COUNTS)
    assert item(res, "serologic", "anti_ro").met is True
    assert res.ro52_isolated is True
    assert res.status == "ipaf"


def test_ro52_with_ro60_is_not_isolated():
    res = classify_ipaf(patient(antibodies=(*with_test(pos("Ro60")), pos("Ro52"))), DEFAULT)
    assert res.ro52_isolated is False
    assert item(res, "serologic", "anti_ro").met is True


def test_ro52_only_tested_leaves_anti_ro_unknown_by_default():
    panel = (*tuple(t for t in NEGATIVE_PANEL if t.name != "Ro60"), neg("Ro52"))
    res = classify_ipaf(patient(antibodies=panel), DEFAULT)
    assert item(res, "serologic", "anti_ro").met is None


def test_synthetase_panel_negative_lists_untested_members():
    res = classify_ipaf(patient(), DEFAULT)
    detail = item(res, "serologic", "anti_trna_synthetase").detail
    assert item(res, "serologic", "anti_trna_synthetase").met is False
    assert "not tested: EJ, KS, OJ, PL-12, PL-7, YRS, Zo" in detail


def test_borderline_antibody_is_not_positive():
    res = classify_ipaf(patient(antibodies=with_test(AntibodyTest("Jo-1", "borderline"))), DEFAULT)
    assert item(res, "serologic", "anti_trna_synthetase").met is False
    assert "borderline" in item(res, "serologic", "anti_trna_synthetase").detail


def test_untested_antibody_is_unknown():
    res = classify_ipaf(patient(antibodies=()), DEFAULT)
    assert res.domains["serologic"].met is None
    assert res.domains["serologic"].items_unknown == SEROLOGIC_ITEMS


# --- entry requirements --------------------------------------------------------------------------


def test_defined_ctd_is_not_ipaf_with_reason():
    res = classify_ipaf(patient(antibodies=with_test(pos("Jo-1")), raynaud=True, hrct_pattern="nsip",
                                defined_ctd=True), DEFAULT)
    assert res.status == "not_ipaf"
    assert "defined connective tissue disease" in res.reason
    assert res.deciding_items == ("no_defined_ctd",)
    assert res.combination is None
    assert res.domains["clinical"].met is True  # domains are still reported


@pytest.mark.parametrize(("field", "text"), [("interstitial_pneumonia", "no interstitial pneumonia"),
                                             ("alternative_etiology_excluded", "alternative etiology")])
def test_failed_entry_requirement(field, text):
    res = classify_ipaf(patient(raynaud=True, hrct_pattern="nsip", **{field: False}), DEFAULT)
    assert res.status == "not_ipaf"
    assert text in res.reason
    assert res.deciding_items == (field,)


def test_unknown_entry_with_two_domains_is_indeterminate():
    res = classify_ipaf(patient(raynaud=True, hrct_pattern="nsip", alternative_etiology_excluded=None), DEFAULT)
    assert res.status == "indeterminate"
    assert res.deciding_items == ("alternative_etiology_excluded",)
    assert "entry requirement(s) unknown" in res.reason


def test_unknown_entry_is_never_read_as_absent():
    res = classify_ipaf(patient(raynaud=True, hrct_pattern="nsip", defined_ctd=None), ABSENT)
    assert res.status == "indeterminate"
    assert res.deciding_items == ("no_defined_ctd",)


def test_failed_entry_beats_unknown_domains():
    res = classify_ipaf(IpafInput("P9", defined_ctd=True), DEFAULT)
    assert res.status == "not_ipaf"


# --- missing data --------------------------------------------------------------------------------


def test_all_missing_patient_is_indeterminate_with_deciding_items():
    res = classify_ipaf(IpafInput("P0"), DEFAULT)
    assert res.status == "indeterminate"
    expected = (
        "interstitial_pneumonia", "alternative_etiology_excluded", "no_defined_ctd",
        *(f"clinical.{f}" for f in CLINICAL_FIELDS),
        *(f"serologic.{s}" for s in SEROLOGIC_ITEMS),
        *(f"morphologic.{m}" for m in MORPHOLOGIC_ITEMS),
    )
    assert res.deciding_items == expected
    assert all(o.met is None for o in res.entry)


def test_all_missing_patient_with_absent_setting_is_not_ipaf():
    res = classify_ipaf(IpafInput("P0"), ABSENT)
    assert res.status == "not_ipaf"
    assert all(res.domains[d].met is False for d in res.domains)
    assert "read as absent" in res.domains["clinical"].items[0].detail


def test_one_domain_met_two_unknown_is_indeterminate_then_not_ipaf_when_absent():
    inp = IpafInput("P2", True, True, False, antibodies=(pos("MDA-5"),))
    res = classify_ipaf(inp, DEFAULT)
    assert res.status == "indeterminate"
    assert "clinical.raynaud" in res.deciding_items
    assert "morphologic.hrct_pattern" in res.deciding_items
    assert not any(d.startswith("serologic.") for d in res.deciding_items)  # serology is already met
    assert classify_ipaf(inp, ABSENT).status == "not_ipaf"


def test_one_unknown_domain_when_other_two_fail_is_not_ipaf():
    res = classify_ipaf(patient(antibodies=()), DEFAULT)  # clinical and morphologic recorded absent
    assert res.status == "not_ipaf"


def test_unknown_items_do_not_block_when_two_domains_already_met():
    res = classify_ipaf(patient(antibodies=(pos("Jo-1"),), raynaud=None, mechanics_hands=True), DEFAULT)
    assert res.status == "ipaf"
    assert res.domains["clinical"].items_unknown == ("raynaud",)


# --- output shapes -------------------------------------------------------------------------------


def test_to_row_is_flat_and_complete():
    res = classify_ipaf(patient(antibodies=with_test(pos("Jo-1")), raynaud=True), DEFAULT)
    row = res.to_row()
    assert row["status"] == "ipaf"
    assert row["combination"] == "clinical + serologic"
    assert row["entry_no_defined_ctd"] == "yes"
    assert row["domain_morphologic"] == "no"
    assert row["clinical_raynaud"] == "yes"
    assert row["serologic_anti_trna_synthetase"] == "yes"
    assert row["morphologic_hrct_pattern"] == "no"
    assert len(row) == 6 + 3 + 3 + len(CLINICAL_FIELDS) + len(SEROLOGIC_ITEMS) + len(MORPHOLOGIC_ITEMS)
    assert all(isinstance(v, str) for v in row.values())
    # identical column order for every patient (one CSV)
    assert list(classify_ipaf(IpafInput("X"), DEFAULT).to_row()) == list(row)


def test_to_dict_is_json_ready():
    res = classify_ipaf(IpafInput("P0"), DEFAULT)
    back = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert back["status"] == "indeterminate"
    assert back["domains"]["serologic"]["met"] is None


def test_deterministic():
    inp = patient(antibodies=with_test(pos("Jo-1")), raynaud=True)
    assert classify_ipaf(inp, DEFAULT) == classify_ipaf(inp, DEFAULT)


# --- inputs --------------------------------------------------------------------------------------


def test_value_sets_match_schema():
    # The data model uses the rules' own value sets (one definition, so they cannot drift apart).
    assert schema.PATIENTS.column("hrct_pattern").allowed is HRCT_PATTERNS
    assert schema.PATIENTS.column("biopsy_pattern").allowed is BIOPSY_PATTERNS
    assert schema.ANTIBODIES.column("pattern").allowed is ANA_PATTERNS
    assert schema.ANTIBODIES.column("result").allowed is ANTIBODY_RESULTS
    assert set(IpafInput.field_names()) <= set(schema.PATIENTS.column_names)


def test_from_mapping_reads_a_pandas_row():
    row = pd.Series({"patient_id": "P5", "raynaud": "yes", "hrct_pattern": float("nan"), "sex": "female",
                     "interstitial_pneumonia": "no", "defined_ctd": pd.NA})
    inp = IpafInput.from_mapping(row, [pos("Jo-1")])
    assert (inp.raynaud, inp.hrct_pattern, inp.interstitial_pneumonia, inp.defined_ctd) == (True, None, False, None)
    assert inp.mechanics_hands is None  # absent column = unknown
    assert inp.antibodies == (pos("Jo-1"),)


def test_bad_finding_names_patient_and_field():
    with pytest.raises(RuleInputError, match=r"raynaud of patient 'P7'.*'maybe'"):
        IpafInput("P7", raynaud="maybe")


def test_bad_hrct_pattern():
    with pytest.raises(RuleInputError, match=r"hrct_pattern.*'nsip\+op'"):
        IpafInput("P7", hrct_pattern="nsip+op")


def test_antibodies_must_be_tests():
    with pytest.raises(RuleInputError, match="AntibodyTest"):
        IpafInput("P7", antibodies=("Jo-1",))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "anti-Jo1", "result": "positive"}, "not canonical"),
        ({"name": "Jo-1", "result": "pos"}, "result 'pos'"),
        ({"name": "ANA", "result": "positive", "titre": 0}, "titre 0"),
        ({"name": "ANA", "result": "positive", "titre": 320.5}, "titre 320.5"),
        ({"name": "ANA", "result": "positive", "titre": "1:320"}, "titre '1:320'"),
        ({"name": "ANA", "result": "positive", "pattern": "mottled"}, "pattern 'mottled'"),
        ({"name": "RF", "result": "positive", "value": -1.0}, "must not be negative"),
        ({"name": "RF", "result": "positive", "value": 30.0, "upper_limit_normal": 0.0}, "ULN must be positive"),
    ],
)
def test_bad_antibody_tests(kwargs, message):
    with pytest.raises(RuleInputError, match=message):
        AntibodyTest(**kwargs)


def test_titre_given_as_float_is_read_as_whole_number():
    assert AntibodyTest("ANA", "positive", titre=320.0).titre == 320


def test_settings_are_not_modified():
    settings = ClinicalSettings()
    classify_ipaf(IpafInput("P0"), settings)
    assert settings == replace(ClinicalSettings())
