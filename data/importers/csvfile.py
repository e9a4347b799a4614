"""Reading CSV input: the checks every CSV importer shares.

:func:`open_csv` checks the file as a whole before anything is loaded: it is not empty, it is
valid UTF-8 (a BOM is allowed; the first bad byte is reported by line and column), it holds no
NUL bytes (binary or UTF-16), and its header row names its columns. The separator (``;``, ``,``
or tab) is taken from the header. :meth:`CsvFile.require` makes a missing column fatal.

:meth:`CsvFile.load` reads every row into a temporary DuckDB table with DuckDB's CSV reader (all
values as text, trimmed, empty as NULL) plus ``_line``, the line number of the row in the file,
so importers validate with SQL instead of a Python loop per row (a view trimming the rows as
read, so the file's values are stored once). Rows that cannot be parsed at
all (wrong number of fields, unterminated quote) become row-level rejections.
"""
from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from data.importers.common import FatalImportError, Rejection
from data.sql import ident, literal, scalar

SEPARATORS = (";", ",", "\t")
_CHUNK = 1 << 20
#: Most columns a file may have: a layout names at most ~20 (docs/import-formats.md; others
#: are ignored). A header of 20,000 columns (118 kB, under the upload limit) kept an import
#: busy for minutes, holding the writer's lock while every other import waited.
MAX_COLUMNS = 200
#: Longest header row (characters): 200 generous column names.
MAX_HEADER = 20_000


@dataclass
class CsvFile:
    path: Path
    delimiter: str
    #: Normalised column names (stripped, lower case) in file order.
    columns: list[str]
    #: The header as written.
    header: list[str]
    has_quotes: bool = False
    #: Physical lines in the file (the last one counted when it has no line break).
    lines: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    #: The view :meth:`load` made.
    view: str = "_csv"

    def find(self, *names: str) -> str | None:
        """The first of ``names`` (lower case) that is a column of the file."""
        return next((n for n in names if n in self.columns), None)

    def find_prefix(self, prefix: str) -> list[str]:
        return [c for c in self.columns if c.startswith(prefix)]

    def require(self, *names: str, layout: str | None = None) -> None:
        """Fail unless every column in ``names`` is present. A name may be a tuple of
        alternatives: ``("wijkenenbuurten", "regios")``."""
        for name in names:
            options = name if isinstance(name, tuple) else (name,)
            if self.find(*options):
                continue
            wanted = " or ".join(repr(o) for o in options)
            found = ", ".join(self.header) or "(none)"
            hint = ""
            if len(self.columns) == 1:
                hint = " The header has a single column: the separator must be ';' or ','."
            what = f" for the {layout} layout" if layout else ""
            raise FatalImportError(
                f"required column {wanted} is missing{what} (columns found: {found}).{hint}",
                file=self.path, line=1, column=options[0])

    def fail(self, message: str, *, line: int | None = 1, column: str | None = None):
        raise FatalImportError(message, file=self.path, line=line, column=column)

    # -- loading -------------------------------------------------------------------------------
    def load(self, con, table: str = "_csv") -> int:
        """Read all rows into the temporary view ``table`` (``_line`` + one VARCHAR column per
        file column, trimmed, empty as NULL; blank rows left out) over the table of the rows as
        read (``_csv_raw``): the values are trimmed as a query reads them, not stored twice.
        Unparseable rows go to :attr:`rejections`. Returns the number of records read.
        :meth:`drop` removes what this made."""
        con.execute("SET enable_progress_bar = false")
        con.execute("DROP TABLE IF EXISTS _csv_rejects")
        con.execute("DROP TABLE IF EXISTS _csv_rejects_scan")
        spec = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in self.columns)
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _csv_raw AS SELECT * FROM read_csv(?,"
                f" delim = ?, header = true, quote = '\"', escape = '\"',"
                f" columns = {{{spec}}}, auto_detect = false, ignore_errors = true,"
                f" store_rejects = true, rejects_table = '_csv_rejects',"
                f" rejects_scan = '_csv_rejects_scan', max_line_size = 10000000)",
                [str(self.path), self.delimiter])
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            match = re.search(r"[Ll]ine:? (\d+)", str(exc))
            raise FatalImportError(f"cannot read the file as CSV: {message}", file=self.path,
                                   line=int(match.group(1)) if match else None) from exc
        bad = con.execute(
            "SELECT line, error_type, csv_line, error_message FROM _csv_rejects"
            " ORDER BY line").fetchall()
        bad_lines = sorted({int(line) for line, *_ in bad})
        self.rejections = [
            Rejection(int(line), _rejected_reason(kind, message), {"row": text})
            for line, kind, text, message in bad]
        rows = scalar(con, "SELECT count(*) FROM _csv_raw")
        if rows + len(bad_lines) == 0:
            self.fail("the file has a header row but no data rows", line=2)
        values = ", ".join(f"{_trimmed(ident(c))} AS {ident(c)}" for c in self.columns)
        not_blank = " OR ".join(f"{_trimmed(ident(c))} IS NOT NULL" for c in self.columns)
        self.view = table
        if self._number_lines(con, rows, bad_lines):
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT l.line AS _line, {values}"
                f" FROM _csv_raw r JOIN _csv_lines l ON l.k = r.rowid WHERE {not_blank}")
        else:  # one line per record, none rejected: the k-th record is on line k + 2
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT r.rowid + 2 AS _line, {values}"
                f" FROM _csv_raw r WHERE {not_blank}")
        for name in ("_csv_rejects", "_csv_rejects_scan"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        return rows + len(bad_lines)

    def drop(self, con) -> None:
        """Remove the view and tables :meth:`load` made."""
        con.execute(f"DROP VIEW IF EXISTS {self.view}")
        for name in ("_csv_raw", "_csv_lines"):
            con.execute(f"DROP TABLE IF EXISTS {name}")

    def _number_lines(self, con, rows: int, bad_lines: list[int]) -> bool:
        """Create ``_csv_lines(k, line)``: the file line of the k-th accepted record. Returns
        False (and creates nothing) when that line is simply k + 2."""
        multiline = False
        if self.has_quotes and rows:
            test = " OR ".join(f"contains({ident(c)}, chr(10))" for c in self.columns)
            multiline = bool(scalar(con, f"SELECT count(*) FROM _csv_raw WHERE {test}"))
        lines = None
        # One line per record (none spans lines): the file has blank lines exactly when it
        # has more lines than the header and its records.
        blank_lines = self.lines > 1 + rows + len(bad_lines)
        if multiline or blank_lines:
            lines = self._record_lines(rows, len(bad_lines))
        if lines is None and not bad_lines:
            return False
        if lines is None:
            # One line per record: the k-th accepted row is line k + 2 plus the number of
            # rejected records that came before it.
            before = np.array(bad_lines, dtype=np.int64) - 2 - np.arange(len(bad_lines))
            k = np.arange(rows, dtype=np.int64)
            lines = k + 2 + np.searchsorted(before, k, side="right")
        frame = pa.table({"k": np.arange(rows, dtype=np.int64),
                          "line": np.asarray(lines, dtype=np.int64)})
        con.register("_csv_lines_arrow", frame)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _csv_lines AS SELECT * FROM _csv_lines_arrow")
        finally:
            con.unregister("_csv_lines_arrow")
        return True

    def _record_lines(self, rows: int, rejected: int) -> np.ndarray | None:
        """Physical start lines of the accepted records, by re-reading with the csv module. Only
        needed for files with blank lines or values spanning lines, where DuckDB's numbering
        differs. Also corrects the line numbers of the unparseable rows."""
        good, bad = [], []
        width = len(self.columns)
        with open(self.path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            next(reader, None)
            previous_end = reader.line_num
            for record in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if record:
                    (good if len(record) == width else bad).append(start)
        if len(good) != rows:
            return None
        if len(bad) == rejected == len(self.rejections):
            for rejection, line in zip(self.rejections, bad):
                rejection.line = line
        return np.array(good, dtype=np.int64)

    def rejected_rows(self, con, table: str, reason_column: str = "reason") -> list[Rejection]:
        """All rejections, in line order: the unparseable rows found by :meth:`load` and the rows
        of ``table`` (which has ``_line``) whose ``reason`` is set, with the row as read from the
        file (the loaded CSV table ``_csv``) as values."""
        columns = ", ".join(f"c.{ident(c)}" for c in self.columns)
        rows = con.execute(
            f"WITH t AS (SELECT _line, {reason_column} FROM {table}"
            f" WHERE {reason_column} IS NOT NULL)"
            f" SELECT t._line, t.{reason_column}, {columns} FROM t"
            f" JOIN {self.view} c ON c._line = t._line"
            f" ORDER BY t._line").fetchall()
        checked = [Rejection(int(r[0]), r[1], {c: ("" if v is None else v)
                                                  for c, v in zip(self.columns, r[2:])})
                   for r in rows]
        return sorted(self.rejections + checked, key=lambda r: r.line)


def open_csv(path) -> CsvFile:
    """Check the file (non-empty, UTF-8, header) and detect the separator."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FatalImportError("the file is empty (0 bytes): expected a header row", file=path,
                               line=1, column=1)
    has_quotes, lines = _scan(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        first = fh.readline(MAX_HEADER + 2).rstrip("\r\n")
    if len(first) > MAX_HEADER:
        raise FatalImportError(
            f"the first line is longer than {MAX_HEADER:,} characters: expected a header row "
            f"naming the columns (at most {MAX_COLUMNS})", file=path, line=1)
    if not first.strip():
        raise FatalImportError("the first line is empty: expected a header row naming the columns",
                               file=path, line=1)
    delimiter, header = _split_header(first)
    if len(header) > MAX_COLUMNS:
        raise FatalImportError(
            f"the header row has {len(header):,} columns, more than any layout ({MAX_COLUMNS} at"
            " most): check the separator and the file", file=path, line=1)
    columns = []
    for i, name in enumerate(header, start=1):
        norm = name.strip().lower() or f"column{i}"
        if norm in columns:
            raise FatalImportError(f"column name {name.strip()!r} appears twice in the header",
                                   file=path, line=1, column=name.strip())
        columns.append(norm)
    return CsvFile(path, delimiter, columns, [h.strip() for h in header], has_quotes, lines)


def _split_header(line: str) -> tuple[str, list[str]]:
    best = (",", [line])
    for sep in SEPARATORS:
        fields = next(csv.reader([line], delimiter=sep))
        if len(fields) > len(best[1]):
            best = (sep, fields)
    return best


def _scan(path: Path) -> tuple[bool, int]:
    """Validate UTF-8, look for NUL bytes and quotes and count the lines, in one pass."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = lines = 0
    has_quotes = False
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                line, column = _position(path, offset + nul)
                raise FatalImportError(
                    "the file contains NUL bytes: it is binary, or UTF-16 rather than UTF-8 "
                    "(save it as CSV UTF-8)", file=path, line=line, column=column)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line, column = _position(path, offset - pending + exc.start)
                raise FatalImportError(
                    f"the file is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); save it "
                    "as CSV UTF-8", file=path, line=line, column=column) from None
            has_quotes = has_quotes or b'"' in chunk
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            line, column = _position(path, offset - len(decoder.getstate()[0]))
            raise FatalImportError("the file is not valid UTF-8 (truncated character at the end)",
                                   file=path, line=line, column=column) from None
    return has_quotes, lines + (last != b"\n")


def _position(path: Path, offset: int) -> tuple[int, int]:
    """Line (1-based) and character column (1-based) of a byte offset."""
    with open(path, "rb") as fh:
        prefix = fh.read(offset)
    line = prefix.count(b"\n") + 1
    start = prefix.rfind(b"\n") + 1
    column = len(prefix[start:].decode("utf-8", errors="replace")) + 1
    if line == 1 and prefix.startswith(codecs.BOM_UTF8):
        column -= 1
    return line, column


def _rejected_reason(kind: str, message: str) -> str:
    kind = (kind or "").upper()
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        return f"wrong number of fields: {message}"
    if kind == "UNQUOTED VALUE" or kind == "UNTERMINATED QUOTE":
        return f"bad quoting: {message}"
    return f"unreadable row ({kind.lower()}): {message}"


def _trimmed(column: str) -> str:
    """SQL for the value of ``column`` without surrounding spaces, NULL when empty: trim only
    when there is something to trim (a million values read ~30 % faster than trimming all)."""
    return (f"CASE WHEN starts_with({column}, ' ') OR ends_with({column}, ' ')"
            f" THEN nullif(trim({column}), '') ELSE nullif({column}, '') END")

