"""Import the gemeente -> regionale eenheid lookup (and optionally district and basisteam).

Layout (docs/import-formats.md): one row per gemeente, or per gemeente x basisteam when a
gemeente is split over basisteams. Columns ``gm_code`` and ``re_code`` are required; ``re_naam``
names the eenheid; ``district``/``basisteam`` hold a code or a name, with optional
``district_naam``/``basisteam_naam``. ``gemeente``, ``provincie`` and ``method`` are ignored.

The gemeente must already be an area (import gemeente boundaries first). Its ``re_code`` and
parent are set and the re_code is propagated to its wijken, buurten and postcodes; a missing
eenheid area is created.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from data.importers.boundaries import CODE_PATTERNS
from data.importers.common import ImportResult
from data.importers.csvfile import CsvFile, open_csv
from data.sql import ident

GM_COLUMNS = ("gm_code", "gemeentecode", "gemeente_code")
RE_COLUMNS = ("re_code", "regionale_eenheid_code", "eenheid_code")
RE_NAME_COLUMNS = ("re_naam", "regionale_eenheid", "eenheid", "re_name")


def import_lookup(con, path):
    path = Path(path)
    csv = open_csv(path)
    csv.require(GM_COLUMNS, RE_COLUMNS)
    csv.load(con)
    _check(con, csv)
    rejections = csv.rejected_rows(con, "_lookup_checked")
    con.execute("CREATE OR REPLACE TEMP TABLE _lookup_ok AS"
                " SELECT * FROM _lookup_checked WHERE reason IS NULL")
    created = _apply(con)
    units = _org_units(con)

    rows, gemeenten = con.execute(
        "SELECT count(*), count(DISTINCT gm_code) FROM _lookup_ok").fetchall()[0]
    result = ImportResult("lookup", str(path), rows=rows)
    result.detail = {"gemeenten": gemeenten}
    if created:
        result.detail["eenheden_created"] = created
    if units:
        result.detail["org_units"] = units
    for name in ("_lookup_checked", "_lookup_ok"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    csv.drop(con)
    return result, rejections


def _check(con, csv: CsvFile) -> None:
    """``_lookup_checked``: the rows in a fixed shape plus ``reason`` (NULL = accepted)."""
    def col(*names):
        found = csv.find(*names)
        return ident(found) if found else "NULL::VARCHAR"

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _lookup_checked AS
        WITH l AS (
            SELECT _line, upper({col(*GM_COLUMNS)}) AS gm_code,
                   upper({col(*RE_COLUMNS)}) AS re_code, {col(*RE_NAME_COLUMNS)} AS re_naam,
                   {col("district")} AS district,
                   {col("district_naam", "district_name")} AS district_naam,
                   {col("basisteam")} AS basisteam,
                   {col("basisteam_naam", "basisteam_name")} AS basisteam_naam
            FROM _csv)
        SELECT l.*, CASE
            WHEN l.gm_code IS NULL THEN 'missing gm_code'
            WHEN NOT regexp_full_match(l.gm_code, '{CODE_PATTERNS["gemeente"]}')
                THEN 'invalid gemeente code (expected GM + 4 digits)'
            WHEN l.re_code IS NULL THEN 'missing re_code'
            WHEN NOT regexp_full_match(l.re_code, '{CODE_PATTERNS["eenheid"]}')
                THEN 'invalid regionale eenheid code (expected RE + 2 digits)'
            WHEN a.code IS NULL THEN 'unknown gemeente (import the gemeente boundaries first)'
            WHEN count(DISTINCT l.re_code) OVER (PARTITION BY l.gm_code) > 1
                THEN 'gemeente assigned to more than one regionale eenheid in this file'
            WHEN row_number() OVER (PARTITION BY l.gm_code, l.district, l.basisteam
                                    ORDER BY l._line) > 1
                THEN 'duplicate row for this gemeente'
            END AS reason
        FROM l LEFT JOIN areas a ON a.code = l.gm_code AND a.level = 'gemeente'""")


def _apply(con) -> int:
    """Create missing eenheden, set the gemeenten' eenheid and propagate it to the areas inside
    them. Returns the number of eenheden created."""
    created = con.execute("""
        SELECT count(DISTINCT re_code) FROM _lookup_ok
        WHERE re_code NOT IN (SELECT code FROM areas)""").fetchall()[0][0]
    con.execute("""
        INSERT INTO areas (code, level, name, parent_code, re_code)
        SELECT re_code, 'eenheid', max(re_naam), 'NL00', re_code FROM _lookup_ok
        GROUP BY re_code
        ON CONFLICT (code) DO UPDATE SET name = coalesce(areas.name, excluded.name)""")
    con.execute("""
        UPDATE areas SET re_code = l.re_code, parent_code = l.re_code
        FROM (SELECT DISTINCT gm_code, re_code FROM _lookup_ok) l
        WHERE areas.code = l.gm_code""")
    con.execute("""
        UPDATE areas SET re_code = l.re_code
        FROM (SELECT DISTINCT gm_code, re_code FROM _lookup_ok) l
        WHERE areas.gm_code = l.gm_code AND areas.level IN ('wijk', 'buurt', 'pc4', 'pc6')""")
    return created


def _org_units(con) -> int:
    """Fill org_units / org_gemeenten from the district and basisteam columns. A value that
    looks like a code (no spaces, upper case) is the code; otherwise it is a name and the code
    is derived from it, prefixed with the eenheid so equal names in two eenheden differ."""
    rows = con.execute("""
        SELECT gm_code, re_code, district, district_naam, basisteam, basisteam_naam
        FROM _lookup_ok WHERE district IS NOT NULL OR basisteam IS NOT NULL
        ORDER BY _line""").fetchall()
    if not rows:
        return 0
    units: dict[str, tuple] = {}
    links: set[tuple[str, str]] = set()
    gemeenten = set()
    for gm, re_code, district, district_naam, basisteam, basisteam_naam in rows:
        gemeenten.add(gm)
        district_code = None
        if district:
            district_code, name = _unit_code(re_code, "district", district, district_naam)
            units[district_code] = (district_code, "district", name, re_code, re_code)
            links.add((district_code, gm))
        if basisteam:
            code, name = _unit_code(re_code, "basisteam", basisteam, basisteam_naam)
            units[code] = (code, "basisteam", name, re_code, district_code or re_code)
            links.add((code, gm))
    con.executemany("""
        INSERT INTO org_units VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name = excluded.name,
            re_code = excluded.re_code, parent_code = excluded.parent_code""", list(units.values()))
    con.executemany("DELETE FROM org_gemeenten WHERE gm_code = ?",
                    [(g,) for g in sorted(gemeenten)])
    con.executemany("INSERT INTO org_gemeenten VALUES (?, ?)", sorted(links))
    return len(units)


def _unit_code(re_code: str, kind: str, value: str, name: str | None) -> tuple[str, str]:
    if re.fullmatch(r"[A-Z0-9][A-Z0-9._-]*", value):
        return value, name or value
    slug = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")
    prefix = "D" if kind == "district" else "B"
    return f"{re_code}-{prefix}-{slug}", name or value
