"""The scope: what one user may see. Every query function in ``data/`` takes one.

A Scope is built on the server from the logged-in user and is never taken from the browser.
It lists the gemeenten the user may see and the detail level at which:

* 0 — nothing (the default: unknown users see nothing);
* 1 — aggregates down to buurt and PC4 (counts, rates, trends);
* 2 — plus incident lists without address, names or free text;
* 3 — plus address, modus operandi and summary text.

Queries filter with :func:`area_filter`, a parameterised SQL condition, so a scope cannot be
widened by anything a request carries.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb


class OutOfScope(PermissionError):
    """A request for data outside the user's scope. The message is safe to show."""

    def __init__(self, detail: str = ""):
        super().__init__("U heeft geen toegang tot deze gegevens.")
        self.detail = detail  # for the protocol log only, never for the user


@dataclass(frozen=True)
class Scope:
    gemeenten: frozenset[str] = frozenset()
    detail: int = 0
    label: str = ""
    #: Gemeenten whose own sources (data/queries/sources.py) the user sees: always a subset of
    #: ``gemeenten``; a gemeente's own users, and police roles its profile shares them with.
    sources: frozenset[str] = frozenset()
    #: Gemeenten whose own sources the user may import and delete: a gegevensbeheerder's own
    #: gemeenten (checked by data/importers/sources.py); nobody else's scope has any.
    manages: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return self.detail < 1 or not self.gemeenten

    def fingerprint(self) -> str:
        """A stable key for caches: two scopes with the same fingerprint see the same data."""
        text = f"{sorted(self.gemeenten)}|{self.detail}"
        if self.sources:
            text += f"|{sorted(self.sources)}"
        if self.manages:
            text += f"|m{sorted(self.manages)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


DENY = Scope()


def ensure_detail(scope: Scope, level: int) -> None:
    """Raise OutOfScope unless the scope allows detail ``level``."""
    if scope.empty or scope.detail < level:
        raise OutOfScope(f"detail {level} requested, scope allows {scope.detail}")


def ensure_gemeente(scope: Scope, gm_code: str) -> None:
    """Raise OutOfScope unless ``gm_code`` is inside the scope."""
    if scope.empty or gm_code not in scope.gemeenten:
        raise OutOfScope(f"gemeente {gm_code} outside scope")


def ensure_manages(scope: Scope, gm_code) -> None:
    """Raise OutOfScope unless the scope may import and delete ``gm_code``'s own sources."""
    if scope.empty or not isinstance(gm_code, str) or gm_code not in scope.manages:
        raise OutOfScope(f"managing sources of {gm_code!r} outside scope"
                         f" (manages {sorted(scope.manages)})")


def allows_gemeente(scope: Scope, gm_code: str) -> bool:
    try:
        ensure_gemeente(scope, gm_code)
    except OutOfScope:
        return False
    return True


def area_filter(scope: Scope, column: str = "gm_code") -> tuple[str, list]:
    """SQL condition and parameters restricting ``column`` (a gemeente code) to the scope.
    An empty scope yields a condition that matches nothing; a scope of one gemeente (a mayor,
    or a view narrowed to one gemeente) a plain comparison, which DuckDB prunes row groups by."""
    if scope.empty:
        return "FALSE", []
    if len(scope.gemeenten) == 1:
        return f"{column} = ?", [next(iter(scope.gemeenten))]
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [sorted(scope.gemeenten)]



def resolve_scope(user, *, con, profile_for, memo=None) -> Scope:
    """The scope of a logged-in user; DENY for anyone unknown or without a data role.

    * analist: every gemeente of the user's regionale eenheden, detail 3;
    * teamchef: the user's gemeenten, basisteams or districts (expanded to gemeenten), detail 3;
    * burgemeester, adviseur and dienst (a service account for a gemeente's system-to-system
      delivery): exactly the account's gemeenten, at the detail level of their
      agreement profiles (the most restrictive one when an account has several gemeenten);
    * gegevensbeheerder (imports the gemeente's own sources): like an adviseur;
    * beheerder (administration only) and anything else: nothing.
    ``profile_for(gm_code)`` returns the gemeente's agreement profile (read every time: a
    changed profile counts at once). ``memo(key, compute)``, when given, may cache the DuckDB
    lookups: ``key`` holds everything they depend on besides the data version (role, areas),
    which the caller adds (``dashboard/caching.py``).

    ``sources`` (the gemeenten whose own sources the user sees): a gemeente role's and a
    service account's own gemeenten; for analist and teamchef only the gemeenten whose
    profile shares them with that role (``Profile.bronnen_delen``).
    """
    role = getattr(user, "role", None)
    if role not in ("analist", "teamchef", "burgemeester", "adviseur", "dienst",
                    "gegevensbeheerder"):
        return DENY
    key = (role, tuple(sorted(getattr(user, "gemeenten", ()))),
           tuple(sorted(getattr(user, "eenheden", ()))))
    memo = memo or _no_memo
    codes, label = memo(key, lambda: _areas(con, user, role))
    if role in ("analist", "teamchef"):
        owners = memo((*key, "source-owners"), lambda: _source_owners(con, codes))
        return Scope(codes, 3, label=label, sources=frozenset(
            c for c in owners if role in getattr(profile_for(c), "bronnen_delen", ())))
    if not codes:
        return DENY
    profiles = [profile_for(code) for code in sorted(codes)]
    return Scope(codes, min(p.detail for p in profiles), label=label, sources=codes,
                 manages=codes if role == "gegevensbeheerder" else frozenset())


def _no_memo(key, compute):
    return compute()


def _areas(con, user, role) -> tuple[frozenset[str], str]:
    """The gemeenten of an account's role and areas, and the scope's label (DuckDB only)."""
    if role == "analist":
        codes = _gemeenten_where(con, "re_code IN (SELECT unnest(?::VARCHAR[]))", list(user.eenheden))
        return codes, ", ".join(
            eenheid_label(name) for name in _names(con, user.eenheden) or user.eenheden)
    if role == "teamchef":
        codes = _gemeenten_where(
            con, "code IN (SELECT unnest(?::VARCHAR[])) OR code IN (SELECT gm_code FROM org_gemeenten"
                 " WHERE org_code IN (SELECT unnest(?::VARCHAR[])))",
            list(user.gemeenten), list(user.gemeenten))
        return codes, "Teamchef"
    codes = _gemeenten_where(con, "code IN (SELECT unnest(?::VARCHAR[]))", list(user.gemeenten))
    return codes, ", ".join(_names(con, codes))


def _source_owners(con, codes: frozenset[str]) -> tuple[str, ...]:
    """The gemeenten of ``codes`` that have own sources (DuckDB only)."""
    try:
        return tuple(sorted(r[0] for r in con.execute(
            "SELECT DISTINCT owner FROM gemeente_sources WHERE owner IN"
            " (SELECT unnest(?::VARCHAR[]))", [sorted(codes)]).fetchall()))
    except duckdb.CatalogException:  # a database of an older release has no such table
        return ()


def _gemeenten_where(con, condition: str, *params) -> frozenset[str]:
    rows = con.execute(f"SELECT code FROM areas WHERE level = 'gemeente' AND ({condition})",
                       list(params)).fetchall()
    return frozenset(r[0] for r in rows)


def eenheid_label(name: str) -> str:
    """A regionale eenheid as a reader names it: "Eenheid Amsterdam" for the name "Amsterdam"
    (or a code), the name itself when it says so already ("Eenheid Doggerland (demo)")."""
    return name if name.lower().startswith("eenheid") else f"Eenheid {name}"


def _names(con, codes) -> list[str]:
    rows = con.execute("SELECT coalesce(name, code) FROM areas WHERE code IN (SELECT unnest(?::VARCHAR[]))"
                       " ORDER BY 1", [sorted(codes)]).fetchall()
    return [r[0] for r in rows]

