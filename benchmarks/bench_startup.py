"""Start-up and whole-``analyze`` wall time, as ratios measured in one run (issue 10 item 16).

Every case runs in a fresh interpreter (``sys.executable -c ...``), repeated and interleaved so that a busy
spell on a shared machine hits every case alike; medians are reported, with ratios to the interpreter's own
start (``python -c pass``) and to the eager import of everything a command can need (what every command paid
before the CLI imported lazily).

    .venv/bin/python benchmarks/bench_startup.py                      # 5 repeats, analyze included
    .venv/bin/python benchmarks/bench_startup.py --no-analyze         # start-up only (~10 s)
    .venv/bin/python benchmarks/bench_startup.py --baseline-rev REV   # also run analyze with the code of REV
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

CLI = "import sys; from ipafstudy.cli import main; sys.exit(main(sys.argv[1:]))"
EAGER = ("import ipafstudy.analysis.study, ipafstudy.reporting.report, ipafstudy.reporting.docx, "
         "ipafstudy.reporting.xlsx, ipafstudy.data.loaders, ipafstudy.data.synth.generate")


def _wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # validate exits 1 when a file has errors; anything else is a failure
        raise SystemExit(f"{args}: exit {proc.returncode}\n{proc.stderr}")
    return elapsed


def _export_src(rev: str, into: Path) -> Path:
    """The package source of git revision ``rev`` (this repository), for a before/after in one run."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each case (default 5); medians reported")
    parser.add_argument("--no-analyze", action="store_true", help="start-up cases only")
    parser.add_argument("--baseline-rev", metavar="REV", help="git revision whose code runs analyze as 'before'")
    args = parser.parse_args(argv)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    bundled = str(resources.files("ipafstudy") / "example_data")
    with tempfile.TemporaryDirectory(prefix="ipafstudy-bench-") as tmp:
        out = Path(tmp) / "out"
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", ["-c", "pass"], env),
            ("ipafstudy --version", ["-c", CLI, "--version"], env),
            ("ipafstudy --help", ["-c", CLI, "--help"], env),
            ("ipafstudy validate (bundled)", ["-c", CLI, "validate", bundled], env),
            ("eager import of every module", ["-c", EAGER], env),
        ]
        if not args.no_analyze:
            cases.append(("ipafstudy analyze (bundled)",
                          ["-c", CLI, "analyze", bundled, "--out", str(out), "--quiet", "--force"], env))
            if args.baseline_rev:
                old_src = _export_src(args.baseline_rev, Path(tmp))
                old_env = {**env, "PYTHONPATH": str(old_src)}
                cases.append((f"analyze at {args.baseline_rev}",
                              ["-c", CLI, "analyze", bundled, "--out", str(out), "--quiet", "--force"], old_env))
        times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _ in range(args.repeat):
            for name, case_args, case_env in cases:
                times[name].append(_wall(case_args, case_env))
                shutil.rmtree(out, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in times.items()}
    floor, eager = med["python -c pass"], med["eager import of every module"]
    print(f"{'case':34s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'/ pass':>7s} {'/ eager':>8s}")
    for name, values in times.items():
        print(f"{name:34s} {med[name]:9.3f} {min(values):7.3f} {max(values):7.3f} "
              f"{med[name] / floor:7.1f} {med[name] / eager:8.2f}")
    if args.baseline_rev and not args.no_analyze:
        now, before = med["ipafstudy analyze (bundled)"], med[f"analyze at {args.baseline_rev}"]
        print(f"analyze: this code / {args.baseline_rev} = {now / before:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
