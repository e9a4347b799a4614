"""Command line: ``python -m dashboard [--db PATH] COMMAND ...`` (``--help`` on every command).

Commands import their implementation lazily so that ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from dashboard.config import from_environment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Veiligheidsbeeld: crime and incident dashboard for het gezag.")
    parser.add_argument("--db", type=Path, help="DuckDB database (overrides DASHBOARD_DB)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="serve the app (builds the demo database if missing)")
    run.add_argument("--host", help="address to bind (default DASHBOARD_HOST or 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default DASHBOARD_PORT or 8050)")
    run.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    run.add_argument("--dev", action="store_true", help="Dash development server instead of gunicorn")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser("demo", help="build the demo database")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")
    demo.add_argument("--years", type=int, default=5, help="years of incidents up to now")
    demo.add_argument("--on-imported", action="store_true",
                      help="synthesize incidents over the geography already imported into --db")
    demo.add_argument("--incidents", type=int, default=None,
                      help="with --on-imported: total number of incidents (default: realistic rates)")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(handler=cmd_demo)

    imp = commands.add_parser("import", help="import boundaries, lookups, counts, incidents, population")
    kinds = imp.add_subparsers(dest="kind", metavar="KIND", required=True)
    b = kinds.add_parser("boundaries", help="area boundaries (GeoJSON, GeoPackage, Shapefile; any CRS)")
    b.add_argument("--level", required=True,
                   choices=["eenheid", "gemeente", "wijk", "buurt", "pc4", "pc6"])
    b.add_argument("--vintage", type=int, help="indeling year (default: from the file name or data)")
    b.add_argument("--code-field", help="attribute holding the area code (default: guessed)")
    b.add_argument("--name-field", help="attribute holding the area name (default: guessed)")
    lk = kinds.add_parser("lookup", help="gemeente -> regionale eenheid (and district/basisteam) CSV")
    c = kinds.add_parser("counts", help="registered-crime counts (CBS/Politie TypedDataSet, tidy, "
                                        "or the Misdaad-in-Kaart PC4 monthly file)")
    i = kinds.add_parser("incidents", help="incident-level registrations (layout in README)")
    p = kinds.add_parser("population", help="population CSV (area_code,year,population or CBS layouts)")
    for sub in (b, lk, c, i, p):
        sub.add_argument("file", type=Path)
        sub.add_argument("--strict", action="store_true", help="any rejected row makes the import fail")
        sub.add_argument("--json", action="store_true", help="print the summary as JSON")
        sub.add_argument("--rejected-file", type=Path,
                         help="where rejected rows go (default: <file>.rejected.csv)")
        sub.set_defaults(handler=cmd_import)

    db = commands.add_parser("db", help="inspect the database")
    dbc = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    info = dbc.add_parser("info", help="what is loaded")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=cmd_db_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `run` is the default command
        args = parser.parse_args([*(argv or sys.argv[1:]), "run"])
    settings = from_environment()
    args.db_path = args.db or settings.db
    args.settings = settings
    return args.handler(args) or 0


def _store(args):
    from data.store import Store
    return Store(args.db_path)


def cmd_run(args) -> int:
    from data.demo import build_demo

    store = _store(args)
    if not store.exists():
        print(f"Database {args.db_path} not found: building the demo database ...", flush=True)
        summary = build_demo(store, progress=lambda msg: print(f"  {msg}", flush=True))
        print(f"Demo database ready: {summary['incidents']:,} incidents.", flush=True)
    host = args.host or args.settings.host
    port = args.port or args.settings.port
    env = {**os.environ, "DASHBOARD_DB": str(Path(args.db_path).resolve())}
    if args.dev:
        from dashboard import create_app
        os.environ.update(env)
        create_app().run(host=host, port=port, debug=True, dev_tools_disable_version_check=True)
        return 0
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    print(f"Serving on http://{host}:{port}/", flush=True)
    os.execvpe(gunicorn, [gunicorn, "--workers", str(args.workers), "--bind", f"{host}:{port}",
                          "--no-control-socket", "dashboard:create_app()"], env)


def cmd_demo(args) -> int:
    from data.demo import build_demo, synthesize_on_imported

    store = _store(args)
    progress = None if args.json else (lambda msg: print(f"  {msg}", flush=True))
    if args.on_imported:
        summary = synthesize_on_imported(store, seed=args.seed, years=args.years,
                                         incidents=args.incidents, progress=progress)
    else:
        summary = build_demo(store, seed=args.seed, years=args.years, progress=progress)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(f"Demo database {args.db_path}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return 0


def cmd_import(args) -> int:
    from data.importers import FatalImportError, run_import

    try:
        result = run_import(_store(args), args.kind, args.file, strict=args.strict,
                            rejected_file=args.rejected_file,
                            options={k: getattr(args, k, None)
                                     for k in ("level", "vintage", "code_field", "name_field")})
    except FatalImportError as exc:
        if args.json:
            print(json.dumps({"error": str(exc), **exc.location()}))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict()) if args.json else result.summary())
    return 0


def cmd_db_info(args) -> int:
    from data.queries.info import database_info, format_info

    info = database_info(_store(args))
    print(json.dumps(info, indent=2, default=str) if args.json else format_info(info))
    return 0
