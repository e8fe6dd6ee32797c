"""ClinicalSettings: defaults as written in shared/spec/clinical-rules.md, validation of values."""

import datetime as dt

import pytest

from ipafstudy.errors import InvalidOptionError, check_option
from ipafstudy.settings import ClinicalSettings, describe_settings


def test_defaults_match_the_clinical_spec():
    s = ClinicalSettings()
    # Each literal below is the default printed in clinical-rules.md, section by section.
    assert s.ro52_alone_counts_as_ssa is False
    assert s.missing_feature_means == "unknown"
    assert s.antibody_group_precedence == "msa"
    assert s.adjudication_grade_gap == 1
    assert s.adjudication_percent_gap == 25
    assert s.consensus_rule == "mean_then_adjudicator"
    assert s.min_exposure_days == 90
    assert s.min_age == 18
    assert s.baseline_window_days == 90
    assert s.baseline_includes_start_day is True
    assert s.follow_up_rule == "latest_complete_visit"
    assert s.hypomagnesemia_mmol_l == pytest.approx(0.70)
    assert s.renal_rule == "kdigo"


def test_every_setting_is_documented():
    described = describe_settings()
    assert len(described) == len(ClinicalSettings().to_dict())
    assert all(doc.strip() for _, _, doc in described)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("missing_feature_means", "maybe"),
        ("antibody_group_precedence", "maa"),
        ("consensus_rule", "median"),
        ("follow_up_rule", "first"),
        ("renal_rule", "rifle"),
    ],
)
def test_bad_choice_names_the_setting_and_value(name, value):
    with pytest.raises(InvalidOptionError, match=rf"{name}={value!r}"):
        ClinicalSettings(**{name: value})


@pytest.mark.parametrize("name", ["adjudication_grade_gap", "min_exposure_days", "baseline_window_days"])
def test_negative_counts_are_rejected(name):
    with pytest.raises(InvalidOptionError, match=name):
        ClinicalSettings(**{name: -1})


@pytest.mark.parametrize("gap", [-0.1, 100.5])
def test_percent_gap_outside_0_100_is_rejected(gap):
    with pytest.raises(InvalidOptionError, match="adjudication_percent_gap"):
        ClinicalSettings(adjudication_percent_gap=gap)


def test_from_dict_round_trip_and_unknown_key():
    s = ClinicalSettings(min_age=16, data_cutoff_date=dt.date(2025, 6, 30))
    assert ClinicalSettings.from_dict(s.to_dict()) == s
    assert s.to_dict()["data_cutoff_date"] == "2025-06-30"
    with pytest.raises(InvalidOptionError, match="min_agee"):
        ClinicalSettings.from_dict({"min_agee": 16})


def test_check_option_message_lists_allowed_values():
    with pytest.raises(InvalidOptionError, match=r"f\(\): x='c' is not valid; expected one of 'a', 'b'"):
        check_option("f", "x", "c", ("b", "a"))
    check_option("f", "x", "a", ("a", "b"))  # no error
