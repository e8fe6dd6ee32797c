"""The investigator's study explorer: a Shiny app with the flow diagram, patient pages, Tables 1-6 and "Run analysis".

``explorer_app(data_dir, work_dir, ...)`` returns a ``shiny.App``; the workspace server mounts it at ``/explorer``
behind the investigator role check (no authentication here). What it shows comes from ``explorer_model`` (the
objects ``ipafstudy analyze``, ``screen`` and ``explain`` use; nothing is computed here) and runs from
``explorer_runs``. On the first visit the study is loaded in the background from a copy of ``data_dir`` (with the
workspace's reads when ``reads_csv`` is given); after each finished run the pages show that run's data.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.workspace.explorer_model import FlowBox, ReadsWriter, StudyView, build_view, load_plan, prepare_data
from ipafstudy.workspace.explorer_runs import REPORT_FILES, RUN_STEPS, AnalysisRuns, RunBusyError, finished_runs

#: Click-through and sorting in the browser: a click on a flow box or patient id sets a Shiny input; a click on a
#: table header sorts that table's rows within each section (numbers by their leading value, blanks last).
_SCRIPT = r"""
function ipafPick(name, value) { Shiny.setInputValue(name, value, {priority: 'event'}); return false; }
function ipafKey(text) {
  const t = text.trim().replace(/\u2212/g, '-');
  if (t === '' || t === 'NA' || t === '\u2013' || t === '\u2014' || t === '-') return [2, 0, ''];
  const m = t.match(/^[<>\u2264\u2265]?\s*(-?\d+(?:\.\d+)?)/);
  return m ? [0, parseFloat(m[1]), t.toLowerCase()] : [1, 0, t.toLowerCase()];
}
function ipafCompare(a, b, dir) {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[0] === 2) return 0;
  const c = a[0] === 0 ? (a[1] - b[1]) : (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
  return dir * c;
}
document.addEventListener('click', function (e) {
  const th = e.target.closest('table.sortable th');
  if (!th) return;
  const table = th.closest('table');
  const col = Array.from(th.parentNode.children).indexOf(th);
  const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
  table.querySelectorAll('th').forEach(h => h.removeAttribute('aria-sort'));
  th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
  const body = table.tBodies[0];
  const blocks = [[]];
  const heads = [];
  Array.from(body.rows).forEach(r => {
    if (r.classList.contains('section')) { heads.push(r); blocks.push([]); } else { blocks[blocks.length - 1].push(r); }
  });
  const sorted = blocks.map(rows => rows
    .map((r, i) => [r, ipafKey(r.cells[col] ? r.cells[col].textContent : ''), i])
    .sort((x, y) => ipafCompare(x[1], y[1], dir) || (x[2] - y[2])).map(x => x[0]));
  sorted[0].forEach(r => body.appendChild(r));
  heads.forEach((h, i) => { body.appendChild(h); sorted[i + 1].forEach(r => body.appendChild(r)); });
});
"""

_STYLE = """
.flow { display: grid; grid-template-columns: 22rem 22rem; gap: 0.6rem 2rem; align-items: center; margin: 1rem 0; }
.flow button { text-align: left; border: 1px solid #555; border-radius: 4px; background: #fff; padding: 0.5rem 0.8rem; }
.flow button:hover, .flow button.selected { background: #e8f0fe; }
.flow .flow-side { font-size: 0.85rem; white-space: pre-line; border-style: dashed; }
.flow .flow-n { font-weight: bold; }
table.sortable th { cursor: pointer; white-space: nowrap; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
tr.section td { font-weight: bold; background: #f4f4f4; }
tr.deciding td { background: #fff3cd; }
pre.explain { white-space: pre-wrap; font-size: 0.85rem; background: #f8f8f8; padding: 0.8rem; }
"""


class ExplorerState:
    """App-wide state shared by every browser session: the current view (loaded once, replaced by each finished
    run), the loading status and the runs. ``version`` changes whenever the view does; sessions poll it."""

    def __init__(self, data_dir: Path, work_dir: Path, plan: AnalysisPlan, reads_csv: ReadsWriter | None) -> None:
        self.data_dir, self.work_dir, self.plan, self.reads_csv = Path(data_dir), Path(work_dir), plan, reads_csv
        self._lock = threading.Lock()
        self._view: StudyView | None = None
        self._loading: threading.Thread | None = None
        self.load_step = ""
        self.load_error = ""
        self.version = 0
        self.runs = AnalysisRuns(self.data_dir, self.work_dir, plan, reads_csv=reads_csv, on_view=self.set_view)

    @property
    def view(self) -> StudyView | None:
        with self._lock:
            return self._view

    def set_view(self, view: StudyView) -> None:
        with self._lock:
            self._view = view
            self.version += 1

    def ensure_loaded(self) -> None:
        """Start loading the study in the background on the first visit (not at start-up: the server may never
        be asked for the explorer, and the machine's cores are better left to the readers)."""
        with self._lock:
            if self._view is not None or self._loading is not None:
                return
            self._loading = threading.Thread(target=self._load, name="ipafstudy-explorer-load", daemon=True)
            self._loading.start()

    def wait_loaded(self, timeout: float | None = None) -> StudyView | None:
        self.ensure_loaded()
        if self._loading is not None:
            self._loading.join(timeout)
        return self.view

    def _step(self, name: str) -> None:
        self.load_step = name

    def _load(self) -> None:
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="explorer-data-", dir=self.work_dir) as tmp:
                data = prepare_data(self.data_dir, Path(tmp) / "data", self.reads_csv)
                view = build_view(data, self.plan, label="the study data as of opening the explorer",
                                  progress=self._step)
        except Exception as exc:  # shown on every page; a run can still be tried
            self.load_error = str(exc) or type(exc).__name__
            with self._lock:
                self.version += 1
            return
        with self._lock:
            if self._view is None:  # a run that finished first is newer
                self._view = view
            self.version += 1


def explorer_app(data_dir: Path, work_dir: Path, *, reads_csv: Callable[[Path], None] | None = None,
                 plan_path: Path | None = None, settings_path: Path | None = None) -> Any:
    """The study explorer as a ``shiny.App`` (see the module docstring); a bad plan fails here, before serving."""
    from shiny import App, reactive, render, ui

    plan = load_plan(plan_path, settings_path)
    state = ExplorerState(Path(data_dir), Path(work_dir), plan, reads_csv)

    page = ui.page_navbar(
        ui.nav_panel("Flow", ui.output_ui("view_note"), ui.output_ui("flow_diagram"), ui.output_ui("flow_patients"),
                     value="flow"),
        ui.nav_panel("Patient", ui.input_selectize("patient_id", "Patient", choices=[], width="20rem"),
                     ui.output_ui("patient_page"), value="patient"),
        ui.nav_panel("Tables", ui.output_ui("tables"), value="tables"),
        ui.nav_panel("Run analysis",
                     ui.p("Runs the whole analysis (as ipafstudy analyze) on a copy of the study data"
                          + (" with the workspace's current reads" if reads_csv is not None else "")
                          + f"; each run gets its own folder under {Path(work_dir) / 'runs'}."),
                     ui.input_action_button("run", "Run analysis", class_="btn-primary"),
                     ui.output_ui("run_status"), ui.output_ui("downloads"), value="run"),
        title="Study explorer", id="tab",
        header=ui.tags.head(ui.tags.script(_SCRIPT), ui.tags.style(_STYLE)),
    )

    def server(input: Any, output: Any, session: Any) -> None:
        state.ensure_loaded()

        @reactive.poll(lambda: state.version, 0.5)
        def version() -> int:
            return state.version

        @reactive.calc
        def view() -> StudyView | None:
            version()
            return state.view

        selected_box: reactive.Value[str | None] = reactive.value(None)

        @reactive.effect
        def _choices() -> None:
            v = view()
            if v is not None:  # a new view (start-up, finished run): new choices, the open patient kept
                with reactive.isolate():
                    chosen = input.patient_id()
                ui.update_selectize("patient_id", choices=list(v.patient_ids),
                                    selected=chosen if chosen in v.patient_ids else None)

        @reactive.effect
        @reactive.event(input.flow_pick)
        def _pick() -> None:
            selected_box.set(str(input.flow_pick()))

        @reactive.effect
        @reactive.event(input.open_patient)
        def _open() -> None:
            v = view()
            pid = str(input.open_patient())
            if v is not None:
                ui.update_selectize("patient_id", choices=list(v.patient_ids), selected=pid)
            ui.update_navset("tab", selected="patient")

        def waiting() -> Any:
            if state.load_error:
                return ui.div(ui.p(f"The study could not be loaded: {state.load_error}", class_="text-danger"))
            reactive.invalidate_later(0.5)
            return ui.p(f"Loading the study{': ' + state.load_step if state.load_step else ''} ...",
                        class_="loading")

        @render.ui
        def view_note() -> Any:
            v = view()
            return waiting() if v is None else ui.p(ui.em(f"Showing {v.label}."), class_="view-note")

        @render.ui
        def flow_diagram() -> Any:
            v = view()
            return None if v is None else flow_html(v.flow_boxes, selected_box())

        @render.ui
        def flow_patients() -> Any:
            v, key = view(), selected_box()
            if v is None or not key:
                return ui.p("Click a box to list its patients.")
            return box_patients_html(v.flow_boxes, key)

        @render.ui
        def patient_page() -> Any:
            v = view()
            if v is None:
                return waiting()
            pid = input.patient_id()
            if not pid:
                return ui.p("Choose a patient, or click one in a flow box's list.")
            if pid not in v.patient_ids:
                return ui.p(f"Patient {pid} is not in {v.label}.", class_="text-danger")
            return patient_html(v, pid)

        @render.ui
        def tables() -> Any:
            v = view()
            return waiting() if v is None else ui.div(*(table_html(t) for t in v.tables))

        @reactive.effect
        @reactive.event(input.run)
        def _run() -> None:
            try:
                state.runs.start()
            except RunBusyError as exc:
                ui.notification_show(f"A run is already under way: {exc}.", type="warning")

        @render.ui
        def run_status() -> Any:
            input.run()
            s = state.runs.state()
            if s.status == "running":
                reactive.invalidate_later(0.5)
            return run_status_html(s)

        @render.ui
        def downloads() -> Any:
            input.run()
            s = state.runs.state()
            if s.status == "running":
                reactive.invalidate_later(1.0)
            runs = finished_runs(state.work_dir)
            if not runs:
                return None
            return ui.div(ui.p(f"Report of {runs[-1].name}:"),
                          ui.download_button("download_docx", "report.docx"), " ",
                          ui.download_button("download_html", "report.html"), class_="downloads")

        def latest(name: str) -> str:
            runs = finished_runs(state.work_dir)
            if not runs:
                raise FileNotFoundError("no finished run yet")
            return str(runs[-1] / "out" / name)

        @render.download_button(filename=REPORT_FILES[0])
        def download_docx() -> str:
            return latest(REPORT_FILES[0])

        @render.download_button(filename=REPORT_FILES[1])
        def download_html() -> str:
            return latest(REPORT_FILES[1])

    app = App(page, server)
    app.explorer_state = state  # type: ignore[attr-defined]  # for tests and the server (wait_loaded, runs)
    return app


# --- HTML pieces (pure functions of the view's objects) -------------------------------------------------------------


def _pick(name: str, value: str) -> str:
    return f"return ipafPick({json.dumps(name)}, {json.dumps(value)})"


def flow_html(boxes: Sequence[FlowBox], selected: str | None = None) -> Any:
    """Figure 1 as buttons: main boxes (the patients in the box) and side boxes (who left before it)."""
    from shiny import ui

    cells: list[Any] = []
    for box in boxes:
        if box.index:
            key = f"removed-{box.index}"
            cells += [ui.div(), ui.tags.button(
                ui.span(f"Excluded (n = {box.n_removed})", class_="flow-n"), "\n" + box.removed_text,
                class_="flow-side" + (" selected" if selected == key else ""), onclick=_pick("flow_pick", key),
                **{"data-box": key})]
        key = f"box-{box.index}"
        cells += [ui.tags.button(ui.div(box.label), ui.span(f"n = {box.n}", class_="flow-n"),
                                 class_="flow-main" + (" selected" if selected == key else ""),
                                 onclick=_pick("flow_pick", key), **{"data-box": key}), ui.div()]
    return ui.div(*cells, class_="flow")


def box_patients_html(boxes: Sequence[FlowBox], key: str) -> Any:
    """The list behind a clicked box: each patient id opens the patient page."""
    from shiny import ui

    kind, _, index = key.partition("-")
    box = next((b for b in boxes if str(b.index) == index), None)
    if box is None or kind not in ("box", "removed"):
        return ui.p(f"Unknown flow box {key!r}.", class_="text-danger")
    if kind == "box":
        title = f"{box.label}: {len(box.remaining)} patients"
        frame = pd.DataFrame({"patient": list(box.remaining)})
    else:
        title = f"Excluded before '{box.label}': {len(box.removed)} patients"
        frame = pd.DataFrame(list(box.removed), columns=["patient", "step", "reason"])
    return ui.div(ui.h4(title), frame_html(frame, link_column="patient", table_id="box-patients"))


def frame_html(frame: pd.DataFrame, *, link_column: str | None = None, table_id: str | None = None,
               row_class: Callable[[dict[str, Any]], str] | None = None, sortable: bool = True) -> Any:
    """A DataFrame of text as a sortable HTML table; ``link_column`` values open the patient page."""
    from shiny import ui

    def cell(col: str, value: Any) -> Any:
        text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
        if col == link_column and text:
            return ui.tags.td(ui.tags.a(text, href="#", class_="patient-link", onclick=_pick("open_patient", text)))
        return ui.tags.td(text)

    rows = [ui.tags.tr(*(cell(c, rec[c]) for c in frame.columns), class_=row_class(rec) if row_class else None)
            for rec in frame.to_dict("records")]
    return ui.tags.table(ui.tags.thead(ui.tags.tr(*(ui.tags.th(c) for c in frame.columns))), ui.tags.tbody(*rows),
                         class_="table table-sm" + (" sortable" if sortable else ""), id=table_id)


def table_html(spec: Any) -> Any:
    """One of the report's ``TableSpec`` objects, cell strings as they are, section rows kept as headings."""
    from shiny import ui

    n = len(spec.columns)
    body = []
    for row in spec.rows:
        if row.kind == "section":
            body.append(ui.tags.tr(ui.tags.td(row.cells[0], colspan=str(n)), class_="section"))
            continue
        cells = [ui.tags.td(c, style=f"padding-left: {0.3 + row.indent}rem" if i == 0 and row.indent else None,
                            class_="text-end" if spec.columns[i].align == "right" else None)
                 for i, c in enumerate(spec.padded_cells(row))]
        body.append(ui.tags.tr(*cells, class_="fw-bold" if row.bold else None))
    return ui.div(
        ui.h4(spec.caption),
        ui.tags.table(ui.tags.thead(ui.tags.tr(*(ui.tags.th(c.label) for c in spec.columns))), ui.tags.tbody(*body),
                      class_="table table-sm sortable report-table", id=spec.key),
        *(ui.p(ui.tags.small(note)) for note in spec.footnotes),
        class_="mb-4",
    )


def patient_html(view: StudyView, patient_id: str) -> Any:
    """The patient page: flow result, IPAF classification with deciding items, timeline, explain trace."""
    from shiny import ui

    p = view.patient(patient_id)
    status = p.status + (f" ({p.combination})" if p.combination else "")
    deciding = (ui.tags.ul(*(ui.tags.li(item) for item in p.deciding_items), class_="deciding-items")
                if p.deciding_items else ui.p("No deciding items recorded.", class_="deciding-items"))
    return ui.div(
        ui.h3(f"Patient {p.patient_id}"),
        ui.p(ui.strong("In the flow: "), p.in_flow, class_="patient-flow"),
        ui.h4("IPAF classification"),
        ui.p(ui.strong("Status: "), status, class_="patient-status"),
        ui.p(p.reason),
        ui.h5("Deciding items"), deciding,
        ui.h5("Entry requirements"), frame_html(p.entry, sortable=False),
        ui.h5("Domains and items"),
        frame_html(p.domains, table_id="patient-domains", row_class=lambda r: "deciding" if r["deciding"] else ""),
        ui.h4("Timeline"), frame_html(p.timeline, table_id="patient-timeline"),
        ui.h4("Outcome values (ipafstudy explain)"), frame_html(p.traces, table_id="patient-traces"),
        ui.h4("Why in or out (ipafstudy screen --patient)"), ui.tags.pre(p.explain, class_="explain"),
    )


def run_status_html(s: Any) -> Any:
    """The progress indicator of the current (or last) run."""
    from shiny import ui

    if s.status == "idle":
        return ui.p("No run started from this page yet.", class_="run-status")
    pct = round(100 * s.fraction)
    bar = ui.div(ui.div(f"{pct}%", class_="progress-bar" + (" bg-danger" if s.status == "failed" else ""),
                        role="progressbar", style=f"width: {pct}%", **{"aria-valuenow": str(pct),
                                                                        "aria-valuemin": "0",
                                                                        "aria-valuemax": "100"}),
                 class_="progress my-2", style="height: 1.5rem")
    words = {
        "running": f"{s.run_id}: {s.step} (step {min(s.steps_done + 1, len(RUN_STEPS))} of about {len(RUN_STEPS)})",
        "done": f"{s.run_id} finished ({s.run_dir})",
        "failed": f"{s.run_id} failed: {s.error}",
    }[s.status]
    return ui.div(bar, ui.p(words, class_="text-danger" if s.status == "failed" else None), class_="run-status",
                  **{"data-status": s.status})
