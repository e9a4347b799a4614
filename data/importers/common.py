"""What every importer shares: the result, the fatal error, and the rejected-rows file."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from data.export import neutralise_row


class FatalImportError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""

    def __init__(self, message: str, *, file, line: int | None = None, column: str | None = None):
        self.message, self.file, self.line, self.column = message, str(file), line, column
        where = self.file + (f", line {line}" if line else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")

    def location(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass
class Rejection:
    line: int
    reason: str
    values: dict


@dataclass
class ImportResult:
    kind: str
    file: str
    rows: int = 0
    rejected: int = 0
    total: int | None = None
    rejected_file: str | None = None
    warnings: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"kind": self.kind, "file": self.file, "rows": self.rows, "rejected": self.rejected}
        if self.total is not None:
            out["total"] = self.total
        if self.rejected_file:
            out["rejected_file"] = self.rejected_file
        if self.warnings:
            out["warnings"] = self.warnings
        out.update(self.detail)
        return out

    def summary(self) -> str:
        text = f"import {self.kind} {self.file}: {self.rows:,} rows accepted, {self.rejected:,} rejected"
        if self.total is not None:
            text += f", total {self.total:,}"
        if self.rejected_file:
            text += f" (rejected rows in {self.rejected_file})"
        for key, value in self.detail.items():
            text += f", {key} {value}"
        return text + "".join(f"\n  warning: {w}" for w in self.warnings)


def write_rejections(source: Path, rejections: list[Rejection], target: Path | None) -> str | None:
    """Write rejected rows to ``<source>.rejected.csv`` (or ``target``). When the source folder
    is read-only, write ``<name>.rejected.csv`` in the current directory instead. Returns the
    path written, or None."""
    if not rejections:
        return None
    beside = source.with_name(source.name + ".rejected.csv")
    candidates = [target] if target else [Path.cwd() / (source.name + ".rejected.csv")]
    if not target and _writable_by_mode(source.parent):
        candidates.insert(0, beside)
    columns = list(dict.fromkeys(k for r in rejections for k in r.values))
    for path in candidates:
        try:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                # Opened in a spreadsheet to fix the rows: no text cell is a formula, as in
                # every export.
                out = csv.writer(fh)
                out.writerow(neutralise_row(["line", "reason", *columns]))
                for r in rejections:
                    out.writerow(neutralise_row([r.line, r.reason,
                                                 *(r.values.get(c, "") for c in columns)]))
            return str(path)
        except OSError:
            continue
    return None


def read_rejections(path: Path) -> list[dict]:
    """The ``line`` and ``reason`` of each row of a rejections file (:func:`write_rejections`);
    none when there is no file."""
    if not Path(path).exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"line": r["line"], "reason": r["reason"]} for r in csv.DictReader(fh)]


def _writable_by_mode(folder: Path) -> bool:
    """True when the folder's mode bits allow writing. (os.access says yes to root even for a
    folder shipped read-only, such as a shared reference-data folder.)"""
    try:
        return bool(folder.stat().st_mode & 0o222)
    except OSError:
        return False
