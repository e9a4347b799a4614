"""Queries behind the Kaart page: area geometry, map values, bundles, periods and incident
points (detail level 3 only).

Geometry and values travel separately: :func:`geometry` returns a ready GeoJSON
FeatureCollection string (built in SQL from ``boundary_shapes``, never parsed in Python) for the
areas of one level in scope; :func:`map_values` returns one row per area with the measure shown
on the map, built on :func:`data.queries.areas.incident_counts_by_area` so the disclosure model
(``data.disclosure``) decides what counts before any rate, change or rank is derived.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from data.periods import Period, months_before
from data.queries import coverage
from data.queries.areas import incident_counts_by_area, map_counts
from data.queries.overview import dataset_summary
from data.scope import OutOfScope, Scope, area_filter, ensure_detail, ensure_gemeente
from data.sql import per_connection

#: Levels the map can show, in drill-down order.
MAP_LEVELS = ("gemeente", "wijk", "buurt", "pc4", "pc6")
#: Every level the Kaart page shows: the regionale eenheid above the gemeente (its values are
#: sums of the gemeenten in scope; not offered by the API, whose levels are ``MAP_LEVELS``).
VIEW_LEVELS = ("eenheid", *MAP_LEVELS)
#: Levels below the gemeente that can be shown for a whole eenheid (``eenheid=``) or the whole
#: scope, without a gemeente (for detail level 3 only, see callbacks/kaart_state.py); they use
#: a coarser tier then. PC6 (some 450,000 areas) only ever per gemeente.
WIDE_LEVELS = ("wijk", "buurt", "pc4")
#: Level -> the level whose code may narrow it down to one parent area (besides a gemeente).
PARENT_LEVEL = {"buurt": "wijk", "pc6": "pc4"}
#: Level -> the level of its parent area in the map's panel (whose total it shows).
PARENT_LEVEL_OF = {"wijk": "gemeente", "pc4": "gemeente", "buurt": "wijk", "pc6": "pc4"}
MEASURES = ("count", "per_1000", "change")
#: The detail level a level needs (others: any scope). Detail 1 and 2 aggregate down to buurt
#: and PC4; a PC6 area holds a handful of addresses, as detailed as an address list (which
#: needs detail level 3 too, see data/queries/incidents.py).
LEVEL_DETAIL = {"pc6": 3}


def level_allowed(level: str, *, scope: Scope) -> bool:
    """Whether ``scope`` may see areas of ``level`` (see ``LEVEL_DETAIL``)."""
    return not scope.empty and scope.detail >= LEVEL_DETAIL.get(level, 1)


def _tier(scope: Scope, con, level: str, within: str | None = None) -> str:
    if level in ("gemeente", "eenheid") or (level in WIDE_LEVELS and within is None):
        where, params = area_filter(scope, "code")
        eenheden = con.execute(
            f"SELECT count(DISTINCT re_code) FROM areas WHERE level = 'gemeente' AND {where}",
            params).fetchall()[0][0]
        return "overview" if eenheden > 1 else "regional"
    return "regional" if level == "wijk" else "local"


def area(con, *, scope: Scope, code: str) -> dict:
    """Code, level, name and gemeente of one area in scope; OutOfScope for anything else
    (including unknown codes, so a probe cannot tell the two apart) and for an area of a level
    the scope may not see (a PC6 below detail level 3, ``LEVEL_DETAIL``): a PC6 code never
    becomes a map area, a breadcrumb or a link to its incidents for such a scope."""
    if not isinstance(code, str) or not code:
        raise OutOfScope(f"area {code!r} invalid")
    where, params = area_filter(scope, "g.code")
    rows = con.execute(  # an eenheid is in scope when one of its gemeenten is
        f"SELECT e.code, e.level, coalesce(e.name, e.code), NULL, e.parent_code FROM areas e"
        f" WHERE e.code = ? AND e.level = 'eenheid' AND EXISTS (SELECT 1 FROM areas g"
        f" WHERE g.level = 'gemeente' AND g.re_code = e.code AND {where})",
        [code, *params]).fetchall()
    if rows:
        code, level, name, gm_code, parent = rows[0]
        return {"code": code, "level": level, "name": name, "gm_code": gm_code,
                "parent": parent}
    where, params = area_filter(scope, "gm_code")
    rows = con.execute(
        f"SELECT code, level, coalesce(name, code), gm_code, parent_code FROM areas"
        f" WHERE code = ? AND level IN (SELECT unnest(?::VARCHAR[])) AND {where}",
        [code, list(MAP_LEVELS), *params]).fetchall()
    if not rows:
        raise OutOfScope(f"area {code} outside scope or unknown")
    code, level, name, gm_code, parent = rows[0]
    if not level_allowed(level, scope=scope):
        raise OutOfScope(f"area {code}: level {level} above detail {scope.detail}")
    return {"code": code, "level": level, "name": name, "gm_code": gm_code, "parent": parent}


def _check(scope: Scope, level: str, within: str | None) -> None:
    if level not in VIEW_LEVELS:
        raise ValueError(f"unknown map level {level!r}")
    ensure_detail(scope, LEVEL_DETAIL.get(level, 1))
    if within is not None:
        ensure_gemeente(scope, within)


def gemeente_total(con, *, scope: Scope, period: Period, group: str,
                   within: str | None = None, eenheid: str | None = None) -> int | None:
    """Registrations of bundle ``group`` in ``period`` in the gemeenten in scope (of
    ``eenheid``, or only ``within``) together: the total above a wide map's side panel.
    Gemeente totals are exact for every scope; None when a gemeente has no figure."""
    frame = incident_counts_by_area(con, scope=narrow(con, scope=scope, eenheid=eenheid),
                                    level="gemeente", period=period, group=group, within=within)
    if frame.empty or frame["count"].isna().any():
        return None
    return int(frame["count"].sum())


def narrow(con, *, scope: Scope, eenheid: str | None) -> Scope:
    """``scope`` limited to the gemeenten of regionale eenheid ``eenheid`` (unchanged for
    None). Only ever narrows; OutOfScope when none of the eenheid's gemeenten is in scope."""
    if eenheid is None:
        return scope
    where, params = area_filter(scope, "code")
    rows = con.execute(f"SELECT code FROM areas WHERE level = 'gemeente' AND re_code = ?"
                       f" AND {where}", [eenheid, *params]).fetchall()
    if not rows:
        raise OutOfScope(f"eenheid {eenheid!r} outside scope or unknown")
    return replace(scope, gemeenten=frozenset(r[0] for r in rows) & scope.gemeenten)


def geometry(con, *, scope: Scope, level: str, within: str | None = None,
             parent: str | None = None, eenheid: str | None = None) -> str:
    """GeoJSON FeatureCollection (a string): see :func:`geometry_features`."""
    return geometry_features(con, scope=scope, level=level, within=within, parent=parent,
                             eenheid=eenheid)[0]


def geometry_features(con, *, scope: Scope, level: str, within: str | None = None,
                      parent: str | None = None, eenheid: str | None = None) -> tuple[str, int]:
    """GeoJSON FeatureCollection (a string) and its number of features: the areas of ``level`` in scope, optionally
    inside gemeente ``within`` and under parent area ``parent`` (a wijk for buurten, a PC4 for
    PC6), or inside regionale eenheid ``eenheid``. Features have ``id`` = area code and
    properties ``code`` and ``name`` only. Shapes come from the latest vintage of the level, at
    the tier that suits it (a buurt layer without ``within``: the regional or overview tier)."""
    _check(scope, level, within)
    scope = narrow(con, scope=scope, eenheid=eenheid)
    tier = _tier(scope, con, level, within)
    if level == "eenheid":
        where, params = area_filter(scope, "g.code")
        selection = (f"SELECT a.code, a.name FROM areas a WHERE a.level = 'eenheid' AND a.code IN"
                     f" (SELECT g.re_code FROM areas g WHERE g.level = 'gemeente' AND {where})")
    else:
        where, params = area_filter(scope, "a.gm_code")
        selection = f"SELECT a.code, a.name FROM areas a WHERE a.level = ? AND {where}"
        params = [level, *params]
        if within is not None:
            selection += " AND a.gm_code = ?"
            params.append(within)
        if parent is not None:
            selection += " AND a.parent_code = ?"
            params.append(parent)
    if level in MEMO_LEVELS:
        # The areas' features of this version are kept per connection: the layer is then
        # the selection's codes joined in Python (a national buurt layer: 13,594 features,
        # 4 MB, that DuckDB concatenated in some 40 ms).
        features = _features(con, level, tier)
        codes = [r[0] for r in con.execute(
            f"SELECT code FROM ({selection}) ORDER BY code", params).fetchall()]
        found = [features[code] for code in codes if code in features]
        return ('{"type":"FeatureCollection","features":[' + ",".join(found) + "]}",
                len(found))
    text = con.execute(f"""
        WITH sel AS ({selection}),
        latest AS (SELECT max(vintage) AS v FROM boundary_shapes WHERE level = ?)
        SELECT '{{"type":"FeatureCollection","features":[' || coalesce(string_agg(
                   {_FEATURE_SQL.format(code="sel.code", name="sel.name")}, ',' ORDER BY sel.code), '')
               || ']}}', count(*)
        FROM sel
        JOIN boundary_shapes s ON s.code = sel.code AND s.level = ? AND s.tier = ?
             AND s.vintage = (SELECT v FROM latest)
        LEFT JOIN boundaries b ON b.code = s.code AND b.level = s.level AND b.vintage = s.vintage
        """, [*params, level, level, tier]).fetchall()
    return text[0][0], text[0][1]


#: Levels whose features are kept per connection (:func:`_features`); PC6 (some 450,000
#: areas nationally) is only ever drawn per gemeente and stays in SQL.
MEMO_LEVELS = ("eenheid", "gemeente", "wijk", "buurt", "pc4")
#: One GeoJSON feature (SQL): area ``code`` with the boundary file's name, else ``name``.
_FEATURE_SQL = ("""'{{"type":"Feature","id":' || to_json({code})"""
                """ || ',"properties":{{"code":' || to_json({code})"""
                """ || ',"name":' || to_json(coalesce(b.name, {name}, {code}))"""
                """ || '}},"geometry":' || s.geojson || '}}'""")


def _features(con, level: str, tier: str) -> dict[str, str]:
    """{area code: its GeoJSON feature (a string)} of every area of ``level`` with a shape in
    the level's latest boundary vintage at ``tier``: reference data of the version, read once
    per connection (``data.sql.per_connection``). Scope-free: callers pick the codes."""
    def compute() -> dict[str, str]:
        return dict(con.execute(f"""
            WITH latest AS (SELECT max(vintage) AS v FROM boundary_shapes WHERE level = ?)
            SELECT s.code, {_FEATURE_SQL.format(code="s.code", name="a.name")}
            FROM boundary_shapes s
            LEFT JOIN boundaries b ON b.code = s.code AND b.level = s.level
                 AND b.vintage = s.vintage
            LEFT JOIN (SELECT code, any_value(name) AS name FROM areas WHERE level = ?
                       GROUP BY code) a ON a.code = s.code
            WHERE s.level = ? AND s.tier = ? AND s.vintage = (SELECT v FROM latest)""",
                                [level, level, level, tier]).fetchall())
    return per_connection(con, ("map.features", level, tier), compute)


def shapes(con, *, scope: Scope, level: str, codes: list[str]) -> dict[str, str]:
    """The GeoJSON geometry (WGS84, a string as stored, never parsed) of each area of ``level``
    among ``codes`` that lies in scope: the latest vintage of the level at the finest stored
    tier ("local", simplified to about 8 m, ``data.schema.SHAPE_TIERS``). Codes outside the
    scope or without a shape are left out. For the API's GeoJSON answer."""
    _check(scope, level, None)
    if level == "eenheid":
        raise ValueError("shapes: the API has no eenheid level")
    where, params = area_filter(scope, "a.gm_code")
    rows = con.execute(f"""
        WITH latest AS (SELECT max(vintage) AS v FROM boundary_shapes WHERE level = ?)
        SELECT s.code, s.geojson FROM boundary_shapes s
        JOIN areas a ON a.code = s.code AND a.level = s.level
        WHERE s.level = ? AND s.tier = 'local' AND s.vintage = (SELECT v FROM latest)
          AND s.code IN (SELECT unnest(?::VARCHAR[])) AND {where}""",
                       [level, level, list(codes), *params]).fetchall()
    return dict(rows)


def shapeless(con, *, scope: Scope, level: str, codes: list[str]) -> list[str]:
    """The areas among ``codes`` (of ``level``, in scope) that the map cannot draw: no shape
    in the level's latest boundary vintage (e.g. buurten of a newer indeling than the
    boundary file). They keep their row in the panel, the CSV and the API."""
    _check(scope, level, None)
    if level == "eenheid" or not codes:
        return []
    where, params = area_filter(scope, "a.gm_code")
    return [r[0] for r in con.execute(f"""
        WITH latest AS (SELECT max(vintage) AS v FROM boundary_shapes WHERE level = ?)
        SELECT a.code FROM areas a
        WHERE a.level = ? AND a.code IN (SELECT unnest(?::VARCHAR[])) AND {where}
          AND NOT EXISTS (SELECT 1 FROM boundary_shapes s
                          WHERE s.code = a.code AND s.level = a.level AND s.tier = 'local'
                            AND s.vintage = (SELECT v FROM latest))
        ORDER BY a.code""", [level, level, list(codes), *params]).fetchall()]


def bundle_options(con, *, scope: Scope) -> list[tuple[str, str]]:
    """(group code, Dutch title) of every bundle, 'alle_misdrijven' first. Reference data: the
    scope only decides whether there is anything to choose at all."""
    if scope.empty:
        return []
    rows = con.execute("SELECT group_code, any_value(group_title) FROM type_groups"
                       " GROUP BY group_code ORDER BY group_code <> 'alle_misdrijven', 2").fetchall()
    return [(r[0], r[1]) for r in rows]


def period_options(con, *, scope: Scope) -> list[tuple[str, Period]]:
    """Selectable periods: '12m' (the last 12 complete months of monthly data) and every
    calendar year some source covers in scope (``data.queries.coverage``: whole years of
    incidents, CBS yearly or finer gemeente counts, the PC4 file), newest first. Which bundle a
    period covers is for the counts to say (no value, with the reason, never 0)."""
    newest = coverage.newest_month(con, scope=scope)
    options = [("12m", months_before(newest, 12))] if newest is not None else []
    options += [(str(year), Period(date(year, 1, 1), date(year + 1, 1, 1)))
                for year in coverage.covered_years(con, scope=scope)]
    return options


def pick_period(options: list[tuple[str, Period]], key: str | None
                ) -> tuple[str, Period] | None:
    """The option ``key`` among ``options`` (from :func:`period_options`), falling back to the
    first (the last 12 months); None when there are no options (no data)."""
    if not options:
        return None
    return next(((k, p) for k, p in options if k == key), options[0])


def _population(con, codes: list[str], year: int) -> dict[str, int]:
    return dict(con.execute("""
        SELECT code, arg_max(population, year) AS population FROM population
        WHERE code IN (SELECT unnest(?::VARCHAR[])) AND year <= ?
        GROUP BY code""", [codes, year]).fetchall())


def _eenheid_population(con, scope: Scope, year: int) -> dict[str, int]:
    """Inhabitants of the gemeenten in scope, summed per eenheid (as the counts are)."""
    where, params = area_filter(scope, "g.code")
    return dict(con.execute(f"""
        WITH p AS (
            SELECT code, arg_max(population, year) AS population FROM population
            WHERE year <= ? GROUP BY code)
        SELECT g.re_code AS code, sum(p.population)::BIGINT AS population
        FROM areas g JOIN p ON p.code = g.code
        WHERE g.level = 'gemeente' AND {where}
        GROUP BY g.re_code""", [year, *params]).fetchall())


def map_values(con, *, scope: Scope, level: str, period: Period, group: str, measure: str,
               within: str | None = None, parent: str | None = None,
               eenheid: str | None = None, lean: bool = False,
               explain: bool = False) -> pd.DataFrame:
    """One row per area of ``level`` in scope (inside gemeente ``within`` and parent area
    ``parent`` when given; inside regionale eenheid ``eenheid``) with the map measure. Level
    ``eenheid`` sums the gemeenten in scope per eenheid (counts and population):

    * ``count``: registrations of bundle ``group`` in ``period``;
    * ``per_1000``: per 1,000 inhabitants (population of the area in the period's last year, or
      the newest year before it); no population, no rate;
    * ``change``: percentage change against the same period a year earlier (``change`` holds
      the absolute difference); no comparison when either period is hidden, starts before the
      data or had no registrations.

    Columns: code, name, parent_code, count, previous, change, change_pct, population,
    per_1000, value (the chosen measure), rank (1 = highest value among the areas with the
    same parent), ranked (how many of them have a value) and parent_total (the parent area's
    count, counted as its children are; for gemeenten the total of the gemeenten in scope
    under the same eenheid), source (where the count comes from), reason (why there is none)
    and provisional (the count includes months in which late registrations can still follow,
    or figures the source marks provisional).

    ``lean=True`` (the Kaart page) leaves out what the chosen measure does not show: the year
    before (``previous``, ``change``, ``change_pct`` are <NA>; it doubles the months scanned)
    unless the measure is ``change``, the population (a query) unless it is ``per_1000``, and
    the parent totals of a buurt or PC6 layer without ``parent`` (whose panel total is the
    gemeente's). The API asks for everything. The count, the year before and the parent totals
    come from one pass over the data (:func:`data.queries.areas.map_counts`).

    ``explain=True`` (the API) makes ``reason`` say why any figure the frame holds is missing,
    not only the count (whose reason stays as it is): no comparison when the period a year
    earlier is not (wholly) covered or has no figure, no change in percent after 0
    registrations, no rate without a population (:func:`_explained`). No data is never 0: a
    row whose ``value`` (or count, previous, change, per_1000) is <NA> then always has a
    ``reason``. Without it ``reason`` is the count's alone (the Kaart's "geen gegevens").
    """
    _check(scope, level, within)
    scope = narrow(con, scope=scope, eenheid=eenheid)
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    previous_period = period.shifted(-12)
    # Where the data start: inside one gemeente, that gemeente's start (and a far cheaper
    # question than the whole scope's).
    first = (None if lean and measure != "change" else
             dataset_summary(con, scope=replace(scope, gemeenten=frozenset({within}))
                             if within else scope)["first_month"])
    with_previous = first is not None and previous_period.start >= first
    # Parent totals: for a wijk or buurt parent counted as the children are; a gemeente's total
    # is its full count (its children may count fewer types, see data.disclosure).
    parent_level = (None if level in ("gemeente", "eenheid")
                    or (lean and level in ("buurt", "pc6") and parent is None)
                    else PARENT_LEVEL_OF[level])
    # Count, the year before and the parent level together: one pass (data.queries.areas).
    frame, others, parents = map_counts(
        con, scope=scope, level=level, group=group, within=within, parent_level=parent_level,
        periods=[period, previous_period] if with_previous else [period])
    codes, parent_codes = frame["code"].tolist(), frame["parent_code"].tolist()
    counts = frame["count"].tolist()
    previous = others[0] if with_previous else [None] * len(codes)
    if level in ("gemeente", "eenheid"):
        # a total over an area without a count is no number (coverage.total)
        sums: dict = {}
        for code, n in zip(parent_codes, counts):
            if not _missing(code):
                sums[code] = (None if _missing(n) or sums.get(code, 0) is None
                              else sums.get(code, 0) + n)
        parent_totals = [None if _missing(code) else sums[code] for code in parent_codes]
    elif parents is None:
        parent_totals = [None] * len(codes)
    else:
        parent_totals = [None if _missing(code) else parents.get(code) for code in parent_codes]
    if parent is not None:
        keep = [k for k, code in enumerate(parent_codes) if code == parent]
        frame = frame.iloc[keep].reset_index(drop=True)
        codes, parent_codes = [codes[k] for k in keep], [parent_codes[k] for k in keep]
        previous, parent_totals = [previous[k] for k in keep], [parent_totals[k] for k in keep]

    year = (period.end.replace(day=1).year if period.end.month > 1 else period.end.year - 1)
    if lean and measure != "per_1000":
        population = {}
    elif level == "eenheid":
        population = _eenheid_population(con, scope, year)
    else:
        population = _population(con, codes, year)

    # The derived columns on numpy arrays (a mask for "no value"), the frame built once:
    # pandas' column-by-column assignment cost more than the counting itself.
    count, count_na = _floats(frame["count"])
    before, before_na = _floats(previous)
    pop, pop_unknown = _floats([population.get(code) for code in codes])
    pop_na = pop_unknown | (pop <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_1000 = np.round(count * 1000.0 / np.where(pop_na, 1.0, pop), 1)
        change_pct = np.round((count - before) / np.where(before > 0, before, 1.0) * 100.0, 1)
    per_1000_na = count_na | pop_na
    change_pct_na = count_na | before_na | ~(before > 0)
    value, value_na = {"count": (count, count_na), "per_1000": (per_1000, per_1000_na),
                       "change": (change_pct, change_pct_na)}[measure]
    rank, ranked = _ranks(parent_codes, value, value_na)
    reason = frame["reason"]
    if explain:
        reason = _explained(
            reason.tolist(), count_na, before, before_na, pop_na, pop_unknown, measure=measure,
            period=period, previous=previous_period if not lean or measure == "change" else None,
            first=first, covered=with_previous,
            year=year if not lean or measure == "per_1000" else None)
    return pd.DataFrame({
        "code": frame["code"], "name": frame["name"], "parent_code": frame["parent_code"],
        "count": frame["count"].astype("Int64"), "previous": _ints(previous),
        "change": _ints([None if a or b else c - p for a, b, c, p in
                         zip(count_na, before_na, count, before)]),
        "change_pct": pd.arrays.FloatingArray(change_pct, change_pct_na),
        "population": _ints([population.get(code) for code in codes]),
        "per_1000": pd.arrays.FloatingArray(per_1000, per_1000_na),
        "value": pd.arrays.FloatingArray(value.copy(), value_na.copy()),
        "rank": rank, "ranked": ranked, "parent_total": _ints(parent_totals),
        "source": frame["source"], "reason": reason,
        "provisional": frame["provisional"]})


def _explained(reasons: list, count_na: np.ndarray, before: np.ndarray,
               before_na: np.ndarray, pop_na: np.ndarray, pop_unknown: np.ndarray, *,
               measure: str, period: Period, previous: Period | None, first: date | None,
               covered: bool, year: int | None) -> list:
    """Per row: why a figure of it is missing ("geen gegevens", never 0), the reasons of the
    chosen ``measure`` first, '; ' between them; None when nothing is missing. A row without a
    count keeps the count's reason (it says it for every figure derived from it; "geen
    gegevens voor ``period``" should a source give none), a reason beside a count stays first.
    ``previous`` (the period a year earlier) and ``year`` (of the population) are None for
    what the frame left out (``lean``); ``covered``: whether the data reach back to
    ``previous``, which starts before ``first`` (the data's first month) otherwise.
    ``pop_na``: no rate (no population, or 0), ``pop_unknown``: no population known."""
    if previous is not None:
        label = coverage.period_label(previous)
        not_covered = (f"geen vergelijking: {coverage.NO_DATA} voor {label}"
                       + ("" if first is None else f" (de gegevens beginnen in {first:%m-%Y})"))
        no_previous = f"geen vergelijking: {coverage.NO_DATA} voor {label}"
        from_zero = f"geen verandering in procenten: 0 registraties in {label}"
    if year is not None:
        no_population = f"geen cijfer per 1.000 inwoners: geen inwonertal bekend (t/m {year})"
        zero_population = f"geen cijfer per 1.000 inwoners: inwonertal 0 (t/m {year})"
    out = []
    for k, own in enumerate(reasons):
        own = None if _missing(own) else own
        if count_na[k]:
            out.append(own or f"{coverage.NO_DATA} voor {coverage.period_label(period)}")
            continue
        found = {}
        if previous is not None:
            if not covered:
                found["change"] = not_covered
            elif before_na[k]:
                found["change"] = no_previous
            elif not before[k] > 0:
                found["change"] = from_zero
        if year is not None and pop_na[k]:
            found["per_1000"] = no_population if pop_unknown[k] else zero_population
        order = [measure] + [m for m in ("change", "per_1000") if m != measure]
        out.append("; ".join([own] * bool(own) + [found[m] for m in order if m in found])
                   or None)
    return out


def _floats(values) -> tuple[np.ndarray, np.ndarray]:
    """Values (a list or a nullable Series) as float64 and a mask of the missing ones."""
    if isinstance(values, pd.Series):
        array = values.array
    else:
        try:  # ints and None (what the queries give): converted by pandas at once
            array = pd.array(values, dtype="Float64")
        except (TypeError, ValueError):
            array = pd.array([None if _missing(v) else v for v in values], dtype="Float64")
    missing = np.asarray(array.isna(), dtype=bool)
    return array.to_numpy(dtype=float, na_value=0.0), missing


def _ranks(parents: list, value: np.ndarray, missing: np.ndarray):
    """Per area: its rank among the areas with the same parent (1 = highest value, ties share
    the lowest rank, as pandas' ``rank(method="min", ascending=False)``) and how many of them
    have a value; <NA> for an area without a value or a parent."""
    group, _ = pd.factorize(pd.array(parents, dtype="string"), use_na_sentinel=True)
    n = len(group)
    rank = np.zeros(n, dtype="int64")
    rank_na = (group < 0) | missing
    valid = np.flatnonzero(~rank_na)
    ranked_counts = np.bincount(group[valid], minlength=max(group.max(initial=-1) + 1, 1))
    if len(valid):
        g, v = group[valid], -value[valid]
        order = np.lexsort((v, g))
        sg, sv = g[order], v[order]
        steps = np.arange(len(order))
        new_group = np.r_[True, sg[1:] != sg[:-1]]
        new_value = new_group | np.r_[True, sv[1:] != sv[:-1]]
        group_start = np.maximum.accumulate(np.where(new_group, steps, 0))
        value_start = np.maximum.accumulate(np.where(new_value, steps, 0))
        rank[valid[order]] = value_start - group_start + 1
    ranked = np.where(group >= 0, ranked_counts[np.maximum(group, 0)] if n else 0, 0)
    return (pd.arrays.IntegerArray(rank, rank_na),
            pd.arrays.IntegerArray(np.asarray(ranked, dtype="int64"), group < 0))


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _ints(values: list) -> pd.api.extensions.ExtensionArray:
    try:  # ints and None (what the queries give): converted by pandas at once
        return pd.array(values, dtype="Int64")
    except (TypeError, ValueError):
        return pd.array([None if _missing(v) else int(v) for v in values], dtype="Int64")


def incident_points(con, *, scope: Scope, within: str, parent: str | None = None,
                    period: Period, group: str, limit: int = 5000) -> dict:
    """The incidents of bundle ``group`` in ``period`` inside gemeente ``within`` (and under
    ``parent`` when given: a wijk, or a PC4 for the PC6 level) as a GeoJSON FeatureCollection
    dict of points, newest first. Detail level 3 only: the properties carry the address.

    Each feature has ``id`` and properties ``type`` (title), ``date`` (dd-mm-jjjj), ``address``
    (street and house number), ``pc6`` and ``mo``. Incidents without coordinates are left out.
    At most ``limit`` features; the collection's foreign members say how many matched
    (``total``) and whether the list was cut off (``capped``)."""
    ensure_detail(scope, 3)  # before any SQL: detail 1/2 never reaches the incidents table
    ensure_gemeente(scope, within)
    limit = max(0, int(limit))
    where = ("i.gm_code = ? AND i.occurred_date >= ? AND i.occurred_date < ?"
             " AND i.lon IS NOT NULL AND i.lat IS NOT NULL"
             " AND i.type_code IN (SELECT type_code FROM type_groups WHERE group_code = ?)")
    params: list = [within, period.start, period.end, group]
    if parent is not None:
        where += " AND (i.wk_code = ? OR i.pc4 = ?)"
        params += [parent, parent]
    total = con.execute(f"SELECT count(*) FROM incidents i WHERE {where}", params).fetchall()[0][0]
    rows = con.execute(f"""
        SELECT i.id, i.lon, i.lat, coalesce(t.title, i.type_code),
               strftime(i.occurred_date, '%d-%m-%Y'),
               trim(coalesce(i.street, '') || ' ' || coalesce(i.house_number, '')),
               i.pc6, i.mo
        FROM incidents i LEFT JOIN crime_types t ON t.code = i.type_code
        WHERE {where}
        ORDER BY i.occurred_at DESC, i.id
        LIMIT ?""", [*params, limit]).fetchall()
    features = [{"type": "Feature", "id": ident,
                 "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                 "properties": {"type": title, "date": day, "address": address or None,
                                "pc6": pc6, "mo": mo}}
                for ident, lon, lat, title, day, address, pc6, mo in rows]
    return {"type": "FeatureCollection", "features": features, "total": total,
            "capped": total > len(features)}


# -- search ---------------------------------------------------------------------------------------

#: Most results of one search (areas and, at detail level 3, addresses each).
SEARCH_LIMIT = 10
#: A Dutch postcode with letters (PC6), spaces allowed: "1012 AB".
PC6_TEXT = re.compile(r"^\s*([0-9]{4})\s*([A-Za-z]{2})\s*$")
#: A street with a house number (and addition): "Kompasstraat 22", "Dorpsweg 3a".
ADDRESS_TEXT = re.compile(r"^\s*(.*?[^\s,0-9])[\s,]+([0-9]+)\s*[-\s]?([A-Za-z0-9]{0,4})\s*$")


def search_text(text) -> str:
    """The search text as the queries use it: one line, spaces collapsed, at most 100
    characters ('' for anything that is not text)."""
    if not isinstance(text, str):
        return ""
    return " ".join(text.split())[:100]


def needs_detail_3(text: str) -> bool:
    """Whether ``text`` asks for what only detail level 3 may search: a PC6 postcode or an
    address (a street with a house number)."""
    return bool(PC6_TEXT.match(text) or ADDRESS_TEXT.match(text))


def search_areas(con, *, scope: Scope, text: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Areas in scope whose code starts with or whose name contains ``text`` (case and
    accents ignored): gemeenten, wijken, buurten and PC4 for every scope, PC6 at detail level 3
    only (``LEVEL_DETAIL``). Below detail level 3 a PC6 postcode searches its PC4, so a mayor
    who types "1012 AB" finds 1012 and nothing finer. Exact code matches first, then names
    that start with the text, then the rest; within each, gemeente before wijk, buurt, PC4,
    PC6. Each result: code, level, name, gm_code, parent_code, gemeente (name), parent (name).
    Raises OutOfScope for an empty scope; '' and single characters find nothing."""
    if scope.empty:
        raise OutOfScope("empty scope")
    text = search_text(text)
    if len(text) < 2:
        return []
    levels = [level for level in MAP_LEVELS if level_allowed(level, scope=scope)]
    postcode = PC6_TEXT.match(text)
    code = (postcode.group(1) + postcode.group(2)).upper() if postcode else text.upper()
    if postcode and not level_allowed("pc6", scope=scope):
        code = postcode.group(1)  # the PC4 it lies in; the PC6 itself is not searched
    name = text.lower()
    where, params = area_filter(scope, "a.gm_code")
    order = " ".join(f"WHEN '{level}' THEN {i}" for i, level in enumerate(MAP_LEVELS))
    rows = con.execute(f"""
        SELECT a.code, a.level, coalesce(a.name, a.code), a.gm_code, a.parent_code,
               coalesce(g.name, g.code), coalesce(p.name, p.code)
        FROM areas a
        LEFT JOIN areas g ON g.code = a.gm_code AND g.level = 'gemeente'
        LEFT JOIN areas p ON p.code = a.parent_code AND a.level IN ('buurt', 'pc6')
        WHERE a.level IN (SELECT unnest(?::VARCHAR[])) AND {where}
          AND (starts_with(upper(a.code), ?)
               OR contains(lower(strip_accents(coalesce(a.name, ''))), strip_accents(?)))
        ORDER BY CASE WHEN upper(a.code) = ? THEN 0
                      WHEN starts_with(lower(strip_accents(coalesce(a.name, ''))),
                                       strip_accents(?)) THEN 1
                      WHEN starts_with(upper(a.code), ?) THEN 2 ELSE 3 END,
                 CASE a.level {order} END, 3, a.code
        LIMIT ?""", [levels, *params, code, name, code, name, code, max(0, int(limit))]
                       ).fetchall()
    return [{"code": c, "level": level, "name": n, "gm_code": gm, "parent_code": parent,
             "gemeente": gemeente, "parent": parent_name}
            for c, level, n, gm, parent, gemeente, parent_name in rows]


def search_addresses(con, *, scope: Scope, text: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Addresses (street and house number, from the incidents) in scope that match ``text``
    ("Kompasstraat 22": the street contains "kompasstraat", the number starts with 22),
    each with its PC6 and that PC6's PC4, for jumping to the PC6 on the map. Detail level 3
    only, checked before any SQL: an address is as detailed as an address list. A text
    without a house number finds nothing (a street name alone finds its PC6 areas)."""
    ensure_detail(scope, 3)
    match = ADDRESS_TEXT.match(search_text(text))
    if not match:
        return []
    street, number, addition = match.group(1).lower(), match.group(2), match.group(3).upper()
    where, params = area_filter(scope, "i.gm_code")
    rows = con.execute(f"""
        SELECT i.street, i.house_number, i.pc6, any_value(i.gm_code), any_value(a.parent_code)
        FROM incidents i JOIN areas a ON a.code = i.pc6 AND a.level = 'pc6'
        WHERE {where} AND i.street IS NOT NULL AND i.house_number IS NOT NULL
          AND contains(lower(strip_accents(i.street)), strip_accents(?))
          AND starts_with(upper(i.house_number), ?)
        GROUP BY i.street, i.house_number, i.pc6
        ORDER BY upper(i.house_number) <> ?, i.street, try_cast(regexp_extract(i.house_number, '^[0-9]+') AS INTEGER),
                 i.house_number, i.pc6
        LIMIT ?""", [*params, street, number + addition, number + addition,
                     max(0, int(limit))]).fetchall()
    return [{"code": pc6, "level": "adres", "name": f"{s} {n}", "gm_code": gm,
             "parent_code": pc4, "pc6": pc6}
            for s, n, pc6, gm, pc4 in rows]
