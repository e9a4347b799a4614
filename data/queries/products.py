"""Queries behind the generated products (Rapportages, ``data/products/``) that the other
query modules do not already answer: the product's area, counts per crime type for a month and
the year to date, counts per bundle per month, counts per type over arbitrary dates, and the
anonymised larger incidents of a time window.

Every figure here is at gemeente level or above (exact for every scope, data/disclosure.py); counts
below gemeente level come from ``data.queries.areas.incident_counts_by_area`` (the disclosure
model, as on the map) and incident rows from ``data.queries.incidents`` (detail level checks included).
(Owned by the stuurgegevens/tabellenboek/incidentenrapport/operationeel-beeld builders; the
comparison products' queries are in ``data/queries/comparisons.py``.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from data.scope import OutOfScope, Scope, area_filter

#: The non-crime type of a police raid ("inval"), as in data.meldingen.
RAID_TYPE = "N06"


@dataclass(frozen=True)
class ProductArea:
    code: str
    name: str
    level: str  # gemeente | eenheid | basisteam | district | buurten (a chosen set)
    gemeenten: tuple[str, ...]  # the gemeenten whose figures are summed, all in scope
    names: dict = field(default_factory=dict)  # gemeente code -> name
    buurten: tuple[str, ...] = ()  # level 'buurten': the chosen buurten (in those gemeenten)


def product_area(con, *, scope: Scope, area: str) -> ProductArea:
    """The area a product is made for: a gemeente, regionale eenheid, basisteam or district,
    with its gemeenten. Raises OutOfScope unless every one of those gemeenten is in scope (a
    product is never a partial picture of an area), also for an unknown code (the message
    does not tell the two apart)."""
    if scope.empty or not isinstance(area, str) or not area:
        raise OutOfScope("empty scope")
    row = con.execute("SELECT level, coalesce(name, code) FROM areas WHERE code = ? "
                      "AND level IN ('gemeente', 'eenheid')", [area]).fetchall()
    if row:
        level, name = row[0]
        where = "code = ?" if level == "gemeente" else "re_code = ?"
    else:
        row = con.execute("SELECT kind, coalesce(name, code) FROM org_units WHERE code = ?",
                          [area]).fetchall()
        if not row:
            raise OutOfScope(f"unknown area {area!r}")
        level, name = row[0]
        where = "code IN (SELECT gm_code FROM org_gemeenten WHERE org_code = ?)"
    rows = con.execute(f"SELECT code, coalesce(name, code) FROM areas WHERE level = 'gemeente'"
                       f" AND {where} ORDER BY 2", [area]).fetchall()
    codes = tuple(r[0] for r in rows)
    if not codes or not set(codes) <= set(scope.gemeenten):
        raise OutOfScope(f"area {area} not wholly inside the scope")
    return ProductArea(area, name, level, codes, {r[0]: r[1] for r in rows})


def gemeente_type_counts(con, *, scope: Scope, gemeenten, types, start: date,
                         end: date) -> pd.DataFrame:
    """Registrations per gemeente and type (``types``: type codes) with occurrence date in
    [start, end), from the incidents: columns gm_code, type_code, title, count (only
    non-zero combinations)."""
    where, params = area_filter(scope, "i.gm_code")
    return con.execute(f"""
        SELECT i.gm_code, i.type_code, coalesce(any_value(t.title), i.type_code) AS title,
               count(*)::BIGINT AS count
        FROM incidents i LEFT JOIN crime_types t ON t.code = i.type_code
        WHERE {where} AND i.gm_code IN (SELECT unnest(?::VARCHAR[]))
          AND i.type_code IN (SELECT unnest(?::VARCHAR[]))
          AND i.occurred_date >= ? AND i.occurred_date < ?
        GROUP BY i.gm_code, i.type_code ORDER BY i.gm_code, i.type_code""",
        [*params, list(gemeenten), list(types), start, end]).df()


def larger_incidents(con, *, scope: Scope, gemeenten, start: datetime,
                     end: datetime) -> pd.DataFrame:
    """The larger incidents (high impact, or a raid ``N06``) that occurred in [start, end),
    anonymised: type, gemeente, the hour of day and the kind only — never an id, address,
    wijk, buurt or text, whatever the scope's detail level. Columns gm_code, gemeente,
    type_code, soort, hour, day, high_impact, inval; ordered by time."""
    where, params = area_filter(scope, "i.gm_code")
    return con.execute(f"""
        SELECT i.gm_code, coalesce(g.name, i.gm_code) AS gemeente, i.type_code,
               coalesce(t.title, i.type_code) AS soort, hour(i.occurred_at) AS hour,
               i.occurred_date AS day,
               i.high_impact AS high_impact, i.type_code = ? AS inval
        FROM incidents i
        LEFT JOIN crime_types t ON t.code = i.type_code
        LEFT JOIN areas g ON g.code = i.gm_code
        WHERE {where} AND i.gm_code IN (SELECT unnest(?::VARCHAR[]))
          AND i.occurred_date >= ? AND i.occurred_date <= ?
          AND i.occurred_at >= ? AND i.occurred_at < ?
          AND (i.high_impact OR i.type_code = ?)
        ORDER BY i.occurred_at, i.gm_code, i.type_code""",
        [RAID_TYPE, *params, list(gemeenten), start.date(), end.date(), start, end,
         RAID_TYPE]).df()


def area_options(con, *, scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of the gemeenten in scope, by name: the areas "Nu maken" offers."""
    where, params = area_filter(scope, "code")
    return [tuple(r) for r in con.execute(
        f"SELECT code, coalesce(name, code) FROM areas WHERE level = 'gemeente' AND {where} "
        "ORDER BY 2", params).fetchall()]
