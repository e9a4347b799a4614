"""Import crime counts per area, period and crime type: registered crimes into ``counts``, the
other measures of a CBS table (cleared crimes, registrations of suspects) into
``measure_counts``.

Four layouts are recognised from the header (docs/import-formats.md):

* ``typeddataset``: the Politie/CBS open-data download (``ID;SoortMisdrijf;WijkenEnBuurten;
  Perioden;GeregistreerdeMisdrijven_1``, or ``RegioS`` for the region), codes padded with
  spaces, periods ``2024MM03`` / ``2024KW01`` / ``2024JJ00``, "." or empty = missing; one or
  more measure columns (83648NED: ``TotaalGeregistreerdeMisdrijven_1``,
  ``TotaalOpgehelderdeMisdrijven_4``, ``RegistratiesVanVerdachten_6``);
* ``statline``: the same tables as a user downloads them from StatLine, with labels
  (``"Soort misdrijf";"Regio's";"Perioden";"Totaal geregistreerde misdrijven (aantal)"``):
  gemeente names and crime type titles are looked up, ``2024*`` is provisional (see
  ``data.importers.cbs``);
* ``misdaadinkaart``: the Misdaad-in-Kaart PC4 monthly file (``pc4,gm_code,month,soort,
  incidents``), residential burglary completed/attempted;
* ``tidy``: ``area_code,period,crime_code,count`` (+ optional ``attempt``, ``provisional``).

All rows are normalised into one temporary table (one row per input row and measure) and
validated with SQL; a row is rejected as a whole when one of its values is. Re-importing a file
replaces the rows that came from a file of the same name (``source``).
"""
from __future__ import annotations

from pathlib import Path

from data.importers import cbs
from data.importers.boundaries import CODE_PATTERNS
from data.importers.cbs import CBS_LAND
from data.importers.common import ImportResult
from data.importers.csvfile import CsvFile, open_csv
from data.sql import ident, literal, scalar

#: Misdaad-in-Kaart "soort" -> (type code, attempt).
MIK_SOORTEN = {
    "woninginbraak": ("1.1.1", False),
    "poging tot woninginbraak": ("1.1.1", True),
}
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
    layout, measures = _layout(csv)
    csv.load(con)
    if layout == "statline":
        csv.rejections = [r for r in csv.rejections if not _is_source_line(r.values.get("row"))]
    _normalise(con, csv, layout, measures)
    registered = _register_pc4s(con) if layout == "misdaadinkaart" else 0
    _check(con, layout)
    missing = scalar(con, "SELECT count(*) FROM _counts_checked WHERE skipped AND reason IS NULL")
    rejections = csv.rejected_rows(con, "_counts_lines")

    source = path.name
    ok = "reason IS NULL AND NOT skipped"
    con.execute("DELETE FROM counts WHERE source = ?", [source])
    con.execute("DELETE FROM measure_counts WHERE source = ?", [source])
    con.execute(f"""
        INSERT INTO counts (area_code, level, period_type, period_start, type_code, attempt,
                            count, source, provisional)
        SELECT area_code, level, period_type, period_start, type_code, attempt, count, ?,
               coalesce(provisional, false)
        FROM _counts_checked WHERE {ok} AND measure = 'registered'
        ORDER BY area_code, period_start, type_code""", [source])
    con.execute(f"""
        INSERT INTO measure_counts (area_code, level, period_type, period_start, type_code,
                                    measure, count, source, provisional)
        SELECT area_code, level, period_type, period_start, type_code, measure, count, ?,
               coalesce(provisional, false)
        FROM _counts_checked WHERE {ok} AND measure <> 'registered'
        ORDER BY measure, area_code, period_start, type_code""", [source])
    rows, first, last, provisional = con.execute(f"""
        SELECT count(DISTINCT _line), min(period_start), max(period_start),
               count(*) FILTER (WHERE provisional)
        FROM _counts_checked WHERE {ok}""").fetchall()[0]
    per_measure = {m: (n, int(t)) for m, n, t in con.execute(f"""
        SELECT measure, count(*), coalesce(sum(count), 0) FROM _counts_checked WHERE {ok}
        GROUP BY measure""").fetchall()}

    result = ImportResult("counts", str(path), rows=rows,
                          total=per_measure.get("registered", (0, 0))[1])
    result.detail = {"layout": layout}
    if list(measures) != ["registered"]:
        result.detail["measures"] = ", ".join(measures)
        for measure in measures:
            if measure != "registered":
                n, total = per_measure.get(measure, (0, 0))
                result.detail[measure] = f"{n} rows, total {total}"
    if rows:
        result.detail["periods"] = f"{first}..{last}"
    if provisional:
        result.detail["provisional"] = provisional
    if missing:
        result.detail["missing_values"] = missing
        result.warnings.append(f"{missing} values are missing ('.', 'x' or empty): skipped, not "
                               "counted as zero")
    if registered:
        result.detail["pc4_registered"] = registered
        result.warnings.append(f"{registered} pc4 codes without a boundary were registered as "
                               "areas of the gemeente given in the file")
    for name in ("_counts_in", "_counts_checked", "_counts_lines", "_area_labels",
                 "_type_labels"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    csv.drop(con)
    return result, rejections


#: Region columns of the CBS layouts: TypedDataSet keys, StatLine labels.
TYPED_REGION = ("wijkenenbuurten", "regios")
STATLINE_REGION = ("regio's", "wijken en buurten", "regio", "regios", "gemeenten", "gemeente")
STATUS_COLUMNS = ("status", "perioden_status", "periodenstatus")


def _layout(csv: CsvFile) -> tuple[str, dict[str, str]]:
    """The layout and its measure columns ({measure: column})."""
    for layout, type_column, regions in (("typeddataset", "soortmisdrijf", TYPED_REGION),
                                         ("statline", "soort misdrijf", STATLINE_REGION)):
        if csv.find(type_column) and csv.find("perioden"):
            name = "CBS TypedDataSet" if layout == "typeddataset" else "StatLine CSV"
            csv.require(type_column, regions, "perioden", layout=name)
            measures = cbs.measure_columns(csv)
            if not measures:
                csv.require(("geregistreerdemisdrijven_1", "totaalgeregistreerdemisdrijven_1",
                             "geregistreerde misdrijven (aantal)"), layout=name)
            return layout, measures
    if csv.find("soort") and csv.find("pc4"):
        csv.require("pc4", "month", "soort", "incidents", layout="Misdaad-in-Kaart PC4")
        return "misdaadinkaart", {"registered": "incidents"}
    csv.require(("area_code", "code"), "period", ("crime_code", "type_code"), "count",
                layout="tidy")
    return "tidy", {"registered": "count"}


def _is_source_line(text) -> bool:
    """StatLine ends some downloads with a line "Bron: CBS" (not a data row)."""
    return bool(text) and text.strip().strip('"').strip().lower().startswith("bron:")


def _normalise(con, csv: CsvFile, layout: str, measures: dict[str, str]) -> None:
    """``_counts_in``: one row per input row and measure, as text, in the same columns for
    every layout."""
    provisional = csv.find("provisional", "voorlopig")
    provisional = ident(provisional) if provisional else "NULL::VARCHAR"
    status = csv.find(*STATUS_COLUMNS)
    status = ident(status) if status else "NULL::VARCHAR"
    land = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CBS_LAND.items())
    gm_hint = soort = "NULL::VARCHAR"
    attempt = "NULL::VARCHAR"
    if layout in ("typeddataset", "statline"):
        region = ident(csv.find(*(TYPED_REGION if layout == "typeddataset" else STATLINE_REGION)))
        crime = ident(csv.find("soortmisdrijf", "soort misdrijf"))
        period, starred = cbs.period_label_sql("perioden")
        code = f"upper(replace({region}, ' ', ''))"
        area, label = f"CASE {code} {land} ELSE {code} END", region
        provisional = f"CASE WHEN {starred} THEN 'true' ELSE {provisional} END"
    elif layout == "misdaadinkaart":
        types = " ".join(f"WHEN '{k}' THEN '{t}'" for k, (t, _) in MIK_SOORTEN.items())
        attempts = " ".join(f"WHEN '{k}' THEN '{int(a)}'" for k, (_, a) in MIK_SOORTEN.items())
        area = ("CASE WHEN regexp_full_match(pc4, '\\d{1,3}') THEN lpad(pc4, 4, '0')"
                " ELSE upper(pc4) END")
        label, period, crime = "pc4", "month", f"CASE lower(soort) {types} END"
        attempt = f"CASE lower(soort) {attempts} END"
        gm_hint = "upper(gm_code)" if csv.find("gm_code") else "NULL::VARCHAR"
        soort = "soort"
    else:
        label, period = ident(csv.find("area_code", "code")), "period"
        area = f"CASE upper({label}) {land} ELSE upper({label}) END"
        crime = ident(csv.find("crime_code", "type_code"))
        found = csv.find("attempt", "poging")
        attempt = ident(found) if found else "NULL::VARCHAR"
    selects = [
        f"""SELECT _line, {literal(measure)} AS measure, {area} AS area_code,
                   {label} AS area_label, {period} AS period, {crime} AS type_label,
                   {attempt} AS attempt_raw, {ident(column)} AS count_raw, {gm_hint} AS gm_hint,
                   {soort} AS soort, {provisional} AS provisional_raw, {status} AS status_raw
            FROM _csv"""
        for measure, column in measures.items()]
    con.execute("CREATE OR REPLACE TEMP TABLE _counts_in AS " + " UNION ALL ".join(selects))


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


#: An area code of any level (else the value is read as a name).
AREA_CODE = "|".join(["NL00", *CODE_PATTERNS.values()])
#: A crime or incident type code of any classification (else the value is read as a title).
TYPE_CODE = r"\d+(\.\d+)+|[A-Z]+\d+"


def _check(con, layout: str) -> None:
    """``_counts_checked``: parsed values plus ``reason`` (NULL = accepted) and ``skipped``, one
    row per input row and measure; ``_counts_lines``: the reason of each input row (the first
    reason of its measures), so that a row is accepted or rejected as a whole."""
    cbs.create_label_tables(con)
    kind, start = period_sql("i.period")
    attempt = bool_sql("i.attempt_raw")
    provisional = bool_sql("i.provisional_raw")
    if layout in ("typeddataset", "statline"):
        number = cbs.count_text_sql("i.count_raw", labels=layout == "statline")
    else:
        number = "CASE WHEN i.count_raw <> '.' THEN i.count_raw END"
    key = cbs.label_key_sql("i.area_label")
    type_key = cbs.label_key_sql("i.type_label")
    periods = " (expected 2024-03, 2024-Q1, 2024 or 2024MM03, 2024KW01, 2024JJ00)"
    if layout == "statline":
        periods = " (expected 2024, 2024 maart, 2024 1e kwartaal, with * when provisional)"
    # A registered code first, then a name; the rest is reported as an unknown code when it
    # looks like one (a name such as Bunschoten also fits the BU pattern, without digits).
    code_like = (f"regexp_full_match(i.area_code, '{AREA_CODE}')"
                 " AND regexp_matches(i.area_code, '\\d')")
    what = "CASE measure WHEN 'registered' THEN 'count' ELSE measure || ' count' END"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _counts_parsed AS
        SELECT i._line, i.measure, i.area_label,
               coalesce(k.code, al.code, i.area_code) AS area_code,
               k.code IS NOT NULL OR (al.code IS NULL AND {code_like}) AS area_is_code,
               CASE WHEN k.code IS NULL THEN al.n END AS area_n,
               a.level, i.type_label, coalesce(c.code, tl.code, lc.code) AS type_code, i.soort,
               i.period, {kind} AS period_type, {start} AS period_start,
               i.attempt_raw, {attempt} AS attempt, i.provisional_raw, i.status_raw,
               CASE WHEN lower(i.status_raw) IN ('voorlopig', 'nader voorlopig') THEN true
                    WHEN lower(i.status_raw) = 'definitief' THEN false
                    ELSE {provisional} END AS provisional,
               i.count_raw, try_cast({number} AS DECIMAL(38, 6)) AS number,
               {number} IS NULL AS skipped
        FROM _counts_in i
        LEFT JOIN areas k ON k.code = i.area_code
        LEFT JOIN _area_labels al ON k.code IS NULL AND al.key = {key}
        LEFT JOIN areas a ON a.code = coalesce(k.code, al.code)
        LEFT JOIN crime_types c ON c.code = i.type_label
        LEFT JOIN _type_labels tl ON c.code IS NULL AND tl.key = {type_key}
        LEFT JOIN crime_types lc ON c.code IS NULL AND tl.code IS NULL
            AND lc.code = regexp_extract(i.type_label, '^(\\d+\\.\\d+\\.\\d+)\\s', 1)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _counts_checked AS
        WITH reasons AS (
            SELECT *, CASE
                WHEN area_label IS NULL THEN 'missing area code'
                WHEN area_is_code AND level IS NULL THEN 'unknown area code ' || area_code
                WHEN area_n > 1 THEN 'ambiguous area name ' || area_label || ' ('
                    || area_n || ' gemeenten have it): give the code'
                WHEN level IS NULL THEN 'unknown area name ' || area_label
                    || ' (expected a gemeente name from the area registry, Nederland or a code)'
                WHEN type_label IS NULL AND soort IS NOT NULL THEN 'unknown soort ' || soort
                WHEN type_label IS NULL THEN 'missing crime code'
                WHEN type_code IS NULL AND regexp_full_match(type_label, '{TYPE_CODE}')
                    THEN 'unknown crime code ' || type_label
                WHEN type_code IS NULL THEN 'unknown crime type ' || type_label
                    || ' (expected a code or a crime type title such as Totaal misdrijven)'
                WHEN period IS NULL THEN 'missing period'
                WHEN period_type IS NULL THEN 'bad period ' || period || {literal(periods)}
                WHEN attempt_raw IS NOT NULL AND attempt IS NULL
                    THEN 'bad attempt value ' || attempt_raw
                         || ' (expected 0/1, ja/nee, true/false)'
                WHEN provisional_raw IS NOT NULL AND provisional IS NULL
                    THEN 'bad provisional value ' || provisional_raw
                WHEN status_raw IS NOT NULL AND lower(status_raw) NOT IN
                    ('voorlopig', 'nader voorlopig', 'definitief')
                    THEN 'bad status ' || status_raw || ' (expected Voorlopig or Definitief)'
                WHEN skipped THEN NULL
                WHEN number IS NULL THEN {what} || ' is not a number: ' || count_raw
                WHEN number < 0 THEN 'negative ' || {what} || ' ' || count_raw
                WHEN number <> floor(number) THEN {what} || ' is not a whole number: '
                    || count_raw
                WHEN number > {MAX_COUNT} THEN {what} || ' too large: ' || count_raw
                END AS reason
            FROM _counts_parsed),
        lines AS (  -- a row is rejected when one of its measures is
            SELECT *, min(reason) OVER (PARTITION BY _line) AS line_reason
            FROM reasons)
        SELECT _line, measure, area_code, level, period_type, period_start, type_code, attempt,
               provisional, skipped,
               CASE WHEN line_reason IS NULL AND NOT skipped THEN number::INTEGER END AS count,
               CASE WHEN line_reason IS NULL AND NOT skipped AND _line > min(_line) OVER same
                    THEN 'duplicate of line ' || min(_line) OVER same
                         || ' (same area, period, crime code and attempt)'
                    ELSE line_reason END AS reason
        FROM (SELECT *, CASE WHEN line_reason IS NULL AND NOT skipped THEN 0 ELSE _line END
                        AS grp FROM lines)
        WINDOW same AS (PARTITION BY measure, area_code, period_type, period_start, type_code,
                        attempt, grp)""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _counts_lines AS
        SELECT _line, min(reason) AS reason FROM _counts_checked GROUP BY _line""")
    con.execute("""
        UPDATE _counts_checked SET reason = l.reason FROM _counts_lines l
        WHERE _counts_checked._line = l._line AND l.reason IS NOT NULL""")
    con.execute("DROP TABLE IF EXISTS _counts_parsed")
