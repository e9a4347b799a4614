"""Accounts and agreement profiles ("afsprakenprofielen"), stored in the state database."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from data.cache import MISSING, accounts_for
from data.state import StateDB, dumps, now

ROLES = ("beheerder", "analist", "teamchef", "burgemeester", "adviseur", "dienst",
         "gegevensbeheerder")
GEMEENTE_ROLES = ("burgemeester", "adviseur", "gegevensbeheerder")
#: The gemeente role that imports the gemeente's own sources (data/importers/sources.py) on
#: /bronnen; it sees the gemeente's police figures like an adviseur.
SOURCE_ROLE = "gegevensbeheerder"
#: Police roles a gemeente can share its own sources with in its agreement profile.
SOURCE_SHARE_ROLES = ("teamchef", "analist")
#: A service account ("dienst") is for a system-to-system delivery (a gemeente's GIS, a daily
#: feed): the beheerder sets its gemeenten openly, it reaches the data only through API tokens,
#: and it never logs in on the web.
SERVICE_ROLE = "dienst"
POLICE_ROLES = ("analist", "teamchef")

#: Default driehoeksmonitor indicators (bundle or type codes) and periodic products.
DEFAULT_DRIEHOEK = ("woninginbraak", "1.4.7", "1.4.6", "geweld", "drugs", "N01", "N02", "N03")
DEFAULT_PRODUCTS = {"stuurgegevens": "maandelijks", "incidentenrapport": "tweewekelijks",
                    "halfjaarcijfers": "halfjaarlijks", "jaarafsluiting": "jaarlijks"}
FREQUENCIES = ("dagelijks", "wekelijks", "tweewekelijks", "maandelijks", "viermaandelijks",
               "halfjaarlijks", "jaarlijks")

_hasher = PasswordHasher()  # argon2id, memory-hard
_DUMMY_HASH = _hasher.hash("no such user")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    gemeenten: tuple[str, ...] = ()
    eenheden: tuple[str, ...] = ()
    demo: bool = False
    #: The account's own id: a removed account's sessions and tokens never pass to a later
    #: account of the same name.
    uid: str = ""
    #: Session generation: logout, a new password, a change of role or areas, disabling and
    #: removal raise it, which ends every session of the account at once (dashboard/auth.py).
    session_gen: int = 0
    #: A disabled account cannot log in, has no sessions and its API tokens do not work, until
    #: a beheerder enables it again (set_disabled).
    disabled: bool = False

    # flask-login protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """What the session cookie holds: account id and session generation, never the name."""
        return f"{self.uid}.{self.session_gen}"


#: What the retired ``threshold`` column of ``profiles`` and ``products`` gets: the small-count
#: threshold of round 1, which no figure uses since the disclosure model (docs/disclosure.md).
RETIRED_THRESHOLD = 5


@dataclass(frozen=True)
class Profile:
    gm_code: str
    detail: int = 1
    driehoek: tuple[str, ...] = DEFAULT_DRIEHOEK
    products: dict = field(default_factory=lambda: dict(DEFAULT_PRODUCTS))
    updated_at: str | None = None
    updated_by: str | None = None
    #: Product kinds the police release ("vaststellen") with their commentary before the
    #: gemeente gets them; every other kind goes out automatically (``reports run --due``).
    vaststellen: tuple[str, ...] = ()
    #: Themed-report templates (dicts, see ``data/products/templates.py``), scheduled like
    #: the products by ``reports run --due``.
    templates: tuple[dict, ...] = ()
    #: Near-repeat parameters ({"afstand_m": ..., "dagen": ...}; empty: the defaults of
    #: ``data/queries/near_repeat.py``).
    near_repeat: dict = field(default_factory=dict)
    #: Meldingen: which incident types count as large impact and how they are delivered,
    #: ``{"types": [...], "delivery": "direct" | "dagelijks"}``; ``{}`` (or a missing key)
    #: takes the defaults of ``data/meldingen.py`` (DEFAULT_TYPES, direct).
    meldingen: dict = field(default_factory=dict)
    #: Police roles (of SOURCE_SHARE_ROLES) that see the gemeente's own sources; its own
    #: gemeente users always do, other gemeenten never.
    bronnen_delen: tuple[str, ...] = ()


# -- users -----------------------------------------------------------------------------------

def _user(row) -> User:
    return User(row["name"], row["role"], tuple(json.loads(row["gemeenten"])),
                tuple(json.loads(row["eenheden"])), bool(row["demo"]), row["uid"],
                row["session_gen"], row["disabled_at"] is not None)


def _check_areas(role: str, gemeenten, eenheden) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    if role in (*GEMEENTE_ROLES, SERVICE_ROLE) and not gemeenten:
        raise AccountError(f"role {role} needs at least one --gemeente")
    if role == "teamchef" and not gemeenten:
        raise AccountError("role teamchef needs --gemeente (gemeente, basisteam or district codes)")
    if role == "analist" and not eenheden:
        raise AccountError("role analist needs at least one --eenheid")


def add_user(db: StateDB, name: str, role: str, password: str, *, gemeenten=(), eenheden=(),
             demo: bool = False, email: str | None = None, by: str | None = None) -> User:
    """Create an account. With ``by`` (who creates it) the creation is written to the
    protocol log in the same transaction."""
    from data.protocol import append_row

    _check_areas(role, gemeenten, eenheden)
    if role == SERVICE_ROLE:
        password = password or secrets.token_urlsafe(32)  # never used: no web login
    if not name:
        raise AccountError("a name is required")
    check_password(password)
    with db.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchall():
            raise AccountError(f"user {name!r} already exists")
        con.execute("INSERT INTO users (name, password_hash, role, gemeenten, eenheden, demo,"
                    " created_at, uid, session_gen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                    (name, _hasher.hash(password), role, dumps(sorted(gemeenten)),
                     dumps(sorted(eenheden)), int(demo), now(), secrets.token_hex(16)))
        if by:
            append_row(con, user=by, role=None, scope=None, view="beheer/account",
                       filters={"actie": "aangemaakt", "gebruiker": name, "rol": role,
                                "gemeenten": sorted(gemeenten), "eenheden": sorted(eenheden)},
                       level=None, rows=1, client=None, outcome="ok")
        if email:
            con.execute("INSERT INTO user_emails VALUES (?, ?)", (name, _checked_email(email)))
    return get_user(db, name)


def get_user(db: StateDB, name: str) -> User | None:
    rows = db.query("SELECT * FROM users WHERE name = ?", (name,))
    return _user(rows[0]) if rows else None


def user_for_session(db: StateDB, session_id: str) -> User | None:
    """The account a session cookie names (``uid.generation``), or None when that account is
    gone or its sessions were ended since (logout, new password, new role or areas).

    With Redis configured (``data/cache.py``) the account is read from the shared,
    write-through account cache instead of the state database on every request."""
    uid, _, generation = (session_id or "").partition(".")
    if not uid:
        return None
    cache = accounts_for(db)
    if cache is None:
        rows = db.query("SELECT * FROM users WHERE uid = ?", (uid,))
        user = _user(rows[0]) if rows else None
    else:
        found = cache.get(uid)
        if found is MISSING:
            rows = db.query("SELECT * FROM users WHERE uid = ?", (uid,))
            found = asdict(_user(rows[0])) if rows else None
            cache.fill(uid, found)
        user = None if found is None else User(**{
            **found, "gemeenten": tuple(found["gemeenten"]), "eenheden": tuple(found["eenheden"])})
    if user is None or str(user.session_gen) != generation or user.disabled:
        return None
    return user


def _publish(db: StateDB, name: str, uid: str | None = None) -> None:
    """After a committed change of account ``name``: its new row (or, when it is gone, a
    tombstone for ``uid``) to the shared account cache, when this process has one."""
    cache = accounts_for(db)
    if cache is None:
        return
    rows = db.query("SELECT * FROM users WHERE name = ?", (name,))
    if rows:
        cache.publish(rows[0]["uid"], asdict(_user(rows[0])))
    if uid and (not rows or rows[0]["uid"] != uid):
        cache.publish(uid, None)


def list_users(db: StateDB) -> list[User]:
    return [_user(r) for r in db.query("SELECT * FROM users ORDER BY name")]


def end_sessions(db: StateDB, name: str) -> None:
    """End every session of the account now (its cookies stop working on the next request)."""
    with db.transaction() as con:
        con.execute("UPDATE users SET session_gen = session_gen + 1 WHERE name = ?", (name,))
    _publish(db, name)


def remove_user(db: StateDB, name: str, *, by: str | None = None) -> bool:
    """Delete the account; its sessions end and its API tokens are revoked with it. With
    ``by`` the removal is written to the protocol log in the same transaction."""
    from data.protocol import append_row

    with db.transaction() as con:
        found = con.execute("SELECT uid FROM users WHERE name = ?", (name,)).fetchall()
        con.execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE user = ?"
                    " AND revoked_at IS NULL", (now(), by or "verwijderd", name))
        removed = con.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1
        if removed and by:
            append_row(con, user=by, role=None, scope=None, view="beheer/account",
                       filters={"actie": "verwijderd", "gebruiker": name}, level=None, rows=1,
                       client=None, outcome="ok")
    if found:
        _publish(db, name, found[0][0])
    return removed


def set_password(db: StateDB, name: str, password: str, *, by: str | None = None) -> None:
    """A new password; every session of the account ends. With ``by`` the change (never the
    password) is written to the protocol log in the same transaction."""
    from data.protocol import append_row

    check_password(password)
    with db.transaction() as con:
        if con.execute("UPDATE users SET password_hash = ?, session_gen = session_gen + 1"
                       " WHERE name = ?", (_hasher.hash(password), name)).rowcount != 1:
            raise AccountError(f"no user {name!r}")
        if by:
            append_row(con, user=by, role=None, scope=None, view="beheer/account",
                       filters={"actie": "wachtwoord gewijzigd", "gebruiker": name},
                       level=None, rows=1, client=None, outcome="ok")
    _publish(db, name)


#: The one password rule, for the command line and /beheer alike.
MIN_PASSWORD = 8


def check_password(password) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def new_password() -> str:
    """A random initial or reset password (shown once on /beheer; 16 characters)."""
    return secrets.token_urlsafe(12)


def set_disabled(db: StateDB, name: str, disabled: bool, *, by: str | None = None) -> User:
    """Disable (every session ends, no login, no API token works) or enable an account; with
    ``by`` written to the protocol log in the same transaction."""
    from data.protocol import append_row

    with db.transaction() as con:
        if disabled:
            changed = con.execute(
                "UPDATE users SET disabled_at = coalesce(disabled_at, ?),"
                " session_gen = session_gen + 1 WHERE name = ?", (now(), name)).rowcount
        else:
            changed = con.execute("UPDATE users SET disabled_at = NULL WHERE name = ?",
                                  (name,)).rowcount
        if changed != 1:
            raise AccountError(f"no user {name!r}")
        if by:
            append_row(con, user=by, role=None, scope=None, view="beheer/account",
                       filters={"actie": "uitgeschakeld" if disabled else "ingeschakeld",
                                "gebruiker": name}, level=None, rows=1, client=None,
                       outcome="ok")
    _publish(db, name)
    return get_user(db, name)


class NotAllowed(AccountError):
    """Someone other than an enabled beheerder tried to manage accounts."""


def acting_beheerder(db: StateDB, name: str | None) -> User:
    """The account that manages accounts on /beheer, re-read from the state database: only an
    enabled beheerder may (a forged callback from any other session raises NotAllowed)."""
    user = get_user(db, name) if isinstance(name, str) and name else None
    if user is None or user.role != "beheerder" or user.disabled:
        raise NotAllowed(f"account management requires an enabled beheerder, not "
                         f"{name!r} ({getattr(user, 'role', None)})")
    return user


def set_role(db: StateDB, name: str, role: str, *, gemeenten=(), eenheden=()) -> User:
    """Change an account's role and areas; every session of the account ends."""
    _check_areas(role, gemeenten, eenheden)
    with db.transaction() as con:
        if con.execute("UPDATE users SET role = ?, gemeenten = ?, eenheden = ?,"
                       " session_gen = session_gen + 1 WHERE name = ?",
                       (role, dumps(sorted(gemeenten)), dumps(sorted(eenheden)), name)
                       ).rowcount != 1:
            raise AccountError(f"no user {name!r}")
    _publish(db, name)
    return get_user(db, name)


def _checked_email(email: str) -> str:
    email = email.strip()
    if not re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+", email):
        raise AccountError(f"not an e-mail address: {email!r}")
    return email


def set_email(db: StateDB, name: str, email: str | None) -> None:
    """Set (or with an empty value remove) the address meldingen are mailed to."""
    with db.transaction() as con:
        if not con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchall():
            raise AccountError(f"no user {name!r}")
        con.execute("DELETE FROM user_emails WHERE name = ?", (name,))
        if email:
            con.execute("INSERT INTO user_emails VALUES (?, ?)", (name, _checked_email(email)))


def get_email(db: StateDB, name: str) -> str | None:
    rows = db.query("SELECT email FROM user_emails WHERE name = ?", (name,))
    return rows[0]["email"] if rows else None


def verify(db: StateDB, name: str, password: str) -> User | None:
    """The user when name and password match, else None (same work either way)."""
    rows = db.query("SELECT * FROM users WHERE name = ?", (name,))
    stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if not rows or rows[0]["role"] == SERVICE_ROLE:  # service accounts have no web login
        return None
    if rows[0]["disabled_at"]:
        return None
    return _user(rows[0])


# -- agreement profiles ----------------------------------------------------------------------

def get_profile(db: StateDB, gm_code: str) -> Profile:
    """The gemeente's profile, or the defaults when none was agreed."""
    rows = db.query("SELECT * FROM profiles WHERE gm_code = ?", (gm_code,))
    if not rows:
        return Profile(gm_code)
    r = rows[0]
    return Profile(r["gm_code"], r["detail"], tuple(json.loads(r["driehoek"])),
                   json.loads(r["products"]), r["updated_at"], r["updated_by"],
                   tuple(json.loads(r["vaststellen"] or "[]")),
                   tuple(json.loads(r["templates"] or "[]")),
                   json.loads(r["near_repeat"] or "{}"),
                   json.loads(r["meldingen"] or "{}"),
                   tuple(json.loads(r["bronnen_delen"] or "[]")))


def list_profiles(db: StateDB) -> list[Profile]:
    return [get_profile(db, r["gm_code"]) for r in db.query("SELECT gm_code FROM profiles ORDER BY 1")]


def set_profile(db: StateDB, gm_code: str, *, by: str, detail=None, driehoek=None,
                products=None, vaststellen=None, templates=None, near_repeat=None,
                meldingen=None, bronnen_delen=None, role: str = "beheerder") -> Profile:
    """Change a profile; the change is written to the protocol log in the same transaction.
    ``vaststellen``: the product kinds that need a release by the police (None: unchanged);
    ``templates``: the themed-report templates, validated by ``data/products/templates.py``
    (None: unchanged); ``near_repeat``: {"afstand_m", "dagen"} within the bounds of
    ``data/queries/near_repeat.py`` (None: unchanged); ``meldingen``: the large-impact types
    and delivery, checked by ``data.meldingen.check_settings`` (None: unchanged);
    ``bronnen_delen``: police roles that see the gemeente's own sources (None: unchanged);
    ``role``: the role of ``by`` in the log row."""
    from data.meldingen import check_settings
    from data.products.model import KINDS, TEMPLATED
    from data.queries.near_repeat import parse_params
    from data.protocol import append_row

    old = get_profile(db, gm_code)
    if near_repeat is not None:  # stored as checked, plain integers
        try:
            checked = parse_params(near_repeat)
        except ValueError as exc:
            raise AccountError(str(exc)) from exc
        near_repeat = {"afstand_m": checked.distance_m, "dagen": checked.days}
    new = Profile(gm_code,
                  old.detail if detail is None else int(detail),
                  old.driehoek if driehoek is None else tuple(driehoek),
                  old.products if products is None else dict(products),
                  now(), by,
                  old.vaststellen if vaststellen is None else tuple(sorted(set(vaststellen))),
                  old.templates if templates is None else tuple(templates),
                  old.near_repeat if near_repeat is None else dict(near_repeat),
                  old.meldingen if meldingen is None else check_settings(meldingen),
                  old.bronnen_delen if bronnen_delen is None
                  else tuple(sorted(set(bronnen_delen))))
    bad_share = [r for r in new.bronnen_delen if r not in SOURCE_SHARE_ROLES]
    if bad_share:
        raise AccountError(f"sources can be shared with {', '.join(SOURCE_SHARE_ROLES)},"
                           f" not {bad_share[0]!r}")
    if new.detail not in (1, 2, 3):
        raise AccountError("detail must be 1, 2 or 3")
    bad = [f for f in new.products.values() if f not in FREQUENCIES]
    if bad:
        raise AccountError(f"unknown frequency {bad[0]!r}; choose from {', '.join(FREQUENCIES)}")
    unknown = [k for k in new.vaststellen if k not in KINDS or k in TEMPLATED]
    if unknown:
        raise AccountError(f"unknown product {unknown[0]!r}; choose from {', '.join(KINDS)}")
    with db.transaction() as con:
        con.execute("INSERT OR REPLACE INTO profiles (gm_code, detail, threshold, driehoek,"
                    " products, updated_at, updated_by, vaststellen, templates, near_repeat,"
                    " meldingen, bronnen_delen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (gm_code, new.detail, RETIRED_THRESHOLD, dumps(list(new.driehoek)),
                     dumps(new.products), new.updated_at, by, dumps(list(new.vaststellen)),
                     dumps(list(new.templates)), dumps(new.near_repeat),
                     dumps(new.meldingen), dumps(list(new.bronnen_delen))))
        changes = {k: {"oud": v, "nieuw": asdict(new)[k]} for k, v in asdict(old).items()
                   if k not in ("updated_at", "updated_by") and asdict(new)[k] != v}
        append_row(con, user=by, role=role, scope=None, view="beheer/profiel",
                   filters={"gemeente": gm_code, "wijzigingen": changes}, level=None, rows=1,
                   client=None, outcome="ok")
    return new


# -- demo accounts ---------------------------------------------------------------------------

def demo_password(name: str) -> str:
    return f"demo-{name}"


def ensure_demo_accounts(db: StateDB, con) -> list[str]:
    """One account per role on the demo database (demo mode only), plus a second mayor so that
    two gemeenten can be compared. Password: ``demo-<name>``. Returns the account names."""
    gemeenten = [r[0] for r in con.execute(
        "SELECT a.code FROM areas a LEFT JOIN population p ON p.code = a.code"
        " WHERE a.level = 'gemeente' GROUP BY a.code ORDER BY max(p.population) DESC NULLS LAST,"
        " a.code").fetchall()]
    eenheden = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'eenheid' ORDER BY code").fetchall()]
    teams = [r[0] for r in con.execute(
        "SELECT code FROM org_units WHERE kind = 'basisteam' ORDER BY code").fetchall()]
    if not gemeenten:
        return []
    plan = {
        "beheerder": ("beheerder", (), ()),
        "analist": ("analist", (), tuple(eenheden[:1])),
        "teamchef": ("teamchef", tuple(teams[:1]) or (gemeenten[0],), ()),
        "burgemeester": ("burgemeester", (gemeenten[0],), ()),
        "adviseur": ("adviseur", (gemeenten[0],), ()),
        "burgemeester2": ("burgemeester", (gemeenten[min(1, len(gemeenten) - 1)],), ()),
        "gegevensbeheerder": ("gegevensbeheerder", (gemeenten[0],), ()),
    }
    if not eenheden:
        plan.pop("analist")
    for name, (role, gms, units) in plan.items():
        if get_user(db, name) is None:
            try:
                add_user(db, name, role, demo_password(name), gemeenten=gms, eenheden=units,
                         demo=True)
            except AccountError:
                pass  # another worker created it at the same moment
    return list(plan)


def gemeente_choices(con) -> list[tuple[str, str]]:
    """(code, name) of every gemeente in the analytics database, for the profile editor.
    Names and codes of gemeenten are public (CBS), not police data."""
    return [(r[0], r[1]) for r in con.execute(
        "SELECT code, coalesce(name, code) FROM areas WHERE level = 'gemeente' ORDER BY 2"
    ).fetchall()]


def unit_choices(con) -> dict[str, list[tuple[str, str]]]:
    """(code, name) of the regionale eenheden (analist) and of the districts and basisteams
    (teamchef) in the analytics database, for the account form on /beheer."""
    eenheden = con.execute("SELECT code, coalesce(name, code) FROM areas WHERE level = 'eenheid'"
                           " ORDER BY 2").fetchall()
    teams = con.execute("SELECT code, coalesce(name, code) FROM org_units"
                        " WHERE kind IN ('district', 'basisteam') ORDER BY kind DESC, 2").fetchall()
    return {"eenheden": [(r[0], r[1]) for r in eenheden],
            "teams": [(r[0], r[1]) for r in teams]}


def type_choices(con) -> list[tuple[str, str]]:
    """(code, title) of every bundle and crime/incident type, bundles first."""
    bundles = con.execute(
        "SELECT group_code, any_value(group_title) FROM type_groups GROUP BY 1 ORDER BY 2").fetchall()
    types = con.execute(
        "SELECT code, code || ' ' || title FROM crime_types WHERE kind <> 'totaal' ORDER BY sort_key"
    ).fetchall()
    return [(r[0], r[1]) for r in bundles] + [(r[0], r[1]) for r in types]


def known_codes(con, codes) -> set[str]:
    """Which of ``codes`` exist as areas or police units in the analytics database."""
    rows = con.execute(
        "SELECT code FROM areas WHERE code IN (SELECT unnest(?::VARCHAR[])) UNION "
        "SELECT code FROM org_units WHERE code IN (SELECT unnest(?::VARCHAR[]))",
        [list(codes), list(codes)]).fetchall()
    return {r[0] for r in rows}
