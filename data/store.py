"""The DuckDB store: read-only connections for serving, atomic new versions for writing.

The configured path (``DASHBOARD_DB``) is a symbolic link to the current version file in a
hidden folder beside it (``.<name>.versions/``). Readers (every gunicorn worker) resolve the link
and open that version with ``read_only=True``. A writer never touches a live version:
:meth:`Store.write` copies the current one (or starts empty) to a new version file, yields a
read-write connection on it and, on success, checkpoints, fsyncs and atomically replaces the link.
On any exception the new file is deleted and the live data is byte-for-byte what it was. Readers
notice the new target on their next :meth:`Store.read`; a request already running keeps the old
version open and finishes on the old data. (A distinct file per version is also what lets a
process open the new data at all: DuckDB caches database instances by path within a process.)

**Many hosts.** Put ``DASHBOARD_DB`` on storage every app host mounts at the same path (an NFS
share, NFSv4 for the writers' lock): the link, the version folder and the lease folder then
live there. A write builds the new version under a temporary name in the version folder,
checkpoints and fsyncs it, renames it to its version name, fsyncs the folder and only then
swaps the link (``rename``, atomic on NFS too). Every host resolves the link on each
:meth:`Store.read` (one ``readlink``/``stat``, no database query) and so takes the new version
on its next request; a host that starts later takes the newest. A version may be in use on
another host, where deleting it would break the queries running on it (NFS has no POSIX
unlink-while-open across hosts), so each process holds a *lease* on every version it has a
connection open on: a file ``.<name>.leases/<version>.<host>-<pid>.lease``, created before
the version is opened, refreshed every :data:`LEASE_REFRESH` seconds by a background thread
and removed when the last connection on that version is garbage-collected. A superseded
version is deleted (by the writer after its swap, and by whichever process drops its last
lease on it) only when no live lease names it; a lease whose process on this host has died, or
that nobody refreshed for :data:`LEASE_TTL` seconds (a crashed host), no longer counts.
Object storage (S3) is the next step: versions as immutable objects, the pointer as one small
object written last, leases as objects with an expiry (see docs/architecture.md).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import threading
import time
import uuid
import weakref
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from data import segments
from data.catalog import seed_catalog
from data.schema import create_schema
from data.sql import ident, literal


#: Names of the version files :meth:`Store.write` makes (and their WAL files): the only files
#: a swap ever deletes.
VERSION_FILE = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}\.duckdb(\.wal)?")


#: Seconds between refreshes of a process's leases, and the age after which an unrefreshed
#: lease no longer keeps a version (a host that crashed without removing its leases).
LEASE_REFRESH = 60.0
LEASE_TTL = 600.0


class StoreError(RuntimeError):
    """The database is missing, locked or not a Veiligheidsbeeld database."""


class StoreBusy(StoreError):
    """Another process is writing a new version (writers are serialised): try again later."""


class Store:
    def __init__(self, path: str | os.PathLike, *, threads: int = 2, memory_limit: str = "2GB"):
        self.path = Path(path)
        self.threads = threads
        self.memory_limit = memory_limit
        self._local = threading.local()

    # -- reading -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.is_file()

    def current_file(self) -> Path:
        """The version file the configured path points to now."""
        return Path(os.path.realpath(self.path))

    def version(self) -> str:
        """The current data version, for cache keys: the version file's name (unique per
        import) and its modification time (for a plain database file without versions)."""
        for _ in range(5):
            current = self.current_file()
            try:
                return f"{current.name}@{current.stat().st_mtime_ns}"
            except FileNotFoundError:
                continue  # swapped and collected in between: resolve the link again
        raise StoreError(f"database {self.path} does not exist")

    def read(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the current version (reopened after a swap).

        The link is resolved on every call, so a serving process takes a new version on its
        next request. A connection already open on an older version keeps reading it after
        the swap deleted it (POSIX unlink). Between resolving the link and opening its target
        a concurrent swap may delete that target: then the link is resolved again."""
        for attempt in range(5):
            current = self.current_file()
            cached = getattr(self._local, "reader", None)
            if cached is not None and cached[0] == current:
                return cached[1]
            if not current.is_file():
                if not os.path.lexists(self.path):
                    break
                continue  # swapped away under us: resolve the link again
            # A version file (not a plain database file) is leased before it is opened.
            versioned = current.parent.name == f".{self.path.name}.versions"
            lease = _LEASES.acquire(self._lease_dir(), current) if versioned else None
            try:
                con = segments.connect(current, config=self._config())
            except duckdb.IOException:
                if lease:
                    _LEASES.release(lease, current)
                if attempt == 4 or current == self.current_file():
                    raise
                continue
            if lease:
                # The lease ends when the last reference to this connection is gone (a
                # request still running on the old version keeps it).
                weakref.finalize(con, _LEASES.release, lease, current)
            self._local.reader = (current, con)
            return con
        raise StoreError(f"database {self.path} does not exist")

    def _segment_dir(self) -> Path:
        return self.path.with_name(f".{self.path.name}.segments")

    def _lease_dir(self) -> Path:
        return self.path.with_name(f".{self.path.name}.leases")

    def meta(self) -> dict[str, str]:
        return dict(self.read().execute("SELECT key, value FROM meta").fetchall())

    def _config(self) -> dict:
        return {
            "threads": self.threads,
            "memory_limit": self.memory_limit,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self, reason: str, *, fresh: bool = False):
        """Yield a read-write connection on a new version; swap it in when the block succeeds.

        ``fresh=True`` starts from an empty database instead of a copy of the current one.
        Writers are serialised with a lock file beside the database.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        versions = self.path.with_name(f".{self.path.name}.versions")
        versions.mkdir(exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreBusy(f"another process is writing {self.path}") from exc
            stamp = datetime.now(timezone.utc)
            new = versions / f"{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.duckdb"
            # Built under a temporary name: no host sees a version before it is complete.
            incoming = versions / f".{new.name}.incoming"
            manifest = segments.manifest_path(self._segment_dir(), new)
            swapped = False
            try:
                if self.exists() and not fresh:
                    shutil.copyfile(self.current_file(), incoming)
                con = duckdb.connect(str(incoming), config={
                    "threads": max(self.threads, os.cpu_count() or 1),
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                })
                try:
                    segments.attach(con)
                    create_schema(con)
                    seed_catalog(con)
                    yield con
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('data_version', ?), ('updated_at', ?),"
                        " ('last_change', ?)",
                        [new.stem, stamp.isoformat(timespec="seconds"), reason],
                    )
                    con.execute("CHECKPOINT")
                    # The incident segments this version reads, named before it is visible:
                    # a writer deletes only segments no version's manifest names.
                    segments.write_manifest(con, manifest)
                    compact = _compacted(con, incoming)
                finally:
                    con.close()
                if compact is not None:
                    os.replace(compact, incoming)
                    with contextlib.suppress(FileNotFoundError):
                        incoming.with_name(incoming.name + ".wal").unlink()
                _fsync(incoming)
                os.rename(incoming, new)
                _fsync_dir(versions)
                self._point_to(new)
                swapped = True
            finally:
                if not swapped:
                    for leftover in (incoming, incoming.with_name(incoming.name + ".wal"), new,
                                     manifest, incoming.with_name(incoming.name + ".compact")):
                        with contextlib.suppress(FileNotFoundError):
                            leftover.unlink()
            collect_versions(versions, self._lease_dir(), keep=new)
            segments.collect(self._segment_dir(), versions)

    def _point_to(self, target: Path) -> None:
        """Atomically make the configured path a link to ``target``."""
        link = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.link")
        os.symlink(os.path.relpath(target, self.path.parent), link)
        os.replace(link, self.path)
        _fsync_dir(self.path.parent)



#: A new version whose file is more than this share free blocks (DuckDB reuses freed blocks
#: but never shrinks its file: a database from before incident segments keeps the space of
#: its incidents table) and at least COMPACT_MIN_BYTES large is written out afresh without
#: them, so later versions do not copy empty space.
COMPACT_FREE_SHARE = 0.5
COMPACT_MIN_BYTES = 64 << 20


def _compacted(con, path: Path) -> Path | None:
    """A compact copy of the database ``con`` writes (at ``path``) when it is mostly free
    space (see COMPACT_FREE_SHARE), else None."""
    size, total, free, name = con.execute(
        "SELECT block_size, total_blocks, free_blocks, database_name FROM pragma_database_size()"
        " WHERE database_name = current_database()").fetchone()
    if total * size < COMPACT_MIN_BYTES or free <= COMPACT_FREE_SHARE * total:
        return None
    target = path.with_name(path.name + ".compact")
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    con.execute(f"ATTACH {literal(str(target))} AS vb_compact")
    try:
        con.execute(f"COPY FROM DATABASE {ident(name)} TO vb_compact")
        con.execute("CHECKPOINT vb_compact")
    except BaseException:
        con.execute("DETACH vb_compact")
        target.unlink()
        raise
    con.execute("DETACH vb_compact")
    return target


def _alive(holder: str) -> bool:
    """Whether a lease's holder (``host-pid``) may still be running: always for another
    host (its lease expires by age), for this host only while the process exists."""
    host, _, pid = holder.rpartition("-")
    if host != _HOST or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_leases(leases: Path, version: str) -> list[Path]:
    """The leases that keep version file ``version`` (a name) from being deleted."""
    found = []
    if not leases.is_dir():
        return found
    moment = time.time()
    for lease in leases.glob(f"{version}.*.lease"):
        holder = lease.name[len(version) + 1:-len(".lease")]
        try:
            fresh = moment - lease.stat().st_mtime < LEASE_TTL
        except FileNotFoundError:
            continue
        if fresh and _alive(holder):
            found.append(lease)
    return found


def collect_versions(versions: Path, leases: Path, keep: Path | None = None) -> list[str]:
    """Delete superseded DuckDB version files (and nothing else: anything else someone put in
    the folder stays) that no live lease names; then the dead and expired leases. Never the
    version the link points to, nor ``keep``. Returns the deleted names."""
    if not versions.is_dir():
        return []
    link = versions.parent / versions.name[1:-len(".versions")]
    current = Path(os.path.realpath(link)) if os.path.lexists(link) else None
    deleted = []
    kept = {p.name for p in (keep, current) if p is not None}
    for old in versions.iterdir():
        if not VERSION_FILE.fullmatch(old.name):
            continue
        base = old.name.removesuffix(".wal")
        if base in kept or live_leases(leases, base):
            continue
        with contextlib.suppress(OSError):
            old.unlink()
            deleted.append(old.name)
    if leases.is_dir():
        present = {p.name for p in versions.iterdir()}
        for lease in leases.glob("*.lease"):
            version = lease.name.split(".duckdb.", 1)[0] + ".duckdb"
            if version not in present or not live_leases(leases, version):
                with contextlib.suppress(OSError):
                    lease.unlink()
    return deleted


_HOST = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"


class _Leases:
    """This process's leases: one file per version it has connections open on, counted over
    all connections, threads and Store objects; refreshed by one daemon thread."""

    def __init__(self):
        self._lock = threading.RLock()  # a finalizer may release during an acquire
        self._held: dict[Path, int] = {}
        self._pid = os.getpid()
        self._thread = None

    def _fork_check(self) -> None:
        if self._pid != os.getpid():  # a forked child holds none of its parent's leases
            self._held, self._pid, self._thread = {}, os.getpid(), None

    def acquire(self, leases: Path, version: Path) -> Path:
        lease = leases / f"{version.name}.{_HOST}-{os.getpid()}.lease"
        with self._lock:
            self._fork_check()
            if lease not in self._held:
                leases.mkdir(exist_ok=True)
                lease.touch()
            self._held[lease] = self._held.get(lease, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._refresh, daemon=True,
                                                name="store-leases")
                self._thread.start()
        return lease

    def release(self, lease: Path, version: Path) -> None:
        with self._lock:
            self._fork_check()
            count = self._held.get(lease, 0) - 1
            if count > 0:
                self._held[lease] = count
                return
            self._held.pop(lease, None)
            with contextlib.suppress(OSError):
                lease.unlink()
        with contextlib.suppress(OSError):
            collect_versions(version.parent, lease.parent)

    def _refresh(self) -> None:
        while True:
            time.sleep(LEASE_REFRESH)
            with self._lock:
                if self._pid != os.getpid():
                    return
                held = list(self._held)
            for lease in held:
                with contextlib.suppress(OSError):
                    lease.touch()  # recreates a lease an expiry took away


_LEASES = _Leases()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)

