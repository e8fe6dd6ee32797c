"""The explorer's helpers in-process: plan loading, data copies, run folders, runs that fail, and the view's
flow boxes, patient pages and tables checked against the screening result written by ``ipafstudy screen``."""

from __future__ import annotations

import csv
import hashlib
import threading
from pathlib import Path

import pytest

from ipafstudy.analysis.plancheck import PlanProblemsError
from ipafstudy.cli import main
from ipafstudy.errors import InvalidOptionError
from ipafstudy.workspace.explorer_model import build_view, load_plan, prepare_data
from ipafstudy.workspace.explorer_runs import AnalysisRuns, RunBusyError, finished_runs, new_run_dir

FAST_PLAN = "".join(f"  {part}:\n    enabled: false\n"
                    for part in ("slopes", "power", "time_to_event", "incidence", "comparator"))
FAST_PLAN = "additional:\n" + FAST_PLAN


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("explorer-model") / "data"
    assert main(["synth", "--bundled", "--out", str(data)]) == 0
    return data


@pytest.fixture(scope="module")
def plan_file(bundled) -> Path:
    path = bundled.parent / "fast-plan.yaml"
    path.write_text(FAST_PLAN, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def screened(bundled) -> Path:
    """The screening result of ``ipafstudy screen`` (its own code path): the reference for the flow boxes."""
    out = bundled.parent / "screen"
    assert main(["screen", str(bundled), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def view(bundled, plan_file):
    return build_view(bundled, load_plan(plan_file), label="test")


# --- plan -----------------------------------------------------------------------------------------------------------


def test_load_plan_default_plan_file_and_settings_file(tmp_path, plan_file):
    assert load_plan().additional.power.enabled is True
    assert load_plan(plan_file).additional.power.enabled is False
    settings = tmp_path / "settings.yaml"
    settings.write_text("min_age: 40\nmin_exposure_days: 120\n", encoding="utf-8")
    plan = load_plan(settings_path=settings)
    assert (plan.settings.min_age, plan.settings.min_exposure_days) == (40, 120)
    both = load_plan(plan_file, settings)  # the settings file is the clinical section, the plan the rest
    assert (both.settings.min_age, both.additional.power.enabled) == (40, False)


def test_load_plan_reports_every_problem_with_its_key(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("primary_outcome: nonsense\nadditional:\n  power:\n    alpha: 7\n", encoding="utf-8")
    with pytest.raises(PlanProblemsError) as info:
        load_plan(bad)
    text = str(info.value)
    assert "primary_outcome" in text and "additional.power.alpha" in text and "plan.yaml" in text
    settings = tmp_path / "settings.yaml"
    settings.write_text("min_age: old\n", encoding="utf-8")
    with pytest.raises(InvalidOptionError, match=r"settings\.yaml"):
        load_plan(settings_path=settings)
    settings.write_text("clinical:\n  baseline_window_days: 60\n", encoding="utf-8")
    window = tmp_path / "window.yaml"
    window.write_text("timepoints:\n  baseline_window_days: 30\n", encoding="utf-8")
    with pytest.raises(PlanProblemsError, match="baseline_window_days") as info:
        load_plan(window, settings)
    assert "window.yaml" in str(info.value) and "settings.yaml" in str(info.value)
    assert load_plan(settings_path=settings).settings.baseline_window_days == 60


# --- data copies and run folders ------------------------------------------------------------------------------------


def test_prepare_data_copies_and_replaces_only_the_reads(tmp_path, bundled):
    before = _digest(bundled)
    reads = (bundled / "hrct_reads.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    exported = reads[:1] + reads[:0:-1]  # same reads, other row order: other bytes

    def write(dest: Path) -> None:
        assert not dest.exists()  # our copy's file is removed first: an exporter that refuses overwrites works
        dest.write_text("".join(exported), encoding="utf-8")

    copy = prepare_data(bundled, tmp_path / "copy", write)
    assert (copy / "hrct_reads.csv").read_text(encoding="utf-8") == "".join(exported)
    after = _digest(copy)
    assert {k: v for k, v in after.items() if k != "hrct_reads.csv"} == {
        k: v for k, v in before.items() if k != "hrct_reads.csv"}
    assert _digest(bundled) == before  # the study data is never written
    plain = prepare_data(bundled, tmp_path / "plain")
    assert _digest(plain) == before


def test_prepare_data_refuses_bad_input(tmp_path, bundled):
    (tmp_path / "taken").mkdir()
    with pytest.raises(InvalidOptionError, match="already exists"):
        prepare_data(bundled, tmp_path / "taken")
    with pytest.raises(InvalidOptionError, match="not a folder"):
        prepare_data(tmp_path / "missing", tmp_path / "x")
    with pytest.raises(InvalidOptionError, match="did not write"):
        prepare_data(bundled, tmp_path / "y", lambda dest: None)


def test_run_folders_are_numbered_and_never_reused(tmp_path):
    assert new_run_dir(tmp_path).name == "run-001"
    assert new_run_dir(tmp_path).name == "run-002"
    (tmp_path / "runs" / "run-007").mkdir()
    (tmp_path / "runs" / "run-notes").mkdir()
    assert new_run_dir(tmp_path).name == "run-008"
    assert finished_runs(tmp_path) == []  # no status.json: nothing to download


def test_a_failing_run_says_why_and_a_second_start_waits(tmp_path, bundled, plan_file):
    release = threading.Event()

    def reads(dest: Path) -> None:
        release.wait(30)
        raise InvalidOptionError("reads export failed: scan S-1 has no reader2 read")

    before = _digest(bundled)
    runs = AnalysisRuns(bundled, tmp_path / "work", load_plan(plan_file), reads_csv=reads)
    assert runs.state().status == "idle" and runs.state().fraction == 0.0
    first = runs.start()
    assert first.status == "running" and first.run_id == "run-001"
    with pytest.raises(RunBusyError, match="run-001"):
        runs.start()
    release.set()
    state = runs.wait(60)
    assert state.status == "failed" and "scan S-1 has no reader2 read" in state.error
    assert state.fraction == 1.0
    assert '"failed"' in (state.run_dir / "status.json").read_text(encoding="utf-8")
    assert "Traceback" in (state.run_dir / "error.txt").read_text(encoding="utf-8")
    assert finished_runs(tmp_path / "work") == []
    assert _digest(bundled) == before


# --- the view -------------------------------------------------------------------------------------------------------


def test_flow_boxes_list_the_patients_the_screening_result_has(view, screened):
    rows = _rows(screened / "screening.csv")
    step = {r["patient_id"]: r["exclusion_step"] for r in rows}
    stages = [(), ("not_ipaf",), ("no_tacrolimus", "under_age", "short_exposure"), ("no_baseline", "no_follow_up")]
    out: set[str] = set()
    boxes = view.flow_boxes
    assert [b.step_keys for b in boxes] == [("screened",), *stages[1:]]
    for box, keys in zip(boxes, stages, strict=True):
        removed = {pid for pid, s in step.items() if s in keys}
        out |= removed
        assert {pid for pid, _, _ in box.removed} == removed
        assert set(box.remaining) == set(step) - out
        assert box.n == len(box.remaining) and box.n_removed == len(box.removed)
    assert set(boxes[-1].remaining) == {r["patient_id"] for r in rows if r["analysed"] == "True"}
    reasons = {r["patient_id"]: r["exclusion_reason"] for r in rows}
    assert all(reason == reasons[pid] for b in boxes for pid, _, reason in b.removed)


def test_patient_page_has_the_classification_timeline_and_trace(view, screened, bundled):
    classes = {r["patient_id"]: r for r in _rows(screened / "classification.csv")}
    analysed = view.flow_boxes[-1].remaining[0]
    page = view.patient(analysed)
    assert list(page.deciding_items) == classes[analysed]["deciding_items"].split("; ")
    flagged = page.domains[page.domains["deciding"] == "yes"]
    assert sorted(flagged["domain"] + "." + flagged["item"]) == sorted(page.deciding_items)
    assert page.in_flow == "Analysed"
    kinds = page.timeline["kind"].value_counts().to_dict()
    n_treat = sum(r["patient_id"] == analysed for r in _rows(bundled / "treatments.csv"))
    n_meas = sum(r["patient_id"] == analysed for r in _rows(bundled / "measurements.csv"))
    scans = {r["scan_date"] for r in _rows(bundled / "hrct_reads.csv") if r["patient_id"] == analysed}
    assert (kinds.get("treatment"), kinds.get("measurement"), kinds.get("HRCT scan")) == (n_treat, n_meas, len(scans))
    assert list(page.timeline["date"]) == sorted(page.timeline["date"])
    assert set(page.traces["used"]) <= {"yes", "no"} and "yes" in set(page.traces["used"])
    assert f"Patient {analysed}" in page.explain

    excluded, _, reason = view.flow_boxes[1].removed[0]
    other = view.patient(excluded)
    assert other.in_flow.startswith("Excluded at not_ipaf")
    assert list(other.traces["outcome"]) == ["every outcome"] and reason in other.traces["detail"][0]


def test_unknown_patient_is_a_clear_error(view):
    with pytest.raises(InvalidOptionError, match="'nobody' is not in the screened records"):
        view.patient("nobody")


def test_tables_are_the_reports_tables_1_to_6(view):
    from ipafstudy.reporting.report import report_tables

    assert [t.number for t in view.tables] == [1, 2, 3, 4, 5, 6]
    printed = {t.key: t for t in report_tables(view.results)}
    assert all(t == printed[t.key] for t in view.tables)


def test_records_that_do_not_load_are_reported_not_raised(tmp_path, bundled, plan_file):
    from ipafstudy.workspace.explorer import ExplorerState

    data = tmp_path / "data"
    data.mkdir()
    for name in ("patients.csv", "treatments.csv"):
        (data / name).write_bytes((bundled / name).read_bytes())
    text = (data / "patients.csv").read_text(encoding="utf-8").replace("female", "feminine", 1)
    (data / "patients.csv").write_text(text, encoding="utf-8")
    state = ExplorerState(data, tmp_path / "work", load_plan(plan_file), None)
    assert state.wait_loaded(60) is None
    assert "patients.csv" in state.load_error and "feminine" in state.load_error
    assert state.version == 1  # the pages are told to show the message
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == []  # the temporary copy is gone
