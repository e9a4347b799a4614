"""The driehoeksmonitor: per gemeente, the indicators agreed in its profile (bundles or single
types), each as the last 12 complete months against the same 12 months a year earlier, with
the change's significance (``data.stats``) and the last 24 months for a sparkline.

The monthly counts come from ``data.queries.coverage`` (incidents, imported monthly counts, or
PC4 woninginbraak summed), as the overview's and the map's; a month no source covers has no
count and a 12-month figure over it is "geen gegevens", never a partial sum. Gemeente level
only, exact for every scope (data/disclosure.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from data.catalog import indicator_title, indicator_types
from data.periods import Period, add_months, month_range
from data.queries import coverage
from data.scope import Scope, ensure_gemeente
from data.stats import Change, poisson_change

#: Months in the sparkline and on a presentation slide (current 12 + the year before).
MONTHS_SHOWN = 24


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str
    #: Registrations in the last 12 complete months, and in the 12 months before them (None
    #: when the data do not go back that far).
    current: int | None
    previous: int | None
    change: Change
    #: The last MONTHS_SHOWN complete months, oldest first, and their counts (None before the
    #: first month with data).
    months: tuple[date, ...]
    counts: tuple[int | None, ...]
    #: The first provisional month (late registrations can still follow), if any is shown.
    provisional_from: date | None
    #: The last 12 complete months [start, end).
    start: date
    end: date
    #: Where ``current`` comes from, or why there is none ("geen gegevens voor ...").
    source: str = ""
    reason: str = ""

    @property
    def mark(self) -> str:
        """'significant', 'binnen normale schommeling' or 'geen vergelijking mogelijk'."""
        if self.change.z is None:
            return "geen vergelijking mogelijk"
        return "significant" if self.change.significant else "binnen normale schommeling"


@dataclass(frozen=True)
class Monitor:
    gemeente: str
    #: The last 12 complete months [start, end); None when there are no data.
    start: date | None
    end: date | None
    indicators: tuple[Indicator, ...]
    #: Profile codes that are neither a bundle nor a type in this database.
    unknown: tuple[str, ...] = ()


def known_indicators(con, *, scope: Scope, codes) -> list[str]:
    """The codes (in the given order, without duplicates) that are a bundle or a single type."""
    if scope.empty:
        return []
    out = []
    for code in codes or ():
        if isinstance(code, str) and code not in out and indicator_types(con, code):
            out.append(code)
    return out


def monitor(con, *, scope: Scope, gemeente: str, indicators) -> Monitor:
    """The driehoeksmonitor of ``gemeente`` (OutOfScope outside the scope) for the indicator
    codes ``indicators`` (the gemeente's profile)."""
    ensure_gemeente(scope, gemeente)
    known = known_indicators(con, scope=scope, codes=indicators)
    unknown = tuple(c for c in indicators or () if c not in known)
    end = coverage.newest_month(con, scope=scope)  # first month NOT counted (still running)
    if end is None:
        return Monitor(gemeente, None, None, (), unknown)
    items = tuple(_indicator(con, scope, gemeente, code, end) for code in known)
    return Monitor(gemeente, add_months(end, -12), end, items, unknown)


def indicator(con, *, scope: Scope, gemeente: str, code: str) -> Indicator | None:
    """One indicator of the monitor (for a presentation slide); None without data."""
    ensure_gemeente(scope, gemeente)
    if not known_indicators(con, scope=scope, codes=[code]):
        raise ValueError(f"unknown indicator {code!r}")
    end = coverage.newest_month(con, scope=scope)
    return None if end is None else _indicator(con, scope, gemeente, code, end)


def _indicator(con, scope, gemeente, code, end) -> Indicator:
    start = add_months(end, -MONTHS_SHOWN)
    months = tuple(month_range(start, end))
    periods = [Period(m, add_months(m, 1)) for m in months]
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=[gemeente], indicator=code,
                                     periods=periods)
    found = [cells[(gemeente, p)] for p in periods]
    counts = tuple(c.value for c in found)
    recent, before = found[-12:], found[:-12]
    current, previous = coverage.total(recent), coverage.total(before)
    provisional = next((m for m, c in zip(months, found) if c.provisional), None)
    return Indicator(code, indicator_title(con, code), current.value, previous.value,
                     poisson_change(current.value, previous.value), months, counts,
                     provisional, add_months(end, -12), end,
                     source=coverage.source_title(current.source), reason=current.reason)
