"""An incident import appends without rewriting: the incidents already there keep their place
(the new rows follow, in sort order) and the derived counts (``counts`` source 'incidents',
``group_counts``, ``area_group_counts``) are exactly what a full rebuild (data.incidents.finalize_incidents) gives,
provisional marks included, when the import adds rows to existing months and to new ones."""
from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from data import segments
from data.importers import run_import
from data.incidents import finalize_incidents
from data.queries.info import database_info
from data.store import Store

from .conftest import demo_copy

COUNTS = ("SELECT area_code, level, period_type, period_start, type_code, attempt, count, source,"
          " provisional FROM counts")
# per key (an import appends its rows: readers sum them)
GROUPS = ("SELECT group_code, gm_code, period_type, period_start, sum(count),"
          " bool_or(provisional) FROM group_counts GROUP BY ALL")
AREAS = ("SELECT group_code, level, gm_code, area_code, period_start, sum(count)"
         " FROM area_group_counts GROUP BY ALL")


def _rows(con, sql: str) -> list:
    return sorted(con.execute(sql).fetchall(), key=repr)


def _sample_csv(con, path, rows: int = 400, *, prefix: str = "NEW", seed: int = 5):
    """A CSV of ``rows`` incidents like the database's (ids ``prefix``-n): half in months that
    already have counts, half in new months after the newest registration (new keys; the
    provisional months move on)."""
    sample = con.execute(
        "SELECT registered_at, occurred_at, type_code, attempt::INTEGER, lon, lat FROM incidents"
        f" WHERE lon IS NOT NULL USING SAMPLE {rows} ROWS (reservoir, {seed})").fetchall()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["id", "registered_at", "occurred_at", "type_code", "attempt", "lon", "lat"])
        for n, (registered, occurred, type_code, attempt, lon, lat) in enumerate(sample):
            shift = timedelta(days=75) if n % 2 else timedelta(0)
            out.writerow([f"{prefix}{n}", (registered + shift).isoformat(),
                          (occurred + shift).isoformat(), type_code, attempt, lon, lat])
    return path, sample


def test_import_appends_and_updates_counts_like_a_full_rebuild(demo_db, tmp_path):
    store = Store(demo_copy(demo_db, tmp_path / "db"))
    con = store.read()
    old_segments = segments.listed(con)
    assert len(old_segments) == 1  # a build writes one segment
    untouched = [(Path(p).stat().st_size, Path(p).stat().st_mtime_ns) for _, p, _ in old_segments]
    latest = con.execute("SELECT max(registered_at) FROM incidents").fetchall()[0][0]
    old_counts, old_areas = _rows(con, COUNTS), _rows(con, AREAS)
    derived_rows = ("SELECT (SELECT count(*) FROM group_counts)"
                    " + (SELECT count(*) FROM area_group_counts)")
    old_derived = con.execute(derived_rows).fetchall()[0][0]
    assert database_info(store)["derived"]["appended_rows"] == 0  # as built
    path, sample = _sample_csv(con, tmp_path / "incidents.csv")
    result = run_import(store, "incidents", path)
    assert (result.rows, result.rejected) == (len(sample), 0)

    con = store.read()
    # The incidents there before were neither rewritten nor copied: the same segment file,
    # unchanged; the new rows are a segment of their own, in sort order.
    listed = segments.listed(con)
    assert listed[:-1] == old_segments and len(listed) == 2
    assert [(Path(p).stat().st_size, Path(p).stat().st_mtime_ns)
            for _, p, _ in old_segments] == untouched
    alias, _, rows = listed[-1]
    new = con.execute(f"SELECT gm_code, occurred_date, type_code FROM {alias}.incidents"
                      " ORDER BY rowid").fetchall()
    assert rows == len(new) == len(sample) and new == sorted(new)
    counts, groups, areas = _rows(con, COUNTS), _rows(con, GROUPS), _rows(con, AREAS)
    assert counts != old_counts and areas != old_areas
    assert con.execute("SELECT max(registered_at) FROM incidents").fetchall()[0][0] > latest
    assert any(r[8] for r in counts) and not all(r[8] for r in counts)

    # `db info` says how many rows the import appended to the bundle tables
    appended = con.execute(derived_rows).fetchall()[0][0] - old_derived
    assert appended > 0 and database_info(store)["derived"]["appended_rows"] == appended

    with store.write("full rebuild for comparison") as writer:
        finalize_incidents(writer)
    rebuilt = store.read()
    assert database_info(store)["derived"]["appended_rows"] == 0
    assert counts == _rows(rebuilt, COUNTS)
    assert groups == _rows(rebuilt, GROUPS)
    assert areas == _rows(rebuilt, AREAS)


def _older_release(store):
    """The database as an older release left it: no bundle counts per area."""
    with store.write("as before area_group_counts") as con:
        con.execute("DELETE FROM area_group_counts")
        con.execute("DELETE FROM meta WHERE key = 'area_group_counts_catalog'")


def test_an_older_database_is_read_by_scanning_and_gets_its_area_counts(demo_db, tmp_path):
    """A database from before ``area_group_counts``: the map scans the incidents (never reads
    the empty table as zeros); ``db derive`` builds the table (the same rows a fresh build
    has); and on such a database an incident import builds it in full rather than adding the
    new rows to an empty table."""
    import subprocess
    import sys

    from data.queries import areas
    from data.scope import Scope

    from .test_coverage_sources import _periods

    store = Store(demo_copy(demo_db, tmp_path / "db"))
    fresh = _rows(store.read(), AREAS)
    assert fresh
    _older_release(store)
    con = store.read()
    gemeenten = frozenset(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())
    scope, period = Scope(gemeenten, 3), _periods(con)[0]
    members = [r[0] for r in con.execute(
        "SELECT type_code FROM type_groups WHERE group_code = 'alle_misdrijven'").fetchall()]
    assert not areas._precomputed(con, "alle_misdrijven", members, ["buurt"], [period])
    frame = areas.map_counts(con, scope=scope, level="buurt", periods=[period],
                             group="alle_misdrijven")[0]
    assert frame["count"].sum() > 0

    done = subprocess.run([sys.executable, "-m", "dashboard", "--db", str(store.path), "db",
                           "derive"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "per wijk, buurt and PC4" in done.stdout
    con = store.read()
    assert _rows(con, AREAS) == fresh
    assert areas._precomputed(con, "alle_misdrijven", members, ["buurt"], [period])
    again = areas.map_counts(con, scope=scope, level="buurt", periods=[period],
                             group="alle_misdrijven")[0]
    assert again.equals(frame)

    _older_release(store)
    path, _ = _sample_csv(store.read(), tmp_path / "incidents.csv", rows=50)
    run_import(store, "incidents", path)
    imported = _rows(store.read(), AREAS)
    with store.write("full rebuild for comparison") as writer:
        finalize_incidents(writer)
    assert imported == _rows(store.read(), AREAS) and len(imported) > len(fresh) / 2


def test_an_import_merges_the_appended_bundle_counts_once_they_are_due(demo_db, tmp_path):
    """Each import appends its rows' bundle counts (readers sum them per key). Once the rows
    appended since the last full build reach MERGE_APPENDED_SHARE of the rows that build
    made, `import incidents` rebuilds the bundle tables in a data version after its own (the
    rows a full build gives); below that share, or with --no-merge, they stay appended."""
    import json

    from data.incidents import MERGE_APPENDED_SHARE, appended_share

    from .test_cli import cli

    store = Store(demo_copy(demo_db, tmp_path / "db"))
    con = store.read()
    built = con.execute("SELECT (SELECT count(*) FROM group_counts)"
                        " + (SELECT count(*) FROM area_group_counts)").fetchall()[0][0]
    incidents = con.execute("SELECT count(*) FROM incidents").fetchall()[0][0]

    def derived():
        return json.loads(cli("db", "info", "--json", db=store.path).stdout)["derived"]

    # A small delivery: appended, below the share, not merged.
    small_file, _ = _sample_csv(con, tmp_path / "a.csv", 200, prefix="A", seed=1)
    small = cli("import", "incidents", str(small_file), db=store.path)
    assert "derived counts merged" not in small.stderr
    first = derived()
    assert first["appended_rows"] > 0 and 0 < first["appended_share"] < MERGE_APPENDED_SHARE
    assert first["merge_share"] == MERGE_APPENDED_SHARE

    # A large one with --no-merge: over the share, left appended.
    large, _ = _sample_csv(con, tmp_path / "b.csv", incidents // 5, prefix="B", seed=2)
    held = cli("import", "incidents", str(large), "--no-merge", db=store.path)
    assert "derived counts merged" not in held.stderr
    second = derived()
    assert second["appended_share"] >= MERGE_APPENDED_SHARE, (second, built)
    assert second["appended_rows"] > first["appended_rows"]
    appended = store.read()
    groups, areas = _rows(appended, GROUPS), _rows(appended, AREAS)

    # The next import finds them due: its own version first, then the merge's.
    last_file, _ = _sample_csv(con, tmp_path / "c.csv", 50, prefix="C", seed=3)
    merged = cli("import", "incidents", str(last_file), db=store.path)
    assert "derived counts merged" in merged.stderr, merged.stderr
    assert derived()["appended_rows"] == 0
    after = store.read()
    assert appended_share(after) == 0.0
    assert after.execute("SELECT value FROM meta WHERE key = 'last_change'").fetchall()[0][0] \
        == "derived counts merged after an incident import"
    assert after.execute("SELECT count(*) FROM imports WHERE kind = 'incidents'"
                         " AND file LIKE '%c.csv'").fetchall()[0][0] == 1
    merged_groups, merged_areas = _rows(after, GROUPS), _rows(after, AREAS)
    # The merge changed no count: the sums per key before it plus the third file's rows are
    # what a full rebuild gives, and the tables hold one row per key again.
    with store.write("full rebuild for comparison") as writer:
        finalize_incidents(writer)
    rebuilt = store.read()
    assert merged_groups == _rows(rebuilt, GROUPS) and merged_areas == _rows(rebuilt, AREAS)
    for table, keys in (("group_counts", "group_code, gm_code, period_type, period_start"),
                        ("area_group_counts", "group_code, level, gm_code, area_code,"
                                              " period_start")):
        assert after.execute(f"SELECT count(*) FROM (SELECT {keys} FROM {table} GROUP BY ALL"
                             " HAVING count(*) > 1)").fetchall()[0][0] == 0
    assert len(merged_areas) >= len(areas) and len(merged_groups) >= len(groups)
