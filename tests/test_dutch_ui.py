"""Fully Dutch (#15, shared components): no English text of a component reaches a user.

The browser test logs in as burgemeester, analist and beheerder on the demo, walks every page in
an English-language Chromium (the components would otherwise follow the browser), opens what
components draw only on demand (chart toolbar, dropdown, date picker, grid filter menu) and fails
on any text from ENGLISH, on UTC/ISO times and on filter JSON keys. Unit tests cover the one time
formatter (Europe/Amsterdam, summer and winter) and the Dutch filter labels.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from playwright.sync_api import expect

from data import protocol
from data.state import StateDB
from layouts import format as fmt

from .conftest import http_login, login
from .test_security_headers import PAGES

# -- the formatter ------------------------------------------------------------------------------


def test_moment_is_amsterdam_time_in_summer_and_winter():
    summer = datetime(2026, 7, 15, 12, 0, 5, tzinfo=timezone.utc)  # CEST, UTC+2
    winter = datetime(2026, 12, 3, 21, 5, 23, 823000, tzinfo=timezone.utc)  # CET, UTC+1
    assert fmt.moment(summer) == "15-07-2026 14:00"
    assert fmt.moment(summer, seconds=True) == "15-07-2026 14:00:05"
    assert fmt.moment(winter, seconds=True) == "03-12-2026 22:05:23"
    # As the state database stores them (ISO text in UTC), and across the date line.
    assert fmt.moment("2026-12-03T21:05:23.823+00:00", seconds=True) == "03-12-2026 22:05:23"
    assert fmt.moment("2026-06-30T22:30:00+00:00") == "01-07-2026 00:30"
    assert fmt.moment("2026-12-31T23:30:00+00:00") == "01-01-2027 00:30"
    # The changes of the clocks: 29 March 2026 01:00 UTC and 25 October 2026 01:00 UTC.
    assert fmt.moment("2026-03-29T00:59:00+00:00") == "29-03-2026 01:59"
    assert fmt.moment("2026-03-29T01:00:00+00:00") == "29-03-2026 03:00"
    assert fmt.moment("2026-10-25T00:30:00+00:00") == "25-10-2026 02:30"
    assert fmt.moment("2026-10-25T01:30:00+00:00") == "25-10-2026 02:30"  # the hour again
    # Other zones are converted too; a time without zone is Dutch wall-clock time already
    # (incident times) and only formatted.
    assert fmt.moment("2026-07-15T08:00:00-04:00") == "15-07-2026 14:00"
    assert fmt.moment("2026-07-15T14:00") == "15-07-2026 14:00"
    assert fmt.moment(None) == "" and fmt.moment("") == "" and fmt.moment("nooit") == "nooit"


def test_filters_read_as_dutch_words():
    logged = ('{"start": "2026-01-01", "end": "2026-03-31", "types": ["1.1.1", "WI"], '
              '"areas": ["GMD001"], "attempt": false, "high_impact": true, "text": "fiets"}')
    assert fmt.filters(logged) == ("Van: 01-01-2026 · Tot en met: 31-03-2026 · Soorten: 1.1.1, "
                                   "WI · Gebieden: GMD001 · Poging: nee · High impact: ja · "
                                   "Zoektekst: fiets")
    assert fmt.filters({"niveau": "gemeente", "periode": ["2025-12-01", "2026-12-01"]}) == (
        "Niveau: gemeente · Periode: 01-12-2025, 01-12-2026")
    assert fmt.filters({"wijzigingen": {"detail": {"oud": 1, "nieuw": 2}}}) == (
        "Wijzigingen: detail (oud: 1, nieuw: 2)")
    assert fmt.filters({}) == "" and fmt.filters("{}") == ""
    assert fmt.filter_value(date(2026, 2, 1)) == "01-02-2026"
    assert fmt.filters({"aantal": 20879, "hic": True}) == "Aantal: 20.879 · Hic: ja"


def test_a_log_row_for_people_and_a_typed_start_date_in_amsterdam_time():
    row = {"id": 7, "at": "2026-07-15T12:00:00.000+00:00", "user": "analist", "role": "analist",
           "scope": '["GMD001", "GMD002"]', "view": "incidenten", "outcome": "refused",
           "filters": '{"start": "2026-01-01", "types": ["WI"]}', "rows": 0}
    shown = protocol.readable(row)
    assert shown["tijd"] == "15-07-2026 14:00:00" and shown["at"] == row["at"]
    assert shown["filters"] == "Van: 01-01-2026 · Soorten: WI"
    assert shown["scope"] == "GMD001, GMD002" and shown["outcome"] == "geweigerd"
    head, line = protocol.to_people_csv([row]).splitlines()
    assert head.startswith("Nr.;Tijd;Gebruiker;") and "15-07-2026 14:00:00" in line
    assert "T12:00" not in line and '"start"' not in line
    # A date typed in the log search is midnight in Amsterdam (CEST: 22:00 UTC the day before).
    assert protocol._utc_since("2026-07-01") == "2026-06-30T22:00:00.000+00:00"
    assert protocol._utc_since("2026-01-01") == "2025-12-31T23:00:00.000+00:00"


# -- every page in the browser ------------------------------------------------------------------

#: English texts of components (Plotly, Leaflet, AG Grid, dcc.Dropdown, the date picker) that
#: must not reach a user, each as a regular expression (case matters: Dutch uses "of", "jan").
ENGLISH = [
    r"Download plot", r"\bZoom (in|out)\b", r"\bAutoscale\b", r"Reset axes", r"\bPan\b",
    r"Box Select", r"Lasso Select", r"Toggle Spike", r"closest data", r"Compare data",
    r"Double-click", r"Produced with", r"\bPage Size\b", r"No Rows To Show", r"\bPage \d",
    r"\d+ to \d+ of \d", r"\b(First|Last|Next|Previous) Page\b", r"\bLoading\b",
    r"Select All", r"\bSearch\b", r"\bselected\b", r"No options", r"\bContains\b",
    r"\bEquals\b", r"\bFilter\.\.\.", r"mm/dd/yyyy", r"yyyy-mm-dd", r"Select Date",
    r"Clear date", r"(Previous|Next) month", r"(Increase|Decrease) value", r"Close calendar",
    r"\b(January|February|March|April|June|July|August|September|October|November|December)\b",
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b",
]
#: Month and weekday abbreviations: checked where only a component writes them (chart axes and
#: hover labels, the date picker), not in user data (a person may be called Jan).
ENGLISH_SHORT = [r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b",
                 r"\b(Mo|Tu|We|Th|Fr|Sa|Su)\b"]
#: Machine formats that people must not be shown: UTC ISO times and filter JSON.
MACHINE = [r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", r"\+0\d:00\b",
           r'"(start|end|types|areas|from|to|type|area|attempt|high_impact)"\s*:']

#: Visible texts and the attributes people see or hear (tooltips, screen-reader names,
#: placeholders), each as [where, text]; "data" for user data (grid cells, dropdown options).
COLLECT = """() => {
  const out = [];
  const skip = e => e.closest('script, style, noscript');
  const where = e => e.closest('.ag-cell, .dash-dropdown-option, [role=option]') ? 'data'
      : e.closest('.xtick, .ytick, .hoverlayer, .dash-datepicker-calendar-container,'
                  + ' .dash-datepicker-calendar') ? 'short' : 'ui';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement, text = node.textContent.trim();
    if (text && parent && !skip(parent)) out.push([where(parent), text]);
  }
  for (const e of document.querySelectorAll('[title], [aria-label], [placeholder], [data-title],'
                                            + ' [alt], [value]')) {
    if (skip(e)) continue;
    for (const a of ['title', 'aria-label', 'placeholder', 'data-title', 'alt']) {
      const v = e.getAttribute(a);
      if (v) out.push([where(e), v]);
    }
    if (e.matches('input[type=text], input:not([type])') && e.value) out.push(['ui', e.value]);
  }
  // A native date field shows the browser's format (mm/dd/yyyy here) in its shadow DOM.
  for (const e of document.querySelectorAll('input[type=date], input[type=datetime-local]')) {
    out.push(['ui', 'mm/dd/yyyy: native date field #' + e.id]);
  }
  return out;
}"""


def english_in(texts: list) -> list[str]:
    """The texts that hold English or a machine format, with the pattern that matched."""
    found = []
    for kind, text in texts:
        checks = MACHINE + ([] if kind == "data" else ENGLISH) + (
            ENGLISH_SHORT if kind == "short" else [])
        found += [f"{pattern} in {text[:120]!r}" for pattern in checks if re.search(pattern, text)]
    return sorted(set(found))


def test_the_checks_find_what_they_look_for():
    """The lists catch the texts of the issue, and not Dutch ones."""
    caught = [("ui", "Download plot as a PNG"), ("ui", "Zoom in"), ("ui", "Autoscale"),
              ("ui", "Page Size:"), ("ui", "1 to 25 of 25"), ("ui", "Page 1 of 1"),
              ("ui", "No Rows To Show"), ("ui", "Select All"), ("ui", "2 selected"),
              ("ui", "mm/dd/yyyy"), ("short", "May 2026"), ("short", "Oct"),
              ("data", "2026-12-03T21:05:23.823+00:00"), ("data", 'Filters {"start": "x"}')]
    assert len(english_in(caught)) >= len(caught)
    assert all(english_in([t]) for t in caught), [t for t in caught if not english_in([t])]
    dutch = [("ui", "Soort of bundel"), ("ui", "1 t/m 25 van 25"), ("ui", "Pagina 1 van 1"),
             ("ui", "Rijen per pagina:"), ("short", "mei 2026"), ("short", "okt"),
             ("ui", "Grafiek downloaden als PNG"), ("ui", "03-12-2026 22:05:23"),
             ("data", "Jan de Vries"), ("ui", "Van: 01-01-2026 · Soorten: WI")]
    assert english_in(dutch) == []


def _open_and_collect(page) -> list:
    """The page's texts, with what components draw on demand opened one after another."""
    texts = page.evaluate(COLLECT)
    graph = page.locator(".js-plotly-plot:has(.modebar-btn)")  # sparklines have no toolbar
    if graph.count():
        graph.first.hover()  # shows the toolbar
        graph.first.locator(".modebar-btn").first.hover()  # and a button's tooltip
        texts += page.evaluate(COLLECT)
    dropdown = page.locator("#page .dash-dropdown:visible")
    if dropdown.count() and dropdown.first.is_enabled():
        dropdown.first.click()
        page.wait_for_timeout(300)
        texts += page.evaluate(COLLECT)
        page.keyboard.press("Escape")
    field = page.locator("input.dash-datepicker-input")
    if field.count():
        field.first.click()
        expect(page.locator(".dash-datepicker-calendar-container, .dash-datepicker-calendar")
               .first).to_be_visible()
        texts += page.evaluate(COLLECT)
        page.keyboard.press("Escape")
    menu = page.locator(".ag-header-cell-filter-button, .ag-header-cell-menu-button")
    if menu.count():
        menu.first.click(force=True)
        page.wait_for_timeout(300)
        texts += page.evaluate(COLLECT)
        page.keyboard.press("Escape")
    return texts


#: A chart on a date axis drawn with the config of the page's charts; its tick labels.
MONTH_TICKS = """async () => {
  const config = document.querySelector('#trends-graph .js-plotly-plot')._context;
  const div = document.createElement('div');
  div.style.width = '900px'; div.style.height = '300px';
  document.body.append(div);
  await Plotly.newPlot(div, [{type: 'bar', y: [1, 2, 3, 4],
      x: ['2026-01-15', '2026-03-15', '2026-05-15', '2026-10-15']}],
      {xaxis: {tickformat: '%b %Y', tickvals: ['2026-01-15', '2026-03-15', '2026-05-15',
                                                '2026-10-15']}},
      {locale: config.locale});
  const ticks = Array.from(div.querySelectorAll('.xtick text')).map(t => t.textContent);
  Plotly.purge(div);
  div.remove();
  return ticks;
}"""

USER_PAGES = {**PAGES, "/mijn-account": "#page h1"}


def _seed_log_row(demo_db) -> str:
    """A protocol-log row at a known summer instant with the filters of an incident export, for
    the beheerder's grid (a view name of its own, so the log search finds just this row)."""
    state = StateDB(demo_db.parent / "appstate.sqlite")
    view = "test/nederlands"
    if not state.query("SELECT 1 FROM protocol_log WHERE view = ?", (view,)):
        with state.transaction() as con:
            con.execute("INSERT INTO protocol_log (at, user, role, scope, view, filters, level,"
                        " rows, client, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        ("2026-07-15T12:00:00.000+00:00", "analist", "analist", '["GMD001"]',
                         view, '{"start": "2026-01-01", "types": ["1.1.1"], "high_impact": true}',
                         3, 10, "127.0.0.1", "refused"))
    return view


@pytest.mark.browser
@pytest.mark.parametrize("user", ["burgemeester", "analist", "beheerder"])
def test_every_page_is_dutch(browser, demo_server, demo_db, user):
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(demo_server.url + "/login")
        found = {"/login": english_in(page.evaluate(COLLECT))}
        login(page, demo_server, user)
        for path, drawn in USER_PAGES.items():
            page.goto(demo_server.url + path)
            if user == "analist" and path == "/incidenten":
                drawn = ".ag-center-cols-container .ag-row"
            if user == "beheerder":  # may see no police data: nothing to draw
                drawn = "#page > *"
            expect(page.locator(drawn).first).to_be_attached(timeout=20_000)
            page.wait_for_load_state("networkidle")
            found[path] = english_in(_open_and_collect(page))
        if user == "analist":  # the grid's pager, and a typed Dutch date that filters
            page.goto(demo_server.url + "/incidenten")
            expect(page.locator(".ag-paging-panel")).to_contain_text(re.compile(r"t/m .* van"))
            page.fill("#incidenten-van", "01-01-2026")
            page.locator("#page h1").click()  # leaving the field is enough, as with any field
            expect(page).to_have_url(re.compile(r"van=2026-01-01"), timeout=20_000)
            expect(page.locator("#incidenten-van")).to_have_value("01-01-2026")
            expect(page.locator("#incidenten-van")).to_have_attribute(
                "aria-label", re.compile(r"^Pleegdatum van .*\(dd-mm-jjjj\)$"))
        if user == "beheerder":  # the log as people read it: Amsterdam time, filters in words
            view = _seed_log_row(demo_db)
            page.goto(demo_server.url + "/beheer")
            page.fill("#log-view", view)
            row = page.locator("#log-grid .ag-center-cols-container .ag-row")
            expect(row).to_have_count(1, timeout=20_000)
            expect(row).to_contain_text("15-07-2026 14:00:00")
            expect(row).to_contain_text("Van: 01-01-2026 · Soorten: 1.1.1 · High impact: ja")
            expect(row).to_contain_text("geweigerd")
            found["/beheer (log)"] = english_in(page.evaluate(COLLECT))
        if user != "beheerder":  # charts: Dutch months on date axes, Dutch toolbar
            page.goto(demo_server.url + "/trends")
            expect(page.locator("#trends-graph g.trace").first).to_be_attached(timeout=20_000)
            ticks = page.locator("#trends-graph .xtick text").evaluate_all(
                "ts => ts.map(t => t.textContent)")
            assert ticks and not english_in([("short", t) for t in ticks]), ticks
            # Month names of a date axis as Plotly writes them, with the charts' own config.
            months = page.evaluate(MONTH_TICKS)
            assert {"mrt 2026", "mei 2026", "okt 2026"} <= set(months), months
            page.locator("#trends-graph").hover()
            titles = page.locator("#trends-graph .modebar-btn").evaluate_all(
                "bs => bs.map(b => b.getAttribute('data-title') || '')")
            assert "Grafiek downloaden als PNG" in titles and "Assen herstellen" in titles, titles
            page.goto(demo_server.url + "/kaart")
            expect(page.locator(".leaflet-control-zoom-in")).to_have_attribute("title", "Inzoomen")
            expect(page.locator(".leaflet-control-zoom-out")).to_have_attribute(
                "aria-label", "Uitzoomen")
        assert {p: f for p, f in found.items() if f} == {}, user
    finally:
        context.close()


def test_log_downloads_are_for_people(demo_server):
    """The Mijn log and protocol CSVs: Dutch titles, Amsterdam time, filters in words."""
    for user, path in [("burgemeester", "/mijn-log.csv"), ("beheerder", "/beheer/protocol.csv")]:
        session = http_login(demo_server, user)
        session.get(demo_server.url + path)  # logged: the second download shows a row at least
        text = session.get(demo_server.url + path).text
        head, *rows = text.lstrip("\ufeff").splitlines()
        assert head == ";".join(protocol.PEOPLE_COLUMNS.values()), head
        assert rows and all(re.match(r"\d+;\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2};", r) for r in rows)
        assert english_in([("data", text)]) == [], path
