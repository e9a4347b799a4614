"""Import registered-crime counts per area, period and crime type into ``counts``.

Three layouts are recognised from the header (docs/import-formats.md):

* ``typeddataset``: the Politie/CBS open-data download (``ID;SoortMisdrijf;WijkenEnBuurten;
  Perioden;GeregistreerdeMisdrijven_1``, or ``RegioS`` for the region), codes padded with
  spaces, periods ``2024MM03`` / ``2024KW01`` / ``2024JJ00``, "." or empty = missing;
* ``misdaadinkaart``: the Misdaad-in-Kaart PC4 monthly file (``pc4,gm_code,month,soort,
  incidents``), residential burglary completed/attempted;
* ``tidy``: ``area_code,period,crime_code,count`` (+ optional ``attempt``, ``provisional``).

All rows are normalised into one temporary table and validated with SQL. Re-importing a file
replaces the rows that came from a file of the same name (``counts.source``).
"""
from __future__ import annotations

from pathlib import Path

from data.importers.boundaries import CODE_PATTERNS
from data.importers.common import ImportResult
from data.importers.csvfile import CsvFile, ident, open_csv
from data.sql import scalar

#: Misdaad-in-Kaart "soort" -> (type code, attempt).
MIK_SOORTEN = {
    "woninginbraak": ("1.1.1", False),
    "poging tot woninginbraak": ("1.1.1", True),
}
#: CBS writes Nederland as NL01; the area registry calls it NL00.
CBS_LAND = {"NL01": "NL00"}
MAX_COUNT = 2**31 - 1

TRUE_WORDS = ("1", "true", "t", "ja", "j", "yes", "y", "waar")
FALSE_WORDS = ("0", "false", "f", "nee", "n", "no", "onwaar")


def bool_sql(expr: str) -> str:
    """SQL turning 0/1/ja/nee/true/false (any case) into a BOOLEAN; NULL when not one of them."""
    t = ", ".join(f"'{w}'" for w in TRUE_WORDS)
    f = ", ".join(f"'{w}'" for w in FALSE_WORDS)
    return (f"CASE WHEN lower({expr}) IN ({t}) THEN true"
            f" WHEN lower({expr}) IN ({f}) THEN false END")


def period_sql(expr: str) -> tuple[str, str]:
    """SQL for (period_type, period_start) of a period written as 2024-03 / 2024-Q1 / 2024 or
    the CBS forms 2024MM03 / 2024KW01 / 2024JJ00. Both are NULL for anything else."""
    p = f"upper({expr})"
    year = f"try_cast(left({p}, 4) AS INTEGER)"
    month = f"try_cast(regexp_extract({p}, '^\\d{{4}}(MM|-)(\\d{{1,2}})$', 2) AS INTEGER)"
    quarter = f"try_cast(regexp_extract({p}, '^\\d{{4}}(KW0|-?Q)([1-4])$', 2) AS INTEGER)"
    is_month = (f"(regexp_full_match({p}, '\\d{{4}}MM\\d{{2}}|\\d{{4}}-\\d{{1,2}}')"
                f" AND {month} BETWEEN 1 AND 12)")
    is_quarter = f"regexp_full_match({p}, '\\d{{4}}(KW0|-?Q)[1-4]')"
    is_year = f"regexp_full_match({p}, '\\d{{4}}(JJ00)?')"
    plausible = f"{year} BETWEEN 1900 AND 2100"
    kind = (f"CASE WHEN NOT coalesce({plausible}, false) THEN NULL"
            f" WHEN {is_month} THEN 'M' WHEN {is_quarter} THEN 'Q' WHEN {is_year} THEN 'Y' END")
    start = (f"CASE WHEN NOT coalesce({plausible}, false) THEN NULL"
             f" WHEN {is_month} THEN make_date({year}, {month}, 1)"
             f" WHEN {is_quarter} THEN make_date({year}, 3 * {quarter} - 2, 1)"
             f" WHEN {is_year} THEN make_date({year}, 1, 1) END")
    return kind, start


def import_counts(con, path):
    path = Path(path)
    csv = open_csv(path)
    layout = _layout(csv)
    csv.load(con)
    _normalise(con, csv, layout)
    registered = _register_pc4s(con) if layout == "misdaadinkaart" else 0
    _check(con)
    missing = scalar(con, "SELECT count(*) FROM _counts_checked WHERE skipped AND reason IS NULL")
    rejections = csv.rejected_rows(con, "_counts_checked")

    source = path.name
    con.execute("DELETE FROM counts WHERE source = ?", [source])
    con.execute("""
        INSERT INTO counts (area_code, level, period_type, period_start, type_code, attempt,
                            count, source, provisional)
        SELECT area_code, level, period_type, period_start, type_code, attempt, count, ?,
               coalesce(provisional, false)
        FROM _counts_checked WHERE reason IS NULL AND NOT skipped
        ORDER BY area_code, period_start, type_code""", [source])
    rows, total, first, last = con.execute("""
        SELECT count(*), coalesce(sum(count), 0), min(period_start), max(period_start)
        FROM _counts_checked WHERE reason IS NULL AND NOT skipped""").fetchall()[0]

    result = ImportResult("counts", str(path), rows=rows, total=int(total))
    result.detail = {"layout": layout}
    if rows:
        result.detail["periods"] = f"{first}..{last}"
    if missing:
        result.detail["missing_values"] = missing
        result.warnings.append(f"{missing} rows have no value ('.' or empty): skipped, not "
                               "counted as zero")
    if registered:
        result.detail["pc4_registered"] = registered
        result.warnings.append(f"{registered} pc4 codes without a boundary were registered as "
                               "areas of the gemeente given in the file")
    for name in ("_counts_in", "_counts_checked", "_csv"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return result, rejections


def _layout(csv: CsvFile) -> str:
    if csv.find("soortmisdrijf") and csv.find("perioden"):
        csv.require("soortmisdrijf", ("wijkenenbuurten", "regios"), "perioden",
                    layout="CBS TypedDataSet")
        if not csv.find_prefix("geregistreerdemisdrijven"):
            csv.require("geregistreerdemisdrijven_1", layout="CBS TypedDataSet")
        return "typeddataset"
    if csv.find("soort") and csv.find("pc4"):
        csv.require("pc4", "month", "soort", "incidents", layout="Misdaad-in-Kaart PC4")
        return "misdaadinkaart"
    csv.require(("area_code", "code"), "period", ("crime_code", "type_code"), "count",
                layout="tidy")
    return "tidy"


def _normalise(con, csv: CsvFile, layout: str) -> None:
    """``_counts_in``: one row per input row, as text, in the same columns for every layout."""
    provisional = csv.find("provisional", "voorlopig")
    provisional = ident(provisional) if provisional else "NULL::VARCHAR"
    if layout == "typeddataset":
        region = ident(csv.find("wijkenenbuurten", "regios"))
        value = ident(csv.find("geregistreerdemisdrijven_1")
                      or csv.find_prefix("geregistreerdemisdrijven")[0])
        cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CBS_LAND.items())
        select = f"""
            CASE upper({region}) {cases} ELSE upper({region}) END AS area_code,
            perioden AS period, soortmisdrijf AS type_code, NULL::VARCHAR AS attempt_raw,
            {value} AS count_raw, NULL::VARCHAR AS gm_hint, NULL::VARCHAR AS soort"""
    elif layout == "misdaadinkaart":
        types = " ".join(f"WHEN '{k}' THEN '{t}'" for k, (t, _) in MIK_SOORTEN.items())
        attempts = " ".join(f"WHEN '{k}' THEN '{int(a)}'" for k, (_, a) in MIK_SOORTEN.items())
        select = f"""
            CASE WHEN regexp_full_match(pc4, '\\d{{1,3}}') THEN lpad(pc4, 4, '0')
                 ELSE upper(pc4) END AS area_code,
            month AS period, CASE lower(soort) {types} END AS type_code,
            CASE lower(soort) {attempts} END AS attempt_raw, incidents AS count_raw,
            {'upper(gm_code)' if csv.find('gm_code') else 'NULL::VARCHAR'} AS gm_hint, soort"""
    else:
        area = ident(csv.find("area_code", "code"))
        crime = ident(csv.find("crime_code", "type_code"))
        attempt = csv.find("attempt", "poging")
        select = f"""
            CASE upper({area}) {" ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CBS_LAND.items())}
                 ELSE upper({area}) END AS area_code,
            period, {crime} AS type_code,
            {ident(attempt) if attempt else 'NULL::VARCHAR'} AS attempt_raw,
            "count" AS count_raw, NULL::VARCHAR AS gm_hint, NULL::VARCHAR AS soort"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _counts_in AS SELECT _line, {select},"
                f" {provisional} AS provisional_raw FROM _csv")


def _register_pc4s(con) -> int:
    """A pc4 without a boundary but with a known gemeente becomes an area of that gemeente."""
    new = con.execute(f"""
        SELECT i.area_code, g.code, g.re_code
        FROM (SELECT area_code, min(gm_hint) AS gm_hint FROM _counts_in
              WHERE gm_hint IS NOT NULL GROUP BY area_code) i
        JOIN areas g ON g.code = i.gm_hint AND g.level = 'gemeente'
        WHERE regexp_full_match(i.area_code, '{CODE_PATTERNS["pc4"]}')
          AND i.area_code NOT IN (SELECT code FROM areas)
        ORDER BY 1""").fetchall()
    if new:
        con.executemany("""INSERT INTO areas (code, level, parent_code, re_code, gm_code, pc4)
                           VALUES (?, 'pc4', ?, ?, ?, ?)""",
                        [(code, gm, re_code, gm, code) for code, gm, re_code in new])
    return len(new)


def _check(con) -> None:
    """``_counts_checked``: parsed values plus ``reason`` (NULL = accepted) and ``skipped``."""
    kind, start = period_sql("i.period")
    attempt = bool_sql("i.attempt_raw")
    provisional = bool_sql("i.provisional_raw")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _counts_parsed AS
        SELECT i._line, i.area_code, a.level, i.type_code, t.code IS NOT NULL AS known_type,
               i.soort, i.period, {kind} AS period_type, {start} AS period_start,
               i.attempt_raw, {attempt} AS attempt, i.provisional_raw, {provisional} AS provisional,
               i.count_raw, try_cast(i.count_raw AS DECIMAL(38, 6)) AS number,
               i.count_raw IS NULL OR i.count_raw = '.' AS skipped
        FROM _counts_in i
        LEFT JOIN areas a ON a.code = i.area_code
        LEFT JOIN crime_types t ON t.code = i.type_code""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _counts_checked AS
        WITH reasons AS (
            SELECT *, CASE
                WHEN area_code IS NULL THEN 'missing area code'
                WHEN level IS NULL THEN 'unknown area code ' || area_code
                WHEN type_code IS NULL AND soort IS NOT NULL THEN 'unknown soort ' || soort
                WHEN type_code IS NULL THEN 'missing crime code'
                WHEN NOT known_type THEN 'unknown crime code ' || type_code
                WHEN period IS NULL THEN 'missing period'
                WHEN period_type IS NULL THEN 'bad period ' || period
                    || ' (expected 2024-03, 2024-Q1, 2024 or 2024MM03, 2024KW01, 2024JJ00)'
                WHEN attempt_raw IS NOT NULL AND attempt IS NULL
                    THEN 'bad attempt value ' || attempt_raw
                         || ' (expected 0/1, ja/nee, true/false)'
                WHEN provisional_raw IS NOT NULL AND provisional IS NULL
                    THEN 'bad provisional value ' || provisional_raw
                WHEN skipped THEN NULL
                WHEN number IS NULL THEN 'count is not a number: ' || count_raw
                WHEN number < 0 THEN 'negative count ' || count_raw
                WHEN number <> floor(number) THEN 'count is not a whole number: ' || count_raw
                WHEN number > {MAX_COUNT} THEN 'count too large: ' || count_raw
                END AS reason
            FROM _counts_parsed)
        SELECT _line, area_code, level, period_type, period_start, type_code, attempt,
               provisional, skipped,
               CASE WHEN reason IS NULL AND NOT skipped THEN number::INTEGER END AS count,
               CASE WHEN reason IS NULL AND NOT skipped AND _line > min(_line) OVER same
                    THEN 'duplicate of line ' || min(_line) OVER same
                         || ' (same area, period, crime code and attempt)'
                    ELSE reason END AS reason
        FROM (SELECT *, CASE WHEN reason IS NULL AND NOT skipped THEN 0 ELSE _line END AS grp
              FROM reasons)
        WINDOW same AS (PARTITION BY area_code, period_type, period_start, type_code, attempt, grp)
        """)
    con.execute("DROP TABLE IF EXISTS _counts_parsed")
