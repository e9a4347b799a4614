"""Small helpers for running SQL on a DuckDB connection."""
from __future__ import annotations

import weakref


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (a column named by a file, a database name)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a quoted SQL string literal (a file path, a file name), for the statements
    that take no parameters (ATTACH, COPY)."""
    return "'" + text.replace("'", "''") + "'"


def scalar(con, sql: str, params=()):
    """The single value of a query. Uses fetchall(): in DuckDB 2 a result left half-fetched by
    fetchone() blocks the next register() on the same connection."""
    rows = con.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


#: Per open connection: {key: value} of facts of the database version it reads (see
#: :func:`per_connection`). Entries go with the connection.
_PER_CONNECTION: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def per_connection(con, key, compute):
    """``compute()`` once per open DuckDB connection and ``key``, then the kept value.

    For facts of the database version a connection reads, asked on nearly every callback
    (bundle members, where the incidents start, ...): a connection reads one immutable
    version (``data.store``: a new version is a new connection), and a peildatum view is a
    cursor of its own (``data.products.asof``), so a kept value never goes stale. ``key`` must
    hold every argument the value depends on (never a user's scope unless it is in the key);
    keys must come from a small set (reference data), not from user input. A connection type
    without weak references gets no cache."""
    try:
        entries = _PER_CONNECTION.get(con)
    except TypeError:
        return compute()
    if entries is None:
        entries = {}
        try:
            _PER_CONNECTION[con] = entries
        except TypeError:
            return compute()
    try:
        return entries[key]
    except KeyError:
        value = entries[key] = compute()
        return value
