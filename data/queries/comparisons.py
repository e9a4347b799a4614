"""Queries behind the comparison products and the gebiedsscan (``data/products/``).

The area of a product is a gemeente, a police unit (basisteam or district, ``org_units``) or a
regionale eenheid; :func:`data.queries.products.product_area` turns it into the gemeenten it
stands for and refuses
(OutOfScope) a unit that is not *entirely* inside the scope: a product titled "Basisteam X"
must not silently show the sum of only some of its gemeenten. A mayor's scope holds only their
own gemeente, so unit products are for police roles (teamchef, analist).

Everything here is at gemeente level or above (sums of gemeenten) and reads the monthly
gemeente counts (``overview.MONTHLY_GEMEENTE_COUNTS``), exact for every scope.
Counts below gemeente level come from :func:`data.queries.areas.incident_counts_by_area`.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from data.queries.burglary import weekday_hour_counts
from data.queries.overview import MONTHLY_GEMEENTE_COUNTS
from data.queries.products import ProductArea
from data.scope import OutOfScope, Scope, area_filter, ensure_detail


def buurt_set(con, *, scope: Scope, codes) -> ProductArea:
    """A chosen set of buurten (level 'buurten'). Detail level 3 only: the products built on
    it count every type, also those the disclosure model (data/disclosure.py) does not release
    below the gemeente, so users with detail < 3 get OutOfScope. Every code must be a buurt in
    scope."""
    ensure_detail(scope, 3)
    codes = sorted({c.strip() for c in codes or () if isinstance(c, str) and c.strip()})
    where, params = area_filter(scope, "b.gm_code")
    rows = con.execute(f"""
        SELECT b.code, coalesce(b.name, b.code), b.gm_code, coalesce(g.name, b.gm_code)
        FROM areas b LEFT JOIN areas g ON g.code = b.gm_code AND g.level = 'gemeente'
        WHERE b.level = 'buurt' AND b.code IN (SELECT unnest(?::VARCHAR[])) AND {where}
        ORDER BY 2""", [codes, *params]).fetchall()
    if not codes or len(rows) != len(codes):
        raise OutOfScope(f"buurten {codes}: not all are buurten in scope")
    names = [r[1] for r in rows]
    places = sorted({r[3] for r in rows})
    name = (", ".join(names) if len(names) <= 3
            else f"{len(names)} buurten in {', '.join(places)}")
    return ProductArea(",".join(codes), name, "buurten", tuple(sorted({r[2] for r in rows})),
                       {r[2]: r[3] for r in rows}, tuple(codes))


def buurt_type_counts(con, *, scope: Scope, buurten, start: date, end: date) -> pd.DataFrame:
    """Registrations per month and type in [start, end) in the buurten ``buurten`` together,
    from the incidents. Detail level 3 only (see :func:`buurt_set`). Columns: month, type_code,
    count."""
    ensure_detail(scope, 3)
    where, params = area_filter(scope, "gm_code")
    frame = con.execute(f"""
        SELECT date_trunc('month', occurred_date)::DATE AS month, type_code,
               count(*)::BIGINT AS count
        FROM incidents
        WHERE {where} AND bu_code IN (SELECT unnest(?::VARCHAR[]))
          AND occurred_date >= ? AND occurred_date < ?
        GROUP BY ALL ORDER BY 1, 2""", [*params, list(buurten), start, end]).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def buurt_weekday_hour(con, *, scope: Scope, buurten, types, start: date,
                       end: date) -> pd.DataFrame:
    """Registrations of ``types`` in ``buurten`` per day of week (0 = Monday) and hour, every
    cell present. Detail level 3 only (a chosen set of buurten cannot be suppressed).
    Columns: weekday, hour, count."""
    ensure_detail(scope, 3)
    return weekday_hour_counts(con, scope=scope, column="bu_code", codes=buurten, types=types,
                               start=start, end=end)


#: Inhabitants per area code in a year: the newest figure up to that year, else the oldest
#: (parameter: the year). Columns: code, population.
_POPULATION_IN_YEAR = """
    SELECT code, coalesce(arg_max(population, year) FILTER (WHERE year <= ?),
                          arg_min(population, year)) AS population
    FROM population GROUP BY code"""


def _checked(scope: Scope, gemeenten) -> list[str]:
    codes = sorted(set(gemeenten or ()))
    if scope.empty or not codes or not set(codes) <= scope.gemeenten:
        raise OutOfScope(f"gemeenten {codes} not all in scope")
    return codes


def monthly_type_counts(con, *, scope: Scope, gemeenten, start: date,
                        end: date) -> pd.DataFrame:
    """Registrations per month and type in [start, end), summed over ``gemeenten`` (all in
    scope, else OutOfScope). Columns: month (date), type_code, count. Months without any
    registration have no rows."""
    codes = _checked(scope, gemeenten)
    where, params = area_filter(scope, "m.area_code")
    frame = con.execute(f"""
        SELECT m.month, m.type_code, sum(m.count)::BIGINT AS count
        FROM ({MONTHLY_GEMEENTE_COUNTS}) m
        WHERE {where} AND m.area_code IN (SELECT unnest(?::VARCHAR[]))
          AND m.month >= ? AND m.month < ?
        GROUP BY ALL ORDER BY 1, 2""", [*params, codes, start, end]).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def data_months(con, *, scope: Scope, gemeenten) -> tuple[date | None, date | None, date | None]:
    """For ``gemeenten``: the first month with data, the newest month with data (usually
    still incomplete) and the first provisional month (None when none)."""
    codes = _checked(scope, gemeenten)
    where, params = area_filter(scope, "m.area_code")
    return tuple(con.execute(f"""
        SELECT min(m.month), max(m.month), min(m.month) FILTER (WHERE m.provisional)
        FROM ({MONTHLY_GEMEENTE_COUNTS}) m
        WHERE {where} AND m.area_code IN (SELECT unnest(?::VARCHAR[]))""",
        [*params, codes]).fetchall()[0])


def gemeente_type_counts(con, *, scope: Scope, start: date, end: date) -> pd.DataFrame:
    """Registrations per gemeente in scope and type in [start, end). Columns: gm_code,
    type_code, count."""
    where, params = area_filter(scope, "m.area_code")
    return con.execute(f"""
        SELECT m.area_code AS gm_code, m.type_code, sum(m.count)::BIGINT AS count
        FROM ({MONTHLY_GEMEENTE_COUNTS}) m
        WHERE {where} AND m.month >= ? AND m.month < ?
        GROUP BY ALL ORDER BY 1, 2""", [*params, start, end]).df()


def gemeente_population(con, *, scope: Scope, year: int) -> pd.DataFrame:
    """Every gemeente in scope with its name and inhabitants in ``year`` (the newest figure up
    to that year, else the oldest). Columns: code, name, population (nullable)."""
    where, params = area_filter(scope, "a.code")
    return con.execute(f"""
        WITH p AS ({_POPULATION_IN_YEAR})
        SELECT a.code, coalesce(a.name, a.code) AS name, p.population
        FROM areas a LEFT JOIN p ON p.code = a.code
        WHERE a.level = 'gemeente' AND {where}
        ORDER BY a.code""", [year, *params]).df()


def buurt_population(con, *, scope: Scope, gemeente: str, year: int) -> pd.DataFrame:
    """The buurten of ``gemeente`` (in scope, else OutOfScope) with name, wijk and inhabitants
    in ``year`` (newest up to that year, else the oldest). Columns: code, name, wk_code,
    wijk, population (nullable)."""
    _checked(scope, [gemeente])
    where, params = area_filter(scope, "b.gm_code")
    return con.execute(f"""
        WITH p AS ({_POPULATION_IN_YEAR})
        SELECT b.code, coalesce(b.name, b.code) AS name, b.wk_code,
               coalesce(w.name, b.wk_code) AS wijk, p.population
        FROM areas b
        LEFT JOIN areas w ON w.code = b.wk_code AND w.level = 'wijk'
        LEFT JOIN p ON p.code = b.code
        WHERE b.level = 'buurt' AND b.gm_code = ? AND {where}
        ORDER BY b.code""", [year, gemeente, *params]).df()


def crime_type_list(con, *, scope: Scope) -> pd.DataFrame:
    """Reference data: every SoortMisdrijf type (not the total, no non-crime incident types)
    in catalogue order. Columns: code, title. Empty for an empty scope."""
    if scope.empty:
        return pd.DataFrame(columns=["code", "title"])
    return con.execute("SELECT code, title FROM crime_types WHERE kind = 'misdrijf'"
                       " ORDER BY sort_key").df()
