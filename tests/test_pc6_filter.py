"""PC6 as a *filter* needs detail level 3, like the PC6 column (issue 13).

Every row of a PC6 filter carries that PC6, so a detail-2 user who may filter on PC6 codes
learns the PC6 of every incident (and a PC6-level count, which the map refuses below detail 3).
The rule lives in the data layer (``data/queries/incidents.py: _ensure_area_levels`` for the
incident filter, ``data/queries/map.py: area`` for the map and the API's counts); these tests
try it on every path against a real gunicorn server on the demo database: the API (incidents as
JSON and CSV, counts), the web exports (CSV, XLSX), the Incidenten page link in Chromium, the
grid's row and count callbacks forged with a PC6 area, the map's link to the incident list, and
the ``export incidents`` command. Each is refused (403, the refusal message, exit code 3) with a
protocol-log row 'refused' and carries no PC6 and no rows; the same request by the demo analist
(detail level 3) is served.

The module has a server and state database of its own: Havenstad (the burgemeester's gemeente)
gets detail level 2, Veendijk (burgemeester2) keeps the default detail level 1."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
import requests
from playwright.sync_api import expect

from data.accounts import set_profile
from data.segments import connect as connect_db
from data.state import StateDB
from data.tokens import create_token

from .conftest import ROOT, LiveServer, dash_callback, http_login, login

OWN, OTHER = "GMD001", "GMD002"  # burgemeester (detail 2 here), burgemeester2 (detail 1)
REFUSED = "geen toegang"


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("pc6") / "appstate.sqlite"
    live = LiveServer(demo_db, env={"DASHBOARD_STATE_DB": str(path)})
    live.state_path = path
    live.state = StateDB(path)
    set_profile(live.state, OWN, by="test", detail=2)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def duck(demo_db):
    con = connect_db(demo_db)
    yield con
    con.close()


def some_pc6(duck, gemeente: str) -> tuple[str, str, int]:
    """A PC6 of ``gemeente`` with a few dozen incidents: (pc6, its pc4, incident count)."""
    return tuple(duck.execute(
        "SELECT pc6, any_value(pc4), count(*) FROM incidents WHERE gm_code = ? AND pc6 IS NOT"
        " NULL GROUP BY pc6 ORDER BY abs(count(*) - 30), pc6 LIMIT 1", [gemeente]).fetchone())


@pytest.fixture(scope="module")
def pc6(duck):
    return some_pc6(duck, OWN)


def spellings(code: str, pc4: str) -> list[str]:
    """The ways a PC6 can be asked for: as stored, lower case, with a space, beside its PC4."""
    return [code, code.lower(), f"{code[:4]} {code[4:]}", f"{pc4},{code}"]


@pytest.fixture(scope="module")
def tokens(server):
    return {name: create_token(server.state, name, label="pc6", by=name)[1]
            for name in ("burgemeester", "burgemeester2", "analist")}


def api(server, tokens, user: str, path: str, **params) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/{path}", params=params, timeout=60,
                        headers={"Authorization": f"Bearer {tokens[user]}"})


def last_id(server) -> int:
    return server.state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


def logged(server, since: int, view: str) -> list[dict]:
    return [dict(r) for r in server.state.query(
        "SELECT * FROM protocol_log WHERE id > ? AND view = ? ORDER BY id", (since, view))]


def assert_refused(server, since: int, view: str, user: str) -> None:
    """Exactly one new protocol-log row for ``view``: refused, for ``user``, saying why (a PC6
    area, or the PC6 level's detail level 3)."""
    rows = logged(server, since, view)
    assert [(r["user"], r["outcome"], r["rows"]) for r in rows] == [(user, "refused", 0)], rows
    detail = rows[0]["detail"] or ""
    assert "pc6" in detail or "detail 3" in detail, rows[0]


# -- API -----------------------------------------------------------------------------------------


def test_api_incidents_refuse_a_pc6_filter_below_detail_three(server, tokens, pc6):
    code, pc4, _n = pc6
    # The API takes codes as its description writes them; other spellings are a format error
    # (400) for every user alike, so they tell nothing about the level.
    for user in ("burgemeester", "analist"):
        spaced = f"{code[:4]} {code[4:]}"
        assert api(server, tokens, user, "incidents", area=spaced).status_code == 400
    for area in (code, code.lower(), f"{pc4},{code}"):
        for fmt in ("json", "csv"):
            since = last_id(server)
            response = api(server, tokens, "burgemeester", "incidents", area=area, format=fmt)
            assert response.status_code == 403, (area, fmt, response.text[:300])
            assert response.json() == {"error": "U heeft geen toegang tot deze gegevens.",
                                       "status": 403}
            assert code not in response.text
            assert_refused(server, since, "api/incidents", "burgemeester")
    # The PC4 alone (a detail-2 column) is still served: the rule is about the PC6 only.
    response = api(server, tokens, "burgemeester", "incidents", area=pc4, limit=5)
    assert response.status_code == 200 and response.json()["total"] > 0
    assert not any("pc6" in row for row in response.json()["rows"])


def test_api_incidents_serve_a_pc6_filter_at_detail_three(server, tokens, pc6, duck):
    code, pc4, n = pc6
    for area in (code, code.lower()):
        response = api(server, tokens, "analist", "incidents", area=area, limit=1000)
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        assert body["total"] == n and len(body["rows"]) == n
        assert {row["pc6"] for row in body["rows"]} == {code}
    text = api(server, tokens, "analist", "incidents", area=code, format="csv").text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))[1:]
    assert len(rows) == n


def test_api_counts_refuse_pc6_below_detail_three(server, tokens, duck):
    for user, gemeente in (("burgemeester", OWN), ("burgemeester2", OTHER)):  # detail 2 and 1
        code = some_pc6(duck, gemeente)[0]
        for params in ({"area": code}, {"level": "pc4", "area": code}):
            # `area` takes gemeente codes only (its description): a format error for anyone
            assert api(server, tokens, user, "counts", **params).status_code == 400
        for params in ({"level": "pc6"}, {"level": "pc6", "area": gemeente}):
            since = last_id(server)
            response = api(server, tokens, user, "counts", **params)
            assert response.status_code == 403, (user, params, response.text[:300])
            assert code not in response.text and "rows" not in response.json()
            assert_refused(server, since, "api/counts", user)
    # Detail 3: the PC6 layer is served; a PC6 as `area` is a 400 (it takes gemeenten only).
    response = api(server, tokens, "analist", "counts", level="pc6", area=OWN)
    assert response.status_code == 200 and response.json()["rows"]
    assert api(server, tokens, "analist", "counts", area=some_pc6(duck, OWN)[0]).status_code == 400


# -- web exports ---------------------------------------------------------------------------------


def test_web_exports_refuse_a_pc6_filter_below_detail_three(server, pc6):
    code, pc4, _n = pc6
    session = http_login(server, "burgemeester")
    for area in spellings(code, pc4):
        for fmt in ("csv", "xlsx"):
            for check in ({}, {"check": "1"}):  # the page's question first, then the file
                since = last_id(server)
                response = session.get(f"{server.url}/incidenten/export.{fmt}",
                                       params={"area": area, **check})
                assert response.status_code == 403, (area, fmt, response.text[:300])
                assert REFUSED in response.text and code not in response.text
                assert_refused(server, since, f"incidenten/export-{fmt}", "burgemeester")


def test_web_exports_serve_a_pc6_filter_at_detail_three(server, pc6):
    code, _pc4, n = pc6
    session = http_login(server, "analist")
    response = session.get(f"{server.url}/incidenten/export.csv",
                           params={"area": code, "columns": "id,pc6"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert {tuple(r[1:]) for r in rows[2:]} == {(code,)} and len(rows) - 2 == n
    response = session.get(f"{server.url}/incidenten/export.xlsx",
                           params={"area": code.lower(), "columns": "id,pc6"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    values = [row for row in sheet.iter_rows(values_only=True) if row and row[-1] == code]
    assert len(values) == n


# -- the Incidenten page, its callbacks and the map's link -----------------------------------------


def test_incidenten_link_with_a_pc6_is_refused_below_detail_three(page, server, pc6):
    code, _pc4, _n = pc6
    login(page, server, "burgemeester")
    for area in (code, f"{code[:4]}%20{code[4:].lower()}"):
        since = last_id(server)
        page.goto(f"{server.url}/incidenten?gebied={area}")
        expect(page.locator("#incidenten-geen-toegang .refusal")).to_contain_text(
            REFUSED, ignore_case=True)
        expect(page.locator("#incidenten-grid")).to_have_count(0)
        assert code not in page.content()
        assert_refused(server, since, "incidenten", "burgemeester")


def test_incidenten_link_with_a_pc6_opens_its_rows_at_detail_three(page, server, pc6, duck):
    code, _pc4, n = pc6
    newest = duck.execute("SELECT id FROM incidents WHERE pc6 = ? ORDER BY occurred_at DESC,"
                          " id DESC LIMIT 1", [code]).fetchone()[0]
    login(page, server, "analist")
    page.goto(f"{server.url}/incidenten?gebied={code}")
    expect(page.locator("#incidenten-count")).to_have_text(f"{n} incidenten", timeout=30_000)
    expect(page.locator(".ag-center-cols-container .ag-row[row-index='0'] .ag-cell[col-id='id']")
           ).to_have_text(newest, timeout=30_000)


def grid_values(area: str) -> dict:
    return {"incidenten-filter.data": {"area": [area], "key": "0" * 32},
            "incidenten-grid.getRowsRequest": {"startRow": 0, "endRow": 100, "sortModel": []}}


def test_forged_grid_callbacks_with_a_pc6_are_refused_below_detail_three(server, pc6):
    code, pc4, _n = pc6
    session = http_login(server, "burgemeester")
    for area in spellings(code, pc4):
        for output, view in (("incidenten-status.children", "incidenten/rijen"),
                             ("incidenten-count.children", "incidenten/aantal")):
            since = last_id(server)
            response = dash_callback(session, server, output, grid_values(area))
            assert response.status_code == 200
            body = response.json()["response"]
            first, prop = output.split(".")
            assert REFUSED in str(body[first][prop]).lower()
            assert set(body) == {first}  # no rows, no total
            assert code not in response.text
            assert_refused(server, since, view, "burgemeester")
    # Detail 3: the same requests are served with the PC6's rows.
    session = http_login(server, "analist")
    body = dash_callback(session, server, "incidenten-status.children",
                         grid_values(code)).json()["response"]
    assert {row["pc6"] for row in body["incidenten-grid"]["getRowsResponse"]["rowData"]} == {code}


def link_area(response) -> str:
    """The ``gebied`` of the map's link to the incident list."""
    href = response.json()["response"]["kaart-naar"]["href"]
    return parse_qs(urlsplit(href).query)["gebied"][0]


def map_click(code: str, level: str, area: str) -> dict:
    return {"kaart-geo.clickData": {"feature": {"properties": {"code": code}}},
            "kaart-area.data": {"level": level, "area": area}, "kaart-filters.data": {}}


def test_map_link_to_a_pc6_list_is_refused_below_detail_three(server, pc6):
    code, pc4, _n = pc6
    session = http_login(server, "burgemeester")
    # A detail-2 mayor's lowest map level is PC4: a click on a PC4 opens its incident list...
    response = dash_callback(session, server, "kaart-selectie.children",
                             map_click(pc4, "pc4", OWN), trigger="kaart-geo.clickData")
    assert link_area(response) == pc4
    # ...a forged click on a PC6 (at the PC4 or buurt level) is refused and logged.
    for level, area in (("pc4", OWN), ("buurt", OWN), ("pc6", pc4)):
        since = last_id(server)
        response = dash_callback(session, server, "kaart-selectie.children",
                                 map_click(code, level, area), trigger="kaart-geo.clickData")
        body = response.json()["response"]
        assert REFUSED in str(body["kaart-selectie"]["children"]).lower()
        assert "kaart-naar" not in body and code not in response.text
        assert_refused(server, since, "kaart/naar-incidenten", "burgemeester")
    # The analist's click on a PC6 (the lowest level at detail 3) opens the PC6's list.
    session = http_login(server, "analist")
    response = dash_callback(session, server, "kaart-selectie.children",
                             map_click(code, "pc6", pc4), trigger="kaart-geo.clickData")
    assert link_area(response) == code


# -- the export command --------------------------------------------------------------------------


def cli_export(server, db, user: str, area: str, out) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "--db", str(db), "export", "incidents", "--as", user,
         "--area", area, "--columns", "id,pc6" if user == "analist" else "id,pc4",
         "--format", "csv", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DASHBOARD_STATE_DB": str(server.state_path)})


def test_cli_export_refuses_a_pc6_filter_below_detail_three(server, demo_db, pc6, tmp_path):
    code, _pc4, n = pc6
    since = last_id(server)
    out = tmp_path / "burgemeester.csv"
    done = cli_export(server, demo_db, "burgemeester", code.lower(), out)
    assert done.returncode == 3, done.stderr
    assert not out.exists() and code not in done.stdout
    assert_refused(server, since, "cli/export", "burgemeester")
    out = tmp_path / "analist.csv"
    done = cli_export(server, demo_db, "analist", code, out)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig")), delimiter=";"))[2:]
    assert len(rows) == n and {r[1] for r in rows} == {code}
