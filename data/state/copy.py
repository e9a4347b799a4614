"""Move an existing SQLite state to PostgreSQL (``python -m dashboard state migrate --to URL``).

The SQLite file is only read (opened read-only, never migrated or written) and copied in one
PostgreSQL transaction: the schema of this release is created on the target, every
table is copied (COPY) in dependency order (referenced tables first) with its ids, the identity
sequences are set past the highest id (``setval``) so new rows continue the numbering, and the
row counts of every table are compared before COMMIT. A target with any row in any state table
is refused; on any error nothing is left on the target. The protocol log is copied like every
other table (its guard triggers refuse UPDATE and DELETE, not INSERT). A source of an older
release copies what it has: columns added since take their defaults on the target, a table it
lacks stays empty, and the next start fills what the per-start steps fill (account ids). The
target's ``schema_version`` is its own (its schema is this release's).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from data.state import dialect
from data.state.db import StateDB, is_postgres


class CopyError(Exception):
    """The copy was refused or failed; the target is unchanged."""


def copy_to_postgres(source: str | Path, url: str, *, batch: int = 5000,
                     progress=None) -> dict[str, int]:
    """Copy the SQLite state ``source`` into the PostgreSQL database ``url``; return the rows
    per table. Raises :class:`CopyError` (target non-empty, counts differ)."""
    if not is_postgres(url):
        raise CopyError(f"target must be a postgresql:// URL, not {url!r}")
    source = Path(source)
    if not source.is_file():
        raise CopyError(f"SQLite state {source} not found")
    target = StateDB(url)  # schema and migrations on the target
    names = [t for t in target.table_names() if t != "schema_version"]
    busy = {t: n for t in names if (n := target.query(f"SELECT count(*) FROM {t}")[0][0])}
    if busy:
        raise CopyError("target is not empty: " + ", ".join(f"{t} {n}" for t, n in busy.items()))
    known = dialect.tables(target.schema)
    if not source_has(source, "protocol_log"):
        raise CopyError(f"{source} is not a state database (no protocol_log)")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    counts: dict[str, int] = {}
    con = target.connection()
    try:
        con.execute("BEGIN")
        con.execute("SELECT pg_advisory_xact_lock(?)", (0x7662777269746500,))
        for table in names:
            if not source_has(source, table):
                counts[table] = 0
                continue
            columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            if extra := set(columns) - target.columns(table):
                raise CopyError(f"{table}: columns {sorted(extra)} are not in this release's"
                                " schema")
            cursor = src.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM {table}"
                                 f" ORDER BY rowid")
            copied = 0
            while rows := cursor.fetchmany(batch):
                con.copy_rows(table, columns, rows)
                copied += len(rows)
            counts[table] = copied
            identity = known.get(table) and known[table].identity
            if identity:
                con.execute_raw(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{identity}'),"
                    f" coalesce((SELECT max({identity}) FROM {table}), 0) + 1, false)")
            if progress:
                progress(f"{table}: {copied} rows")
        for table, copied in counts.items():
            there = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            here = (src.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    if source_has(source, table) else 0)
            if not there == here == copied:
                raise CopyError(f"{table}: {here} rows in SQLite, {there} copied")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        src.close()
    return counts


def source_has(source: Path, table: str) -> bool:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as con:
        return bool(con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (table,)).fetchall())
