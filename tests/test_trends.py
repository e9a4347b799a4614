"""Trends: the significance test, the series queries (against direct DuckDB counts) and the
page in Debian's Chromium against a real gunicorn server on the demo database."""
from __future__ import annotations

import math
from datetime import date

import pytest
from playwright.sync_api import expect

from data import disclosure
from data.queries import trends as q
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db
from data.stats import poisson_change, poisson_z

from .conftest import login, logout, pick

MAYOR = Scope(frozenset({"GMD001"}), 1, "Havenstad")
UNIT = Scope(frozenset({"GMD001", "GMD002", "GMD003", "GMD004"}), 3, "Eenheid")


@pytest.fixture(scope="module")
def con(demo_db):
    connection = connect_db(demo_db)
    yield connection
    connection.close()


def _incidents(con, gemeenten, group, start, end):
    """Registrations straight from the incidents table, bypassing the query layer."""
    return con.execute(
        "SELECT count(*) FROM incidents WHERE gm_code IN (SELECT unnest(?::VARCHAR[]))"
        " AND occurred_date >= ? AND occurred_date < ? AND type_code IN"
        " (SELECT type_code FROM type_groups WHERE group_code = ?)",
        [list(gemeenten), start, end, group]).fetchall()[0][0]


# -- significance -----------------------------------------------------------------------------

def test_poisson_z_known_values():
    assert poisson_z(120, 80) == pytest.approx(40 / math.sqrt(200))  # 2.828
    assert poisson_z(55, 45) == pytest.approx(1.0)
    assert poisson_z(0, 0) is None and poisson_z(None, 3) is None
    assert poisson_change(120, 80).significant and poisson_change(120, 80).label == \
        "significante stijging"
    assert poisson_change(80, 120).label == "significante daling"
    assert not poisson_change(55, 45).significant
    assert poisson_change(55, 45).label == "binnen normale schommeling"
    # the exact test decides, not z: 4 against 0 has z = 2 but p = 0.125 (tests/test_stats.py)
    assert poisson_z(4, 0) == pytest.approx(2.0) and not poisson_change(4, 0).significant
    assert poisson_change(10, 0).pct is None and poisson_change(110, 100).pct == pytest.approx(10)
    with pytest.raises(ValueError):
        poisson_z(-1, 3)


# -- queries ----------------------------------------------------------------------------------

def test_monthly_series_equals_direct_incident_counts(con):
    trend = q.trend(con, scope=UNIT, gemeenten=["GMD001", "GMD003"], indicator="geweld",
                    grain="maand")
    assert len(trend.series) >= 24
    for row in trend.series.itertuples():
        end = date(row.start.year + row.start.month // 12, row.start.month % 12 + 1, 1)
        assert row.count == _incidents(con, ["GMD001", "GMD003"], "geweld", row.start, end)
        before = date(row.start.year - 1, row.start.month, 1)
        assert row.previous == _incidents(con, ["GMD001", "GMD003"], "geweld", before,
                                          date(end.year - 1, end.month, 1))
    assert trend.series["provisional"].iloc[-1] and not trend.series["provisional"].iloc[0]


def test_quarter_year_and_week_series_add_up(con):
    monthly = q.trend(con, scope=MAYOR, gemeenten=[], indicator="woninginbraak", grain="maand")
    for grain in ("kwartaal", "jaar"):
        other = q.trend(con, scope=MAYOR, gemeenten=[], indicator="woninginbraak", grain=grain)
        assert other.series["count"].sum() == monthly.series["count"].sum(), grain
    assert other.series["partial"].iloc[-1]  # the current year is not complete
    detail2 = Scope(MAYOR.gemeenten, 2, MAYOR.label)
    weekly = q.trend(con, scope=detail2, gemeenten=[], indicator="1.1.1", grain="week")
    assert weekly.grain == "week"
    last = weekly.series.iloc[-1]
    assert last.start.weekday() == 0
    assert last["count"] == _incidents(con, ["GMD001"], "woninginbraak", last.start,
                                       date.fromordinal(last.start.toordinal() + 7))


def test_a_detail_1_week_request_is_answered_per_month(con):
    """Weeks are not released to detail level 1, not even per gemeente: with the public buurt
    month counts they pin a buurt's registration to a week (data/disclosure.py)."""
    from data import disclosure

    trend = q.trend(con, scope=MAYOR, gemeenten=[], indicator="1.1.1", grain="week")
    assert trend.grain == "maand" and disclosure.WEEKS_NOTE in trend.note
    monthly = q.trend(con, scope=MAYOR, gemeenten=[], indicator="1.1.1", grain="maand")
    assert trend.series["count"].tolist() == monthly.series["count"].tolist()


def test_rates_and_year_to_date(con):
    trend = q.trend(con, scope=MAYOR, gemeenten=["GMD001"], indicator="alle_misdrijven",
                    grain="jaar")
    row = trend.series.iloc[0]
    population = con.execute("SELECT population FROM population WHERE code = 'GMD001' "
                             "AND year = ?", [row.start.year]).fetchall()[0][0]
    assert row.per_1000 == pytest.approx(row["count"] * 1000 / population)
    through = trend.ytd_through
    current = trend.ytd["current"].iloc[through.month - 1]
    assert current == _incidents(con, ["GMD001"], "alle_misdrijven", date(through.year, 1, 1),
                                 date(through.year + (through.month == 12),
                                      through.month % 12 + 1, 1))


@pytest.mark.parametrize("indicator", ["alle_misdrijven", "woninginbraak", "overlast", "1.1.1",
                                       "N01"])
def test_precomputed_bundle_counts_give_the_same_trend(con, indicator):
    """Bundles and single types read ``group_counts`` (built by finalize_incidents); summing
    the per-type counts and incidents instead (on a cursor whose ``group_counts`` is an empty
    temporary table, as on a peildatum view) must give exactly the same series."""
    from data.queries import coverage

    from .test_coverage_sources import _without

    assert coverage.precomputed(con, indicator)
    assert not coverage.precomputed(con, "0.0.0")  # the total is not an indicator
    slow_con = _without(con, "group_counts")
    try:
        assert not coverage.precomputed(slow_con, indicator)
        for scope, gemeenten in ((UNIT, []), (UNIT, ["GMD002", "GMD004"]), (MAYOR, [])):
            for grain in q.GRAINS:
                fast = q.trend(con, scope=scope, gemeenten=gemeenten, indicator=indicator,
                               grain=grain)
                slow = q.trend(slow_con, scope=scope, gemeenten=gemeenten,
                               indicator=indicator, grain=grain)
                assert fast.series.equals(slow.series), grain
                assert fast.ytd.equals(slow.ytd) and fast.ytd_through == slow.ytd_through
    finally:
        slow_con.close()


def test_trend_refuses_a_gemeente_outside_the_scope(con):
    with pytest.raises(OutOfScope):
        q.trend(con, scope=MAYOR, gemeenten=["GMD002"], indicator="geweld", grain="maand")
    with pytest.raises(OutOfScope):
        q.trend(con, scope=Scope(), gemeenten=[], indicator="geweld", grain="maand")
    assert q.gemeente_options(con, scope=MAYOR) == [("GMD001", "Havenstad")]


# -- the page in a browser --------------------------------------------------------------------

PLOT = "#trends-graph .js-plotly-plot"


def _trace(page, name):
    page.wait_for_function(
        f"() => {{ const g = document.querySelector('{PLOT}');"
        f" return g && g.data && g.data.some(t => t.name === '{name}'); }}", timeout=20_000)
    return page.evaluate(
        f"() => {{ const t = document.querySelector('{PLOT}').data.find(t => t.name === '{name}');"
        " return {x: Array.from(t.x), y: Array.from(t.y)}; }")


@pytest.mark.browser
@pytest.mark.parametrize("user", ["burgemeester", "analist"])
def test_trends_page_plots_the_incident_count_per_month(page, demo_server, demo_db, con, user):
    login(page, demo_server, user)
    page.get_by_role("link", name="Trends", exact=True).click()
    expect(page.locator("#trends-status")).to_contain_text("Alle misdrijven", timeout=20_000)
    trace = _trace(page, "Geregistreerd")
    gemeenten = ["GMD001"] if user == "burgemeester" else ["GMD001", "GMD002", "GMD003", "GMD004"]
    for x, y in list(zip(trace["x"], trace["y"]))[-3:]:
        start = date.fromisoformat(x[:10])
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        assert y == _incidents(con, gemeenten, "alle_misdrijven", start, end), x
    expect(page.locator("#trends-ytd-note")).to_contain_text("t/m")


@pytest.mark.browser
def test_permalink_reproduces_the_view_and_refuses_another_gemeente(page, demo_server, con):
    login(page, demo_server, "analist")
    page.goto(demo_server.url + "/trends")
    expect(page.locator("#trends-status")).to_contain_text("Alle misdrijven", timeout=20_000)
    page.locator("#trends-grain").get_by_text("Kwartaal", exact=True).click()
    pick(page, "#trends-indicator", "Woninginbraak")
    page.wait_for_function("() => location.search.includes('indicator=woninginbraak')"
                           " && location.search.includes('per=kwartaal')", timeout=20_000)
    before = _trace(page, "Geregistreerd")
    permalink = page.url
    page.reload()
    expect(page.locator("#trends-status [data-grain='kwartaal']")).to_have_count(1, timeout=20_000)
    expect(page.locator("#trends-status")).to_contain_text("Woninginbraak")
    assert _trace(page, "Geregistreerd") == before
    assert page.url == permalink

    # A mayor opening a link with another gemeente's code gets the refusal and no data.
    other = con.execute("SELECT name FROM areas WHERE code = 'GMD002'").fetchall()[0][0]
    logout(page, demo_server)
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/trends?gemeente=GMD002&indicator=geweld&per=maand")
    expect(page.locator("#trends-status .refusal")).to_contain_text("geen toegang",
                                                                     timeout=20_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    assert other not in page.locator("#page").inner_text()


# -- woninginbrakenmonitor ---------------------------------------------------------------------

from data.queries import burglary as bq  # noqa: E402
from data.queries.overview import last_complete_months  # noqa: E402


def test_attempts_by_month_split_equals_incidents(con):
    period = last_complete_months(con, scope=MAYOR, months=12)
    frame = bq.attempts_by_month(con, scope=MAYOR, gemeenten=["GMD001"], start=period.start,
                                 end=period.end)
    assert len(frame) == 12
    direct = dict(((m, a), n) for m, a, n in con.execute(
        "SELECT date_trunc('month', occurred_date)::DATE, attempt, count(*) FROM incidents"
        " WHERE gm_code = 'GMD001' AND type_code = '1.1.1' AND occurred_date >= ?"
        " AND occurred_date < ? GROUP BY ALL", [period.start, period.end]).fetchall())
    for row in frame.itertuples():
        assert row.voltooid == direct.get((row.month, False), 0)
        assert row.poging == direct.get((row.month, True), 0)


def test_attempts_from_pc4_counts_only(store):
    """Only the imported PC4 monthly counts: summed to the gemeente through areas.gm_code."""
    from data.schema import create_schema

    with store.write("test") as rw:
        create_schema(rw)
        rw.execute("INSERT INTO areas (code, level, name, gm_code) VALUES "
                   "('GMX001', 'gemeente', 'Testdorp', 'GMX001'), ('9991', 'pc4', NULL, 'GMX001'),"
                   " ('9992', 'pc4', NULL, 'GMX001'), ('9993', 'pc4', NULL, 'GMX002')")
        rw.execute("INSERT INTO counts VALUES "
                   "('9991', 'pc4', 'M', DATE '2025-03-01', '1.1.1', false, 4, 'open', false),"
                   "('9992', 'pc4', 'M', DATE '2025-03-01', '1.1.1', false, 3, 'open', false),"
                   "('9992', 'pc4', 'M', DATE '2025-03-01', '1.1.1', true, 2, 'open', false),"
                   "('9993', 'pc4', 'M', DATE '2025-03-01', '1.1.1', true, 9, 'open', false)")
    scope = Scope(frozenset({"GMX001"}), 1)
    frame = bq.attempts_by_month(store.read(), scope=scope, gemeenten=["GMX001"],
                                 start=date(2025, 1, 1), end=date(2026, 1, 1))
    assert frame[["voltooid", "poging"]].values.tolist() == [[7, 2]]


def test_heatmap_needs_detail_two_and_counts_incident_times(con):
    period = last_complete_months(con, scope=MAYOR, months=12)
    with pytest.raises(OutOfScope):
        bq.weekday_hour(con, scope=MAYOR, gemeenten=["GMD001"], period=period)
    frame = bq.weekday_hour(con, scope=UNIT, gemeenten=["GMD001"], period=period)
    assert len(frame) == 7 * 24
    assert frame["count"].sum() == _incidents(con, ["GMD001"], "woninginbraak", period.start,
                                              period.end)


def test_wijk_changes_are_exact_for_a_mayor(con):
    """Woninginbraak per wijk over ended months is public (47018NED): a mayor gets exactly the
    analist's figures, small ones included, largest increase first."""
    period = last_complete_months(con, scope=MAYOR, months=12)
    mayor = bq.wijk_changes(con, scope=MAYOR, gemeente="GMD001", period=period)
    full = bq.wijk_changes(con, scope=Scope(frozenset({"GMD001"}), 3), gemeente="GMD001",
                           period=period)
    assert not mayor["count"].isna().any()
    assert mayor[["code", "count", "previous", "change"]].equals(
        full[["code", "count", "previous", "change"]])
    assert list(mayor["change"]) == sorted(mayor["change"], reverse=True)
    for row in mayor.itertuples():
        assert row.count == _area_count(con, "wk_code", row.code, "woninginbraak",
                                        period.start, period.end)


@pytest.mark.browser
@pytest.mark.parametrize("user", ["burgemeester", "analist"])
def test_burglary_monitor_renders(page, demo_server, user):
    login(page, demo_server, user)
    page.goto(demo_server.url + "/trends/woninginbraak")
    expect(page.locator("#burglary-status")).to_contain_text("Laatste 12", timeout=20_000)
    expect(page.locator(".burglary-wijken tbody tr").first).to_be_visible()
    page.wait_for_function("() => { const g = document.querySelector("
                           "'#burglary-attempts .js-plotly-plot'); return g && g.data"
                           " && g.data.length === 4; }", timeout=20_000)
    if user == "burgemeester":
        expect(page.locator(".burglary-no-detail")).to_contain_text("detailniveau 2")
        expect(page.locator(".burglary-wijken")).not_to_contain_text("<")
    else:
        expect(page.locator("#burglary-heatmap-graph .js-plotly-plot")).to_be_visible()


# -- wijken and buurten, comparisons -----------------------------------------------------------


def _area_count(con, column, code, group, start, end):
    return con.execute(
        f"SELECT count(*) FROM incidents WHERE {column} = ? AND occurred_date >= ?"
        " AND occurred_date < ? AND type_code IN"
        " (SELECT type_code FROM type_groups WHERE group_code = ?)",
        [code, start, end, group]).fetchall()[0][0]


def _next_month(day):
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _small_buurt(con):
    """A buurt of GMD001 with a quarter of 1 to 4 woninginbraken in the years shown."""
    return con.execute(
        "SELECT bu_code FROM incidents WHERE gm_code = 'GMD001' AND type_code IN (SELECT"
        " type_code FROM type_groups WHERE group_code = 'woninginbraak') AND occurred_date >="
        " (SELECT make_date(year(max(occurred_date)) - 2, 1, 1) FROM incidents)"
        " GROUP BY bu_code, date_trunc('quarter', occurred_date)"
        " HAVING count(*) BETWEEN 1 AND 4 ORDER BY 1 LIMIT 1").fetchall()[0][0]


def test_area_series_equal_incident_counts_for_every_scope(con):
    wijk = con.execute("SELECT min(code) FROM areas WHERE level = 'wijk' AND gm_code = 'GMD003'"
                       ).fetchall()[0][0]
    series = q.area_series(con, scope=UNIT, areas=[wijk], indicator="geweld", grain="maand")
    assert series.grain == "maand" and len(series.series) >= 24
    for row in series.series.itertuples():
        assert row.count == _area_count(con, "wk_code", wijk, "geweld", row.start,
                                        _next_month(row.start)), row.label

    # A mayor gets months too (47018NED publishes per month), exactly, small ones included.
    buurt = _small_buurt(con)
    mayor = q.area_series(con, scope=MAYOR, areas=[buurt], indicator="woninginbraak",
                          grain="maand")
    assert mayor.grain == "maand" and mayor.note == disclosure.LIST_NOTE  # nothing left out
    small = 0
    for row in mayor.series.itertuples():
        exact = _area_count(con, "bu_code", buurt, "woninginbraak", row.start,
                            _next_month(row.start))
        assert row.count == exact, row.label
        small += 1 <= exact <= 4
    assert small
    with pytest.raises(OutOfScope):  # a buurt of another gemeente
        other = con.execute("SELECT min(code) FROM areas WHERE level = 'buurt'"
                            " AND gm_code = 'GMD002'").fetchall()[0][0]
        q.area_series(con, scope=MAYOR, areas=[other], indicator="geweld", grain="jaar")
    with pytest.raises(OutOfScope):  # an unknown code gets the same answer
        q.resolve_areas(con, scope=MAYOR, requested=["BU99999999"])
    assert all(code.startswith(("WKD001", "BUD001"))
               for code, _ in q.area_options(con, scope=MAYOR))


def _direct_rate(con, codes, group, start, end, year):
    count = _incidents(con, codes, group, start, end)
    inhabitants = sum(con.execute(
        "SELECT arg_max(population, year) FROM population WHERE code = ? AND year <= ?",
        [c, year]).fetchall()[0][0] for c in codes)
    return count * 1000 / inhabitants


def test_comparison_rates_equal_direct_computations(con):
    comparison = q.comparison(con, scope=UNIT, gemeente="GMD002", indicator="geweld",
                              grain="jaar")
    unit = [r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente' AND"
                                      " re_code = (SELECT re_code FROM areas WHERE code ="
                                      " 'GMD002')").fetchall()]
    assert comparison.band == "20.000–50.000 inwoners"
    assert comparison.band_gemeenten == ("GMD003", "GMD004")  # 28,000 and 21,000 inhabitants
    for row in comparison.series.itertuples():
        end = min(date(row.start.year + 1, 1, 1), date.today().replace(day=1))
        year = row.start.year
        assert row.gemeente == pytest.approx(_direct_rate(con, ["GMD002"], "geweld", row.start,
                                                          end, year))
        assert row.eenheid == pytest.approx(_direct_rate(con, unit, "geweld", row.start, end,
                                                         year))
        peers = [_direct_rate(con, [c], "geweld", row.start, end, year)
                 for c in ("GMD003", "GMD004")]
        assert row.grootte == pytest.approx(sum(peers) / 2)
    # A mayor's band has no other gemeenten in scope; the eenheid is still there.
    mine = q.comparison(con, scope=MAYOR, gemeente="GMD001", indicator="geweld", grain="maand")
    assert mine.band_gemeenten == () and mine.series["grootte"].isna().all()
    assert mine.series["eenheid"].notna().all()
    with pytest.raises(OutOfScope):
        q.comparison(con, scope=MAYOR, gemeente="GMD002", indicator="geweld", grain="maand")


AREAS_PLOT = "#trends-areas-graph .js-plotly-plot"
COMPARE_PLOT = "#trends-compare-graph .js-plotly-plot"


def _traces(page, selector):
    page.wait_for_function(f"() => {{ const g = document.querySelector('{selector}');"
                           " return g && g.data && g.data.length > 0; }", timeout=20_000)
    return page.evaluate(
        f"() => document.querySelector('{selector}').data.map(t => ({{name: t.name,"
        " x: Array.from(t.x), y: Array.from(t.y), text: Array.from(t.hovertext || [])}))")


@pytest.mark.browser
def test_trends_page_wijk_series_and_comparison(page, demo_server, con):
    wijk, name = con.execute("SELECT code, name FROM areas WHERE level = 'wijk'"
                             " AND gm_code = 'GMD002' ORDER BY code LIMIT 1").fetchall()[0]
    login(page, demo_server, "analist")
    page.goto(demo_server.url + f"/trends?gemeente=GMD002&gebied={wijk}&indicator=geweld"
              "&per=maand&maat=absoluut&vergelijk=eenheid,grootte")
    traces = _traces(page, AREAS_PLOT)
    line = next(t for t in traces if t["name"].startswith(name))
    for x, y in list(zip(line["x"], line["y"]))[-6:]:
        start = date.fromisoformat(x[:10])
        assert y == _area_count(con, "wk_code", wijk, "geweld", start, _next_month(start)), x

    compare = {t["name"]: t for t in _traces(page, COMPARE_PLOT)}
    assert len(compare) == 3
    unit = [r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente' AND"
                                      " re_code = (SELECT re_code FROM areas WHERE code ="
                                      " 'GMD002')").fetchall()]
    eenheid = next(t for n, t in compare.items() if n.startswith("Eenheid"))
    band = next(t for n, t in compare.items() if n.startswith("Gemiddelde"))
    x, y = eenheid["x"][-2], eenheid["y"][-2]
    start = date.fromisoformat(x[:10])
    assert y == pytest.approx(_direct_rate(con, unit, "geweld", start, _next_month(start),
                                           start.year), abs=1e-4)
    peers = [_direct_rate(con, [c], "geweld", start, _next_month(start), start.year)
             for c in ("GMD003", "GMD004")]
    assert band["y"][-2] == pytest.approx(sum(peers) / 2, abs=1e-4)
    # The choice is in the URL: a reload shows the same view.
    page.wait_for_function(f"() => location.search.includes('gebied={wijk}')"
                           " && location.search.includes('vergelijk=eenheid,grootte')",
                           timeout=20_000)


@pytest.mark.browser
def test_trends_page_shows_a_mayor_the_public_buurt_counts(page, demo_server, con):
    """Per month, exact (small counts too), and a bundle says which member it leaves out;
    a week request is answered per month; non-crime types per buurt are not published."""
    buurt = _small_buurt(con)
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + f"/trends?gebied={buurt}&indicator=woninginbraak&per=maand")
    traces = _traces(page, AREAS_PLOT)
    expect(page.locator("#trends-areas-panel [data-grain='maand']")).to_have_count(1)
    values = [y for t in traces for y in t["y"] if y is not None]
    assert [y for y in values if 1 <= y <= 4]
    assert not any(str(text).endswith("<5") for t in traces for text in t.get("text") or [])
    page.goto(demo_server.url + f"/trends?gebied={buurt}&indicator=geweld&per=week")
    expect(page.locator("#trends-areas-panel [data-grain='maand']")).to_have_count(1,
                                                                                  timeout=20_000)
    expect(page.locator(".trends-areas-note")).to_contain_text("Zedenmisdrijf (1.4.1)")
    expect(page.locator(".trends-areas-note")).to_contain_text("niet per week")
    page.goto(demo_server.url + f"/trends?gebied={buurt}&indicator=overlast&per=maand")
    expect(page.locator(".trends-areas-not-published")).to_contain_text(
        "niet beschikbaar", timeout=20_000)
    expect(page.locator("#trends-graph .js-plotly-plot")).to_have_count(1)  # gemeente still shown

    # Another gemeente's buurt in a link: refused, no data.
    other = con.execute("SELECT min(code) FROM areas WHERE level = 'buurt'"
                        " AND gm_code = 'GMD002'").fetchall()[0][0]
    page.goto(demo_server.url + f"/trends?gebied={other}&indicator=geweld&per=maand")
    expect(page.locator("#trends-status .refusal")).to_contain_text("geen toegang",
                                                                     timeout=20_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
