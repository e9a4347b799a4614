"""Import a gemeente's own dataset ("gemeentelijke bron") into ``gemeente_sources`` and
``gemeente_source_counts``.

Layout (docs/import-formats.md): a tidy CSV ``area_code,period,category,count`` (``date``
instead of ``period`` is accepted, and Dutch names ``gebied``, ``periode``/``datum``,
``categorie``, ``aantal``), optional ``lon,lat``. A period is a day ``2026-03-15``, an ISO week
``2026-W11``, a month ``2026-03`` or a year ``2026``; a file has one grain (the grain most of
its rows have: rows of another grain are rejected). Every area lies in the owner gemeente: the
gemeente itself, one of its wijken, buurten or PC4s; any other area is rejected.

The whole file is checked first (:func:`data.importers.csvfile.open_csv`); rows are rejected
with line number and reason; a file without one acceptable row is a fatal error. Importing a
source again replaces that source's rows of that gemeente only. Run inside ``Store.write``
(``run_import(store, "source", path, options=...)``), so a fatal error changes nothing.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from data.importers.common import FatalImportError, ImportResult
from data.importers.csvfile import open_csv
from data.scope import Scope, ensure_manages
from data.sql import ident, scalar

AREA_COLUMNS = ("area_code", "gebied", "code")
PERIOD_COLUMNS = ("period", "date", "periode", "datum")
CATEGORY_COLUMNS = ("category", "categorie")
COUNT_COLUMNS = ("count", "aantal")
GRAINS = ("day", "week", "month", "year")
MAX_COUNT = 2**31 - 1
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
LAYOUT = "gemeente source (area_code,period,category,count[,lon,lat])"


def check_names(gemeente, source, title) -> None:
    """The source's name (a short slug) and title; raises ValueError with a clear message."""
    if not isinstance(source, str) or not SLUG.fullmatch(source):
        raise ValueError("de bronnaam (source) bestaat uit 1 tot 40 kleine letters, cijfers, '-'"
                         f" of '_' en begint met een letter of cijfer, niet {source!r}")
    if not isinstance(title, str) or not title.strip() or len(title) > 120:
        raise ValueError("een titel van 1 tot 120 tekens is verplicht")
    if not isinstance(gemeente, str) or not gemeente:
        raise ValueError("een gemeente is verplicht")


def import_source(con, path, *, scope: Scope, gemeente: str, source: str, title: str,
                  description: str | None = None, by: str | None = None):
    """Import (replace) source ``source`` of ``gemeente``; ``scope`` must manage that
    gemeente (a gegevensbeheerder of it, or the operator on the command line)."""
    path = Path(path)
    try:
        check_names(gemeente, source, title)
    except ValueError as exc:
        raise FatalImportError(str(exc), file=path) from None
    gemeente = gemeente.upper()
    ensure_manages(scope, gemeente)
    if not scalar(con, "SELECT count(*) FROM areas WHERE code = ? AND level = 'gemeente'",
                  [gemeente]):
        raise FatalImportError(f"unknown gemeente {gemeente}", file=path)
    csv = open_csv(path)
    csv.require(AREA_COLUMNS, PERIOD_COLUMNS, CATEGORY_COLUMNS, COUNT_COLUMNS, layout=LAYOUT)
    area, period, category, count = (csv.find(*c) for c in (
        AREA_COLUMNS, PERIOD_COLUMNS, CATEGORY_COLUMNS, COUNT_COLUMNS))
    lon, lat = csv.find("lon", "lng", "x"), csv.find("lat", "y")
    if (lon is None) != (lat is None):
        csv.fail("give both 'lon' and 'lat' or neither", column=lon or lat)
    csv.load(con)
    p = f"{ident(period)}"
    lon_sql = f"{ident(lon)}" if lon else "NULL"
    lat_sql = f"{ident(lat)}" if lat else "NULL"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _src_parsed AS
        SELECT _line, upper({ident(area)}) AS code, {p} AS period_raw,
               {ident(category)} AS category, {ident(count)} AS count_raw,
               {lon_sql} AS lon_raw, {lat_sql} AS lat_raw,
               CASE WHEN regexp_full_match({p}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') THEN 'day'
                    WHEN regexp_full_match(upper({p}), '\\d{{4}}-W\\d{{1,2}}') THEN 'week'
                    WHEN regexp_full_match({p}, '\\d{{4}}-\\d{{1,2}}') THEN 'month'
                    WHEN regexp_full_match({p}, '\\d{{4}}') THEN 'year' END AS grain,
               try_cast(left({p}, 4) AS INTEGER) AS y
        FROM _csv""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _src_dated AS
        SELECT *, CASE grain
            WHEN 'day' THEN try_cast(period_raw AS DATE)
            WHEN 'month' THEN CASE WHEN try_cast(split_part(period_raw, '-', 2) AS INTEGER)
                                        BETWEEN 1 AND 12
                              THEN make_date(y, split_part(period_raw, '-', 2)::INTEGER, 1) END
            WHEN 'year' THEN make_date(y, 1, 1)
            WHEN 'week' THEN CASE WHEN try_cast(split_part(upper(period_raw), 'W', 2) AS INTEGER)
                                       BETWEEN 1 AND 53
                 THEN (make_date(y, 1, 4) - (isodow(make_date(y, 1, 4)) - 1)::INTEGER
                       + 7 * (split_part(upper(period_raw), 'W', 2)::INTEGER - 1))::DATE END
            END AS period_start
        FROM _src_parsed WHERE y IS NULL OR y BETWEEN 1900 AND 2100""")
    # Rows with an implausible year get no period (and so the reason 'bad period').
    con.execute("""INSERT INTO _src_dated SELECT *, NULL FROM _src_parsed
                   WHERE y IS NOT NULL AND y NOT BETWEEN 1900 AND 2100""")
    grain = con.execute("SELECT grain FROM _src_dated WHERE period_start IS NOT NULL"
                        " GROUP BY grain ORDER BY count(*) DESC, grain LIMIT 1").fetchall()
    grain = grain[0][0] if grain else None
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _src_checked AS
        WITH joined AS (
            SELECT d.*, a.level, CASE WHEN a.level = 'gemeente' THEN a.code ELSE a.gm_code END
                   AS area_gm, try_cast(d.count_raw AS DECIMAL(38, 6)) AS number,
                   try_cast(d.lon_raw AS DOUBLE) AS lon, try_cast(d.lat_raw AS DOUBLE) AS lat
            FROM _src_dated d LEFT JOIN areas a ON a.code = d.code),
        reasons AS (
            SELECT *, CASE
                WHEN code IS NULL THEN 'missing area code'
                WHEN level IS NULL THEN 'unknown area code ' || code
                WHEN level NOT IN ('gemeente', 'wijk', 'buurt', 'pc4')
                    THEN 'area level ' || level || ' is not accepted (gemeente, wijk, buurt or pc4)'
                WHEN coalesce(area_gm, '') <> ? THEN 'area ' || code || ' lies in gemeente '
                    || coalesce(area_gm, '?') || ', not in ' || ?
                WHEN period_raw IS NULL THEN 'missing period'
                WHEN period_start IS NULL THEN 'bad period ' || period_raw
                    || ' (expected 2026-03-15, 2026-W11, 2026-03 or 2026)'
                WHEN grain <> ? THEN 'period ' || period_raw || ' is a ' || grain
                    || '; this file is per ' || ?
                WHEN category IS NULL THEN 'missing category'
                WHEN length(category) > 100 THEN 'category longer than 100 characters'
                WHEN count_raw IS NULL THEN 'missing count'
                WHEN number IS NULL THEN 'count is not a number: ' || count_raw
                WHEN number < 0 THEN 'negative count ' || count_raw
                WHEN number <> floor(number) THEN 'count is not a whole number: ' || count_raw
                WHEN number > ? THEN 'count too large: ' || count_raw
                WHEN (lon_raw IS NULL) <> (lat_raw IS NULL) THEN 'give both lon and lat or neither'
                WHEN lon_raw IS NOT NULL AND (lon IS NULL OR lat IS NULL
                     OR lon NOT BETWEEN -180 AND 180 OR lat NOT BETWEEN -90 AND 90)
                    THEN 'bad coordinates ' || lon_raw || ', ' || lat_raw
                END AS reason
            FROM joined)
        SELECT _line, code, level, period_start, category, lon, lat,
               CASE WHEN reason IS NULL THEN number::INTEGER END AS count,
               CASE WHEN reason IS NULL AND lon IS NULL AND _line > min(_line) OVER same
                    THEN 'duplicate of line ' || min(_line) OVER same
                         || ' (same area, period and category)'
                    ELSE reason END AS reason
        FROM (SELECT *, CASE WHEN reason IS NULL AND lon IS NULL THEN 0 ELSE _line END AS grp
              FROM reasons)
        WINDOW same AS (PARTITION BY code, period_start, category, grp)""",
                [gemeente, gemeente, grain, grain, MAX_COUNT])
    rejections = csv.rejected_rows(con, "_src_checked")
    rows, total, first, last = con.execute(
        "SELECT count(*), coalesce(sum(count), 0), min(period_start), max(period_start)"
        " FROM _src_checked WHERE reason IS NULL").fetchall()[0]
    if not rows:
        reason = rejections[0].reason if rejections else "no data rows"
        line = rejections[0].line if rejections else None
        raise FatalImportError(f"no row can be imported; first problem: {reason}",
                               file=path, line=line)
    con.execute("DELETE FROM gemeente_source_counts WHERE owner = ? AND source = ?",
                [gemeente, source])
    con.execute("""
        INSERT INTO gemeente_source_counts
        SELECT ?, ?, code, level, period_start, category, count, lon, lat FROM _src_checked
        WHERE reason IS NULL ORDER BY period_start, code, category""", [gemeente, source])
    con.execute("INSERT OR REPLACE INTO gemeente_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [gemeente, source, title.strip(), (description or "").strip() or None, grain,
                 first, last, datetime.now(timezone.utc).replace(tzinfo=None), by, path.name])
    for name in ("_src_parsed", "_src_dated", "_src_checked"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    csv.drop(con)
    result = ImportResult("source", str(path), rows=int(rows), total=int(total))
    result.detail = {"gemeente": gemeente, "source": source, "grain": grain,
                     "from": first.isoformat(), "to": last.isoformat()}
    return result, rejections


def delete_source(store, *, scope: Scope, gemeente: str, source: str) -> int:
    """Remove one source of one gemeente (a new database version); returns its rows removed.
    ``scope`` must manage that gemeente (checked before anything is written)."""
    ensure_manages(scope, gemeente)
    with store.write(f"delete source {gemeente} {source}") as con:
        removed = scalar(con, "SELECT count(*) FROM gemeente_source_counts"
                              " WHERE owner = ? AND source = ?", [gemeente, source])
        con.execute("DELETE FROM gemeente_source_counts WHERE owner = ? AND source = ?",
                    [gemeente, source])
        con.execute("DELETE FROM gemeente_sources WHERE owner = ? AND source = ?",
                    [gemeente, source])
        con.execute("INSERT INTO imports VALUES (now(), 'source-delete', NULL, NULL, ?, 0, NULL, ?)",
                    [-removed, f"delete source {gemeente} {source}"])
    return int(removed)
