"""The integraal ondermijningsbeeld (issue #17 item 2): per ondermijning indicator
(``data.catalog.ONDERMIJNING``, the one definition) the gemeente's figures, its wijken, its
incidents, the teamchef's duiding and the gemeente's own signals.

* :func:`picture` — per indicator the last 12 complete months against the 12 before (exact
  Poisson test) and the last 36 months, summed from ``data.queries.coverage`` cells of the
  indicator's codes (a month no source covers stays "geen gegevens"; an indicator without
  codes has no figure and its reason, never 0). Gemeente level: exact for every scope.
* :func:`wijk_counts` — per wijk through ``data.queries.areas.incident_counts_by_area``, so a
  detail-1 scope gets exactly the release of ``data.disclosure`` (an indicator with a code
  that is not published per wijk is "niet openbaar" for the whole column).
* :func:`incident_rows` — the incidents of the ondermijning types (detail 2 and up, address at
  3), through ``data.queries.incidents`` (its own detail checks apply as well).
* :func:`write_duiding` / :func:`latest_duiding` — the teamchef's interpretation: append-only
  rows in the state database (``ondermijning_duiding``); the newest counts. Only a teamchef
  whose scope holds the gemeente writes; everyone whose scope holds it reads.
* :func:`gemeente_signals` — the gemeente's own sources the scope sees (``data/queries/sources``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from data import disclosure
from data.catalog import ONDERMIJNING, OndermijningIndicator, ondermijning_codes
from data.periods import Period, add_months, month_range
from data.queries import coverage
from data.queries.areas import incident_counts_by_area
from data.scope import OutOfScope, Scope, ensure_detail, ensure_gemeente
from data.state import now
from data.stats import Change, poisson_change

#: Months in the trend per indicator.
MONTHS_SHOWN = 36
#: What a wijk cell says when the scope's release does not publish the indicator per wijk.
NOT_PUBLISHED = "niet openbaar"
#: The roles that write the duiding.
DUIDING_ROLES = ("teamchef",)
#: Longest duiding accepted (characters).
DUIDING_MAX = 5000
#: When the scope sees no source of the gemeente (none imported, or not shared with the role).
NO_SIGNALS = ("Geen gemeentelijke bronnen die u kunt zien (de gemeente heeft er geen"
              " ingelezen, of deelt ze niet met uw rol).")


@dataclass(frozen=True)
class Figure:
    """One indicator for one gemeente: 12 months against the 12 before, and 36 months."""
    indicator: OndermijningIndicator
    current: int | None
    previous: int | None
    change: Change
    months: tuple[date, ...]
    counts: tuple[int | None, ...]
    provisional_from: date | None
    source: str
    reason: str  # why ``current`` is None ("geen gegevens: ...")


@dataclass(frozen=True)
class Picture:
    gemeente: str
    start: date | None  # the last 12 complete months [start, end)
    end: date | None
    figures: tuple[Figure, ...]


def picture(con, *, scope: Scope, gemeente: str, end: date | None = None) -> Picture:
    """The key figures and 36-month series of every indicator for ``gemeente`` (OutOfScope
    outside the scope); ``end``: first month not counted (default: the running month)."""
    ensure_gemeente(scope, gemeente)
    end = end or coverage.newest_month(con, scope=scope)
    if end is None:
        return Picture(gemeente, None, None, tuple(_no_data(i, ()) for i in ONDERMIJNING))
    months = tuple(month_range(add_months(end, -MONTHS_SHOWN), end))
    periods = [Period(m, add_months(m, 1)) for m in months]
    cells = coverage.indicator_counts(con, scope=scope, gemeenten=[gemeente],
                                      indicators=ondermijning_codes(), periods=periods)
    figures = []
    for ind in ONDERMIJNING:
        if not ind.codes:
            figures.append(_no_data(ind, months))
            continue
        per_month = [coverage.total(cells[c][(gemeente, p)] for c in ind.codes)
                     for p in periods]
        current, previous = coverage.total(per_month[-12:]), coverage.total(per_month[-24:-12])
        figures.append(Figure(
            ind, current.value, previous.value, poisson_change(current.value, previous.value),
            months, tuple(c.value for c in per_month),
            next((m for m, c in zip(months, per_month) if c.provisional), None),
            coverage.source_title(current.source) if current.source else "",
            current.reason))
    return Picture(gemeente, add_months(end, -12), end, tuple(figures))


def _no_data(ind: OndermijningIndicator, months) -> Figure:
    reason = f"{coverage.NO_DATA}: {ind.no_data}" if ind.no_data else coverage.NO_DATA
    return Figure(ind, None, None, poisson_change(None, None), tuple(months),
                  tuple(None for _ in months), None, "", reason)


def wijk_counts(con, *, scope: Scope, gemeente: str, period: Period
                ) -> tuple[list[tuple[str, str]], dict[str, list]]:
    """The wijken of ``gemeente`` [(code, name)] and per indicator key its column: counts (None:
    no source covers the period), or :data:`NOT_PUBLISHED` in every cell when the scope's
    release leaves one of its codes out per wijk; an indicator without codes is None."""
    ensure_gemeente(scope, gemeente)
    wijken: list[tuple[str, str]] | None = None
    columns: dict[str, list] = {}
    for ind in ONDERMIJNING:
        frames = []
        try:
            for code in ind.codes:
                frames.append(incident_counts_by_area(con, scope=scope, level="wijk",
                                                      period=period, group=code, within=gemeente))
        except disclosure.NotPublished:
            columns[ind.key] = NOT_PUBLISHED
            continue
        if not frames:
            columns[ind.key] = None
            continue
        if wijken is None:
            wijken = [(r.code, r.name or r.code) for r in frames[0].itertuples()]
        total = {}
        for frame in frames:
            for r in frame.itertuples():
                value = None if pd.isna(r.count) else int(r.count)
                if r.code not in total:
                    total[r.code] = value
                else:
                    total[r.code] = (None if total[r.code] is None or value is None
                                     else total[r.code] + value)
        columns[ind.key] = total
    wijken = wijken or []
    out = {}
    for ind in ONDERMIJNING:
        column = columns[ind.key]
        out[ind.key] = ([column] * len(wijken) if isinstance(column, str) or column is None
                        else [column.get(code) for code, _ in wijken])
    return wijken, out


def incident_rows(con, *, scope: Scope, gemeente: str, period: Period):
    """The incidents of every indicator's types in ``gemeente`` and ``period``, oldest first, as
    the incident list section of the products (columns by detail level: 2 without address, 3
    with street and house number). OutOfScope below detail 2 or outside the scope."""
    from data.products.incidentlists import incident_list_section
    from data.queries.incidents import IncidentFilter

    ensure_detail(scope, 2)
    ensure_gemeente(scope, gemeente)
    flt = IncidentFilter(start=period.start, end=period.end - timedelta(days=1),
                         types=tuple(ondermijning_codes()), areas=(gemeente,))
    return incident_list_section(con, scope=scope, flt=flt, label=coverage.period_label(period),
                                 title="Incidenten")


# -- the teamchef's duiding (state database, append-only) --------------------------------------

@dataclass(frozen=True)
class Duiding:
    gemeente: str
    text: str
    author: str
    role: str
    at: str  # UTC ISO time


def latest_duiding(state, *, scope: Scope, gemeente: str) -> Duiding | None:
    """The newest duiding of ``gemeente`` (OutOfScope outside the scope); None when none."""
    ensure_gemeente(scope, gemeente)
    rows = state.query("SELECT gm_code, text, author, role, at FROM ondermijning_duiding"
                       " WHERE gm_code = ? ORDER BY id DESC LIMIT 1", (gemeente,))
    return Duiding(*rows[0]) if rows else None


def write_duiding(state, *, scope: Scope, user, gemeente: str, text) -> Duiding:
    """Append a new duiding of ``gemeente`` by ``user``: only a teamchef whose scope holds the
    gemeente (OutOfScope otherwise); ValueError for an empty or too long text."""
    ensure_gemeente(scope, gemeente)
    role = getattr(user, "role", None)
    if role not in DUIDING_ROLES:
        raise OutOfScope(f"role {role} may not write the ondermijning duiding")
    if not isinstance(text, str) or not text.strip():
        raise DuidingError("Schrijf eerst een duiding.")
    if len(text) > DUIDING_MAX:
        raise DuidingError(f"De duiding is te lang (meer dan {DUIDING_MAX} tekens).")
    at = now()
    with state.transaction() as tx:
        tx.execute("INSERT INTO ondermijning_duiding (gm_code, text, author, role, at)"
                   " VALUES (?, ?, ?, ?, ?)", (gemeente, text.strip(), user.name, role, at))
    return Duiding(gemeente, text.strip(), user.name, role, at)


class DuidingError(ValueError):
    """A duiding that cannot be saved; the message is Dutch and safe to show."""


def gemeente_signals(con, *, scope: Scope, gemeente: str, reference: date):
    """The gemeente's own signals beside the police figures: its sources the scope sees
    (``data/queries/sources.py``: the gemeente's own users, police roles its profile shares
    them with), each total over the 12 months before ``reference`` and the 12 before those,
    NA with a reason where a source does not cover a window. Columns: source, title, label,
    current, previous, reason (empty: no sources to show, see :data:`NO_SIGNALS`)."""
    from data.queries.sources import source_totals

    ensure_gemeente(scope, gemeente)
    return source_totals(con, scope=scope, gm_code=gemeente, reference=reference)
