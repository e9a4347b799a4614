"""The DuckDB store: read-only connections for serving, atomic new versions for writing.

Readers (every gunicorn worker) open the file with ``read_only=True``. A writer never touches
the live file: :meth:`Store.write` copies it (or starts empty), yields a read-write connection on
the copy, and on success checkpoints, fsyncs and renames the copy over the live path. On any
exception the copy is deleted and the live file is byte-for-byte what it was. Readers notice the
new inode on their next :meth:`Store.read` and reopen; a request already running keeps the old
file open and finishes on the old data.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from data.catalog import seed_catalog
from data.schema import create_schema


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

    def read(self) -> duckdb.DuckDBPyConnection:
        """A read-only cursor on the current version of the database (reopened after a swap)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError as exc:
            raise StoreError(f"database {self.path} does not exist") from exc
        key = (stat.st_ino, stat.st_mtime_ns)
        cached = getattr(self._local, "reader", None)
        if cached is None or cached[0] != key:
            con = duckdb.connect(str(self.path), read_only=True, config=self._config())
            self._local.reader = (key, con)
        return self._local.reader[1]

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
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(f"another process is writing {self.path}") from exc
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.new")
            try:
                if self.exists() and not fresh:
                    shutil.copyfile(self.path, tmp)
                con = duckdb.connect(str(tmp), config={
                    "threads": max(self.threads, os.cpu_count() or 1),
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                })
                try:
                    create_schema(con)
                    seed_catalog(con)
                    yield con
                    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('data_version', ?), ('updated_at', ?),"
                        " ('last_change', ?)",
                        [uuid.uuid4().hex, stamp, reason],
                    )
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                _fsync(tmp)
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            finally:
                for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)

