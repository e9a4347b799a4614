"""Counts in the real CBS download layouts: the TypedDataSet with several measure columns and the
StatLine CSV with labels, written from the real 83648NED gemeente file in ../shared/data
(registered, cleared and suspects per gemeente and year, 2010-2020) into tmp_path."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data.importers import FatalImportError, run_import
from data.store import Store

from .conftest import ROOT

SOURCE = "crime_gemeente_total_2010_2020_83648NED.csv"
#: The 83648NED TypedDataSet columns (the keys of the CBS open-data table).
TYPED_COLUMNS = ["ID", "SoortMisdrijf", "RegioS", "Perioden", "TotaalGeregistreerdeMisdrijven_1",
                 "GeregistreerdeMisdrijvenRelatief_2", "GeregistreerdeMisdrijvenPer1000Inw_3",
                 "TotaalOpgehelderdeMisdrijven_4", "OpgehelderdeMisdrijvenRelatief_5",
                 "RegistratiesVanVerdachten_6"]
#: The same topics as StatLine labels them in a CSV download (title and unit).
STATLINE_COLUMNS = ["Soort misdrijf", "Regio's", "Perioden",
                    "Totaal geregistreerde misdrijven (aantal)",
                    "Geregistreerde misdrijven, relatief (%)",
                    "Geregistreerde misdrijven per 1000 inw. (per 1 000 inwoners)",
                    "Totaal opgehelderde misdrijven (aantal)",
                    "Opgehelderde misdrijven, relatief (%)",
                    "Registraties van verdachten (aantal)"]
#: StatLine's region labels where a gemeente shares its name with a provincie.
STATLINE_NAMES = {"GM0014": "Groningen (gemeente)", "GM0344": "Utrecht (gemeente)",
                  "NL01": "Nederland"}


def cli(*args, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def gemeente_db(shared_data, tmp_path_factory) -> Path:
    """The 342 gemeenten of 2025 with their names and eenheid (the registry labels map to)."""
    folder = tmp_path_factory.mktemp("gemeenten")
    store = Store(folder / "gemeenten.duckdb")
    run_import(store, "boundaries", shared_data / "gemeente_2025.geojson",
               options={"level": "gemeente"})
    lookup = folder / "lookup.csv"
    shutil.copyfile(shared_data / "gemeente_2025_regio_lookup.csv", lookup)
    run_import(store, "lookup", lookup)
    return store.path


@pytest.fixture
def store(gemeente_db, tmp_path) -> Store:
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(Store(gemeente_db).current_file(), target)
    return Store(target)


@pytest.fixture(scope="module")
def source_rows(shared_data) -> list[dict]:
    with open(shared_data / SOURCE, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _expected(store, rows, *, missing_suspects=()):
    """Per measure {(area, year): count} of the rows whose gemeente the registry knows (codes
    equal names in this file), NL01 as NL00; and the rows it does not know."""
    known = {c for (c,) in store.read().execute("SELECT code FROM areas").fetchall()}
    measures = {"registered": {}, "cleared": {}, "suspects": {}}
    unknown = []
    for r in rows:
        area = "NL00" if r["gm_code"] == "NL01" else r["gm_code"]
        if area not in known:
            unknown.append(r)
            continue
        key = (area, int(r["year"]))
        measures["registered"][key] = int(r["registered_crimes"])
        measures["cleared"][key] = int(r["cleared_crimes"])
        if r["year"] not in missing_suspects:
            measures["suspects"][key] = int(r["suspect_registrations"])
    return measures, unknown


def _stored(store, source):
    con = store.read()
    out = {"registered": {}, "cleared": {}, "suspects": {}}
    for area, year, n in con.execute(
            "SELECT area_code, year(period_start), count FROM counts WHERE source = ?"
            " AND period_type = 'Y' AND type_code = '0.0.0' AND attempt IS NULL", [source]
    ).fetchall():
        out["registered"][(area, year)] = n
    for measure, area, year, n in con.execute(
            "SELECT measure, area_code, year(period_start), count FROM measure_counts"
            " WHERE source = ? AND period_type = 'Y' AND type_code = '0.0.0'", [source]
    ).fetchall():
        out[measure][(area, year)] = n
    return out


def _write_typed(path: Path, rows: list[dict]) -> None:
    """The TypedDataSet as downloaded: ';', quoted, codes and values padded with spaces."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_ALL)
        out.writerow(TYPED_COLUMNS)
        for i, r in enumerate(rows):
            out.writerow([i, "T001161 ", f"{r['gm_code']:10}", f"{r['year']}JJ00",
                          f"{r['registered_crimes']:>10}", "     100.0",
                          f"{r['registered_crimes_per_1000_inhabitants']:>10}",
                          f"{r['cleared_crimes']:>10}", f"{r['cleared_pct']:>10}",
                          f"{r['suspect_registrations']:>10}"])


def _write_statline(path: Path, rows: list[dict], *, provisional_year: str,
                    missing_suspects: str) -> None:
    """The StatLine CSV a user downloads: labels, ';', every field quoted, decimal commas,
    provisional years starred, '.' where a figure is missing, and the closing source line."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_ALL)
        out.writerow(STATLINE_COLUMNS)
        for r in rows:
            year = r["year"] + ("*" if r["year"] == provisional_year else "")
            suspects = "." if r["year"] == missing_suspects else r["suspect_registrations"]
            out.writerow(["Misdrijven, totaal", STATLINE_NAMES.get(r["gm_code"], r["gemeente"]),
                          year, r["registered_crimes"], "100",
                          r["registered_crimes_per_1000_inhabitants"].replace(".", ","),
                          r["cleared_crimes"], r["cleared_pct"].replace(".", ","), suspects])
        out.writerow(["Bron: CBS"])


# -- 83648NED, every gemeente and year -----------------------------------------------------------
def test_typeddataset_with_registered_cleared_and_suspects(store, source_rows, tmp_path):
    path = tmp_path / "83648NED_TypedDataSet.csv"
    _write_typed(path, source_rows)
    expected, unknown = _expected(store, source_rows)

    result = run_import(store, "counts", path)
    assert result.detail["layout"] == "typeddataset"
    assert result.detail["measures"] == "registered, cleared, suspects"
    assert (result.rows, result.rejected) == (len(source_rows) - len(unknown), len(unknown))
    assert (result.rows, result.rejected) == (3030, 702)  # 3,019 gemeente-years + 11 of NL01
    assert result.total == sum(expected["registered"].values())
    assert _stored(store, path.name) == expected
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        reasons = {r["reason"] for r in csv.DictReader(fh)}
    assert reasons == {f"unknown area code {r['gm_code']}" for r in unknown}
    # Registered crimes only in counts: every query of counts keeps reading what it read.
    con = store.read()
    assert con.execute("SELECT sum(count) FROM counts").fetchall() == [(result.total,)]
    assert con.execute("SELECT count(*) FROM counts WHERE provisional").fetchall() == [(0,)]
    # Amsterdam 2020: registered, cleared and suspects as in the source.
    amsterdam = next(r for r in source_rows if r["gm_code"] == "GM0363" and r["year"] == "2020")
    assert [con.execute(sql, ["GM0363"]).fetchall()[0][0] for sql in (
        "SELECT count FROM counts WHERE area_code = ? AND period_start = '2020-01-01'",
        "SELECT count FROM measure_counts WHERE area_code = ? AND period_start = '2020-01-01'"
        " AND measure = 'cleared'",
        "SELECT count FROM measure_counts WHERE area_code = ? AND period_start = '2020-01-01'"
        " AND measure = 'suspects'")] == [int(amsterdam["registered_crimes"]),
                                          int(amsterdam["cleared_crimes"]),
                                          int(amsterdam["suspect_registrations"])]


def test_statline_csv_with_labels(store, source_rows, tmp_path):
    path = tmp_path / "Geregistreerde_criminaliteit__soort_misdrijf__regio_83648NED.csv"
    _write_statline(path, source_rows, provisional_year="2020", missing_suspects="2010")
    expected, unknown = _expected(store, source_rows, missing_suspects=("2010",))

    result = run_import(store, "counts", path)
    assert result.detail["layout"] == "statline"
    assert (result.rows, result.rejected) == (len(source_rows) - len(unknown), len(unknown))
    assert result.detail["missing_values"] == sum(r["year"] == "2010" for r in source_rows
                                                  if r not in unknown)
    assert _stored(store, path.name) == expected  # the missing suspects are not zeros
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        rejected = list(csv.DictReader(fh))
    assert len(rejected) == len(unknown)  # the closing "Bron: CBS" is not a rejected row
    assert {r["reason"] for r in rejected} == {
        f"unknown area name {r['gemeente']} (expected a gemeente name from the area registry,"
        " Nederland or a code)" for r in unknown}
    con = store.read()
    # "2020*" is provisional, in both tables; no other year is.
    for table in ("counts", "measure_counts"):
        assert con.execute(f"SELECT DISTINCT year(period_start) FROM {table}"
                           " WHERE provisional").fetchall() == [(2020,)], table
    assert con.execute("SELECT count(*) FROM counts WHERE NOT provisional AND"
                       " year(period_start) = 2020").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM counts WHERE area_code = 'GM0014'"
                       ).fetchall() == [(11,)]  # "Groningen (gemeente)"


def test_rejected_import_changes_nothing_and_old_databases_get_the_table(store, source_rows,
                                                                          tmp_path):
    path = tmp_path / "83648NED.csv"
    _write_statline(path, source_rows, provisional_year="", missing_suspects="")
    with store.write("a database from before measure_counts") as con:
        con.execute("DROP TABLE measure_counts")
    version = store.current_file()
    with pytest.raises(FatalImportError, match="702 rows rejected"):
        run_import(store, "counts", path, strict=True)
    assert store.current_file() == version
    assert store.read().execute("SELECT count(*) FROM information_schema.tables"
                                " WHERE table_name = 'measure_counts'").fetchall() == [(0,)]
    result = cli("import", "counts", path, "--json", db=store.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["rejected"]) == (3030, 702)
    assert summary["cleared"].startswith("3030 rows, total ")
    assert store.read().execute("SELECT count(*) FROM measure_counts").fetchall() == [(6060,)]
    # Importing the file again replaces its rows in both tables.
    run_import(store, "counts", path)
    con = store.read()
    assert con.execute("SELECT count(*) FROM counts").fetchall() == [(3030,)]
    assert con.execute("SELECT count(*) FROM measure_counts").fetchall() == [(6060,)]


# -- labels, periods and symbols -----------------------------------------------------------------
STATLINE_47018 = '''"Soort misdrijf";"Wijken en buurten";"Perioden";"Geregistreerde misdrijven (aantal)"
"Totaal misdrijven";"Amsterdam";"2024 maart*";"7 391"
"1.1.1 Diefstal/inbraak woning";"Amsterdam";"2024 1e kwartaal";"330"
"Diefstal/inbraak woning";"Rotterdam";"2023";"1.250"
"Zedenmisdrijf";"Amsterdam";"2024 maart";"x"
"Mishandeling";"Amsterdam";"2024 maart";"-"
"Bedreiging";"Amsterdam";"2024 maart";"."
"Vermogensmisdrijven";"Amsterdam";"2024";"100"
"CRI1000";"Amsterdam";"2024";"100"
"Totaal misdrijven";"Centrum";"2024";"5"
"Totaal misdrijven";"Groningen (PV)";"2024";"5"
"Totaal misdrijven";"Groningen (gemeente)";"2024**";"5"
"Totaal misdrijven";"Amsterdam";"2024 dertiende maand";"5"
"Totaal misdrijven";"Nederland";"2023";"805 590"
"Totaal misdrijven";"Amsterdam";"2024 maart";"12,5"
"Totaal misdrijven";"GM0599";"2024 april";"10"
"Bron: CBS"
'''


def test_statline_labels_periods_and_symbols(store, tmp_path):
    path = tmp_path / "47018NED.csv"
    path.write_text(STATLINE_47018, encoding="utf-8")
    result = run_import(store, "counts", path)
    assert (result.rows, result.rejected) == (7, 6)
    assert result.detail["missing_values"] == 2  # "x" (secret) and "." (not available)
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        rejected = {int(r["line"]): r["reason"] for r in csv.DictReader(fh)}
    area = " (expected a gemeente name from the area registry, Nederland or a code)"
    assert rejected == {
        8: "unknown crime type Vermogensmisdrijven (expected a code or a crime type title such"
           " as Totaal misdrijven)",
        9: "unknown crime code CRI1000",
        10: "unknown area name Centrum" + area,
        11: "unknown area name Groningen (PV)" + area,
        13: "bad period 2024 dertiende maand (expected 2024, 2024 maart, 2024 1e kwartaal,"
            " with * when provisional)",
        15: "count is not a whole number: 12,5"}
    assert store.read().execute(
        "SELECT area_code, period_type, period_start::VARCHAR, type_code, count, provisional"
        " FROM counts ORDER BY area_code, period_start, type_code").fetchall() == [
        ("GM0014", "Y", "2024-01-01", "0.0.0", 5, True),
        ("GM0363", "Q", "2024-01-01", "1.1.1", 330, False),
        ("GM0363", "M", "2024-03-01", "0.0.0", 7391, True),
        ("GM0363", "M", "2024-03-01", "1.4.5", 0, False),  # "-" is nil
        ("GM0599", "Y", "2023-01-01", "1.1.1", 1250, False),
        ("GM0599", "M", "2024-04-01", "0.0.0", 10, False),
        ("NL00", "Y", "2023-01-01", "0.0.0", 805590, False)]


def test_a_name_two_gemeenten_share_is_refused(store, tmp_path):
    codes = tmp_path / "codes.csv"  # a second "Amsterdam", registered from a code list
    codes.write_text("code,naam,soort\nGM9998,Amsterdam,Gemeente\n", encoding="utf-8")
    assert run_import(store, "codes", codes).rows == 1
    path = tmp_path / "statline.csv"
    path.write_text('"Soort misdrijf";"Regio\'s";"Perioden";"Geregistreerde misdrijven (aantal)"\n'
                    '"Totaal misdrijven";"Amsterdam";"2024";"5"\n'
                    '"Totaal misdrijven";"GM0363";"2024";"5"\n', encoding="utf-8")
    result = run_import(store, "counts", path)
    assert (result.rows, result.rejected) == (1, 1)
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        assert [r["reason"] for r in csv.DictReader(fh)] == [
            "ambiguous area name Amsterdam (2 gemeenten have it): give the code"]


def test_a_row_is_rejected_as_a_whole(store, tmp_path):
    """A bad value in one measure rejects the row: no measure of it is stored."""
    path = tmp_path / "typed.csv"
    path.write_text(";".join(TYPED_COLUMNS) + "\n"
                    "0;T001161;GM0363;2020JJ00;80665;100.0;92.1;16575;20.5;veel\n"
                    "1;T001161;GM0599;2020JJ00;60000;100.0;92.1;.;20.5;9000\n"
                    "2;T001161;GM0599;2019JJ00;60000;100.0;92.1;12000;20.5;-1\n"
                    "3;T001161;GM0363;2020JJ00;80665;100.0;92.1;16575;20.5;11420\n"
                    "4;T001161;GM0599;2020JJ00;60000;100.0;92.1;12000;20.5;.\n",
                    encoding="utf-8")
    result = run_import(store, "counts", path)
    # Line 5 is no duplicate of line 2: that one was rejected. Line 6 repeats the registered
    # count of line 3 and is rejected with its cleared count, which line 3 lacks.
    assert (result.rows, result.rejected, result.total) == (2, 3, 60000 + 80665)
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        assert [r["reason"] for r in csv.DictReader(fh)] == [
            "suspects count is not a number: veel", "negative suspects count -1",
            "duplicate of line 3 (same area, period, crime code and attempt)"]
    con = store.read()
    assert con.execute("SELECT area_code, count FROM counts ORDER BY 1").fetchall() == [
        ("GM0363", 80665), ("GM0599", 60000)]
    assert con.execute("SELECT area_code, measure, count FROM measure_counts ORDER BY 1, 2"
                       ).fetchall() == [("GM0363", "cleared", 16575), ("GM0363", "suspects", 11420),
                                        ("GM0599", "suspects", 9000)]


def test_cbs_status_column_marks_provisional(store, tmp_path):
    """The TypedDataSet with the Status of its period dimension (Perioden.csv) joined on."""
    path = tmp_path / "47022NED.csv"
    path.write_text("ID;SoortMisdrijf;RegioS;Perioden;GeregistreerdeMisdrijven_1;Status\n"
                    "0;0.0.0;GM0363;2023JJ00;80000;Definitief\n"
                    "1;0.0.0;GM0363;2024JJ00;79000;Voorlopig\n"
                    "2;0.0.0;GM0363;2025JJ00;79000;Geschat\n", encoding="utf-8")
    result = run_import(store, "counts", path)
    assert (result.rows, result.rejected, result.detail["provisional"]) == (2, 1, 1)
    assert store.read().execute("SELECT year(period_start), provisional FROM counts"
                                " ORDER BY 1").fetchall() == [(2023, False), (2024, True)]
