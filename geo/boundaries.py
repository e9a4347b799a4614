"""Reading, repairing and storing area boundaries.

Any format GDAL reads (GeoJSON, GeoPackage, Shapefile, ...) in any CRS comes in through
:func:`read_boundary_file`; :func:`repair` makes geometries valid and polygonal;
:func:`write_boundaries` stores full geometry plus ready-to-serve simplified GeoJSON per tier.
The importer and the demo generator both store boundaries through :func:`write_boundaries`.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from data.schema import SHAPE_TIERS
from geo.projections import RD_NEW, WGS84, looks_like_rd
from geo.simplify import simplified_tiers


class BoundaryFileError(ValueError):
    """The file cannot be read as a boundary layer at all."""


def read_boundary_file(path) -> gpd.GeoDataFrame:
    """Read a boundary layer and return it in WGS84. A file without CRS (or a GeoJSON, whose CRS
    is WGS84 by definition) is taken as RD New when its coordinates are clearly metres."""
    try:
        gdf = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several DataSource/IO error types
        raise BoundaryFileError(f"cannot read as a boundary layer: {exc}") from exc
    if gdf.empty:
        raise BoundaryFileError("the layer has no features")
    if gdf.geometry.name is None or gdf.geometry.isna().all():
        raise BoundaryFileError("the layer has no geometry column")
    shapes = gdf.geometry.dropna()
    # Features with NaN or Infinity (rejected later) do not decide the coordinate system.
    bounds = shapes[finite(shapes.values)].total_bounds
    metres = len(bounds) == 4 and looks_like_rd(bounds[2], bounds[3])
    if gdf.crs is None or (metres and gdf.crs.is_geographic):
        # No CRS, or GeoJSON's implied WGS84 while the coordinates are clearly metres.
        gdf = gdf.set_crs(RD_NEW if metres else WGS84, allow_override=True)
    return gdf.to_crs(WGS84) if gdf.crs.to_string() != WGS84 else gdf


def finite(geoms) -> np.ndarray:
    """Per geometry (None allowed): whether every coordinate is a number, not NaN or
    Infinity."""
    arr = np.asarray(geoms, dtype=object)
    coords, index = shapely.get_coordinates(arr, return_index=True)
    out = np.ones(len(arr), dtype=bool)
    out[index[~np.isfinite(coords).all(axis=1)]] = False
    return out


def repair(geoms) -> tuple[np.ndarray, np.ndarray]:
    """Make geometries valid and keep only their polygonal parts.

    Returns (geometries, ok) where ``ok`` is False for a geometry that is missing or has no
    area after repair (it cannot be used as a boundary)."""
    arr = np.asarray(geoms, dtype=object)
    missing = pd.isna(arr)
    arr = np.where(missing, None, arr)
    missing |= ~finite(arr)  # GEOS refuses to repair them (an exception, not a result)
    arr = np.where(missing, None, arr)
    valid = shapely.make_valid(arr)
    polygonal = np.array([_polygonal_part(g) for g in valid], dtype=object)
    ok = ~missing & np.array([g is not None and not g.is_empty and g.area > 0 for g in polygonal])
    return polygonal, ok


def _polygonal_part(geom):
    if geom is None:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if parts:
            return shapely.union_all(parts)
    return None


def write_boundaries(con, gdf: gpd.GeoDataFrame, *, level: str, vintage: int, source: str) -> int:
    """Store boundaries (columns ``code``, ``name``, geometry in WGS84, valid) for one level and
    vintage, replacing rows with the same codes. Returns the number of rows written."""
    if gdf.empty:
        return 0
    gdf = gdf.reset_index(drop=True)
    metric = gdf.geometry.to_crs(RD_NEW)
    labels = gdf.geometry.representative_point()
    bounds = gdf.geometry.bounds
    table = pd.DataFrame({
        "level": level,
        "vintage": int(vintage),
        "code": gdf["code"].astype(str),
        "name": gdf["name"].astype("string"),
        "geom": shapely.to_wkb(gdf.geometry.values),
        "area_km2": metric.area.values / 1e6,
        "min_lon": bounds["minx"].values, "min_lat": bounds["miny"].values,
        "max_lon": bounds["maxx"].values, "max_lat": bounds["maxy"].values,
        "label_lon": labels.x.values, "label_lat": labels.y.values,
        "source": source,
    })
    shapes = []
    for tier, series in simplified_tiers(gdf).items():
        decimals = SHAPE_TIERS[tier][1]
        snapped = shapely.set_precision(series.values, 10.0 ** -decimals)
        collapsed = shapely.is_empty(snapped)
        snapped[collapsed] = series.values[collapsed]
        shapes.append(pd.DataFrame({
            "level": level, "vintage": int(vintage), "tier": tier,
            "code": table["code"], "geojson": shapely.to_geojson(snapped)}))
    shape_table = pd.concat(shapes, ignore_index=True)
    con.register("_new_boundaries", table)
    con.register("_new_shapes", shape_table)
    try:
        con.execute("DELETE FROM boundaries WHERE level = ? AND vintage = ? AND code IN"
                    " (SELECT code FROM _new_boundaries)", [level, int(vintage)])
        con.execute("DELETE FROM boundary_shapes WHERE level = ? AND vintage = ? AND code IN"
                    " (SELECT code FROM _new_boundaries)", [level, int(vintage)])
        con.execute("INSERT INTO boundaries SELECT * FROM _new_boundaries")
        con.execute("INSERT INTO boundary_shapes SELECT * FROM _new_shapes")
    finally:
        con.unregister("_new_boundaries")
        con.unregister("_new_shapes")
    return len(table)
