"""Bad input: fatal problems stop an import with a message naming file, line and column and leave
the database byte-for-byte unchanged; row-level problems are rejected into <file>.rejected.csv
with line numbers and reasons while the good rows are imported. Runs on a small made-up
geography, so it needs no ../shared/data."""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data.importers import FatalImportError, run_import
from data.store import Store

from . import small_geography
from .conftest import ROOT


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    return small_geography.build(tmp_path_factory.mktemp("small")).path


@pytest.fixture
def store(base_db, tmp_path) -> Store:
    """A private copy of the small geography database."""
    target = tmp_path / "db.duckdb"
    shutil.copyfile(Store(base_db).current_file(), target)
    return Store(target)


def fingerprint(store: Store) -> tuple[str, str]:
    current = store.current_file()
    return str(current), hashlib.sha256(current.read_bytes()).hexdigest()


def cli(*args, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def rejected(path: Path) -> list[dict]:
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


TIDY_HEADER = "area_code,period,crime_code,count\n"
GEOJSON_NOT_JSON = '{"type": "FeatureCollection", "features": [\n  {"type": "Feature",, }\n]}\n'
ONE_FEATURE = json.dumps({"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"statcode": "GMD001", "statnaam": "X"},
    "geometry": {"type": "Polygon", "coordinates": [[[5.0, 52.0], [5.01, 52.0], [5.01, 52.01],
                                                     [5.0, 52.0]]]}}]})

# kind, file name, content, extra CLI arguments, expected line, expected column, message part
FATAL = {
    "empty file": ("counts", "empty.csv", b"", [], 1, 1, "the file is empty"),
    "header only": ("counts", "header.csv", TIDY_HEADER.encode(), [], 2, None, "no data rows"),
    "binary garbage": ("counts", "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", [], 3, 1,
                       "NUL bytes"),
    "latin-1 encoded": ("population", "latin1.csv",
                        "gm_code,gemeente,peildatum,population\nGMD001,Demo,2024-01-01,5\n"
                        "GMD002,Súdwest,2024-01-01,7\n".encode("latin-1"), [], 3, 9,
                        "not valid UTF-8"),
    "utf-16 encoded": ("population", "utf16.csv",
                       "area_code,year,population\nGMD001,2024,5\n".encode("utf-16"), [], 1,
                       4, "UTF-16"),
    "missing required column": ("counts", "nocount.csv",
                                b"area_code,period,crime_code,aantal\nGMD001,2024-03,1.1.1,5\n",
                                [], 1, "count", "required column 'count' is missing"),
    "wrong separator": ("counts", "pipes.csv",
                        b"area_code|period|crime_code|count\nGMD001|2024-03|1.1.1|5\n", [], 1,
                        "area_code", "separator must be ';' or ','"),
    "geojson that is not json": ("boundaries", "broken_2024.geojson", GEOJSON_NOT_JSON.encode(),
                                 ["--level", "gemeente"], 2, 22, "not valid JSON"),
    "boundary file without a vintage": ("boundaries", "gemeenten.geojson", ONE_FEATURE.encode(),
                                        ["--level", "gemeente"], None, None, "pass --vintage"),
    "unknown code field": ("boundaries", "gemeenten.geojson", ONE_FEATURE.encode(),
                           ["--level", "gemeente", "--vintage", "2024", "--code-field", "gm"],
                           None, "gm", "--code-field 'gm' is not an attribute"),
    "incidents without location": ("incidents", "noloc.csv",
                                   b"id,registered_at,occurred_at,type_code\n"
                                   b"1,2024-01-02,2024-01-01,1.1.1\n", [], 1, "x",
                                   "no location columns"),
    # A header of 20,000 columns (118 kB) kept an import busy for minutes with the writer's
    # lock held: too long a first line, as is one huge column name; 2,000 short ones: too many
    "a header of 20,000 columns": ("counts", "wide.csv",
                                   ("area_code,period,crime_code,count,"
                                    + ",".join(f"c{i}" for i in range(20_000))
                                    + "\nGMD001,2024-03,1.1.1,5\n").encode(), [], 1, None,
                                   "the first line is longer than 20,000 characters"),
    "a header longer than any": ("counts", "long.csv", ("area_code,period,crime_code,count"
                                                        + "x" * 500_000
                                                        + "\nGMD001,2024-03,1.1.1,5\n").encode(),
                                 [], 1, None, "the first line is longer than 20,000 characters"),
    "a header of 2,000 columns": ("counts", "many.csv",
                                  ("area_code,period,crime_code,count,"
                                   + ",".join(f"c{i}" for i in range(2_000))
                                   + "\nGMD001,2024-03,1.1.1,5\n").encode(), [], 1, None,
                                  "the header row has 2,004 columns"),
    "boundaries with NaN coordinates only": (
        "boundaries", "wijk_2026.geojson", json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"statcode": "WKD00199", "statnaam": "X"},
            "geometry": {"type": "Polygon", "coordinates": [[[5.0, 52.0], [float("nan"), 52.0],
                                                             [5.01, 52.01], [5.0, 52.0]]]}}]}
        ).encode(), ["--level", "wijk"], None, None,
        "no feature can be imported; first problem (feature 1): geometry has coordinates that"
        " are not numbers"),
    "geojson nested beyond any boundary file": (
        "boundaries", "deep_2024.geojson",
        ('{"type": "FeatureCollection", "features": ' + "[" * 100_000 + "]" * 100_000
         + "}").encode(), ["--level", "gemeente"], None, None, "nested deeper"),
    "strict with one bad row": ("counts", "strict.csv",
                                (TIDY_HEADER + "GMD001,2024-03,1.1.1,5\nGMD009,2024-03,1.1.1,5\n"
                                 "GMD002,2024-03,1.1.1,5\n").encode(), ["--strict"], 3, None,
                                "1 rows rejected (--strict); first: unknown area code GMD009"),
}


@pytest.mark.parametrize("case", list(FATAL), ids=list(FATAL))
def test_fatal_input_exits_nonzero_and_leaves_database_unchanged(case, store, tmp_path):
    kind, name, content, extra, line, column, message = FATAL[case]
    path = tmp_path / name
    path.write_bytes(content)
    before = fingerprint(store)
    result = cli("import", kind, path, *extra, db=store.path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    where = str(path) + (f", line {line}" if line else "") + (
        f", column {column!r}" if column else "")
    assert f"error: {where}: " in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert fingerprint(store) == before
    versions = store.path.with_name(f".{store.path.name}.versions")
    assert not versions.exists() or not any(versions.iterdir())  # no half-written version left
    assert not Path(str(path) + ".rejected.csv").exists()


def test_a_change_while_another_process_writes_stops_at_once_and_says_so(store, tmp_path):
    """An import while another process holds the writer's lock (an import, a derive): one line
    and exit code 75 (try again later), not a traceback; nothing changes."""
    import fcntl

    path = tmp_path / "counts.csv"
    path.write_text(TIDY_HEADER + "GMD001,2024-03,1.1.1,5\n", encoding="utf-8")
    before = fingerprint(store)
    with open(store.path.with_name(store.path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli("import", "counts", path, db=store.path)
    assert result.returncode == 75, (result.stdout, result.stderr)
    assert result.stderr.strip() == (f"error: another process is writing {store.path}: nothing"
                                     " was changed; try again when it is done")
    assert fingerprint(store) == before
    assert cli("import", "counts", path, db=store.path).returncode == 0


def test_fatal_error_as_json(store, tmp_path):
    path = tmp_path / "nocount.csv"
    path.write_text("area_code,period,crime_code\nGMD001,2024-03,1.1.1\n", encoding="utf-8")
    result = cli("import", "counts", path, "--json", db=store.path)
    assert result.returncode == 2
    assert json.loads(result.stdout.splitlines()[0]) | {"error": None} == {
        "error": None, "file": str(path), "line": 1, "column": "count"}


def test_row_level_rejections_via_cli(store, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(TIDY_HEADER +
                    "GMD001,2024-03,1.1.1,5\n"        # 2 ok
                    "GMD009,2024-03,1.1.1,5\n"        # 3 unknown area
                    "GMD001,2024-03,7.7.7,5\n"        # 4 unknown crime code
                    "GMD001,2024-04,1.1.1,-2\n"       # 5 negative
                    "GMD001,maart 2024,1.1.1,5\n"     # 6 bad period
                    "GMD001,2024-05,1.1.1,5,extra\n"  # 7 wrong number of fields
                    "0101,2024-Q1,1.1.1,12\n"         # 8 ok (pc4)
                    "BUD0010101,2024,N01,3\n",        # 9 ok (buurt, non-crime incident type)
                    encoding="utf-8")
    before = fingerprint(store)
    result = cli("import", "counts", path, "--json", db=store.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["rejected"], summary["total"]) == (3, 5, 20)
    assert summary["rejected_file"] == str(path) + ".rejected.csv"
    rows = rejected(path)
    assert [(r["line"], r["reason"].split(" (")[0]) for r in rows] == [
        ("3", "unknown area code GMD009"), ("4", "unknown crime code 7.7.7"),
        ("5", "negative count -2"), ("6", "bad period maart 2024"),
        ("7", "wrong number of fields: Expected Number of Columns: 4 Found: 5")]
    assert rows[0]["area_code"] == "GMD009" and rows[4]["row"] == "GMD001,2024-05,1.1.1,5,extra"
    assert fingerprint(store) != before
    assert store.read().execute("SELECT area_code, level, period_type, count FROM counts"
                                " ORDER BY count").fetchall() == [
        ("BUD0010101", "buurt", "Y", 3), ("GMD001", "gemeente", "M", 5), ("0101", "pc4", "Q", 12)]
    assert store.read().execute("SELECT kind, rows, rejected, total FROM imports"
                                " WHERE kind = 'counts'").fetchall() == [("counts", 3, 5, 20)]


def test_line_numbers_survive_blank_lines_and_multiline_values(store, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("area_code;period;crime_code;count;note\n"
                    "GMD001;2024-01;1.1.1;1;\"two\nlines\"\n"    # lines 2-3 ok
                    "\n"                                          # line 4 blank
                    "GMD001;2024-02;1.1.1;x;\n"                   # line 5 bad count
                    "GMD001;2024-03;1.1.1;2;\"three\n\nlines\"\n"  # lines 6-8 ok
                    "GMD009;2024-04;1.1.1;3;\n",                 # line 9 unknown area
                    encoding="utf-8")
    result = run_import(store, "counts", path)
    assert (result.rows, result.rejected, result.total) == (2, 2, 3)
    assert [(r["line"], r["reason"]) for r in rejected(path)] == [
        ("5", "count is not a number: x"), ("9", "unknown area code GMD009")]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_numbers_survive_blank_lines_without_quotes(store, tmp_path, newline):
    """Blank lines are found by counting the file's lines (no quoted values here, so the
    records cannot span lines): the rows after them keep their own line numbers."""
    path = tmp_path / "counts.csv"
    lines = ["area_code;period;crime_code;count", "GMD001;2024-01;1.1.1;1", "",
             "GMD001;2024-02;1.1.1;x", "", "", "GMD009;2024-04;1.1.1;3", "GMD001;2024-05;1.1.1;4"]
    path.write_bytes(newline.join(lines).encode())  # no line break after the last line
    result = run_import(store, "counts", path)
    assert (result.rows, result.rejected) == (2, 2)
    assert [(r["line"], r["reason"]) for r in rejected(path)] == [
        ("4", "count is not a number: x"), ("7", "unknown area code GMD009")]


INCIDENT_HEADER = "id;registered_at;occurred_at;type_code;attempt;x;y;pc6\n"


def test_incident_rejections(store, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(INCIDENT_HEADER +
                    "A1;2024-03-02T10:00;2024-03-01T22:00;1.1.1;ja;150500;450500;\n"   # 2 ok
                    "A2;2024-03-02;2024-03-01;1.2.3;nee;;;0102AC\n"                     # 3 ok (pc6)
                    "A1;2024-03-02;2024-03-01;1.1.1;0;150500;450500;\n"                # 4 dup id
                    "A3;02-03-2024;2024-03-01;1.1.1;0;150500;450500;\n"                # 5 bad date
                    "A4;2024-03-01;2024-03-02;1.1.1;0;150500;450500;\n"                # 6 order
                    "A5;2024-03-02;2024-03-01;9.9.9;0;150500;450500;\n"                # 7 type
                    "A6;2024-03-02;2024-03-01;1.1.1;misschien;150500;450500;\n"        # 8 attempt
                    "A7;2024-03-02;2024-03-01;1.1.1;0;10;10;\n"                        # 9 nowhere
                    "A8;2024-03-02;2024-03-01;1.1.1;0;;;\n"                            # 10 no loc
                    "A9;2024-03-02;2024-03-01;1.1.1;0;;;0199ZZ\n"                      # 11 pc6
                    "A10;2024-03-02T10:00:00+01:00;2024-03-01T23:30:00Z;N01;1;153500;451500;\n",
                    encoding="utf-8")
    result = run_import(store, "incidents", path)
    assert (result.rows, result.rejected) == (3, 8)
    assert [(r["line"], r["reason"].split(" (")[0]) for r in rejected(path)] == [
        ("4", "duplicate id A1"), ("5", "bad date registered_at 02-03-2024"),
        ("6", "occurred_at is after registered_at"), ("7", "unknown type_code 9.9.9"),
        ("8", "bad attempt value misschien"),
        ("9", "location cannot be placed: the point is outside every buurt"),
        ("10", "no location"), ("11", "location cannot be placed: unknown pc6 0199ZZ")]
    con = store.read()
    assert con.execute("SELECT id, bu_code, wk_code, gm_code, re_code, pc4, attempt, high_impact,"
                       " occurred_at::VARCHAR FROM incidents ORDER BY id").fetchall() == [
        ("A1", "BUD0010101", "WKD00101", "GMD001", "RED1", "0101", True, True,
         "2024-03-01 22:00:00"),
        # 23:30 UTC is 00:30 in Amsterdam (winter time).
        ("A10", "BUD0020202", "WKD00202", "GMD002", "RED1", "0102", True, False,
         "2024-03-02 00:30:00"),
        ("A2", "BUD0020201", "WKD00202", "GMD002", "RED1", "0102", False, False,
         "2024-03-01 00:00:00")]
    # Importing the same file again: every id is already there.
    again = run_import(store, "incidents", path)
    assert again.rows == 0 and again.rejected == 11
    assert sum("already imported" in r["reason"] for r in rejected(path)) == 3
    assert store.read().execute("SELECT count(*) FROM incidents").fetchall() == [(3,)]


#: The eight buurten of the small geography: code, a point inside (RD New), its pc6.
BUURT_POINTS = [(f"BUD00{g}0{w}0{b}", 150_000 + (g - 1) * 2_000 + (b - 1) * 1_000 + 250,
                 450_000 + (w - 1) * 1_000 + 250, f"010{g}A{'ABCD'[(w - 1) * 2 + b - 1]}")
                for g in (1, 2) for w in (1, 2) for b in (1, 2)]


def test_a_large_import_keeps_every_row_with_its_own_place_and_line(store, tmp_path):
    """300,000 rows: several of DuckDB's row groups and vectors, which its threads parse,
    place and check side by side. Each accepted row keeps its own values and place (id ->
    buurt and date; every seventh row is placed by its pc6, so the rows with coordinates are
    not all rows), rejections name their own line, a duplicate at the end names the first
    line at the start, and the new segment is stored in its sort order across row groups."""
    from data import segments

    n = 300_000
    bad = {1_000: "bad date", 150_001: "unknown type", 299_999: "duplicate"}
    path = tmp_path / "incidents.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(INCIDENT_HEADER)
        for i in range(n):
            _, x, y, pc6 = BUURT_POINTS[i % 8]
            where = f";;{pc6}" if i % 7 == 3 else f"{x};{y};"
            day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
            ident, type_code = f"L{i}", "1.1.1"
            if bad.get(i) == "bad date":
                day = "2024-13-01"
            elif bad.get(i) == "unknown type":
                type_code = "9.9.9"
            elif bad.get(i) == "duplicate":
                ident = "L0"
            fh.write(f"{ident};{day}T12:00;{day}T11:00;{type_code};0;{where}\n")
    result = run_import(store, "incidents", path)
    assert (result.rows, result.rejected) == (n - 3, 3)
    assert [(r["line"], r["reason"].split(" (")[0]) for r in rejected(path)] == [
        ("1002", "bad date registered_at 2024-13-01T12:00"),
        ("150003", "unknown type_code 9.9.9"), ("300001", "duplicate id L0")]
    assert "first on line 2" in rejected(path)[2]["reason"]
    con = store.read()
    wrong = con.execute("""
        WITH expected AS (
            SELECT 'L' || i AS id, (?::VARCHAR[])[i % 8 + 1] AS bu_code,
                   make_date(2024, 1 + i % 12, 1 + i % 28) AS day
            FROM range(?) t(i))
        SELECT count(*) FROM incidents i JOIN expected e USING (id)
        WHERE i.bu_code <> e.bu_code OR i.occurred_date <> e.day
           OR i.gm_code <> 'GMD00' || substr(e.bu_code, 6, 1)""",
        [[p[0] for p in BUURT_POINTS], n]).fetchall()[0][0]
    assert wrong == 0 and con.execute("SELECT count(*) FROM incidents").fetchall() == [(n - 3,)]
    (alias, _, rows), = segments.listed(con)
    stored = con.execute(f"SELECT gm_code, occurred_date, type_code FROM {alias}.incidents"
                         " ORDER BY rowid").fetchall()
    assert rows == n - 3 and stored == sorted(stored)


def test_rejected_rows_file_neutralises_formula_cells(store, tmp_path):
    """The rejected-rows file is opened in a spreadsheet to fix the rows: a cell that starts
    like a formula gets a leading ' as in every export, and nothing else changes."""
    path = tmp_path / "incidents.csv"
    path.write_text(INCIDENT_HEADER +
                    "A1;2024-03-02;2024-03-01;1.1.1;0;150500;450500;\n"                # 2 ok
                    '"=HYPERLINK(""http://x"",""y"")";2024-03-02;2024-03-01;1.1.1;0;;;\n'  # 3
                    "B2;2024-03-02;2024-03-01;@SUM(A1);0;150500;450500;\n"            # 4 type
                    "B3;2024-03-02;2024-03-01;1.1.1;-1+2;150500;450500;\n"            # 5 attempt
                    "+B4;2024-03-02;2024-03-01;1.1.1;0;150500;450500;;extra\n",       # 6 fields
                    encoding="utf-8")
    result = run_import(store, "incidents", path)
    assert (result.rows, result.rejected) == (1, 4)
    rows = rejected(path)
    assert [r["line"] for r in rows] == ["3", "4", "5", "6"]
    assert rows[0]["id"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert rows[0]["reason"].startswith("no location")
    assert rows[1]["type_code"] == "'@SUM(A1)" and rows[1]["id"] == "B2"
    assert rows[1]["reason"] == "unknown type_code @SUM(A1)"
    assert rows[2]["attempt"] == "'-1+2"
    assert rows[3]["row"].startswith("'+B4;")
    with open(str(path) + ".rejected.csv", encoding="utf-8", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_boundary_rejections(store, tmp_path):
    features = [
        ("GMD003", {"type": "Polygon", "coordinates": [[[5.3, 52.1], [5.31, 52.1], [5.31, 52.11],
                                                        [5.3, 52.11], [5.3, 52.1]]]}),
        ("GMD004", {"type": "LineString", "coordinates": [[5.3, 52.1], [5.31, 52.1]]}),  # no area
        ("GMD005", {"type": "Polygon", "coordinates": [[[5.3, 52.1], [5.31, 52.1], [5.32, 52.1],
                                                        [5.3, 52.1]]]}),  # collapsed
        ("GMD006", None),                                                   # missing
        ("GMD003", {"type": "Polygon", "coordinates": [[[5.4, 52.1], [5.41, 52.1],
                                                        [5.41, 52.11], [5.4, 52.1]]]}),  # dup
        ("GX0007", {"type": "Polygon", "coordinates": [[[5.4, 52.1], [5.41, 52.1],
                                                        [5.41, 52.11], [5.4, 52.1]]]}),  # code
        ("GMD008", {"type": "Polygon", "coordinates": [[[5.5, 52.1], [5.51, 52.11], [5.51, 52.1],
                                                        [5.5, 52.11], [5.5, 52.1]]]}),  # bow-tie
        ("GMD009", {"type": "Polygon", "coordinates": [[[5.6, 52.1], [float("inf"), 52.1],
                                                        [5.61, 52.11], [5.6, 52.1]]]}),  # inf
        ("GMD010", {"type": "Polygon", "coordinates": [[[179.9, 52.1], [-179.9, 52.1],
                                                        [-179.9, 52.2], [179.9, 52.1]]]}),  # far
    ]
    path = tmp_path / "gemeente_2026.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"statcode": code, "statnaam": f"G {code}"},
         "geometry": geom} for code, geom in features]}), encoding="utf-8")
    result = run_import(store, "boundaries", path, options={"level": "gemeente"})
    assert (result.rows, result.rejected, result.detail["repaired"]) == (2, 7, 1)
    assert [(r["line"], r["code"], r["reason"].split(" (")[0]) for r in rejected(path)] == [
        ("2", "GMD004", "geometry cannot be repaired into a polygon with area"),
        ("3", "GMD005", "geometry cannot be repaired into a polygon with area"),
        ("4", "GMD006", "geometry missing or empty"),
        ("5", "GMD003", "duplicate code GMD003"),
        ("6", "GX0007", "invalid gemeente code 'GX0007'"),
        ("8", "GMD009", "geometry has coordinates that are not numbers"),
        ("9", "GMD010", "geometry lies outside the Netherlands")]
    assert store.read().execute("SELECT code FROM boundaries WHERE vintage = 2026 ORDER BY code"
                                ).fetchall() == [("GMD003",), ("GMD008",)]


def test_population_and_lookup_rejections(store, tmp_path):
    population = tmp_path / "population.csv"
    population.write_text("area_code;year;population\nGMD001;2024;1000\nGMD009;2024;5\n"
                          "GMD002;2024;-5\nGMD002;twintig;5\nWKD00101;2024;4.5\n"
                          "GMD001;2024;1100\n", encoding="utf-8")
    result = run_import(store, "population", population)
    assert (result.rows, result.rejected, result.total) == (1, 5, 1000)
    assert [r["reason"] for r in rejected(population)] == [
        "unknown area code GMD009", "negative population -5", "bad year twintig",
        "population is not a whole number: 4.5", "duplicate of line 2 (same area and year)"]
    lookup = tmp_path / "lookup.csv"
    lookup.write_text("gm_code,re_code,re_naam\nGMD001,RED2,Nieuw\nGMD009,RED1,X\n"
                      "GMD002,R1,X\nGMD001,RED1,Y\n", encoding="utf-8")
    result = run_import(store, "lookup", lookup)
    assert (result.rows, result.rejected) == (0, 4)
    assert [r["reason"].split(" (")[0] for r in rejected(lookup)] == [
        "gemeente assigned to more than one regionale eenheid in this file",
        "unknown gemeente", "invalid regionale eenheid code",
        "gemeente assigned to more than one regionale eenheid in this file"]


# -- atomic replacement ----------------------------------------------------------------------------
def test_failure_in_the_middle_of_a_write_keeps_the_old_database_serving(store):
    reader = store.read()
    areas = reader.execute("SELECT count(*) FROM areas").fetchall()
    before = fingerprint(store)
    with pytest.raises(RuntimeError, match="disk full"):
        with store.write("test: fails halfway") as con:
            con.execute("DELETE FROM areas")
            con.execute("DELETE FROM boundaries")
            assert con.execute("SELECT count(*) FROM areas").fetchall() == [(0,)]
            raise RuntimeError("disk full")
    assert fingerprint(store) == before
    assert store.read() is reader  # still the same version: nothing was swapped in
    assert store.read().execute("SELECT count(*) FROM areas").fetchall() == areas
    assert Store(store.path).read().execute("SELECT count(*) FROM areas").fetchall() == areas
    versions = store.path.with_name(f".{store.path.name}.versions")
    assert not any(versions.iterdir())


def test_strict_import_that_already_wrote_rows_is_discarded(store, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(INCIDENT_HEADER + "B1;2024-03-02;2024-03-01;1.1.1;0;150500;450500;\n"
                    "B2;2024-03-02;2024-03-01;1.1.1;0;10;10;\n", encoding="utf-8")
    before = fingerprint(store)
    with pytest.raises(FatalImportError) as error:
        run_import(store, "incidents", path, strict=True)
    assert error.value.line == 3
    assert fingerprint(store) == before
    assert store.read().execute("SELECT count(*) FROM incidents").fetchall() == [(0,)]
    result = run_import(store, "incidents", path)  # without --strict the good row goes in
    assert (result.rows, result.rejected) == (1, 1)
