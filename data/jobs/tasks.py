"""What a job does, in whichever process runs it (a local pool process or a Celery worker).

:func:`run` is the one entry point of both backends: it claims the job (a finished job is not
run again), builds the owner's scope on this side from the account as it is NOW (a user who lost
access between submit and run is refused, logged), runs the handler of the job's kind, and
records the result or a short Dutch error. Handlers are idempotent by job id: a product records
its job id (unique), so a retried job returns the product it made before; an XLSX export is
written to a temporary name and renamed, so a half-written file is never served.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from data import heavy, jobs, protocol
from data.scope import OutOfScope

logger = logging.getLogger(__name__)

#: Seconds between two progress writes of one job.
INTERVAL = 0.5
NO_ACCESS = "Geen toegang (meer) tot deze gegevens."


class Refused(Exception):
    """The job may not run for its owner (a Dutch message; ``detail`` for the protocol log)."""

    def __init__(self, message: str, detail: str):
        super().__init__(message)
        self.detail = detail


@dataclass
class Context:
    settings: object
    store: object
    state: object

    @property
    def demo(self) -> bool:
        return self.store.meta().get("demo") == "true"


_CONTEXTS: dict = {}


def context(settings) -> Context:
    """Store and state of this process for ``settings`` (opened once per process)."""
    from data.cache import configure
    from data.state import StateDB
    from data.store import Store

    key = (str(settings.db), str(settings.state_target()))
    if key not in _CONTEXTS:
        state = StateDB(settings.state_target())
        configure(state, settings.redis_url)
        _CONTEXTS[key] = Context(settings, Store(settings.db, threads=settings.db_threads,
                                                 memory_limit=settings.db_memory_limit), state)
    return _CONTEXTS[key]


class Progress:
    """``progress(done, total=None)`` of one job, written at most every ``INTERVAL`` seconds
    (and always when ``total`` changes)."""

    def __init__(self, state, job_id: str):
        self.state, self.job_id, self._last = state, job_id, 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None or time.monotonic() - self._last >= INTERVAL:
            self._last = time.monotonic()
            jobs.progress(self.state, self.job_id, done, total)


def account(ctx: Context, job: jobs.Job):
    """The owner and their scope, built here from the account as it is now."""
    from data.accounts import get_profile, get_user
    from data.scope import resolve_scope

    user = get_user(ctx.state, job.user)
    if user is None or getattr(user, "disabled", False):
        raise Refused(NO_ACCESS, "jobs: the account is gone or disabled")
    scope = resolve_scope(user, con=ctx.store.read(),
                          profile_for=lambda code: get_profile(ctx.state, code))
    if scope.empty:
        raise Refused(NO_ACCESS, "jobs: the account has no scope")
    return user, scope


def test_delay(ctx: Context, report: Progress, steps: int = 10) -> None:
    """The test hook (``DASHBOARD_JOB_TEST_DELAY``): wait, with progress, on a demo database."""
    delay = float(getattr(ctx.settings, "job_test_delay", 0) or 0)
    if delay <= 0 or not ctx.demo:
        return
    report(0, steps)
    for step in range(steps):
        time.sleep(delay / steps)
        report(step + 1)


# -- handlers: fn(ctx, job, report) -> result dict ---------------------------------------------

def make_product(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """"Nu maken": the latest complete period of the kind for the area, as the owner."""
    from data.accounts import get_profile
    from data.products import archive, schedule
    from data.queries.products import product_area

    kind, area = job.payload.get("kind"), job.payload.get("area")
    filters = {"soort": kind, "gebied": area, "taak": job.id}
    user, scope = account(ctx, job)
    try:
        if not (isinstance(area, str) and schedule.makeable(kind)):
            raise OutOfScope("unknown kind or area")
        product_area(ctx.store.read(), scope=scope, area=area)  # OutOfScope outside
        profile = get_profile(ctx.state, area)
        if kind not in schedule.offered_kinds(user.role, profile):
            raise OutOfScope(f"product {kind} is not agreed for {area}")
    except OutOfScope as exc:
        protocol.record(ctx.state, user=user, scope=scope, view="rapportages/maken",
                        filters=filters, rows=0, client=job.client, outcome="refused",
                        detail=f"jobs: {exc.detail}")
        raise Refused(NO_ACCESS, exc.detail) from exc
    report(1, 3)
    now = datetime.fromisoformat(job.payload.get("now") or datetime.now().isoformat())
    due, reference = schedule.latest_for(profile, kind, now)
    product, timing = archive.generate(
        ctx.store, ctx.state, ctx.settings.products_path(), kind=kind, area=area,
        reference=reference, scope=scope, profile=profile, user=user, period_key=due.key,
        client=job.client, job=job.id)
    return made(product, timing)


def made(product, timing: dict) -> dict:
    """A product job's result (what the page shows; ``seconds`` None for a retried job)."""
    return {"product": product.id, "title": product.title, "area_name": product.area_name,
            "period_label": product.period_label, "version": product.version,
            "seconds": timing["total"]}


def release_concept(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """"Vaststellen": the concept's latest commentary, released as the owner (a police role
    whose scope covers it, checked again now)."""
    from data.products import concepts

    user, scope = account(ctx, job)
    try:
        concept = concepts.checked(ctx.state, user=user, scope=scope,
                                   concept_id=job.payload.get("concept"),
                                   view="rapportages/concept/vaststellen", client=job.client)
    except OutOfScope as exc:
        raise Refused(NO_ACCESS, exc.detail) from exc
    report(1, 3)
    try:
        product, timing = concepts.release(ctx.store, ctx.state, ctx.settings.products_path(),
                                           concept, user=user, scope=scope, client=job.client,
                                           job=job.id)
    except concepts.ConceptClosed as exc:
        text = ("Geef de reden van de correctie." if "reason" in str(exc)
                else "Dit concept is al vastgesteld.")
        raise Refused(text, str(exc)) from exc
    return {**made(product, timing), "concept": concept.id}


def export_xlsx(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """The incident XLSX export: checked again against the owner's scope now, written to the
    exports folder under a temporary name and renamed; logged as the web route logs it."""
    from werkzeug.datastructures import MultiDict

    from dashboard.exports import ExportRequest, dataset_label
    from data.export import ExportTooLarge, provenance, xlsx_file
    from data.queries.incidents import FilterError

    user, scope = account(ctx, job)
    args = MultiDict([(k, v) for k, values in (job.payload.get("args") or {}).items()
                      for v in (values if isinstance(values, list) else [values])])
    con = ctx.store.read()
    try:
        req = ExportRequest(con, scope, args, fmt="xlsx")
    except OutOfScope as exc:
        protocol.record(ctx.state, user=user, scope=scope, view="incidenten/export-xlsx",
                        filters={k: v for k, v in args.items()}, rows=0, client=job.client,
                        outcome="refused", detail=f"jobs: {exc.detail}")
        raise Refused(NO_ACCESS, exc.detail) from exc
    except (FilterError, ExportTooLarge) as exc:
        raise Refused(str(exc), "jobs: invalid export request") from exc
    report(0, req.total)
    folder = ctx.settings.exports_path()
    folder.mkdir(parents=True, exist_ok=True)
    clean_exports(folder)
    name = f"incidenten-{datetime.now():%Y%m%d-%H%M}.xlsx"
    target = folder / f"{job.id}.xlsx"
    tmp = folder / f".{job.id}.{os.getpid()}.tmp"
    info = provenance(user=user.name, flt=req.flt, dataset=dataset_label(ctx.store))
    try:
        xlsx_file(con, scope=scope, flt=req.flt, sort=req.sort, columns=req.columns, info=info,
                  path=str(tmp), progress=report)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    protocol.record(ctx.state, user=user, scope=scope, view="incidenten/export-xlsx",
                    filters={**req.log_filters, "taak": job.id}, rows=req.total,
                    client=job.client)
    return {"file": target.name, "name": name, "rows": req.total}


def clean_exports(folder: Path) -> None:
    """Remove finished exports older than a day (their jobs are gone too)."""
    cutoff = time.time() - jobs.KEEP.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def reports_due(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """``reports run --due`` (scheduled products for every gemeente; no owner scope: the
    schedule builds each gemeente's own, as the command line does)."""
    from data.products import schedule

    now = datetime.fromisoformat(job.payload.get("now") or datetime.now().isoformat())
    summary = schedule.run_due(ctx.store, ctx.state, ctx.settings.products_path(), now=now,
                               log=logger.info)
    return {k: (len(v) if isinstance(v, list) else v) for k, v in summary.items()}


def meldingen_mail(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """``meldingen mail``: idempotent (sent mails are recorded)."""
    from data.meldingen import mail

    return mail(ctx.store, ctx.state, ctx.settings, days=job.payload.get("days"),
                digest=job.payload.get("digest"))


def import_file(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """``python -m dashboard import KIND FILE --background``: the command line's own import."""
    from dashboard.cli import main

    argv = job.payload.get("argv")
    if not isinstance(argv, list) or not argv or argv[0] != "import" or "--background" in argv:
        raise Refused("Ongeldige import.", "jobs: import argv")
    code = main(["--db", str(ctx.settings.db), *argv])
    if code:
        raise Refused(f"De import is mislukt (code {code}).", f"jobs: import exit {code}")
    return {"exit": code}


#: Rejected rows a source job returns to the page (all are counted).
SHOWN_REJECTIONS = 50
#: Seconds a source job waits while another process writes a new data version.
WRITE_WAIT = 120.0


def manage_source(ctx: Context, job: jobs.Job, report: Progress) -> dict:
    """/bronnen: import an uploaded file as a gemeente's source (``op`` "import": the file's
    bytes base64 in the payload), or delete one (``op`` "delete"); as the owner, who must
    manage that gemeente's sources now (checked again here and by the importer), logged as
    ``bronnen/upload`` or ``bronnen/verwijderen``. A file with a fatal error is a result
    (``error``: nothing changed), not a failed job. A retried job does the same again: an
    import replaces the source, a delete finds it gone."""
    import base64
    import binascii
    import re
    import tempfile

    from data.importers import FatalImportError, run_import
    from data.importers.common import read_rejections
    from data.importers.sources import delete_source
    from data.scope import ensure_manages

    payload = job.payload
    op, gm_code, source = payload.get("op"), payload.get("gemeente"), payload.get("source")
    view = "bronnen/verwijderen" if op == "delete" else "bronnen/upload"
    filters = {"gemeente": str(gm_code)[:20], "bron": str(source)[:40], "taak": job.id}
    if op == "delete":
        filters["actie"] = "verwijderd"
    else:
        filters["bestand"] = str(payload.get("filename"))[:100]
    user, scope = account(ctx, job)

    def log(rows, outcome="ok", detail=None, **extra):
        protocol.record(ctx.state, user=user, scope=scope, view=view,
                        filters={**filters, **extra}, rows=rows, client=job.client,
                        outcome=outcome, detail=detail)

    try:
        if op not in ("import", "delete"):
            raise OutOfScope(f"unknown source operation {op!r}")
        ensure_manages(scope, gm_code)
    except OutOfScope as exc:
        log(0, "refused", f"jobs: {exc.detail}")
        raise Refused(NO_ACCESS, exc.detail) from exc
    report(1, 3)
    if op == "delete":
        removed = _writing(lambda: delete_source(ctx.store, scope=scope, gemeente=gm_code,
                                                 source=source))
        log(removed)
        return {"op": "delete", "source": source, "removed": removed}
    try:
        data = base64.b64decode(payload.get("data") or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused("Het bestand kon niet worden gelezen.", "jobs: bad file data") from exc
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(payload.get("filename") or ""))[:80] or "bron.csv"
    with tempfile.TemporaryDirectory(prefix="vb-bron-") as folder:
        path, rejected = Path(folder) / safe, Path(folder) / "afgewezen.csv"
        path.write_bytes(data)
        try:
            result = _writing(lambda: run_import(
                ctx.store, "source", path, rejected_file=rejected,
                options={"scope": scope, "gemeente": gm_code, "source": source,
                         "title": payload.get("title"),
                         "description": payload.get("description"), "by": user.name}))
        except FatalImportError as exc:
            message = exc.message + (f" (regel {exc.line})" if exc.line else "")
            log(0, "refused", f"fatal: {message}"[:1000])
            return {"op": "import", "error": message}
        rejections = read_rejections(rejected)
    log(result.rows, afgewezen=result.rejected)
    return {"op": "import", "rows": result.rows, "rejected": result.rejected,
            "title": payload.get("title"), "rejections": rejections[:SHOWN_REJECTIONS]}


def _writing(write):
    """Run ``write`` (which makes a new data version), waiting up to ``WRITE_WAIT`` seconds
    while another process writes one."""
    from data.store import StoreBusy

    deadline = time.monotonic() + WRITE_WAIT
    while True:
        try:
            return write()
        except StoreBusy:
            if time.monotonic() > deadline:
                raise Refused("Er wordt al een andere import verwerkt. Probeer het later"
                              " opnieuw.", "jobs: the store stayed busy") from None
            time.sleep(0.5)


HANDLERS = {"product": make_product, "release": release_concept, "export-xlsx": export_xlsx,
            "import": import_file, "reports-due": reports_due, "meldingen-mail": meldingen_mail,
            "source": manage_source}
#: Kinds that take a heavy lease while they run on the local backend (the total limit).
HEAVY = {"product": "rapportage", "release": "rapportage", "export-xlsx": "export-xlsx"}


def run(job_id: str, settings) -> dict | None:
    """Run one job to its end in this process; returns its result (None when there was
    nothing to do: unknown, or finished by an earlier attempt)."""
    ctx = context(settings)
    job = jobs.claim(ctx.state, job_id)
    if job is None:
        return None
    report = Progress(ctx.state, job_id)
    try:
        with _slot(ctx, job):
            test_delay(ctx, report)  # before the work and its checks: as if queued that long
            result = HANDLERS[job.kind](ctx, job, report)
    except Refused as exc:
        logger.info("job %s refused: %s", job_id, exc.detail)
        jobs.fail(ctx.state, job_id, str(exc))
        return None
    except Exception:  # noqa: BLE001 - a failed job says so; the log has the trace
        logger.exception("job %s (%s) failed", job_id, job.kind)
        jobs.fail(ctx.state, job_id, jobs.FAILED)
        return None
    jobs.finish(ctx.state, job_id, result)
    return result


class _slot:
    """On the local backend a heavy kind waits here for a slot of ``data/heavy.py`` (several
    web processes share the server's slots); the job stays 'running' meanwhile. On Celery the
    worker's concurrency is the limit."""

    def __init__(self, ctx: Context, job: jobs.Job):
        self.ctx, self.job, self.lease = ctx, job, None

    def __enter__(self):
        kind = HEAVY.get(self.job.kind)
        if kind is None or self.job.backend != "local":
            return self
        deadline = datetime.now() + timedelta(seconds=heavy.TTL)
        while True:
            try:
                self.lease = heavy.acquire(self.ctx.state, user=f"job:{self.job.id}",
                                           kind=kind, slots=self.ctx.settings.heavy_slots)
                return self
            except heavy.Busy:
                if datetime.now() > deadline:
                    raise Refused(heavy.SERVER_BUSY, "jobs: no heavy slot") from None
                time.sleep(0.5)

    def __exit__(self, *exc):
        if self.lease is not None:
            self.lease.release()
        return False
