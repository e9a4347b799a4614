"""Gemeente counts read from the precomputed bundle months (``group_counts``) must equal the
sum over each bundle's member types in ``counts`` (issue #18 item 6: the gemeente-level map
reads one row per gemeente and month). Both paths run on the real demo database: the second on
a cursor whose ``group_counts`` is an empty temporary table, as on a peildatum view."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data.catalog import indicator_members
from data.periods import Period, add_months
from data.queries import coverage
from data.scope import Scope
from data.store import Store


@pytest.fixture(scope="module")
def con(demo_db):
    return Store(demo_db).read()


def _without(con, table: str):
    """A cursor on which the derived ``table`` is an empty temporary table (as on a peildatum
    view): the queries take their other path there."""
    view = con.cursor()
    catalog = view.execute("SELECT current_database()").fetchone()[0]
    view.execute(f'CREATE TEMP TABLE {table} AS SELECT * FROM "{catalog}".main.{table} LIMIT 0')
    return view


def _without_group_counts(con):
    return _without(con, "group_counts")


def _periods(con):
    span = coverage.incident_span(con, scope=Scope(frozenset({"x"}), 3))
    newest = add_months(span.end, -1)
    year = newest.year - 1
    return [Period(add_months(newest, -11), add_months(newest, 1)),  # running month included
            Period(date(year, 1, 1), date(year + 1, 1, 1)),
            Period(date(year, 3, 1), date(year, 4, 1)),
            Period(span.start, add_months(span.start, 2))]


def test_bundle_months_equal_their_member_types(con):
    gemeenten = sorted(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())
    scope = Scope(frozenset(gemeenten), 3)
    known = indicator_members(con)
    bundles = sorted(i for i, members in known.items() if len(members) > 1 or "_" in i)
    types = sorted(i for i in known if i not in bundles)[:12]
    indicators = bundles + types
    assert all(coverage.precomputed(con, i) for i in bundles), "the fast path is not taken"
    slow = _without_group_counts(con)
    try:
        assert not any(coverage.precomputed(slow, i) for i in indicators)
        periods = _periods(con)
        fast = coverage.indicator_counts(con, scope=scope, gemeenten=gemeenten,
                                         indicators=indicators, periods=periods)
        reference = coverage.indicator_counts(slow, scope=scope, gemeenten=gemeenten,
                                              indicators=indicators, periods=periods)
        assert fast == reference
        assert any(c.provisional for cells in fast.values() for c in cells.values())
        assert any(c.value for cells in fast.values() for c in cells.values())
        for by_totals in (coverage.totals(con, scope=scope, gemeenten=gemeenten,
                                          indicators=indicators, periods=periods),):
            assert by_totals == coverage.totals(slow, scope=scope, gemeenten=gemeenten,
                                                indicators=indicators, periods=periods)
    finally:
        slow.close()


def test_unknown_indicator_is_refused_and_not_remembered(con):
    scope = Scope(frozenset({"GM0363"}), 3)
    with pytest.raises(ValueError):
        coverage.gemeente_counts(con, scope=scope, gemeenten=[], indicator="geen_bundel",
                                 periods=[])
    assert not coverage.precomputed(con, "geen_bundel")


def _without_area_counts(con):
    return _without(con, "area_group_counts")


@pytest.mark.parametrize("detail", [3, 1])
def test_area_months_equal_a_scan_of_the_incidents(con, detail):
    """The map below the gemeente reads ``area_group_counts`` (per bundle, area and month):
    every bundle, level and parent level, for a scope of several gemeenten, inside one
    gemeente and for a restricted scope (detail 1, which must keep scanning: its release
    counts fewer types and months), equal to the scan of the incidents."""
    from data.queries import areas

    gemeenten = sorted(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())
    scope = Scope(frozenset(gemeenten[:3]), detail)
    bundles = sorted(r[0] for r in con.execute(
        "SELECT DISTINCT group_code FROM type_groups").fetchall())
    slow = _without_area_counts(con)
    taken = 0
    try:
        periods = _periods(con)
        for group in bundles:
            for level, parent_level in (("wijk", None), ("buurt", "wijk"), ("buurt", None),
                                        ("pc4", None)):
                for within in (None, gemeenten[0]):
                    for pair in ([periods[0], periods[0].shifted(-12)], [periods[1]],
                                 [periods[2], periods[3]]):
                        try:
                            fast = areas.map_counts(con, scope=scope, level=level,
                                                    periods=pair, group=group, within=within,
                                                    parent_level=parent_level)
                        except Exception as exc:  # a release not published at this level
                            with pytest.raises(type(exc)):
                                areas.map_counts(slow, scope=scope, level=level, periods=pair,
                                                 group=group, within=within,
                                                 parent_level=parent_level)
                            continue
                        reference = areas.map_counts(slow, scope=scope, level=level,
                                                     periods=pair, group=group, within=within,
                                                     parent_level=parent_level)
                        pd.testing.assert_frame_equal(fast[0], reference[0])
                        assert fast[1:] == reference[1:], (group, level, within, pair)
                        members = areas.disclosure.release(con, scope=scope, level=level,
                                                           indicator=group).members
                        taken += (areas.disclosure.rows(scope, level, "i")[0] == "TRUE"
                                  and areas._precomputed(con, group, members,
                                                         [level, parent_level], pair))
    finally:
        slow.close()
    # the stored counts are read for every unrestricted layer, never for a restricted one
    assert (taken > 0) == (detail == 3)


def test_late_gemeenten_equal_the_provisional_counts(con):
    """The provisional months kept per connection mark exactly the gemeenten whose count of
    all misdrijven is provisional, for periods inside and outside the provisional months, and
    a gemeente outside the scope is refused."""
    from data.scope import OutOfScope

    gemeenten = sorted(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())
    scope = Scope(frozenset(gemeenten), 3)
    slow = _without_group_counts(con)
    try:
        seen = set()
        newest = add_months(coverage.incident_span(con, scope=scope).end, -1)
        edges = [Period(add_months(newest, -k), add_months(newest, 1 - k)) for k in range(6)]
        edges += [Period(add_months(newest, -k - 12), add_months(newest, -k)) for k in range(6)]
        for period in _periods(con) + edges:
            fast = coverage.late_gemeenten(con, scope=scope, gemeenten=gemeenten, period=period)
            cells = coverage.gemeente_counts(slow, scope=scope, gemeenten=gemeenten,
                                             indicator="alle_misdrijven", periods=[period])
            assert fast == {gm for gm in gemeenten if cells[(gm, period)].provisional}
            seen.add(bool(fast))
        assert seen == {True, False}
    finally:
        slow.close()
    with pytest.raises(OutOfScope):
        coverage.late_gemeenten(con, scope=Scope(frozenset(gemeenten[:1]), 3),
                                gemeenten=gemeenten[:2], period=_periods(con)[0])
