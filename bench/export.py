"""Export benchmark: a national incident export (~5 M rows) to CSV and a smaller one to XLSX,
each in its own process, through the same code as the web export (data/export.py). Prints rows/s,
the peak memory (maxrss) and CPU seconds of each export process (all of it, and the export alone:
on 2 cores rows/s can reach at most rows / (export CPU / 2)). Asserts nothing.

    .venv/bin/python bench/export.py                          # bench/out/national.duckdb
    .venv/bin/python bench/export.py --memory-limit 640MB --window-rows 400000
    .venv/bin/python bench/export.py --xlsx-rows 1100000      # XLSX over two sheets (slow)

The database is the one bench/run.py builds (40 M incidents over 10 years); it is opened
read-only. The date range is chosen from the monthly counts (newest months first) so that the
export holds about ``--rows`` rows. Scope: every gemeente, detail level 3 (all 17 columns).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def date_range(con, rows: int) -> tuple[date, date, int]:
    """The newest whole months holding at least ``rows`` incidents: (first day, last day, n)."""
    months = con.execute(
        "SELECT period_start, sum(count) FROM counts WHERE source = 'incidents'"
        " AND level = 'gemeente' AND period_type = 'M' GROUP BY 1 ORDER BY 1 DESC").fetchall()
    total, start = 0, months[0][0]
    for month, n in months:
        total, start = total + n, month
        if total >= rows:
            break
    end = con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0]
    if total > rows * 1.2:  # one month is too coarse: count days instead
        days = con.execute("SELECT occurred_date, count(*) FROM incidents WHERE occurred_date"
                           " >= ? GROUP BY 1 ORDER BY 1 DESC", [start]).fetchall()
        total = 0
        for day, n in days:
            total, start = total + n, day
            if total >= rows:
                break
    return start, end, total


def child(args) -> int:
    """One export in this process; prints a JSON line with rows, seconds, bytes, maxrss."""
    import data.export as export
    from data.queries.incidents import IncidentFilter
    from data.scope import Scope
    from data.store import Store

    if args.window_rows:
        export.WINDOW_ROWS = args.window_rows
    if args.prefetch is not None:
        export.PREFETCH_BATCHES = args.prefetch
    store = Store(args.db, threads=args.threads, memory_limit=args.memory_limit)
    con = store.read()
    gemeenten = frozenset(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())
    scope = Scope(gemeenten, 3)
    flt = IncidentFilter(start=date.fromisoformat(args.start), end=date.fromisoformat(args.end))
    info = export.provenance(user="bench", flt=flt)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        path = Path(tmp) / f"export.{args.child}"
        before = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        if args.child == "csv":
            rows = 0

            def progress(n):
                nonlocal rows
                rows = n
            with open(path, "wb") as fh:
                for chunk in export.csv_chunks(con, scope=scope, flt=flt, info=info,
                                               progress=progress):
                    fh.write(chunk)
        else:
            rows = export.xlsx_file(con, scope=scope, flt=flt, info=info, path=path)
        seconds = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF)
        size = path.stat().st_size
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"rows": rows, "seconds": seconds, "bytes": size,
                      "maxrss_mb": usage.ru_maxrss / 1024,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "export_cpu_seconds": after.ru_utime + after.ru_stime
                      - before.ru_utime - before.ru_stime}))
    return 0


def run_child(args, fmt: str, start: date, end: date) -> dict:
    command = [sys.executable, __file__, "--child", fmt, "--db", str(args.db),
               "--start", start.isoformat(), "--end", end.isoformat(),
               "--memory-limit", args.memory_limit, "--threads", str(args.threads),
               "--window-rows", str(args.window_rows or 0)]
    if args.prefetch is not None:
        command += ["--prefetch", str(args.prefetch)]
    if args.tmp:
        command += ["--tmp", args.tmp]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "national.duckdb")
    parser.add_argument("--rows", type=int, default=5_000_000, help="CSV export size (about)")
    parser.add_argument("--xlsx-rows", type=int, default=100_000,
                        help="XLSX export size (about; the web limit is data.export.XLSX_ROW_LIMIT)")
    parser.add_argument("--memory-limit", default=os.environ.get("DASHBOARD_DB_MEMORY", "640MB"),
                        help="DuckDB memory_limit of the export process")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--window-rows", type=int, default=0,
                        help="rows per date window (default data.export.WINDOW_ROWS)")
    parser.add_argument("--prefetch", type=int, default=None,
                        help="batches prefetched by a thread (default data.export.PREFETCH_BATCHES)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per format")
    parser.add_argument("--tmp", help="folder for the export files (default: system temp)")
    parser.add_argument("--child", choices=["csv", "xlsx"], help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    from data.export import WINDOW_ROWS
    from data.store import Store

    if not args.db.exists():
        print(f"skipped: {args.db} not found (build it with bench/run.py)")
        return 0
    con = Store(args.db).read()
    total = con.execute("SELECT count(*) FROM incidents").fetchall()[0][0]
    print(f"Export benchmark on {args.db} ({total:,} incidents), national scope, detail 3, "
          f"DuckDB memory_limit {args.memory_limit}, threads {args.threads}, "
          f"rows per window {args.window_rows or WINDOW_ROWS:,}")
    plans = [("csv", *date_range(con, args.rows)), ("xlsx", *date_range(con, args.xlsx_rows))]
    con.close()
    for fmt, start, end, expected in plans:
        if fmt == "xlsx" and not args.xlsx_rows:
            continue
        for _ in range(args.repeat):
            r = run_child(args, fmt, start, end)
            print(f"  {fmt:<4} {start} .. {end}: {r['rows']:>10,} rows in {r['seconds']:7.1f} s"
                  f" = {r['rows'] / r['seconds']:>9,.0f} rows/s, {r['bytes'] / 2**20:8.1f} MB file,"
                  f" peak memory {r['maxrss_mb']:7.1f} MB, CPU {r['cpu_seconds']:6.1f} s"
                  f" (export {r['export_cpu_seconds']:5.1f} s)"
                  f" (load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
