"""``ipafstudy analyze DATA --out DIR``: the whole study, from records to report, in one command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

STEPS = ("Load", "Cohort", "HRCT reader agreement", "Table 1", "Table 2", "Figure 3", "Table 3", "Tables 4 and 5",
         "Adverse events and missing data", "Data and results", "Figures", "Tables", "Documents")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="run the whole study: cohort, tables, figures, report (DOCX, HTML, XLSX, CSV, JSON)",
        description=(
            "Load and validate the records, build the cohort, run the analysis plan and write report.docx, "
            "report.html, tables.xlsx, tables/*.csv, figures/*.png|svg, results.json, analysis_dataset.csv and "
            "run-record.json into --out. Without --plan the default plan (`ipafstudy plan --default`) is used."
        ),
        epilog=(
            "examples:\n  ipafstudy analyze data/ --out results/\n"
            "  ipafstudy plan --default > plan.yaml   # edit, then:\n"
            "  ipafstudy analyze data/ --out results/ --plan plan.yaml --force"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="folder of CSV files, .xlsx workbook, or REDCap export .csv")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (must be new or empty)")
    parser.add_argument("--plan", metavar="PLAN.yaml", help="analysis plan (default: the reference study's plan)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty --out (same-named files are replaced; nothing else is deleted)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--deidentify", metavar="KEYFILE",
                        help="write analysis_dataset.csv and results.json with keyed pseudonyms for ids and study "
                        "days for dates (key from `ipafstudy deidentify-key`; see docs/privacy.md)")
    parser.add_argument("--mapping", metavar="MAPPING.yaml", help="REDCap mapping file (REDCap exports only)")
    parser.add_argument("--redcap-dictionary", metavar="DICTIONARY.csv", help="REDCap data dictionary")
    parser.set_defaults(handler=run)


def _progress(quiet: bool) -> tuple[Callable[[str], None], Callable[[], None]]:
    """A tqdm bar on a terminal; silent with --quiet or when stderr is not a TTY (logs, CI)."""
    if quiet or not sys.stderr.isatty():
        return (lambda _name: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=len(STEPS), desc="analyze", unit="step", file=sys.stderr, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    return step, bar.close


def run(args: argparse.Namespace) -> int:
    from ipafstudy.analysis.plan import AnalysisPlan
    from ipafstudy.analysis.plancheck import PlanProblemsError, check_plan_file, check_with_data, load_study_for_plan
    from ipafstudy.analysis.study import run_study
    from ipafstudy.cohort.exposure import cutoff_text
    from ipafstudy.fileio import check_output_dir, output_dir
    from ipafstudy.reporting.format import get_style
    from ipafstudy.reporting.report import write_report

    source = repr(args.plan) if args.plan else None

    def load(plan: AnalysisPlan) -> object:
        return load_study_for_plan(args.data, plan, mapping=args.mapping, redcap_dictionary=args.redcap_dictionary)

    if args.plan:
        checked = check_plan_file(args.plan)
        if checked.problems or checked.plan is None:  # every problem, the data ones too when the records load
            problems, notes = check_with_data(checked, load)
            raise PlanProblemsError(problems, source, notes)
        plan = checked.plan
    else:
        plan = AnalysisPlan()
    get_style(plan.journal_style)  # an unknown journal style fails before any work is done
    check_output_dir(args.out, force=args.force)  # refuse a non-empty or unwritable --out before the long work
    key = None
    if args.deidentify:
        from ipafstudy.cohort.deidentify import read_key

        key = read_key(args.deidentify)  # a missing key fails before the work
    step, close = _progress(args.quiet)
    try:
        step("Load")
        study = load(plan)
        try:
            results = run_study(study, plan, progress=step)  # data problems of the plan stop here, all at once
        except PlanProblemsError as exc:
            raise PlanProblemsError(exc.problems, source, exc.notes) from None
        deidentifier = None
        if key is not None:
            from ipafstudy.cohort.deidentify import Deidentifier, index_dates

            deidentifier = Deidentifier(key, index_dates(study, plan.settings, plan.exposure_drug))
        with output_dir(args.out, force=args.force) as out:  # created only now; removed again if writing fails
            written = write_report(results, out, force=True, progress=step,
                                   command=["ipafstudy", "analyze", *sys.argv[2:]] if sys.argv else None,
                                   deidentifier=deidentifier)
    finally:
        close()
    if not args.quiet:
        print(f"analysed {results.n_analysed} patients; wrote {len(written)} files to {args.out}")
        print(f"data cut-off: {cutoff_text(results.data_cutoff_date, plan.settings.data_cutoff_date)}")
        for note in results.notes:
            print(f"note: {note}")
    return 0
