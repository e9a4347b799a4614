"""Heavy actions (product generation, the XLSX export) cannot starve the server.

A heavy action holds a sync gunicorn worker for seconds to minutes. Three parallel "Nu maken"
clicks of one mayor once kept every worker busy, so another user's login waited 30 s. A heavy
action therefore runs under a lease in the state database (table ``heavy_leases``, shared by all
workers and the command line):

* at most one lease per user: a second heavy action of the same user is refused at once;
* at most ``slots`` leases in all (``DASHBOARD_HEAVY_SLOTS``): with fewer slots than workers,
  some workers always stay free for everybody else.

Usage::

    with heavy.slot(state, user=user.name, kind="export-xlsx", slots=settings.heavy_slots):
        ...  # the heavy work

raises :class:`Busy` (a short Dutch message; ``detail`` for the protocol log) instead of waiting.

A lease names its process (host name and pid) and an expiry. A lease whose process is gone (on
this host) or whose expiry has passed counts as free, so a worker killed in the middle (gunicorn's
timeout, an out-of-memory kill) never blocks a user or a slot for long. Taking a lease reads and
writes in one ``BEGIN IMMEDIATE`` transaction: two workers cannot both take the last slot.
"""
from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass

from data.state import StateDB, now

#: Seconds after which a lease counts as free even if its process still runs (a lease of another
#: host, or a reused pid). Longer than any heavy action: gunicorn's worker timeout (120 s in the
#: Procfile) ends a request long before.
TTL = 600.0

USER_BUSY = ("U heeft al een rapportage of export lopen. Wacht tot die klaar is en probeer het "
             "dan opnieuw.")
SERVER_BUSY = "De server is op dit moment druk. Probeer het over een minuut opnieuw."


class Busy(Exception):
    """A heavy action refused: the user already runs one (``reason == "user"``), or every slot
    is taken (``reason == "server"``). ``str()`` is the Dutch message for the user; ``detail``
    is for the protocol log."""

    def __init__(self, reason: str, detail: str):
        super().__init__(USER_BUSY if reason == "user" else SERVER_BUSY)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Lease:
    state: StateDB
    id: int

    def release(self) -> None:
        with self.state.transaction() as con:
            con.execute("DELETE FROM heavy_leases WHERE id = ?", (self.id,))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to someone else
        return True
    return True


def _refusal(con, *, user: str, kind: str, slots: int) -> Busy | None:
    """Inside an open transaction: drop stale leases, then the reason to refuse, if any."""
    host, moment = socket.gethostname(), time.time()
    rows = con.execute("SELECT id, user, kind, host, pid, expires FROM heavy_leases").fetchall()
    stale = [r["id"] for r in rows
             if r["expires"] <= moment or (r["host"] == host and not _alive(r["pid"]))]
    con.executemany("DELETE FROM heavy_leases WHERE id = ?", [(i,) for i in stale])
    live = [r for r in rows if r["id"] not in stale]
    own = [r for r in live if r["user"] == user]
    if own:
        return Busy("user", f"heavy: {kind} refused, {own[0]['kind']} of this user still running")
    limit = max(1, int(slots))
    if len(live) >= limit:
        return Busy("server", f"heavy: {kind} refused, all {limit} slots in use")
    return None


def acquire(state: StateDB, *, user: str, kind: str, slots: int, ttl: float = TTL) -> Lease:
    """Take a lease for ``user``'s heavy action ``kind`` or raise :class:`Busy`. ``slots`` below
    1 count as 1. Release it with ``Lease.release()``; :func:`slot` does both."""
    with state.transaction() as con:
        refusal = _refusal(con, user=user, kind=kind, slots=slots)
        if refusal is None:
            cursor = con.execute(
                "INSERT INTO heavy_leases (user, kind, host, pid, started_at, expires)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user, kind, socket.gethostname(), os.getpid(), now(), time.time() + ttl))
    if refusal is not None:  # raised after COMMIT: the stale leases stay cleaned up
        raise refusal
    return Lease(state, cursor.lastrowid)


def check(state: StateDB, *, user: str, kind: str, slots: int) -> None:
    """Raise :class:`Busy` if :func:`acquire` would refuse now; take nothing (for a page that
    asks first whether an action may start)."""
    with state.transaction() as con:
        refusal = _refusal(con, user=user, kind=kind, slots=slots)
    if refusal is not None:
        raise refusal


@contextmanager
def slot(state: StateDB, *, user: str, kind: str, slots: int, ttl: float = TTL):
    """``with slot(...):`` runs the block under a lease (released at the end, also on error)."""
    lease = acquire(state, user=user, kind=kind, slots=slots, ttl=ttl)
    try:
        yield lease
    finally:
        lease.release()
