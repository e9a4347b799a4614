"""Redis on a cluster (DASHBOARD_REDIS_URL, issue #18 item 2), against the real Redis server on
127.0.0.1:6379 and real gunicorn servers: one login rate limit and one session state for two
app instances, and shared caches that never serve a stale or foreign entry.

The tests use Redis database :data:`DB` (VB_TEST_REDIS_DB), emptied before and after each test.
"""
from __future__ import annotations

import os

import pytest

from dashboard import throttle

from .conftest import LiveServer, demo_copy, http_login, state_rows
from .test_sessions import client, csrf_from, try_login

DB = int(os.environ.get("VB_TEST_REDIS_DB", "13"))
URL = f"redis://127.0.0.1:6379/{DB}"


@pytest.fixture
def redis_db():
    import redis

    con = redis.Redis.from_url(URL, socket_connect_timeout=2)
    try:
        con.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server answers on 127.0.0.1:6379 (start it: see README, Redis)")
    con.flushdb()
    yield con
    con.flushdb()
    con.close()


@pytest.fixture
def pair(demo_db, tmp_path, redis_db):
    """Two app instances (two gunicorns) on one database, one state and one Redis."""
    db = demo_copy(demo_db, tmp_path / "cluster")
    env = {"DASHBOARD_REDIS_URL": URL}
    first = LiveServer(db, env=env, workers=1)
    try:
        second = LiveServer(db, env=env, workers=1)
    except Exception:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def test_two_instances_share_one_login_rate_limit_in_redis(pair, redis_db):
    first, second = pair
    attacker = client("127.0.0.90")
    answers = [try_login(attacker, (first, second)[n % 2], "adviseur", f"fout-{n}")
               for n in range(throttle.PER_ACCOUNT_ADDRESS.amount + 1)]
    # Ten guesses over both instances together, not ten on each.
    assert answers.count(401) == throttle.PER_ACCOUNT_ADDRESS.amount and answers[-1] == 429
    assert try_login(attacker, first, "adviseur", "demo-adviseur") == 429
    assert try_login(attacker, second, "adviseur", "demo-adviseur") == 429
    # The counters live in Redis (Flask-Limiter's storage), not in the state database.
    assert redis_db.keys("*login-account-address/adviseur*")
    assert state_rows(first.db, "SELECT count(*) FROM rate_limits") == [(0,)]


def test_logout_on_one_instance_ends_the_session_on_the_other_at_once(pair, redis_db):
    first, second = pair
    session = http_login(first, "burgemeester")
    cookies = session.cookies.copy()
    assert session.get(second.url + "/_dash-layout").status_code == 200  # B accepts A's cookie
    uid = state_rows(first.db, "SELECT uid FROM users WHERE name = 'burgemeester'")[0][0]
    assert redis_db.get(f"vb:account:{uid}") is not None  # B validated it through Redis

    response = session.post(first.url + "/logout", data={"csrf_token": csrf_from(session, first)},
                            allow_redirects=False)
    assert response.status_code == 302
    import requests

    stale = requests.Session()
    stale.cookies = cookies  # the cookie as it was before the logout
    assert stale.get(second.url + "/_dash-layout").status_code == 401
    assert stale.get(first.url + "/_dash-layout").status_code == 401


def test_a_new_password_from_the_command_line_ends_sessions_on_every_instance(pair, redis_db):
    import subprocess
    import sys

    from .conftest import ROOT

    first, second = pair
    session = http_login(second, "adviseur")
    assert session.get(first.url + "/_dash-layout").status_code == 200
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "--db", str(first.db), "users", "set-password",
         "adviseur", "--password-stdin"], input="een-nieuw-wachtwoord\n", text=True,
        cwd=ROOT, env={**os.environ, "DASHBOARD_REDIS_URL": URL}, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert session.get(first.url + "/_dash-layout").status_code == 401
    assert session.get(second.url + "/_dash-layout").status_code == 401


# -- shared caches: keyed by scope and data version ------------------------------------------

@pytest.fixture
def app(demo_db, tmp_path, redis_db):
    from dashboard import create_app
    from data.cache import configure

    db = demo_copy(demo_db, tmp_path / "app")
    dash_app = create_app({"db": db, "redis_url": URL, "tile_url": ""})
    yield dash_app
    configure(dash_app.server.config["VB_STATE"], "")


def _scope_of(app, name):
    import flask
    import flask_login

    from dashboard.auth import current_scope
    from data.accounts import get_user

    with app.server.test_request_context("/"):
        flask_login.login_user(get_user(app.server.config["VB_STATE"], name))
        scope = current_scope()
        assert "vb_scope" in flask.g
        return scope


def test_the_cached_scope_of_one_mayor_is_never_another_mayors(app, redis_db):
    from data.accounts import get_user

    state = app.server.config["VB_STATE"]
    first, second = get_user(state, "burgemeester"), get_user(state, "burgemeester2")
    assert first.gemeenten != second.gemeenten
    a = _scope_of(app, "burgemeester")
    assert redis_db.keys("vb:cache:scope-areas:*")  # the lookup went to Redis
    b = _scope_of(app, "burgemeester2")
    assert a.gemeenten == frozenset(first.gemeenten)
    assert b.gemeenten == frozenset(second.gemeenten)  # not the cached one of the first mayor
    assert _scope_of(app, "burgemeester") == a  # and a hit gives the same scope again


def test_cache_keys_hold_the_scope_fingerprint_and_the_data_version(app, redis_db):
    from dashboard.caching import cached
    from data.scope import Scope

    mine, theirs = Scope(frozenset({"GM0001"}), 1), Scope(frozenset({"GM0002"}), 1)
    store = app.server.config["VB_STORE"]
    with app.server.app_context():
        assert cached("probe", lambda: "van GM0001", scope=mine) == "van GM0001"
        assert cached("probe", lambda: "van GM0002", scope=theirs) == "van GM0002"
        assert cached("probe", lambda: "opnieuw", scope=mine) == "van GM0001"  # a real hit
        assert cached("probe", lambda: "meer detail", scope=Scope(mine.gemeenten, 3)) \
            == "meer detail"
        assert len(redis_db.keys("vb:cache:probe:*")) == 3
        with store.write("a new import"):
            pass
        assert cached("probe", lambda: "nieuwe versie", scope=mine) == "nieuwe versie"


def test_the_dataset_badge_is_cached_per_scope_and_version(pair, redis_db):
    first, second = pair
    for server, name in ((first, "burgemeester"), (second, "burgemeester2")):
        session = http_login(server, name)
        answer = session.post(server.url + "/_dash-update-component", json={
            "output": "dataset-badge.children",
            "outputs": {"id": "dataset-badge", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
            "changedPropIds": ["url.pathname"]})
        assert answer.status_code == 200, answer.text[:300]
        assert "dataset-period" in answer.text
    # One entry per scope (two mayors of two gemeenten), never one shared entry.
    assert len(redis_db.keys("vb:cache:dataset-summary:*")) == 2
