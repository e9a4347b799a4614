"""Queries behind the landing page: dataset summary, key figures and the monthly series.

All figures are at gemeente level or above (exact for every scope) and read the
monthly gemeente counts in ``counts``; when incidents are loaded those are derived from them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from data.periods import Period, months_before
from data.scope import Scope, area_filter

#: Bundles shown as key figures, in order.
KEY_GROUPS = ("alle_misdrijven", "woninginbraak", "hic", "geweld", "overlast")

#: Monthly gemeente counts, preferring those derived from incidents when there are any.
MONTHLY_GEMEENTE_COUNTS = """
    SELECT area_code, period_start AS month, type_code, count, provisional
    FROM counts
    WHERE level = 'gemeente' AND period_type = 'M'
      AND (source = 'incidents'
           OR NOT EXISTS (SELECT 1 FROM counts WHERE source = 'incidents'))
"""


@dataclass(frozen=True)
class KeyFigure:
    group: str
    title: str
    current: int
    previous: int

    @property
    def change_pct(self) -> float | None:
        if not self.previous:
            return None
        return (self.current - self.previous) / self.previous * 100.0


def latest_month(con, *, scope: Scope) -> date | None:
    """First day of the newest month with data in scope (usually still incomplete)."""
    where, params = area_filter(scope, "area_code")
    rows = con.execute(f"SELECT max(month) FROM ({MONTHLY_GEMEENTE_COUNTS}) WHERE {where}", params).fetchall()
    return rows[0][0] if rows and rows[0][0] else None


def last_complete_months(con, *, scope: Scope, months: int = 12) -> Period | None:
    """The last ``months`` complete months in scope (the newest, incomplete month excluded)."""
    newest = latest_month(con, scope=scope)
    return None if newest is None else months_before(newest, months)



def dataset_summary(con, *, scope: Scope) -> dict:
    """Name, source and demo flag of the loaded data, and the months it covers in scope."""
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    where, params = area_filter(scope, "area_code")
    first, last = con.execute(
        f"SELECT min(month), max(month) FROM ({MONTHLY_GEMEENTE_COUNTS}) WHERE {where}", params).fetchall()[0]
    return {
        "name": meta.get("dataset_name", "Veiligheidsbeeld"),
        "source": meta.get("dataset_source", ""),
        "demo": meta.get("demo") == "true",
        "first_month": first,
        "last_month": last,
        "updated_at": meta.get("updated_at"),
    }


def key_figures(con, *, scope: Scope, period: Period) -> list[KeyFigure]:
    """Per bundle of KEY_GROUPS: registrations in ``period`` and in the 12 months before it."""
    where, params = area_filter(scope, "area_code")
    previous = period.shifted(-12)
    rows = con.execute(f"""
        WITH m AS (
            SELECT type_code, month, count FROM ({MONTHLY_GEMEENTE_COUNTS})
            WHERE {where} AND month >= ? AND month < ?)
        SELECT g.group_code, any_value(g.group_title),
               coalesce(sum(m.count) FILTER (WHERE m.month >= ?), 0),
               coalesce(sum(m.count) FILTER (WHERE m.month < ?), 0)
        FROM type_groups g
        LEFT JOIN m ON m.type_code = g.type_code
        WHERE g.group_code IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY g.group_code""",
        [*params, previous.start, period.end, period.start, period.start, list(KEY_GROUPS)],
    ).fetchall()
    by_group = {r[0]: KeyFigure(r[0], r[1], int(r[2]), int(r[3])) for r in rows}
    return [by_group[g] for g in KEY_GROUPS if g in by_group]


def monthly_series(con, *, scope: Scope, group: str, period: Period) -> pd.DataFrame:
    """Registrations per month of a bundle in scope: columns month, count, provisional."""
    where, params = area_filter(scope, "m.area_code")
    return con.execute(f"""
        SELECT m.month, sum(m.count)::BIGINT AS count, bool_or(m.provisional) AS provisional
        FROM ({MONTHLY_GEMEENTE_COUNTS}) m
        JOIN type_groups g ON g.type_code = m.type_code AND g.group_code = ?
        WHERE {where} AND m.month >= ? AND m.month < ?
        GROUP BY m.month ORDER BY m.month""",
        [group, *params, period.start, period.end]).df()


def gemeente_table(con, *, scope: Scope, period: Period) -> pd.DataFrame:
    """Per gemeente in scope: inhabitants, all misdrijven in ``period`` and the rate per 1,000."""
    where, params = area_filter(scope, "a.code")
    return con.execute(f"""
        WITH crimes AS (
            SELECT m.area_code, sum(m.count) AS misdrijven
            FROM ({MONTHLY_GEMEENTE_COUNTS}) m
            JOIN type_groups g ON g.type_code = m.type_code AND g.group_code = 'alle_misdrijven'
            WHERE m.month >= ? AND m.month < ?
            GROUP BY m.area_code),
        pop AS (
            SELECT code, arg_max(population, year) AS inwoners
            FROM population WHERE year <= ? GROUP BY code)
        SELECT a.code, a.name, pop.inwoners, coalesce(crimes.misdrijven, 0)::BIGINT AS misdrijven,
               round(coalesce(crimes.misdrijven, 0) * 1000.0 / nullif(pop.inwoners, 0), 1)
                   AS per_1000
        FROM areas a
        LEFT JOIN crimes ON crimes.area_code = a.code
        LEFT JOIN pop ON pop.code = a.code
        WHERE a.level = 'gemeente' AND {where}
        ORDER BY pop.inwoners DESC NULLS LAST, a.name""",
        [period.start, period.end, period.end.year, *params]).df()
