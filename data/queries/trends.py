"""Time series for the trends page: one indicator (a bundle or a single type) for gemeenten the
user picks within the scope, per week, month, quarter or year.

Month, quarter and year series read the monthly gemeente counts (``overview.MONTHLY_GEMEENTE_COUNTS``: derived
from incidents, or imported counts when there are none); weeks need incidents. For a bundle both
come from ``group_counts`` (per bundle x gemeente x month/week, built by
``data.incidents.finalize_incidents``) when it is there and current. The gemeente series is
exact for every scope; the wijk and buurt series (:func:`area_series`) count what the disclosure
model releases (``data.disclosure``), as the map does, and :func:`comparison` sets a gemeente's rate beside its eenheid and gemeenten of similar
size. Each period of the gemeente series carries the same period a
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
from data.periods import Period, add_months, month_range
from data.queries import coverage
from data.scope import OutOfScope, Scope, area_filter, ensure_gemeente
from data import disclosure
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


def chosen_gemeente(con, *, scope: Scope, requested) -> tuple[str, str]:
    """(code, name) of the gemeente a page asks for (from its URL or selector): ``requested``
    when the scope holds it (OutOfScope otherwise), else the first gemeente in scope by name
    (OutOfScope for an empty scope)."""
    options = gemeente_options(con, scope=scope)
    if isinstance(requested, str) and requested:
        ensure_gemeente(scope, requested)
        return requested, dict(options).get(requested, requested)
    if not options:
        raise OutOfScope("empty scope")
    return options[0]


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
    group = indicator if coverage.precomputed(con, indicator) else None
    end = (_group_latest_month(con, scope) if group else
           latest_month(con, scope=scope))  # first month NOT shown (still incomplete)
    if end is None:  # no monthly gemeente counts: what the imported open data cover
        return _covered_trend(con, scope, codes, indicator, title, grain) or empty
    last_year = add_months(end, -1).year
    shown_from = date(last_year - YEARS_SHOWN + 1, 1, 1)
    fetch_from = add_months(shown_from, -24)
    if group:
        monthly, first_month, provisional_from = _group_monthly(
            con, scope, codes, group, fetch_from, end)
    else:
        monthly, first_month, provisional_from = monthly_counts(
            con, scope=scope, gemeenten=codes, types=types, start=fetch_from, end=end)
    if first_month is None:
        return empty
    population = _population(con, scope, codes)
    shown_from = max(shown_from, first_month)
    refused_weeks = grain == "week" and not disclosure.weeks_released(scope)
    if refused_weeks:  # answered per month, and the note says why (data/disclosure.py)
        grain = "maand"
    if grain == "week":
        series, note = _weekly(con, scope, codes, types, fetch_from, shown_from, end,
                               provisional_from, population, group, first_month)
    else:
        series, note = _bymonths(monthly, first_month, grain, shown_from, end, provisional_from,
                                  population), ""
    if refused_weeks:
        note = " ".join(n for n in (note, disclosure.WEEKS_NOTE) if n)
    ytd, ytd_year, through = _year_to_date(monthly, first_month, end)
    return Trend(indicator, title, grain, codes, series, ytd, ytd_year, through, note)


# -- helpers -----------------------------------------------------------------------------------

def _covered_trend(con, scope, codes, indicator, title, grain) -> Trend | None:
    """The series from ``data.queries.coverage`` when there are no monthly gemeente counts
    (imported open data only): CBS years (or quarters, months) at their own grain and the PC4
    woninginbraak months summed per gemeente, never finer than the data. A period no source
    covers has no count ("geen gegevens"), never 0. Weeks need incidents: None then."""
    if grain == "week":
        return None
    if grain == "jaar":
        starts = [date(y, 1, 1) for y in coverage.covered_years(con, scope=scope)]
    else:
        starts = coverage.pc4_file_months(con, scope=scope) + [r[0] for r in con.execute(
            "SELECT DISTINCT period_start FROM counts WHERE level = 'gemeente'"
            " AND period_type IN ('M', 'Q') AND area_code IN (SELECT unnest(?::VARCHAR[]))",
            [list(codes)]).fetchall()]
    if not starts:
        return None
    size = {"maand": 1, "kwartaal": 3, "jaar": 12}[grain]
    first, last = _bucket(min(starts), grain), _bucket(max(starts), grain)
    buckets = []
    while first <= last:
        buckets.append(Period(first, add_months(first, size)))
        first = add_months(first, size)
    before = [b.shifted(-12) for b in buckets]
    per_period = coverage.totals(con, scope=scope, gemeenten=codes, indicators=[indicator],
                                 periods=buckets + before)[indicator]
    known = [b for b in buckets if per_period[b].known]
    if not known:
        return None
    buckets = [b for b in buckets if known[0].start <= b.start <= known[-1].start]
    population = _population(con, scope, codes)
    rows = []
    for b in buckets:
        cell, prior = per_period[b], per_period[b.shifted(-12)]
        rows.append(_row(b.start, _label(b.start, grain), cell.value, prior.value, None,
                         cell.provisional, False, population, b.start.year))
    sources = sorted({per_period[b].source for b in known})
    gaps = [_label(b.start, grain) for b in buckets if not per_period[b].known]
    note = ("Bron: " + ", ".join(coverage.source_title(s) for s in sources)
            + (f" ({per_period[known[0]].derived})" if per_period[known[0]].derived else "")
            + ". Alleen de perioden waarvoor deze bron cijfers heeft"
            + (f"; geen gegevens voor {', '.join(gaps)}" if gaps else "")
            + (f"; na {_label(known[-1].start, grain)} geen gegevens"
               if known[-1].end < add_months(date.today(), -1) else "") + ".")
    return Trend(indicator, title, grain, codes, pd.DataFrame(rows, columns=_empty_series().columns),
                 pd.DataFrame(), None, None, note)




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
            population, group=None, first_month=None):
    """Weeks (Monday to Sunday) that end before ``end``, from incidents (or, for a bundle,
    from their weekly counts in ``group_counts``)."""
    where, params = area_filter(scope, "gm_code")
    if group:
        rows = con.execute(f"""
            SELECT period_start, sum(count) FROM group_counts
            WHERE group_code = ? AND period_type = 'W' AND {where}
              AND gm_code IN (SELECT unnest(?::VARCHAR[]))
              AND period_start >= ? AND period_start < ?
            GROUP BY 1""", [group, *params, list(codes), fetch_from - timedelta(days=6),
                            end]).fetchall()
        # Only the first *complete* week matters, and only when it could fall after
        # fetch_from; the first incident lies in the first month with data: read only that.
        first = first_month if add_months(first_month, 1) + timedelta(days=7) <= fetch_from \
            else con.execute(
            f"SELECT min(occurred_date) FROM incidents WHERE {where} "
            "AND gm_code IN (SELECT unnest(?::VARCHAR[])) AND occurred_date >= ? "
            "AND occurred_date < ?", [*params, list(codes), first_month,
                                      add_months(first_month, 1)]).fetchall()[0][0]
        if first is None:  # group_counts rows without incidents cannot happen; be safe
            first = first_month
    else:
        rows = con.execute(f"""
            SELECT date_trunc('week', occurred_date)::DATE, count(*)
            FROM incidents
            WHERE {where} AND gm_code IN (SELECT unnest(?::VARCHAR[]))
              AND type_code IN (SELECT unnest(?::VARCHAR[]))
              AND occurred_date >= ? AND occurred_date < ?
            GROUP BY 1""", [*params, list(codes), types, fetch_from, end]).fetchall()
        first = con.execute(
            f"SELECT min(occurred_date) FROM incidents WHERE {where} "
            "AND gm_code IN (SELECT unnest(?::VARCHAR[]))",
            [*params, list(codes)]).fetchall()[0][0]
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


def _group_latest_month(con, scope):
    """As ``overview.latest_month``, from the all-types rows of ``group_counts``."""
    where, params = area_filter(scope, "gm_code")
    return con.execute(
        f"SELECT max(period_start) FROM group_counts WHERE group_code = '*' "
        f"AND period_type = 'M' AND {where}", params).fetchall()[0][0]


def _group_monthly(con, scope, codes, group, start, end):
    """As :func:`monthly_counts`, from ``group_counts``."""
    where, params = area_filter(scope, "gm_code")
    rows = con.execute(f"""
        SELECT period_start, sum(count)::BIGINT FROM group_counts
        WHERE group_code = ? AND period_type = 'M' AND {where}
          AND gm_code IN (SELECT unnest(?::VARCHAR[])) AND period_start >= ? AND period_start < ?
        GROUP BY 1""", [group, *params, list(codes), start, end]).fetchall()
    first, provisional = con.execute(f"""
        SELECT min(period_start), min(period_start) FILTER (WHERE provisional)
        FROM group_counts WHERE group_code = '*' AND period_type = 'M' AND {where}
          AND gm_code IN (SELECT unnest(?::VARCHAR[]))""", [*params, list(codes)]).fetchall()[0]
    if first is None:
        return {}, None, None
    counts = {m: 0 for m in month_range(max(start, first), end)}
    counts.update({m: int(n) for m, n in rows})
    return counts, first, provisional


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


# -- wijken and buurten ------------------------------------------------------------------------

#: Area levels below gemeente that the trends page offers.
AREA_LEVELS = ("wijk", "buurt")
#: How many wijken/buurten can be compared at once.
MAX_AREAS = 12
_BUCKET_SQL = {"week": "date_trunc('week', occurred_date)::DATE",
               "maand": "date_trunc('month', occurred_date)::DATE",
               "kwartaal": "date_trunc('quarter', occurred_date)::DATE",
               "jaar": "date_trunc('year', occurred_date)::DATE"}


@dataclass(frozen=True)
class AreaSeries:
    grain: str
    #: One row per area and period: code, name, level, gm_code, start, label, partial, count.
    series: pd.DataFrame
    note: str = ""


def area_options(con, *, scope: Scope) -> list[tuple[str, str]]:
    """(code, label) of every wijk and buurt in scope, grouped by gemeente: the wijk, then its
    buurten; labels read "Gemeente › Wijk" and "Gemeente › Wijk › Buurt"."""
    where, params = area_filter(scope, "a.gm_code")
    rows = con.execute(f"""
        SELECT a.code, a.level, coalesce(g.name, a.gm_code) AS gemeente,
               coalesce(w.name, a.wk_code) AS wijk, coalesce(a.name, a.code) AS name
        FROM areas a
        LEFT JOIN areas g ON g.code = a.gm_code AND g.level = 'gemeente'
        LEFT JOIN areas w ON w.code = a.wk_code AND w.level = 'wijk'
        WHERE a.level IN ('wijk', 'buurt') AND {where}
        ORDER BY gemeente, a.gm_code, a.wk_code NULLS LAST, a.level = 'buurt', name, a.code""",
        params).fetchall()
    out = []
    for code, level, gemeente, wijk, name in rows:
        label = (f"{gemeente} › {name}" if level == "wijk"
                 else f"{gemeente} › {wijk or '–'} › {name}")
        out.append((code, f"{label} ({'wijk' if level == 'wijk' else 'buurt'})"))
    return out


def resolve_areas(con, *, scope: Scope, requested) -> tuple[tuple[str, str, str], ...]:
    """(code, level, gm_code) of the requested wijken and buurten (the first MAX_AREAS). Raises OutOfScope when any
    code is unknown, not a wijk or buurt, or lies in a gemeente outside the scope — the same
    answer for all three, so a refusal does not tell whether an area exists."""
    codes = sorted({c for c in (requested or ()) if isinstance(c, str) and c})[:MAX_AREAS]
    if not codes:
        return ()
    if scope.empty:
        raise OutOfScope("empty scope")
    rows = {r[0]: r for r in con.execute(
        "SELECT code, level, gm_code FROM areas WHERE level IN ('wijk', 'buurt') "
        "AND code IN (SELECT unnest(?::VARCHAR[]))", [codes]).fetchall()}
    for code in codes:
        if code not in rows:
            raise OutOfScope(f"area {code} unknown or not a wijk/buurt")
        ensure_gemeente(scope, rows[code][2])
    return tuple(tuple(rows[c]) for c in codes)


def area_series(con, *, scope: Scope, areas, indicator: str, grain: str) -> AreaSeries:
    """Registrations of ``indicator`` per period for the wijken and buurten ``areas`` (codes,
    checked against the scope here), from the incidents table, over the same years as
    :func:`trend`.

    What counts is the scope's release (``data.disclosure``), as on the map: at detail level 1
    the types the police publish per buurt, per month, quarter or year (a week request is
    answered per month); ``note`` says which members of a bundle are left out."""
    chosen = resolve_areas(con, scope=scope, requested=areas)
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    types = indicator_types(con, indicator)
    if not types:
        raise ValueError(f"unknown indicator {indicator!r}")
    columns = ["code", "name", "level", "gm_code", "start", "label", "partial", "count"]
    if not chosen:
        return AreaSeries(grain, pd.DataFrame(columns=columns))
    release = disclosure.release(con, scope=scope, level="buurt", indicator=indicator)
    notes = [release.note()]
    if disclosure.restricted(scope, "buurt"):
        notes.append(disclosure.LIST_NOTE)
    if disclosure.restricted(scope, "buurt") and grain not in disclosure.PUBLISHED_GRAINS:
        grain = "maand"
        notes.append("Wijk- en buurtcijfers zijn voor u per maand, kwartaal of jaar beschikbaar, "
                     "niet per week: de politie publiceert ze per maand.")
    note = " ".join(n for n in notes if n)
    end = latest_month(con, scope=scope)
    if end is None:
        return AreaSeries(grain, pd.DataFrame(columns=columns), note)
    shown_from = date(add_months(end, -1).year - YEARS_SHOWN + 1, 1, 1)
    starts = _area_buckets(grain, shown_from, end)
    if not starts:
        return AreaSeries(grain, pd.DataFrame(columns=columns), note)
    gemeenten = sorted({gm for _, _, gm in chosen})
    where, params = area_filter(scope, "i.gm_code")
    released, params_r = disclosure.rows(scope, "buurt", "i")
    hits = con.execute(f"""
        SELECT wk_code, bu_code, {_BUCKET_SQL[grain]} AS start, count(*)::BIGINT AS n
        FROM incidents i
        WHERE {where} AND gm_code IN (SELECT unnest(?::VARCHAR[]))
          AND type_code IN (SELECT unnest(?::VARCHAR[]))
          AND occurred_date >= ? AND occurred_date < ? AND {released}
        GROUP BY ALL""",
        [*params, gemeenten, types, starts[0], _bucket_end(starts[-1], grain, end),
         *params_r]).df()
    hits["start"] = pd.to_datetime(hits["start"]).dt.date
    where_a, params_a = area_filter(scope, "gm_code")
    listed = con.execute(f"""
        SELECT code, level, coalesce(name, code) AS name, gm_code,
               CASE level WHEN 'wijk' THEN gm_code ELSE wk_code END AS parent_code
        FROM areas WHERE level IN ('wijk', 'buurt') AND {where_a}
          AND gm_code IN (SELECT unnest(?::VARCHAR[])) ORDER BY code""",
        [*params_a, gemeenten]).df()
    periods = pd.DataFrame({"start": starts})
    layers = {}
    for level, column in (("wijk", "wk_code"), ("buurt", "bu_code")):
        counted = hits.groupby([column, "start"], as_index=False)["n"].sum().rename(
            columns={column: "code"})
        frame = listed[listed["level"] == level].merge(periods, how="cross").merge(
            counted, on=["code", "start"], how="left")
        frame["count"] = frame.pop("n").fillna(0).astype("int64")
        layers[level] = frame.reset_index(drop=True)
    frame = pd.concat([layers["wijk"], layers["buurt"]], ignore_index=True)
    order = {code: i for i, (code, _, _) in enumerate(chosen)}
    frame = frame[frame["code"].isin(order)].copy()
    frame["order"] = frame["code"].map(order)
    frame = frame.sort_values(["order", "start"]).reset_index(drop=True)
    size = {"week": None, "maand": 1, "kwartaal": 3, "jaar": 12}[grain]
    labels, partial = [], []
    for start in frame["start"]:
        last = add_months(_bucket_end(start, grain, end), -1) if size else None
        is_partial = bool(size) and _bucket_end(start, grain, end) < add_months(start, size)
        text = _label(start, grain)
        if is_partial:
            text += f" (t/m {MONTHS[last.month - 1]})"
        labels.append(text)
        partial.append(is_partial)
    frame["label"], frame["partial"] = labels, partial
    frame["count"] = frame["count"].astype("Int64")
    return AreaSeries(grain, frame[columns], note)


def _area_buckets(grain: str, shown_from: date, end: date) -> list[date]:
    """Period starts from ``shown_from`` up to the last month before ``end`` (weeks: those
    ending before ``end``)."""
    if grain == "week":
        week = shown_from + timedelta(days=(7 - shown_from.weekday()) % 7)
        out = []
        while week + timedelta(days=7) <= end:
            out.append(week)
            week += timedelta(days=7)
        return out
    return sorted({_bucket(m, grain) for m in month_range(shown_from, end)})


def _bucket_end(start: date, grain: str, end: date) -> date:
    """First day after the period starting at ``start``, but never after ``end``."""
    if grain == "week":
        return min(start + timedelta(days=7), end)
    return min(add_months(start, {"maand": 1, "kwartaal": 3, "jaar": 12}[grain]), end)



# -- comparisons -------------------------------------------------------------------------------

#: Population bands for "gemeenten of similar size": (lower bound inclusive, upper exclusive,
#: label).
BANDS = ((0, 20_000, "minder dan 20.000 inwoners"), (20_000, 50_000, "20.000–50.000 inwoners"),
         (50_000, 100_000, "50.000–100.000 inwoners"),
         (100_000, 250_000, "100.000–250.000 inwoners"),
         (250_000, None, "250.000 inwoners of meer"))
COMPARISONS = ("eenheid", "grootte")


@dataclass(frozen=True)
class Comparison:
    gemeente: str
    grain: str
    #: One row per period: start, label, partial, gemeente, eenheid, grootte (rates per 1,000
    #: inhabitants; NaN where there is no population or nothing to compare with).
    series: pd.DataFrame
    eenheid: str | None = None
    eenheid_name: str | None = None
    band: str | None = None
    #: The other gemeenten in scope in the same band (the average's members).
    band_gemeenten: tuple[str, ...] = ()
    note: str = ""
    #: Per year against the national average of the size band and the whole country, from
    #: the public CBS gemeente totals (``data.queries.performance.national_comparison``).
    national: object = None


def _population_band(inhabitants) -> str | None:
    """The label of the band ``inhabitants`` falls in (None without a figure)."""
    if inhabitants is None:
        return None
    for low, high, label in BANDS:
        if inhabitants >= low and (high is None or inhabitants < high):
            return label
    return None


def comparison(con, *, scope: Scope, gemeente: str, indicator: str, grain: str) -> Comparison:
    """Rates per 1,000 inhabitants of ``indicator`` per month, quarter or year (a week request
    is answered per month) for ``gemeente`` (in scope), for its regionale eenheid as a whole and
    the unweighted average of the other gemeenten in scope of the same population band.

    The eenheid rate is deliberately computed over *all* gemeenten of the eenheid, also those
    outside the scope: it is one aggregate over a whole police unit at gemeente level, from
    which no figure of another single gemeente can be read. The band average in this series
    only uses gemeenten inside the scope (a mayor has none); ``national`` compares the gemeente
    per year with the average of its band in the whole country and with the country, from
    the public CBS gemeente totals only, whatever the scope."""
    from data.queries.performance import national_comparison  # it imports this module

    ensure_gemeente(scope, gemeente)
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    types = indicator_types(con, indicator)
    if not types:
        raise ValueError(f"unknown indicator {indicator!r}")
    national = national_comparison(con, scope=scope, gemeente=gemeente, indicator=indicator)
    note = ""
    if grain == "week":
        grain, note = "maand", "De vergelijking is per maand (bevolkingscijfers zijn per jaar)."
    columns = ["start", "label", "partial", "gemeente", "eenheid", "grootte"]
    end = latest_month(con, scope=scope)
    found = con.execute(
        "SELECT g.re_code, coalesce(e.name, g.re_code) FROM areas g LEFT JOIN areas e "
        "ON e.code = g.re_code AND e.level = 'eenheid' WHERE g.code = ? AND g.level = 'gemeente'",
        [gemeente]).fetchall()
    eenheid, eenheid_name = found[0] if found else (None, None)
    if end is None:
        return Comparison(gemeente, grain, pd.DataFrame(columns=columns), eenheid,
                          eenheid_name, note="Geen gegevens beschikbaar.", national=national)
    shown_from = date(add_months(end, -1).year - YEARS_SHOWN + 1, 1, 1)
    where, params = area_filter(scope, "code")
    in_scope = [r[0] for r in con.execute(
        f"SELECT code FROM areas WHERE level = 'gemeente' AND {where}", params).fetchall()]
    unit = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente' AND re_code = ?",
        [eenheid]).fetchall()] if eenheid else []
    population = _population_by_code(con, sorted(set(in_scope) | set(unit) | {gemeente}))
    newest_year = add_months(end, -1).year
    own = _inhabitants(population.get(gemeente), newest_year)
    band = _population_band(own)
    peers = tuple(sorted(c for c in in_scope if c != gemeente and band is not None
                         and _population_band(_inhabitants(population.get(c), newest_year))
                         == band))
    wanted = sorted(set(unit) | set(peers) | {gemeente})
    rows = con.execute(f"""
        SELECT m.area_code, m.month, sum(m.count)::BIGINT
        FROM ({_MONTHLY}) m
        WHERE m.area_code IN (SELECT unnest(?::VARCHAR[]))
          AND m.type_code IN (SELECT unnest(?::VARCHAR[])) AND m.month >= ? AND m.month < ?
        GROUP BY ALL""", [wanted, types, shown_from, end]).fetchall()
    counts: dict[tuple[str, date], int] = {}
    for code, month, n in rows:
        key = (code, _bucket(month, grain))
        counts[key] = counts.get(key, 0) + int(n)
    size = {"maand": 1, "kwartaal": 3, "jaar": 12}[grain]
    out = []
    for start in sorted({_bucket(m, grain) for m in month_range(shown_from, end)}):
        last = min(add_months(start, size), end)
        partial = last < add_months(start, size)
        label = _label(start, grain) + (
            f" (t/m {MONTHS[add_months(last, -1).month - 1]})" if partial else "")
        year = start.year

        def rate(codes):
            inhabitants = [_inhabitants(population.get(c), year) for c in codes]
            if not codes or any(i is None or i == 0 for i in inhabitants):
                return float("nan")
            return sum(counts.get((c, start), 0) for c in codes) * 1000.0 / sum(inhabitants)

        peer_rates = [rate([c]) for c in peers]
        peer_rates = [r for r in peer_rates if r == r]
        out.append(dict(start=start, label=label, partial=partial, gemeente=rate([gemeente]),
                        eenheid=rate(unit),
                        grootte=(sum(peer_rates) / len(peer_rates)) if peer_rates
                        else float("nan")))
    if band is None:
        note = (note + " " if note else "") + "Geen inwonertal bekend voor deze gemeente."
    return Comparison(gemeente, grain, pd.DataFrame(out, columns=columns), eenheid, eenheid_name,
                      band, peers, note, national)


def _population_by_code(con, codes) -> dict[str, list[tuple[int, int]]]:
    """Inhabitants per gemeente per year, unscoped: callers decide which codes are allowed."""
    out: dict[str, list[tuple[int, int]]] = {}
    for code, year, population in con.execute(
            "SELECT code, year, population FROM population "
            "WHERE code IN (SELECT unnest(?::VARCHAR[])) ORDER BY code, year",
            [list(codes)]).fetchall():
        out.setdefault(code, []).append((int(year), int(population)))
    return out


def _inhabitants(series, year: int):
    """The latest figure up to ``year``, or the earliest when none is that old (as
    :func:`_population`)."""
    if not series:
        return None
    return next((p for y, p in reversed(series) if y <= year), series[0][1])
