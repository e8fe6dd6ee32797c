"""``ipafstudy analyze`` end to end on a generated cohort: files, one code path, reruns, guards, explain.

Expected numbers are recomputed here with ``ipafstudy.stats`` from ``analysis_dataset.csv`` as written,
and counts with plain pandas; nothing is compared with an earlier run's output except the rerun itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

from ipafstudy import stats
from ipafstudy.cli import main
from ipafstudy.data.synth import generate_cohort, write_cohort
from ipafstudy.reporting.docx import text_width_in
from ipafstudy.reporting.format import fmt_p

COMPARED = ("results.json", "analysis_dataset.csv", "report.docx", "report.html", "tables.xlsx")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    write_cohort(generate_cohort(seed=11, n_screened=150), data)
    plan = root / "plan.yaml"
    plan.write_text("statistics:\n  bootstrap_resamples: 300\n  seed: 42\nfigures:\n  dpi: 72\n", encoding="utf-8")
    out = {"first": root / "first", "second": root / "second"}
    assert main(["analyze", str(data), "--out", str(out["first"]), "--plan", str(plan), "--quiet"]) == 0
    # the rerun goes into a folder that already holds a file of the user's: --force keeps it
    out["second"].mkdir()
    (out["second"] / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["analyze", str(data), "--out", str(out["second"]), "--plan", str(plan), "--quiet", "--force"]) == 0
    out["data"], out["plan"] = data, plan
    return out


def _files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != "keep.txt")


def test_every_output_is_written(runs):
    files = _files(runs["first"])
    for name in (*COMPARED, "run-record.json", "tables/table2_paired.csv", "figures/figure1_flow.png",
                 "figures/figure2_boxplots.png", "figures/figure2_boxplots.svg", "figures/figure3_correlation.png"):
        assert name in files
    assert len([f for f in files if f.startswith("tables/")]) >= 9


def test_rerun_is_byte_identical_except_the_time_stamp(runs):
    a, b = runs["first"], runs["second"]
    assert _files(a) == _files(b)
    for name in _files(a):
        if name != "run-record.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ra, rb = (json.loads((d / "run-record.json").read_text()) for d in (a, b))
    ra.pop("time"), rb.pop("time")
    ra.pop("command"), rb.pop("command")  # the --out argument differs between the two runs
    assert ra == rb


def test_run_record_has_inputs_plan_seed_and_versions(runs):
    rec = json.loads((runs["first"] / "run-record.json").read_text())
    by_name = {Path(i["path"]).name: i["sha256"] for i in rec["inputs"]}
    for csv in sorted(runs["data"].glob("*.csv")):
        assert by_name[csv.name] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert rec["seed"] == 42 and rec["plan"]["statistics"]["bootstrap_resamples"] == 300
    assert {"numpy", "scipy", "pandas", "ipafstudy"} <= set(rec["versions"])
    assert rec["outputs"]["results.json"] == hashlib.sha256((runs["first"] / "results.json").read_bytes()).hexdigest()


def test_results_equal_stats_on_the_written_dataset(runs):
    out = runs["first"]
    data = pd.read_csv(out / "analysis_dataset.csv", dtype={"patient_id": str})
    res = json.loads((out / "results.json").read_text())
    assert res["n_analysed"] == len(data) == data["patient_id"].nunique()
    for p in res["paired"]:
        b = data.set_index("patient_id")[f"{p['code']}_baseline"]
        a = data.set_index("patient_id")[f"{p['code']}_follow_up"]
        w = stats.wilcoxon_signed_rank(b, a, zero_method="wilcox", continuity=False, method="asymptotic",
                                       effect_size_n="pairs")
        assert math.isclose(p["wilcoxon"]["p"], w.p, rel_tol=1e-12) and p["n_pairs"] == w.n_pairs
    t2 = pd.read_csv(out / "tables" / "table2_paired.csv", dtype=str)
    assert list(t2["p"]) == [fmt_p(p["wilcoxon"]["p"]) for p in res["paired"]]
    groups = data["antibody_group"].value_counts()
    assert res["group_sizes"] == {"MSA": int(groups.get("MSA", 0)), "MAA": int(groups.get("MAA", 0))}


def test_docx_opens_and_holds_every_table(runs):
    out = runs["first"]
    doc = Document(str(out / "report.docx"))
    csvs = sorted((out / "tables").glob("*.csv"))
    assert len(doc.tables) == len(csvs)
    headers = {tuple(c.text for c in t.rows[0].cells) for t in doc.tables}
    for path in csvs:
        header = tuple(pd.read_csv(path, dtype=str, nrows=0).columns)
        assert header in headers, path.name
    text = "\n".join(p.text for p in doc.paragraphs)
    for heading in ("Results summary", "Methods", "Table 1.", "Table 5.", "Figure 1."):
        assert heading in text
    assert doc.core_properties.created.year == 2000  # fixed, so reruns give identical bytes


def _docx_rows(table) -> list[tuple[str, ...]]:
    return [tuple(c.text for c in row.cells) for row in table.rows[1:]]


def test_docx_tables_are_the_csv_typeset(runs):
    """The Word tables hold the CSV cells with the true minus sign and an em dash for a missing value;
    the CSV keeps ASCII hyphen-minus and "NA" so R and pandas read it."""
    out = runs["first"]
    doc = Document(str(out / "report.docx"))
    by_header = {tuple(c.text for c in t.rows[0].cells): t for t in doc.tables}
    seen_minus = False
    for path in sorted((out / "tables").glob("*.csv")):
        raw = path.read_text(encoding="utf-8")
        assert "\u2212" not in raw and "\u2014" not in raw, path.name
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        table = by_header[tuple(frame.columns)]
        for csv_row, doc_row in zip(frame.itertuples(index=False), _docx_rows(table), strict=True):
            if len(set(doc_row)) == 1 and len(doc_row) > 1:  # a section row merged across the table
                doc_row = (doc_row[0],) + ("",) * (len(doc_row) - 1)
            seen_minus |= any("\u2212" in c for c in doc_row)
            assert tuple(c.replace("\u2212", "-").replace("\u2014", "NA") for c in doc_row) == tuple(csv_row)
    assert seen_minus  # the cohort has negative changes, so the typeset minus must appear


def test_figures_numbered_in_order_of_appearance(runs):
    doc = Document(str(runs["first"] / "report.docx"))
    texts = [p.text for p in doc.paragraphs]
    captions = [t for t in texts if re.match(r"Figure \d+\. ", t)]
    # Figures 4 (power curve), 5 (Kaplan-Meier) and 6 (comparator love plot) belong to the "Additional analyses"
    # section, after the study's
    assert [c.split(".")[0] for c in captions] == ["Figure 1", "Figure 2", "Figure 3", "Figure 4", "Figure 5",
                                                   "Figure 6"]
    assert captions[0].startswith("Figure 1. Patient flow")
    assert texts.index(captions[0]) < texts.index(next(t for t in texts if t.startswith("Table 1.")))
    assert captions[2].startswith("Figure 3. Correlations")
    summary = "\n".join(texts[:texts.index("Methods")])
    assert "(Figure 3)" in summary and "(Figure 1;" in summary and "(Figure 2)" not in summary
    s4 = next(t for t in texts if t.startswith("Supplementary Table S4"))
    assert "(Figure 3)" in s4


def test_reader_facing_text_names_no_options(runs):
    """Option names (snake_case = value) appear only in the settings appendix, never in text or tables."""
    doc = Document(str(runs["first"] / "report.docx"))
    texts = [p.text for p in doc.paragraphs]
    body = texts[:texts.index("Analysis settings")]
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    option = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|`")
    for text in body + cells:
        assert not option.search(text), text
    appendix = "\n".join(texts[texts.index("Analysis settings"):]).replace("\u00a0", " ")
    assert "follow_up_rule = the latest visit at which every measurement outcome was recorded " \
           "[latest_complete_visit]" in appendix


def test_no_header_word_is_split(runs):
    """Every header word, in bold at the table's size, fits its column with the cell padding."""
    doc = Document(str(runs["first"] / "report.docx"))
    for table in doc.tables:
        grid = table._tbl.tblGrid.findall(qn("w:gridCol"))
        widths = [int(g.get(qn("w:w"))) / 1440 for g in grid]
        for cell, width in zip(table.rows[0].cells, widths, strict=True):
            for word in cell.text.split():
                assert text_width_in(word, 9.0, bold=True) + 0.15 <= width, (cell.text, word, width)


def test_html_is_self_contained(runs):
    html = (runs["first"] / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_derived_cut_off_is_reported(runs):
    """Issue 10 item 10: the cut-off derived from the records is stated in the run record, Methods and appendix."""
    dates = []
    for csv_path in sorted(runs["data"].glob("*.csv")):
        frame = pd.read_csv(csv_path, dtype=str)
        for col in frame.columns:
            if col.endswith("date"):
                dates += [d for d in frame[col].dropna() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)]
    latest = max(dates)  # ISO dates sort as text
    rec = json.loads((runs["first"] / "run-record.json").read_text())
    assert (rec["data_cutoff_date_used"], rec["data_cutoff_date_source"]) == (latest, "derived")
    html = (runs["first"] / "report.html").read_text(encoding="utf-8")
    assert f"the latest date in the records ({latest})" in html  # Methods
    assert f"(derived: {latest})" in html  # settings appendix


def test_refuses_a_non_empty_out_without_force(runs, capsys):
    out = runs["first"]
    before = {n: (out / n).read_bytes() for n in COMPARED}
    assert main(["analyze", str(runs["data"]), "--out", str(out), "--quiet"]) == 1
    assert "--force" in capsys.readouterr().err
    assert {n: (out / n).read_bytes() for n in COMPARED} == before


def test_force_writes_into_an_existing_folder_and_keeps_other_files(runs):
    assert (runs["second"] / "keep.txt").read_text() == "mine"


def test_bad_plan_stops_before_writing(runs, tmp_path, capsys):
    plan = tmp_path / "bad.yaml"
    plan.write_text("statistics:\n  zero_method: zsplit\n", encoding="utf-8")
    target = tmp_path / "out"
    assert main(["analyze", str(runs["data"]), "--out", str(target), "--plan", str(plan), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "statistics.zero_method" in err and "'pratt'" in err
    assert not target.exists()


def test_explain_lists_values_and_dates(runs, capsys):
    out = runs["first"]
    assert main(["explain", str(out), "esr"]) == 0
    text = capsys.readouterr().out
    data = pd.read_csv(out / "analysis_dataset.csv", dtype={"patient_id": str})
    both = data["esr_baseline"].notna() & data["esr_follow_up"].notna()
    assert f"{int(both.sum())} of {len(data)} analysed patients" in text
    first = data[both].iloc[0]
    assert first["patient_id"] in text and first["esr_baseline_date"] in text
    assert "not analysed" in text  # screened patients who never entered the cohort are listed with the reason
    assert main(["explain", str(out), "fev1"]) == 1
    assert "fev1" in capsys.readouterr().err


def test_plan_default_prints_yaml(capsys):
    assert main(["plan", "--default"]) == 0
    assert "quantile_method: spss" in capsys.readouterr().out
