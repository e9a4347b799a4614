"""Driehoeksmonitor and presentation mode: the indicator query against direct DuckDB counts,
and both pages in Debian's Chromium against a real gunicorn server on the demo database."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date

import pytest
from playwright.sync_api import expect

from data.accounts import DEFAULT_DRIEHOEK
from data.catalog import indicator_title
from data.queries import driehoek as q
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db
from data.stats import poisson_change
from layouts import driehoek as layout

from .conftest import ROOT, LiveServer, choices, login

MAYOR = Scope(frozenset({"GMD001"}), 1, "Havenstad")


@pytest.fixture(scope="module")
def con(demo_db):
    connection = connect_db(demo_db)
    yield connection
    connection.close()


def _last_12_months(con):
    """[start, end): the 12 months before the newest (incomplete) month, straight from the
    incidents table."""
    newest = con.execute("SELECT date_trunc('month', max(occurred_date))::DATE FROM incidents"
                         ).fetchall()[0][0]
    return newest.replace(year=newest.year - 1), newest


def _count(con, gemeente, group, start, end):
    return con.execute(
        "SELECT count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ?"
        " AND occurred_date < ? AND type_code IN (SELECT type_code FROM type_groups"
        " WHERE group_code = ? UNION SELECT ?)", [gemeente, start, end, group, group]
    ).fetchall()[0][0]


def _profile(server, *codes):
    subprocess.run([sys.executable, "-m", "dashboard", "--db", str(server.db), "profiles", "set",
                    "GMD001", "--driehoek", *codes], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "DASHBOARD_STATE_DB": str(server.state)})


@pytest.fixture
def own_server(demo_db, tmp_path):
    """A server with a state database of its own: profile changes stay out of other tests."""
    state = tmp_path / "appstate.sqlite"
    server = LiveServer(demo_db, env={"DASHBOARD_STATE_DB": str(state)}, workers=1)
    server.state = state
    yield server
    server.stop()


# -- queries ----------------------------------------------------------------------------------

def test_monitor_equals_direct_incident_counts(con):
    start, end = _last_12_months(con)
    monitor = q.monitor(con, scope=MAYOR, gemeente="GMD001",
                        indicators=[*DEFAULT_DRIEHOEK, "bestaat-niet"])
    assert (monitor.start, monitor.end) == (start, end)
    assert [i.code for i in monitor.indicators] == list(DEFAULT_DRIEHOEK)
    assert monitor.unknown == ("bestaat-niet",)
    for item in monitor.indicators:
        assert item.current == _count(con, "GMD001", item.code, start, end), item.code
        before = (start.replace(year=start.year - 1), start)
        assert item.previous == _count(con, "GMD001", item.code, *before), item.code
        assert item.change == poisson_change(item.current, item.previous)
        assert len(item.months) == 24 and sum(item.counts[12:]) == item.current
    with pytest.raises(OutOfScope):
        q.monitor(con, scope=MAYOR, gemeente="GMD002", indicators=DEFAULT_DRIEHOEK)


def test_key_sentence_and_mark():
    item = q.Indicator("woninginbraak", "Woninginbraak", 132, 161, poisson_change(132, 161),
                       (), (), None, date(2025, 11, 1), date(2026, 11, 1))
    assert layout.key_sentence(item) == "Woninginbraak: 132, 18% minder dan vorig jaar " \
                                        "(binnen normale schommeling)"
    item = q.Indicator("geweld", "Geweld", 300, 200, poisson_change(300, 200), (), (), None,
                       date(2025, 11, 1), date(2026, 11, 1))
    assert layout.key_sentence(item) == "Geweld: 300, 50% meer dan vorig jaar (significant)"
    assert layout.key_sentence(item, title=False) == "300, 50% meer dan vorig jaar (significant)"
    assert layout.auto_choice("30") == 30 and layout.auto_choice("7", 15) == 15
    assert layout.auto_choice(None) == 0 and layout.auto_choice(["15"], 60) == 60
    assert layout.parse_search("?gemeente=GMD001&dia=x&auto=7") == \
        {"gemeente": "GMD001", "dia": 1, "auto": 0}


# -- the monitor in a browser -----------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("user", ["burgemeester", "analist"])
def test_driehoek_renders_with_direct_counts_and_significance(page, demo_server, con, user):
    login(page, demo_server, user)
    page.get_by_role("link", name="Driehoek", exact=True).click()
    expect(page.locator("#driehoek-status")).to_contain_text("Havenstad", timeout=20_000)
    cards = page.locator(".driehoek-card")
    expect(cards).to_have_count(len(DEFAULT_DRIEHOEK), timeout=20_000)
    options = page.locator("#driehoek-gemeente")
    if user == "burgemeester":
        expect(options).to_be_hidden()  # one gemeente: no selector
    else:
        expect(options).to_be_visible()
    start, end = _last_12_months(con)
    card = page.locator(".driehoek-card[data-indicator='woninginbraak']")
    current = int(card.locator(".driehoek-value").get_attribute("data-value"))
    assert current == _count(con, "GMD001", "woninginbraak", start, end)
    previous = int(card.locator(".driehoek-change").get_attribute("data-previous"))
    change = poisson_change(current, previous)
    mark = "significant" if change.significant else "binnen normale schommeling"
    expect(card.locator(".driehoek-mark")).to_have_text(mark)
    expect(card.locator(".driehoek-spark .js-plotly-plot")).to_be_visible()

    if user == "analist":  # another gemeente through the selector, kept in the URL
        options.click()
        name = con.execute("SELECT name FROM areas WHERE code = 'GMD003'").fetchall()[0][0]
        choices(page).filter(has_text=name).first.click()
        expect(page.locator("#driehoek-status")).to_contain_text(name, timeout=20_000)
        page.wait_for_function("() => location.search === '?gemeente=GMD003'", timeout=20_000)
        card = page.locator(".driehoek-card[data-indicator='geweld']")
        expect(card.locator(".driehoek-value")).to_have_attribute(
            "data-value", str(_count(con, "GMD003", "geweld", start, end)))
        page.reload()
        expect(page.locator("#driehoek-status")).to_contain_text(name, timeout=20_000)

    # Clicking an indicator opens the trends page with it preselected.
    gemeente = "GMD001" if user == "burgemeester" else "GMD003"
    page.locator(".driehoek-card[data-indicator='geweld'] .driehoek-link").click()
    expect(page.locator("#trends-status [data-indicator='geweld']")).to_have_count(
        1, timeout=20_000)
    assert re.search(r"/trends\?gemeente=" + gemeente + r"&indicator=geweld", page.url)
    expect(page.locator("#trends-status [data-gemeenten='" + gemeente + "']")).to_have_count(1)


@pytest.mark.browser
def test_profile_change_changes_the_indicators(page, own_server):
    login(page, own_server, "burgemeester")
    page.goto(own_server.url + "/driehoek")
    cards = page.locator(".driehoek-card")
    expect(cards).to_have_count(len(DEFAULT_DRIEHOEK), timeout=20_000)
    _profile(own_server, "woninginbraak", "N01")
    try:
        page.reload()
        expect(cards).to_have_count(2, timeout=20_000)
        assert [cards.nth(i).get_attribute("data-indicator") for i in range(2)] == \
            ["woninginbraak", "N01"]
        expect(cards.nth(1)).to_contain_text("Overlast jeugd")
    finally:
        _profile(own_server, *DEFAULT_DRIEHOEK)
    page.reload()
    expect(cards).to_have_count(len(DEFAULT_DRIEHOEK), timeout=20_000)


@pytest.mark.browser
def test_driehoek_refuses_another_gemeente_in_the_url(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/driehoek?gemeente=GMD002")
    expect(page.locator("#driehoek-status .refusal")).to_contain_text("geen toegang",
                                                                      timeout=20_000)
    expect(page.locator(".driehoek-card")).to_have_count(0)
    other = con.execute("SELECT name FROM areas WHERE code = 'GMD002'").fetchall()[0][0]
    assert other not in page.locator("#page").inner_text()


# -- presentation mode ------------------------------------------------------------------------

def _title(page):
    return page.locator(".pres-title").inner_text()


@pytest.mark.browser
def test_presentation_keys_reload_and_permalink(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/driehoek")
    expect(page.locator(".driehoek-card")).to_have_count(len(DEFAULT_DRIEHOEK), timeout=20_000)
    page.get_by_role("button", name="Presenteren").click()
    titles = [indicator_title(con, code) for code in DEFAULT_DRIEHOEK]
    expect(page.locator(".pres-title")).to_have_text(titles[0], timeout=20_000)
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator(".pres-counter")).to_have_text(f"1 / {len(titles)}")
    start, end = _last_12_months(con)
    current = _count(con, "GMD001", DEFAULT_DRIEHOEK[0], start, end)
    # the heading names the indicator; the sentence under it does not repeat it
    expect(page.locator(".pres-sentence")).to_contain_text(f"{current}, ")
    assert not page.locator(".pres-sentence").inner_text().startswith(titles[0])
    expect(page.locator(".pres-graph .js-plotly-plot")).to_be_visible()

    page.keyboard.press("ArrowRight")
    expect(page.locator(".pres-title")).to_have_text(titles[1], timeout=20_000)
    page.wait_for_function("() => location.search.includes('dia=2')", timeout=20_000)
    page.keyboard.press("ArrowRight")
    expect(page.locator(".pres-title")).to_have_text(titles[2], timeout=20_000)
    page.wait_for_function("() => location.search.includes('dia=3')", timeout=20_000)
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".pres-title")).to_have_text(titles[1], timeout=20_000)
    page.wait_for_function("() => location.search.includes('dia=2')", timeout=20_000)

    page.reload()  # the same slide after a reload
    expect(page.locator(".pres-title")).to_have_text(titles[1], timeout=20_000)
    assert "dia=2" in page.url and "gemeente=GMD001" in page.url

    page.goto(demo_server.url + "/presentatie?gemeente=GMD001&dia=4&auto=0")  # a permalink
    expect(page.locator(".pres-title")).to_have_text(titles[3], timeout=20_000)
    expect(page.locator(".pres-counter")).to_have_text(f"4 / {len(titles)}")
    page.locator("#pres-prev").click()  # the on-screen buttons work too
    expect(page.locator(".pres-title")).to_have_text(titles[2], timeout=20_000)


@pytest.mark.browser
def test_presentation_auto_advances(page, demo_server, con):
    login(page, demo_server, "analist")
    page.goto(demo_server.url + "/presentatie?gemeente=GMD001&dia=1&auto=15")
    title = indicator_title(con, DEFAULT_DRIEHOEK[0])
    expect(page.locator(".pres-title")).to_have_text(title, timeout=20_000)
    expect(page.locator(".pres-title")).to_have_text(indicator_title(con, DEFAULT_DRIEHOEK[1]),
                                                     timeout=25_000)
    assert "auto=15" in page.url and "dia=2" in page.url


def _outside_viewport(page, selector: str) -> list:
    """The elements matching ``selector`` whose bounding box is not wholly inside the window."""
    return page.evaluate("""(selector) => {
        const w = window.innerWidth, h = window.innerHeight;
        return [...document.querySelectorAll(selector)].map(e => {
            const r = e.getBoundingClientRect();
            return {id: e.id || e.className, left: r.left, top: r.top, right: r.right,
                    bottom: r.bottom, width: r.width};
        }).filter(r => r.width === 0 || r.left < 0 || r.top < 0 || r.right > w || r.bottom > h);
    }""", selector)


@pytest.mark.browser
def test_presentation_fits_a_projector_with_auto_and_fullscreen(page, demo_server, con):
    """At 1024x768 every control is inside the window (no scrolling), the auto-advance choice
    on the page drives the timer and the URL, and "Volledig scherm" enters and leaves full
    screen through the browser's Fullscreen API."""
    page.set_viewport_size({"width": 1024, "height": 768})
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/presentatie?gemeente=GMD001&dia=1&auto=0")
    titles = [indicator_title(con, code) for code in DEFAULT_DRIEHOEK]
    expect(page.locator(".pres-title")).to_have_text(titles[0], timeout=20_000)
    expect(page.locator(".pres-graph .js-plotly-plot")).to_be_visible()
    controls = ("#pres-prev, #pres-next, #pres-counter, #pres-auto-choice, #pres-fullscreen, "
                "#pres-close, .pres-title, .pres-sentence, .pres-graph")
    assert page.locator(controls).count() == 9
    assert _outside_viewport(page, controls) == []
    assert page.evaluate("document.documentElement.scrollHeight") <= 768
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    graph = page.locator(".pres-graph").bounding_box()
    assert graph["height"] >= 300  # the chart takes the room title and controls leave

    page.locator("#pres-auto-choice").select_option("15")
    page.wait_for_function("() => location.search.includes('auto=15')", timeout=20_000)
    assert "dia=1" in page.url
    expect(page.locator(".pres-title")).to_have_text(titles[1], timeout=25_000)
    assert "dia=2" in page.url
    page.reload()  # the choice survives a reload through the URL
    expect(page.locator("#pres-auto-choice")).to_have_value("15", timeout=20_000)
    page.locator("#pres-auto-choice").select_option("0")
    page.wait_for_function("() => location.search.includes('auto=0')", timeout=20_000)
    dia = page.locator(".pres-counter").inner_text()
    page.wait_for_timeout(17_000)  # switched off: no advance
    assert page.locator(".pres-counter").inner_text() == dia

    expect(page.locator("#pres-fullscreen")).to_have_text("Volledig scherm", use_inner_text=True)
    page.locator("#pres-fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement === document.documentElement")
    expect(page.locator("#pres-fullscreen")).to_have_text("Scherm verlaten", use_inner_text=True)
    expect(page.locator("#pres-fullscreen")).to_have_attribute("aria-pressed", "true")
    assert _outside_viewport(page, controls) == []
    page.locator("#pres-fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement === null")
    expect(page.locator("#pres-fullscreen")).to_have_text("Volledig scherm", use_inner_text=True)


@pytest.mark.browser
def test_presentation_refuses_another_gemeente(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/presentatie?gemeente=GMD002&dia=2&auto=0")
    expect(page.locator("#pres-slide .refusal")).to_contain_text("geen toegang", timeout=20_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    other = con.execute("SELECT name FROM areas WHERE code = 'GMD002'").fetchall()[0][0]
    assert other not in page.locator("body").inner_text()
