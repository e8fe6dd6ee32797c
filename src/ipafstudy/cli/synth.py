"""``ipafstudy synth --out DIR``: write a seeded example cohort (or the bundled copy) as a CSV folder.

Also the developer entry point ``python -m ipafstudy.cli.synth --refresh-bundled | --calibration``
(regenerate src/ipafstudy/example_data; print the model's intended summaries against the calibration
targets). Argument parsing only: the work is in ``ipafstudy.data.synth``.
"""

from __future__ import annotations

import argparse
import sys

from ipafstudy.data.synth.defaults import DEFAULT_N_SCREENED, DEFAULT_SEED, EXAMPLE_DEFAULTS, EXAMPLES
from ipafstudy.errors import InvalidOptionError

EXAMPLE_PLAN_FILE = "analysis_plan.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a seeded example cohort (CSV folder) for demos and tests",
        description=(
            "Generate a screened population from a patient-level model (docs/synth.md) and write it as a "
            "CSV folder with generator_truth.json beside it. The same seed always gives identical files. "
            "--bundled copies the example cohort shipped with the package instead. --example NAME writes a "
            f"worked example study with its analysis plan ({EXAMPLE_PLAN_FILE}) beside the data."
        ),
        epilog="examples (--example NAME):\n" + "\n".join(
            f"  {name}: {text} (default seed {EXAMPLE_DEFAULTS[name][0]}, {EXAMPLE_DEFAULTS[name][1]} screened)"
            for name, text in EXAMPLES.items()
        ) + "\n\n  ipafstudy synth --example mmf-fvc --out mmf\n"
        "  ipafstudy analyze mmf --out mmf-report --plan mmf/" + EXAMPLE_PLAN_FILE + "\n\n"
        "OMOP CDM (--omop): a synthetic OMOP CDM as ONE DuckDB file, with its truth (per person: ILD, IPAF verdict\n"
        "per domain and overall, tacrolimus exposure, the planted edge cases) in DB.truth.json beside it:\n"
        "  ipafstudy synth --omop --persons 10000 --out cdm.duckdb --seed 7",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR",
        help="output folder (must be empty unless --force); with --omop the DuckDB file to write",
    )
    parser.add_argument(
        "--example", choices=tuple(EXAMPLES), metavar="NAME",
        help=f"write a worked example study and its plan instead: {', '.join(EXAMPLES)} (listed below)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help=f"random seed (default {DEFAULT_SEED}; an example: its own)"
    )
    parser.add_argument(
        "--n-screened", type=int, default=None, metavar="N",
        help=f"number of screened patients (default {DEFAULT_N_SCREENED}; an example: its own)",
    )
    parser.add_argument("--sites", type=int, default=1, metavar="N", help="number of centres (default 1)")
    parser.add_argument(
        "--open-hrct-flags", type=int, default=0, metavar="K",
        help="leave K flagged HRCT zones without an adjudicator read (default 0)",
    )
    parser.add_argument("--bundled", action="store_true", help="copy the bundled example cohort (ignores --seed etc.)")
    parser.add_argument(
        "--omop", action="store_true",
        help="write a synthetic OMOP CDM (DuckDB file at --out) and its truth JSON instead (docs/omop.md)",
    )
    parser.add_argument("--persons", type=int, default=None, metavar="N", help="--omop: number of persons")
    parser.add_argument("--force", action="store_true", help="overwrite the cohort files in a non-empty folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.omop or args.persons is not None:
        return _write_omop(args)
    from ipafstudy.data.synth import copy_bundled, generate_cohort, write_cohort  # numpy + pandas: only when used

    if args.bundled:
        if args.example:
            raise InvalidOptionError("synth: --bundled and --example cannot be combined")
        paths = copy_bundled(args.out, force=args.force)
        print(f"copied the bundled example cohort ({len(paths)} files) to {args.out}")
        return 0
    if args.example:
        return _write_example(args)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    n_screened = DEFAULT_N_SCREENED if args.n_screened is None else args.n_screened
    cohort = generate_cohort(
        seed=seed, n_screened=n_screened, n_sites=args.sites, open_hrct_flags=args.open_hrct_flags
    )
    paths = write_cohort(cohort, args.out, force=args.force)
    counts = cohort.truth["fate_counts"]
    eligible = counts.get("eligible", 0)  # type: ignore[union-attr]
    print(
        f"wrote {len(paths)} files to {args.out}: {n_screened} screened, {eligible} intended eligible "
        f"(seed {seed}; intended fates in generator_truth.json)"
    )
    return 0


def _write_omop(args: argparse.Namespace) -> int:
    """``--omop``: the synthetic OMOP CDM (omop.synth) as a DuckDB file with DB.truth.json beside it."""
    if not args.omop:
        raise InvalidOptionError("synth: --persons applies to --omop only (use --n-screened for the CSV cohort)")
    clashes = [flag for flag, used in (("--example", args.example), ("--bundled", args.bundled),
                                       ("--n-screened", args.n_screened is not None), ("--sites", args.sites != 1),
                                       ("--open-hrct-flags", args.open_hrct_flags != 0)) if used]
    if clashes:
        raise InvalidOptionError(f"synth --omop: {', '.join(clashes)} cannot be combined with --omop")
    if args.persons is None:
        raise InvalidOptionError("synth --omop: --persons N is required")
    from ipafstudy.omop.synth import DEFAULT_SEED as OMOP_SEED
    from ipafstudy.omop.synth import check_persons, truth_path, write_synthetic_cdm

    check_persons(args.persons)
    seed = OMOP_SEED if args.seed is None else args.seed
    path = write_synthetic_cdm(args.out, args.persons, seed, force=args.force)
    print(f"wrote {path} ({args.persons} persons, seed {seed}) and its truth {truth_path(path)}")
    return 0


def _write_example(args: argparse.Namespace) -> int:
    """The example's tables, its truth and its analysis plan (the plan is written last, atomically)."""
    from pathlib import Path

    from ipafstudy.analysis.examples import example_plan_yaml
    from ipafstudy.data.synth import generate_example, write_cohort
    from ipafstudy.fileio import atomic_write_text

    if args.sites != 1 or args.open_hrct_flags != 0:
        raise InvalidOptionError("synth --example: --sites and --open-hrct-flags apply to the default cohort only")
    plan_text = example_plan_yaml(args.example)
    cohort = generate_example(args.example, seed=args.seed, n_screened=args.n_screened)
    paths = write_cohort(cohort, args.out, force=args.force)
    plan_path = Path(args.out) / EXAMPLE_PLAN_FILE
    atomic_write_text(plan_path, plan_text)
    analysed = len(cohort.truth["analysed_ids"])
    print(
        f"wrote {len(paths) + 1} files to {args.out}: example {args.example}, {cohort.truth['n_screened']} screened, "
        f"{analysed} intended analysed (seed {cohort.seed}); analyse it with:\n"
        f"  ipafstudy analyze {args.out} --out OUT --plan {plan_path}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Developer tool: regenerate the bundled copy and/or print the calibration report."""
    parser = argparse.ArgumentParser(
        prog="python -m ipafstudy.cli.synth", description="Maintain the bundled example cohort (docs/synth.md)."
    )
    parser.add_argument("--refresh-bundled", action="store_true", help="regenerate src/ipafstudy/example_data")
    parser.add_argument("--calibration", action="store_true", help="print intended summaries against the targets")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for --calibration")
    args = parser.parse_args(argv)
    from ipafstudy.data.synth import calibration_report, generate_cohort, refresh_bundled

    if args.refresh_bundled:
        print(f"wrote {refresh_bundled()}")
    if args.calibration:
        for name, value, target, tol, ok in calibration_report(generate_cohort(seed=args.seed)):
            print(f"{name:28s} {value:9.3f}  target {target:8.3f} +/- {tol:<6g} {'ok' if ok else 'OUT'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
