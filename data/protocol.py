"""The protocol log (Wet politiegegevens): one row per response that carries police data.

:func:`record` is called by the data-view guard and by every download *before* the data leaves
the server; if the row cannot be written it raises, and the request fails. Rows are never
updated or deleted (SQLite triggers refuse it).
"""
from __future__ import annotations

import csv
import io

from data.state import StateDB, dumps, now

COLUMNS = ("id", "at", "user", "role", "scope", "view", "filters", "level", "rows", "client",
           "outcome", "detail", "token_id")


def append_row(con, *, user, role, scope, view, filters, level, rows, client, outcome,
               detail=None, token_id=None) -> None:
    """Append one row inside an open transaction of the state database. ``token_id`` names the
    API token a request came with (API rows carry it; web rows have none)."""
    con.execute(
        "INSERT INTO protocol_log (at, user, role, scope, view, filters, level, rows, client,"
        " outcome, detail, token_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (now(), user, role, None if scope is None else dumps(sorted(scope.gemeenten)), view,
         dumps(filters or {}), level, rows, client, outcome, detail, token_id))


def record(db: StateDB, *, user, scope, view: str, filters: dict | None, rows: int | None,
           client: str | None, outcome: str = "ok", detail: str | None = None,
           token_id: int | None = None) -> None:
    """Log one response. Raises when the row cannot be written durably."""
    with db.transaction() as con:
        append_row(con, user=getattr(user, "name", None), role=getattr(user, "role", None),
                   scope=scope, view=view, filters=filters, level=scope.detail if scope else None,
                   rows=rows, client=client, outcome=outcome, detail=detail, token_id=token_id)


def search(db: StateDB, *, user: str | None = None, since: str | None = None,
           view: str | None = None, outcome: str | None = None, limit: int = 1000) -> list[dict]:
    """Log rows, newest first, filtered by user, start time (ISO), view prefix and outcome."""
    where, params = ["1 = 1"], []
    if user:
        where.append("user = ?")
        params.append(user)
    if since:
        where.append("at >= ?")
        params.append(since)
    if view:
        where.append("view LIKE ?")
        params.append(view + "%")
    if outcome:
        where.append("outcome = ?")
        params.append(outcome)
    rows = db.query(f"SELECT * FROM protocol_log WHERE {' AND '.join(where)}"
                    f" ORDER BY id DESC LIMIT ?", (*params, int(limit)))
    return [dict(r) for r in rows]


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
