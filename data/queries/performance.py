"""Police performance (politieprestaties) and the public CBS gemeente totals.

CBS/Politie table 83648NED publishes per gemeente and year the registered crimes, the cleared
crimes (opgehelderde misdrijven) and the registrations of suspects. The counts importer puts the
registered crimes in ``counts`` and the other measures in ``measure_counts``, every row with the
file it came from (``source``; data/importers/cbs.py). This module reads them back:

* :func:`clearance` — registered and cleared crimes and the clearance rate (cleared /
  registered of the same area, year, type and source) per year, for gemeenten in scope, with
  the national figure (``NL00``, a public CBS figure) beside it;
* :func:`national_comparison` — a gemeente's registered crimes per 1,000 inhabitants per year
  against the unweighted average of the other gemeenten of its size band in the whole country
  and against the country as a whole (all gemeenten with figures together). These use the
  *public* figures only: yearly gemeente totals imported from a CBS download (TypedDataSet or
  StatLine CSV) and the population of that same year, for every gemeente, whatever the user's
  scope: CBS publishes them per gemeente, so they reveal nothing that is not public.

A year without a figure is ``None`` ("geen gegevens"), never 0. When one file of the same area
and year was imported more than once under different names, the newest import counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from data.catalog import TOTAL_CODE, indicator_title
from data.queries.trends import _population_band
from data.scope import OutOfScope, Scope, ensure_gemeente

#: The national figure of the CBS tables (CBS's NL01, stored as NL00).
LAND = "NL00"
#: The CBS/Politie table with cleared crimes per gemeente.
CLEARANCE_TABLE = "83648NED"
#: The indicator the public gemeente totals (type 0.0.0, Totaal misdrijven) stand for.
PUBLIC_INDICATOR = "alle_misdrijven"
#: What the page says when a figure is missing.
NO_DATA = "geen gegevens"

#: The newest import of every counts file (``source`` is the file's name), and whether it was a
#: CBS download (TypedDataSet or StatLine CSV, as the importer's summary records).
_SOURCES = """
    SELECT source, imported_at, cbs FROM (
        SELECT parse_filename(file) AS source, imported_at,
               regexp_matches(coalesce(detail, ''), 'layout (typeddataset|statline)\\b') AS cbs,
               row_number() OVER (PARTITION BY parse_filename(file)
                                  ORDER BY imported_at DESC) AS n
        FROM imports WHERE kind = 'counts')
    WHERE n = 1"""
#: One row per area and year when several files hold it: the newest import.
_NEWEST = ("QUALIFY row_number() OVER (PARTITION BY {area}, {start} "
           "ORDER BY s.imported_at DESC NULLS LAST, {source} DESC) = 1")


def _table_label(sources, default: str) -> str:
    """'CBS/Politie 83648NED' from the CBS table numbers in the file names, else ``default``."""
    tables = sorted({m.upper() for s in sources for m in re.findall(r"\d{5}ned", s, re.I)})
    return "CBS/Politie " + (", ".join(tables) if tables else default)


# -- clearance -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClearanceYear:
    """One year. ``None`` is "geen gegevens" (never 0): for the gemeenten when one of them has
    no registered and cleared figure of the same file that year (``missing`` names them)."""
    year: int
    registered: int | None
    cleared: int | None
    #: cleared / registered in percent (None without figures or with 0 registered).
    rate: float | None
    provisional: bool
    missing: tuple[str, ...]
    national_registered: int | None
    national_cleared: int | None
    national_rate: float | None
    national_provisional: bool = False


@dataclass(frozen=True)
class Clearance:
    gemeenten: tuple[str, ...]
    #: Every year from the first to the last year the imported tables hold cleared crimes for
    #: (any area), and up to ``through`` when asked; oldest first.
    years: tuple[ClearanceYear, ...]
    #: Per gemeente: {year: (registered, cleared, rate)} of the years with a figure.
    by_gemeente: dict
    source: str = "CBS/Politie " + CLEARANCE_TABLE

    @property
    def available(self) -> bool:
        """Whether the database holds cleared crimes at all (the demo does not)."""
        return bool(self.years)

    def latest(self) -> ClearanceYear | None:
        """The newest year with a figure for the gemeenten."""
        return next((y for y in reversed(self.years) if y.rate is not None
                     or y.cleared is not None), None)


def _rate(cleared, registered) -> float | None:
    if cleared is None or not registered:
        return None
    return cleared * 100.0 / registered


def clearance(con, *, scope: Scope, gemeenten, through: int | None = None) -> Clearance:
    """Registered and cleared crimes (all misdrijven) and the clearance rate per year of
    ``gemeenten`` (every one in scope, else OutOfScope) together, and of the whole country.

    Cleared and registered come from the same file, area, year and type. Years run from the
    first to the last year with cleared crimes in the database (and on to ``through``); a year
    in which a gemeente has no figure is ``None`` for the gemeenten together."""
    codes = tuple(sorted({c for c in gemeenten or () if c}))
    if scope.empty or not codes:
        raise OutOfScope("empty scope")
    for code in codes:
        ensure_gemeente(scope, code)
    areas = [*codes, LAND]
    rows = con.execute(f"""
        WITH s AS ({_SOURCES})
        SELECT r.area_code, year(r.period_start), r.count, m.count,
               r.provisional OR m.provisional, r.source
        FROM counts r
        JOIN measure_counts m ON m.area_code = r.area_code AND m.period_type = 'Y'
             AND m.period_start = r.period_start AND m.type_code = r.type_code
             AND m.source = r.source AND m.measure = 'cleared'
        LEFT JOIN s ON s.source = r.source
        WHERE r.period_type = 'Y' AND r.type_code = ? AND r.attempt IS NULL
          AND r.area_code IN (SELECT unnest(?::VARCHAR[]))
        {_NEWEST.format(area='r.area_code', start='r.period_start', source='r.source')}
        """, [TOTAL_CODE, areas]).fetchall()
    first, last = con.execute("""
        SELECT min(year(period_start)), max(year(period_start)) FROM measure_counts
        WHERE measure = 'cleared' AND period_type = 'Y' AND type_code = ?""",
        [TOTAL_CODE]).fetchall()[0]
    figures = {(area, year): (reg, clr, bool(prov)) for area, year, reg, clr, prov, _ in rows}
    source = _table_label({r[5] for r in rows}, CLEARANCE_TABLE)
    if first is None:
        return Clearance(codes, (), {}, source)
    last = max(last, through or last)
    years = []
    for year in range(first, last + 1):
        have = [figures.get((c, year)) for c in codes]
        missing = tuple(c for c, f in zip(codes, have) if f is None)
        registered = None if missing else sum(f[0] for f in have)
        cleared = None if missing else sum(f[1] for f in have)
        land = figures.get((LAND, year))
        years.append(ClearanceYear(
            year, registered, cleared, _rate(cleared, registered),
            not missing and any(f[2] for f in have), missing,
            land[0] if land else None, land[1] if land else None,
            _rate(land[1], land[0]) if land else None, bool(land and land[2])))
    by_gemeente = {c: {y: (f[0], f[1], _rate(f[1], f[0]))
                       for (a, y), f in sorted(figures.items()) if a == c} for c in codes}
    return Clearance(codes, tuple(years), by_gemeente, source)


# -- national comparison by size band ------------------------------------------------------------


@dataclass(frozen=True)
class BandYear:
    """One year of the public comparison; rates are registered crimes per 1,000 inhabitants
    of that year. ``None`` where a figure is missing, with ``reason``."""
    year: int
    count: int | None
    inhabitants: int | None
    rate: float | None
    band: str | None
    #: Unweighted mean rate of the *other* gemeenten of the band with figures that year, and
    #: how many they are.
    band_rate: float | None
    band_size: int
    #: All gemeenten with figures that year together, and how many they are.
    national_rate: float | None
    national_size: int
    provisional: bool
    reason: str = ""


@dataclass(frozen=True)
class NationalComparison:
    gemeente: str
    indicator: str
    #: Every year with public gemeente totals (any gemeente), oldest first.
    years: tuple[BandYear, ...]
    source: str = "CBS/Politie open data"
    #: Why there is no comparison at all (no public figures, another indicator).
    note: str = ""

    @property
    def covered(self) -> tuple[BandYear, ...]:
        """The years with a rate for the gemeente."""
        return tuple(y for y in self.years if y.rate is not None)

    @property
    def uncovered(self) -> tuple[BandYear, ...]:
        return tuple(y for y in self.years if y.rate is None)


#: Yearly gemeente totals of all misdrijven from a CBS download, with the population of the same
#: year: public figures, read for every gemeente.
_PUBLIC_TOTALS = f"""
    WITH s AS ({_SOURCES}),
    t AS (
        SELECT c.area_code, year(c.period_start) AS year, c.count, c.provisional, c.source
        FROM counts c JOIN s ON s.source = c.source AND s.cbs
        WHERE c.level = 'gemeente' AND c.period_type = 'Y' AND c.type_code = ?
          AND c.attempt IS NULL
        {_NEWEST.format(area='c.area_code', start='c.period_start', source='c.source')})
    SELECT t.area_code, t.year, t.count, t.provisional, p.population, t.source
    FROM t LEFT JOIN population p ON p.code = t.area_code AND p.year = t.year
    ORDER BY t.year, t.area_code"""


def national_comparison(con, *, scope: Scope, gemeente: str,
                        indicator: str = PUBLIC_INDICATOR) -> NationalComparison:
    """``gemeente`` (in scope, else OutOfScope) per 1,000 inhabitants per year, beside the
    average of the other gemeenten in its size band (``trends.BANDS``, by that year's
    population) and the whole country, from the public CBS gemeente totals only.

    The public totals are all misdrijven together: for another indicator there is no
    comparison (``note`` says so). A rate needs the population of the same year; a year with
    totals but without it has ``rate`` None and a ``reason``."""
    ensure_gemeente(scope, gemeente)
    rows = con.execute(_PUBLIC_TOTALS, [TOTAL_CODE]).fetchall()
    source = _table_label({r[5] for r in rows}, "open data")
    if not rows:
        return NationalComparison(gemeente, indicator, (), source, note=(
            "Er zijn geen openbare CBS-cijfers per gemeente geladen: een landelijke "
            "vergelijking is niet mogelijk."))
    if indicator != PUBLIC_INDICATOR:
        return NationalComparison(gemeente, indicator, (), source, note=(
            f"De openbare CBS-cijfers per gemeente gaan over alle misdrijven samen; voor "
            f"{indicator_title(con, indicator)} is geen landelijke vergelijking mogelijk. "
            "Kies de indicator Alle misdrijven."))
    by_year: dict[int, dict[str, tuple[int, bool, int | None]]] = {}
    for code, year, count, provisional, population, _ in rows:
        by_year.setdefault(int(year), {})[code] = (int(count), bool(provisional),
                                                   None if population is None else
                                                   int(population))
    years = []
    for year, figures in sorted(by_year.items()):
        rated = {c: (n * 1000.0 / p, p) for c, (n, _, p) in figures.items() if p}
        national = (sum(figures[c][0] for c in rated) * 1000.0
                    / sum(p for _, p in rated.values())) if rated else None
        own = figures.get(gemeente)
        count, provisional, inhabitants = own if own else (None, False, None)
        band = _population_band(inhabitants)
        peers = [r for c, (r, p) in rated.items()
                 if c != gemeente and band is not None and _population_band(p) == band]
        reason = ("" if own and inhabitants else
                  f"geen cijfers van deze gemeente voor {year}" if not own else
                  f"geen inwonertal van {year}")
        years.append(BandYear(
            year, count, inhabitants, rated[gemeente][0] if gemeente in rated else None, band,
            sum(peers) / len(peers) if peers else None, len(peers), national, len(rated),
            provisional, reason))
    return NationalComparison(gemeente, indicator, tuple(years), source)
