"""The DuckDB analytics schema.

One file holds everything the dashboard reads. Serving processes open it read-only; every change
(import, demo build) is made on a copy that is swapped in atomically (see ``data.store``).

Area codes are CBS codes and are unique across levels:
``RExx`` regionale eenheid, ``GMxxxx`` gemeente, ``WKxxxxxx`` wijk, ``BUxxxxxxxx`` buurt,
``1011`` PC4, ``1011AB`` PC6, ``NL00`` land. The demo region uses letters in the number part
(``GMD001``) and PC4s starting with 0, so it can never collide with real codes.
"""
from __future__ import annotations

SCHEMA_VERSION = "1"

LEVELS = ("land", "eenheid", "gemeente", "wijk", "buurt", "pc4", "pc6")
#: Boundary levels that can be imported (``import boundaries --level``).
BOUNDARY_LEVELS = ("eenheid", "gemeente", "wijk", "buurt", "pc4", "pc6")
#: Simplification tiers stored per boundary, with the tolerance in metres (RD New) and the
#: number of decimals kept in the GeoJSON coordinates. "overview" serves national maps,
#: "regional" a unit or gemeente, "local" a wijk or buurt zoom.
SHAPE_TIERS = {"overview": (250.0, 3), "regional": (50.0, 4), "local": (8.0, 5)}

# One row per registration. No primary-key index (40 M rows): importers refuse duplicate
# ids themselves. The table is kept sorted by (gm_code, occurred_date, type_code) so that
# DuckDB's zone maps prune row groups for area x period x type queries.
INCIDENTS_DDL = """CREATE TABLE IF NOT EXISTS incidents (
    id VARCHAR NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    occurred_date DATE NOT NULL,
    type_code VARCHAR NOT NULL,
    attempt BOOLEAN NOT NULL,
    high_impact BOOLEAN NOT NULL,
    re_code VARCHAR,
    basisteam VARCHAR,
    gm_code VARCHAR NOT NULL,
    wk_code VARCHAR,
    bu_code VARCHAR,
    pc4 VARCHAR,
    pc6 VARCHAR,
    street VARCHAR,
    house_number VARCHAR,
    lon DOUBLE,
    lat DOUBLE,
    mo VARCHAR,
    summary VARCHAR,
    batch VARCHAR)"""

DDL = [
    """CREATE TABLE IF NOT EXISTS meta (
        key VARCHAR PRIMARY KEY,
        value VARCHAR)""",
    # The area registry: one row per code with its place in the hierarchy. pc4 has the gemeente
    # as parent; pc6 has its pc4 as parent and the buurt it lies in as bu_code.
    """CREATE TABLE IF NOT EXISTS areas (
        code VARCHAR PRIMARY KEY,
        level VARCHAR NOT NULL,
        name VARCHAR,
        parent_code VARCHAR,
        re_code VARCHAR,
        gm_code VARCHAR,
        wk_code VARCHAR,
        bu_code VARCHAR,
        pc4 VARCHAR)""",
    # Police organisation levels (district, basisteam) as groupings of gemeenten.
    """CREATE TABLE IF NOT EXISTS org_units (
        code VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL CHECK (kind IN ('district', 'basisteam')),
        name VARCHAR NOT NULL,
        re_code VARCHAR,
        parent_code VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS org_gemeenten (
        org_code VARCHAR NOT NULL,
        gm_code VARCHAR NOT NULL,
        PRIMARY KEY (org_code, gm_code))""",
    # Boundaries per area per vintage (CBS indeling year), WGS84. ``geom`` is the repaired full
    # geometry as WKB; ``boundary_shapes`` holds ready-to-serve GeoJSON per simplification tier.
    """CREATE TABLE IF NOT EXISTS boundaries (
        level VARCHAR NOT NULL,
        vintage INTEGER NOT NULL,
        code VARCHAR NOT NULL,
        name VARCHAR,
        geom BLOB NOT NULL,
        area_km2 DOUBLE,
        min_lon DOUBLE, min_lat DOUBLE, max_lon DOUBLE, max_lat DOUBLE,
        label_lon DOUBLE, label_lat DOUBLE,
        source VARCHAR,
        PRIMARY KEY (level, vintage, code))""",
    # Precomputed placement grids of boundary layers (geo.pointinpolygon.PointGrid, stored with
    # PointGrid.to_bytes), built by the incident importer on first use; ``fingerprint`` is a
    # hash of the layer's codes and geometries, so a re-imported vintage gets a new grid.
    """CREATE TABLE IF NOT EXISTS point_grids (
        level VARCHAR NOT NULL,
        vintage INTEGER NOT NULL,
        fingerprint VARCHAR NOT NULL,
        grid BLOB NOT NULL,
        PRIMARY KEY (level, vintage))""",
    """CREATE TABLE IF NOT EXISTS boundary_shapes (
        level VARCHAR NOT NULL,
        vintage INTEGER NOT NULL,
        tier VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        geojson VARCHAR NOT NULL,
        PRIMARY KEY (level, vintage, tier, code))""",
    """CREATE TABLE IF NOT EXISTS population (
        code VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        population INTEGER NOT NULL CHECK (population >= 0),
        source VARCHAR,
        PRIMARY KEY (code, year))""",
    # Crime types (SoortMisdrijf, kind 'misdrijf'), the total (kind 'totaal') and non-crime
    # incident types (kind 'incident').
    """CREATE TABLE IF NOT EXISTS crime_types (
        code VARCHAR PRIMARY KEY,
        title VARCHAR NOT NULL,
        description VARCHAR,
        kind VARCHAR NOT NULL CHECK (kind IN ('totaal', 'misdrijf', 'incident')),
        brengdelict BOOLEAN,
        high_impact BOOLEAN NOT NULL DEFAULT false,
        sort_key INTEGER NOT NULL)""",
    # Bundles used by the monitors (woninginbraak, High Impact Crime, geweld, ...).
    """CREATE TABLE IF NOT EXISTS type_groups (
        group_code VARCHAR NOT NULL,
        group_title VARCHAR NOT NULL,
        type_code VARCHAR NOT NULL,
        PRIMARY KEY (group_code, type_code))""",
    INCIDENTS_DDL,
    # Raid fields (type N06 Inval/doorzoeking, docs/import-formats.md): the unit that carried
    # it out and whether the OM ordered it (NULL: unknown). A row only where the import (or the
    # demo) gave one of them; a raid without a row is "onbekend" on both, never guessed.
    """CREATE TABLE IF NOT EXISTS raid_details (
        id VARCHAR PRIMARY KEY,
        executing_unit VARCHAR,
        om_ordered BOOLEAN)""",
    # Registered counts per area per period per type: imported open data (source names the
    # file or table) and monthly gemeente counts derived from incidents (source 'incidents').
    # attempt NULL means completed and attempted together.
    """CREATE TABLE IF NOT EXISTS counts (
        area_code VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        period_type VARCHAR NOT NULL CHECK (period_type IN ('M', 'Q', 'Y')),
        period_start DATE NOT NULL,
        type_code VARCHAR NOT NULL,
        attempt BOOLEAN,
        count INTEGER NOT NULL CHECK (count >= 0),
        source VARCHAR NOT NULL,
        provisional BOOLEAN NOT NULL DEFAULT false)""",
    # Other measures of the CBS tables per area, period and type, kept apart from ``counts`` so
    # that every query of ``counts`` reads registered crimes only: 'cleared' (opgehelderde
    # misdrijven) and 'suspects' (registraties van verdachten). Same key and source rule as
    # ``counts``; no attempt split.
    """CREATE TABLE IF NOT EXISTS measure_counts (
        area_code VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        period_type VARCHAR NOT NULL CHECK (period_type IN ('M', 'Q', 'Y')),
        period_start DATE NOT NULL,
        type_code VARCHAR NOT NULL,
        measure VARCHAR NOT NULL CHECK (measure IN ('cleared', 'suspects')),
        count INTEGER NOT NULL CHECK (count >= 0),
        source VARCHAR NOT NULL,
        provisional BOOLEAN NOT NULL DEFAULT false)""",
    # Derived from incidents by data.incidents.finalize_incidents, for trend queries: counts per
    # bundle (type_groups.group_code, or '*' for every type) x gemeente x month ('M') or ISO
    # week ('W', starting Monday). Sorted by group, period type, gemeente, period; an import
    # appends its own rows, sorted (data.incidents.finalize_appended), so a key can have several
    # rows: readers sum them (and bool_or the provisional mark). `db derive` merges them again.
    """CREATE TABLE IF NOT EXISTS group_counts (
        group_code VARCHAR NOT NULL,
        gm_code VARCHAR NOT NULL,
        period_type VARCHAR NOT NULL CHECK (period_type IN ('M', 'W')),
        period_start DATE NOT NULL,
        count INTEGER NOT NULL,
        provisional BOOLEAN NOT NULL DEFAULT false)""",
    # Derived from incidents with group_counts (data.incidents.build_group_counts), for the map
    # below the gemeente: counts per bundle (type_groups.group_code) x level ('wijk', 'buurt',
    # 'pc4') x area x month, so a national buurt layer reads 13,594 areas x 12 months instead of
    # scanning every incident of the year. Sorted by group, level, gemeente, month; an import
    # appends its own rows (data.incidents.finalize_appended), so a key can have several rows:
    # readers sum them. A full rebuild (finalize_incidents, `db derive`) merges them again.
    """CREATE TABLE IF NOT EXISTS area_group_counts (
        group_code VARCHAR NOT NULL,
        level VARCHAR NOT NULL CHECK (level IN ('wijk', 'buurt', 'pc4')),
        gm_code VARCHAR NOT NULL,
        area_code VARCHAR NOT NULL,
        period_start DATE NOT NULL,
        count INTEGER NOT NULL)""",
    # Gemeente sources: a gemeente's own datasets (BOA registrations, overlast reports, ...),
    # owned by that gemeente (``owner``) and imported per gemeente (data/importers/sources.py).
    # Not police figures: shown beside them, always labelled with the source
    # (data/queries/sources.py decides who sees them).
    """CREATE TABLE IF NOT EXISTS gemeente_sources (
        owner VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        description VARCHAR,
        grain VARCHAR NOT NULL CHECK (grain IN ('day', 'week', 'month', 'year')),
        period_from DATE NOT NULL,
        period_to DATE NOT NULL,
        imported_at TIMESTAMP NOT NULL,
        imported_by VARCHAR,
        file VARCHAR,
        PRIMARY KEY (owner, source))""",
    # One count per area, period and category of a gemeente source. ``area_code`` lies in the
    # owner gemeente (the gemeente itself, one of its wijken, buurten or PC4s); ``period_start``
    # is the first day of the period at the source's grain.
    """CREATE TABLE IF NOT EXISTS gemeente_source_counts (
        owner VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        area_code VARCHAR NOT NULL,
        level VARCHAR NOT NULL CHECK (level IN ('gemeente', 'wijk', 'buurt', 'pc4')),
        period_start DATE NOT NULL,
        category VARCHAR NOT NULL,
        count INTEGER NOT NULL CHECK (count >= 0),
        lon DOUBLE,
        lat DOUBLE)""",
    # Every import that changed the database.
    """CREATE TABLE IF NOT EXISTS imports (
        imported_at TIMESTAMP NOT NULL,
        kind VARCHAR NOT NULL,
        file VARCHAR,
        sha256 VARCHAR,
        rows BIGINT,
        rejected BIGINT,
        total BIGINT,
        detail VARCHAR)""",
]


def create_schema(con) -> None:
    """Create every table that is missing and record the schema version."""
    for statement in DDL:
        con.execute(statement)
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION]
    )
