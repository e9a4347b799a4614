"""Data versions on many hosts (issue #18 item 4): real processes sharing one store folder (as
app hosts share an NFS mount) while another process imports. Each reader is a separate Python
process that keeps its connection between commands, as a serving worker does."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from data.store import LEASE_TTL, Store, collect_versions, live_leases

from .conftest import ROOT

READER = """
import sys
from data.store import Store
store = Store(sys.argv[1])
for line in sys.stdin:
    if line.strip() == "read":
        con = store.read()
        version = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
        areas = sorted(r[0] for r in con.execute("SELECT code FROM areas WHERE code LIKE 'GM%'").fetchall())
        print(version, ",".join(areas), flush=True)
"""

WRITER = """
import sys
from data.store import Store
with Store(sys.argv[1]).write("import on another host") as con:
    con.execute("INSERT INTO areas (code, level, name) VALUES (?, 'gemeente', ?)",
                [sys.argv[2], sys.argv[2]])
"""


class Reader:
    """A serving process on one host: answers 'read' with its version and area codes."""

    def __init__(self, path):
        self.proc = subprocess.Popen([sys.executable, "-c", READER, str(path)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def read(self) -> tuple[str, str]:
        self.proc.stdin.write("read\n")
        self.proc.stdin.flush()
        version, _, areas = self.proc.stdout.readline().strip().partition(" ")
        assert version, "the reader process ended"
        return version, areas

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(20)


def _import(path, code):
    done = subprocess.run([sys.executable, "-c", WRITER, str(path), code], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _version_file(store: Store, version: str):
    return store.path.with_name(f".{store.path.name}.versions") / f"{version}.duckdb"


def test_readers_on_two_hosts_swap_on_their_next_read_and_old_versions_go_when_unused(tmp_path):
    shared = tmp_path / "nfs"  # the shared mount
    shared.mkdir()
    store = Store(shared / "veiligheidsbeeld.duckdb")
    _import(store.path, "GM0001")
    first, second = Reader(store.path), Reader(store.path)
    try:
        old, areas = first.read()
        assert second.read() == (old, areas) and areas == "GM0001"
        leases = store.path.with_name(f".{store.path.name}.leases")
        assert len(live_leases(leases, f"{old}.duckdb")) == 2  # one per reading process

        _import(store.path, "GM0002")  # a third process, the import, on "another host"
        assert _version_file(store, old).is_file()  # both readers still hold the old one

        new, areas = second.read()  # the next request of host 2 takes the new version ...
        assert new != old and areas == "GM0001,GM0002"
        assert _version_file(store, old).is_file()  # ... while host 1 still uses the old one
        assert len(live_leases(leases, f"{old}.duckdb")) == 1

        assert first.read() == (new, "GM0001,GM0002")  # host 1's next request swaps too
        assert not _version_file(store, old).exists()  # unused now: deleted
        assert not live_leases(leases, f"{old}.duckdb")

        later = Reader(store.path)  # a host that starts later takes the newest
        try:
            assert later.read() == (new, "GM0001,GM0002")
        finally:
            later.stop()
        versions = sorted(p.name for p in _version_file(store, new).parent.iterdir())
        assert versions == [f"{new}.duckdb"]  # no temporary or superseded file left
    finally:
        first.stop()
        second.stop()
    # Readers that stopped leave no leases behind.
    assert not list(store.path.with_name(f".{store.path.name}.leases").glob("*.lease"))


def test_a_lease_of_a_dead_process_or_an_expired_one_keeps_nothing(tmp_path):
    from data.store import _HOST

    store = Store(tmp_path / "db.duckdb")
    with store.write("first"):
        pass
    old = store.current_file()
    with store.write("second"):
        pass
    assert not old.exists()  # nobody held it
    versions = store.current_file().parent
    leases = store.path.with_name(f".{store.path.name}.leases")
    leases.mkdir(exist_ok=True)

    # A version leased by a live process on another host survives a swap; an expired lease
    # of that host (it crashed), or one of a process on this host that has died, does not.
    keep = store.current_file()
    other_host = leases / f"{keep.name}.elders-4242.lease"
    other_host.touch()
    with store.write("third"):
        pass
    assert keep.exists()  # leased by a live process elsewhere
    os.utime(other_host, (time.time() - LEASE_TTL - 5,) * 2)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (leases / f"{keep.name}.{_HOST}-{dead}.lease").touch()
    (leases / f"{keep.name}.{_HOST}-{os.getpid()}.lease").touch()  # this process: alive
    assert collect_versions(versions, leases) == []
    (leases / f"{keep.name}.{_HOST}-{os.getpid()}.lease").unlink()
    assert collect_versions(versions, leases) == [keep.name]
    assert not any(leases.iterdir())  # the dead and expired leases went too


def test_a_failed_import_leaves_no_temporary_file(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    with store.write("first"):
        pass
    with pytest.raises(RuntimeError):
        with store.write("broken"):
            raise RuntimeError("bad input")
    assert [p.name for p in store.current_file().parent.iterdir()] == [store.current_file().name]
