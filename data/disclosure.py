"""The disclosure model: which figures below the gemeente a user without detail level 3 may
obtain, enforced here for every query that counts below the gemeente (docs/disclosure.md).

The model starts from what the police publish themselves. CBS/Politie table 47018NED gives
registered crimes per wijk and buurt per month per SoortMisdrijf code with exact counts, small
ones included, and withholds three types below the gemeente (``WITHHELD_TYPES``); politie.nl
gives woninginbraken per PC4 per month. Hiding those figures would protect no one, and
suppressing them ("<5") could not hold across the many views of one lattice anyway (a year
minus its quarters, a bundle minus its types, rolling months minus quarters all recover a
hidden cell). So:

* **Detail 1** (aggregates only) gets, below the gemeente, exactly the public releases and
  sums of them: per wijk and buurt the SoortMisdrijf types except the withheld ones, per PC4
  woninginbraak only, over whole months that have ended. Bundles below the gemeente count
  their released members only. Everything that is not public stays at gemeente level and
  above: the withheld types, the non-crime incident types (overlast, verward persoon,
  burenruzie, raids...), attempt versus completed, time of day, PC6, and the month still
  running. :func:`rows` is the SQL condition that keeps every other registration out of a
  figure below the gemeente, so no combination of figures can contain it.
* **Detail 2** sees incident lists (without address, PC6 or text): whatever such a list shows
  can be counted from it, so every count it can obtain is exact and nothing is restricted here.
  PC6 remains detail 3 everywhere (``data/queries/map.py``, ``data/queries/incidents.py``).
* **Detail 3** sees everything.

One figure at gemeente level is not public and *is* tied to public figures below it: the
woninginbraak attempt split per month. The public buurt counts tell where that month's
burglaries were; with the gemeente's split they can pin a buurt's split (one buurt had them
all, or all were completed). For detail 1 a month's split is shown only when no buurt's
split follows from it (:func:`pinned_split_months`); otherwise that month shows its total only.

``PROTECTION`` switches all of this off; only tests do that, to show their attacker finds the
leaks the model closes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from data.catalog import indicator_members
from data.scope import OutOfScope, Scope, area_filter
from data.sql import per_connection

#: SoortMisdrijf codes 47018NED withholds below the gemeente: sexual offences (1.4.1), child
#: pornography (3.2.1) and child prostitution (3.2.2).
WITHHELD_TYPES = ("1.4.1", "3.2.1", "3.2.2")
#: Types published per PC4: woninginbraak (politie.nl, per PC4 per month).
PC4_TYPES = ("1.1.1",)
#: Levels below the gemeente.
BELOW_GEMEENTE = ("wijk", "buurt", "pc4", "pc6")
#: Grains of a series below the gemeente for a restricted scope: whole months and sums of them
#: (ISO weeks are not published).
PUBLISHED_GRAINS = ("maand", "kwartaal", "jaar")
#: Off only in tests (see the module text).
PROTECTION = True

#: The sentence products and pages show a restricted scope (detail level 1) below the gemeente.
LIST_NOTE = ("Cijfers per wijk, buurt en postcode zijn de cijfers die de politie zelf openbaar "
             "maakt (exact, ook kleine aantallen): misdrijven per soort per maand, zonder "
             "zedenmisdrijven en kinderporno/-prostitutie en zonder meldingen die geen misdrijf "
             "zijn; per postcode alleen woninginbraak. Poging of voltooid, tijdstip en de lopende "
             "maand staan alleen op gemeenteniveau.")

LEVEL_NAMES = {"wijk": "wijkniveau", "buurt": "buurtniveau", "pc4": "postcodeniveau (PC4)",
               "pc6": "postcodeniveau (PC6)"}


class NotPublished(OutOfScope):
    """A figure below the gemeente that the user's agreement does not release. The message
    says why; it is safe to show."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.args = (message,)


def restricted(scope: Scope, level: str) -> bool:
    """True when figures at ``level`` reach ``scope`` as public releases only (detail 1 below
    the gemeente)."""
    return PROTECTION and not scope.empty and scope.detail < 2 and level in BELOW_GEMEENTE


def _released_sql(level: str, column: str) -> str:
    if level == "pc4":
        return f"{column} IN ({', '.join(repr(t) for t in PC4_TYPES)})"
    withheld = ", ".join(repr(t) for t in WITHHELD_TYPES)
    return (f"{column} IN (SELECT code FROM crime_types WHERE kind = 'misdrijf')"
            f" AND {column} NOT IN ({withheld})")


def rows(scope: Scope, level: str, alias: str = "i") -> tuple[str, list]:
    """SQL condition (and parameters) on incident rows ``alias`` that may count towards a
    figure at ``level`` for ``scope``: for a restricted scope the released types of the level,
    registered before the newest (still running) month of the scope's data; ``TRUE``
    otherwise."""
    if not restricted(scope, level):
        return "TRUE", []
    where, params = area_filter(scope, "area_code")
    return (f"{_released_sql(level, f'{alias}.type_code')}"
            f" AND {alias}.occurred_date < (SELECT coalesce(max(period_start), DATE '1900-01-01')"
            f" FROM counts WHERE level = 'gemeente' AND period_type = 'M' AND {where})",
            params)


@dataclass(frozen=True)
class Release:
    """What a figure of bundle/type ``indicator`` at ``level`` counts for a scope."""
    level: str
    indicator: str
    #: Members of the indicator that count (all of them unless restricted).
    members: tuple[str, ...]
    #: Members left out below the gemeente (code, title).
    left_out: tuple[tuple[str, str], ...] = ()

    @property
    def published(self) -> bool:
        return bool(self.members)

    def note(self) -> str:
        """A Dutch sentence for the page when members are left out; empty otherwise."""
        if not self.left_out or not self.members:
            return ""
        names = ", ".join(f"{title} ({code})" if code[0].isdigit() else title
                          for code, title in self.left_out)
        return (f"Op {LEVEL_NAMES[self.level]} zonder {names}: die cijfers publiceert de politie "
                "niet onder gemeenteniveau, dus ook dit dashboard niet op uw detailniveau.")


def release(con, *, scope: Scope, level: str, indicator: str) -> Release:
    """The release of ``indicator`` (a bundle code or single type) at ``level`` for ``scope``.
    Raises :class:`NotPublished` when none of its members is released there."""
    members = indicator_members(con).get(indicator, ())
    if not restricted(scope, level):
        return Release(level, indicator, tuple(code for code, _, _ in members))
    allowed = per_connection(con, ("disclosure.released", level), lambda: frozenset(
        r[0] for r in con.execute(
            f"SELECT code FROM crime_types WHERE {_released_sql(level, 'code')}").fetchall()))
    kept = tuple(code for code, _, _ in members if code in allowed)
    left_out = tuple((code, title) for code, title, _ in members if code not in allowed)
    if members and not kept:
        raise NotPublished(
            f"Deze cijfers zijn op {LEVEL_NAMES[level]} niet beschikbaar op uw detailniveau: de "
            "politie publiceert ze niet onder gemeenteniveau"
            + (" (per postcode alleen woninginbraak)." if level == "pc4" else ".")
            + " Kies het gemeenteniveau of een andere soort.",
            detail=f"indicator {indicator} not published at {level} for detail {scope.detail}")
    return Release(level, indicator, kept, left_out)


def weeks_released(scope: Scope) -> bool:
    """True when ``scope`` may see counts per ISO week, at gemeente level too. Not for detail
    level 1: the police publish months, and a gemeente's week series pins a buurt's
    registration to a week whenever the gemeente had that type in one week of the month only
    (found by the attacker test, tests/test_disclosure_attack.py). Detail 2 sees the incident
    list with dates anyway."""
    return not (PROTECTION and not scope.empty and scope.detail < 2)


#: Why a detail-1 week request is answered per month.
WEEKS_NOTE = ("Weekcijfers zijn er vanaf detailniveau 2; voor u per maand, kwartaal of jaar: de "
              "politie publiceert maandcijfers, en weekcijfers van de gemeente zouden met de "
              "openbare buurtcijfers laten zien in welke week een buurt een registratie had.")


def ensure_grain(scope: Scope, level: str, grain: str) -> None:
    """Refuse a series grain below the gemeente that is not published (ISO weeks)."""
    if restricted(scope, level) and grain not in PUBLISHED_GRAINS:
        raise NotPublished(
            "Wijk- en buurtcijfers zijn voor u per maand, kwartaal of jaar beschikbaar, niet "
            "per week: de politie publiceert ze per maand.",
            detail=f"grain {grain} below gemeente for detail {scope.detail}")


def pinned_split_months(con, *, scope: Scope, gemeenten, types, start: date, end: date
                        ) -> set[date]:
    """Months in [start, end) whose split of ``types`` into attempted/completed, shown per
    gemeente of ``gemeenten``, would pin some buurt's split given the public buurt counts.

    Per month and gemeente the registrations form a buurt x category table whose row sums
    (buurt counts) are public and whose column sums (the split) would be shown. A positive
    cell can move by one (a swap with another cell keeps every sum) exactly when some *other*
    buurt has a registration in *another* category; a month is pinned when any positive cell
    has no such partner. Registrations without a buurt form one row of their own (their total
    is the gemeente total minus the buurten). Each gemeente is checked alone, because its own
    split can be requested alone."""
    if not restricted(scope, "buurt"):
        return set()
    where, params = area_filter(scope, "gm_code")
    found = con.execute(f"""
        WITH cells AS (
            SELECT gm_code, date_trunc('month', occurred_date)::DATE AS month,
                   coalesce(bu_code, '') AS buurt, attempt
            FROM incidents
            WHERE {where} AND gm_code IN (SELECT unnest(?::VARCHAR[]))
              AND type_code IN (SELECT unnest(?::VARCHAR[]))
              AND occurred_date >= ? AND occurred_date < ?
            GROUP BY ALL)
        SELECT DISTINCT c.month FROM cells c
        WHERE NOT EXISTS (
            SELECT 1 FROM cells o
            WHERE o.gm_code = c.gm_code AND o.month = c.month
              AND o.buurt <> c.buurt AND o.attempt IS DISTINCT FROM c.attempt)""",
        [*params, list(gemeenten), list(types), start, end]).fetchall()
    return {r[0] for r in found}
