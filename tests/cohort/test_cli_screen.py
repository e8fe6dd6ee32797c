"""screen CLI pieces that need no generated data: the settings file and output refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from ipafstudy.cohort.outputs import load_settings
from ipafstudy.errors import InvalidOptionError


def test_settings_yaml_plain_and_plan_section(tmp_path):
    plain = tmp_path / "s.yaml"
    plain.write_text("baseline_window_days: 60\ndata_cutoff_date: 2024-06-30\n")
    s = load_settings(str(plain))
    assert s.baseline_window_days == 60 and s.data_cutoff_date == dt.date(2024, 6, 30)
    plan = tmp_path / "plan.yaml"
    plan.write_text("clinical:\n  follow_up_rule: latest_per_measure\noutcomes: [hrct_total]\n")
    assert load_settings(str(plan)).follow_up_rule == "latest_per_measure"
    assert load_settings(None).baseline_window_days == 90


def test_unknown_setting_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("baseline_window: 60\n")
    with pytest.raises(InvalidOptionError, match="baseline_window"):
        load_settings(str(bad))
    worse = tmp_path / "list.yaml"
    worse.write_text("- 1\n- 2\n")
    with pytest.raises(InvalidOptionError, match="mapping"):
        load_settings(str(worse))


def test_plan_outcomes_are_used(tmp_path):
    from ipafstudy.cohort.outputs import load_outcomes

    plan = tmp_path / "plan.yaml"
    plan.write_text("outcomes:\n  - code: crp\n    label: CRP\n  - code: hrct_total\nprimary_outcome: crp\n"
                    "min_age: 21\n")
    assert load_outcomes(str(plan)) == {"outcomes": ["crp", "hrct_total"], "primary_outcome": "crp"}
    assert load_settings(str(plan)).min_age == 21
    assert load_outcomes(None) == {}
