"""A database on the real 2024 gemeente/wijk/buurt codes (../shared/data, imported with the real
importers: eenheden, gemeenten, the regio lookup, the 2024 code list and the PC4 areas) with
incidents synthesized by the demo generator (``data.demo.generator.generate``) on the buurten
of a few gemeenten.

The 2024 buurten have no shapes in ../shared/data, so the generator's points carry no real
coordinates: each buurt gets one or two PC4 areas of its gemeente (neighbouring codes share a
PC4, as neighbouring buurten do), which makes PC4 areas cross buurten like the real ones. The
buurt x PC4 combinations are returned as the attacker's geography. Inhabitants per buurt are the
real 1 January 2024 figures (85984NED)."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from data.catalog import crime_types
from data.demo.generator import Points, Strings, Territory, generate
from data.demo.patterns import EFFECT_GROUPS, type_table
from data.demo.texts import TextTable
from data.importers import run_import
from data.incidents import append_incidents, finalize_incidents
from data.periods import add_months
from data.store import Store


def build(folder: Path, shared: Path, gemeenten, *, today: date, months: int, incidents: int,
          seed: int = 47) -> tuple[Path, dict]:
    """The database file and, per gemeente, its (wijk, buurt, PC4) leaves."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "real.duckdb")
    for name, level, vintage in (("regionale_eenheid_2024.geojson", "eenheid", None),
                                 ("gemeente_2025.geojson", "gemeente", None)):
        run_import(store, "boundaries", shared / name, rejected_file=folder / f"{name}.rej.csv",
                   options={"level": level, "vintage": vintage})
    for name, kind in (("gemeente_2025_regio_lookup.csv", "lookup"),
                       ("wijken_en_buurten_2024_codes.csv", "codes")):
        shutil.copyfile(shared / name, folder / name)  # rejected rows land beside the copy
        run_import(store, kind, folder / name)
    run_import(store, "boundaries", shared / "pc4.geojson", rejected_file=folder / "pc4.rej.csv",
               options={"level": "pc4", "vintage": 2020})

    rng = np.random.default_rng(seed)
    con = store.read()
    buurten = con.execute("""
        SELECT b.code, b.wk_code, b.gm_code, g.re_code FROM areas b
        JOIN areas g ON g.code = b.gm_code AND g.level = 'gemeente'
        WHERE b.level = 'buurt' AND b.gm_code IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY b.code""", [list(gemeenten)]).df()
    pc4s = con.execute("SELECT gm_code, code FROM areas WHERE level = 'pc4' AND gm_code IN "
                       "(SELECT unnest(?::VARCHAR[])) ORDER BY code", [list(gemeenten)]).df()
    people = pd.read_csv(shared / "buurt_population_2024_85984NED.csv", dtype={"bu_code": str})
    population = buurten["code"].map(people.set_index("bu_code")["population_2024"])
    population = population.fillna(population.median()).clip(lower=50).to_numpy(float)

    own_pc4, leaves = [], {g: set() for g in gemeenten}
    for gm, group in buurten.groupby("gm_code", sort=False):
        codes = pc4s.loc[pc4s["gm_code"] == gm, "code"].tolist()
        for k, row in enumerate(group.itertuples()):
            first = min(k * len(codes) // len(group), len(codes) - 1)
            mine = [codes[first]]
            if rng.random() < 0.5 and len(codes) > 1:
                mine.append(codes[(first + 1) % len(codes)])
            own_pc4.append((row.Index, mine))
            for pc4 in mine:
                leaves[gm].add((row.wk_code, row.code, pc4))
    own_pc4.sort()
    counts = np.array([2 * len(p) for _, p in own_pc4])
    point_pc4 = [pc4 for _, mine in own_pc4 for pc4 in mine for _ in range(2)]
    points = Points(start=np.concatenate([[0], np.cumsum(counts)[:-1]]), count=counts,
                    lon=np.zeros(len(point_pc4)), lat=np.zeros(len(point_pc4)),
                    pc4=Strings.of(point_pc4))

    start = add_months(date(today.year, today.month, 1), -months)
    years = tuple(range(start.year, today.year + 1))
    types = type_table(rng)
    effect = rng.lognormal(0.0, 0.6, (len(EFFECT_GROUPS), len(buurten)))
    per_capita = types.rate[:, None] / 1e5 * effect[types.effect_group]
    territory = Territory(
        bu_code=Strings.of(buurten["code"]), wk_code=Strings.of(buurten["wk_code"]),
        gm_code=Strings.of(buurten["gm_code"]), re_code=Strings.of(buurten["re_code"]),
        basisteam=Strings.of([None] * len(buurten)), years=years,
        population=np.repeat(population[:, None], len(years), axis=1),
        per_capita=per_capita, points=points)
    titles = {t.code: t.title for t in crime_types()}
    texts = TextTable(types.codes, [titles[c] for c in types.codes], types.incident)
    with store.write("attack test incidents") as w:
        for table in generate(territory, types, texts, start=start, end=today, rng=rng,
                              total=incidents, id_prefix="R", batch="demo"):
            append_incidents(w, table)
        finalize_incidents(w)
        w.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                      [("dataset_name", "Aanvalstest: synthetische incidenten op echte buurten"),
                       ("demo_today", today.isoformat())])
    return store.path, {g: sorted(v) for g, v in leaves.items()}
