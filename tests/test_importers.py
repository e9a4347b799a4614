"""Importers on the real public files in ../shared/data and on generated files, into real DuckDB
databases. The real boundary files are imported once per module (the buurt layer alone takes
several seconds) and every test that changes data works on its own copy of that database."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from data.importers import run_import
from data.store import Store

from . import small_geography
from .conftest import ROOT

BOUNDARY_FILES = [  # file, level, vintage option, expected features
    ("regionale_eenheid_2024.geojson", "eenheid", None, 10),
    ("gemeente_2025.geojson", "gemeente", None, 342),
    ("wijk_2024.geojson", "wijk", None, 3393),
    ("buurt_2019_2020.geojson", "buurt", None, 13594),
    ("pc4.geojson", "pc4", 2020, 4053),  # no year in the name: --vintage is required
]


def cli(*args, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def copy_store(source: Path, folder: Path) -> Store:
    """A private copy of a database (its current version file) as a new store."""
    target = folder / "copy.duckdb"
    shutil.copyfile(Store(source).current_file(), target)
    return Store(target)


def local_copy(path: Path, folder: Path) -> Path:
    """Input files are copied so that <file>.rejected.csv lands in tmp, not in shared/data."""
    target = folder / path.name
    shutil.copyfile(path, target)
    return target


class GeoDb:
    def __init__(self, path, results, seconds):
        self.path, self.results, self.seconds = path, results, seconds


@pytest.fixture(scope="module")
def geo_db(shared_data, tmp_path_factory) -> GeoDb:
    """The five real boundary layers and the gemeente -> eenheid lookup in one database."""
    folder = tmp_path_factory.mktemp("geo")
    store = Store(folder / "geo.duckdb")
    results, seconds = {}, {}
    for name, level, vintage, _ in BOUNDARY_FILES:
        start = time.perf_counter()
        results[name] = run_import(store, "boundaries", shared_data / name,
                                   rejected_file=folder / f"{name}.rejected.csv",
                                   options={"level": level, "vintage": vintage})
        seconds[name] = time.perf_counter() - start
    lookup = local_copy(shared_data / "gemeente_2025_regio_lookup.csv", folder)
    results["lookup"] = run_import(store, "lookup", lookup)
    print("\nboundary import seconds:", {k: round(v, 2) for k, v in seconds.items()})
    return GeoDb(store.path, results, seconds)


# -- boundaries and lookup ---------------------------------------------------------------------
def test_real_boundaries_db_info_reports_every_area(geo_db):
    result = cli("db", "info", "--json", db=geo_db.path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["areas"] == {"land": 1, "eenheid": 10, "gemeente": 342, "wijk": 3393,
                             "buurt": 13594, "pc4": 4053}
    assert info["boundaries"] == {"eenheid": {"2024": 10}, "gemeente": {"2025": 342},
                                  "wijk": {"2024": 3393}, "buurt": {"2020": 13594},
                                  "pc4": {"2020": 4053}}
    assert len(info["gemeenten"]) == 342
    assert {"code": "GM0363", "name": "Amsterdam", "re_code": "RE05"} in info["gemeenten"]
    assert info["crime_types"]["misdrijf"] == 58
    assert [i["kind"] for i in info["imports"]] == ["boundaries"] * 5 + ["lookup"]
    text = cli("db", "info", db=geo_db.path)
    assert text.returncode == 0 and "buurt 13,594" in text.stdout


def test_real_boundary_results(geo_db):
    for name, level, _, expected in BOUNDARY_FILES:
        result = geo_db.results[name]
        assert (result.rows, result.rejected) == (expected, 0), name
        assert result.detail["level"] == level
    assert geo_db.results["gemeente_2025.geojson"].detail["vintage"] == 2025
    assert geo_db.results["buurt_2019_2020.geojson"].detail["vintage"] == 2020  # last year
    assert geo_db.results["buurt_2019_2020.geojson"].detail["name_field"] == "statnaam_2024"
    assert geo_db.results["pc4.geojson"].detail["code_field"] == "pc4"
    # 1,223 buurten of 2019/2020 have a wijk code that no longer exists in 2024 (373 of them
    # also a gemeente that has merged since): 1,207 are placed in the 2024 wijk and 2025
    # gemeente that hold their label point; 18 (mostly water and port areas) lie in no wijk
    # of their gemeente and stay orphans.
    buurt = geo_db.results["buurt_2019_2020.geojson"].detail
    assert (buurt["placed"], buurt["orphans"]) == (1207, 18)
    assert geo_db.results["wijk_2024.geojson"].detail["orphans"] == 0
    assert geo_db.results["lookup"].rows == 342


def test_real_hierarchy(geo_db, shared_data):
    con = Store(geo_db.path).read()
    per_unit = dict(con.execute("SELECT re_code, count(*) FROM areas WHERE level = 'gemeente'"
                                " GROUP BY 1").fetchall())
    # README of shared/data: gemeenten per regionale eenheid.
    assert per_unit == {"RE01": 40, "RE02": 76, "RE03": 38, "RE04": 32, "RE05": 6, "RE06": 27,
                        "RE07": 23, "RE08": 37, "RE09": 32, "RE10": 31}
    assert con.execute("SELECT parent_code, re_code, gm_code FROM areas WHERE code = 'WK001400'"
                       ).fetchall() == [("GM0014", "RE01", "GM0014")]
    # Amsterdam renumbered its wijken (WK0363AD): the 2020 buurt goes to the 2024 wijk
    # around it; a buurt of Appingedam (merged into Eemsdelta, 2021) to Eemsdelta.
    assert con.execute("SELECT parent_code, wk_code, gm_code, re_code FROM areas"
                       " WHERE code = 'BU03630000'").fetchall() == [
        ("WK0363AD", "WK0363AD", "GM0363", "RE05")]
    placed = con.execute("SELECT parent_code, gm_code, re_code FROM areas"
                         " WHERE code = 'BU00030000'").fetchall()
    assert placed[0][1:] == ("GM1979", "RE01") and placed[0][0].startswith("WK1979")
    assert con.execute("SELECT count(*) FROM areas WHERE level IN ('wijk', 'buurt') AND"
                       " gm_code NOT IN (SELECT code FROM areas WHERE level = 'gemeente')"
                       ).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM areas WHERE level = 'eenheid' AND parent_code = 'NL00'"
                       ).fetchall() == [(10,)]
    assert con.execute("SELECT count(*) FROM areas WHERE level IN ('wijk', 'pc4')"
                       " AND re_code IS NULL").fetchall() == [(0,)]
    # pc4 -> gemeente by representative point agrees with the published derived table.
    with open(shared_data / "pc4_gemeente_2025.csv", encoding="utf-8") as fh:
        published = {row["pc4"]: row["gm_code"] for row in csv.DictReader(fh)}
    ours = dict(con.execute("SELECT code, gm_code FROM areas WHERE level = 'pc4'").fetchall())
    agree = sum(ours[k] == v for k, v in published.items())
    assert len(ours) == 4053 and agree / len(published) > 0.995


def test_older_areas_are_placed_whatever_the_import_order(geo_db, shared_data, tmp_path):
    """Buurten imported before the wijken and gemeenten they now belong to are placed when
    those arrive: the same registry as importing top-down."""
    store = Store(tmp_path / "reversed.duckdb")
    for name, level, vintage, _ in reversed(BOUNDARY_FILES[:4]):  # buurt, wijk, gemeente, eenheid
        run_import(store, "boundaries", shared_data / name, rejected_file=tmp_path / "r.csv",
                   options={"level": level, "vintage": vintage})
    query = ("SELECT code, gm_code, parent_code FROM areas WHERE level IN ('wijk', 'buurt')"
             " ORDER BY code")
    reversed_rows = store.read().execute(query).fetchall()
    assert reversed_rows == Store(geo_db.path).read().execute(query).fetchall()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_boundary_formats_and_crs(tmp_path):
    """GeoJSON (WGS84 and RD metres without CRS), GeoPackage and Shapefile in RD New: same
    codes, same areas, same hierarchy."""
    buurten = small_geography.layers()["buurt"]
    files = {
        "wgs84.geojson": small_geography.write_layer(buurten, tmp_path / "b_wgs84_2024.geojson",
                                                     crs="EPSG:4326"),
        "rd.geojson": small_geography.write_layer(buurten, tmp_path / "b_rd_2024.geojson",
                                                  crs=None),
        "rd.gpkg": small_geography.write_layer(buurten, tmp_path / "b_rd_2024.gpkg",
                                               code_field="buurtcode", name_field="buurtnaam"),
        "rd.shp": small_geography.write_layer(buurten, tmp_path / "b_rd_2024.shp",
                                              code_field="BU_CODE", name_field="BU_NAAM"),
    }
    for label, path in files.items():
        store = Store(tmp_path / f"{label}.duckdb")
        result = run_import(store, "boundaries", path, options={"level": "buurt"})
        assert (result.rows, result.rejected, result.detail["vintage"]) == (8, 0, 2024), label
        con = store.read()
        rows = con.execute("SELECT code, area_km2, label_lon, label_lat FROM boundaries"
                           " ORDER BY code").fetchall()
        assert [r[0] for r in rows] == sorted(buurten["code"]), label
        assert all(abs(r[1] - 1.0) < 1e-3 for r in rows), label  # 1 km x 1 km squares
        assert all(5.0 < r[2] < 5.5 and 52.0 < r[3] < 52.3 for r in rows), label  # near Utrecht
        assert con.execute("SELECT name, parent_code, gm_code FROM areas WHERE code = 'BUD0020101'"
                           ).fetchall() == [("Buurt 2.1.1", "WKD00201", "GMD002")], label


def test_reimport_keeps_re_code_and_lookup_org_units(tmp_path):
    store = small_geography.build(tmp_path / "geo")
    con = store.read()
    assert con.execute("SELECT code, kind, name, parent_code FROM org_units ORDER BY code"
                       ).fetchall() == [
        ("BT-B", "basisteam", "BT-B", "RED1-D-district-noord"),
        ("RED1-B-basisteam-a", "basisteam", "Basisteam A", "RED1-D-district-noord"),
        ("RED1-D-district-noord", "district", "District Noord", "RED1")]
    assert con.execute("SELECT count(*) FROM org_gemeenten").fetchall() == [(4,)]
    gemeenten = small_geography.write_layer(small_geography.layers()["gemeente"],
                                            tmp_path / "gemeente_2025.geojson")
    result = run_import(store, "boundaries", gemeenten, options={"level": "gemeente"})
    assert result.rows == 2 and result.detail["vintage"] == 2025
    con = store.read()
    assert con.execute("SELECT code, re_code, parent_code FROM areas WHERE level = 'gemeente'"
                       " ORDER BY code").fetchall() == [("GMD001", "RED1", "RED1"),
                                                        ("GMD002", "RED1", "RED1")]
    assert con.execute("SELECT vintage, count(*) FROM boundaries WHERE level = 'gemeente'"
                       " GROUP BY 1 ORDER BY 1").fetchall() == [(2024, 2), (2025, 2)]



# -- code lists (indelingen by year) -------------------------------------------------------------
def _typed_2023(path, rows):
    """A 47018NED TypedDataSet download (the real column set and padding) with one yearly total
    per area code."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
        out.writerow(["ID", "SoortMisdrijf", "WijkenEnBuurten", "Perioden",
                      "GeregistreerdeMisdrijven_1", "Gemeentenaam_2", "SoortRegio_3"])
        for i, (code, gemeente, soort) in enumerate(rows):
            out.writerow([i * 12 + 47, "0.0.0 ", f"{code:10}", "2023JJ00", i % 97,
                          f"{gemeente:30}", f"{soort:8}"])


def test_code_list_2024_registers_the_indeling(geo_db, shared_data, tmp_path):
    """The 2024 code list adds the 2024-coded wijken and buurten to a registry built from the
    2019/2020 buurt boundaries: population and CBS buurt rows of 2024 codes are accepted after
    it, areas of both indelingen keep one row per code, and nothing else changes."""
    store = copy_store(geo_db.path, tmp_path)
    codes = local_copy(shared_data / "wijken_en_buurten_2024_codes.csv", tmp_path)
    population = local_copy(shared_data / "buurt_population_2024_85984NED.csv", tmp_path)
    with open(codes, encoding="utf-8") as fh:
        listed = list(csv.DictReader(fh))
    names = {r["code"]: r["naam"] for r in listed if r["soort"] == "Gemeente"}
    placeholders = {"GM0000", "WK000000", "BU00000000"}  # CBS's "onbekend"
    areas = [r for r in listed if r["soort"] in ("Wijk", "Buurt") and r["code"] not in placeholders]
    counts_file = tmp_path / "47018NED_buurt_2023_TypedDataSet.csv"
    _typed_2023(counts_file, [(r["code"], names[r["gm_code"]], r["soort"]) for r in areas])
    con = store.read()
    before_areas = con.execute("SELECT * FROM areas ORDER BY code").fetchall()
    known = {c for (c,) in con.execute("SELECT code FROM areas").fetchall()}
    with open(population, encoding="utf-8") as fh:
        pop_rows = list(csv.DictReader(fh))
    unknown_buurten = [r for r in pop_rows if r["bu_code"] not in known]

    pop_before = run_import(store, "population", population)
    counts_before = run_import(store, "counts", counts_file)
    assert (pop_before.rows, pop_before.rejected) == (len(pop_rows) - len(unknown_buurten),
                                                     len(unknown_buurten)) == (11851, 2723)
    new_codes = [r for r in areas if r["code"] not in known]
    assert (counts_before.rows, counts_before.rejected) == (len(areas) - len(new_codes),
                                                           len(new_codes)) == (15244, 2723)

    result = run_import(store, "codes", codes)
    assert (result.rows, result.rejected) == (len(listed) - 3, 0) == (18310, 0)
    assert result.detail["placeholders"] == len(placeholders)
    assert (result.detail["wijk"], result.detail["buurt"]) == ("3393 (0 new)", "14574 (2723 new)")

    pop_after = run_import(store, "population", population)
    counts_after = run_import(store, "counts", counts_file)
    assert (pop_after.rows, pop_after.rejected) == (len(pop_rows), 0) == (14574, 0)
    assert pop_after.total == 17_942_915  # README of shared/data: the buurten's sum
    assert (counts_after.rows, counts_after.rejected) == (len(areas), 0) == (17967, 0)

    con = store.read()
    after = {r[0]: r for r in con.execute("SELECT * FROM areas").fetchall()}
    # Every listed wijk and buurt has the list's gemeente and wijk, and the gemeente's eenheid.
    eenheid = {c: re for c, re in con.execute(
        "SELECT code, re_code FROM areas WHERE level = 'gemeente'").fetchall()}
    for r in areas:
        code, level, _name, parent, re_code, gm, wk, bu, _ = after[r["code"]]
        assert (level, gm, re_code) == (r["soort"].lower(), r["gm_code"], eenheid[r["gm_code"]])
        assert (parent, wk) == ((r["wk_code"], r["wk_code"]) if level == "buurt"
                                else (r["gm_code"], r["code"]))
        assert bu == (r["code"] if level == "buurt" else None)
    assert after["BU0363AA01"][:6] == ("BU0363AA01", "buurt", "Planciusbuurt-Noord", "WK0363AA",
                                       "RE05", "GM0363")
    # The other indeling keeps working: one row per code, names and placement of codes that are
    # not in the list unchanged, every boundary still there.
    assert len(after) == len(before_areas) + len(new_codes)
    listed_codes = {r["code"] for r in listed}
    for row in before_areas:
        if row[0] not in listed_codes:
            assert after[row[0]] == row
        else:
            assert after[row[0]][2] == row[2]  # CBS's list cuts names to 40 characters
    assert after["WK191601"][2] == "De Zijde / Duivenvoorde / Park Veursehout"
    assert after["BU03630000"][3] == "WK0363AD"  # a 2020 code of Amsterdam, placed by its point
    assert con.execute("SELECT count(*) FROM boundaries WHERE level = 'buurt'"
                       ).fetchall() == [(13594,)]
    assert not placeholders & set(after)
    # Importing the list again changes nothing.
    again = run_import(store, "codes", codes)
    assert again.detail["buurt"] == "14574 (0 new)"
    assert {r[0]: r for r in store.read().execute("SELECT * FROM areas").fetchall()} == after


def test_code_list_rejections_and_all_or_nothing(geo_db, tmp_path):
    store = copy_store(geo_db.path, tmp_path)
    path = tmp_path / "WijkenEnBuurten.csv"  # the CBS open-data region dimension
    path.write_text(
        '"Key","Title","Description","Municipality","DetailRegionCode"\n'
        '"NL00      ","Nederland",,"",""\n'
        '"GM0014    ","Groningen","","GM0014","GM0014"\n'
        '"WK001499  ","Nieuwe wijk","","GM0014","WK001499"\n'
        '"BU00149901","Nieuwe buurt","","GM0014","BU00149901"\n'
        '"BU00149902","Buurt in een andere gemeente","","GM0034","BU00149902"\n'
        '"BU00149801","Buurt zonder wijk","","GM0014","BU00149801"\n'
        '"WK999999  ","Wijk zonder gemeente","","GM9999","WK999999"\n'
        '"BU99999901","Buurt daarin","","GM9999","BU99999901"\n'
        '"PV20      ","Groningen (PV)","","",""\n'
        '"BU00149901","Nieuwe buurt","","GM0014","BU00149901"\n'
        '"GM0000    ","Gemeente onbekend","","GM0000","GM0000"\n', encoding="utf-8")
    result = cli("import", "codes", path, "--json", db=store.path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["rejected"], summary["placeholders"]) == (4, 6, 1)
    with open(str(path) + ".rejected.csv", encoding="utf-8") as fh:
        rejected = {int(r["line"]): r["reason"] for r in csv.DictReader(fh)}
    assert rejected == {
        6: "BU00149902 does not nest in GM0034 (its code implies GM0014)",
        7: "unknown wijk WK001498 (not in this file or the database)",
        8: "unknown gemeente GM9999 (not in this file or the database)",
        9: "unknown wijk WK999999 (not in this file or the database)",
        10: "invalid code PV20 (expected a gemeente GM + 4, wijk WK + 6 or buurt BU + 8 digits)",
        11: "duplicate of line 5 (same code)"}
    con = store.read()
    assert con.execute("SELECT code, parent_code, re_code, gm_code, wk_code FROM areas"
                       " WHERE code IN ('WK001499', 'BU00149901') ORDER BY code").fetchall() == [
        ("BU00149901", "WK001499", "RE01", "GM0014", "WK001499"),
        ("WK001499", "GM0014", "RE01", "GM0014", "WK001499")]
    # A rejected import (--strict, or a fatal problem) changes no row.
    version = store.current_file()
    strict = cli("import", "codes", path, "--strict", db=store.path)
    assert strict.returncode == 2 and "6 rows rejected (--strict)" in strict.stderr
    no_code = tmp_path / "no_code.csv"
    no_code.write_text("naam,soort\nAnnen,Buurt\n", encoding="utf-8")
    fatal = cli("import", "codes", no_code, db=store.path)
    assert fatal.returncode == 2 and "required column 'code'" in fatal.stderr
    assert store.current_file() == version

# -- counts --------------------------------------------------------------------------------------
def _valid_mik_rows(shared_data):
    """The Misdaad-in-Kaart rows the importer must accept, computed independently: the pc4 has
    a boundary, or the row names a gemeente that exists."""
    pc4s = {f["properties"]["pc4"] for f in
            json.loads((shared_data / "pc4.geojson").read_text())["features"]}
    gemeenten = {f["properties"]["statcode"] for f in
                 json.loads((shared_data / "gemeente_2025.geojson").read_text())["features"]}
    with open(shared_data / "pc4_woninginbraak_monthly_misdaadinkaart.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["pc4"] in pc4s or r["gm_code"] in gemeenten], len(rows)


def test_misdaad_in_kaart_pc4_counts(geo_db, shared_data, tmp_path):
    store = copy_store(geo_db.path, tmp_path)
    source = local_copy(shared_data / "pc4_woninginbraak_monthly_misdaadinkaart.csv", tmp_path)
    valid, total_rows = _valid_mik_rows(shared_data)
    start = time.perf_counter()
    result = cli("import", "counts", source, "--json", db=store.path)
    print(f"\nimport counts (Misdaad in Kaart, CLI): {time.perf_counter() - start:.2f} s")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["total"] == sum(int(r["incidents"]) for r in valid) == 64182
    assert summary["rows"] == len(valid)
    assert summary["rejected"] == total_rows - len(valid) == 3
    assert summary["layout"] == "misdaadinkaart"
    rejected = list(csv.DictReader(open(source.with_name(source.name + ".rejected.csv"))))
    assert [(r["line"], r["pc4"]) for r in rejected] == [
        ("3329", "1262"), ("27595", "5352"), ("27596", "5352")]
    assert all(r["reason"].startswith("unknown area code") for r in rejected)

    con = store.read()
    expected = defaultdict(int)
    for r in valid:
        expected[(r["month"], r["soort"] != "Woninginbraak")] += int(r["incidents"])
    got = {(f"{m:%Y-%m}", attempt): n for m, attempt, n in con.execute(
        "SELECT period_start, attempt, sum(count) FROM counts WHERE level = 'pc4'"
        " AND period_type = 'M' AND type_code = '1.1.1' GROUP BY 1, 2").fetchall()}
    assert got == dict(expected)
    # Re-importing the same file replaces its rows instead of adding them again.
    again = run_import(store, "counts", source)
    assert again.total == 64182
    assert store.read().execute("SELECT sum(count) FROM counts").fetchall() == [(64182,)]


def test_mik_registers_unknown_pc4_with_known_gemeente(tmp_path):
    store = small_geography.build(tmp_path / "geo")
    path = tmp_path / "mik.csv"
    path.write_text("pc4,gm_code,month,soort,incidents\n"
                    "0101,GMD001,2024-01,Woninginbraak,3\n"
                    "0199,GMD002,2024-01,Poging tot woninginbraak,2\n"
                    "0199,GMD002,2024-02,Woninginbraak,1\n"
                    "0198,,2024-02,Woninginbraak,1\n"
                    "0101,GMD001,2024-02,Autodiefstal,1\n", encoding="utf-8")
    result = run_import(store, "counts", path)
    assert (result.rows, result.rejected, result.total) == (3, 2, 6)
    assert result.detail["pc4_registered"] == 1
    con = store.read()
    assert con.execute("SELECT level, parent_code, gm_code, re_code FROM areas WHERE code = '0199'"
                       ).fetchall() == [("pc4", "GMD002", "GMD002", "RED1")]
    assert con.execute("SELECT area_code, period_start::VARCHAR, attempt, count FROM counts"
                       " ORDER BY 1, 2").fetchall() == [
        ("0101", "2024-01-01", False, 3), ("0199", "2024-01-01", True, 2),
        ("0199", "2024-02-01", False, 1)]


TYPED_SEMICOLON = '''"ID";"SoortMisdrijf";"WijkenEnBuurten";"Perioden";"GeregistreerdeMisdrijven_1"
0;"1.1.1   ";"GM0363    ";"2024MM01";"     120"
1;"1.1.1   ";"GM0363    ";"2024MM02";"     95"
2;"1.1.1   ";"GM0363    ";"2024KW01";"     330"
3;"1.1.1   ";"GM0363    ";"2024JJ00";"     1250"
4;"1.2.3   ";"WK001400  ";"2024MM01";"       ."
5;"1.2.3   ";"BU03630000";"2024MM01";"      "
6;"0.0.0   ";"NL01      ";"2023JJ00";"  805590"
7;"0.0.0   ";"RE05      ";"2023KW04";"   31000"
'''
TYPED_COMMA = '''ID,SoortMisdrijf,RegioS,Perioden,GeregistreerdeMisdrijven_1
0,1.4.5   ,GM0014    ,2024MM03,17
1,1.4.5   ,GM0014    ,2024MM04,.
2,1.4.5   ,GM0014    ,2024KW02,40
3,1.4.5   ,GM9999    ,2024KW02,40
4,9.9.9   ,GM0014    ,2024KW02,40
5,1.4.5   ,GM0014    ,2024XX02,40
'''
TIDY = """area_code,period,crime_code,count,attempt,provisional
GM0363,2024-03,1.1.1,10,0,
GM0363,2024-03,1.1.1,4,1,
GM0363,2024-Q2,1.1.1,33,,
GM0363,2024,1.2.3,5000,,true
GM0363,2024MM04,1.2.3,400,,
gm0014,2025-1,1.4.5,7,nee,nee
GM0014,2024-13,1.4.5,7,,
GM0014,2024-05,1.4.5,-3,,
GM0014,2024-06,1.4.5,2.5,,
GM0014,2024-07,1.4.5,veel,,
GM0363,2024-03,1.1.1,11,0,
"""


def test_counts_typeddataset_and_tidy(geo_db, tmp_path):
    store = copy_store(geo_db.path, tmp_path)
    semicolon = tmp_path / "47018NED_TypedDataSet.csv"
    semicolon.write_text(TYPED_SEMICOLON, encoding="utf-8-sig")  # with a BOM, as downloaded
    comma = tmp_path / "47022NED_TypedDataSet.csv"
    comma.write_text(TYPED_COMMA, encoding="utf-8")
    tidy = tmp_path / "tidy.csv"
    tidy.write_text(TIDY, encoding="utf-8")

    first = run_import(store, "counts", semicolon)
    assert (first.rows, first.rejected) == (6, 0)
    assert first.total == 120 + 95 + 330 + 1250 + 805590 + 31000
    assert first.detail["layout"] == "typeddataset" and first.detail["missing_values"] == 2
    second = run_import(store, "counts", comma)
    assert (second.rows, second.rejected, second.total) == (2, 3, 57)
    assert second.detail["missing_values"] == 1
    reasons = [r["reason"] for r in csv.DictReader(open(str(comma) + ".rejected.csv"))]
    assert reasons[0] == "unknown area code GM9999"
    assert reasons[1] == "unknown crime code 9.9.9"
    assert reasons[2].startswith("bad period 2024XX02")
    third = run_import(store, "counts", tidy)
    assert (third.rows, third.rejected, third.total) == (6, 5, 10 + 4 + 33 + 5000 + 400 + 7)
    with open(str(tidy) + ".rejected.csv", encoding="utf-8") as fh:
        rejected = {int(r["line"]): r["reason"] for r in csv.DictReader(fh)}
    assert rejected == {
        8: "bad period 2024-13 (expected 2024-03, 2024-Q1, 2024 or 2024MM03, 2024KW01, 2024JJ00)",
        9: "negative count -3", 10: "count is not a whole number: 2.5",
        11: "count is not a number: veel",
        12: "duplicate of line 2 (same area, period, crime code and attempt)"}

    con = store.read()
    rows = con.execute("""SELECT area_code, level, period_type, period_start::VARCHAR, type_code,
                                 attempt, count, provisional FROM counts WHERE source = ?
                          ORDER BY period_type, period_start""", [semicolon.name]).fetchall()
    assert rows == [
        ("GM0363", "gemeente", "M", "2024-01-01", "1.1.1", None, 120, False),
        ("GM0363", "gemeente", "M", "2024-02-01", "1.1.1", None, 95, False),
        ("RE05", "eenheid", "Q", "2023-10-01", "0.0.0", None, 31000, False),
        ("GM0363", "gemeente", "Q", "2024-01-01", "1.1.1", None, 330, False),
        ("NL00", "land", "Y", "2023-01-01", "0.0.0", None, 805590, False),
        ("GM0363", "gemeente", "Y", "2024-01-01", "1.1.1", None, 1250, False)]
    tidy_rows = con.execute("""SELECT area_code, period_type, period_start::VARCHAR, attempt,
                                      count, provisional FROM counts WHERE source = 'tidy.csv'
                               ORDER BY period_start, period_type, attempt""").fetchall()
    assert tidy_rows == [
        ("GM0363", "Y", "2024-01-01", None, 5000, True),
        ("GM0363", "M", "2024-03-01", False, 10, False),
        ("GM0363", "M", "2024-03-01", True, 4, False),
        ("GM0363", "M", "2024-04-01", None, 400, False),
        ("GM0363", "Q", "2024-04-01", None, 33, False),
        ("GM0014", "M", "2025-01-01", False, 7, False)]


# -- incidents -----------------------------------------------------------------------------------
def _buurt_layer(con):
    rows = con.execute("SELECT code, geom FROM boundaries WHERE level = 'buurt'").fetchall()
    return [r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])


def _direct_buurten(lon, lat, codes, geoms):
    """Every buurt containing each point, by plain shapely calls (no spatial index)."""
    bounds = shapely.bounds(geoms)
    out = []
    for x, y in zip(lon, lat):
        point = shapely.Point(x, y)
        near = np.flatnonzero((bounds[:, 0] <= x) & (x <= bounds[:, 2]) &
                              (bounds[:, 1] <= y) & (y <= bounds[:, 3]))
        out.append({codes[i] for i in near if geoms[i].intersects(point)})
    return out


def test_incidents_rd_wgs84_and_pc6(tmp_path, shared_data, geo_db):
    store = copy_store(geo_db.path, tmp_path)
    con = store.read()
    codes, geoms = _buurt_layer(con)
    # pc6 areas to place rows without coordinates: small squares around a few buurt label points
    # (a GeoPackage in RD New).
    pc6_codes = {"9701AA": "BU00140000", "9713AB": "BU00140007", "1012CD": "BU03630000"}
    labels = dict((code, (lon, lat)) for code, lon, lat in con.execute(
        "SELECT code, label_lon, label_lat FROM boundaries WHERE level = 'buurt'").fetchall())
    to_rd = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
    pc6 = gpd.GeoDataFrame(
        {"pc6": list(pc6_codes), "naam": ["a", "b", "c"]},
        geometry=[shapely.box(x - 20, y - 20, x + 20, y + 20)
                  for x, y in (to_rd.transform(*labels[bu]) for bu in pc6_codes.values())],
        crs="EPSG:28992")
    pc6.to_file(tmp_path / "pc6_2024.gpkg")
    result = run_import(store, "boundaries", tmp_path / "pc6_2024.gpkg", options={"level": "pc6"})
    assert result.rows == 3
    pc6_buurt = dict(store.read().execute(
        "SELECT code, bu_code FROM areas WHERE level = 'pc6'").fetchall())
    assert pc6_buurt == pc6_codes

    rng = np.random.default_rng(7)
    n = 3000
    pick = rng.integers(0, len(codes), n)
    label_points = shapely.point_on_surface(geoms[pick])
    lon = shapely.get_x(label_points) + rng.normal(0, 0.003, n)
    lat = shapely.get_y(label_points) + rng.normal(0, 0.002, n)
    x, y = to_rd.transform(lon, lat)
    path = tmp_path / "incidents.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["id", "registered_at", "occurred_at", "type_code", "attempt", "high_impact",
                      "x", "y", "lon", "lat", "pc6", "house_number", "street", "mo", "summary",
                      "basisteam"])
        for i in range(n):
            rd = i % 2 == 0
            out.writerow([f"T{i}", "2024-05-02T10:00:00", f"2024-0{1 + i % 4}-15T08:30", "1.1.1",
                          "ja" if i % 5 == 0 else "0", "", f"{x[i]:.2f}" if rd else "",
                          f"{y[i]:.2f}" if rd else "", "" if rd else f"{lon[i]:.7f}",
                          "" if rd else f"{lat[i]:.7f}", "", "12", "Dorpsstraat", "", "", ""])
        for j, code in enumerate(["9701 AA", "9713AB", "1012cd", "0000ZZ"]):
            out.writerow([f"P{j}", "2024-05-02", "2024-05-01", "1.2.3", "", "1", "", "", "", "",
                          code, "", "", "", "", ""])

    result = run_import(store, "incidents", path)
    # Expected: the buurt of every point by a direct shapely computation, the transform by pyproj.
    to_wgs = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    px, py = lon.copy(), lat.copy()
    even = np.arange(n) % 2 == 0
    px[even], py[even] = to_wgs.transform(np.round(x[even], 2), np.round(y[even], 2))
    px[~even], py[~even] = np.round(lon[~even], 7), np.round(lat[~even], 7)
    expected = _direct_buurten(px, py, codes, geoms)
    outside = {f"T{i}" for i, found in enumerate(expected) if not found}
    assert result.rows == n - len(outside) + 3
    assert result.rejected == len(outside) + 1
    con = store.read()
    got = dict(con.execute("SELECT id, bu_code FROM incidents").fetchall())
    for i, found in enumerate(expected):
        if found:
            assert got[f"T{i}"] in found, (i, got[f"T{i}"], found)
    assert [got[k] for k in ("P0", "P1", "P2")] == list(pc6_codes.values())
    # Hierarchy and derived columns.
    assert con.execute("""SELECT count(*) FROM incidents i JOIN areas b ON b.code = i.bu_code
                          WHERE i.gm_code <> b.gm_code OR i.wk_code <> b.wk_code
                             OR i.re_code IS DISTINCT FROM b.re_code""").fetchall() == [(0,)]
    assert con.execute("SELECT sum(attempt::INT), sum(high_impact::INT), count(lon)"
                       " FROM incidents").fetchall() == [
        (len([i for i in range(n) if i % 5 == 0 and f"T{i}" not in outside]), n - len(outside) + 3,
         n - len(outside))]
    assert con.execute("SELECT sum(count) FROM counts WHERE source = 'incidents'"
                       ).fetchall() == [(result.rows,)]
    rejected = list(csv.DictReader(open(str(path) + ".rejected.csv", encoding="utf-8")))
    assert rejected[-1]["line"] == str(n + 5) and "unknown pc6 0000ZZ" in rejected[-1]["reason"]
    assert {r["id"] for r in rejected[:-1]} == outside
    print(f"\nincidents: {n} rows, {len(outside)} outside every buurt")


# -- population ----------------------------------------------------------------------------------
def test_population_real_files(geo_db, shared_data, tmp_path):
    store = copy_store(geo_db.path, tmp_path)
    con = store.read()
    known = {c for (c,) in con.execute("SELECT code FROM areas").fetchall()}
    gemeente = local_copy(shared_data / "population_gemeente_2022_2024.csv", tmp_path)
    buurt = local_copy(shared_data / "buurt_population_2024_85984NED.csv", tmp_path)
    with open(gemeente, encoding="utf-8") as fh:
        g_rows = list(csv.DictReader(fh))
    with open(buurt, encoding="utf-8") as fh:
        b_rows = list(csv.DictReader(fh))
    g_ok = [r for r in g_rows if r["gm_code"] in known]
    b_ok = [r for r in b_rows if r["bu_code"] in known]

    first = run_import(store, "population", gemeente)
    assert (first.rows, first.rejected) == (len(g_ok), len(g_rows) - len(g_ok)) == (683, 4)
    second = run_import(store, "population", buurt)
    assert (second.rows, second.rejected) == (len(b_ok), len(b_rows) - len(b_ok))
    con = store.read()
    sums = dict(con.execute("SELECT year, sum(population) FROM population JOIN areas USING (code)"
                            " WHERE level = 'gemeente' GROUP BY year").fetchall())
    assert sums[2024] == 17_942_942  # the CBS national figure (README of shared/data)
    assert sums[2022] == sum(int(r["population"]) for r in g_ok
                             if r["peildatum"].startswith("2022"))
    assert con.execute("SELECT sum(population) FROM population JOIN areas USING (code)"
                       " WHERE level = 'buurt' AND year = 2024").fetchall() == [
        (sum(int(r["population_2024"]) for r in b_ok),)]
    # Upsert: importing again changes nothing.
    run_import(store, "population", gemeente)
    assert store.read().execute("SELECT count(*) FROM population").fetchall() == [
        (len(g_ok) + len(b_ok),)]
    reasons = Counter(r["reason"].split(" BU")[0] for r in
                      csv.DictReader(open(str(buurt) + ".rejected.csv", encoding="utf-8")))
    assert reasons == {"unknown area code": len(b_rows) - len(b_ok)}
