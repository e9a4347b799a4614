"""The disclosure model (data/disclosure.py) on the demo database: what a detail-1 user gets
below the gemeente is exactly the public release (released types, ended months), the rest is
left out or refused, detail 2 and 3 are exact, and the gemeente attempt split is hidden in the
months where it would pin a buurt's. The attacker test across every view is
tests/test_disclosure_attack.py."""
from __future__ import annotations

from datetime import date

import pytest

from data import disclosure
from data.periods import Period
from data.queries import burglary, trends
from data.queries.areas import incident_counts_by_area
from data.queries.overview import latest_month
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db

HAVENSTAD = frozenset({"GMD001"})
MAYOR = Scope(HAVENSTAD, 1, "Havenstad")
DETAIL2 = Scope(HAVENSTAD, 2, "Havenstad")
ANALIST = Scope(HAVENSTAD, 3, "Havenstad")
YEAR = Period(date(2025, 1, 1), date(2026, 1, 1))


@pytest.fixture(scope="module")
def con(demo_db):
    connection = connect_db(demo_db)
    yield connection
    connection.close()


def _truth(con, level_column, types, period, gemeenten=HAVENSTAD, end=None):
    """Counts per area straight from the incidents table (the test's own SQL)."""
    rows = con.execute(
        f"SELECT {level_column}, count(*) FROM incidents WHERE gm_code IN"
        " (SELECT unnest(?::VARCHAR[])) AND type_code IN (SELECT unnest(?::VARCHAR[]))"
        " AND occurred_date >= ? AND occurred_date < ? GROUP BY 1",
        [sorted(gemeenten), sorted(types), period.start, min(period.end, end or period.end)]
    ).fetchall()
    return {code: n for code, n in rows if code is not None}


def _members(con, group):
    return [r[0] for r in con.execute(
        "SELECT type_code FROM type_groups WHERE group_code = ?", [group]).fetchall()]


def test_who_is_restricted():
    for level in ("wijk", "buurt", "pc4", "pc6"):
        assert disclosure.restricted(MAYOR, level)
        assert not disclosure.restricted(DETAIL2, level) and not disclosure.restricted(ANALIST, level)
    assert not disclosure.restricted(MAYOR, "gemeente") and not disclosure.restricted(MAYOR, "eenheid")
    assert not disclosure.restricted(Scope(), "buurt")  # nothing at all: refused elsewhere


def test_a_bundle_below_the_gemeente_counts_its_released_members_exactly(con):
    """Geweld per buurt for a mayor: every member except 1.4.1 (withheld by 47018NED), exact,
    small counts included; for detail 2 and 3 all members."""
    release = disclosure.release(con, scope=MAYOR, level="buurt", indicator="geweld")
    members = _members(con, "geweld")
    assert "1.4.1" in members and release.left_out == (("1.4.1", "Zedenmisdrijf"),)
    assert set(release.members) == set(members) - {"1.4.1"}
    assert "Zedenmisdrijf (1.4.1)" in release.note() and "buurtniveau" in release.note()
    shown = incident_counts_by_area(con, scope=MAYOR, level="buurt", period=YEAR, group="geweld")
    truth = _truth(con, "bu_code", release.members, YEAR)
    assert dict(zip(shown["code"], shown["count"].astype(int))) == {
        code: truth.get(code, 0) for code in shown["code"]}
    assert ((shown["count"] >= 1) & (shown["count"] <= 4)).any()  # small counts are shown
    withheld = _truth(con, "bu_code", ["1.4.1"], YEAR)
    assert sum(withheld.values()) > 0  # there is something to leave out
    for scope in (DETAIL2, ANALIST):
        full = incident_counts_by_area(con, scope=scope, level="buurt", period=YEAR, group="geweld")
        everything = _truth(con, "bu_code", members, YEAR)
        assert dict(zip(full["code"], full["count"].astype(int))) == {
            code: everything.get(code, 0) for code in full["code"]}
        assert disclosure.release(con, scope=scope, level="buurt", indicator="geweld").left_out == ()


def test_a_single_type_below_the_gemeente_counts_that_type(con):
    """One crime type (not a bundle) per buurt and wijk, for the mayor and the analist, as the
    API's ``type=`` asks: its own registrations, not zero."""
    for code in ("1.1.1", "1.2.3"):
        for scope in (MAYOR, ANALIST):
            for level, column in (("buurt", "bu_code"), ("wijk", "wk_code")):
                shown = incident_counts_by_area(con, scope=scope, level=level, period=YEAR,
                                                group=code)
                truth = _truth(con, column, [code], YEAR)
                assert sum(truth.values()) > 0, code
                assert dict(zip(shown["code"], shown["count"].astype(int))) == {
                    area: truth.get(area, 0) for area in shown["code"]}, (code, scope, level)


def test_withheld_and_non_crime_types_are_refused_below_the_gemeente(con):
    for indicator in ("1.4.1", "3.2.1", "overlast", "N02"):
        for level in ("wijk", "buurt", "pc4"):
            with pytest.raises(disclosure.NotPublished) as refused:
                incident_counts_by_area(con, scope=MAYOR, level=level, period=YEAR,
                                        group=indicator)
            assert isinstance(refused.value, OutOfScope) and "niet" in str(refused.value)
    # at gemeente level they stay (47018NED publishes 1.4.1 per gemeente)
    gemeente = incident_counts_by_area(con, scope=MAYOR, level="gemeente", period=YEAR,
                                       group="overlast")
    assert int(gemeente["count"].iloc[0]) == sum(_truth(con, "gm_code", _members(con, "overlast"),
                                                        YEAR).values())


def test_pc4_is_woninginbraak_only(con):
    release = disclosure.release(con, scope=MAYOR, level="pc4", indicator="alle_misdrijven")
    assert release.members == ("1.1.1",)
    shown = incident_counts_by_area(con, scope=MAYOR, level="pc4", period=YEAR,
                                    group="alle_misdrijven")
    truth = _truth(con, "pc4", ["1.1.1"], YEAR)
    assert dict(zip(shown["code"], shown["count"].astype(int))) == {
        code: truth.get(code, 0) for code in shown["code"]}
    with pytest.raises(disclosure.NotPublished):
        incident_counts_by_area(con, scope=MAYOR, level="pc4", period=YEAR, group="geweld")


def test_the_running_month_never_counts_below_the_gemeente(con):
    """A period reaching into the newest (running) month counts only the ended months for a
    mayor; the analist's count includes the running month."""
    newest = latest_month(con, scope=MAYOR)
    period = Period(date(newest.year - 1, newest.month, 1), date(newest.year + 1, 1, 1))
    members = _members(con, "alle_misdrijven")
    released = disclosure.release(con, scope=MAYOR, level="buurt", indicator="alle_misdrijven")
    mayor = incident_counts_by_area(con, scope=MAYOR, level="buurt", period=period,
                                    group="alle_misdrijven")
    analist = incident_counts_by_area(con, scope=ANALIST, level="buurt", period=period,
                                      group="alle_misdrijven")
    assert int(mayor["count"].sum()) == sum(_truth(con, "bu_code", released.members, period,
                                                   end=newest).values())
    running = sum(_truth(con, "bu_code", members, Period(newest, period.end)).values())
    assert running > 0
    assert int(analist["count"].sum()) == sum(_truth(con, "bu_code", members, period).values())


def test_buurt_series_are_monthly_at_most_and_say_what_they_leave_out(con):
    areas = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'buurt' AND gm_code = 'GMD001' ORDER BY code"
        " LIMIT 2").fetchall()]
    series = trends.area_series(con, scope=MAYOR, areas=areas, indicator="geweld", grain="week")
    assert series.grain == "maand" and "niet per week" in series.note
    assert "Zedenmisdrijf (1.4.1)" in series.note
    exact = trends.area_series(con, scope=ANALIST, areas=areas, indicator="geweld", grain="week")
    assert exact.grain == "week" and exact.note == ""
    with pytest.raises(disclosure.NotPublished):
        trends.area_series(con, scope=MAYOR, areas=areas, indicator="N01", grain="maand")
    # every month of the mayor's series is the released members' exact count
    released = disclosure.release(con, scope=MAYOR, level="buurt", indicator="geweld").members
    rows = series.series[series.series["code"] == areas[0]]
    for row in rows.itertuples():
        month = Period(row.start, date(row.start.year + row.start.month // 12,
                                       row.start.month % 12 + 1, 1))
        assert int(row.count) == _truth(con, "bu_code", released, month).get(areas[0], 0)


def _pinned_by_brute_force(con, gemeente, month):
    """The definition, in Python: some positive buurt x attempt cell has no other buurt with a
    registration in the other category."""
    cells = con.execute(
        "SELECT coalesce(bu_code, ''), attempt FROM incidents WHERE gm_code = ?"
        " AND type_code = '1.1.1' AND date_trunc('month', occurred_date) = ? GROUP BY ALL",
        [gemeente, month]).fetchall()
    return any(not any(b2 != b and a2 != a for b2, a2 in cells) for b, a in cells)


@pytest.mark.parametrize("gemeente", ["GMD001", "GMD002", "GMD003", "GMD004"])
def test_the_attempt_split_is_hidden_in_months_where_it_pins_a_buurt(con, gemeente):
    mayor = Scope(frozenset({gemeente}), 1, "mayor")
    start, end = date(2022, 1, 1), date(2026, 1, 1)
    frame = burglary.attempts_by_month(con, scope=mayor, gemeenten=[gemeente], start=start, end=end)
    exact = burglary.attempts_by_month(con, scope=Scope(frozenset({gemeente}), 2, "d2"),
                                       gemeenten=[gemeente], start=start, end=end)
    assert not exact["split_hidden"].any() and exact["voltooid"].notna().all()
    assert (frame["totaal"] == exact["totaal"]).all()  # the month's total is always shown
    for row in frame.itertuples():
        assert row.split_hidden == _pinned_by_brute_force(con, gemeente, row.month), row.month
        if row.split_hidden:
            assert row.voltooid is None or str(row.voltooid) == "<NA>"
    if gemeente != "GMD001":  # the small gemeenten have such months in the demo
        assert frame["split_hidden"].any()


def test_switched_off_nothing_is_restricted(con, monkeypatch):
    monkeypatch.setattr(disclosure, "PROTECTION", False)
    assert not disclosure.restricted(MAYOR, "buurt")
    release = disclosure.release(con, scope=MAYOR, level="buurt", indicator="geweld")
    assert "1.4.1" in release.members
