"""National-scale benchmark: build (or reuse) a database with the real boundaries from
../shared/data plus synthesized incidents, then time the core queries through the query layer
and as bare DuckDB SQL, and the import rates. Prints numbers; asserts nothing.

    .venv/bin/python bench/run.py                       # 40 M incidents over 10 years
    .venv/bin/python bench/run.py --incidents 2000000   # a quicker run
    .venv/bin/python bench/run.py --db /work/benchdb/national.duckdb --only import \
        --import-into full --import-repeat 3              # import 1 M rows into a 40 M copy
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.importers import run_import  # noqa: E402
from data.queries import areas as qa  # noqa: E402
from data.periods import Period  # noqa: E402
from data.queries import overview as qo  # noqa: E402
from data.scope import Scope  # noqa: E402
from data.store import Store  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BOUNDARIES = [("eenheid", "regionale_eenheid_2024.geojson"), ("gemeente", "gemeente_2025.geojson"),
              ("wijk", "wijk_2024.geojson"), ("buurt", "buurt_2019_2020.geojson"),
              ("pc4", "pc4.geojson")]


def build(store: Store, incidents: int, years: int) -> list[tuple[str, float, str]]:
    """Import the real geography and synthesize incidents; returns (step, seconds, note)."""
    from data.demo import synthesize_on_imported

    steps = []
    for level, name in BOUNDARIES:
        t = time.perf_counter()
        options = {"level": level, "vintage": 2020 if level == "pc4" else None}
        result = run_import(store, "boundaries", SHARED / name, options=options)
        steps.append((f"import boundaries {level}", time.perf_counter() - t, f"{result.rows:,} areas"))
        if level == "gemeente":
            t = time.perf_counter()
            run_import(store, "lookup", SHARED / "gemeente_2025_regio_lookup.csv")
            steps.append(("import lookup", time.perf_counter() - t, ""))
    for name in ("population_gemeente_2022_2024.csv", "buurt_population_2024_85984NED.csv"):
        t = time.perf_counter()
        result = run_import(store, "population", SHARED / name)
        steps.append((f"import population {name}", time.perf_counter() - t, f"{result.rows:,} rows"))
    t = time.perf_counter()
    summary = synthesize_on_imported(store, years=years, incidents=incidents,
                                     progress=lambda m: print(f"    {m}", flush=True))
    seconds = time.perf_counter() - t
    steps.append(("synthesize incidents", seconds,
                  f"{summary['incidents']:,} rows, {summary['incidents'] / seconds:,.0f} rows/s"))
    return steps


#: Which incidents an import benchmark's CSV holds: a random sample of all years (every month
#: and area gets a few: the most derived-count rows per incident), or the newest registrations
#: (a delivery of recent months, as the police send them).
IMPORT_KINDS = {"sample": "USING SAMPLE {rows} ROWS (reservoir, 7)",
                "recent": "ORDER BY registered_at DESC LIMIT {rows}"}


@contextlib.contextmanager
def import_scratch(store: Store, rows: int, *, into: str = "geography", tmp_dir=None,
                   kind: str = "sample"):
    """A CSV of ``rows`` incidents of ``store`` (``kind``: IMPORT_KINDS) in the documented
    layout, with new ids, and a scratch store to import it into: a copy of the geography only
    (``into="geography"``) or of the whole database (``"full"``), with the boundary layers'
    placement grids built. Yields (scratch store, CSV path, seconds the grids took);
    everything is deleted afterwards."""
    import shutil

    from geo.pointinpolygon import grid_layer

    con = store.read()
    with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
        path = Path(tmp) / "incidents.csv"
        con.execute(f"""
            COPY (SELECT 'B' || id AS id, registered_at, occurred_at, type_code,
                         attempt::INTEGER AS attempt, high_impact::INTEGER AS high_impact,
                         lon, lat, pc6, street, house_number, mo, summary
                  FROM incidents {IMPORT_KINDS[kind].format(rows=int(rows))})
            TO '{path}' (HEADER, DELIMITER ';')""")
        scratch = Store(Path(tmp) / "scratch.duckdb")
        with scratch.write("copy geography", fresh=True) as w:
            if into == "geography":
                w.execute(f"ATTACH '{store.current_file()}' AS src (READ_ONLY)")
                for table in ("areas", "boundaries", "boundary_shapes", "population"):
                    w.execute(f"DELETE FROM {table}")
                    w.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
                w.execute("DETACH src")
        if into == "full":
            shutil.copyfile(store.current_file(), scratch.current_file())
        t = time.perf_counter()
        with scratch.write("placement grids") as w:
            for level in ("buurt", "pc4"):
                grid_layer(w, level)
        yield scratch, path, time.perf_counter() - t


def incident_import_rate(store: Store, rows: int, *, into: str = "geography",
                         repeat: int = 1, tmp_dir=None, kind: str = "sample",
                         command: bool = False) -> list[dict]:
    """Export ``rows`` incidents to CSV in the documented layout and import them into a copy:
    of the geography only (``into="geography"``: the importer's own speed) or of the whole
    database (``"full"``: what an import into the national database costs, the copy of the
    version file by data.store included). The boundary layers' placement grids are built
    before the timed import (a one-off per boundary vintage, reported as ``grid_seconds``).
    In this process (its modules already loaded), or with ``command`` as an operator runs it:
    ``python -m dashboard import incidents`` in a new process (start, module loading and the
    meldingen scan included; its peak memory then is the command's).
    Returns one dict per run: seconds, rows, cpu_seconds, maxrss_mb, grid_seconds, load."""
    import resource
    import subprocess

    who = resource.RUSAGE_CHILDREN if command else resource.RUSAGE_SELF
    out = []
    for _ in range(repeat):
        with import_scratch(store, rows, into=into, tmp_dir=tmp_dir, kind=kind) as (
                scratch, path, grid_seconds):
            before = resource.getrusage(who)
            t = time.perf_counter()
            if command:
                subprocess.run([sys.executable, "-m", "dashboard", "--db", str(scratch.path),
                                "import", "incidents", str(path)], cwd=ROOT, check=True,
                               capture_output=True)
                added = scratch.read().execute("SELECT rows FROM imports ORDER BY imported_at DESC"
                                               " LIMIT 1").fetchall()[0][0]
            else:
                added = run_import(scratch, "incidents", path).rows
            seconds = time.perf_counter() - t
            after = resource.getrusage(who)
            out.append({"seconds": seconds, "rows": added, "grid_seconds": grid_seconds,
                        "cpu_seconds": (after.ru_utime + after.ru_stime
                                        - before.ru_utime - before.ru_stime),
                        "maxrss_mb": after.ru_maxrss / 1024, "load": os.getloadavg()[0]})
    return out


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def query_benchmarks(store: Store, repeat: int) -> list[tuple[str, list[float], list[float]]]:
    con = store.read()
    gemeenten = [r[0] for r in con.execute(
        "SELECT gm_code FROM incidents GROUP BY gm_code ORDER BY count(*) DESC").fetchall()]
    largest = gemeenten[0]
    median = gemeenten[len(gemeenten) // 2]
    re_code = con.execute("SELECT re_code FROM areas WHERE code = ?", [largest]).fetchall()[0][0]
    unit = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente' AND re_code = ?", [re_code]).fetchall()]
    national = Scope(frozenset(gemeenten), 3)
    scopes = {f"gemeente {largest} (largest)": Scope(frozenset([largest]), 3),
              f"gemeente {median} (median)": Scope(frozenset([median]), 3),
              f"eenheid {re_code} ({len(unit)} gemeenten)": Scope(frozenset(unit), 3),
              f"national ({len(gemeenten)} gemeenten)": national}
    period = qo.last_complete_months(con, scope=national, months=12)
    results = []
    for label, scope in scopes.items():
        codes = sorted(scope.gemeenten)
        in_list = ", ".join(f"'{c}'" for c in codes)
        results.append((
            f"key figures, {label}",
            timed(lambda: qo.key_figures(con, scope=scope, period=period), repeat),
            timed(lambda: con.execute(f"""
                SELECT g.group_code, sum(c.count) FILTER (WHERE c.period_start >= DATE '{period.start}'),
                       sum(c.count) FILTER (WHERE c.period_start < DATE '{period.start}')
                FROM counts c JOIN type_groups g USING (type_code)
                WHERE c.level = 'gemeente' AND c.period_type = 'M' AND c.source = 'incidents'
                  AND c.area_code IN ({in_list})
                  AND c.period_start >= DATE '{period.shifted(-12).start}'
                  AND c.period_start < DATE '{period.end}'
                  AND g.group_code IN ('alle_misdrijven','woninginbraak','hic','geweld','overlast')
                GROUP BY g.group_code""").fetchall(), repeat)))
        level = "buurt" if len(codes) == 1 else "gemeente"
        column = qa.LEVEL_COLUMNS[level]
        results.append((
            f"{level} counts from incidents, woninginbraak 12 mnd, {label}",
            timed(lambda: qa.incident_counts_by_area(con, scope=scope, level=level, period=period,
                                                     group="woninginbraak"), repeat),
            timed(lambda: con.execute(f"""
                SELECT {column}, count(*) FROM incidents
                WHERE gm_code IN ({in_list}) AND type_code = '1.1.1'
                  AND occurred_date >= DATE '{period.start}' AND occurred_date < DATE '{period.end}'
                GROUP BY {column}""").fetchall(), repeat)))
    results.append((
        "monthly series 36 mnd, national",
        timed(lambda: qo.monthly_series(con, scope=national, group="alle_misdrijven",
                                        period=Period(period.shifted(-24).start, period.end)),
              repeat),
        timed(lambda: con.execute("""
            SELECT period_start, sum(count) FROM counts
            WHERE level = 'gemeente' AND period_type = 'M' AND source = 'incidents'
              AND type_code IN (SELECT type_code FROM type_groups WHERE group_code = 'alle_misdrijven')
            GROUP BY period_start""").fetchall(), repeat)))
    return results


def page_query_benchmarks(store: Store, repeat: int) -> list[tuple[str, list[float]]]:
    """Queries of the Trends and Woninginbraak pages (query layer only), national and for the
    largest gemeente."""
    from data.queries import burglary as qb
    from data.queries import trends as qt

    con = store.read()
    gemeenten = [r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente'"
                                           " ORDER BY code").fetchall()]
    largest = con.execute("SELECT gm_code FROM incidents GROUP BY 1 ORDER BY count(*) DESC"
                          " LIMIT 1").fetchall()[0][0]
    national, one = Scope(frozenset(gemeenten), 3), Scope(frozenset([largest]), 3)
    period = qo.last_complete_months(con, scope=national, months=12)
    out = []
    for label, scope in ((f"national ({len(gemeenten)} gemeenten)", national), (largest, one)):
        for grain in ("maand", "week"):
            out.append((f"trend alle misdrijven per {grain}, {label}",
                        timed(lambda: qt.trend(con, scope=scope, gemeenten=(),
                                               indicator="alle_misdrijven", grain=grain), repeat)))
        out.append((f"woninginbraak voltooid/poging per maand, {label}",
                    timed(lambda: qb.attempts_by_month(con, scope=scope, gemeenten=(),
                                                       start=period.shifted(-12).start,
                                                       end=period.end), repeat)))
    out.append((f"woninginbraak wijken grootste stijging, {largest}",
                timed(lambda: qb.wijk_changes(con, scope=one, gemeente=largest, period=period),
                      repeat)))
    out.append((f"woninginbraak dag x uur, {largest}",
                timed(lambda: qb.weekday_hour(con, scope=one, gemeenten=(), period=period), repeat)))
    return out


def map_benchmarks(store: Store, repeat: int) -> tuple[list[tuple[str, list[float]]],
                                                       list[tuple[str, float, float, int]]]:
    """The Kaart page through the query layer (national scope, detail 3): geometry and values
    of all gemeenten, and of the largest gemeente's buurten wijk by wijk (as the UI drills) and
    as one layer; plus the payload of one gemeente's buurt layer (largest and median gemeente).
    Returns (label, samples in ms) and (label, raw kB, gzipped kB, features)."""
    import gzip
    import json

    from data.queries import map as qm

    con = store.read()
    gemeenten = [r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente'"
                                           " ORDER BY code").fetchall()]
    ranked = [r[0] for r in con.execute(
        "SELECT gm_code FROM incidents GROUP BY gm_code ORDER BY count(*) DESC").fetchall()]
    largest, median = ranked[0], ranked[len(ranked) // 2]
    national = Scope(frozenset(gemeenten), 3)
    period = qo.last_complete_months(con, scope=national, months=12)
    group = "alle_misdrijven"

    def layer(level, within=None, parent=None, measure="count"):
        """What the Kaart page asks for one view (``lean``: only what the measure shows)."""
        qm.geometry(con, scope=national, level=level, within=within, parent=parent)
        qm.map_values(con, scope=national, level=level, period=period, group=group,
                      measure=measure, within=within, parent=parent, lean=True)

    out = [
        (f"geometry gemeenten, national ({len(gemeenten)})",
         timed(lambda: qm.geometry(con, scope=national, level="gemeente"), repeat)),
        ("map_values gemeenten, national (every column, as the API)",
         timed(lambda: qm.map_values(con, scope=national, level="gemeente", period=period,
                                     group=group, measure="count"), repeat)),
        ("geometry + map_values gemeenten, national, change",
         timed(lambda: layer("gemeente", measure="change"), repeat)),
        (f"geometry + map_values buurten, {largest}, change",
         timed(lambda: layer("buurt", largest, measure="change"), repeat)),
        (f"geometry + map_values wijken, {largest}",
         timed(lambda: layer("wijk", largest), repeat)),
    ]
    wijken = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'wijk' AND gm_code = ? ORDER BY code",
        [largest]).fetchall()]
    step = max(1, len(wijken) // max(repeat, 1))
    sample = wijken[::step][:max(repeat, 1)]
    layer("buurt", largest, sample[0])  # warm-up
    per_wijk = []
    for wijk in sample:
        t = time.perf_counter()
        layer("buurt", largest, wijk)
        per_wijk.append((time.perf_counter() - t) * 1000)
    out.append((f"geometry + map_values buurten of one wijk, {largest} ({len(sample)} of "
                 f"{len(wijken)} wijken)", per_wijk))
    out.append((f"geometry + map_values all buurten, {largest}",
                timed(lambda: layer("buurt", largest), repeat)))
    out.append((f"geometry all buurten, {largest}",
                timed(lambda: qm.geometry(con, scope=national, level="buurt", within=largest),
                      repeat)))
    out.append(("geometry + map_values eenheden, national", timed(lambda: layer("eenheid"),
                                                                 repeat)))
    out.append(("geometry + map_values buurten, national (overview tier)",
                timed(lambda: layer("buurt"), max(3, repeat // 5))))

    sizes = []
    for label, code in ((f"buurten {largest} (largest)", largest),
                        (f"buurten {median} (median)", median)):
        text = qm.geometry(con, scope=national, level="buurt", within=code)
        raw = text.encode()
        sizes.append((label, len(raw) / 1024, len(gzip.compress(raw, 6)) / 1024,
                      len(json.loads(text)["features"])))
    text = qm.geometry(con, scope=national, level="gemeente")
    sizes.append(("gemeenten, national", len(text.encode()) / 1024,
                  len(gzip.compress(text.encode(), 6)) / 1024, len(json.loads(text)["features"])))
    return out, sizes


def incident_table_benchmarks(store: Store, repeat: int) -> list[tuple[str, list[float]]]:
    """The Incidenten grid's first page (100 rows) and row count, national and for the largest
    gemeente, for the filters a user sets (query layer, scope included)."""
    from data.queries import incidents as qi

    con = store.read()
    gemeenten = [r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente'"
                                           " ORDER BY code").fetchall()]
    largest = con.execute("SELECT gm_code FROM incidents GROUP BY 1 ORDER BY count(*) DESC"
                          " LIMIT 1").fetchall()[0][0]
    buurt = con.execute("SELECT bu_code FROM incidents WHERE gm_code = ? GROUP BY 1"
                        " ORDER BY count(*) DESC LIMIT 1", [largest]).fetchall()[0][0]
    newest = con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0]
    year = str(newest.year - 1)
    national = Scope(frozenset(gemeenten), 3)
    one = Scope(frozenset([largest]), 3)
    filters = [
        ("no filter", {}),
        ("woninginbraak", {"type": "woninginbraak"}),
        (f"geweld, {year}-03-15 .. {year}-11-10", {"type": "geweld", "from": f"{year}-03-15",
                                                   "to": f"{year}-11-10"}),
        (f"high impact, poging, {year}", {"high_impact": "ja", "attempt": "ja",
                                          "from": f"{year}-01-01", "to": f"{year}-12-31"}),
        ("text 'fiets'", {"q": "fiets"}),
        (f"buurt {buurt}", {"area": buurt}),
    ]
    out = []
    for label, scope in ((f"national ({len(gemeenten)} gemeenten)", national), (largest, one)):
        for name, params in filters:
            flt = qi.parse_filter(params)
            out.append((f"first page, {name}, {label}",
                        timed(lambda: qi.incident_page(con, scope=scope, flt=flt), repeat)))
            out.append((f"count, {name}, {label}",
                        timed(lambda: qi.count_incidents(con, scope=scope, flt=flt), repeat)))
    flt = qi.IncidentFilter()
    out.append(("page 50 (offset 4,900), no filter, national",
                timed(lambda: qi.incident_page(con, scope=national, flt=flt, offset=4900),
                      repeat)))
    out.append(("first page sorted by type, no filter, national",
                timed(lambda: qi.incident_page(con, scope=national, flt=flt,
                                               sort=qi.parse_sort("soort")), max(3, repeat // 10))))
    return out


SECTIONS = ("import", "queries", "pages", "maps", "incidents")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "national.duckdb")
    parser.add_argument("--incidents", type=int, default=40_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per query")
    parser.add_argument("--import-sample", type=int, default=1_000_000,
                        help="incidents exported to CSV and re-imported to measure the import rate")
    parser.add_argument("--import-into", choices=["geography", "full"], default="geography",
                        help="import into a copy of the geography only (the importer's speed) or"
                             " of the whole database (the version-file copy included)")
    parser.add_argument("--import-repeat", type=int, default=1, help="timed imports")
    parser.add_argument("--import-command", action="store_true",
                        help="import with `python -m dashboard import incidents` in a new process"
                             " (as an operator does) instead of in this one")
    parser.add_argument("--import-kind", choices=sorted(IMPORT_KINDS), default="sample",
                        help="the CSV's incidents: a random sample of all years (default) or the"
                             " newest registrations (a delivery of recent months)")
    parser.add_argument("--tmp", help="folder for the import's copies (default: system temp)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if --db exists")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only these sections (repeatable; default: all)")
    args = parser.parse_args()
    sections = set(args.only or SECTIONS)
    if not (SHARED / "gemeente_2025.geojson").is_file():
        print(f"skipped: real reference data not found at {SHARED}")
        return 0
    store = Store(args.db)
    print(f"Benchmark database {args.db} ({date.today()})")
    if args.rebuild or not store.exists():
        for step, seconds, note in build(store, args.incidents, args.years):
            print(f"  {step:<48} {seconds:8.1f} s  {note}")
    n = store.read().execute("SELECT count(*) FROM incidents").fetchall()[0][0]
    print(f"  incidents in database: {n:,}")
    if args.import_sample and "import" in sections:
        runs = incident_import_rate(store, args.import_sample, into=args.import_into,
                                    repeat=args.import_repeat, tmp_dir=args.tmp,
                                    kind=args.import_kind, command=args.import_command)
        how = " by the command" if args.import_command else ""
        for r in runs:
            print(f"  import incidents CSV ({args.import_kind}){how} into a copy of the"
                  f" {args.import_into}: {r['rows']:,} rows"
                  f" in {r['seconds']:.1f} s = {r['rows'] / r['seconds']:,.0f} rows/s, CPU"
                  f" {r['cpu_seconds']:.1f} s, peak memory {r['maxrss_mb']:,.0f} MB (placement grids"
                  f" built before: {r['grid_seconds']:.1f} s; load average {r['load']:.1f})")
        if len(runs) > 1:
            rates = [r["rows"] / r["seconds"] for r in runs]
            print(f"  import rate median {statistics.median(rates):,.0f} rows/s"
                  f" over {len(runs)} runs")
    if "queries" in sections:
        print(f"\nQueries ({args.repeat} runs each, ms)   query layer median / p95   bare SQL median / p95   ratio")
        for name, layer, bare in query_benchmarks(store, args.repeat):
            ratio = statistics.median(layer) / statistics.median(bare)
            print(f"  {name:<78} {statistics.median(layer):7.1f} / {p95(layer):7.1f}"
                  f"   {statistics.median(bare):7.1f} / {p95(bare):7.1f}   {ratio:4.2f}x")
    if "pages" in sections:
        _print_timings(f"Page queries ({args.repeat} runs each, ms)",
                       page_query_benchmarks(store, args.repeat))
    if "maps" in sections:
        timings, sizes = map_benchmarks(store, args.repeat)
        _print_timings(f"Map queries ({args.repeat} runs each, ms)", timings)
        print("\nMap payload (GeoJSON geometry)                      raw kB   gzip kB   features")
        for name, raw, packed, features in sizes:
            print(f"  {name:<48} {raw:9.1f} {packed:9.1f} {features:10,}")
    if "incidents" in sections:
        _print_timings(f"Incident table ({args.repeat} runs each, ms)",
                       incident_table_benchmarks(store, args.repeat))
    return 0


def _print_timings(title: str, rows) -> None:
    print(f"\n{title}   median / p95   (load average after:"
          f" {' '.join(f'{v:.2f}' for v in os.getloadavg())})")
    for name, samples in rows:
        print(f"  {name:<78} {statistics.median(samples):7.1f} / {p95(samples):7.1f}")


if __name__ == "__main__":
    sys.exit(main())
