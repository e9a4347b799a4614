"""Meldingen: alerts to het gezag about high-impact incidents and police raids ("invallen").

An incident that is High Impact (its ``high_impact`` flag) or of a raid type (``N06``
Inval/doorzoeking, also when a national unit registered it) becomes one *melding* for the users
whose scope holds its gemeente. Meldingen, the per-user acknowledgements and the record of sent
e-mails live in the state database (SQLite), because the analytics DuckDB is read-only while
serving and is replaced by every import.

* :func:`create_meldingen` (after ``import incidents`` and in ``meldingen scan``) adds the missing
  meldingen for incidents registered in the last ``days`` days; ``incident_id`` is unique, so
  running it again creates nothing twice. Older history (a bulk or demo import) never floods
  anyone.
* :func:`unread`, :func:`list_meldingen` and :func:`acknowledge` take ``scope=`` (keyword-only):
  a melding outside the scope does not exist for the caller; an empty scope (beheerder, unknown
  users) sees nothing. What a melding shows follows the detail level: 1 type, gemeente, date
  and time, kind; 2 plus wijk and buurt; 3 plus street, house number, MO and summary. Details
  are read from the incident in DuckDB at the time of reading, never copied into SQLite.
* :func:`send_mails` mails each user with an e-mail address one message per melding in their
  scope (same detail rules), records every attempt in ``melding_mails`` (a sent mail is never
  sent again) and writes a protocol-log row before the mail leaves.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from data.scope import OutOfScope, Scope, area_filter, resolve_scope
from data.state import StateDB, dumps, now
from layouts import format as fmt

log = logging.getLogger(__name__)

#: Non-crime incident types that are a police raid (inval/doorzoeking).
INVAL_TYPES = ("N06",)
#: Default window: incidents registered at most this many days ago become meldingen
#: (setting ``DASHBOARD_MELDING_DAYS``).
DEFAULT_DAYS = 7
#: The list on the Meldingen page shows at most this many, newest first.
LIST_LIMIT = 200
KIND_TITLES = {"inval": "Inval/doorzoeking", "high_impact": "High Impact Crime"}
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


def local_now() -> datetime:
    """Dutch wall-clock time without zone, as incident times are stored."""
    return datetime.now(LOCAL_ZONE).replace(tzinfo=None)


# -- creating --------------------------------------------------------------------------------

def create_meldingen(state: StateDB, con, *, days: int = DEFAULT_DAYS,
                     batch: str | None = None) -> list[int]:
    """Create the missing meldingen for high-impact and raid incidents registered in the last
    ``days`` days (only those of import ``batch`` when given). Returns the new melding ids.
    Administrative (import/CLI) only: it serves nothing to anyone."""
    cutoff = local_now() - timedelta(days=int(days))
    sql = ("SELECT id, gm_code, type_code, occurred_at, registered_at, high_impact"
           " FROM incidents WHERE registered_at >= ?"
           " AND (high_impact OR type_code IN (SELECT unnest(?::VARCHAR[])))")
    params: list = [cutoff, list(INVAL_TYPES)]
    if batch is not None:
        sql += " AND batch = ?"
        params.append(batch)
    rows = con.execute(sql + " ORDER BY registered_at, id", params).fetchall()
    created = []
    stamp = now()
    with state.transaction() as sq:
        for incident_id, gm_code, type_code, occurred, registered, _high_impact in rows:
            kind = "inval" if type_code in INVAL_TYPES else "high_impact"
            cur = sq.execute(
                "INSERT OR IGNORE INTO meldingen (incident_id, gm_code, kind, type_code,"
                " occurred_at, registered_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (incident_id, gm_code, kind, type_code, occurred.isoformat(timespec="minutes"),
                 registered.isoformat(timespec="minutes"), stamp))
            if cur.rowcount == 1:
                created.append(cur.lastrowid)
    return created


# -- reading (scoped) ------------------------------------------------------------------------

def _in_scope_sql(scope: Scope) -> tuple[str, list]:
    """State-database condition on meldingen.gm_code for the scope (nothing for an empty
    scope)."""
    if scope.empty:
        return "1 = 0", []
    return "m.gm_code IN (SELECT value FROM json_each(?))", [dumps(sorted(scope.gemeenten))]


def _user_name(user) -> str | None:
    return getattr(user, "name", user)


def unread(state: StateDB, *, scope: Scope, user) -> list[int]:
    """Ids of the meldingen in the scope that ``user`` has not acknowledged, newest first."""
    name = _user_name(user)
    if scope.empty or not name:
        return []
    condition, params = _in_scope_sql(scope)
    rows = state.query(
        f"SELECT m.id FROM meldingen m WHERE {condition} AND NOT EXISTS"
        " (SELECT 1 FROM melding_acks a WHERE a.melding_id = m.id AND a.user = ?)"
        " ORDER BY m.id DESC", (*params, name))
    return [r["id"] for r in rows]


def list_meldingen(state: StateDB, con, *, scope: Scope, user, limit: int = LIST_LIMIT,
                   ids: list[int] | None = None) -> list[dict]:
    """The meldingen in the scope, newest first, with the fields the detail level allows and
    whether ``user`` acknowledged them (``ids`` narrows to those meldingen)."""
    name = _user_name(user)
    if scope.empty or not name:
        return []
    condition, params = _in_scope_sql(scope)
    where = condition
    if ids is not None:
        where += " AND m.id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))"
        params.append(dumps([int(i) for i in ids]))
    rows = state.query(
        f"SELECT m.*, a.at AS acked_at FROM meldingen m LEFT JOIN melding_acks a"
        f" ON a.melding_id = m.id AND a.user = ? WHERE {where}"
        f" ORDER BY m.registered_at DESC, m.id DESC LIMIT ?", (name, *params, int(limit)))
    if not rows:
        return []
    details = _incident_details(con, scope, rows)
    items = []
    for r in rows:
        d = details.get(r["incident_id"], {})
        item = {
            "id": r["id"], "kind": r["kind"], "kind_title": KIND_TITLES[r["kind"]],
            "type_code": r["type_code"], "type_title": d.get("type_title") or r["type_code"],
            "gm_code": r["gm_code"], "gemeente": d.get("gemeente") or r["gm_code"],
            "occurred_at": r["occurred_at"], "registered_at": r["registered_at"],
            "created_at": r["created_at"], "acknowledged": r["acked_at"] is not None,
        }
        if scope.detail >= 2:
            item.update(incident_id=r["incident_id"], wijk=d.get("wijk"), buurt=d.get("buurt"))
        if scope.detail >= 3:
            item.update(street=d.get("street"), house_number=d.get("house_number"),
                        mo=d.get("mo"), summary=d.get("summary"))
        items.append(item)
    return items


def _incident_details(con, scope: Scope, rows) -> dict[str, dict]:
    """Names (and, for detail 3, address and texts) of the meldingen's incidents from DuckDB;
    columns above the scope's detail level are not even selected."""
    if con is None:
        return {}
    columns = ["i.id", "coalesce(t.title, i.type_code) AS type_title",
               "coalesce(g.name, i.gm_code) AS gemeente"]
    joins = ""
    if scope.detail >= 2:
        columns += ["w.name AS wijk", "b.name AS buurt"]
        joins += (" LEFT JOIN areas w ON w.code = i.wk_code"
                  " LEFT JOIN areas b ON b.code = i.bu_code")
    if scope.detail >= 3:
        columns += ["i.street", "i.house_number", "i.mo", "i.summary"]
    condition, params = area_filter(scope, "i.gm_code")
    dates = [r["occurred_at"][:10] for r in rows]
    frame = con.execute(
        f"SELECT {', '.join(columns)} FROM incidents i"
        " LEFT JOIN crime_types t ON t.code = i.type_code"
        f" LEFT JOIN areas g ON g.code = i.gm_code{joins}"
        f" WHERE {condition} AND i.occurred_date BETWEEN ?::DATE AND ?::DATE"
        " AND i.id IN (SELECT unnest(?::VARCHAR[]))",
        [*params, min(dates), max(dates), [r["incident_id"] for r in rows]])
    names = [d[0] for d in frame.description]
    return {row[0]: dict(zip(names, row)) for row in frame.fetchall()}


def acknowledge(state: StateDB, *, scope: Scope, user, ids: list[int] | None = None) -> int:
    """Mark meldingen as seen by ``user``: the given ids, or with ``ids=None`` every melding in
    the scope. Any id outside the scope refuses the whole request (OutOfScope). Returns how many
    were newly acknowledged."""
    name = _user_name(user)
    if scope.empty or not name:
        raise OutOfScope("meldingen: empty scope")
    condition, params = _in_scope_sql(scope)
    with state.transaction() as con:
        if ids is None:
            wanted = [r[0] for r in con.execute(
                f"SELECT m.id FROM meldingen m WHERE {condition}", params).fetchall()]
        else:
            wanted = sorted({int(i) for i in ids})
            allowed = {r[0] for r in con.execute(
                f"SELECT m.id FROM meldingen m WHERE {condition}"
                " AND m.id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
                (*params, dumps(wanted)))}
            outside = [i for i in wanted if i not in allowed]
            if outside:
                raise OutOfScope(f"meldingen {outside} outside scope")
        stamp = now()
        done = 0
        for melding_id in wanted:
            done += con.execute("INSERT OR IGNORE INTO melding_acks VALUES (?, ?, ?)",
                                (melding_id, name, stamp)).rowcount
    return done


# -- e-mail ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailResult:
    sent: int = 0
    failed: int = 0


def describe(item: dict) -> tuple[str, list[str]]:
    """Dutch title and lines of one melding as :func:`list_meldingen` returns it (its fields
    already follow the detail level)."""
    title = f"{item['kind_title']}: {item['type_title']} in {item['gemeente']}"
    lines = [f"Soort: {item['type_title']} ({item['type_code']})",
             f"Gemeente: {item['gemeente']}",
             f"Pleegdatum: {_when(item['occurred_at'])}",
             f"Geregistreerd: {_when(item['registered_at'])}"]
    if item.get("incident_id"):
        lines.append(f"Registratienummer: {item['incident_id']}")
    if item.get("wijk") or item.get("buurt"):
        lines.append(f"Wijk/buurt: {item.get('wijk') or '-'} / {item.get('buurt') or '-'}")
    if item.get("street"):
        lines.append(f"Adres: {item['street']} {item.get('house_number') or ''}".rstrip())
    if item.get("mo"):
        lines.append(f"Modus operandi: {item['mo']}")
    if item.get("summary"):
        lines.append(f"Samenvatting: {item['summary']}")
    return title, lines


def _when(text: str) -> str:
    return fmt.moment(text)


def mail_configured(settings) -> bool:
    return bool(getattr(settings, "smtp_host", "") and getattr(settings, "smtp_from", ""))


def send_mails(state: StateDB, con, settings, *, days: int = DEFAULT_DAYS,
               demo: bool = False) -> MailResult:
    """Mail every user with an address each melding of the last ``days`` days in their scope
    that was not mailed to them yet. A protocol-log row is written before each mail; a failed
    send is recorded (and retried by the next scan) and never raises."""
    from data.accounts import get_profile, list_users
    from data.protocol import append_row

    if not mail_configured(settings):
        return MailResult()
    since = (datetime.now(timezone.utc) - timedelta(days=int(days))).isoformat(
        timespec="milliseconds")
    emails = {r["name"]: r["email"] for r in state.query("SELECT name, email FROM user_emails")}
    sent = failed = 0
    for user in list_users(state):
        address = emails.get(user.name)
        if not address or user.disabled or (user.demo and not demo):
            continue
        scope = resolve_scope(user, con=con, profile_for=lambda code: get_profile(state, code))
        if scope.empty:
            continue
        condition, params = _in_scope_sql(scope)
        todo = [r["id"] for r in state.query(
            f"SELECT m.id FROM meldingen m WHERE {condition} AND m.created_at >= ? AND NOT EXISTS"
            " (SELECT 1 FROM melding_mails s WHERE s.melding_id = m.id AND s.user = ?"
            " AND s.outcome = 'sent') ORDER BY m.id", (*params, since, user.name))]
        if not todo:
            continue
        for item in reversed(list_meldingen(state, con, scope=scope, user=user, ids=todo,
                                             limit=len(todo))):
            title, lines = describe(item)
            with state.transaction() as sq:  # logged before the data leaves
                append_row(sq, user=user.name, role=user.role, scope=scope, view="meldingen/mail",
                           filters={"melding": item["id"], "aan": address}, level=scope.detail,
                           rows=1, client="smtp", outcome="ok")
            error = _send(settings, address, f"Veiligheidsbeeld – {title}",
                          "\n".join([title, "", *lines, "",
                                     "Zie Meldingen in Veiligheidsbeeld."]))
            with state.transaction() as sq:
                sq.execute("INSERT INTO melding_mails (melding_id, user, address, at, outcome,"
                           " error) VALUES (?, ?, ?, ?, ?, ?)",
                           (item["id"], user.name, address, now(),
                            "failed" if error else "sent", error))
            if error:
                failed += 1
                log.warning("melding %s to %s not sent: %s", item["id"], address, error)
            else:
                sent += 1
    return MailResult(sent, failed)


def _send(settings, to: str, subject: str, body: str) -> str | None:
    """Send one plain-text mail; the error text when it failed, else None."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, int(settings.smtp_port), timeout=20) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def after_import(store, state: StateDB, settings, *, batch: str | None = None) -> dict:
    """Meldingen (and mails) for what an incident import just swapped in. Never raises: an
    import that succeeded stays successful; problems are logged and returned."""
    try:
        con = store.read()
        created = create_meldingen(state, con, days=settings.melding_days, batch=batch)
        demo = store.meta().get("demo") == "true"
        mails = send_mails(state, con, settings, days=settings.melding_days, demo=demo)
        return {"meldingen": len(created), "mails_sent": mails.sent, "mails_failed": mails.failed}
    except Exception as exc:  # noqa: BLE001 - the import itself already succeeded
        log.exception("meldingen after import failed")
        return {"error": f"{type(exc).__name__}: {exc}"}


def scan(store, state: StateDB, settings, *, days: int | None = None) -> dict:
    """``meldingen scan``: create missing meldingen from the current database, then mail."""
    days = settings.melding_days if days is None else days
    con = store.read()
    created = create_meldingen(state, con, days=days)
    mails = send_mails(state, con, settings, days=days,
                       demo=store.meta().get("demo") == "true")
    return {"meldingen": len(created), "mails_sent": mails.sent, "mails_failed": mails.failed}
