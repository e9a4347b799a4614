"""Simplification of boundary coverages for display at different map scales.

Neighbouring areas share edges. Simplifying each polygon on its own opens gaps and overlaps
between them; ``shapely.coverage_simplify`` simplifies the shared edges once, so the simplified
layer still tiles without slivers. Work happens in RD New metres so tolerances are in metres.
"""
from __future__ import annotations

import geopandas as gpd
import shapely

from data.schema import SHAPE_TIERS
from geo.projections import RD_NEW, WGS84


def simplified_tiers(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoSeries]:
    """Per tier of ``SHAPE_TIERS`` the simplified geometries (WGS84, same index as ``gdf``)."""
    metric = gdf.geometry.to_crs(RD_NEW)
    out = {}
    for tier, (tolerance, _decimals) in SHAPE_TIERS.items():
        try:
            simple = shapely.coverage_simplify(metric.values, tolerance)
        except shapely.errors.GEOSException:
            # Not a valid coverage (overlapping input): fall back to per-polygon simplification.
            simple = shapely.simplify(metric.values, tolerance, preserve_topology=True)
        simple = shapely.make_valid(simple)
        # Never lose an area: keep the original where simplification collapsed it.
        empty = shapely.is_empty(simple) | (shapely.area(simple) <= 0)
        simple[empty] = metric.values[empty]
        out[tier] = gpd.GeoSeries(simple, index=gdf.index, crs=RD_NEW).to_crs(WGS84)
    return out
