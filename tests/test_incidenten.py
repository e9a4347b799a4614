"""The Incidenten page in Debian Chromium against the real server on a 1 M-row demo database:
filter, sort and page through the grid; every number checked against DuckDB directly."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from data.accounts import get_user, set_profile
from data.demo import build_demo
from data.segments import connect as connect_db
from data.state import StateDB
from data.store import Store
from tests.conftest import LiveServer, login, pick

pytestmark = pytest.mark.browser
ROWS = 1_000_000


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("million") / "million.duckdb"
    build_demo(Store(path), incidents=ROWS)
    return path


@pytest.fixture(scope="module")
def big_server(big_db):
    server = LiveServer(big_db)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def con(big_db):
    connection = connect_db(big_db)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def year(con) -> int:
    """The last complete year of the data (the demo's window moves with today's date)."""
    return con.execute("SELECT max(occurred_date) FROM incidents").fetchone()[0].year - 1


def count_text(n: int) -> str:
    return f"{n:,}".replace(",", ".") + " incidenten"


GRID_IDS = """() => [...document.querySelectorAll('.ag-center-cols-container .ag-row')]
    .map(row => [Number(row.getAttribute('row-index')),
                 (row.querySelector(".ag-cell[col-id='id']") || {}).innerText || ''])
    .sort((a, b) => a[0] - b[0]).map(pair => pair[1].trim())"""


def first_ids(page, expected: list[str], timeout: float = 20) -> list[str]:
    """The registration numbers of the grid's first rows, in row order, once they equal
    ``expected`` (the grid redraws after a filter, and AG Grid fills cells after it attaches
    a row), or as they stand after ``timeout`` seconds; read in one pass in the page."""
    deadline = time.monotonic() + timeout
    while True:
        shown = page.evaluate(GRID_IDS)[:len(expected)]
        if shown == expected or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(100)


def direct(con, where: str, params=(), order="occurred_at DESC, id DESC", limit=10, offset=0):
    return [r[0] for r in con.execute(
        f"SELECT id FROM incidents WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        list(params)).fetchall()]


def test_analist_filters_sorts_and_pages_a_million_rows(page, big_server, con, year):
    assert con.execute("SELECT count(*) FROM incidents").fetchall()[0][0] == ROWS
    login(page, big_server, "analist")
    page.goto(big_server.url + "/incidenten")
    expect(page.locator("#incidenten-count")).to_have_text(count_text(ROWS), timeout=30_000)
    expected = direct(con, "true")
    assert first_ids(page, expected) == expected
    # The grid learns the total from the separate count: its pager shows all pages.
    expect(page.locator(".ag-paging-panel")).to_contain_text("van 1.000.000", timeout=20_000)
    expect(page.locator(".ag-paging-panel")).to_contain_text("Pagina 1 van 10.000")

    # Filter: residential burglary in the last complete year, attempts only.
    pick(page, "#incidenten-type", "Woninginbraak")
    page.keyboard.press("Escape")
    page.fill("#incidenten-van", f"01-01-{year}")  # as people type it (dd-mm-jjjj)
    page.fill("#incidenten-tot", f"31-12-{year}")
    page.locator("#incidenten-tot").press("Enter")
    page.get_by_label("Poging", exact=True).check()
    where = (f"type_code = '1.1.1' AND attempt AND occurred_date BETWEEN DATE '{year}-01-01'"
             f" AND DATE '{year}-12-31'")
    expected = con.execute(f"SELECT count(*) FROM incidents WHERE {where}").fetchall()[0][0]
    assert 100 < expected < 50_000
    expect(page.locator("#incidenten-count")).to_have_text(count_text(expected), timeout=20_000)
    expected = direct(con, where)
    assert first_ids(page, expected) == expected
    assert re.search(r"type=woninginbraak", page.url) and f"van={year}-01-01" in page.url

    # Sort: oldest first by clicking the Pleegdatum header (descending -> ascending).
    page.locator(".ag-header-cell[col-id='pleegdatum'] .ag-header-cell-label").click()
    page.wait_for_timeout(300)
    expect(page.locator(".ag-header-cell[col-id='pleegdatum']")).to_have_attribute(
        "aria-sort", "ascending", timeout=10_000)
    page.wait_for_function(
        f"() => document.querySelector(\".ag-row[row-index='0'] .ag-cell[col-id='id']\")?.innerText"
        f" === '{direct(con, where, order='occurred_at ASC, id ASC', limit=1)[0]}'",
        timeout=20_000)
    expected = direct(con, where, order="occurred_at ASC, id ASC")
    assert first_ids(page, expected) == expected

    # Page: the second page holds rows 101-110 of the same order.
    page.locator(".ag-paging-button[aria-label='Volgende pagina']").click()
    expected_next = direct(con, where, order="occurred_at ASC, id ASC", offset=100)
    page.wait_for_function(
        f"() => document.querySelector(\".ag-row[row-index='100'] .ag-cell[col-id='id']\")"
        f"?.innerText === '{expected_next[0]}'", timeout=20_000)
    assert first_ids(page, expected_next) == expected_next


def test_permalink_reproduces_the_view(page, big_server, con):
    buurt = con.execute("SELECT bu_code FROM incidents GROUP BY 1 ORDER BY count(*) DESC"
                        " LIMIT 1").fetchall()[0][0]
    login(page, big_server, "analist")
    page.goto(f"{big_server.url}/incidenten?gebied={buurt}&type=geweld&hic=ja")
    where = ("bu_code = ? AND type_code IN ('1.4.1','1.4.2','1.4.3','1.4.4','1.4.5')"
             " AND high_impact")
    expected = con.execute(f"SELECT count(*) FROM incidents WHERE {where}", [buurt]).fetchall()[0][0]
    assert expected > 10
    expect(page.locator("#incidenten-count")).to_have_text(count_text(expected), timeout=30_000)
    expected = direct(con, where, [buurt])
    assert first_ids(page, expected) == expected
    expect(page.locator("#incidenten-hic input")).to_be_checked()


def test_detail_one_mayor_gets_no_table(page, big_server):
    login(page, big_server, "burgemeester")
    page.goto(big_server.url + "/incidenten")
    expect(page.locator("#incidenten-geen-toegang")).to_contain_text("detailniveau 1")
    expect(page.locator("#incidenten-grid")).to_have_count(0)


def test_detail_two_mayor_sees_own_rows_without_address(page, big_server, big_db, con):
    state = StateDB(big_db.parent / "appstate.sqlite")
    login(page, big_server, "burgemeester2")  # the demo accounts exist from here on
    own = get_user(state, "burgemeester2").gemeenten[0]
    set_profile(state, own, by="test", detail=2)
    try:
        page.goto(big_server.url + "/incidenten")
        expected = con.execute("SELECT count(*) FROM incidents WHERE gm_code = ?",
                               [own]).fetchall()[0][0]
        expect(page.locator("#incidenten-count")).to_have_text(count_text(expected),
                                                               timeout=30_000)
        expected = direct(con, "gm_code = ?", [own])
        assert first_ids(page, expected) == expected
        headers = page.locator(".ag-header-cell").evaluate_all(
            "cells => cells.map(c => c.getAttribute('col-id'))")
        assert "buurt" in headers
        assert not {"straat", "huisnummer", "pc6", "mo", "samenvatting"} & set(headers)
        expect(page.locator("#incidenten-zoek")).to_be_disabled()
        name = con.execute("SELECT name FROM areas WHERE code = ?", [own]).fetchall()[0][0]
        gemeenten = page.locator(".ag-center-cols-container .ag-cell[col-id='gemeente']")
        assert set(gemeenten.all_inner_texts()) == {name}
        # A link to another gemeente's buurt is refused, not widened.
        other = con.execute("SELECT code FROM areas WHERE level = 'buurt' AND gm_code <> ?"
                            " LIMIT 1", [own]).fetchall()[0][0]
        page.goto(f"{big_server.url}/incidenten?gebied={other}")
        expect(page.locator("#incidenten-geen-toegang .refusal")).to_contain_text(
            "geen toegang", ignore_case=True)
        expect(page.locator("#incidenten-grid")).to_have_count(0)
    finally:
        set_profile(state, own, by="test", detail=1)


def test_clicking_a_buurt_on_the_map_opens_its_incidents(page, big_server, con):
    wijk = con.execute("SELECT wk_code FROM incidents GROUP BY 1 ORDER BY count(*) DESC"
                       " LIMIT 1").fetchall()[0][0]
    login(page, big_server, "analist")
    page.goto(f"{big_server.url}/kaart?niveau=buurt&gebied={wijk}&type=woninginbraak&periode=12m")
    expect(page.locator("#kaart-panel tbody tr").first).to_be_visible(timeout=30_000)
    buurt = page.locator("#kaart-panel tbody tr").first.get_attribute("data-code")
    page.locator(f"path.vb-area-{buurt}").dispatch_event("click")
    page.wait_for_url(re.compile(r".*/incidenten\?.*"), timeout=20_000)
    params = dict(p.split("=", 1) for p in page.url.split("?", 1)[1].split("&"))
    assert params["gebied"] == buurt and params["type"] == "woninginbraak"
    where = "bu_code = ? AND type_code = '1.1.1' AND occurred_date BETWEEN ? AND ?"
    args = [buurt, params["van"], params["tot"]]
    expected = con.execute(f"SELECT count(*) FROM incidents WHERE {where}", args).fetchall()[0][0]
    expect(page.locator("#incidenten-count")).to_have_text(count_text(expected), timeout=30_000)
    if expected:
        expected = direct(con, where, args)[:10]
        assert first_ids(page, expected) == expected


def test_export_links_download_exactly_the_filtered_rows(page, big_server, con, year, tmp_path):
    import csv
    import io

    import openpyxl

    login(page, big_server, "analist")
    page.goto(f"{big_server.url}/incidenten?type=woninginbraak&van={year}-03-01"
              f"&tot={year}-05-31")
    where = (f"type_code = '1.1.1' AND occurred_date BETWEEN DATE '{year}-03-01'"
             f" AND DATE '{year}-05-31'")
    expected = direct(con, where, limit=10**9)
    assert 0 < len(expected) < 100_000
    expect(page.locator("#incidenten-count")).to_have_text(count_text(len(expected)),
                                                           timeout=30_000)
    with page.expect_download(timeout=60_000) as info:
        page.locator("#incidenten-export-csv").click()
    text = (tmp_path / "export.csv")
    info.value.save_as(text)
    first, *rows = list(csv.reader(io.StringIO(text.read_text(encoding="utf-8-sig")),
                                   delimiter=";"))
    assert first[0].startswith("# Veiligheidsbeeld export") and "analist" in first[0]
    assert rows[0][:2] == ["Registratienummer", "Pleegdatum"] and "Straat" in rows[0]
    assert [r[0] for r in rows[1:]] == expected
    expect(page.locator("#incidenten-export-status")).to_contain_text(
        f"klaar: {len(expected):,}".replace(",", "."), timeout=20_000)

    with page.expect_download(timeout=60_000) as info:
        page.locator("#incidenten-export-xlsx").click()
    book = tmp_path / "export.xlsx"
    info.value.save_as(book)
    sheet = openpyxl.load_workbook(book, read_only=True)["Incidenten"]
    ids = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == expected

    # Too many rows for Excel: the refusal appears on the page, which stays.
    page.goto(f"{big_server.url}/incidenten")
    expect(page.locator("#incidenten-count")).to_have_text(count_text(ROWS), timeout=30_000)
    page.locator("#incidenten-export-xlsx").click()
    expect(page.locator("#incidenten-export-status")).to_contain_text("CSV", timeout=20_000)
    expect(page.locator("#incidenten-grid")).to_be_visible()
