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
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from data.catalog import seed_catalog
from data.schema import create_schema


#: Names of the version files :meth:`Store.write` makes (and its WAL files): the only files
#: a swap ever deletes.
VERSION_FILE = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}\.duckdb(\.wal)?")


class StoreError(RuntimeError):
    """The database is missing, locked or not a Veiligheidsbeeld database."""


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
        current = self.current_file()
        return f"{current.name}@{current.stat().st_mtime_ns}"

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
            try:
                con = duckdb.connect(str(current), read_only=True, config=self._config())
            except duckdb.IOException:
                if attempt == 4 or current == self.current_file():
                    raise
                continue
            self._local.reader = (current, con)
            return con
        raise StoreError(f"database {self.path} does not exist")

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
                raise StoreError(f"another process is writing {self.path}") from exc
            stamp = datetime.now(timezone.utc)
            new = versions / f"{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.duckdb"
            swapped = False
            try:
                if self.exists() and not fresh:
                    shutil.copyfile(self.current_file(), new)
                con = duckdb.connect(str(new), config={
                    "threads": max(self.threads, os.cpu_count() or 1),
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                })
                try:
                    create_schema(con)
                    seed_catalog(con)
                    yield con
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('data_version', ?), ('updated_at', ?),"
                        " ('last_change', ?)",
                        [new.stem, stamp.isoformat(timespec="seconds"), reason],
                    )
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                _fsync(new)
                self._point_to(new)
                swapped = True
            finally:
                if not swapped:
                    for leftover in (new, new.with_name(new.name + ".wal")):
                        with contextlib.suppress(FileNotFoundError):
                            leftover.unlink()
            self._remove_old_versions(versions, keep=new)

    def _point_to(self, target: Path) -> None:
        """Atomically make the configured path a link to ``target``."""
        link = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.link")
        os.symlink(os.path.relpath(target, self.path.parent), link)
        os.replace(link, self.path)
        _fsync_dir(self.path.parent)

    @staticmethod
    def _remove_old_versions(versions: Path, keep: Path) -> None:
        """Unlink superseded DuckDB version files, and nothing else: anything else someone put
        in the folder stays. Processes that still have an old version open keep reading it
        (POSIX unlink semantics) until their next request reopens the current version."""
        for old in versions.iterdir():
            if old == keep or not VERSION_FILE.fullmatch(old.name):
                continue
            with contextlib.suppress(OSError):
                old.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)

