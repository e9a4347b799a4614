"""``python -m dashboard reports``: generated products (Rapportages) on the command line.

* ``reports run --due [--now ISO] [--json]`` — generate whatever is due for every gemeente
  according to its agreement profile (``data/products/schedule.py``); idempotent, safe to run
  from cron every hour (``--background``: queued for the Celery worker, ``dashboard/cli_jobs.py``); one log line per product (stdout and ``reports.log`` in the products
  folder); a kind the profile wants released (``profiles set --vaststellen``) becomes a concept
  for the police instead. Exit code 1 when a product failed, else 0.
* ``reports list [--json]`` — the stored products, newest first.
* ``reports generate KIND --area CODE --reference YYYY-MM-DD [--as USER]`` — one product now
  (a new version when it exists): for the last complete period of the kind's frequency before
  the reference date; with the scope of USER, or without ``--as`` the scope a mayor of the
  gemeente gets.
* ``reports template add --gemeente GM --name NAME --theme CODE,... --sections S,... --period
  P --every FREQUENCY [--soort S] [--title T] [--as USER]``, ``reports template list``,
  ``reports template remove --gemeente GM --name NAME`` — themed-report templates in the
  agreement profile (``data/products/templates.py``); ``reports run --due`` makes them.
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime


def add_reports_parser(commands) -> None:
    from data.products.model import KINDS

    rep = commands.add_parser("reports", help="generated products (Rapportages): schedule, list, "
                                              "generate")
    rc = rep.add_subparsers(dest="reports_command", metavar="ACTION", required=True)
    run = rc.add_parser("run", help="generate the products that are due (idempotent; for cron)")
    run.add_argument("--due", action="store_true", required=True,
                     help="everything due according to the agreement profiles")
    run.add_argument("--now", help="ISO date or time to use as 'now' (default: the clock)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(handler=cmd_reports)
    from dashboard.cli_jobs import add_background
    add_background(run)
    lst = rc.add_parser("list", help="stored products, newest first")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(handler=cmd_reports)
    gen = rc.add_parser("generate", help="generate one product now (a new version if it exists)")
    gen.add_argument("kind", choices=sorted(KINDS))
    gen.add_argument("--area", required=True, help="gemeente (or, with --as, basisteam, "
                                                   "district or eenheid) code")
    gen.add_argument("--reference", required=True, metavar="YYYY-MM-DD",
                     help="the product covers the last complete period before this date")
    gen.add_argument("--as", dest="as_user", metavar="USER",
                     help="build with this account's scope (default: the gemeente's mayor scope)")
    gen.add_argument("--json", action="store_true", help="print the product as JSON")
    gen.set_defaults(handler=cmd_reports)
    add_template_parser(rc)


def add_template_parser(rc) -> None:
    from data.accounts import FREQUENCIES
    from data.products.templates import PERIODS, SECTIONS, TITLES

    tpl = rc.add_parser("template", help="themed-report templates in the agreement profiles")
    tc = tpl.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    add = tc.add_parser("add", help="save a template (replaces one of the same name; logged)")
    add.add_argument("--gemeente", required=True, help="the gemeente (its profile holds it)")
    add.add_argument("--name", required=True, help="short name: a-z, 0-9 and '-'")
    add.add_argument("--soort", default="bestuurlijk", choices=list(TITLES),
                     help="bestuurlijke rapportage, fenomeenrapportage or "
                          "burgemeestersrapportage")
    add.add_argument("--theme", required=True, metavar="CODE,...",
                     help="bundle or type codes, e.g. woninginbraak,geweld,N01")
    add.add_argument("--sections", required=True, metavar="SECTION,...",
                     help="in order, from: " + ", ".join(SECTIONS))
    add.add_argument("--period", required=True, choices=list(PERIODS),
                     help="the period covered (compared with the same period a year before)")
    add.add_argument("--every", required=True, choices=list(FREQUENCIES),
                     help="how often reports run --due makes it")
    add.add_argument("--title", default="", help="subject in the title (default: the theme)")
    add.add_argument("--as", dest="as_user", metavar="USER",
                     help="save as this account (a teamchef or analist: only for a gemeente "
                          "in their scope)")
    add.set_defaults(handler=cmd_templates)
    lst = tc.add_parser("list", help="the templates of every (or one) gemeente")
    lst.add_argument("--gemeente")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(handler=cmd_templates)
    rem = tc.add_parser("remove", help="remove a template (logged)")
    rem.add_argument("--gemeente", required=True)
    rem.add_argument("--name", required=True)
    rem.add_argument("--as", dest="as_user", metavar="USER", help="remove as this account")
    rem.set_defaults(handler=cmd_templates)


def cmd_templates(args) -> int:
    """``reports template add|list|remove``."""
    import getpass

    from dashboard.cli import _state, _store
    from data.accounts import AccountError, list_profiles
    from data.products import templates
    from data.scope import OutOfScope

    state = _state(args)
    if args.template_command == "list":
        for profile in list_profiles(state):
            if args.gemeente and profile.gm_code != args.gemeente:
                continue
            for t in profile.templates:
                print(json.dumps({"gemeente": profile.gm_code, **t}, ensure_ascii=False)
                      if args.json else
                      f"{profile.gm_code}\t{t['name']}\t{t['soort']}\t{','.join(t['theme'])}\t"
                      f"{t['period']}\t{t['every']}\t{','.join(t['sections'])}")
        return 0
    store = _store(args)
    if not store.exists():
        print(f"error: database {args.db_path} not found", file=sys.stderr)
        return 1
    con = store.read()
    user = scope = None
    by = f"cli:{getpass.getuser()}"
    if args.as_user:
        acting = _acting(state, con, args.as_user)
        if acting is None:
            return 1
        user, scope, by = acting
    try:
        if args.template_command == "add":
            template = templates.Template(
                args.name, args.soort, tuple(_items(args.theme)), args.period,
                tuple(_items(args.sections)), args.every, args.title)
            templates.add(state, con, args.gemeente, template, by=by, user=user, scope=scope)
            print(f"template {args.name} saved for {args.gemeente}")
            return 0
        if not templates.remove(state, con, args.gemeente, args.name, by=by, user=user,
                                scope=scope):
            print(f"error: {args.gemeente} has no template {args.name!r}", file=sys.stderr)
            return 1
        print(f"template {args.name} removed from {args.gemeente}")
        return 0
    except OutOfScope as exc:
        print(f"error: refused: {exc}", file=sys.stderr)
        return 3
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _acting(state, con, name: str):
    """(user, scope, by) for ``--as NAME``: the scope resolved as the web resolves it; None
    (with the error printed) for an unknown user."""
    from data.accounts import get_profile, get_user
    from data.scope import resolve_scope

    user = get_user(state, name)
    if user is None:
        print(f"error: no user {name!r}", file=sys.stderr)
        return None
    scope = resolve_scope(user, con=con, profile_for=lambda c: get_profile(state, c))
    return user, scope, f"cli:{user.name}"


def _items(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now()
    value = datetime.fromisoformat(text)
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def cmd_reports(args) -> int:
    import dataclasses

    from dashboard.cli import _state, _store
    from data.products import archive, schedule

    store, state = _store(args), _state(args)
    folder = args.settings.products_path()
    if args.reports_command == "list":
        for p in archive.all_products(state):
            if args.json:
                print(json.dumps(dataclasses.asdict(p), ensure_ascii=False))
            else:
                print(f"{p.id}\t{p.kind}\t{p.area_code}\t{p.period_key}\tv{p.version}\t"
                      f"{p.generated_at[:16]}\t{p.generated_by}\t{','.join(p.files)}")
        return 0
    if not store.exists():
        print(f"error: database {args.db_path} not found", file=sys.stderr)
        return 1
    if args.reports_command == "run":
        try:
            now = _now(args.now)
        except ValueError:
            print(f"error: --now: not an ISO date or time: {args.now!r}", file=sys.stderr)
            return 2
        from dashboard.cli_jobs import background

        queued = background(args, "reports-due",
                            {"now": now.isoformat() if args.now else None})
        if queued is not None:
            return queued
        summary = schedule.run_due(store, state, folder, now=now,
                                   log=None if args.json else print)
        if args.json:
            print(schedule.summary_json(summary))
        else:
            print(f"{len(summary['produced'])} produced, {len(summary['concepts'])} concepts,"
                  f" {len(summary['failed'])} failed")
        return 1 if summary["failed"] else 0
    # generate
    from data.accounts import get_profile
    from data.products.model import TEMPLATED

    if args.kind in TEMPLATED:
        print(f"error: {args.kind} is made from a template: save one with `reports template "
              "add`; `reports run --due` makes it", file=sys.stderr)
        return 2
    from data.scope import OutOfScope

    try:
        reference = date.fromisoformat(args.reference)
    except ValueError:
        print(f"error: --reference: not a date (YYYY-MM-DD): {args.reference!r}", file=sys.stderr)
        return 2
    con = store.read()
    if args.as_user:
        acting = _acting(state, con, args.as_user)
        if acting is None:
            return 1
        user, scope, by = acting
    else:
        user, scope, by = None, schedule.mayor_scope(con, state, args.area), "cli:rapportages"
    profile = get_profile(state, args.area)
    due = schedule.latest_period(schedule.frequency_for(profile, args.kind), reference)
    ref = (datetime.combine(due.reference, datetime.min.time())
           if args.kind == "operationeel_beeld" else due.reference)
    try:
        product, timing = archive.generate(store, state, folder, kind=args.kind,
                                           area=args.area, reference=ref, scope=scope,
                                           profile=profile, user=user, by=by,
                                           period_key=due.key)
    except OutOfScope as exc:
        print(f"error: {exc} ({exc.detail})", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps({**dataclasses.asdict(product), "timing": timing}, ensure_ascii=False))
    else:
        print(f"product {product.id}: {args.kind} {args.area} {due.key} v{product.version} "
              f"({timing['total']} s) in {product.folder}")
    return 0
