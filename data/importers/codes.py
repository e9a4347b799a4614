"""Import a CBS code list of one indeling: gemeenten, wijken and buurten with names, no shapes.

Layouts (docs/import-formats.md), recognised from the header:

* ``code,naam,soort,gm_code,wk_code`` (``wijken_en_buurten_2024_codes.csv``);
* the region dimension of a CBS/Politie open-data table (``WijkenEnBuurten.csv``:
  ``Key,Title,Description,Municipality,DetailRegionCode``), codes padded with spaces.

The level follows from the code (``GM``, ``WK``, ``BU``; ``NL00``/``NL01`` is the land); a
``soort`` or ``gm_code``/``wk_code`` column must agree with it. Areas are keyed by code, as
everywhere: a code that is already registered (from boundaries of another indeling) keeps its
one row and its name, and takes the gemeente and wijk of the list; its ``re_code`` comes from
the gemeente's row. A wijk is accepted only when its gemeente is registered or accepted in the same
file, a buurt only when its wijk is, so the registry stays a tree. CBS's placeholders for an
unknown gemeente, wijk or buurt (``GM0000``, ``WK000000``, ``BU00000000``) are skipped.
"""
from __future__ import annotations

from pathlib import Path

from data.importers.boundaries import CODE_PATTERNS, _upsert_areas, place_older_areas
from data.importers.common import ImportResult
from data.importers.cbs import CBS_LAND
from data.importers.csvfile import CsvFile, open_csv
from data.sql import ident

CODE_COLUMNS = ("code", "key", "statcode", "area_code")
NAME_COLUMNS = ("naam", "title", "statnaam", "name")
LEVEL_COLUMNS = ("soort", "soortregio", "level")
GM_COLUMNS = ("gm_code", "gemeentecode", "municipality")
WK_COLUMNS = ("wk_code", "wijkcode")
#: ``soort`` values (Dutch, as CBS writes them, or the level names) -> level.
SOORTEN = {"land": "land", "gemeente": "gemeente", "wijk": "wijk", "buurt": "buurt"}
#: Levels a code list holds, parents first: a level's rows are checked after its parent's.
LEVELS = ("land", "gemeente", "wijk", "buurt")


def import_codes(con, path):
    path = Path(path)
    csv = open_csv(path)
    csv.require(CODE_COLUMNS, layout="code list")
    csv.load(con)
    _normalise(con, csv)
    _check(con)
    rejections = csv.rejected_rows(con, "_codes_checked")
    placeholders = con.execute(
        "SELECT count(*) FROM _codes_checked WHERE placeholder AND reason IS NULL").fetchall()[0][0]
    # A name already registered is kept: CBS cuts the names in its code lists to 40 characters.
    accepted = con.execute("""
        SELECT c.code, c.level, CASE WHEN a.name IS NULL THEN c.name END AS name, c.parent_code,
               NULL::VARCHAR AS re_code, c.gm_code, c.wk_code, c.bu_code, NULL::VARCHAR AS pc4
        FROM _codes_checked c LEFT JOIN areas a ON a.code = c.code
        WHERE c.reason IS NULL AND NOT c.placeholder ORDER BY c._line""").df()
    new = dict(con.execute("""
        SELECT level, count(*) FROM _codes_checked
        WHERE reason IS NULL AND NOT placeholder AND code NOT IN (SELECT code FROM areas)
        GROUP BY level""").fetchall())
    per_level = accepted.groupby("level").size().to_dict() if len(accepted) else {}

    result = ImportResult("codes", str(path), rows=len(accepted))
    if len(accepted):
        _upsert_areas(con, accepted)
        placed = place_older_areas(con)
        if placed:
            result.detail["placed"] = placed
    for level in LEVELS[1:]:
        if per_level.get(level):
            result.detail[level] = f"{per_level[level]} ({new.get(level, 0)} new)"
    if placeholders:
        result.detail["placeholders"] = placeholders
        result.warnings.append(f"{placeholders} placeholder codes for an unknown gemeente, wijk "
                               "or buurt (GM0000, WK000000, BU00000000) were skipped")
    for name in ("_codes_in", "_codes_checked"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    csv.drop(con)
    return result, rejections


def _normalise(con, csv: CsvFile) -> None:
    """``_codes_in``: one row per input row with the code (upper case, spaces removed, NL01 read
    as NL00), its level by code format, the stated level, name, gemeente and wijk."""
    def col(names, upper=False):
        found = csv.find(*names)
        if not found:
            return "NULL::VARCHAR"
        expr = f"nullif(replace({ident(found)}, ' ', ''), '')" if upper else ident(found)
        return f"upper({expr})" if upper else expr

    code = col(CODE_COLUMNS, upper=True)
    land = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CBS_LAND.items())
    level = " ".join(f"WHEN regexp_full_match(code, '{CODE_PATTERNS[lv]}') THEN '{lv}'"
                     for lv in ("gemeente", "wijk", "buurt"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _codes_in AS
        SELECT *, CASE WHEN code = 'NL00' THEN 'land' {level} END AS level
        FROM (SELECT _line, CASE {code} {land} ELSE {code} END AS code,
                     {col(LEVEL_COLUMNS)} AS soort, {col(NAME_COLUMNS)} AS name,
                     {col(GM_COLUMNS, upper=True)} AS gm_stated,
                     {col(WK_COLUMNS, upper=True)} AS wk_stated
              FROM _csv)""")


def _check(con) -> None:
    """``_codes_checked``: the area row each input row makes, ``placeholder`` and ``reason``
    (NULL = accepted). Levels are checked parents first, so a buurt whose wijk was rejected is
    rejected too."""
    soorten = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SOORTEN.items())
    gm = ("CASE WHEN level = 'gemeente' THEN code"
          " WHEN level IN ('wijk', 'buurt') THEN 'GM' || substr(code, 3, 4) END")
    wk = ("CASE WHEN level = 'wijk' THEN code"
          " WHEN level = 'buurt' THEN 'WK' || substr(code, 3, 6) END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _codes_parsed AS
        SELECT *, CASE lower(soort) {soorten} END AS soort_level,
               {gm} AS gm_code, {wk} AS wk_code,
               regexp_full_match(code, 'GM0000|WK000000|BU00000000') AS placeholder
        FROM _codes_in""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _codes_checked AS
        SELECT _line, code, level, name, gm_code, wk_code, placeholder,
               CASE level WHEN 'wijk' THEN gm_code WHEN 'buurt' THEN wk_code END AS parent_code,
               CASE WHEN level = 'buurt' THEN code END AS bu_code,
               CASE
                   WHEN code IS NULL THEN 'missing code'
                   WHEN level IS NULL THEN 'invalid code ' || code
                        || ' (expected a gemeente GM + 4, wijk WK + 6 or buurt BU + 8 digits)'
                   WHEN soort IS NOT NULL AND soort_level IS NULL THEN 'unknown soort ' || soort
                        || ' (expected Land, Gemeente, Wijk or Buurt)'
                   WHEN soort_level <> level THEN 'soort ' || soort || ' does not match code '
                        || code || ' (a ' || level || ' code)'
                   WHEN level IN ('wijk', 'buurt') AND gm_stated IS NOT NULL
                        AND gm_stated <> gm_code THEN code || ' does not nest in ' || gm_stated
                        || ' (its code implies ' || gm_code || ')'
                   WHEN level = 'buurt' AND wk_stated IS NOT NULL AND wk_stated <> wk_code
                        THEN code || ' does not nest in ' || wk_stated
                        || ' (its code implies ' || wk_code || ')'
                   WHEN row_number() OVER (PARTITION BY code ORDER BY _line) > 1
                        THEN 'duplicate of line ' || min(_line) OVER (PARTITION BY code)
                        || ' (same code)'
               END AS reason
        FROM _codes_parsed""")
    con.execute("DROP TABLE _codes_parsed")
    # A wijk needs its gemeente, a buurt its wijk: registered already or accepted above.
    for level, parent, parent_level in (("wijk", "gm_code", "gemeente"),
                                        ("buurt", "wk_code", "wijk")):
        con.execute(f"""
            UPDATE _codes_checked SET reason = 'unknown {parent_level} ' || {parent}
                || ' (not in this file or the database)'
            WHERE reason IS NULL AND level = '{level}' AND NOT placeholder
              AND {parent} NOT IN (SELECT code FROM areas WHERE level = '{parent_level}')
              AND {parent} NOT IN (SELECT code FROM _codes_checked
                                   WHERE level = '{parent_level}' AND reason IS NULL
                                     AND NOT placeholder)""")
