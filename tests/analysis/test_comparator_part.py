"""The comparator part (analysis/comparator.py) on hand-built cohorts; the expected numbers are worked by hand.

With ONE binary covariate (sex) the logistic propensity model is saturated: its fitted PS is the share treated
within each sex (maximum likelihood of a saturated model), so the overlap weights and the weighted means can be
written down by hand.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from pathlib import Path

import pytest

from ipafstudy.analysis import comparator
from ipafstudy.analysis.additional import PartContext
from ipafstudy.analysis.dataset import analysis_dataset
from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.study import _Notes
from ipafstudy.cohort.build import build_cohort
from ipafstudy.errors import InvalidOptionError
from ipafstudy.settings import ClinicalSettings

_spec = importlib.util.spec_from_file_location("cohort_helpers", Path(__file__).parents[1] / "cohort" / "conftest.py")
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)  # type: ignore[union-attr]

D = dt.date
CUTOFF = D(2024, 12, 31)


def treated(pid: str, ggo: int, ggo_fu: int, sex: str) -> dict:
    """hrct_total: baseline 6 (ggo + 1), follow-up 6 ggo_fu -> change 6 (ggo_fu - ggo - 1)."""
    return helpers.full_patient(pid, D(2023, 1, 10), None, ggo=ggo, ggo_fu=ggo_fu, sex=sex)


def untreated(pid: str, ggo: int, ggo_fu: int, sex: str) -> dict:
    return {"patients": [helpers.patient(pid, sex=sex)],
            "antibodies": [{"patient_id": pid, "test_date": D(2022, 3, 1), "antibody": "ANA", "result": "negative"}],
            "hrct_reads": helpers.scan(pid, D(2022, 3, 10), {"ggo": ggo, "consolidation": 1})
            + helpers.scan(pid, D(2022, 9, 10), {"ggo": ggo_fu})}


def run(parts: list[dict], section: dict | None = None, notes: _Notes | None = None):
    plan = plan_from_dict({"clinical": {"data_cutoff_date": CUTOFF.isoformat()},
                           "additional": {"comparator": {"covariates": ["sex"], "bootstrap": 200,
                                                         **(section or {})}}})
    cohort = build_cohort(helpers.merge(*parts), ClinicalSettings(data_cutoff_date=CUTOFF))
    notes = notes if notes is not None else _Notes()
    return comparator.run(PartContext(analysis_dataset(cohort, plan), plan, cohort, notes)), notes


# Treated: T1 female change -6, T2 female -12, T3 male 0. Comparators: C1 female -6, C2 male 0, C3 male +6.
ARMS = [treated("T1", 2, 2, "female"), treated("T2", 3, 2, "female"), treated("T3", 1, 2, "male"),
        untreated("C1", 2, 2, "female"), untreated("C2", 1, 2, "male"), untreated("C3", 0, 2, "male")]


def test_overlap_weights_worked_by_hand():
    res, _ = run(ARMS)
    assert (res.n_treated, res.n_control) == (3, 3)
    # PS: female 2/3 (two of three treated), male 1/3. Overlap weights: treated 1 - PS, comparator PS.
    # treated: (-6/3 - 12/3 + 0 * 2/3) / (1/3 + 1/3 + 2/3) = -6 / (4/3) = -4.5
    # comparator: (-6 * 2/3 + 0/3 + 6/3) / (2/3 + 1/3 + 1/3) = -2 / (4/3) = -1.5
    row = next(o for o in res.outcomes if o.code == "hrct_total")
    assert row.mean_treated == pytest.approx(-4.5, abs=1e-9)
    assert row.mean_control == pytest.approx(-1.5, abs=1e-9)
    assert row.difference == pytest.approx(-3.0, abs=1e-9)
    assert row.unweighted_difference == pytest.approx(-6.0 - 0.0, abs=1e-12)  # -18/3 minus 0/3
    assert row.ci_low <= row.difference <= row.ci_high
    # Kish ESS of the treated weights (1/3, 1/3, 2/3): (4/3)^2 / (6/9) = 8/3
    assert row.ess_treated == pytest.approx(8 / 3, abs=1e-9)
    ds = res.dataset.set_index("patient_id")
    assert ds.loc["T1", "ps"] == pytest.approx(2 / 3, abs=1e-7) and ds.loc["T3", "weight"] == pytest.approx(2 / 3,
                                                                                                           abs=1e-7)
    assert ds.loc["C2", "weight"] == pytest.approx(1 / 3, abs=1e-7)
    assert ds.loc["C1", "index_date"] == "2022-03-10" and ds.loc["T1", "index_date"] == "2023-01-10"
    assert list(ds["arm"]) == ["treated"] * 3 + ["comparator"] * 3


def test_smd_before_and_after_by_hand():
    res, _ = run(ARMS)
    (row,) = res.balance
    # male: 1/3 treated, 2/3 comparator; denominator sqrt((2/9 + 2/9) / 2) = sqrt(2)/3 -> SMD = -1/sqrt(2)
    assert row.smd_before == pytest.approx(-1 / math.sqrt(2), abs=1e-9)
    assert row.smd_after == pytest.approx(0.0, abs=1e-9)  # overlap weights balance a model term exactly
    assert row.label == "Sex: male"


def test_iptw_option_by_hand():
    res, _ = run(ARMS, {"weighting": "iptw"})
    # IPTW: treated 1/PS (female 3/2, male 3), comparator 1/(1 - PS) (female 3, male 3/2)
    # treated: (-6 * 3/2 - 12 * 3/2 + 0) / 6 = -4.5; comparator: (-6 * 3 + 0 + 6 * 3/2) / 6 = -1.5
    row = next(o for o in res.outcomes if o.code == "hrct_total")
    assert (row.mean_treated, row.mean_control) == (pytest.approx(-4.5), pytest.approx(-1.5))
    assert res.weighting == "iptw"


def test_one_patient_per_arm_is_skipped_with_a_note():
    res, notes = run([treated("T1", 2, 2, "female"), untreated("C1", 2, 2, "male")])
    assert res is None
    assert any("1 treated and 1 untreated" in n and "at least 2 per arm" in n for n in notes.items)


def test_no_comparator_is_skipped_with_a_note():
    res, notes = run(ARMS[:3])
    assert res is None and any("0 untreated" in n for n in notes.items)


def test_separation_is_a_note_not_a_crash():
    # every treated patient female, every comparator male: sex separates the arms
    res, notes = run([treated("T1", 2, 2, "female"), treated("T2", 3, 2, "female"),
                      untreated("C2", 1, 2, "male"), untreated("C3", 0, 2, "male")])
    assert res is None and any("propensity model" in n and "sex" in n for n in notes.items)


def test_outcome_with_too_few_changes_is_skipped_and_named():
    res, notes = run(ARMS, {"outcomes": ["hrct_total", "crp"]})
    assert [o.code for o in res.outcomes] == ["hrct_total"] and res.skipped_outcomes == ("crp",)
    assert any("CRP: not compared" in n for n in notes.items)


def test_seeded_and_deterministic():
    a, _ = run(ARMS)
    b, _ = run(ARMS)
    c, _ = run(ARMS, {"seed": 99})
    assert a.to_dict() == b.to_dict()
    assert a.seed != c.seed


@pytest.mark.parametrize(("section", "words"), [
    ({"covariates": ["bogus"]}, "additional.comparator.covariates"),
    ({"covariates": []}, "additional.comparator.covariates"),
    ({"covariates": ["crp_baseline", "nope_baseline"]}, "additional.comparator.covariates[1]"),
    ({"outcomes": ["nope"]}, "additional.comparator.outcomes[0]"),
    ({"weighting": "ipw"}, "additional.comparator.weighting"),
    ({"stabilized": True}, "iptw"),
    ({"bootstrap": 10}, "additional.comparator.bootstrap"),
])
def test_plan_problems_name_their_key(section, words):
    with pytest.raises(InvalidOptionError) as exc:
        plan_from_dict({"additional": {"comparator": section}})
    assert words in str(exc.value)
