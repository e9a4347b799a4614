"""The Kaart page as a mayor's way to an answer (#15): the start at the own wijken, the search
(scoped, PC6 and addresses at detail level 3 only, logged), the highlighted result, keyboard
drill-down, the classes the browser draws, the panel at 1366x768 and the scale bar. Queries on
a copy of the demo database; the page in Debian's Chromium against a real gunicorn server."""
from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from callbacks.kaart_values import class_breaks
from data.queries import map as q
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db

from .conftest import dash_callback, http_login, login, state_rows
from .test_kaart import CHOROPLETH, _search, _wait_for_panel

MAYOR = Scope(frozenset({"GMD001"}), 1, "Havenstad")
UNIT = Scope(frozenset({"GMD001", "GMD002", "GMD003", "GMD004"}), 3, "Eenheid")


@pytest.fixture(scope="module")
def con(demo_db, tmp_path_factory):
    copy = tmp_path_factory.mktemp("kaart-mayor") / "demo.duckdb"
    shutil.copyfile(demo_db, copy)
    connection = connect_db(copy)
    yield connection
    connection.close()


def _one(con, sql, params=()):
    return con.execute(sql, list(params)).fetchall()[0]


# -- search: the query layer -----------------------------------------------------------------------

def test_search_finds_areas_in_scope_only(con):
    buurt, name, wijk = _one(con, "SELECT code, name, parent_code FROM areas WHERE level = 'buurt'"
                                  " AND gm_code = 'GMD001' ORDER BY code LIMIT 1")
    found = q.search_areas(con, scope=MAYOR, text=name[:-1].upper())  # part of it, any case
    assert (buurt, "buurt") in {(r["code"], r["level"]) for r in found}
    hit = next(r for r in found if r["code"] == buurt)
    assert hit["parent_code"] == wijk and hit["gemeente"] and hit["parent"]
    # A name that exists only in another gemeente: the unit finds it, the mayor nothing of it.
    other, other_name = _one(con, """
        SELECT code, name FROM areas a WHERE level IN ('wijk', 'buurt') AND gm_code = 'GMD002'
          AND NOT EXISTS (SELECT 1 FROM areas b WHERE b.gm_code = 'GMD001'
                          AND contains(lower(b.name), lower(a.name)))
        ORDER BY code LIMIT 1""")
    assert other in {r["code"] for r in q.search_areas(con, scope=UNIT, text=other_name)}
    assert all(r["gm_code"] == "GMD001" for r in q.search_areas(con, scope=MAYOR, text=other_name))
    assert q.search_areas(con, scope=MAYOR, text="WKD002") == []  # codes of GMD002's wijken
    # The mayor's every result lies in the own gemeente, whatever is typed.
    for text in ("a", "e", "WK", "BU", "01", "0", "%", "_", "'", "Havenstad"):
        assert all(r["gm_code"] == "GMD001" for r in q.search_areas(con, scope=MAYOR, text=text))
    with pytest.raises(OutOfScope):
        q.search_areas(con, scope=Scope(), text="Havenstad")


def test_pc6_and_addresses_are_searched_at_detail_level_3_only(con):
    """Below detail level 3 a PC6 (or a street that names PC6 areas) never comes back: the PC6
    level is not searched, a typed PC6 finds its PC4, and the address search refuses before
    any SQL. Without the rule these assertions fail."""
    pc6, pc4, street = _one(con, "SELECT code, parent_code, name FROM areas WHERE level = 'pc6'"
                                 " AND gm_code = 'GMD001' ORDER BY code LIMIT 1")
    typed = f"{pc6[:4]} {pc6[4:].lower()}"
    address, number, in_pc6 = _one(con, """
        SELECT street, house_number, pc6 FROM incidents WHERE gm_code = 'GMD001'
          AND street IS NOT NULL AND house_number IS NOT NULL AND pc6 IN
              (SELECT code FROM areas WHERE level = 'pc6') ORDER BY id LIMIT 1""")
    detail3 = Scope(MAYOR.gemeenten, 3, "Havenstad")
    assert [(r["code"], r["level"]) for r in q.search_areas(con, scope=detail3, text=typed)] == [
        (pc6, "pc6")]
    assert pc6 in {r["code"] for r in q.search_areas(con, scope=detail3, text=street)}
    found = q.search_addresses(con, scope=detail3, text=f"{address} {number}")
    assert (f"{address} {number}", in_pc6) in {(r["name"], r["code"]) for r in found}
    for detail in (1, 2):
        scope = Scope(MAYOR.gemeenten, detail, "Havenstad")
        assert [(r["code"], r["level"]) for r in q.search_areas(con, scope=scope, text=typed)] == [
            (pc4, "pc4")]
        assert not [r for r in q.search_areas(con, scope=scope, text=street)
                    if r["level"] == "pc6"]
        assert not [r for r in q.search_areas(con, scope=scope, text=pc6[:4])
                    if r["level"] == "pc6"]
        with pytest.raises(OutOfScope):  # con=None: reaching SQL would be an AttributeError
            q.search_addresses(None, scope=scope, text=f"{address} {number}")
    assert q.needs_detail_3(typed) and q.needs_detail_3(f"{address} {number}")
    assert not q.needs_detail_3("Centrum")


def test_search_callback_is_scoped_and_logged(demo_server, demo_db, con):
    """The page's search as the browser posts it: a mayor's PC6 gets the PC4 and the
    explanation, never a PC6 link; every search is a protocol row 'kaart/zoeken'."""
    pc6 = _one(con, "SELECT code FROM areas WHERE level = 'pc6' AND gm_code = 'GMD001'"
                    " ORDER BY code LIMIT 1")[0]
    session = http_login(demo_server, "burgemeester")
    before = state_rows(demo_db, "SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
    response = dash_callback(session, demo_server, "kaart-zoek-resultaten.children",
                             {"kaart-zoek.value": pc6, "kaart-filters.data": {
                                 "group": "woninginbraak", "period": "12m", "measure": "count"}},
                             trigger="kaart-zoek.value")
    assert response.status_code == 200
    text = response.text
    assert f"niveau=pc4&gebied=GMD001&type=woninginbraak&periode=12m&maat=count&markeer={pc6[:4]}" \
        in text.replace("\\u0026", "&")
    assert "niveau=pc6" not in text and "detailniveau 3" in text
    response = dash_callback(session, demo_server, "kaart-zoek-resultaten.children",
                             {"kaart-zoek.value": "WKD002"}, trigger="kaart-zoek.value")
    assert "markeer=" not in response.text  # no link to another gemeente's wijk
    assert "Geen gebied gevonden" in response.text
    rows = state_rows(demo_db, "SELECT user, view, outcome, rows, filters FROM protocol_log"
                               " WHERE id > ? ORDER BY id", [before])
    assert [(r[0], r[1], r[2]) for r in rows] == [("burgemeester", "kaart/zoeken", "ok")] * 2
    assert rows[0][3] == 1 and pc6 in rows[0][4] and rows[1][3] == 0


# -- the page ---------------------------------------------------------------------------------------

@pytest.mark.browser
def test_a_mayor_starts_at_the_own_wijken_per_1000_and_links_still_win(page, demo_server, con):
    wijken = _one(con, "SELECT count(*) FROM areas WHERE level = 'wijk' AND gm_code = 'GMD001'")[0]
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart")
    _wait_for_panel(page, "Wijken in Havenstad")
    expect(page.locator(CHOROPLETH)).to_have_count(wijken, timeout=20_000)
    assert _search(page) == {"niveau": "wijk", "gebied": "GMD001", "type": "alle_misdrijven",
                             "periode": "12m", "maat": "per_1000"}
    expect(page.locator("#kaart-panel thead")).to_contain_text("Per 1.000 inwoners")
    crumb = page.locator("#kaart-breadcrumb")
    expect(crumb).to_have_text(re.compile(r"^Havenstad\s*›\s*Wijken$"))
    expect(crumb.locator("a")).to_have_text(["Havenstad"])
    # The Niveau and Maat choices say so too.
    assert page.locator("#kaart-niveau").inner_text().strip() == "Wijken"
    assert page.locator("#kaart-maat").inner_text().strip() == "Per 1.000 inwoners"
    # Explicit choices in a link win; the crumb is never "Gemeenten › Gemeenten".
    page.goto(demo_server.url + "/kaart?niveau=gemeente&maat=count")
    _wait_for_panel(page, "Gemeenten")
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)
    assert _search(page)["maat"] == "count" and _search(page)["niveau"] == "gemeente"
    expect(crumb).to_have_text("Havenstad")
    page.goto(demo_server.url + "/kaart?maat=change")
    _wait_for_panel(page, "Verandering")
    assert _search(page)["niveau"] == "wijk" and _search(page)["maat"] == "change"
    # The crumb leads up to the gemeente and back down to the wijken.
    wijk = page.locator("#kaart-panel tbody tr").first.get_attribute("data-code")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied={wijk}")
    _wait_for_panel(page, "Buurten in")
    expect(crumb.locator("a")).to_have_text(["Havenstad", "Wijken"])
    crumb.locator("a", has_text="Wijken").click()
    _wait_for_panel(page, "Wijken in Havenstad")
    crumb.locator("a", has_text="Havenstad").click()
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)
    assert "Gemeenten" not in crumb.inner_text()


def _marked(page) -> str | None:
    return page.evaluate("window.vb.highlight")


def _in_view(page, code) -> bool:
    """Whether the area's path lies inside the visible map (it was zoomed to)."""
    return page.evaluate("""(code) => {
        const path = document.querySelector('path.vb-area-' + code).getBoundingClientRect();
        const map = document.querySelector('#kaart-map').getBoundingClientRect();
        return path.width > 30 && path.left >= map.left - 1 && path.right <= map.right + 1
            && path.top >= map.top - 1 && path.bottom <= map.bottom + 1;
    }""", code)


@pytest.mark.browser
def test_search_opens_the_area_highlighted_and_zoomed(page, demo_server, demo_db, con):
    buurt, name, wijk = _one(con, """
        SELECT code, name, parent_code FROM areas a WHERE level = 'buurt' AND gm_code = 'GMD001'
          AND (SELECT count(*) FROM areas b WHERE b.gm_code = 'GMD001'
               AND contains(lower(b.name), lower(a.name))) = 1
        ORDER BY code DESC LIMIT 1""")
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart")
    _wait_for_panel(page, "Wijken in Havenstad")
    box = page.locator("#kaart-zoek")
    box.fill(name.lower())
    result = page.locator("#kaart-zoek-resultaten a")
    expect(result).to_have_count(1, timeout=10_000)
    expect(result).to_contain_text(name)
    result.click()
    _wait_for_panel(page, "Buurten in")
    assert _search(page)["niveau"] == "buurt" and _search(page)["gebied"] == wijk
    assert _search(page)["markeer"] == buurt and _search(page)["maat"] == "per_1000"
    expect(page.locator("#kaart-zoek-resultaten")).to_be_hidden()
    path = page.locator(f"path.vb-area-{buurt}")
    expect(path).to_have_attribute("stroke-width", "4", timeout=20_000)
    assert _marked(page) == buurt
    page.wait_for_function(
        "(code) => { const p = document.querySelector('path.vb-area-' + code);"
        " return p && p.getBoundingClientRect().width > 30; }", arg=buurt, timeout=10_000)
    assert _in_view(page, buurt)
    # Another measure keeps the highlight; a link with an area outside the scope is refused.
    page.goto(page.url.replace("maat=per_1000", "maat=count"))
    _wait_for_panel(page, "Buurten in")
    expect(path).to_have_attribute("stroke-width", "4", timeout=20_000)
    page.goto(demo_server.url + f"/kaart?niveau=buurt&gebied={wijk}&markeer=BUD0020101")
    expect(page.locator("#kaart-message")).to_contain_text("geen toegang", ignore_case=True,
                                                           timeout=20_000)
    # Enter opens the first result: a PC4 typed as a PC6 (the mayor's detail level 1).
    pc6 = _one(con, "SELECT code FROM areas WHERE level = 'pc6' AND gm_code = 'GMD001'"
                    " ORDER BY code LIMIT 1")[0]
    page.goto(demo_server.url + "/kaart")
    _wait_for_panel(page, "Wijken in Havenstad")
    box.fill(pc6)
    expect(page.locator("#kaart-zoek-resultaten")).to_contain_text("detailniveau 3",
                                                                   timeout=10_000)
    box.press("Enter")
    _wait_for_panel(page, "Postcode (PC4)")
    assert _search(page)["niveau"] == "pc4" and _search(page)["markeer"] == pc6[:4]
    expect(page.locator(f"path.vb-area-{pc6[:4]}")).to_have_attribute("stroke-width", "4",
                                                                       timeout=20_000)
    logged = state_rows(demo_db, "SELECT count(*) FROM protocol_log WHERE user = 'burgemeester'"
                                 " AND view = 'kaart/zoeken'")[0][0]
    assert logged >= 2


@pytest.mark.browser
def test_a_teamchef_finds_an_address_and_lands_on_its_pc6(page, demo_server, con):
    street, number, pc6, pc4 = _one(con, """
        SELECT i.street, i.house_number, i.pc6, a.parent_code FROM incidents i
        JOIN areas a ON a.code = i.pc6 AND a.level = 'pc6'
        WHERE i.gm_code = 'GMD001' AND i.street IS NOT NULL AND i.house_number IS NOT NULL
        ORDER BY i.id LIMIT 1""")
    login(page, demo_server, "teamchef")
    page.goto(demo_server.url + "/kaart")
    _wait_for_panel(page)
    page.locator("#kaart-zoek").fill(f"{street} {number}")
    result = page.locator("#kaart-zoek-resultaten a", has_text=f"{street} {number}").filter(
        has_text=pc6)
    expect(result.first).to_be_visible(timeout=10_000)
    result.first.click()
    _wait_for_panel(page, "Postcode (PC6)")
    assert _search(page)["niveau"] == "pc6" and _search(page)["gebied"] == pc4
    assert _search(page)["markeer"] == pc6
    expect(page.locator(f"path.vb-area-{pc6}")).to_have_attribute("stroke-width", "4",
                                                                  timeout=20_000)


def _tab_to_area(page, most: int = 120) -> str:
    """Press Tab until an area of the map has the focus; its class names."""
    for _ in range(most):
        page.keyboard.press("Tab")
        classes = page.evaluate("document.activeElement.getAttribute('class') || ''")
        if "vb-area-" in classes:
            return classes
    raise AssertionError("Tab never reached an area of the map")


@pytest.mark.browser
def test_keyboard_only_from_gemeente_to_wijk_to_buurt(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart?niveau=gemeente")
    _wait_for_panel(page, "Gemeenten")
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)
    page.locator("body").focus()
    classes = _tab_to_area(page)
    assert "vb-area-GMD001" in classes
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label.startswith("Havenstad (GMD001)") and "Per 1.000 inwoners" in label
    expect(page.locator(".leaflet-tooltip")).to_contain_text("Havenstad")  # shown on focus
    page.keyboard.press("Enter")
    wijken = _one(con, "SELECT count(*) FROM areas WHERE level = 'wijk' AND gm_code = 'GMD001'")[0]
    expect(page.locator(CHOROPLETH)).to_have_count(wijken, timeout=20_000)
    _wait_for_panel(page, "Wijken in Havenstad")
    classes = _tab_to_area(page)
    wijk = re.search(r"vb-area-(\S+)", classes).group(1)
    page.keyboard.press(" ")  # Space opens too
    expect(page).to_have_url(re.compile(rf"niveau=buurt&gebied={wijk}&"), timeout=20_000)
    name = _one(con, "SELECT name FROM areas WHERE code = ?", [wijk])[0]
    _wait_for_panel(page, f"Buurten in {name}")
    buurten = _one(con, "SELECT count(*) FROM areas WHERE level = 'buurt' AND parent_code = ?",
                   [wijk])[0]
    expect(page.locator(CHOROPLETH)).to_have_count(buurten, timeout=20_000)


def _rgb(color: str) -> str:
    color = color.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (0, 2, 4)))


@pytest.mark.browser
@pytest.mark.parametrize("measure", ["per_1000", "change"])
def test_the_browser_draws_the_classes_the_legend_names(page, demo_server, measure):
    """Each area's colour is its class by the Python rule (callbacks/kaart_values.Classes) and
    the legend lists exactly the used classes' texts: the browser classifies as the server."""
    login(page, demo_server, "burgemeester")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied=GMD001&type=woninginbraak"
              f"&maat={measure}")
    _wait_for_panel(page)
    page.wait_for_function("window.vb && window.vb.hideout && window.vb.hideout.values"
                           " && Object.keys(window.vb.hideout.values).length > 20")
    values = page.evaluate("window.vb.hideout.values")
    classes = class_breaks(list(values.values()), measure)
    drawn = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        'path.vb-area')].map(p => [[...p.classList].find(c => c.startsWith('vb-area-'))
        .slice(8), getComputedStyle(p).fill]))""")
    assert set(values) <= set(drawn)
    for code, value in values.items():
        assert drawn[code] == _rgb(classes.colors[classes.index(value)]), (code, value)
    legend = page.locator("#kaart-legend .kaart-legend-item").all_inner_texts()
    assert [t.strip() for t in legend] == [label for _, label in classes.legend(values.values())
                                           ] + ["geen gegevens"]
    if measure == "change":
        assert not any(re.search(r"-[1-9][0-9]{2}", t) for t in legend)  # nothing below -100%
        assert any("daling" in t for t in legend) and any("stijging" in t for t in legend)


@pytest.mark.browser
def test_panel_fits_at_1366_and_ranks_within_the_list(page, demo_server):
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, demo_server, "teamchef")
    for view in ("niveau=wijk&gebied=GMD001&maat=change", "niveau=buurt&gebied=GMD001&maat=change",
                 "niveau=pc6&gebied=GMD001&maat=change", "niveau=buurt&gebied=GMD001&maat=per_1000"):
        page.goto(f"{demo_server.url}/kaart?{view}")
        _wait_for_panel(page)
        # areas drawn: SVG paths, or on canvas above vb.CANVAS_ABOVE (the 2,143 PC6 of GMD001)
        page.wait_for_function("window.vb.layers.some(l => l._map)", timeout=30_000)
        fit = page.evaluate("""() => {
            const wrap = document.querySelector('.kaart-table-wrap');
            const card = document.querySelector('#kaart-panel-col .card').getBoundingClientRect();
            const heads = [...wrap.querySelectorAll('th')].map(th => th.getBoundingClientRect());
            return {scroll: wrap.scrollWidth, client: wrap.clientWidth,
                    right: Math.max(...heads.map(h => h.right)), card: card.right};
        }""")
        assert fit["scroll"] <= fit["client"] + 1 and fit["right"] <= fit["card"], (view, fit)
        header = page.locator("#kaart-panel thead th").all_inner_texts()
        assert header[-1].replace("\n", " ").startswith("Rang (van ")
        ranks = [int(r.locator("td").last.inner_text()) for r in
                 page.locator("#kaart-panel tbody tr").all()
                 if r.locator("td").last.inner_text() != "–"]
        assert ranks[0] == 1 and ranks == sorted(ranks), view  # the list's own order
        ranked = int(re.search(r"van ([0-9.]+)", header[-1].replace("\n", " ")).group(1)
                     .replace(".", ""))
        assert ranks[-1] <= ranked
    # the incident switch says why it cannot be used here, and is usable below
    page.goto(f"{demo_server.url}/kaart?niveau=wijk&gebied=GMD001")
    _wait_for_panel(page, "Wijken")
    expect(page.locator("#kaart-punten")).to_be_disabled(timeout=20_000)
    expect(page.locator("#kaart-punten-message")).to_contain_text("niveau Buurten of Postcode (PC6)")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied=GMD001")
    _wait_for_panel(page, "Buurten")
    expect(page.locator("#kaart-punten")).to_be_enabled(timeout=20_000)
    expect(page.locator("#kaart-punten-message")).to_have_text("")
    # Leaflet's metric scale bar
    expect(page.locator(".leaflet-control-scale-line")).to_have_count(1)
    assert re.fullmatch(r"\d+ (m|km)", page.locator(".leaflet-control-scale-line").inner_text())
