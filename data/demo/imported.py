"""Synthetic incidents over an imported real geography (benchmarks, tests, volume demos).

The buurten come from the imported boundaries (latest vintage) and the areas registry; the
inhabitants from the population table where present. The same generator as the demo region
fills them with incidents, in chunks, so 40 million rows need bounded memory.
"""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import shapely

from data.catalog import crime_types
from data.demo.build import window
from data.demo.generator import Points, Strings, Territory, generate, prefetch
from data.demo.patterns import EFFECT_GROUPS, type_table
from data.demo.texts import TextTable
from data.incidents import append_incidents, clear_incidents, finalize_incidents
from data.sql import scalar
from geo.pointinpolygon import current_places, locate_index
from geo.synthetic import sample_points_in_polygons

DATASET_NAME = "Demo: synthetische incidenten op echte indeling"
#: Inhabitants per km^2 assumed where no population is known (about the Dutch average).
DEFAULT_DENSITY = 520.0
#: Sample points per buurt that incidents are placed at (each with a small safe jitter).
POINTS_PER_BUURT = 160
#: Largest random displacement of an incident around its sample point, in metres.
MAX_JITTER_M = 30.0
#: DuckDB memory cap while writing: sorting 40 M rows then spills to disk (about 3.5 min and
#: 4.6 GB peak on 2 cores, against 2.2 min and 12.7 GB without a cap).
WRITE_MEMORY_LIMIT = "4GB"


def synthesize_on_imported(store, *, seed: int = 2026, years: int = 10,
                           incidents: int | None = None, progress=None,
                           today: date | None = None, chunk_rows: int = 2_000_000,
                           memory_limit: str | None = WRITE_MEMORY_LIMIT) -> dict:
    """Replace the synthetic incidents of an imported geography with new ones.

    ``incidents`` sets the exact total; by default national rates over the population decide.
    Incidents are made and appended ``chunk_rows`` at a time; ``memory_limit`` caps DuckDB
    (None: DuckDB's default, 80 % of RAM). Incidents already present from a real import make
    this refuse (it would mix them).
    """
    started = time.perf_counter()
    say = progress or (lambda msg: None)
    today = today or date.today()
    start, end = window(today, years)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7003]))
    with store.write("demo on imported", fresh=False) as con:
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        real = scalar(con, "SELECT count(*) FROM incidents WHERE batch IS DISTINCT FROM 'demo'")
        if real:
            raise ValueError(f"the database holds {real:,} imported incidents; synthetic incidents "
                             "are only added to a geography without real ones")
        clear_incidents(con)
        say("loading the imported geography ...")
        buurten = load_buurten(con, end.year)
        say(f"{len(buurten):,} buurten in {buurten['gm_code'].nunique():,} gemeenten; "
            "sampling points ...")
        year_list = tuple(range(start.year, end.year + 1))
        types = type_table(rng)
        titles = {t.code: t.title for t in crime_types()}
        texts = TextTable(types.codes, [titles[c] for c in types.codes], types.incident)
        territory = imported_territory(con, buurten, year_list, end.year, types, rng)
        say(f"incidents {start} .. {end} ...")
        rows = 0
        tables = generate(territory, types, texts, start=start, end=end, rng=rng,
                          total=incidents, chunk_rows=chunk_rows, id_prefix="D", batch="demo",
                          progress=say)
        for table in prefetch(tables):
            rows += append_incidents(con, table)
        say("sorting incidents, monthly counts ...")
        finalize_incidents(con)
        meta = {"dataset_name": DATASET_NAME,
                "dataset_source": f"Synthetische incidenten (seed {seed}) op de geïmporteerde "
                                  "gebiedsindeling",
                "demo": "true", "seed": str(seed), "demo_years": str(years),
                "demo_today": today.isoformat()}
        con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        first, last = con.execute("SELECT min(occurred_date)::VARCHAR, max(occurred_date)::VARCHAR"
                                  " FROM incidents").fetchall()[0]
        con.execute("INSERT INTO imports VALUES (?, 'demo', NULL, NULL, ?, 0, ?, ?)",
                    [datetime.now(timezone.utc).replace(tzinfo=None), rows, rows,
                     json.dumps({"seed": seed, "years": years, "on_imported": True})])
    seconds = time.perf_counter() - started
    summary = {
        "incidents": rows, "gemeenten": int(buurten["gm_code"].nunique()),
        "wijken": int(buurten["wk_code"].nunique()), "buurten": len(buurten),
        "pc4": len(territory.points.pc4.values) if territory.points.pc4 is not None else 0,
        "pc6": 0, "first": first, "last": last, "seconds": round(seconds, 1),
    }
    say(f"done in {summary['seconds']} s")
    return summary


# -- the geography -------------------------------------------------------------------------------
def _latest(con, level: str) -> pd.DataFrame:
    """Boundaries of the newest vintage of a level, with ``geometry`` parsed from the WKB."""
    frame = con.execute(
        "SELECT code, geom, label_lon, label_lat, area_km2 FROM boundaries WHERE level = ?"
        " AND vintage = (SELECT max(vintage) FROM boundaries WHERE level = ?) ORDER BY code",
        [level, level]).df()
    frame["geometry"] = shapely.from_wkb([bytes(g) for g in frame["geom"]])
    return frame.drop(columns="geom")


def load_buurten(con, year: int) -> pd.DataFrame:
    """Buurten with geometry (WGS84), gm_code, wk_code, re_code, basisteam and inhabitants.

    A buurt whose gemeente code is not a current gemeente (older buurt indeling) goes to the
    gemeente that contains its label point, when gemeente boundaries are there."""
    b = _latest(con, "buurt")
    if b.empty:
        raise ValueError("no buurt boundaries imported: import boundaries --level buurt first")
    registry = con.execute("SELECT code, gm_code, wk_code FROM areas WHERE level = 'buurt'").df()
    b = b.merge(registry, on="code", how="left")
    derived_gm = "GM" + b["code"].str[2:6]
    derived_wk = "WK" + b["code"].str[2:8]
    b["gm_code"] = b["gm_code"].fillna(derived_gm)
    b["wk_code"] = b["wk_code"].fillna(derived_wk)

    shaped = {r[0] for r in con.execute(
        "SELECT code FROM boundaries WHERE level = 'gemeente' AND vintage ="
        " (SELECT max(vintage) FROM boundaries WHERE level = 'gemeente')").fetchall()}
    current = shaped | {r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall()}
    if shaped:
        # (The boundary importer already places such buurten in the registry; this covers
        # buurten that are not in it.)
        stale = ~b["gm_code"].isin(current).to_numpy()
        if stale.any():
            gm, wk = current_places(con, b.loc[stale, "label_lon"], b.loc[stale, "label_lat"])
            found = gm != None  # noqa: E711 (element-wise on an object array)
            idx = np.flatnonzero(stale)[found]
            b.loc[idx, "gm_code"] = gm[found]
            b.loc[idx, "wk_code"] = wk[found]

    lookup = con.execute("""
        SELECT a.code AS gm_code, a.re_code, any_value(o.code) AS basisteam
        FROM areas a
        LEFT JOIN org_gemeenten g ON g.gm_code = a.code
        LEFT JOIN org_units o ON o.code = g.org_code AND o.kind = 'basisteam'
        WHERE a.level = 'gemeente' GROUP BY ALL""").df()
    b = b.merge(lookup, on="gm_code", how="left")
    b["population"] = _buurt_population(con, b, year)
    return b.reset_index(drop=True)


def _buurt_population(con, b: pd.DataFrame, year: int) -> np.ndarray:
    """Inhabitants per buurt: the imported figure (latest year up to ``year``). A buurt without
    one gets, in order: its share by area of what its gemeente's figure leaves; the median of
    the known buurten of its gemeente; a default density times its area."""
    pop = con.execute("""
        SELECT code, arg_max(population, year) AS population FROM population
        WHERE year <= ? OR year = (SELECT min(year) FROM population) GROUP BY code""",
                      [year]).df()
    known = pd.Series(pop["population"].to_numpy(float), index=pop["code"])
    out = b["code"].map(known).to_numpy(float, copy=True)
    missing = np.isnan(out)
    if not missing.any():
        return np.round(out)
    area = np.maximum(b["area_km2"].fillna(0).to_numpy(float), 0.01)
    frame = pd.DataFrame({"gm": b["gm_code"], "known": np.where(missing, np.nan, out),
                          "missing_area": np.where(missing, area, 0.0)})
    per_gm = frame.groupby("gm").agg(known_sum=("known", "sum"), median=("known", "median"),
                                     missing_area=("missing_area", "sum"))
    per_gm["total"] = known.reindex(per_gm.index).to_numpy()
    rest = (per_gm["total"] - per_gm["known_sum"]).clip(lower=0)
    by_total = (rest / per_gm["missing_area"]).reindex(b["gm_code"]).to_numpy() * area
    by_median = per_gm["median"].reindex(b["gm_code"]).to_numpy()
    by_default = np.clip(area * DEFAULT_DENSITY, 50, 5000)
    fill = np.where(np.isfinite(by_total), by_total,
                    np.where(np.isfinite(by_median), by_median, by_default))
    out[missing] = fill[missing]
    return np.maximum(np.round(out), 0)


# -- the generator's view ------------------------------------------------------------------------
def imported_territory(con, b: pd.DataFrame, years, ref_year: int, types, rng) -> Territory:
    gm = b["gm_code"].to_numpy()
    pop = b["population"].to_numpy(float)
    # Larger gemeenten register more per inhabitant; the national mean stays the catalog rate.
    gm_pop = pd.Series(pop).groupby(gm).transform("sum").to_numpy()
    scale = np.clip((gm_pop / 40_000.0) ** 0.2, 0.6, 1.6)
    scale /= (scale * pop).sum() / max(pop.sum(), 1.0)
    effect = rng.lognormal(0.0, 0.4, (len(EFFECT_GROUPS), len(b)))
    w = np.maximum(pop, 1.0)
    codes, gm_idx = np.unique(gm, return_inverse=True)
    for g in range(len(EFFECT_GROUPS)):
        mean = np.bincount(gm_idx, effect[g] * w) / np.bincount(gm_idx, w)
        effect[g] /= mean[gm_idx]
    per_capita = (types.rate[:, None] / 1e5) * scale[None, :] * effect[types.effect_group]
    growth = (1.005 ** (np.array(years) - ref_year))[None, :]
    population = pop[:, None] * growth
    return Territory(
        bu_code=Strings.of(b["code"]), wk_code=Strings.of(b["wk_code"]),
        gm_code=Strings.of(b["gm_code"]), re_code=Strings.of(b["re_code"]),
        basisteam=Strings.of(b["basisteam"]), years=tuple(years), population=population,
        per_capita=per_capita, points=_sample_points(con, b, rng))


def _sample_points(con, b: pd.DataFrame, rng) -> Points:
    """A fixed set of random points per buurt, each with the jitter that keeps it inside,
    and its PC4 when PC4 boundaries are imported."""
    polygons = b["geometry"].to_numpy()
    counts = np.full(len(b), POINTS_PER_BUURT)
    lon, lat, owner = sample_points_in_polygons(rng, polygons, counts)
    points = shapely.points(lon, lat)
    # Distance to the buurt's edge in metres (a degree of longitude is the shorter one).
    edge = shapely.distance(points, shapely.boundary(polygons)[owner])
    jitter = np.minimum(0.9 * edge * 111_320.0 * np.cos(np.radians(lat)), MAX_JITTER_M)
    pc4 = None
    pc4_layer = _latest(con, "pc4")
    if not pc4_layer.empty:
        hit = locate_index(points, pc4_layer["geometry"].to_numpy(), ties="query")
        values = np.where(hit >= 0, pc4_layer["code"].to_numpy()[np.maximum(hit, 0)], None)
        pc4 = Strings.of(values)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return Points(start=start, count=counts, lon=lon, lat=lat, jitter_m=jitter, pc4=pc4)
