"""Narrow screens in a real Chromium against a real gunicorn server on the demo database: on a
phone (390x844) the navigation folds behind a toggler, and no page is wider than the screen;
a wide table scrolls sideways inside its own box (layouts/figures.data_table)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, LiveServer, login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

#: Every element that sticks out of the window sideways, unless it lies inside a box that
#: scrolls (or clips) sideways and itself fits the window. Elements wholly left of the window
#: are off-screen on purpose (Plotly's measuring svg, visually hidden texts), not overflow.
OUTSIDE = """() => {
    const w = document.documentElement.clientWidth;
    const out = [];
    for (const e of document.querySelectorAll("body *")) {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || r.right <= 0) continue;
        if (r.left >= -0.5 && r.right <= w + 0.5) continue;
        let p = e.parentElement, contained = false;
        while (p && p !== document.body) {
            const x = getComputedStyle(p).overflowX;
            if (["auto", "scroll", "hidden", "clip"].includes(x)
                && p.getBoundingClientRect().right <= w + 0.5) { contained = true; break; }
            p = p.parentElement;
        }
        if (!contained) out.push(`${e.tagName}#${e.id}.${String(e.className).slice(0, 40)} `
                                 + `${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    return out;
}"""


@pytest.fixture(scope="module")
def products_server(demo_db, tmp_path_factory):
    """The demo with one generated product (the CLI, as cron does), in a state database and
    products folder of its own, so the rapportages table has a row."""
    folder = tmp_path_factory.mktemp("responsive")
    env = {"DASHBOARD_STATE_DB": str(folder / "appstate.sqlite"),
           "DASHBOARD_PRODUCTS_DIR": str(folder / "products")}
    subprocess.run([sys.executable, "-m", "dashboard", "--db", str(demo_db), "reports",
                    "generate", "stuurgegevens", "--area", "GMD001",
                    "--reference", date.today().isoformat()],
                   cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    server = LiveServer(demo_db, env=env, workers=1)
    yield server
    server.stop()


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(OUTSIDE) == []


def test_phone_navigation_folds_behind_a_toggler(page, demo_server):
    page.set_viewport_size(PHONE)
    login(page, demo_server, "burgemeester")
    expect(page.locator(".key-figure-value").first).to_be_visible(timeout=20_000)
    toggler = page.get_by_role("button", name="Menu")
    expect(toggler).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    trends = page.get_by_role("link", name="Trends", exact=True)
    expect(trends).to_be_hidden()
    navbar = page.locator("nav.navbar").bounding_box()
    assert navbar["height"] <= 80, navbar  # one line, not a third of the screen
    _fits(page)

    toggler.click()
    expect(trends).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#user-dropdown")).to_be_visible()
    _fits(page)
    trends.click()  # a page change folds the menu again
    expect(page.locator("#trends-graph .js-plotly-plot")).to_be_visible(timeout=20_000)
    expect(trends).to_be_hidden()
    expect(toggler).to_have_attribute("aria-expanded", "false")


@pytest.mark.parametrize("path,ready", [
    ("/", ".gemeente-table tbody tr"),
    ("/trends?gemeente=GMD001&indicator=alle_misdrijven&per=jaar", "#trends-graph .js-plotly-plot"),
    ("/rapportages", ".rapportages-tabel tbody tr"),
])
def test_phone_pages_fit_the_screen(page, products_server, path, ready):
    page.set_viewport_size(PHONE)
    login(page, products_server, "burgemeester")
    page.goto(products_server.url + path)
    expect(page.locator(ready).first).to_be_visible(timeout=20_000)
    page.wait_for_load_state("networkidle")
    _fits(page)


def test_wide_table_scrolls_in_its_own_box(page, products_server):
    """The rapportages table is wider than a phone: all its columns are there, reachable by
    scrolling the table's box, while the page itself does not scroll sideways."""
    page.set_viewport_size(PHONE)
    login(page, products_server, "burgemeester")
    page.goto(products_server.url + "/rapportages")
    table = page.locator(".rapportages-tabel")
    expect(table.locator("tbody tr").first).to_be_visible(timeout=20_000)
    box = page.locator(".table-responsive:has(.rapportages-tabel)")
    sizes = box.evaluate("e => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]")
    assert sizes[0] > sizes[1] and sizes[2] == "auto", sizes
    expect(table.locator("thead th")).to_have_count(6)
    last = table.locator("tbody tr").first.locator("td").last
    box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    right = last.bounding_box()
    assert right["x"] >= 0 and right["x"] + right["width"] <= PHONE["width"] + 1, right
    _fits(page)
