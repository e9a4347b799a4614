"""Placing points in areas: vectorised point-in-polygon against stored boundaries.

Millions of points are placed with ``STRtree.query`` (GEOS, prepared geometries) instead of a
Python loop; chunks run in a thread pool (GEOS releases the GIL). A point on a shared edge goes
to the matching area that comes first in ``codes``.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from data.sql import scalar

CHUNK = 200_000


def locate(lon, lat, geoms, codes, *, nearest_within: float | None = None) -> np.ndarray:
    """The code of the polygon containing each point (lon/lat in the CRS of ``geoms``), or None.

    ``nearest_within`` (same units as the coordinates) also places a point outside every polygon
    in the nearest one when it is at most that far away (coastal points against simplified
    shapes). NaN coordinates give None."""
    return locate_layers(lon, lat, [(geoms, codes)], nearest_within=nearest_within)[0]


def locate_layers(lon, lat, layers, *, nearest_within: float | None = None) -> list[np.ndarray]:
    """:func:`locate` for several layers ``[(geoms, codes), ...]`` at once (the points are
    built once)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    index = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    starts = range(0, len(index), CHUNK)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks = list(pool.map(
            lambda s: shapely.points(lon[index[s:s + CHUNK]], lat[index[s:s + CHUNK]]), starts))
        return [_locate_chunks(pool, chunks, index, len(lon), geoms, codes, nearest_within)
                for geoms, codes in layers]


def _locate_chunks(pool, chunks, index, size, geoms, codes, nearest_within) -> np.ndarray:
    codes = np.asarray(codes, dtype=object)
    out = np.full(size, None, dtype=object)
    if not len(index) or not len(codes):
        return out
    geoms = np.asarray(geoms, dtype=object)
    shapely.prepare(geoms)
    tree = shapely.STRtree(geoms)

    def query(chunk):
        point_i, geom_i = tree.query(chunk, predicate="intersects")
        order = np.lexsort((geom_i, point_i))
        point_i, geom_i = point_i[order], geom_i[order]
        first = np.unique(point_i, return_index=True)[1]
        found = np.full(len(chunk), -1, dtype=np.int64)
        found[point_i[first]] = geom_i[first]
        if nearest_within:
            missing = np.flatnonzero(found < 0)
            if len(missing):
                near_p, near_g = tree.query_nearest(chunk[missing], max_distance=nearest_within,
                                                    all_matches=False)
                found[missing[near_p]] = near_g
        return found

    found = np.concatenate(list(pool.map(query, chunks)))
    hit = found >= 0
    out[index[hit]] = codes[found[hit]]
    return out


def boundary_layer(con, level: str, vintage: int | None = None):
    """(geometries, codes, vintage) of a stored boundary level, the latest vintage by default.
    Empty arrays when the level has no boundaries."""
    if vintage is None:
        vintage = scalar(con, "SELECT max(vintage) FROM boundaries WHERE level = ?", [level])
    if vintage is None:
        return np.array([], dtype=object), np.array([], dtype=object), None
    rows = con.execute("SELECT code, geom FROM boundaries WHERE level = ? AND vintage = ?"
                       " ORDER BY code", [level, int(vintage)]).fetchall()
    codes = np.array([r[0] for r in rows], dtype=object)
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    return geoms, codes, int(vintage)


def area_codes(con, level: str, lon, lat, *, vintage: int | None = None,
               nearest_within: float | None = None) -> np.ndarray:
    """The code of the ``level`` area (latest stored vintage) containing each WGS84 point."""
    geoms, codes, _ = boundary_layer(con, level, vintage)
    return locate(lon, lat, geoms, codes, nearest_within=nearest_within)


def buurt_codes(con, lon, lat, *, vintage: int | None = None) -> np.ndarray:
    """The buurt code for each WGS84 lon/lat point (None outside every stored buurt)."""
    return area_codes(con, "buurt", lon, lat, vintage=vintage)
