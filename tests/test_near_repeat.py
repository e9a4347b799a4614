"""Near-repeat warning (#17 item 4): the model on a hand-made DuckDB set (distance, days,
type, scope), the profile parameters and their bounds, the per-wijk counts under the disclosure
model, forged requests of a mayor for the detail-3 layer refused and logged, and the pages in
Debian's Chromium against the real server: the per-wijk table for a detail-1 mayor, the layer
and the address list for a teamchef."""
from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime

import duckdb
import pytest
from playwright.sync_api import expect

from data import accounts
from data.queries import near_repeat as nr
from data.queries.areas import incident_counts_by_area
from data.queries.overview import last_complete_months
from data.schema import create_schema
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db
from data.state import StateDB

from .conftest import dash_callback, http_login, login, state_rows

A = Scope(frozenset({"GM0001"}), 3, "A")
A1 = Scope(frozenset({"GM0001"}), 1, "A")
B = Scope(frozenset({"GM0002"}), 3, "B")
LON, LAT = 5.0, 52.0
METRE_LAT = 1 / 111_195.0  # degrees of latitude per metre on the haversine sphere


def _incident(con, id_, day, type_code, gm, lon, lat):
    moment = datetime(day.year, day.month, day.day, 12)
    con.execute("INSERT INTO incidents (id, registered_at, occurred_at, occurred_date, type_code,"
                " attempt, high_impact, gm_code, wk_code, bu_code, street, house_number,"
                " lon, lat) VALUES (?, ?, ?, ?, ?, false, false, ?, ?, ?, 'Dorpsstraat', '1',"
                " ?, ?)", [id_, moment, moment, day, type_code, gm, gm.replace("GM", "WK") + "01",
                           gm.replace("GM", "BU") + "0101", lon, lat])


@pytest.fixture
def small(tmp_path):
    """A burglary in GM0001 on 10 June 2026 at (LON, LAT); a theft (not 1.1.1) 50 m away on
    the same day; a burglary of GM0002 100 m from the test point; data up to 30 June."""
    con = duckdb.connect(str(tmp_path / "small.duckdb"))
    create_schema(con)
    _incident(con, "b1", date(2026, 6, 10), "1.1.1", "GM0001", LON, LAT)
    _incident(con, "t1", date(2026, 6, 10), "1.2.1", "GM0001", LON, LAT + 50 * METRE_LAT)
    _incident(con, "o1", date(2026, 6, 10), "1.1.1", "GM0002", LON - 0.01, LAT)
    _incident(con, "late", date(2026, 6, 30), "1.2.1", "GM0001", LON + 0.1, LAT)
    con.execute("INSERT INTO areas (code, level, name, gm_code) VALUES"
                " ('GM0001', 'gemeente', 'A', 'GM0001'), ('WK000101', 'wijk', 'Oud', 'GM0001')")
    yield con
    con.close()


def test_a_burglary_flags_150_m_not_250_m_and_not_after_its_days(small):
    at_150 = (LON, LAT + 150 * METRE_LAT)
    at_250 = (LON, LAT + 250 * METRE_LAT)
    east_150 = (LON + 150 * METRE_LAT / 0.6157, LAT)  # cos(52°): metres east are longer in degrees
    ref = date(2026, 6, 20)
    assert nr.flagged_points(small, scope=A, points=[at_150, at_250, east_150],
                             reference=ref) == [True, False, True]
    # Day 0 is the burglary's day: with 14 days, 13 days later still, 14 and 15 no longer.
    for day, flagged in ((date(2026, 6, 10), True), (date(2026, 6, 23), True),
                         (date(2026, 6, 24), False), (date(2026, 6, 25), False),
                         (date(2026, 6, 9), False)):  # before the burglary: nothing yet
        assert nr.flagged_points(small, scope=A, points=[at_150], reference=day) == [flagged], day
    # The profile's parameters change it: 300 m reaches 250 m; 30 days reach day 25.
    assert nr.flagged_points(small, scope=A, points=[at_250], reference=ref,
                             params=nr.Params(300, 14)) == [True]
    assert nr.flagged_points(small, scope=A, points=[at_150], reference=date(2026, 7, 5),
                             params=nr.Params(200, 30)) == [True]
    zones = nr.zones(small, scope=A, reference=ref)
    assert list(zones["id"]) == ["b1"]  # the theft 50 m away flags nothing, GM0002 not in scope
    assert zones["days_left"].tolist() == [4] and zones["radius_m"].tolist() == [200]
    # GM0002's burglary 100 m west of the point: its own scope sees it, A's does not.
    west = (LON - 0.01 + 100 * METRE_LAT / 0.6157, LAT)
    assert nr.flagged_points(small, scope=B, points=[west], reference=ref) == [True]
    assert nr.flagged_points(small, scope=A, points=[west], reference=ref) == [False]


def test_lower_detail_and_empty_scope_get_no_zones(small):
    for scope in (A1, Scope(frozenset({"GM0001"}), 2), Scope()):
        with pytest.raises(OutOfScope):
            nr.zones(small, scope=scope, reference=date(2026, 6, 20))
        with pytest.raises(OutOfScope):
            nr.flagged_points(small, scope=scope, points=[(LON, LAT)])
    with pytest.raises(OutOfScope):  # another gemeente's code as 'within'
        nr.zones(small, scope=A, within="GM0002")
    with pytest.raises(OutOfScope):
        nr.wijk_counts(small, scope=A, gemeente="GM0002")


def test_no_data_is_geen_gegevens_not_zero(small):
    assert nr.coverage(small, scope=A).reference == date(2026, 6, 30)
    outside = nr.coverage(small, scope=A, reference=date(2026, 8, 1))
    assert outside.reason and outside.reason.startswith("geen gegevens")
    assert nr.coverage(small, scope=Scope()).reason.startswith("geen gegevens")
    small.execute("UPDATE incidents SET lon = NULL, lat = NULL")
    counts = nr.wijk_counts(small, scope=Scope(frozenset({"GM0001"}), 2), gemeente="GM0001")
    assert counts.reason == "geen gegevens: de woninginbraken in de gegevens hebben geen coördinaten"
    assert counts.frame["count"].isna().all()  # <NA>, never 0


def test_detail_2_counts_per_wijk_and_burglaries_without_a_wijk(small):
    d2 = Scope(frozenset({"GM0001"}), 2)
    counts = nr.wijk_counts(small, scope=d2, gemeente="GM0001", reference=date(2026, 6, 20))
    assert counts.frame[["name", "count"]].values.tolist() == [["Oud", 1]]
    assert (counts.start, counts.end) == (date(2026, 6, 7), date(2026, 6, 20))
    small.execute("UPDATE incidents SET wk_code = NULL WHERE id = 'b1'")
    counts = nr.wijk_counts(small, scope=d2, gemeente="GM0001", reference=date(2026, 6, 20))
    assert counts.frame[["name", "count"]].values.tolist() == [["Oud", 0], ["Zonder wijk", 1]]
    later = nr.wijk_counts(small, scope=d2, gemeente="GM0001", reference=date(2026, 6, 30))
    assert later.frame[["name", "count"]].values.tolist() == [["Oud", 0]]  # covered: a true 0


def test_profile_parameters_are_checked_and_stored(tmp_path):
    assert nr.parse_params("{}") == nr.Params(200, 14)
    assert nr.parse_params({"afstand_m": 300, "dagen": 21}) == nr.Params(300, 21)
    for bad in ({"afstand_m": 49}, {"afstand_m": 1001}, {"dagen": 2}, {"dagen": 61},
                {"dagen": "14"}, {"dagen": True}, {"afstand_m": 12.5}, {"radius": 200}, "[1]",
                "{"):
        with pytest.raises(ValueError):
            nr.parse_params(bad)
    db = StateDB(tmp_path / "state.sqlite")
    with pytest.raises(accounts.AccountError):
        accounts.set_profile(db, "GM0001", by="test", near_repeat={"afstand_m": 5000})
    assert accounts.get_profile(db, "GM0001").near_repeat == {}  # nothing changed
    accounts.set_profile(db, "GM0001", by="test", near_repeat={"afstand_m": 300.0, "dagen": 7})
    assert accounts.get_profile(db, "GM0001").near_repeat == {"afstand_m": 300, "dagen": 7}
    params = nr.params_for(lambda gm: accounts.get_profile(db, gm), ["GM0001"])
    assert params == nr.Params(300, 7)
    changed = db.query("SELECT filters FROM protocol_log WHERE view = 'beheer/profiel'")
    assert "near_repeat" in changed[-1]["filters"]


# -- on the demo ---------------------------------------------------------------------------

MAYOR = Scope(frozenset({"GMD001"}), 1, "Havenstad")
TEAM = Scope(frozenset({"GMD001"}), 3, "Teamchef")


@pytest.fixture(scope="module")
def con(demo_db, tmp_path_factory):
    copy = tmp_path_factory.mktemp("near-repeat") / "demo.duckdb"
    shutil.copyfile(demo_db.resolve(), copy)
    connection = connect_db(copy)
    yield connection
    connection.close()


def test_mayor_gets_the_released_month_per_wijk_detail_2_the_last_days(con):
    mayor = nr.wijk_counts(con, scope=MAYOR, gemeente="GMD001")
    assert mayor.monthly and mayor.reason is None
    period = last_complete_months(con, scope=MAYOR, months=1)
    released = incident_counts_by_area(con, scope=MAYOR, level="wijk", period=period,
                                       group="1.1.1", within="GMD001")
    assert (dict(zip(mayor.frame["code"], mayor.frame["count"]))
            == dict(zip(released["code"], released["count"])))
    assert mayor.start == period.start
    d2 = nr.wijk_counts(con, scope=Scope(MAYOR.gemeenten, 2), gemeente="GMD001")
    assert not d2.monthly and (d2.end - d2.start).days == 13
    zones = nr.zones(con, scope=TEAM)
    assert int(d2.frame["count"].sum()) == len(zones) > 0  # the same burglaries, per wijk


def _section(page):
    return page.locator("#kaart-nr-inhoud")


@pytest.mark.browser
def test_mayor_sees_counts_per_wijk_and_no_addresses(page, demo_server, con):
    period = last_complete_months(con, scope=MAYOR, months=1)
    released = incident_counts_by_area(con, scope=MAYOR, level="wijk", period=period,
                                       group="1.1.1", within="GMD001")
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/kaart")
    table = page.locator("#kaart-nr-tabel")
    expect(table).to_be_visible(timeout=30_000)
    expect(_section(page)).to_contain_text("laatste afgesloten maand")
    expect(_section(page)).to_contain_text("publiceert de politie niet")
    shown = {r.split("\t")[0]: r.split("\t")[1] for r in table.locator("tbody tr").all_inner_texts()}
    assert shown == {r["name"]: str(r["count"]) for _, r in released.iterrows()}
    # No layer, no switch, no address on the mayor's page.
    assert page.locator("#kaart-nr").count() == 0 and page.locator("#kaart-nr-geo").count() == 0
    zones = nr.zones(con, scope=TEAM)
    text = page.locator("#page").inner_text()
    assert not any(f"{s} {h}" in text for s, h in zip(zones["street"], zones["house_number"]))


@pytest.mark.browser
def test_mayors_forged_layer_requests_are_refused_and_logged(demo_server, demo_db):
    session = http_login(demo_server, "burgemeester")
    for area in ({"level": "wijk", "area": "GMD001"}, {"level": "wijk", "area": "GMD002"}):
        response = dash_callback(session, demo_server, "kaart-nr-message.children",
                                 {"kaart-nr.value": True, "kaart-area.data": area},
                                 trigger="kaart-nr.value")
        assert response.status_code == 200
        assert "coordinates" not in response.text and "geen toegang" in response.text.lower()
        last = state_rows(demo_db, "SELECT user, view, outcome FROM protocol_log"
                                   " ORDER BY id DESC LIMIT 1")
        assert last == [("burgemeester", "kaart/near-repeat-laag", "refused")]
    # The card for another gemeente's area: refused and logged, nothing of it shown.
    response = dash_callback(session, demo_server, "kaart-nr-inhoud.children",
                             {"kaart-area.data": {"level": "wijk", "area": "GMD002"}},
                             trigger="kaart-area.data")
    assert "geen toegang" in response.text.lower() and "WKD002" not in response.text
    last = state_rows(demo_db, "SELECT user, view, outcome FROM protocol_log"
                               " ORDER BY id DESC LIMIT 1")
    assert last == [("burgemeester", "kaart/near-repeat", "refused")]
    # The mayor's own card never carries addresses, whatever the request says.
    response = dash_callback(session, demo_server, "kaart-nr-inhoud.children",
                             {"kaart-area.data": {"level": "buurt", "area": "WKD00101"}},
                             trigger="kaart-area.data")
    assert "kaart-nr-tabel" in response.text and "kaart-nr-lijst" not in response.text
    assert "Dorpsstraat" not in response.text and '"lon"' not in response.text


@pytest.mark.browser
def test_teamchef_sees_the_layer_and_the_address_list(page, demo_server, con):
    zones = nr.zones(con, scope=TEAM)
    login(page, demo_server, "teamchef")
    page.goto(demo_server.url + "/kaart?niveau=wijk&gebied=GMD001")
    listing = page.locator("#kaart-nr-lijst")
    expect(listing).to_be_visible(timeout=30_000)
    rows = listing.locator("tbody tr")
    expect(rows).to_have_count(len(zones))
    first = rows.first.locator("td").all_inner_texts()
    top = zones.iloc[0]
    assert first[0] == top["occurred_date"].strftime("%d-%m-%Y")
    assert first[1] == f"{top['street']} {top['house_number']}"
    assert first[4] == str(int(top["days_left"]))
    switch = page.locator("#kaart-nr")
    with page.expect_response(lambda r: "_dash-update-component" in r.url
                              and "kaart-nr-geo" in (r.request.post_data or ""),
                              timeout=30_000) as info:
        switch.check()
    data = info.value.json()["response"]["kaart-nr-geo"]["data"]
    assert len(data["features"]) == len(zones)
    assert {f["properties"]["radius_m"] for f in data["features"]} == {200}
    circles = page.locator("path.vb-near-repeat")
    expect(circles).to_have_count(len(zones), timeout=20_000)
    expect(page.locator("#kaart-nr-message")).to_contain_text(f"{len(zones)} zones van 200 m")
    circles.first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_contain_text("verhoogd risico",
                                                                   timeout=10_000)


# -- the validation walk (bench/near_repeat.py) ---------------------------------------------

def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "near_repeat.py"
    spec = importlib.util.spec_from_file_location("bench_near_repeat", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_walk_forward_counts_hits_and_the_flagged_share_of_homes():
    import numpy as np

    bench = _bench()
    # 100 homes on a 100 m grid (1 km x 1 km); a burglary at (0, 0) on day 3; next week one
    # burglary 150 m away (a hit) and one 600 m away (a miss).
    homes = np.array([(x * 100.0, y * 100.0) for x in range(10) for y in range(10)])
    days = np.array([3, 9, 10])
    xy = np.array([(0.0, 0.0), (150.0, 0.0), (600.0, 0.0)])
    rows = bench.walk_forward(days, xy, homes, distance=200, window=14, weeks=[7])
    # Homes within 200 m of (0, 0): (0,0) (1,0) (2,0) (0,1) (0,2) (1,1) -> 6 of 100.
    assert rows == [{"week": 7, "zones": 1, "next": 2, "hits": 1, "hit_rate": 0.5,
                     "share": 0.06, "pai": 0.5 / 0.06}]
    # A zone older than the window flags nothing: no row for that week.
    assert bench.walk_forward(days, xy, homes, distance=200, window=3, weeks=[7]) == []
    # Uniform random burglaries at homes: the PAI stays near 1 (the control's baseline).
    rng = np.random.default_rng(1)
    grid = np.array([(x * 50.0, y * 50.0) for x in range(100) for y in range(100)])
    n = 4000
    days = np.sort(rng.integers(0, 400, n))
    xy = grid[rng.integers(0, len(grid), n)]
    rows = bench.walk_forward(days, xy, grid, distance=200, window=14,
                              weeks=list(range(14, 390, 7)))
    pooled = sum(r["hits"] for r in rows) / sum(r["next"] for r in rows)
    assert 0.8 < pooled / np.mean([r["share"] for r in rows]) < 1.25


def test_the_synthesized_near_repeat_set_beats_its_control():
    import numpy as np

    bench = _bench()
    rng = np.random.default_rng(5)
    homes = rng.uniform(0, 20_000, (40_000, 2))  # a 20 km x 20 km town
    pai = {}
    for trigger in (0.3, 0.0):
        days, xy = bench.synthesize(rng, homes, per_week=60, n_days=14 + 7 * 30,
                                    trigger=trigger)
        rows = bench.walk_forward(days, xy, homes, distance=200, window=14,
                                  weeks=list(range(14, 14 + 7 * 29, 7)))
        pai[trigger] = (sum(r["hits"] for r in rows) / sum(r["next"] for r in rows)
                        / np.mean([r["share"] for r in rows]))
    assert pai[0.0] < 1.6 and pai[0.3] > 2 * pai[0.0], pai


@pytest.mark.browser
def test_beheerder_sets_the_distance_on_beheer_and_the_teamchef_map_follows(page, demo_server,
                                                                            demo_db):
    import subprocess
    import sys
    from pathlib import Path

    login(page, demo_server, "beheerder")
    page.goto(demo_server.url + "/beheer")
    # loaded: the default's text, or who changed it last (other tests change profiles)
    expect(page.locator("#profile-message")).to_contain_text(
        re.compile("profiel|laatst gewijzigd", re.IGNORECASE), timeout=20_000)
    assert page.locator("#profile-gemeente").inner_text().strip().endswith("(GMD001)")
    try:
        page.fill("#profile-nr-afstand", "2000")
        page.click("#profile-save")
        expect(page.locator("#profile-message")).to_contain_text("tussen 50 en 1000",
                                                                 timeout=20_000)
        assert state_rows(demo_db, "SELECT near_repeat FROM profiles WHERE gm_code = 'GMD001'"
                          ) in ([], [("{}",)], [('{"afstand_m": 200, "dagen": 14}',)])
        page.fill("#profile-nr-afstand", "300")
        page.fill("#profile-nr-dagen", "21")
        page.click("#profile-save")
        expect(page.locator("#profile-message")).to_contain_text("opgeslagen", timeout=20_000)
        assert json.loads(state_rows(demo_db, "SELECT near_repeat FROM profiles"
                                              " WHERE gm_code = 'GMD001'")[0][0]) == {
            "afstand_m": 300, "dagen": 21}
        page.goto(demo_server.url + "/logout")
        login(page, demo_server, "teamchef")
        page.goto(demo_server.url + "/kaart?niveau=wijk&gebied=GMD001")
        expect(page.locator("#kaart-nr-inhoud")).to_contain_text("binnen 300 m", timeout=30_000)
        expect(page.locator("#kaart-nr-inhoud")).to_contain_text("tot 21 dagen")
    finally:  # the other tests expect the default
        subprocess.run([sys.executable, "-m", "dashboard", "--db", str(demo_db), "profiles",
                        "set", "GMD001", "--near-repeat-meters", "200", "--near-repeat-days",
                        "14"], cwd=Path(__file__).resolve().parent.parent, check=True)
