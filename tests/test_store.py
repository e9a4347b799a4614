"""The store's promises: readers are read-only, new versions swap in atomically, a failed write
leaves the old data serving, and only one writer at a time."""
from __future__ import annotations

import hashlib
import multiprocessing

import duckdb
import pytest

from data.store import Store, StoreError


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _add_gemeente(store: Store, code: str) -> None:
    with store.write(f"add {code}") as con:
        con.execute("INSERT INTO areas (code, level, name) VALUES (?, 'gemeente', ?)", [code, code])


def _gemeenten(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente'").fetchall()}


def test_new_database_has_schema_catalog_and_version(store):
    with store.write("init", fresh=True):
        pass
    con = store.read()
    assert con.execute("SELECT count(*) FROM crime_types WHERE kind = 'misdrijf'").fetchall() == [(58,)]
    assert con.execute("SELECT count(*) FROM crime_types WHERE kind = 'incident'").fetchall()[0][0] >= 5
    meta = store.meta()
    assert meta["schema_version"] == "1"
    assert meta["data_version"] == store.current_file().stem
    assert store.path.is_symlink()


def test_reader_is_read_only(store):
    _add_gemeente(store, "GM0001")
    with pytest.raises(duckdb.Error):
        store.read().execute("DELETE FROM areas")


def test_failed_write_leaves_file_byte_for_byte_unchanged(store):
    _add_gemeente(store, "GM0001")
    before = _digest(store.path)
    reader = store.read()
    with pytest.raises(RuntimeError, match="boom"):
        with store.write("broken") as con:
            con.execute("DELETE FROM areas")
            raise RuntimeError("boom")
    assert _digest(store.path) == before
    assert _gemeenten(reader) == {"GM0001"}  # the old data keeps serving
    assert list(store.current_file().parent.iterdir()) == [store.current_file()]  # no leftovers


def test_reader_sees_new_version_after_swap_and_open_reader_keeps_old(store):
    _add_gemeente(store, "GM0001")
    old_reader = store.read()
    old_version = store.meta()["data_version"]
    _add_gemeente(store, "GM0002")
    assert _gemeenten(old_reader) == {"GM0001"}       # a running request finishes on old data
    assert _gemeenten(store.read()) == {"GM0001", "GM0002"}  # the next one reopens
    assert store.meta()["data_version"] != old_version


def _hold_write_lock(path, ready, release):
    store = Store(path)
    with store.write("holder"):
        ready.set()
        release.wait(10)


def test_second_writer_is_refused_while_one_is_writing(store):
    _add_gemeente(store, "GM0001")
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(store.path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(StoreError, match="another process"):
            _add_gemeente(store, "GM0002")
    finally:
        release.set()
        holder.join(10)
    assert _gemeenten(store.read()) == {"GM0001"}


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "nope.duckdb").read()
