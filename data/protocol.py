"""The protocol log (Wet politiegegevens): one row per response that carries police data.

:func:`record` is called by the data-view guard and by every download *before* the data leaves
the server; if the row cannot be written it raises, and the request fails. Rows are never
updated or deleted (SQLite triggers refuse it).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone

from data.state import StateDB, dumps, now
from layouts import format as fmt

#: The stored columns, as the command line exports them (``log export``: a machine format).
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
        params.append(_utc_since(since))
    if view:
        where.append("view LIKE ?")
        params.append(view + "%")
    if outcome:
        where.append("outcome = ?")
        params.append(outcome)
    rows = db.query(f"SELECT * FROM protocol_log WHERE {' AND '.join(where)}"
                    f" ORDER BY id DESC LIMIT ?", (*params, int(limit)))
    return [dict(r) for r in rows]


def _utc_since(since: str) -> str:
    """A start as stored (UTC ISO): a bare date is midnight in Amsterdam, as the person who
    typed it meant; a full time passes as it is."""
    text = str(since).strip()
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return text
    if day is None:
        return text
    local = datetime(day.year, day.month, day.day, tzinfo=fmt.AMSTERDAM)
    return local.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# -- as people read it --------------------------------------------------------------------------

#: Outcomes in Dutch.
OUTCOMES = {"ok": "ok", "refused": "geweigerd"}
#: The log as people read it (the Beheer and Mijn log pages, their CSV downloads): field ->
#: Dutch column title.
PEOPLE_COLUMNS = {"id": "Nr.", "tijd": "Tijd", "user": "Gebruiker", "role": "Rol",
                  "view": "Weergave", "outcome": "Uitkomst", "rows": "Rijen", "level": "Niveau",
                  "scope": "Gemeenten", "filters": "Filters", "client": "Adres",
                  "detail": "Toelichting", "token_id": "Token"}


def readable(row: dict) -> dict:
    """One log row for people: the time in Amsterdam time (``tijd``; ``at`` stays UTC, for
    sorting), filters in Dutch words, gemeenten as a list, the outcome in Dutch."""
    scope = row.get("scope")
    try:
        codes = json.loads(scope) if scope else None
    except ValueError:
        codes = None
    return {**row, "tijd": fmt.moment(row.get("at"), seconds=True),
            "filters": fmt.filters(row.get("filters") or ""),
            "scope": ", ".join(codes) if isinstance(codes, list) else (scope or ""),
            "outcome": OUTCOMES.get(row.get("outcome"), row.get("outcome"))}


def to_people_csv(rows: list[dict]) -> str:
    """The log as a CSV for people: Dutch column titles, times in Amsterdam time. Opened in a
    spreadsheet, so no cell is a formula (``data.export.neutralise_row``, as in every export): a
    log row holds text that users chose (an account name, the name of an API parameter)."""
    from data.export import neutralise_row

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(PEOPLE_COLUMNS.values())
    for row in rows:
        shown = readable(row)
        cells = ["" if shown.get(k) is None else shown[k] for k in PEOPLE_COLUMNS]
        writer.writerow(neutralise_row(cells))
    return out.getvalue()
