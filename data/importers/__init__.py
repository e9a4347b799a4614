"""Importers: each validates its whole file before changing anything.

``run_import(store, kind, path, ...)`` opens a new database version with ``store.write`` and calls
the importer for ``kind``; a FatalImportError (or, with ``strict``, any rejected row) discards that
version so the live database stays byte-for-byte unchanged.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from data.importers.common import FatalImportError, ImportResult, Rejection, write_rejections

__all__ = ["FatalImportError", "ImportResult", "Rejection", "merge_appended", "run_import",
           "write_rejections"]


def _importer(kind: str):
    if kind == "boundaries":
        from data.importers.boundaries import import_boundaries as fn
    elif kind == "lookup":
        from data.importers.lookup import import_lookup as fn
    elif kind == "codes":
        from data.importers.codes import import_codes as fn
    elif kind == "counts":
        from data.importers.counts import import_counts as fn
    elif kind == "incidents":
        from data.importers.incidents import import_incidents as fn
    elif kind == "population":
        from data.importers.population import import_population as fn
    elif kind == "source":
        from data.importers.sources import import_source as fn
    else:
        raise ValueError(f"unknown import kind {kind!r}")
    return fn


def run_import(store, kind: str, path, *, strict: bool = False, rejected_file=None,
               options: dict | None = None) -> ImportResult:
    path = Path(path)
    if not path.is_file():
        raise FatalImportError("file not found or not a regular file", file=path)
    fn = _importer(kind)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    # The file's checksum (for the import log) is read beside the import, not after it.
    with ThreadPoolExecutor(max_workers=1) as pool, \
            store.write(f"import {kind} {path.name}") as con:
        checksum = pool.submit(_sha256, path)
        result, rejections = fn(con, path, **options)
        if strict and rejections:
            first = rejections[0]
            raise FatalImportError(f"{len(rejections)} rows rejected (--strict); first: {first.reason}",
                                   file=path, line=first.line)
        result.rejected = len(rejections)
        result.rejected_file = write_rejections(path, rejections, rejected_file)
        con.execute("INSERT INTO imports VALUES (now(), ?, ?, ?, ?, ?, ?, ?)",
                    [kind, str(path), checksum.result(), result.rows, result.rejected,
                     result.total, result.summary()])
    return result


class _NotDue(Exception):
    """Raised inside a write to discard it: the merge is no longer due."""


def merge_appended(store, *, share: float | None = None) -> dict | None:
    """After an incident import: when the bundle rows imports appended since the last full
    build reach ``share`` (default ``data.incidents.MERGE_APPENDED_SHARE``) of the rows built,
    rebuild the bundle tables in a new data version (what ``db derive`` does; the import's
    own version is already serving). Returns {"share", "rows", "seconds"} or None when not
    due (checked again under the writer's lock: another process may have merged them)."""
    import time

    from data.incidents import MERGE_APPENDED_SHARE, appended_share, rebuild_derived_counts

    share = MERGE_APPENDED_SHARE if share is None else share
    if appended_share(store.read()) < share:
        return None
    started = time.perf_counter()
    try:
        with store.write("derived counts merged after an incident import") as con:
            due = appended_share(con)
            if due < share:
                raise _NotDue
            rows = rebuild_derived_counts(con)
    except _NotDue:
        return None
    return {"share": due, "rows": sum(rows), "seconds": time.perf_counter() - started}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
