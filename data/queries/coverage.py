"""Gemeente counts that know what they are: a value with its source, or no value with the reason.

A false zero is born where a period that no source covers is summed as 0. Every gemeente-level
count of a bundle or type over a period therefore comes from here, as a :class:`Cell`, from the
first source that covers the whole period (issue 14):

1. **incidents** (the police registration itself): every type, for every month from the first
   to the newest month of the incident data, in gemeenten that have incidents at all. A month
   without registrations of the type is a real 0 there.
2. **imported gemeente counts** (CBS/Politie open data, the file name is the source): a row
   covers exactly its gemeente, period (month, quarter or year) and type. A bundle is covered
   when every member type has a row, or — for all misdrijven — when the file's total ("0.0.0",
   "Misdrijven, totaal") has one. A period is covered by rows at its own grain or by rows of a
   finer grain that cover all of it (four quarters, twelve months); never finer than the rows.
3. **the PC4 woninginbraak file** (politie.nl per PC4 per month), for woninginbraak (1.1.1) only:
   summed to the gemeente each PC4 belongs to (``areas.gm_code``), for the months of the file
   except its newest (the file marks no month complete, and the real file's last month is
   partial, see ``data.queries.burglary.last_complete_months``).

Anything else is "geen gegevens" (``value`` None and a Dutch ``reason``), never 0. Gemeente
figures are exact for every scope (``data.disclosure``): the scope only decides which gemeenten
may be asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from data.catalog import TOTAL_CODE, indicator_members
from data.incidents import CATALOG_KEY_SQL
from data.periods import Period, add_months, month_range
from data.scope import OutOfScope, Scope, area_filter
from data.sql import per_connection

#: Source name of counts derived from the incident registration.
INCIDENTS = "incidents"
#: How a source is named on pages, in the API and in products.
SOURCE_TITLES = {INCIDENTS: "politieregistratie (incidenten)"}
PC4_TYPE = "1.1.1"
NO_DATA = "geen gegevens"


@dataclass(frozen=True)
class Cell:
    """One gemeente's count of one indicator over one period."""
    value: int | None
    source: str | None = None
    reason: str = ""
    provisional: bool = False
    #: Counted from a finer level or grain (PC4 summed to the gemeente, months to a year).
    derived: str = ""

    @property
    def known(self) -> bool:
        return self.value is not None


def source_title(source: str | None) -> str:
    """The Dutch name of a source for a page or product."""
    if not source:
        return ""
    return SOURCE_TITLES.get(source, source)


def period_label(period: Period) -> str:
    months = len(month_range(period.start, period.end))
    if months == 12 and period.start.month == 1:
        return str(period.start.year)
    if months == 3 and period.start.month % 3 == 1:
        return f"{period.start.year} K{(period.start.month - 1) // 3 + 1}"
    if months == 1:
        return period.start.strftime("%m-%Y")
    last = add_months(period.end, -1)
    return f"{period.start:%m-%Y} t/m {last:%m-%Y}"


def _grains(period: Period) -> list[tuple[str, list[date]]]:
    """Ways to cover ``period`` from imported rows, coarsest first: (period type, starts)."""
    months = month_range(period.start, period.end)
    ways = []
    if len(months) == 12 and period.start.month == 1:
        ways.append(("Y", [period.start]))
    if len(months) % 3 == 0 and period.start.month % 3 == 1:
        ways.append(("Q", months[::3]))
    ways.append(("M", months))
    return ways


def _total_equivalent(con, members: list[str]) -> bool:
    """True when ``members`` are all misdrijf types: the file's total counts the bundle."""
    every = {r[0] for r in con.execute(
        "SELECT code FROM crime_types WHERE kind = 'misdrijf'").fetchall()}
    return bool(every) and set(members) == every


def _incidents(con) -> tuple[Period | None, frozenset]:
    """The months the incidents span and the gemeenten that have any (kept per connection,
    ``data.sql.per_connection``)."""
    def compute():
        first, newest, gemeenten = con.execute(
            "SELECT min(period_start), max(period_start), list(DISTINCT area_code) FROM counts"
            " WHERE source = ? AND level = 'gemeente' AND period_type = 'M'",
            [INCIDENTS]).fetchall()[0]
        return (None if first is None else Period(first, add_months(newest, 1)),
                frozenset(gemeenten or ()))
    return per_connection(con, "coverage.incidents", compute)


def incident_span(con, *, scope: Scope) -> Period | None:
    """The months the incident registration covers: from its first month up to and including
    its newest (still running) month; None without incidents (or for an empty scope)."""
    return None if scope.empty else _incidents(con)[0]


def incidents_cover(con, *, scope: Scope, gemeenten, start: date, end: date) -> frozenset[str]:
    """The gemeenten among ``gemeenten`` (each in scope) whose incident registration covers
    every day of [start, end), for counts over days rather than whole months (the incident
    products): the rule of :func:`gemeente_counts`' first source — the days' months lie in the
    incidents' span and the gemeente has incidents at all. For the others a count over those
    days is "geen gegevens" (imported counts have no days), never 0."""
    codes = sorted(set(gemeenten))
    outside = [c for c in codes if c not in scope.gemeenten]
    if scope.empty or outside:
        raise OutOfScope(f"gemeenten outside the scope: {outside}")
    span, with_incidents = _incidents(con)
    if span is None or not (span.start <= start and end <= span.end):
        return frozenset()
    return frozenset(gm for gm in codes if gm in with_incidents)


def _pc4_months(con) -> list[date]:
    return [r[0] for r in con.execute(
        "SELECT DISTINCT period_start FROM counts WHERE level = 'pc4' AND period_type = 'M'"
        " AND type_code = ? ORDER BY 1", [PC4_TYPE]).fetchall()][:-1]


def pc4_file_months(con, *, scope: Scope) -> list[date]:
    """The complete months of the imported PC4 woninginbraak counts: every month of the file
    but its newest, which nothing marks complete (``data.queries.burglary``); none for an empty
    scope."""
    return [] if scope.empty else _pc4_months(con)


def gemeente_counts(con, *, scope: Scope, gemeenten, indicator: str, periods
                    ) -> dict[tuple[str, Period], Cell]:
    """{(gemeente, period): Cell} of ``indicator`` (a bundle or type) for every gemeente in
    ``gemeenten`` (each must be in scope) and every period of ``periods`` (whole months)."""
    return indicator_counts(con, scope=scope, gemeenten=gemeenten, indicators=[indicator],
                            periods=periods)[indicator]


def indicator_counts(con, *, scope: Scope, gemeenten, indicators, periods
                     ) -> dict[str, dict[tuple[str, Period], Cell]]:
    """:func:`gemeente_counts` of several indicators at once (one pass over the incident
    months for all of them): {indicator: {(gemeente, period): Cell}}."""
    codes = sorted(set(gemeenten))
    outside = [c for c in codes if c not in scope.gemeenten]
    if scope.empty or outside:
        raise OutOfScope(f"gemeenten outside the scope: {outside}")
    indicators = list(dict.fromkeys(indicators))
    members = _members(con, indicators)
    periods = list(dict.fromkeys(periods))
    result: dict[str, dict[tuple[str, Period], Cell]] = {i: {} for i in indicators}
    if not codes or not periods:
        return result
    first = min(p.start for p in periods)
    end = max(p.end for p in periods)

    # 1. incidents: every type, every month of their span, in gemeenten that have incidents
    span, with_incidents = _incidents(con)
    covered = [p for p in periods if span is not None and span.start <= p.start
               and p.end <= span.end]
    here = [gm for gm in codes if gm in with_incidents]
    if covered and here:
        sums: dict[tuple[str, str, int], tuple[int, bool]] = {}
        for indicator, gm, index, n, prov in _incident_sums(
                con, indicators, members, here, covered, per_gemeente=True):
            sums[(indicator, gm, index)] = (n, prov)
        zero = (0, False)
        for indicator in indicators:
            out = result[indicator]
            for gm in here:
                for index, p in enumerate(covered):
                    n, prov = sums.get((indicator, gm, index), zero)
                    out[(gm, p)] = Cell(n, INCIDENTS, provisional=prov)
    for indicator in indicators:
        out = result[indicator]
        missing = [(gm, p) for gm in codes for p in periods if (gm, p) not in out]
        if missing:
            _other_sources(con, codes, members[indicator], missing, first, end, out)
    return result


def late_gemeenten(con, *, scope: Scope, gemeenten, period: Period) -> set[str]:
    """The gemeenten among ``gemeenten`` (each in scope) whose count of all misdrijven in
    ``period`` is provisional (:func:`gemeente_counts`' ``provisional``). Where the incidents
    give those counts and ``group_counts`` holds them, from the provisional months of each
    gemeente, kept per connection (a national buurt layer asks for all 342 gemeenten)."""
    codes = sorted(set(gemeenten))
    outside = [c for c in codes if c not in scope.gemeenten]
    if scope.empty or outside:
        raise OutOfScope(f"gemeenten outside the scope: {outside}")
    span, with_incidents = _incidents(con)
    if (codes and span is not None and span.start <= period.start and period.end <= span.end
            and set(codes) <= with_incidents and precomputed(con, "alle_misdrijven")):
        months = per_connection(con, "coverage.provisional_months", lambda: {
            gm: tuple(found) for gm, found in con.execute(
                "SELECT gm_code, list(period_start) FROM group_counts"
                " WHERE group_code = 'alle_misdrijven' AND period_type = 'M' AND provisional"
                " GROUP BY gm_code").fetchall()})
        return {gm for gm in codes
                if any(period.start <= m < period.end for m in months.get(gm, ()))}
    cells = gemeente_counts(con, scope=scope, gemeenten=codes, indicator="alle_misdrijven",
                            periods=[period])
    return {gm for gm in codes if cells[(gm, period)].provisional}


def _members(con, indicators) -> dict[str, list[str]]:
    """The type codes of each indicator (a bundle's members, or the type itself; never the
    total). ValueError for an unknown indicator."""
    known = indicator_members(con)
    unknown = [i for i in indicators if not known.get(i)]
    if unknown:
        raise ValueError(f"unknown indicator {unknown[0]!r}")
    return {i: [code for code, _, _ in known[i]] for i in indicators}


def precomputed(con, indicator: str) -> bool:
    """Whether ``group_counts`` holds the incident months of ``indicator`` (a bundle or single
    type), built with the current bundle definitions (``data.incidents.build_group_counts``):
    then a bundle's month is one row per gemeente instead of a sum over its member types.
    False for an unknown indicator, imported counts only, a peildatum view (its
    ``group_counts`` is empty, ``data.products.asof``) or a database built before the table
    held it. Known per connection (``data.sql.per_connection``)."""
    if indicator not in indicator_members(con):
        return False

    def compute() -> bool:
        try:
            return bool(con.execute(f"""
                SELECT (SELECT value FROM meta WHERE key = 'group_counts_catalog')
                       = ({CATALOG_KEY_SQL})
                   AND EXISTS (SELECT 1 FROM group_counts WHERE group_code = ?)""",
                                    [indicator]).fetchall()[0][0])
        except duckdb.CatalogException:
            return False
    return per_connection(con, ("coverage.precomputed", indicator), compute)


def _incident_sums(con, indicators, members, gemeenten, periods, *, per_gemeente: bool):
    """Rows (indicator, gemeente or None, index into ``periods``, count, provisional) of the
    incident months, summed per period in SQL; periods and gemeenten without registrations
    have no row (a real 0 where the incidents cover them). Bundles from ``group_counts`` when
    it holds them all (one row per gemeente and month), else summed over their member types
    in ``counts``: the same numbers (``tests/test_coverage.py``)."""
    group = "c.area_code" if per_gemeente else "NULL"
    months = [(i, m) for i, p in enumerate(periods) for m in month_range(p.start, p.end)]
    window = [min(p.start for p in periods), max(p.end for p in periods)]
    month_params = [[i for i, _ in months], [m for _, m in months]]
    if all(precomputed(con, i) for i in indicators):
        return con.execute(f"""
            WITH p AS (SELECT unnest(?::INTEGER[]) AS i, unnest(?::DATE[]) AS month)
            SELECT c.group_code, {group.replace('area_code', 'gm_code')} AS gm, p.i,
                   sum(c.count)::BIGINT, bool_or(c.provisional)
            FROM group_counts c JOIN p ON p.month = c.period_start
            WHERE c.group_code IN ({", ".join("?" for _ in indicators)})
              AND c.period_type = 'M' AND c.gm_code IN (SELECT unnest(?::VARCHAR[]))
              AND c.period_start >= ? AND c.period_start < ?
            GROUP BY ALL""", [*month_params, *indicators, list(gemeenten), *window]
                           ).fetchall()
    return con.execute(f"""
        WITH m AS (SELECT unnest(?::VARCHAR[]) AS indicator, unnest(?::VARCHAR[]) AS type_code),
        p AS (SELECT unnest(?::INTEGER[]) AS i, unnest(?::DATE[]) AS month)
        SELECT m.indicator, {group} AS gm, p.i, sum(c.count)::BIGINT, bool_or(c.provisional)
        FROM counts c JOIN m ON m.type_code = c.type_code JOIN p ON p.month = c.period_start
        WHERE c.source = ? AND c.level = 'gemeente' AND c.period_type = 'M'
          AND c.area_code IN (SELECT unnest(?::VARCHAR[]))
          AND c.period_start >= ? AND c.period_start < ?
        GROUP BY ALL""",
        [[i for i in indicators for _ in members[i]],
         [t for i in indicators for t in members[i]], *month_params,
         INCIDENTS, list(gemeenten), *window]).fetchall()


def totals(con, *, scope: Scope, gemeenten, indicators, periods
           ) -> dict[str, dict[Period, Cell]]:
    """{indicator: {period: Cell}} of ``gemeenten`` together: :func:`total` of their cells,
    summed in SQL when the incidents cover every gemeente and period (a national series of
    36 months is then one query, not 12,000 cells)."""
    codes = sorted(set(gemeenten))
    span, with_incidents = _incidents(con)
    periods = list(dict.fromkeys(periods))
    indicators = list(dict.fromkeys(indicators))
    if (codes and periods and span is not None and set(codes) <= with_incidents
            and all(span.start <= p.start and p.end <= span.end for p in periods)):
        outside = [c for c in codes if c not in scope.gemeenten]
        if scope.empty or outside:
            raise OutOfScope(f"gemeenten outside the scope: {outside}")
        members = _members(con, indicators)
        sums = {(indicator, index): (n, prov) for indicator, _, index, n, prov in
                _incident_sums(con, indicators, members, codes, periods, per_gemeente=False)}
        return {i: {p: Cell(*_unpack(sums.get((i, index), (0, False))))
                    for index, p in enumerate(periods)} for i in indicators}
    cells = indicator_counts(con, scope=scope, gemeenten=codes, indicators=indicators,
                             periods=periods)
    return {i: {p: total(cells[i][(gm, p)] for gm in codes) for p in periods}
            for i in indicators}


def _unpack(found):
    n, prov = found
    return int(n), INCIDENTS, "", bool(prov)


def _other_sources(con, codes, members, missing, first, end, out) -> None:
    """Cells of ``missing`` (gemeente, period) from the imported gemeente counts or the PC4
    file, else "geen gegevens"; written into ``out``."""
    # 2. imported gemeente counts
    _own_grain(con, "gemeente", codes, members, missing, first, end, out)
    missing = [(gm, p) for gm, p in missing if (gm, p) not in out]

    # 3. the PC4 woninginbraak file, summed to the gemeente
    if missing and set(members) == {PC4_TYPE}:
        complete = set(_pc4_months(con))
        sums: dict[tuple[str, date], tuple[int, bool, str]] = {}
        for gm, month, n, prov, source in con.execute("""
                SELECT a.gm_code, c.period_start, sum(c.count)::BIGINT, bool_or(c.provisional),
                       string_agg(DISTINCT c.source, ' + ')
                FROM counts c JOIN areas a ON a.code = c.area_code AND a.level = 'pc4'
                WHERE c.level = 'pc4' AND c.period_type = 'M' AND c.type_code = ?
                  AND a.gm_code IN (SELECT unnest(?::VARCHAR[]))
                  AND c.period_start >= ? AND c.period_start < ?
                GROUP BY ALL""", [PC4_TYPE, codes, first, end]).fetchall():
            sums[(gm, month)] = (int(n), bool(prov), source)
        file_sources = sorted({s for _, _, s in sums.values()})
        for gm, p in missing:
            months = month_range(p.start, p.end)
            if all(m in complete for m in months):
                parts = [sums.get((gm, m), (0, False, "")) for m in months]
                out[(gm, p)] = Cell(sum(n for n, _, _ in parts),
                                    " + ".join(file_sources) or "PC4",
                                    provisional=any(pr for _, pr, _ in parts),
                                    derived="som van postcodegebieden (PC4)")
        missing = [(gm, p) for gm, p in missing if (gm, p) not in out]

    for gm, p in missing:
        out[(gm, p)] = Cell(None, reason=f"{NO_DATA} voor {period_label(p)}")


def _own_grain(con, level, codes, members, missing, first, end, out) -> None:
    """Cells of ``missing`` (area, period) of ``level`` from the imported counts at their own
    grain (a year, or the sum of its quarters or months), written into ``out``: the sum of
    ``members`` (or the source's total when they are every type)."""
    wanted = members + ([TOTAL_CODE] if _total_equivalent(con, members) else [])
    rows: dict[tuple[str, str, date], dict[str, tuple[int, bool, str]]] = {}
    for gm, ptype, start, type_code, n, prov, source in con.execute("""
            SELECT area_code, period_type, period_start, type_code, count, provisional, source
            FROM counts
            WHERE source <> ? AND level = ? AND attempt IS NULL
              AND area_code IN (SELECT unnest(?::VARCHAR[]))
              AND type_code IN (SELECT unnest(?::VARCHAR[]))
              AND period_start >= ? AND period_start < ?
            ORDER BY source""", [INCIDENTS, level, codes, wanted, first, end]).fetchall():
        rows.setdefault((gm, ptype, start), {}).setdefault(type_code, (int(n), bool(prov), source))

    def imported(gm: str, ptype: str, start: date):
        found = rows.get((gm, ptype, start))
        if not found:
            return None
        if TOTAL_CODE in found:
            return found[TOTAL_CODE]
        if all(t in found for t in members):
            picked = [found[t] for t in members]
            return (sum(n for n, _, _ in picked), any(pr for _, pr, _ in picked),
                    " + ".join(sorted({s for _, _, s in picked})))
        return None

    for gm, p in missing:
        for ptype, starts in _grains(p):
            parts = [imported(gm, ptype, s) for s in starts]
            if all(parts):
                sources = sorted({s for _, _, s in parts})
                out[(gm, p)] = Cell(sum(n for n, _, _ in parts), " + ".join(sources),
                                    provisional=any(pr for _, pr, _ in parts),
                                    derived="" if len(parts) == 1 else
                                    {"Q": "som van kwartalen", "M": "som van maanden"}[ptype])
                break


def area_cells(con, *, scope: Scope, level: str, codes, indicator_members, period: Period
               ) -> dict[str, Cell]:
    """{area: Cell} of ``period`` for the areas ``codes`` of ``level`` (wijk, buurt, PC4) in
    scope, from the imported counts at that level (e.g. a CBS buurt table): the sum of
    ``indicator_members`` (a release's members); "geen gegevens" where no imported count
    covers the period. Areas outside the scope are left out."""
    if scope.empty:
        raise OutOfScope("empty scope")
    where, params = area_filter(scope, "gm_code")
    inside = [r[0] for r in con.execute(
        f"SELECT code FROM areas WHERE level = ? AND code IN (SELECT unnest(?::VARCHAR[]))"
        f" AND {where}", [level, list(codes), *params]).fetchall()]
    out: dict[tuple[str, Period], Cell] = {}
    if inside and indicator_members:
        _own_grain(con, level, inside, list(indicator_members), [(c, period) for c in inside],
                   period.start, period.end, out)
    reason = f"{NO_DATA} voor {period_label(period)}"
    return {code: out.get((code, period), Cell(None, reason=reason)) for code in inside}


def total(cells) -> Cell:
    """The sum of ``cells`` (several gemeenten or periods): no value when any has none."""
    cells = list(cells)
    if not cells:
        return Cell(None, reason=NO_DATA)
    gaps = [c for c in cells if c.value is None]
    if gaps:
        return Cell(None, reason=gaps[0].reason)
    sources = sorted({c.source for c in cells if c.source})
    return Cell(sum(c.value for c in cells), " + ".join(sources),
                provisional=any(c.provisional for c in cells),
                derived=next((c.derived for c in cells if c.derived), ""))


def newest_month(con, *, scope: Scope) -> date | None:
    """The newest month of monthly gemeente data in scope (incidents or imported, usually
    still running), else the newest month of the PC4 file; None without monthly data. The last
    12 complete months end before it."""
    if scope.empty:
        return None
    newest = con.execute(
        "SELECT max(period_start) FROM counts WHERE level = 'gemeente' AND period_type = 'M'"
        " AND area_code IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(scope.gemeenten)]).fetchall()[0][0]
    if newest is None:
        months = _pc4_months(con)
        newest = add_months(months[-1], 1) if months else None
    return newest


def covered_years(con, *, scope: Scope) -> list[int]:
    """Calendar years for which some source has gemeente figures in scope (whole years of
    incidents, yearly or finer imported gemeente rows, the PC4 file's complete months), newest
    first. What a year view can offer; which indicator a year covers is for
    :func:`gemeente_counts` to say."""
    if scope.empty:
        return []
    codes = sorted(scope.gemeenten)
    years: set[int] = set()
    span = con.execute(
        "SELECT min(period_start), max(period_start) FROM counts"
        " WHERE source = ? AND level = 'gemeente' AND period_type = 'M'"
        " AND area_code IN (SELECT unnest(?::VARCHAR[]))", [INCIDENTS, codes]).fetchall()[0]
    if span[0] is not None:
        # whole calendar years before the running month
        years.update(y for y in range(span[0].year, span[1].year)
                     if date(y, 1, 1) >= span[0])
    years.update(r[0] for r in con.execute("""
        SELECT DISTINCT year(period_start) FROM counts
        WHERE source <> ? AND level = 'gemeente'
          AND area_code IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY year(period_start), period_type
        HAVING period_type = 'Y' OR (period_type = 'Q' AND count(DISTINCT period_start) = 4)
            OR (period_type = 'M' AND count(DISTINCT period_start) = 12)""",
        [INCIDENTS, codes]).fetchall())
    months = _pc4_months(con)
    by_year: dict[int, int] = {}
    for m in months:
        by_year[m.year] = by_year.get(m.year, 0) + 1
    years.update(y for y, n in by_year.items() if n == 12)
    return sorted(years, reverse=True)
