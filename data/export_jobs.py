"""Progress of running exports, shared by all gunicorn workers through the state database.

The browser generates a job id, starts an export with ``job=<id>`` and polls
``/incidenten/export-status?job=<id>`` (served by any worker) for ``{total, done, finished}``.
Only the user who started a job can read it. Rows older than a day are dropped when a new job
starts. :class:`Progress` throttles its writes (at most one per ``interval`` seconds).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from data.state import StateDB, now

JOB_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
#: Seconds between two progress writes of one export.
INTERVAL = 0.5
KEEP = timedelta(days=1)


def valid_job_id(job) -> bool:
    return isinstance(job, str) and JOB_ID.match(job) is not None


def start_job(db: StateDB, *, job: str, user: str, total: int) -> bool:
    """Register (or restart) ``job`` for ``user``. False when the id belongs to someone else."""
    if not valid_job_id(job):
        raise ValueError("invalid job id")
    stamp = now()
    cutoff = (datetime.now(timezone.utc) - KEEP).isoformat(timespec="milliseconds")
    with db.transaction() as con:
        con.execute("DELETE FROM export_jobs WHERE started_at < ?", (cutoff,))
        owner = con.execute("SELECT user FROM export_jobs WHERE job = ?", (job,)).fetchone()
        if owner is not None and owner["user"] != user:
            return False
        con.execute(
            "INSERT OR REPLACE INTO export_jobs (job, user, total, done, finished, started_at,"
            " updated_at, error) VALUES (?, ?, ?, 0, 0, ?, ?, NULL)",
            (job, user, int(total), stamp, stamp))
    return True


def update_job(db: StateDB, *, job: str, user: str, done: int, finished: bool = False,
               error: str | None = None) -> None:
    with db.transaction() as con:
        con.execute("UPDATE export_jobs SET done = ?, finished = ?, error = ?, updated_at = ?"
                    " WHERE job = ? AND user = ?",
                    (int(done), int(finished), error, now(), job, user))


def job_status(db: StateDB, *, job: str, user: str) -> dict | None:
    """``{total, done, finished, error}`` of the user's own job; None for an unknown job or
    someone else's."""
    if not valid_job_id(job):
        return None
    rows = db.query("SELECT total, done, finished, error FROM export_jobs"
                    " WHERE job = ? AND user = ?", (job, user))
    if not rows:
        return None
    row = rows[0]
    return {"total": row["total"], "done": row["done"], "finished": bool(row["finished"]),
            "error": row["error"]}


class Progress:
    """The ``progress(rows_so_far)`` callback of an export, writing at most every ``interval``
    seconds to the job's row; without a job id it only remembers the count."""

    def __init__(self, db: StateDB | None, *, job: str | None, user: str, total: int,
                 interval: float = INTERVAL):
        self.db, self.job, self.user, self.total = db, job, user, int(total)
        self.interval = interval
        self.done = 0
        self._last = 0.0

    def start(self) -> bool:
        if self.job is None:
            return True
        return start_job(self.db, job=self.job, user=self.user, total=self.total)

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
