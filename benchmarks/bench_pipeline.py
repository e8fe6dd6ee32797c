"""Pipeline scaling: load -> cohort -> analysis on generated multi-centre cohorts of growing size.

Generates cohorts with ``ipafstudy.data.synth.generate_cohort`` (N = 271 screened at 1 centre, the
baseline; 1000 at 3 centres; 3000 at 5 centres), writes each to a temporary CSV folder, and times the
stages ``load_study``, ``build_cohort`` and ``run_study`` (default plan). Each stage's best-of-k time is
printed with its ratio to the N = 271 baseline measured in the same run, and time per screened patient
with its ratio to the baseline's, so super-linear scaling shows as a per-patient ratio well above 1.
``run_study`` builds the cohort itself; its time is split with the plan's progress steps, so the
"analysis only" row (after the cohort and analysis dataset are built) is measured, not subtracted.

Run:  .venv/bin/python benchmarks/bench_pipeline.py            # N = 271, 1000, 3000 (about 1 min)
      .venv/bin/python benchmarks/bench_pipeline.py --quick    # N = 271 and 1000 only
      .venv/bin/python benchmarks/bench_pipeline.py --profile analysis --n 3000   # cProfile one stage
      .venv/bin/python benchmarks/bench_pipeline.py --profile load --sort tottime  # own-time hotspots
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.analysis.study import run_study
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.data.synth import generate_cohort, write_cohort

SEED = 20250101
# (n_screened, n_sites, repeats): more repeats for the short, noisy baseline; fewer for larger N keeps the
# whole run near 1 minute on 2 shared cores.
SIZES: tuple[tuple[int, int, int], ...] = ((271, 1, 7), (1000, 3, 3), (3000, 5, 2))
QUICK_SIZES = SIZES[:2]
BASELINE_N = 271
STAGES = ("load", "cohort", "analysis", "analysis only")
END_TO_END = "load + analysis"
# Progress step that run_study reports once the cohort and the analysis dataset are built.
AFTER_COHORT_STEP = "HRCT reader agreement"


@dataclass
class SizeResult:
    """Best-of-k time per stage for one cohort size (seconds), plus what was analysed."""

    n_screened: int
    n_sites: int
    repeats: int
    n_analysed: int = 0
    best: dict[str, float] = field(default_factory=dict)


def default_plan() -> AnalysisPlan:
    """The default analysis plan, built through the public validator (as a YAML plan would be)."""
    return plan_from_dict({}, source="(benchmark default plan)")


def timed_run_study(study: Any, plan: AnalysisPlan) -> tuple[float, float, int]:
    """Run the whole plan; return (total s, s after the cohort and dataset were built, n analysed)."""
    marks: dict[str, float] = {}

    def step(name: str) -> None:
        marks.setdefault(name, time.perf_counter())

    start = time.perf_counter()
    results = run_study(study, plan, progress=step)
    end = time.perf_counter()
    if AFTER_COHORT_STEP not in marks:
        raise SystemExit(f"run_study no longer reports the progress step {AFTER_COHORT_STEP!r}; update the benchmark")
    return end - start, end - marks[AFTER_COHORT_STEP], int(results.n_analysed)


def run_once(folder: Path, plan: AnalysisPlan) -> tuple[dict[str, float], int]:
    """One pass through the three stages on a cohort folder; returns stage times and the analysed n."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    study = load_study(folder)
    times["load"] = time.perf_counter() - start

    start = time.perf_counter()
    cohort = build_cohort(
        study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome
    )
    times["cohort"] = time.perf_counter() - start

    times["analysis"], times["analysis only"], n_analysed = timed_run_study(study, plan)
    if n_analysed != len(cohort.analysed_ids):
        raise SystemExit(f"run_study analysed {n_analysed} patients but build_cohort {len(cohort.analysed_ids)}")
    return times, n_analysed


def write_generated(n_screened: int, n_sites: int, root: Path) -> Path:
    """Generate a cohort with the fixed seed and write it as a CSV folder under ``root``."""
    folder = root / f"n{n_screened}_s{n_sites}"
    write_cohort(generate_cohort(seed=SEED, n_screened=n_screened, n_sites=n_sites), folder)
    return folder


def measure(sizes: tuple[tuple[int, int, int], ...], plan: AnalysisPlan, root: Path) -> list[SizeResult]:
    """Best-of-k stage times for every size; the first size is also run once untimed to warm imports."""
    results = []
    for index, (n_screened, n_sites, repeats) in enumerate(sizes):
        folder = write_generated(n_screened, n_sites, root)
        if index == 0:
            run_once(folder, plan)  # warm-up: lazy imports (scipy, statsmodels), pandas caches
        res = SizeResult(n_screened=n_screened, n_sites=n_sites, repeats=repeats)
        for _ in range(repeats):
            times, n_analysed = run_once(folder, plan)
            if res.n_analysed and n_analysed != res.n_analysed:
                raise SystemExit(f"N = {n_screened}: analysed n changed between repeats "
                                 f"({res.n_analysed}, then {n_analysed}); the pipeline is not deterministic")
            res.n_analysed = n_analysed
            for stage, seconds in times.items():
                res.best[stage] = min(res.best.get(stage, float("inf")), seconds)
        print(f"  measured N = {n_screened} ({n_sites} site(s), best of {repeats})", flush=True)
        results.append(res)
    return results


def table(results: list[SizeResult]) -> pd.DataFrame:
    """One row per size and stage: best time, ratio to the baseline, ms per screened patient and its ratio."""
    base = next(r for r in results if r.n_screened == BASELINE_N)

    def seconds_for(res: SizeResult, stage: str) -> float:
        # 'end to end' is what `ipafstudy analyze` computes before writing files: load_study + run_study.
        return res.best["load"] + res.best["analysis"] if stage == END_TO_END else res.best[stage]

    rows = []
    for res in results:
        for stage in (*STAGES, END_TO_END):
            seconds, base_s = seconds_for(res, stage), seconds_for(base, stage)
            per_patient, base_per_patient = seconds / res.n_screened, base_s / base.n_screened
            rows.append({
                "N screened": res.n_screened, "sites": res.n_sites, "analysed": res.n_analysed, "best of": res.repeats,
                "stage": stage, "time s": round(seconds, 3), "x baseline": round(seconds / base_s, 2),
                "ms/patient": round(1000.0 * per_patient, 2),
                "per-patient x baseline": round(per_patient / base_per_patient, 2),
            })
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """The table as GitHub markdown (no tabulate dependency), ready to paste into docs/benchmarks.md."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---:" if c != "stage" else "---" for c in cols) + "|"]
    for rec in frame.to_dict("records"):
        lines.append("| " + " | ".join(str(rec[c]) for c in cols) + " |")
    return "\n".join(lines)


def profile_stage(stage: str, n_screened: int, plan: AnalysisPlan, root: Path, top: int, sort: str) -> None:
    """cProfile one stage at one size (after a warm-up pass) and print the top functions by cumulative time."""
    n_sites = next((s for n, s, _ in SIZES if n == n_screened), 1)
    folder = write_generated(n_screened, n_sites, root)
    study = load_study(folder)
    run_once(folder, plan)  # warm-up so the profile shows steady-state work, not first imports
    calls: dict[str, Callable[[], Any]] = {
        "load": lambda: load_study(folder),
        "cohort": lambda: build_cohort(
            study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome
        ),
        "analysis": lambda: run_study(study, plan),
    }
    profiler = cProfile.Profile()
    profiler.enable()
    calls[stage]()
    profiler.disable()
    print(f"cProfile of stage {stage!r} at N = {n_screened} ({n_sites} site(s)), top {top} by {sort} time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(sort).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 271 and 1000 only")
    parser.add_argument("--profile", choices=("load", "cohort", "analysis"), help="cProfile one stage instead")
    parser.add_argument("--n", type=int, default=3000, help="cohort size for --profile (default 3000)")
    parser.add_argument("--top", type=int, default=40, help="rows of the --profile listing (default 40)")
    parser.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative",
                        help="--profile order: cumulative (call tree) or tottime (own time); default cumulative")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be a positive number of screened patients, got {args.n}")

    plan = default_plan()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    with tempfile.TemporaryDirectory(prefix="ipafstudy-bench-") as tmp:
        if args.profile:
            profile_stage(args.profile, args.n, plan, Path(tmp), args.top, args.sort)
            return 0
        sizes = QUICK_SIZES if args.quick else SIZES
        print(f"cohorts: seed {SEED}, " + ", ".join(f"N = {n} ({s} site(s), best of {k})" for n, s, k in sizes))
        start = time.perf_counter()
        results = measure(sizes, plan, Path(tmp))
        wall = time.perf_counter() - start
    print("stages: load = load_study(folder); cohort = build_cohort(study); analysis = run_study(study, plan)")
    print("        (run_study rebuilds the cohort; 'analysis only' = run_study after cohort and dataset are built)")
    print(markdown(table(results)))
    print(f"benchmark wall time: {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
