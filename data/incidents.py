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
    """Sort incidents for pruning and rebuild the derived monthly gemeente counts."""
    con.execute("ALTER TABLE incidents RENAME TO incidents_unsorted")
    con.execute(INCIDENTS_DDL)
    con.execute("INSERT INTO incidents SELECT * FROM incidents_unsorted"
                " ORDER BY gm_code, occurred_date, type_code")
    con.execute("DROP TABLE incidents_unsorted")
    con.execute("DELETE FROM counts WHERE source = 'incidents'")
    con.execute(f"""
        INSERT INTO counts
        WITH latest AS (SELECT date_trunc('month', max(registered_at))::DATE AS m FROM incidents)
        SELECT gm_code, 'gemeente', 'M', date_trunc('month', occurred_date)::DATE AS month,
               type_code, attempt, count(*)::INTEGER, 'incidents',
               month > (SELECT m FROM latest) - INTERVAL {PROVISIONAL_MONTHS} MONTH
        FROM incidents
        GROUP BY ALL
        ORDER BY gm_code, month, type_code""")
