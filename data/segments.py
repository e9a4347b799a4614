"""Incident segments: the incidents live in immutable DuckDB files shared by data versions.

Every change to the database makes a new version file (``data.store``): a copy of the current
one. With 40 million incidents in it that copy was 1.5-3 GB per import, on every app host's
shared storage, and each version kept until no host reads it held another such copy. So the
incidents are not in the version file: each import writes its rows, sorted, into a new
*segment* (a DuckDB file with one table ``incidents``) in the folder ``.<name>.segments``
beside the versions, and the version holds only the list of its segments (table
``incident_segments``) and the view ``incidents`` over them (``UNION ALL``). A segment is
never changed after it is written; versions share it, so a new version copies only the
smaller tables (areas, counts, ...).

* **Reading**: :func:`attach` attaches a version's segments (read-only, each under its own
  alias) on a new connection; ``Store.read`` and ``Store.write`` call it, and :func:`connect`
  opens a database file as they do. Queries read ``incidents`` as before.
* **Writing**: :func:`add` writes rows into a new segment; :func:`replace` puts all rows into
  one new segment (a rebuild); after either, :func:`_merge` keeps the list short by merging
  the newest segments while the newest holds at least a quarter of the rows of the one
  before (an LSM-style tier: each row is rewritten a few times over its life, an import never
  rewrites the 40 million rows of the oldest segment).
* **Cleaning**: a version names its segments in a manifest file in the segment folder
  (``<version>.manifest``, written before the version is visible); ``Store.write`` deletes,
  under its writer lock, segment files no remaining version names (:func:`collect`). A version is only deleted when no host reads it
  (its lease), so a segment outlives every reader of every version that uses it.

A database that never had a segment (an older file, a test's hand-made one) has a plain table
``incidents``; the first :func:`add` or :func:`replace` moves its rows into a segment. Segments
are named in the version by absolute path: every app host mounts the database folder at the
same path (README, "Several app hosts"), and a copy of a version file elsewhere still reads.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from data.schema import INCIDENTS_DDL
from data.sql import literal

TABLE = "incident_segments"
#: Segment file names (and the temporary name a segment is written under).
SEGMENT_FILE = re.compile(r"(\.)?(\d{8}T\d{6}-[0-9a-f]{8})\.duckdb(\.incoming)?(\.wal)?")
#: A segment merges into the one before it while it holds at least this share of its rows.
MERGE_SHARE = 0.25
#: More segments than this are merged regardless (many tiny imports).
MAX_SEGMENTS = 12
#: Seconds after which an unfinished segment (a writer that crashed) may be deleted.
STALE_INCOMING = 3600

_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    position INTEGER NOT NULL,
    alias VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL)"""


def connect(path, *, read_only: bool = True, config: dict | None = None):
    """A DuckDB connection to database file ``path`` with its segments attached."""
    con = duckdb.connect(str(path), read_only=read_only, config=config or {})
    attach(con)
    return con


def listed(con) -> list[tuple[str, str, int]]:
    """(alias, path, rows) of the database's segments, oldest first; none for a database
    without segments."""
    if not _exists(con, TABLE):
        return []
    return [(a, p, int(r)) for a, p, r in con.execute(
        f"SELECT alias, path, rows FROM main.{TABLE} ORDER BY position").fetchall()]


def column_range(con, column: str) -> tuple:
    """(smallest, largest) value of the incidents column ``column`` (None, None without
    incidents), from each segment's own minimum and maximum: DuckDB answers those from a
    table's statistics in about a millisecond, while over the ``incidents`` view (UNION ALL of
    the segments) it reads every row — 0.1-0.2 s on 40 M incidents."""
    if not re.fullmatch(r"[a-z_]+", column):
        raise ValueError(f"not a column name: {column!r}")
    tables = [f"{alias}.incidents" for alias, _, _ in listed(con)] or ["incidents"]
    parts = " UNION ALL ".join(f"SELECT min({column}) AS low, max({column}) AS high FROM {t}"
                               for t in tables)
    return tuple(con.execute(f"SELECT min(low), max(high) FROM ({parts})").fetchone())


def attach(con) -> None:
    """Attach the segments the ``incidents`` view reads (read-only; already attached ones,
    as on a second connection to the same database, are left as they are).

    A plain ATTACH of the aliases this database lacks, never ``ATTACH IF NOT EXISTS``: with
    IF NOT EXISTS, DuckDB 2.0.1 loops until the file shows up in this database when its
    process-wide registry says this database already has it. The registry tells databases
    apart by address, and the segment was attached by the (closed) databases of older
    versions, so a new version's database at a reused address could wait forever (seen: a
    worker thread spinning in DatabaseFilePathManager::InsertDatabasePath during
    ``Store.write``). A plain read-only ATTACH only counts one more reader of the file."""
    attached = _attached(con)
    for alias, path, _ in listed(con):
        if alias in attached:
            continue
        try:
            con.execute(f"ATTACH {literal(path)} AS {alias} (READ_ONLY)")
        except duckdb.Error:
            if alias not in _attached(con):  # not another connection's attach meanwhile
                raise


def _attached(con) -> set[str]:
    return {name for (name,) in con.execute(
        "SELECT database_name FROM duckdb_databases()").fetchall()}


def folder_for(con) -> Path:
    """The segment folder of the database ``con`` writes: ``.<name>.segments`` beside the
    versions folder of a versioned store, else beside the database file."""
    path = Path(con.execute("SELECT path FROM duckdb_databases()"
                            " WHERE database_name = current_database()").fetchone()[0])
    parent = path.parent
    if parent.name.startswith(".") and parent.name.endswith(".versions"):
        return parent.with_name(parent.name[:-len(".versions")] + ".segments")
    return parent / f".{path.name}.segments"


def add(con, select_sql: str, sort: str) -> tuple[int, str | None]:
    """Write the rows of ``select_sql`` (the incidents columns, in table order) sorted by
    ``sort`` into a new segment and add it to the database's list. Segments may be merged
    afterwards (see the module's text). Returns the rows written and the alias of the
    segment that holds exactly them (None when it was merged with others, or for no rows)."""
    entries = _adopt(con)
    alias, path, rows = _write(con, select_sql, sort)
    if rows:
        entries.append((alias, path, rows))
    entries = _merge(con, entries, sort)
    _define(con, entries)
    kept = rows and any(entry[0] == alias for entry in entries)
    return rows, alias if kept else None


def replace(con, select_sql: str, sort: str) -> int:
    """Put the rows of ``select_sql`` (which may read ``incidents``, a plain table too) in one
    new segment that replaces all segments (a rebuild); returns its rows."""
    con.execute(_DDL)
    alias, path, rows = _write(con, select_sql, sort)
    _define(con, [(alias, path, rows)] if rows else [])
    return rows


def clear(con) -> None:
    """Remove all incidents (the segments stay on disk until no version names them)."""
    con.execute(_DDL)
    if _is_table(con):
        con.execute("DROP TABLE main.incidents")
    _define(con, [])


def manifest_path(folder: Path, version: Path) -> Path:
    """Where the manifest of version file ``version`` goes: in the segment folder, so the
    versions folder holds DuckDB files only."""
    return folder / f"{version.name}.manifest"


def write_manifest(con, path: Path) -> None:
    """Write (and fsync) the manifest of the version ``con`` writes: its segment paths, one
    per line; none for a version without segments."""
    paths = [p for _, p, _ in listed(con)]
    if not paths:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{p}\n" for p in paths))
    _fsync(path)


def collect(segments: Path, versions: Path) -> list[str]:
    """Delete the segment files in ``segments`` that no version in ``versions`` names in its
    manifest (and unfinished ones older than STALE_INCOMING), and the manifests of versions
    that are gone. Run by a writer under its lock: no other version is being made meanwhile.
    Returns the deleted names."""
    if not segments.is_dir():
        return []
    named = set()
    deleted = []
    for manifest_file in segments.glob("*.duckdb.manifest"):
        if not (versions / manifest_file.name[:-len(".manifest")]).exists():
            with contextlib.suppress(OSError):  # its version was deleted: so is this
                manifest_file.unlink()
                deleted.append(manifest_file.name)
            continue
        with contextlib.suppress(OSError):
            named.update(Path(line).name for line in manifest_file.read_text().splitlines()
                         if line and Path(line).parent == segments)
    moment = time.time()
    for file in segments.iterdir():
        match = SEGMENT_FILE.fullmatch(file.name)
        if not match:
            continue
        base = f"{match.group(2)}.duckdb"
        if match.group(1) or match.group(3):  # unfinished
            with contextlib.suppress(OSError):
                if moment - file.stat().st_mtime < STALE_INCOMING:
                    continue
        elif base in named:
            continue
        with contextlib.suppress(OSError):
            file.unlink()
            deleted.append(file.name)
    return deleted


# -- inside ------------------------------------------------------------------------------------

def _exists(con, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND table_name = ?", [name]).fetchone()[0])


def _is_table(con) -> bool:
    return _exists(con, "incidents")


def _is_view(con) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND view_name = 'incidents'").fetchone()[0])


def _adopt(con) -> list[tuple[str, str, int]]:
    """The segment list, after moving the rows of a plain ``incidents`` table (a database
    from before segments) into a segment of their own."""
    con.execute(_DDL)
    entries = listed(con)
    if _is_table(con):
        if con.execute("SELECT count(*) FROM (SELECT 1 FROM main.incidents LIMIT 1)"
                       ).fetchone()[0]:
            alias, path, rows = _write(con, "SELECT * FROM main.incidents", "")
            entries.append((alias, path, rows))
        con.execute("DROP TABLE main.incidents")
        _define(con, entries)
    return entries


def _write(con, select_sql: str, sort: str) -> tuple[str, str, int]:
    """Write a segment: under a temporary name, checkpointed and fsynced, then renamed and
    attached read-only. Returns (alias, absolute path, rows); a segment of no rows is not
    kept."""
    folder = folder_for(con)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc)
    name = f"{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    path = folder / f"{name}.duckdb"
    incoming = folder / f".{name}.duckdb.incoming"
    alias = f"seg_{name.replace('-', '_')}"
    writing = f"{alias}_w"
    con.execute(f"ATTACH {literal(str(incoming))} AS {writing}")
    try:
        con.execute(INCIDENTS_DDL.replace("EXISTS incidents (", f"EXISTS {writing}.incidents ("))
        order = f" ORDER BY {sort}" if sort else ""
        rows = con.execute(f"INSERT INTO {writing}.incidents {select_sql}{order}").fetchone()[0]
        con.execute(f"CHECKPOINT {writing}")
    except BaseException:
        con.execute(f"DETACH {writing}")
        for leftover in (incoming, incoming.with_name(incoming.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    con.execute(f"DETACH {writing}")
    if not rows:
        incoming.unlink()
        return alias, str(path), 0
    _fsync(incoming)
    os.rename(incoming, path)
    con.execute(f"ATTACH {literal(str(path))} AS {alias} (READ_ONLY)")
    return alias, str(path), int(rows)


def _merge(con, entries: list, sort: str) -> list:
    """Merge the newest segments while the newest holds at least MERGE_SHARE of the rows of
    the one before it, or while there are more than MAX_SEGMENTS."""
    while len(entries) >= 2 and (entries[-1][2] >= MERGE_SHARE * entries[-2][2]
                                 or len(entries) > MAX_SEGMENTS):
        (a, _, _), (b, _, _) = entries[-2], entries[-1]
        merged = _write(con, f"SELECT * FROM {a}.incidents UNION ALL"
                             f" SELECT * FROM {b}.incidents", sort)
        entries = entries[:-2] + [merged]
    return entries


def _define(con, entries: list) -> None:
    """Record ``entries`` as the database's segments and point ``incidents`` at them (an
    empty table when there are none)."""
    con.execute(_DDL)
    con.execute(f"DELETE FROM main.{TABLE}")
    stamp = datetime.now(timezone.utc).replace(tzinfo=None)
    if entries:
        con.executemany(f"INSERT INTO main.{TABLE} VALUES (?, ?, ?, ?, ?)",
                        [(i, a, p, r, stamp) for i, (a, p, r) in enumerate(entries)])
    if _is_view(con):
        con.execute("DROP VIEW main.incidents")
    if entries:
        if _is_table(con):
            con.execute("DROP TABLE main.incidents")
        union = " UNION ALL ".join(f"SELECT * FROM {a}.incidents" for a, _, _ in entries)
        con.execute(f"CREATE VIEW main.incidents AS {union}")
    else:
        con.execute(INCIDENTS_DDL)


def _fsync(path: Path) -> None:
    from data.store import _fsync as fsync  # (data.store imports this module)

    fsync(path)
