"""Time and peak memory of ``ipafstudy validate`` on a large (~50 MB) measurements file (issue 10 item 17).

The bundled example cohort is copied to a temporary folder and its measurements.csv replaced by a synthetic
file of about 50 MB (every bundled patient, one visit a day, the bundled variables and units, plausible values,
no duplicate keys). ``validate`` runs in a fresh subprocess per repeat; the child reports its own wall time and
peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``). In the same run, for scale, the bundled
cohort is validated the same way, so the figures can be read as ratios on a shared, noisy machine.

    .venv/bin/python benchmarks/bench_validate_large.py                # ~50 MB, 3 repeats
    .venv/bin/python benchmarks/bench_validate_large.py --mb 10 --repeat 1
    .venv/bin/python benchmarks/bench_validate_large.py --src OLD/src  # same run against another checkout's code
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

# Variable, unit, low, high, decimals: the bundled file's variables in their bundled units, values in range.
VARIABLES = (
    ("creatinine", "umol/L", 45, 140, 0), ("crp", "mg/L", 0.2, 60, 1), ("crp", "mg/dL", 0.02, 6, 2),
    ("esr", "mm/h", 2, 90, 0), ("magnesium", "mmol/L", 0.55, 1.1, 2), ("methylprednisolone_dose", "mg/day", 0, 40, 0),
    ("mmrc", "mmrc", 0, 4, 0), ("tacrolimus_trough", "ng/mL", 2, 15, 1),
)

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from ipafstudy.data.loaders import validate_path
report = validate_path(sys.argv[1])
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
counts = {}
for issue in report.issues:
    counts[issue.rule] = counts.get(issue.rule, 0) + 1
print(json.dumps({"seconds": elapsed, "peak_bytes": peak, "issues": counts}))
"""


def write_measurements(path: Path, patients: list[str], target_bytes: int, seed: int = 1) -> int:
    """Write a synthetic measurements.csv of about ``target_bytes``; returns the number of data rows."""
    rng = random.Random(seed)
    start = dt.date(2000, 1, 1)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["patient_id", "date", "variable", "value", "unit"])
        day = 0
        while fh.tell() < target_bytes:
            date = (start + dt.timedelta(days=day)).isoformat()
            for pid in patients:
                for variable, unit, lo, hi, decimals in VARIABLES:
                    if variable == "crp" and (unit == "mg/dL") != (day % 7 == 0):
                        continue  # one crp a visit, now and then in mg/dL
                    value = round(rng.uniform(lo, hi), decimals)
                    writer.writerow([pid, date, variable, int(value) if decimals == 0 else value, unit])
                    rows += 1
            day += 1
    return rows


def _measure(folder: Path, src: str | None) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if src:
        env["PYTHONPATH"] = src
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(folder)], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the measurements file in MB (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (default 3); medians reported")
    parser.add_argument("--src", help="also measure the code in this src folder (e.g. an older checkout) as 'before'")
    args = parser.parse_args(argv)
    bundled = Path(str(resources.files("ipafstudy") / "example_data"))
    with tempfile.TemporaryDirectory(prefix="ipafstudy-bench-") as tmp:
        small = Path(tmp) / "bundled"
        large = Path(tmp) / "large"
        shutil.copytree(bundled, small)
        shutil.copytree(bundled, large)
        with (bundled / "patients.csv").open(encoding="utf-8") as fh:
            patients = [row["patient_id"] for row in csv.DictReader(fh)]
        n_rows = write_measurements(large / "measurements.csv", patients, int(args.mb * 1e6))
        size = (large / "measurements.csv").stat().st_size
        print(f"measurements.csv: {size / 1e6:.1f} MB, {n_rows} rows; repeats: {args.repeat}")
        cases = [("bundled", small, None), ("large", large, None)]
        if args.src:
            cases += [("bundled (--src)", small, args.src), ("large (--src)", large, args.src)]
        results: dict[str, list[dict]] = {name: [] for name, _, _ in cases}
        for _ in range(args.repeat):  # interleaved, so a busy spell on the machine hits every case alike
            for name, folder, src in cases:
                results[name].append(_measure(folder, src))
    print(f"{'case':18s} {'seconds':>9s} {'peak MiB':>9s}  issues")
    med: dict[str, tuple[float, float]] = {}
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_bytes"] for r in runs) / 2**20
        med[name] = (seconds, peak)
        print(f"{name:18s} {seconds:9.2f} {peak:9.0f}  {runs[0]['issues']}")
    (t_small, m_small), (t_large, m_large) = med["bundled"], med["large"]
    print(f"large / bundled: time x{t_large / t_small:.1f}, peak memory x{m_large / m_small:.1f}; "
          f"large: {size / 1e6 / t_large:.1f} MB/s, peak {m_large / 1024:.2f} GiB")
    if args.src:
        t_old, m_old = med["large (--src)"]
        print(f"large, this code / --src code: time x{t_large / t_old:.2f}, peak memory x{m_large / m_old:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
