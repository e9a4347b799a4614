"""Placing points in areas: vectorised point-in-polygon against stored boundaries.

Millions of points are placed with ``STRtree.query`` (GEOS, prepared geometries) instead of a
Python loop; chunks run in a thread pool (GEOS releases the GIL).

:func:`locate_index` is the one implementation; :func:`locate` and :func:`locate_layers` map its
indices to codes. Rules shared by all of them:

* A point on a shared edge (or in overlapping polygons) goes to the matching polygon that comes
  first in ``polygons``/``codes`` (``ties="index"``, the default). ``ties="query"`` keeps the
  first match in STRtree query order instead; the demo generator uses it so that its seeded
  output does not change.
* ``nearest`` places a point outside every polygon in the nearest polygon: ``True`` at any
  distance, a positive number only when at most that far away (same units as the
  coordinates), ``False``/``None``/``0`` never. Equally near polygons: GEOS picks one.
* Points without a position (NaN coordinates, missing or empty points) are not placed.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import shapely

from data.sql import scalar

CHUNK = 200_000


def locate_index(points, polygons, *, nearest: bool | float | None = False,
                 ties: Literal["index", "query"] = "index") -> np.ndarray:
    """Index into ``polygons`` of the polygon containing each point, -1 where none does (see the
    module docstring for ``nearest`` and ``ties``).

    ``points`` is an array of shapely points or a ``(lon, lat)`` pair of coordinate arrays, in
    the CRS of ``polygons``. Returns an int64 array, one entry per point."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks, index, size = _point_chunks(pool, points)
        return _index_chunks(pool, chunks, index, size, polygons, nearest, ties)


def locate(lon, lat, geoms, codes, *, nearest_within: float | None = None) -> np.ndarray:
    """The code of the polygon containing each point (lon/lat in the CRS of ``geoms``), or None.

    ``nearest_within`` (same units as the coordinates) also places a point outside every polygon
    in the nearest one when it is at most that far away (coastal points against simplified
    shapes). NaN coordinates give None."""
    return locate_layers(lon, lat, [(geoms, codes)], nearest_within=nearest_within)[0]


def locate_layers(lon, lat, layers, *, nearest_within: float | None = None) -> list[np.ndarray]:
    """:func:`locate` for several layers ``[(geoms, codes), ...]`` at once (the points are
    built once)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks, index, size = _point_chunks(pool, (lon, lat))
        out = []
        for geoms, codes in layers:
            codes = np.asarray(codes, dtype=object)
            found = _index_chunks(pool, chunks, index, size, geoms, nearest_within, "index")
            named = np.full(size, None, dtype=object)
            hit = found >= 0
            named[hit] = codes[found[hit]]
            out.append(named)
        return out


def _point_chunks(pool, points):
    """(chunks of shapely points, their positions in the input, input length). Points without
    a position are left out."""
    if isinstance(points, tuple):
        lon, lat = (np.asarray(a, dtype=float) for a in points)
        index = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        chunks = list(pool.map(
            lambda s: shapely.points(lon[index[s:s + CHUNK]], lat[index[s:s + CHUNK]]),
            range(0, len(index), CHUNK)))
        return chunks, index, len(lon)
    points = np.asarray(points, dtype=object)
    index = np.flatnonzero(~shapely.is_missing(points) & ~shapely.is_empty(points))
    return [points[index[s:s + CHUNK]] for s in range(0, len(index), CHUNK)], index, len(points)


def _index_chunks(pool, chunks, index, size, polygons, nearest, ties) -> np.ndarray:
    if ties not in ("index", "query"):
        raise ValueError(f"ties must be 'index' or 'query', not {ties!r}")
    out = np.full(size, -1, dtype=np.int64)
    polygons = np.asarray(polygons, dtype=object)
    if not len(index) or not len(polygons):
        return out
    shapely.prepare(polygons)
    tree = shapely.STRtree(polygons)
    max_distance = None if nearest is True else nearest

    def query(chunk):
        point_i, geom_i = tree.query(chunk, predicate="intersects")
        if ties == "index":
            order = np.lexsort((geom_i, point_i))
        else:  # query order: already grouped by point; a stable sort keeps each point's order
            order = np.argsort(point_i, kind="stable")
        point_i, geom_i = point_i[order], geom_i[order]
        first = np.unique(point_i, return_index=True)[1]
        found = np.full(len(chunk), -1, dtype=np.int64)
        found[point_i[first]] = geom_i[first]
        if nearest:
            missing = np.flatnonzero(found < 0)
            if len(missing):
                near_p, near_g = tree.query_nearest(chunk[missing], max_distance=max_distance,
                                                    all_matches=False)
                found[missing[near_p]] = near_g
        return found

    out[index] = np.concatenate(list(pool.map(query, chunks)))
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


#: How far (degrees) a label point may lie outside every gemeente of the newest indeling and
#: still go to the nearest one: coastal areas beyond a generalised coastline.
CURRENT_GEMEENTE_NEAREST = 0.05


def current_places(con, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """For (label) points of wijken or buurten of an older indeling: the gemeente of the newest
    stored gemeente boundaries that holds each point (or the nearest within
    ``CURRENT_GEMEENTE_NEAREST``), and the wijk of the newest wijk boundaries that holds it and
    belongs to that gemeente (by code: WK1979.. is in GM1979). None where there is none."""
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    gm = np.full(len(points), None, dtype=object)
    wk = np.full(len(points), None, dtype=object)
    geoms, codes, _ = boundary_layer(con, "gemeente")
    if len(codes) and len(points):
        hit = locate_index(points, geoms, nearest=CURRENT_GEMEENTE_NEAREST, ties="query")
        gm[hit >= 0] = codes[hit[hit >= 0]]
    geoms, codes, _ = boundary_layer(con, "wijk")
    if len(codes) and len(points):
        hit = locate_index(points, geoms, ties="query")
        for i in np.flatnonzero(hit >= 0):
            if gm[i] is not None and codes[hit[i]][2:6] == gm[i][2:6]:
                wk[i] = codes[hit[i]]
    return gm, wk


def buurt_codes(con, lon, lat, *, vintage: int | None = None) -> np.ndarray:
    """The buurt code for each WGS84 lon/lat point (None outside every stored buurt)."""
    return area_codes(con, "buurt", lon, lat, vintage=vintage)
