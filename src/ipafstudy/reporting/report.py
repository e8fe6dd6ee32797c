"""Assemble the report and every output file from ``StudyResults`` using the rendering primitives.

Outputs in ``--out DIR``: ``report.docx``, ``report.html`` (self-contained), ``tables.xlsx`` (one
sheet per table), ``tables/*.csv``, ``figures/*.png`` (300 dpi) and ``*.svg``, ``results.json``,
``analysis_dataset.csv`` and ``run-record.json``. Everything but the run record's time stamp is
byte-identical on a rerun: rows and keys are sorted, figures and Office files carry no dates.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ipafstudy.analysis.results import StudyResults, jsonable
from ipafstudy.reporting import figures as figs
from ipafstudy.reporting.format import JournalStyle, get_style
from ipafstudy.reporting.io import atomic_write_text, prepare_output_dir, sha256_file, write_table_csv
from ipafstudy.reporting.methods import methods_paragraphs, summary_sentences
from ipafstudy.reporting.tables import build_tables
from ipafstudy.reporting.tablespec import FigureSpec, TableSpec

Progress = Callable[[str], None]
FIXED_DOC_TIME = "2000-01-01T00:00:00Z"


@dataclass(frozen=True)
class Report:
    """What a report holds, in print order; renderers lay it out."""

    title: str
    summary: tuple[str, ...]
    methods: tuple[str, ...]
    tables: tuple[TableSpec, ...]
    figures: tuple[FigureSpec, ...]
    notes: tuple[str, ...]


def dumps_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no NaN (None instead), UTF-8 text, trailing newline."""
    return json.dumps(jsonable(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def dataset_csv(results: StudyResults) -> str:
    """``analysis_dataset.csv``: the exact per-patient values every table was computed from."""
    return results.dataset.to_csv(index=False, lineterminator="\n", na_rep="")


def _box_frames(results: StudyResults) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    data_rows, stat_rows, codes = [], [], []
    for panel in results.box_plots:
        if panel.before_quartiles is None or panel.before_range is None or not panel.patient_ids:
            continue
        codes.append(panel.code)
        for tp, values, q, rng in (("baseline", panel.before, panel.before_quartiles, panel.before_range),
                                   ("follow_up", panel.after, panel.after_quartiles, panel.after_range)):
            data_rows += [{"patient_id": pid, "outcome": panel.code, "timepoint": tp, "value": v}
                          for pid, v in zip(panel.patient_ids, values, strict=True)]
            stat_rows.append({"outcome": panel.code, "timepoint": tp, "q1": q.q1, "median": q.median, "q3": q.q3,
                              "whisker_low": rng.min, "whisker_high": rng.max})
    return pd.DataFrame(data_rows, columns=list(figs.DATA_COLUMNS)), pd.DataFrame(stat_rows), codes


def make_figures(results: StudyResults, fig_dir: Path, style: JournalStyle) -> tuple[FigureSpec, ...]:
    """Figure 1 (box plots), Figure 2 (Spearman heatmap) and the flow diagram, saved as PNG + SVG."""
    out: list[FigureSpec] = []
    plan = results.plan
    data, box_stats, codes = _box_frames(results)
    if codes:
        panels = {p.code: p for p in results.box_plots}
        fig = figs.paired_boxplots(
            data, codes, labels={c: panels[c].label for c in codes}, p_values={c: panels[c].p for c in codes},
            box_stats=box_stats, quartile_method=plan.statistics.quantile_method,
            paired_lines=plan.figures.paired_lines,
            ylabels={c: panels[c].unit or "score" for c in codes}, style=style,
        )
        png, svg = figs.save_figure(fig, fig_dir / "figure1_boxplots", style=style)
        caption = ("Outcomes at baseline (Pre) and last follow-up (Post) on tacrolimus. "
                   + figs.box_caption(quartile_method=plan.statistics.quantile_method,
                                      paired_lines=plan.figures.paired_lines)
                   + " Stars: Wilcoxon signed-rank p of Table 2.")
        out.append(FigureSpec("figure1_boxplots", "Treatment response to tacrolimus", caption, png, svg, number=1,
                              alt_text="Box plots of each outcome before and after tacrolimus"))
    corr = results.correlation
    if corr is not None:
        fig = figs.correlation_heatmap(corr.rho, corr.p, [f"Δ {label}" for label in results.correlation_labels],
                                       style=style)
        png, svg = figs.save_figure(fig, fig_dir / "figure2_correlation", style=style)
        adjust = plan.correlation.adjust
        caption = ("Spearman correlations among the changes (follow-up minus baseline), pairwise complete cases; ρ "
                   "in each cell. Stars use the unadjusted p: * p < 0.05; ** p < 0.01; *** p < 0.001."
                   + (f" {'Holm' if adjust == 'holm' else 'Benjamini-Hochberg'}-adjusted p values are in "
                      "Supplementary Table S4." if adjust != "none" else ""))
        out.append(FigureSpec("figure2_correlation", "Correlations among changes in outcomes", caption, png, svg,
                              number=2, alt_text="Heatmap of Spearman correlation coefficients"))
    if results.flow:
        steps = [figs.FlowStep(s.label, int(s.n_after), int(s.n_removed), str(s.reason or ""))
                 for s in results.flow]
        fig = figs.flow_diagram(steps, style=style)
        png, svg = figs.save_figure(fig, fig_dir / "figure3_flow", style=style)
        out.append(FigureSpec("figure3_flow", "Patient flow", "Screening flow from all screened patients to the "
                              "analysed cohort (STROBE).", png, svg, number=3, alt_text="Flow diagram"))
    return tuple(out)


def build_report(results: StudyResults, figures: Sequence[FigureSpec], style: JournalStyle) -> Report:
    return Report(
        title=results.plan.title,
        summary=tuple(summary_sentences(results, style)),
        methods=tuple(methods_paragraphs(results, style)),
        tables=build_tables(results, style),
        figures=tuple(figures),
        notes=tuple(results.notes),
    )


def run_record(results: StudyResults, *, started: str, command: Sequence[str] | None,
               outputs: dict[str, str]) -> dict[str, Any]:
    """Inputs with checksums, the complete plan, seed, versions, outputs with checksums, and the time."""
    return {
        "time": started,
        "command": list(command) if command is not None else None,
        "inputs": [
            {"path": str(getattr(s, "path", s)), "sha256": getattr(s, "sha256", None), "kind": getattr(s, "kind", None)}
            for s in sorted(results.sources, key=lambda s: str(getattr(s, "path", s)))
        ],
        "plan": results.plan.to_dict(),
        "seed": results.plan.statistics.seed,
        "versions": dict(sorted(results.versions.items())),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "outputs": dict(sorted(outputs.items())),
    }


def write_report(
    results: StudyResults,
    out_dir: str | Path,
    *,
    force: bool = False,
    style: str | JournalStyle | None = None,
    progress: Progress | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write every output file; refuses a non-empty ``out_dir`` unless ``force``. Returns name -> path."""
    from ipafstudy.reporting import docx as docx_out
    from ipafstudy.reporting import html as html_out
    from ipafstudy.reporting import xlsx as xlsx_out

    step = progress or (lambda _name: None)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    st = get_style(style if style is not None else results.plan.journal_style)
    out = prepare_output_dir(out_dir, force=force)
    (out / "tables").mkdir(exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    written: dict[str, Path] = {}
    step("Data and results")
    written["analysis_dataset.csv"] = atomic_write_text(out / "analysis_dataset.csv", dataset_csv(results))
    written["results.json"] = atomic_write_text(out / "results.json", dumps_json(results.to_dict()))
    step("Figures")
    figures = make_figures(results, out / "figures", st)
    for f in figures:
        written[f"figures/{f.png_path.name}"] = f.png_path
        if f.svg_path is not None:
            written[f"figures/{f.svg_path.name}"] = f.svg_path
    report = build_report(results, figures, st)
    step("Tables")
    for t in report.tables:
        written[f"tables/{t.key}.csv"] = write_table_csv(out / "tables" / f"{t.key}.csv", t)
    written["tables.xlsx"] = xlsx_out.write_xlsx(out / "tables.xlsx", report.tables)
    step("Documents")
    written["report.docx"] = docx_out.write_docx(out / "report.docx", report)
    written["report.html"] = html_out.write_html(out / "report.html", report)
    checksums = {name: sha256_file(path) for name, path in sorted(written.items())}
    record = run_record(results, started=started, command=command, outputs=checksums)
    written["run-record.json"] = atomic_write_text(out / "run-record.json", dumps_json(record))
    return written
