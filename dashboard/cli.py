"""Command line: ``python -m dashboard [--db PATH] COMMAND ...`` (``--help`` on every command).

Commands import their implementation lazily so that ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from dashboard.config import from_environment


def build_parser() -> argparse.ArgumentParser:
    from dashboard.cli_jobs import add_background

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
                      help="total number of incidents (default: realistic rates)")
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
    cd = kinds.add_parser("codes", help="CBS code list of gemeenten, wijken and buurten of an "
                                         "indeling (names and hierarchy, no shapes)")
    c = kinds.add_parser("counts", help="registered-crime counts (CBS/Politie TypedDataSet, tidy, "
                                        "or the Misdaad-in-Kaart PC4 monthly file)")
    i = kinds.add_parser("incidents", help="incident-level registrations (layout in README)")
    i.add_argument("--no-merge", action="store_true",
                   help="leave the bundle counts imports appended to `db derive`, also when "
                        "they are due to be merged (README, Importing data)")
    p = kinds.add_parser("population", help="population CSV (area_code,year,population or CBS layouts)")
    src = kinds.add_parser("source", help="a gemeente's own dataset (area_code,period,category,"
                                          "count[,lon,lat]); replaces that source of that gemeente")
    src.add_argument("--gemeente", required=True, help="the owner gemeente, e.g. GM0363")
    src.add_argument("--source", required=True, help="short name of the source, e.g. handhaving")
    src.add_argument("--title", required=True, help='title shown with every figure, e.g. "BOA-registraties"')
    src.add_argument("--description", help="what is counted (unit, definition)")
    for sub in (b, lk, cd, c, i, p, src):
        sub.add_argument("file", type=Path)
        sub.add_argument("--strict", action="store_true", help="any rejected row makes the import fail")
        sub.add_argument("--json", action="store_true", help="print the summary as JSON")
        sub.add_argument("--rejected-file", type=Path,
                         help="where rejected rows go (default: <file>.rejected.csv)")
        sub.set_defaults(handler=cmd_import)
        add_background(sub)

    db = commands.add_parser("db", help="inspect the database")
    dbc = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    info = dbc.add_parser("info", help="what is loaded")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=cmd_db_info)
    derive = dbc.add_parser("derive", help="rebuild the counts derived from the incidents "
                            "(bundle counts per gemeente and per wijk, buurt and PC4), in a new "
                            "data version; for a database from an older release")
    derive.set_defaults(handler=cmd_db_derive)

    st = commands.add_parser("state", help="the state database (SQLite or PostgreSQL)")
    stc = st.add_subparsers(dest="state_command", metavar="ACTION", required=True)
    sinfo = stc.add_parser("info", help="backend, applied migrations and rows per table")
    sinfo.add_argument("--json", action="store_true", help="print as JSON")
    sinfo.set_defaults(handler=cmd_state)
    mig = stc.add_parser("migrate", help="copy the SQLite state into an empty PostgreSQL "
                                         "database (the SQLite file is left untouched)")
    mig.add_argument("--to", required=True, metavar="URL",
                     help="postgresql://user@host:5432/name (must have no state rows yet)")
    mig.add_argument("--from", dest="source", type=Path, metavar="FILE",
                     help="SQLite state file (default: DASHBOARD_STATE_DB or appstate.sqlite "
                          "beside the database)")
    mig.add_argument("--json", action="store_true", help="print the rows per table as JSON")
    mig.set_defaults(handler=cmd_state)

    users = commands.add_parser("users", help="accounts (stored in the state database)")
    uc = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = uc.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True,
                     choices=["beheerder", "analist", "teamchef", "burgemeester", "adviseur",
                              "dienst", "gegevensbeheerder"],
                     help="dienst: a service account for a system-to-system delivery (API "
                          "tokens only, no web login, no password)")
    add.add_argument("--gemeente", nargs="+", default=[], metavar="GM",
                     help="gemeente codes (teamchef: also basisteam or district codes)")
    add.add_argument("--eenheid", nargs="+", default=[], metavar="RE", help="regionale eenheden (analist)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--email", help="address for meldingen by e-mail (optional)")
    add.set_defaults(handler=cmd_users)
    em = uc.add_parser("set-email", help="set the address meldingen are mailed to ('' removes it)")
    em.add_argument("name")
    em.add_argument("email")
    em.set_defaults(handler=cmd_users)
    uc.add_parser("list", help="list accounts").set_defaults(handler=cmd_users)
    sr = uc.add_parser("set-role", help="change an account's role and areas (ends its sessions)")
    sr.add_argument("name")
    sr.add_argument("--role", required=True,
                    choices=["beheerder", "analist", "teamchef", "burgemeester", "adviseur",
                             "dienst", "gegevensbeheerder"])
    sr.add_argument("--gemeente", nargs="+", default=[], metavar="GM")
    sr.add_argument("--eenheid", nargs="+", default=[], metavar="RE")
    sr.set_defaults(handler=cmd_users)
    lo = uc.add_parser("logout", help="end every session of an account now")
    lo.add_argument("name")
    lo.set_defaults(handler=cmd_users)
    rm = uc.add_parser("remove", help="delete an account (ends its sessions, revokes its tokens)")
    rm.add_argument("name")
    rm.set_defaults(handler=cmd_users)
    for action, text in (("disable", "disable an account (ends its sessions; no login, no "
                                     "API token works)"), ("enable", "enable it again")):
        toggle = uc.add_parser(action, help=text)
        toggle.add_argument("name")
        toggle.set_defaults(handler=cmd_users)
    pw = uc.add_parser("set-password", help="set a new password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    pw.set_defaults(handler=cmd_users)

    profiles = commands.add_parser("profiles", help="agreement profiles per gemeente")
    pc = profiles.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    show = pc.add_parser("show", help="show profiles (all agreed ones, or one gemeente)")
    show.add_argument("gemeente", nargs="?")
    show.add_argument("--json", action="store_true", help="print as JSON")
    show.set_defaults(handler=cmd_profiles)
    pset = pc.add_parser("set", help="change a gemeente's profile (logged)")
    pset.add_argument("gemeente")
    pset.add_argument("--detail", type=int, choices=[1, 2, 3],
                      help="1 aggregates, 2 + incident lists, 3 + address, MO and summary")
    pset.add_argument("--driehoek", nargs="+", metavar="CODE",
                      help="driehoeksmonitor indicators: bundle or crime-type codes")
    pset.add_argument("--product", nargs=2, action="append", metavar=("PRODUCT", "FREQUENCY"),
                      help="periodic product and its frequency, e.g. incidentenrapport wekelijks")
    pset.add_argument("--vaststellen", nargs="+", metavar="PRODUCT", default=[],
                      help="products the police release with their commentary first (a concept)")
    pset.add_argument("--automatisch", nargs="+", metavar="PRODUCT", default=[],
                      help="products that go out automatically again (the default)")
    pset.add_argument("--near-repeat-meters", type=int, metavar="M",
                      help="near-repeat zone radius in metres (50-1000, default 200)")
    pset.add_argument("--near-repeat-days", type=int, metavar="DAYS",
                      help="near-repeat raised-risk period in days (3-60, default 14)")
    pset.add_argument("--melding-types", nargs="+", metavar="CODE",
                      help="types or bundles that count as large impact for meldingen (raids "
                           "N06 always); 'standaard' restores the default list")
    pset.add_argument("--melding-delivery", choices=["direct", "dagelijks"],
                      help="meldingen by e-mail at once (direct) or as one daily digest")
    pset.add_argument("--bronnen-delen", nargs="*", metavar="ROLE", choices=["teamchef", "analist"],
                      help="police roles that see the gemeente's own sources (none: only the"
                           " gemeente's users)")
    pset.set_defaults(handler=cmd_profiles)

    mel = commands.add_parser("meldingen", help="alerts on high-impact incidents and raids")
    mc = mel.add_subparsers(dest="meldingen_command", metavar="ACTION", required=True)
    scan = mc.add_parser("scan", help="create missing meldingen from the current database "
                                      "(idempotent) and mail them when SMTP is configured")
    scan.add_argument("--days", type=int,
                      help="incidents registered in the last N days (default DASHBOARD_MELDING_DAYS)")
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")
    scan.add_argument("--digest", action="store_true",
                      help="send the daily digests now (once per user and day) instead of "
                           "from 07:00")
    scan.set_defaults(handler=cmd_meldingen)
    send = mc.add_parser("mail", help="only send: direct mails, updates with a new teamchef "
                                      "note and, when due, the daily digests (idempotent)")
    send.add_argument("--days", type=int,
                      help="meldingen of the last N days (default DASHBOARD_MELDING_DAYS)")
    send.add_argument("--digest", action="store_true",
                      help="send the daily digests now (once per user and day) instead of "
                           "from 07:00")
    send.add_argument("--json", action="store_true", help="print the summary as JSON")
    send.set_defaults(handler=cmd_meldingen)
    add_background(send)

    log = commands.add_parser("log", help="the protocol log (Wet politiegegevens)")
    lc = log.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    export = lc.add_parser("export", help="print log rows (CSV, or JSON lines with --json)")
    export.add_argument("--since", help="ISO date or time, e.g. 2026-11-01")
    export.add_argument("--user", help="only this user")
    export.add_argument("--limit", type=int, default=100000)
    export.add_argument("--json", action="store_true", help="one JSON object per line")
    export.set_defaults(handler=cmd_log)

    tokens = commands.add_parser("tokens", help="API tokens for the data-delivery API (/api/v1/)")
    tc = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    tcreate = tc.add_parser("create", help="create a token for a service account (printed "
                                           "once); personal tokens are made on Mijn account")
    tcreate.add_argument("--user", required=True,
                         help="the service account (role dienst) the token acts for")
    tcreate.add_argument("--label", default="", help="what the token is for, e.g. the system")
    tcreate.add_argument("--json", action="store_true", help="print id and token as JSON")
    tcreate.set_defaults(handler=cmd_tokens)
    tlist = tc.add_parser("list", help="list tokens (never the token itself)")
    tlist.add_argument("--json", action="store_true", help="one JSON object per line")
    tlist.set_defaults(handler=cmd_tokens)
    trevoke = tc.add_parser("revoke", help="revoke a token by its id")
    trevoke.add_argument("id", type=int)
    trevoke.set_defaults(handler=cmd_tokens)

    from dashboard.cli_export import add_export_parser
    add_export_parser(commands)
    from dashboard.cli_reports import add_reports_parser
    add_reports_parser(commands)
    from dashboard.cli_jobs import add_jobs_parser
    add_jobs_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `run` is the default command
        args = parser.parse_args([*(argv or sys.argv[1:]), "run"])
    # One resolution of paths for every command: the database link (never followed), the state
    # database, the products folder and the demo secret key all come from these settings.
    args.settings = from_environment().with_overrides({"db": args.db} if args.db else None).resolved()
    args.db_path = args.settings.db
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.handler(args) or 0
    except Exception as exc:
        from data.store import StoreBusy
        if not isinstance(exc, StoreBusy):
            raise
        print(f"error: {exc}: nothing was changed; try again when it is done", file=sys.stderr)
        return BUSY


#: Exit code when another process is writing the database (EX_TEMPFAIL: try again later).
BUSY = 75


def _store(args):
    from data.store import Store
    return Store(args.db_path)


def cmd_run(args) -> int:
    from data.demo import build_demo, seed_state

    store = _store(args)
    if not store.exists():
        print(f"Database {args.db_path} not found: building the demo database ...", flush=True)
        summary = build_demo(store, progress=lambda msg: print(f"  {msg}", flush=True))
        summary.update(seed_state(store, _state(args), args.settings.with_overrides(
            {"db": args.db_path}), progress=lambda msg: print(f"  {msg}", flush=True)))
        print(f"Demo database ready: {summary['incidents']:,} incidents.", flush=True)
    host = args.host or args.settings.host
    port = args.port or args.settings.port
    env = {**os.environ, **args.settings.environment()}
    if args.dev:
        from dashboard import create_app
        os.environ.update(env)
        app = create_app()
        app.config.suppress_callback_exceptions = False  # the browser checks the wiring
        app.run(host=host, port=port, debug=True, dev_tools_disable_version_check=True)
        return 0
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    print(f"Serving on http://{host}:{port}/", flush=True)
    os.execvpe(gunicorn, [gunicorn, "--workers", str(args.workers), "--bind", f"{host}:{port}",
                          "--no-control-socket", "dashboard:create_app()"], env)


def cmd_demo(args) -> int:
    from data.demo import build_demo, seed_state, synthesize_on_imported

    store = _store(args)
    progress = None if args.json else (lambda msg: print(f"  {msg}", flush=True))
    if args.on_imported:
        summary = synthesize_on_imported(store, seed=args.seed, years=args.years,
                                         incidents=args.incidents, progress=progress)
    else:
        summary = build_demo(store, seed=args.seed, years=args.years, progress=progress,
                             incidents=args.incidents)
        summary.update(seed_state(store, _state(args), args.settings.with_overrides(
            {"db": args.db_path}), progress=progress))
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(f"Demo database {args.db_path}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return 0


def cmd_import(args) -> int:
    from dashboard.cli_jobs import background, import_argv
    from data.importers import FatalImportError, merge_appended, run_import

    queued = background(args, "import", {"argv": import_argv(args)})
    if queued is not None:
        return queued
    try:
        result = run_import(_store(args), args.kind, args.file, strict=args.strict,
                            rejected_file=args.rejected_file,
                            options={k: getattr(args, k, None)
                                     for k in ("level", "vintage", "code_field", "name_field",
                                               "gemeente", "source", "title", "description")}
                            | (_operator_source(args) if args.kind == "source" else {}))
    except FatalImportError as exc:
        if args.json:
            print(json.dumps({"error": str(exc), **exc.location()}))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict()) if args.json else result.summary())
    if args.kind == "incidents":
        from data.meldingen import after_import

        made = after_import(_store(args), _state(args), args.settings, batch=args.file.name)
        print("meldingen: " + ", ".join(f"{k} {v}" for k, v in made.items()), file=sys.stderr)
        # After the meldingen: the new data already serve; this makes later reads cheaper.
        merged = None if args.no_merge or not result.rows else merge_appended(_store(args))
        if merged:
            print(f"derived counts merged: the bundle rows imports appended were"
                  f" {merged['share']:.0%} of those built in full; rebuilt ({merged['rows']:,}"
                  f" rows) in {merged['seconds']:.1f} s", file=sys.stderr)
    return 0


def _state(args):
    from data.cache import configure
    from data.state import StateDB
    state = StateDB(args.settings.state_target())
    configure(state, args.settings.redis_url)  # account changes reach every host's cache
    return state


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass
    return getpass.getpass("Wachtwoord: ")


def cmd_users(args) -> int:
    from data import accounts

    state = _state(args)
    try:
        if args.users_command == "add":
            password = "" if args.role == accounts.SERVICE_ROLE else _password(args)
            user = accounts.add_user(state, args.name, args.role, password,
                                     gemeenten=args.gemeente, eenheden=args.eenheid,
                                     email=args.email, by=_operator())
            print(f"user {user.name} added ({user.role})")
            unknown = _unknown_codes(args, [*args.gemeente, *args.eenheid])
            if unknown:
                print(f"warning: not in the database (yet): {', '.join(unknown)}; the user sees "
                      "nothing there until these areas are imported", file=sys.stderr)
        elif args.users_command == "list":
            for user in accounts.list_users(state):
                areas = ",".join(user.gemeenten + user.eenheden) or "-"
                flag = ("\tdemo" if user.demo else "") + ("\tdisabled" if user.disabled else "")
                print(f"{user.name}\t{user.role}\t{areas}{flag}")
        elif args.users_command == "set-role":
            accounts.set_role(state, args.name, args.role, gemeenten=args.gemeente,
                              eenheden=args.eenheid)
            print(f"user {args.name} is now {args.role}; its sessions have ended")
        elif args.users_command == "logout":
            if accounts.get_user(state, args.name) is None:
                print(f"error: no user {args.name!r}", file=sys.stderr)
                return 1
            accounts.end_sessions(state, args.name)
            print(f"every session of {args.name} has ended")
        elif args.users_command == "remove":
            if not accounts.remove_user(state, args.name, by=_operator()):
                print(f"error: no user {args.name!r}", file=sys.stderr)
                return 1
            print(f"user {args.name} removed")
        elif args.users_command == "set-email":
            accounts.set_email(state, args.name, args.email)
            print(f"e-mail of {args.name} {'set' if args.email else 'removed'}")
        elif args.users_command == "set-password":
            accounts.set_password(state, args.name, _password(args), by=_operator())
            print(f"password of {args.name} changed; its sessions have ended")
        elif args.users_command in ("disable", "enable"):
            accounts.set_disabled(state, args.name, args.users_command == "disable",
                                  by=_operator())
            print(f"user {args.name} {args.users_command}d"
                  + ("; its sessions have ended" if args.users_command == "disable" else ""))
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _operator() -> str:
    """Who acts on the command line, for the protocol log."""
    import getpass
    return f"cli:{getpass.getuser()}"


def _unknown_codes(args, codes: list[str]) -> list[str]:
    from data.accounts import known_codes
    from data.store import Store

    store = Store(args.db_path)
    if not store.exists():
        return []
    return sorted(set(codes) - known_codes(store.read(), codes))


def cmd_profiles(args) -> int:
    import dataclasses
    import getpass

    from data import accounts

    from data.meldingen import profile_delivery, profile_types

    state = _state(args)
    if args.profiles_command == "show":
        profiles = ([accounts.get_profile(state, args.gemeente)] if args.gemeente
                    else accounts.list_profiles(state))
        for p in profiles:
            print(json.dumps(dataclasses.asdict(p)) if args.json else
                  f"{p.gm_code}: detail {p.detail}, "
                  f"driehoek {' '.join(p.driehoek)}, products "
                  + ", ".join(f"{k} {v}" for k, v in p.products.items())
                  + (f", vaststellen {' '.join(p.vaststellen)}" if p.vaststellen else "")
                  + (f", near-repeat {json.dumps(p.near_repeat)}" if p.near_repeat else "")
                  + f", meldingen {' '.join(sorted(profile_types(p)))}"
                    f" ({profile_delivery(p)})"
                  + (f", bronnen gedeeld met {' '.join(p.bronnen_delen)}"
                     if p.bronnen_delen else ""))
        return 0
    current = accounts.get_profile(state, args.gemeente)
    products = {**current.products, **dict(args.product)} if args.product else None
    release = ((set(current.vaststellen) | set(args.vaststellen)) - set(args.automatisch)
               if args.vaststellen or args.automatisch else None)
    near_repeat = None
    if args.near_repeat_meters is not None or args.near_repeat_days is not None:
        near_repeat = dict(current.near_repeat)
        if args.near_repeat_meters is not None:
            near_repeat["afstand_m"] = args.near_repeat_meters
        if args.near_repeat_days is not None:
            near_repeat["dagen"] = args.near_repeat_days
    melding = None
    if args.melding_types or args.melding_delivery:
        melding = dict(current.meldingen)
        if args.melding_types == ["standaard"]:
            melding.pop("types", None)
        elif args.melding_types:
            melding["types"] = args.melding_types
        if args.melding_delivery:
            melding["delivery"] = args.melding_delivery
    try:
        accounts.set_profile(state, args.gemeente, by=f"cli:{getpass.getuser()}",
                             detail=args.detail, meldingen=melding, near_repeat=near_repeat,
                             driehoek=args.driehoek, products=products, vaststellen=release,
                             bronnen_delen=args.bronnen_delen)
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"profile of {args.gemeente} updated")
    return 0


def cmd_meldingen(args) -> int:
    from dashboard.cli_jobs import background
    from data.meldingen import mail, scan

    if args.meldingen_command == "mail":
        queued = background(args, "meldingen-mail",
                            {"days": args.days, "digest": True if args.digest else None})
        if queued is not None:
            return queued
    store = _store(args)
    if not store.exists():
        print(f"error: database {args.db_path} not found", file=sys.stderr)
        return 1
    run = scan if args.meldingen_command == "scan" else mail
    result = run(store, _state(args), args.settings, days=args.days,
                 digest=True if args.digest else None)
    print(json.dumps(result) if args.json else
          (f"{result['meldingen']} new meldingen, " if "meldingen" in result else "")
          + f"{result['mails_sent']} mails sent, {result['mails_failed']} failed")
    return 0


def cmd_log(args) -> int:
    from data import protocol

    rows = protocol.search(_state(args), user=args.user, since=args.since, limit=args.limit)
    rows.reverse()  # oldest first
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        sys.stdout.write(protocol.to_csv(rows))
    return 0


def cmd_tokens(args) -> int:
    import dataclasses
    import getpass

    from data import tokens

    state = _state(args)
    by = f"cli:{getpass.getuser()}"
    try:
        if args.tokens_command == "create":
            record, text = tokens.create_token(state, args.user, label=args.label, by=by)
            if args.json:
                print(json.dumps({"id": record.id, "user": record.user, "token": text}))
            else:
                print(f"token {record.id} for {record.user} (shown only now, store it safely):")
                print(text)
        elif args.tokens_command == "list":
            for t in tokens.list_tokens(state):
                if args.json:
                    print(json.dumps(dataclasses.asdict(t), ensure_ascii=False))
                else:
                    status = f"revoked {t.revoked_at[:16]}" if t.revoked_at else "active"
                    print(f"{t.id}\t{t.user}\t{t.prefix}…\t{t.label or '-'}\t"
                          f"{t.created_at[:16]}\t{status}")
        elif args.tokens_command == "revoke":
            tokens.revoke_token(state, args.id, by=by)
            print(f"token {args.id} revoked")
    except tokens.TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_state(args) -> int:
    if args.state_command == "migrate":
        from data.state.copy import CopyError, copy_to_postgres

        source = args.source or args.settings.state_path()
        try:
            counts = copy_to_postgres(source, args.to, progress=None if args.json else (
                lambda msg: print(f"  {msg}", flush=True)))
        except CopyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(counts))
        else:
            print(f"Copied {sum(counts.values())} rows of {len(counts)} tables from {source}; "
                  f"counts verified. Set DASHBOARD_STATE_URL to use it.")
        return 0
    state = _state(args)
    info = {"backend": state.backend, "target": state.display(),
            "migrations": state.schema_version(), "rows": state.row_counts()}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"{info['backend']}: {info['target']}\nmigrations applied: "
              f"{len(info['migrations'])}\n" + "\n".join(f"  {t}: {n}"
                                                       for t, n in info["rows"].items()))
    return 0


def _operator_source(args) -> dict:
    """A source import on the command line: the operator, who manages the gemeente named."""
    from data.scope import Scope

    gemeente = (args.gemeente or "").upper()
    return {"by": _operator(), "scope": Scope(frozenset({gemeente}), 3, label="operator",
                                              manages=frozenset({gemeente}))}


def cmd_db_derive(args) -> int:
    from data.incidents import rebuild_derived_counts

    store = _store(args)
    if not store.exists():
        print(f"error: no database at {store.path}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with store.write("derived counts rebuilt (db derive)") as con:
        rows = rebuild_derived_counts(con)
    print(f"derived counts rebuilt: {rows[0]:,} bundle rows per gemeente, {rows[1]:,} per wijk, "
          f"buurt and PC4 ({time.perf_counter() - started:.1f} s)")
    return 0


def cmd_db_info(args) -> int:
    from data.queries.info import database_info, format_info

    info = database_info(_store(args))
    print(json.dumps(info, indent=2, default=str) if args.json else format_info(info))
    return 0
