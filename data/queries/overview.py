"""Queries behind the landing page: dataset summary, key figures and the monthly series.

All figures are at gemeente level or above (exact for every scope) and read the
monthly gemeente counts in ``counts``; when incidents are loaded those are derived from them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from data.periods import Period, add_months, month_range, months_before
from data.queries import coverage
from data.scope import Scope, area_filter
from data.sql import per_connection

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
    #: Registrations in the period and the 12 months before; None where no source covers it
    #: (``reason`` says so), never 0.
    current: int | None
    previous: int | None
    source: str = ""
    reason: str = ""
    #: When the period has no figure: the newest calendar year that has one, and its count.
    latest_year: int | None = None
    latest_year_count: int | None = None

    @property
    def change_pct(self) -> float | None:
        if not self.previous or self.current is None:
            return None
        return (self.current - self.previous) / self.previous * 100.0


def _gemeente_months(con) -> dict[str, tuple[date, date]]:
    """Each gemeente's first and newest month of monthly counts: asked on nearly every
    callback, scanned once per connection (``data.sql.per_connection``)."""
    return per_connection(con, "overview.gemeente_months", lambda: {
        code: (first, last) for code, first, last in con.execute(
            f"SELECT area_code, min(month), max(month) FROM ({MONTHLY_GEMEENTE_COUNTS})"
            " GROUP BY area_code").fetchall()})


def _months(con, scope: Scope) -> tuple[date | None, date | None]:
    """The first and newest month with monthly counts in scope (None, None without)."""
    spans = [v for code, v in _gemeente_months(con).items() if code in scope.gemeenten]
    if scope.empty or not spans:
        return None, None
    return min(f for f, _ in spans), max(last for _, last in spans)


def latest_month(con, *, scope: Scope) -> date | None:
    """First day of the newest month with data in scope (usually still incomplete)."""
    return _months(con, scope)[1]


def last_complete_months(con, *, scope: Scope, months: int = 12) -> Period | None:
    """The last ``months`` complete months in scope (the newest, incomplete month excluded):
    of the monthly gemeente counts, else of the PC4 file (``coverage.newest_month``)."""
    newest = coverage.newest_month(con, scope=scope)
    return None if newest is None else months_before(newest, months)


def dataset_summary(con, *, scope: Scope) -> dict:
    """Name, source and demo flag of the loaded data, and the months it covers in scope."""
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    first, last = _months(con, scope)
    return {
        "name": meta.get("dataset_name", "Veiligheidsbeeld"),
        "source": meta.get("dataset_source", ""),
        "demo": meta.get("demo") == "true",
        "first_month": first,
        "last_month": last,
        "updated_at": meta.get("updated_at"),
    }


def key_figures(con, *, scope: Scope, period: Period) -> list[KeyFigure]:
    """Per bundle of KEY_GROUPS: registrations in ``period`` and in the 12 months before it,
    from ``data.queries.coverage`` (no figure where no source covers the period; then the
    newest calendar year that has one)."""
    titles = dict(con.execute(
        "SELECT group_code, any_value(group_title) FROM type_groups"
        " WHERE group_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [list(KEY_GROUPS)]).fetchall())
    codes = sorted(scope.gemeenten)
    years = [Period(date(y, 1, 1), date(y + 1, 1, 1))
             for y in coverage.covered_years(con, scope=scope)]
    groups = [g for g in KEY_GROUPS if g in titles]
    previous = period.shifted(-12)
    found = coverage.totals(con, scope=scope, gemeenten=codes, indicators=groups,
                            periods=[period, previous])
    out = []
    for group in groups:
        now, before = found[group][period], found[group][previous]
        latest = (None, None)
        if not now.known and years:
            by_year = coverage.totals(con, scope=scope, gemeenten=codes, indicators=[group],
                                      periods=years)[group]
            latest = next(((y.start.year, by_year[y].value) for y in years if by_year[y].known),
                          (None, None))
        out.append(KeyFigure(group, titles[group], now.value, before.value,
                             coverage.source_title(now.source), now.reason, *latest))
    return out


def monthly_series(con, *, scope: Scope, group: str, period: Period) -> pd.DataFrame:
    """Registrations per month of a bundle in scope: columns month, count (<NA> for a month no
    source covers), provisional. Empty when no month has a figure."""
    codes = sorted(scope.gemeenten)
    months = [Period(m, add_months(m, 1)) for m in month_range(period.start, period.end)]
    cells = coverage.totals(con, scope=scope, gemeenten=codes, indicators=[group],
                            periods=months)[group]
    rows = [(m.start, cells[m]) for m in months]
    frame = pd.DataFrame({"month": [m for m, _ in rows],
                          "count": pd.array([c.value for _, c in rows], dtype="Int64"),
                          "provisional": [c.provisional for _, c in rows]})
    known = frame["count"].notna()
    if not known.any():
        return frame.iloc[0:0]
    first, last = known.idxmax(), known[::-1].idxmax()
    return frame.loc[first:last].reset_index(drop=True)


def gemeente_table(con, *, scope: Scope, period: Period) -> pd.DataFrame:
    """Per gemeente in scope: inhabitants, all misdrijven in ``period`` (<NA> and the reason
    where no source covers it) and the rate per 1,000."""
    where, params = area_filter(scope, "a.code")
    frame = con.execute(f"""
        WITH pop AS (
            SELECT code, arg_max(population, year) AS inwoners
            FROM population WHERE year <= ? GROUP BY code)
        SELECT a.code, a.name, pop.inwoners
        FROM areas a
        LEFT JOIN pop ON pop.code = a.code
        WHERE a.level = 'gemeente' AND {where}
        ORDER BY pop.inwoners DESC NULLS LAST, a.name""",
        [period.end.year, *params]).df()
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=frame["code"].tolist(),
                                     indicator="alle_misdrijven", periods=[period])
    found = [cells[(code, period)] for code in frame["code"]]
    frame["misdrijven"] = pd.array([c.value for c in found], dtype="Int64")
    frame["reason"] = [c.reason or None for c in found]
    inwoners = frame["inwoners"].astype("Float64")
    frame["per_1000"] = (frame["misdrijven"].astype("Float64") * 1000.0
                         / inwoners.where(inwoners > 0)).round(1)
    return frame
