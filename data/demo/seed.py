"""A filled first visit: meldingen and a few generated rapportages for a freshly built demo.

``python -m dashboard demo`` and ``run`` on a fresh folder call :func:`seed_state` right after
:func:`~data.demo.build.build_demo`, so the demo mayor finds /meldingen and /rapportages filled
instead of empty pages. Everything goes through the same functions as in operation:
``meldingen scan`` (:func:`data.meldingen.scan`) and scheduled product generation
(:func:`data.products.archive.generate` with the mayor's scope, as ``reports run --due`` does),
so a later cron run makes none of these products twice. Nothing here may stop the demo: a
failing step (e.g. no Chromium to print PDFs) is reported and skipped.
"""
from __future__ import annotations

import os
import time
from datetime import date

#: The products made for the demo mayor's gemeente (kind, as in the agreement profile).
DEMO_PRODUCTS = ("stuurgegevens", "incidentenrapport")


def seed_state(store, state, settings, progress=None) -> dict:
    """Meldingen for the demo's last week and :data:`DEMO_PRODUCTS` for the gemeente of the
    demo account ``burgemeester``. ``settings`` must have ``db`` set to the database link (its
    ``products_path()`` is where the files go). Returns a summary for the command's output:
    {"meldingen", "rapportages", "seed_seconds"} (and "seed_skipped" notes when a step failed)."""
    from data.accounts import ensure_demo_accounts, get_user

    started = time.perf_counter()
    say = progress or (lambda msg: None)
    summary: dict = {"meldingen": 0, "rapportages": 0}
    skipped: list[str] = []
    try:
        ensure_demo_accounts(state, store.read())  # as the server does; idempotent
        mayor = get_user(state, "burgemeester")
    except Exception as exc:  # noqa: BLE001 - the demo itself is ready; report and go on
        skipped.append(f"demo accounts: {type(exc).__name__}: {exc}"[:300])
        mayor = None
    try:
        summary["meldingen"] = _meldingen(store, state, settings)
    except Exception as exc:  # noqa: BLE001
        skipped.append(f"meldingen: {type(exc).__name__}: {exc}"[:300])
    say(f"meldingen: {summary['meldingen']} new")
    if mayor is not None and mayor.gemeenten:
        summary["rapportages"] = _products(store, state, settings, mayor.gemeenten[0],
                                           say, skipped)
    if skipped:
        summary["seed_skipped"] = skipped
        for note in skipped:
            say(f"skipped {note}")
    summary["seed_seconds"] = round(time.perf_counter() - started, 1)
    say(f"meldingen and rapportages ready in {summary['seed_seconds']} s")
    return summary


def _meldingen(store, state, settings) -> int:
    """``meldingen scan`` over the last ``melding_days`` days before the demo's 'today' (the
    window reaches back further when the demo was built for an earlier day)."""
    from data.meldingen import local_now, scan

    shift = (local_now().date() - demo_today(store)).days
    return scan(store, state, settings, days=settings.melding_days + max(0, shift))["meldingen"]


def demo_today(store) -> date:
    """The day the demo was built for (its incidents end the day before)."""
    return date.fromisoformat(store.meta().get("demo_today") or date.today().isoformat())


def _products(store, state, settings, gm_code: str, say, skipped: list[str]) -> int:
    """The demo products for ``gm_code``: the last complete period of each kind's frequency
    before the demo's 'today', registered as scheduled products (as cron would make them)."""
    from data.accounts import get_profile
    from data.products import archive, schedule
    from data.products.render import CHROMIUM

    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        skipped.append(f"rapportages: Chromium not found at {CHROMIUM} (it prints the PDFs; "
                       "install it with `apt-get install chromium`)")
        return 0
    today = demo_today(store)
    made = 0
    for kind in DEMO_PRODUCTS:
        try:
            profile = get_profile(state, gm_code)
            due = schedule.latest_period(schedule.frequency_for(profile, kind), today)
            if archive.exists(state, kind=kind, area=gm_code, period_key=due.key):
                continue
            product, timing = archive.generate(
                store, state, settings.products_path(), kind=kind, area=gm_code,
                reference=due.reference, scope=schedule.mayor_scope(store.read(), state, gm_code),
                profile=profile, by=schedule.SCHEDULER, period_key=due.key, scheduled=True)
        except Exception as exc:  # noqa: BLE001 - one product must not stop the demo
            skipped.append(f"rapportage {kind} {gm_code}: {type(exc).__name__}: {exc}"[:300])
            continue
        made += 1
        say(f"rapportage {kind} {gm_code} {due.key} ({timing['total']} s)")
    return made
