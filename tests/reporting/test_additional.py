"""The "Additional analyses" section is appended: the reference study's tables and figures stay byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docx import Document

from ipafstudy.cli import main
from ipafstudy.data.synth import generate_cohort, write_cohort

BASE_PLAN = "statistics:\n  bootstrap_resamples: 300\n  seed: 42\nfigures:\n  dpi: 72\n"
OFF = ("additional:\n  slopes:\n    enabled: false\n  power:\n    enabled: false\n  time_to_event:\n"
       "    enabled: false\n  incidence:\n    enabled: false\n  comparator:\n    enabled: false\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("additional")
    data = root / "data"
    write_cohort(generate_cohort(seed=11, n_screened=150), data)
    out = {}
    for name, text in (("on", BASE_PLAN), ("off", BASE_PLAN + OFF)):
        plan = root / f"{name}.yaml"
        plan.write_text(text, encoding="utf-8")
        out[name] = root / name
        assert main(["analyze", str(data), "--out", str(out[name]), "--plan", str(plan), "--quiet"]) == 0
    return out


def _files(d: Path, folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((d / folder).iterdir())}


def test_reference_tables_and_figures_are_unchanged_by_the_section(runs):
    on_tables, off_tables = _files(runs["on"], "tables"), _files(runs["off"], "tables")
    assert "additional_slopes.csv" in on_tables and not any(k.startswith("additional") for k in off_tables)
    assert {k: v for k, v in on_tables.items() if not k.startswith("additional")} == off_tables
    on_figs, off_figs = _files(runs["on"], "figures"), _files(runs["off"], "figures")
    assert {k: v for k, v in on_figs.items() if k in off_figs} == off_figs
    on_json, off_json = (json.loads((runs[k] / "results.json").read_text()) for k in ("on", "off"))
    assert set(on_json["additional"]) >= {"slopes", "power", "notes"}
    assert not set(off_json["additional"]) - {"notes"}
    for key in on_json:
        if key not in ("additional", "plan"):
            assert on_json[key] == off_json[key], key


def test_section_comes_after_the_results_with_continued_numbers(runs):
    doc = Document(str(runs["on"] / "report.docx"))
    texts = [p.text for p in doc.paragraphs]
    assert "Additional analyses" in texts
    start = texts.index("Additional analyses")
    assert start > texts.index("Adverse events") and start < texts.index("Supplementary material")
    caption = next(t for t in texts if t.startswith("Table 7."))
    assert caption == "Table 7. Rate of change per year over all visits"
    assert texts.index(caption) > start
    assert "Additional analyses" not in [p.text for p in Document(str(runs["off"] / "report.docx")).paragraphs]


def test_methods_sentences_are_built_from_the_fitted_models(runs):
    result = json.loads((runs["on"] / "results.json").read_text())["additional"]["slopes"]
    html = (runs["on"] / "report.html").read_text(encoding="utf-8")
    primary = next(r for r in result["rows"] if r["code"] == "hrct_total")
    slope = primary["overall"]["slope"]["estimate"]
    assert f"{abs(slope):.2f} points per year" in html
    assert f"{primary['n_patients_overall']} patients, {primary['n_values_overall']} values" in html
    assert "restricted maximum likelihood (REML)" in html and "Wald z" in html


def test_xlsx_has_the_section_sheets_last(runs):
    from openpyxl import load_workbook

    on = load_workbook(runs["on"] / "tables.xlsx").sheetnames
    off = load_workbook(runs["off"] / "tables.xlsx").sheetnames
    # slopes, power, time to event, incidence, comparator balance and effect
    assert on[:len(off)] == off and len(on) == len(off) + 6


def test_power_part_table_figure_and_sentences(runs):
    result = json.loads((runs["on"] / "results.json").read_text())["additional"]["power"]
    files = {p.name for p in (runs["on"] / "figures").iterdir()}
    assert {"figureA_power_curve.png", "figureA_power_curve.svg"} <= files
    doc = Document(str(runs["on"] / "report.docx"))
    texts = [p.text for p in doc.paragraphs]
    assert "Table 8. Sample size for a randomised trial on total HRCT score" in texts
    assert any(t.startswith("Figure 4. Power for a randomised trial.") for t in texts)
    first = result["sizes"][0]
    html = (runs["on"] / "report.html").read_text(encoding="utf-8")
    assert f"a trial needs {first['t_test']['n_per_arm']} patients per arm by the t test" in html
    csv = (runs["on"] / "tables" / "additional_power.csv").read_text(encoding="utf-8")
    assert str(first["t_test"]["n_per_arm"]) in csv and "Noether" in csv


def test_safety_parts_in_the_section(runs):
    on_tables = _files(runs["on"], "tables")
    assert {"additional_time_to_event.csv", "additional_incidence.csv"} <= set(on_tables)
    assert {"figureA_kaplan_meier.png", "figureA_kaplan_meier.svg"} <= set(_files(runs["on"], "figures"))
    texts = [p.text for p in Document(str(runs["on"] / "report.docx")).paragraphs]
    assert "Table 9. Time to event during tacrolimus treatment (Kaplan-Meier)" in texts
    assert "Table 10. Exposure-adjusted incidence of adverse events during tacrolimus treatment" in texts
    assert any(t.startswith("Figure 5. Time to tacrolimus discontinuation") for t in texts)
    result = json.loads((runs["on"] / "results.json").read_text())["additional"]
    assert {"time_to_event", "incidence"} <= set(result)
    html = (runs["on"] / "report.html").read_text(encoding="utf-8")
    assert "Brookmeyer-Crowley" in html and "Garwood" in html
    off = json.loads((runs["off"] / "results.json").read_text())["additional"]
    assert "time_to_event" not in off and "incidence" not in off


def test_comparator_part_in_the_section(runs):
    """Tables, love plot, dataset for R and sentences built from the results, labelled observational."""
    import pandas as pd

    result = json.loads((runs["on"] / "results.json").read_text())["additional"]["comparator"]
    assert "dataset" not in result
    assert {"additional_comparator_balance.csv", "additional_comparator_effect.csv"} <= set(_files(runs["on"],
                                                                                                   "tables"))
    assert {"figureA_love_plot.png", "figureA_love_plot.svg"} <= set(_files(runs["on"], "figures"))
    texts = [p.text for p in Document(str(runs["on"] / "report.docx")).paragraphs]
    assert "Untreated comparator: an observational target-trial emulation" in texts
    assert any(t.startswith("Table 11. Covariate balance") for t in texts)
    assert any(t.startswith("Table 12. Weighted difference in change") for t in texts)
    assert any(t.startswith("Figure 6. Covariate balance before and after weighting.") for t in texts)
    html = (runs["on"] / "report.html").read_text(encoding="utf-8")
    for words in ("observational", "target-trial emulation", "not a randomised", "unmeasured",
                  f"{result['bootstrap']} replicates", f"seed {result['seed']}"):
        assert words in html, words
    primary = next(o for o in result["outcomes"] if o["code"] == result["primary_outcome"])
    diff = f"{abs(primary['difference']):.2f}"
    sign = "\u2212" if primary["difference"] < 0 else ""
    assert f"change was {sign}{diff}" in html
    assert f"Of {result['n_candidates']} untreated IPAF patients, {result['n_control']} formed the comparator" in html
    effect = pd.read_csv(runs["on"] / "tables" / "additional_comparator_effect.csv", dtype=str)
    assert len(effect) == len(result["outcomes"]) and f"{primary['difference']:.2f}" in set(effect.iloc[:, 4])
    ds = pd.read_csv(runs["on"] / "comparator_dataset.csv")
    assert list(ds.columns[:4]) == ["patient_id", "arm", "treated", "index_date"]
    assert {"ps", "weight"} <= set(ds.columns)
    assert (ds["treated"] == 1).sum() >= result["n_treated"] and (ds["treated"] == 0).sum() >= result["n_control"]
    assert not (runs["off"] / "comparator_dataset.csv").exists()
    with_w = ds.dropna(subset=["weight"])
    assert ((with_w["weight"] - (1 - with_w["ps"]).where(with_w["treated"] == 1, with_w["ps"])).abs() < 1e-12).all()
