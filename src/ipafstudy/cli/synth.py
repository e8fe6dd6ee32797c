"""``ipafstudy synth --out DIR``: write a seeded example cohort (or the bundled copy) as a CSV folder.

Also the developer entry point ``python -m ipafstudy.cli.synth --refresh-bundled | --calibration``
(regenerate src/ipafstudy/example_data; print the model's intended summaries against the calibration
targets). Argument parsing only: the work is in ``ipafstudy.data.synth``.
"""

from __future__ import annotations

import argparse
import sys

from ipafstudy.data.synth.defaults import DEFAULT_N_SCREENED, DEFAULT_SEED


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a seeded example cohort (CSV folder) for demos and tests",
        description=(
            "Generate a screened population from a patient-level model (docs/synth.md) and write it as a "
            "CSV folder with generator_truth.json beside it. The same seed always gives identical files. "
            "--bundled copies the example cohort shipped with the package instead."
        ),
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (must be empty unless --force)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--n-screened", type=int, default=DEFAULT_N_SCREENED, metavar="N",
        help=f"number of screened patients (default {DEFAULT_N_SCREENED})",
    )
    parser.add_argument("--sites", type=int, default=1, metavar="N", help="number of centres (default 1)")
    parser.add_argument(
        "--open-hrct-flags", type=int, default=0, metavar="K",
        help="leave K flagged HRCT zones without an adjudicator read (default 0)",
    )
    parser.add_argument("--bundled", action="store_true", help="copy the bundled example cohort (ignores --seed etc.)")
    parser.add_argument("--force", action="store_true", help="overwrite the cohort files in a non-empty folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipafstudy.data.synth import copy_bundled, generate_cohort, write_cohort  # numpy + pandas: only when used

    if args.bundled:
        paths = copy_bundled(args.out, force=args.force)
        print(f"copied the bundled example cohort ({len(paths)} files) to {args.out}")
        return 0
    cohort = generate_cohort(
        seed=args.seed, n_screened=args.n_screened, n_sites=args.sites, open_hrct_flags=args.open_hrct_flags
    )
    paths = write_cohort(cohort, args.out, force=args.force)
    counts = cohort.truth["fate_counts"]
    eligible = counts.get("eligible", 0)  # type: ignore[union-attr]
    print(
        f"wrote {len(paths)} files to {args.out}: {args.n_screened} screened, {eligible} intended eligible "
        f"(seed {args.seed}; intended fates in generator_truth.json)"
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
