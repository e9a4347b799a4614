"""Gemeente sources: a gemeente's own datasets, shown beside the police figures.

Who sees a source: users whose ``scope.sources`` holds the owner gemeente
(``data/scope.py: resolve_scope``): the gemeente's own users (burgemeester, adviseur,
gegevensbeheerder, its service accounts) and the police roles its agreement profile shares
them with (``bronnen_delen``: teamchef, analist). Never another gemeente. Every function here
takes ``scope=``, and the condition sits inside the SQL; a request for a source outside it
raises ``OutOfScope`` (one message whether the source exists or not).

These are not police registrations, so the police's disclosure model (data/disclosure.py) does
not apply to them; every figure is labelled with its source (:func:`label` in the frames).

Counting rule: a source's figure for an area and period is the sum of its rows there (every
row counts once, at the area the gemeente gave it). Inside the source's own span (its first to
its last period) a period without rows is 0; outside it, or finer than the source's grain, it
is "geen gegevens" (``count`` NA with a ``reason``), never 0.
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from data.scope import OutOfScope, Scope

GRAINS = ("day", "week", "month", "year")
#: DuckDB interval per grain.
INTERVAL = {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH",
            "year": "INTERVAL 1 YEAR"}
GRAIN_PER = {"day": "per dag", "week": "per week", "month": "per maand", "year": "per jaar"}
GRAIN_NL = {"day": "deze dag", "week": "deze week", "month": "deze maand", "year": "dit jaar"}


def _visible(scope: Scope, column: str = "owner") -> tuple[str, list]:
    """SQL condition: the owner gemeente is one whose sources the scope sees."""
    if scope.empty or not scope.sources:
        return "FALSE", []
    allowed = sorted(scope.sources & scope.gemeenten)
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [allowed]


def _label(gemeente: str, title: str) -> str:
    return f"Bron: gemeente {gemeente} — {title}"


def _has_tables(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name ="
                            " 'gemeente_source_counts'").fetchall()[0][0])


def list_sources(con, *, scope: Scope, gm_code: str | None = None) -> pd.DataFrame:
    """The sources the scope sees (of one gemeente, or all), newest import first: owner,
    gemeente, source, title, description, grain, period_from, period_to, imported_at,
    imported_by, file, rows, total, categories (list), label."""
    columns = ["owner", "gemeente", "source", "title", "description", "grain", "period_from",
               "period_to", "imported_at", "imported_by", "file", "rows", "total",
               "categories", "label"]
    if not _has_tables(con):
        return pd.DataFrame(columns=columns)
    condition, params = _visible(scope, "s.owner")
    if gm_code is not None:
        condition += " AND s.owner = ?"
        params.append(gm_code)
    frame = con.execute(f"""
        SELECT s.owner, coalesce(a.name, s.owner) AS gemeente, s.source, s.title, s.description,
               s.grain, s.period_from, s.period_to, s.imported_at, s.imported_by, s.file,
               (SELECT count(*) FROM gemeente_source_counts c
                WHERE c.owner = s.owner AND c.source = s.source) AS rows,
               (SELECT coalesce(sum(count), 0) FROM gemeente_source_counts c
                WHERE c.owner = s.owner AND c.source = s.source) AS total,
               (SELECT list(DISTINCT category ORDER BY category) FROM gemeente_source_counts c
                WHERE c.owner = s.owner AND c.source = s.source) AS categories
        FROM gemeente_sources s LEFT JOIN areas a ON a.code = s.owner
        WHERE {condition} ORDER BY s.imported_at DESC, s.owner, s.source""", params).df()
    for column in ("period_from", "period_to"):
        frame[column] = [pd.Timestamp(v).date() for v in frame[column]]
    # stored as UTC without a zone
    frame["imported_at"] = [None if pd.isna(v) else pd.Timestamp(v).tz_localize("UTC")
                            .to_pydatetime() for v in frame["imported_at"]]
    frame["label"] = [_label(g, t) for g, t in zip(frame["gemeente"], frame["title"])]
    return frame[columns]


def get_source(con, *, scope: Scope, gm_code: str, source: str) -> dict:
    """One source the scope sees, as a dict (see :func:`list_sources`); OutOfScope otherwise."""
    if not isinstance(gm_code, str) or not isinstance(source, str):
        raise OutOfScope(f"source {gm_code!r}/{source!r}: not a plain value")
    frame = list_sources(con, scope=scope, gm_code=gm_code)
    match = frame[frame["source"] == source]
    if match.empty:
        raise OutOfScope(f"gemeente source {gm_code}/{source} not visible to the scope"
                         f" (sources of {sorted(scope.sources)})")
    return match.iloc[0].to_dict()


def _grain(requested: str, own: str) -> str:
    """The grain a series is shown at: the requested one, never finer than the source's."""
    if requested not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {requested!r}")
    if own == "week":  # weeks do not nest in months or years
        return "week"
    return requested if GRAINS.index(requested) >= GRAINS.index(own) else own


def _end_of(start: date, grain: str) -> date:
    """The first day after the period of ``grain`` starting at ``start``."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def _category(category, params: list) -> str:
    if category in (None, "", "*"):
        return ""
    if not isinstance(category, str):
        raise ValueError("category must be text")
    params.append(category)
    return " AND category = ?"


def source_series(con, *, scope: Scope, gm_code: str, source: str, category: str | None = None,
                  grain: str = "month", start: date | None = None,
                  end: date | None = None) -> pd.DataFrame:
    """The source's counts for the whole gemeente per period: ``period_start``, ``count``
    (NA where not covered) and ``reason`` ("geen gegevens ..." or None), from ``start`` to
    ``end`` (default: the source's span). ``attrs``: grain, label, title, unit."""
    info = get_source(con, scope=scope, gm_code=gm_code, source=source)
    shown = _grain(grain, info["grain"])
    first, last = info["period_from"], info["period_to"]
    covered_to = _end_of(last, info["grain"])  # first day after the source's span
    start = pd.Timestamp(start or first).date()
    end = pd.Timestamp(end or last).date()
    condition, params = _visible(scope)
    params = [start, end, *params, gm_code, source]
    extra = _category(category, params)
    unit = "week" if shown == "week" else shown
    frame = con.execute(f"""
        WITH periods AS (
            SELECT unnest(generate_series(date_trunc('{unit}', ?::DATE),
                                          date_trunc('{unit}', ?::DATE),
                                          {INTERVAL[shown]}))::DATE AS period_start),
        counts AS (
            SELECT date_trunc('{unit}', period_start)::DATE AS period_start, sum(count) AS n
            FROM gemeente_source_counts
            WHERE {condition} AND owner = ? AND source = ?{extra} GROUP BY 1)
        SELECT p.period_start, coalesce(c.n, 0)::BIGINT AS n
        FROM periods p LEFT JOIN counts c USING (period_start) ORDER BY 1""", params).df()
    rows = []
    for p, n in zip(frame["period_start"], frame["n"]):
        p = pd.Timestamp(p).date()
        if p < first or _end_of(p, shown) > covered_to:
            rows.append((p, pd.NA, f"geen gegevens: {info['title']} dekt {GRAIN_NL[shown]}"
                                   " niet"))
        else:
            rows.append((p, int(n), None))
    out = pd.DataFrame(rows, columns=["period_start", "count", "reason"])
    out["count"] = out["count"].astype("Int64")
    out.attrs.update(grain=shown, label=info["label"], title=info["title"],
                     unit=info["description"])
    return out


def source_map_values(con, *, scope: Scope, gm_code: str, source: str, level: str,
                      start: date, end: date, category: str | None = None) -> pd.DataFrame:
    """The source's counts per wijk, buurt or PC4 of the gemeente over ``start`` ..
    ``end`` (inclusive): ``area_code``, ``name``, ``count`` (NA with ``reason`` when the source
    does not cover the whole period). Rows at a wijk are summed with its buurten' rows; rows
    that lie coarser than ``level`` (the gemeente, or a wijk for buurten) cannot be placed and
    are counted in ``attrs["unplaced"]``. ``attrs``: label, title, unplaced."""
    if level not in ("wijk", "buurt", "pc4"):
        raise ValueError(f"level must be wijk, buurt or pc4, not {level!r}")
    info = get_source(con, scope=scope, gm_code=gm_code, source=source)
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    covered = start >= info["period_from"] and end < _end_of(info["period_to"], info["grain"])
    condition, params = _visible(scope, "c.owner")
    params = [*params, gm_code, source, start, end]
    extra = _category(category, params)
    key = {"wijk": "coalesce(a.wk_code, CASE WHEN c.level = 'wijk' THEN c.area_code END)",
           "buurt": "CASE WHEN c.level = 'buurt' THEN c.area_code END",
           "pc4": "CASE WHEN c.level = 'pc4' THEN c.area_code END"}[level]
    sums = con.execute(f"""
        SELECT {key} AS area_code, sum(c.count) AS n
        FROM gemeente_source_counts c LEFT JOIN areas a ON a.code = c.area_code
        WHERE {condition} AND c.owner = ? AND c.source = ?
          AND c.period_start BETWEEN ? AND ?{extra}
        GROUP BY 1""", params).fetchall()
    counted = {code: int(n) for code, n in sums if code is not None}
    unplaced = sum(int(n) for code, n in sums if code is None)
    areas = con.execute("SELECT code, coalesce(name, code) FROM areas WHERE level = ?"
                        " AND gm_code = ? ORDER BY 2", [level, gm_code]).fetchall()
    reason = None if covered else (f"geen gegevens: {info['title']} dekt deze periode niet"
                                   " (geheel)")
    out = pd.DataFrame(
        [(code, name, counted.get(code, 0) if covered else pd.NA, reason)
         for code, name in areas], columns=["area_code", "name", "count", "reason"])
    out["count"] = out["count"].astype("Int64")
    out.attrs.update(label=info["label"], title=info["title"],
                     unplaced=unplaced if covered else 0)
    return out


def period_totals(con, *, scope: Scope, gm_code: str,
                  windows: list[tuple[date, date]]) -> pd.DataFrame:
    """Per source of the gemeente the scope sees: its total in each window ``[start, end)``,
    NA (with the first reason) where the source does not cover the whole window. Columns:
    source, title, label, one ``w0``, ``w1``, ... per window, reason."""
    windows = [(pd.Timestamp(lo).date(), pd.Timestamp(hi).date()) for lo, hi in windows]
    infos = list_sources(con, scope=scope, gm_code=gm_code).to_dict("records")
    sums: dict[str, tuple] = {}
    if infos and windows:  # every source and window in one statement
        condition, params = _visible(scope)
        columns = ", ".join("coalesce(sum(count) FILTER (WHERE period_start >= ?"
                            " AND period_start < ?), 0)" for _ in windows)
        sums = {r[0]: r[1:] for r in con.execute(
            f"SELECT source, {columns} FROM gemeente_source_counts WHERE {condition}"
            f" AND owner = ? GROUP BY source",
            [*(d for window in windows for d in window), *params, gm_code]).fetchall()}
    rows = []
    for info in infos:
        values, reasons = [], []
        for i, (lo, hi) in enumerate(windows):
            covered = lo >= info["period_from"] and hi <= _end_of(info["period_to"], info["grain"])
            aligned = _aligned(lo, info["grain"]) and _aligned(hi, info["grain"])
            if covered and aligned:
                values.append(int(sums.get(info["source"], (0,) * len(windows))[i]))
            else:
                values.append(pd.NA)
                reasons.append(f"geen gegevens: {info['title']} dekt niet de hele periode"
                               + ("" if aligned else f" (de bron telt {GRAIN_PER[info['grain']]})"))
        rows.append((info["source"], info["title"], info["label"], *values,
                     reasons[0] if reasons else None))
    names = [f"w{i}" for i in range(len(windows))]
    out = pd.DataFrame(rows, columns=["source", "title", "label", *names, "reason"])
    for column in names:
        out[column] = out[column].astype("Int64")
    return out


def _aligned(day: date, grain: str) -> bool:
    """Whether a window boundary falls on a period boundary of the source's grain."""
    return {"day": True, "week": day.isoweekday() == 1, "month": day.day == 1,
            "year": (day.month, day.day) == (1, 1)}[grain]


def source_totals(con, *, scope: Scope, gm_code: str, reference: date) -> pd.DataFrame:
    """Per source of the gemeente: the total of the 12 months before ``reference`` (a first
    of a month) and of the 12 months before those, each NA with a reason when the source does
    not cover the whole window. Columns: source, title, label, current, previous, reason."""
    reference = pd.Timestamp(reference).date().replace(day=1)
    windows = [(date(reference.year - 1, reference.month, 1), reference),
               (date(reference.year - 2, reference.month, 1),
                date(reference.year - 1, reference.month, 1))]
    out = period_totals(con, scope=scope, gm_code=gm_code, windows=windows).rename(
        columns={"w0": "current", "w1": "previous"})
    for column in ("current", "previous"):
        out[column] = out[column].astype("Int64")
    return out
