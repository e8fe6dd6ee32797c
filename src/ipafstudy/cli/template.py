"""``ipafstudy template OUT.xlsx``: write a blank data-entry workbook (one sheet per table)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "template",
        help="write a blank XLSX data-entry workbook with notes and drop-down lists",
        description=(
            "Write an empty workbook: a README sheet and one sheet per table with the header row, a note on "
            "every column (description, unit, allowed values, required) and drop-down lists for coded columns."
        ),
    )
    parser.add_argument("out", metavar="OUT.xlsx", help="workbook to create")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.data.template import write_template
    from ipafstudy.fileio import check_output_file

    check_output_file(args.out, force=args.force)
    path = write_template(args.out, force=args.force)
    print(f"wrote {path}")
    return 0
