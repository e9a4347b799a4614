"""An incident import appends without rewriting: the incidents already there keep their place
(the new rows follow, in sort order) and the derived counts (``counts`` source 'incidents',
``group_counts``) are exactly what a full rebuild (data.incidents.finalize_incidents) gives,
provisional marks included, when the import adds rows to existing months and to new ones."""
from __future__ import annotations

import csv
from datetime import timedelta

from data.importers import run_import
from data.incidents import finalize_incidents
from data.store import Store

from .conftest import demo_copy

COUNTS = ("SELECT area_code, level, period_type, period_start, type_code, attempt, count, source,"
          " provisional FROM counts")
GROUPS = "SELECT * FROM group_counts"


def _rows(con, sql: str) -> list:
    return sorted(con.execute(sql).fetchall(), key=repr)


def test_import_appends_and_updates_counts_like_a_full_rebuild(demo_db, tmp_path):
    store = Store(demo_copy(demo_db, tmp_path / "db"))
    con = store.read()
    old_ids = [r[0] for r in con.execute("SELECT id FROM incidents ORDER BY rowid").fetchall()]
    latest = con.execute("SELECT max(registered_at) FROM incidents").fetchall()[0][0]
    old_counts = _rows(con, COUNTS)
    sample = con.execute(
        "SELECT registered_at, occurred_at, type_code, attempt::INTEGER, lon, lat FROM incidents"
        " WHERE lon IS NOT NULL USING SAMPLE 400 ROWS (reservoir, 5)").fetchall()
    path = tmp_path / "incidents.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["id", "registered_at", "occurred_at", "type_code", "attempt", "lon", "lat"])
        for n, (registered, occurred, type_code, attempt, lon, lat) in enumerate(sample):
            # Half in months that already have counts, half in new months after the newest
            # registration (new keys; the provisional months move on).
            shift = timedelta(days=75) if n % 2 else timedelta(0)
            out.writerow([f"NEW{n}", (registered + shift).isoformat(),
                          (occurred + shift).isoformat(), type_code, attempt, lon, lat])
    result = run_import(store, "incidents", path)
    assert (result.rows, result.rejected) == (len(sample), 0)

    con = store.read()
    ids = [r[0] for r in con.execute("SELECT id FROM incidents ORDER BY rowid").fetchall()]
    assert ids[:len(old_ids)] == old_ids  # nothing there before moved
    new = con.execute("SELECT gm_code, occurred_date, type_code FROM incidents ORDER BY rowid"
                      f" OFFSET {len(old_ids)}").fetchall()
    assert len(new) == len(sample) and new == sorted(new)
    counts, groups = _rows(con, COUNTS), _rows(con, GROUPS)
    assert counts != old_counts
    assert con.execute("SELECT max(registered_at) FROM incidents").fetchall()[0][0] > latest
    assert any(r[8] for r in counts) and not all(r[8] for r in counts)

    with store.write("full rebuild for comparison") as writer:
        finalize_incidents(writer)
    rebuilt = store.read()
    assert counts == _rows(rebuilt, COUNTS)
    assert groups == _rows(rebuilt, GROUPS)
