"""``ipafstudy omop SUBCOMMAND``: work on an OMOP CDM database (DuckDB file, PostgreSQL or Spark; docs/omop.md).

Each subcommand is one ``add_<name>(subparsers)`` function listed in ``SUBCOMMANDS``; the options every
subcommand shares (DB, --out, --concepts, --force) come from ``add_common``. Handlers only parse arguments and
hand them to ``ipafstudy.omop`` (imported late, so ``--help`` loads no heavy library).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_common(parser: argparse.ArgumentParser, out_help: str) -> None:
    """DB, --out, --concepts and --force, worded the same for every subcommand."""
    parser.add_argument("db", metavar="DB",
                        help="OMOP CDM: a DuckDB file, a postgresql:// or spark:// URL, or a folder of Parquet files")
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--concepts", metavar="EXTRA.yaml",
                        help="concept-set YAML that adds codes (or sets) to the bundled concept sets")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out (same names replaced)")


def add_screen(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "screen",
        help="IPAF candidates and study-drug exposure from an OMOP CDM, explained per criterion",
        description=(
            "Screen every person with an interstitial lung disease diagnosis in DB: classify IPAF (ERS/ATS 2015, the "
            "rules of `ipafstudy screen`) with the evidence of every criterion, find the exposure to the study drug "
            "(RxNorm ingredient and descendants) and the age at its start, and write candidates.csv, flow.json and "
            "run.json into --out. Prints the flow."
        ),
    )
    add_common(parser, "output folder (must be new or empty unless --force)")
    parser.add_argument("--plan", metavar="PLAN.yaml",
                        help="analysis plan: its clinical settings and study drug (exposure.drug) are used")
    parser.set_defaults(handler=run_screen)


def add_extract(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "extract",
        help="the six study tables (CSV) of the ILD persons, for validate / screen / analyze",
        description=(
            "Build patients, antibodies, treatments, measurements, hrct_reads and adverse_events for every person "
            "with an interstitial lung disease diagnosis in DB (the candidates of `ipafstudy omop screen`), convert "
            "the units with the concept-set unit table, and write the CSV files and extract.json into --out "
            "(DATA_DIR). Nothing is written when the database or the concept sets cannot be used."
        ),
    )
    add_common(parser, "DATA_DIR: folder of the CSV tables (must be new or empty unless --force)")
    parser.add_argument("--plan", metavar="PLAN.yaml",
                        help="analysis plan: its study drug (exposure.drug) decides the concomitant antifibrotics")
    parser.set_defaults(handler=run_extract)


#: The subcommands, in help order (``ipafstudy omop extract`` joins here).
SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (add_screen, add_extract)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "omop", help="screen and extract a study from an OMOP CDM database",
        description="Work on an OMOP Common Data Model database (docs/omop.md).",
    )
    sub = parser.add_subparsers(dest="omop_command", metavar="SUBCOMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)


def plan_options(path: str | None) -> object:
    """ScreenOptions from an analysis plan (settings, study drug, primary outcome), or the defaults."""
    from ipafstudy.omop.screen import ScreenOptions

    if not path:
        return ScreenOptions()
    from ipafstudy.analysis.plan import load_plan

    plan = load_plan(path)
    return ScreenOptions(settings=plan.settings, drug=plan.exposure.drug, drug_label=plan.exposure.label,
                         primary_outcome=plan.primary_outcome)


def run_screen(args: argparse.Namespace) -> int:
    from ipafstudy.omop.concepts import load_concept_sets
    from ipafstudy.omop.screen import render_flow, run_screen

    options = plan_options(args.plan)
    sets = load_concept_sets(args.concepts)
    run = run_screen(args.db, args.out, options, sets, force=args.force, plan_path=args.plan,  # type: ignore[arg-type]
                     concepts_path=args.concepts)
    print(render_flow(run.flow))
    print(f"data cut-off: {run.record['data_cutoff_date_used']} ({run.record['data_cutoff_rule']}); "
          f"outputs written to {run.out}")
    return 0


def run_extract(args: argparse.Namespace) -> int:
    from ipafstudy.omop.extract import write_extract

    drug = "tacrolimus"
    if args.plan:
        from ipafstudy.analysis.plan import load_plan

        drug = load_plan(args.plan).exposure.drug
    summary = write_extract(args.db, args.out, concepts_file=args.concepts, force=args.force, drug=drug)
    rows = ", ".join(f"{name} {n}" for name, n in summary.rows.items())
    print(f"extracted {summary.persons} candidate(s) into {summary.out}: {rows}")
    for what, n in summary.left_out.items():
        print(f"note: {n} {what}")
    return 0
