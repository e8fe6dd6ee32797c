"""The extract of a synthetic CDM, read by today's pipeline, gives the synthetic truth.

The truth file of ``omop.synth`` is computed from the planted facts by ``rules.ipaf.classify_ipaf`` (never from the
CDM rows), so it is an independent reference: the study's own screen (``load_study`` + ``build_cohort``) on the
extracted CSV folder must give every ILD person the IPAF status of the truth (under both readings of a missing
feature), and the extracted tacrolimus courses must start on the truth's first start.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.omop.extract import write_extract
from ipafstudy.omop.synth import truth_frame, truth_path, write_synthetic_cdm
from ipafstudy.settings import ClinicalSettings

PERSONS = 3000


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    db = write_synthetic_cdm(root / "cdm.duckdb", PERSONS, 11)
    truth = truth_frame(json.loads(truth_path(db).read_text()))
    truth.index = truth.index.astype(str)
    summary = write_extract(db, root / "data")
    return root / "data", truth, summary


@pytest.mark.parametrize(("meaning", "column"), [("unknown", "status"), ("absent", "status_missing_absent")])
def test_study_screen_of_the_extract_equals_the_truth(extracted, meaning, column):
    folder, truth, summary = extracted
    study = load_study(folder)
    ild = truth[truth["ild"]]
    assert summary.persons == len(ild) > 50
    cohort = build_cohort(study, ClinicalSettings(missing_feature_means=meaning))
    got = pd.Series({pid: c.status for pid, c in cohort.classifications.items()})
    assert sorted(got.index) == sorted(ild.index)
    assert set(got) == {"ipaf", "not_ipaf"} | ({"indeterminate"} if meaning == "unknown" else set())
    assert (got.loc[ild.index] == ild[column]).all(), (got.loc[ild.index] != ild[column]).sum()


def test_tacrolimus_courses_start_as_the_truth_says(extracted):
    folder, truth, _ = extracted
    t = pd.read_csv(folder / "treatments.csv", dtype=str)
    first = t[t["drug"] == "tacrolimus"].groupby("patient_id")["start_date"].min()
    exposed = truth[truth["ild"] & truth["tacrolimus_exposed"]]
    assert len(exposed) > 10
    assert sorted(first.index) == sorted(exposed.index)
    assert (first.loc[exposed.index] == exposed["tacrolimus_first_start"]).all()
