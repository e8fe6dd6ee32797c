"""``ipafstudy explain DIR OUTCOME``: which values, from which dates, each patient contributed."""

from __future__ import annotations

import argparse


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
    from ipafstudy.analysis.explain import trace_from_dir
    from ipafstudy.fileio import check_output_file, csv_text, write_output_file

    if args.csv:
        check_output_file(args.csv, force=args.force)  # refuse an existing or unwritable file before the work
    trace = trace_from_dir(args.out_dir, args.outcome)
    print(trace.to_text())
    if args.csv:
        write_output_file(args.csv, csv_text(trace.used).encode("utf-8"), force=args.force)
    return 0
