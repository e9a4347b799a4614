"""Streamed incident exports: CSV (and XLSX, see below) of exactly the filtered rows.

The rows come from :func:`data.queries.incidents.export_query`, so scope, detail level and
formula neutralisation are the query layer's; for CSV the query also writes each row as a CSV
line. This module streams the result a batch at a time, so memory stays flat whatever the size
of the export.
"""
from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from data.queries.incidents import FORMULA_START, IncidentFilter, Sort, export_query, export_windows
from data.scope import Scope
from layouts import format as fmt

BOM = "\ufeff"
#: Rows fetched from DuckDB per batch (a CSV chunk of about 4 MB for all columns). 16k rather
#: than 64k lowered the peak memory of a national 5 M-row CSV export by ~100 MB at the same
#: speed (bench/export.py).
BATCH_ROWS = 16_384
#: Rows per date window of a date-sorted export. DuckDB sorts one window at a time, so smaller
#: windows keep the sort's memory down, but every window rescans the row groups of its dates
#: (for a national scope most of the table, which is ordered by gemeente first). 1 M and 400k
#: rows gave the same speed and peak memory on an idle machine (5 M rows in 9-10 s), 1 M used
#: ~15% less CPU on a loaded one (bench/export.py).
WINDOW_ROWS = 1_000_000
SEPARATORS = {";": ";", ",": ","}
#: DuckDB memory limit for a process that only exports (the `export` command): with 1 M-row
#: windows a national 5 M-row CSV export then peaks at about 0.8 GB (bench/export.py).
#: DASHBOARD_DB_MEMORY overrides it.
EXPORT_MEMORY_LIMIT = "640MB"
#: Batches a background thread keeps ready while the previous one is encoded (0: no thread).
PREFETCH_BATCHES = 4


def neutralise(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula: a leading ' before the
    characters of :data:`FORMULA_START` (the SQL of the exports does the same per cell)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def neutralise_row(values) -> list:
    """A CSV row with every text cell neutralised (:func:`neutralise`); other values as they
    are."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


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
    """The first line of a CSV export, for the person who opens it: ``# Veiligheidsbeeld
    export; gemaakt door ...; op 03-12-2026 22:05:23; filters Van: 01-01-2026 · ...`` (the time
    in Amsterdam time, the filters in Dutch words)."""
    parts = [f"gemaakt door {info['gemaakt_door']}",
             f"op {fmt.moment(info['gemaakt_op'], seconds=True)}",
             f"filters {fmt.filters(info['filters']) or 'geen'}"]
    if info.get("dataset"):
        parts.append(f"dataset {info['dataset']}")
    return "# Veiligheidsbeeld export; " + "; ".join(parts)


def csv_chunks(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(), columns=None,
               sep: str = ";", info: dict | None = None,
               progress: Callable[[int], None] | None = None, bom: bool = True,
               header: str = "title") -> Iterator[bytes]:
    """The CSV export as a stream of UTF-8 byte chunks: BOM, the provenance line (when
    ``info`` is given), the header row, then the rows. ``progress(rows_so_far)`` is called
    after every batch. Scope checks run before the first chunk is produced.

    Exports for people keep the defaults (a BOM so spreadsheets read UTF-8, Dutch column
    titles). A machine-readable file (the API) passes ``bom=False``, no ``info`` and
    ``header="key"``: plain UTF-8, the column keys (``id``, ``pleegdatum``, ...) on row 1."""
    if sep not in SEPARATORS:
        raise ValueError(f"separator must be one of {sorted(SEPARATORS)}")
    if header not in ("title", "key"):
        raise ValueError("header must be 'title' or 'key'")
    queries = export_queries(con, scope=scope, flt=flt, sort=sort, columns=columns, csv_sep=sep)
    titles = [getattr(c, header) for c in queries[0][2]]
    return _stream(con.cursor(), queries, titles, sep, info, progress, bom)


def export_queries(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(),
                   columns=None, csv_sep: str | None = None) -> list[tuple[str, list, list]]:
    """The export queries, one per date window (see ``export_windows``); every scope and
    detail check runs here, before anything is written. With ``csv_sep`` they yield CSV lines
    (see ``export_query``)."""
    windows = export_windows(con, scope=scope, flt=flt, sort=sort, rows_per_window=WINDOW_ROWS)
    # Windows wholly outside the filter's dates hold no rows: skip their queries (a national
    # 10-year table has ~120 monthly windows, each an extra query otherwise).
    inside = [w for w in windows if w is None or (
        (flt.end is None or w[0] <= flt.end) and (flt.start is None or w[1] > flt.start))]
    return [export_query(con, scope=scope, flt=flt, sort=sort, columns=columns, window=w,
                         csv_sep=csv_sep) for w in inside or windows[:1]]


def record_batches(cursor, queries, *, prefetch: int | None = None) -> Iterator[pa.RecordBatch]:
    """The Arrow batches of the export queries, in order, one window at a time.

    With ``prefetch`` (default PREFETCH_BATCHES) a thread runs the queries and keeps up to that
    many batches ready, so DuckDB sorts the next window while the caller encodes this one.
    Closing the iterator early (a client that went away) interrupts the running query."""
    prefetch = PREFETCH_BATCHES if prefetch is None else prefetch
    if prefetch <= 0:
        for sql, params, _ in queries:
            yield from cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        return
    ready: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for sql, params, _ in queries:
                for batch in cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS):
                    if not put(batch):
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            put(exc)
        finally:
            put(_END)

    worker = threading.Thread(target=produce, name="export-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if worker.is_alive():
            with contextlib.suppress(Exception):
                cursor.interrupt()
        worker.join()


_END = object()


def _stream(cursor, queries, titles, sep, info, progress, bom=True) -> Iterator[bytes]:
    batches = record_batches(cursor, queries)
    try:
        head = io.StringIO()
        if bom:
            head.write(BOM)
        if info is not None:
            head.write(_quote(provenance_line(info), sep) + "\n")
        head.write(sep.join(_quote(t, sep) for t in titles) + "\n")
        yield head.getvalue().encode("utf-8")
        done = 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            done += batch.num_rows
            yield _joined(batch.column(0))
            if progress is not None:
                progress(done)
    finally:
        batches.close()  # stops the prefetch thread before its cursor goes
        cursor.close()


def _joined(lines: pa.Array) -> bytes:
    """The texts of a string array without nulls, one after the other: the part of its data
    buffer between the first and the last offset (the CSV lines of a batch, as one copy)."""
    if lines.null_count:
        raise ValueError("a CSV line is NULL")
    if not (pa.types.is_string(lines.type) or pa.types.is_large_string(lines.type)):
        lines = lines.cast(pa.large_string())
    _, offsets, data = lines.buffers()
    offsets = memoryview(offsets).cast("q" if pa.types.is_large_string(lines.type) else "i")
    return data[offsets[lines.offset]:offsets[lines.offset + len(lines)]].to_pybytes()


def _quote(text: str, sep: str) -> str:
    if any(ch in text for ch in (sep, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


# -- XLSX --------------------------------------------------------------------------------------

#: Rows on one Excel worksheet, the header row included (Excel's hard limit).
EXCEL_SHEET_ROWS = 1_048_576
#: Web XLSX exports of more rows are refused with a pointer to CSV: xlsxwriter spends ~10 us
#: per cell (5-10k rows/s, see bench/export.py) and cannot stream, so a larger file would keep
#: the browser waiting minutes for the first byte and outlive gunicorn's worker timeout. The
#: CLI takes ``--max-rows`` to go beyond it (continuation sheets ``Incidenten (2)``, ...).
XLSX_ROW_LIMIT = 100_000
SHEET_TITLE = "Incidenten"
INFO_TITLE = "Info"


class ExportTooLarge(ValueError):
    """An export too large for the requested format. The message is Dutch and safe to show."""


def _dutch(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def check_xlsx_size(rows: int, limit: int = XLSX_ROW_LIMIT) -> None:
    """Refuse an XLSX export of more than ``limit`` rows, pointing to CSV."""
    if rows > limit:
        raise ExportTooLarge(
            f"Deze selectie heeft {_dutch(rows)} rijen; een Excel-export kan maximaal "
            f"{_dutch(limit)} rijen bevatten. Kies CSV of maak de selectie kleiner.")


def _sheet_name(n: int) -> str:
    return SHEET_TITLE if n == 1 else f"{SHEET_TITLE} ({n})"


def _sort_text(sort: Sort) -> str:
    return f"{sort.column} {'aflopend' if sort.descending else 'oplopend'}"


def xlsx_file(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(), columns=None,
              info: dict | None = None, path, progress: Callable[[int], None] | None = None,
              sheet_rows: int = EXCEL_SHEET_ROWS) -> int:
    """Write the export as an XLSX workbook at ``path``: the same rows, columns and cell texts
    as :func:`csv_chunks` (dates stay text), on ``Incidenten``, continued on
    ``Incidenten (2)``, ... after ``sheet_rows`` rows (header included), plus an ``Info`` sheet
    with who, when, filters and row count. Every cell is written with ``write_string``, so no
    cell is ever a formula (the query already put a ' before = + - @ tab CR).
    Uses xlsxwriter's constant_memory mode: memory stays flat, rows are written in order.
    Scope checks run before the file is created. Returns the number of rows written."""
    import xlsxwriter

    queries = export_queries(con, scope=scope, flt=flt, sort=sort, columns=columns)
    chosen = queries[0][2]
    titles = [c.title for c in chosen]
    per_sheet = max(1, sheet_rows - 1)
    path = Path(path)
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "tmpdir": str(path.parent)})
    cursor = con.cursor()
    batches = record_batches(cursor, queries)
    closed = False
    try:
        info_sheet = workbook.add_worksheet(INFO_TITLE)
        bold = workbook.add_format({"bold": True})
        sheets = []

        def new_sheet():
            sheet = workbook.add_worksheet(_sheet_name(len(sheets) + 1))
            for col, title in enumerate(titles):
                sheet.write_string(0, col, title, bold)
            sheet.freeze_panes(1, 0)
            sheets.append(sheet)
            return sheet

        sheet, row, done, widths = new_sheet(), 1, 0, None
        write = sheet.write_string
        for batch in batches:
            if batch.num_rows == 0:
                continue
            arrays = [a if pa.types.is_string(a.type) or pa.types.is_large_string(a.type)
                      else pc.cast(a, pa.string()) for a in batch.columns]
            values = [a.to_pylist() for a in arrays]
            if widths is None:
                widths = [min(60, max([len(t)] + [len(v) for v in col[:2000] if v]) + 2)
                          for t, col in zip(titles, values)]
                for col, width in enumerate(widths):
                    sheet.set_column(col, col, width)
            for cells in zip(*values):
                if row > per_sheet:
                    sheet, row = new_sheet(), 1
                    write = sheet.write_string
                    for col, width in enumerate(widths):
                        sheet.set_column(col, col, width)
                for col, value in enumerate(cells):
                    if value:  # None and '' stay empty cells, as in the CSV
                        write(row, col, value)
                row += 1
            done += batch.num_rows
            if progress is not None:
                progress(done)
        if widths is None:
            for col, title in enumerate(titles):
                sheet.set_column(col, col, len(title) + 2)
        sheets[0].activate()
        _write_info(workbook, info_sheet, bold, info=info, flt=flt, sort=sort, titles=titles,
                    rows=done, sheets=[s.name for s in sheets])
        closed = True
        workbook.close()
        return done
    finally:
        batches.close()
        cursor.close()
        if not closed:
            try:
                workbook.close()
            except Exception:  # noqa: BLE001 - the original error matters, the file is dropped
                pass


def _write_info(workbook, sheet, bold, *, info, flt, sort, titles, rows, sheets) -> None:
    info = info or provenance(user="", flt=flt)
    lines = [("Veiligheidsbeeld export", "Incidenten"),
             ("Gemaakt door", info["gemaakt_door"]),
             ("Gemaakt op", fmt.moment(info["gemaakt_op"], seconds=True)),
             ("Dataset", info.get("dataset") or ""),
             ("Filters", fmt.filters(info["filters"]) or "geen"),
             ("Sortering", _sort_text(sort)),
             ("Kolommen", ", ".join(titles)),
             ("Aantal rijen", None),
             ("Bladen", ", ".join(sheets))]
    for key, value in info["filters"].items():
        lines.append((f"Filter {fmt.filter_label(key).lower()}", fmt.filter_value(value)))
    for n, (key, value) in enumerate(lines):
        sheet.write_string(n, 0, key, bold)
        if value is None:
            sheet.write_number(n, 1, rows)
        elif value:
            sheet.write_string(n, 1, neutralise(value))
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 80)
    created = datetime.fromisoformat(info["gemaakt_op"])
    workbook.set_properties({
        "title": "Veiligheidsbeeld export incidenten", "subject": "Incidenten",
        "author": info["gemaakt_door"], "company": "Veiligheidsbeeld",
        "comments": provenance_line(info)[:2000], "keywords": "politiegegevens, export",
        "created": created.astimezone(timezone.utc).replace(tzinfo=None)})
