"""Meldingen: alerts to het gezag about incidents with large impact and police raids ("invallen").

An incident of a type that the agreement profile of its gemeente counts as *large impact*
(``Profile.meldingen["types"]``: type codes or bundles; default :data:`DEFAULT_TYPES`; raids,
``N06`` Inval/doorzoeking, always) becomes one *melding* for the users whose scope holds its
gemeente. Each user may narrow the types further and choose the delivery (``melding_prefs``,
on /mijn-account): "direct" (one mail per melding) or "dagelijks" (one digest mail per day,
grouped per day and type). A teamchef whose scope holds the gemeente adds a short note to a
melding (``melding_notes``, append-only): it reaches the mayor marked "van de teamchef", makes
the melding unread again and is mailed as an update (once). Raids carry their executing unit
and whether the OM ordered them (DuckDB ``raid_details``; absent = "onbekend"). Meldingen, the per-user acknowledgements and the record of sent
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

import json
import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from data.accounts import AccountError
from data.scope import OutOfScope, Scope, area_filter, resolve_scope
from data.state import StateDB, dumps, now
from layouts import format as fmt

log = logging.getLogger(__name__)

#: Non-crime incident types that are a police raid (inval/doorzoeking): always a melding.
INVAL_TYPES = ("N06",)
#: Large-impact types of a profile that chose none: raids, moord/doodslag (1.4.2, which holds
#: shootings with victims), overval (1.4.7) and brand/ontploffing (1.6.1: explosions and arson
#: attacks on buildings). Not every assault and threat: that was the noise of round 1 (a
#: profile may add them, or e.g. 3.1.3 Wapenhandel).
DEFAULT_TYPES = ("N06", "1.4.2", "1.4.7", "1.6.1")
#: Delivery by e-mail: one mail per melding at once, or one daily digest.
DELIVERIES = ("direct", "dagelijks")
#: A daily digest is due from this local hour on (the first run of ``meldingen mail`` or
#: ``meldingen scan`` after it sends it; ``--digest`` sends it at once).
DIGEST_HOUR = 7
#: The longest teamchef note.
NOTE_MAX = 500
#: Default window: incidents registered at most this many days ago become meldingen
#: (setting ``DASHBOARD_MELDING_DAYS``).
DEFAULT_DAYS = 7
#: The list on the Meldingen page shows at most this many, newest first.
LIST_LIMIT = 200
KIND_TITLES = {"inval": "Inval/doorzoeking", "high_impact": "Grote impact"}
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")

#: The melding ids of a JSON list parameter, as integers on both state backends.
_IDS = "SELECT CAST(value AS INTEGER) FROM json_each(?)"


def local_now() -> datetime:
    """Dutch wall-clock time without zone, as incident times are stored."""
    return datetime.now(LOCAL_ZONE).replace(tzinfo=None)


# -- creating --------------------------------------------------------------------------------

class MeldingError(AccountError):
    """Bad settings or a bad note; the message is safe to show."""


def type_options() -> list[tuple[str, str]]:
    """(code, Dutch label) of the bundles and types a profile or user can choose, bundles first
    (from the reference catalogue: no police data)."""
    from data.catalog import crime_types, group_members

    bundles = sorted(((code, f"{title} (bundel)") for code, (title, _m) in
                      group_members().items()), key=lambda c: c[1])
    return bundles + [(t.code, f"{t.code} {t.title}") for t in crime_types()
                      if t.kind != "totaal"]


def expand(codes) -> frozenset[str]:
    """The type codes that type codes and bundles stand for."""
    from data.catalog import group_members

    groups = group_members()
    out: set[str] = set()
    for code in codes:
        out.update(groups[code][1] if code in groups else (code,))
    return frozenset(out)


def check_settings(raw) -> dict:
    """A profile's or user's meldingen settings, checked: ``{"types": [codes], "delivery":
    "direct"|"dagelijks"}``, each key optional (absent = the default or, for a user, the
    profile's). Raises MeldingError (an AccountError) naming what is wrong."""
    _Error = MeldingError
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError as exc:
            raise _Error(f"meldingen settings are not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise _Error("meldingen settings must be an object with 'types' and/or 'delivery'")
    unknown = sorted(set(raw) - {"types", "delivery"})
    if unknown:
        raise _Error(f"unknown meldingen setting {unknown[0]!r}; use types and delivery")
    out: dict = {}
    if raw.get("types") is not None:
        types = raw["types"]
        if not isinstance(types, (list, tuple)) or not all(isinstance(t, str) for t in types):
            raise _Error("meldingen types must be a list of type or bundle codes")
        known = {code for code, _label in type_options()}
        bad = [t for t in types if t not in known]
        if bad:
            raise _Error(f"unknown type or bundle {bad[0]!r} for meldingen")
        out["types"] = sorted(set(types))
    if raw.get("delivery") is not None:
        if raw["delivery"] not in DELIVERIES:
            raise _Error(f"unknown delivery {raw['delivery']!r}; choose from "
                         f"{', '.join(DELIVERIES)}")
        out["delivery"] = raw["delivery"]
    return out


def profile_types(profile) -> frozenset[str]:
    """The type codes the profile counts as large impact (raids always)."""
    chosen = (profile.meldingen or {}).get("types")
    return expand(DEFAULT_TYPES if chosen is None else chosen) | frozenset(INVAL_TYPES)


def profile_delivery(profile) -> str:
    return (profile.meldingen or {}).get("delivery") or "direct"


def get_preferences(state: StateDB, name: str) -> dict:
    """A user's own narrowing (``{}``: the profile's choice)."""
    rows = state.query("SELECT settings FROM melding_prefs WHERE user = ?", (name,))
    return json.loads(rows[0]["settings"]) if rows else {}


def set_preferences(state: StateDB, user, settings, *, scope: Scope | None = None) -> dict:
    """Set the user's own narrowing of types and delivery (checked; ``{}`` clears it); written
    to the protocol log in the same transaction. Returns the stored settings."""
    from data.protocol import append_row

    checked = check_settings(settings)
    name = _user_name(user)
    with state.transaction() as sq:
        if not sq.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchall():
            raise MeldingError(f"no user {name!r}")
        sq.execute("INSERT INTO melding_prefs (user, settings, updated_at) VALUES (?, ?, ?)"
                   " ON CONFLICT (user) DO UPDATE SET settings = excluded.settings,"
                   " updated_at = excluded.updated_at", (name, dumps(checked), now()))
        append_row(sq, user=name, role=getattr(user, "role", None), scope=scope,
                   view="meldingen/voorkeuren", filters=checked,
                   level=scope.detail if scope else None, rows=1, client=None, outcome="ok")
    return checked


def create_meldingen(state: StateDB, con, *, days: int = DEFAULT_DAYS,
                     batch: str | None = None) -> list[int]:
    """Create the missing meldingen for incidents registered in the last ``days`` days (only
    those of import ``batch`` when given) whose type the agreement profile of their gemeente
    counts as large impact (raids always). Returns the new melding ids. Administrative
    (import/CLI) only: it serves nothing to anyone."""
    from data.accounts import Profile, get_profile, list_profiles

    cutoff = local_now() - timedelta(days=int(days))
    every = profile_types(Profile("")).union(*(profile_types(p) for p in list_profiles(state)))
    sql = ("SELECT id, gm_code, type_code, occurred_at, registered_at"
           " FROM incidents WHERE registered_at >= ?"
           " AND type_code IN (SELECT unnest(?::VARCHAR[]))")
    params: list = [cutoff, sorted(every)]
    if batch is not None:
        sql += " AND batch = ?"
        params.append(batch)
    rows = con.execute(sql + " ORDER BY registered_at, id", params).fetchall()
    chosen: dict[str, frozenset[str]] = {}
    created = []
    stamp = now()
    with state.transaction() as sq:
        for incident_id, gm_code, type_code, occurred, registered in rows:
            if gm_code not in chosen:
                chosen[gm_code] = profile_types(get_profile(state, gm_code))
            if type_code not in chosen[gm_code]:
                continue
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


def _visible_sql(state: StateDB, scope: Scope, name: str) -> tuple[str, list]:
    """The scope's condition narrowed to the user's own choice of types (raids always)."""
    condition, params = _in_scope_sql(scope)
    chosen = get_preferences(state, name).get("types")
    if chosen is None or scope.empty:
        return condition, params
    types = sorted(expand(chosen) | frozenset(INVAL_TYPES))
    return (f"{condition} AND m.type_code IN (SELECT value FROM json_each(?))",
            [*params, dumps(types)])


#: SQLite: the newest teamchef note of melding m ('' when none), and "the user saw it".
#: The newest teamchef note of melding ``m`` (0: none). Seen means acknowledged with that note
#: (``melding_acks.notes_seen``): compared by id, never by clock, so an acknowledgement in the
#: same millisecond as a new note does not swallow it.
_LAST_NOTE = "coalesce((SELECT max(n.id) FROM melding_notes n WHERE n.melding_id = m.id), 0)"
_SEEN = (f"EXISTS (SELECT 1 FROM melding_acks a WHERE a.melding_id = m.id AND a.user = ?"
         f" AND a.notes_seen >= {_LAST_NOTE})")
#: Acknowledge melding ? for user ? at ? with the notes it has now (the melding id once more).
_ACK = ("INSERT INTO melding_acks (melding_id, user, at, notes_seen) VALUES (?, ?, ?,"
        " (SELECT coalesce(max(id), 0) FROM melding_notes WHERE melding_id = ?))"
        " ON CONFLICT (melding_id, user) DO UPDATE SET at = excluded.at,"
        " notes_seen = excluded.notes_seen")


def _user_name(user) -> str | None:
    return getattr(user, "name", user)


def unread(state: StateDB, *, scope: Scope, user) -> list[int]:
    """Ids of the meldingen in the scope (and the user's choice) that ``user`` has not seen
    since they came or since their newest teamchef note, newest first."""
    name = _user_name(user)
    if scope.empty or not name:
        return []
    condition, params = _visible_sql(state, scope, name)
    rows = state.query(
        f"SELECT m.id FROM meldingen m WHERE {condition} AND NOT {_SEEN}"
        " ORDER BY m.id DESC", (*params, name))
    return [r["id"] for r in rows]


def unread_notes(state: StateDB, *, scope: Scope, user) -> int:
    """How many of the user's unread meldingen carry a teamchef note the user has not seen."""
    name = _user_name(user)
    if scope.empty or not name:
        return 0
    condition, params = _visible_sql(state, scope, name)
    return state.query(
        f"SELECT count(*) FROM meldingen m WHERE {condition} AND {_LAST_NOTE} > 0"
        f" AND NOT {_SEEN}", (*params, name))[0][0]


def list_meldingen(state: StateDB, con, *, scope: Scope, user, limit: int = LIST_LIMIT,
                   ids: list[int] | None = None, narrowed: bool = True) -> list[dict]:
    """The meldingen in the scope (and, with ``narrowed``, the user's own choice of types),
    newest first by pleegdatum, with the fields the detail level allows, the teamchef notes,
    the raid fields and whether ``user`` saw them since their newest note (``ids`` narrows to
    those meldingen)."""
    name = _user_name(user)
    if scope.empty or not name:
        return []
    condition, params = (_visible_sql(state, scope, name) if narrowed
                         else _in_scope_sql(scope))
    where = condition
    if ids is not None:
        where += f" AND m.id IN ({_IDS})"
        params = [*params, dumps([int(i) for i in ids])]
    rows = state.query(
        f"SELECT m.*, {_SEEN} AS seen FROM meldingen m WHERE {where}"
        f" ORDER BY m.occurred_at DESC, m.id DESC LIMIT ?", (name, *params, int(limit)))
    if not rows:
        return []
    details = _incident_details(con, scope, rows)
    raids = _raid_details(con, scope, [r["incident_id"] for r in rows if r["kind"] == "inval"])
    notes = _notes(state, [r["id"] for r in rows])
    items = []
    for r in rows:
        d = details.get(r["incident_id"], {})
        item = {
            "id": r["id"], "kind": r["kind"], "kind_title": KIND_TITLES[r["kind"]],
            "type_code": r["type_code"], "type_title": d.get("type_title") or r["type_code"],
            "gm_code": r["gm_code"], "gemeente": d.get("gemeente") or r["gm_code"],
            "occurred_at": r["occurred_at"], "registered_at": r["registered_at"],
            "created_at": r["created_at"], "acknowledged": bool(r["seen"]),
            "notes": notes.get(r["id"], []),
        }
        if r["kind"] == "inval":  # not personal data: at every detail level
            unit, om = raids.get(r["incident_id"], (None, None))
            item.update(executing_unit=unit, om_ordered=om)
        if scope.detail >= 2:
            item.update(incident_id=r["incident_id"], wijk=d.get("wijk"), buurt=d.get("buurt"))
        if scope.detail >= 3:
            item.update(street=d.get("street"), house_number=d.get("house_number"),
                        mo=d.get("mo"), summary=d.get("summary"))
        items.append(item)
    return items


def _notes(state: StateDB, melding_ids: list[int]) -> dict[int, list[dict]]:
    rows = state.query("SELECT id, melding_id, author, role, text, at FROM melding_notes"
                       f" WHERE melding_id IN ({_IDS}) ORDER BY id",
                       (dumps(melding_ids),))
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["melding_id"], []).append(
            {"id": r["id"], "author": r["author"], "role": r["role"], "text": r["text"],
             "at": r["at"]})
    return out


def _raid_details(con, scope: Scope, incident_ids: list[str]) -> dict[str, tuple]:
    """(executing unit, OM ordered) of the raids in the scope; missing = unknown."""
    if con is None or not incident_ids or scope.empty:
        return {}
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raid_details'"
                       ).fetchall()[0][0]:
        return {}  # a database of an older release: every raid field is unknown
    condition, params = area_filter(scope, "i.gm_code")
    rows = con.execute(
        "SELECT r.id, r.executing_unit, r.om_ordered FROM raid_details r"
        " JOIN incidents i ON i.id = r.id"
        f" WHERE {condition} AND r.id IN (SELECT unnest(?::VARCHAR[]))",
        [*params, incident_ids]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


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
    """Mark meldingen as seen by ``user`` (with their notes so far): the given ids, or with
    ``ids=None`` every melding in the scope. Any id outside the scope refuses the whole request
    (OutOfScope). Returns how many were newly seen."""
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
                f" AND m.id IN ({_IDS})",
                (*params, dumps(wanted)))}
            outside = [i for i in wanted if i not in allowed]
            if outside:
                raise OutOfScope(f"meldingen {outside} outside scope")
        todo = [r[0] for r in con.execute(
            f"SELECT m.id FROM meldingen m WHERE m.id IN ({_IDS})"
            f" AND NOT {_SEEN}", (dumps(wanted), name))]
        stamp = now()
        for melding_id in todo:
            con.execute(_ACK, (melding_id, name, stamp, melding_id))
    return len(todo)


# -- teamchef notes --------------------------------------------------------------------------

#: Roles that may add a note to a melding (the basisteamchef, "actief door of namens").
NOTE_ROLES = ("teamchef",)


def add_note(state: StateDB, *, scope: Scope, user, melding_id, text, client=None) -> int:
    """Add a teamchef's note to a melding (append-only) and log it. Only a teamchef whose scope
    holds the melding's gemeente may: anyone else, or another gemeente's melding, raises
    OutOfScope after a 'refused' protocol row. An empty or too long text raises MeldingError
    (nothing stored). Returns the note's id."""
    from data.protocol import append_row

    name, role = _user_name(user), getattr(user, "role", None)
    filters = {"melding": melding_id}

    def refuse(detail: str):
        with state.transaction() as sq:
            append_row(sq, user=name, role=role, scope=scope, view="meldingen/notitie",
                       filters=filters, level=scope.detail if scope else None, rows=0,
                       client=client, outcome="refused", detail=detail)
        raise OutOfScope(detail)

    if role not in NOTE_ROLES or scope is None or scope.empty:
        refuse(f"a note needs role teamchef, not {role!r}")
    try:
        melding_id = int(melding_id)
    except (TypeError, ValueError):
        refuse(f"no melding {melding_id!r}")
    condition, params = _in_scope_sql(scope)
    if not state.query(f"SELECT 1 FROM meldingen m WHERE m.id = ? AND {condition}",
                       (melding_id, *params)):
        refuse(f"melding {melding_id} outside scope")
    text = str(text or "").strip()
    if not text:
        raise MeldingError("Een notitie mag niet leeg zijn.")
    if len(text) > NOTE_MAX:
        raise MeldingError(f"Een notitie is ten hoogste {NOTE_MAX} tekens ({len(text)} nu).")
    stamp = now()
    with state.transaction() as sq:
        cur = sq.execute("INSERT INTO melding_notes (melding_id, author, role, text, at)"
                         " VALUES (?, ?, ?, ?, ?)", (melding_id, name, role, text, stamp))
        # the author has seen the melding with the note: it is not new to them
        sq.execute(_ACK, (melding_id, name, stamp, melding_id))
        append_row(sq, user=name, role=role, scope=scope, view="meldingen/notitie",
                   filters={**filters, "tekens": len(text)}, level=scope.detail, rows=1,
                   client=client, outcome="ok")
    return cur.lastrowid


# -- grouping --------------------------------------------------------------------------------

def day_title(day: date) -> str:
    """'Donderdag 3 december' (the year only when it is not this year)."""
    text = f"{WEEKDAYS[day.weekday()].capitalize()} {day.day} {fmt.MONTHS_LONG[day.month - 1]}"
    return text if day.year == local_now().year else f"{text} {day.year}"


def grouped(items: list[dict]) -> list[tuple[date, list[tuple[str, list[dict]]]]]:
    """Meldingen per day of occurrence (newest first), then per type (most first, then by
    title): ``[(day, [(type title, [items...]), ...]), ...]``."""
    days: dict[date, dict[str, list[dict]]] = {}
    for item in items:
        day = date.fromisoformat(item["occurred_at"][:10])
        days.setdefault(day, {}).setdefault(item["type_title"], []).append(item)
    return [(day, sorted(types.items(), key=lambda kv: (-len(kv[1]), kv[0])))
            for day, types in sorted(days.items(), reverse=True)]


def type_heading(title: str, count: int) -> str:
    return f"{count} × {title}"


# -- e-mail ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailResult:
    sent: int = 0
    failed: int = 0


def describe(item: dict) -> tuple[str, list[str]]:
    """Dutch title and lines of one melding as :func:`list_meldingen` returns it (its fields
    already follow the detail level), with the raid fields and the teamchef's notes."""
    title = f"{item['kind_title']}: {item['type_title']} in {item['gemeente']}"
    lines = [f"Soort: {item['type_title']} ({item['type_code']})",
             f"Gemeente: {item['gemeente']}",
             f"Pleegdatum: {_when(item['occurred_at'])}",
             f"Geregistreerd: {_when(item['registered_at'])}"]
    if item["kind"] == "inval":
        lines.append(f"Uitvoerende eenheid: {item.get('executing_unit') or 'onbekend'}")
        lines.append(f"Op last van het OM: {om_text(item.get('om_ordered'))}")
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
    for note in item.get("notes", ()):
        lines.append(f"Van de teamchef ({note_author(note)}, {fmt.moment(note['at'])}): "
                     f"{note['text']}")
    return title, lines


def om_text(value) -> str:
    """'ja', 'nee' or 'onbekend' (never guessed)."""
    return "onbekend" if value is None else ("ja" if value else "nee")


def note_author(note: dict) -> str:
    return f"{note['author']}, {note['role']}"


def _when(text: str) -> str:
    return fmt.moment(text)


def mail_configured(settings) -> bool:
    return bool(getattr(settings, "smtp_host", "") and getattr(settings, "smtp_from", ""))


def delivery_for(state: StateDB, user, profiles: dict) -> dict[str, str]:
    """Per gemeente (of ``profiles``: gm_code -> Profile) how ``user`` gets meldingen: the
    user's own choice, else the gemeente's profile."""
    own = get_preferences(state, _user_name(user)).get("delivery")
    return {gm: own or profile_delivery(p) for gm, p in profiles.items()}


def digest_due(moment: datetime | None = None) -> bool:
    return (moment or local_now()).hour >= DIGEST_HOUR


def send_mails(state: StateDB, con, settings, *, days: int = DEFAULT_DAYS,
               demo: bool = False, digest: bool | None = None) -> MailResult:
    """Mail every user with an address the meldingen of the last ``days`` days in their scope
    and choice that were not mailed to them yet, and a melding again (as an update) when it got
    a teamchef note since its last mail. Meldingen of a gemeente whose delivery (the user's
    choice, else the profile's) is "direct" go out one mail each; "dagelijks" ones wait for the
    user's one digest of the day, sent when due (from DIGEST_HOUR local time; ``digest=True``:
    now; ``digest=False``: not in this run) and at most once per user and day
    (``melding_digests``). A protocol-log row is written before each mail; a failed send is
    recorded (and retried by the next run) and never raises."""
    from data.accounts import get_profile, list_users
    from data.protocol import append_row

    if not mail_configured(settings):
        return MailResult()
    since = (datetime.now(timezone.utc) - timedelta(days=int(days))).isoformat(
        timespec="milliseconds")
    today = local_now().date()
    digest_now = digest_due() if digest is None else digest
    emails = {r["name"]: r["email"] for r in state.query("SELECT name, email FROM user_emails")}
    sent = failed = 0
    for user in list_users(state):
        address = emails.get(user.name)
        if not address or user.disabled or (user.demo and not demo):
            continue
        scope = resolve_scope(user, con=con, profile_for=lambda code: get_profile(state, code))
        if scope.empty:
            continue
        condition, params = _visible_sql(state, scope, user.name)
        last_note = "coalesce((SELECT max(n.id) FROM melding_notes n WHERE n.melding_id = m.id), 0)"
        todo = {r["id"]: r["last_note"] for r in state.query(
            f"SELECT m.id, {last_note} AS last_note FROM meldingen m WHERE {condition}"
            " AND (m.created_at >= ? OR EXISTS (SELECT 1 FROM melding_notes n"
            " WHERE n.melding_id = m.id AND n.at >= ?)) AND NOT EXISTS"
            " (SELECT 1 FROM melding_mails s WHERE s.melding_id = m.id AND s.user = ?"
            f" AND s.outcome = 'sent' AND s.note_id >= {last_note}) ORDER BY m.id",
            (*params, since, since, user.name))}
        if not todo:
            continue
        mailed_before = {r[0] for r in state.query(
            "SELECT DISTINCT melding_id FROM melding_mails WHERE user = ? AND outcome = 'sent'"
            f" AND melding_id IN ({_IDS})",
            (user.name, dumps(list(todo))))}
        items = list(reversed(list_meldingen(state, con, scope=scope, user=user,
                                             ids=list(todo), limit=len(todo))))
        modes = delivery_for(state, user, {gm: get_profile(state, gm)
                                           for gm in {i["gm_code"] for i in items}})
        direct = [i for i in items if modes[i["gm_code"]] == "direct"]
        daily = [i for i in items if modes[i["gm_code"]] == "dagelijks"]

        def record(item_ids, error, day=None):
            with state.transaction() as sq:
                for melding_id in item_ids:
                    sq.execute("INSERT INTO melding_mails (melding_id, user, address, at,"
                               " outcome, error, note_id, digest_day)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (melding_id, user.name, address, now(),
                                "failed" if error else "sent", error, todo[melding_id], day))

        def log_row(filters):
            with state.transaction() as sq:  # logged before the data leaves
                append_row(sq, user=user.name, role=user.role, scope=scope,
                           view="meldingen/mail", filters={**filters, "aan": address},
                           level=scope.detail, rows=len(filters.get("meldingen", [1])),
                           client="smtp", outcome="ok")

        for item in direct:
            title, lines = describe(item)
            update = item["id"] in mailed_before and item["notes"]
            if update:
                title = f"Update van de teamchef – {title}"
            log_row({"melding": item["id"], **({"update": True} if update else {})})
            error = _send(settings, address, f"Veiligheidsbeeld – {title}",
                          "\n".join([title, "", *lines, "",
                                     "Zie Meldingen in Veiligheidsbeeld."]))
            record([item["id"]], error)
            if error:
                failed += 1
                log.warning("melding %s to %s not sent: %s", item["id"], address, error)
            else:
                sent += 1
        if daily and digest_now and not state.query(
                "SELECT 1 FROM melding_digests WHERE user = ? AND day = ?",
                (user.name, today.isoformat())):
            subject, body = digest_text(daily, today, mailed_before)
            log_row({"meldingen": [i["id"] for i in daily], "overzicht": today.isoformat()})
            error = _send(settings, address, subject, body)
            record([i["id"] for i in daily], error, today.isoformat())
            if error:
                failed += 1
                log.warning("digest of %s to %s not sent: %s", today, address, error)
            else:
                with state.transaction() as sq:  # the day's one digest (a retry is allowed)
                    sq.execute("INSERT OR IGNORE INTO melding_digests VALUES (?, ?, ?, ?, ?)",
                               (user.name, today.isoformat(), address, now(), len(daily)))
                sent += 1
    return MailResult(sent, failed)


def digest_text(items: list[dict], day: date, mailed_before=frozenset()) -> tuple[str, str]:
    """Subject and body of a daily digest: the meldingen grouped per day and type, as on
    /meldingen, each with its lines (and notes, marked "van de teamchef")."""
    subject = (f"Veiligheidsbeeld – dagoverzicht meldingen {day_title(day).lower()}: "
               f"{len(items)} melding{'en' if len(items) != 1 else ''}")
    body = [f"Dagoverzicht meldingen van {day_title(day).lower()}", ""]
    for group_day, types in grouped(items):
        body.append(day_title(group_day))
        body.append("=" * len(day_title(group_day)))
        for title, members in types:
            body.append(f"{day_title(group_day)} — {type_heading(title, len(members))}")
            for item in members:
                head, lines = describe(item)
                if item["id"] in mailed_before and item["notes"]:
                    head = f"Update van de teamchef – {head}"
                body.append(f"- {head}")
                body.extend(f"    {line}" for line in lines)
            body.append("")
    body.append("Zie Meldingen in Veiligheidsbeeld.")
    return subject, "\n".join(body)


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


def scan(store, state: StateDB, settings, *, days: int | None = None,
         digest: bool | None = None) -> dict:
    """``meldingen scan``: create missing meldingen from the current database, then mail
    (direct ones, and the daily digests when due)."""
    days = settings.melding_days if days is None else days
    con = store.read()
    created = create_meldingen(state, con, days=days)
    mails = send_mails(state, con, settings, days=days, digest=digest,
                       demo=store.meta().get("demo") == "true")
    return {"meldingen": len(created), "mails_sent": mails.sent, "mails_failed": mails.failed}


def mail(store, state: StateDB, settings, *, days: int | None = None,
         digest: bool | None = None) -> dict:
    """``meldingen mail``: only send (direct mails, updates with new notes, and the daily
    digests when due or with ``digest=True``); idempotent."""
    days = settings.melding_days if days is None else days
    mails = send_mails(state, store.read(), settings, days=days, digest=digest,
                       demo=store.meta().get("demo") == "true")
    return {"mails_sent": mails.sent, "mails_failed": mails.failed}
