"""Politieprestaties (cleared crimes and the clearance rate) and the national size-band
comparison, on a database built from ../shared/data only: eenheden, gemeenten, the lookup, the
gemeente population of 2022 and 2024, and the CBS/Politie 83648NED gemeente totals of
2010-2020 and of 2022 written into tmp_path in the real TypedDataSet layout (registered,
cleared, suspects). Every figure is checked against the source files directly (csv module, not
the query layer), in the query layer, a period report's PDF and in Chromium against a real
gunicorn server with a mayor's account. The 2022 file is there because the population file
holds 2022 and 2024 only: a rate per 1,000 inhabitants needs the population of the same year.
The demo database (no CBS table) shows no cleared crimes and says so, never 0.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date

import pytest
from playwright.sync_api import expect

from data.importers import run_import
from data.products import build
from data.products.render import Provenance, html_document, pdf_bytes
from data.queries import performance as perf
from data.queries import trends
from data.queries.trends import BANDS
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db
from data.store import Store
from layouts import trends as trends_layout

from .conftest import LiveServer, login
from .test_import_cbs import _write_typed

FILES = {"2010_2020": "crime_gemeente_total_2010_2020_83648NED.csv",
         "2022": "crime_gemeente_2022_83648NED.csv"}
AMSTERDAM, ROTTERDAM, GRONINGEN = "GM0363", "GM0599", "GM0014"
#: Formed in 2019: the 2010-2020 file has it for 2019 and 2020 only.
HOGELAND = "GM1966"
PASSWORD = "een-lang-wachtwoord"
MAYOR = Scope(frozenset({AMSTERDAM}), 1, "Amsterdam")


# -- the source files, read directly -----------------------------------------------------------

@pytest.fixture(scope="module")
def source(shared_data) -> dict:
    """{(code, year): row} of both 83648NED files (NL01 is the country)."""
    out = {}
    for name in FILES.values():
        with open(shared_data / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out[(row["gm_code"], int(row["year"]))] = row
    return out


@pytest.fixture(scope="module")
def population(shared_data) -> dict:
    """{(code, year): inhabitants on 1 January} of the population file."""
    with open(shared_data / "population_gemeente_2022_2024.csv", encoding="utf-8") as fh:
        return {(r["gm_code"], int(r["peildatum"][:4])): int(r["population"])
                for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def current_codes(shared_data) -> set[str]:
    """The gemeenten of 2025 (a figure under an older code is not a gemeente of today)."""
    with open(shared_data / "gemeente_2025_regio_lookup.csv", encoding="utf-8") as fh:
        return {r["gm_code"] for r in csv.DictReader(fh)}


# -- the database ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_db(shared_data, tmp_path_factory) -> Store:
    from data.accounts import add_user
    from data.state import StateDB

    folder = tmp_path_factory.mktemp("performance")
    store = Store(folder / "real.duckdb")
    for name, level in (("regionale_eenheid_2024.geojson", "eenheid"),
                        ("gemeente_2025.geojson", "gemeente")):
        run_import(store, "boundaries", shared_data / name,
                   rejected_file=folder / f"{name}.rejected.csv", options={"level": level})
    for name, kind in (("gemeente_2025_regio_lookup.csv", "lookup"),
                       ("population_gemeente_2022_2024.csv", "population")):
        shutil.copyfile(shared_data / name, folder / name)  # rejected rows land in tmp
        run_import(store, kind, folder / name)
    for key, name in FILES.items():
        with open(shared_data / name, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        typed = folder / f"83648NED_{key}_TypedDataSet.csv"
        _write_typed(typed, rows)
        result = run_import(store, "counts", typed)
        assert result.detail["measures"] == "registered, cleared, suspects"
    add_user(StateDB(folder / "appstate.sqlite"), "burgemeester-amsterdam", "burgemeester",
             PASSWORD, gemeenten=[AMSTERDAM])
    return store


@pytest.fixture(scope="module")
def con(real_db):
    return real_db.read()


def _file_rate(row) -> float:
    return int(row["cleared_crimes"]) * 100 / int(row["registered_crimes"])


# -- clearance ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [AMSTERDAM, ROTTERDAM])
def test_cleared_and_clearance_rate_per_year_equal_the_file(con, source, code):
    result = perf.clearance(con, scope=Scope(frozenset({code}), 1), gemeenten=[code])
    assert result.source == "CBS/Politie 83648NED"
    assert [y.year for y in result.years] == list(range(2010, 2023))
    for y in result.years:
        row, land = source.get((code, y.year)), source.get(("NL01", y.year))
        if row is None:  # 2021: in neither file, so no figure, not 0
            assert y.year == 2021
            assert (y.registered, y.cleared, y.rate) == (None, None, None)
            assert y.missing == (code,)
        else:
            assert y.registered == int(row["registered_crimes"])
            assert y.cleared == int(row["cleared_crimes"])
            assert y.rate == _file_rate(row)
            # CBS's own percentage comes from unrounded counts: within a tenth or so here
            assert abs(y.rate - float(row["cleared_pct"])) < 0.15
        if land is None:  # the 2022 file has no national row
            assert (y.national_registered, y.national_cleared, y.national_rate) == \
                (None, None, None)
        else:
            assert y.national_registered == int(land["registered_crimes"])
            assert y.national_cleared == int(land["cleared_crimes"])
            assert y.national_rate == _file_rate(land)
    assert result.latest().year == 2022


def test_a_year_without_cbs_figures_is_no_data_never_zero(con, source):
    """Het Hogeland exists since 2019: 2010-2018 have no figure of it, and two gemeenten
    together have none in a year where one of them has none."""
    scope = Scope(frozenset({HOGELAND, AMSTERDAM}), 3)
    alone = perf.clearance(con, scope=scope, gemeenten=[HOGELAND])
    for y in alone.years:
        if (HOGELAND, y.year) in source:
            assert y.cleared == int(source[(HOGELAND, y.year)]["cleared_crimes"])
        else:
            assert y.year in (*range(2010, 2019), 2021)
            assert (y.registered, y.cleared, y.rate) == (None, None, None)
    together = perf.clearance(con, scope=scope, gemeenten=[HOGELAND, AMSTERDAM])
    by_year = {y.year: y for y in together.years}
    assert by_year[2015].cleared is None and by_year[2015].missing == (HOGELAND,)
    assert by_year[2020].cleared == sum(int(source[(c, 2020)]["cleared_crimes"])
                                        for c in (HOGELAND, AMSTERDAM))
    # through= extends the years to a report's year: no figures there
    later = perf.clearance(con, scope=MAYOR, gemeenten=[AMSTERDAM], through=2025)
    assert [y.year for y in later.years][-4:] == [2022, 2023, 2024, 2025]
    assert all(y.cleared is None and y.rate is None for y in later.years[-3:])


def test_cleared_pairs_with_registered_of_the_same_file_and_public_means_cbs(
        real_db, source, tmp_path):
    """A later tidy file with another registered count for Amsterdam 2022 (no cleared
    crimes, not a CBS download) changes neither the clearance rate nor the public
    comparison."""
    copy = Store(tmp_path / "copy.duckdb")
    shutil.copyfile(real_db.current_file(), copy.path)
    own = tmp_path / "eigen_telling.csv"
    own.write_text("area_code,period,crime_code,count\nGM0363,2022,0.0.0,99999\n")
    assert run_import(copy, "counts", own).rows == 1
    con = copy.read()
    row = source[(AMSTERDAM, 2022)]
    y = next(y for y in perf.clearance(con, scope=MAYOR, gemeenten=[AMSTERDAM]).years
             if y.year == 2022)
    assert (y.registered, y.cleared) == (int(row["registered_crimes"]),
                                         int(row["cleared_crimes"]))
    band = perf.national_comparison(con, scope=MAYOR, gemeente=AMSTERDAM).covered[0]
    assert band.count == int(row["registered_crimes"])


def test_clearance_refuses_gemeenten_outside_the_scope(con):
    with pytest.raises(OutOfScope):
        perf.clearance(con, scope=MAYOR, gemeenten=[ROTTERDAM])
    with pytest.raises(OutOfScope):
        perf.clearance(con, scope=MAYOR, gemeenten=[AMSTERDAM, ROTTERDAM])
    with pytest.raises(OutOfScope):
        perf.national_comparison(con, scope=MAYOR, gemeente=ROTTERDAM)


# -- national comparison by size band ------------------------------------------------------------

def _band(inhabitants: int) -> str:
    return next(label for low, high, label in BANDS
                if inhabitants >= low and (high is None or inhabitants < high))


def _direct_band(source, population, current_codes, code: str, year: int):
    """From the files: the gemeente's rate, the mean rate of the other gemeenten of today in
    its band that year, and all of them together."""
    rates, counts, people = {}, 0, 0
    for (gm, y), row in source.items():
        if y == year and gm in current_codes and (gm, year) in population:
            rates[gm] = int(row["registered_crimes"]) * 1000 / population[(gm, year)]
            counts += int(row["registered_crimes"])
            people += population[(gm, year)]
    band = _band(population[(code, year)])
    peers = [r for gm, r in rates.items()
             if gm != code and _band(population[(gm, year)]) == band]
    return rates[code], band, sum(peers) / len(peers), len(peers), counts * 1000 / people, \
        len(rates)


@pytest.mark.parametrize("code", [AMSTERDAM, ROTTERDAM, GRONINGEN])
def test_band_comparison_equals_a_direct_computation_from_the_files(
        con, source, population, current_codes, code):
    """A mayor's scope is her own gemeente only; the band average and the country come from
    public figures of every gemeente."""
    scope = Scope(frozenset({code}), 1)
    result = perf.national_comparison(con, scope=scope, gemeente=code)
    assert [y.year for y in result.years] == [*range(2010, 2021), 2022]
    assert [y.year for y in result.covered] == [2022]  # the only year with its population
    y = result.covered[0]
    rate, band, peers, size, national, everyone = _direct_band(
        source, population, current_codes, code, 2022)
    assert y.rate == pytest.approx(rate, rel=1e-12)
    assert y.count == int(source[(code, 2022)]["registered_crimes"])
    assert (y.band, y.band_size, y.national_size) == (band, size, everyone)
    assert y.band_rate == pytest.approx(peers, rel=1e-12)
    assert y.national_rate == pytest.approx(national, rel=1e-12)
    assert size >= 3 and everyone == 341  # gemeenten outside the scope, all of today's
    for missing in result.uncovered:  # counts but no population of that year: said
        assert missing.rate is None and missing.reason == f"geen inwonertal van {missing.year}"
        assert missing.count == int(source[(code, missing.year)]["registered_crimes"])
    # the trends comparison carries it, also for a mayor without monthly data
    comparison = trends.comparison(con, scope=scope, gemeente=code, indicator="alle_misdrijven",
                                   grain="jaar")
    assert comparison.national == result
    other = perf.national_comparison(con, scope=scope, gemeente=code, indicator="geweld")
    assert other.years == () and "alle misdrijven samen" in other.note


# -- the period report ---------------------------------------------------------------------------

def _pdf_text(content, tmp_path) -> str:
    info = Provenance(generated_at="2026-01-05T10:00:00", generated_by="test", data_version="t")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes(html_document(content, info)))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    return " ".join(text.split())


def _dutch(n) -> str:
    return f"{int(n):,}".replace(",", ".")


def test_jaarafsluiting_states_the_cleared_crimes_of_the_file(con, source, tmp_path):
    content = build(con, scope=MAYOR, kind="jaarafsluiting", area=AMSTERDAM,
                    reference=date(2021, 1, 1))
    section = next(s for s in content.sections if s.title.startswith("Opgehelderde"))
    rows = {r[0]: r[1:] for r in section.tables[0].rows}
    assert list(rows) == ["2016", "2017", "2018", "2019", "2020"]
    for year, (registered, cleared, rate, national) in rows.items():
        row, land = source[(AMSTERDAM, int(year))], source[("NL01", int(year))]
        assert (registered, cleared) == (int(row["registered_crimes"]),
                                         int(row["cleared_crimes"]))
        assert rate == round(_file_rate(row), 1) and national == round(_file_rate(land), 1)
    row = source[(AMSTERDAM, 2020)]
    assert section.paragraphs[0] == (
        f"In 2020 zijn in Amsterdam {_dutch(row['cleared_crimes'])} van de "
        f"{_dutch(row['registered_crimes'])} geregistreerde misdrijven opgehelderd (23,7%); "
        "in heel Nederland 23,9%.")
    text = _pdf_text(content, tmp_path)
    assert "Opgehelderde misdrijven (politieprestaties)" in text
    assert f"2020 {_dutch(row['registered_crimes'])} {_dutch(row['cleared_crimes'])} 23,7 23,9" \
        in text
    assert "CBS/Politie 83648NED" in text

    # 2025: CBS has nothing yet; the newest figures are named, nothing is 0
    later = build(con, scope=MAYOR, kind="jaarafsluiting", area=AMSTERDAM,
                  reference=date(2026, 1, 1))
    section = next(s for s in later.sections if s.title.startswith("Opgehelderde"))
    rows = {r[0]: r[1:] for r in section.tables[0].rows}
    assert rows["2025"] == ["geen gegevens"] * 4 and rows["2021"] == ["geen gegevens"] * 4
    assert rows["2022"][:2] == [int(source[(AMSTERDAM, 2022)]["registered_crimes"]),
                                int(source[(AMSTERDAM, 2022)]["cleared_crimes"])]
    assert "Voor 2025 zijn er (nog) geen CBS-cijfers" in section.paragraphs[0]
    assert section.paragraphs[1].startswith("De meest recente CBS-cijfers zijn van 2022")
    assert 0 not in [v for r in rows.values() for v in r]


def test_demo_has_no_cleared_crimes_and_shows_none(demo_db):
    con = connect_db(demo_db)
    try:
        scope = Scope(frozenset({"GMD001"}), 1)
        result = perf.clearance(con, scope=scope, gemeenten=["GMD001"])
        assert not result.available and result.latest() is None
        assert trends_layout.clearance_card(result, ["Havenstad"]) == ""
        national = perf.national_comparison(con, scope=scope, gemeente="GMD001")
        assert national.years == () and "geen openbare CBS-cijfers" in national.note
        report = build(con, scope=scope, kind="jaarafsluiting", area="GMD001",
                       reference=date.today())
        assert not [s for s in report.sections if s.title.startswith("Opgehelderde")]
    finally:
        con.close()


# -- in Chromium ---------------------------------------------------------------------------------

@pytest.mark.browser
def test_mayor_sees_clearance_and_the_national_band_comparison(
        page, real_db, source, population, current_codes):
    server = LiveServer(real_db.path, env={"DASHBOARD_SECRET_KEY": "test-" + "x" * 40})
    try:
        login(page, server, "burgemeester-amsterdam", PASSWORD)
        page.goto(server.url + "/trends?vergelijk=grootte")
        table = page.locator(".trends-clearance-table")
        expect(table).to_be_visible(timeout=30_000)
        for year in (2010, 2015, 2020, 2022):
            row, cells = source[(AMSTERDAM, year)], table.locator(f"tr[data-year='{year}'] td")
            expect(cells.nth(1)).to_have_text(_dutch(row["registered_crimes"]))
            expect(cells.nth(2)).to_have_text(_dutch(row["cleared_crimes"]))
            expect(cells.nth(3)).to_have_text(
                f"{_file_rate(row):.1f}".replace(".", ",") + "%")
            assert cells.nth(2).get_attribute("data-value") == row["cleared_crimes"]
        land = source[("NL01", 2020)]
        expect(table.locator("tr[data-year='2020'] td").nth(4)).to_have_text(
            f"{_file_rate(land):.1f}".replace(".", ",") + "%")
        expect(table.locator("tr[data-year='2021'] td")).to_have_text(
            ["2021", "geen gegevens", "geen gegevens"])  # the gemeente, the country
        expect(page.locator(".trends-clearance-note")).to_contain_text("CBS/Politie 83648NED")

        national = page.locator(".trends-national-table tr[data-year='2022']")
        expect(national).to_be_visible()
        rate, _band_label, peers, size, country, _ = _direct_band(
            source, population, current_codes, AMSTERDAM, 2022)
        cells = national.locator("td")
        expect(cells.nth(1)).to_have_text(f"{rate:.1f}".replace(".", ","))
        expect(cells.nth(3)).to_have_text(f"{peers:.1f}".replace(".", ",") + f" ({size})")
        expect(cells.nth(4)).to_have_text(f"{country:.1f}".replace(".", ","))
        note = page.locator(".trends-national-note")
        expect(note).to_contain_text("alleen uit openbare cijfers")
        expect(note).to_contain_text("ook buiten uw gebied")
        expect(note).to_contain_text("Voor 2010–2020 zijn er CBS-cijfers maar geen inwonertallen")
        expect(page.locator("#trends-compare-panel")).not_to_contain_text(
            "Geen andere gemeenten van deze grootte")

        page.goto(server.url + "/driehoek")
        line = page.locator(".driehoek-performance")
        expect(line).to_contain_text(
            f"2022: {_dutch(source[(AMSTERDAM, 2022)]['cleared_crimes'])} van "
            f"{_dutch(source[(AMSTERDAM, 2022)]['registered_crimes'])}", timeout=30_000)
        expect(line).to_contain_text("2021: geen gegevens")
        expect(line).to_contain_text("CBS/Politie 83648NED")
    finally:
        server.stop()


@pytest.mark.browser
def test_demo_trends_page_says_there_are_no_public_figures(page, demo_server):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/trends?vergelijk=eenheid,grootte")
    expect(page.locator(".trends-national-note")).to_contain_text(
        "geen openbare CBS-cijfers per gemeente geladen", timeout=30_000)
    expect(page.locator("#trends-compare-graph .js-plotly-plot")).to_be_visible()
    expect(page.locator(".trends-clearance")).to_have_count(0)
    page.goto(demo_server.url + "/driehoek")
    expect(page.locator(".driehoek-card").first).to_be_visible(timeout=30_000)
    expect(page.locator(".driehoek-performance")).to_have_count(0)
