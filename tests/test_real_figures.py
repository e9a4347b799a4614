"""Real data end to end (issue 14): a database built from ../shared/data only — eenheden,
gemeenten and PC4 boundaries, the lookup, the population, the PC4 woninginbraak file and the
CBS/Politie 83648NED gemeente totals of 2010-2020, written into tmp_path in CBS's own
TypedDataSet layout — shows the source's numbers for Amsterdam and Rotterdam, and "geen
gegevens" (API: null with a reason) where the source has none, never 0.

Every expected number is read from the source files with the csv module, not through the query
layer. Checked in the query layer (``data.queries.coverage``, trends), the API and Chromium
against a real gunicorn server. Skips when ../shared/data is absent."""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

import pytest
import requests
from playwright.sync_api import expect

from data.importers import run_import
from data.periods import Period
from data.queries import coverage, trends
from data.scope import Scope
from data.store import Store
from data.tokens import create_token

from .conftest import LiveServer, import_real, login
from .test_import_cbs import _write_typed

CBS_FILE = "crime_gemeente_total_2010_2020_83648NED.csv"
PC4_FILE = "pc4_woninginbraak_monthly_misdaadinkaart.csv"
AMSTERDAM, ROTTERDAM = "GM0363", "GM0599"
PASSWORD = "een-lang-wachtwoord"
MAYORS = {AMSTERDAM: "burgemeester-amsterdam", ROTTERDAM: "burgemeester-rotterdam"}


# -- the sources, read directly ------------------------------------------------------------------

@pytest.fixture(scope="module")
def cbs(shared_data) -> dict:
    """{(gemeente, year): registered crimes} of the 83648NED file."""
    with open(shared_data / CBS_FILE, encoding="utf-8") as fh:
        return {(r["gm_code"], int(r["year"])): int(r["registered_crimes"])
                for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def pc4_file(shared_data) -> dict:
    """{(pc4, month): woninginbraken (completed and attempted)} of the PC4 file."""
    out: dict = defaultdict(int)
    with open(shared_data / PC4_FILE, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out[(r["pc4"].zfill(4), date.fromisoformat(r["month"] + "-01"))] += int(r["incidents"])
    return out


# -- the database ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_db(shared_data, tmp_path_factory) -> Store:
    from data.accounts import add_user
    from data.state import StateDB

    folder = tmp_path_factory.mktemp("realfigures")
    store = Store(folder / "real.duckdb")
    import_real(store, shared_data, folder, files=(
        ("gemeente_2025_regio_lookup.csv", "lookup"),
        ("population_gemeente_2022_2024.csv", "population"), (PC4_FILE, "counts")))
    with open(shared_data / CBS_FILE, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    typed = folder / "83648NED_TypedDataSet.csv"
    _write_typed(typed, rows)
    run_import(store, "counts", typed)
    state = StateDB(folder / "appstate.sqlite")
    for code, name in MAYORS.items():
        add_user(state, name, "burgemeester", PASSWORD, gemeenten=[code])
    return store


@pytest.fixture(scope="module")
def con(real_db):
    return real_db.read()


def _pc4_codes(con, gemeente: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'pc4' AND gm_code = ?", [gemeente]).fetchall()]


def _year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y + 1, 1, 1))


# -- query layer -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [AMSTERDAM, ROTTERDAM])
def test_every_cbs_year_is_the_files_number_and_other_years_have_none(con, cbs, code):
    scope = Scope(frozenset({code}), 1)
    years = list(range(2008, 2026))
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=[code],
                                     indicator="alle_misdrijven", periods=[_year(y) for y in years])
    for y in years:
        cell = cells[(code, _year(y))]
        if (code, y) in cbs:
            assert (cell.value, cell.source) == (cbs[(code, y)], "83648NED_TypedDataSet.csv"), y
        else:  # 2008, 2009, 2021-2025: no source has the total
            assert cell.value is None and cell.reason == f"geen gegevens voor {y}", (y, cell)
    assert sum((code, y) in cbs for y in years) == 11


@pytest.mark.parametrize("code", [AMSTERDAM, ROTTERDAM])
def test_woninginbraak_per_year_is_the_pc4_file_summed_and_its_partial_months_are_not(
        con, pc4_file, code):
    scope = Scope(frozenset({code}), 1)
    pc4s = set(_pc4_codes(con, code))
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=[code], indicator="woninginbraak",
                                     periods=[_year(2023), _year(2024), _year(2025), _year(2026)])
    expected = sum(n for (pc4, month), n in pc4_file.items()
                   if pc4 in pc4s and month.year == 2024)
    assert expected > 500
    assert cells[(code, _year(2024))].value == expected
    assert cells[(code, _year(2024))].derived == "som van postcodegebieden (PC4)"
    # the file starts in April 2023 and ends with a partial June 2026: no whole year there
    for y in (2023, 2026):
        assert cells[(code, _year(y))].value is None
    # all misdrijven in 2024: the PC4 file is woninginbraak only
    total = coverage.gemeente_counts(con, scope=scope, gemeenten=[code],
                                     indicator="alle_misdrijven", periods=[_year(2024)])
    assert total[(code, _year(2024))].value is None


def test_trends_per_year_show_the_cbs_years(con, cbs):
    scope = Scope(frozenset({AMSTERDAM}), 1)
    result = trends.trend(con, scope=scope, gemeenten=[AMSTERDAM], indicator="alle_misdrijven",
                          grain="jaar")
    shown = {row.start.year: row["count"] for _, row in result.series.iterrows()}
    assert {y: n for y, n in shown.items() if n is not None} == \
        {y: n for (gm, y), n in cbs.items() if gm == AMSTERDAM}
    assert "83648NED" in result.note
    # the year before is there from 2011 on
    row2015 = result.series[result.series["start"] == date(2015, 1, 1)].iloc[0]
    assert row2015["previous"] == cbs[(AMSTERDAM, 2014)]


# -- the API -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(real_db):
    server = LiveServer(real_db.path, env={"DASHBOARD_SECRET_KEY": "test-" + "x" * 40})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tokens(real_db):
    from data.state import StateDB

    state = StateDB(real_db.path.parent / "appstate.sqlite")
    return {code: create_token(state, name, label="test", by=name)[1] for code, name in MAYORS.items()}


def _counts(server, token, **params):
    return requests.get(server.url + "/api/v1/counts", params=params,
                        headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.mark.parametrize("code", [AMSTERDAM, ROTTERDAM])
def test_api_counts_per_year_are_the_files_and_no_data_is_null_with_a_reason(
        server, tokens, cbs, code):
    for year in (2010, 2015, 2020):
        body = _counts(server, tokens[code], level="gemeente", period=str(year)).json()
        (row,) = body["rows"]
        assert (row["code"], row["count"]) == (code, cbs[(code, year)])
        assert row["source"] == "83648NED_TypedDataSet.csv"
        # The count is there; the reason names only the figures that are not: the comparison
        # (the files start in 2010) and the rate (population only from 2022 on).
        parts = (row["reason"] or "").split("; ")
        assert (row["previous"] is None) == any(p.startswith("geen vergelijking") for p in parts)
        assert (row["per_1000"] is None) == any(p.startswith("geen cijfer per 1.000")
                                                for p in parts)
        assert all(p.startswith(("geen vergelijking", "geen cijfer per 1.000",
                                 "geen verandering")) for p in parts if p)
    assert "geen vergelijking: geen gegevens voor 2009" in _counts(
        server, tokens[code], level="gemeente", period="2010").json()["rows"][0]["reason"]
    body = _counts(server, tokens[code], level="gemeente", period="2024").json()
    (row,) = body["rows"]
    assert row["count"] is None and row["reason"] == "geen gegevens voor 2024"
    assert row["value"] is None and row["rank"] is None
    csv_text = _counts(server, tokens[code], level="gemeente", period="2024", format="csv").text
    header, line = csv_text.splitlines()[:2]
    cells = dict(zip(header.split(";"), line.split(";")))
    assert cells["count"] == "" and cells["reason"] == "geen gegevens voor 2024"


def test_api_pc4_woninginbraak_is_the_file_per_pc4(server, tokens, con, pc4_file):
    body = _counts(server, tokens[AMSTERDAM], level="pc4", period="2024",
                   type="woninginbraak").json()
    rows = {r["code"]: r for r in body["rows"]}
    assert set(rows) == set(_pc4_codes(con, AMSTERDAM))
    for pc4, row in rows.items():
        expected = sum(n for (code, month), n in pc4_file.items()
                       if code == pc4 and month.year == 2024)
        assert row["count"] == expected, pc4
    assert sum(r["count"] for r in rows.values()) > 500
    # other bundles per PC4: not published for a mayor (403, data.disclosure)
    assert _counts(server, tokens[AMSTERDAM], level="pc4", period="2024",
                   type="geweld").status_code == 403


# -- Chromium ----------------------------------------------------------------------------------

def test_the_map_and_trends_show_the_files_numbers_and_geen_gegevens(server, page, cbs, con,
                                                                     pc4_file):
    login(page, server, MAYORS[AMSTERDAM], PASSWORD)
    # PC4 woninginbraak 2024 on the map: the file's count of the highest PC4, in its row
    year = {pc4: sum(n for (code, month), n in pc4_file.items()
                     if code == pc4 and month.year == 2024)
            for pc4 in _pc4_codes(con, AMSTERDAM)}
    top = max(year, key=year.get)
    assert year[top] > 5
    page.goto(server.url + f"/kaart?niveau=pc4&gebied={AMSTERDAM}&periode=2024"
              "&type=woninginbraak&maat=count")
    row = page.locator(f"#kaart-panel tbody tr[data-code='{top}']")
    expect(row).to_contain_text(f"{year[top]:,}".replace(",", "."), timeout=30000)
    page.goto(server.url + "/kaart?niveau=gemeente&periode=2020&type=alle_misdrijven")
    panel = page.locator("#kaart-panel")
    expect(panel).to_contain_text(f"{cbs[(AMSTERDAM, 2020)]:,}".replace(",", "."), timeout=30000)
    page.goto(server.url + "/kaart?niveau=gemeente&periode=2024&type=alle_misdrijven")
    expect(panel).to_contain_text("geen gegevens", timeout=30000)
    expect(panel).not_to_contain_text("Totaal uw gebied0")
    page.goto(server.url + f"/trends?gemeente={AMSTERDAM}&indicator=alle_misdrijven&per=jaar")
    expect(page.locator("#trends-status")).to_contain_text("83648NED", timeout=30000)
    expect(page.locator("#trends-status")).to_contain_text("na 2020 geen gegevens", timeout=5000)
    # the chart itself: each year's point is the file's number; no point (no 0) after 2020
    plot = "#trends-graph .js-plotly-plot"
    page.wait_for_function(f"() => {{ const g = document.querySelector('{plot}');"
                           " return g && g.data && g.data.length > 0; }", timeout=30000)
    traces = page.evaluate(f"() => document.querySelector('{plot}').data.map(t => ({{"
                           "name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}))")
    registered = [t for t in traces if t["name"] == "Geregistreerd"]
    assert len(registered) == 1, traces
    points = {int(str(x)[:4]): y for x, y in zip(registered[0]["x"], registered[0]["y"])
              if y is not None}
    years = {year: n for (code, year), n in cbs.items() if code == AMSTERDAM}
    assert points == years, (traces, years)


def _pc4_sum(con, pc4_file, gemeente, period: Period) -> int:
    pc4s = set(_pc4_codes(con, gemeente))
    return sum(n for (pc4, month), n in pc4_file.items()
               if pc4 in pc4s and period.start <= month < period.end)


def test_overview_and_driehoek_show_the_sources_numbers_and_geen_gegevens(
        server, page, con, cbs, pc4_file):
    """The last 12 complete months end before the PC4 file's partial June 2026: woninginbraak
    is the file's PC4 sum, all misdrijven has no source for them ("geen gegevens", with the
    newest CBS year beside it), never 0."""
    last12 = Period(date(2025, 6, 1), date(2026, 6, 1))
    burglaries = _pc4_sum(con, pc4_file, AMSTERDAM, last12)
    before = _pc4_sum(con, pc4_file, AMSTERDAM, last12.shifted(-12))
    assert burglaries > 500 and before > 500
    login(page, server, MAYORS[AMSTERDAM], PASSWORD)
    cards = page.locator("#overview-cards")
    burglary = cards.locator(".key-figure-value[data-group=woninginbraak]")
    expect(burglary).to_have_attribute("data-value", str(burglaries), timeout=30000)
    expect(cards).to_contain_text(f"t.o.v. vorig jaar ({before:,})".replace(",", "."))
    total = cards.locator(".key-figure-value[data-group=alle_misdrijven]")
    expect(total).to_have_text("geen gegevens")
    latest = cards.locator(".key-figure-latest").first
    expect(latest).to_have_attribute("data-year", "2020")
    expect(latest).to_have_attribute("data-value", str(cbs[(AMSTERDAM, 2020)]))
    for group in ("hic", "geweld", "overlast"):  # no source at all: never a 0
        expect(cards.locator(f".key-figure-value[data-group={group}]")).to_have_text(
            "geen gegevens")
    expect(page.locator("#overview-gemeenten")).to_contain_text("geen gegevens")

    page.goto(server.url + "/driehoek")
    card = page.locator(".driehoek-card[data-indicator=woninginbraak] .driehoek-value")
    expect(card).to_have_attribute("data-value", str(burglaries), timeout=30000)
    other = page.locator(".driehoek-card:not([data-indicator=woninginbraak]) .driehoek-value")
    assert other.count() > 0
    for i in range(other.count()):
        expect(other.nth(i)).to_have_text("geen gegevens")


@pytest.mark.parametrize("code", [AMSTERDAM, ROTTERDAM])
def test_jaarafsluiting_2020_pdf_states_the_files_numbers_and_geen_gegevens(
        con, cbs, code, tmp_path):
    from data.products import build

    from .test_performance import _dutch, _pdf_text

    content = build(con, scope=Scope(frozenset({code}), 1), kind="jaarafsluiting", area=code,
                    reference=date(2021, 1, 1))
    now, before = cbs[(code, 2020)], cbs[(code, 2019)]
    table = next(t for s in content.sections for t in s.tables
                 if t.title.startswith("Geregistreerde aantallen"))
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["Alle misdrijven"][:3] == [now, before, now - before]
    assert len(rows) >= 5
    for title, row in rows.items():  # no other source covers 2020: never 0
        if title != "Alle misdrijven":
            assert row[:2] == ["geen gegevens", "geen gegevens"], title
    assert 0 not in [v for r in rows.values() for v in r[:2]]
    text = _pdf_text(content, tmp_path)
    name = "Amsterdam" if code == AMSTERDAM else "Rotterdam"
    assert f"Jaarafsluiting 2020 gemeente {name}" in text
    pct = round(abs(now - before) * 100 / before)
    direction = "minder" if now < before else "meer"
    assert f"Alle misdrijven: {_dutch(now)}, {pct}% {direction} dan vorig jaar" in text
    assert "Woninginbraak: geen gegevens voor deze periode." in text
    assert "Bron: 83648NED_TypedDataSet.csv" in text
    assert "Woninginbraak: 0" not in text and "0 misdrijven" not in text


def test_stuurgegevens_never_state_zero_misdrijven_where_the_month_has_no_source(
        con, pc4_file):
    from data.products import build

    scope = Scope(frozenset({AMSTERDAM}), 1)
    may = Period(date(2026, 5, 1), date(2026, 6, 1))
    burglaries = _pc4_sum(con, pc4_file, AMSTERDAM, may)
    year_before = _pc4_sum(con, pc4_file, AMSTERDAM, may.shifted(-12))
    content = build(con, scope=scope, kind="stuurgegevens", area=AMSTERDAM,
                    reference=date(2026, 6, 1))
    key = content.sections[0]
    rows = {r[0]: r[1:] for r in key.tables[0].rows}
    assert rows["Woninginbraak"][:2] == [burglaries, year_before]
    assert rows["Alle misdrijven"][:2] == ["geen gegevens", "geen gegevens"]
    assert key.paragraphs[0] == ("Voor mei 2026 zijn er in Amsterdam geen gegevens over alle "
                                 "misdrijven: de geladen bronnen dekken deze maand niet (dat is "
                                 "iets anders dan 0).")
    assert f"woninginbraak {burglaries:,}".replace(",", ".") in key.paragraphs[-1]
    # June 2026 is the file's partial last month: no figure at all, not its partial count
    june = build(con, scope=scope, kind="stuurgegevens", area=AMSTERDAM,
                 reference=date(2026, 7, 1))
    rows = {r[0]: r[1:] for r in june.sections[0].tables[0].rows}
    assert rows["Woninginbraak"][0] == "geen gegevens"
    assert not any("0 misdrijven" in p for p in june.sections[0].paragraphs)


def test_gebiedsscan_without_incidents_shows_what_sources_cover_and_no_false_zero(
        con, pc4_file):
    from data.products import build

    last12 = Period(date(2025, 6, 1), date(2026, 6, 1))
    content = build(con, scope=Scope(frozenset({ROTTERDAM}), 1), kind="gebiedsscan",
                    area=ROTTERDAM, reference=date(2026, 6, 1))
    rows = {r[0]: r[1:] for r in content.sections[0].tables[0].rows}
    assert rows["Woninginbraak"][:2] == [_pc4_sum(con, pc4_file, ROTTERDAM, last12),
                                         _pc4_sum(con, pc4_file, ROTTERDAM, last12.shifted(-12))]
    assert rows["Alle misdrijven"][:2] == ["geen gegevens", "geen gegevens"]
    assert 0 not in [v for r in rows.values() for v in r[:2]]
    assert [s.title for s in content.sections] == ["Kerncijfers", "Geen incidentgegevens"]


def test_a_product_whose_period_no_source_covers_says_so_on_its_first_page(con, tmp_path):
    from data.products import build

    from .test_performance import _pdf_text

    content = build(con, scope=Scope(frozenset({AMSTERDAM}), 1), kind="jaarafsluiting",
                    area=AMSTERDAM, reference=date(2025, 1, 1))
    first = content.sections[0].paragraphs[0]
    assert first.startswith("Geen gegevens: de geladen bronnen hebben geen cijfer van alle "
                            "misdrijven voor januari t/m december 2024.")
    text = _pdf_text(content, tmp_path)
    assert text.index("Geen gegevens: de geladen bronnen") < text.index("Cijfers per indicator")
    assert "Alle misdrijven: geen gegevens voor deze periode." in text


def test_ondermijning_and_near_repeat_on_real_data_say_geen_gegevens_never_zero(con):
    """On the real database (CBS yearly counts per gemeente, monthly PC4 woninginbraak, no
    incidents) the integraal ondermijningsbeeld has no monthly figure for any of its
    indicators: each is "geen gegevens" with a reason, never 0; the near-repeat model says the
    data cannot carry it; the gemeente has no own sources to show."""
    from data.queries import near_repeat, ondermijning, sources

    scope = Scope(frozenset({AMSTERDAM}), 1, sources=frozenset({AMSTERDAM}))
    picture = ondermijning.picture(con, scope=scope, gemeente=AMSTERDAM)
    assert picture.end is not None and len(picture.figures) >= 5
    for figure in picture.figures:
        assert figure.current is None and figure.previous is None, figure.indicator.key
        assert all(c is None for c in figure.counts), figure.indicator.key
        assert figure.reason.startswith("geen gegevens"), figure.reason
    # the CBS year figures are there, so "geen gegevens" is about months, not a missing gemeente
    assert coverage.covered_years(con, scope=scope)
    cover = near_repeat.coverage(con, scope=scope)
    assert cover.reason and cover.reason.startswith("geen gegevens")
    assert sources.list_sources(con, scope=scope, gm_code=AMSTERDAM).empty
    assert ondermijning.gemeente_signals(con, scope=scope, gemeente=AMSTERDAM,
                                         reference=picture.end).empty
