"""Incident segments (data/segments.py): an import writes its rows into a segment of their own
and copies no incident into the new version; segments merge as the policy says; a segment is
deleted only when no version names it, never under a reader of an older version; a failed
import leaves nothing in use; a database from before segments moves its incidents into one
and gets a compact version file."""
from __future__ import annotations

import csv
import gc
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from data import segments, store as store_module
from data.importers import FatalImportError, run_import
from data.incidents import finalize_incidents
from data.schema import INCIDENTS_DDL, create_schema
from data.store import Store

from .conftest import demo_copy
from .test_import_append import AREAS, COUNTS, GROUPS, _rows, _sample_csv


def _segment_files(store: Store) -> set[str]:
    folder = store.path.with_name(f".{store.path.name}.segments")
    return {p.name for p in folder.glob("*.duckdb")}


def _local_incident_tables(con) -> int:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name ="
                       " current_database() AND table_name = 'incidents'").fetchone()[0]


def test_an_import_is_a_segment_and_the_version_holds_no_incident(demo_db, tmp_path):
    store = Store(demo_copy(demo_db, tmp_path / "db"))
    con = store.read()
    total = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    before = segments.listed(con)
    path, sample = _sample_csv(con, tmp_path / "a.csv", rows=300)
    run_import(store, "incidents", path)
    con = store.read()
    after = segments.listed(con)
    assert after[:-1] == before and after[-1][2] == len(sample)
    assert con.execute("SELECT count(*) FROM incidents").fetchone()[0] == total + len(sample)
    # the version file has the view and the list, no incidents table of its own
    assert _local_incident_tables(con) == 0
    assert all(Path(p).is_file() for _, p, _ in after)
    assert Path(after[-1][1]).name in _segment_files(store)  # beside this store's versions
    # The range of a column from each segment's statistics is the range over all incidents
    # (the import's rows reach 75 days past the newest registration).
    for column in ("registered_at", "occurred_date"):
        assert segments.column_range(con, column) == con.execute(
            f"SELECT min({column}), max({column}) FROM incidents").fetchone()
    assert segments.column_range(con, "registered_at")[1] > max(r[0] for r in sample)
    with pytest.raises(ValueError):
        segments.column_range(con, "registered_at) FROM areas --")


def test_segments_merge_and_go_only_when_no_version_uses_them(demo_db, tmp_path, monkeypatch):
    store = Store(demo_copy(demo_db, tmp_path / "db"))
    base = segments.listed(store.read())
    first, _ = _sample_csv(store.read(), tmp_path / "first.csv", rows=200)
    run_import(store, "incidents", first)
    reader = store.read()  # a request still running on this version
    small = segments.listed(reader)[-1]
    expected = reader.execute("SELECT count(*) FROM incidents").fetchone()[0]
    second = tmp_path / "second.csv"
    second.write_text(first.read_text().replace("NEW", "TWO"), encoding="utf-8")
    run_import(store, "incidents", second)
    merged = segments.listed(store.read())
    # 200 rows after 200 rows: the newest holds more than a quarter of the one before, so
    # the two merge (sorted); the demo's own segment stays as it was
    assert merged[:-1] == base and merged[-1][2] == 400
    rows = store.read().execute(f"SELECT gm_code, occurred_date, type_code"
                                f" FROM {merged[-1][0]}.incidents ORDER BY rowid").fetchall()
    assert rows == sorted(rows)
    # The reader's version still names the small segment: it stays, and still reads.
    assert Path(small[1]).name in _segment_files(store)
    assert reader.execute("SELECT count(*) FROM incidents").fetchone()[0] == expected
    del reader
    gc.collect()  # the request ends: its version goes (lease released) ...
    with store.write("another change") as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('note', 'x')")
    # ... and the next writer deletes the segment no version names any more
    assert Path(small[1]).name not in _segment_files(store)
    assert Path(merged[-1][1]).name in _segment_files(store)
    assert store.read().execute("SELECT count(*) FROM incidents").fetchone()[0] == expected + 200
    # The merged import counted its own rows (not the merged segment's): the derived counts
    # are a full rebuild's.
    imported = [_rows(store.read(), sql) for sql in (COUNTS, GROUPS, AREAS)]
    with store.write("full rebuild for comparison") as con:
        finalize_incidents(con)
    assert imported == [_rows(store.read(), sql) for sql in (COUNTS, GROUPS, AREAS)]


def test_a_failed_import_leaves_no_segment_in_use(demo_db, tmp_path):
    store = Store(demo_copy(demo_db, tmp_path / "db"))
    version, listed = store.current_file(), segments.listed(store.read())
    path, _ = _sample_csv(store.read(), tmp_path / "bad.csv", rows=50)
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerow(
            ["BAD1", "gisteren", "2024-01-01", "1.1.1", 0, 5.0, 52.0])
    files = _segment_files(store)
    with pytest.raises(FatalImportError, match="rejected"):
        run_import(store, "incidents", path, strict=True)
    assert store.current_file() == version and segments.listed(store.read()) == listed
    orphans = _segment_files(store) - files  # written, then its version was discarded
    with store.write("next change") as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('note', 'y')")
    assert not orphans & _segment_files(store)  # the next writer cleaned it up
    assert segments.listed(store.read()) == listed


def test_a_database_from_before_segments_moves_its_incidents_and_is_compacted(
        demo_db, tmp_path, monkeypatch):
    """A plain ``incidents`` table (an older release) becomes a segment at the first incident
    write; the version file, then mostly free space, is written out compactly. (In a folder
    whose name has a quote: the paths in ATTACH and COPY statements are quoted.)"""
    store = Store(demo_copy(demo_db, tmp_path / "wijkagent's db"))
    con = store.read()
    expected = _rows(con, COUNTS)
    total = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    with store.write("as an older release left it") as w:
        rows = w.sql("SELECT * FROM incidents").to_arrow_table()
        segments.clear(w)
        w.execute(f"DROP TABLE {segments.TABLE}")
        w.execute("DROP TABLE incidents")
        w.execute(INCIDENTS_DDL)
        w.register("old_rows", rows)
        w.execute("INSERT INTO incidents SELECT * FROM old_rows")
        w.execute("CREATE TABLE padding AS SELECT range AS x, md5(range::VARCHAR) AS y"
                  " FROM range(1500000)")  # space the next version frees
    old = store.read()
    assert _local_incident_tables(old) == 1 and not segments.listed(old)
    del old
    gc.collect()
    monkeypatch.setattr(store_module, "COMPACT_MIN_BYTES", 1 << 20)
    with store.write("rebuild") as w:
        w.execute("DROP TABLE padding")
        finalize_incidents(w)
    size = store.current_file().stat().st_size
    con = store.read()
    assert _local_incident_tables(con) == 0 and len(segments.listed(con)) == 1
    assert con.execute("SELECT count(*) FROM incidents").fetchone()[0] == total
    assert _rows(con, COUNTS) == expected
    free, blocks = con.execute("SELECT free_blocks, total_blocks FROM pragma_database_size()"
                               " WHERE database_name = current_database()").fetchone()
    assert free <= 0.5 * blocks, (free, blocks, size)


def test_a_hand_made_database_without_segments_still_reads_and_writes(tmp_path):
    """Tests and tools may make a database with a plain incidents table; it is read as it is,
    and the first finalize moves its rows into a segment beside the file."""
    import duckdb

    path = tmp_path / "plain.duckdb"
    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute("INSERT INTO incidents (id, registered_at, occurred_at, occurred_date, type_code,"
                " attempt, high_impact, gm_code) VALUES ('a', '2026-01-02', '2026-01-01',"
                " '2026-01-01', '1.1.1', false, true, 'GM0001')")
    assert con.execute("SELECT count(*) FROM incidents").fetchone()[0] == 1
    assert segments.column_range(con, "occurred_date") == (date(2026, 1, 1), date(2026, 1, 1))
    finalize_incidents(con)
    assert len(segments.listed(con)) == 1
    con.close()
    again = segments.connect(path)
    assert again.execute("SELECT id FROM incidents").fetchall() == [("a",)]
    assert (tmp_path / ".plain.duckdb.segments").is_dir()


#: A child process that opens the versions in ``paths`` in turn, as writers and app hosts do
#: at each new data version (each a DuckDB database of its own, attaching the same segment),
#: keeps the last three open and closes or drops the older ones.
_REOPEN = """
import gc, sys
sys.path.insert(0, {root!r})
import duckdb
from data import segments
paths, kept = {paths!r}, []
for i in range({rounds}):
    con = duckdb.connect(paths[i % len(paths)])  # read-write, as Store.write opens a version
    segments.attach(con)
    con.execute("SELECT count(*) FROM incidents").fetchall()
    kept.append(con)
    if len(kept) > 3:
        old = kept.pop(0)
        if i % 2:
            old.close()
        del old
    if i % 5 == 0:
        gc.collect()
print("opened", i + 1)
"""


def test_versions_reopen_their_segment_without_waiting_forever(demo_db, tmp_path):
    """DuckDB 2.0.1 tells databases apart by address in its process-wide registry of attached
    files: with ``ATTACH IF NOT EXISTS`` a new version's database at the address of a closed
    older one waited forever for the segment (a worker thread spinning; two test runs stopped
    so in ``Store.write``). ``segments.attach`` attaches with a plain read-only ATTACH: 400
    openings of 7 versions take seconds (with IF NOT EXISTS this child hangs)."""
    current = Store(demo_copy(demo_db, tmp_path / "db")).current_file()
    paths = []
    for k in range(7):
        shutil.copyfile(current, tmp_path / f"version{k}.duckdb")
        paths.append(str(tmp_path / f"version{k}.duckdb"))
    code = _REOPEN.format(root=str(Path(__file__).resolve().parent.parent), paths=paths,
                          rounds=400)
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("opening a segment that older versions had open hung (120 s)")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "opened 400"
