"""Where an incident import's time goes: import a CSV of N incidents (exported from a benchmark
database, as bench/run.py does) into a scratch copy under cProfile and print the wall time of
each step of the importer and the store, then the top functions. Prints numbers; asserts
nothing.

    .venv/bin/python bench/import_profile.py --db /work/benchdb/national.duckdb --tmp /work/tmp
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from data import importers  # noqa: E402
from data.importers import run_import  # noqa: E402
from data.store import Store  # noqa: E402
from run import import_scratch  # noqa: E402

#: (file suffix, function name) of the steps reported, in the order they run.
STEPS = (
    ("data/store.py", "write"),
    ("data/importers/__init__.py", "run_import"),
    ("data/importers/__init__.py", "_sha256"),
    ("data/importers/csvfile.py", "open_csv"),
    ("data/importers/csvfile.py", "_scan"),
    ("data/importers/csvfile.py", "load"),
    ("data/importers/incidents.py", "_parse"),
    ("data/importers/incidents.py", "_place_points"),
    ("data/importers/incidents.py", "_place"),
    ("geo/pointinpolygon.py", "grid_layer"),
    ("geo/pointinpolygon.py", "_lookup"),
    ("geo/pointinpolygon.py", "locate_index"),
    ("geo/projections.py", "rd_to_wgs84"),
    ("data/importers/incidents.py", "_check"),
    ("data/importers/csvfile.py", "rejected_rows"),
    ("data/incidents.py", "append_sorted"),
    ("data/incidents.py", "finalize_appended"),
    ("data/importers/common.py", "write_rejections"),
)


def _cpu() -> float:
    """CPU seconds of this process so far (all threads: DuckDB's and the GEOS pool's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TimedConnection:
    """A DuckDB connection that records the wall time of every statement run through it."""

    def __init__(self, con, timings: list):
        self._con, self._timings = con, timings

    def __getattr__(self, name):
        return getattr(self._con, name)

    def _timed(self, method, sql, *args):
        t, cpu = time.perf_counter(), _cpu()
        out = getattr(self._con, method)(sql, *args)
        if method == "sql":
            return out  # lazy: a relation; what is fetched from it is timed with its caller
        self._timings.append((time.perf_counter() - t, _cpu() - cpu, " ".join(str(sql).split())))
        return out

    def execute(self, sql, *args):
        return self._timed("execute", sql, *args)

    def sql(self, sql, *args):
        return self._timed("sql", sql, *args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "national.duckdb")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--into", choices=["geography", "full"], default="geography")
    parser.add_argument("--kind", choices=["sample", "recent"], default="sample",
                        help="a random sample of all years, or the newest registrations")
    parser.add_argument("--tmp", help="folder for the copies (default: system temp)")
    parser.add_argument("--min-ms", type=float, default=20, help="statements listed from")
    parser.add_argument("--width", type=int, default=110, help="characters of SQL shown")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time")
    args = parser.parse_args()
    store = Store(args.db)
    with import_scratch(store, args.rows, into=args.into, tmp_dir=args.tmp,
                        kind=args.kind) as (scratch, path, _):
        statements = []
        plain = importers._importer

        def timed_importer(kind):
            fn = plain(kind)
            return lambda con, path, **kw: fn(TimedConnection(con, statements), path, **kw)

        importers._importer = timed_importer
        profile = cProfile.Profile()
        before = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        profile.enable()
        result = run_import(scratch, "incidents", path)
        profile.disable()
        seconds = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF)
        importers._importer = plain
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"import of {result.rows:,} incidents into a copy of the {args.into}: {seconds:.2f} s"
          f" = {result.rows / seconds:,.0f} rows/s, CPU {cpu:.1f} s, peak memory"
          f" {after.ru_maxrss / 1024:,.0f} MB, load average {os.getloadavg()[0]:.1f}")
    stats = pstats.Stats(profile)
    print("\nStep (wall seconds, cumulative; nested steps are part of the one above)")
    for suffix, name in STEPS:
        for (file, _, function), row in stats.stats.items():
            if function == name and file.endswith(suffix):
                print(f"  {suffix + ':' + name:<48} {row[3]:7.2f} s  ({row[1]} calls)")
    print(f"\nThe importer's DuckDB statements over {args.min_ms} ms, in order (wall, CPU"
          " seconds)")
    for seconds, cpu, sql in statements:
        if seconds * 1000 >= args.min_ms:
            print(f"  {seconds:6.2f} {cpu:6.2f}  {sql[:args.width]}")
    print(f"  {sum(s[0] for s in statements):6.2f} {sum(s[1] for s in statements):6.2f}"
          "  all statements")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print("\n" + "\n".join(out.getvalue().splitlines()[4:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
