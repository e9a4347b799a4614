"""Content builders of the comparison products and the gebiedsscan (data/products/comparisons.py,
data/products/gebiedsscan.py) on the real demo database: every number against direct DuckDB
SQL on the incidents table (not through the query layer), the generated sentences, what a
mayor gets below the gemeente (data/disclosure.py), nothing of another gemeente in a mayor's product, and
OutOfScope outside the scope."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import date

import pytest
from scipy.stats import binomtest

from data.products import build
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db

MAYOR = Scope(frozenset({"GMD001"}), 1, "Havenstad")
UNIT = Scope(frozenset({"GMD001", "GMD002", "GMD003", "GMD004"}), 3, "Eenheid")
KINDS = ("perioderapportage", "jaarverslag", "halfjaarcijfers", "jaarafsluiting", "gebiedsscan")
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
          "september", "oktober", "november", "december")


@pytest.fixture(scope="module")
def con(demo_db):
    connection = connect_db(demo_db)
    yield connection
    connection.close()


# -- independent SQL and date arithmetic --------------------------------------------------------

def _month(year: int, month: int) -> date:
    """date(year, month, 1) for any month number (0 and below roll back a year, 13 on)."""
    index = year * 12 + month - 1
    return date(index // 12, index % 12 + 1, 1)


def _latest(con) -> date:
    """The newest month with data (usually still incomplete): the first month not reported."""
    return con.execute("SELECT date_trunc('month', max(occurred_date))::DATE FROM incidents"
                       ).fetchall()[0][0]


def _period(con, kind: str) -> tuple[date, date, date]:
    """(reference, start, end) of each product for the newest reference date in the data."""
    latest = _latest(con)
    if kind == "perioderapportage":
        end = max(d for d in (date(latest.year, 1, 1), date(latest.year, 5, 1),
                              date(latest.year, 9, 1)) if d <= latest)
        return end, date(_month(end.year, end.month - 1).year, 1, 1), end
    if kind in ("jaarverslag", "jaarafsluiting"):
        end = date(latest.year, 1, 1)
        return end, date(end.year - 1, 1, 1), end
    if kind == "halfjaarcijfers":
        end = date(latest.year, 7, 1) if latest.month >= 7 else date(latest.year, 1, 1)
        return end, _month(end.year, end.month - 6), end
    return latest, _month(latest.year, latest.month - 12), latest  # gebiedsscan: last 12 months


def _count(con, gemeenten, types, start, end, column="gm_code", as_of=None) -> int:
    """Registrations with occurrence date in [start, end), registered up to and including
    ``as_of`` (the product's peildatum; by default ``end``, where every product here ends)."""
    return con.execute(
        f"SELECT count(*) FROM incidents WHERE {column} IN (SELECT unnest(?::VARCHAR[]))"
        " AND type_code IN (SELECT unnest(?::VARCHAR[]))"
        " AND occurred_date >= ? AND occurred_date < ?"
        " AND registered_at < ?::DATE + INTERVAL 1 DAY",
        [list(gemeenten), list(types), start, end, as_of or end]).fetchall()[0][0]


def _types(con, title: str) -> list[str]:
    """The type codes behind an indicator title (a bundle's or a single type's)."""
    rows = con.execute("SELECT type_code FROM type_groups WHERE group_title = ?",
                       [title]).fetchall()
    if not rows:
        rows = con.execute("SELECT code FROM crime_types WHERE title = ?", [title]).fetchall()
    assert rows, title
    return [r[0] for r in rows]


def _z(a, b):
    return None if a + b == 0 else (a - b) / math.sqrt(a + b)


def _significant(a, b) -> bool:
    """The exact conditional test, from scipy (independent of data.stats)."""
    return binomtest(a, a + b, 0.5).pvalue < 0.05


def _build(con, kind, scope=MAYOR, area="GMD001"):
    reference, _, _ = _period(con, kind)
    return build(con, scope=scope, kind=kind, area=area, reference=reference)


def _table(content, title_start: str):
    for section in content.sections:
        for table in section.tables:
            if table.title.startswith(title_start):
                return table
    raise AssertionError(f"no table {title_start!r} in {[s.title for s in content.sections]}")


def _paragraphs(content) -> list[str]:
    return [p for s in content.sections for p in s.paragraphs]


def _dutch(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# -- the comparison products ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["perioderapportage", "jaarverslag", "halfjaarcijfers",
                                  "jaarafsluiting"])
def test_indicator_table_equals_direct_counts(con, kind):
    content = _build(con, kind)
    _, start, end = _period(con, kind)
    assert content.reference_date == end and content.area_code == "GMD001"
    last = _month(end.year, end.month - 1)
    assert content.period_label == \
        f"{MONTHS[start.month - 1]} t/m {MONTHS[last.month - 1]} {last.year}"
    table = _table(content, "Geregistreerde aantallen")
    titles = [row[0] for row in table.rows]
    assert {"Alle misdrijven", "Woninginbraak", "High Impact Crime", "Geweld"} <= set(titles)
    for title, current, previous, difference, pct, significance in table.rows:
        types = _types(con, title)
        assert current == _count(con, ["GMD001"], types, start, end), title
        before = _count(con, ["GMD001"], types, date(start.year - 1, start.month, 1),
                        date(end.year - 1, end.month, 1), as_of=end)
        assert previous == before, title
        assert difference == current - previous
        if previous:
            assert pct == pytest.approx(round((current - previous) / previous * 100, 1))
        z = _z(current, previous)
        assert significance == ("geen vergelijking mogelijk" if z is None else
                                "significant" if _significant(current, previous)
                                else "binnen normale schommeling")


@pytest.mark.parametrize("kind", KINDS)
def test_woninginbraak_sentence(con, kind):
    content = _build(con, kind)
    _, start, end = _period(con, kind)
    current = _count(con, ["GMD001"], ["1.1.1"], start, end)
    previous = _count(con, ["GMD001"], ["1.1.1"], date(start.year - 1, start.month, 1),
                      date(end.year - 1, end.month, 1), as_of=end)
    sentences = [p for p in _paragraphs(content) if p.startswith("Woninginbraak: ")]
    assert sentences, _paragraphs(content)
    text = sentences[0]
    assert text.startswith(f"Woninginbraak: {_dutch(current)}, ")
    if current != previous:
        assert (" meer dan " if current > previous else " minder dan ") in text
        pct = abs(current - previous) / previous * 100
        assert f" {round(pct)}% " in text or round(pct) == 0
    z = _z(current, previous)
    assert z is not None
    assert text.endswith("(significant)." if _significant(current, previous) else
                         "(binnen normale schommeling).")


def test_sentences_say_significant_only_when_significant(con):
    content = _build(con, "jaarverslag")
    _, start, end = _period(con, "jaarverslag")
    table = _table(content, "Geregistreerde aantallen")
    by_title = {row[0]: row for row in table.rows}
    for text in _paragraphs(content):
        title = text.split(":")[0]
        if title in by_title:
            row = by_title[title]
            assert text.endswith(f"({row[5]}).")
            assert (" meer " in text) == (row[1] > row[2])
            assert (" minder " in text) == (row[1] < row[2])


def test_jaarverslag_types_and_five_years(con):
    content = _build(con, "jaarverslag")
    _, start, end = _period(con, "jaarverslag")
    table = _table(content, "Alle soorten misdrijven")
    codes = [r[0] for r in con.execute(
        "SELECT code FROM crime_types WHERE kind = 'misdrijf' ORDER BY sort_key").fetchall()]
    assert [row[0] for row in table.rows] == codes
    for code, _title, current, previous, *_ in table.rows:
        assert current == _count(con, ["GMD001"], [code], start, end), code
        assert previous == _count(con, ["GMD001"], [code], date(start.year - 1, 1, 1),
                                  date(end.year - 1, 1, 1), as_of=end), code
    overview = _table(content, "Vijfjaarsoverzicht")
    first = con.execute("SELECT min(occurred_date) FROM incidents WHERE gm_code = 'GMD001'"
                        ).fetchall()[0][0]
    years = [y for y in range(start.year - 4, start.year + 1) if date(y, 1, 1) >= first]
    assert overview.header == ["Indicator", *map(str, years)]
    for title, *values in overview.rows:
        assert values == [_count(con, ["GMD001"], _types(con, title), date(y, 1, 1),
                                 date(y + 1, 1, 1), as_of=end) for y in years], title
    figures = [f for s in content.sections for f in s.figures]
    assert any(f.title == "Alle misdrijven per jaar" for f in figures)


def test_jaarafsluiting_basisteam_sums_its_gemeenten(con):
    members = [r[0] for r in con.execute(
        "SELECT gm_code FROM org_gemeenten WHERE org_code = 'REDL-B2' ORDER BY 1").fetchall()]
    assert len(members) > 1
    content = _build(con, "jaarafsluiting", scope=UNIT, area="REDL-B2")
    _, start, end = _period(con, "jaarafsluiting")
    assert content.area_code == "REDL-B2" and content.area_name == "Basisteam Polderland"
    for title, current, previous, *_ in _table(content, "Geregistreerde aantallen").rows:
        assert current == _count(con, members, _types(con, title), start, end), title
    per_gemeente = _table(content, "Alle misdrijven per gemeente")
    alle = _types(con, "Alle misdrijven")
    names = dict(con.execute("SELECT name, code FROM areas WHERE level = 'gemeente'").fetchall())
    assert sorted(names[row[0]] for row in per_gemeente.rows) == members
    for row in per_gemeente.rows:
        assert row[2] == _count(con, [names[row[0]]], alle, start, end)


def test_unit_products_need_every_gemeente_in_scope(con):
    reference, _, _ = _period(con, "jaarafsluiting")
    for kind in KINDS:
        for area in ("REDL-B2", "REDL-D1", "REDL", "GMD002", "GMX999", ""):
            with pytest.raises(OutOfScope):
                build(con, scope=MAYOR, kind=kind, area=area, reference=reference)
        with pytest.raises(OutOfScope):
            build(con, scope=Scope(), kind=kind, area="GMD001", reference=reference)


def test_monthly_figure_has_both_years(con):
    content = _build(con, "perioderapportage")
    _, start, end = _period(con, "perioderapportage")
    figure = next(f for s in content.sections for f in s.figures).figure
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    assert len(bars) == 2
    alle = _types(con, "Alle misdrijven")
    months = [_month(start.year, start.month + i) for i in range(len(bars[1]["y"]))]
    assert list(bars[1]["y"]) == [_count(con, ["GMD001"], alle, m, _month(m.year, m.month + 1),
                                         as_of=end) for m in months]
    assert _month(months[-1].year, months[-1].month + 1) == end


# -- the gebiedsscan -----------------------------------------------------------------------------

def test_gebiedsscan_top_types_and_key_figures(con):
    content = _build(con, "gebiedsscan")
    _, start, end = _period(con, "gebiedsscan")
    assert content.reference_date == end
    top = _table(content, "Top 10")
    direct = con.execute(
        "SELECT t.title, count(*) AS n FROM incidents i JOIN crime_types t ON t.code = i.type_code"
        " WHERE i.gm_code = 'GMD001' AND t.kind = 'misdrijf' AND i.occurred_date >= ?"
        " AND i.occurred_date < ? AND i.registered_at < ?::DATE + INTERVAL 1 DAY"
        " GROUP BY t.title, t.code ORDER BY n DESC, t.code LIMIT 10",
        [start, end, end]).fetchall()
    assert [(row[1], row[2]) for row in top.rows] == [tuple(r) for r in direct]
    inhabitants = con.execute("SELECT population FROM population WHERE code = 'GMD001'"
                              " AND year <= ? ORDER BY year DESC LIMIT 1",
                              [_month(end.year, end.month - 1).year]).fetchall()[0][0]
    for row in top.rows:
        assert row[3] == pytest.approx(round(row[2] * 1000 / inhabitants, 1))
        assert row[4] is None  # Havenstad is alone in its population band
    assert any("minder dan 3 gemeenten" in p for p in _paragraphs(content))
    for title, current, previous, *_ in _table(content, "Kerncijfers").rows:
        assert current == _count(con, ["GMD001"], _types(con, title), start, end), title


def test_gebiedsscan_compares_with_gemeenten_of_the_same_band(con):
    content = _build(con, "gebiedsscan", scope=UNIT, area="GMD002")
    _, start, end = _period(con, "gebiedsscan")
    year = _month(end.year, end.month - 1).year
    population = dict(con.execute(
        "SELECT code, arg_max(population, year) FROM population WHERE code LIKE 'GM%'"
        " AND year <= ? GROUP BY code", [year]).fetchall())
    peers = [c for c, p in population.items() if c != "GMD002" and 20_000 <= p < 50_000]
    assert len(peers) >= 2
    for row in _table(content, "Top 10").rows:
        code = con.execute("SELECT code FROM crime_types WHERE title = ?",
                           [row[1]]).fetchall()[0][0]
        rates = [_count(con, [p], [code], start, end) * 1000 / population[p] for p in peers]
        assert row[4] == pytest.approx(round(sum(rates) / len(rates), 1))


def _buurt_counts(con, types, start, end) -> dict[str, int]:
    return dict(con.execute(
        "SELECT a.code, count(i.id) FROM areas a LEFT JOIN incidents i ON i.bu_code = a.code"
        " AND i.type_code IN (SELECT unnest(?::VARCHAR[])) AND i.occurred_date >= ?"
        " AND i.occurred_date < ? AND i.registered_at < ?::DATE + INTERVAL 1 DAY"
        " WHERE a.level = 'buurt' AND a.gm_code = 'GMD001'"
        " GROUP BY a.code", [list(types), start, end, end]).fetchall())


def test_gebiedsscan_buurten_exact_for_every_scope(con):
    """Detail 3 counts every member; a mayor (detail 1) every member the police publish per
    buurt (alle misdrijven without 1.4.1, 3.2.1, 3.2.2), exactly, small counts included."""
    _, start, end = _period(con, "gebiedsscan")
    names = dict(con.execute("SELECT name, code FROM areas WHERE level = 'buurt'"
                             " AND gm_code = 'GMD001'").fetchall())
    for group, title, column in (("alle_misdrijven", "Misdrijven per buurt", 3),
                                 ("woninginbraak", "Woninginbraken per buurt", 1)):
        types = [r[0] for r in con.execute(
            "SELECT type_code FROM type_groups WHERE group_code = ?", [group]).fetchall()]
        direct = _buurt_counts(con, types, start, end)
        exact = _table(_build(con, "gebiedsscan", scope=UNIT), title)
        assert {names[row[0]]: row[column] for row in exact.rows} == direct
        public = _buurt_counts(con, [t for t in types if t not in ("1.4.1", "3.2.1", "3.2.2")],
                               start, end)
        shown = _table(_build(con, "gebiedsscan", scope=MAYOR), title)
        assert {names[row[0]]: row[column] for row in shown.rows} == public
        if group == "alle_misdrijven":
            assert public != direct and "Zedenmisdrijf (1.4.1)" in shown.note
    # woninginbraak per buurt does have small counts in the demo data
    assert any(1 <= n <= 4 for n in _buurt_counts(con, ["1.1.1"], start, end).values())


def test_gebiedsscan_map_and_burglary_pattern(con):
    mayor = _build(con, "gebiedsscan", scope=MAYOR)
    figures = {f.title: f.figure for s in mayor.sections for f in s.figures}
    buurt_map = figures["Misdrijven per 1.000 inwoners per buurt"]
    assert buurt_map["data"] and all(t["type"] == "scatter" and t["fill"] == "toself"
                                     for t in buurt_map["data"])
    assert "mapbox" not in json.dumps(buurt_map) and "geo" not in buurt_map["layout"]
    assert not any(str(t["name"]).startswith("<") for t in buurt_map["data"])
    assert "Woninginbraken per maand: voltooid en poging" in figures  # detail 1: no hours
    unit = _build(con, "gebiedsscan", scope=UNIT)
    heat = {f.title: f.figure for s in unit.sections for f in s.figures}[
        "Woninginbraken naar dag en uur"]
    _, start, end = _period(con, "gebiedsscan")
    assert sum(map(sum, heat["data"][0]["z"])) == _count(con, ["GMD001"], ["1.1.1"], start, end)


# -- the scope -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_mayor_product_holds_nothing_of_another_gemeente(con, kind):
    content = _build(con, kind)
    text = json.dumps(dataclasses.asdict(content), default=str, ensure_ascii=False)
    others = con.execute(
        "SELECT code, name FROM areas WHERE level = 'gemeente' AND code <> 'GMD001'"
        " UNION ALL SELECT code, NULL FROM areas WHERE level IN ('wijk', 'buurt', 'pc4')"
        " AND gm_code <> 'GMD001'").fetchall()
    assert others
    data = dataclasses.asdict(content)
    for section in data["sections"]:  # coordinates are digits: numeric codes are looked for
        for figure in section["figures"]:  # in the words and tables only
            figure["figure"] = None
    words = json.dumps(data, default=str, ensure_ascii=False)
    for code, name in others:
        assert code not in (text if any(c.isalpha() for c in code) else words), (kind, code)
        if name:
            assert name not in text, (kind, name)
    assert content.detail == 1


def test_gebiedsscan_of_a_set_of_buurten(con):
    buurten = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'buurt' AND gm_code = 'GMD001' ORDER BY code"
        " LIMIT 3").fetchall()]
    reference, start, end = _period(con, "gebiedsscan")
    content = build(con, scope=UNIT, kind="gebiedsscan", area=",".join(buurten),
                    reference=reference)
    for title, current, previous, *_ in _table(content, "Kerncijfers").rows:
        assert current == _count(con, buurten, _types(con, title), start, end, "bu_code"), title
    assert len(_table(content, "Misdrijven per buurt").rows) == 3
    heat = {f.title: f.figure for s in content.sections for f in s.figures}[
        "Woninginbraken naar dag en uur"]
    assert sum(map(sum, heat["data"][0]["z"])) == _count(con, buurten, ["1.1.1"], start, end,
                                                         "bu_code")
    # a free set of buurten counts every type: detail level 3 only (data/disclosure.py)
    with pytest.raises(OutOfScope):
        build(con, scope=MAYOR, kind="gebiedsscan", area=",".join(buurten), reference=reference)
    other = con.execute("SELECT code FROM areas WHERE level = 'buurt' AND gm_code = 'GMD002'"
                        " LIMIT 1").fetchall()[0][0]
    with pytest.raises(OutOfScope):
        build(con, scope=Scope(frozenset({"GMD001"}), 3), kind="gebiedsscan",
              area=f"{buurten[0]},{other}", reference=reference)


# -- figures as of the peildatum -----------------------------------------------------------------

def _reference(con, kind: str) -> date:
    """A peildatum for every kind: the comparison products' own, otherwise the first day of
    the newest month (the reports of the month before it, the days before it)."""
    return _period(con, kind)[0] if kind in KINDS[:4] else _latest(con)


@pytest.fixture(scope="module")
def late_db(con, demo_db, tmp_path_factory):
    """Per peildatum, a copy of the demo with one woninginbraak (high impact) that happened
    the day before it and was registered the day after it; counts rebuilt. (One copy each: a
    late registration of one peildatum is a registration in time for a later one.)"""
    from data.incidents import append_incidents, finalize_incidents
    from data.products.model import KINDS as ALL

    from .conftest import demo_copy

    copies = {}
    for reference in sorted({_reference(con, kind) for kind in ALL}):
        path = demo_copy(demo_db, tmp_path_factory.mktemp(f"late{reference:%Y%m%d}"))
        writer = connect_db(path, read_only=False)
        row = writer.execute("SELECT * FROM incidents WHERE gm_code = 'GMD001'"
                             " AND bu_code IS NOT NULL LIMIT 1").df()
        day_before = date.fromordinal(reference.toordinal() - 1)
        row["id"] = "LATE-1"
        row["occurred_at"] = f"{day_before} 12:00:00"
        row["occurred_date"] = day_before
        row["registered_at"] = f"{date.fromordinal(reference.toordinal() + 1)} 09:00:00"
        row["type_code"], row["attempt"], row["high_impact"] = "1.1.1", False, True
        append_incidents(writer, row)
        finalize_incidents(writer)
        writer.close()
        copies[reference] = connect_db(path)
    yield copies
    for connection in copies.values():
        connection.close()


@pytest.mark.parametrize("kind", ["stuurgegevens", "tabellenboek", "incidentenrapport",
                                  "operationeel_beeld", *KINDS])
def test_a_registration_after_the_peildatum_is_not_counted(con, late_db, kind):
    """Every kind counts what was registered up to and including its peildatum: a burglary of
    the day before, registered the day after, changes nothing — although the database's own
    monthly counts (what the pages show today) do count it."""
    reference = _reference(con, kind)
    month = _month(reference.year, reference.month - 1)
    late_db = late_db[reference]
    before, after = (c.execute(
        "SELECT sum(count) FROM counts WHERE source = 'incidents' AND area_code = 'GMD001'"
        " AND type_code = '1.1.1' AND period_start = ?", [month]).fetchall()[0][0]
        for c in (con, late_db))
    assert after == before + 1
    scope = UNIT if kind in ("incidentenrapport", "operationeel_beeld") else MAYOR
    original = build(con, scope=scope, kind=kind, area="GMD001", reference=reference)
    late = build(late_db, scope=scope, kind=kind, area="GMD001", reference=reference)
    assert json.dumps(dataclasses.asdict(late), default=str) == \
        json.dumps(dataclasses.asdict(original), default=str)


@pytest.mark.parametrize("frequency, days", [("tweewekelijks", 14), ("wekelijks", 7)])
def test_the_operational_picture_covers_its_whole_agreed_period(con, frequency, days):
    """Agreed two-weekly (or weekly), the operational picture holds the larger incidents of
    every day of those weeks, grouped per day, gemeente, type and kind — not just 24 hours."""
    from datetime import timedelta
    from types import SimpleNamespace

    reference = _latest(con)
    start = reference - timedelta(days=days)
    direct = con.execute(
        "SELECT occurred_date, count(*) FROM incidents WHERE gm_code = 'GMD001'"
        " AND occurred_at >= ? AND occurred_at < ? AND (high_impact OR type_code = 'N06')"
        " AND registered_at < ?::DATE + INTERVAL 1 DAY GROUP BY 1",
        [start, reference, reference]).fetchall()
    assert len(direct) >= days - 3  # the demo has larger incidents on most days
    content = build(con, scope=MAYOR, kind="operationeel_beeld", area="GMD001",
                    reference=reference,
                    profile=SimpleNamespace(products={"operationeel_beeld": frequency},
                                            driehoek=None))
    table = _table(content, "Incidenten (geanonimiseerd)")
    assert table.header == ["Dag", "Gemeente", "Soort", "Aard", "Aantal"]
    per_day: dict[str, int] = {}
    for day, *_rest, n in table.rows:
        per_day[day] = per_day.get(day, 0) + n
    assert per_day == {f"{d:%d-%m-%Y}": n for d, n in direct}
    assert f"({frequency})" in content.sections[0].paragraphs[0]


# -- "geen gegevens" where the incident registration does not reach -------------------------------

NO_DATA = "geen gegevens"


def _first(con) -> date:
    """The first month of the incident registration (what the coverage module calls its
    span's start), from the incidents directly."""
    return con.execute("SELECT date_trunc('month', min(occurred_date))::DATE FROM incidents"
                       ).fetchall()[0][0]


def _uncovered(con, when: str) -> date:
    """A peildatum whose period the registration does not cover: months before its first
    month, months after its newest (a peildatum in the future), or days straddling its start."""
    if when == "before":
        return _month(_first(con).year, _first(con).month - 5)
    if when == "future":
        return _month(_latest(con).year, _latest(con).month + 3)
    return date.fromordinal(_first(con).toordinal() + 3)  # 14 days back: into the month before


def _numbers(rows, skip: int) -> list:
    return [v for row in rows for v in row[skip:] if isinstance(v, (int, float))]


@pytest.mark.parametrize("when", ["before", "future", "straddling"])
def test_incidentenrapport_outside_the_registration_says_geen_gegevens(con, when):
    """Veendijk, a peildatum whose two weeks the registration does not (wholly) cover: every
    count is "geen gegevens" — in the sentence, the table and the incident list — never 0 (nor
    the count of the few days it does cover)."""
    reference = _uncovered(con, when)
    content = build(con, scope=UNIT, kind="incidentenrapport", area="GMD002",
                    reference=reference)
    table = _table(content, "Incidenten naar soort")
    assert table.rows[-1] == ["", "Totaal", NO_DATA]
    assert _numbers(table.rows, 2) == []
    assert NO_DATA in table.note and "niet 0" in table.note
    first = content.sections[0].paragraphs[0]
    assert f"in Veendijk {NO_DATA}" in first and not re.search(r"\b\d+ incidenten", first), first
    listed = content.sections[1]
    assert listed.title == "Incidenten" and not listed.tables
    assert NO_DATA in listed.paragraphs[0]
    if when == "straddling":  # registrations exist in the days it covers: still not a count
        assert con.execute("SELECT count(*) FROM incidents WHERE gm_code = 'GMD002'"
                           " AND occurred_date >= ? AND occurred_date < ?",
                           [date.fromordinal(reference.toordinal() - 14), reference]
                           ).fetchall()[0][0] > 0


@pytest.mark.parametrize("when", ["before", "future"])
def test_operationeel_beeld_outside_the_registration_says_geen_gegevens(con, when):
    from datetime import datetime

    reference = _uncovered(con, when)
    content = build(con, scope=UNIT, kind="operationeel_beeld", area="GMD002",
                    reference=datetime(reference.year, reference.month, reference.day))
    summary = _table(content, "Per gemeente")
    assert summary.rows == [["Veendijk", NO_DATA, NO_DATA, NO_DATA],
                            ["Totaal", NO_DATA, NO_DATA, NO_DATA]]
    sentence = content.sections[0].paragraphs[0]
    assert NO_DATA in sentence and not re.match(r"\d", sentence), sentence
    listed = _table(content, "Incidenten (geanonimiseerd)")
    assert listed.rows == [] and NO_DATA in listed.note


def test_incident_products_keep_a_real_zero_where_the_registration_covers(con):
    """Inside the registration, nothing registered is 0, not "geen gegevens": a week without
    the rarest type in Veendijk, and a day without larger incidents there."""
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    rare = con.execute("SELECT type_code FROM incidents GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
                       ).fetchall()[0][0]
    reference = _latest(con)
    assert _count(con, ["GMD002"], [rare], reference - timedelta(days=7), reference) == 0
    content = build(con, scope=UNIT, kind="incidentenrapport", area="GMD002",
                    reference=reference, profile=SimpleNamespace(
                        products={"incidentenrapport": "wekelijks"}, driehoek=[rare]))
    assert _table(content, "Incidenten naar soort").rows == [["", "Totaal", 0]]
    assert " 0 incidenten van de afgesproken soorten geregistreerd" in \
        content.sections[0].paragraphs[0]
    assert content.sections[1].tables[0].rows == []  # the list: none, not "geen gegevens"

    quiet = con.execute(
        "SELECT d::DATE FROM generate_series(?::DATE, ?::DATE - 1, INTERVAL 1 DAY) t(d)"
        " WHERE d::DATE NOT IN (SELECT occurred_date FROM incidents WHERE gm_code = 'GMD002'"
        " AND (high_impact OR type_code = 'N06')) ORDER BY 1 DESC LIMIT 1",
        [_first(con), reference]).fetchall()
    assert quiet, "the demo has a day without larger incidents in Veendijk"
    day = quiet[0][0] + timedelta(days=1)
    content = build(con, scope=UNIT, kind="operationeel_beeld", area="GMD002",
                    reference=datetime(day.year, day.month, day.day))
    assert _table(content, "Per gemeente").rows == [["Veendijk", 0, 0, 0], ["Totaal", 0, 0, 0]]
    assert content.sections[0].paragraphs[0].startswith("0 grotere incidenten")


@pytest.fixture(scope="module")
def without_zandmeer(demo_db, tmp_path_factory):
    """A copy of the demo in which Zandmeer (GMD004) has no registrations at all."""
    from .conftest import demo_copy, edit_incidents

    path = demo_copy(demo_db, tmp_path_factory.mktemp("zandmeer"))
    writer = connect_db(path, read_only=False)
    edit_incidents(writer, "DELETE FROM {staging} WHERE gm_code = 'GMD004'")
    writer.close()
    connection = connect_db(path)
    yield connection
    connection.close()


def test_a_gemeente_without_registrations_is_geen_gegevens_beside_the_others(without_zandmeer):
    """Basisteam Polderland, one of whose gemeenten has no registrations: its column and the
    sum are "geen gegevens", the other gemeenten keep their counts (as in data.queries.coverage:
    the registration covers only gemeenten that have any)."""
    from datetime import datetime

    con = without_zandmeer
    reference = _latest(con)
    content = build(con, scope=UNIT, kind="incidentenrapport", area="REDL-B2",
                    reference=reference)
    table = _table(content, "Incidenten naar soort")
    zandmeer = table.header.index("Zandmeer")
    assert all(row[zandmeer] == NO_DATA and row[-1] == NO_DATA for row in table.rows)
    others = [i for i, name in enumerate(table.header) if name in ("Veendijk", "Heuvelrode")]
    assert all(isinstance(row[i], int) for row in table.rows for i in others)
    assert "in Zandmeer geen gegevens" in content.sections[0].paragraphs[0]
    content = build(con, scope=UNIT, kind="operationeel_beeld", area="REDL-B2",
                    reference=datetime(reference.year, reference.month, reference.day))
    rows = {row[0]: row[1:] for row in _table(content, "Per gemeente").rows}
    assert rows["Zandmeer"] == rows["Totaal"] == [NO_DATA] * 3
    assert all(isinstance(v, int) for v in rows["Veendijk"] + rows["Heuvelrode"])
