"""The study explorer in Debian's chromium, mounted at /explorer as the workspace server mounts it.

One server for the module, on the bundled cohort with a plan that switches the slow additional analyses off. The
expected patients of each flow box come from ``ipafstudy screen``'s screening.csv and classification.csv (its own
code path, not the page's). The reads writer hands back the bundled reads in another row order, so the run's copy
of hrct_reads.csv can be told apart from the study folder's.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest
from tests.workspace.conftest import serve_asgi
from tests.workspace.test_explorer_model import FAST_PLAN

from ipafstudy.cli import main

ELIGIBILITY = ("no_tacrolimus", "under_age", "short_exposure")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from ipafstudy.workspace.explorer import explorer_app

    root = tmp_path_factory.mktemp("explorer-browser")
    data = root / "data"
    assert main(["synth", "--bundled", "--out", str(data)]) == 0
    assert main(["screen", str(data), "--out", str(root / "screen")]) == 0
    plan = root / "plan.yaml"
    plan.write_text(FAST_PLAN, encoding="utf-8")
    lines = (data / "hrct_reads.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    exported = "".join(lines[:1] + lines[:0:-1])
    calls: list[Path] = []

    def reads_csv(dest: Path) -> None:
        calls.append(dest)
        dest.write_text(exported, encoding="utf-8")

    app = explorer_app(data, root / "work", reads_csv=reads_csv, plan_path=plan)
    before = hashlib.sha256((data / "hrct_reads.csv").read_bytes()).hexdigest()
    with serve_asgi(Starlette(routes=[Mount("/explorer", app=app)])) as base:
        yield {"base": base + "/explorer/", "root": root, "data": data, "screen": root / "screen", "app": app,
               "exported": exported, "calls": calls}
    assert hashlib.sha256((data / "hrct_reads.csv").read_bytes()).hexdigest() == before


def _open(browser_context, site):
    page = browser_context().new_page()
    page.goto(site["base"])
    page.locator("[data-box=box-1]").wait_for(timeout=90_000)  # the study loads in the background
    return page


def _column(page, table: str, col: int) -> list[str]:
    return page.locator(f"#{table} tbody tr:not(.section)").evaluate_all(
        f"rows => rows.map(r => r.cells[{col}] ? r.cells[{col}].textContent.trim() : '')")


def test_flow_box_lists_its_patients(browser_context, screenshot, site):
    rows = _rows(site["screen"] / "screening.csv")
    ipaf = sorted(r["patient_id"] for r in rows if r["exclusion_step"] != "not_ipaf")
    left = sorted(r["patient_id"] for r in rows if r["exclusion_step"] in ELIGIBILITY)
    page = _open(browser_context, site)
    assert page.locator("[data-box=box-1]").inner_text().endswith(f"n = {len(ipaf)}")
    page.locator("[data-box=box-1]").click()
    page.get_by_text(f"{len(ipaf)} patients").wait_for()
    assert page.locator("#box-patients tbody tr").count() == len(ipaf)
    assert sorted(_column(page, "box-patients", 0)) == ipaf
    screenshot(page, "flow")
    page.locator("[data-box=removed-2]").click()
    page.get_by_text(f"{len(left)} patients").wait_for()
    assert sorted(_column(page, "box-patients", 0)) == left
    reasons = {r["patient_id"]: r["exclusion_reason"] for r in rows}
    shown = dict(zip(_column(page, "box-patients", 0), _column(page, "box-patients", 2), strict=True))
    assert shown == {pid: reasons[pid] for pid in left}
    screenshot(page, "flow-excluded")


def test_patient_page_shows_the_deciding_items(browser_context, screenshot, site):
    rows = _rows(site["screen"] / "screening.csv")
    analysed = sorted(r["patient_id"] for r in rows if r["analysed"] == "True")
    deciding = {r["patient_id"]: r["deciding_items"].split("; ") for r in _rows(site["screen"] / "classification.csv")}
    page = _open(browser_context, site)
    page.locator("[data-box=box-3]").click()
    page.get_by_text(f"Analysed: {len(analysed)} patients").wait_for()
    pid = analysed[0]
    page.locator("#box-patients a.patient-link", has_text=pid).click()
    page.get_by_role("heading", name=f"Patient {pid}").wait_for()
    items = page.locator("ul.deciding-items li").all_inner_texts()
    assert items == deciding[pid] and items
    assert page.locator("#patient-domains tr.deciding").count() == len(items)
    assert "Analysed" in page.locator(".patient-flow").inner_text()
    kinds = set(_column(page, "patient-timeline", 2))
    assert {"treatment", "measurement", "HRCT scan"} <= kinds
    assert f"Patient {pid}" in page.locator("pre.explain").inner_text()
    screenshot(page, "patient")


def _number(text: str) -> float | None:
    m = re.match(r"^[<>≤≥]?\s*(-?\d+(?:\.\d+)?)", text.strip().replace("\u2212", "-"))
    return float(m.group(1)) if m else None


def test_table_column_sorts_both_ways(browser_context, screenshot, site):
    page = _open(browser_context, site)
    page.get_by_role("tab", name="Tables").click()
    table = page.locator("#table6_adverse_events")
    table.wait_for()
    for key in ("table1_baseline", "table2_paired", "table3_regression", "table4_subgroup_baseline",
                "table5_subgroup_response"):
        assert page.locator(f"#{key}").count() == 1
    original = _column(page, "table6_adverse_events", 1)
    values = [_number(v) for v in original]
    assert sum(v is not None for v in values) >= 3 and values != sorted(values, key=lambda v: (v is None, v))
    header = table.locator("th").nth(1)
    header.click()
    up = _column(page, "table6_adverse_events", 1)
    numbers = [_number(v) for v in up if _number(v) is not None]
    assert sorted(up) == sorted(original) and numbers == sorted(numbers)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    down = [_number(v) for v in _column(page, "table6_adverse_events", 1) if _number(v) is not None]
    assert down == sorted(down, reverse=True)
    screenshot(page, "tables")


def test_run_analysis_then_download_the_report(browser_context, screenshot, site):
    page = _open(browser_context, site)
    page.get_by_role("tab", name="Run analysis").click()
    page.get_by_role("button", name="Run analysis").click()
    page.locator(".run-status .progress-bar").wait_for()
    page.locator(".run-status[data-status=done]").wait_for(timeout=240_000)
    screenshot(page, "run")
    with page.expect_download() as info:
        page.get_by_role("link", name="report.html").click()
    download = info.value
    assert download.suggested_filename == "report.html"
    html = Path(download.path()).read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Table 1." in html and "Table 6." in html and "Patient flow" in html
    run = site["root"] / "work" / "runs" / "run-001"
    assert (run / "data" / "hrct_reads.csv").read_text(encoding="utf-8") == site["exported"]
    assert html == (run / "out" / "report.html").read_text(encoding="utf-8")
    assert (run / "out" / "report.docx").read_bytes()[:2] == b"PK"
    page.get_by_role("tab", name="Flow").click()
    page.get_by_text("Showing run-001.").wait_for()
