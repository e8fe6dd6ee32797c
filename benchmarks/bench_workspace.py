"""Workspace save load test: 20 simulated readers saving 100 zone scores each over real HTTP on loopback.

The API (``workspace.api``) runs under uvicorn in its own process on 127.0.0.1 (one worker, as ``ipafstudy
serve`` runs it). Readers are threads in this process, each with its own httpx client and session cookie; every
reader saves a bounded 100 cells (PUT /api/scans/{id}/cells/{zone}/{pattern}) with a fresh request_id, and each
save is timed from request to response. Ten readers hold reader1 and ten reader2 over the same 50 scans (each
pair reads the same five scans, as two radiologists would).

Checks (the run fails, exit 1, when one does not hold): every save answered 200; afterwards the database holds
exactly 2000 reader cells, each with the last value its reader sent (no lost write), and 2000 save_cell audit rows.

Baseline in the same run: ONE reader alone saving 100 cells, so the concurrent latency is read as a ratio. Runs on
SQLite, and on PostgreSQL too when the server binaries are installed (a throw-away server, as in the tests).

    .venv/bin/python benchmarks/bench_workspace.py                # SQLite, and PostgreSQL when available
    .venv/bin/python benchmarks/bench_workspace.py --engines sqlite --readers 20 --saves 100
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZONES = ("RU", "RM", "RL", "LU", "LM", "LL")
PATTERNS = ("ggo", "fibrosis", "honeycombing", "consolidation")
PASSWORD = "benchmark password"
SERVER = """
import sys, uvicorn
from ipafstudy.workspace.db import open_workspace
from ipafstudy.workspace.api import api_app
ws = open_workspace(sys.argv[1])
uvicorn.run(api_app(ws), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def api_server(url: str) -> Iterator[str]:
    """uvicorn serving the workspace API on loopback in a child process; yields its base URL."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/me", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def setup(url: str, readers: int, saves: int) -> dict[str, list[int]]:
    """Accounts (half reader1, half reader2) and scans; returns username -> its scans."""
    from ipafstudy.workspace.auth import create_user
    from ipafstudy.workspace.db import open_workspace
    from ipafstudy.workspace.reading import add_scan

    ws = open_workspace(url)
    per_reader = -(-saves // (len(ZONES) * len(PATTERNS)))  # scans needed for `saves` cells
    pairs = -(-readers // 2)
    plan: dict[str, list[int]] = {}
    try:
        scans = [add_scan(ws, f"B-{i:04d}", dt.date(2025, 1, 1) + dt.timedelta(days=i))
                 for i in range(pairs * per_reader + per_reader)]
        for i in range(readers):
            role = "reader1" if i % 2 == 0 else "reader2"
            name = f"{role}-{i // 2:02d}"
            create_user(ws, name, role, PASSWORD)
            plan[name] = scans[(i // 2) * per_reader:(i // 2 + 1) * per_reader]
        create_user(ws, "solo", "reader1", PASSWORD)
        plan["solo"] = scans[pairs * per_reader:]
    finally:
        ws.dispose()
    return plan


def cells_for(name: str, scans: list[int], saves: int) -> list[tuple[int, str, str, int]]:
    """The bounded list of saves of one reader: (scan, zone, pattern, grade), grade from the reader's index."""
    seed = sum(map(ord, name))
    cells = [(s, z, p) for s in scans for z in ZONES for p in PATTERNS][:saves]
    return [(s, z, p, (seed + k) % 5) for k, (s, z, p) in enumerate(cells)]


def reader(base: str, name: str, work: list[tuple[int, str, str, int]], out: list[float], errors: list[str],
           start: threading.Barrier) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        r = client.post("/login", json={"username": name, "password": PASSWORD})
        if r.status_code != 200:
            errors.append(f"{name}: login {r.status_code} {r.text}")
            start.wait()
            return
        start.wait()
        for k, (scan, zone, pattern, grade) in enumerate(work):
            t0 = time.perf_counter()
            r = client.put(f"/api/scans/{scan}/cells/{zone}/{pattern}",
                           json={"grade": grade, "request_id": f"{name}-{k}"})
            out.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors.append(f"{name} save {k}: {r.status_code} {r.text[:200]}")


def run_phase(base: str, plan: dict[str, list[int]], names: list[str], saves: int) -> dict[str, object]:
    latencies: dict[str, list[float]] = {n: [] for n in names}
    errors: list[str] = []
    start = threading.Barrier(len(names) + 1)
    threads = [threading.Thread(target=reader, args=(base, n, cells_for(n, plan[n], saves), latencies[n], errors,
                                                     start)) for n in names]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    all_lat = sorted(x for v in latencies.values() for x in v)
    return {"saves": len(all_lat), "wall": wall, "errors": errors, "latencies": all_lat}


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100)."""
    if not values:
        return float("nan")
    rank = max(1, -(-len(values) * q // 100))
    return values[int(rank) - 1]


def verify(url: str, plan: dict[str, list[int]], names: list[str], saves: int) -> list[str]:
    """No lost write: every reader's cells in the database are exactly the values it sent."""
    import sqlalchemy as sa

    from ipafstudy.workspace import db

    engine = db.create_db_engine(url)
    problems = []
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.users.c.username, db.reads.c.scan_id, db.cells.c.zone, db.cells.c.pattern,
                          db.cells.c.grade)
                .join(db.reads, db.reads.c.id == db.cells.c.read_id)
                .join(db.users, db.users.c.id == db.reads.c.user_id)
            ).all()
            audits = conn.execute(sa.select(sa.func.count()).select_from(db.audit)
                                  .where(db.audit.c.action == "save_cell")).scalar_one()
    finally:
        engine.dispose()
    got = {(r.username, r.scan_id, r.zone, r.pattern): r.grade for r in rows}
    expected = {(n, s, z, p): g for n in names for s, z, p, g in cells_for(n, plan[n], saves)}
    if got != expected:
        missing = len(set(expected) - set(got))
        wrong = sum(1 for k in expected if k in got and got[k] != expected[k])
        problems.append(f"database cells differ from the saves sent: {missing} missing, {wrong} wrong, "
                        f"{len(set(got) - set(expected))} unexpected")
    if audits != len(expected):
        problems.append(f"{audits} save_cell audit rows for {len(expected)} saves")
    return problems


def bench(engine: str, url: str, readers: int, saves: int) -> tuple[list[str], list[str]]:
    plan = setup(url, readers, saves)
    crowd = [n for n in plan if n != "solo"]
    lines, problems = [], []
    with api_server(url) as base:
        solo = run_phase(base, plan, ["solo"], saves)
        crowd_run = run_phase(base, plan, crowd, saves)
    for label, run in (("1 reader (baseline)", solo), (f"{readers} readers", crowd_run)):
        lat = run["latencies"]
        problems += run["errors"][:5]
        lines.append(f"| {engine} | {label} | {run['saves']} | {pct(lat, 50) * 1000:.1f} | {pct(lat, 95) * 1000:.1f} "
                     f"| {max(lat) * 1000:.1f} | {run['saves'] / run['wall']:.0f} |")
    ratio = pct(crowd_run["latencies"], 95) / pct(solo["latencies"], 95)
    lines.append(f"| {engine} | p95 ratio {readers} readers / 1 reader | | | {ratio:.1f} x | | |")
    problems += [f"{engine}: {p}" for p in verify(url, plan, ["solo", *crowd], saves)]
    return lines, problems


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    """A throw-away PostgreSQL server (the tests' helper), or None when the binaries are missing."""
    sys.path.insert(0, str(ROOT))
    from tests.servers import postgres_bindir, running_postgres

    if postgres_bindir() is None:
        yield None
        return
    with running_postgres() as server:
        yield server.create_database("bench_workspace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--saves", type=int, default=100, help="zone scores each reader saves")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    print(f"bench_workspace {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print("| engine | phase | saves | p50 ms | p95 ms | max ms | saves/s |")
    print("|---|---|---|---|---|---|---|")
    problems: list[str] = []
    for engine in args.engines.split(","):
        if engine == "sqlite":
            with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
                lines, found = bench("SQLite", f"sqlite:///{Path(tmp) / 'ws.sqlite'}", args.readers, args.saves)
        elif engine == "postgresql":
            with postgres() as url:
                if url is None:
                    print("| PostgreSQL | skipped: no server binaries | | | | | |")
                    continue
                lines, found = bench("PostgreSQL", url, args.readers, args.saves)
        else:
            parser.error(f"unknown engine {engine!r}")
        print("\n".join(lines), flush=True)
        problems += found
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("checks: every save answered 200; every reader's cells in the database are the values it sent; "
          "one audit row per save")
    return 0


if __name__ == "__main__":
    sys.exit(main())
