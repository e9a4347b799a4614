"""The demo region and the synthetic incident generator, on real DuckDB files.

One demo database is built per module (with the system date, as ``python -m dashboard run``
does) and inspected by most tests; the determinism tests build more of them.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from playwright.sync_api import expect

from data.catalog import HIGH_IMPACT_TYPES, crime_types
from data.demo import build_demo, seed_state, synthesize_on_imported
from data.meldingen import DEFAULT_TYPES, expand, local_now
from data.sql import scalar
from data.store import Store
from geo import synthetic as syn
from geo.boundaries import read_boundary_file, repair, write_boundaries

from .conftest import ROOT, LiveServer, edit_incidents, login, state_rows

NATIONAL_BURGLARY_PER_1000 = next(t.rate_per_100k for t in crime_types() if t.code == "1.1.1") / 100
REAL_CODE = re.compile(r"GM\d{4}|WK\d{6}|BU\d{8}|RE\d{2}|[1-9]\d{3}|[1-9]\d{3}[A-Z]{2}")
GEWELD = ("1.4.1", "1.4.2", "1.4.3", "1.4.4", "1.4.5")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    started = time.perf_counter()
    summary = build_demo(store)
    return store, summary, time.perf_counter() - started


@pytest.fixture
def con(demo):
    return demo[0].read()


def frame(con, sql, params=()):
    return con.execute(sql, params).df()


def full_years(con) -> list[int]:
    """Years completely inside the incident window."""
    first, last = con.execute("SELECT min(occurred_date), max(occurred_date)"
                              " FROM incidents").fetchall()[0]
    return [y for y in range(first.year, last.year + 1)
            if date(y, 1, 1) >= first and date(y, 12, 31) <= last]


def digest(con, sql) -> str:
    return hashlib.sha256(repr(con.execute(sql).fetchall()).encode()).hexdigest()


def digests(store) -> dict[str, str]:
    con = store.read()
    return {
        "incidents": digest(con, "SELECT * FROM incidents ORDER BY id"),
        "areas": digest(con, "SELECT * FROM areas ORDER BY code"),
        "boundaries": digest(con, "SELECT level, code, name, md5(geom::VARCHAR) FROM boundaries"
                                  " ORDER BY level, code"),
        "population": digest(con, "SELECT * FROM population ORDER BY code, year"),
        "org": digest(con, "SELECT * FROM org_gemeenten ORDER BY ALL"),
    }


# -- the build -----------------------------------------------------------------------------------
def test_build_is_fast_and_complete(demo):
    store, summary, seconds = demo
    print(f"build_demo: {seconds:.1f} s, {summary['incidents']:,} incidents")
    assert seconds < 60
    assert summary["gemeenten"] == 4
    assert 10 <= scalar(store.read(), "SELECT count(*) FROM areas WHERE gm_code = 'GMD001'"
                                      " AND level = 'wijk'") <= 15
    assert summary["pc6"] >= 2000 and summary["pc4"] >= 15
    assert summary["incidents"] > 50_000
    # Current: the window ends yesterday (the system date) and spans five years of months.
    last = date.fromisoformat(summary["last"])
    assert (date.today() - last).days <= 2
    assert date.fromisoformat(summary["first"]).year == date.today().year - 5
    meta = store.meta()
    assert meta["dataset_name"] == "Demo: Eenheid Doggerland (fictief)"
    assert meta["dataset_source"] == "Synthetische demodata (seed 2026)"
    assert meta["demo"] == "true" and meta["seed"] == "2026"
    names = dict(store.read().execute("SELECT code, name FROM areas WHERE level IN"
                                      " ('eenheid', 'gemeente')").fetchall())
    assert names["REDL"] == "Eenheid Doggerland (demo)" and names["GMD001"] == "Havenstad"


def test_same_seed_same_data_other_seed_other_data(demo, tmp_path):
    store, _, _ = demo
    today = date.fromisoformat(store.meta()["demo_today"])
    again = Store(tmp_path / "again.duckdb")
    build_demo(again, seed=2026, today=today)
    other = Store(tmp_path / "other.duckdb")
    build_demo(other, seed=2027, today=today)
    first, second, third = digests(store), digests(again), digests(other)
    assert first == second
    for key in ("incidents", "areas", "boundaries", "population"):
        assert first[key] != third[key], key


@pytest.fixture(scope="module")
def short_demo(tmp_path_factory):
    """One year of demo incidents built for an earlier day."""
    store = Store(tmp_path_factory.mktemp("short") / "short.duckdb")
    return store, build_demo(store, seed=5, years=1, today=date(2024, 3, 10))


def test_explicit_today_and_years(short_demo):
    store, summary = short_demo
    assert summary["first"] >= "2023-03-01" and summary["first"] <= "2023-03-03"
    assert summary["last"] <= "2024-03-09"
    con = store.read()
    assert scalar(con, "SELECT max(registered_at) < TIMESTAMP '2024-03-10' FROM incidents")
    years = [r[0] for r in con.execute(
        "SELECT DISTINCT year FROM population WHERE code = 'REDL' ORDER BY 1").fetchall()]
    assert years == [2023, 2024]


# -- a filled first visit: meldingen and rapportages --------------------------------------------
def _signal_count(con, since: datetime) -> int:
    """Incidents of the default large-impact types (raids included) registered since ``since``
    (what becomes a melding under the demo's default agreement profiles)."""
    return scalar(con, "SELECT count(*) FROM incidents WHERE registered_at >= ?"
                       " AND type_code IN (SELECT unnest(?::VARCHAR[]))",
                  [since, sorted(expand(DEFAULT_TYPES))])


@pytest.mark.browser
def test_demo_command_comes_with_meldingen_and_rapportages(tmp_path, page):
    """README's `demo` on a fresh folder: the demo mayor's first visit finds the last week's
    meldingen of their gemeente and generated rapportages, on the real server in Chromium."""
    db = tmp_path / "demo.duckdb"
    before = local_now() - timedelta(days=7)
    done = subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), "demo"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    after = local_now() - timedelta(days=7)
    assert done.returncode == 0, done.stderr
    print(done.stdout[-600:])
    assert "meldingen and rapportages ready in" in done.stdout
    own = json.loads(state_rows(db, "SELECT gemeenten FROM users WHERE name = 'burgemeester'")
                     [0][0])[0]
    con = Store(db).read()
    meldingen = state_rows(db, "SELECT count(*) FROM meldingen WHERE gm_code = ?", (own,))[0][0]
    everywhere = state_rows(db, "SELECT count(*) FROM meldingen")[0][0]
    assert 0 < meldingen <= everywhere
    assert _signal_count(con, after) <= everywhere <= _signal_count(con, before)
    products = state_rows(db, "SELECT kind, area_code, files FROM products")
    assert len(products) >= 2 and {p[1] for p in products} == {own}
    for _kind, _area, files in products:
        assert {"html", "pdf"} <= set(json.loads(files))
    server = LiveServer(db)
    try:
        login(page, server, "burgemeester")
        expect(page.locator("#melding-count")).to_have_text(str(meldingen), timeout=20_000)
        expect(page.locator("#rapportages-count")).to_have_text(str(len(products)))
        page.goto(server.url + "/meldingen")
        expect(page.locator(".melding")).to_have_count(meldingen, timeout=20_000)
        page.goto(server.url + "/rapportages")
        expect(page.locator(".rapportages-tabel .product-row")).to_have_count(len(products),
                                                                             timeout=20_000)
    finally:
        server.stop()


def test_seed_of_an_older_demo_without_chromium(short_demo, tmp_path, monkeypatch):
    """A demo built for an earlier day still gets the meldingen of its own last week; without
    Chromium the rapportages are skipped with a note, never an error; seeding twice adds
    nothing."""
    from dashboard.config import from_environment
    from data.products import render
    from data.state import StateDB

    store, _ = short_demo
    monkeypatch.setattr(render, "CHROMIUM", str(tmp_path / "no-chromium"))
    settings = from_environment({}).with_overrides({
        "db": store.path, "state_db": tmp_path / "state.sqlite",
        "products_dir": tmp_path / "products"})
    state = StateDB(settings.state_path())
    notes = []
    summary = seed_state(store, state, settings, progress=notes.append)
    con = store.read()
    # The demo's today is 2024-03-10: its last 7 days start on 3 or 4 March (time of day).
    assert (_signal_count(con, datetime(2024, 3, 4)) <= summary["meldingen"]
            <= _signal_count(con, datetime(2024, 3, 3))), summary
    assert summary["meldingen"] > 0
    assert summary["rapportages"] == 0 and "Chromium not found" in summary["seed_skipped"][0]
    assert any("apt-get install chromium" in n for n in notes)
    assert any(n.startswith("meldingen and rapportages ready in") for n in notes)
    again = seed_state(store, state, settings)
    assert again["meldingen"] == 0
    assert state.query("SELECT count(*) AS n FROM products")[0]["n"] == 0


# -- areas, nesting, population --------------------------------------------------------------------
def test_codes_nest(con):
    areas = frame(con, "SELECT * FROM areas WHERE code <> 'NL00'")
    by_code = areas.set_index("code")
    assert by_code.loc["REDL", "parent_code"] == "NL00"
    for row in areas.itertuples():
        if row.level == "eenheid":
            continue
        assert row.parent_code in by_code.index, row.code
        assert row.re_code == "REDL"
        assert row.gm_code in by_code.index and by_code.loc[row.gm_code, "level"] == "gemeente"
    bu = areas[areas.level == "buurt"]
    assert len(bu) >= 100
    assert (bu.wk_code.str[2:] == bu.code.str[2:8]).all()
    assert (bu.gm_code.str[2:] == bu.code.str[2:6]).all()
    assert bu.wk_code.isin(areas.code[areas.level == "wijk"]).all()
    assert bu.code.str.fullmatch(r"BUD\d{7}").all()
    wk = areas[areas.level == "wijk"]
    assert (wk.gm_code.str[2:] == wk.code.str[2:6]).all()
    per_gm = wk.groupby("gm_code").size()
    assert per_gm["GMD001"] >= 10 and per_gm.drop("GMD001").between(3, 6).all()
    per_wk = bu.groupby("wk_code").size()
    assert per_wk.between(1, 12).all() and per_wk.median() >= 4
    pc4 = areas[areas.level == "pc4"]
    assert pc4.code.str.fullmatch(r"0\d{3}").all()
    assert (pc4.gm_code == pc4.parent_code).all()
    pc6 = areas[areas.level == "pc6"]
    assert pc6.code.str.fullmatch(r"0\d{3}[A-Z]{2}").all()
    assert (pc6.code.str[:4] == pc6.pc4).all() and (pc6.parent_code == pc6.pc4).all()
    assert pc6.bu_code.isin(bu.code).all()
    # A PC6 lies in the gemeente of its PC4 and of its buurt.
    assert (pc6.gm_code == pc6.pc4.map(by_code.gm_code)).all()
    assert (pc6.gm_code == pc6.bu_code.map(by_code.gm_code)).all()


def test_no_code_collides_with_real_codes(con):
    codes = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE code <> 'NL00' UNION ALL SELECT DISTINCT pc6 FROM incidents"
        " UNION ALL SELECT DISTINCT pc4 FROM incidents UNION ALL SELECT code FROM org_units"
        ).fetchall()]
    assert codes
    assert not [c for c in codes if REAL_CODE.fullmatch(c)]


def test_population_sums_exactly(con):
    pop = frame(con, """
        SELECT p.code, p.year, p.population, a.level, a.gm_code, a.wk_code
        FROM population p JOIN areas a USING (code)""")
    years = sorted(pop.year.unique())
    incident_years = [r[0] for r in con.execute(
        "SELECT DISTINCT year(occurred_date) FROM incidents ORDER BY 1").fetchall()]
    assert years == incident_years
    for year in years:
        y = pop[pop.year == year]
        bu, wk, gm = (y[y.level == lvl] for lvl in ("buurt", "wijk", "gemeente"))
        pd.testing.assert_series_equal(bu.groupby("gm_code").population.sum(),
                                       gm.set_index("code").population.sort_index(),
                                       check_names=False, check_dtype=False)
        pd.testing.assert_series_equal(bu.groupby("wk_code").population.sum(),
                                       wk.set_index("code").population.sort_index(),
                                       check_names=False, check_dtype=False)
        assert y[y.level == "eenheid"].population.item() == gm.population.sum()
    gm = pop[pop.level == "gemeente"].pivot(index="code", columns="year", values="population")
    assert 140_000 <= gm.loc["GMD001", years[-1]] <= 160_000
    assert gm.drop("GMD001")[years[-1]].between(18_000, 47_000).all()
    assert (gm[years[-1]] >= gm[years[0]]).all()  # mild growth


def test_org_units(con):
    units = dict(con.execute("SELECT name, kind FROM org_units").fetchall())
    assert units["Basisteam Havenstad"] == units["Basisteam Polderland"] == "basisteam"
    assert "district" in units.values()
    members = frame(con, "SELECT o.name, g.gm_code FROM org_gemeenten g JOIN org_units o"
                         " ON o.code = g.org_code WHERE o.kind = 'basisteam'")
    assert sorted(members.gm_code) == ["GMD001", "GMD002", "GMD003", "GMD004"]
    teams = con.execute("SELECT DISTINCT basisteam FROM incidents ORDER BY 1").fetchall()
    assert [t[0] for t in teams] == ["REDL-B1", "REDL-B2"]


def _layer(con, level):
    rows = frame(con, "SELECT code, geom FROM boundaries WHERE level = ? ORDER BY code", [level])
    return gpd.GeoDataFrame({"code": rows.code},
                            geometry=shapely.from_wkb([bytes(g) for g in rows.geom]),
                            crs="EPSG:4326").to_crs("EPSG:28992")


def test_boundaries_valid_nested_and_tiling(con):
    year = scalar(con, "SELECT max(vintage) FROM boundaries")
    assert year == date.today().year
    counts = dict(con.execute("SELECT level, count(*) FROM boundaries GROUP BY level").fetchall())
    areas = dict(con.execute("SELECT level, count(*) FROM areas GROUP BY level").fetchall())
    for level in ("eenheid", "gemeente", "wijk", "buurt", "pc4", "pc6"):
        assert counts[level] == areas[level], level
    gm, bu, pc4 = _layer(con, "gemeente"), _layer(con, "buurt"), _layer(con, "pc4")
    for layer in (gm, bu, pc4, _layer(con, "wijk"), _layer(con, "pc6")):
        assert layer.is_valid.all()
    # Gemeenten do not overlap each other.
    geoms = gm.geometry.values
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].intersection(geoms[j]).area < 1e-6 * geoms[i].area
    # The buurten (and the PC4s) of a gemeente cover it.
    bu["gm"] = "GM" + bu.code.str[2:6]
    for g in gm.itertuples():
        union = shapely.union_all(bu.geometry[bu.gm == g.code].values)
        assert abs(union.area - g.geometry.area) < 0.01 * g.geometry.area
        assert union.symmetric_difference(g.geometry).area < 0.01 * g.geometry.area
    assert abs(pc4.area.sum() - gm.area.sum()) < 0.01 * gm.area.sum()
    # Organic, not a grid: buurt outlines have many vertices and few right angles.
    assert np.median(shapely.get_num_coordinates(bu.geometry.values)) > 20
    # Fictional land in the North Sea, clear of the Dutch and British coasts.
    west, south, east, north = shapely.total_bounds(
        shapely.from_wkb([bytes(g) for g in frame(con, "SELECT geom FROM boundaries").geom]))
    assert 2.4 < west and east < 3.6 and 53.0 < south and north < 53.6


# -- incidents -------------------------------------------------------------------------------------
def test_burglary_rate_plausible_per_year(con):
    rates = frame(con, """
        SELECT year(occurred_date) AS year, count(*) / any_value(p.population) * 1000 AS rate
        FROM incidents i JOIN population p ON p.code = 'REDL' AND p.year = year(i.occurred_date)
        WHERE type_code = '1.1.1' GROUP BY 1""").set_index("year").rate
    years = full_years(con)
    assert len(years) >= 4
    for year in years:
        assert 0.5 * NATIONAL_BURGLARY_PER_1000 < rates[year] < 2.5 * NATIONAL_BURGLARY_PER_1000


def test_city_has_higher_rates_than_villages(con):
    year = full_years(con)[-1]
    rate = frame(con, """
        SELECT i.gm_code, count(*) / any_value(p.population) AS rate
        FROM incidents i JOIN population p ON p.code = i.gm_code AND p.year = ?
        WHERE year(occurred_date) = ? AND type_code NOT LIKE 'N%' GROUP BY 1""",
                 [year, year]).set_index("gm_code").rate
    assert (rate["GMD001"] > 1.5 * rate.drop("GMD001")).all()


def test_burglary_peaks_in_the_dark_months(con):
    years = full_years(con)
    by_month = frame(con, f"""
        SELECT month(occurred_date) AS m, count(*) AS n FROM incidents
        WHERE type_code = '1.1.1' AND year(occurred_date) IN ({",".join(map(str, years))})
        GROUP BY 1""").set_index("m").n
    assert by_month[[11, 12, 1]].sum() > 1.4 * by_month[[5, 6, 7]].sum()
    bikes = frame(con, "SELECT month(occurred_date) AS m, count(*) AS n FROM incidents"
                       " WHERE type_code = '1.2.3' GROUP BY 1").set_index("m").n
    assert bikes[[6, 7, 8]].sum() > bikes[[12, 1, 2]].sum()


def test_attempt_shares(con):
    share = dict(con.execute("SELECT type_code, avg(attempt::INTEGER) FROM incidents"
                             " GROUP BY 1").fetchall())
    assert 0.25 <= share["1.1.1"] <= 0.50
    assert share["1.2.3"] < 0.1 and share["1.4.5"] < 0.1
    assert share["N01"] == 0


def test_hot_spots_persist(con):
    hotspots = json.loads(scalar(con, "SELECT value FROM meta WHERE key = 'demo_hotspots'"))
    assert {h["key"] for h in hotspots} == {"uitgaan", "station", "winkel"}
    years = full_years(con)
    persistent = []
    for spot in hotspots:
        types = ",".join("'" + t + "'" for t in spot["types"])
        per_bu = frame(con, f"""
            WITH c AS (SELECT year(occurred_date) AS y, bu_code, gm_code, count(*) AS n
                       FROM incidents WHERE type_code IN ({types}) GROUP BY ALL)
            SELECT c.y, c.bu_code, c.n,
                   rank() OVER (PARTITION BY c.y ORDER BY c.n DESC) AS r,
                   -- registrations relative to the buurt's share of the gemeente's inhabitants
                   c.n / sum(c.n) OVER (PARTITION BY c.y, c.gm_code)
                       / (pb.population / pg.population) AS ratio
            FROM c JOIN population pb ON pb.code = c.bu_code AND pb.year = c.y
                   JOIN population pg ON pg.code = c.gm_code AND pg.year = c.y
            WHERE c.bu_code = ?""", [spot["bu_code"]]).set_index("y")
        persistent.append(all(per_bu.r.get(y, 999) <= 5 for y in years))
        for year in years:
            assert per_bu.ratio[year] > 2.5, (spot["key"], year)
    assert any(persistent)


def test_violence_peaks_on_friday_and_saturday_nights(con):
    # A night runs from 22:00 to 06:00 and belongs to the day it starts on.
    nights = frame(con, f"""
        SELECT dayofweek(occurred_at - INTERVAL 6 HOUR) AS start_day, count(*) AS n
        FROM incidents WHERE type_code IN {GEWELD}
          AND (hour(occurred_at) >= 22 OR hour(occurred_at) < 6)
        GROUP BY 1""").set_index("start_day").n
    weekend = nights[[5, 6]].sum() / 2  # Friday and Saturday nights (DuckDB: 0 = Sunday)
    weekday = nights[[0, 1, 2, 3, 4]].sum() / 5
    assert weekend > 1.5 * weekday


def test_types_flags_and_delays(con):
    per_type = frame(con, "SELECT type_code, count(*) AS n, bool_and(high_impact) AS all_hi,"
                          " bool_or(high_impact) AS any_hi FROM incidents GROUP BY 1")
    per_type = per_type.set_index("type_code")
    assert "0.0.0" not in per_type.index
    assert {"N01", "N02", "N03", "N04", "N05", "N06", "N07"} <= set(per_type.index)
    for code in HIGH_IMPACT_TYPES + ("N06",):
        if code in per_type.index:
            assert per_type.loc[code, "all_hi"], code
    assert per_type.loc["1.6.1", "any_hi"] and not per_type.loc["1.6.1", "all_hi"]  # explosions
    assert not per_type.loc["1.2.3", "any_hi"]
    delays = frame(con, "SELECT type_code, epoch(registered_at) - epoch(occurred_at) AS s"
                        " FROM incidents")
    assert (delays.s > 0).all()
    assert delays.s.median() < 86400
    assert (delays.s > 14 * 86400).mean() > 0.005
    median = delays.groupby("type_code").s.median()
    assert median["3.9.1"] > median["1.4.5"]  # fraud is reported later than assault
    raids = frame(con, "SELECT hour(occurred_at) AS h FROM incidents WHERE type_code = 'N06'")
    assert raids.h.between(5, 7).mean() > 0.5


def test_incident_places_and_texts(con):
    inc = frame(con, "SELECT bu_code, pc4, pc6, street, house_number, lon, lat, mo, summary, id,"
                     " batch, re_code FROM incidents")
    buurten = frame(con, "SELECT code, geom FROM boundaries WHERE level = 'buurt'")
    geoms = pd.Series(shapely.from_wkb([bytes(g) for g in buurten.geom]), index=buurten.code)
    inside = shapely.intersects_xy(geoms.loc[inc.bu_code].to_numpy(), inc.lon.to_numpy(),
                                   inc.lat.to_numpy())
    assert inside.all()
    pc6 = frame(con, "SELECT code, geom FROM boundaries WHERE level = 'pc6'")
    pc6_geoms = pd.Series(shapely.from_wkb([bytes(g) for g in pc6.geom]), index=pc6.code)
    sample = inc.sample(5000, random_state=1)
    assert shapely.intersects_xy(pc6_geoms.loc[sample.pc6].to_numpy(), sample.lon.to_numpy(),
                                 sample.lat.to_numpy()).all()
    assert (inc.pc6.str[:4] == inc.pc4).all()
    assert inc.street.notna().all() and inc.house_number.str.fullmatch(r"\d+[A-C]?").all()
    # One street per PC6, one place per address.
    assert (inc.groupby("pc6").street.nunique() == 1).all()
    assert inc.mo.notna().all() and inc.summary.notna().all()
    assert inc.id.str.fullmatch(r"D\d{9}").all() and inc.id.is_unique
    assert (inc.batch == "demo").all() and (inc.re_code == "REDL").all()


def test_monthly_counts_derived(con):
    assert scalar(con, "SELECT sum(count) FROM counts WHERE source = 'incidents'") == \
        scalar(con, "SELECT count(*) FROM incidents")


# -- geo.synthetic -------------------------------------------------------------------------------
def test_partition_gives_one_piece_per_region():
    rng = np.random.default_rng(3)
    outline = syn.noisy_outline(rng, (0, 0), 5000, 3000)
    atoms = syn.tessellate(rng, outline, 1500)
    pairs = syn.adjacency(atoms.cells)
    labels, _ = syn.partition(rng, atoms.x, atoms.y, atoms.area, 12, wobble=0.4)
    labels = syn.make_contiguous(labels, pairs)
    regions = syn.union_groups(atoms.cells, labels)
    assert len(regions) == 12
    assert all(r.geom_type == "Polygon" for r in regions)
    assert shapely.coverage_is_valid(regions)
    assert abs(sum(r.area for r in regions) - outline.area) < 1e-6 * outline.area
    x, y = syn.sample_points(rng, regions[0], 500)
    assert shapely.contains_xy(regions[0], x, y).all()


# -- synthetic incidents on a real geography ------------------------------------------------------
#: Eemsdelta (GM1979, 2021) absorbed Appingedam (GM0003), Delfzijl (GM0010) and Loppersum (GM0024),
#: whose codes the 2019/2020 buurt file still carries; Groningen and Stadskanaal are unchanged.
CURRENT = ("GM1979", "GM0014", "GM0037")
STALE = {"GM0003": "GM1979", "GM0010": "GM1979", "GM0024": "GM1979"}


@pytest.fixture(scope="module")
def real_geography(shared_data, tmp_path_factory):
    """A store with three real gemeenten: boundaries, areas and buurt population."""
    path = tmp_path_factory.mktemp("real") / "base.duckdb"
    layers = {}
    for level, name, vintage in (("gemeente", "gemeente_2025.geojson", 2025),
                                 ("wijk", "wijk_2024.geojson", 2024),
                                 ("buurt", "buurt_2019_2020.geojson", 2020)):
        gdf = read_boundary_file(shared_data / name)
        gm = gdf["statcode"] if level == "gemeente" else gdf["gm_code"]
        keep = gm.isin(CURRENT + tuple(STALE)) if level == "buurt" else gm.isin(CURRENT)
        gdf = gdf[keep].reset_index(drop=True)
        geoms, ok = repair(gdf.geometry.values)
        gdf = gpd.GeoDataFrame({"code": gdf["statcode"], "gm_code": gm[keep].to_numpy(),
                                "name": gdf.get("statnaam", gdf.get("statnaam_2024"))},
                               geometry=geoms, crs="EPSG:4326")[ok]
        layers[level] = (gdf, vintage)
    lookup = pd.read_csv(shared_data / "gemeente_2025_regio_lookup.csv", dtype=str)
    re_code = dict(zip(lookup.gm_code, lookup.re_code))
    pop = pd.read_csv(shared_data / "buurt_population_2024_85984NED.csv", dtype={"bu_code": str})
    with Store(path).write("test geography", fresh=True) as con:
        rows = []
        for level, (gdf, vintage) in layers.items():
            write_boundaries(con, gdf[["code", "name", "geometry"]], level=level,
                             vintage=vintage, source="test")
            for code, gm in zip(gdf.code, gdf.gm_code):
                wk = {"gemeente": None, "wijk": code, "buurt": "WK" + code[2:8]}[level]
                parent = {"gemeente": re_code.get(gm), "wijk": gm, "buurt": wk}[level]
                rows.append((code, level, None, parent, re_code.get(gm), gm, wk,
                             code if level == "buurt" else None, None))
        areas = pd.DataFrame(rows, columns=["code", "level", "name", "parent_code", "re_code",
                                            "gm_code", "wk_code", "bu_code", "pc4"])
        con.register("_areas", areas)
        con.execute("INSERT INTO areas SELECT * FROM _areas")
        pop = pop[pop.bu_code.isin(set(layers["buurt"][0].code))]
        con.register("_pop", pd.DataFrame({"code": pop.bu_code, "year": 2024,
                                           "population": pop.population_2024, "source": "test"}))
        con.execute("INSERT INTO population SELECT * FROM _pop")
    return path, layers


def test_synthesize_on_imported_places_incidents_in_their_buurt(real_geography, tmp_path):
    base, layers = real_geography
    path = tmp_path / "synthetic.duckdb"
    shutil.copyfile(base, path)
    store = Store(path)
    summary = synthesize_on_imported(store, seed=11, years=3, incidents=50_000,
                                     today=date(2025, 6, 15))
    assert summary["incidents"] == 50_000
    assert summary["gemeenten"] == 3 and summary["buurten"] == len(layers["buurt"][0])
    con = store.read()
    meta = store.meta()
    assert meta["demo"] == "true"
    assert "synthetische incidenten op echte indeling" in meta["dataset_name"]
    inc = frame(con, "SELECT bu_code, gm_code, wk_code, re_code, lon, lat, occurred_date,"
                     " registered_at FROM incidents")
    assert len(inc) == 50_000 and inc.re_code.eq("RE01").all()
    assert inc.occurred_date.min() >= pd.Timestamp("2022-06-01")
    assert inc.registered_at.max() < pd.Timestamp("2025-06-15")
    buurten = layers["buurt"][0].set_index("code")
    inside = shapely.intersects_xy(buurten.geometry.loc[inc.bu_code].to_numpy(),
                                   inc.lon.to_numpy(), inc.lat.to_numpy())
    assert inside.all()
    # The right gemeente: the buurt's own when it still exists, else the one that absorbed it.
    expected = buurten.gm_code.replace(STALE).loc[inc.bu_code].to_numpy()
    assert (inc.gm_code.to_numpy() == expected).all()
    assert set(inc.gm_code) == set(CURRENT)
    assert inc.bu_code.nunique() > 0.8 * len(buurten)
    # Wijk codes of stale buurten are remapped to a current wijk of the new gemeente.
    assert (inc.wk_code.dropna().str[2:6] == inc.gm_code[inc.wk_code.notna()].str[2:6]).all()


def test_synthesize_on_imported_realistic_rates_and_refusal(real_geography, tmp_path):
    base, _ = real_geography
    path = tmp_path / "rates.duckdb"
    shutil.copyfile(base, path)
    store = Store(path)
    summary = synthesize_on_imported(store, seed=3, years=1, today=date(2025, 1, 1))
    con = store.read()
    population = scalar(con, "SELECT sum(population) FROM population")
    crimes = scalar(con, "SELECT count(*) FROM incidents WHERE type_code NOT LIKE 'N%'")
    per_1000 = crimes / population * 1000
    national = next(t.rate_per_100k for t in crime_types() if t.code == "0.0.0") / 100
    assert 0.6 * national < per_1000 < 1.6 * national, per_1000
    assert summary["first"] == "2024-01-01"
    # A database with imported (real) incidents is left alone.
    with store.write("fake import") as w:
        edit_incidents(w, "UPDATE {staging} SET batch = 'import-1'"
                          " WHERE id = (SELECT min(id) FROM {staging})")
    with pytest.raises(ValueError, match="imported incidents"):
        synthesize_on_imported(store, incidents=10)


def test_incident_filter_finds_buurten_of_merged_gemeenten(real_geography, tmp_path):
    """A buurt of an older indeling (its gemeente merged since) belongs to the gemeente that
    absorbed it: a scope on the new gemeente may filter on it; another scope may not."""
    from data.queries import incidents as qi
    from data.scope import OutOfScope, Scope

    base, layers = real_geography
    path = tmp_path / "merged.duckdb"
    shutil.copyfile(base, path)
    store = Store(path)
    synthesize_on_imported(store, seed=5, years=1, incidents=20_000, today=date(2025, 6, 15))
    con = store.read()
    buurten = layers["buurt"][0]
    stale = buurten[buurten.gm_code.isin(list(STALE))].code
    buurt = scalar(con, "SELECT bu_code FROM incidents WHERE bu_code IN (SELECT unnest(?))"
                        " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", [list(stale)])
    expected = scalar(con, "SELECT count(*) FROM incidents WHERE bu_code = ?", [buurt])
    assert expected > 0
    flt = qi.parse_filter({"area": buurt})
    assert qi.count_incidents(con, scope=Scope(frozenset({"GM1979"}), 2), flt=flt) == expected
    rows = qi.incident_page(con, scope=Scope(frozenset({"GM1979"}), 2), flt=flt, limit=1000)
    assert len(rows) == min(expected, 1000) and {r["buurtcode"] for r in rows} == {buurt}
    with pytest.raises(OutOfScope):
        qi.count_incidents(con, scope=Scope(frozenset({"GM0014"}), 2), flt=flt)
