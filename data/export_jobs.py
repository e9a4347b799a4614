"""Progress of exports streamed in the request (the CSV; the XLSX of scripts), kept as jobs.

The browser generates a job id, starts an export with ``job=<id>`` and polls
``/incidenten/export-status?job=<id>`` (served by any worker) for ``{total, done, finished}``.
The rows live in the ``jobs`` table of ``data/jobs`` (kind ``export-csv`` or ``export-xlsx``,
backend ``request``: the request itself does the work, no pool or worker runs it), so
``/jobs/<id>`` answers for them too and there is one job store. Only the user who started a job
can read it. :class:`Progress` throttles its writes (at most one per ``interval`` seconds).

Why the CSV stays in the request: it is streamed as it is produced (the first bytes leave at
once, memory stays flat, no file is written), it takes no heavy lease, and a browser download
cannot follow a job without a second copy on disk. The XLSX (a whole workbook in a file, minutes
for a big one) is a background job (``dashboard/exports.py``).
"""
from __future__ import annotations

import os
import socket
import time

from data import jobs
from data.jobs import valid_job_id
from data.state import StateDB, now

#: Seconds between two progress writes of one export.
INTERVAL = 0.5
KEEP = jobs.KEEP


def start_job(db: StateDB, *, job: str, user: str, total: int, kind: str = "export-csv") -> bool:
    """Register (or restart) ``job`` for ``user``. False when the id belongs to someone else."""
    if not valid_job_id(job):
        raise ValueError("invalid job id")
    stamp = now()
    with db.transaction() as con:
        jobs.clean(con)
        owner = con.execute("SELECT user, backend FROM jobs WHERE id = ?", (job,)).fetchone()
        if owner is not None and (owner["user"] != user or owner["backend"] != "request"):
            return False  # someone else's, or a background job's id
        con.execute("DELETE FROM jobs WHERE id = ?", (job,))
        con.execute(
            "INSERT INTO jobs (id, kind, user, payload, backend, status, total, attempts, host,"
            " pid, created_at, started_at, updated_at) VALUES (?, ?, ?, '{}', 'request',"
            " 'running', ?, 1, ?, ?, ?, ?, ?)",
            (job, kind, user, int(total), socket.gethostname(), os.getpid(), stamp, stamp,
             stamp))
    return True


def update_job(db: StateDB, *, job: str, user: str, done: int, finished: bool = False,
               error: str | None = None) -> None:
    status = "failed" if error is not None else ("done" if finished else "running")
    with db.transaction() as con:
        con.execute("UPDATE jobs SET done = ?, status = ?, error = ?, updated_at = ?"
                    " WHERE id = ? AND user = ? AND backend = 'request'",
                    (int(done), status, error, now(), job, user))


def job_status(db: StateDB, *, job: str, user: str) -> dict | None:
    """``{total, done, finished, error}`` of the user's own job; None for an unknown job or
    someone else's."""
    found = jobs.status_for(db, job, user)
    if found is None:
        return None
    return {"total": found.total, "done": found.done,
            "finished": found.status in ("done", "failed"), "error": found.error}


class Progress:
    """The ``progress(rows_so_far)`` callback of an export, writing at most every ``interval``
    seconds to the job's row; without a job id it only remembers the count."""

    def __init__(self, db: StateDB | None, *, job: str | None, user: str, total: int,
                 interval: float = INTERVAL, kind: str = "export-csv"):
        self.db, self.job, self.user, self.total = db, job, user, int(total)
        self.kind = kind
        self.interval = interval
        self.done = 0
        self._last = 0.0

    def start(self) -> bool:
        if self.job is None:
            return True
        return start_job(self.db, job=self.job, user=self.user, total=self.total,
                         kind=self.kind)

    def __call__(self, done: int) -> None:
        self.done = done
        if self.job is not None and time.monotonic() - self._last >= self.interval:
            self._last = time.monotonic()
            update_job(self.db, job=self.job, user=self.user, done=done)

    def finish(self) -> None:
        if self.job is not None:
            update_job(self.db, job=self.job, user=self.user, done=self.done, finished=True)

    def fail(self, error: str) -> None:
        if self.job is not None:
            update_job(self.db, job=self.job, user=self.user, done=self.done, finished=True,
                       error=error[:200])
