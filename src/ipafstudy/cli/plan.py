"""``ipafstudy plan``: print the default analysis plan, or check a plan file."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print the default analysis plan (YAML with comments) or check a plan file",
        description=(
            "Print the default analysis plan, which reproduces the reference study's analysis, as commented YAML "
            "(save it, edit it, pass it to `ipafstudy analyze --plan`), or check a plan file and report every "
            "problem with its key."
        ),
        epilog="examples:\n  ipafstudy plan --default > plan.yaml\n  ipafstudy plan --check plan.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--default", action="store_true", help="print the default plan")
    group.add_argument("--check", metavar="PLAN.yaml", help="validate a plan file and print it with every value")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.analysis.plan import default_plan_yaml, load_plan  # pydantic + yaml: only when used

    if args.default:
        print(default_plan_yaml(), end="")
        return 0
    plan = load_plan(args.check)
    print(f"{args.check}: valid analysis plan (outcomes: {', '.join(plan.outcome_codes)}; "
          f"primary: {plan.primary_outcome}; seed: {plan.statistics.seed})")
    return 0
