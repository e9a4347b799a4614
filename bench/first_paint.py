"""First paint for a mayor: from pressing "Inloggen" to a drawn Overzicht, and from opening
the Kaart to its coloured areas, in Debian's Chromium with an empty browser cache.

Starts the real server (gunicorn, as tests/conftest.py LiveServer) on a database (default: the
demo, built into a temporary folder exactly as ``python -m dashboard demo``), adds a mayor of
the first gemeente with the ``users add`` command, and per run opens a fresh browser context
(no cookies, no cache: a first visit) and measures on the wall clock:

* ``login -> Overzicht``: from the login form's submit to the key figures filled (every
  ``.key-figure-value`` has its value or "geen gegevens") and the trend chart drawn (Plotly's
  SVG with a data trace);
* ``open -> Kaart``: from navigating to ``/kaart`` (the mayor starts at the wijken of the own
  gemeente) to every area path drawn and the values applied (``vb.hideout``);

and the bytes the first visit transfers (scripts, styles, callback answers) per content
encoding, as Chromium received them (encoded sizes).

    .venv/bin/python bench/first_paint.py [--db PATH --gemeente GM0363] [--repeat 7]

Goal (issue 15): at most 1.5 s each on a quiet machine. Prints medians and p95; the machines
are shared, so compare numbers of one run only. Needs /usr/bin/chromium; never downloads a
browser.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.map_render import Server, percentile  # noqa: E402
from tests.conftest import CHROMIUM  # noqa: E402

OVERVIEW_DRAWN = """() => {
  const values = [...document.querySelectorAll('.key-figure-value')];
  const filled = values.length > 0 && values.every(v =>
      v.hasAttribute('data-value') || v.textContent.trim() === 'geen gegevens');
  const graph = document.querySelector('#overview-trend .js-plotly-plot');
  return filled && !!graph && !!graph.data && graph.data.length > 0
      && !!graph.querySelector('.main-svg g.trace');
}"""

MAP_DRAWN = """() => {
  const paths = document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive');
  const h = (window.vb && window.vb.hideout) || {};
  const rows = document.querySelectorAll('#kaart-panel tbody tr').length;
  return paths.length > 0 && rows > 0 && !!h.values && Object.keys(h.values).length > 0;
}"""


def add_mayor(db: Path, state: Path, gemeente: str | None, password: str) -> tuple[str, str]:
    """A burgemeester of ``gemeente`` (default: the first gemeente with incidents)."""
    from data.store import Store

    con = Store(db).read()
    if gemeente is None:
        found = con.execute("SELECT min(gm_code) FROM incidents").fetchall()[0][0]
        gemeente = found or con.execute(
            "SELECT min(code) FROM areas WHERE level = 'gemeente'").fetchall()[0][0]
    con.close()
    name = "bench-burgemeester"
    env = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_STATE_DB": str(state)}
    subprocess.run([sys.executable, "-m", "dashboard", "users", "add", name, "--role",
                    "burgemeester", "--gemeente", gemeente, "--password-stdin"],
                   input=password + "\n", text=True, cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return name, gemeente


def one_visit(browser, url: str, name: str, password: str, timeout: float) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(timeout * 1000)
    sizes: dict[str, int] = {}

    def count(request):
        kind = request.resource_type
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 - a request that failed has no sizes
            return
        sizes[kind] = sizes.get(kind, 0) + max(0, size)
        response = request.response()
        encoding = (response.headers.get("content-encoding") if response else None) or "none"
        sizes[f"{kind} ({encoding})"] = sizes.get(f"{kind} ({encoding})", 0) + max(0, size)
    page.on("requestfinished", count)
    page.goto(url + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    start = time.perf_counter()
    page.click("button[type=submit]")
    page.wait_for_function(OVERVIEW_DRAWN, polling="raf", timeout=timeout * 1000)
    overview = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    first_visit = dict(sizes)
    start = time.perf_counter()
    page.goto(url + "/kaart")
    page.wait_for_function(MAP_DRAWN, polling="raf", timeout=timeout * 1000)
    kaart = time.perf_counter() - start
    context.close()
    return {"overview": overview * 1000, "kaart": kaart * 1000, "bytes": first_visit}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a database (default: build the demo)")
    parser.add_argument("--gemeente", help="the mayor's gemeente (default: the first one)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per page")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vb-first-paint-") as tmp:
        if args.db is None:
            from data.demo import build_demo
            from data.store import Store

            db = Path(tmp) / "demo.duckdb"
            began = time.perf_counter()
            build_demo(Store(db))
            print(f"demo built in {time.perf_counter() - began:.0f} s")
        else:
            db = args.db.resolve()
            if not db.exists():
                print(f"skipped: database {db} not found")
                return 0
        state = Path(tmp) / "appstate.sqlite"
        password = secrets.token_urlsafe(16)
        name, gemeente = add_mayor(db, state, args.gemeente, password)
        server = Server(db, workers=args.workers, env={
            "DASHBOARD_STATE_DB": str(state), "DASHBOARD_SECRET_KEY": secrets.token_hex(32)},
            log_dir=Path(tmp))
        runs = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync"])
                for i in range(args.repeat + 1):  # run 0 warms both workers up
                    run = one_visit(browser, server.url, name, password, args.timeout)
                    if i:
                        runs.append(run)
                    print(f"  run {i}{' (warm-up)' if not i else ''}: login -> Overzicht "
                          f"{run['overview']:6.0f} ms, open -> Kaart {run['kaart']:6.0f} ms",
                          flush=True)
                browser.close()
        finally:
            server.stop()

    def line(key):
        samples = [r[key] for r in runs]
        return (f"median {statistics.median(samples):6.0f} ms   p95 "
                f"{percentile(samples, 0.95):6.0f} ms   max {max(samples):6.0f} ms")
    load = os.getloadavg()
    print(f"\nMayor of {gemeente} on {db.name}: {len(runs)} first visits (fresh browser context, "
          f"empty cache), {args.workers} workers, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}")
    print(f"  login -> Overzicht drawn       {line('overview')}   (goal <= 1500 ms)")
    print(f"  open -> Kaart coloured         {line('kaart')}   (goal <= 1500 ms)")
    sizes = runs[0]["bytes"]
    total = sum(v for k, v in sizes.items() if "(" not in k)
    parts = ", ".join(f"{k} {v / 1024:,.0f} kB" for k, v in sorted(sizes.items(),
                                                                     key=lambda kv: -kv[1])
                      if "(" in k)
    print(f"  first visit transfers {total / 1024:,.0f} kB on the wire: {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
