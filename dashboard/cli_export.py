"""``python -m dashboard export incidents``: the web export (CSV or XLSX) on the command line,
for the scope of one user, logged like a download (view ``cli/export``). For scheduled
deliveries, e.g. a daily file per gemeente from cron (see README.md).

Exit codes: 0 written; 1 unknown user or database; 2 bad input (filter, sort, columns,
too many rows for XLSX); 3 outside the user's scope (logged as refused).
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


def add_export_parser(commands) -> None:
    exp = commands.add_parser("export", help="export data as a file (the web export, for cron)")
    ec = exp.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    inc = ec.add_parser(
        "incidents", help="incidents of a user's scope as CSV or XLSX (logged as cli/export)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Example: export incidents --as gm-havenstad --from 2026-11-01 --to 2026-11-30 "
               "--format csv --out havenstad.csv. A descending sort needs '=': --sort=-pleegdatum.")
    inc.add_argument("--as", dest="as_user", required=True, metavar="USER",
                     help="the account whose scope and detail level apply")
    inc.add_argument("--gemeente", nargs="+", default=[], metavar="GM",
                     help="only these gemeenten (must lie in the user's scope)")
    inc.add_argument("--from", dest="from_", metavar="YYYY-MM-DD", help="first date of occurrence")
    inc.add_argument("--to", metavar="YYYY-MM-DD", help="last date of occurrence (inclusive)")
    inc.add_argument("--type", nargs="+", default=[], metavar="CODE",
                     help="crime types or bundles, e.g. 1.1.1 woninginbraak")
    inc.add_argument("--area", nargs="+", default=[], metavar="CODE",
                     help="areas at any level (wijk, buurt, PC4, ...)")
    inc.add_argument("--attempt", choices=["ja", "nee"], help="only attempts / only completed")
    inc.add_argument("--high-impact", choices=["ja", "nee"], help="only (non-)high-impact crime")
    inc.add_argument("--q", metavar="TEXT", help="text search in summary and MO (detail level 3)")
    inc.add_argument("--columns", metavar="KEY,KEY",
                     help="columns to export, comma separated (default: all the user may see)")
    inc.add_argument("--sort", metavar="[-]COLUMN", default="-pleegdatum",
                     help="sort column, '-' for descending (write --sort=-pleegdatum)")
    inc.add_argument("--format", choices=["csv", "xlsx"], required=True)
    inc.add_argument("--sep", choices=[";", ","], default=";", help="CSV separator")
    inc.add_argument("--max-rows", type=int, default=None,
                     help="XLSX: refuse more rows than this (default: the web limit)")
    inc.add_argument("--out", type=Path, required=True, help="file to write (replaced atomically)")
    inc.set_defaults(handler=cmd_export)


def _error(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_export(args) -> int:
    from dataclasses import replace

    from dashboard.exports import dataset_label
    from data import protocol
    from data.accounts import get_profile, get_user
    from data.export import (EXPORT_MEMORY_LIMIT, XLSX_ROW_LIMIT, ExportTooLarge,
                             check_xlsx_size, csv_chunks, export_queries, provenance, xlsx_file)
    from data.queries.incidents import (FilterError, count_incidents, parse_filter, parse_sort,
                                        resolve_columns)
    from data.scope import OutOfScope, resolve_scope
    from data.state import StateDB
    from data.store import Store

    settings = args.settings
    memory = os.environ.get("DASHBOARD_DB_MEMORY") or EXPORT_MEMORY_LIMIT
    store = Store(args.db_path, threads=settings.db_threads, memory_limit=memory)
    if not store.exists():
        return _error(f"database {args.db_path} does not exist", 1)
    state = StateDB(settings.state_target())
    user = get_user(state, args.as_user)
    if user is None:
        return _error(f"no user {args.as_user!r}", 1)
    if user.demo and store.meta().get("demo") != "true":
        return _error(f"{args.as_user!r} is a demo account; it has no access outside the demo "
                      "database", 1)
    con = store.read()
    scope = resolve_scope(user, con=con, profile_for=lambda code: get_profile(state, code))
    client = f"cli:{getpass.getuser()}"
    params = {"from": args.from_, "to": args.to, "type": args.type, "area": args.area,
              "attempt": args.attempt, "high_impact": args.high_impact, "q": args.q}
    try:
        if args.gemeente:
            outside = set(args.gemeente) - scope.gemeenten
            if outside:
                raise OutOfScope(f"gemeente {sorted(outside)[0]} outside scope")
            scope = replace(scope, gemeenten=frozenset(args.gemeente))
        flt = parse_filter(params)
        sort = parse_sort(args.sort)
        chosen = resolve_columns(scope=scope, keys=args.columns)
        export_queries(con, scope=scope, flt=flt, sort=sort, columns=args.columns)
        total = count_incidents(con, scope=scope, flt=flt)
        if args.format == "xlsx":
            check_xlsx_size(total, args.max_rows or XLSX_ROW_LIMIT)
    except OutOfScope as exc:
        protocol.record(state, user=user, scope=scope, view="cli/export",
                        filters={k: v for k, v in params.items() if v}, rows=0, client=client,
                        outcome="refused", detail=exc.detail)
        return _error(f"{exc} ({exc.detail})", 3)
    except (FilterError, ExportTooLarge) as exc:
        return _error(str(exc), 2)

    info = provenance(user=user.name, flt=flt, dataset=dataset_label(store))
    if args.gemeente:
        info["filters"]["gemeenten"] = sorted(args.gemeente)
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        if args.format == "csv":
            with open(tmp, "wb") as fh:
                for chunk in csv_chunks(con, scope=scope, flt=flt, sort=sort,
                                        columns=args.columns, sep=args.sep, info=info):
                    fh.write(chunk)
        else:
            xlsx_file(con, scope=scope, flt=flt, sort=sort, columns=args.columns, info=info,
                      path=tmp)
        filters = {**flt.describe(), "columns": [c.key for c in chosen], "sort": args.sort,
                   "format": args.format, "out": str(out)}
        if args.gemeente:
            filters["gemeenten"] = sorted(args.gemeente)
        protocol.record(state, user=user, scope=scope, view="cli/export", filters=filters,
                        rows=total, client=client)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    print(f"{total} rows written to {out}")
    return 0
