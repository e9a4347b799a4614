"""Access: login in front of Dash, rate limits, sessions, scopes per role, forged callback
requests, and the protocol log — all against a real gunicorn server on the demo database."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import duckdb
import pytest
import requests
from playwright.sync_api import expect

from data.accounts import Profile, User
from layouts.admin import PRODUCTS
from data.scope import DENY, resolve_scope

from .conftest import ROOT, LiveServer, http_login, login, state_rows

OTHER = "GMD002"  # a demo gemeente that the demo 'burgemeester' (GMD001) must never see


def _name(db, code):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT name FROM areas WHERE code = ?", [code]).fetchall()[0][0]
    finally:
        con.close()


# -- unauthenticated ----------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"), ("POST", "/_dash-update-component"),
    ("GET", "/_dash-component-suites/dash/deps/polyfill@7.v4_4_1m1.min.js"),
])
def test_unauthenticated_dash_endpoints_get_401(demo_server, method, path):
    response = requests.request(method, demo_server.url + path, json={}, allow_redirects=False)
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/", "/kaart", "/beheer", "/mijn-log.csv", "/beheer/protocol.csv"])
def test_unauthenticated_pages_redirect_to_login(demo_server, path):
    response = requests.get(demo_server.url + path, allow_redirects=False)
    assert response.status_code == 302
    assert "/login?next=" + path in response.headers["Location"]


def test_login_page_is_dutch_and_has_csrf(demo_server):
    page = requests.get(demo_server.url + "/login").text
    assert "Inloggen" in page and "Wachtwoord" in page and 'name="csrf_token"' in page


def test_login_without_csrf_token_is_refused(demo_server):
    response = requests.post(demo_server.url + "/login", allow_redirects=False,
                             data={"name": "analist", "password": "demo-analist"})
    assert response.status_code == 400


def test_session_cookie_is_httponly_and_samesite_lax(demo_server):
    session = http_login(demo_server, "analist")
    cookie = next(c for c in session.cookies if c.name == "session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "Lax"


def test_open_redirect_after_login_is_refused(demo_server):
    session = requests.Session()
    form = session.get(demo_server.url + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = session.post(demo_server.url + "/login?next=https://example.org/x",
                            allow_redirects=False,
                            data={"name": "analist", "password": "demo-analist", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


# -- a server of its own: rate limits, idle timeout, restart ------------------------------------

@pytest.fixture(scope="module")
def strict_server(demo_db, tmp_path_factory):
    state = tmp_path_factory.mktemp("strict") / "appstate.sqlite"
    server = LiveServer(demo_db, env={"DASHBOARD_STATE_DB": str(state),
                                      "DASHBOARD_IDLE_MINUTES": "0.05"})
    server.state = state
    yield server
    server.stop()


def _wrong_logins(server, name, times):
    session = requests.Session()
    statuses = []
    for _ in range(times):
        form = session.get(server.url + "/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        statuses.append(session.post(server.url + "/login", allow_redirects=False, data={
            "name": name, "password": "wrong-password", "csrf_token": token}).status_code)
    return session, statuses


def test_twenty_wrong_passwords_get_429_and_lock_the_account(strict_server):
    session, statuses = _wrong_logins(strict_server, "adviseur", 20)
    assert statuses[0] == 401
    assert statuses[-1] == 429 and statuses.count(429) >= 5, statuses
    with pytest.raises(AssertionError):  # the right password is refused too while locked
        http_login(strict_server, "adviseur")
    http_login(strict_server, "analist")  # another account from the same address still works


def test_idle_session_ends(strict_server):
    session = http_login(strict_server, "analist")
    assert session.get(strict_server.url + "/_dash-layout").status_code == 200
    time.sleep(4)  # DASHBOARD_IDLE_MINUTES=0.05 -> 3 s
    assert session.get(strict_server.url + "/_dash-layout").status_code == 401


# -- scope per role -----------------------------------------------------------------------------

def _demo_con(demo_db):
    return duckdb.connect(str(demo_db), read_only=True)


def test_scope_per_role(demo_db):
    con = _demo_con(demo_db)
    gemeenten = {r[0] for r in con.execute("SELECT code FROM areas WHERE level='gemeente'").fetchall()}
    team, members = con.execute("SELECT org_code, list(gm_code) FROM org_gemeenten g JOIN org_units"
                                " u ON u.code = g.org_code WHERE u.kind = 'basisteam'"
                                " GROUP BY 1 ORDER BY 1").fetchall()[0]
    profiles = {"GMD001": Profile("GMD001", detail=2, threshold=7)}
    profile_for = lambda code: profiles.get(code, Profile(code))  # noqa: E731

    def scope(user):
        return resolve_scope(user, con=con, profile_for=profile_for)

    assert scope(User("a", "analist", eenheden=("REDL",))).gemeenten == gemeenten
    assert scope(User("a", "analist", eenheden=("REDL",))).detail == 3
    assert scope(User("t", "teamchef", gemeenten=(team,))).gemeenten == set(members)
    mayor = scope(User("b", "burgemeester", gemeenten=("GMD001",)))
    assert (mayor.gemeenten, mayor.detail, mayor.threshold) == ({"GMD001"}, 2, 7)
    both = scope(User("b", "adviseur", gemeenten=("GMD001", "GMD002")))
    assert (both.detail, both.threshold) == (1, 7)  # the most restrictive profile wins
    assert scope(User("x", "beheerder")) == DENY
    assert scope(User("x", "onbekend", gemeenten=("GMD001",))) == DENY
    assert scope(User("x", "burgemeester", gemeenten=("GM9999",))) == DENY
    assert scope(None) == DENY
    con.close()


# -- in the browser -----------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("user,own", [("burgemeester", "GMD001"), ("burgemeester2", "GMD002")])
def test_mayor_sees_only_own_gemeente(page, demo_server, demo_db, user, own):
    login(page, demo_server, user)
    rows = page.locator(".gemeente-table tbody tr")
    expect(rows).to_have_count(1, timeout=20_000)
    assert rows.first.get_attribute("data-code") == own
    expect(page.locator("#overview-subtitle")).to_contain_text(_name(demo_db, own))
    con = _demo_con(demo_db)
    newest = con.execute("SELECT date_trunc('month', max(occurred_date))::DATE FROM incidents").fetchall()[0][0]
    start = newest.replace(year=newest.year - 1)
    expected = con.execute(
        "SELECT count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ? AND occurred_date < ?"
        " AND type_code IN (SELECT type_code FROM type_groups WHERE group_code = 'alle_misdrijven')",
        [own, start, newest]).fetchall()[0][0]
    con.close()
    value = page.locator(".key-figure-value[data-group='alle_misdrijven']")
    assert int(value.get_attribute("data-value")) == expected


@pytest.mark.browser
def test_beheer_page_only_for_beheerder_and_profile_change_is_logged(page, demo_server, demo_db):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/beheer")
    expect(page.locator("#page")).to_contain_text("Geen toegang", timeout=20_000)
    page.goto(demo_server.url + "/logout")
    login(page, demo_server, "beheerder")
    page.goto(demo_server.url + "/beheer")
    expect(page.locator("#profile-message")).to_contain_text("profiel", ignore_case=True,
                                                            timeout=20_000)
    page.locator("label", has_text="3 · + adres").click()
    page.click("#profile-save")
    expect(page.locator("#profile-message")).to_contain_text("opgeslagen", timeout=20_000)
    rows = state_rows(demo_db, "SELECT filters FROM protocol_log WHERE view = 'beheer/profiel'"
                                " ORDER BY id DESC LIMIT 1")
    change = json.loads(rows[0][0])
    assert change["wijzigingen"]["detail"]["nieuw"] == 3
    # Restore the default profile for the other tests.
    subprocess.run([sys.executable, "-m", "dashboard", "--db", str(demo_db), "profiles", "set",
                    change["gemeente"], "--detail", "1"], cwd=ROOT, check=True)


# -- forged callback requests and the protocol log ----------------------------------------------

def _callbacks(session, server):
    return session.get(server.url + "/_dash-dependencies").json()


def _forge(spec, value):
    """A callback request as the browser sends it, with every input and state value forged."""
    def entry(dep):
        item = {"id": dep["id"], "property": dep["property"], "value": value}
        if isinstance(dep["id"], str) and dep["id"].startswith("{"):
            item["id"] = json.loads(dep["id"])
        return item
    outputs = []
    for part in spec["output"].strip(".").split("..."):
        component, prop = part.rsplit(".", 1)
        if component.startswith("{"):  # a pattern-matching (ALL) output: list every match
            pattern = json.loads(component)
            outputs.append([{"id": {**pattern, "product": key}, "property": prop}
                            for key in PRODUCTS])
        else:
            outputs.append({"id": component, "property": prop})
    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [entry(d) for d in spec["inputs"]],
            "state": [entry(d) for d in spec["state"]], "changedPropIds": []}


def test_forged_callbacks_never_return_another_gemeentes_data(demo_server, demo_db):
    session = http_login(demo_server, "burgemeester")
    other_name = _name(demo_db, OTHER)
    specs = _callbacks(session, demo_server)
    assert len(specs) >= 6
    checked = 0
    for spec in specs:
        for value in (OTHER, [OTHER], {"gemeente": OTHER}):
            response = session.post(demo_server.url + "/_dash-update-component",
                                    json=_forge(spec, value))
            assert response.status_code in (200, 204, 400, 500), response.status_code
            body = response.text
            assert other_name not in body, spec["output"]
            if "own-log" not in spec["output"]:  # own log echoes the forged inputs it refused
                assert OTHER not in body, spec["output"]
        checked += 1
    assert checked >= 5


def test_every_data_callback_and_download_logs_exactly_one_row(demo_server, demo_db):
    # The data views are known once the app is built: build one in a separate process (an
    # in-process app would hold the demo file open with its own DuckDB settings).
    script = ("import json; from dashboard import create_app; from callbacks.guard import DATA_VIEWS;"
              f"create_app({{'db': {str(demo_db)!r}, 'state_db': {str(demo_db.parent / 'views.sqlite')!r}}});"
              "print(json.dumps(DATA_VIEWS))")
    DATA_VIEWS = json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                                           capture_output=True, text=True).stdout)
    session = http_login(demo_server, "beheerder")
    specs = {s["output"].strip(".").split("...")[0]: s for s in _callbacks(session, demo_server)}
    assert set(DATA_VIEWS) <= set(specs), "every data view is a registered callback"
    last_id = "SELECT coalesce(max(id), 0) FROM protocol_log"
    for output, view in DATA_VIEWS.items():
        before = state_rows(demo_db, last_id)[0][0]
        response = session.post(demo_server.url + "/_dash-update-component",
                                json=_forge(specs[output], None))
        assert response.status_code == 200, (view, response.text[:300])
        rows = state_rows(demo_db, "SELECT view FROM protocol_log WHERE id > ?", (before,))
        assert [r[0] for r in rows] == [view], view
    for path, view in [("/mijn-log.csv", "mijn-log/export"),
                       ("/beheer/protocol.csv", "beheer/protocol-export")]:
        before = state_rows(demo_db)[0][0]
        response = session.get(demo_server.url + path)
        assert response.status_code == 200 and response.text.startswith("\ufeffid,at,user")
        assert state_rows(demo_db)[0][0] == before + 1
        assert state_rows(demo_db, "SELECT view FROM protocol_log ORDER BY id DESC LIMIT 1")[0][0] == view


def test_refused_request_is_logged_with_a_dutch_message(demo_server, demo_db):
    session = http_login(demo_server, "burgemeester")
    specs = {s["output"].strip(".").split("...")[0]: s for s in _callbacks(session, demo_server)}
    response = session.post(demo_server.url + "/_dash-update-component",
                            json=_forge(specs["log-count.children"], None))
    assert "geen toegang" in response.text.lower()
    last = state_rows(demo_db, "SELECT user, view, outcome FROM protocol_log ORDER BY id DESC LIMIT 1")
    assert last == [("burgemeester", "beheer/protocol", "refused")]


def test_protocol_log_is_append_only_and_survives_a_killed_server(strict_server):
    session = http_login(strict_server, "analist")
    specs = {s["output"].strip(".").split("...")[0]: s for s in _callbacks(session, strict_server)}
    session.post(strict_server.url + "/_dash-update-component",
                 json=_forge(specs["overview-subtitle.children"], None)).raise_for_status()
    con = sqlite3.connect(strict_server.state)
    count = con.execute("SELECT count(*) FROM protocol_log").fetchall()[0][0]
    assert count >= 1
    for statement in ("UPDATE protocol_log SET user = 'x'", "DELETE FROM protocol_log"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(statement)
    con.close()
    strict_server.proc.send_signal(signal.SIGKILL)
    strict_server.proc.wait(10)
    restarted = LiveServer(strict_server.db, env={"DASHBOARD_STATE_DB": str(strict_server.state)})
    try:
        http_login(restarted, "analist")  # the restarted server works on the same state
        out = subprocess.run([sys.executable, "-m", "dashboard", "--db", str(strict_server.db),
                              "log", "export", "--json"], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "DASHBOARD_STATE_DB": str(strict_server.state)},
                             check=True).stdout
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == count and rows[-1]["view"] == "overzicht"
        assert rows[-1]["user"] == "analist" and rows[-1]["outcome"] == "ok"
    finally:
        restarted.stop()

