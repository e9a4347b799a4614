"""The placement grid (geo.pointinpolygon.PointGrid) gives exactly the exact method's answer.

On real boundaries from ../shared/data (skipped with a message when the folder is absent): the
buurten of three gemeenten and the PC4 areas around Amsterdam, with points on vertices and
edges (shared borders: the tie rule), just beside them, outside every area and at random.
Every point's grid placement is compared with geo.pointinpolygon.locate_index (STRtree +
GEOS) and, for a sample, with plain shapely ``intersects`` calls without any index.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from data.store import Store
from geo.pointinpolygon import GRID_ZOOM, PointGrid, grid_layer, locate_index

GEMEENTEN = ("GM0363", "GM0518", "GM0014")  # Amsterdam, 's-Gravenhage, Groningen


@pytest.fixture(scope="module")
def buurten(shared_data):
    frame = gpd.read_file(shared_data / "buurt_2019_2020.geojson")
    frame = frame[frame["gm_code"].isin(GEMEENTEN)].sort_values("statcode")
    assert len(frame) > 500
    return np.array(frame["statcode"], dtype=object), np.asarray(frame.geometry.values,
                                                                 dtype=object)


@pytest.fixture(scope="module")
def pc4_areas(shared_data):
    frame = gpd.read_file(shared_data / "pc4.geojson", bbox=(4.7, 52.25, 5.1, 52.45))
    assert len(frame) > 50
    return np.asarray(frame.geometry.values, dtype=object)


def _points(geoms, rng) -> tuple[np.ndarray, np.ndarray]:
    """Points that test the borders: every vertex, edge midpoints, points 1e-9..1e-5 degrees
    beside vertices, label points, and uniform points over (and beyond) the layer's box."""
    coords = shapely.get_coordinates(shapely.boundary(geoms))
    pick = rng.choice(len(coords), min(len(coords), 40_000), replace=False)
    vertices = coords[pick]
    rings = shapely.boundary(geoms)
    mids = shapely.get_coordinates(shapely.line_interpolate_point(
        rings, rng.random(len(rings)), normalized=True))
    near = vertices[:8000]
    beside = np.concatenate([near + rng.normal(0, scale, near.shape)
                             for scale in (1e-9, 1e-7, 1e-5)])
    labels = shapely.get_coordinates(shapely.point_on_surface(geoms))
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    uniform = np.column_stack([rng.uniform(x0 - 0.05, x1 + 0.05, 60_000),
                               rng.uniform(y0 - 0.05, y1 + 0.05, 60_000)])
    edge = np.array([[x0, y0], [x1, y1], [x0, y1], [x1, y0], [np.nan, y0], [x0, np.inf]])
    points = np.concatenate([vertices, mids, beside, labels, uniform, edge])
    return points[:, 0], points[:, 1]


def _plain(lon, lat, geoms) -> np.ndarray:
    """The first polygon (by index) that a point intersects, by plain shapely calls."""
    bounds = shapely.bounds(geoms)
    out = np.full(len(lon), -1)
    for n, (x, y) in enumerate(zip(lon, lat)):
        near = np.flatnonzero((bounds[:, 0] <= x) & (x <= bounds[:, 2]) &
                              (bounds[:, 1] <= y) & (y <= bounds[:, 3]))
        point = shapely.Point(x, y)
        out[n] = next((i for i in near if geoms[i].intersects(point)), -1)
    return out


@pytest.mark.parametrize("layer", ["buurten", "pc4_areas"])
def test_grid_placement_equals_exact_placement(layer, request):
    value = request.getfixturevalue(layer)
    geoms = value[1] if isinstance(value, tuple) else value
    rng = np.random.default_rng(11)
    lon, lat = _points(geoms, rng)
    grid = PointGrid.from_bytes(PointGrid.build(geoms).to_bytes())
    assert grid.zoom == GRID_ZOOM

    got = grid.locate(lon, lat, geoms)
    exact = locate_index((lon, lat), geoms)
    assert np.array_equal(got, exact), np.flatnonzero(got != exact)[:10]
    sample = rng.choice(len(lon), 3000, replace=False)
    sample = np.concatenate([sample, np.arange(len(lon) - 6, len(lon))])  # the grid's edges
    assert np.array_equal(got[sample], _plain(lon[sample], lat[sample], geoms))
    # Points on shared borders exist, and every one is decided by the exact test.
    cells = grid.lookup(lon, lat)
    shared = [i for i in sample if len(shapely.STRtree(geoms).query(
        shapely.Point(lon[i], lat[i]), predicate="intersects")) > 1]
    assert shared and all(cells[i] == -2 for i in shared)
    # Most points of a uniform spread are placed by lookup alone (the grid is no detour).
    uniform = slice(len(lon) - 60_006, len(lon) - 6)
    assert np.mean(cells[uniform] == -2) < 0.2
    print(f"\n{layer}: {len(lon):,} points, {np.mean(cells == -2):.0%} through the exact test")


def test_stored_grid_is_rebuilt_when_the_boundaries_change(buurten, tmp_path):
    codes, geoms = buurten
    codes, geoms = codes[:200], geoms[:200]
    store = Store(tmp_path / "grid.duckdb")

    def write_layer(con, shapes):
        con.execute("DELETE FROM boundaries")
        con.executemany("INSERT INTO boundaries (level, vintage, code, geom) VALUES"
                        " ('buurt', 2020, ?, ?)",
                        [(c, shapely.to_wkb(g)) for c, g in zip(codes, shapes)])

    with store.write("boundaries", fresh=True) as con:
        write_layer(con, geoms)
        assert grid_layer(con, "buurt", build=False)[2] is None  # none stored yet
        built = grid_layer(con, "buurt")[2]
    con = store.read()
    (fingerprint,) = con.execute("SELECT fingerprint FROM point_grids").fetchall()[0]
    stored = grid_layer(con, "buurt", build=False)[2]
    assert stored is not None and stored.to_bytes() == built.to_bytes()

    moved = shapely.transform(geoms, lambda xy: xy + 0.001)
    with store.write("moved boundaries") as con:
        write_layer(con, moved)
        assert grid_layer(con, "buurt", build=False)[2] is None  # the stored one is stale
        rebuilt = grid_layer(con, "buurt")[2]
    rows = store.read().execute("SELECT fingerprint FROM point_grids").fetchall()
    assert len(rows) == 1 and rows[0][0] != fingerprint
    lon, lat = _points(moved, np.random.default_rng(3))
    assert np.array_equal(rebuilt.locate(lon, lat, moved), locate_index((lon, lat), moved))
