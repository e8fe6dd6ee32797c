"""Issue 11 item 1: every text takes the study drug's label from the plan's exposure section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.plancheck import PlanProblemsError
from ipafstudy.analysis.study import run_study
from ipafstudy.data.loaders import load_study
from ipafstudy.data.synth import copy_bundled
from ipafstudy.reporting.report import write_report


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled cohort with every tacrolimus course written as the brand 'Envarsus'."""
    folder = tmp_path_factory.mktemp("renamed")
    copy_bundled(folder)
    path = folder / "treatments.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",tacrolimus,", ",Envarsus,"), encoding="utf-8")
    return folder


def test_texts_name_the_plans_drug(renamed: Path, tmp_path: Path) -> None:
    plan = plan_from_dict({"title": "Drug X in IPAF", "exposure": {"drug": "envarsus", "label": "drug X",
                                                                   "names": ["Envarsus"]}})
    results = run_study(load_study(renamed), plan)
    write_report(results, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8").replace("\xa0", " ")  # print spaces
    # The only tacrolimus left is the measured tacrolimus trough (a laboratory variable) and its Table 1 section.
    left = set(re.findall(r"[^<>]{0,20}[Tt]acrolimus[^<>]{0,20}", html))
    assert left == {"Tacrolimus", "Tacrolimus trough (patient med"}, left
    for words in ("Outcomes at baseline and last follow-up on drug X", "Adverse events during drug X treatment",
                  "Treatment response to drug X", "at drug X start and received drug X for", "No drug X",
                  "min_exposure_days = 90: Minimum drug X exposure for eligibility", "Age at drug X start, years"):
        assert words in html, words


def test_a_drug_without_courses_stops_with_the_plan_key(renamed: Path) -> None:
    plan = plan_from_dict({"exposure": {"drug": "ciclosporin", "names": ["ciclosporin", "Neoral"]}})
    with pytest.raises(PlanProblemsError, match=r"exposure.names: no treatments row matches the drug 'ciclosporin'"):
        run_study(load_study(renamed), plan)
