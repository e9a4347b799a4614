"""Counts per area from the incident table: the core area x period x type query.

Below gemeente level (wijk, buurt, PC4, PC6) counts come straight from ``incidents``, which is
sorted by gemeente and date so that a gemeente x period filter reads only its own row groups.
Every area of the level in scope is returned, zeros included. What may count towards a figure
below the gemeente is decided by the disclosure model (``data.disclosure``): for a user at
detail level 1 only the registrations the police publish per wijk, buurt or PC4 themselves, so
every figure is exact and no combination of figures reveals anything else.
"""
from __future__ import annotations

import pandas as pd

from data import disclosure
from data.periods import Period
from data.queries.overview import MONTHLY_GEMEENTE_COUNTS
from data.scope import Scope, area_filter

#: Area level -> incidents column holding that level's code.
LEVEL_COLUMNS = {"gemeente": "gm_code", "wijk": "wk_code", "buurt": "bu_code",
                 "pc4": "pc4", "pc6": "pc6"}
#: Level -> the column of its parent area in ``areas``.
PARENT_COLUMNS = {"gemeente": "re_code", "wijk": "gm_code", "buurt": "wk_code",
                  "pc4": "gm_code", "pc6": "pc4"}


def _raw_counts(con, scope: Scope, level: str, period: Period, group: str,
                within: str | None) -> pd.DataFrame:
    column = LEVEL_COLUMNS[level]
    where_i, params_i = area_filter(scope, "i.gm_code")
    released, params_r = disclosure.rows(scope, level, "i")
    where_a, params_a = area_filter(scope, "a.gm_code")
    within_i, within_a = ("AND i.gm_code = ?", "AND a.gm_code = ?") if within else ("", "")
    extra = [within] if within else []
    return con.execute(f"""
        WITH hits AS (
            SELECT i.{column} AS code, count(*) AS n
            FROM incidents i
            WHERE {where_i} {within_i}
              AND i.occurred_date >= ? AND i.occurred_date < ?
              AND i.type_code IN (SELECT type_code FROM type_groups WHERE group_code = ?)
              AND {released}
            GROUP BY i.{column})
        SELECT a.code, a.name, a.gm_code, a.{PARENT_COLUMNS[level]} AS parent_code,
               coalesce(hits.n, 0)::BIGINT AS count
        FROM areas a LEFT JOIN hits ON hits.code = a.code
        WHERE a.level = ? AND {where_a} {within_a}
        ORDER BY a.code""",
        [*params_i, *extra, period.start, period.end, group, *params_r, level, *params_a,
         *extra]).df()


#: Registrations per gemeente of one bundle over whole months, from the monthly gemeente
#: counts (parameters: first month, end month exclusive, bundle code). Columns: area_code, n.
_GEMEENTE_SUMS = f"""
    SELECT m.area_code, sum(m.count) AS n
    FROM ({MONTHLY_GEMEENTE_COUNTS}) m
    WHERE m.month >= ? AND m.month < ?
      AND m.type_code IN (SELECT type_code FROM type_groups WHERE group_code = ?)
    GROUP BY m.area_code"""


def _gemeente_counts(con, scope: Scope, period: Period, group: str,
                     within: str | None) -> pd.DataFrame:
    """Gemeente level from the monthly gemeente counts (periods are whole months), so the
    national layer never scans the incident table."""
    where, params = area_filter(scope, "a.code")
    within_sql, extra = ("AND a.code = ?", [within]) if within else ("", [])
    return con.execute(f"""
        WITH m AS ({_GEMEENTE_SUMS})
        SELECT a.code, a.name, a.gm_code, a.re_code AS parent_code,
               coalesce(m.n, 0)::BIGINT AS count
        FROM areas a LEFT JOIN m ON m.area_code = a.code
        WHERE a.level = 'gemeente' AND {where} {within_sql}
        ORDER BY a.code""", [period.start, period.end, group, *params, *extra]).df()


def _eenheid_counts(con, scope: Scope, period: Period, group: str) -> pd.DataFrame:
    """Regionale eenheden with at least one gemeente in scope, each with the sum of the
    monthly counts of *its gemeenten in scope* (not of the whole eenheid)."""
    where, params = area_filter(scope, "g.code")
    return con.execute(f"""
        WITH m AS ({_GEMEENTE_SUMS})
        SELECT e.code, coalesce(e.name, e.code) AS name, NULL::VARCHAR AS gm_code,
               coalesce(e.parent_code, 'NL00') AS parent_code,
               coalesce(sum(m.n), 0)::BIGINT AS count
        FROM areas g JOIN areas e ON e.code = g.re_code AND e.level = 'eenheid'
        LEFT JOIN m ON m.area_code = g.code
        WHERE g.level = 'gemeente' AND {where}
        GROUP BY e.code, e.name, e.parent_code
        ORDER BY e.code""", [period.start, period.end, group, *params]).df()


def incident_counts_by_area(con, *, scope: Scope, level: str, period: Period, group: str,
                            within: str | None = None) -> pd.DataFrame:
    """Registrations of bundle ``group`` in ``period`` per area of ``level`` in scope,
    optionally only inside gemeente ``within``. Columns: code, name, gm_code, parent_code,
    count (Int64). Below the gemeente the bundle counts the members the scope's release has
    (``data.disclosure.release``; NotPublished when it has none)."""
    if level == "gemeente":
        frame = _gemeente_counts(con, scope, period, group, within)
    elif level == "eenheid":  # not below gemeente level: exact, as for gemeenten
        frame = _eenheid_counts(con, scope, period, group)
    else:
        disclosure.release(con, scope=scope, level=level, indicator=group)
        frame = _raw_counts(con, scope, level, period, group, within)
    return frame.assign(count=frame["count"].astype("Int64"))
