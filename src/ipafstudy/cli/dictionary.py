"""``ipafstudy dictionary --out DIR``: write the data dictionary (Markdown, CSV, REDCap CSV)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dictionary",
        help="write the data dictionary (Markdown, CSV and a REDCap data dictionary)",
        description=(
            "Write data_dictionary.md, data_dictionary.csv and redcap_data_dictionary.csv into DIR. The REDCap "
            "file can be uploaded to a new REDCap project; its records exports then load with no mapping file."
        ),
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if needed)")
    parser.add_argument("--redcap", action="store_true", help="write only redcap_data_dictionary.csv")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.data.dictionary import write_dictionary
    from ipafstudy.fileio import check_output_dir

    check_output_dir(args.out, force=True)  # an unwritable folder is one clear line; same-named files need --force
    for path in write_dictionary(args.out, force=args.force, redcap_only=args.redcap):
        print(f"wrote {path}")
    return 0
