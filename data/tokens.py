"""API tokens: per-user bearer tokens for the data-delivery API (``/api/v1/``).

A token is ``vb_`` + ``secrets.token_urlsafe(32)`` (256 bits of randomness). Only its SHA-256
hash is stored (a fast hash is enough for a high-entropy secret); the token itself is shown
once, when it is created.

Tokens stay personal: a person's token is created by that person only (page "Mijn account");
for a system-to-system delivery the beheerder (or the command line) creates a token for a
service account (role ``dienst``) whose gemeenten the beheerder sets openly. No one creates a
token that acts as another person (:func:`may_create`). A token acts for its user: the API resolves the user's scope exactly
as the web pages do, so a token can never see more than its user. Revoked tokens, tokens of a
removed user and unknown tokens authenticate nobody. Creating and revoking a token is written
to the protocol log.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from data.accounts import SERVICE_ROLE, User, get_user
from data.protocol import append_row
from data.state import StateDB, now

PREFIX = "vb_"


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    id: int
    user: str
    label: str
    prefix: str  # the first characters of the token, to recognise it in lists
    created_at: str
    created_by: str | None
    revoked_at: str | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token(row) -> Token:
    return Token(row["id"], row["user"], row["label"], row["prefix"], row["created_at"],
                 row["created_by"], row["revoked_at"], row["revoked_by"])


def may_create(db: StateDB, owner: User, by: str) -> None:
    """Raise TokenError unless ``by`` may create a token that acts for ``owner``: the owner
    themself (not the beheerder, who sees no police data), or — for a service account — a
    beheerder or the command line (``cli:<login>``)."""
    if owner.role == SERVICE_ROLE:
        creator = get_user(db, by)
        if by.startswith("cli:") or (creator is not None and creator.role == "beheerder"):
            return
        raise TokenError("Alleen de beheerder maakt tokens voor een dienstaccount.")
    if by != owner.name:
        raise TokenError("Een persoonlijke token maakt alleen de gebruiker zelf aan (via Mijn "
                         "account); voor een koppeling tussen systemen is er een dienstaccount.")
    if owner.role == "beheerder":
        raise TokenError("De beheerder ziet geen politiegegevens en heeft dus geen API-token.")


def create_token(db: StateDB, user: str, *, label: str = "", by: str
                 ) -> tuple[Token, str]:
    """A new token for ``user``: the stored record and the token text (shown only now).
    ``by`` is who creates it (a user name, or ``cli:<login>``); see :func:`may_create`."""
    owner = get_user(db, user)
    if owner is None:
        raise TokenError(f"no user {user!r}")
    may_create(db, owner, by)
    label = (label or "").strip()[:100]
    text = PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as con:
        cursor = con.execute(
            "INSERT INTO api_tokens (user, label, token_hash, prefix, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)", (user, label, digest(text), text[:8], now(), by))
        ident = cursor.lastrowid
        append_row(con, user=by, role=_role(db, by), scope=None, view="api-token",
                   filters={"actie": "aangemaakt", "token": ident, "gebruiker": user,
                            "label": label}, level=None, rows=1, client=None, outcome="ok",
                   token_id=ident)
    return get_token(db, ident), text


def _role(db: StateDB, by: str | None) -> str | None:
    if by and by.startswith("cli:"):
        return "cli"
    user = get_user(db, by) if by else None
    return user.role if user else None


def get_token(db: StateDB, ident: int) -> Token | None:
    rows = db.query("SELECT * FROM api_tokens WHERE id = ?", (int(ident),))
    return _token(rows[0]) if rows else None


def list_tokens(db: StateDB, *, include_revoked: bool = True, user: str | None = None
                ) -> list[Token]:
    """Tokens, oldest first; only ``user``'s when given."""
    where, params = ["1 = 1"], []
    if not include_revoked:
        where.append("revoked_at IS NULL")
    if user is not None:
        where.append("user = ?")
        params.append(user)
    return [_token(r) for r in db.query(
        f"SELECT * FROM api_tokens WHERE {' AND '.join(where)} ORDER BY id", params)]


def revoke_token(db: StateDB, ident: int, *, by: str | None = None) -> Token:
    """Revoke a token (idempotent: revoking twice keeps the first time). Its owner, a
    beheerder or the command line may revoke it."""
    with db.transaction() as con:
        rows = con.execute("SELECT user, revoked_at FROM api_tokens WHERE id = ?",
                           (int(ident),)).fetchall()
        if not rows or not (by == rows[0]["user"] or (by or "").startswith("cli:")
                            or _role(db, by) == "beheerder"):
            raise TokenError(f"no token {ident}")
        if rows[0]["revoked_at"] is None:
            con.execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                        (now(), by, int(ident)))
            append_row(con, user=by, role=_role(db, by), scope=None, view="api-token",
                       filters={"actie": "ingetrokken", "token": int(ident),
                                "gebruiker": rows[0]["user"]},
                       level=None, rows=1, client=None, outcome="ok", token_id=int(ident))
    return get_token(db, ident)


def authenticate(db: StateDB, token: str | None, *, demo: bool) -> tuple[User, Token] | None:
    """The user and token record of an active token, else None. Demo accounts only
    authenticate on the demo database (as with the login form)."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    rows = db.query("SELECT * FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                    (digest(token),))
    if not rows:
        return None
    record = _token(rows[0])
    user = get_user(db, record.user)
    if user is None or user.disabled or (user.demo and not demo):
        return None
    return user, record
