"""The Kaart's map values in one pass (issue #18 item 6): ``map_values`` counts the period, the
year before and the parent level in one statement per layer. It must give exactly what the
definition it replaced gives: that definition (one query per measure and parent level, merged
in pandas) is kept here as the reference, and both are compared cell by cell on the demo (every
level, measure, scope kind, drill-down and the API's full frame) and on the real data of
../shared/data (imported CBS gemeente counts and the PC4 file, no incidents: the other sources'
paths), when present."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from data.queries import map as qm
from data.queries import overview as qo
from data.queries.areas import incident_counts_by_area
from data.queries.overview import dataset_summary
from data.periods import Period
from data.scope import OutOfScope, Scope
from data.store import Store

from .test_real_figures import con, real_db  # noqa: F401  (its module fixtures: the real database)


def _population(con, codes, year):
    return con.execute("""
        SELECT code, arg_max(population, year) AS population FROM population
        WHERE code IN (SELECT unnest(?::VARCHAR[])) AND year <= ?
        GROUP BY code""", [codes, year]).df()


def _eenheid_population(con, scope, year):
    where, params = qm.area_filter(scope, "g.code")
    return con.execute(f"""
        WITH p AS (
            SELECT code, arg_max(population, year) AS population FROM population
            WHERE year <= ? GROUP BY code)
        SELECT g.re_code AS code, sum(p.population)::BIGINT AS population
        FROM areas g JOIN p ON p.code = g.code
        WHERE g.level = 'gemeente' AND {where}
        GROUP BY g.re_code""", [year, *params]).df()


def reference_map_values(con, *, scope: Scope, level: str, period: Period, group: str, measure: str,
               within: str | None = None, parent: str | None = None,
               eenheid: str | None = None, lean: bool = False) -> pd.DataFrame:
    """``data.queries.map.map_values`` as it was defined before the single pass (main at
    0658016): one query per measure and per parent level, merged in pandas."""
    qm._check(scope, level, within)
    scope = qm.narrow(con, scope=scope, eenheid=eenheid)
    if measure not in qm.MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    frame = incident_counts_by_area(con, scope=scope, level=level, period=period, group=group,
                                    within=within)
    previous_period = period.shifted(-12)
    # Where the data start: inside one gemeente, that gemeente's start (and a far cheaper
    # question than the whole scope's).
    first = (None if lean and measure != "change" else
             dataset_summary(con, scope=replace(scope, gemeenten=frozenset({within}))
                             if within else scope)["first_month"])
    if first is not None and previous_period.start >= first:
        before = incident_counts_by_area(con, scope=scope, level=level, period=previous_period,
                                         group=group, within=within)
        frame = frame.merge(before[["code", "count"]].rename(columns={"count": "previous"}),
                            on="code", how="left")
    else:
        frame["previous"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["previous"] = frame["previous"].astype("Int64")
    frame["count"] = frame["count"].astype("Int64")

    # Parent totals: for a wijk or buurt parent counted as the children are; a gemeente's total
    # is its full count (its children may count fewer types, see data.disclosure).
    if level in ("gemeente", "eenheid"):
        # a total over an area without a count is no number (coverage.total)
        totals = (frame.groupby("parent_code")["count"]
                  .agg(lambda s: s.sum() if s.notna().all() else pd.NA).reset_index())
        totals = totals.rename(columns={"parent_code": "code", "count": "parent_total"})
    elif lean and level in ("buurt", "pc6") and parent is None:
        totals = pd.DataFrame({"code": pd.Series(dtype="object"),
                               "parent_total": pd.Series(dtype="Int64")})
    else:
        parent_level = {"wijk": "gemeente", "pc4": "gemeente",
                        "buurt": "wijk", "pc6": "pc4"}[level]
        totals = incident_counts_by_area(con, scope=scope, level=parent_level, period=period,
                                         group=group, within=within)[["code", "count"]]
        totals = totals.rename(columns={"count": "parent_total"})
    frame = frame.merge(totals, left_on="parent_code", right_on="code", how="left",
                        suffixes=("", "_p")).drop(columns=["code_p"])
    frame["parent_total"] = frame["parent_total"].astype("Int64")

    if parent is not None:
        frame = frame[frame["parent_code"] == parent].reset_index(drop=True)

    year = (period.end.replace(day=1).year if period.end.month > 1 else period.end.year - 1)
    if lean and measure != "per_1000":
        population = pd.DataFrame({"code": pd.Series(dtype="object"),
                                   "population": pd.Series(dtype="Int64")})
    elif level == "eenheid":
        population = _eenheid_population(con, scope, year)
    else:
        population = _population(con, frame["code"].tolist(), year)
    frame = frame.merge(population, on="code", how="left")
    frame["population"] = frame["population"].astype("Int64")

    count = frame["count"].astype("Float64")
    previous = frame["previous"].astype("Float64")
    pop = frame["population"].astype("Float64")
    frame["per_1000"] = (count * 1000.0 / pop.where(pop > 0)).round(1)
    frame["change"] = (frame["count"] - frame["previous"]).astype("Int64")
    frame["change_pct"] = ((count - previous) / previous.where(previous > 0) * 100.0).round(1)
    frame["value"] = {"count": count, "per_1000": frame["per_1000"],
                      "change": frame["change_pct"]}[measure]
    frame["rank"] = (frame.groupby("parent_code")["value"]
                     .rank(method="min", ascending=False).astype("Int64"))
    frame["ranked"] = frame.groupby("parent_code")["value"].transform("count").astype("Int64")
    return frame[["code", "name", "parent_code", "count", "previous", "change", "change_pct",
                  "population", "per_1000", "value", "rank", "ranked", "parent_total",
                  "source", "reason", "provisional"]]


# -- the comparison ------------------------------------------------------------------------------

#: (measure, lean): the Kaart asks lean for each measure, the API for everything.
ASKS = (("count", True), ("per_1000", True), ("change", True), ("count", False),
        ("change", False))


def _views(con, scope: Scope) -> list[dict]:
    """Every kind of layer the Kaart and the API ask for in ``scope``: each level, a gemeente's
    layers, a drill-down to one wijk / PC4, an eenheid's gemeenten."""
    gemeente = sorted(scope.gemeenten)[0]
    views = [{"level": "eenheid"}, {"level": "gemeente"}]
    for level in ("wijk", "buurt", "pc4", "pc6"):
        if not qm.level_allowed(level, scope=scope):
            continue
        views.append({"level": level, "within": gemeente})
        if scope.detail >= 3 and level != "pc6":
            views.append({"level": level})  # the whole scope (a wide layer)
    wijk = con.execute("SELECT code FROM areas WHERE level = 'wijk' AND gm_code = ? ORDER BY 1"
                       " LIMIT 1", [gemeente]).fetchall()
    if wijk:
        views.append({"level": "buurt", "within": gemeente, "parent": wijk[0][0]})
    pc4 = con.execute("SELECT code FROM areas WHERE level = 'pc4' AND gm_code = ? ORDER BY 1"
                      " LIMIT 1", [gemeente]).fetchall()
    if pc4 and qm.level_allowed("pc6", scope=scope):
        views.append({"level": "pc6", "within": gemeente, "parent": pc4[0][0]})
    eenheid = con.execute("SELECT re_code FROM areas WHERE level = 'gemeente' AND code = ?",
                          [gemeente]).fetchall()[0][0]
    if eenheid:
        views.append({"level": "gemeente", "eenheid": eenheid})
    return views


def _compare(con, scope: Scope, periods, groups=("alle_misdrijven",)) -> int:
    """Both definitions for every view, measure, lean or full, period and bundle; returns the
    number of frames compared (with rows)."""
    compared = 0
    for view in _views(con, scope):
        for period in periods:
            for group in groups:
                for measure, lean in ASKS:
                    args = dict(scope=scope, period=period, group=group, measure=measure,
                                lean=lean, **view)
                    try:
                        expected = reference_map_values(con, **args)
                    except OutOfScope as refused:
                        with pytest.raises(type(refused)):
                            qm.map_values(con, **args)
                        continue
                    found = qm.map_values(con, **args)
                    pd.testing.assert_frame_equal(found, expected, obj=repr(args))
                    compared += len(expected) > 0
    return compared


@pytest.fixture(scope="module")
def demo_con(demo_db):
    return Store(demo_db).read()


def _gemeenten(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente' ORDER BY code").fetchall()]


def _demo_periods(con, scope: Scope) -> list[Period]:
    """The last 12 months (the year before inside the data) and the first whole year (the
    year before outside it: no change)."""
    twelve = qo.last_complete_months(con, scope=scope, months=12)
    year = dataset_summary(con, scope=scope)["first_month"].year + 1
    return [twelve, Period(date(year, 1, 1), date(year + 1, 1, 1))]


@pytest.mark.parametrize("detail", [3, 2, 1])
def test_map_values_equal_the_old_definition_on_the_demo(demo_con, detail):
    gemeenten = _gemeenten(demo_con)
    # detail 3: the analist's whole region; 2 and 1: one or two gemeenten (mayors, adviseurs)
    scope = Scope(frozenset(gemeenten if detail == 3 else gemeenten[:detail]), detail)
    # a bundle with withheld members below the gemeente for detail 1 (data.disclosure)
    bundles = ["alle_misdrijven"] + (["geweld"] if detail == 1 else [])
    compared = _compare(demo_con, scope, _demo_periods(demo_con, scope), bundles)
    assert compared >= 50  # the matrix really ran (frames with rows)


def test_a_restricted_buurt_layer_counts_the_year_before_and_the_wijk_in_one_pass(demo_con):
    """The mayor's drill-down (detail 1, a wijk's buurten, change): the single statement's
    year before and wijk total are those of the separate queries, and they are not trivial."""
    gemeente = _gemeenten(demo_con)[0]
    scope = Scope(frozenset({gemeente}), 1)
    period = qo.last_complete_months(demo_con, scope=scope, months=12)
    wijk = demo_con.execute("SELECT parent_code FROM areas WHERE level = 'buurt' AND gm_code = ?"
                            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", [gemeente]
                            ).fetchall()[0][0]
    frame = qm.map_values(demo_con, scope=scope, level="buurt", period=period,
                          group="alle_misdrijven", measure="change", within=gemeente,
                          parent=wijk, lean=True)
    before = incident_counts_by_area(demo_con, scope=scope, level="buurt",
                                     period=period.shifted(-12), group="alle_misdrijven",
                                     within=gemeente)
    wijken = incident_counts_by_area(demo_con, scope=scope, level="wijk", period=period,
                                     group="alle_misdrijven", within=gemeente)
    assert frame["previous"].tolist() == [
        before.set_index("code")["count"][c] for c in frame["code"]]
    assert frame["previous"].sum() > 0
    assert set(frame["parent_total"]) == {wijken.set_index("code")["count"][wijk]}
    # detail 1 counts the released types only: the wijk total is below the full count
    full = incident_counts_by_area(demo_con, scope=replace(scope, detail=3), level="wijk",
                                   period=period, group="alle_misdrijven", within=gemeente)
    assert frame["parent_total"].iloc[0] < full.set_index("code")["count"][wijk]


def test_map_values_equal_the_old_definition_on_real_data(con):  # noqa: F811
    """../shared/data (CBS gemeente counts, the PC4 woninginbraak file, real geography; no
    incidents): the gemeente, eenheid and PC4 layers come from the other sources."""
    # the gemeenten of one regionale eenheid (its wide PC4 layer is some hundred areas)
    eenheid = con.execute("SELECT re_code FROM areas WHERE level = 'gemeente' GROUP BY 1"
                          " ORDER BY count(*), 1 LIMIT 1").fetchall()[0][0]
    gemeenten = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente' AND re_code = ? ORDER BY code",
        [eenheid]).fetchall()]
    years = [Period(date(y, 1, 1), date(y + 1, 1, 1)) for y in (2012, 2020, 2024)]
    for scope in (Scope(frozenset(gemeenten), 3), Scope(frozenset(gemeenten[:2]), 1)):
        compared = _compare(con, scope, years, ("alle_misdrijven", "woninginbraak"))
        assert compared > 0


def test_ranks_equal_pandas_grouped_rank():
    """``map_values`` ranks on numpy (a pandas groupby per layer cost more than the count):
    the ranks and the number ranked per parent must be pandas' ``rank(method="min",
    ascending=False)`` and ``count``, ties, missing values and missing parents included."""
    import random

    rng = random.Random(18)
    for _ in range(400):
        n = rng.randint(0, 40)
        parents = [rng.choice([None, "WK01", "WK02", "WK03", pd.NA]) for _ in range(n)]
        values = [rng.choice([None, 0.0, 1.0, 2.0, 2.0, 3.5, -12.5]) for _ in range(n)]
        frame = pd.DataFrame({"parent_code": pd.array(parents, dtype="string"),
                              "value": pd.array(values, dtype="Float64")})
        by_parent = frame.groupby("parent_code")["value"]
        value, missing = qm._floats(frame["value"])
        rank, ranked = qm._ranks(parents, value, missing)
        pd.testing.assert_extension_array_equal(
            rank, by_parent.rank(method="min", ascending=False).astype("Int64").array)
        pd.testing.assert_extension_array_equal(
            ranked, by_parent.transform("count").astype("Int64").array)


def _reference_geometry(con, *, scope, level, within=None, parent=None, eenheid=None):
    """The layer as one SQL statement built it before the features were kept per connection
    (main at 0270c57): the selection joined to the shapes and concatenated in DuckDB."""
    scope = qm.narrow(con, scope=scope, eenheid=eenheid)
    tier = qm._tier(scope, con, level, within)
    if level == "eenheid":
        where, params = qm.area_filter(scope, "g.code")
        selection = (f"SELECT a.code, a.name FROM areas a WHERE a.level = 'eenheid' AND a.code IN"
                     f" (SELECT g.re_code FROM areas g WHERE g.level = 'gemeente' AND {where})")
    else:
        where, params = qm.area_filter(scope, "a.gm_code")
        selection = f"SELECT a.code, a.name FROM areas a WHERE a.level = ? AND {where}"
        params = [level, *params]
        if within is not None:
            selection += " AND a.gm_code = ?"
            params.append(within)
        if parent is not None:
            selection += " AND a.parent_code = ?"
            params.append(parent)
    return con.execute(f"""
        WITH sel AS ({selection}),
        latest AS (SELECT max(vintage) AS v FROM boundary_shapes WHERE level = ?)
        SELECT '{{"type":"FeatureCollection","features":[' || coalesce(string_agg(
                   '{{"type":"Feature","id":' || to_json(sel.code)
                   || ',"properties":{{"code":' || to_json(sel.code)
                   || ',"name":' || to_json(coalesce(b.name, sel.name, sel.code))
                   || '}},"geometry":' || s.geojson || '}}', ',' ORDER BY sel.code), '')
               || ']}}', count(*)
        FROM sel
        JOIN boundary_shapes s ON s.code = sel.code AND s.level = ? AND s.tier = ?
             AND s.vintage = (SELECT v FROM latest)
        LEFT JOIN boundaries b ON b.code = s.code AND b.level = s.level AND b.vintage = s.vintage
        """, [*params, level, level, tier]).fetchall()[0]


def test_geometry_from_kept_features_equals_the_one_statement_layer(demo_con):
    """Map layers join features kept per connection (``map._features``) instead of building
    the collection in SQL each time: byte for byte the same text and count, for every level,
    a wide scope and one gemeente, a wijk's buurten and an eenheid."""
    con = demo_con
    gemeenten = _gemeenten(con)
    wide, mayor = Scope(frozenset(gemeenten), 3), Scope(frozenset(gemeenten[:1]), 1)
    gm = gemeenten[0]
    wijk = con.execute("SELECT code FROM areas WHERE level = 'wijk' AND gm_code = ? ORDER BY code"
                       " LIMIT 1", [gm]).fetchall()[0][0]
    eenheid = con.execute("SELECT re_code FROM areas WHERE code = ?", [gm]).fetchall()[0][0]
    views = [dict(scope=wide, level=level) for level in ("eenheid", "gemeente", "wijk", "buurt",
                                                          "pc4")]
    views += [dict(scope=wide, level="buurt", within=gm), dict(scope=wide, level="wijk", within=gm),
              dict(scope=wide, level="buurt", within=gm, parent=wijk),
              dict(scope=wide, level="buurt", eenheid=eenheid),
              dict(scope=mayor, level="gemeente"), dict(scope=mayor, level="buurt", within=gm),
              dict(scope=mayor, level="pc4", within=gm)]
    for view in views:
        text, count = qm.geometry_features(con, **view)
        assert count > 0, view
        assert (text, count) == _reference_geometry(con, **view), view


def test_kept_features_name_an_area_without_a_boundary_name(demo_db, tmp_path):
    """A shape whose boundary file has no name takes the area's name, as the SQL layer did."""
    from .conftest import demo_copy

    store = Store(demo_copy(demo_db, tmp_path / "db"))
    with store.write("a boundary without a name") as writer:
        code = writer.execute("SELECT code FROM boundaries WHERE level = 'buurt' ORDER BY code"
                              " LIMIT 1").fetchall()[0][0]
        writer.execute("UPDATE boundaries SET name = NULL WHERE code = ?", [code])
        writer.execute("UPDATE areas SET name = 'Buurt zonder grensnaam' WHERE code = ?", [code])
    con = store.read()
    gm = con.execute("SELECT gm_code FROM areas WHERE code = ?", [code]).fetchall()[0][0]
    view = dict(scope=Scope(frozenset({gm}), 3), level="buurt", within=gm)
    text, count = qm.geometry_features(con, **view)
    assert (text, count) == _reference_geometry(con, **view)
    assert '"name":"Buurt zonder grensnaam"' in text
