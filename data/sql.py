"""Small helpers for running SQL on a DuckDB connection."""
from __future__ import annotations


def scalar(con, sql: str, params=()):
    """The single value of a query. Uses fetchall(): in DuckDB 2 a result left half-fetched by
    fetchone() blocks the next register() on the same connection."""
    rows = con.execute(sql, params).fetchall()
    return rows[0][0] if rows else None
