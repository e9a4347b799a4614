"""The job backends, and the owner's routes for a job (``data/jobs``).

``DASHBOARD_JOBS=local`` (default): a small process pool in each web process (spawned processes,
so no DuckDB or state connection is shared with the web process). Several gunicorn workers
each have their own pool; the heavy slots (``data/heavy.py``) keep the total. A gunicorn worker
that dies takes its pool with it: :func:`data.jobs.reap`, run at every submit and status read,
gives such jobs (their pid is gone on this host) to the pool of the process that notices,
up to ``MAX_ATTEMPTS`` times.

``DASHBOARD_JOBS=celery``: the job id is sent through Redis to ``dashboard.worker`` (the Celery
task id is the job id). Acks late, rejected on a lost worker, prefetch 1: a worker killed
mid-job leaves its message unacknowledged, and Redis hands it to another worker after
``DASHBOARD_JOBS_VISIBILITY_TIMEOUT`` seconds.

Routes (behind the login guard; only the owner, anyone else gets 404 as for an unknown job):

* ``GET /jobs/<id>`` -> ``{id, kind, status, done, total, result, error, finished}``;
* ``GET /jobs/<id>/bestand`` -> the finished export's file (logged, ``taken/bestand``).
"""
from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import flask

from data import jobs, protocol

logger = logging.getLogger(__name__)

_POOL: dict = {}
_LOCK = threading.Lock()
#: Processes of one web process's local pool (the heavy slots bound the heavy work in all).
POOL_SIZE = 2


def _pool() -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOL.get("pool")
        if pool is None:
            pool = ProcessPoolExecutor(max_workers=POOL_SIZE,
                                       mp_context=multiprocessing.get_context("spawn"))
            _POOL["pool"] = pool
        return pool


def _drop_pool(pool) -> None:
    with _LOCK:
        if _POOL.get("pool") is pool:
            del _POOL["pool"]
    pool.shutdown(wait=False, cancel_futures=False)


def _local(job_id: str, settings) -> None:
    from data.jobs.tasks import run

    pool = _pool()
    try:
        future = pool.submit(run, job_id, settings)
    except (BrokenProcessPool, RuntimeError):  # a pool process died earlier: a fresh pool
        _drop_pool(pool)
        future = _pool().submit(run, job_id, settings)

    def done(f):
        exc = f.exception()
        if isinstance(exc, BrokenProcessPool):  # killed mid-job: reap() requeues it
            logger.warning("job %s: its pool process died", job_id)
            _drop_pool(pool)
        elif exc is not None:
            logger.error("job %s: %s", job_id, exc)
    future.add_done_callback(done)


_CELERY: dict = {}


def celery_app(settings):
    from dashboard.worker import make_celery

    key = (settings.redis_url, settings.jobs_visibility_timeout)
    if key not in _CELERY:
        _CELERY[key] = make_celery(settings)
    return _CELERY[key]


def dispatch(settings, job_id: str) -> None:
    """Hand a registered job to the configured backend."""
    if settings.jobs == "celery":
        from dashboard.worker import TASK

        celery_app(settings).send_task(TASK, args=[job_id], task_id=job_id)
    else:
        _local(job_id, settings)


def reap(settings, state) -> None:
    """Local backend: take over the jobs of dead processes on this host (see module doc)."""
    if settings.jobs != "local":
        return
    for job_id in jobs.reap(state, "local"):
        logger.warning("job %s: its process died; running it again", job_id)
        dispatch(settings, job_id)


def submit(settings, state, *, kind: str, user: str, payload: dict, job_id: str | None = None,
           client: str | None = None, total: int = 0, exclusive: bool = True) -> jobs.Job:
    """Register and dispatch a job; raises ``heavy.Busy`` when the user has one active."""
    reap(settings, state)
    job = jobs.submit(state, kind=kind, user=user, payload=payload, backend=settings.jobs,
                      job_id=job_id, client=client, total=total, exclusive=exclusive)
    try:
        dispatch(settings, job.id)
    except Exception:  # noqa: BLE001 - the broker is away: the job says so, nothing waits
        logger.exception("job %s could not be queued", job.id)
        jobs.fail(state, job.id, "De taak kon niet in de wachtrij (de wachtrijserver is niet "
                                 "bereikbaar). Probeer het later opnieuw.")
        job = jobs.get(state, job.id)
    return job


def status(settings, state, job_id: str, user: str | None) -> jobs.Job | None:
    """The owner's job (after reaping dead local jobs), None for anyone else."""
    reap(settings, state)
    return jobs.status_for(state, job_id, user)


def init_jobs(server: flask.Flask) -> None:
    from dashboard.auth import current_scope, current_user, get_state

    def refused(job_id: str, view: str) -> flask.Response:
        protocol.record(get_state(), user=current_user(), scope=current_scope(), view=view,
                        filters={"taak": job_id[:64]}, rows=0,
                        client=flask.request.remote_addr, outcome="refused",
                        detail="jobs: unknown job or another user's")
        return flask.jsonify(error="Onbekende taak."), 404

    @server.route("/jobs/<job_id>")
    def job_status(job_id):
        settings = flask.current_app.config["VB_SETTINGS"]
        user = current_user()
        job = status(settings, get_state(), job_id, getattr(user, "name", None))
        if job is None:
            return refused(job_id, "taken/status")
        response = flask.jsonify(job.public())
        response.headers["Cache-Control"] = "no-store"
        return response

    @server.route("/jobs/<job_id>/bestand")
    def job_file(job_id):
        settings = flask.current_app.config["VB_SETTINGS"]
        user, state = current_user(), get_state()
        job = jobs.status_for(state, job_id, getattr(user, "name", None))
        if job is None:
            return refused(job_id, "taken/bestand")
        result = job.result or {}
        path = settings.exports_path() / str(result.get("file", ""))
        if job.status != "done" or "file" not in result or not path.is_file():
            return flask.jsonify(error="Het bestand is er (nog) niet."), 404
        protocol.record(state, user=user, scope=current_scope(), view="taken/bestand",
                        filters={"taak": job.id, "soort": job.kind}, rows=result.get("rows"),
                        client=flask.request.remote_addr)
        from dashboard.exports import XLSX_MIME

        response = flask.send_file(path, mimetype=XLSX_MIME, as_attachment=True,
                                   download_name=result.get("name") or path.name, max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response
