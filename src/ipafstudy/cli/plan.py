"""``ipafstudy plan``: print the default analysis plan, or check a plan file."""

from __future__ import annotations

import argparse

from ipafstudy.data.synth.defaults import EXAMPLES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print the default analysis plan (YAML with comments) or check a plan file",
        description=(
            "Print the default analysis plan, which reproduces the reference study's analysis, as commented YAML "
            "(save it, edit it, pass it to `ipafstudy analyze --plan`), or check a plan file and report every "
            "problem with its key."
        ),
        epilog="examples:\n  ipafstudy plan --default > plan.yaml\n  ipafstudy plan --check plan.yaml\n"
        "  ipafstudy plan --check plan.yaml --data data/   # also the problems only the records show\n"
        "  ipafstudy plan --example mmf-fvc > mmf-plan.yaml   # the plan of a worked example study",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--default", action="store_true", help="print the default plan")
    group.add_argument("--check", metavar="PLAN.yaml", help="check a plan file: every problem with its key, exit 1")
    parser.add_argument("--data", metavar="DATA",
                        help="with --check: also check the plan against these records (a drug with no course, a "
                        "subgroup with one level, ...) as `analyze` does")
    group.add_argument(
        "--example", choices=tuple(EXAMPLES), metavar="NAME",
        help=f"print the plan of a worked example study ({', '.join(EXAMPLES)}; data: ipafstudy synth --example NAME)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.analysis.plan import default_plan_yaml  # pydantic + yaml: only when used
    from ipafstudy.analysis.plancheck import PlanProblemsError, check_plan_file, check_with_data, load_study_for_plan
    from ipafstudy.errors import InvalidOptionError

    if args.data and not args.check:
        raise InvalidOptionError("--data goes with --check PLAN.yaml")
    if args.default:
        print(default_plan_yaml(), end="")
        return 0
    if args.example:
        from ipafstudy.analysis.examples import example_plan_yaml

        print(example_plan_yaml(args.example), end="")
        return 0
    checked = check_plan_file(args.check)
    problems, notes = list(checked.problems), []
    if args.data:
        problems, notes = check_with_data(checked, lambda plan: load_study_for_plan(args.data, plan))
    if problems:
        raise PlanProblemsError(problems, repr(args.check), notes)
    plan = checked.plan
    assert plan is not None  # no problem means the plan was built
    against = f"; checked against {args.data}" if args.data else ""
    print(f"{args.check}: valid analysis plan (outcomes: {', '.join(plan.outcome_codes)}; "
          f"primary: {plan.primary_outcome}; seed: {plan.statistics.seed}{against})")
    return 0

