"""Incident exports (CSV streamed, XLSX), their progress endpoint and the `export incidents`
command: real DuckDB, a real gunicorn server on a copy of the demo database, no mocks.

The copy holds six extra Havenstad incidents whose street, MO and summary start with a formula
character, and gives Havenstad (GMD001) detail level 2 so that its mayor may export rows."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from data.segments import connect as connect_db
from dataclasses import dataclass
from datetime import date, timedelta

import openpyxl
import pytest

from data.periods import add_months
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, LiveServer, edit_incidents, http_login

INJECTED = ["=1+1", "+31 6 HYPERLINK", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]
INJECTED_IDS = [f"X{n:09d}" for n in range(len(INJECTED))]


@dataclass(frozen=True)
class Span:
    """Two complete months of demo data (derived from the data, as the demo's window moves
    with today's date): ``start`` .. ``end`` inclusive, ``day`` a day in the first month."""
    start: date
    end: date

    @property
    def day(self) -> date:
        return self.start + timedelta(days=14)

    @property
    def first_month_end(self) -> date:
        return add_months(self.start, 1) - timedelta(days=1)

    @property
    def filter(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@pytest.fixture(scope="module")
def span(demo_db) -> Span:
    """The two months before the last complete month of the demo's incidents."""
    con = Store(demo_db).read()
    newest = con.execute("SELECT max(occurred_date) FROM incidents").fetchone()[0]
    running = date(newest.year, newest.month, 1)
    return Span(add_months(running, -3), add_months(running, -1) - timedelta(days=1))


@pytest.fixture(scope="module")
def export_db(demo_db, span, tmp_path_factory):
    """A copy of the demo database with formula-like incidents, written through data.store."""
    import pandas as pd

    from data.incidents import append_incidents, finalize_incidents

    folder = tmp_path_factory.mktemp("export")
    base = folder / "base.duckdb"
    shutil.copyfile(demo_db.resolve(), base)
    path = folder / "demo.duckdb"
    os.symlink(base, path)
    store = Store(path)
    with store.write("formula incidents") as con:
        frame = con.execute("SELECT * FROM incidents WHERE gm_code = 'GMD001' AND"
                            " occurred_date = ? ORDER BY id LIMIT 6", [span.day]).df()
        assert len(frame) == len(INJECTED)
        frame["id"] = INJECTED_IDS
        for column in ("street", "mo", "summary"):
            frame[column] = INJECTED
        append_incidents(con, pd.DataFrame(frame))
        finalize_incidents(con)
    return path


@pytest.fixture(scope="module")
def server(export_db):
    from data.accounts import set_profile

    live = LiveServer(export_db)
    set_profile(StateDB(export_db.parent / "appstate.sqlite"), "GMD001", by="test", detail=2)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def con(export_db, server):
    return Store(export_db).read()


def log_rows(db, view):
    state = StateDB(db.parent / "appstate.sqlite")
    return [dict(r) for r in state.query("SELECT * FROM protocol_log WHERE view = ? ORDER BY id",
                                         (view,))]


def direct_ids(con, gemeenten, start, end, extra="", params=()):
    """The reference: bare DuckDB, newest first (the export's default sort)."""
    rows = con.execute(
        "SELECT id FROM incidents WHERE gm_code IN (SELECT unnest(?::VARCHAR[]))"
        f" AND occurred_date BETWEEN ? AND ? {extra} ORDER BY occurred_at DESC, id DESC",
        [sorted(gemeenten), start, end, *params]).fetchall()
    return [r[0] for r in rows]


def unit(con):
    return {r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall()}


def read_csv(content: bytes, sep=";"):
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=sep))
    return rows[0][0], rows[1:]


def read_xlsx(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    info = {row[0]: row[1] for row in book["Info"].iter_rows(values_only=True)}
    data_sheets = [name for name in book.sheetnames if name.startswith("Incidenten")]
    rows, header = [], None
    for name in data_sheets:
        sheet = list(book[name].iter_rows())
        header = [c.value for c in sheet[0]]
        for row in sheet[1:]:
            for cell in row:
                assert cell.data_type in ("s", "n") and (cell.value is None
                                                          or isinstance(cell.value, str))
            # xlsxwriter stores a CR as _x000D_ (XML would turn it into LF); Excel shows a CR,
            # openpyxl leaves the escape in inline strings.
            rows.append(["" if c.value is None else c.value.replace("_x000D_", "\r")
                         for c in row])
    return book, info, header, rows


def test_csv_is_exactly_the_filtered_rows_of_the_scope(server, export_db, con, span):
    session = http_login(server, "analist")
    before = len(log_rows(export_db, "incidenten/export-csv"))
    response = session.get(server.url + "/incidenten/export.csv", params={
        **span.filter, "attempt": "nee", "columns": "id,pleegdatum,soort,straat,samenvatting"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="incidenten-') and '.csv"' in disposition
    first, rows = read_csv(response.content)
    assert first.startswith("# Veiligheidsbeeld export; gemaakt door analist")
    assert f"filters Van: {span.start:%d-%m-%Y} · " in first and "Poging: nee" in first
    assert re.search(r"; op \d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2};", first), first
    assert rows[0] == ["Registratienummer", "Pleegdatum", "Soort", "Straat", "Samenvatting"]
    expected = direct_ids(con, unit(con), span.start, span.end,
                          "AND NOT attempt")
    assert len(expected) > 1000
    assert [r[0] for r in rows[1:]] == expected
    logged = log_rows(export_db, "incidenten/export-csv")[before:]
    assert len(logged) == 1 and logged[0]["outcome"] == "ok" and logged[0]["user"] == "analist"
    assert logged[0]["rows"] == len(expected)
    filters = json.loads(logged[0]["filters"])
    assert filters["columns"] == ["id", "pleegdatum", "soort", "straat", "samenvatting"]
    assert filters["sort"] == "-pleegdatum" and filters["start"] == span.start.isoformat()


def test_csv_comma_separator_and_ascending_sort(server, con, span):
    session = http_login(server, "analist")
    response = session.get(server.url + "/incidenten/export.csv", params={
        **span.filter, "sep": ",", "sort": "pleegdatum", "columns": "id,pleegdatum"})
    assert response.status_code == 200
    first, rows = read_csv(response.content, sep=",")
    assert response.content.decode("utf-8-sig").splitlines()[1] == "Registratienummer,Pleegdatum"
    expected = direct_ids(con, unit(con), span.start, span.end)
    rows_sorted = con.execute(
        "SELECT id FROM incidents WHERE occurred_date BETWEEN ? AND ?"
        " ORDER BY occurred_at ASC, id ASC", [span.start, span.end]).fetchall()
    assert [r[0] for r in rows[1:]] == [r[0] for r in rows_sorted]
    assert set(expected) == {r[0] for r in rows[1:]}


def test_xlsx_has_the_same_cells_as_the_csv_and_an_info_sheet(server, export_db, con, span):
    session = http_login(server, "analist")
    params = {**span.filter, "area": "GMD001", "high_impact": "ja"}
    before = len(log_rows(export_db, "incidenten/export-xlsx"))
    response = session.get(server.url + "/incidenten/export.xlsx", params=params)
    assert response.status_code == 200, response.text
    assert "spreadsheetml" in response.headers["Content-Type"]
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Content-Disposition"].rstrip('"').endswith(".xlsx")
    book, info, header, rows = read_xlsx(response.content)
    expected = direct_ids(con, {"GMD001"}, span.start, span.end,
                          "AND high_impact")
    assert expected and [r[0] for r in rows] == expected
    assert info["Gemaakt door"] == "analist" and info["Aantal rijen"] == len(expected)
    # Filters in Dutch words for the person who opens the file (the log keeps the JSON).
    day = "%d-%m-%Y"
    assert info["Filters"] == (f"Van: {span.start:{day}} · Tot en met: {span.end:{day}}"
                               " · Gebieden: GMD001 · High impact: ja")
    assert info["Filter van"] == f"{span.start:{day}}" and info["Filter high impact"] == "ja"
    assert re.fullmatch(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}", info["Gemaakt op"])
    assert book.properties.creator == "analist"
    assert book.sheetnames == ["Info", "Incidenten"]
    _, csv_rows = read_csv(session.get(server.url + "/incidenten/export.csv",
                                       params=params).content)
    assert csv_rows[0] == header and len(header) == 17  # all columns of detail 3
    assert csv_rows[1:] == rows  # every cell identical, dates as text
    assert span.start.isoformat() <= rows[0][1][:10] <= span.end.isoformat()
    assert isinstance(rows[0][1], str)
    logged = log_rows(export_db, "incidenten/export-xlsx")[before:]
    assert len(logged) == 1 and logged[0]["rows"] == len(expected)


def test_mayor_exports_only_own_gemeente_without_level_3(server, export_db, con, span):
    session = http_login(server, "burgemeester")  # GMD001 at detail 2 on this copy
    response = session.get(server.url + "/incidenten/export.csv", params=span.filter)
    assert response.status_code == 200, response.text
    _, rows = read_csv(response.content)
    header = rows[0]
    assert "Straat" not in header and "Samenvatting" not in header and "PC6" not in header
    assert "Modus operandi" not in header and "Huisnummer" not in header
    assert [r[0] for r in rows[1:]] == direct_ids(con, {"GMD001"}, span.start, span.end)
    gemeente = header.index("Gemeente")
    assert {r[gemeente] for r in rows[1:]} == {"Havenstad"}
    book, info, xheader, xrows = read_xlsx(session.get(
        server.url + "/incidenten/export.xlsx", params=span.filter).content)
    assert xheader == header and xrows == rows[1:]

    before = len(log_rows(export_db, "incidenten/export-csv"))
    for extra in ({"columns": "id,straat"}, {"area": "GMD002"}, {"q": "fiets"},
                  {"sort": "straat"}, {"columns": "samenvatting"}):
        refused = session.get(server.url + "/incidenten/export.csv",
                              params={**span.filter, **extra})
        assert refused.status_code == 403, extra
        assert refused.text == "U heeft geen toegang tot deze gegevens."
    logged = log_rows(export_db, "incidenten/export-csv")[before:]
    assert [r["outcome"] for r in logged] == ["refused"] * 5
    refused = session.get(server.url + "/incidenten/export.xlsx", params={"columns": "pc6"})
    assert refused.status_code == 403


def test_detail_1_mayor_gets_no_rows(demo_server):
    session = http_login(demo_server, "burgemeester2")
    for fmt in ("csv", "xlsx"):
        response = session.get(demo_server.url + f"/incidenten/export.{fmt}")
        assert response.status_code == 403
        assert "geen toegang" in response.text


def test_injected_formulas_arrive_neutralised(server, con, span):
    session = http_login(server, "analist")
    params = {"from": span.day.isoformat(), "to": span.day.isoformat(), "area": "GMD001",
              "columns": "id,straat,mo,samenvatting"}
    _, rows = read_csv(session.get(server.url + "/incidenten/export.csv", params=params).content)
    injected = {r[0]: r[1:] for r in rows[1:] if r[0] in INJECTED_IDS}
    assert len(injected) == len(INJECTED)
    for cells in injected.values():
        for cell in cells:
            assert cell.startswith("'") and cell[1:] in INJECTED
    _, _, _, xrows = read_xlsx(session.get(server.url + "/incidenten/export.xlsx",
                                           params=params).content)
    xinjected = {r[0]: r[1:] for r in xrows if r[0] in INJECTED_IDS}
    assert xinjected == injected
    # Nothing else starts with a formula character.
    for row in rows[1:] + xrows:
        for cell in row:
            assert not str(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_bad_parameters_are_a_dutch_400_before_any_byte(server, export_db):
    session = http_login(server, "analist")
    before = len(log_rows(export_db, "incidenten/export-csv"))
    for params, words in (({"from": "2026-13-01"}, "datum"), ({"sep": "|"}, "sep"),
                          ({"sort": "nope"}, "sort"), ({"columns": "nope"}, "kolom"),
                          ({"attempt": "misschien"}, "ja"), ({"job": "kort"}, "job"),
                          ({"from": "2026-02-01", "to": "2026-01-01"}, "einddatum"),
                          ({"type": "geen-soort"}, "soort"), ({"area": "XX999"}, "gebied")):
        response = session.get(server.url + "/incidenten/export.csv", params=params)
        assert response.status_code == 400, params
        assert words in response.text and response.headers["Content-Type"].startswith(
            "text/plain")
    assert len(log_rows(export_db, "incidenten/export-csv")) == before


def test_xlsx_row_limit_points_to_csv(server, con):
    from data.export import XLSX_ROW_LIMIT, ExportTooLarge, check_xlsx_size

    check_xlsx_size(10, limit=10)
    with pytest.raises(ExportTooLarge, match="Kies CSV"):
        check_xlsx_size(11, limit=10)
    everything = con.execute("SELECT count(*) FROM incidents").fetchall()[0][0]
    assert everything > XLSX_ROW_LIMIT  # the whole demo unit is too much for Excel
    session = http_login(server, "analist")
    response = session.get(server.url + "/incidenten/export.xlsx")
    assert response.status_code == 400 and "Kies CSV" in response.text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_progress_is_shared_and_private(server, fmt, span):
    session = http_login(server, "analist")
    job = f"test-{uuid.uuid4()}"
    status = session.get(server.url + "/incidenten/export-status", params={"job": job})
    assert status.status_code == 404
    response = session.get(server.url + f"/incidenten/export.{fmt}",
                           params={**span.filter, "job": job})
    assert response.status_code == 200
    total = int(response.headers["X-Export-Rows"])
    # Two workers: ask a few times so that both answer at least once.
    for _ in range(4):
        status = session.get(server.url + "/incidenten/export-status", params={"job": job})
        assert status.status_code == 200
        assert status.json() == {"total": total, "done": total, "finished": True,
                                 "error": None}
    other = http_login(server, "teamchef")
    assert other.get(server.url + "/incidenten/export-status",
                     params={"job": job}).status_code == 404
    taken = other.get(server.url + f"/incidenten/export.{fmt}", params={"job": job})
    assert taken.status_code == 409
    assert session.get(server.url + "/incidenten/export-status",
                       params={"job": "x"}).status_code == 400


def test_xlsx_continues_on_numbered_sheets(export_db, con, tmp_path, span):
    from data.export import provenance, xlsx_file
    from data.queries.incidents import IncidentFilter
    from data.scope import Scope

    flt = IncidentFilter(start=span.start, end=span.first_month_end)
    path = tmp_path / "sheets.xlsx"
    n = xlsx_file(con, scope=Scope(frozenset({"GMD001"}), 2), flt=flt, columns="id",
                  info=provenance(user="t", flt=flt), path=path, sheet_rows=500)
    book = openpyxl.load_workbook(path, read_only=True)
    names = [s for s in book.sheetnames if s != "Info"]
    assert names[:3] == ["Incidenten", "Incidenten (2)", "Incidenten (3)"]
    ids = []
    for name in names:
        rows = list(book[name].iter_rows(values_only=True))
        assert rows[0] == ("Registratienummer",) and len(rows) <= 500
        ids += [r[0] for r in rows[1:]]
    assert ids == direct_ids(con, {"GMD001"}, span.start, span.first_month_end)
    assert n == len(ids)


def cli(db, *args):
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), "export",
                           "incidents", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_export_equals_the_web_export(server, export_db, tmp_path, span):
    session = http_login(server, "teamchef")
    web = session.get(server.url + "/incidenten/export.csv", params={
        **span.filter, "type": "woninginbraak", "columns": "id,pleegdatum,straat",
        "sep": ","}).content
    before = len(log_rows(export_db, "cli/export"))
    out = tmp_path / "levering" / "teamchef.csv"
    done = cli(export_db, "--as", "teamchef", "--from", span.filter["from"],
               "--to", span.filter["to"],
               "--type", "woninginbraak", "--columns", "id,pleegdatum,straat", "--sep", ",",
               "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    file = out.read_bytes()
    assert file.split(b"\n", 1)[1] == web.split(b"\n", 1)[1]  # all but the provenance line
    assert b"# Veiligheidsbeeld export; gemaakt door teamchef" in file.split(b"\n", 1)[0]
    logged = log_rows(export_db, "cli/export")[before:]
    assert len(logged) == 1 and logged[0]["user"] == "teamchef"
    assert logged[0]["rows"] == file.count(b"\n") - 2

    xlsx = tmp_path / "b.xlsx"
    done = cli(export_db, "--as", "burgemeester", "--from", span.filter["from"],
               "--to", span.filter["to"],
               "--format", "xlsx", "--out", str(xlsx))
    assert done.returncode == 0, done.stderr
    web_rows = read_xlsx(http_login(server, "burgemeester").get(
        server.url + "/incidenten/export.xlsx", params=span.filter).content)[2:]
    assert read_xlsx(xlsx.read_bytes())[2:] == web_rows

    bad = cli(export_db, "--as", "burgemeester", "--from", "2026-02-30", "--format", "csv",
              "--out", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and "geen bestaande datum" in bad.stderr
    outside = cli(export_db, "--as", "burgemeester", "--gemeente", "GMD002", "--format", "csv",
                  "--out", str(tmp_path / "x.csv"))
    assert outside.returncode == 3 and "geen toegang" in outside.stderr
    level3 = cli(export_db, "--as", "burgemeester", "--columns", "straat", "--format", "csv",
                 "--out", str(tmp_path / "x.csv"))
    assert level3.returncode == 3
    assert cli(export_db, "--as", "niemand", "--format", "csv",
               "--out", str(tmp_path / "x.csv")).returncode == 1
    assert not (tmp_path / "x.csv").exists()
    assert [r["outcome"] for r in log_rows(export_db, "cli/export")[before + 2:]] == \
        ["refused", "refused"]


TRICKY = ['say "hi"', '"', "a;b", "a,b", "two\nlines", "cr\rhere", "", None, "ünïcødé €",
          '=1+"x"', "-", " ;", "'quoted'"]


@pytest.mark.parametrize("sep", [";", ","])
def test_csv_cells_are_quoted_as_pyarrow_wrote_them(demo_db, tmp_path, sep):
    """The CSV lines DuckDB writes (``export_query(csv_sep=...)``) are byte for byte what
    pyarrow's CSV writer made of the same columns before: every text value in double quotes
    with quotes doubled, NULL an empty cell, the separator and newlines inside quotes."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from data.export import csv_chunks
    from data.queries.incidents import IncidentFilter, export_query
    from data.scope import Scope

    path = tmp_path / "tricky.duckdb"
    shutil.copyfile(demo_db.resolve(), path)
    con = connect_db(path, read_only=False)
    gm, day = con.execute("SELECT gm_code, occurred_date FROM incidents"
                          " GROUP BY ALL HAVING count(*) >= ? LIMIT 1", [len(TRICKY)]).fetchone()
    ids = [r[0] for r in con.execute("SELECT id FROM incidents WHERE gm_code = ? AND"
                                     " occurred_date = ? ORDER BY id LIMIT ?",
                                     [gm, day, len(TRICKY)]).fetchall()]
    edit_incidents(con, *[("UPDATE {staging} SET street = ?, house_number = ?, mo = ?,"
                           " summary = ?, pc6 = ? WHERE id = ?", [text] * 5 + [id_])
                          for id_, text in zip(ids, TRICKY)])
    scope, flt = Scope(frozenset([gm]), 3), IncidentFilter(start=day, end=day)

    sql, params, _ = export_query(con, scope=scope, flt=flt)
    expected = pa.BufferOutputStream()
    pacsv.write_csv(con.sql(sql, params=params).to_arrow_table(), expected,
                    pacsv.WriteOptions(include_header=False, delimiter=sep,
                                       quoting_style="needed"))
    written = b"".join(csv_chunks(con, scope=scope, flt=flt, sep=sep, bom=False, header="key"))
    header, body = written.split(b"\n", 1)
    assert header.startswith(b"id" + sep.encode() + b"pleegdatum")
    assert body == expected.getvalue().to_pybytes()
    assert b'"say ""hi"""' in body and b'"""' in body and b'"two\nlines"' in body
    assert (sep * 5).encode() in body  # the NULL row: empty cells, unquoted
    assert b"\"'=1+\"\"x\"\"\"" in body  # neutralised, then quoted
    con.close()
