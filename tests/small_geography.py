"""A tiny made-up geography for importer tests that do not need ../shared/data.

Two gemeenten of 2 x 2 km side by side near Utrecht (RD New), each split into 2 wijken, each wijk
into 2 buurten; one pc4 per gemeente, one pc6 square per buurt. Codes use the demo form (GMD001,
WKD00101, BUD0010101, pc4 0101) so they can never be mistaken for real ones.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

from data.importers import run_import
from data.store import Store
from geo.projections import RD_NEW

X0, Y0 = 150_000.0, 450_000.0
KM = 1_000.0


def layers() -> dict[str, gpd.GeoDataFrame]:
    """Per level a GeoDataFrame (code, name, geometry) in RD New."""
    rows = {level: [] for level in ("eenheid", "gemeente", "wijk", "buurt", "pc4", "pc6")}
    rows["eenheid"].append(("RED1", "Demo-eenheid", box(X0, Y0, X0 + 4 * KM, Y0 + 2 * KM)))
    for g in (1, 2):
        gx = X0 + (g - 1) * 2 * KM
        gm = f"GMD00{g}"
        rows["gemeente"].append((gm, f"Demogem {g}", box(gx, Y0, gx + 2 * KM, Y0 + 2 * KM)))
        rows["pc4"].append((f"010{g}", f"Postcode 010{g}", box(gx, Y0, gx + 2 * KM, Y0 + 2 * KM)))
        for w in (1, 2):
            wy = Y0 + (w - 1) * KM
            wk = f"WKD00{g}0{w}"
            rows["wijk"].append((wk, f"Wijk {g}.{w}", box(gx, wy, gx + 2 * KM, wy + KM)))
            for b in (1, 2):
                bx = gx + (b - 1) * KM
                bu = f"BUD00{g}0{w}0{b}"
                rows["buurt"].append((bu, f"Buurt {g}.{w}.{b}", box(bx, wy, bx + KM, wy + KM)))
                letters = "ABCD"[(w - 1) * 2 + (b - 1)]
                rows["pc6"].append((f"010{g}A{letters}", None,
                                    box(bx + 400, wy + 400, bx + 600, wy + 600)))
    return {level: gpd.GeoDataFrame(
        {"code": [r[0] for r in items], "name": [r[1] for r in items]},
        geometry=[r[2] for r in items], crs=RD_NEW) for level, items in rows.items()}


def write_layer(gdf: gpd.GeoDataFrame, path: Path, *, code_field="statcode",
                name_field="statnaam", crs: str | None = RD_NEW) -> Path:
    """Write a layer with CBS-style attribute names. ``crs=None`` writes RD New coordinates
    without a CRS (GeoJSON then implies WGS84, which the importer must see through)."""
    out = gdf.rename(columns={"code": code_field, "name": name_field})
    if crs is None:
        out = out.set_crs(None, allow_override=True)
    elif crs != RD_NEW:
        out = out.to_crs(crs)
    out.to_file(path)
    return path


LOOKUP = """gm_code,gemeente,re_code,re_naam,district,basisteam
GMD001,Demogem 1,RED1,Demo-eenheid,District Noord,Basisteam A
GMD002,Demogem 2,RED1,Demo-eenheid,District Noord,BT-B
"""


def build(folder: Path) -> Store:
    """A store with the whole small geography and its lookup imported (via run_import)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "small.duckdb")
    geo = layers()
    for level, vintage in (("eenheid", 2024), ("gemeente", 2024), ("wijk", 2024),
                           ("buurt", 2024), ("pc4", 2024), ("pc6", 2024)):
        path = write_layer(geo[level], folder / f"{level}_{vintage}.geojson", crs="EPSG:4326")
        run_import(store, "boundaries", path, options={"level": level})
    lookup = folder / "lookup.csv"
    lookup.write_text(LOOKUP, encoding="utf-8")
    run_import(store, "lookup", lookup)
    return store
