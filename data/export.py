"""Streamed incident exports: CSV (and XLSX, see below) of exactly the filtered rows.

The rows come from :func:`data.queries.incidents.export_query`, so scope, detail level and
formula neutralisation are the query layer's; this module only turns Arrow record batches
into bytes, a batch at a time, so memory stays flat whatever the size of the export.
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime

import pyarrow as pa
import pyarrow.csv as pacsv

from data.queries.incidents import IncidentFilter, Sort, export_query, export_windows
from data.scope import Scope

BOM = "\ufeff"
#: Rows fetched from DuckDB per batch.
BATCH_ROWS = 64_000
SEPARATORS = {";": ";", ",": ","}


def provenance(*, user: str, flt: IncidentFilter, generated: datetime | None = None,
               dataset: str | None = None) -> dict:
    """Who generated an export, when and with which filters (first line / info sheet)."""
    generated = generated or datetime.now().astimezone()
    out = {"gemaakt_door": user, "gemaakt_op": generated.isoformat(timespec="seconds"),
           "filters": flt.describe()}
    if dataset:
        out["dataset"] = dataset
    return out


def provenance_line(info: dict) -> str:
    """The first line of a CSV export: ``# Veiligheidsbeeld export; key: value; ...``."""
    parts = [f"gemaakt door {info['gemaakt_door']}", f"op {info['gemaakt_op']}",
             f"filters {json.dumps(info['filters'], ensure_ascii=False, sort_keys=True)}"]
    if info.get("dataset"):
        parts.append(f"dataset {info['dataset']}")
    return "# Veiligheidsbeeld export; " + "; ".join(parts)


def csv_chunks(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(), columns=None,
               sep: str = ";", info: dict | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The CSV export as a stream of UTF-8 byte chunks: BOM, the provenance line (when
    ``info`` is given), the header row, then the rows. ``progress(rows_so_far)`` is called
    after every batch. Scope checks run before the first chunk is produced."""
    if sep not in SEPARATORS:
        raise ValueError(f"separator must be one of {sorted(SEPARATORS)}")
    queries = [export_query(con, scope=scope, flt=flt, sort=sort, columns=columns, window=w)
               for w in export_windows(con, scope=scope, flt=flt, sort=sort)]
    titles = [c.title for c in queries[0][2]]
    return _stream(con.cursor(), queries, titles, sep, info, progress)


def record_batches(cursor, queries) -> Iterator[pa.RecordBatch]:
    """The Arrow batches of the export queries, in order, one window at a time."""
    for sql, params, _ in queries:
        yield from cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)


def _stream(cursor, queries, titles, sep, info, progress) -> Iterator[bytes]:
    try:
        head = io.StringIO()
        head.write(BOM)
        if info is not None:
            head.write(_quote(provenance_line(info), sep) + "\n")
        head.write(sep.join(_quote(t, sep) for t in titles) + "\n")
        yield head.getvalue().encode("utf-8")
        options = pacsv.WriteOptions(include_header=False, delimiter=sep,
                                     quoting_style="needed")
        done = 0
        for batch in record_batches(cursor, queries):
            if batch.num_rows == 0:
                continue
            out = pa.BufferOutputStream()
            pacsv.write_csv(batch, out, options)
            done += batch.num_rows
            yield out.getvalue().to_pybytes()
            if progress is not None:
                progress(done)
    finally:
        cursor.close()


def _quote(text: str, sep: str) -> str:
    if any(ch in text for ch in (sep, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text
