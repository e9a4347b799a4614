"""The app shell in a real Chromium against a real gunicorn server on the demo database."""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from data.queries.overview import KEY_GROUPS
from data.segments import connect as connect_db

from .conftest import login

pytestmark = pytest.mark.browser


def _expected_key_figures(db) -> tuple[dict[str, int], date, date]:
    """Key figures computed straight from the incidents table, bypassing the query layer."""
    con = connect_db(db)
    try:
        newest = con.execute("SELECT date_trunc('month', max(occurred_date))::DATE FROM incidents"
                             ).fetchall()[0][0]
        start = date(newest.year - 1, newest.month, 1)
        rows = con.execute("""
            SELECT g.group_code, count(i.id)
            FROM type_groups g LEFT JOIN incidents i
              ON i.type_code = g.type_code AND i.occurred_date >= ? AND i.occurred_date < ?
            GROUP BY g.group_code""", [start, newest]).fetchall()
    finally:
        con.close()
    return dict(rows), start, newest


def test_overview_key_figures_equal_direct_duckdb(page, demo_server, demo_db):
    expected, _start, _end = _expected_key_figures(demo_db)
    login(page, demo_server, "analist")  # the whole demo unit
    for group in KEY_GROUPS:
        value = page.locator(f".key-figure-value[data-group='{group}']")
        expect(value).to_be_visible(timeout=20_000)
        assert int(value.get_attribute("data-value")) == expected[group], group
        shown = int(value.inner_text().replace(".", ""))
        assert shown == expected[group], group
    assert expected["alle_misdrijven"] > 1000  # the demo city alone has thousands a year


def test_header_shows_dataset_and_demo_badge(page, demo_server):
    login(page, demo_server, "analist")
    expect(page.locator("#demo-badge")).to_have_text("DEMO", timeout=20_000)
    expect(page.locator(".dataset-name")).to_contain_text("Doggerland")
    expect(page.locator(".dataset-period")).to_have_text(re.compile(r"\w{3} \d{4} – \w{3} \d{4}"))


def test_gemeente_table_lists_every_demo_gemeente(page, demo_server, demo_db):
    con = connect_db(demo_db)
    codes = {r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente'").fetchall()}
    con.close()
    login(page, demo_server, "analist")
    rows = page.locator(".gemeente-table tbody tr")
    expect(rows).to_have_count(len(codes), timeout=20_000)
    assert {rows.nth(i).get_attribute("data-code") for i in range(len(codes))} == codes


def test_navigation_routes_every_page(page, demo_server):
    login(page, demo_server, "burgemeester")
    assert page.evaluate("document.documentElement.lang") == "nl"  # every page, not only /login
    page.get_by_role("link", name="Kaart", exact=True).click()
    expect(page.locator("#kaart-panel .kaart-table")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(re.escape(demo_server.url) + r"/kaart\?niveau=wijk"))
    page.get_by_role("link", name="Trends", exact=True).click()
    expect(page.locator("#trends-graph .js-plotly-plot")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(re.escape(demo_server.url) + r"/trends\?.*per=maand"))
    page.get_by_role("link", name="Incidenten", exact=True).click()
    expect(page).to_have_url(demo_server.url + "/incidenten")
    expect(page.locator("#incidenten-geen-toegang")).to_contain_text("detailniveau 1")
    page.get_by_role("link", name="Rapportages", exact=True).click()
    expect(page).to_have_url(demo_server.url + "/rapportages")
    expect(page.locator("#rapportages-lijst")).to_be_visible(timeout=20_000)
    assert page.evaluate("document.documentElement.lang") == "nl"
    page.goto(demo_server.url + "/bestaat-niet")
    expect(page.locator("#page")).to_contain_text("Pagina niet gevonden")


ENGLISH_DROPDOWN = ("Select All", "Deselect All", "selected", "Search", "No options found",
                    "Clear search", "Clear selection")


def test_dropdowns_speak_dutch(page, demo_server):
    """The shared dropdown (layouts/controls.py) replaces the component's English texts."""
    login(page, demo_server, "analist")
    page.goto(demo_server.url + "/incidenten")
    page.locator("#incidenten-type").click()
    menu = page.locator("#incidenten-type")
    expect(page.get_by_text("Alles kiezen", exact=True)).to_be_visible(timeout=20_000)
    page.get_by_text("Alles kiezen", exact=True).click()
    expect(page.get_by_text("gekozen")).to_have_count(1, timeout=10_000)
    text = page.locator("body").inner_text() + menu.inner_text()
    assert not [w for w in ENGLISH_DROPDOWN if w in text], text[:500]


def test_page_loads_nothing_from_outside(page, demo_server):
    """Offline: every request the page makes goes to our own server."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    login(page, demo_server, "burgemeester")
    expect(page.locator(".key-figure").first).to_be_visible(timeout=20_000)
    page.wait_for_load_state("networkidle")
    outside = [u for u in requested if not u.startswith(demo_server.url)]
    assert outside == []
    assert any(u.endswith(".css") or "bootstrap.min.css" in u for u in requested)
    # Bootstrap is really applied (vendored CSS, no CDN): the navbar gets its flex layout.
    display = page.eval_on_selector("nav.navbar", "el => getComputedStyle(el).display")
    assert display == "flex"
