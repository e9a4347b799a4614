"""Kaart render benchmark: the national buurt layer in Debian's Chromium, from the map callbacks'
request start to all polygons drawn.

Starts the real server (gunicorn, as tests/conftest.py LiveServer) on the benchmark database
(read-only: the serving processes open it read-only, nothing is copied) with its own state
database in a temporary folder, creates an analist with all regionale eenheden there (the
`users add` command), logs in through the login form and opens ``/kaart?niveau=buurt`` (the
whole scope: every buurt of the country) ``--repeat`` times. Per run it measures in the page
(performance.now(), polled every animation frame):

* ``polygons``: from the start of the first of the geometry/values requests (both follow the
  navigation callback) to the moment every buurt is on the map (``vb.layers``: an SVG path
  each, or an area on Leaflet's canvas renderer, which assets/choropleth.js uses for layers of
  more than ``vb.CANVAS_ABOVE`` areas);
* ``coloured``: until, in addition, the values have arrived and been applied (``vb.hideout``);
* ``painted``: until, in addition, two animation frames have passed (the browser has laid out
  and painted what was added: for 13,594 SVG paths that frame alone took seconds);

and the same from the start of the navigation callback; from the network timings of the
shapes and values requests the server time (request sent -> first byte)
and the payload (raw, and gzip level 6: the app itself does not compress).

    .venv/bin/python bench/map_render.py [--db bench/out/national.duckdb] [--repeat 5]

Needs /usr/bin/chromium (apt-get install chromium); never downloads a browser.
"""
from __future__ import annotations

import argparse
import gzip
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, LiveServer, free_port  # noqa: E402


class Server(LiveServer):
    """LiveServer with its log in ``log_dir`` (nothing is written beside the database)."""

    def __init__(self, db: Path, env: dict, workers: int, log_dir: Path):
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"server-{self.port}.log"
        environ = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_TILE_URL": "", **env}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(
            [gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--no-control-socket", "--timeout", "120", "dashboard:create_app()"],
            cwd=ROOT, env=environ, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.wait_ready(timeout=180)

SELECTOR = ".leaflet-overlay-pane path.leaflet-interactive"
#: The three requests of a map view: navigation (a Dash callback), then at once the shapes (a
#: GET that dash-leaflet makes, see callbacks/kaart.py geometry_response) and the values.
NAV_OUTPUT, VALUES_OUTPUT = "kaart-url.search", "kaart-values.data"
GEO_URL = "/kaart/geometrie.json?niveau=buurt"

#: Installed before any page script: remember when each map request starts.
MARK_REQUESTS = """
(() => {
  window.__vbMarks = {};
  const originalFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    const body = init && typeof init.body === "string" ? init.body : "";
    const key = url.indexOf("%s") >= 0 ? "geometry"
      : body.indexOf("%s") >= 0 ? "values" : body.indexOf("%s") >= 0 ? "navigation" : null;
    if (key && window.__vbMarks[key] === undefined) { window.__vbMarks[key] = performance.now(); }
    return originalFetch.apply(this, arguments);
  };
})();
""" % (GEO_URL, VALUES_OUTPUT, NAV_OUTPUT)

#: True once ``n`` areas are on the map (SVG paths or areas on the canvas renderer, see
#: assets/choropleth.js), the values applied (``vb.hideout``) and two frames painted since;
#: records the times.
DONE = """
([n]) => {
  const marks = window.__vbMarks || {};
  const vb = window.vb || {};
  const drawn = (vb.layers || []).filter(layer => layer._map).length;
  const now = performance.now();
  if (drawn >= n && marks.polygons === undefined) { marks.polygons = now; }
  const h = vb.hideout || {};
  const coloured = h.values && Object.keys(h.values).length > 0;
  if (drawn >= n && coloured && marks.coloured === undefined) {
    marks.coloured = now;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      marks.painted = performance.now();
    }));
  }
  return marks.painted !== undefined;
}
"""


def expected_polygons(db: Path) -> int:
    """Buurten of the latest vintage with a shape and a gemeente in the database (read-only)."""
    from data.store import Store

    con = Store(db).read()
    return con.execute("""
        SELECT count(*) FROM areas a JOIN boundary_shapes s ON s.code = a.code
        WHERE a.level = 'buurt' AND s.level = 'buurt' AND s.tier = 'overview'
          AND s.vintage = (SELECT max(vintage) FROM boundary_shapes WHERE level = 'buurt')
          AND a.gm_code IN (SELECT code FROM areas WHERE level = 'gemeente')""").fetchall()[0][0]


def add_analist(db: Path, state: Path, name: str, password: str) -> None:
    from data.store import Store

    eenheden = [r[0] for r in Store(db).read().execute(
        "SELECT code FROM areas WHERE level = 'eenheid' ORDER BY code").fetchall()]
    env = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_STATE_DB": str(state)}
    subprocess.run([sys.executable, "-m", "dashboard", "users", "add", name, "--role", "analist",
                    "--eenheid", *eenheden, "--password-stdin"], input=password + "\n",
                   text=True, cwd=ROOT, env=env, check=True, capture_output=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "national.duckdb")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per page load")
    parser.add_argument("--measure", choices=("count", "per_1000", "change"), default="count",
                        help="the map's measure (maat=)")
    parser.add_argument("--cached", action="store_true",
                        help="let the browser cache the shapes (a repeated visit); default: "
                             "cache disabled, every run a first visit")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return 0
    db = args.db.resolve()
    if not db.exists():
        print(f"skipped: benchmark database {db} not found (build it with bench/run.py)")
        return 0
    from playwright.sync_api import sync_playwright

    expected = expected_polygons(db)
    with tempfile.TemporaryDirectory(prefix="vb-map-render-") as tmp:
        state = Path(tmp) / "appstate.sqlite"
        name, password = "bench-analist", secrets.token_urlsafe(16)
        add_analist(db, state, name, password)
        server = Server(db, workers=args.workers, env={
            "DASHBOARD_STATE_DB": str(state), "DASHBOARD_SECRET_KEY": secrets.token_hex(32)},
            log_dir=Path(tmp))
        runs = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync"])
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                if not args.cached:  # every run fetches the shapes anew (a first visit)
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Network.enable")
                    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                page.set_default_timeout(args.timeout * 1000)
                page.add_init_script(MARK_REQUESTS)
                page.goto(server.url + "/login")
                page.fill("#name", name)
                page.fill("#password", password)
                page.click("button[type=submit]")
                page.wait_for_url(server.url + "/")
                for i in range(args.repeat + 1):  # run 0 warms both workers' caches up
                    responses = {}

                    def keep(response, responses=responses):
                        if GEO_URL in response.url:
                            responses["geometry"] = response
                        elif VALUES_OUTPUT in (response.request.post_data or ""):
                            responses["values"] = response
                    page.on("response", keep)
                    page.goto(server.url + f"/kaart?niveau=buurt&maat={args.measure}")
                    page.wait_for_function(DONE, arg=[expected], polling="raf",
                                           timeout=args.timeout * 1000)
                    marks = page.evaluate("window.__vbMarks")
                    drawn = page.evaluate(
                        "window.vb.layers.filter(layer => layer._map).length")
                    svg = page.locator(SELECTOR).count()
                    page.remove_listener("response", keep)
                    start = min(marks["geometry"], marks["values"])
                    run = {"polygons": marks["polygons"] - start,
                           "coloured": marks["coloured"] - start,
                           "painted": marks["painted"] - start,
                           "from_navigation": marks["painted"] - marks["navigation"],
                           "paths": drawn, "svg": svg}
                    for label in ("geometry", "values"):
                        response = responses[label]
                        body = response.body()
                        timing = response.request.timing
                        run[f"{label}_server"] = timing["responseStart"] - timing["requestStart"]
                        run[f"{label}_raw"] = len(body)
                        run[f"{label}_gzip"] = len(gzip.compress(body, 6))
                        run[f"{label}_encoding"] = response.headers.get("content-encoding", "-")
                    if i:
                        runs.append(run)
                    print(f"  run {i}{' (warm-up)' if not i else ''}: polygons "
                          f"{run['polygons']:7.0f} ms, coloured {run['coloured']:7.0f} ms, painted "
                          f"{run['painted']:7.0f} ms, "
                          f"server geometry {run['geometry_server']:5.0f} ms, values "
                          f"{run['values_server']:5.0f} ms, {drawn:,} areas ({svg:,} SVG paths)",
                          flush=True)
                browser.close()
        finally:
            server.stop()

    def line(key):
        samples = [r[key] for r in runs]
        return (f"median {statistics.median(samples):7.0f} ms   max {max(samples):7.0f} ms"
                f"   p95 {percentile(samples, 0.95):7.0f} ms")
    first = runs[0]
    load = os.getloadavg()
    print(f"\nNational buurt layer, analist with all eenheden: {expected:,} polygons expected, "
          f"{first['paths']:,} drawn ({first['svg']:,} as SVG paths, the rest on canvas), "
          f"measure {args.measure}; {len(runs)} runs on {db.name}, browser cache "
          f"{'on' if args.cached else 'off'}, {args.workers} workers, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  request start -> all areas on the map      {line('polygons')}")
    print(f"  request start -> areas coloured            {line('coloured')}")
    print(f"  request start -> coloured and painted      {line('painted')}   (goal <= 2000 ms)")
    print(f"  navigation start -> coloured and painted   {line('from_navigation')}")
    print(f"  server time, shapes (GET)                  {line('geometry_server')}")
    print(f"  server time, values callback               {line('values_server')}")
    for label in ("geometry", "values"):
        print(f"  payload {label:<9} {first[f'{label}_raw'] / 1024:8.0f} kB raw, "
              f"{first[f'{label}_gzip'] / 1024:6.0f} kB gzip "
              f"(sent with Content-Encoding: {first[f'{label}_encoding']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
