"""Writing incidents and what is derived from them; shared by the importer and the demo builder.

Incidents live in immutable segment files shared by the data versions (data/segments.py).
After new incidents are staged (:func:`append_incidents`), :func:`finalize_incidents` writes
them and the incidents already there into one new segment in sort order (so DuckDB's zone maps
prune row groups for gemeente x period x type filters) and rebuilds the monthly gemeente counts
that national map and trend queries read instead of scanning 40 M rows.

An import uses :func:`append_sorted` instead: its rows become a new segment, sorted (the
incidents already there are neither rewritten nor copied), and the derived counts are updated
with the counts of the new rows only (:func:`finalize_appended`). The result holds the same
counts per key as a full rebuild.
"""
from __future__ import annotations

from data import segments

#: Column order of the incidents table (see data/schema.py).
INCIDENT_COLUMNS = (
    "id", "registered_at", "occurred_at", "occurred_date", "type_code", "attempt", "high_impact",
    "re_code", "basisteam", "gm_code", "wk_code", "bu_code", "pc4", "pc6", "street",
    "house_number", "lon", "lat", "mo", "summary", "batch",
)

#: Months before the newest registration that count as provisional (late registrations).
PROVISIONAL_MONTHS = 3


#: The temporary table :func:`append_incidents` fills and :func:`finalize_incidents` empties.
STAGING = "_incidents_staging"


def append_incidents(con, frame, name: str = "_incoming") -> int:
    """Stage a DataFrame/Arrow table with the INCIDENT_COLUMNS (in any order) for
    :func:`finalize_incidents`, which writes the staged rows into incidents in sort order.
    The rows wait in a temporary table (memory, spilled to DuckDB's temporary folder), so
    the unsorted rows never take blocks in the database file: sorted there afterwards, they
    left the file twice the size of its data, and every later version copied that."""
    columns = ", ".join(INCIDENT_COLUMNS)
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} AS SELECT {columns} FROM incidents"
                " LIMIT 0")
    con.register(name, frame)
    try:
        con.execute(f"INSERT INTO {STAGING} ({columns}) SELECT {columns} FROM {name}")
    finally:
        con.unregister(name)
    return len(frame)


#: The sort order of incidents (for zone-map pruning; see data/schema.py).
SORT_ORDER = "gm_code, occurred_date, type_code"


def append_sorted(con, table: str) -> int:
    """Add the rows of ``table`` (the INCIDENT_COLUMNS) to incidents as a new segment in
    SORT_ORDER (data/segments.py: the rows already there are not copied or rewritten) and
    add their counts to the derived counts (:func:`finalize_appended`); returns the number of
    rows added. The counts are read from the new segment (stored, columnar: cheaper than
    ``table`` again, which may be a view), or from ``table`` when it was merged with others."""
    columns = ", ".join(INCIDENT_COLUMNS)
    rows, alias = segments.add(con, f"SELECT {columns} FROM {table}", SORT_ORDER)
    if rows:
        finalize_appended(con, f"{alias}.incidents" if alias else table)
    return rows


def clear_incidents(con) -> None:
    """Remove every incident (a rebuild of the synthetic incidents)."""
    segments.clear(con)


def finalize_appended(con, table: str) -> None:
    """Update the derived counts (``counts`` source 'incidents', ``group_counts``,
    ``area_group_counts``) after the rows of ``table`` were added to incidents: in ``counts``
    the counts of those rows are added and new keys inserted; the bundle tables get the new
    rows' counts appended (readers sum per key); the provisional marks move to the newest
    registration month. Falls back to a full rebuild of the bundle tables when they were
    built with other bundles (type_groups)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _delta_counts AS
        SELECT gm_code AS area_code, date_trunc('month', occurred_date)::DATE AS period_start,
               type_code, attempt, count(*)::INTEGER AS n
        FROM {table} GROUP BY ALL""")
    con.execute("""
        UPDATE counts c SET count = c.count + d.n FROM _delta_counts d
        WHERE c.source = 'incidents' AND c.level = 'gemeente' AND c.period_type = 'M'
          AND c.area_code = d.area_code AND c.period_start = d.period_start
          AND c.type_code = d.type_code AND c.attempt IS NOT DISTINCT FROM d.attempt""")
    con.execute("""
        INSERT INTO counts
        SELECT d.area_code, 'gemeente', 'M', d.period_start, d.type_code, d.attempt, d.n,
               'incidents', false
        FROM _delta_counts d
        WHERE NOT EXISTS (
            SELECT 1 FROM counts c
            WHERE c.source = 'incidents' AND c.level = 'gemeente' AND c.period_type = 'M'
              AND c.area_code = d.area_code AND c.period_start = d.period_start
              AND c.type_code = d.type_code AND c.attempt IS NOT DISTINCT FROM d.attempt)
        ORDER BY d.area_code, d.period_start, d.type_code""")
    newest = _newest_month(con)
    con.execute(f"""
        UPDATE counts SET provisional = NOT provisional
        WHERE source = 'incidents' AND level = 'gemeente' AND period_type = 'M'
          AND provisional <> ({_PROVISIONAL_AFTER})""", [newest])
    current = con.execute(CATALOG_KEY_SQL).fetchall()[0][0]
    built = {key: value for key, value in con.execute(
        "SELECT key, value FROM meta WHERE key IN ('group_counts_catalog',"
        " 'area_group_counts_catalog')").fetchall()}
    if any(built.get(key) != current
           for key in ("group_counts_catalog", "area_group_counts_catalog")):
        build_group_counts(con)
    else:
        # The new rows' bundle counts are appended, not merged into the rows there (readers
        # sum per key; an UPDATE joined against millions of rows cost more than the import's
        # own work). Each in its table's sort order, so zone maps still prune the new part.
        weekly = ("SELECT gm_code, date_trunc('week', occurred_date)::DATE AS period_start,"
                  f" type_code, count(*) AS n, false AS provisional FROM {table} GROUP BY ALL")
        appended = con.execute("INSERT INTO group_counts " + _GROUPED_SQL.format(
            order=GROUPS_ORDER, weekly=weekly,
            monthly="SELECT area_code AS gm_code, period_start, type_code, sum(n) AS n,"
                    " false AS provisional FROM _delta_counts GROUP BY ALL")).fetchall()[0][0]
        appended += con.execute("INSERT INTO area_group_counts "
                                + _AREA_GROUPED_SQL.format(source=table)).fetchall()[0][0]
        # How many rows imports appended since the last full build (`db info` shows it; each
        # makes readers sum a little more until `db derive` merges them).
        con.execute("INSERT OR REPLACE INTO meta SELECT ?, (coalesce((SELECT value FROM meta"
                    " WHERE key = ?)::BIGINT, 0) + ?)::VARCHAR",
                    [APPENDED_KEY, APPENDED_KEY, appended])
        # Monthly bundle counts are provisional exactly when their month is (see counts).
        con.execute(f"""
            UPDATE group_counts SET provisional = NOT provisional
            WHERE period_type = 'M' AND provisional <> ({_PROVISIONAL_AFTER})""", [newest])
    con.execute("DROP TABLE IF EXISTS _delta_counts")


def _newest_month(con):
    """The month of the newest registration (segments.column_range: as a subquery over the
    incidents view it read all 40 M rows, 0.17 s of a day's 0.8 s import)."""
    newest = segments.column_range(con, "registered_at")[1]
    return None if newest is None else newest.date().replace(day=1)


def finalize_incidents(con) -> None:
    """Write the staged rows (:func:`append_incidents`) and the incidents already there into
    one new segment in sort order (for pruning; data/segments.py) and rebuild the derived
    monthly gemeente counts and the bundle counts per month and week (``group_counts``)."""
    columns = ", ".join(INCIDENT_COLUMNS)
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} AS SELECT {columns} FROM incidents"
                " LIMIT 0")
    segments.replace(con, f"SELECT {columns} FROM incidents UNION ALL"
                          f" SELECT {columns} FROM {STAGING}", SORT_ORDER)
    con.execute(f"DROP TABLE {STAGING}")
    con.execute("DELETE FROM counts WHERE source = 'incidents'")
    con.execute(f"INSERT INTO counts {DERIVED_COUNTS_SQL}")
    build_group_counts(con)


#: Whether the month ``period_start`` is provisional (SQL expression): it is one of the newest
#: PROVISIONAL_MONTHS months before the newest registration's month.
_PROVISIONAL_SQL = ("period_start > (SELECT date_trunc('month', max(registered_at))::DATE"
                    f" FROM incidents) - INTERVAL {PROVISIONAL_MONTHS} MONTH")
#: The same with the newest registration's month as the parameter ``?`` (:func:`_newest_month`).
_PROVISIONAL_AFTER = f"period_start > ?::DATE - INTERVAL {PROVISIONAL_MONTHS} MONTH"
#: The monthly gemeente counts derived from ``incidents`` (rows of ``counts``, source
#: 'incidents'); the newest PROVISIONAL_MONTHS months of registration are provisional. Also
#: what ``data.products.asof`` derives from the registrations up to a peildatum.
DERIVED_COUNTS_SQL = f"""
    SELECT gm_code AS area_code, 'gemeente' AS level, 'M' AS period_type,
           date_trunc('month', occurred_date)::DATE AS period_start, type_code, attempt,
           count(*)::INTEGER AS count, 'incidents' AS source, {_PROVISIONAL_SQL} AS provisional
    FROM incidents
    GROUP BY ALL
    ORDER BY area_code, period_start, type_code"""


def build_group_counts(con) -> None:
    """Rebuild ``group_counts``: per bundle, per single type (its code; codes never collide
    with bundle names) and '*' for all types, x gemeente, the monthly
    counts (from the monthly gemeente counts just derived) and the weekly counts (from
    incidents), so national trends read a few thousand rows instead of 40 M incidents; and
    ``area_group_counts``, per bundle x wijk, buurt and PC4 x month, for the map."""
    con.execute("DELETE FROM group_counts")
    con.execute("INSERT INTO group_counts " + _GROUPED_SQL.format(
        order=GROUPS_ORDER,
        monthly="SELECT area_code AS gm_code, period_start, type_code, sum(count) AS n,"
                " bool_or(provisional) AS provisional FROM counts WHERE source = 'incidents'"
                " AND level = 'gemeente' AND period_type = 'M' GROUP BY ALL",
        weekly="SELECT gm_code, date_trunc('week', occurred_date)::DATE AS period_start,"
               " type_code, count(*) AS n, false AS provisional FROM incidents GROUP BY ALL"))
    con.execute("DELETE FROM area_group_counts")
    con.execute("INSERT INTO area_group_counts " + _AREA_GROUPED_SQL.format(source="incidents"))
    # The bundles they were built with: readers fall back to the slow path when they changed.
    # (A database from before area_group_counts lacks the second key: its first incident
    # import builds the table in full, never adds to an empty one.)
    con.execute(f"INSERT OR REPLACE INTO meta SELECT 'group_counts_catalog', ({CATALOG_KEY_SQL})"
                f" UNION ALL SELECT 'area_group_counts_catalog', ({CATALOG_KEY_SQL})"
                f" UNION ALL SELECT '{APPENDED_KEY}', '0'")


def rebuild_derived_counts(con) -> tuple[int, int]:
    """:func:`build_group_counts` (for ``db derive``: a database from an older release, or
    one whose area rows were appended by many imports); returns the rows of group_counts and
    of area_group_counts."""
    build_group_counts(con)
    return con.execute("SELECT (SELECT count(*) FROM group_counts),"
                       " (SELECT count(*) FROM area_group_counts)").fetchall()[0]


#: group_counts rows from per-gemeente ``monthly`` and ``weekly`` counts per type (queries with
#: gm_code, period_start, type_code, n, provisional): per bundle, per type and '*', in
#: ``{order}`` (the table's sort order, or nothing for rows that are not stored as they are).
#: A type's rows are its counts as they are (one per gemeente and period already; type codes
#: never collide with bundle names); only the bundles and '*' are summed.
_GROUPED_SQL = """
        WITH monthly AS ({monthly}),
        weekly AS ({weekly}),
        typed AS (
            SELECT 'M' AS period_type, * FROM monthly
            UNION ALL SELECT 'W', * FROM weekly)
        SELECT t.group_code, x.gm_code, x.period_type, x.period_start, sum(x.n)::INTEGER AS n,
               bool_or(x.provisional) AS provisional
        FROM typed x JOIN type_groups t ON t.type_code = x.type_code
        GROUP BY ALL
        UNION ALL
        SELECT type_code, gm_code, period_type, period_start, n::INTEGER, provisional FROM typed
        UNION ALL
        SELECT '*', gm_code, period_type, period_start, sum(n)::INTEGER, bool_or(provisional)
        FROM typed
        GROUP BY ALL
        {order}"""
#: The sort order of group_counts.
GROUPS_ORDER = "ORDER BY group_code, period_type, gm_code, period_start"


#: Levels below the gemeente with bundle counts per area and month (``area_group_counts``):
#: level -> the incidents column holding the area code.
AREA_LEVELS = {"wijk": "wk_code", "buurt": "bu_code", "pc4": "pc4"}

#: area_group_counts rows of the incidents in ``{source}``: per bundle x level x area (with the
#: gemeente the incident is registered in, as the map's scan filters it) x month.
_AREA_GROUPED_SQL = " UNION ALL ".join(
    f"SELECT t.group_code, '{level}' AS level, i.gm_code, i.{column} AS area_code,"
    f" date_trunc('month', i.occurred_date)::DATE AS period_start, count(*)::INTEGER AS count"
    " FROM {source} i JOIN type_groups t ON t.type_code = i.type_code"
    f" WHERE i.{column} IS NOT NULL AND i.gm_code IS NOT NULL GROUP BY ALL"
    for level, column in AREA_LEVELS.items()) + " ORDER BY 1, 2, 3, 5"

#: ``meta`` key: rows that imports appended to group_counts and area_group_counts since they
#: were last built in full (:func:`build_group_counts`).
APPENDED_KEY = "derived_appended_rows"

#: When the rows imports appended reach this share of the rows of the last full build, the
#: import merges them (``data.importers.merge_appended``): readers sum appended rows per key,
#: and each appended part costs every map and trend query a little until it is merged.
MERGE_APPENDED_SHARE = 0.25


def appended_share(con, appended: int | None = None, total: int | None = None) -> float:
    """The rows imports appended to the bundle tables since their last full build, as a share
    of the rows that build made (0.0 when none were appended). ``appended`` (the meta count)
    and ``total`` (rows of both tables) are read when not given."""
    if appended is None or total is None:
        appended, total = con.execute(
            "SELECT coalesce((SELECT value FROM meta WHERE key = ?)::BIGINT, 0),"
            " (SELECT count(*) FROM group_counts) + (SELECT count(*) FROM area_group_counts)",
            [APPENDED_KEY]).fetchall()[0]
    return appended / max(total - appended, 1) if appended else 0.0

#: A fingerprint of the bundle definitions (type_groups) that group_counts was built with.
CATALOG_KEY_SQL = ("SELECT md5(coalesce(string_agg(group_code || '=' || type_code, ',' "
                   "ORDER BY group_code, type_code), '')) FROM type_groups")
