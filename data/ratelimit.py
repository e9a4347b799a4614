"""A Flask-Limiter storage backend on the application's state database (SQLite or PostgreSQL).

Flask-Limiter's own backends are in-process memory (each gunicorn worker would count on its own)
or network servers (Redis, Memcached, MongoDB) that an air-gapped install may not have. This
backend keeps fixed-window counters in the ``rate_limits`` table of ``dashboard.state`` so that
all workers share them. URI: ``vbsqlite:///absolute/path/to/appstate.sqlite``, or with the state
on PostgreSQL ``vbpostgresql://user@host:5432/name`` (all app hosts then share the counters; see
``StateDB.limiter_uri``). A Redis storage, where one is configured, does the same with less load.
"""
from __future__ import annotations

import time
import urllib.parse

from limits.storage import Storage

from data.state import StateDB, state_errors


class SQLiteStorage(Storage):
    STORAGE_SCHEME = ["vbsqlite", "vbpostgresql"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if uri.startswith("vbpostgresql://"):
            self.db = StateDB(uri[len("vb"):])
        else:
            self.db = StateDB(urllib.parse.urlparse(uri).path)

    @property
    def base_exceptions(self):
        return state_errors()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        moment = time.time()
        with self.db.transaction() as con:
            con.execute("DELETE FROM rate_limits WHERE key = ? AND expires <= ?", (key, moment))
            con.execute(
                "INSERT INTO rate_limits (key, count, expires) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET count = rate_limits.count + excluded.count",
                (key, amount, moment + expiry))
            return con.execute("SELECT count FROM rate_limits WHERE key = ?", (key,)).fetchone()[0]

    def get(self, key: str) -> int:
        rows = self.db.query("SELECT count FROM rate_limits WHERE key = ? AND expires > ?",
                             (key, time.time()))
        return rows[0][0] if rows else 0

    def get_expiry(self, key: str) -> float:
        rows = self.db.query("SELECT expires FROM rate_limits WHERE key = ?", (key,))
        return rows[0][0] if rows else time.time()

    def check(self) -> bool:
        try:
            self.db.query("SELECT 1")
            return True
        except state_errors():
            return False

    def reset(self) -> int | None:
        with self.db.transaction() as con:
            return con.execute("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        with self.db.transaction() as con:
            con.execute("DELETE FROM rate_limits WHERE key = ?", (key,))
