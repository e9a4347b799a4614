"""Writing incidents and what is derived from them; shared by the importer and the demo builder.

After new incidents are appended, :func:`finalize_incidents` re-sorts the table (so DuckDB's
zone maps prune row groups for gemeente x period x type filters) and rebuilds the monthly
gemeente counts that national map and trend queries read instead of scanning 40 M rows.
"""
from __future__ import annotations

from data.schema import INCIDENTS_DDL

#: Column order of the incidents table (see data/schema.py).
INCIDENT_COLUMNS = (
    "id", "registered_at", "occurred_at", "occurred_date", "type_code", "attempt", "high_impact",
    "re_code", "basisteam", "gm_code", "wk_code", "bu_code", "pc4", "pc6", "street",
    "house_number", "lon", "lat", "mo", "summary", "batch",
)

#: Months before the newest registration that count as provisional (late registrations).
PROVISIONAL_MONTHS = 3


def append_incidents(con, frame, name: str = "_incoming") -> int:
    """Append a DataFrame/Arrow table with the INCIDENT_COLUMNS (in any order) to incidents."""
    con.register(name, frame)
    try:
        columns = ", ".join(INCIDENT_COLUMNS)
        con.execute(f"INSERT INTO incidents ({columns}) SELECT {columns} FROM {name}")
    finally:
        con.unregister(name)
    return len(frame)


def finalize_incidents(con) -> None:
    """Sort incidents for pruning and rebuild the derived monthly gemeente counts and the
    bundle counts per month and week (``group_counts``)."""
    con.execute("ALTER TABLE incidents RENAME TO incidents_unsorted")
    con.execute(INCIDENTS_DDL)
    con.execute("INSERT INTO incidents SELECT * FROM incidents_unsorted"
                " ORDER BY gm_code, occurred_date, type_code")
    con.execute("DROP TABLE incidents_unsorted")
    con.execute("DELETE FROM counts WHERE source = 'incidents'")
    con.execute(f"INSERT INTO counts {DERIVED_COUNTS_SQL}")
    build_group_counts(con)


#: The monthly gemeente counts derived from ``incidents`` (rows of ``counts``, source
#: 'incidents'); the newest PROVISIONAL_MONTHS months of registration are provisional. Also
#: what ``data.products.asof`` derives from the registrations up to a peildatum.
DERIVED_COUNTS_SQL = f"""
    WITH latest AS (SELECT date_trunc('month', max(registered_at))::DATE AS m FROM incidents)
    SELECT gm_code AS area_code, 'gemeente' AS level, 'M' AS period_type,
           date_trunc('month', occurred_date)::DATE AS period_start, type_code, attempt,
           count(*)::INTEGER AS count, 'incidents' AS source,
           period_start > (SELECT m FROM latest) - INTERVAL {PROVISIONAL_MONTHS} MONTH
               AS provisional
    FROM incidents
    GROUP BY ALL
    ORDER BY area_code, period_start, type_code"""


def build_group_counts(con) -> None:
    """Rebuild ``group_counts``: per bundle, per single type (its code; codes never collide
    with bundle names) and '*' for all types, x gemeente, the monthly
    counts (from the monthly gemeente counts just derived) and the weekly counts (from
    incidents), so national trends read a few thousand rows instead of 40 M incidents."""
    con.execute("DELETE FROM group_counts")
    con.execute("""
        INSERT INTO group_counts
        WITH monthly AS (
            SELECT area_code AS gm_code, period_start, type_code, sum(count) AS n,
                   bool_or(provisional) AS provisional
            FROM counts WHERE source = 'incidents' AND level = 'gemeente' AND period_type = 'M'
            GROUP BY ALL),
        weekly AS (
            SELECT gm_code, date_trunc('week', occurred_date)::DATE AS period_start, type_code,
                   count(*) AS n, false AS provisional
            FROM incidents GROUP BY ALL),
        typed AS (
            SELECT 'M' AS period_type, * FROM monthly
            UNION ALL SELECT 'W', * FROM weekly),
        grouped AS (
            SELECT t.group_code, x.gm_code, x.period_type, x.period_start, x.n, x.provisional
            FROM typed x JOIN type_groups t ON t.type_code = x.type_code
            UNION ALL
            SELECT type_code, gm_code, period_type, period_start, n, provisional FROM typed
            UNION ALL
            SELECT '*', gm_code, period_type, period_start, n, provisional FROM typed)
        SELECT group_code, gm_code, period_type, period_start, sum(n)::INTEGER,
               bool_or(provisional)
        FROM grouped GROUP BY ALL
        ORDER BY group_code, period_type, gm_code, period_start""")
    # The bundles it was built with: readers fall back to the slow path when they changed.
    con.execute(f"INSERT OR REPLACE INTO meta SELECT 'group_counts_catalog', ({CATALOG_KEY_SQL})")


#: A fingerprint of the bundle definitions (type_groups) that group_counts was built with.
CATALOG_KEY_SQL = ("SELECT md5(coalesce(string_agg(group_code || '=' || type_code, ',' "
                   "ORDER BY group_code, type_code), '')) FROM type_groups")
