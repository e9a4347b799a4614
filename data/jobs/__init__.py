"""Background jobs: submit -> queued -> running (progress) -> done (result) or failed (error).

Heavy work (product generation for "Nu maken", the XLSX export, ``reports run --due``,
``meldingen mail``, imports) never runs inside a web request: the request submits a job and
returns at once; the browser polls the job's status. One mechanism, two backends
(``DASHBOARD_JOBS``, ``dashboard/jobs.py``): ``local`` runs jobs in a process pool beside the web
process (the embedded default, no Redis), ``celery`` sends them to a Celery worker through Redis
(``dashboard/worker.py``). Both run the same :func:`data.jobs.tasks.run`.

The ``jobs`` table of the state database holds every job: id (server generated, or the
browser's, validated like export ids), kind, owner, the payload (parameters only, NEVER a scope:
the job process reads the account again and builds the scope with ``resolve_scope``, exactly as
a web request does), status, done/total progress, the result (JSON) or a short Dutch error,
attempts, and the host and pid of the process that runs it.

Rules kept here:

* only the owner reads a job (:func:`status_for` returns None for anyone else);
* one active (queued or running) job per user; a second is refused with ``heavy.USER_BUSY``
  (the per-user limit of ``data/heavy.py``). The total limit is the queue: the Celery worker's
  concurrency, or for ``local`` the heavy slots (``DASHBOARD_HEAVY_SLOTS``), which the job
  process takes as a ``heavy`` lease while it runs (it waits for a slot, no web worker does);
* :func:`claim` is the start of every attempt; a job already ``done`` is not run again (a
  re-delivered Celery task after a worker was killed), a ``running`` one is taken over, one
  whose process died ``MAX_ATTEMPTS`` times is failed with :data:`LOST` (no endless retries);
* a job whose process died on this host (:func:`reap`) is requeued at most ``MAX_ATTEMPTS``
  times, then failed with a clear message; a job without news for ``STALE`` seconds no longer
  blocks its user.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from data.heavy import USER_BUSY, Busy, _alive
from data.state import StateDB, dumps, now

JOB_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
KINDS = ("product", "release", "export-xlsx", "import", "reports-due", "meldingen-mail",
         "source")
ACTIVE = ("queued", "running")
#: Attempts before a job whose process keeps dying is given up.
MAX_ATTEMPTS = 3
#: Seconds without any update after which an active job no longer blocks its user.
STALE = 900
#: Finished jobs (and their result files) are kept this long.
KEEP = timedelta(days=1)

LOST = "De taak is afgebroken (het proces stopte). Probeer het opnieuw."
FAILED = "De taak is mislukt. Probeer het opnieuw of neem contact op met de beheerder."


def valid_job_id(job) -> bool:
    return isinstance(job, str) and JOB_ID.match(job) is not None


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    user: str
    payload: dict
    backend: str
    status: str
    done: int
    total: int
    result: dict | None
    error: str | None
    attempts: int
    host: str | None
    pid: int | None
    client: str | None
    created_at: str
    updated_at: str

    def public(self) -> dict:
        """What the owner's browser gets: no host, pid or payload."""
        return {"id": self.id, "kind": self.kind, "status": self.status, "done": self.done,
                "total": self.total, "result": self.result, "error": self.error,
                "finished": self.status in ("done", "failed")}


def _job(row) -> Job:
    return Job(row["id"], row["kind"], row["user"], json.loads(row["payload"] or "{}"),
               row["backend"], row["status"], row["done"], row["total"],
               json.loads(row["result"]) if row["result"] else None, row["error"],
               row["attempts"], row["host"], row["pid"], row["client"], row["created_at"],
               row["updated_at"])


def _ago(seconds: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).isoformat(
        timespec="milliseconds")


def get(state: StateDB, job_id: str) -> Job | None:
    if not valid_job_id(job_id):
        return None
    rows = state.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
    return _job(rows[0]) if rows else None


def status_for(state: StateDB, job_id: str, user: str | None) -> Job | None:
    """The job if ``user`` owns it; None for an unknown job or someone else's."""
    job = get(state, job_id)
    return job if job is not None and user is not None and job.user == user else None


def _busy(con, user: str, kind: str) -> Busy | None:
    rows = con.execute("SELECT kind FROM jobs WHERE user = ? AND status IN ('queued', 'running')"
                       " AND backend <> 'request' AND updated_at >= ?",
                       (user, _ago(STALE))).fetchall()
    if rows:
        return Busy("user", f"jobs: {kind} refused, {rows[0]['kind']} of this user still active")
    return None


def clean(con) -> None:
    """Inside a transaction: drop jobs older than :data:`KEEP` (finished, or long dead)."""
    con.execute("DELETE FROM jobs WHERE updated_at < ?", (_ago(KEEP.total_seconds()),))


def check(state: StateDB, *, user: str, kind: str) -> None:
    """Raise :class:`Busy` if :func:`submit` would refuse the user now (for ``check=1``)."""
    with state.transaction() as con:
        refusal = _busy(con, user, kind)
    if refusal is not None:
        raise refusal


def submit(state: StateDB, *, kind: str, user: str, payload: dict, backend: str,
           job_id: str | None = None, client: str | None = None, total: int = 0,
           exclusive: bool = True) -> Job:
    """Register a queued job (the caller hands it to the backend). Raises :class:`Busy` when
    ``exclusive`` and the user has an active job already, ValueError for a bad id or kind or a
    job id that is taken."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job_id = job_id or new_id()
    if not valid_job_id(job_id):
        raise ValueError("invalid job id")
    stamp = now()
    with state.transaction() as con:
        clean(con)
        if con.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchall():
            raise ValueError("job id in use")
        busy = _busy(con, user, kind) if exclusive else None
        if busy is None:
            con.execute(
                "INSERT INTO jobs (id, kind, user, payload, backend, status, total, host, pid,"
                " client, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?,"
                " ?, ?)", (job_id, kind, user, dumps(payload), backend, int(total),
                           socket.gethostname(), os.getpid(), client, stamp, stamp))
    if busy is not None:
        raise busy
    return get(state, job_id)


def claim(state: StateDB, job_id: str) -> Job | None:
    """Start an attempt in this process: None when the job is unknown or finished already
    (a re-delivered task has nothing to do), else the job, now ``running`` here."""
    with state.transaction() as con:
        rows = con.execute("SELECT status, attempts FROM jobs WHERE id = ?",
                           (job_id,)).fetchall()
        if not rows or rows[0]["status"] in ("done", "failed"):
            return None
        stamp = now()
        if rows[0]["attempts"] >= MAX_ATTEMPTS:  # its process died every time: give up
            con.execute("UPDATE jobs SET status = 'failed', error = ?, updated_at = ?,"
                        " finished_at = ? WHERE id = ?", (LOST, stamp, stamp, job_id))
            return None
        con.execute("UPDATE jobs SET status = 'running', attempts = attempts + 1, host = ?,"
                    " pid = ?, started_at = ?, updated_at = ?, error = NULL WHERE id = ?",
                    (socket.gethostname(), os.getpid(), stamp, stamp, job_id))
    return get(state, job_id)


def progress(state: StateDB, job_id: str, done: int, total: int | None = None) -> None:
    with state.transaction() as con:
        if total is None:
            con.execute("UPDATE jobs SET done = ?, updated_at = ? WHERE id = ?",
                        (int(done), now(), job_id))
        else:
            con.execute("UPDATE jobs SET done = ?, total = ?, updated_at = ? WHERE id = ?",
                        (int(done), int(total), now(), job_id))


def finish(state: StateDB, job_id: str, result: dict) -> None:
    stamp = now()
    with state.transaction() as con:
        con.execute("UPDATE jobs SET status = 'done', done = CASE WHEN total > done THEN total"
                    " ELSE done END, result = ?, updated_at = ?, finished_at = ? WHERE id = ?",
                    (dumps(result), stamp, stamp, job_id))


def fail(state: StateDB, job_id: str, error: str) -> None:
    stamp = now()
    with state.transaction() as con:
        con.execute("UPDATE jobs SET status = 'failed', error = ?, updated_at = ?,"
                    " finished_at = ? WHERE id = ?", (error[:300], stamp, stamp, job_id))


def requeue(state: StateDB, job_id: str) -> None:
    """Back to ``queued`` for another attempt, submitted by this process."""
    with state.transaction() as con:
        con.execute("UPDATE jobs SET status = 'queued', host = ?, pid = ?, updated_at = ?"
                    " WHERE id = ?", (socket.gethostname(), os.getpid(), now(), job_id))


def reap(state: StateDB, backend: str = "local") -> list[str]:
    """Local jobs whose process died on this host (a killed gunicorn worker took its pool, or a
    job process was killed): requeued to this process (ids returned, for the caller to submit
    again) until ``MAX_ATTEMPTS`` attempts, then failed with :data:`LOST`. Each dead job is
    taken over by one process only (the update names the dead pid). Celery jobs are
    re-delivered by the broker instead (acks late)."""
    host = socket.gethostname()
    rows = state.query("SELECT id, pid, attempts FROM jobs WHERE backend = ? AND host = ?"
                       " AND status IN ('queued', 'running')", (backend, host))
    requeued = []
    for row in rows:
        if row["pid"] is None or _alive(row["pid"]):
            continue
        given_up = row["attempts"] >= MAX_ATTEMPTS
        with state.transaction() as con:
            cursor = con.execute(
                "UPDATE jobs SET status = ?, error = ?, host = ?, pid = ?, updated_at = ?"
                " WHERE id = ? AND pid = ? AND host = ? AND status IN ('queued', 'running')",
                ("failed" if given_up else "queued", LOST if given_up else None,
                 host, os.getpid(), now(), row["id"], row["pid"], host))
            taken = cursor.rowcount == 1
        if taken and not given_up:
            requeued.append(row["id"])
    return requeued


def recent(state: StateDB, *, user: str | None = None) -> list[Job]:
    """Every stored job (the last day's), or one user's, newest first."""
    where, params = ("WHERE user = ?", (user,)) if user else ("", ())
    return [_job(r) for r in state.query(f"SELECT * FROM jobs {where} ORDER BY created_at DESC",
                                         params)]


def active(state: StateDB, user: str) -> list[Job]:
    return [_job(r) for r in state.query(
        "SELECT * FROM jobs WHERE user = ? AND status IN ('queued', 'running')"
        " ORDER BY created_at", (user,))]


__all__ = ["ACTIVE", "Busy", "FAILED", "Job", "KINDS", "LOST", "MAX_ATTEMPTS", "USER_BUSY",
           "active", "check", "claim", "clean", "fail", "finish", "get", "new_id", "progress", "reap", "recent", "requeue",
           "status_for", "submit", "valid_job_id"]
