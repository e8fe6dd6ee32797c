"""``ipafstudy validate PATH``: check an input and list every problem; exit 1 when there are errors."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a CSV folder, XLSX workbook or REDCap export and list every problem",
        description=(
            "Check the input against the data dictionary and print every problem found (file, sheet, row, "
            "column, value, rule). Exit status 0 when valid (warnings allowed), 1 when there are errors."
        ),
    )
    parser.add_argument("path", help="folder of CSV files, .xlsx workbook, or REDCap records export .csv")
    parser.add_argument("--json", metavar="REPORT.json", help="also write the report as JSON")
    parser.add_argument("--force", action="store_true", help="replace an existing JSON report")
    parser.add_argument("--mapping", metavar="MAPPING.yaml", help="REDCap mapping file (REDCap exports only)")
    parser.add_argument(
        "--redcap-dictionary", metavar="DICTIONARY.csv", help="REDCap data dictionary (REDCap exports only)"
    )
    parser.add_argument(
        "--antibody-aliases", metavar="ALIASES.yaml", help="extra laboratory spellings: 'spelling: canonical name'"
    )
    parser.add_argument(
        "--plan", metavar="PLAN.yaml",
        help="analysis plan: its declared variables are accepted; dates after its data_cutoff_date are errors",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.analysis.plan import load_plan
    from ipafstudy.data.loaders import read_antibody_aliases, validate_path
    from ipafstudy.fileio import check_output_file, write_output_file

    if args.json:
        check_output_file(args.json, force=args.force)  # refuse an existing or unwritable report before the work
    aliases = read_antibody_aliases(args.antibody_aliases) if args.antibody_aliases else None
    plan = load_plan(args.plan) if args.plan else None
    report = validate_path(
        args.path, mapping=args.mapping, redcap_dictionary=args.redcap_dictionary, antibody_aliases=aliases,
        variables=plan.variable_catalogue if plan else None,
        data_cutoff_date=plan.settings.data_cutoff_date if plan else None,
    )
    if args.json:
        write_output_file(args.json, (report.to_json() + "\n").encode("utf-8"), force=args.force)
    print(report.to_text())
    return 1 if report.has_errors else 0
