"""Validation of the near-repeat warning (data/queries/near_repeat.py): does a zone of D metres
around the burglaries of the last T days catch more of next week's burglaries than its share
of homes?

Walk forward week by week. At each week's start the zones are the discs of ``--distance``
metres around every woninginbraak of the ``--days`` days before it (the model's rule: day 0 is
the burglary's day). Then count

* hit rate: the share of the *next* week's burglaries that fall inside a zone;
* share flagged: the share of homes (or addresses, see below) inside a zone;
* PAI (prediction accuracy index, Chainey et al. 2008): hit rate / share flagged. 1 means the
  zones catch no more than their share of homes would by chance.

and print the median (and quartiles) over the weeks, per data set, and the pooled figures
(all weeks' hits over all next-week burglaries; over the mean share for the PAI), which are
steadier when a week has only a handful of burglaries (the demo):

1. ``demo``: the demo database's incidents (``--db``, or one built into a temporary folder).
   Denominator: the distinct address points of all its incidents (any type), as the demo has
   no homes; the generator places burglaries by buurt and hot spot without a near-repeat
   (space-time triggering) pattern, so its PAI measures spatial concentration only.
2. ``nationaal, near-repeat`` and 3. ``nationaal, controle``: a synthesized national set on the
   real geography of ``../shared/data`` (when present; else skipped): homes are points around
   each buurt's centroid (buurt_2019_2020.geojson) in proportion to its inhabitants on 1 Jan
   2024 (buurt_population_2024_85984NED.csv, 1 home per 2.1 inhabitants, one point per
   ``--home-sample`` homes), the weekly national number of burglaries from the politie.nl PC4
   file (mean of its complete months). The control draws every burglary at a random home
   (a Poisson process, uniform risk per home: no clustering at all); the near-repeat set draws
   the same background and lets each burglary trigger, with mean ``--trigger`` (a branching
   ratio; research puts near repeats at 10-20% of burglaries), a follow-up at a home within
   400 m (weight exp(-d/100 m)) after an exponential delay of mean 7 days. Same total count.

    .venv/bin/python bench/near_repeat.py [--db demo.duckdb] [--distance 200] [--days 14]

Distances in metres: lon/lat are projected to RD New (EPSG:28992, geo/projections.py).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.projections import wgs84_to_rd  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
HOUSEHOLD = 2.1  # inhabitants per home (CBS: mean household size about 2.1)


def walk_forward(days: np.ndarray, xy: np.ndarray, homes: np.ndarray, *, distance: float,
                 window: int, weeks: list[int]) -> list[dict]:
    """Per week start (a day number in ``weeks``): hit rate, share of homes flagged and PAI.
    ``days`` is each burglary's day number, ``xy`` its RD metres, ``homes`` RD metres of the
    denominator points."""
    home_tree = cKDTree(homes)
    out = []
    for start in weeks:
        flagged = (days >= start - window) & (days < start)
        nxt = (days >= start) & (days < start + 7)
        if not flagged.any() or not nxt.any():
            continue
        zone_tree = cKDTree(xy[flagged])
        dist, _ = zone_tree.query(xy[nxt], distance_upper_bound=distance)
        hits = int(np.isfinite(dist).sum())
        near = zone_tree.query_ball_point(homes, r=distance, return_length=True) \
            if len(homes) < 400_000 else None
        if near is None:  # many homes: ask per zone which homes lie in it
            inside = set()
            for lists in home_tree.query_ball_point(xy[flagged], r=distance):
                inside.update(lists)
            share = len(inside) / len(homes)
        else:
            share = float((near > 0).mean())
        rate = hits / int(nxt.sum())
        out.append({"week": start, "zones": int(flagged.sum()), "next": int(nxt.sum()),
                    "hits": hits, "hit_rate": rate, "share": share,
                    "pai": rate / share if share else float("nan")})
    return out


def summary(name: str, rows: list[dict], denominator: str) -> dict:
    def q(key):
        values = sorted(r[key] for r in rows if np.isfinite(r[key]))
        if not values:
            return (float("nan"),) * 3
        qs = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        return qs[0], statistics.median(values), qs[2]
    hit, share, pai = q("hit_rate"), q("share"), q("pai")
    total_hits = sum(r["hits"] for r in rows)
    total_next = sum(r["next"] for r in rows)
    result = {"set": name, "weeks": len(rows), "denominator": denominator,
              "median_zones": statistics.median(r["zones"] for r in rows) if rows else 0,
              "median_next_week": statistics.median(r["next"] for r in rows) if rows else 0,
              "hit_rate": hit, "share_flagged": share, "pai": pai,
              "pooled_hit_rate": total_hits / total_next if total_next else float("nan")}
    mean_share = statistics.mean(r["share"] for r in rows) if rows else float("nan")
    result["pooled_pai"] = result["pooled_hit_rate"] / mean_share if mean_share else float("nan")
    print(f"\n{name}  ({len(rows)} weeks; denominator: {denominator})")
    print(f"  zones at week start (median): {result['median_zones']:.0f};"
          f" burglaries next week (median): {result['median_next_week']:.0f}")
    print(f"  hit rate       median {hit[1]:.1%}  (IQR {hit[0]:.1%}-{hit[2]:.1%});"
          f" pooled {result['pooled_hit_rate']:.1%}")
    print(f"  share flagged  median {share[1]:.2%}  (IQR {share[0]:.2%}-{share[2]:.2%})")
    print(f"  PAI            median {pai[1]:.1f}  (IQR {pai[0]:.1f}-{pai[2]:.1f});"
          f" pooled {result['pooled_pai']:.1f} (all weeks' hits / mean share)")
    return result


# -- (a) the demo --------------------------------------------------------------------------

def demo_set(db: Path | None):
    from data import segments

    if db is None:
        from data.demo import build_demo
        from data.store import Store

        db = Path(tempfile.mkdtemp(prefix="nr-bench-")) / "demo.duckdb"
        print(f"building the demo database in {db} ...", flush=True)
        build_demo(Store(db))
    con = segments.connect(Path(db).resolve())
    burglaries = con.execute(
        "SELECT occurred_date, lon, lat FROM incidents WHERE type_code = '1.1.1'"
        " AND lon IS NOT NULL ORDER BY occurred_date").fetchall()
    addresses = np.array(con.execute(
        "SELECT DISTINCT round(lon, 6), round(lat, 6) FROM incidents WHERE lon IS NOT NULL"
    ).fetchall(), dtype=float)
    con.close()
    first = burglaries[0][0]
    days = np.array([(d - first).days for d, _, _ in burglaries])
    xy = np.column_stack(wgs84_to_rd(np.array([b[1] for b in burglaries]),
                                     np.array([b[2] for b in burglaries])))
    homes = np.column_stack(wgs84_to_rd(addresses[:, 0], addresses[:, 1]))
    return days, xy, homes, first


# -- (b) the synthesized national set ---------------------------------------------------------

def national_homes(rng, sample: int) -> np.ndarray:
    """Home points (RD metres), one per ``sample`` homes, around buurt centroids."""
    import csv

    import shapely
    from shapely.geometry import shape

    population = {}
    with open(SHARED / "buurt_population_2024_85984NED.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["population_2024"]:
                population[row["bu_code"]] = int(float(row["population_2024"]))
    features = json.loads((SHARED / "buurt_2019_2020.geojson").read_text())["features"]
    cx, cy, sigma, weight = [], [], [], []
    def project(coords):
        return np.column_stack(wgs84_to_rd(coords[:, 0], coords[:, 1]))
    for feat in features:
        props = feat["properties"]
        code = next((v for k, v in props.items() if isinstance(v, str) and v.startswith("BU")),
                    None)
        people = population.get(code)
        if not people:
            continue
        geom = shapely.transform(shape(feat["geometry"]), project)
        point = geom.representative_point()
        cx.append(point.x)
        cy.append(point.y)
        sigma.append(min(1500.0, max(50.0, 0.35 * geom.area ** 0.5)))
        weight.append(people / HOUSEHOLD / sample)
    counts = rng.poisson(np.array(weight))
    idx = np.repeat(np.arange(len(counts)), counts)
    cx, cy, sigma = np.array(cx)[idx], np.array(cy)[idx], np.array(sigma)[idx]
    homes = np.column_stack([cx + rng.normal(0, 1, len(idx)) * sigma,
                             cy + rng.normal(0, 1, len(idx)) * sigma])
    print(f"  {len(features)} buurt shapes (2019/2020), {len(population)} buurt populations"
          f" (2024), {len(weight)} matched by code, "
          f"{len(homes)} home points (1 per {sample} homes)", flush=True)
    return homes


def weekly_burglaries() -> float:
    import csv
    from collections import Counter

    months = Counter()
    with open(SHARED / "pc4_woninginbraak_monthly_misdaadinkaart.csv", newline="") as f:
        for row in csv.DictReader(f):
            months[row["month"]] += int(row["incidents"])
    complete = sorted(months)[:-1]  # the newest month is partial (README of shared/data)
    return statistics.mean(months[m] for m in complete) * 12 / 52


def synthesize(rng, homes: np.ndarray, per_week: float, n_days: int, trigger: float):
    """Burglaries (day, RD xy): a Poisson background at random homes, plus (``trigger`` > 0)
    near-repeat offspring; the background is scaled so that both sets have the same expected
    total."""
    per_day = per_week / 7
    background = rng.poisson(per_day * (1 - trigger) * n_days)
    days = list(rng.integers(0, n_days, background))
    where = list(rng.integers(0, len(homes), background))
    tree = cKDTree(homes)
    queue = list(zip(days, where))
    while queue:
        day, home = queue.pop()
        for _ in range(rng.poisson(trigger)):
            later = day + int(rng.exponential(7.0)) + 1
            if later >= n_days:
                continue
            near = tree.query_ball_point(homes[home], r=400.0)
            if len(near) < 2:
                continue
            near = np.array([n for n in near if n != home])
            d = np.hypot(*(homes[near] - homes[home]).T)
            pick = near[rng.choice(len(near), p=np.exp(-d / 100) / np.exp(-d / 100).sum())]
            days.append(later)
            where.append(pick)
            queue.append((later, pick))
    days, where = np.array(days), np.array(where)
    # Burglaries happen at a home, not at the point that stands for ``sample`` homes: jitter
    # within 30 m so that two burglaries are never at exactly one spot by construction.
    xy = homes[where] + rng.normal(0, 15, (len(where), 2))
    order = np.argsort(days)
    return days[order], xy[order]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="demo database (default: build one)")
    parser.add_argument("--distance", type=float, default=200.0, help="zone radius, metres")
    parser.add_argument("--days", type=int, default=14, help="raised-risk period, days")
    parser.add_argument("--weeks", type=int, default=52, help="weeks to walk (national sets)")
    parser.add_argument("--trigger", type=float, default=0.2,
                        help="mean near-repeat offspring per burglary (national set)")
    parser.add_argument("--home-sample", type=int, default=10, help="homes per home point")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path, help="also write the summaries as JSON")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args(argv)
    results = []
    print(f"near-repeat zones: {args.distance:.0f} m, {args.days} days; walk forward per week")

    if not args.skip_demo:
        days, xy, homes, first = demo_set(args.db)
        end = int(days.max()) + 1
        weeks = list(range(args.days, end - 7 + 1, 7))
        rows = walk_forward(days, xy, homes, distance=args.distance, window=args.days,
                            weeks=weeks)
        results.append(summary(f"demo ({first} .. {first + timedelta(days=end - 1)})", rows,
                               f"{len(homes)} distinct incident address points"))

    if (SHARED / "buurt_2019_2020.geojson").exists():
        rng = np.random.default_rng(args.seed)
        print("\nsynthesizing the national set ...", flush=True)
        homes = national_homes(rng, args.home_sample)
        per_week = weekly_burglaries()
        print(f"  {per_week:.0f} burglaries per week nationally (politie.nl PC4 file)")
        n_days = args.days + 7 * args.weeks
        weeks = list(range(args.days, n_days - 7 + 1, 7))
        for name, trigger in (("nationaal, near-repeat", args.trigger),
                              ("nationaal, controle (geen near-repeat)", 0.0)):
            days, xy = synthesize(rng, homes, per_week, n_days, trigger)
            rows = walk_forward(days, xy, homes, distance=args.distance, window=args.days,
                                weeks=weeks)
            results.append(summary(f"{name} ({len(days)} burglaries)", rows,
                                   f"{len(homes)} home points"))
    else:
        print(f"\n{SHARED} not found: the national sets are skipped")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
