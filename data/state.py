"""Mutable application state in SQLite (WAL mode): users, agreement profiles, the protocol log,
rate-limit counters and API tokens (hashed; see ``data/tokens.py``).

The DuckDB analytics file is read-only for the web server; everything the application itself
writes lives here, where several gunicorn workers can write at once (SQLite serialises writers
and WAL lets readers go on). The protocol log is append-only: triggers refuse UPDATE and DELETE.
Meldingen, their acknowledgements, sent mails and users' e-mail addresses: ``data/meldingen.py``.
Generated products (Rapportages) and who opened them: ``data/products/archive.py``; concepts
with the police's commentary (append-only revisions) and their release:
``data/products/concepts.py``.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    gemeenten TEXT NOT NULL DEFAULT '[]',
    eenheden TEXT NOT NULL DEFAULT '[]',
    demo INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    uid TEXT,
    session_gen INTEGER NOT NULL DEFAULT 0,
    disabled_at TEXT);
CREATE TABLE IF NOT EXISTS profiles (
    gm_code TEXT PRIMARY KEY,
    detail INTEGER NOT NULL CHECK (detail BETWEEN 1 AND 3),
    threshold INTEGER NOT NULL CHECK (threshold BETWEEN 2 AND 100),  -- retired (round 1's "<5")
    driehoek TEXT NOT NULL,
    products TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    vaststellen TEXT NOT NULL DEFAULT '[]',  -- kinds released by the police (concepts)
    templates TEXT NOT NULL DEFAULT '[]',  -- themed-report templates (data/products/templates.py)
    bronnen_delen TEXT NOT NULL DEFAULT '[]');  -- police roles that see the gemeente's own sources
CREATE TABLE IF NOT EXISTS protocol_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT,
    role TEXT,
    scope TEXT,
    view TEXT NOT NULL,
    filters TEXT,
    level INTEGER,
    rows INTEGER,
    client TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
    detail TEXT,
    token_id INTEGER);
CREATE INDEX IF NOT EXISTS protocol_log_user ON protocol_log (user, at);
CREATE TRIGGER IF NOT EXISTS protocol_log_no_update BEFORE UPDATE ON protocol_log
    BEGIN SELECT RAISE(ABORT, 'the protocol log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS protocol_log_no_delete BEFORE DELETE ON protocol_log
    BEGIN SELECT RAISE(ABORT, 'the protocol log is append-only'); END;
CREATE TABLE IF NOT EXISTS user_emails (
    name TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meldingen (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL UNIQUE,
    gm_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('high_impact', 'inval')),
    type_code TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS meldingen_gemeente ON meldingen (gm_code, id);
CREATE TABLE IF NOT EXISTS melding_acks (
    melding_id INTEGER NOT NULL REFERENCES meldingen (id),
    user TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (melding_id, user));
CREATE TABLE IF NOT EXISTS melding_mails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    melding_id INTEGER NOT NULL REFERENCES meldingen (id),
    user TEXT NOT NULL,
    address TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'failed')),
    error TEXT);
CREATE INDEX IF NOT EXISTS melding_mails_user ON melding_mails (melding_id, user);
CREATE TABLE IF NOT EXISTS rate_limits (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS export_jobs (
    job TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    finished INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    revoked_at TEXT,
    revoked_by TEXT);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    area_code TEXT NOT NULL,
    area_name TEXT NOT NULL,
    gemeenten TEXT NOT NULL,
    period_key TEXT NOT NULL,
    period_label TEXT NOT NULL,
    reference_date TEXT NOT NULL,
    version INTEGER NOT NULL,
    data_version TEXT NOT NULL,
    generated_at TEXT NOT NULL,
    generated_by TEXT NOT NULL,
    detail INTEGER NOT NULL,
    threshold INTEGER NOT NULL,  -- retired (round 1's "<5"), written as 5
    scheduled INTEGER NOT NULL DEFAULT 0,
    folder TEXT NOT NULL,
    files TEXT NOT NULL,
    UNIQUE (kind, area_code, period_key, version));
CREATE TRIGGER IF NOT EXISTS products_frozen BEFORE UPDATE ON products
    BEGIN SELECT RAISE(ABORT, 'a generated product is frozen'); END;
CREATE TABLE IF NOT EXISTS product_opens (
    product_id INTEGER NOT NULL REFERENCES products (id),
    user TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (product_id, user));
CREATE TABLE IF NOT EXISTS concepts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    area_code TEXT NOT NULL,
    area_name TEXT NOT NULL,
    gemeenten TEXT NOT NULL,
    period_key TEXT NOT NULL,
    period_label TEXT NOT NULL,
    reference TEXT NOT NULL,
    sections TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    scheduled INTEGER NOT NULL DEFAULT 0,
    corrects INTEGER REFERENCES products (id));
CREATE INDEX IF NOT EXISTS concepts_period ON concepts (kind, area_code, period_key);
CREATE TRIGGER IF NOT EXISTS concepts_fixed BEFORE UPDATE ON concepts
    BEGIN SELECT RAISE(ABORT, 'a concept is append-only'); END;
CREATE TABLE IF NOT EXISTS concept_revisions (
    concept_id INTEGER NOT NULL REFERENCES concepts (id),
    revision INTEGER NOT NULL,
    texts TEXT NOT NULL,
    author TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (concept_id, revision));
CREATE TRIGGER IF NOT EXISTS concept_revisions_no_update BEFORE UPDATE ON concept_revisions
    BEGIN SELECT RAISE(ABORT, 'commentary revisions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS concept_revisions_no_delete BEFORE DELETE ON concept_revisions
    BEGIN SELECT RAISE(ABORT, 'commentary revisions are append-only'); END;
CREATE TABLE IF NOT EXISTS concept_releases (
    concept_id INTEGER PRIMARY KEY REFERENCES concepts (id),
    product_id INTEGER NOT NULL UNIQUE REFERENCES products (id),
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS heavy_leases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    expires REAL NOT NULL);
"""


#: Columns added after the first release: (table, column, type and default).
MIGRATIONS = (
    ("users", "uid", "TEXT"),
    ("users", "session_gen", "INTEGER NOT NULL DEFAULT 0"),
    ("users", "disabled_at", "TEXT"),
    ("protocol_log", "token_id", "INTEGER"),
    ("profiles", "vaststellen", "TEXT NOT NULL DEFAULT '[]'"),
    ("profiles", "templates", "TEXT NOT NULL DEFAULT '[]'"),
    ("profiles", "bronnen_delen", "TEXT NOT NULL DEFAULT '[]'"),
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class StateDB:
    """One SQLite file; a connection per thread, autocommit, explicit write transactions."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection().executescript(SCHEMA)  # idempotent; executescript manages its own commit
        self._migrate()

    def _migrate(self) -> None:
        """Bring a state database of an older release up to this schema (idempotent): columns
        added since are added with their defaults; accounts without an id get one."""
        con = self.connection()
        for table, column, ddl in MIGRATIONS:
            have = {r["name"] for r in con.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                with contextlib.suppress(sqlite3.OperationalError):  # a concurrent worker won
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
        con.execute("UPDATE users SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL")
        con.execute("CREATE UNIQUE INDEX IF NOT EXISTS users_uid ON users (uid)")

    def connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                  check_same_thread=False)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")  # a logged row survives a crash
            con.execute("PRAGMA foreign_keys=ON")
            self._local.con = con
        return con

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT; rolls back on any exception."""
        con = self.connection()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, params).fetchall()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
