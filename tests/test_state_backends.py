"""The state database on both backends: the embedded SQLite file and PostgreSQL
(``DASHBOARD_STATE_URL``). The core state operations run against a ``StateDB`` of each kind;
append-only tables are attacked with raw SQL (also past our connection wrapper, with psycopg
itself); ``state migrate`` moves a SQLite state with data; two "hosts" share one PostgreSQL
state; a real gunicorn server serves a login and a page with its state in PostgreSQL.

Real PostgreSQL on 127.0.0.1:5432 (a fresh database per test, dropped afterwards); the PostgreSQL
cases skip with a clear message only when no server answers there. No mocks."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import date

import pytest

from data import export_jobs, heavy, protocol
from data.accounts import (add_user, end_sessions, ensure_demo_accounts, get_email, get_profile,
                           get_user, list_users, remove_user, set_email, set_password,
                           set_profile, set_role, user_for_session, verify)
from data.meldingen import acknowledge, unread
from data.products import archive, concepts, schedule
from data.ratelimit import SQLiteStorage
from data.scope import OutOfScope, Scope
from data.state import StateDB, dialect
from data.store import Store
from data.tokens import authenticate, create_token, revoke_token

from .conftest import ROOT, LiveServer, dash_callback, demo_copy, http_login

PG_ADMIN = os.environ.get("VB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "een-lang-wachtwoord-2026"
OWN = "GMD001"


def _pg_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server answers at {PG_ADMIN}: {str(exc).strip()[:200]}"
    return None


PG_MISSING = _pg_available()
needs_pg = pytest.mark.skipif(PG_MISSING is not None, reason=str(PG_MISSING))


def _admin(sql: str) -> None:
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(sql)


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if PG_MISSING:
        pytest.skip(PG_MISSING)
    name = "vbtest_" + uuid.uuid4().hex[:12]
    _admin(f"CREATE DATABASE {name}")
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def state(request, tmp_path):
    if request.param == "sqlite":
        return StateDB(tmp_path / "appstate.sqlite")
    return StateDB(request.getfixturevalue("pg_url"))


def raw(state: StateDB):
    """A connection of the database's own driver, past our wrapper and its translation."""
    if state.postgres:
        import psycopg
        return psycopg.connect(state.url, autocommit=True)
    return sqlite3.connect(state.path, isolation_level=None)


def refused_errors():
    import psycopg
    return (sqlite3.DatabaseError, psycopg.Error)


# -- the core operations, on both backends ---------------------------------------------------

def test_accounts_sessions_and_profiles(state):
    user = add_user(state, "jan", "analist", PASSWORD, eenheden=["E01"], email="jan@example.nl")
    assert verify(state, "jan", PASSWORD).name == "jan"
    assert verify(state, "jan", "fout-wachtwoord-123") is None
    assert re.fullmatch(r"[0-9a-f]{32}", user.uid)
    session = user.get_id()
    assert user_for_session(state, session).name == "jan"
    end_sessions(state, "jan")  # a new session generation: the old cookie no longer counts
    assert user_for_session(state, session) is None
    set_password(state, "jan", PASSWORD + "!", by="test")
    assert verify(state, "jan", PASSWORD + "!") is not None
    changed = set_role(state, "jan", "burgemeester", gemeenten=[OWN])
    assert (changed.role, changed.gemeenten) == ("burgemeester", (OWN,))
    assert get_email(state, "jan") == "jan@example.nl"
    set_email(state, "jan", None)
    assert get_email(state, "jan") is None
    # INSERT OR REPLACE: the second write replaces the profile, it does not add a row
    set_profile(state, OWN, by="test", detail=2)
    set_profile(state, OWN, by="test", detail=3)
    assert get_profile(state, OWN).detail == 3
    assert state.query("SELECT count(*) FROM profiles")[0][0] == 1
    assert remove_user(state, "jan", by="test")
    assert [u.name for u in list_users(state)] == []


def test_protocol_log_is_append_only_by_raw_sql(state):
    protocol.record(state, user=None, scope=Scope(frozenset({OWN}), 1), view="test/a",
                    filters={"x": 1}, rows=3, client="pytest")
    # ``user`` is a reserved word in PostgreSQL: unquoted, ``user = ?`` compares current_user
    add_user(state, "postgres", "analist", PASSWORD, eenheden=["E01"])
    protocol.record(state, user=get_user(state, "postgres"), scope=None, view="test/b",
                    filters=None, rows=1, client="pytest")
    assert [r["view"] for r in protocol.search(state, user="postgres")] == ["test/b"]
    assert [r["view"] for r in protocol.search(state, view="TEST/")] == ["test/b", "test/a"]
    before = [tuple(r) for r in state.query("SELECT * FROM protocol_log ORDER BY id")]
    attacks = ["UPDATE protocol_log SET outcome = 'refused'", "DELETE FROM protocol_log",
               "UPDATE protocol_log SET view = 'x' WHERE id = 1"]
    if state.postgres:
        attacks.append("TRUNCATE protocol_log")
    con = raw(state)
    try:
        for sql in attacks:
            with pytest.raises(refused_errors(), match="append-only"):
                con.execute(sql)
    finally:
        con.close()
    with pytest.raises(refused_errors(), match="append-only"):  # through the app's wrapper too
        with state.transaction() as tx:
            tx.execute("DELETE FROM protocol_log WHERE id = ?", (1,))
    assert [tuple(r) for r in state.query("SELECT * FROM protocol_log ORDER BY id")] == before
    protocol.record(state, user=None, scope=None, view="test/c", filters={}, rows=0,
                    client="pytest")  # the log goes on after the refusals
    assert len(state.query("SELECT id FROM protocol_log")) == 3


def test_meldingen_unread_and_acknowledged_within_scope(state):
    ids = []
    with state.transaction() as tx:
        for n, gm in enumerate([OWN, OWN, "GMD002"]):
            cur = tx.execute(
                "INSERT OR IGNORE INTO meldingen (incident_id, gm_code, kind, type_code,"
                " occurred_at, registered_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (f"inc-{n}", gm, "inval", "1.1.1", "2026-01-01T10:00", "2026-01-01T11:00",
                 "2026-01-01T12:00:00"))
            ids.append(cur.lastrowid)
        again = tx.execute("INSERT OR IGNORE INTO meldingen (incident_id, gm_code, kind,"
                           " type_code, occurred_at, registered_at, created_at)"
                           " VALUES ('inc-0', ?, 'inval', 'x', 'x', 'x', 'x')", (OWN,))
        assert again.rowcount == 0  # the same incident is one melding
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 3
    mine = Scope(frozenset({OWN}), 1)
    assert unread(state, scope=mine, user="jan") == [ids[1], ids[0]]
    assert unread(state, scope=Scope(), user="jan") == []
    with pytest.raises(OutOfScope):  # another gemeente's melding refuses the whole request
        acknowledge(state, scope=mine, user="jan", ids=[ids[0], ids[2]])
    assert unread(state, scope=mine, user="jan") == [ids[1], ids[0]]
    assert acknowledge(state, scope=mine, user="jan", ids=[ids[0]]) == 1
    assert acknowledge(state, scope=mine, user="jan", ids=[ids[0]]) == 0  # INSERT OR IGNORE
    assert unread(state, scope=mine, user="jan") == [ids[1]]
    assert unread(state, scope=mine, user="piet") == [ids[1], ids[0]]
    assert acknowledge(state, scope=mine, user="jan") == 1


def test_tokens_export_jobs_heavy_leases_and_rate_limits(state):
    add_user(state, "dienst1", "dienst", PASSWORD, gemeenten=[OWN])
    token, text = create_token(state, "dienst1", label="koppeling", by="cli:test")
    assert isinstance(token.id, int)
    assert authenticate(state, text, demo=False)[0].name == "dienst1"
    logged = protocol.search(state, view="api-token")
    assert logged[0]["token_id"] == token.id
    revoke_token(state, token.id, by="cli:test")
    assert authenticate(state, text, demo=False) is None

    assert export_jobs.start_job(state, job="job-12345678", user="jan", total=10)
    assert not export_jobs.start_job(state, job="job-12345678", user="piet", total=10)
    export_jobs.update_job(state, job="job-12345678", user="jan", done=10, finished=True)
    assert export_jobs.job_status(state, job="job-12345678", user="jan") == {
        "total": 10, "done": 10, "finished": True, "error": None}
    assert export_jobs.job_status(state, job="job-12345678", user="piet") is None

    lease = heavy.acquire(state, user="jan", kind="rapportage", slots=2)
    assert isinstance(lease.id, int)
    with pytest.raises(heavy.Busy):  # one heavy action per user
        heavy.acquire(state, user="jan", kind="xlsx", slots=2)
    other = heavy.acquire(state, user="piet", kind="xlsx", slots=2)
    with pytest.raises(heavy.Busy):  # all slots in use
        heavy.acquire(state, user="klaas", kind="xlsx", slots=2)
    lease.release()
    other.release()
    heavy.acquire(state, user="klaas", kind="xlsx", slots=2).release()

    storage = SQLiteStorage(state.limiter_uri())
    assert storage.check()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get("other") == 0
    assert storage.get_expiry("k") > time.time()
    storage.clear("k")
    assert storage.get("k") == 0


@pytest.fixture(scope="module")
def demo_store(demo_db, tmp_path_factory):
    return Store(demo_copy(demo_db, tmp_path_factory.mktemp("state-backends")))


def test_products_and_concepts_frozen_and_append_only(state, demo_store, tmp_path):
    con = demo_store.read()
    newest = con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0]
    reference = date(newest.year, newest.month, 1)
    ensure_demo_accounts(state, con)
    mayor = schedule.mayor_scope(con, state, OWN)
    first, _ = archive.generate(demo_store, state, tmp_path, kind="stuurgegevens", area=OWN,
                                reference=reference, scope=mayor, by="test", period_key="t")
    second, _ = archive.generate(demo_store, state, tmp_path, kind="stuurgegevens", area=OWN,
                                 reference=reference, scope=mayor, by="test", period_key="t")
    assert (first.version, second.version) == (1, 2) and second.id > first.id
    burgemeester = get_user(state, "burgemeester")
    opened, data = archive.open_product(state, scope=mayor, user=burgemeester,
                                        product_id=first.id, fmt="html")
    archive.open_product(state, scope=mayor, user=burgemeester, product_id=first.id, fmt="html")
    assert data and archive.opened_ids(state, "burgemeester") == {first.id}
    with pytest.raises(OutOfScope):  # another gemeente's mayor
        archive.open_product(state, scope=Scope(frozenset({"GMD002"}), 1), user=burgemeester,
                             product_id=first.id, fmt="html")
    assert protocol.search(state, view="rapportages/open", outcome="refused")

    teamchef = get_user(state, "teamchef")
    police = Scope(frozenset({OWN}), 3)
    concept, new = concepts.create(demo_store, state, kind="gebiedsscan", area=OWN,
                                   reference=reference, period_key="t", scope=police,
                                   user=teamchef)
    assert new
    concepts.save(state, concept, user=teamchef, scope=police, duiding="Eerste.", sections={})
    concepts.save(state, concept, user=teamchef, scope=police, duiding="Tweede.", sections={})
    assert [r.revision for r in concepts.revisions(state, concept.id)] == [1, 2]
    released, _ = concepts.release(demo_store, state, tmp_path, concept, user=teamchef,
                                   scope=police)
    assert concepts.released_ids(state) == {released.id}

    con_raw = raw(state)
    try:
        for sql, message in [("UPDATE products SET area_name = 'x'", "frozen"),
                             ("UPDATE concepts SET kind = 'x'", "append-only"),
                             ("UPDATE concept_revisions SET texts = '{}'", "append-only"),
                             ("DELETE FROM concept_revisions", "append-only")]:
            with pytest.raises(refused_errors(), match=message):
                con_raw.execute(sql)
    finally:
        con_raw.close()
    assert concepts.latest(state, concept.id).texts["duiding"]["text"] == "Tweede."


# -- schema and migrations -------------------------------------------------------------------

def test_the_postgresql_schema_is_produced_from_the_one_sqlite_schema():
    from data.state import SCHEMA
    ddl = "\n".join(dialect.postgres_schema(SCHEMA))
    tables = dialect.tables(SCHEMA)
    assert set(tables) <= set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", ddl))
    assert "AUTOINCREMENT" not in ddl and "RAISE(ABORT" not in ddl
    assert ddl.count("GENERATED BY DEFAULT AS IDENTITY") == sum(
        1 for t in tables.values() if t.identity)
    assert '"user" TEXT' in ddl and " user " not in ddl
    for name in ("protocol_log_no_update", "protocol_log_no_delete",
                 "protocol_log_no_delete_truncate", "products_frozen", "concepts_fixed"):
        assert f"TRIGGER {name} " in ddl
    # a new SQLite guard trigger ports without a second definition; any other trigger is refused
    ported = dialect.postgres_schema(
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, user TEXT);"
        "CREATE TRIGGER IF NOT EXISTS notes_fixed BEFORE UPDATE ON notes"
        " BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;")
    assert any("vb_refuse('notes are append-only')" in s for s in ported)
    assert any("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" in s for s in ported)
    with pytest.raises(ValueError, match="guard triggers"):
        dialect.postgres_schema("CREATE TRIGGER t AFTER INSERT ON notes BEGIN"
                                " UPDATE notes SET user = 'x'; END;")
    # the statement translation
    text, returns_id = dialect.postgres_statement(
        "INSERT OR IGNORE INTO melding_acks VALUES (?, ?, ?)", SCHEMA)
    assert text == "INSERT INTO melding_acks VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
    assert not returns_id
    text, returns_id = dialect.postgres_statement(
        "INSERT INTO api_tokens (user, label) VALUES (?, '50%')", SCHEMA)
    assert text == "INSERT INTO api_tokens (\"user\", label) VALUES (%s, '50%%') RETURNING id"
    assert returns_id
    assert dialect.postgres_statement("SELECT ifnull(max(id), 0) FROM products", SCHEMA)[0] == (
        "SELECT coalesce(max(id), 0) FROM products")
    with pytest.raises(ValueError, match="SQLite-only"):  # refused, not silently wrong
        dialect.postgres_statement("SELECT datetime('now')", SCHEMA)
    assert dialect.postgres_statement("SELECT 'datetime(' FROM users WHERE user = ?", SCHEMA)[
        0] == "SELECT 'datetime(' FROM users WHERE \"user\" = %s"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=needs_pg)])
def test_migrations_are_recorded_and_applied_once_under_a_lock(backend, tmp_path, request,
                                                               monkeypatch):
    import data.state as package
    target = (tmp_path / "s.sqlite") if backend == "sqlite" else request.getfixturevalue("pg_url")
    first = StateDB(target)
    from data.state.db import migration_name
    assert first.schema_version() == [migration_name(m) for m in package.MIGRATIONS]
    # one line adds a column; four "hosts" start at once; it is added once and recorded once
    monkeypatch.setattr(package, "MIGRATIONS",
                        (*package.MIGRATIONS, ("users", "note", "TEXT NOT NULL DEFAULT ''")))
    errors, started = [], []

    def host():
        try:
            started.append(StateDB(target))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=host) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(started) == 4
    assert "note" in first.columns("users")
    assert first.schema_version().count("users.note") == 1
    add_user(first, "jan", "analist", PASSWORD, eenheden=["E01"])
    assert first.query("SELECT note FROM users")[0]["note"] == ""


def test_an_older_sqlite_state_is_migrated_and_recorded(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
                " role TEXT NOT NULL, gemeenten TEXT NOT NULL DEFAULT '[]', eenheden TEXT NOT"
                " NULL DEFAULT '[]', demo INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)")
    con.execute("INSERT INTO users VALUES ('oud', 'x', 'analist', '[]', '[\"E01\"]', 0, '2024')")
    con.commit()
    con.close()
    state = StateDB(path)
    assert {"uid", "session_gen", "disabled_at"} <= state.columns("users")
    assert re.fullmatch(r"[0-9a-f]{32}", get_user(state, "oud").uid)
    assert "users.uid" in state.schema_version()


@needs_pg
def test_the_app_role_of_the_readme_cannot_change_the_log_even_without_triggers(pg_url):
    """The production set-up of README (State on PostgreSQL): the owner creates the schema, the
    app connects as a role without UPDATE/DELETE/TRUNCATE on the log. The app starts (no DDL
    once the schema is current) and works; the log stays unchangeable for it even when the
    owner's trigger is gone."""
    import psycopg

    owner = StateDB(pg_url)
    role = "vbapp_" + uuid.uuid4().hex[:8]
    readme = (ROOT / "README.md").read_text()
    grants = re.search(r"CREATE ROLE vb_app.*?FROM vb_app;\n.*?FROM vb_app;", readme, re.S).group(0)
    _admin(f"CREATE ROLE {role} LOGIN")
    try:
        with psycopg.connect(pg_url, autocommit=True) as con:
            for statement in grants.replace("vb_app", role).split(";"):
                if statement.strip() and "CREATE ROLE" not in statement:
                    con.execute(statement)
            # the owner drops the guard: the privileges alone must still refuse
            con.execute("DROP TRIGGER protocol_log_no_update ON protocol_log")
            con.execute("DROP TRIGGER protocol_log_no_delete ON protocol_log")
            con.execute("DROP TRIGGER protocol_log_no_delete_truncate ON protocol_log")
        app_url = pg_url.replace("postgres@", f"{role}@")
        app = StateDB(app_url)  # starts as the app role: no DDL needed
        user = add_user(app, "jan", "analist", PASSWORD, eenheden=["E01"])
        protocol.record(app, user=user, scope=None, view="as/app", filters={}, rows=0,
                        client="t")
        with psycopg.connect(app_url, autocommit=True) as con:
            for sql in ("UPDATE protocol_log SET view = 'x'", "DELETE FROM protocol_log",
                        "TRUNCATE protocol_log", "UPDATE products SET kind = 'x'"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    con.execute(sql)
        assert [r["view"] for r in protocol.search(owner)][0] == "as/app"
    finally:
        _admin(f"DROP DATABASE IF EXISTS {pg_url.rsplit('/', 1)[1]} WITH (FORCE)")
        _admin(f"DROP ROLE IF EXISTS {role}")


# -- moving a SQLite state to PostgreSQL -----------------------------------------------------

def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@needs_pg
def test_state_migrate_copies_everything_and_the_log_continues(tmp_path, pg_url):
    path = tmp_path / "appstate.sqlite"
    sq = StateDB(path)
    user = add_user(sq, "jan", "analist", PASSWORD, eenheden=["E01"], email="jan@example.nl")
    add_user(sq, "dienst1", "dienst", PASSWORD, gemeenten=[OWN])
    token, text = create_token(sq, "dienst1", by="cli:test")
    set_profile(sq, OWN, by="test", detail=2)
    for n in range(5):
        protocol.record(sq, user=user, scope=Scope(frozenset({OWN}), 2), view=f"test/{n}",
                        filters={"n": n}, rows=n, client="pytest")
    with sq.transaction() as tx:
        tx.execute("INSERT INTO meldingen (incident_id, gm_code, kind, type_code, occurred_at,"
                    " registered_at, created_at) VALUES ('i1', ?, 'inval', 't', 'o', 'r', 'c')",
                    (OWN,))
        tx.execute("INSERT INTO melding_acks (melding_id, user, at) VALUES (1, 'jan', 'nu')")
    before = {t: n for t, n in sq.row_counts().items()}
    last = sq.query("SELECT max(id) FROM protocol_log")[0][0]
    digest = _digest(path)
    del sq

    result = _cli("state", "migrate", "--from", str(path), "--to", pg_url, "--json")
    assert result.returncode == 0, result.stderr
    copied = json.loads(result.stdout.strip().splitlines()[-1])
    assert copied == {t: n for t, n in before.items() if t != "schema_version"}
    assert copied["protocol_log"] >= 6  # 5 + the token's creation, ...
    assert _digest(path) == digest  # the SQLite file is left untouched

    pg = StateDB(pg_url)
    assert {t: n for t, n in pg.row_counts().items() if t != "schema_version"} == copied
    assert pg.schema_version() == StateDB(path).schema_version()
    assert verify(pg, "jan", PASSWORD).uid == user.uid  # a login works, same session id
    assert user_for_session(pg, user.get_id()).name == "jan"
    assert authenticate(pg, text, demo=False)[0].name == "dienst1"
    assert get_profile(pg, OWN).detail == 2 and get_email(pg, "jan") == "jan@example.nl"
    protocol.record(pg, user=user, scope=None, view="test/after", filters={}, rows=0,
                    client="pytest")  # the sequence continues past the copied ids
    assert pg.query("SELECT max(id) FROM protocol_log")[0][0] == last + 1
    assert create_token(pg, "dienst1", by="cli:test")[0].id == token.id + 1
    con = raw(pg)
    try:
        with pytest.raises(refused_errors(), match="append-only"):
            con.execute("DELETE FROM protocol_log")
    finally:
        con.close()

    now_there = pg.row_counts()
    again = _cli("state", "migrate", "--from", str(path), "--to", pg_url)
    assert again.returncode == 2 and "not empty" in again.stderr
    assert pg.row_counts() == now_there  # the refused second copy changed nothing
    info = _cli("state", "info", "--json", env={"DASHBOARD_STATE_URL": pg_url})
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["rows"]["users"] == 2


@needs_pg
def test_state_migrate_refuses_what_is_not_postgresql(tmp_path):
    path = tmp_path / "appstate.sqlite"
    StateDB(path)
    result = _cli("state", "migrate", "--from", str(path), "--to", str(tmp_path / "x.sqlite"))
    assert result.returncode == 2 and "postgresql://" in result.stderr


# -- several hosts on one PostgreSQL ---------------------------------------------------------

@needs_pg
def test_two_hosts_see_each_others_writes(pg_url):
    one, two = StateDB(pg_url), StateDB(pg_url)
    user = add_user(one, "jan", "analist", PASSWORD, eenheden=["E01"])
    assert verify(two, "jan", PASSWORD) is not None
    session = user.get_id()
    assert user_for_session(two, session).name == "jan"
    end_sessions(two, "jan")  # a logout on host two ends the session on host one
    assert user_for_session(one, session) is None
    protocol.record(one, user=user, scope=None, view="host/one", filters={}, rows=0, client="a")
    protocol.record(two, user=user, scope=None, view="host/two", filters={}, rows=0, client="b")
    assert [r["view"] for r in protocol.search(one, user="jan")] == ["host/two", "host/one"]
    a, b = SQLiteStorage(one.limiter_uri()), SQLiteStorage(two.limiter_uri())
    assert (a.incr("login:jan", 60), b.incr("login:jan", 60), a.get("login:jan")) == (1, 2, 2)
    # writers from both hosts at once: every row lands, ids unique
    def write(db, n):
        for i in range(20):
            protocol.record(db, user=user, scope=None, view=f"burst/{n}", filters={"i": i},
                            rows=0, client="t")
    threads = [threading.Thread(target=write, args=(db, n)) for n, db in enumerate([one, two] * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ids = [r[0] for r in one.query("SELECT id FROM protocol_log WHERE view LIKE 'burst/%'")]
    assert len(ids) == len(set(ids)) == 80


@needs_pg
def test_a_live_server_with_its_state_in_postgresql(demo_db, tmp_path, pg_url):
    """gunicorn (two workers) with DASHBOARD_STATE_URL: accounts, login counters, sessions and
    the protocol log all in PostgreSQL; no SQLite state file appears."""
    import requests

    folder = demo_copy(demo_db, tmp_path / "srv").parent
    server = LiveServer(folder / "demo.duckdb", env={"DASHBOARD_STATE_URL": pg_url})
    try:
        pg = StateDB(pg_url)
        assert get_user(pg, "burgemeester") is not None  # the demo accounts live in PostgreSQL
        session = http_login(server, "burgemeester")
        page = session.get(server.url + "/meldingen")
        assert page.status_code == 200 and "Veiligheidsbeeld" in page.text
        before = pg.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
        listed = dash_callback(session, server, "rapportages-lijst.children",
                               {"rapportages-signal.data": 0})
        assert listed.status_code == 200, listed.text[:300]
        logged = pg.query("SELECT \"user\", view FROM protocol_log WHERE id > ?", (before,))
        assert [tuple(r) for r in logged] and {r["user"] for r in logged} == {"burgemeester"}

        other = requests.Session()  # a wrong password: refused, counted in PostgreSQL
        form = other.get(server.url + "/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        bad = other.post(server.url + "/login", data={"name": "burgemeester",
                                                      "password": "fout", "csrf_token": token})
        assert bad.status_code == 401
        keys = [r[0] for r in pg.query("SELECT key FROM rate_limits")]
        assert any("failed" in k for k in keys) and any("burgemeester" in k for k in keys), keys
        # a logout on /beheer or the CLI (any host) ends the browser's session at once
        end_sessions(pg, "burgemeester")
        assert session.get(server.url + "/meldingen", allow_redirects=False).status_code == 302
    finally:
        server.stop()
    assert not (folder / "appstate.sqlite").exists()  # nothing went to SQLite
