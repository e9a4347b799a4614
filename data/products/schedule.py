"""Scheduling: which periodic products are due, and generating them (``reports run --due``).

Every gemeente's agreement profile (``Profile.products``: kind -> frequency) says which products
it receives and how often. For a frequency the due period is the last *complete* one before
``now`` (:func:`latest_period`):

=================  ==========================================  ===================
frequency          period                                       key
=================  ==========================================  ===================
dagelijks          the previous day                             ``2026-11-28``
wekelijks          the last complete ISO week (Mon–Sun)         ``2026-W47``
tweewekelijks      the last complete pair of weeks, counted     ``2026-W45-W46``
                   from Monday 1 January 2024
maandelijks        the last complete month                      ``2026-10``
viermaandelijks    jan–apr, mei–aug, sep–dec                    ``2026-T2``
halfjaarlijks      jan–jun, jul–dec                             ``2026-H1``
jaarlijks          the last complete year                       ``2025``
=================  ==========================================  ===================

Themed-report templates (``Profile.templates``, ``data/products/templates.py``) are scheduled
the same way with their own frequency: kind ``thema``, period key ``<period>-<template name>``
(``2026-10-inbraak``); they always go out automatically (no concept).

A product is generated when no scheduled product of that kind, gemeente and period exists
yet, with the scope a mayor of that gemeente gets (``resolve_scope`` for a burgemeester: the
profile's detail level) and ``reference`` = the end of the period (exclusive).
When the profile lists the kind under ``vaststellen`` the run makes a *concept* for that period
instead (``data/products/concepts.py``; once: not when any concept or scheduled product of the
kind, gemeente and period exists), which the gemeente's teamchefs and analisten complete and
release. So a second run produces nothing, and running it every hour from cron is safe; a lock file
keeps two runs from overlapping. Each product produced (or failed) is one log line, on stdout
and appended to ``reports.log`` in the products folder.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import import_module
from pathlib import Path

from data.accounts import FREQUENCIES, POLICE_ROLES, User, get_profile
from data.periods import add_months
from data.products import BUILDERS
from data.products.model import KINDS, TEMPLATED
from data.products import archive
from data.scope import resolve_scope

#: Frequency of a product made on request ("Nu maken", ``reports generate``) when the
#: gemeente's profile does not list the kind.
DEFAULT_FREQUENCY = {
    "stuurgegevens": "maandelijks", "tabellenboek": "maandelijks",
    "perioderapportage": "viermaandelijks", "jaarverslag": "jaarlijks",
    "halfjaarcijfers": "halfjaarlijks", "jaarafsluiting": "jaarlijks",
    "gebiedsscan": "jaarlijks", "incidentenrapport": "tweewekelijks",
    "operationeel_beeld": "dagelijks", "thema": "maandelijks",
    "ondermijningsbeeld": "maandelijks"}
#: The Monday biweekly periods are counted from.
BIWEEKLY_EPOCH = date(2024, 1, 1)
#: The author scheduled products are registered under.
SCHEDULER = "systeem:rapportages"


@dataclass(frozen=True)
class Due:
    key: str
    start: date
    reference: date  # the end of the period, exclusive: what builders get as ``reference``


def latest_period(frequency: str, now: datetime | date) -> Due:
    """The last complete period of ``frequency`` before ``now``."""
    today = now.date() if isinstance(now, datetime) else now
    if frequency == "dagelijks":
        start = today - timedelta(days=1)
        return Due(start.isoformat(), start, today)
    monday = today - timedelta(days=today.weekday())
    if frequency == "wekelijks":
        start = monday - timedelta(days=7)
        year, week, _ = start.isocalendar()
        return Due(f"{year}-W{week:02d}", start, monday)
    if frequency == "tweewekelijks":
        n = (monday - BIWEEKLY_EPOCH).days // 14
        end = BIWEEKLY_EPOCH + timedelta(days=14 * n)
        start = end - timedelta(days=14)
        y1, w1, _ = start.isocalendar()
        _, w2, _ = (start + timedelta(days=7)).isocalendar()
        return Due(f"{y1}-W{w1:02d}-W{w2:02d}", start, end)
    first = date(today.year, today.month, 1)
    if frequency == "maandelijks":
        start = add_months(first, -1)
        return Due(f"{start:%Y-%m}", start, first)
    if frequency == "viermaandelijks":
        end = date(today.year, (today.month - 1) // 4 * 4 + 1, 1)
        start = add_months(end, -4)
        return Due(f"{start.year}-T{(start.month - 1) // 4 + 1}", start, end)
    if frequency == "halfjaarlijks":
        end = date(today.year, 1 if today.month <= 6 else 7, 1)
        start = add_months(end, -6)
        return Due(f"{start.year}-H{1 if start.month == 1 else 2}", start, end)
    if frequency == "jaarlijks":
        end = date(today.year, 1, 1)
        return Due(str(today.year - 1), date(today.year - 1, 1, 1), end)
    raise ValueError(f"unknown frequency {frequency!r}; choose from {', '.join(FREQUENCIES)}")


def frequency_for(profile, kind: str) -> str:
    return (getattr(profile, "products", None) or {}).get(kind) or DEFAULT_FREQUENCY[kind]


def latest_for(profile, kind: str, now: datetime):
    """The latest complete period of ``kind`` at the profile's frequency at ``now`` (what
    "Nu maken" makes), and its peildatum (the operational picture's is a moment)."""
    due = latest_period(frequency_for(profile, kind), now)
    reference = (datetime.combine(due.reference, datetime.min.time())
                 if kind == "operationeel_beeld" else due.reference)
    return due, reference


def offered_kinds(role: str | None, profile) -> list[str]:
    """The kinds "Nu maken" offers a user of ``role`` for the gemeente of ``profile``: the
    police (teamchef, analist) every kind; anyone else the kinds the agreement profile
    (``products``) agrees for that gemeente. Only kinds whose builder is installed; themed
    reports come from their templates, not from here."""
    agreed = KINDS if role in POLICE_ROLES else (getattr(profile, "products", None) or {})
    return [kind for kind in KINDS if kind in agreed and makeable(kind)]


def makeable(kind) -> bool:
    """A kind made on request ("Nu maken", concepts): a known, installed kind that is not
    made from a template (themed reports come from ``reports run --due``)."""
    return kind in KINDS and kind not in TEMPLATED and builder_available(kind)


def builder_available(kind: str) -> bool:
    module = BUILDERS[kind].split(":")[0]
    try:
        import_module(module)
    except ImportError:
        return False
    return True


def mayor_scope(con, state, gm_code: str):
    """The scope a mayor of ``gm_code`` gets (the profile's detail level)."""
    user = User(SCHEDULER, "burgemeester", gemeenten=(gm_code,))
    return resolve_scope(user, con=con, profile_for=lambda code: get_profile(state, code))


def _gemeenten(con) -> list[str]:
    from data.accounts import gemeente_choices
    return [code for code, _name in gemeente_choices(con)]


def run_due(store, state, folder: Path, *, now: datetime, log=print) -> dict:
    """Generate every product that is due for every gemeente (a concept instead for the
    kinds its profile wants released); returns a summary {"produced": [...],
    "concepts": [...], "failed": [...], "skipped": [...], "busy": bool}."""
    from data.products import concepts

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"produced": [], "concepts": [], "failed": [], "skipped": [], "busy": False}
    with open(folder / ".schedule.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            summary["busy"] = True
            _log(folder, log, f"{now:%Y-%m-%dT%H:%M} another run is busy; nothing done")
            return summary
        con = store.read()
        for gm in _gemeenten(con):
            profile = get_profile(state, gm)
            for kind, due, key, template in _jobs(profile, now):
                if kind not in BUILDERS or (kind == "thema" and template is None):
                    summary["skipped"].append({"kind": kind, "area": gm, "reason": "unknown"
                                               if kind not in BUILDERS else "needs a template"})
                    continue
                if archive.exists(state, kind=kind, area=gm, period_key=key):
                    continue
                # A themed report goes out as it is built (its commentary is a placeholder).
                release = kind in profile.vaststellen and template is None
                if release and concepts.exists(state, kind=kind, area=gm, period_key=key):
                    continue
                if not builder_available(kind):
                    summary["skipped"].append({"kind": kind, "area": gm, "period": key,
                                               "reason": "builder not available"})
                    continue
                reference = (datetime.combine(due.reference, datetime.min.time())
                             if kind == "operationeel_beeld" else due.reference)
                try:
                    if release:
                        started = datetime.now()
                        concept, _new = concepts.create(
                            store, state, kind=kind, area=gm, reference=reference,
                            period_key=key, by=SCHEDULER, scheduled=True)
                        seconds = round((datetime.now() - started).total_seconds(), 2)
                        summary["concepts"].append({"id": concept.id, "kind": kind, "area": gm,
                                                    "period": key, "seconds": seconds})
                        _log(folder, log, f"{now:%Y-%m-%dT%H:%M} concept #{concept.id} {kind}"
                                          f" {gm} {key} ({seconds} s)")
                        continue
                    scope = mayor_scope(con, state, gm)
                    product, timing = archive.generate(
                        store, state, folder, kind=kind, area=gm, reference=reference,
                        scope=scope, profile=profile, by=SCHEDULER, period_key=key,
                        scheduled=True, template=template)
                except Exception as exc:  # noqa: BLE001 - one failure must not stop the run
                    summary["failed"].append({"kind": kind, "area": gm, "period": key,
                                              "error": f"{type(exc).__name__}: {exc}"[:300]})
                    _log(folder, log, f"{now:%Y-%m-%dT%H:%M} FAILED {kind} {gm} {key}: "
                                      f"{type(exc).__name__}: {exc}"[:400])
                    continue
                entry = {"id": product.id, "kind": kind, "area": gm, "period": key,
                         "version": product.version, "data_version": product.data_version,
                         "seconds": timing["total"]}
                summary["produced"].append(entry)
                _log(folder, log, f"{now:%Y-%m-%dT%H:%M} produced #{product.id} {kind} {gm} "
                                  f"{key} v{product.version} ({timing['total']} s)")
        skipped = {s["kind"] for s in summary["skipped"]}
        if skipped:
            _log(folder, log, f"{now:%Y-%m-%dT%H:%M} skipped (no builder yet): "
                              f"{', '.join(sorted(skipped))}")
    return summary


def _jobs(profile, now):
    """(kind, due period, period key, template or None) of everything the profile schedules:
    its products, then its themed-report templates (key: period and template name)."""
    from data.products.templates import Template, period_key

    for kind, frequency in sorted(profile.products.items()):
        due = latest_period(frequency, now)
        yield kind, due, due.key, None
    for data in profile.templates:
        template = Template.from_dict(data)
        due = latest_period(template.every, now)
        yield "thema", due, period_key(due.key, template), template


def _log(folder: Path, log, line: str) -> None:
    if log is not None:
        log(line)
    with contextlib.suppress(OSError):
        with open(folder / "reports.log", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def summary_json(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, default=str)
