"""The incident query layer against the real demo DuckDB: access rules per detail level, filter
parsing, and every count and page checked against an independent direct SQL query."""
from __future__ import annotations

import re
from datetime import date

import pytest

from data.queries import incidents as q
from data.scope import OutOfScope, Scope
from data.segments import connect as connect_db


@pytest.fixture(scope="module")
def con(demo_db):
    connection = connect_db(demo_db)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def gemeenten(con):
    return sorted(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())


def scope_of(codes, detail=3):
    return Scope(frozenset(codes), detail)


def direct_count(con, where: str, params=()) -> int:
    return con.execute(f"SELECT count(*) FROM incidents WHERE {where}", list(params)).fetchall()[0][0]


def direct_ids(con, where: str, params=(), order="occurred_at DESC, id DESC", limit=100, offset=0):
    return [r[0] for r in con.execute(
        f"SELECT id FROM incidents WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        list(params)).fetchall()]


# -- access rules --------------------------------------------------------------------------------

def test_detail_one_and_empty_scopes_get_no_rows(con, gemeenten):
    flt = q.IncidentFilter()
    for scope in (Scope(), scope_of(gemeenten, 1), scope_of([], 3)):
        with pytest.raises(OutOfScope):
            q.incident_page(con, scope=scope, flt=flt)
        with pytest.raises(OutOfScope):
            q.count_incidents(con, scope=scope, flt=flt)
        with pytest.raises(OutOfScope):
            q.export_query(con, scope=scope, flt=flt)
        assert q.columns_for(scope=scope) == []


def test_detail_two_sees_no_address_or_text_and_cannot_probe_it(con, gemeenten):
    scope = scope_of(gemeenten[:1], 2)
    keys = [c.key for c in q.columns_for(scope=scope)]
    assert "id" in keys and "buurt" in keys
    assert not {"pc6", "straat", "huisnummer", "mo", "samenvatting"} & set(keys)
    row = q.incident_page(con, scope=scope, flt=q.IncidentFilter(), limit=1)[0]
    assert set(row) == set(keys)
    with pytest.raises(OutOfScope):
        q.incident_page(con, scope=scope, flt=q.IncidentFilter(), columns="id,straat")
    with pytest.raises(OutOfScope):  # sorting on a hidden column would reveal its order
        q.incident_page(con, scope=scope, flt=q.IncidentFilter(), sort=q.Sort("straat"))
    with pytest.raises(OutOfScope):  # searching hidden text would reveal it
        q.count_incidents(con, scope=scope, flt=q.parse_filter({"q": "fiets"}))
    full = [c.key for c in q.columns_for(scope=scope_of(gemeenten[:1], 3))]
    assert {"pc6", "straat", "huisnummer", "mo", "samenvatting"} <= set(full)


def test_rows_never_leave_the_scope(con, gemeenten):
    own, other = gemeenten[0], gemeenten[1]
    scope = scope_of([own], 2)
    rows = q.incident_page(con, scope=scope, flt=q.IncidentFilter(), limit=1000)
    names = {r[0] for r in con.execute("SELECT name FROM areas WHERE code = ?", [own]).fetchall()}
    assert rows and {r["gemeente"] for r in rows} == names
    assert q.count_incidents(con, scope=scope, flt=q.IncidentFilter()) == direct_count(
        con, "gm_code = ?", [own])
    other_buurt = con.execute("SELECT code FROM areas WHERE level = 'buurt' AND gm_code = ?"
                              " LIMIT 1", [other]).fetchall()[0][0]
    for area in (other, other_buurt):
        with pytest.raises(OutOfScope):
            q.count_incidents(con, scope=scope, flt=q.parse_filter({"area": area}))
        with pytest.raises(OutOfScope):  # also mixed with an area that is in scope
            q.incident_page(con, scope=scope, flt=q.parse_filter({"area": [own, area]}))


@pytest.mark.parametrize("params,message", [
    ({"from": "2025-13-01"}, "geen bestaande datum"),
    ({"from": "gisteren"}, "JJJJ-MM-DD"),
    ({"from": "2025-02-01", "to": "2025-01-01"}, "einddatum"),
    ({"attempt": "misschien"}, "'ja' of 'nee'"),
    ({"q": "x" * 201}, "200 tekens"),
])
def test_malformed_filters_are_refused_with_a_dutch_message(params, message):
    with pytest.raises(q.FilterError, match=message):
        q.parse_filter(params)


def test_unknown_codes_and_columns_are_refused(con, gemeenten):
    scope = scope_of(gemeenten)
    with pytest.raises(q.FilterError, match="onbekend gebied"):
        q.count_incidents(con, scope=scope, flt=q.parse_filter({"area": "GM9999"}))
    with pytest.raises(q.FilterError, match="onbekende soort"):
        q.count_incidents(con, scope=scope, flt=q.parse_filter({"type": "9.9.9"}))
    with pytest.raises(q.FilterError):
        q.parse_sort("-bestaat_niet")
    with pytest.raises(q.FilterError):
        q.incident_page(con, scope=scope, flt=q.IncidentFilter(), columns="id,geheim")


# -- counts and pages equal direct SQL ------------------------------------------------------------

def last_year(con) -> int:
    """The last complete year of the data (the demo's window moves with today's date)."""
    return con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0].year - 1


def _cases(con, gemeenten):
    gm = gemeenten[0]
    y = last_year(con)
    wijk, buurt = con.execute("SELECT wk_code, code FROM areas WHERE level = 'buurt' AND gm_code = ?"
                              " ORDER BY code LIMIT 1", [gm]).fetchall()[0]
    pc4 = con.execute("SELECT pc4 FROM incidents WHERE gm_code = ? AND pc4 IS NOT NULL LIMIT 1",
                      [gm]).fetchall()[0][0]
    burglary = "type_code = '1.1.1'"
    return [
        ({}, "true", []),
        ({"type": "woninginbraak"}, burglary, []),
        ({"type": "woninginbraak", "attempt": "ja"}, burglary + " AND attempt", []),
        ({"from": f"{y}-01-01", "to": f"{y}-12-31"},
         f"occurred_date BETWEEN DATE '{y}-01-01' AND DATE '{y}-12-31'", []),
        ({"from": f"{y - 1}-03-17", "to": f"{y}-02-09", "type": "geweld"},
         f"occurred_date BETWEEN DATE '{y - 1}-03-17' AND DATE '{y}-02-09' AND type_code IN"
         " ('1.4.1','1.4.2','1.4.3','1.4.4','1.4.5')", []),
        ({"from": f"{y}-05-03", "to": f"{y}-05-20"},
         f"occurred_date BETWEEN DATE '{y}-05-03' AND DATE '{y}-05-20'", []),
        ({"high_impact": "ja"}, "high_impact", []),
        ({"q": "fiets"}, "(lower(summary) LIKE '%fiets%' OR lower(mo) LIKE '%fiets%')", []),
        ({"area": gm}, "gm_code = ?", [gm]),
        ({"area": wijk}, "wk_code = ?", [wijk]),
        ({"area": buurt, "type": "1.2.3"}, "bu_code = ? AND type_code = '1.2.3'", [buurt]),
        ({"area": pc4}, "pc4 = ?", [pc4]),
        ({"area": [gemeenten[1], buurt]}, "(gm_code = ? OR bu_code = ?)", [gemeenten[1], buurt]),
        ({"area": "REDL"}, "true", []),
    ]


def test_counts_equal_direct_sql(con, gemeenten):
    scope = scope_of(gemeenten)
    for params, where, args in _cases(con, gemeenten):
        expected = direct_count(con, where, args)
        assert expected > 0, params
        assert q.count_incidents(con, scope=scope, flt=q.parse_filter(params)) == expected, params


def test_pages_equal_direct_sql_in_order(con, gemeenten):
    scope = scope_of(gemeenten)
    for params, where, args in _cases(con, gemeenten):
        flt = q.parse_filter(params)
        for offset in (0, 100, 5000):
            got = [r["id"] for r in q.incident_page(con, scope=scope, flt=flt, offset=offset,
                                                    limit=100)]
            assert got == direct_ids(con, where, args, offset=offset), (params, offset)
    oldest = [r["id"] for r in q.incident_page(con, scope=scope, flt=q.IncidentFilter(),
                                               sort=q.parse_sort("pleegdatum"), offset=200)]
    assert oldest == direct_ids(con, "true", order="occurred_at ASC, id ASC", offset=200)
    by_type = [r["id"] for r in q.incident_page(con, scope=scope, flt=q.IncidentFilter(),
                                                sort=q.parse_sort("-soort_code"))]
    assert by_type == direct_ids(con, "true", order="type_code DESC, id DESC")
    assert q.incident_page(con, scope=scope, flt=q.IncidentFilter(), offset=10**9) == []


def test_export_query_matches_the_filter(con, gemeenten):
    scope = scope_of(gemeenten[:1], 3)
    since = date(last_year(con), 1, 1)
    flt = q.parse_filter({"type": "woninginbraak", "from": since.isoformat()})
    sql, params, chosen = q.export_query(con, scope=scope, flt=flt, columns="id,samenvatting")
    assert [c.key for c in chosen] == ["id", "samenvatting"]
    rows = con.execute(sql, params).fetchall()
    assert [r[0] for r in rows] == direct_ids(
        con, "gm_code = ? AND type_code = '1.1.1' AND occurred_date >= ?",
        [gemeenten[0], since], limit=10**9)


def test_export_windows_cover_every_row_once(con, gemeenten):
    scope = scope_of(gemeenten)
    flt = q.IncidentFilter()
    windows = q.export_windows(con, scope=scope, flt=flt, rows_per_window=20_000)
    assert len(windows) > 3
    ids = []
    for window in windows:
        sql, params, _ = q.export_query(con, scope=scope, flt=flt, columns="id", window=window)
        ids += [r[0] for r in con.execute(sql, params).fetchall()]
    assert ids == direct_ids(con, "true", limit=10**9)
    assert q.export_windows(con, scope=scope, flt=flt, sort=q.parse_sort("soort")) == [None]
    assert date(2000, 1, 1) > windows[-1][0]  # newest first: the oldest window is open-ended


def test_columns_declared_never_null_read_only_not_null_columns(con):
    """The CSV line query quotes a column with ``nullable=False`` without testing for NULL (a
    NULL there would come out as "" instead of an empty cell), so such a column may read only
    incidents columns the schema declares NOT NULL (a joined name only as coalesce(name, code))."""
    not_null = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'incidents'"
        " AND NOT is_nullable").fetchall()}
    assert {"id", "occurred_at", "gm_code"} <= not_null
    for column in q.COLUMNS:
        if column.nullable:
            continue
        sql = re.sub(r"coalesce\(\w+\.\w+, (i\.\w+)\)", r"\1", column.sql)
        assert not re.search(r"\b(?!i\.)[a-z]\.\w+", sql), column.key
        read = set(re.findall(r"\bi\.(\w+)", sql))
        assert read and read <= not_null, column.key
