"""What the study explorer shows, as plain data: the flow boxes with their patients, a patient's page, the tables.

Nothing here computes a study number. Counts, tables and traces come from the objects ``ipafstudy analyze``,
``screen`` and ``explain`` use: the cohort (``analysis.study.plan_cohort``), the study results
(``analysis.study.run_study``), Figure 1's boxes (``reporting.report.flow_figure_boxes``), the report's tables
(``reporting.report.report_tables``), ``cohort.explain.explain_patient`` and ``analysis.explain.trace_outcome``.
This module only joins them by patient id and lays them out as rows; the Shiny pages (``explorer``) render them.
No Shiny import here, so the helpers are tested in-process.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.errors import InvalidOptionError

Progress = Callable[[str], None]
ReadsWriter = Callable[[Path], None]
READS_FILE = "hrct_reads.csv"
#: Tables 1-6 of the report (the numbered main tables); supplementary tables stay in the report.
MAIN_TABLE_NUMBERS = (1, 2, 3, 4, 5, 6)


# --- inputs ---------------------------------------------------------------------------------------------------------


def load_plan(plan_path: Path | None = None, settings_path: Path | None = None) -> AnalysisPlan:
    """The analysis plan the explorer runs: ``plan_path`` (checked as ``ipafstudy analyze --plan`` checks it, every
    problem at once) or the default plan, with ``settings_path``'s clinical settings as its ``clinical:`` section.

    Why the settings file wins over the plan's own ``clinical:`` section: the workspace flags discordant HRCT reads
    with the settings file's values (``Project.clinical_settings``), and the analysis must use the same ones.
    """
    from ipafstudy.analysis.plan import read_plan_yaml
    from ipafstudy.analysis.plancheck import PlanProblemsError, check_plan_mapping

    if plan_path is None and settings_path is None:
        return AnalysisPlan()
    mapping: Any = read_plan_yaml(str(plan_path)) if plan_path is not None else {}
    sources = [repr(str(plan_path))] if plan_path is not None else []
    if settings_path is not None and isinstance(mapping, dict):  # a plan that is no mapping is reported as such
        mapping["clinical"] = clinical_section(settings_path)
        sources.append(f"with the clinical settings of {str(settings_path)!r}")
    checked = check_plan_mapping(mapping)
    if checked.problems or checked.plan is None:
        raise PlanProblemsError(checked.problems, " ".join(sources))
    return checked.plan


def clinical_section(settings_path: Path) -> dict[str, Any]:
    """The settings a clinical settings YAML sets (the mapping, or an analysis plan's ``clinical:`` section), as
    ``ipafstudy screen --settings`` reads it; bad values fail with the file named."""
    import yaml

    from ipafstudy.cohort.outputs import load_settings

    load_settings(str(settings_path))  # every problem of the file, with its name, before it is used
    data = yaml.safe_load(Path(settings_path).read_text(encoding="utf-8")) or {}
    if isinstance(data.get("clinical"), dict):
        return dict(data["clinical"])
    return {k: v for k, v in data.items() if k not in ("outcomes", "primary_outcome")}


def prepare_data(data_dir: Path, dest: Path, reads_csv: ReadsWriter | None = None) -> Path:
    """Copy the study folder ``data_dir`` to the new folder ``dest``; with ``reads_csv``, its hrct_reads.csv is
    replaced by what ``reads_csv(dest / "hrct_reads.csv")`` writes (the workspace's reads). ``data_dir`` is
    only read. Refuses an existing ``dest`` (runs never overwrite one another)."""
    src = Path(data_dir)
    if not src.is_dir():
        raise InvalidOptionError(f"explorer: the study data {src} is not a folder of CSV files")
    dest = Path(dest)
    if dest.exists():
        raise InvalidOptionError(f"explorer: {dest} already exists; a run never writes into an existing folder")
    shutil.copytree(src, dest)
    if reads_csv is not None:
        target = dest / READS_FILE
        target.unlink(missing_ok=True)  # our own copy: the writer may refuse to overwrite
        reads_csv(target)
        if not target.is_file():
            raise InvalidOptionError(f"explorer: the workspace's reads export did not write {target}")
    return dest


# --- the view: one study, its cohort and its results ----------------------------------------------------------------


@dataclass(frozen=True)
class FlowBox:
    """One box of Figure 1 as the explorer draws it, with the patients behind its two parts.

    ``n``/``n_removed``/``removed_text`` are the report's own numbers and side-box text; ``remaining`` are the
    patients in the box, ``removed`` those who left at the steps drawn into it: (patient, step label, reason).
    """

    index: int
    label: str
    n: int
    n_removed: int
    removed_text: str
    step_keys: tuple[str, ...]
    remaining: tuple[str, ...]
    removed: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class PatientPage:
    """Everything the patient page shows for one patient."""

    patient_id: str
    in_flow: str  # "Analysed" or "Excluded at <step>: <reason>"
    status: str
    combination: str | None
    reason: str
    deciding_items: tuple[str, ...]
    entry: pd.DataFrame  # requirement, met, detail
    domains: pd.DataFrame  # domain, domain met, item, item met, detail, deciding
    timeline: pd.DataFrame  # date, end, kind, what, detail
    explain: str  # cohort.explain.explain_patient
    traces: pd.DataFrame  # outcome, used / left out, values (analysis.explain.trace_outcome rows of this patient)


@dataclass
class StudyView:
    """A loaded study with its cohort and results; ``label`` says where it comes from (start-up data or a run)."""

    label: str
    plan: AnalysisPlan
    study: Any
    cohort: Any
    results: Any
    run_dir: Path | None = None
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())

    @cached_property
    def flow_boxes(self) -> tuple[FlowBox, ...]:
        """Figure 1's boxes (``reporting.report.flow_figure_boxes``) with each box's patients from the flow steps."""
        from ipafstudy.reporting.report import flow_figure_boxes

        steps = {s.key: s for s in self.results.flow}
        first = self.results.flow[0]
        remaining = list(first.patient_ids)
        out = []
        for i, (box, keys) in enumerate(flow_figure_boxes(self.results)):
            removed: list[tuple[str, str, str]] = []
            for key in keys:
                step = steps[key]
                if not step.n_removed:
                    continue
                reasons = step.patient_reasons if len(step.patient_reasons) == len(step.patient_ids) else ()
                removed += [(pid, step.label, reasons[j] if reasons else step.reason)
                            for j, pid in enumerate(step.patient_ids)]
            gone = {pid for pid, _, _ in removed}
            remaining = [pid for pid in remaining if pid not in gone]
            if len(remaining) != box.n_remaining:  # the drawn count and the listed patients must agree
                raise RuntimeError(f"flow box {box.label!r}: {box.n_remaining} drawn but {len(remaining)} listed")
            out.append(FlowBox(i, box.label, int(box.n_remaining), int(box.n_removed), box.reason, tuple(keys),
                               tuple(remaining), tuple(removed)))
        return tuple(out)

    @cached_property
    def tables(self) -> tuple[Any, ...]:
        """Tables 1-6 exactly as the report prints them (``reporting.report.report_tables``)."""
        from ipafstudy.reporting.report import report_tables

        return tuple(t for t in report_tables(self.results) if t.number in MAIN_TABLE_NUMBERS)

    @cached_property
    def _results_dict(self) -> dict[str, Any]:
        import json

        from ipafstudy.reporting.report import dumps_json

        return json.loads(dumps_json(self.results.to_dict()))  # what results.json holds, as explain reads it

    @property
    def patient_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.cohort.classifications))

    def patient(self, patient_id: str) -> PatientPage:
        """The patient page; an unknown id is an ``InvalidOptionError`` naming the known ones (explain_patient)."""
        from ipafstudy.cohort.explain import explain_patient

        pid = str(patient_id)
        text = explain_patient(self.cohort, pid)  # raises for an unknown id
        c = self.cohort.classifications[pid]
        row = self.cohort.screening.set_index("patient_id").loc[pid]
        in_flow = ("Analysed" if bool(row["analysed"])
                   else f"Excluded at {row['exclusion_step']}: {row['exclusion_reason']}")
        deciding = set(c.deciding_items)
        entry = pd.DataFrame([{"requirement": e.item, "met": _yn(e.met), "detail": e.detail} for e in c.entry],
                             columns=["requirement", "met", "detail"])
        domains = pd.DataFrame(
            [{"domain": name, "domain met": _yn(dom.met), "item": item.item, "item met": _yn(item.met),
              "detail": item.detail, "deciding": "yes" if f"{name}.{item.item}" in deciding else ""}
             for name, dom in c.domains.items() for item in dom.items],
            columns=["domain", "domain met", "item", "item met", "detail", "deciding"])
        return PatientPage(pid, in_flow, c.status, c.combination, c.reason, tuple(c.deciding_items), entry, domains,
                           self.timeline(pid), text, self.traces(pid))

    def timeline(self, patient_id: str) -> pd.DataFrame:
        """Treatments, measurements, HRCT scans and adverse events of one patient, by date (records as loaded)."""
        s, pid = self.study, str(patient_id)
        rows: list[dict[str, str]] = []

        def mine(frame: pd.DataFrame) -> list[dict[str, Any]]:
            if frame is None or not len(frame):
                return []
            return frame[frame["patient_id"].astype(str) == pid].to_dict("records")

        for r in mine(s.treatments):
            dose = " ".join(x for x in (_text(r.get("dose")), _text(r.get("dose_unit")), _text(r.get("route"))) if x)
            rows.append({"date": _text(r.get("start_date")), "end": _text(r.get("end_date")) or "ongoing",
                         "kind": "treatment", "what": _text(r.get("drug")), "detail": dose})
        for r in mine(s.measurements):
            rows.append({"date": _text(r.get("date")), "end": "", "kind": "measurement",
                         "what": _text(r.get("variable")),
                         "detail": " ".join(x for x in (_text(r.get("value")), _text(r.get("unit"))) if x)})
        hrct = self.cohort.hrct
        usable = {_text(r["scan_date"]): r for r in mine(hrct.usable_scans)}
        excluded = {_text(r["scan_date"]): r for r in mine(hrct.excluded_scans)}
        reads = pd.DataFrame(mine(s.hrct_reads))
        if len(reads):
            for date, part in reads.groupby(reads["scan_date"].map(_text), sort=True):
                readers = ", ".join(sorted({f"{_text(a)} ({_text(b)})" for a, b in
                                            zip(part["reader"], part["reader_role"], strict=True)}))
                if date in usable:
                    used = f"total score {_text(usable[date].get('total'))}"
                elif date in excluded:
                    used = f"not used: {_text(excluded[date].get('reason'))}"
                else:
                    used = "not scored by the cohort"
                rows.append({"date": date, "end": "", "kind": "HRCT scan", "what": f"read by {readers}",
                             "detail": used})
        for r in mine(s.adverse_events):
            flags = [f for f in ("serious", "led_to_discontinuation", "led_to_dose_change")
                     if _text(r.get(f)).lower() in ("yes", "true", "1")]
            detail = "; ".join(x for x in (
                f"grade {_text(r.get('grade'))}" if _text(r.get("grade")) else "", _text(r.get("event_detail")),
                ", ".join(f.replace("_", " ") for f in flags), _text(r.get("outcome"))) if x)
            rows.append({"date": _text(r.get("onset_date")), "end": "", "kind": "adverse event",
                         "what": _text(r.get("event")), "detail": detail})
        frame = pd.DataFrame(rows, columns=["date", "end", "kind", "what", "detail"])
        return frame.sort_values(["date", "kind", "what"], kind="mergesort").reset_index(drop=True)

    def traces(self, patient_id: str) -> pd.DataFrame:
        """This patient's rows of ``ipafstudy explain`` for every plan outcome: values used, or why left out."""
        from ipafstudy.analysis.explain import trace_outcome

        pid = str(patient_id)
        rows = []
        analysed = pid in set(self.results.dataset["patient_id"].astype(str))
        for outcome in self.plan.outcome_codes if analysed else self.plan.outcome_codes[:1]:
            trace = trace_outcome(self.results.dataset, self._results_dict, outcome)
            for rec in trace.used[trace.used["patient_id"] == pid].to_dict("records"):
                values = "; ".join(f"{k} {_text(v)}" for k, v in rec.items() if k != "patient_id" and _text(v))
                rows.append({"outcome": f"{trace.label} ({outcome})", "used": "yes", "detail": values})
            for rec in trace.left_out[trace.left_out["patient_id"] == pid].to_dict("records"):
                where = f"{rec['stage']}" + (f", {rec['timepoint']}" if _text(rec["timepoint"]) else "")
                rows.append({"outcome": f"{trace.label} ({outcome})" if analysed else "every outcome", "used": "no",
                             "detail": f"{where}: {rec['reason']}"})  # not analysed: one reason for all
        return pd.DataFrame(rows, columns=["outcome", "used", "detail"])


def build_view(data_dir: Path, plan: AnalysisPlan, *, label: str, progress: Progress | None = None,
               run_dir: Path | None = None) -> StudyView:
    """Load the records as ``ipafstudy analyze`` loads them, build the plan's cohort and run the plan on it."""
    from ipafstudy.analysis.plancheck import load_study_for_plan
    from ipafstudy.analysis.study import plan_cohort, run_study

    step = progress or (lambda _name: None)
    step("Load")
    study = load_study_for_plan(str(data_dir), plan)
    cohort = plan_cohort(study, plan)
    results = run_study(study, plan, cohort=cohort, progress=step)
    return StudyView(label=label, plan=plan, study=study, cohort=cohort, results=results, run_dir=run_dir)


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _text(value: Any) -> str:
    """A record value as text: blanks for missing, ISO dates, integers without '.0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
