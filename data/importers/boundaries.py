"""Import area boundaries (GeoJSON, GeoPackage, Shapefile, ... in any CRS) for one level.

Every feature is checked: a code in the format of the level, not seen before in the file, and a
geometry that is (or can be repaired into) a polygon with area. Accepted features are upserted
into ``areas`` with their place in the hierarchy, derived from the code (a wijk's digits start
with its gemeente's, a buurt's with its wijk's) or, for postcodes, from the boundaries already
stored (pc4 -> gemeente, pc6 -> buurt, by representative point). A parent that is not in the
database is not an error (old buurt files have gemeenten that no longer exist): such areas are
counted as orphans. Geometry goes to ``boundaries``/``boundary_shapes`` per vintage.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.importers.common import FatalImportError, ImportResult, Rejection
from data.schema import BOUNDARY_LEVELS
from geo.boundaries import (BoundaryFileError, finite, read_boundary_file, repair,
                            write_boundaries)
from geo.pointinpolygon import area_codes, current_places
from geo.projections import WGS84

#: Code format per level. The demo region uses capital letters in the number part (GMD001).
CODE_PATTERNS = {
    "eenheid": r"RE[0-9A-Z]{2}",
    "gemeente": r"GM[0-9A-Z]{4}",
    "wijk": r"WK[0-9A-Z]{6}",
    "buurt": r"BU[0-9A-Z]{8}",
    "pc4": r"[0-9]{4}",
    "pc6": r"[0-9]{4}[A-Z]{2}",
}
#: Where a boundary may lie (WGS84 west, south, east, north): the Netherlands with its
#: coastal waters, and the demo's Doggerland in the North Sea. A shape elsewhere (a ring read
#: in the wrong coordinate system lands in France; one at longitude 179) would stretch every
#: map of its gemeente to a continent.
NETHERLANDS = (2.0, 50.5, 7.6, 54.0)
#: Readable form of the code format, for messages.
CODE_FORMATS = {"eenheid": "RE + 2 digits", "gemeente": "GM + 4 digits", "wijk": "WK + 6 digits",
                "buurt": "BU + 8 digits", "pc4": "4 digits", "pc6": "4 digits + 2 letters"}
#: Prefix and number of digits, to complete a bare number (14 -> GM0014).
_PREFIX = {"eenheid": ("RE", 2), "gemeente": ("GM", 4), "wijk": ("WK", 6), "buurt": ("BU", 8),
           "pc4": ("", 4)}

#: Attribute names tried, in order, for the code and the name (case-insensitive).
CODE_FIELDS = {
    "eenheid": ("statcode", "re_code", "recode", "code"),
    "gemeente": ("statcode", "gm_code", "gemeentecode", "gmcode", "code"),
    "wijk": ("statcode", "wk_code", "wijkcode", "wkcode", "code"),
    "buurt": ("statcode", "bu_code", "buurtcode", "bucode", "code"),
    "pc4": ("pc4", "postcode4", "postcode", "pc4code", "code", "statcode"),
    "pc6": ("pc6", "postcode6", "postcode", "pc6code", "code", "statcode"),
}
NAME_FIELDS = {
    "eenheid": ("statnaam", "re_naam", "naam", "name"),
    "gemeente": ("statnaam", "gemeentenaam", "gm_naam", "gemeente", "naam", "name"),
    "wijk": ("statnaam", "wijknaam", "wk_naam", "naam", "name"),
    "buurt": ("statnaam", "buurtnaam", "bu_naam", "naam", "name"),
    "pc4": ("areaname", "naam", "name", "statnaam"),
    "pc6": ("naam", "name", "statnaam"),
}
#: Attributes that state the parent, checked against the parent derived from the code.
PARENT_FIELDS = {
    "wijk": {"gm": ("gm_code", "gemeentecode")},
    "buurt": {"wk": ("wk_code", "wijkcode"), "gm": ("gm_code", "gemeentecode")},
}
#: How far (degrees, about 3 km) a pc4 representative point may lie outside every gemeente and
#: still be assigned to the nearest one (coastal postcodes against simplified gemeente shapes).
PC4_NEAREST_DEGREES = 0.03


def import_boundaries(con, path, *, level: str, vintage: int | None = None,
                      code_field: str | None = None, name_field: str | None = None):
    path = Path(path)
    if level not in BOUNDARY_LEVELS:
        raise FatalImportError(f"unknown level {level!r} (one of {', '.join(BOUNDARY_LEVELS)})",
                               file=path)
    gdf = _read(path)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    code_field = _code_field(gdf, columns, level, code_field, path)
    name_field = _name_field(columns, level, name_field, code_field, path)
    vintage = _vintage(path, gdf, columns, vintage)

    codes = [normalise_code(v, level) for v in gdf[code_field]]
    names = ([None if pd.isna(v) else str(v).strip() or None for v in gdf[name_field]]
             if name_field else [None] * len(gdf))
    raw = np.asarray(gdf.geometry.values, dtype=object)
    geoms, ok = repair(raw)
    parents = _stated_parents(gdf, columns, level)
    rejections, keep = _check_features(level, gdf[code_field].tolist(), codes, names, raw, ok,
                                       parents)
    if not keep.any():  # nothing to import: an error, not a new data version without change
        first = rejections[0]
        raise FatalImportError(f"no feature can be imported; first problem (feature "
                               f"{first.line}): {first.reason}", file=path)

    index = np.flatnonzero(keep)
    accepted = gpd.GeoDataFrame(
        {"code": [codes[i] for i in index], "name": pd.array([names[i] for i in index],
                                                             dtype="string")},
        geometry=gpd.GeoSeries(geoms[index], crs=WGS84))
    result = ImportResult("boundaries", str(path))
    result.detail = {"level": level, "vintage": vintage, "code_field": code_field,
                     "name_field": name_field}
    was_valid = shapely.is_valid(raw[index])
    result.detail["repaired"] = int((~was_valid).sum())
    if len(accepted):
        frame = _area_rows(con, accepted, level)
        _upsert_areas(con, frame)
        write_boundaries(con, accepted, level=level, vintage=vintage, source=path.name)
        result.detail["placed"] = place_older_areas(con)
        _report_orphans(con, frame, level, result)
        if level == "pc6" and frame["bu_code"].isna().any():
            result.warnings.append(f"{int(frame['bu_code'].isna().sum())} pc6 areas lie in no "
                                   "stored buurt (import buurt boundaries first)")
    result.rows = len(accepted)
    return result, rejections


# -- reading and guessing --------------------------------------------------------------------
def _read(path: Path) -> gpd.GeoDataFrame:
    try:
        return read_boundary_file(path)
    except BoundaryFileError as exc:
        line = column = None
        if path.suffix.lower() in (".geojson", ".json"):
            try:
                with open(path, encoding="utf-8") as fh:
                    json.load(fh)
            except json.JSONDecodeError as err:
                line, column = err.lineno, err.colno
                raise FatalImportError(f"not valid JSON: {err.msg}", file=path, line=line,
                                       column=column) from exc
            except RecursionError:
                raise FatalImportError("not valid GeoJSON: lists or objects nested deeper than "
                                       "any boundary file needs", file=path) from exc
            except UnicodeDecodeError as err:
                raise FatalImportError(f"not valid UTF-8 JSON: {err.reason}", file=path) from exc
        raise FatalImportError(str(exc), file=path) from exc


def _lookup(columns, wanted):
    lower = {c.lower(): c for c in columns}
    return next((lower[w] for w in wanted if w in lower), None)


def _given_field(columns, given, option, path) -> str:
    """The attribute named by ``option`` (case-insensitive); a fatal error when there is none."""
    field = _lookup(columns, [given.lower()])
    if field is None:
        raise FatalImportError(f"{option} {given!r} is not an attribute of the layer "
                               f"(attributes: {', '.join(columns)})", file=path, column=given)
    return field


def _code_field(gdf, columns, level, given, path) -> str:
    if given:
        return _given_field(columns, given, "--code-field", path)
    pattern = re.compile(CODE_PATTERNS[level])

    def share(col):
        values = [normalise_code(v, level) for v in gdf[col].head(500)]
        values = [v for v in values if v is not None]
        return sum(bool(pattern.fullmatch(v)) for v in values) / len(values) if values else 0.0

    lower = {c.lower(): c for c in columns}
    named = [lower[w] for w in CODE_FIELDS[level] if w in lower]
    for col in named:
        if share(col) >= 0.5:
            return col
    scored = sorted(((share(c), i, c) for i, c in enumerate(columns)), key=lambda t: (-t[0], t[1]))
    if scored and scored[0][0] >= 0.5:
        return scored[0][2]
    raise FatalImportError(
        f"cannot tell which attribute holds the {level} code ({CODE_FORMATS[level]}); pass "
        f"--code-field (attributes: {', '.join(columns) or 'none'})", file=path)


def _name_field(columns, level, given, code_field, path) -> str | None:
    if given:
        return _given_field(columns, given, "--name-field", path)
    candidates = [c for c in columns if c != code_field]
    field = _lookup(candidates, NAME_FIELDS[level])
    if field is None:  # statnaam_2024 and the like
        field = next((c for c in candidates if re.fullmatch(r"statnaam_?\d{4}", c.lower())), None)
    return field


def _vintage(path, gdf, columns, given) -> int:
    if given is not None:
        if not 1900 <= int(given) <= 2100:
            raise FatalImportError(f"--vintage {given} is not a plausible year", file=path)
        return int(given)
    years = re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", path.stem)
    if years:
        return max(int(y) for y in years)
    field = _lookup(columns, ["jrstatcode"])
    if field is not None:
        found = Counter(str(v)[:4] for v in gdf[field].dropna()
                        if re.match(r"(19|20)\d{2}", str(v)))
        if found:
            return int(found.most_common(1)[0][0])
    raise FatalImportError("cannot tell the vintage (indeling year) from the file name or a "
                           "jrstatcode attribute: pass --vintage YEAR", file=path)


def normalise_code(value, level: str) -> str | None:
    """The code as stored: trimmed, upper case, spaces removed; a bare number gets its prefix
    and leading zeros (14 -> GM0014, 101 -> 0101 for pc4)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip().upper().replace(" ", "")
    if not text:
        return None
    if level in _PREFIX and text.isdigit():
        prefix, width = _PREFIX[level]
        if len(text) <= width:
            text = prefix + text.zfill(width)
    return text


def _stated_parents(gdf, columns, level) -> dict[str, list]:
    out = {}
    for key, names in PARENT_FIELDS.get(level, {}).items():
        field = _lookup(columns, names)
        if field is not None:
            target = "wijk" if key == "wk" else "gemeente"
            out[key] = [normalise_code(v, target) for v in gdf[field]]
    return out


def derived_parents(code: str, level: str) -> dict[str, str]:
    """Parent codes that follow from a CBS code: wijk -> gemeente, buurt -> wijk and gemeente,
    pc6 -> pc4."""
    if level == "wijk":
        return {"gm": "GM" + code[2:6]}
    if level == "buurt":
        return {"wk": "WK" + code[2:8], "gm": "GM" + code[2:6]}
    if level == "pc6":
        return {"pc4": code[:4]}
    return {}


def _check_features(level, raw_codes, codes, names, raw_geoms, ok, parents):
    """Rejections (line = feature number) and a mask of the features to keep."""
    pattern = re.compile(CODE_PATTERNS[level])
    seen: dict[str, int] = {}
    rejections, keep = [], np.zeros(len(codes), dtype=bool)
    for i, code in enumerate(codes):
        if code is None:
            reason = "missing code"
        elif not pattern.fullmatch(code):
            reason = f"invalid {level} code {code!r} (expected {CODE_FORMATS[level]})"
        elif code in seen:
            reason = f"duplicate code {code} (also feature {seen[code] + 1})"
        else:
            seen[code] = i
            reason = _geometry_problem(raw_geoms[i], ok[i]) or _nesting_problem(
                code, level, {key: stated[i] for key, stated in parents.items()})
        if reason:
            raw = raw_codes[i]
            rejections.append(Rejection(i + 1, reason, {
                "code": "" if raw is None or (not isinstance(raw, str) and pd.isna(raw)) else raw,
                "name": names[i] or ""}))
        else:
            keep[i] = True
    return rejections, keep


def _geometry_problem(geom, repaired_ok) -> str | None:
    if geom is None or geom.is_empty:
        return "geometry missing or empty"
    if not finite([geom])[0]:
        return "geometry has coordinates that are not numbers (NaN or Infinity)"
    if not repaired_ok:
        return "geometry cannot be repaired into a polygon with area"
    x0, y0, x1, y1 = geom.bounds
    west, south, east, north = NETHERLANDS
    if x0 < west or y0 < south or x1 > east or y1 > north:
        return (f"geometry lies outside the Netherlands (lon {x0:.2f}..{x1:.2f}, lat "
                f"{y0:.2f}..{y1:.2f} in WGS84): another coordinate system than the file says?")
    return None


def _nesting_problem(code, level, stated: dict) -> str | None:
    derived = derived_parents(code, level)
    for key, parent in stated.items():
        if parent is not None and parent != derived[key]:
            return f"{code} does not nest in {parent} (its code implies {derived[key]})"
    return None


# -- the area registry -----------------------------------------------------------------------
def _area_rows(con, accepted: gpd.GeoDataFrame, level: str) -> pd.DataFrame:
    codes = accepted["code"].tolist()
    frame = pd.DataFrame({
        "code": codes, "level": level, "name": accepted["name"].astype(object).tolist(),
        "parent_code": None, "re_code": None, "gm_code": None, "wk_code": None,
        "bu_code": None, "pc4": None}, dtype=object)
    if level == "eenheid":
        frame["parent_code"] = "NL00"
        frame["re_code"] = codes
    elif level == "gemeente":
        frame["gm_code"] = codes
    elif level == "wijk":
        frame["gm_code"] = [derived_parents(c, level)["gm"] for c in codes]
        frame["parent_code"] = frame["gm_code"]
        frame["wk_code"] = codes
    elif level == "buurt":
        frame["gm_code"] = [derived_parents(c, level)["gm"] for c in codes]
        frame["wk_code"] = [derived_parents(c, level)["wk"] for c in codes]
        frame["parent_code"] = frame["wk_code"]
        frame["bu_code"] = codes
    else:
        points = shapely.point_on_surface(accepted.geometry.values)
        x, y = shapely.get_x(points), shapely.get_y(points)
        if level == "pc4":
            frame["pc4"] = codes
            frame["gm_code"] = area_codes(con, "gemeente", x, y,
                                          nearest_within=PC4_NEAREST_DEGREES)
            frame["parent_code"] = frame["gm_code"]
        else:  # pc6
            frame["pc4"] = [c[:4] for c in codes]
            frame["parent_code"] = frame["pc4"]
            frame["bu_code"] = area_codes(con, "buurt", x, y)
    return frame


def _upsert_areas(con, frame: pd.DataFrame) -> None:
    """Insert or update areas; a value already known is kept when the new one is NULL (so a
    re-imported gemeente keeps the re_code set by the lookup)."""
    con.register("_new_areas", frame)
    try:
        con.execute("""
            INSERT INTO areas
                (code, level, name, parent_code, re_code, gm_code, wk_code, bu_code, pc4)
            SELECT n.code, n.level, n.name, n.parent_code,
                   coalesce(n.re_code, b.re_code, g.re_code, p.re_code),
                   coalesce(n.gm_code, b.gm_code, p.gm_code),
                   coalesce(n.wk_code, b.wk_code), n.bu_code, n.pc4
            FROM _new_areas n
            LEFT JOIN areas b ON b.code = n.bu_code AND n.level = 'pc6'
            LEFT JOIN areas p ON p.code = n.pc4 AND n.level = 'pc6'
            LEFT JOIN areas g ON g.code = n.gm_code AND g.level = 'gemeente'
            ON CONFLICT (code) DO UPDATE SET
                level = excluded.level,
                name = coalesce(excluded.name, areas.name),
                parent_code = coalesce(excluded.parent_code, areas.parent_code),
                re_code = coalesce(excluded.re_code, areas.re_code),
                gm_code = coalesce(excluded.gm_code, areas.gm_code),
                wk_code = coalesce(excluded.wk_code, areas.wk_code),
                bu_code = coalesce(excluded.bu_code, areas.bu_code),
                pc4 = coalesce(excluded.pc4, areas.pc4)""")
    finally:
        con.unregister("_new_areas")


def place_older_areas(con) -> int:
    """Place wijken and buurten of an older indeling in the current one, so that maps, scopes
    and incident imports find them under today's gemeente and wijk. A wijk or buurt whose
    gemeente (from its code) is not a current gemeente goes to the gemeente that holds the
    label point of its newest boundary; a buurt whose wijk (from its code) is not a stored
    wijk goes to the wijk of its gemeente that holds that point
    (``geo.pointinpolygon.current_places``). The regionale eenheid follows the gemeente.
    Areas for which no such gemeente or wijk is stored keep their codes (orphans). Runs after
    every boundary import, so the order of the imports does not matter. Returns how many
    areas were placed."""
    rows = con.execute("""
        WITH cur AS (SELECT code FROM areas WHERE level = 'gemeente'),
             wk AS (SELECT code FROM areas WHERE level = 'wijk'),
             todo AS (
                SELECT a.code, a.level, a.gm_code, a.parent_code,
                       a.gm_code IS NULL OR a.gm_code NOT IN (SELECT code FROM cur) AS stale_gm,
                       a.level = 'buurt' AND (a.parent_code IS NULL
                           OR a.parent_code NOT IN (SELECT code FROM wk)) AS stale_wk
                FROM areas a WHERE a.level IN ('wijk', 'buurt'))
        SELECT t.code, t.level, t.gm_code, t.parent_code,
               t.stale_gm AND EXISTS (SELECT 1 FROM cur), t.stale_wk AND EXISTS (SELECT 1 FROM wk),
               arg_max(b.label_lon, b.vintage), arg_max(b.label_lat, b.vintage)
        FROM todo t JOIN boundaries b ON b.code = t.code AND b.level = t.level
        WHERE (t.stale_gm AND EXISTS (SELECT 1 FROM cur))
           OR (t.stale_wk AND EXISTS (SELECT 1 FROM wk))
        GROUP BY ALL ORDER BY t.code""").fetchall()
    if not rows:
        return 0
    gm, wk = current_places(con, [r[6] for r in rows], [r[7] for r in rows])
    placed = []
    for (code, level, old_gm, old_parent, stale_gm, stale_wk, _x, _y), new_gm, new_wk in zip(
            rows, gm, wk):
        gemeente = new_gm if stale_gm and new_gm is not None else old_gm
        parent = old_parent
        if level == "wijk":
            parent = gemeente
        elif stale_wk or gemeente != old_gm:
            # the wijk found must lie in the gemeente the buurt ends up in
            parent = new_wk if new_wk is not None and new_gm == gemeente else old_parent
        if (gemeente, parent) != (old_gm, old_parent):
            placed.append((code, level, gemeente, parent))
    if placed:
        frame = pd.DataFrame(placed, columns=["code", "level", "gm_code", "parent_code"])
        con.register("_placed", frame)
        try:
            con.execute("""
                UPDATE areas SET gm_code = p.gm_code, parent_code = p.parent_code,
                       wk_code = CASE WHEN areas.level = 'buurt' THEN p.parent_code
                                      ELSE areas.wk_code END,
                       re_code = coalesce((SELECT g.re_code FROM areas g
                                           WHERE g.level = 'gemeente' AND g.code = p.gm_code),
                                          areas.re_code)
                FROM _placed p WHERE areas.code = p.code AND areas.level = p.level""")
        finally:
            con.unregister("_placed")
    return len(placed)


def _report_orphans(con, frame: pd.DataFrame, level: str, result: ImportResult) -> None:
    if level == "eenheid":
        return
    codes = frame["code"].tolist()
    con.register("_imported_codes", pd.DataFrame({"code": codes}))
    try:
        rows = con.execute("""
            SELECT a.code, a.parent_code FROM areas a JOIN _imported_codes i USING (code)
            WHERE a.parent_code IS NULL OR a.parent_code NOT IN (SELECT code FROM areas)
            ORDER BY a.code""").fetchall()
    finally:
        con.unregister("_imported_codes")
    if level == "gemeente":  # the parent (eenheid) comes from the lookup; not an orphan
        missing = sum(1 for _, parent in rows if parent is None)
        if missing:
            result.warnings.append(f"{missing} gemeenten have no regionale eenheid yet: "
                                   "import the gemeente -> eenheid lookup")
        return
    orphans = [(c, p) for c, p in rows]
    result.detail["orphans"] = len(orphans)
    if orphans:
        unplaced = [c for c, p in orphans if p is None]
        absent = sorted({p for _, p in orphans if p is not None})
        if absent:
            result.warnings.append(
                f"{len(orphans) - len(unplaced)} {level} areas have a parent that is not in the "
                f"database ({len(absent)} codes, e.g. {', '.join(absent[:5])}); they are kept")
        if unplaced:
            parent = "gemeente" if level == "pc4" else "pc4"
            result.warnings.append(
                f"{len(unplaced)} {level} areas could not be placed in a {parent} "
                f"(e.g. {', '.join(unplaced[:5])})")
