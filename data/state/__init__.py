"""Mutable application state in SQLite (WAL mode, the embedded default) or PostgreSQL
(``DASHBOARD_STATE_URL=postgresql://...``): users, agreement profiles, the protocol log,
rate-limit counters and API tokens (hashed; see ``data/tokens.py``).

The DuckDB analytics file is read-only for the web server; everything the application itself
writes lives here, where several gunicorn workers can write at once (SQLite serialises writers
and WAL lets readers go on). The protocol log is append-only: triggers refuse UPDATE and DELETE.
Meldingen, their acknowledgements, sent mails (and daily digests), teamchef notes (append-only),
users' narrowing of their meldingen and e-mail addresses: ``data/meldingen.py``.
Generated products (Rapportages) and who opened them: ``data/products/archive.py``; concepts
with the police's commentary (append-only revisions) and their release:
``data/products/concepts.py``. The teamchef's duiding of the integraal ondermijningsbeeld
(append-only, newest counts): ``data/queries/ondermijning.py``.

The schema is written once, below, in SQLite DDL; ``data/state/dialect.py`` produces the
PostgreSQL DDL from it (guard triggers become ``vb_refuse`` trigger functions) and translates the
state's statements; ``data/state/db.py`` holds ``StateDB`` (the one connection factory) and the
migration runner; ``data/state/copy.py`` moves a SQLite state to PostgreSQL. Adding a table: one
``CREATE TABLE IF NOT EXISTS`` here. Adding a column: add it to the table here and one line to
``MIGRATIONS``. An append-only or frozen table: a guard trigger here
(``BEFORE UPDATE|DELETE ... BEGIN SELECT RAISE(ABORT, '...'); END``), enforced on both backends.
"""
from __future__ import annotations

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
    near_repeat TEXT NOT NULL DEFAULT '{}',  -- near-repeat distance/days (data/queries/near_repeat.py)
    meldingen TEXT NOT NULL DEFAULT '{}',  -- large-impact types and delivery (data/meldingen.py)
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
    notes_seen INTEGER NOT NULL DEFAULT 0,  -- newest melding_notes id seen (data/meldingen.py)
    PRIMARY KEY (melding_id, user));
CREATE TABLE IF NOT EXISTS melding_mails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    melding_id INTEGER NOT NULL REFERENCES meldingen (id),
    user TEXT NOT NULL,
    address TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'failed')),
    error TEXT,
    note_id INTEGER NOT NULL DEFAULT 0,  -- the newest teamchef note the mail carried
    digest_day TEXT);  -- the local day of the daily digest that carried it (NULL: direct)
CREATE INDEX IF NOT EXISTS melding_mails_user ON melding_mails (melding_id, user);
CREATE TABLE IF NOT EXISTS melding_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    melding_id INTEGER NOT NULL REFERENCES meldingen (id),
    author TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS melding_notes_melding ON melding_notes (melding_id, id);
CREATE TRIGGER IF NOT EXISTS melding_notes_no_update BEFORE UPDATE ON melding_notes
    BEGIN SELECT RAISE(ABORT, 'teamchef notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS melding_notes_no_delete BEFORE DELETE ON melding_notes
    BEGIN SELECT RAISE(ABORT, 'teamchef notes are append-only'); END;
CREATE TABLE IF NOT EXISTS melding_prefs (
    user TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    settings TEXT NOT NULL DEFAULT '{}',  -- the user's narrowing: {"types": [...], "delivery"}
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS melding_digests (
    user TEXT NOT NULL,
    day TEXT NOT NULL,  -- local date (Europe/Amsterdam) of the daily digest
    address TEXT NOT NULL,
    at TEXT NOT NULL,
    meldingen INTEGER NOT NULL,
    PRIMARY KEY (user, day));
CREATE TABLE IF NOT EXISTS rate_limits (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires REAL NOT NULL);
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
    job TEXT,  -- the background job that made it (data/jobs): a retried job finds it here
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
CREATE TABLE IF NOT EXISTS ondermijning_duiding (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    gm_code TEXT NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ondermijning_duiding_gemeente ON ondermijning_duiding (gm_code, id);
CREATE TRIGGER IF NOT EXISTS ondermijning_duiding_no_update BEFORE UPDATE ON ondermijning_duiding
    BEGIN SELECT RAISE(ABORT, 'the duiding is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ondermijning_duiding_no_delete BEFORE DELETE ON ondermijning_duiding
    BEGIN SELECT RAISE(ABORT, 'the duiding is append-only'); END;
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',  -- parameters only, never a scope (data/jobs)
    backend TEXT NOT NULL,  -- local | celery | request (an export streamed in the request)
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    host TEXT,
    pid INTEGER,
    client TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    updated_at TEXT NOT NULL,
    finished_at TEXT);
CREATE INDEX IF NOT EXISTS jobs_user ON jobs (user, status);
CREATE TABLE IF NOT EXISTS heavy_leases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    expires REAL NOT NULL);
"""


#: Schema migrations in order, each applied once per database and recorded by name in the
#: ``schema_version`` table: ``(table, column, type and default)`` adds a column (written in
#: SQLite DDL, translated for PostgreSQL) unless it exists; ``(name, sql)`` runs a statement.
MIGRATIONS = (
    ("users", "uid", "TEXT"),
    ("users", "session_gen", "INTEGER NOT NULL DEFAULT 0"),
    ("users", "disabled_at", "TEXT"),
    ("protocol_log", "token_id", "INTEGER"),
    ("profiles", "vaststellen", "TEXT NOT NULL DEFAULT '[]'"),
    ("profiles", "templates", "TEXT NOT NULL DEFAULT '[]'"),
    ("profiles", "near_repeat", "TEXT NOT NULL DEFAULT '{}'"),
    ("profiles", "meldingen", "TEXT NOT NULL DEFAULT '{}'"),
    ("melding_mails", "note_id", "INTEGER NOT NULL DEFAULT 0"),
    ("melding_mails", "digest_day", "TEXT"),
    ("profiles", "bronnen_delen", "TEXT NOT NULL DEFAULT '[]'"),
    ("melding_acks", "notes_seen", "INTEGER NOT NULL DEFAULT 0"),
    ("products", "job", "TEXT"),
    ("products_job_unique",
     "CREATE UNIQUE INDEX IF NOT EXISTS products_job ON products (job)"),
    ("drop_export_jobs", "DROP TABLE IF EXISTS export_jobs"),  # folded into jobs (data/jobs)
)


from data.state.db import StateDB, dumps, now, state_errors, unique_violation  # noqa: E402

__all__ = ["MIGRATIONS", "SCHEMA", "StateDB", "dumps", "now", "state_errors", "unique_violation"]
