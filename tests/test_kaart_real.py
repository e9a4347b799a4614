"""The Kaart on real boundaries (../shared/data: gemeente 2025, wijk 2024, buurt 2019/20, PC4,
imported with the real importers) with synthesized incidents, in Chromium against the real
server: the demo region's tests again where the indelingen of different years meet.

The analist of the demo accounts covers regionale eenheid RE01 (Noord-Nederland), which holds
Eemsdelta (GM1979): formed in 2021 from Appingedam, Delfzijl and Loppersum, whose codes the
2019/20 buurt file still carries. Their buurten must still be on the map, in Eemsdelta and in
its 2024 wijken, with the incidents counted there.
"""
from __future__ import annotations

import shutil
from datetime import date

import pytest
from playwright.sync_api import expect

from data.demo.imported import synthesize_on_imported
from data.importers import run_import
from data.queries.overview import last_complete_months
from data.scope import Scope
from data.store import Store

from .conftest import LiveServer, login
from .test_kaart import CHOROPLETH, _tooltip, _wait_for_panel
from .test_kaart import _count as count_in_bundle

EEMSDELTA = "GM1979"
MERGED = ("BU0003", "BU0010", "BU0024")  # buurt codes of Appingedam, Delfzijl, Loppersum
BOUNDARIES = (("regionale_eenheid_2024.geojson", "eenheid", None),
              ("gemeente_2025.geojson", "gemeente", None), ("wijk_2024.geojson", "wijk", None),
              ("buurt_2019_2020.geojson", "buurt", None), ("pc4.geojson", "pc4", 2020))


@pytest.fixture(scope="module")
def real_db(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kaart-real")
    store = Store(folder / "real.duckdb")
    for name, level, vintage in BOUNDARIES:
        result = run_import(store, "boundaries", shared_data / name,
                            rejected_file=folder / f"{name}.rejected.csv",
                            options={"level": level, "vintage": vintage})
        assert result.rejected == 0, name
    lookup = folder / "gemeente_2025_regio_lookup.csv"  # a copy: rejects are written beside it
    shutil.copyfile(shared_data / lookup.name, lookup)
    run_import(store, "lookup", lookup)
    synthesize_on_imported(store, seed=17, years=2, incidents=200_000, today=date(2025, 6, 15))
    return store.path


@pytest.fixture(scope="module")
def real_server(real_db):
    server = LiveServer(real_db)
    yield server
    server.stop()


def _shaped(con, level: str, where: str, params: list) -> set[str]:
    """Codes of areas of ``level`` (matching ``where`` on areas a) that have a shape."""
    return {r[0] for r in con.execute(
        f"SELECT DISTINCT a.code FROM areas a JOIN boundary_shapes s ON s.code = a.code"
        f" AND s.level = a.level WHERE a.level = ? AND {where}", [level, *params]).fetchall()}


def _drawn(page) -> set[str]:
    """Area codes of the drawn choropleth paths (class vb-area-<code>)."""
    classes = page.locator(CHOROPLETH).evaluate_all("ps => ps.map(p => p.getAttribute('class'))")
    return {c.split("vb-area-")[1].split()[0] for c in classes}


def _count(con, column: str, code: str, period) -> int:
    """Registrations of the map's default bundle (every misdrijf) in ``period``."""
    return count_in_bundle(con, period, "alle_misdrijven", column, code)


def _number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@pytest.mark.browser
def test_analist_drills_through_real_indelingen_of_different_years(page, real_server, real_db):
    con = Store(real_db).read()
    gemeenten = {r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente' AND re_code = 'RE01'").fetchall()}
    assert EEMSDELTA in gemeenten
    period = last_complete_months(con, scope=Scope(frozenset(gemeenten), 3), months=12)
    login(page, real_server, "analist")

    # Gemeente layer: one polygon per gemeente in scope.
    page.goto(real_server.url + "/kaart?niveau=gemeente")
    _wait_for_panel(page, "Totaal uw gebied")
    expect(page.locator(CHOROPLETH)).to_have_count(len(gemeenten), timeout=30_000)
    assert _drawn(page) == gemeenten

    # Click Eemsdelta: its 2024 wijken.
    page.locator(f"path.vb-area-{EEMSDELTA}").dispatch_event("click")
    wijken = _shaped(con, "wijk", "a.gm_code = ?", [EEMSDELTA])
    _wait_for_panel(page, "Wijken in")
    expect(page.locator(CHOROPLETH)).to_have_count(len(wijken), timeout=30_000)
    assert _drawn(page) == wijken

    # The wijk with the most 2019/20 buurten of the merged gemeenten: tooltip = DuckDB, then
    # click it for its buurten.
    wijk = con.execute(
        "SELECT parent_code FROM areas WHERE level = 'buurt' AND gm_code = ? AND"
        " substr(code, 1, 6) IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1"
        " ORDER BY count(*) DESC, 1 LIMIT 1", [EEMSDELTA, list(MERGED)]).fetchall()[0][0]
    expected = _count(con, "wk_code", wijk, period)
    assert expected > 0
    expect(page.locator(f'#kaart-panel tr[data-code="{wijk}"]')).to_be_attached(timeout=20_000)
    text = _tooltip(page, lambda: page.locator(f"path.vb-area-{wijk}").dispatch_event(
        "mouseover"), f"({wijk})")
    assert f"Aantal: {_number(expected)}" in text, text
    page.locator(f"path.vb-area-{wijk}").dispatch_event("click")
    buurten = _shaped(con, "buurt", "a.parent_code = ?", [wijk])
    assert any(code.startswith(MERGED) for code in buurten)
    _wait_for_panel(page, "Buurten in")
    expect(page.locator(CHOROPLETH)).to_have_count(len(buurten), timeout=30_000)
    assert _drawn(page) == buurten
    buurt = max(sorted(buurten), key=lambda code: _count(con, "bu_code", code, period))
    # (the panel lists the buurt once the buurt layer's values are in: hover after that)
    expect(page.locator(f'#kaart-panel tr[data-code="{buurt}"]')).to_be_attached(timeout=20_000)
    page.mouse.move(0, 0)
    text = _tooltip(page, lambda: page.locator(f"path.vb-area-{buurt}").dispatch_event(
        "mouseover"), f"({buurt})")
    assert f"Aantal: {_number(_count(con, 'bu_code', buurt, period))}" in text, text

    # Every buurt of Eemsdelta, the merged gemeenten's included, is on its buurt layer.
    page.goto(f"{real_server.url}/kaart?niveau=buurt&gebied={EEMSDELTA}")
    all_buurten = _shaped(con, "buurt", "a.gm_code = ?", [EEMSDELTA])
    assert {code[:6] for code in all_buurten} >= set(MERGED)
    _wait_for_panel(page, "Buurten")
    expect(page.locator(CHOROPLETH)).to_have_count(len(all_buurten), timeout=30_000)
    assert _drawn(page) == all_buurten

    # PC4 (ESRI-derived shapes): attribution says so.
    page.goto(f"{real_server.url}/kaart?niveau=pc4&gebied={EEMSDELTA}")
    pc4 = _shaped(con, "pc4", "a.gm_code = ?", [EEMSDELTA])
    _wait_for_panel(page, "Postcode (PC4)")
    expect(page.locator(CHOROPLETH)).to_have_count(len(pc4), timeout=30_000)
    assert _drawn(page) == pc4
    expect(page.locator("#kaart-attribution")).to_have_text("© CBS, © ESRI Nederland")
