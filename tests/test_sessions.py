"""Sessions that end on the server, an idle timeout that counts people, personal tokens, and
login limits that cannot be turned against users — each attacked as a user with a copied
cookie, a cross-site link, an unattended tab or a stolen beheerder login would.

Every test runs its own server on a copy of the demo database (sessions of the shared demo
server are not touched)."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time

import pytest
import requests
from playwright.sync_api import expect
from requests.adapters import HTTPAdapter

from data.accounts import add_user, remove_user
from data.state import StateDB
from dashboard import throttle

from .conftest import ROOT, LiveServer, dash_callback, http_login, login, demo_copy


@pytest.fixture
def server(demo_db, tmp_path, request):
    """A server of its own on a copy of the demo (fresh state database)."""
    db = demo_copy(demo_db, tmp_path / "db")
    live = LiveServer(db, env=getattr(request, "param", None) or {})
    live.state = StateDB(db.parent / "appstate.sqlite")
    yield live
    live.stop()


def cli(server, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(server.db), *args],
                          cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120)


def alive(session, server) -> bool:
    """Does this cookie still open a page (rather than being sent to /login)?"""
    response = session.get(server.url + "/", allow_redirects=False)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def copy_of(session) -> requests.Session:
    """Another client holding the very same cookie (a copied or stolen cookie)."""
    other = requests.Session()
    other.cookies.update(session.cookies)
    return other


def csrf_from(session, server, path="/logout") -> str:
    page = session.get(server.url + path).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


# -- sessions end on the server ---------------------------------------------------------------

def test_a_copied_cookie_dies_with_logout_and_a_cross_site_link_logs_nobody_out(server):
    session = http_login(server, "burgemeester")
    stolen = copy_of(session)
    assert alive(stolen, server)
    # A link or an image on another site (GET) and a POST without the token log nobody out.
    assert session.get(server.url + "/logout").status_code == 200
    assert session.post(server.url + "/logout", allow_redirects=False).status_code == 400
    assert alive(session, server) and alive(stolen, server)
    # The real logout (POST with CSRF) ends every session of the account, the copy too.
    out = session.post(server.url + "/logout", data={"csrf_token": csrf_from(session, server)},
                       allow_redirects=False)
    assert out.status_code == 302 and "uitgelogd" in out.headers["Location"]
    assert not alive(stolen, server)
    unauth = stolen.post(server.url + "/_dash-update-component", json={})
    assert unauth.status_code == 401


@pytest.mark.browser
def test_the_menus_uitloggen_logs_out_with_its_csrf_token(server, page):
    login(page, server, "burgemeester")
    expect(page.locator("#page")).not_to_be_empty(timeout=20_000)
    page.locator("#user-dropdown .dropdown-toggle").click()
    expect(page.locator("#logout-link")).to_be_visible()
    with page.expect_navigation(url=re.compile(r"/login\?reden=uitgelogd"), timeout=20_000):
        page.locator("#logout-link").click()
    page.goto(server.url + "/")
    page.wait_for_url(re.compile(r"/login"), timeout=20_000)


def test_new_password_role_change_and_removal_end_every_session(server):
    for change in (("users", "set-password", "adviseur", "--password-stdin"),
                   ("users", "set-role", "adviseur", "--role", "adviseur", "--gemeente",
                    "GMD002"),
                   ("users", "logout", "adviseur")):
        session = http_login(server, "adviseur", "demo-adviseur")
        assert alive(session, server)
        result = cli(server, *change, stdin="demo-adviseur\n")
        assert result.returncode == 0, result.stderr
        assert not alive(session, server), change


def test_a_removed_accounts_cookie_does_not_come_back_with_a_new_account_of_its_name(server):
    add_user(server.state, "tijdelijk", "burgemeester", "tijdelijk-wachtwoord",
             gemeenten=["GMD001"])
    session = http_login(server, "tijdelijk", "tijdelijk-wachtwoord")
    assert alive(session, server)
    assert remove_user(server.state, "tijdelijk")
    add_user(server.state, "tijdelijk", "burgemeester", "ander-wachtwoord",
             gemeenten=["GMD002"])
    assert not alive(session, server)  # not the new account's gemeente under the old cookie
    # the session cookie names an account id and generation, never the name
    assert "tijdelijk" not in str(session.cookies.get("session"))


# -- the idle timeout counts people -----------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("server", [{"DASHBOARD_IDLE_MINUTES": "0.1",
                                     "DASHBOARD_MELDING_POLL_SECONDS": "1"}], indirect=True)
def test_an_unattended_tab_with_the_bell_polling_goes_to_login(server, page):
    login(page, server, "burgemeester")
    polls = []
    page.on("request", lambda r: polls.append(r) if "_dash-update-component" in r.url else None)
    expect(page.locator("#page")).not_to_be_empty(timeout=20_000)
    # Nobody touches the tab; the bell keeps polling every second; after 6 s idle the next
    # poll is refused and the page goes to the login page.
    page.wait_for_url(re.compile(r"/login\?reden=verlopen"), timeout=30_000)
    assert len(polls) >= 5
    expect(page.locator("#login-message")).to_contain_text("verlopen")


@pytest.mark.parametrize("server", [{"DASHBOARD_IDLE_MINUTES": "0.05"}], indirect=True)
def test_person_requests_keep_the_session_and_timer_requests_do_not(server):
    session = http_login(server, "burgemeester")
    for _ in range(3):  # a person clicking every second stays logged in past the 3 s limit
        time.sleep(1.2)
        assert alive(session, server)
    poll = {"output": "melding-badge.children", "outputs": [], "inputs": [], "state": [],
            "changedPropIds": ["melding-interval.n_intervals"]}
    deadline = time.time() + 4
    while time.time() < deadline:  # only the bell polls: these do not count as activity
        session.post(server.url + "/_dash-update-component", json=poll)
        time.sleep(0.5)
    assert not alive(session, server)


# -- tokens stay personal ---------------------------------------------------------------------

def _token_count(server, user) -> int:
    return server.state.query("SELECT count(*) FROM api_tokens WHERE user = ?", (user,))[0][0]


def _beheer_tokens(session, server, trigger, **values):
    base = {"token-list.id": "token-list"}
    for key, value in values.items():  # token_user__value -> token-user.value
        ident, prop = key.split("__")
        base[f"{ident.replace('_', '-')}.{prop}"] = value
    return dash_callback(session, server, "token-message.children", base,
                         trigger=f"{trigger}.n_clicks" if trigger else None)


def test_the_beheerder_cannot_mint_a_token_that_acts_as_a_person(server):
    mayor = http_login(server, "burgemeester")  # not the beheerder: the card refuses whole
    refused = _beheer_tokens(mayor, server, "token-create", token_user__value="burgemeester")
    assert "vb_" not in refused.text and "geen toegang" in refused.text.lower()
    assert _token_count(server, "burgemeester") == 0
    beheerder = http_login(server, "beheerder")
    answer = _beheer_tokens(beheerder, server, "token-create", token_user__value="analist",
                            token_label__value="stiekem")
    assert answer.status_code == 200
    assert "vb_" not in answer.text and "persoonlijke token" in answer.text.lower()
    assert _token_count(server, "analist") == 0
    refused = cli(server, "tokens", "create", "--user", "analist")
    assert refused.returncode == 1 and _token_count(server, "analist") == 0
    # A service account, with its gemeenten set openly, gets a token from the beheerder.
    made = _beheer_tokens(beheerder, server, "service-create", service_name__value="gis-test",
                          service_gemeenten__value=["GMD001"])
    assert "gis-test" in made.text
    minted = _beheer_tokens(beheerder, server, "token-create", token_user__value="gis-test",
                            token_label__value="GIS")
    token = re.search(r"vb_[A-Za-z0-9_-]{40,}", minted.text).group(0)
    counts = requests.get(server.url + "/api/v1/counts?level=gemeente", timeout=60,
                          headers={"Authorization": f"Bearer {token}"})
    assert counts.status_code == 200
    assert set(re.findall(r"GMD\d{3}", counts.text)) == {"GMD001"}
    logged = server.state.query("SELECT view FROM protocol_log WHERE view = 'beheer/account'")
    assert logged, "creating a service account is logged"
    # A service account never logs in on the web.
    session = requests.Session()
    form = session.get(server.url + "/login").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    assert session.post(server.url + "/login", data={"name": "gis-test", "password": "x" * 10,
                                                     "csrf_token": csrf},
                        allow_redirects=False).status_code == 401


def test_a_user_creates_and_revokes_their_own_token_on_mijn_account(server):
    analist = http_login(server, "analist")
    values = {"own-token-list.id": "own-token-list", "own-token-label.value": "Excel"}
    made = dash_callback(analist, server, "own-token-message.children", values,
                         trigger="own-token-create.n_clicks")
    token = re.search(r"vb_[A-Za-z0-9_-]{40,}", made.text).group(0)
    assert _token_count(server, "analist") == 1
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(server.url + "/api/v1/incidents?limit=1", headers=headers,
                        timeout=60).status_code == 200
    listing = dash_callback(analist, server, "own-token-message.children", values)
    assert token not in listing.text and "Excel" in listing.text  # shown once, never again
    # Another user cannot revoke (or see) it.
    ident = server.state.query("SELECT id FROM api_tokens WHERE user = 'analist'")[0][0]
    mayor = http_login(server, "burgemeester")
    dash_callback(mayor, server, "own-token-message.children",
                  {**values, "own-token-revoke-id.value": ident},
                  trigger="own-token-revoke.n_clicks")
    assert requests.get(server.url + "/api/v1/incidents?limit=1", headers=headers,
                        timeout=60).status_code == 200
    dash_callback(analist, server, "own-token-message.children",
                  {**values, "own-token-revoke-id.value": ident},
                  trigger="own-token-revoke.n_clicks")
    assert requests.get(server.url + "/api/v1/incidents?limit=1", headers=headers,
                        timeout=60).status_code == 401


# -- login limits that cannot be turned against users -----------------------------------------

class FromAddress(HTTPAdapter):
    """Connect from another loopback address (127.0.0.N): another client on the network."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def try_login(session, server, name, password) -> int:
    form = session.get(server.url + "/login").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    return session.post(server.url + "/login", allow_redirects=False, data={
        "name": name, "password": password, "csrf_token": csrf}).status_code


def test_guessing_from_many_addresses_never_locks_the_mayor_out_of_her_own_browser(server):
    mayor = client("127.0.0.1")
    assert try_login(mayor, server, "burgemeester", "demo-burgemeester") == 302  # her device
    mayor.post(server.url + "/logout", data={"csrf_token": csrf_from(mayor, server)})
    answers = []
    for n in range(throttle.PER_ACCOUNT_NEW_DEVICES.amount + 4):
        attacker = client(f"127.0.0.{2 + n // 8}")  # at most 8 guesses per address
        answers.append(try_login(attacker, server, "burgemeester", f"fout-{n}"))
    assert answers.count(401) == throttle.PER_ACCOUNT_NEW_DEVICES.amount
    assert answers[-1] == 429  # the account is slowed down for devices it does not know ...
    assert try_login(mayor, server, "burgemeester", "demo-burgemeester") == 302  # ... not hers
    assert try_login(client("127.0.0.50"), server, "burgemeester", "demo-burgemeester") == 429


def test_guessing_from_her_own_address_never_locks_the_mayor_out_of_her_own_browser(server):
    """Someone behind the same address (the town hall's network) spends the account's attempts
    at that address and the address's failed attempts: the browser that logged in to the
    account before still logs in; another browser at that address cannot."""
    own = client("127.0.0.80")
    assert try_login(own, server, "teamchef", "demo-teamchef") == 302  # her device
    own.post(server.url + "/logout", data={"csrf_token": csrf_from(own, server)})
    beside = client("127.0.0.80")
    answers = [try_login(beside, server, "teamchef", f"fout-{n}")
               for n in range(throttle.PER_ACCOUNT_ADDRESS.amount + 1)]
    assert answers[-1] == 429 and answers.count(401) == throttle.PER_ACCOUNT_ADDRESS.amount
    answers = [try_login(beside, server, f"naam{n}", "fout") for n in range(
        throttle.PER_ADDRESS.amount - throttle.PER_ACCOUNT_ADDRESS.amount + 1)]
    assert answers[-1] == 429  # the address's failed attempts are spent too
    assert try_login(own, server, "teamchef", "demo-teamchef") == 302
    assert try_login(client("127.0.0.80"), server, "teamchef", "demo-teamchef") == 429


def test_one_address_is_limited_per_account_and_over_all_accounts(server):
    attacker = client("127.0.0.60")
    answers = [try_login(attacker, server, "adviseur", f"fout-{n}")
               for n in range(throttle.PER_ACCOUNT_ADDRESS.amount + 1)]
    assert answers[-1] == 429 and answers.count(401) == throttle.PER_ACCOUNT_ADDRESS.amount
    assert try_login(attacker, server, "adviseur", "demo-adviseur") == 429  # no yes/no answer
    town_hall = client("127.0.0.62")  # many people behind one address log in all day
    for name in ("burgemeester", "adviseur", "burgemeester2") * (throttle.PER_ADDRESS.amount // 3 + 2):
        assert try_login(town_hall, server, name, f"demo-{name}") == 302
    spray = client("127.0.0.61")
    answers = [try_login(spray, server, f"naam{n}", "fout-wachtwoord")
               for n in range(throttle.PER_ADDRESS.amount + 1)]
    assert answers[-1] == 429


def test_the_limiter_fails_closed_when_the_state_database_cannot_be_written(server):
    con = sqlite3.connect(server.db.parent / "appstate.sqlite")
    for event in ("INSERT", "UPDATE"):
        con.execute(f"CREATE TRIGGER no_{event.lower()} BEFORE {event} ON rate_limits "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    con.commit()
    con.close()
    session = client("127.0.0.70")
    answers = [try_login(session, server, "burgemeester", password)
               for password in ("fout-1", "fout-2", "demo-burgemeester")]
    assert answers == [503, 503, 503]  # no guessing, and no yes/no answer either
    response = session.get(server.url + "/login")
    assert response.status_code == 200  # the page itself still answers
