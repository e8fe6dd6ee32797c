"""``ipafstudy hrct worklist|scores|agreement DATA``: the HRCT reading workflow.

* ``worklist``: the scan/zone/pattern cells a third reader must adjudicate (open flags), with both
  readers' grades and percentages and empty adjudicator columns. Fill ``adjudicator_grade``
  (0-4) and ``adjudicator`` (reader id).
* ``adjudicated``: turn the filled worklist into ``hrct_reads`` rows (``reader_role=adjudicator``,
  one per scan and zone, patterns not adjudicated left blank) to append to hrct_reads.
* ``scores``: per-reader scores and the consensus score of every scan.
* ``agreement``: ICC(2,1) with 95 % CI per pattern score and total; weighted kappa per pattern.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hrct",
        help="HRCT reading workflow: adjudication worklist, scores, inter-reader agreement",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="hrct_command", metavar="ACTION", required=True)
    for name, helptext in (
        ("worklist", "write the cells a third reader must adjudicate (.xlsx or .csv)"),
        ("scores", "write per-reader and consensus scores per scan (.csv)"),
        ("agreement", "print ICC(2,1) and weighted kappa between the two readers"),
        ("adjudicated", "turn a filled worklist into hrct_reads rows (reader_role=adjudicator) to append"),
    ):
        p = sub.add_parser(name, help=helptext, description=helptext)
        if name == "adjudicated":
            p.add_argument("worklist", help="the filled worklist (.xlsx or .csv)")
            p.add_argument("--out", metavar="ROWS.csv", required=True, help="hrct_reads rows to append")
            p.add_argument("--force", action="store_true", help="replace an existing output file")
            p.set_defaults(handler=run_adjudicated)
            continue
        p.add_argument("data", help="folder of CSV files or .xlsx workbook")
        p.add_argument("--settings", metavar="SETTINGS.yaml", help="clinical settings (adjudication gaps, consensus)")
        if name == "agreement":
            p.add_argument("--out", metavar="FILE.csv", help="also write the agreement table")
        else:
            p.add_argument("--out", metavar="FILE", required=True, help="output file")
        p.add_argument("--force", action="store_true", help="replace an existing output file")
        p.set_defaults(handler={"worklist": run_worklist, "scores": run_scores, "agreement": run_agreement}[name])


def _check_out(path: str | None, force: bool, allowed: tuple[str, ...] = ("csv", "xlsx")) -> None:
    """File name, overwrite and writability checks before any loading."""
    from ipafstudy.cohort.outputs import check_table_path
    from ipafstudy.fileio import check_output_file

    if path:
        check_table_path(path, allowed=allowed)
        check_output_file(path, force=force)


def run_worklist(args: argparse.Namespace) -> int:
    from ipafstudy.cohort.hrct import adjudication_worklist
    from ipafstudy.cohort.outputs import load_settings, write_table
    from ipafstudy.data.loaders import load_study

    settings = load_settings(args.settings)
    _check_out(args.out, args.force)
    study = load_study(args.data, data_cutoff_date=settings.data_cutoff_date)
    frame = adjudication_worklist(study.hrct_reads, settings)
    write_table(args.out, frame, force=args.force, sheet="adjudication")
    n_scans = frame[["patient_id", "scan_date"]].drop_duplicates().shape[0]
    print(f"{len(frame)} zone/pattern cell(s) on {n_scans} scan(s) need a third reader; written to {args.out}")
    return 0


def run_scores(args: argparse.Namespace) -> int:
    from ipafstudy.cohort.outputs import hrct_scores, load_settings, write_table
    from ipafstudy.data.loaders import load_study

    settings = load_settings(args.settings)
    _check_out(args.out, args.force, allowed=("csv",))
    study = load_study(args.data, data_cutoff_date=settings.data_cutoff_date)
    write_table(args.out, hrct_scores(study.hrct_reads, settings), force=args.force, sheet="scores")
    print(f"scores written to {args.out}")
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    import pandas as pd

    from ipafstudy.cohort.agreement import hrct_agreement
    from ipafstudy.cohort.outputs import write_table
    from ipafstudy.data.loaders import load_study

    _check_out(args.out, args.force)
    study = load_study(args.data)
    result = hrct_agreement(study.hrct_reads)
    frame = result.to_frame()
    print(f"Inter-reader agreement, reader1 vs reader2 ({result.n_scans} scans)")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(frame.round(3).to_string(index=False))
    if args.out:
        write_table(args.out, frame, force=args.force, sheet="agreement")
    return 0


def run_adjudicated(args: argparse.Namespace) -> int:
    from ipafstudy.cohort.hrct import adjudicator_rows
    from ipafstudy.cohort.outputs import read_worklist, write_table

    _check_out(args.out, args.force)
    rows = adjudicator_rows(read_worklist(str(args.worklist)), source=str(args.worklist))
    # rows to append to the input hrct_reads: ids exactly as in the data, not formula-escaped
    write_table(args.out, rows, force=args.force, sheet="hrct_reads", escape=False)
    print(f"{len(rows)} adjudicator row(s) written to {args.out}; append them to hrct_reads and re-run screen")
    return 0
