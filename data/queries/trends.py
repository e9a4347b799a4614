"""Time series for the trends page: one indicator (a bundle or a single type) for gemeenten the
user picks within the scope, per week, month, quarter or year.

Month, quarter and year series read the monthly gemeente counts (``overview.MONTHLY_GEMEENTE_COUNTS``: derived
from incidents, or imported counts when there are none); weeks need incidents. Everything is at
gemeente level, so no small-count suppression applies. Each period carries the same period a
year earlier, the change's significance (``data.stats``), a 12-month moving average, the rate
per 1,000 inhabitants and whether it is provisional (late registrations can still follow) or
partial (the newest quarter or year is not complete yet).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from data.queries.overview import MONTHLY_GEMEENTE_COUNTS as _MONTHLY
from data.queries.overview import latest_month
from data.catalog import indicator_title, indicator_types
from data.periods import add_months, month_range
from data.scope import OutOfScope, Scope, area_filter, ensure_gemeente
from data.stats import poisson_change

#: Period grains offered on the page, in order.
GRAINS = ("week", "maand", "kwartaal", "jaar")
#: Periods per year, for the moving average over the last 12 months.
PER_YEAR = {"week": 52, "maand": 12, "kwartaal": 4, "jaar": 1}
#: Calendar years shown (the current, incomplete one included).
YEARS_SHOWN = 3
#: Bundles offered first, in this order; the other bundles and the single types follow.
DEFAULT_INDICATOR = "alle_misdrijven"


@dataclass(frozen=True)
class Trend:
    indicator: str
    title: str
    grain: str
    gemeenten: tuple[str, ...]
    #: One row per period: start, label, count, previous, z, significant, change, per_1000,
    #: previous_per_1000, moving_avg, moving_avg_per_1000, provisional, partial.
    series: pd.DataFrame
    #: Year to date: month (1..12), current and previous cumulative counts (current <NA> after
    #: the last complete month).
    ytd: pd.DataFrame
    ytd_year: int | None
    ytd_through: date | None
    note: str = ""


def gemeente_options(con, *, scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of every gemeente in scope, by name."""
    where, params = area_filter(scope, "code")
    return [tuple(r) for r in con.execute(
        f"SELECT code, coalesce(name, code) FROM areas WHERE level = 'gemeente' AND {where} "
        "ORDER BY 2", params).fetchall()]


def indicator_options(con, *, scope: Scope) -> list[tuple[str, str]]:
    """(code, title) of the bundles, then every single type (crime and non-crime)."""
    if scope.empty:
        return []
    bundles = con.execute(
        "SELECT group_code, any_value(group_title) FROM type_groups GROUP BY group_code "
        "ORDER BY group_code <> 'alle_misdrijven', 2").fetchall()
    types = con.execute(
        "SELECT code, code || ' ' || title FROM crime_types WHERE kind <> 'totaal' "
        "ORDER BY sort_key").fetchall()
    return [tuple(r) for r in bundles] + [tuple(r) for r in types]



def resolve_gemeenten(*, scope: Scope, requested) -> tuple[str, ...]:
    """The requested gemeenten, or every gemeente in scope when none is requested. Raises
    OutOfScope when any requested gemeente lies outside the scope."""
    if scope.empty:
        raise OutOfScope("empty scope")
    codes = tuple(sorted({c for c in (requested or ()) if c}))
    for code in codes:
        ensure_gemeente(scope, code)
    return codes or tuple(sorted(scope.gemeenten))


def trend(con, *, scope: Scope, gemeenten, indicator: str, grain: str) -> Trend:
    """The series of ``indicator`` for ``gemeenten`` (all of the scope when empty) by
    ``grain``, over the last YEARS_SHOWN calendar years up to the last complete month."""
    codes = resolve_gemeenten(scope=scope, requested=gemeenten)
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    types = indicator_types(con, indicator)
    if not types:
        raise ValueError(f"unknown indicator {indicator!r}")
    title = indicator_title(con, indicator)
    empty = Trend(indicator, title, grain, codes, _empty_series(), pd.DataFrame(), None, None,
                  "Geen gegevens beschikbaar voor deze keuze.")
    end = latest_month(con, scope=scope)  # first month NOT shown (still incomplete)
    if end is None:
        return empty
    last_year = add_months(end, -1).year
    shown_from = date(last_year - YEARS_SHOWN + 1, 1, 1)
    fetch_from = add_months(shown_from, -24)
    monthly, first_month, provisional_from = monthly_counts(
        con, scope=scope, gemeenten=codes, types=types, start=fetch_from, end=end)
    if first_month is None:
        return empty
    population = _population(con, scope, codes)
    shown_from = max(shown_from, first_month)
    if grain == "week":
        series, note = _weekly(con, scope, codes, types, fetch_from, shown_from, end,
                               provisional_from, population)
    else:
        series, note = _bymonths(monthly, first_month, grain, shown_from, end, provisional_from,
                                  population), ""
    ytd, ytd_year, through = _year_to_date(monthly, first_month, end)
    return Trend(indicator, title, grain, codes, series, ytd, ytd_year, through, note)


# -- helpers -----------------------------------------------------------------------------------



def monthly_counts(con, *, scope: Scope, gemeenten, types, start: date, end: date):
    """Monthly counts of ``types`` for ``gemeenten`` (already resolved against the scope): {month: count} over [start, end) with zeros filled from the first month
    {month: count} over [start, end) with zeros filled from the first month with data; the
    first month with data in scope for those gemeenten; the first provisional month."""
    codes = gemeenten
    where, params = area_filter(scope, "m.area_code")
    rows = con.execute(f"""
        SELECT m.month, sum(m.count)::BIGINT
        FROM ({_MONTHLY}) m
        WHERE {where} AND m.area_code IN (SELECT unnest(?::VARCHAR[]))
          AND m.type_code IN (SELECT unnest(?::VARCHAR[])) AND m.month >= ? AND m.month < ?
        GROUP BY m.month""", [*params, list(codes), types, start, end]).fetchall()
    first, provisional = con.execute(f"""
        SELECT min(m.month), min(m.month) FILTER (WHERE m.provisional)
        FROM ({_MONTHLY}) m
        WHERE {where} AND m.area_code IN (SELECT unnest(?::VARCHAR[]))""",
        [*params, list(codes)]).fetchall()[0]
    if first is None:
        return {}, None, None
    counts = {m: 0 for m in month_range(max(start, first), end)}
    counts.update({m: int(n) for m, n in rows})
    return counts, first, provisional


def _population(con, scope, codes) -> dict[int, int]:
    """Inhabitants of ``codes`` together per year (each gemeente's latest figure up to that
    year, or its earliest when none is that old)."""
    where, params = area_filter(scope, "code")
    rows = con.execute(
        f"SELECT code, year, population FROM population WHERE {where} "
        "AND code IN (SELECT unnest(?::VARCHAR[])) ORDER BY code, year",
        [*params, list(codes)]).fetchall()
    if not rows:
        return {}
    by_code: dict[str, list[tuple[int, int]]] = {}
    for code, year, population in rows:
        by_code.setdefault(code, []).append((int(year), int(population)))
    years = [r[1] for r in rows]
    totals = {}
    for year in range(min(years) - 6, max(years) + 7):
        totals[year] = sum(
            next((p for y, p in reversed(series) if y <= year), series[0][1])
            for series in by_code.values())
    return totals


def _rate(count, population: dict, year: int):
    inhabitants = population.get(year)
    if count is None or not inhabitants:
        return None
    return count * 1000.0 / inhabitants



def _bucket(month: date, grain: str) -> date:
    if grain == "kwartaal":
        return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)
    if grain == "jaar":
        return date(month.year, 1, 1)
    return month


MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def _label(start: date, grain: str) -> str:
    if grain == "maand":
        return f"{MONTHS[start.month - 1]} {start.year}"
    if grain == "kwartaal":
        return f"K{(start.month - 1) // 3 + 1} {start.year}"
    if grain == "jaar":
        return str(start.year)
    iso = start.isocalendar()
    return f"week {iso[1]} {iso[0]}"


def _row(start, label, count, previous, moving_avg, provisional, partial, population, year):
    change = poisson_change(count, previous)
    return dict(start=start, label=label, count=count, previous=previous, z=change.z,
                significant=change.significant, change=change.label,
                change_pct=change.pct,
                per_1000=_rate(count, population, year),
                previous_per_1000=_rate(previous, population, year - 1),
                moving_avg=moving_avg, moving_avg_per_1000=_rate(moving_avg, population, year),
                provisional=bool(provisional), partial=bool(partial))


def _bymonths(monthly: dict, first: date, grain: str, shown_from: date, end: date,
               provisional_from: date | None, population: dict) -> pd.DataFrame:
    size = {"maand": 1, "kwartaal": 3, "jaar": 12}[grain]
    buckets: dict[date, list[date]] = {}
    for month in month_range(shown_from, end):
        buckets.setdefault(_bucket(month, grain), []).append(month)
    rows = []
    for start, months in buckets.items():
        count = sum(monthly[m] for m in months)
        before = [add_months(m, -12) for m in months]
        previous = (sum(monthly[m] for m in before) if all(m in monthly for m in before)
                    else None)
        window = month_range(add_months(months[-1], -11), add_months(months[-1], 1))
        moving = (sum(monthly[m] for m in window) / PER_YEAR[grain]
                  if grain != "jaar" and all(m in monthly for m in window) else None)
        provisional = provisional_from is not None and months[-1] >= provisional_from
        label = _label(start, grain)
        partial = len(months) < size
        if partial:
            label += f" (t/m {MONTHS[months[-1].month - 1]})"
        rows.append(_row(start, label, count, previous, moving, provisional, partial,
                         population, start.year))
    return pd.DataFrame(rows, columns=_empty_series().columns)


def _weekly(con, scope, codes, types, fetch_from, shown_from, end, provisional_from,
            population):
    """Weeks (Monday to Sunday) that end before ``end``, from incidents."""
    where, params = area_filter(scope, "gm_code")
    rows = con.execute(f"""
        SELECT date_trunc('week', occurred_date)::DATE, count(*)
        FROM incidents
        WHERE {where} AND gm_code IN (SELECT unnest(?::VARCHAR[]))
          AND type_code IN (SELECT unnest(?::VARCHAR[]))
          AND occurred_date >= ? AND occurred_date < ?
        GROUP BY 1""", [*params, list(codes), types, fetch_from, end]).fetchall()
    first = con.execute(
        f"SELECT min(occurred_date) FROM incidents WHERE {where} "
        "AND gm_code IN (SELECT unnest(?::VARCHAR[]))", [*params, list(codes)]).fetchall()[0][0]
    if first is None:
        return _empty_series(), "Weekcijfers zijn alleen beschikbaar als incidenten zijn ingelezen."
    first_week = first + timedelta(days=(7 - first.weekday()) % 7)  # first complete week
    counts = {r[0]: int(r[1]) for r in rows}
    week = max(fetch_from, first_week)
    week += timedelta(days=(7 - week.weekday()) % 7)
    weekly = {}
    while week + timedelta(days=7) <= end:
        weekly[week] = counts.get(week, 0)
        week += timedelta(days=7)
    out = []
    for start in [w for w in weekly if w >= shown_from]:
        previous = weekly.get(start - timedelta(days=364))
        window = [start - timedelta(days=7 * k) for k in range(52)]
        moving = (sum(weekly[w] for w in window) / 52
                  if all(w in weekly for w in window) else None)
        provisional = (provisional_from is not None
                       and start + timedelta(days=6) >= provisional_from)
        out.append(_row(start, _label(start, "week"), weekly[start], previous, moving,
                        provisional, False, population, start.year))
    return pd.DataFrame(out, columns=_empty_series().columns), ""


def _year_to_date(monthly: dict, first: date, end: date):
    """Cumulative counts this year up to the last complete month, and last year (all months)."""
    through = add_months(end, -1)
    year = through.year
    rows = []
    current = previous = 0
    for m in range(1, 13):
        this, last = date(year, m, 1), date(year - 1, m, 1)
        if this <= through:
            current += monthly.get(this, 0)
        previous = previous + monthly[last] if (previous is not None and last in monthly) else None
        rows.append(dict(month=m, current=current if this <= through else None,
                         previous=previous))
    return pd.DataFrame(rows), year, through


def _empty_series() -> pd.DataFrame:
    return pd.DataFrame(columns=["start", "label", "count", "previous", "z", "significant",
                                 "change", "change_pct", "per_1000", "previous_per_1000",
                                 "moving_avg", "moving_avg_per_1000", "provisional", "partial"])
