"""Counts per area from the incident table: the core area x period x type query.

Below gemeente level (wijk, buurt, PC4, PC6) counts come straight from ``incidents``, which is
sorted by gemeente and date so that a gemeente x period filter reads only its own row groups.
Every area of the level in scope is returned, zeros included. What may count towards a figure
below the gemeente is decided by the disclosure model (``data.disclosure``): for a user at
detail level 1 only the registrations the police publish per wijk, buurt or PC4 themselves, so
every figure is exact and no combination of figures reveals anything else.
"""
from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from data import disclosure
from data.catalog import indicator_members
from data.incidents import AREA_LEVELS, CATALOG_KEY_SQL
from data.periods import Period, month_range
from data.queries import coverage
from data.scope import Scope, area_filter
from data.sql import per_connection

#: Area level -> incidents column holding that level's code.
LEVEL_COLUMNS = {"gemeente": "gm_code", "wijk": "wk_code", "buurt": "bu_code",
                 "pc4": "pc4", "pc6": "pc6"}
#: Level -> the column of its parent area in ``areas``.
PARENT_COLUMNS = {"gemeente": "re_code", "wijk": "gm_code", "buurt": "wk_code",
                  "pc4": "gm_code", "pc6": "pc4"}


def _raw_counts(con, scope: Scope, level: str, periods: list[Period], members,
                within: str | None, parent_level: str | None = None, group: str | None = None
                ) -> tuple[pd.DataFrame, list[list], dict[str, int] | None]:
    """Counts per area of ``level`` from the incidents, for every period of ``periods`` and,
    with ``parent_level``, per area of that level too, in one statement (a count per period;
    grouping sets for the two levels). ``members``: the crime type codes that count (a
    release's members: a bundle's or one type's); the parent level must have the same
    disclosure condition as ``level`` (the caller checks). When ``members`` are all of bundle
    ``group`` and nothing else limits the rows (:func:`_precomputed`), the counts come from
    ``area_group_counts`` (one row per area and month) instead of a scan of the incidents:
    the same numbers (``tests/test_coverage_sources.py``).

    Returns the frame of ``periods[0]`` (code, name, gm_code, parent_code, count), the counts
    of further periods (lists in the frame's order) and {parent area: count of
    ``periods[0]``} (every parent area in scope, zeros included) or None."""
    column = LEVEL_COLUMNS[level]
    released, params_r = disclosure.rows(scope, level, "i")
    # Inside one gemeente the areas filter on that gemeente alone (narrowed, never widened:
    # a gemeente outside the scope leaves nothing); the release stays the scope's own.
    here = replace(scope, gemeenten=scope.gemeenten & {within}) if within else scope
    where_i, params_i = area_filter(here, "i.gm_code")
    where_a, params_a = area_filter(here, "a.gm_code")
    dates = [d for p in periods for d in (p.start, p.end)]
    window = [min(p.start for p in periods), max(p.end for p in periods)]
    totals = ", ".join(f"coalesce(h.n{k}, 0)::BIGINT AS n{k}" for k in range(len(periods)))
    if released == "TRUE" and _precomputed(con, group, members, [level, parent_level], periods):
        counts = ", ".join(f"sum(i.count) FILTER (WHERE i.period_start >= ?"
                           f" AND i.period_start < ?) AS n{k}" for k in range(len(periods)))
        hits = f"""
            SELECT i.area_code AS code, i.area_code AS pcode, (i.level <> ?)::INTEGER AS g,
                   {counts}
            FROM area_group_counts i
            WHERE i.group_code = ? AND i.level IN (?, ?) AND {where_i}
              AND i.period_start >= ? AND i.period_start < ?
            GROUP BY i.level, i.area_code"""
        hits_params = [level, *dates, group, level, parent_level or level, *params_i, *window]
    else:
        counts = ", ".join(f"count(*) FILTER (WHERE i.occurred_date >= ?"
                           f" AND i.occurred_date < ?) AS n{k}" for k in range(len(periods)))
        if parent_level is None:
            keys, group_by = f"i.{column} AS code, NULL AS pcode, 0 AS g", f"i.{column}"
        else:
            parent = LEVEL_COLUMNS[parent_level]
            keys = f"i.{column} AS code, i.{parent} AS pcode, grouping(i.{column}) AS g"
            group_by = f"GROUPING SETS ((i.{column}), (i.{parent}))"
        hits = f"""
            SELECT {keys}, {counts}
            FROM incidents i
            WHERE {where_i}
              AND i.occurred_date >= ? AND i.occurred_date < ?
              AND list_contains(?::VARCHAR[], i.type_code)
              AND {released}
            GROUP BY {group_by}"""
        hits_params = [*dates, *params_i, *window, list(members), *params_r]
    parents_sql, parents_params = "", []
    if parent_level is not None:
        parents_sql = f"""
        UNION ALL
        SELECT 1, a.code, NULL, NULL, NULL, {totals}
        FROM areas a LEFT JOIN hits h ON h.pcode = a.code AND h.g = 1
        WHERE a.level = ? AND {where_a}"""
        parents_params = [parent_level, *params_a]
    rows = con.execute(f"""
        WITH hits AS ({hits})
        SELECT 0 AS part, a.code, a.name, a.gm_code,
               a.{PARENT_COLUMNS[level]} AS parent_code, {totals}
        FROM areas a LEFT JOIN hits h ON h.code = a.code AND h.g = 0
        WHERE a.level = ? AND {where_a}{parents_sql}
        ORDER BY part, 2""",
        [*hits_params, level, *params_a, *parents_params]).df()  # columns, not tuples
    part = rows.pop("part")
    own = rows[part == 0].reset_index(drop=True)
    frame = own[["code", "name", "gm_code", "parent_code", "n0"]].rename(columns={"n0": "count"})
    others = [own[f"n{k}"].tolist() for k in range(1, len(periods))]
    above = rows[part == 1]
    parents = None if parent_level is None else dict(zip(above["code"], above["n0"].tolist()))
    return frame, others, parents


def _precomputed(con, group: str | None, members, levels, periods: list[Period]) -> bool:
    """Whether ``area_group_counts`` holds what :func:`_raw_counts` counts: ``members`` are
    every member of bundle ``group``, the levels are stored ones, the periods whole months,
    and the table was built with the current bundle definitions and holds the bundle at
    these levels (not on a peildatum view, whose copy is empty: ``data.products.asof``)."""
    levels = [lv for lv in levels if lv is not None]
    if (group is None or any(lv not in AREA_LEVELS for lv in levels)
            or any(p.start.day != 1 or p.end.day != 1 for p in periods)):
        return False
    bundle = indicator_members(con).get(group, ())
    if not bundle or sorted(code for code, _, _ in bundle) != sorted(members):
        return False

    def stored(level: str) -> bool:
        try:
            return bool(con.execute(f"""
                SELECT (SELECT value FROM meta WHERE key = 'area_group_counts_catalog')
                       = ({CATALOG_KEY_SQL})
                   AND EXISTS (SELECT 1 FROM area_group_counts
                               WHERE group_code = ? AND level = ?)""",
                                    [group, level]).fetchall()[0][0])
        except duckdb.CatalogException:
            return False
    return all(per_connection(con, ("areas.precomputed", group, level), lambda: stored(level))
               for level in levels)


def _gemeente_counts(con, scope: Scope, periods: list[Period], group: str,
                     within: str | None) -> tuple[pd.DataFrame, list[list]]:
    """Gemeente level from ``data.queries.coverage`` (the monthly gemeente counts of the
    incidents, imported CBS counts at their own grain, or PC4 woninginbraak summed), so the
    national layer never scans the incident table. A gemeente no source covers for a period
    has no count (<NA>) and its ``reason``. The frame holds ``periods[0]``; the list, the
    counts of every further period (one pass over the monthly counts for all of them)."""
    where, params = area_filter(scope, "a.code")
    within_sql, extra = ("AND a.code = ?", [within]) if within else ("", [])
    frame = con.execute(f"""
        SELECT a.code, a.name, a.gm_code, a.re_code AS parent_code
        FROM areas a
        WHERE a.level = 'gemeente' AND {where} {within_sql}
        ORDER BY a.code""", [*params, *extra]).df()
    codes = frame["code"].tolist()
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=codes, indicator=group,
                                     periods=periods)
    return (_with_cells(frame, [cells[(code, periods[0])] for code in codes]),
            [[cells[(code, p)].value for code in codes] for p in periods[1:]])


def _with_cells(frame: pd.DataFrame, cells: list) -> pd.DataFrame:
    return frame.assign(
        count=pd.array([c.value for c in cells], dtype="Int64"),
        source=[coverage.source_title(c.source) or None for c in cells],
        reason=[c.reason or None for c in cells],
        provisional=[bool(c.provisional) for c in cells])


def _eenheid_counts(con, scope: Scope, periods: list[Period], group: str
                    ) -> tuple[pd.DataFrame, list[list]]:
    """Regionale eenheden with at least one gemeente in scope, each with the sum of the
    counts of *its gemeenten in scope* (not of the whole eenheid); no count when one of those
    gemeenten has none. As :func:`_gemeente_counts`: ``periods[0]`` in the frame, the counts
    of further periods in the list."""
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
                                     periods=periods)
    frame = pd.DataFrame([(code, name, None, parent) for code, name, parent, _ in members],
                         columns=["code", "name", "gm_code", "parent_code"])
    sums = [[coverage.total(cells[(gm, p)] for gm in gms) for *_, gms in members]
            for p in periods]
    return _with_cells(frame, sums[0]), [[c.value for c in cs] for cs in sums[1:]]


def incident_counts_by_area(con, *, scope: Scope, level: str, period: Period, group: str,
                            within: str | None = None) -> pd.DataFrame:
    """Registrations of bundle ``group`` in ``period`` per area of ``level`` in scope,
    optionally only inside gemeente ``within``. Columns: code, name, gm_code, parent_code,
    count (Int64). Below the gemeente the bundle counts the members the scope's release has
    (``data.disclosure.release``; NotPublished when it has none)."""
    if level == "gemeente":
        frame = _gemeente_counts(con, scope, [period], group, within)[0]
    elif level == "eenheid":  # not below gemeente level: exact, as for gemeenten
        frame = _eenheid_counts(con, scope, [period], group)[0]
    else:
        release = disclosure.release(con, scope=scope, level=level, indicator=group)
        span = coverage.incident_span(con, scope=scope)
        if span is not None and span.start <= period.start and period.end <= span.end:
            frame = _raw_counts(con, scope, level, [period], release.members, within,
                                group=group)[0]
            frame = frame.assign(source=coverage.source_title(coverage.INCIDENTS), reason=None,
                                 provisional=_provisional(con, scope, frame, period))
        else:
            frame = _imported_counts(con, scope, level, period, release.members, within)
    return frame.assign(count=frame["count"].astype("Int64"))


def map_counts(con, *, scope: Scope, level: str, periods: list[Period], group: str,
               within: str | None = None, parent_level: str | None = None
               ) -> tuple[pd.DataFrame, list[list], dict | None]:
    """:func:`incident_counts_by_area` of ``periods[0]``, the counts of the further periods
    and the counts per area of ``parent_level`` (None: not asked), each exactly as
    :func:`incident_counts_by_area` gives them, but in one pass over the data where they share
    a source: one statement over the monthly counts for a gemeente or eenheid layer, one scan
    of the incidents below the gemeente for the periods the incidents cover (and for the
    parent level when the disclosure model counts the same registrations there).

    Returns (frame, [counts of ``periods[k]`` in the frame's order for k >= 1],
    {parent area: count} or None)."""
    period = periods[0]
    if level in ("gemeente", "eenheid"):
        frame, others = (_gemeente_counts(con, scope, periods, group, within)
                         if level == "gemeente" else _eenheid_counts(con, scope, periods, group))
        parents = None
    else:
        release = disclosure.release(con, scope=scope, level=level, indicator=group)
        span = coverage.incident_span(con, scope=scope)
        inside = [p for p in periods
                  if span is not None and span.start <= p.start and p.end <= span.end]
        shared = (parent_level is not None and parent_level != "gemeente"
                  and disclosure.rows(scope, level, "i") == disclosure.rows(scope, parent_level, "i"))
        if period in inside:
            scanned = [period] + [p for p in inside if p != period]
            frame, found, parents = _raw_counts(con, scope, level, scanned, release.members,
                                                within, parent_level if shared else None,
                                                group=group)
            # The gemeente figures of the period: the provisional marks and, for a parent
            # gemeente, its total, in one question (coverage: exact for every scope).
            gemeente_cells = None
            if parent_level == "gemeente":
                where, params = area_filter(
                    replace(scope, gemeenten=scope.gemeenten & {within}) if within else scope,
                    "code")
                codes = [r[0] for r in con.execute(
                    f"SELECT code FROM areas WHERE level = 'gemeente' AND {where} ORDER BY code",
                    params).fetchall()]
                gemeente_cells = coverage.indicator_counts(
                    con, scope=scope, gemeenten=codes, indicators=[group, "alle_misdrijven"],
                    periods=[period])
                parents = {gm: gemeente_cells[group][(gm, period)].value for gm in codes}
            frame = frame.assign(source=coverage.source_title(coverage.INCIDENTS), reason=None,
                                 provisional=_provisional(con, scope, frame, period,
                                                          gemeente_cells))
            by_period = dict(zip(scanned[1:], found))
        else:
            frame = _imported_counts(con, scope, level, period, release.members, within)
            by_period, parents = {}, None
        frame = frame.assign(count=frame["count"].astype("Int64"))
        others = []
        for p in periods[1:]:
            if p not in by_period:
                alone = incident_counts_by_area(con, scope=scope, level=level, period=p,
                                                group=group, within=within)
                values = dict(zip(alone["code"], alone["count"]))
                by_period[p] = [values.get(code) for code in frame["code"]]
            others.append(by_period[p])
    if parent_level is not None and parents is None:
        above = incident_counts_by_area(con, scope=scope, level=parent_level, period=period,
                                        group=group, within=within)
        parents = dict(zip(above["code"], above["count"]))
    return frame, others, parents


def _provisional(con, scope: Scope, frame: pd.DataFrame, period: Period,
                 gemeente_cells: dict | None = None) -> list[bool]:
    """Per area of ``frame``: whether its gemeente's incident months in ``period`` are still
    provisional (late registrations can follow), as the gemeente figure says
    (``gemeente_cells``: the coverage cells of every gemeente in ``frame``, when known)."""
    gm_codes = frame["gm_code"].tolist()
    gemeenten = sorted({gm for gm in gm_codes if isinstance(gm, str)})
    if not gemeenten:
        return [False] * len(frame)
    known = None if gemeente_cells is None else gemeente_cells["alle_misdrijven"]
    if known is not None and all((gm, period) in known for gm in gemeenten):
        late = {gm for gm in gemeenten if known[(gm, period)].provisional}
    else:
        late = coverage.late_gemeenten(con, scope=scope, gemeenten=gemeenten, period=period)
    return [gm in late for gm in gm_codes]


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
