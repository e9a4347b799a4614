"""Import incident-level registrations (layout in docs/import-formats.md).

Built for millions of rows: the file is loaded by DuckDB's CSV reader into a temporary table and
every check is one SQL statement over all rows. Locations are placed in buurten (and PC4s)
through a stored grid of each boundary layer, exact point-in-polygon only near borders
(geo.pointinpolygon.PointGrid); rows without coordinates are placed through the pc6 (-> buurt)
or pc4 (-> gemeente) area registry. Accepted rows are appended in sort order after the incidents
already there and the derived counts updated with theirs (data.incidents.append_sorted,
finalize_appended): an import never rewrites the incidents it does not add.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from data.importers.common import ImportResult
from data.importers.counts import bool_sql
from data.importers.csvfile import CsvFile, open_csv
from data.incidents import INCIDENT_COLUMNS, append_sorted
from data.sql import ident, literal
from geo.pointinpolygon import boundary_layer, grid_layer, locate_index
from geo.projections import rd_to_wgs84

REQUIRED = ("id", "registered_at", "occurred_at", "type_code")
#: Optional text columns copied as they are.
TEXT_COLUMNS = ("street", "house_number", "mo", "summary", "basisteam")
#: Optional raid fields (type ``RAID_TYPE`` only): the executing unit, as written, and whether
#: the OM ordered the raid (ja/nee; empty or "onbekend" is unknown). Stored in ``raid_details``.
RAID_TYPE = "N06"
UNKNOWN_WORDS = ("", "onbekend", "unknown", "?")
#: Times with a UTC offset are converted to this zone; times without one are taken as written.
LOCAL_ZONE = "Europe/Amsterdam"
#: Imports with at least this many located rows build a boundary layer's placement grid when
#: it has none yet (a one-off ~10-20 s for the national buurten; smaller imports place their
#: points exactly without it).
GRID_MIN_POINTS = 100_000
#: Imports with fewer located rows place them exactly without reading the stored grids: reading
#: both national grids takes ~0.2 s, more than testing a day's or a week's points (measured on
#: the national buurten and PC4s, both layers: 3,000 points 0.06 s exactly against 0.21 s with
#: the grids; 30,000 0.15 against 0.26; 100,000 0.36 against 0.31). Same result either way.
GRID_READ_POINTS = 50_000


def timestamp_sql(expr: str) -> str:
    """SQL parsing an ISO 8601 date or date-time; NULL when it is not one."""
    return (f"CASE WHEN regexp_matches({expr}, '(Z|[+-]\\d{{2}}(:?\\d{{2}})?)$')"
            f" AND regexp_matches({expr}, '\\d[T ]\\d')"
            f" THEN try_cast({expr} AS TIMESTAMPTZ) AT TIME ZONE '{LOCAL_ZONE}'"
            f" ELSE try_cast({expr} AS TIMESTAMP) END")


def import_incidents(con, path):
    path = Path(path)
    csv = open_csv(path)
    csv.require(*REQUIRED, layout="incidents")
    has_xy = bool(csv.find("x") and csv.find("y"))
    has_lonlat = bool(csv.find("lon") and csv.find("lat"))
    if not (has_xy or has_lonlat or csv.find("pc6") or csv.find("pc4")):
        csv.fail("no location columns: the file needs x,y (RD New) or lon,lat (WGS84), "
                 "and/or pc6", column="x")
    csv.load(con)
    _parse(con, csv, has_xy, has_lonlat)
    points = _place_points(con)
    _check(con)
    rejections = csv.rejected_rows(con, "_inc_checked")

    columns = {c: c for c in INCIDENT_COLUMNS}
    columns.update({
        "occurred_date": "occurred_at::DATE", "attempt": "coalesce(attempt, false)",
        "high_impact": "coalesce(high_impact, default_high_impact)", "batch": literal(path.name)})
    select = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
    # A view: the accepted rows are read by the segment write, and by the derived counts only
    # when that segment is merged with another at once (data.incidents.append_sorted).
    con.execute(f"CREATE OR REPLACE TEMP VIEW _inc_final AS SELECT {select} FROM _inc_checked"
                f" WHERE reason IS NULL")
    # A segment of their own, in sort order, beside the incidents already there (which are not
    # rewritten); the derived counts get the counts of the new rows added.
    rows = append_sorted(con, "_inc_final")
    raids = con.execute(
        "INSERT INTO raid_details SELECT id, executing_unit, om_ordered FROM _inc_checked"
        " WHERE reason IS NULL AND type_code = ? AND (executing_unit IS NOT NULL"
        " OR om_ordered IS NOT NULL)", [RAID_TYPE]).fetchall()[0][0]
    first, last, coarse = con.execute(
        "SELECT min(occurred_at)::DATE, max(occurred_at)::DATE, count(*) FILTER"
        " (WHERE bu_code IS NULL) FROM _inc_checked WHERE reason IS NULL").fetchall()[0]

    result = ImportResult("incidents", str(path), rows=rows)
    result.detail = {"placed_by_coordinates": points}
    if raids:
        result.detail["raid_details"] = raids
    if rows:
        result.detail["period"] = f"{first}..{last}"
    if coarse:
        result.warnings.append(f"{coarse} incidents were placed at gemeente level only (pc4 "
                               "known, no buurt)")
    con.execute("DROP VIEW IF EXISTS _inc_final")
    for name in ("_inc", "_inc_points", "_inc_known", "_inc_checked"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    csv.drop(con)
    return result, rejections


def _parse(con, csv: CsvFile, has_xy: bool, has_lonlat: bool) -> None:
    def col(name):
        return f"c.{ident(name)}" if csv.find(name) else "NULL::VARCHAR"

    def number(name):
        return f"try_cast(replace({col(name)}, ',', '.') AS DOUBLE)"

    pc6 = f"upper(replace({col('pc6')}, ' ', ''))"
    pc4 = f"coalesce(left({pc6}, 4), {col('pc4')})"
    texts = ", ".join(f"{col(c)} AS {c}" for c in TEXT_COLUMNS)
    unknown = ", ".join(f"'{w}'" for w in UNKNOWN_WORDS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _inc AS
        SELECT c._line, c.id, c.registered_at AS registered_raw, c.occurred_at AS occurred_raw,
               {timestamp_sql('c.registered_at')} AS registered_at,
               {timestamp_sql('c.occurred_at')} AS occurred_at,
               c.type_code, t.code IS NOT NULL AND t.kind <> 'totaal' AS known_type,
               coalesce(t.high_impact, false) AS default_high_impact,
               {col('attempt')} AS attempt_raw, {bool_sql(col('attempt'))} AS attempt,
               {col('high_impact')} AS high_impact_raw,
               {bool_sql(col('high_impact'))} AS high_impact,
               {col('x') if has_xy else 'NULL::VARCHAR'} AS x_raw,
               {col('y') if has_xy else 'NULL::VARCHAR'} AS y_raw,
               {col('lon') if has_lonlat else 'NULL::VARCHAR'} AS lon_raw,
               {col('lat') if has_lonlat else 'NULL::VARCHAR'} AS lat_raw,
               {number('x') if has_xy else 'NULL::DOUBLE'} AS x,
               {number('y') if has_xy else 'NULL::DOUBLE'} AS y,
               {number('lon') if has_lonlat else 'NULL::DOUBLE'} AS lon,
               {number('lat') if has_lonlat else 'NULL::DOUBLE'} AS lat,
               {pc6} AS pc6, {pc4} AS pc4, {texts},
               nullif(trim({col('executing_unit')}), '') AS executing_unit,
               {col('om_ordered')} AS om_raw, {bool_sql(col('om_ordered'))} AS om_ordered,
               coalesce(lower(trim({col('om_ordered')})), '') IN ({unknown}) AS om_unknown
        FROM _csv c LEFT JOIN crime_types t ON t.code = c.type_code""")


def _place_points(con) -> int:
    """Place rows with coordinates in a buurt (and pc4 when pc4 boundaries exist):
    ``_inc_points(_line, lon, lat, bu_code, pc4)``. RD New x/y is converted to WGS84."""
    data = con.sql("SELECT _line, x, y, lon, lat FROM _inc WHERE (lon IS NOT NULL AND"
                   " lat IS NOT NULL) OR (x IS NOT NULL AND y IS NOT NULL)").fetchnumpy()
    line = np.asarray(data["_line"], dtype=np.int64)
    lon, lat = _filled(data["lon"]), _filled(data["lat"])
    x, y = _filled(data["x"]), _filled(data["y"])
    use_rd = ~(np.isfinite(lon) & np.isfinite(lat))
    if use_rd.any():
        rd_lon, rd_lat = rd_to_wgs84(x[use_rd], y[use_rd])
        lon[use_rd], lat[use_rd] = rd_lon, rd_lat
    # Both layers at once: their shapes (and grids) are read first (the connection is not
    # shared between threads), the lookups (numpy, GEOS; both release the GIL) then run side
    # by side.
    if len(lon) < GRID_READ_POINTS:
        layers = [(*boundary_layer(con, level)[:2], None) for level in ("buurt", "pc4")]
    else:
        build = len(lon) >= GRID_MIN_POINTS
        layers = [grid_layer(con, level, build=build) for level in ("buurt", "pc4")]
    with ThreadPoolExecutor(max_workers=len(layers)) as pool:
        buurt, pc4 = pool.map(lambda layer: _place(*layer, lon, lat), layers)
    table = pa.table({"_line": line, "lon": lon, "lat": lat, "bu_code": buurt, "pc4": pc4})
    con.register("_inc_points_arrow", table)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _inc_points AS SELECT * FROM _inc_points_arrow")
    finally:
        con.unregister("_inc_points_arrow")
    return len(buurt) - buurt.null_count


def _place(geoms, codes, grid, lon, lat) -> pa.DictionaryArray:
    """The code of the area of a boundary layer (``geo.pointinpolygon.grid_layer``: the newest
    vintage's shapes, codes and stored grid, built by the first import of GRID_MIN_POINTS
    points or more; no grid below GRID_READ_POINTS) holding each point, or null; the same
    result as
    geo.pointinpolygon.locate. The codes as a dictionary array (an index per point into the
    layer's codes), so no string is made per point."""
    if not len(codes):
        found = np.full(len(lon), -1, dtype=np.int32)
    else:
        found = grid.locate(lon, lat, geoms) if grid else locate_index((lon, lat), geoms)
    found = np.asarray(found, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(found, mask=found < 0),
                                          pa.array(codes, type=pa.string()))


def _filled(values) -> np.ndarray:
    return np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)


def _check(con) -> None:
    """``_inc_checked``: every row placed and with a ``reason`` (NULL = accepted)."""
    # The file's ids that are already imported: the file's (small) id set is the hash table,
    # the incidents' id column is scanned once.
    con.execute("CREATE OR REPLACE TEMP TABLE _inc_known AS SELECT DISTINCT id FROM incidents"
                " WHERE id IN (SELECT id FROM _inc)")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _inc_checked AS
        WITH placed AS (
            SELECT i.*, p.lon AS point_lon, p.lat AS point_lat,
                   -- a point in a buurt wins; then the pc6 registry; then the pc4 (gemeente only)
                   CASE WHEN p.bu_code IS NOT NULL THEN 'point'
                        WHEN a6.code IS NOT NULL AND a6.gm_code IS NOT NULL THEN 'pc6'
                        WHEN a4.code IS NOT NULL AND a4.gm_code IS NOT NULL THEN 'pc4' END AS how,
                   p.bu_code AS point_bu, b.gm_code AS b_gm, b.wk_code AS b_wk, b.re_code AS b_re,
                   p.pc4 AS point_pc4, a6.bu_code AS a6_bu, a6.wk_code AS a6_wk,
                   a6.gm_code AS a6_gm, a6.re_code AS a6_re, a4.gm_code AS a4_gm,
                   a4.re_code AS a4_re, d.id_count, d.id_first, k.id IS NOT NULL AS known
            FROM _inc i
            LEFT JOIN _inc_known k ON k.id = i.id
            LEFT JOIN (SELECT id, count(*) AS id_count, min(_line) AS id_first FROM _inc
                       GROUP BY id) d ON d.id = i.id
            LEFT JOIN _inc_points p ON p._line = i._line
            LEFT JOIN areas b ON b.code = p.bu_code
            LEFT JOIN areas a6 ON a6.code = i.pc6 AND a6.level = 'pc6'
            LEFT JOIN areas a4 ON a4.code = i.pc4 AND a4.level = 'pc4')
        SELECT _line, id, registered_at, occurred_at, type_code, attempt, high_impact,
               default_high_impact, street, house_number, mo, summary, basisteam,
               executing_unit, om_ordered,
               CASE how WHEN 'point' THEN point_bu WHEN 'pc6' THEN a6_bu END AS bu_code,
               CASE how WHEN 'point' THEN b_wk WHEN 'pc6' THEN a6_wk END AS wk_code,
               CASE how WHEN 'point' THEN b_gm WHEN 'pc6' THEN a6_gm ELSE a4_gm END AS gm_code,
               CASE how WHEN 'point' THEN b_re WHEN 'pc6' THEN a6_re ELSE a4_re END AS re_code,
               coalesce(pc4, point_pc4) AS pc4, pc6,
               CASE WHEN how = 'point' THEN point_lon END AS lon,
               CASE WHEN how = 'point' THEN point_lat END AS lat,
               CASE
                WHEN id IS NULL THEN 'missing id'
                WHEN id_count > 1 AND _line > id_first
                    THEN 'duplicate id ' || id || ' (first on line ' || id_first || ')'
                WHEN known THEN 'id ' || id || ' is already imported'
                WHEN registered_raw IS NULL THEN 'missing registered_at'
                WHEN registered_at IS NULL THEN 'bad date registered_at ' || registered_raw
                    || ' (expected ISO 8601, e.g. 2024-03-01T14:30:00)'
                WHEN occurred_raw IS NULL THEN 'missing occurred_at'
                WHEN occurred_at IS NULL THEN 'bad date occurred_at ' || occurred_raw
                    || ' (expected ISO 8601, e.g. 2024-03-01T14:30:00)'
                WHEN occurred_at > registered_at THEN 'occurred_at is after registered_at'
                WHEN type_code IS NULL THEN 'missing type_code'
                WHEN NOT known_type THEN 'unknown type_code ' || type_code
                WHEN attempt_raw IS NOT NULL AND attempt IS NULL
                    THEN 'bad attempt value ' || attempt_raw
                         || ' (expected 0/1, ja/nee, true/false)'
                WHEN high_impact_raw IS NOT NULL AND high_impact IS NULL
                    THEN 'bad high_impact value ' || high_impact_raw
                WHEN om_ordered IS NULL AND NOT om_unknown
                    THEN 'bad om_ordered value ' || om_raw
                         || ' (expected ja/nee, or empty/onbekend when unknown)'
                WHEN type_code <> 'N06' AND (executing_unit IS NOT NULL OR om_ordered IS NOT NULL)
                    THEN 'executing_unit and om_ordered are for raids (type_code N06) only'
                WHEN length(executing_unit) > 200 THEN 'executing_unit longer than 200 characters'
                WHEN (x_raw IS NOT NULL OR y_raw IS NOT NULL) AND (x IS NULL OR y IS NULL)
                     AND how IS NULL THEN 'bad coordinates x/y ' || coalesce(x_raw, '') || ' '
                        || coalesce(y_raw, '')
                WHEN (lon_raw IS NOT NULL OR lat_raw IS NOT NULL) AND (lon IS NULL OR lat IS NULL)
                     AND how IS NULL THEN 'bad coordinates lon/lat ' || coalesce(lon_raw, '')
                        || ' ' || coalesce(lat_raw, '')
                WHEN how IS NULL AND point_lon IS NOT NULL AND pc6 IS NOT NULL
                    THEN 'location cannot be placed: the point is outside every buurt and pc6 '
                        || pc6 || ' is unknown'
                WHEN how IS NULL AND point_lon IS NOT NULL
                    THEN 'location cannot be placed: the point is outside every buurt'
                WHEN how IS NULL AND pc6 IS NOT NULL
                    THEN 'location cannot be placed: unknown pc6 ' || pc6
                WHEN how IS NULL THEN 'no location (coordinates or pc6)'
               END AS reason
        FROM placed""")
