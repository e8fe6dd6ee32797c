"""The explorer's "Run analysis": the full ``ipafstudy analyze`` in a background thread, one new folder per run.

A run folder ``WORK_DIR/runs/run-NNN/`` holds ``data/`` (a copy of the study data; with a reads writer, its
hrct_reads.csv is the workspace's export), ``plan.yaml`` (the plan used, every key) and ``out/`` (what
``ipafstudy analyze data --out out --plan plan.yaml`` writes: report.docx, report.html, ...), plus
``status.json`` (done or failed, with the error). The study data folder is never written. Numbers go up; a folder
that exists is never reused, so no run overwrites another. One run at a time per explorer.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.fileio import atomic_write_text
from ipafstudy.workspace.explorer_model import ReadsWriter, StudyView, build_view, prepare_data

RUNS = "runs"
#: The progress steps of a run in order (the analysis reports its own step names; unknown names still count).
RUN_STEPS = ("Copy data", "Load", "Cohort", "HRCT reader agreement", "Table 1", "Table 2", "Figure 3", "Table 3",
             "Tables 4 and 5", "Adverse events and missing data", "Additional analyses", "Data and results",
             "Figures", "Tables", "Documents")
REPORT_FILES = ("report.docx", "report.html")


class RunBusyError(RuntimeError):
    """A run is already under way (one at a time: two would compete for the same two cores)."""


@dataclass(frozen=True)
class RunState:
    """What the progress indicator shows; ``fraction`` is 0-1 (1 only when finished)."""

    status: str = "idle"  # idle | running | done | failed
    run_id: str | None = None
    run_dir: Path | None = None
    step: str = ""
    steps_done: int = 0
    error: str = ""
    started: str = ""
    finished: str = ""

    @property
    def fraction(self) -> float:
        if self.status in ("done", "failed"):
            return 1.0
        return min(self.steps_done / len(RUN_STEPS), 0.99) if self.status == "running" else 0.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def new_run_dir(work_dir: Path) -> Path:
    """The next free ``runs/run-NNN`` folder, created here (exclusive mkdir: never an existing one)."""
    runs = Path(work_dir) / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[4:]) for p in runs.glob("run-*") if p.name[4:].isdigit()]
    n = max(numbers, default=0) + 1
    while True:
        path = runs / f"run-{n:03d}"
        try:
            path.mkdir()
        except FileExistsError:
            n += 1
            continue
        return path


def finished_runs(work_dir: Path) -> list[Path]:
    """Run folders whose status is done and whose report files exist, oldest first."""
    out = []
    for path in sorted((Path(work_dir) / RUNS).glob("run-*")):
        try:
            status = json.loads((path / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if status.get("status") == "done" and all((path / "out" / f).is_file() for f in REPORT_FILES):
            out.append(path)
    return out


class AnalysisRuns:
    """Starts runs in a daemon thread and reports their state; ``on_view`` receives each finished run's view."""

    def __init__(self, data_dir: Path, work_dir: Path, plan: AnalysisPlan, *, reads_csv: ReadsWriter | None = None,
                 on_view: Callable[[StudyView], None] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.work_dir = Path(work_dir)
        self.plan = plan
        self.reads_csv = reads_csv
        self.on_view = on_view
        self._lock = threading.Lock()
        self._state = RunState()
        self._thread: threading.Thread | None = None

    def state(self) -> RunState:
        with self._lock:
            return self._state

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)  # type: ignore[arg-type]

    def start(self) -> RunState:
        """Create the run folder and start the run; ``RunBusyError`` while one is running."""
        with self._lock:
            if self._state.status == "running":
                raise RunBusyError(f"{self._state.run_id} is still running")
            run_dir = new_run_dir(self.work_dir)
            self._state = RunState(status="running", run_id=run_dir.name, run_dir=run_dir, step="Copy data",
                                   started=_now())
            self._thread = threading.Thread(target=self._run, args=(run_dir,), name=f"ipafstudy-{run_dir.name}",
                                            daemon=True)
            self._thread.start()
            return self._state

    def wait(self, timeout: float | None = None) -> RunState:
        """Block until the current run ends (tests and scripts)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.state()

    def _step(self, name: str) -> None:
        with self._lock:
            self._state = replace(self._state, step=name, steps_done=self._state.steps_done + 1)

    def _run(self, run_dir: Path) -> None:
        from ipafstudy.analysis.plan import plan_yaml
        from ipafstudy.fileio import output_dir
        from ipafstudy.reporting.report import write_report

        try:
            data = prepare_data(self.data_dir, run_dir / "data", self.reads_csv)
            plan_file = atomic_write_text(run_dir / "plan.yaml", plan_yaml(self.plan, [
                f"# analysis plan of {run_dir.name} (study explorer); rerun with:",
                f"#   ipafstudy analyze {data} --out OUT --plan {run_dir / 'plan.yaml'}"]))
            view = build_view(data, self.plan, label=run_dir.name, progress=self._step, run_dir=run_dir)
            out = run_dir / "out"
            with output_dir(out) as folder:  # removed again if writing fails
                write_report(view.results, folder, force=True, progress=self._step,
                             command=["ipafstudy", "analyze", str(data), "--out", str(out), "--plan", str(plan_file)])
        except Exception as exc:  # the page shows the message; the traceback stays in the run folder
            message = str(exc) or type(exc).__name__
            atomic_write_text(run_dir / "error.txt", traceback.format_exc())
            atomic_write_text(run_dir / "status.json", json.dumps({"status": "failed", "error": message}) + "\n")
            self._set(status="failed", error=message, finished=_now())
            return
        atomic_write_text(run_dir / "status.json", json.dumps({"status": "done"}) + "\n")
        if self.on_view is not None:
            self.on_view(view)
        self._set(status="done", step="Finished", finished=_now())
