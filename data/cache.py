"""Caches shared by the app hosts of a cluster: keys, and the session-account cache.

Two kinds of cached reads, both safe to share between users and hosts:

* **Data caches** (:func:`cache_key`, :func:`memo`): a value computed from one DuckDB version
  for one scope. The key always holds the data version (``Store.version()``: a new import is a
  new key, never a stale hit) and the scope's fingerprint (``Scope.fingerprint``: another
  user's scope is another key, never a foreign hit). The cache object is Flask-Caching's
  (``dashboard/caching.py``): RedisCache when ``DASHBOARD_REDIS_URL`` is set, else a
  per-process SimpleCache.
* **Accounts by session** (:class:`AccountCache`, Redis only): the account row a session cookie
  names (``uid``), so that validating a session on every request reads Redis instead of the
  state database. It is *write-through*: every function in ``data/accounts.py`` that ends
  sessions (logout, new password, role, disabling, removal) writes the new row (or a tombstone)
  after its transaction, on every host at once; a reader fills a missing entry only when none
  is there (``SET NX``), so a reader racing a writer can never leave the old generation behind.
  Entries also expire after :data:`ACCOUNT_TTL` seconds as a last resort.

Every process that writes accounts (the app hosts, the CLI) must have the same
``DASHBOARD_REDIS_URL``: :func:`configure` registers the Redis of a state database.
"""
from __future__ import annotations

import hashlib
import json
import os

#: Seconds an account entry lives in Redis without being written again.
ACCOUNT_TTL = 300
#: Prefix of every key this application writes to Redis (rate limits use Flask-Limiter's own).
PREFIX = "vb:"

_MISSING = object()
#: State database path -> AccountCache, for the processes configured with Redis.
_ACCOUNTS: dict[str, "AccountCache"] = {}
_CLIENTS: dict[str, object] = {}


def redis_client(url: str):
    """One Redis client (a connection pool) per URL and process."""
    if url not in _CLIENTS:
        import redis

        _CLIENTS[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return _CLIENTS[url]


def cache_key(name: str, *, scope, version: str, extra=()) -> str:
    """The key of a cached value: what it is, the data version it was computed from, the scope
    it was computed for, and any further arguments."""
    if not version:
        raise ValueError("a cached value needs the data version in its key")
    who = "-" if scope is None else scope.fingerprint()
    text = json.dumps([version, who, [repr(e) for e in extra]])
    return f"{name}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def memo(cache, key: str, compute):
    """The cached value under ``key``, computed and stored when absent (no cache: computed)."""
    if cache is None:
        return compute()
    found = cache.get(key)
    if found is not None:
        return found
    value = compute()
    if value is not None:
        cache.set(key, value)
    return value


class AccountCache:
    """Account rows by uid in Redis (see the module docstring)."""

    def __init__(self, client):
        self.client = client

    @staticmethod
    def _key(uid: str) -> str:
        # An account's uid is 32 random hex digits: unique across installations sharing Redis.
        return f"{PREFIX}account:{uid}"

    def get(self, uid: str):
        """The cached account as a dict, None for an account that is gone, or _MISSING."""
        raw = self.client.get(self._key(uid))
        if raw is None:
            return _MISSING
        return json.loads(raw)

    def fill(self, uid: str, account: dict | None) -> None:
        """A reader's fill: only when no entry is there (a writer's entry always wins)."""
        self.client.set(self._key(uid), json.dumps(account), nx=True, ex=ACCOUNT_TTL)

    def publish(self, uid: str, account: dict | None) -> None:
        """A writer's entry, after its transaction: replaces whatever is there."""
        self.client.set(self._key(uid), json.dumps(account), ex=ACCOUNT_TTL)


def _state_key(db) -> str:
    return str(getattr(db, "url", None) or os.path.abspath(db.path))


def configure(db, redis_url: str) -> AccountCache | None:
    """Register (or, with an empty URL, unregister) Redis for state database ``db`` in this
    process."""
    if not redis_url:
        _ACCOUNTS.pop(_state_key(db), None)
        return None
    _ACCOUNTS[_state_key(db)] = AccountCache(redis_client(redis_url))
    return _ACCOUNTS[_state_key(db)]


def accounts_for(db) -> AccountCache | None:
    """The account cache of state database ``db``, when this process has one."""
    return _ACCOUNTS.get(_state_key(db)) if _ACCOUNTS else None


MISSING = _MISSING
