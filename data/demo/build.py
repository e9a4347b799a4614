"""Building the demo database: the Doggerland region plus years of synthetic incidents."""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pyproj import Transformer

from data.catalog import crime_types
from data.demo.generator import (HotSpot, Points, Strings, Territory, generate,
                                 largest_remainder)
from data.demo.geography import (BASISTEAMS, DISTRICT, METRIC, ORIGIN, RE_CODE, RE_NAME,
                                 DemoGeography, build_geography, gm_code)
from data.demo.patterns import BURGLARY_WIJK_FACTOR, EFFECT_GROUPS, HOTSPOT_SHARES, type_table
from data.demo.texts import TextTable
from data.demo.sources import write_demo_sources
from data.incidents import append_incidents, finalize_incidents
from data.sql import scalar
from geo.boundaries import write_boundaries
from geo.projections import WGS84

DATASET_NAME = "Demo: Eenheid Doggerland (fictief)"
POPULATION_SOURCE = "Synthetische demodata"


def window(today: date, years: int) -> tuple[date, date]:
    """(first day, end exclusive): ``years`` whole years of months before the current month,
    plus the current month up to yesterday."""
    months = today.year * 12 + today.month - 1 - 12 * years
    return date(months // 12, months % 12 + 1, 1), today


def build_demo(store, *, seed: int = 2026, years: int = 5, progress=None,
               today: date | None = None, incidents: int | None = None) -> dict:
    """Build the demo database (a fresh file swapped in atomically) and return a summary.
    ``incidents`` makes exactly that many (e.g. a million for tests at scale); by default
    counts follow realistic rates."""
    started = time.perf_counter()
    say = progress or (lambda msg: None)
    today = today or date.today()
    start, end = window(today, years)
    say(f"demo region (seed {seed}) ...")
    geo = build_geography(seed)
    year_list = tuple(range(start.year, end.year + 1))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7002]))
    population = buurt_population(geo, year_list, today.year, rng)
    types = type_table(rng)
    titles = {t.code: t.title for t in crime_types()}
    texts = TextTable(types.codes, [titles[c] for c in types.codes], types.incident)
    territory, burglary_wijk = demo_territory(geo, population, year_list, types, rng)
    source = f"Synthetische demodata (seed {seed})"
    with store.write("demo", fresh=True) as con:
        say("areas and boundaries ...")
        write_areas(con, geo)
        write_demo_boundaries(con, geo, vintage=today.year, source=source)
        write_org_units(con)
        write_population(con, geo, population, year_list)
        say(f"incidents {start} .. {end} ...")
        rows = 0
        for table in generate(territory, types, texts, start=start, end=end, rng=rng,
                              total=incidents, id_prefix="D", batch="demo", progress=say):
            rows += append_incidents(con, table)
        say("sorting incidents, monthly counts ...")
        finalize_incidents(con)
        write_raid_details(con)
        write_demo_sources(con, geo.gemeenten["code"].iloc[0], today, seed=seed)
        hotspots = [{"key": h.key, "name": h.name, "bu_code": geo.buurten["code"].iloc[h.bu_index],
                     "types": sorted(HOTSPOT_SHARES[h.key])} for h in geo.hotspots]
        meta = {
            "dataset_name": DATASET_NAME,
            "dataset_source": source,
            "demo": "true",
            "seed": str(seed),
            "demo_years": str(years),
            "demo_today": today.isoformat(),
            "demo_hotspots": json.dumps(hotspots, ensure_ascii=False),
            "demo_burglary_wijk": burglary_wijk,
        }
        con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        summary = _summary(con, geo, started)
        con.execute("INSERT INTO imports VALUES (?, 'demo', NULL, NULL, ?, 0, ?, ?)",
                    [datetime.now(timezone.utc).replace(tzinfo=None), rows, rows,
                     json.dumps({"seed": seed, "years": years})])
    summary["seconds"] = round(time.perf_counter() - started, 1)
    say(f"done in {summary['seconds']} s")
    return summary


#: Executing units of the demo's raids (a regional and national units, as in the seed issue).
RAID_UNITS = ("Regionale eenheid Doggerland", "Landelijke Eenheid",
              "Dienst Speciale Interventies (DSI)")


def write_raid_details(con) -> None:
    """Raid fields for the demo's N06 incidents, deterministic per id: mostly the regional
    unit, some national units; mostly ordered by the OM, a few not and some unknown; one in
    seven raids has no unit recorded (shown as "onbekend")."""
    units = ", ".join(f"'{u}'" for u in RAID_UNITS)
    con.execute(f"""
        INSERT INTO raid_details
        SELECT id,
               CASE WHEN hash(id || 'u') % 7 = 0 THEN NULL
                    ELSE [{units}][1 + (CASE WHEN hash(id) % 5 < 3 THEN 0
                                             ELSE 1 + hash(id) % 2 END)::INTEGER] END,
               CASE hash(id || 'om') % 6 WHEN 0 THEN NULL WHEN 1 THEN false ELSE true END
        FROM incidents WHERE type_code = 'N06'""")


def _summary(con, geo: DemoGeography, started: float) -> dict:
    first, last = con.execute("SELECT min(occurred_date)::VARCHAR, max(occurred_date)::VARCHAR"
                              " FROM incidents").fetchall()[0]
    return {
        "incidents": scalar(con, "SELECT count(*) FROM incidents"),
        "gemeenten": len(geo.gemeenten), "wijken": len(geo.wijken), "buurten": len(geo.buurten),
        "pc4": len(geo.pc4), "pc6": len(geo.pc6), "first": first, "last": last,
        "seconds": round(time.perf_counter() - started, 1),
    }


# -- inhabitants and rates ---------------------------------------------------------------------
def buurt_population(geo: DemoGeography, years, ref_year: int, rng) -> np.ndarray:
    """Inhabitants per buurt per year (B, Y): each gemeente grows by its yearly rate, buurten
    drift a little; buurten sum exactly to their gemeente in every year."""
    b = geo.buurten
    gm_index = pd.Index(geo.gemeenten["code"]).get_indexer(b["gm_code"])
    base = b["population"].to_numpy(float)
    drift = rng.normal(0.0, 0.006, len(b))
    out = np.zeros((len(b), len(years)), dtype=np.int64)
    for yi, year in enumerate(years):
        weight = base * (1 + drift) ** (year - ref_year)
        for g, row in geo.gemeenten.iterrows():
            total = int(round(row["population"] * (1 + row["growth"]) ** (year - ref_year)))
            members = np.flatnonzero(gm_index == g)
            out[members, yi] = largest_remainder(weight[members], total)
    return out


def demo_territory(geo: DemoGeography, population, years, types, rng):
    """The generator's view of the region: codes, rates per inhabitant, addresses, hot spots."""
    b = geo.buurten
    gm_index = pd.Index(geo.gemeenten["code"]).get_indexer(b["gm_code"])
    scale = geo.gemeenten["rate_scale"].to_numpy()[gm_index]
    pop_now = population[:, -1].astype(float)
    # Persistent local variation per group of types: random, a little higher where dense.
    density = b["density"].to_numpy()
    effect = rng.lognormal(0.0, 0.35, (len(EFFECT_GROUPS), len(b)))
    for g in range(len(geo.gemeenten)):
        members = gm_index == g
        effect[:, members] *= (density[members] / np.median(density[members])) ** 0.15
    wijken = geo.wijken
    city_wijken = wijken[(wijken["gm_code"] == gm_code(1)) & (wijken["name"] != "Centrum")]
    burglary_wijk = city_wijken["code"].iloc[int(rng.integers(len(city_wijken)))]
    inbraak = EFFECT_GROUPS.index("inbraak")
    effect[inbraak, (b["wk_code"] == burglary_wijk).to_numpy()] *= BURGLARY_WIJK_FACTOR
    # Normalise so that each gemeente keeps its own rate level (population-weighted mean 1).
    for g in range(len(geo.gemeenten)):
        members = gm_index == g
        w = np.maximum(pop_now[members], 1.0)
        effect[:, members] /= (effect[:, members] * w).sum(axis=1, keepdims=True) / w.sum()
    per_capita = (types.rate[:, None] / 1e5) * scale[None, :] * effect[types.effect_group]

    a = geo.addresses
    lon, lat = _to_wgs84(a["x"].to_numpy(), a["y"].to_numpy())
    count = np.bincount(a["bu_index"].to_numpy(), minlength=len(b))
    points = Points(start=np.concatenate([[0], np.cumsum(count)[:-1]]), count=count,
                    lon=lon, lat=lat, pc4=Strings.of(a["pc4"]), pc6=Strings.of(a["pc6"]),
                    street=Strings.of(a["street"]), house_number=Strings.of(a["house_number"]))
    city = (b["gm_code"] == gm_code(1)).to_numpy()
    hotspots = [HotSpot(h.bu_index, {types.index(c): s for c, s in HOTSPOT_SHARES[h.key].items()},
                        city, h.address_index) for h in geo.hotspots]
    basisteam = {gm_code(n): code for code, (_name, numbers) in BASISTEAMS.items() for n in numbers}
    territory = Territory(
        bu_code=Strings.of(b["code"]), wk_code=Strings.of(b["wk_code"]),
        gm_code=Strings.of(b["gm_code"]), re_code=Strings.of([RE_CODE] * len(b)),
        basisteam=Strings.of([basisteam[g] for g in b["gm_code"]]),
        years=tuple(years), population=population.astype(float), per_capita=per_capita,
        points=points, hotspots=hotspots)
    return territory, burglary_wijk


# -- writing -------------------------------------------------------------------------------------
_TRANSFORMER = Transformer.from_crs(METRIC, WGS84, always_xy=True)


def _to_wgs84(x, y):
    lon, lat = _TRANSFORMER.transform(np.asarray(x) + ORIGIN[0], np.asarray(y) + ORIGIN[1])
    return np.asarray(lon), np.asarray(lat)


def to_wgs84(geoms) -> np.ndarray:
    """Metric demo geometries (relative to ORIGIN) as WGS84 lon/lat geometries."""
    def move(xy):
        lon, lat = _to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])
    return shapely.transform(np.asarray(geoms, dtype=object), move)


def write_areas(con, geo: DemoGeography) -> None:
    rows = [(RE_CODE, "eenheid", RE_NAME, "NL00", RE_CODE, None, None, None, None)]
    for g in geo.gemeenten.itertuples():
        rows.append((g.code, "gemeente", g.name, RE_CODE, RE_CODE, g.code, None, None, None))
    for w in geo.wijken.itertuples():
        rows.append((w.code, "wijk", w.name, w.gm_code, RE_CODE, w.gm_code, w.code, None, None))
    for b in geo.buurten.itertuples():
        rows.append((b.code, "buurt", b.name, b.wk_code, RE_CODE, b.gm_code, b.wk_code, b.code,
                     None))
    for p in geo.pc4.itertuples():
        rows.append((p.code, "pc4", p.name, p.gm_code, RE_CODE, p.gm_code, None, None, p.code))
    for p in geo.pc6.itertuples():
        rows.append((p.code, "pc6", p.name, p.pc4, RE_CODE, p.gm_code, p.wk_code, p.bu_code, p.pc4))
    frame = pd.DataFrame(rows, columns=["code", "level", "name", "parent_code", "re_code",
                                        "gm_code", "wk_code", "bu_code", "pc4"])
    con.register("_demo_areas", frame)
    try:
        con.execute("INSERT INTO areas SELECT * FROM _demo_areas")
    finally:
        con.unregister("_demo_areas")


def write_demo_boundaries(con, geo: DemoGeography, *, vintage: int, source: str) -> None:
    layers = {
        "eenheid": (pd.DataFrame({"code": [RE_CODE], "name": [RE_NAME]}), [geo.eenheid]),
        "gemeente": (geo.gemeenten, geo.gemeenten.geometry.values),
        "wijk": (geo.wijken, geo.wijken.geometry.values),
        "buurt": (geo.buurten, geo.buurten.geometry.values),
        "pc4": (geo.pc4, geo.pc4.geometry.values),
        "pc6": (geo.pc6, geo.pc6.geometry.values),
    }
    for level, (frame, geoms) in layers.items():
        gdf = gpd.GeoDataFrame({"code": list(frame["code"]), "name": list(frame["name"])},
                               geometry=list(to_wgs84(geoms)), crs=WGS84)
        write_boundaries(con, gdf, level=level, vintage=vintage, source=source)


def write_org_units(con) -> None:
    con.execute("INSERT INTO org_units VALUES (?, 'district', ?, ?, ?)",
                [DISTRICT[0], DISTRICT[1], RE_CODE, RE_CODE])
    for code, (name, numbers) in BASISTEAMS.items():
        con.execute("INSERT INTO org_units VALUES (?, 'basisteam', ?, ?, ?)",
                    [code, name, RE_CODE, DISTRICT[0]])
        con.executemany("INSERT INTO org_gemeenten VALUES (?, ?)",
                        [(code, gm_code(n)) for n in numbers])
    everyone = [n for _name, numbers in BASISTEAMS.values() for n in numbers]
    con.executemany("INSERT INTO org_gemeenten VALUES (?, ?)",
                    [(DISTRICT[0], gm_code(n)) for n in everyone])


def write_population(con, geo: DemoGeography, population, years) -> None:
    """Inhabitants per buurt, wijk, gemeente and the eenheid for every year (exact sums)."""
    b = geo.buurten
    frame = pd.DataFrame(population, columns=list(years))
    frame["bu"] = b["code"].to_numpy()
    frame["wk"] = b["wk_code"].to_numpy()
    frame["gm"] = b["gm_code"].to_numpy()
    frame["re"] = RE_CODE
    parts = []
    for col in ("bu", "wk", "gm", "re"):
        per = frame.groupby(col)[list(years)].sum().stack().reset_index()
        per.columns = ["code", "year", "population"]
        parts.append(per)
    table = pd.concat(parts, ignore_index=True)
    table["year"] = table["year"].astype(int)
    table["population"] = table["population"].astype(int)
    table["source"] = POPULATION_SOURCE
    con.register("_demo_population", table)
    try:
        con.execute("INSERT INTO population"
                    " SELECT code, year, population, source FROM _demo_population")
    finally:
        con.unregister("_demo_population")
