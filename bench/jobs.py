"""Background-jobs benchmark: how long "Nu maken" holds a web worker (the callback's answer
time), how long until the product exists (end to end), and how fast a light page answers
meanwhile. Run it against this checkout (the job system) and against an older checkout
(``--root``, where "Nu maken" built the product inside the request) to compare.
Prints median and p95; one run; the load average. Asserts nothing.

    .venv/bin/python bench/jobs.py --db /path/demo.duckdb [--root /work/main] [--n 5]

The database folder's state is used as it is (demo accounts); give a copy.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def summary(values: list[float]) -> dict:
    values = sorted(values)
    return {"n": len(values), "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[max(0, int(len(values) * 0.95) - 1)], 1)}


def main() -> int:
    from tests.conftest import dash_callback, free_port, http_login

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to serve")
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    port = free_port()

    class Server:
        url = f"http://127.0.0.1:{port}"
    log = open(args.db.parent / f"bench-jobs-{port}.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{port}", "--no-control-socket", "--timeout", "120",
         "dashboard:create_app()"], cwd=args.root, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "DASHBOARD_DB": str(args.db), "DASHBOARD_TILE_URL": "",
             "DASHBOARD_HEAVY_SLOTS": "1"})
    try:
        import requests
        for _ in range(300):
            try:
                requests.get(Server.url + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        session = http_login(Server, "burgemeester")
        light = http_login(Server, "adviseur")
        held, total, pages = [], [], []
        stop = threading.Event()

        def poll_light():
            while not stop.is_set():
                start = time.perf_counter()
                light.get(Server.url + "/login")
                pages.append((time.perf_counter() - start) * 1000)
                time.sleep(0.2)

        thread = threading.Thread(target=poll_light)
        thread.start()
        for _ in range(args.n):
            start = time.perf_counter()
            answer = dash_callback(session, Server, "rapportages-melding.children", {
                "rapportages-maak.n_clicks": 1, "rapportages-soort.value": "stuurgegevens",
                "rapportages-gebied.value": "GMD001"}, trigger="rapportages-maak.n_clicks")
            held.append((time.perf_counter() - start) * 1000)
            job = answer.json()["response"].get("rapportages-taak", {}).get("data")
            while job:
                status = session.get(f"{Server.url}/jobs/{job}").json()
                if status.get("finished"):
                    assert status["status"] == "done", status
                    break
                time.sleep(0.2)
            total.append((time.perf_counter() - start) * 1000)
        stop.set()
        thread.join()
        print(json.dumps({"root": str(args.root), "web_worker_held": summary(held),
                          "product_ready": summary(total),
                          "login_page_meanwhile": summary(pages),
                          "loadavg": os.getloadavg()}, indent=1))
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
