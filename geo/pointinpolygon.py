"""Placing points in areas: vectorised point-in-polygon against stored boundaries.

Millions of points are placed with ``STRtree.query`` (GEOS, prepared geometries) instead of a
Python loop; chunks run in a thread pool (GEOS releases the GIL). :class:`PointGrid` (stored per
boundary layer by :func:`grid_layer`) places most points by a cell lookup and sends only points
near a border to :func:`locate_index`, with the same result.

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

import hashlib
import io
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
    geoms, codes, vintage, _ = _boundary_rows(con, level, vintage)
    return geoms, codes, vintage


def _boundary_rows(con, level: str, vintage: int | None):
    """boundary_layer plus a fingerprint (hash of the codes and geometries)."""
    if vintage is None:
        vintage = scalar(con, "SELECT max(vintage) FROM boundaries WHERE level = ?", [level])
    if vintage is None:
        return np.array([], dtype=object), np.array([], dtype=object), None, ""
    rows = con.execute("SELECT code, geom FROM boundaries WHERE level = ? AND vintage = ?"
                       " ORDER BY code", [level, int(vintage)]).fetchall()
    codes = np.array([r[0] for r in rows], dtype=object)
    wkb = [bytes(r[1]) for r in rows]
    digest = hashlib.blake2b(digest_size=16)
    for code, blob in zip(codes, wkb):
        digest.update(f"{code}:{len(blob)}:".encode())
        digest.update(blob)
    return shapely.from_wkb(wkb), codes, int(vintage), digest.hexdigest()


def grid_layer(con, level: str, vintage: int | None = None, *, build: bool = True):
    """(geometries, codes, PointGrid or None) of a stored boundary level (latest vintage by
    default). The grid is read from ``point_grids``; when it is missing or was built on other
    boundaries it is built and stored when ``build`` is true (``con`` must then be writable:
    an import's connection), else None is returned for it."""
    geoms, codes, vintage, fingerprint = _boundary_rows(con, level, vintage)
    if not len(codes):
        return geoms, codes, None
    stored = con.execute("SELECT fingerprint, grid FROM point_grids WHERE level = ?"
                         " AND vintage = ?", [level, vintage]).fetchall()
    if stored and stored[0][0] == fingerprint:
        return geoms, codes, PointGrid.from_bytes(bytes(stored[0][1]))
    if not build:
        return geoms, codes, None
    grid = PointGrid.build(geoms)
    con.execute("INSERT OR REPLACE INTO point_grids VALUES (?, ?, ?, ?)",
                [level, vintage, fingerprint, grid.to_bytes()])
    return geoms, codes, grid


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


# -- grid placement ------------------------------------------------------------------------------
#: Zoom of the coarsest and the finest grid cells: the layer's bounding box is split into
#: 2**zoom x 2**zoom cells. At zoom 12 a national layer's cells are ~70 x 70 m.
GRID_TOP_ZOOM = 6
GRID_ZOOM = 12
#: Margin (coordinate units) added around every cell when it is classified, larger than any
#: rounding error of the cell arithmetic, so a point is never placed by a cell it lies outside.
_GRID_MARGIN = 1e-9
_BORDER = -2


class PointGrid:
    """A precomputed quadtree of cells over a polygon layer that places most points by lookup
    and gives the same answer as :func:`locate_index` (``ties="index"``, no ``nearest``).

    Each leaf cell is *inside* one polygon (the polygon covers the whole cell and no other
    polygon touches it), *outside* every polygon (no polygon
    touches it), or a *border* cell at the finest zoom. Only points in border cells (and
    points outside the grid's box on its edges) go through the exact point-in-polygon test.
    Cells are refined from GRID_TOP_ZOOM down to GRID_ZOOM, only where a border runs."""

    def __init__(self, bounds, zoom: int, starts: np.ndarray, values: np.ndarray):
        self.bounds = tuple(float(b) for b in bounds)
        self.zoom = zoom
        #: The leaves in Z order: the Morton code (at ``zoom``) of each leaf's first finest
        #: cell, ascending, and its value (polygon index, -1 outside, -2 border). A quadtree
        #: leaf covers one contiguous range of Morton codes, so one binary search finds it.
        self.starts, self.values = starts, values

    @classmethod
    def build(cls, polygons, *, top: int = GRID_TOP_ZOOM, zoom: int = GRID_ZOOM) -> "PointGrid":
        polygons = np.asarray(polygons, dtype=object)
        x0, y0, x1, y1 = shapely.total_bounds(polygons)
        # Slightly larger than the layer, so every polygon lies strictly inside the grid.
        pad_x, pad_y = (x1 - x0) * 1e-6 + 1e-9, (y1 - y0) * 1e-6 + 1e-9
        bounds = (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y)
        shapely.prepare(polygons)
        tree = shapely.STRtree(polygons)
        starts, values = [], []
        n = 1 << top
        ix, iy = (a.ravel().astype(np.int64) for a in np.meshgrid(np.arange(n), np.arange(n)))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for z in range(top, zoom + 1):
                value = np.concatenate([_classify(polygons, *found) for found in pool.map(
                    lambda s: _touching(tree, bounds, z, ix[s:s + CHUNK], iy[s:s + CHUNK]),
                    range(0, len(ix), CHUNK))] or [np.zeros(0, np.int64)])
                border = value == _BORDER
                done = ~border if z < zoom else np.ones(len(ix), bool)
                starts.append(_morton(ix[done] << (zoom - z), iy[done] << (zoom - z)))
                values.append(value[done])
                # The four children of every border cell, one zoom finer.
                ix = np.concatenate([2 * ix[border] + dx for dx in (0, 1, 0, 1)])
                iy = np.concatenate([2 * iy[border] + dy for dy in (0, 0, 1, 1)])
        starts, values = np.concatenate(starts), np.concatenate(values)
        order = np.argsort(starts)
        return cls(bounds, zoom, starts[order], values[order].astype(np.int32))

    def lookup(self, lon, lat) -> np.ndarray:
        """Per point the value of its leaf cell: a polygon index, -1 (outside every polygon)
        or -2 (border: needs the exact test). Points on the grid's outer edge (where rounding
        could put them in no cell) are -2 too; points without a position -1."""
        return self._lookup(lon, lat)[0]

    def _lookup(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`lookup` and each point's rank in Z (cell) order (points outside the grid
        last)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        out = np.full(len(lon), -1, dtype=np.int64)
        x0, y0, x1, y1 = self.bounds
        n = 1 << self.zoom
        with np.errstate(invalid="ignore"):
            fx = np.floor((lon - x0) / ((x1 - x0) / n))
            fy = np.floor((lat - y0) / ((y1 - y0) / n))
        finite = np.isfinite(fx) & np.isfinite(fy)
        inside = finite & (fx >= 0) & (fx < n) & (fy >= 0) & (fy < n)
        out[finite & ~inside & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)] = _BORDER
        todo = np.flatnonzero(inside)
        code = _morton(fx[todo].astype(np.int64), fy[todo].astype(np.int64))
        # Searched in ascending order: the binary searches then walk the leaves from low to
        # high and stay in cache (several times faster than in the points' order).
        order = np.argsort(code)
        leaf = np.empty(len(code), dtype=np.int64)
        leaf[order] = np.searchsorted(self.starts, code[order], side="right") - 1
        out[todo] = self.values[leaf]
        rank = np.full(len(lon), len(lon), dtype=np.int64)
        rank[todo[order]] = np.arange(len(todo))
        return out, rank

    def locate(self, lon, lat, polygons) -> np.ndarray:
        """Index into ``polygons`` (the layer the grid was built on) of the polygon containing
        each point, -1 where none does: what :func:`locate_index` ``((lon, lat), polygons)``
        returns, with the exact test only for points in border cells."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        out, rank = self._lookup(lon, lat)
        exact = np.flatnonzero(out == _BORDER)
        # Tested in Z order: neighbouring points meet the same polygons one after the other,
        # which keeps GEOS's tree and prepared polygons in cache (~1.7x faster).
        exact = exact[np.argsort(rank[exact], kind="stable")]
        out[exact] = -1
        if len(exact):
            out[exact] = locate_index((lon[exact], lat[exact]), polygons)
        return out

    # -- storage -------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, bounds=np.array(self.bounds), zoom=np.array([self.zoom]),
                 starts=self.starts, values=self.values)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "PointGrid":
        with np.load(io.BytesIO(data)) as arrays:
            return cls(arrays["bounds"], int(arrays["zoom"][0]), arrays["starts"],
                       arrays["values"])


def _morton(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Z-order (Morton) codes of cells: the bits of ix and iy interleaved (up to 31 bits each)."""
    def spread(v):
        v = v.astype(np.uint64) & np.uint64(0x7FFFFFFF)
        for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                            (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                            (1, 0x5555555555555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v
    return (spread(ix) | (spread(iy) << np.uint64(1))).astype(np.int64)


def _touching(tree, bounds, z, ix, iy):
    """The cells (ix, iy) at zoom z as boxes (with a margin) and the (cell, polygon) pairs
    that intersect. Thread-safe (the tree prepares the boxes, not the shared polygons)."""
    x0, y0, x1, y1 = bounds
    n = 1 << z
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    boxes = shapely.box(x0 + ix * dx - _GRID_MARGIN, y0 + iy * dy - _GRID_MARGIN,
                        x0 + (ix + 1) * dx + _GRID_MARGIN, y0 + (iy + 1) * dy + _GRID_MARGIN)
    cell_i, poly_i = tree.query(boxes, predicate="intersects")
    return boxes, cell_i, poly_i


def _classify(polygons, boxes, cell_i, poly_i) -> np.ndarray:
    """Per box: the index of the one polygon that covers it and is the only one touching it,
    -1 when no polygon touches it, -2 (border) otherwise. One thread at a time: GEOS prepared
    geometries are not safe for concurrent predicates."""
    touching = np.bincount(cell_i, minlength=len(boxes))
    out = np.full(len(boxes), _BORDER, dtype=np.int64)
    out[touching == 0] = -1
    single = np.flatnonzero(touching[cell_i] == 1)
    cell_i, poly_i = cell_i[single], poly_i[single]
    # Covered by that polygon and touching no other: every point of the cell intersects that
    # polygon only, so the exact method (``intersects``) places it there.
    whole = shapely.covers(polygons[poly_i], boxes[cell_i])
    out[cell_i[whole]] = poly_i[whole]
    return out
