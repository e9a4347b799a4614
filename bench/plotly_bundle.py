"""plotly.js bundles in Debian's Chromium: the plotly package's full bundle against the cartesian
bundle the app serves (dashboard/__init__.py ``_serve_plotly``), from loading the script to the
first chart drawn.

Each run is a fresh browser context (no cache) opening a local page that loads one bundle and
draws a bar chart; the two bundles alternate, so both see the same load on a shared machine.

    .venv/bin/python bench/plotly_bundle.py [--repeat 8]

Needs /usr/bin/chromium; never downloads a browser.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import plotly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.map_render import percentile  # noqa: E402
from dashboard import PLOTLY_BUNDLE  # noqa: E402
from tests.conftest import CHROMIUM  # noqa: E402

BUNDLES = {"full (plotly package)": Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
           "cartesian (served)": PLOTLY_BUNDLE}

PAGE = """<html><body><div id="g" style="width:600px;height:300px"></div>
<script>window.t0 = performance.now();</script><script src="%s"></script>
<script>window.t1 = performance.now();
Plotly.newPlot("g", [{type: "bar", x: [1, 2, 3], y: [3, 1, 2]}])
  .then(() => { window.t2 = performance.now(); });</script></body></html>"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in BUNDLES}
    with tempfile.TemporaryDirectory(prefix="vb-plotly-") as tmp, sync_playwright() as pw:
        pages = {}
        for i, (name, bundle) in enumerate(BUNDLES.items()):
            shutil.copyfile(bundle, Path(tmp) / f"{i}.js")
            (Path(tmp) / f"{i}.html").write_text(PAGE % f"{i}.js")
            pages[name] = (Path(tmp) / f"{i}.html").as_uri()
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.repeat):
            for name, url in pages.items():
                context = browser.new_context()
                page = context.new_page()
                page.goto(url)
                page.wait_for_function("window.t2 !== undefined", timeout=120_000)
                runs[name].append(tuple(page.evaluate("[t1 - t0, t2 - t0]")))
                context.close()
        browser.close()
    load = os.getloadavg()
    print(f"plotly.js bundles, {args.repeat} runs each (alternating), load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name, samples in runs.items():
        size = BUNDLES[name].stat().st_size / 1e6
        for label, k in (("script loaded and run", 0), ("first chart drawn", 1)):
            values = [s[k] for s in samples]
            print(f"  {name:<22} {size:4.1f} MB  {label:<22} median "
                  f"{statistics.median(values):6.0f} ms   p95 {percentile(values, 0.95):6.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
