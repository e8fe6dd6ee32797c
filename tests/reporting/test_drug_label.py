"""Issue 11 item 1: every text takes the study drug's label from the plan's exposure section."""

from __future__ import annotations

import re
import zipfile
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
    # Every text output, the DOCX and XLSX XML included: only the measured tacrolimus trough (its column, label and
    # Table 1 section) and the flow step's code no_tacrolimus (a key, not a text) may name tacrolimus.
    allowed = re.compile(r"tacrolimus_trough_median|Tacrolimus trough \(patient median\)|"
                         r">Tacrolimus<|\"section\": \"Tacrolimus\"|^Tacrolimus,|\"no_tacrolimus\"", re.M)
    out = tmp_path / "out"
    texts = {f.name: f.read_text(encoding="utf-8") for f in out.rglob("*")
             if f.suffix in {".html", ".csv", ".json", ".svg", ".txt", ".md"}}
    for name in ("report.docx", "tables.xlsx"):
        with zipfile.ZipFile(out / name) as z:
            texts.update({f"{name}:{n}": z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")})
    assert len(texts) > 10
    left = {name: re.findall(r".{0,30}tacrolimus.{0,30}", allowed.sub("", text), flags=re.I)
            for name, text in texts.items()}
    assert {name: found for name, found in left.items() if found} == {}


def test_a_drug_without_courses_stops_with_the_plan_key(renamed: Path) -> None:
    plan = plan_from_dict({"exposure": {"drug": "ciclosporin", "names": ["ciclosporin", "Neoral"]}})
    with pytest.raises(PlanProblemsError, match=r"exposure.names: no treatments row matches the drug 'ciclosporin'"):
        run_study(load_study(renamed), plan)


def test_texts_that_name_the_drug_are_templates() -> None:
    """The texts are written with a {drug} place, not with 'tacrolimus' swapped out later by string replacement."""
    from ipafstudy.analysis.plan import COVARIATE_PREDICTORS, AnalysisPlan, variable_label
    from ipafstudy.analysis.table1_catalogue import PATIENT_VARIABLES
    from ipafstudy.cohort.screening import MISS_CAUSE_LABELS
    from ipafstudy.reporting.tables import FOLLOW_UP_RULE_WORDS
    from ipafstudy.settings import describe_settings, setting_doc

    templates = [*FOLLOW_UP_RULE_WORDS.values(), *MISS_CAUSE_LABELS.values(), *COVARIATE_PREDICTORS.values()]
    templates += [v.label for v in PATIENT_VARIABLES.values()]
    templates += [doc for _, _, doc in describe_settings(drug="{drug}")]
    assert not [t for t in templates if "tacrolimus" in t.lower() and "trough" not in t.lower()]
    assert sum("{drug}" in t for t in templates) >= 10
    assert setting_doc("min_age", "mycophenolate") == "Minimum age in years at mycophenolate start."
    assert setting_doc("min_age") == "Minimum age in years at tacrolimus start."  # the default report's words
    plan = plan_from_dict({"exposure": {"drug": "mmf", "label": "mycophenolate", "names": ["MMF"]}})
    assert variable_label("age_at_start", plan) == "Age at mycophenolate start, years"
    assert variable_label("age_at_start", AnalysisPlan()) == "Age at tacrolimus start, years"
    assert plan.table1_variables()[0].label == "Age at mycophenolate start, years"  # Table 1 row
    assert AnalysisPlan().table1_variables()[0].label == "Age at tacrolimus start, years"
