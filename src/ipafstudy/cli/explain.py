"""``ipafstudy explain DIR OUTCOME``: which values, from which dates, each patient contributed."""

from __future__ import annotations

import argparse
from pathlib import Path

from ipafstudy.analysis.explain import trace_from_dir
from ipafstudy.errors import OutputExistsError
from ipafstudy.fileio import atomic_write_text, csv_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="per patient: the baseline and follow-up values and dates used for an outcome, and who was left out",
        description=(
            "Read the output folder of `ipafstudy analyze` and list, for one outcome, each analysed patient's "
            "baseline and last follow-up value with their dates and the change, then every patient left out of "
            "that outcome's comparison with the reason."
        ),
        epilog="example:\n  ipafstudy explain out/demo hrct_total\n  ipafstudy explain out/demo crp --csv crp.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", metavar="DIR", help="output folder written by `ipafstudy analyze`")
    parser.add_argument("outcome", metavar="OUTCOME", help="outcome code, e.g. hrct_total, mmrc, esr, crp")
    parser.add_argument("--csv", metavar="FILE.csv", help="also write the per-patient values to a CSV file")
    parser.add_argument("--force", action="store_true", help="replace an existing --csv file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.csv and Path(args.csv).exists() and not args.force:
        raise OutputExistsError(f"{args.csv} already exists; choose another file or pass --force to replace it")
    trace = trace_from_dir(args.out_dir, args.outcome)
    print(trace.to_text())
    if args.csv:
        atomic_write_text(args.csv, csv_text(trace.used))
    return 0
