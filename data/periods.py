"""Whole-month periods and month arithmetic, shared by every query and page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_range(start: date, end: date) -> list[date]:
    """First days of the months in [start, end)."""
    out, month = [], date(start.year, start.month, 1)
    while month < end:
        out.append(month)
        month = add_months(month, 1)
    return out


@dataclass(frozen=True)
class Period:
    """Whole months [start, end) with ``end`` the first month not included."""
    start: date
    end: date

    def shifted(self, months: int) -> "Period":
        return Period(add_months(self.start, months), add_months(self.end, months))


def months_before(newest: date, months: int = 12) -> Period:
    """The ``months`` whole months before month ``newest`` (its first day), ``newest`` excluded:
    the last complete months when ``newest`` is the month still running."""
    return Period(add_months(newest, -months), newest)
