"""Import inhabitants per area per year into ``population`` (upsert on code x year).

Layouts (docs/import-formats.md), recognised from the header:

* tidy ``area_code,year,population``;
* an area column (``bu_code``, ``wk_code``, ``gm_code``, ``pc4``, ``code``, ...) with a year
  column (``year``/``jaar``, or ``peildatum``/``perioden`` whose first four characters are
  the year) and a ``population``/``inwoners``/``aantalinwoners...`` value column;
* an area column with one or more ``population_YYYY`` columns (the year is in the name), as in
  the CBS 85984NED extract ``bu_code,population_2024,gm_code``.
"""
from __future__ import annotations

import re
from pathlib import Path

from data.importers.common import ImportResult
from data.importers.cbs import CBS_LAND
from data.importers.csvfile import CsvFile, open_csv
from data.sql import ident, literal

#: Area columns, most detailed first (the buurt file also has gm_code).
AREA_COLUMNS = ("area_code", "code", "bu_code", "wk_code", "gm_code", "pc6", "pc4", "re_code",
                "wijkenenbuurten", "regios")
YEAR_COLUMNS = ("year", "jaar", "peildatum", "perioden")
VALUE_COLUMNS = ("population", "inwoners", "aantal_inwoners")


def import_population(con, path):
    path = Path(path)
    csv = open_csv(path)
    area, parts = _layout(csv)
    csv.load(con)
    land = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CBS_LAND.items())
    selects = [
        f"SELECT _line, CASE upper({ident(area)}) {land} ELSE upper({ident(area)}) END AS code,"
        f" {year} AS year_raw, {ident(value)} AS value_raw FROM _csv"
        for year, value in parts]
    con.execute("CREATE OR REPLACE TEMP TABLE _pop_in AS " + " UNION ALL ".join(selects))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _pop_parsed AS
        SELECT i.*, a.code IS NOT NULL AS known,
               CASE WHEN regexp_matches(year_raw, '^(19|20)\\d{2}($|\\D)')
                    THEN left(year_raw, 4)::INTEGER END AS year,
               try_cast(value_raw AS DECIMAL(38, 6)) AS number
        FROM _pop_in i LEFT JOIN areas a ON a.code = i.code""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _pop_checked AS
        WITH reasons AS (
            SELECT *, CASE
                WHEN code IS NULL THEN 'missing area code'
                WHEN NOT known THEN 'unknown area code ' || code
                WHEN year_raw IS NULL THEN 'missing year'
                WHEN year IS NULL THEN 'bad year ' || year_raw
                WHEN value_raw IS NULL THEN 'missing population'
                WHEN number IS NULL THEN 'population is not a number: ' || value_raw
                WHEN number < 0 THEN 'negative population ' || value_raw
                WHEN number <> floor(number) THEN 'population is not a whole number: ' || value_raw
                WHEN number > 2147483647 THEN 'population too large: ' || value_raw
                END AS reason
            FROM _pop_parsed)
        SELECT _line, code, year,
               CASE WHEN reason IS NULL THEN number::INTEGER END AS population,
               CASE WHEN reason IS NULL AND _line > min(_line) OVER same
                    THEN 'duplicate of line ' || min(_line) OVER same || ' (same area and year)'
                    ELSE reason END AS reason
        FROM (SELECT *, CASE WHEN reason IS NULL THEN 0 ELSE _line END AS grp FROM reasons)
        WINDOW same AS (PARTITION BY code, year, grp)""")
    rejections = _unique(csv.rejected_rows(con, "_pop_checked"))
    con.execute("""
        INSERT OR REPLACE INTO population (code, year, population, source)
        SELECT code, year, population, ? FROM _pop_checked WHERE reason IS NULL
        ORDER BY code, year""", [path.name])
    rows, total = con.execute("SELECT count(*), coalesce(sum(population), 0) FROM _pop_checked"
                              " WHERE reason IS NULL").fetchall()[0]
    years = [r[0] for r in con.execute("SELECT DISTINCT year FROM _pop_checked WHERE reason IS NULL"
                                       " ORDER BY 1").fetchall()]
    result = ImportResult("population", str(path), rows=rows, total=int(total))
    result.detail = {"area_column": area, "years": ",".join(map(str, years))}
    for name in ("_pop_in", "_pop_parsed", "_pop_checked"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    csv.drop(con)
    return result, rejections


def _layout(csv: CsvFile) -> tuple[str, list[tuple[str, str]]]:
    """The area column and a list of (year SQL expression, value column)."""
    area = csv.find(*AREA_COLUMNS)
    if area is None:
        csv.require(("area_code",) + AREA_COLUMNS[1:])
    yearly = [c for c in csv.columns if re.fullmatch(r"(population|inwoners)_?(19|20)\d{2}", c)]
    year = csv.find(*YEAR_COLUMNS)
    value = csv.find(*VALUE_COLUMNS) or next(iter(csv.find_prefix("aantalinwoners")), None)
    if value and year:
        return area, [(ident(year), value)]
    if yearly and not year:
        return area, [(literal(re.search(r"(19|20)\d{2}", c).group(0)), c) for c in yearly]
    csv.require(("year", "peildatum"), ("population",) + VALUE_COLUMNS[1:])
    raise AssertionError("unreachable")  # require() raised


def _unique(rejections):
    """One rejection per line (a wide file with several year columns can fail twice per line)."""
    seen, out = set(), []
    for r in rejections:
        if r.line not in seen:
            seen.add(r.line)
            out.append(r)
    return out

