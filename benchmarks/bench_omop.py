"""OMOP screening at scale on DuckDB (issue 13): scan floor, screening, extract, CSV path, per-person cost, memory.

Synthetic CDMs (``omop.synth.write_synthetic_cdm``, about 100 clinical rows per person) are generated once per size
(not timed; ``--workdir`` keeps them for a re-run). Every measurement runs in a fresh subprocess that reports its own
wall time, CPU time (``getrusage(RUSAGE_SELF)`` user + system around the measured call: every thread of the process,
DuckDB's workers included; on a shared machine CPU seconds suffer much less from other processes than wall seconds)
and peak resident set size (``ru_maxrss``: Python, Arrow and DuckDB's native memory alike), and all of them run in
ONE invocation, so the wall and CPU ratios printed at the end compare figures taken under the same machine load
(the load average is printed at the start and at the end):

* scan floor: one DuckDB pass counting every clinical table's rows per person (one Ibis expression: the person_id
  column of condition_occurrence, drug_exposure, measurement, observation and observation_period, unioned,
  grouped by person, then counted and summed);
* screen: ``omop.screen.run_screen`` (resolve the concept sets, the whole screen expression, candidates.csv,
  flow.json, run.json), as ``ipafstudy omop screen DB --out DIR`` does it;
* extract: ``omop.extract.write_extract`` of the candidates (ILD persons), as ``ipafstudy omop extract``;
* CSV path (at ``--csv-size`` persons): the same patients written once as the six study tables (the extract of
  EVERY person, not timed) and then read the way the study does today: ``load_study`` (validation) +
  ``build_cohort`` (IPAF classification and eligibility). Also for the ILD persons only (the extract's folder).

    .venv/bin/python benchmarks/bench_omop.py                    # 10^4, 10^5, 10^6 persons (about 30-40 minutes)
    .venv/bin/python benchmarks/bench_omop.py --quick            # 2,000 and 20,000 persons (about 2 minutes)
    .venv/bin/python benchmarks/bench_omop.py --sizes 10000 100000 --csv-size 100000 --workdir /tmp/cdms
    .venv/bin/python benchmarks/bench_omop.py --no-csv --json bench.json   # no CSV path; all figures as JSON
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20151

_PRELUDE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process: Python and DuckDB's workers
    return usage.ru_utime + usage.ru_stime
def report(**kw):
    kw["cpu_seconds"] = cpu() - c0
    kw["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(kw))
"""

_FLOOR = _PRELUDE + """
import ibis
from ipafstudy.omop.cdm import cdm_tables, connect
t0, c0 = time.perf_counter(), cpu()
t = cdm_tables(connect(sys.argv[1]))
parts = [getattr(t, name).select("person_id") for name in
         ("condition_occurrence", "drug_exposure", "measurement", "observation", "observation_period")]
rows = ibis.union(*parts, distinct=False)
per = rows.group_by("person_id").aggregate(n=rows.count())
out = per.aggregate(persons=per.count(), rows=per.n.sum()).to_pyarrow().to_pylist()[0]
report(seconds=time.perf_counter() - t0, **out)
"""

_SCREEN = _PRELUDE + """
from ipafstudy.omop.concepts import load_concept_sets
from ipafstudy.omop.screen import ScreenOptions, run_screen
t0, c0 = time.perf_counter(), cpu()
run = run_screen(sys.argv[1], sys.argv[2], ScreenOptions(), load_concept_sets())
report(seconds=time.perf_counter() - t0, candidates=len(run.candidates))
"""

_EXTRACT = _PRELUDE + """
from ipafstudy.omop.extract import write_extract
t0, c0 = time.perf_counter(), cpu()
summary = write_extract(sys.argv[1], sys.argv[2], everyone=sys.argv[3] == "all")
report(seconds=time.perf_counter() - t0, persons=summary.persons, rows=sum(summary.rows.values()))
"""

_CSV = _PRELUDE + """
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.settings import ClinicalSettings
t0, c0 = time.perf_counter(), cpu()
study = load_study(sys.argv[1])
cohort = build_cohort(study, ClinicalSettings())
report(seconds=time.perf_counter() - t0, patients=len(study.patients), analysed=len(cohort.analysed_ids))
"""


def _child(code: str, *args: str) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cdm(workdir: Path, persons: int) -> Path:
    db = workdir / f"cdm_{persons}.duckdb"
    if not db.exists():
        from ipafstudy.omop.synth import write_synthetic_cdm

        t0 = time.perf_counter()
        write_synthetic_cdm(db, persons, SEED)
        print(f"  generated {db.name} in {time.perf_counter() - t0:.0f} s (not timed)", flush=True)
    return db


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="persons per synthetic CDM (default 10^4 10^5 10^6)")
    parser.add_argument("--csv-size", type=int, default=100_000, help="size of the CSV-path comparison (10^5)")
    parser.add_argument("--quick", action="store_true", help="sizes 2,000 and 20,000 (CSV path at 20,000)")
    parser.add_argument("--workdir", help="keep the generated CDMs here (re-used by the next run)")
    parser.add_argument("--json", help="also write every measurement to this JSON file")
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV-path comparison")
    args = parser.parse_args(argv)
    sizes = [2_000, 20_000] if args.quick else sorted(set(args.sizes))
    csv_size = None if args.no_csv else 20_000 if args.quick else args.csv_size
    if csv_size is not None and csv_size not in sizes:
        sizes = sorted({*sizes, csv_size})
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="ipafstudy-bench-omop-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results: dict[int, dict[str, dict]] = {}
        for n in sizes:
            db = _cdm(workdir, n)
            r: dict[str, dict] = {}
            r["floor"] = _child(_FLOOR, str(db))
            r["screen"] = _child(_SCREEN, str(db), str(Path(tmp) / f"screen_{n}"))
            r["extract"] = _child(_EXTRACT, str(db), str(Path(tmp) / f"extract_{n}"), "candidates")
            if n == csv_size:
                everyone = Path(tmp) / f"everyone_{n}"
                _child(_EXTRACT, str(db), str(everyone), "all")
                r["csv_all"] = _child(_CSV, str(everyone))
                r["csv_ild"] = _child(_CSV, str(Path(tmp) / f"extract_{n}"))
            results[n] = r
            print(f"  {n:>9,d} persons: {r['floor']['rows']:,d} clinical rows; floor {r['floor']['seconds']:.1f} s, "
                  f"screen {r['screen']['seconds']:.1f} s ({r['screen']['candidates']:,d} ILD persons), "
                  f"extract {r['extract']['seconds']:.1f} s", flush=True)
    load_end = os.getloadavg()
    print(f"load average at the end: {load_end[0]:.1f} / {load_end[1]:.1f} / {load_end[2]:.1f}")
    print()
    print("wall = elapsed seconds; cpu = user + system seconds of the measuring process (all its threads, DuckDB's")
    print("workers included), less sensitive to other processes on a shared machine than wall time")
    print(f"{'persons':>9s} {'rows':>11s} {'floor wall':>10s} {'floor cpu':>9s} {'screen wall':>11s} "
          f"{'screen cpu':>10s} {'ratio wall':>10s} {'ratio cpu':>9s} {'peak GiB':>8s} {'extract wall':>12s} "
          f"{'extract cpu':>11s} {'extract GiB':>11s} {'us/person wall':>14s} {'us/person cpu':>13s}")
    for n in sizes:
        r = results[n]
        fl, sc, ex = r["floor"], r["screen"], r["extract"]
        print(f"{n:>9,d} {fl['rows']:>11,d} {fl['seconds']:>10.2f} {fl['cpu_seconds']:>9.2f} {sc['seconds']:>11.2f} "
              f"{sc['cpu_seconds']:>10.2f} {sc['seconds'] / fl['seconds']:>10.2f} "
              f"{sc['cpu_seconds'] / fl['cpu_seconds']:>9.2f} {_gib(sc['peak_bytes']):>8s} {ex['seconds']:>12.2f} "
              f"{ex['cpu_seconds']:>11.2f} {_gib(ex['peak_bytes']):>11s} {sc['seconds'] / n * 1e6:>14.1f} "
              f"{sc['cpu_seconds'] / n * 1e6:>13.1f}")
    if len(sizes) > 1:  # the fixed cost (imports, connection, concept resolution, compile) hides linearity
        for key, label in (("seconds", "wall"), ("cpu_seconds", "cpu")):
            steps = list(itertools.pairwise(sizes))
            print(f"marginal screen {label} time per added person: " + ", ".join(
                f"{a:,d}->{b:,d}: {(results[b]['screen'][key] - results[a]['screen'][key]) / (b - a) * 1e6:.2f} us"
                for a, b in steps))
    for key, label in (("seconds", "wall"), ("cpu_seconds", "cpu")):
        if csv_size is None:
            break
        r = results[csv_size]
        duck = r["screen"][key]
        duck_ex = duck + r["extract"][key]
        print(f"CSV path at {csv_size:,d} persons ({label}): load_study + build_cohort of every person "
              f"{r['csv_all'][key]:.1f} s, of the ILD persons only {r['csv_ild'][key]:.1f} s; DuckDB screen "
              f"{duck:.1f} s, screen + extract {duck_ex:.1f} s; CSV (every person) / DuckDB screen "
              f"x{r['csv_all'][key] / duck:.1f}, / screen + extract x{r['csv_all'][key] / duck_ex:.1f}; "
              f"CSV (ILD persons) / screen x{r['csv_ild'][key] / duck:.1f}")
    if csv_size is not None:
        print(f"CSV path peak memory (every person): {_gib(results[csv_size]['csv_all']['peak_bytes'])} GiB")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_start": load, "load_end": load_end, "results": results},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
