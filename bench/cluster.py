"""The cluster of `deploy/cluster`: what HAProxy in front costs, and what killing an instance costs.

    .venv/bin/python bench/cluster.py [--db demo.duckdb] [-n 200] [--redis-db 12]

Starts a cluster with `deploy/cluster` in a temporary folder on free ports (a fresh PostgreSQL
database, Redis database ``--redis-db``; ``--db`` is copied into the shared folder, without it
the demo is built, about a minute), logs in as the demo ``burgemeester`` and prints, for one
instance directly and through the balancer, the median and p95 in ms of ``GET /_dash-layout``
and of the overview's data callback (one protocol row each). Then it kills instance A (-9)
while a client keeps asking, and prints the failed requests, the slowest answer and the seconds
until HAProxy marks A DOWN. Stops the cluster and drops its database. Prints numbers; asserts
nothing. The machine is shared: quote the load average with the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cache import timed  # noqa: E402
from tests.conftest import dash_callback, free_port, http_login  # noqa: E402


class Endpoint:
    def __init__(self, url: str):
        self.url = url


def cluster(folder: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "cluster"), *args,
                           "--dir", str(folder)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DASHBOARD_TILE_URL": ""})
    if done.returncode not in (0, 3):
        raise SystemExit(done.stdout + done.stderr)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a demo database to copy (default: build one)")
    parser.add_argument("-n", type=int, default=200, help="requests per measurement")
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vb-cluster-bench-"))
    if args.db:
        (folder / "shared").mkdir()
        shutil.copyfile(args.db.resolve(), folder / "shared" / "veiligheidsbeeld.duckdb")
    ports = [free_port(), free_port(), free_port()]
    started = time.perf_counter()
    cluster(folder, "start", "--ports", ",".join(map(str, ports)), "--redis-db",
            str(args.redis_db), "--database", "vb_bench_" + uuid.uuid4().hex[:8])
    print(f"cluster started in {time.perf_counter() - started:.1f} s (load {os.getloadavg()})")
    try:
        balancer, direct = (Endpoint(f"http://127.0.0.1:{p}") for p in ports[:2])
        session = http_login(balancer, "burgemeester")

        def overview(where):
            return lambda: dash_callback(session, where, "overview-subtitle.children",
                                         {"overview-cards.id": "overview-cards"})
        print(f"{'request':40} {'median ms':>10} {'p95 ms':>10}")
        for label, where in (("instance a directly", direct), ("through HAProxy", balancer)):
            for what, fn in (("GET /_dash-layout", lambda w=where: session.get(
                    w.url + "/_dash-layout")), ("overview data callback", overview(where))):
                median, p95 = timed(fn, args.n)
                print(f"{what + ', ' + label:40} {median:10.1f} {p95:10.1f}")

        pid = int((folder / "run" / "app-a.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
        killed, failed, slowest, down = time.perf_counter(), 0, 0.0, None
        while time.perf_counter() - killed < 10:
            t = time.perf_counter()
            try:
                ok = session.get(balancer.url + "/_dash-layout", timeout=30).status_code == 200
            except OSError:
                ok = False
            failed += not ok
            slowest = max(slowest, time.perf_counter() - t)
            if down is None:
                report = json.loads(cluster(folder, "status", "--json").stdout)
                if report["processes"]["app-a"]["balancer"] == "DOWN":
                    down = time.perf_counter() - killed
        print(f"kill -9 of instance a: {failed} failed requests in 10 s, slowest answer "
              f"{slowest * 1000:.0f} ms, HAProxy marked it DOWN after "
              f"{'-' if down is None else f'{down:.1f} s'}")
        print(f"load average {os.getloadavg()}")
    finally:
        cluster(folder, "stop", "--drop")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
