"""Every figure a scope (a detail-1 mayor of one gemeente) can obtain, collected by calling the
real query functions and the API, each turned into a :class:`Figure`: a count of the incidents
in an area, a span of days, a set of types and an attempt class, as the response states it.

The lattice (:class:`Lattice`) is a window of whole months ending with the running month: its
months, calendar quarters, calendar years and the year to date, rolling 12-month windows, the
API's '12m' and complete years, ISO weeks at gemeente level, and the same periods a year
earlier where they lie inside the window. :func:`requests` lists the calls, :func:`collect`
makes them: a refusal (NotPublished, OutOfScope, HTTP 403) adds no figure, and neither does a
value shown as unknown (None/NA).

"What the response states" is taken from the response where it carries it (the API's
``release.types``, a series' own periods and 't/m' ends) and otherwise from the functions the
views use to state it (``disclosure.release`` for the members, ``disclosure.restricted`` for
"below the gemeente a restricted scope counts ended months only"). The solver checks every
figure against the incidents table, so a wrong statement fails the test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from data import disclosure
from data.periods import Period, add_months, month_range, months_before
from data.queries import burglary, coverage, overview, trends
from data.queries import products as productq
from data.queries.areas import incident_counts_by_area
from data.scope import OutOfScope, Scope

LEVELS_BELOW = ("wijk", "buurt", "pc4")
MONTH_GRAINS = {"maand": 1, "kwartaal": 3, "jaar": 12}


@dataclass(frozen=True)
class Lattice:
    """A window of ``months`` whole months ending with the running month ``running``."""
    gemeente: str
    running: date
    months: int

    @property
    def start(self) -> date:
        return add_months(self.running, 1 - self.months)

    @property
    def end(self) -> date:
        return add_months(self.running, 1)

    def month_list(self) -> list[date]:
        return month_range(self.start, self.end)

    def periods(self) -> list[tuple[str, Period]]:
        """(kind, period) of every period of the lattice that lies inside the window; a year
        reaching past the data end counts as inside (nothing is registered after it)."""
        out = []
        for m in self.month_list():
            out.append(("running" if m == self.running else "month", Period(m, add_months(m, 1))))
        for m in self.month_list():
            if m.month % 3 == 1 and m >= self.start:
                out.append(("quarter", Period(m, add_months(m, 3))))
        for year in sorted({m.year for m in self.month_list()}):
            if date(year, 1, 1) >= self.start:
                out.append(("year", Period(date(year, 1, 1), date(year + 1, 1, 1))))
                if year == self.running.year:
                    out.append(("ytd", Period(date(year, 1, 1), self.end)))
        for end in month_range(add_months(self.start, 12), add_months(self.end, 1)):
            out.append(("rolling", Period(add_months(end, -12), end)))
        return out


@dataclass(frozen=True)
class Request:
    """One call: ``view`` (function or endpoint), the level of its figures, the indicator, and
    the period (kind, start, end) or grain."""
    view: str
    level: str
    indicator: str = ""
    kind: str = ""
    start: date | None = None
    end: date | None = None
    grain: str = ""
    areas: tuple[str, ...] = ()

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)

    @property
    def below(self) -> bool:
        return self.level in LEVELS_BELOW

    def __str__(self) -> str:
        parts = [self.view, self.level, self.indicator, self.kind or self.grain]
        if self.start:
            parts.append(f"{self.start}..{self.end}")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Figure:
    """``value`` = registrations in ``area`` (a code of ``level``) with occurrence date in
    [start, end), type in ``types`` and attempt ``attempt`` (None: either)."""
    value: int
    level: str
    area: str
    start: date
    end: date
    types: frozenset
    attempt: bool | None
    request: Request
    field: str = "count"

    def __str__(self) -> str:
        att = {None: "", True: " poging", False: " voltooid"}[self.attempt]
        types = ",".join(sorted(self.types)) if len(self.types) <= 6 else f"{len(self.types)} types"
        return (f"{self.level} {self.area} {self.start}..{self.end} [{types}]{att} = {self.value}"
                f" ({self.field} of {self.request})")


@dataclass
class Plan:
    """What to request.

    ``incident_counts_by_area`` (map, API, products) counts *bundles*: it reads the bundle's
    members from ``type_groups``, which holds bundles only, so a single type code gives 0
    everywhere (no view sends one); single types below the gemeente come from
    ``trends.area_series`` (the trends page), at gemeente level from the trend series and the
    products' per-type tables. ``bundle_kinds``: per level the period kinds asked for bundles;
    ``gemeente_kinds``: kinds asked at gemeente level besides the trend series."""
    bundle_kinds: dict = field(default_factory=lambda: {
        "buurt": "all", "wijk": "all", "pc4": "all"})
    gemeente_kinds: tuple = ("running", "rolling", "ytd", "year", "quarter")
    #: trend series: grains for bundles and for single types
    trend_bundle_grains: tuple = trends.GRAINS
    trend_single_grains: tuple = ("week", "maand")
    #: area_series: single types per month for every wijk and buurt (None: all chunks of
    #: MAX_AREAS areas), and more grains for bundles and singles on the first chunk
    single_chunks: int | None = None
    single_types: tuple | None = None  # None: every type
    first_chunk_grains: tuple = ("week", "maand", "kwartaal", "jaar")
    first_chunk_singles: tuple = ("1.1.1", "1.4.2", "3.9.1")
    products: bool = True
    burglary: bool = True
    api: bool = True


def indicators(con) -> tuple[list[str], list[str]]:
    """(bundles, single types) of the catalogue."""
    bundles = [r[0] for r in con.execute(
        "SELECT DISTINCT group_code FROM type_groups ORDER BY 1").fetchall()]
    singles = [r[0] for r in con.execute(
        "SELECT code FROM crime_types WHERE kind <> 'totaal' ORDER BY sort_key").fetchall()]
    return bundles, singles


def _wanted(kinds, kind: str) -> bool:
    return kinds == "all" or kind in (kinds or ())


def requests(con, lattice: Lattice, plan: Plan) -> list[Request]:
    bundles, singles = indicators(con)
    out: list[Request] = []
    periods = lattice.periods()
    for level in LEVELS_BELOW:
        for indicator in bundles:
            for kind, period in periods:
                if _wanted(plan.bundle_kinds.get(level), kind):
                    out.append(Request("counts", level, indicator, kind, period.start, period.end))
    for indicator in bundles:
        for kind, period in periods:
            if kind in plan.gemeente_kinds:
                out.append(Request("counts", "gemeente", indicator, kind, period.start,
                                   period.end))
    for indicator in bundles + singles:
        for grain in (plan.trend_bundle_grains if indicator in bundles
                      else plan.trend_single_grains):
            out.append(Request("trend", "gemeente", indicator, grain=grain))
    areas = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level IN ('wijk', 'buurt') AND gm_code = ? ORDER BY code",
        [lattice.gemeente]).fetchall()]
    groups = [tuple(areas[i:i + trends.MAX_AREAS])
              for i in range(0, len(areas), trends.MAX_AREAS)]
    for indicator in plan.single_types or singles:
        for group in groups[:plan.single_chunks]:
            out.append(Request("area_series", "buurt", indicator, grain="maand", areas=group))
    for indicator in bundles + list(plan.first_chunk_singles):
        for grain in plan.first_chunk_grains:
            if groups and not (grain == "maand" and indicator in singles):
                out.append(Request("area_series", "buurt", indicator, grain=grain,
                                   areas=groups[0]))
    if plan.burglary:
        out.append(Request("attempts", "gemeente", burglary.TYPE, "window", lattice.start,
                           lattice.end))
        for kind, period in periods:
            if kind in ("rolling", "quarter"):
                out.append(Request("wijk_changes", "wijk", burglary.GROUP, kind, period.start,
                                   period.end))
    if plan.products:
        for m in lattice.month_list():
            out.append(Request("type_month_counts", "gemeente", "", "month", m, add_months(m, 1)))
        out.append(Request("bundle_month_counts", "gemeente", "", "window", lattice.start,
                           lattice.end))
        for kind, period in periods:
            if kind in ("quarter", "running", "ytd"):
                out.append(Request("gemeente_type_counts", "gemeente", "", kind, period.start,
                                   period.end))
        twelve = months_before(lattice.running, 12)
        out.append(Request("key_figures", "gemeente", "", "12m", twelve.start, twelve.end))
    if plan.api:
        keys = ["12m"] + [str(y) for y in sorted({m.year for m in lattice.month_list()})]
        for level in ("gemeente", "wijk", "buurt", "pc4"):
            for indicator in bundles:
                for key in keys:
                    out.append(Request("api", level, indicator, key))
    return out


@dataclass
class Collection:
    figures: list[Figure]
    answered: list[Request]
    refused: list[Request]
    seconds: float = 0.0


def stated_end(scope: Scope, level: str, end: date, running: date) -> date:
    """The end of a figure's span as the model states it: below the gemeente a restricted
    scope counts whole ended months only (``disclosure.rows``)."""
    return min(end, running) if disclosure.restricted(scope, level) else end


_RELEASES: dict = {}


def _members(con, scope, level, indicator) -> frozenset:
    """The members a figure of ``indicator`` at ``level`` counts for ``scope``, as
    ``disclosure.release`` states them (remembered per scope, level, indicator and switch)."""
    key = (scope, level, indicator, disclosure.PROTECTION, id(con))
    if key not in _RELEASES:
        _RELEASES[key] = frozenset(disclosure.release(con, scope=scope, level=level,
                                                      indicator=indicator).members)
    return _RELEASES[key]


def _int(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return int(value)


def collect(con, scope: Scope, lattice: Lattice, todo: list[Request], api=None) -> Collection:
    """Make every request in ``todo``; ``api(params) -> (status, json)`` calls /api/v1/counts."""
    import time

    started = time.perf_counter()
    out = Collection([], [], [])
    for request in todo:
        try:
            figures = _ONE[request.view](con, scope, lattice, request, api)
        except (OutOfScope, disclosure.NotPublished):
            out.refused.append(request)
            continue
        if figures is None:
            out.refused.append(request)
            continue
        out.answered.append(request)
        out.figures.extend(figures)
    out.seconds = time.perf_counter() - started
    return out


def _counts(con, scope, lattice, r: Request, api):
    frame = incident_counts_by_area(con, scope=scope, level=r.level, period=r.period,
                                    group=r.indicator, within=lattice.gemeente)
    members = _members(con, scope, r.level, r.indicator)
    end = stated_end(scope, r.level, r.end, lattice.running)
    return [Figure(int(row.count), r.level, row.code, r.start, end, members, None, r)
            for row in frame.itertuples() if _int(row.count) is not None]


def _trend(con, scope, lattice, r: Request, api):
    t = trends.trend(con, scope=scope, gemeenten=[lattice.gemeente], indicator=r.indicator,
                     grain=r.grain)
    members = _members(con, scope, "gemeente", r.indicator)
    gm = lattice.gemeente
    grain = t.grain  # as answered: a detail-1 week request is answered per month
    out = []

    def add(value, start, end, field):
        if _int(value) is not None:
            out.append(Figure(int(value), "gemeente", gm, start, end, members, None, r, field))

    for row in t.series.itertuples():
        start = row.start
        if grain == "week":
            end = start + timedelta(days=7)
            add(row.count, start, end, "count")
            add(row.previous, start - timedelta(days=364), end - timedelta(days=364),
                "previous")
            if row.moving_avg is not None and not pd.isna(row.moving_avg):
                add(_whole(row.moving_avg * 52), end - timedelta(days=7 * 52), end,
                    "moving_avg x 52")
            continue
        end = min(add_months(start, MONTH_GRAINS[grain]), lattice.running)
        add(row.count, start, end, "count")
        add(row.previous, add_months(start, -12), add_months(end, -12), "previous")
        if grain != "jaar" and row.moving_avg is not None and not pd.isna(row.moving_avg):
            add(_whole(row.moving_avg * trends.PER_YEAR[grain]), add_months(end, -12), end,
                f"moving_avg x {trends.PER_YEAR[grain]}")
    if t.ytd_year is not None and grain == "maand":  # the same table for every grain
        for row in t.ytd.itertuples():
            year = t.ytd_year
            add(row.current, date(year, 1, 1), add_months(date(year, row.month, 1), 1), "ytd")
            add(row.previous, date(year - 1, 1, 1), add_months(date(year - 1, row.month, 1), 1),
                "ytd previous")
    return out


def _whole(value: float) -> int:
    assert abs(value - round(value)) < 1e-6, value
    return int(round(value))


def _area_series(con, scope, lattice, r: Request, api):
    s = trends.area_series(con, scope=scope, areas=list(r.areas), indicator=r.indicator,
                           grain=r.grain)
    members = _members(con, scope, "buurt", r.indicator)
    out = []
    for row in s.series.itertuples():
        if s.grain == "week":
            end = row.start + timedelta(days=7)
        else:
            end = min(add_months(row.start, MONTH_GRAINS[s.grain]), lattice.running)
        end = stated_end(scope, row.level, end, lattice.running)
        if _int(row.count) is not None:
            out.append(Figure(int(row.count), row.level, row.code, row.start, end, members,
                              None, r, f"area_series {s.grain}"))
    return out


def _attempts(con, scope, lattice, r: Request, api):
    frame = burglary.attempts_by_month(con, scope=scope, gemeenten=[lattice.gemeente],
                                       start=r.start, end=r.end)
    out = []
    types = frozenset({burglary.TYPE})
    for row in frame.itertuples():
        end = add_months(row.month, 1)
        for column, attempt in (("totaal", None), ("voltooid", False), ("poging", True)):
            value = _int(getattr(row, column))
            if value is not None:
                out.append(Figure(value, "gemeente", lattice.gemeente, row.month, end, types,
                                  attempt, r, column))
        assert _int(row.onbekend) in (None, 0)
    return out


def _wijk_changes(con, scope, lattice, r: Request, api):
    frame = burglary.wijk_changes(con, scope=scope, gemeente=lattice.gemeente, period=r.period)
    members = _members(con, scope, "wijk", burglary.GROUP)
    before = r.period.shifted(-12)
    out = []
    for row in frame.itertuples():
        for value, period, name in ((row.count, r.period, "count"),
                                    (row.previous, before, "previous")):
            if _int(value) is not None:
                out.append(Figure(int(value), "wijk", row.code, period.start,
                                  stated_end(scope, "wijk", period.end, lattice.running),
                                  members, None, r, name))
    return out


def _type_month_counts(con, scope, lattice, r: Request, api):
    """The stuurgegevens' per-type table: the month, a year earlier, year to date and a year
    earlier, per single type (data.queries.coverage, as data/products/monthly.py reads it)."""
    m = r.start
    _, singles = indicators(con)
    spans = {"month": (m, add_months(m, 1)), "month_ly": (add_months(m, -12), add_months(m, -11)),
             "ytd": (date(m.year, 1, 1), add_months(m, 1)),
             "ytd_ly": (date(m.year - 1, 1, 1), add_months(m, -11))}
    periods = {column: Period(start, end) for column, (start, end) in spans.items()}
    found = coverage.indicator_counts(con, scope=scope, gemeenten=[lattice.gemeente],
                                      indicators=singles, periods=list(periods.values()))
    out = []
    for code in singles:
        for column, period in periods.items():
            cell = found[code][(lattice.gemeente, period)]
            if cell.value is not None:
                out.append(Figure(cell.value, "gemeente", lattice.gemeente, period.start,
                                  period.end, frozenset({code}), None, r, column))
    return out


def _bundle_month_counts(con, scope, lattice, r: Request, api):
    """Every bundle per month of the window (the tabellenboek's month table)."""
    bundles, _ = indicators(con)
    months = [Period(m, add_months(m, 1)) for m in month_range(r.start, r.end)]
    found = coverage.totals(con, scope=scope, gemeenten=[lattice.gemeente], indicators=bundles,
                            periods=months)
    out = []
    for group in bundles:
        for period in months:
            cell = found[group][period]
            if cell.value is not None:
                out.append(Figure(cell.value, "gemeente", lattice.gemeente, period.start,
                                  period.end, _members(con, scope, "gemeente", group), None, r,
                                  group))
    return out


def _gemeente_type_counts(con, scope, lattice, r: Request, api):
    _, singles = indicators(con)
    frame = productq.gemeente_type_counts(con, scope=scope, gemeenten=[lattice.gemeente],
                                          types=singles, start=r.start, end=r.end)
    found = {row.type_code: int(row.count) for row in frame.itertuples()}
    # "only non-zero combinations": a type without a row had none
    return [Figure(found.get(code, 0), "gemeente", lattice.gemeente, r.start, r.end,
                   frozenset({code}), None, r) for code in singles]


def _key_figures(con, scope, lattice, r: Request, api):
    out = []
    for kf in overview.key_figures(con, scope=scope, period=r.period):
        members = _members(con, scope, "gemeente", kf.group)
        before = r.period.shifted(-12)
        if kf.current is not None:  # "geen gegevens" is no figure
            out.append(Figure(kf.current, "gemeente", lattice.gemeente, r.start, r.end, members,
                              None, r, kf.group))
        if kf.previous is not None:
            out.append(Figure(kf.previous, "gemeente", lattice.gemeente, before.start,
                              before.end, members, None, r, f"{kf.group} previous"))
    return out


def _api(con, scope, lattice, r: Request, api):
    status, body = api({"level": r.level, "type": r.indicator, "period": r.kind,
                        "area": lattice.gemeente})
    if status == 403:
        return None
    if status == 404 or status == 400 and "period" in str(body):
        return None  # no such period in this database
    assert status == 200, (status, body)
    period = Period(date.fromisoformat(body["period"]["start"]),
                    date.fromisoformat(body["period"]["end"]))
    before = period.shifted(-12)
    members = frozenset(body["release"]["types"])
    full = _members(con, scope, "gemeente", r.indicator)  # a gemeente total counts all
    out = []
    for row in body["rows"]:
        for value, span, name in ((row["count"], period, "count"),
                                  (row["previous"], before, "previous")):
            if value is not None:
                out.append(Figure(int(value), r.level, row["code"], span.start,
                                  stated_end(scope, r.level, span.end, lattice.running),
                                  members, None, r, name))
        if row["parent_total"] is not None:
            if r.level == "buurt":
                parent = ("wijk", row["parent_code"], members)
            else:  # wijk, pc4: the gemeente; gemeente: the gemeenten in scope of its eenheid
                parent = ("gemeente", lattice.gemeente, full)
            out.append(Figure(int(row["parent_total"]), parent[0], parent[1], period.start,
                              stated_end(scope, parent[0], period.end, lattice.running),
                              parent[2], None, r, "parent_total"))
    return out


_ONE = {"counts": _counts, "trend": _trend, "area_series": _area_series,
        "attempts": _attempts, "wijk_changes": _wijk_changes,
        "type_month_counts": _type_month_counts, "bundle_month_counts": _bundle_month_counts,
        "gemeente_type_counts": _gemeente_type_counts, "key_figures": _key_figures,
        "api": _api}
