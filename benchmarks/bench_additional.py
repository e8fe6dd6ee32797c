"""The default ``analyze`` with and without the "Additional analyses" section, side by side (issue 12, Speed).

Issue 12 asks that the whole default analysis including the new parts stays under 1.5 x the analysis without
them. Both cases run ``ipafstudy analyze`` on the bundled cohort in a fresh interpreter, interleaved (with, then
without, repeated), so a busy spell on the shared machine hits both alike. "Without" is the default plan with
every part of ``additional`` switched off, which is exactly today's report (tests/reporting/test_additional.py
checks the files are identical). Reported: median wall time and median CPU time (user + system of the child,
which a busy machine inflates much less than wall time) and their ratios.

    .venv/bin/python benchmarks/bench_additional.py              # 5 repeats
    .venv/bin/python benchmarks/bench_additional.py --repeat 9
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

CLI = "import sys; from ipafstudy.cli import main; sys.exit(main(sys.argv[1:]))"
LIMIT = 1.5


def _off_plan() -> str:
    """The default plan with every additional part switched off (read from the plan, so new parts are included)."""
    from ipafstudy.analysis.additional_plan import AdditionalSpec

    parts = "".join(f"  {name}:\n    enabled: false\n" for name in AdditionalSpec.model_fields)
    return "additional:\n" + parts


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one analyze run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"analyze failed (exit {proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each case (default 5); medians reported")
    args = parser.parse_args(argv)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    bundled = str(resources.files("ipafstudy") / "example_data")
    with tempfile.TemporaryDirectory(prefix="ipafstudy-bench-") as tmp:
        off = Path(tmp) / "off.yaml"
        off.write_text(_off_plan(), encoding="utf-8")
        out = Path(tmp) / "out"
        cases = {
            "analyze (default plan, with additional analyses)": ["analyze", bundled, "--out", str(out), "--quiet"],
            "analyze (additional analyses off = today's report)": ["analyze", bundled, "--out", str(out), "--quiet",
                                                                    "--plan", str(off)],
        }
        walls: dict[str, list[float]] = {k: [] for k in cases}
        cpus: dict[str, list[float]] = {k: [] for k in cases}
        _run(cases[next(iter(cases))], env)  # warm-up: file cache, compiled bytecode
        shutil.rmtree(out, ignore_errors=True)
        for _ in range(args.repeat):
            for name, case in cases.items():
                wall, cpu = _run(case, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
                shutil.rmtree(out, ignore_errors=True)
    print(f"{'case':52s} {'wall s':>7s} {'CPU s':>7s}")
    for name in cases:
        print(f"{name:52s} {statistics.median(walls[name]):7.2f} {statistics.median(cpus[name]):7.2f}")
    with_name, without_name = cases
    wall_ratio = statistics.median(walls[with_name]) / statistics.median(walls[without_name])
    cpu_ratio = statistics.median(cpus[with_name]) / statistics.median(cpus[without_name])
    print(f"ratio with / without: wall {wall_ratio:.2f} x, CPU {cpu_ratio:.2f} x (issue 12 limit: {LIMIT} x); "
          f"{args.repeat} repeats, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
