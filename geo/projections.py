"""Coordinate reference systems used by the project and the transforms between them."""
from __future__ import annotations

from functools import cache

from pyproj import Transformer

WGS84 = "EPSG:4326"
#: Amersfoort / RD New, the Dutch national grid in metres; CBS ships boundaries in it.
RD_NEW = "EPSG:28992"


@cache
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def rd_to_wgs84(x, y):
    """RD New metres to (lon, lat); accepts scalars or numpy arrays."""
    return _transformer(RD_NEW, WGS84).transform(x, y)


def wgs84_to_rd(lon, lat):
    """(lon, lat) to RD New metres; accepts scalars or numpy arrays."""
    return _transformer(WGS84, RD_NEW).transform(lon, lat)


def looks_like_rd(x, y) -> bool:
    """True when coordinates are RD New metres rather than degrees (no CRS given)."""
    return abs(x) > 360 or abs(y) > 360
