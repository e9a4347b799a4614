"""Load test: recorded browser sessions replayed by N concurrent users against the real server.

Two phases, both against gunicorn serving ``create_app()`` (``bench/map_render.py: Server``)
on a benchmark database, with its own state database in a temporary folder:

1. **Record** (when ``--sessions`` does not exist yet): Debian's Chromium (Playwright) logs in
   as a mayor of the largest gemeente, a mayor of a median gemeente and an analist of the
   largest gemeente's regionale eenheid (accounts made with ``python -m dashboard users add``)
   and clicks through a typical session: Overzicht (a full page load), Kaart, a drill-down
   into the first area and one level further, Trends, Incidenten. Every request to the app
   (page, ``/_dash-layout``, ``/_dash-dependencies``, ``/_dash-update-component``, the map
   shapes) is written with its step, timing and body to a JSON file under ``bench/out/``
   (gitignored); static files (``/assets/``, component suites) are left out, as a browser has
   them cached after the first visit.
2. **Replay**: for each N in ``--users``, N users, each with an account of its own (same role
   and areas as the recorded session it replays, so the recorded map links and callback
   bodies fit its scope), log in through the login form and replay their session in a loop
   for ``--duration`` seconds. Within a step a request is sent once every request that had
   ended before it started in the recording has been answered (the browser's callback
   chain), up to six at a time; between steps the user thinks ``--think`` seconds on average
   (uniform 0.5x-1.5x).

Prints per endpoint (Dash callbacks by their first output id) the request count, errors
(HTTP >= 400 or no answer) and p50/p95/p99 in ms, overall figures, throughput, the server
workers' CPU time per request, and the load average before and after each run.

    .venv/bin/python bench/load.py --db bench/out/national.duckdb --users 20 40
    .venv/bin/python bench/load.py --db ... --app-root /work/main   # the same load on other code

``--app-root`` runs the server from another checkout (before/after comparisons on one recording;
the recording is tied to the database version, as its map links are).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.map_render import Server, percentile  # noqa: E402
from tests.conftest import CHROMIUM  # noqa: E402

#: Requests a browser has cached after its first visit: not replayed.
STATIC = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/_reload-hash")
#: Parallel requests per user (a browser's connections per host).
PER_USER = 6
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
#: The drawn, clickable map areas.
AREAS = ".leaflet-overlay-pane path.leaflet-interactive"


# -- accounts -------------------------------------------------------------------------------------

def profiles(db: Path) -> list[dict]:
    """The recorded sessions' accounts: mayors of the largest and a median gemeente, an
    analist of the largest gemeente's eenheid (read-only look at the database)."""
    from data.store import Store

    con = Store(db).read()
    ranked = [r[0] for r in con.execute(
        "SELECT area_code FROM counts WHERE level = 'gemeente' AND period_type = 'M'"
        " GROUP BY 1 ORDER BY sum(count) DESC, 1").fetchall()] or [r[0] for r in con.execute(
            "SELECT gm_code FROM incidents GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()]
    largest, median = ranked[0], ranked[len(ranked) // 2]
    eenheid = con.execute("SELECT re_code FROM areas WHERE code = ? AND level = 'gemeente'",
                          [largest]).fetchall()[0][0]
    return [{"label": f"burgemeester {largest}", "role": "burgemeester", "gemeente": [largest]},
            {"label": f"burgemeester {median}", "role": "burgemeester", "gemeente": [median]},
            {"label": f"analist {eenheid}", "role": "analist", "eenheid": [eenheid]}]


def add_user(db: Path, state: Path, name: str, profile: dict, password: str) -> None:
    """``python -m dashboard users add`` (the CLI, as an administrator would)."""
    areas = ([f"--gemeente", *profile["gemeente"]] if "gemeente" in profile
             else ["--eenheid", *profile["eenheid"]])
    env = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_STATE_DB": str(state)}
    subprocess.run([sys.executable, "-m", "dashboard", "users", "add", name, "--role",
                    profile["role"], *areas, "--password-stdin"], input=password + "\n",
                   text=True, cwd=ROOT, env=env, check=True, capture_output=True)


# -- recording ------------------------------------------------------------------------------------

def _steps(page, url: str):
    """The actions of a typical session, each a (name, action) pair."""
    def goto_overview():
        page.goto(url + "/")

    def nav(link):
        return lambda: page.click(link)

    def drill():
        areas = page.locator(AREAS)
        areas.first.wait_for()
        areas.first.dispatch_event("click")

    return [("overzicht", goto_overview), ("kaart", nav("#nav-kaart")),
            ("kaart-drill-1", drill), ("kaart-drill-2", drill),
            ("trends", nav("#nav-trends")), ("incidenten", nav("#nav-incidenten"))]


def _settle(page, activity: dict, quiet_ms: float = 1500, limit_ms: float = 120_000) -> None:
    """Wait until no request of the app is in flight and none started or ended for
    ``quiet_ms`` (a Dash callback chain has run to its end)."""
    waited = 0.0
    while waited < limit_ms:
        page.wait_for_timeout(100)
        waited += 100
        if not activity["pending"] and time.monotonic() - activity["last"] >= quiet_ms / 1000:
            return


def record_session(browser, url: str, name: str, password: str, profile: dict) -> list[dict]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    page.goto(url + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)
    origin = urlsplit(url).netloc
    current = {"step": None, "t0": 0.0}
    steps: list[dict] = []
    pending: dict = {}
    activity = {"pending": pending, "last": time.monotonic()}

    def on_request(request):
        parts = urlsplit(request.url)
        if parts.netloc != origin or parts.path.startswith(STATIC) or current["step"] is None:
            return
        activity["last"] = time.monotonic()
        pending[request] = {"method": request.method,
                            "path": parts.path + (f"?{parts.query}" if parts.query else ""),
                            "body": request.post_data}

    def on_done(request):
        entry = pending.pop(request, None)
        if entry is None:
            return
        activity["last"] = time.monotonic()
        timing = request.timing
        start = timing["startTime"] - current["t0"]
        end = start + max(timing["responseEnd"], 0)
        response = request.response() if request.failure is None else None
        entry.update(start=round(start, 1), end=round(end, 1),
                     status=response.status if response else None)
        steps[-1]["requests"].append(entry)

    page.on("request", on_request)
    page.on("requestfinished", on_done)
    page.on("requestfailed", on_done)
    for step, act in _steps(page, url):
        current.update(step=step, t0=page.evaluate("performance.timeOrigin + performance.now()"))
        steps.append({"step": step, "requests": []})
        act()
        _settle(page, activity)
        print(f"    {profile['label']}: {step}: {len(steps[-1]['requests'])} requests")
    page.close()
    for item in steps:
        item["requests"].sort(key=lambda r: r["start"])
    return steps


def record(server: Server, accounts: list[tuple[str, str, dict]]) -> list[dict]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, password, profile in accounts:
            out.append({"profile": profile,
                        "steps": record_session(browser, server.url, name, password, profile)})
        browser.close()
    return out


# -- replay ---------------------------------------------------------------------------------------

def endpoint(entry: dict) -> str:
    """A Dash callback by its (first) output id, anything else by its path."""
    path = entry["path"].split("?")[0]
    if path != "/_dash-update-component" or not entry.get("body"):
        return f"{entry['method']} {path}"
    output = json.loads(entry["body"]).get("output", "")
    outputs = [o for o in re.split(r"\.\.\.", output.strip(".")) if o]
    first = outputs[0] if outputs else output
    return f"cb {first}" + (f" +{len(outputs) - 1}" if len(outputs) > 1 else "")


def login(url: str, name: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(url + "/login", timeout=60)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    answer = session.post(url + "/login", data={"name": name, "password": password,
                                                "csrf_token": token}, timeout=60,
                          allow_redirects=False)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"login of {name} failed: {answer.status_code}")
    return session


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.notes: dict[str, str] = {}

    def add(self, name: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.samples.setdefault(name, []).append(ms)
            if error:
                self.errors[name] = self.errors.get(name, 0) + 1
                self.notes.setdefault(name, error)


def send(session: requests.Session, url: str, entry: dict, results: Results, stop: float
         ) -> None:
    if time.monotonic() > stop:
        return
    t = time.perf_counter()
    error = None
    try:
        if entry["method"] == "POST":
            answer = session.post(url + entry["path"], data=entry["body"].encode(), timeout=120,
                                  headers={"Content-Type": "application/json"})
        else:
            answer = session.get(url + entry["path"], timeout=120)
        if answer.status_code >= 400:
            error = f"HTTP {answer.status_code}"
    except requests.RequestException as exc:
        error = type(exc).__name__
    results.add(endpoint(entry), (time.perf_counter() - t) * 1000, error)


def replay_step(session, url: str, requests_: list[dict], pool, results, stop) -> None:
    futures = []
    for i, entry in enumerate(requests_):
        wait([f for j, f in enumerate(futures) if requests_[j]["end"] <= entry["start"]])
        futures.append(pool.submit(send, session, url, entry, results, stop))
    wait(futures)


def user_loop(url: str, session: requests.Session, recorded: dict, results: Results,
              think: float, start_delay: float, stop: float, rng: random.Random) -> None:
    time.sleep(start_delay)
    with ThreadPoolExecutor(PER_USER) as pool:
        while time.monotonic() < stop:
            for step in recorded["steps"]:
                replay_step(session, url, step["requests"], pool, results, stop)
                pause = think * rng.uniform(0.5, 1.5)
                if time.monotonic() + pause >= stop:
                    return
                time.sleep(pause)


def worker_cpu(server: Server) -> float:
    """CPU seconds used so far by the gunicorn workers (children of the arbiter)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text()
    except OSError:
        return 0.0
    for pid in children.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run_load(server: Server, sessions: list[dict], users: list[tuple[str, str, int]],
             duration: float, think: float, seed: int) -> dict:
    rng = random.Random(seed)
    logged_in = [(login(server.url, name, password), sessions[index])
                 for name, password, index in users]
    load_before = os.getloadavg()
    cpu_before = worker_cpu(server)
    results = Results()
    began = time.monotonic()
    stop = began + duration
    threads = [threading.Thread(target=user_loop, daemon=True, args=(
        server.url, session, recorded, results, think, rng.uniform(0, think), stop,
        random.Random(rng.random()))) for session, recorded in logged_in]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {"results": results, "elapsed": elapsed, "cpu": worker_cpu(server) - cpu_before,
            "load_before": load_before, "load_after": os.getloadavg()}


def report(n: int, run: dict) -> None:
    results = run["results"]
    every = [ms for samples in results.samples.values() for ms in samples]
    errors = sum(results.errors.values())
    print(f"\n{n} users: {len(every):,} requests in {run['elapsed']:.0f} s"
          f" = {len(every) / run['elapsed']:.1f} req/s, {errors} errors;"
          f" worker CPU {run['cpu'] * 1000 / max(len(every), 1):.1f} ms per request;"
          f" load average before {_load(run['load_before'])}, after {_load(run['load_after'])}")
    print(f"  {'endpoint':<58} {'n':>6} {'err':>4}   {'p50':>7} {'p95':>7} {'p99':>7}  ms")
    rows = sorted(results.samples.items(), key=lambda kv: -statistics.median(kv[1]) * len(kv[1]))
    for name, samples in rows:
        print(f"  {name[:58]:<58} {len(samples):6d} {results.errors.get(name, 0):4d}   "
              f"{percentile(samples, .5):7.1f} {percentile(samples, .95):7.1f} "
              f"{percentile(samples, .99):7.1f}")
    if every:
        print(f"  {'all':<58} {len(every):6d} {errors:4d}   {percentile(every, .5):7.1f} "
              f"{percentile(every, .95):7.1f} {percentile(every, .99):7.1f}")
    for name, note in results.notes.items():
        print(f"  first error of {name}: {note}")


def _load(values) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> int:
    # stopped with SIGTERM: still stop the server (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "national.duckdb")
    parser.add_argument("--sessions", type=Path, default=None,
                        help="recorded sessions (default bench/out/sessions-<db name>.json;"
                             " recorded when missing)")
    parser.add_argument("--record", action="store_true", help="record again even if present")
    parser.add_argument("--users", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds between a user's steps")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--app-root", type=Path, default=ROOT,
                        help="the checkout whose code the server runs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    db = args.db.absolute()  # a link stays a link (the server resolves it, as in production)
    if not db.exists():
        print(f"skipped: benchmark database {db} not found")
        return 0
    from data.store import Store

    version = Store(db).version()
    sessions_file = args.sessions or ROOT / "bench" / "out" / f"sessions-{db.name.split('.')[0]}.json"
    recorded = json.loads(sessions_file.read_text()) if sessions_file.exists() else None
    if recorded and recorded["version"] != version:
        print(f"  {sessions_file} was recorded on data version {recorded['version']}; recording again")
        recorded = None
    if (recorded is None or args.record) and not Path(CHROMIUM).exists():
        print(f"skipped: no recorded sessions and no Chromium at {CHROMIUM}")
        return 0
    with tempfile.TemporaryDirectory(prefix="vb-load-") as tmp:
        state = Path(tmp) / "appstate.sqlite"
        kinds = recorded["profiles"] if recorded and not args.record else profiles(db)
        password = secrets.token_urlsafe(16)
        print(f"Load test on {db} (data version {version}), server code {args.app_root},"
              f" {args.workers} workers; creating accounts ...")
        accounts = [(f"load-{i}", kinds[i % len(kinds)]) for i in range(max(args.users))]
        if recorded is None or args.record:
            accounts += [(f"record-{i}", profile) for i, profile in enumerate(kinds)]
        with ThreadPoolExecutor(2) as pool:  # one CLI process each (SQLite serialises them)
            list(pool.map(lambda a: add_user(db, state, a[0], a[1], password), accounts))
        env = {"DASHBOARD_STATE_DB": str(state), "DASHBOARD_SECRET_KEY": secrets.token_hex(32)}
        server = _server(db, env, args.workers, Path(tmp), args.app_root)
        try:
            if recorded is None or args.record:
                print("  recording sessions in Chromium ...")
                sessions = record(server, [(f"record-{i}", password, p)
                                           for i, p in enumerate(kinds)])
                recorded = {"version": version, "profiles": kinds, "sessions": sessions}
                sessions_file.parent.mkdir(parents=True, exist_ok=True)
                sessions_file.write_text(json.dumps(recorded, indent=1))
                print(f"  recorded to {sessions_file}")
            per_session = [sum(len(s["requests"]) for s in r["steps"])
                           for r in recorded["sessions"]]
            print(f"  sessions: " + ", ".join(f"{p['label']} ({n} requests)" for p, n in
                                               zip(recorded["profiles"], per_session)))
            # warm-up: every session once, one user each (caches as after a first visitor)
            run_load(server, recorded["sessions"],
                     [(f"load-{i}", password, i) for i in range(len(kinds))],
                     duration=30, think=0.1, seed=args.seed)
            for n in args.users:
                run = run_load(server, recorded["sessions"],
                               [(f"load-{i}", password, i % len(kinds)) for i in range(n)],
                               duration=args.duration, think=args.think, seed=args.seed)
                report(n, run)
        finally:
            server.stop()
    return 0


def _server(db: Path, env: dict, workers: int, log_dir: Path, app_root: Path) -> Server:
    if app_root.resolve() == ROOT:
        return Server(db, env=env, workers=workers, log_dir=log_dir)
    # another checkout: its own code on the Python path, the same server command
    import bench.map_render as mr

    saved = mr.ROOT
    mr.ROOT = app_root.resolve()
    try:
        return Server(db, env=env, workers=workers, log_dir=log_dir)
    finally:
        mr.ROOT = saved


if __name__ == "__main__":
    sys.exit(main())
