"""The state database: one class, one connection factory, two backends.

``StateDB(target)`` takes a SQLite file path (the embedded default) or a ``postgresql://`` URL
(``DASHBOARD_STATE_URL``). Both give the same interface: ``connection()`` (per thread),
``transaction()`` (one writer at a time: SQLite's BEGIN IMMEDIATE; on PostgreSQL a transaction
holding the advisory lock :data:`WRITE_LOCK`, so read-then-write code keeps SQLite's
serialised-writer semantics on every host), ``query()``. On PostgreSQL the connection wrapper
translates each statement (``data.state.dialect``) and returns rows that, like ``sqlite3.Row``,
support ``row["name"]``, ``row[0]``, ``keys()`` and ``dict(row)``.

Schema and migrations are applied at start, idempotently, under a lock (PostgreSQL:
``pg_advisory_lock``; SQLite: BEGIN IMMEDIATE), so several app hosts starting at once are safe:
every table of ``SCHEMA`` is created if missing, then each entry of ``MIGRATIONS`` not yet in the
``schema_version`` table is applied (a column is added only when missing) and recorded there.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from data.state import dialect

#: pg_advisory_lock key of schema setup and migrations ("vbschema").
SCHEMA_LOCK = 0x7662736368656D61
#: pg_advisory_xact_lock key every write transaction holds ("vbwrite").
WRITE_LOCK = 0x7662777269746500

#: One row per applied migration; ``version``: 1, 2, ... in the order applied on this database.
VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    applied_at TEXT NOT NULL)"""

#: Run at every start after the migrations (cheap and idempotent): accounts without an id get one.
ALWAYS = (
    "UPDATE users SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_uid ON users (uid)",
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def is_postgres(target) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def migration_name(entry) -> str:
    """The name recorded in ``schema_version``: ``table.column`` for an added column, else the
    given name (``(name, sql)``)."""
    return f"{entry[0]}.{entry[1]}" if len(entry) == 3 else entry[0]


def unique_violation(exc: BaseException) -> bool:
    """Whether a write failed on a UNIQUE or PRIMARY KEY constraint (either backend)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    try:
        import psycopg.errors
    except ImportError:
        return False
    return isinstance(exc, psycopg.errors.UniqueViolation)


def state_errors() -> tuple[type[BaseException], ...]:
    """The database errors of both backends (for code that reports a state failure)."""
    try:
        import psycopg
        return sqlite3.Error, psycopg.Error
    except ImportError:
        return (sqlite3.Error,)


class StateDB:
    """SQLite file or PostgreSQL database; a connection per thread, autocommit, explicit write
    transactions."""

    def __init__(self, target: str | Path):
        from data import state as package
        self.schema, self.migrations = package.SCHEMA, package.MIGRATIONS
        self._local = threading.local()
        if is_postgres(str(target)):
            self.url, self.path, self.backend = str(target), None, "postgresql"
        else:
            self.url, self.path, self.backend = None, Path(target), "sqlite"
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    @property
    def postgres(self) -> bool:
        return self.backend == "postgresql"

    def limiter_uri(self) -> str:
        """Flask-Limiter storage URI of this database (``data/ratelimit.py``)."""
        if self.postgres:
            return "vb" + self.url.replace("postgres://", "postgresql://", 1)
        return f"vbsqlite://{self.path.resolve()}"

    # -- connections ---------------------------------------------------------------------------

    def connection(self):
        con = getattr(self._local, "con", None)
        if (con is not None and self._local.pid == os.getpid()
                and not getattr(con, "closed", False)):
            return con
        con = _PgConnection(self.url, self.schema) if self.postgres else _sqlite(self.path)
        self._local.con, self._local.pid = con, os.getpid()
        return con

    def _drop(self) -> None:
        """Forget this thread's connection (after a broken PostgreSQL connection)."""
        con = getattr(self._local, "con", None)
        self._local.con = None
        if con is not None:
            try:
                con.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    @contextmanager
    def transaction(self):
        """One write transaction; rolls back on any exception."""
        con = self.connection()
        try:
            if self.postgres:
                con.execute("BEGIN")
                con.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            else:
                con.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._broken()
            raise
        try:
            yield con
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except BaseException:
                self._broken()
            raise
        try:
            con.execute("COMMIT")
        except BaseException:
            self._broken()
            raise

    def _broken(self) -> None:
        if self.postgres:
            self._drop()

    def query(self, sql: str, params=()) -> list:
        try:
            return self.connection().execute(sql, params).fetchall()
        except BaseException:
            if self.postgres and self.connection().broken:
                self._drop()
            raise

    def ping(self) -> None:
        """Raise when the database does not answer (the load balancer's health check)."""
        self.query("SELECT 1")

    # -- schema and migrations -----------------------------------------------------------------

    def columns(self, table: str) -> set[str]:
        if self.postgres:
            return {r[0] for r in self.query(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?", (table,))}
        return {r["name"] for r in self.connection().execute(f"PRAGMA table_info({table})")}

    def display(self) -> str:
        """Where the state lives, for people (a password in the URL masked)."""
        if not self.postgres:
            return str(self.path)
        import urllib.parse
        parts = urllib.parse.urlsplit(self.url)
        if parts.password:
            parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
        return urllib.parse.urlunsplit(parts)

    def row_counts(self) -> dict[str, int]:
        return {t: self.query(f"SELECT count(*) FROM {t}")[0][0] for t in self.table_names()}

    def table_names(self) -> list[str]:
        """Every table of the schema (in dependency order) plus ``schema_version``."""
        return [*dialect.dependency_order(self.schema), "schema_version"]

    def fingerprint(self) -> str:
        """``schema:<hash>`` of the schema and migration list this code expects."""
        import hashlib
        text = json.dumps([self.schema, [migration_name(m) for m in self.migrations], ALWAYS])
        return "schema:" + hashlib.sha256(text.encode()).hexdigest()[:16]

    def _current(self, con) -> bool:
        """PostgreSQL: whether this exact schema was applied already (then a start needs no DDL
        and no lock, and the app may connect as a role that does not own the tables)."""
        try:
            return bool(con.execute("SELECT 1 FROM schema_version WHERE name = ?",
                                    (self.fingerprint(),)).fetchall())
        except Exception:  # noqa: BLE001 - no schema_version table yet
            return False

    def _migrate(self) -> None:
        con = self.connection()
        if self.postgres:
            if self._current(con):
                return
            con.execute("SELECT pg_advisory_lock(?)", (SCHEMA_LOCK,))
            try:
                con.execute("BEGIN")
                try:
                    for statement in [*dialect.postgres_schema(self.schema), VERSION_TABLE]:
                        con.execute_raw(statement)
                    self._apply_migrations(con)
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.execute("SELECT pg_advisory_unlock(?)", (SCHEMA_LOCK,))
        else:
            con.execute("BEGIN IMMEDIATE")
            try:
                for statement in [*dialect.statements(self.schema), VERSION_TABLE]:
                    con.execute(statement)
                self._apply_migrations(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _apply_migrations(self, con) -> None:
        done = {r[0] for r in con.execute("SELECT name FROM schema_version").fetchall()}
        for entry in self.migrations:
            name = migration_name(entry)
            if name in done:
                continue
            if len(entry) == 3:
                table, column, ddl = entry
                if column not in self.columns(table):
                    if self.postgres:
                        con.execute_raw(f"ALTER TABLE {table} ADD COLUMN"
                                        f" {dialect._quoted(column)} {dialect.column_type(ddl)}")
                    else:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
            else:
                con.execute(entry[1])
            con.execute("INSERT INTO schema_version (version, name, applied_at) VALUES"
                        " ((SELECT coalesce(max(version), 0) + 1 FROM schema_version), ?, ?)",
                        (name, now()))
        for statement in ALWAYS:
            con.execute(statement)
        if self.postgres:
            con.execute("DELETE FROM schema_version WHERE name LIKE 'schema:%'")
            con.execute("INSERT INTO schema_version (version, name, applied_at) VALUES"
                        " ((SELECT coalesce(max(version), 0) + 1 FROM schema_version), ?, ?)",
                        (self.fingerprint(), now()))

    def schema_version(self) -> list[str]:
        """Names of the applied migrations, in the order applied."""
        return [r[0] for r in self.query("SELECT name FROM schema_version ORDER BY version")
                if not r[0].startswith("schema:")]


def _sqlite(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    # WAL is a property of the file: set once. Setting it takes a lock that SQLite does not
    # wait for, so two gunicorn workers opening a new state database at once could fail to
    # boot ("database is locked"); whoever loses the race retries.
    for attempt in range(50):
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)
    con.execute("PRAGMA synchronous=FULL")  # a logged row survives a crash
    con.execute("PRAGMA foreign_keys=ON")
    return con


# -- PostgreSQL -------------------------------------------------------------------------------

class Row(tuple):
    """A result row like ``sqlite3.Row``: by position, by column name, ``keys()``, ``dict(row)``."""

    def __new__(cls, values, names, index):
        row = super().__new__(cls, values)
        row._names, row._index = names, index
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key.lower()])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor):
    names = [c.name for c in cursor.description or ()]
    index = {n.lower(): i for i, n in enumerate(names)}
    return lambda values: Row(values, names, index)


class _Cursor:
    """The part of ``sqlite3.Cursor`` the state code uses."""

    def __init__(self, cursor, returns_id: bool):
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid = None
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = row[0] if row else None

    def fetchone(self):
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self):
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self):
        return iter(self.fetchall())


class _PgConnection:
    """A psycopg connection in autocommit mode that takes the state's SQLite-flavoured SQL."""

    def __init__(self, url: str, schema: str):
        import psycopg
        from psycopg.adapt import Dumper, Loader
        from psycopg.pq import TransactionStatus

        class IntegerBool(Dumper):  # the schema's flags are INTEGER 0/1, as in SQLite
            oid = psycopg.postgres.types["int8"].oid

            def dump(self, obj):
                return b"1" if obj else b"0"

        class NumberLoader(Loader):  # sum()/avg() give NUMERIC: return int or float
            def load(self, data):
                value = float(bytes(data).decode())
                return int(value) if value.is_integer() and b"." not in bytes(data) else value

        self._idle = TransactionStatus.IDLE
        self.schema = schema
        self._con = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
        self._con.adapters.register_dumper(bool, IntegerBool)
        self._con.adapters.register_loader("numeric", NumberLoader)

    @property
    def closed(self) -> bool:
        return self._con.closed

    @property
    def broken(self) -> bool:
        return self._con.broken or self._con.closed

    def close(self) -> None:
        self._con.close()

    def execute(self, sql: str, params=()):
        text, returns_id = dialect.postgres_statement(sql, self.schema)
        cursor = self._con.cursor()
        cursor.execute(text, tuple(params))
        return _Cursor(cursor, returns_id)

    def execute_raw(self, sql: str):
        """A statement already in PostgreSQL (schema DDL): no translation, no parameters."""
        cursor = self._con.cursor()
        cursor.execute(sql)
        return _Cursor(cursor, False)

    def copy_rows(self, table: str, columns: list[str], rows) -> None:
        """Bulk-load rows with COPY (``state migrate``); names are the schema's own."""
        names = ", ".join(dialect._quoted(c) for c in columns)
        with self._con.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def executemany(self, sql: str, seq):
        text, _ = dialect.postgres_statement(sql, self.schema)
        cursor = self._con.cursor()
        cursor.executemany(text, [tuple(p) for p in seq])
        return _Cursor(cursor, False)
