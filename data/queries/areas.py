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
from data.periods import Period, month_range
from data.queries import coverage
from data.scope import Scope, area_filter

#: Area level -> incidents column holding that level's code.
LEVEL_COLUMNS = {"gemeente": "gm_code", "wijk": "wk_code", "buurt": "bu_code",
                 "pc4": "pc4", "pc6": "pc6"}
#: Level -> the column of its parent area in ``areas``.
PARENT_COLUMNS = {"gemeente": "re_code", "wijk": "gm_code", "buurt": "wk_code",
                  "pc4": "gm_code", "pc6": "pc4"}


def _raw_counts(con, scope: Scope, level: str, period: Period, members,
                within: str | None) -> pd.DataFrame:
    """``members``: the crime type codes that count (a release's members: a bundle's or one
    type's)."""
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
              AND list_contains(?::VARCHAR[], i.type_code)
              AND {released}
            GROUP BY i.{column})
        SELECT a.code, a.name, a.gm_code, a.{PARENT_COLUMNS[level]} AS parent_code,
               coalesce(hits.n, 0)::BIGINT AS count
        FROM areas a LEFT JOIN hits ON hits.code = a.code
        WHERE a.level = ? AND {where_a} {within_a}
        ORDER BY a.code""",
        [*params_i, *extra, period.start, period.end, list(members), *params_r, level, *params_a,
         *extra]).df()


def _gemeente_counts(con, scope: Scope, period: Period, group: str,
                     within: str | None) -> pd.DataFrame:
    """Gemeente level from ``data.queries.coverage`` (the monthly gemeente counts of the
    incidents, imported CBS counts at their own grain, or PC4 woninginbraak summed), so the
    national layer never scans the incident table. A gemeente no source covers for ``period``
    has no count (<NA>) and its ``reason``."""
    where, params = area_filter(scope, "a.code")
    within_sql, extra = ("AND a.code = ?", [within]) if within else ("", [])
    frame = con.execute(f"""
        SELECT a.code, a.name, a.gm_code, a.re_code AS parent_code
        FROM areas a
        WHERE a.level = 'gemeente' AND {where} {within_sql}
        ORDER BY a.code""", [*params, *extra]).df()
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=frame["code"].tolist(),
                                     indicator=group, periods=[period])
    return _with_cells(frame, [cells[(code, period)] for code in frame["code"]])


def _with_cells(frame: pd.DataFrame, cells: list) -> pd.DataFrame:
    return frame.assign(
        count=pd.array([c.value for c in cells], dtype="Int64"),
        source=[coverage.source_title(c.source) or None for c in cells],
        reason=[c.reason or None for c in cells],
        provisional=[bool(c.provisional) for c in cells])


def _eenheid_counts(con, scope: Scope, period: Period, group: str) -> pd.DataFrame:
    """Regionale eenheden with at least one gemeente in scope, each with the sum of the
    counts of *its gemeenten in scope* (not of the whole eenheid); no count when one of those
    gemeenten has none."""
    where, params = area_filter(scope, "g.code")
    members = con.execute(f"""
        SELECT e.code, coalesce(e.name, e.code) AS name, coalesce(e.parent_code, 'NL00'),
               list(g.code ORDER BY g.code)
        FROM areas g JOIN areas e ON e.code = g.re_code AND e.level = 'eenheid'
        WHERE g.level = 'gemeente' AND {where}
        GROUP BY e.code, e.name, e.parent_code
        ORDER BY e.code""", params).fetchall()
    codes = [gm for *_, gms in members for gm in gms]
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=codes, indicator=group,
                                     periods=[period])
    frame = pd.DataFrame([(code, name, None, parent) for code, name, parent, _ in members],
                         columns=["code", "name", "gm_code", "parent_code"])
    return _with_cells(frame, [coverage.total(cells[(gm, period)] for gm in gms)
                               for *_, gms in members])


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
        release = disclosure.release(con, scope=scope, level=level, indicator=group)
        span = coverage.incident_span(con, scope=scope)
        if span is not None and span.start <= period.start and period.end <= span.end:
            frame = _raw_counts(con, scope, level, period, release.members, within)
            frame = frame.assign(source=coverage.source_title(coverage.INCIDENTS), reason=None,
                                 provisional=_provisional(con, scope, frame, period))
        else:
            frame = _imported_counts(con, scope, level, period, release.members, within)
    return frame.assign(count=frame["count"].astype("Int64"))


def _provisional(con, scope: Scope, frame: pd.DataFrame, period: Period) -> list[bool]:
    """Per area of ``frame``: whether its gemeente's incident months in ``period`` are still
    provisional (late registrations can follow), as the gemeente figure says."""
    gemeenten = sorted(set(frame["gm_code"].dropna()))
    if not gemeenten:
        return [False] * len(frame)
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=gemeenten,
                                     indicator="alle_misdrijven", periods=[period])
    late = {gm for gm in gemeenten if cells[(gm, period)].provisional}
    return [gm in late for gm in frame["gm_code"]]


def _imported_counts(con, scope: Scope, level: str, period: Period, members,
                     within: str | None) -> pd.DataFrame:
    """Below the gemeente where no incidents cover ``period``: the PC4 woninginbraak file for
    PC4 (when woninginbraak is what counts and the file covers every month), otherwise the
    imported counts of that level at their own grain (a CBS wijk/buurt table), else no count,
    with the reason."""
    where, params = area_filter(scope, "a.gm_code")
    within_sql, extra = ("AND a.gm_code = ?", [within]) if within else ("", [])
    frame = con.execute(f"""
        SELECT a.code, a.name, a.gm_code, a.{PARENT_COLUMNS[level]} AS parent_code
        FROM areas a WHERE a.level = ? AND {where} {within_sql} ORDER BY a.code""",
        [level, *params, *extra]).df()
    months = month_range(period.start, period.end)
    if (level == "pc4" and set(members) == {coverage.PC4_TYPE}
            and set(months) <= set(coverage.pc4_file_months(con, scope=scope))):
        sums = {code: (n, late) for code, n, late in con.execute("""
            SELECT area_code, sum(count)::BIGINT, bool_or(provisional) FROM counts
            WHERE level = 'pc4' AND period_type = 'M' AND type_code = ?
              AND period_start >= ? AND period_start < ?
              AND area_code IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY area_code""", [coverage.PC4_TYPE, period.start, period.end,
                                    frame["code"].tolist()]).fetchall()}
        source = " + ".join(r[0] for r in con.execute(
            "SELECT DISTINCT source FROM counts WHERE level = 'pc4' ORDER BY 1").fetchall())
        return frame.assign(
            count=pd.array([int(sums.get(c, (0, False))[0]) for c in frame["code"]],
                           dtype="Int64"), source=source, reason=None,
            provisional=[bool(sums.get(c, (0, False))[1]) for c in frame["code"]])
    cells = coverage.area_cells(con, scope=scope, level=level, codes=frame["code"].tolist(),
                                indicator_members=members, period=period)
    missing = coverage.Cell(None, reason=f"{coverage.NO_DATA} op {disclosure.LEVEL_NAMES[level]}"
                                         f" voor {coverage.period_label(period)}")
    found = [cells.get(code) for code in frame["code"]]
    return _with_cells(frame, [c if c is not None and c.known else missing for c in found])
