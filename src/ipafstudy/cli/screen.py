"""``ipafstudy screen DATA --out DIR``: classify, screen and build the analysed cohort; write its tables."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "screen",
        help="classify IPAF, apply eligibility and time point rules, write the screening flow",
        description=(
            "Load and validate DATA, classify every patient (IPAF), apply the eligibility rules and the "
            "baseline/follow-up rules, and write classification.csv, screening.csv, timepoints.csv, flow.json, "
            "adverse_events.csv and settings.json into --out. Prints the flow."
        ),
    )
    parser.add_argument("data", help="folder of CSV files or .xlsx workbook")
    parser.add_argument("--out", required=True, help="output folder (must be new or empty unless --force)")
    parser.add_argument(
        "--settings", metavar="SETTINGS.yaml",
        help="clinical settings (YAML mapping, or an analysis plan: its 'clinical:' section, outcomes and "
        "primary_outcome are used)",
    )
    parser.add_argument("--patient", metavar="ID", help="also print why this patient is in or out")
    parser.add_argument("--deidentify", metavar="KEYFILE",
                        help="write pseudonyms for patient ids and study days for dates (key from "
                        "`ipafstudy deidentify-key`; see docs/privacy.md)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out (same names replaced)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.cohort.build import build_cohort
    from ipafstudy.cohort.explain import explain_patient
    from ipafstudy.cohort.exposure import cutoff_text
    from ipafstudy.cohort.outputs import load_outcomes, load_settings, write_cohort
    from ipafstudy.cohort.screening import render_flow
    from ipafstudy.data.loaders import load_study
    from ipafstudy.fileio import check_output_dir, output_dir

    settings = load_settings(args.settings)
    outcomes = load_outcomes(args.settings)
    check_output_dir(args.out, force=args.force)  # refuse a non-empty or unwritable --out before the work
    key = None
    if args.deidentify:
        from ipafstudy.cohort.deidentify import read_key

        key = read_key(args.deidentify)  # a missing key fails before the work
    study = load_study(args.data, data_cutoff_date=settings.data_cutoff_date)
    cohort = build_cohort(study, settings, **outcomes)
    if args.patient:
        explain_patient(cohort, args.patient)  # fail on an unknown id before writing anything
    deidentifier = None
    if key is not None:
        from ipafstudy.cohort.deidentify import Deidentifier, index_dates

        deidentifier = Deidentifier(key, index_dates(study, settings))
    with output_dir(args.out, force=args.force) as out:  # created only once there is something to write
        write_cohort(cohort, out, deidentifier=deidentifier)
    print(render_flow(cohort.flow))
    print(f"data cut-off: {cutoff_text(cohort.data_cutoff_date, settings.data_cutoff_date)}; outputs written to {out}")
    if args.patient:
        print()
        print(explain_patient(cohort, args.patient))
    return 0
