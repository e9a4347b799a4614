"""Counts per area from the incident table: the core area x period x type query.

Below gemeente level (wijk, buurt, PC4, PC6) counts come straight from ``incidents``, which is
sorted by gemeente and date so that a gemeente x period filter reads only its own row groups.
"""
from __future__ import annotations

import pandas as pd

from data.queries.overview import Period
from data.scope import Scope, area_filter

#: Area level -> incidents column holding that level's code.
LEVEL_COLUMNS = {"gemeente": "gm_code", "wijk": "wk_code", "buurt": "bu_code",
                 "pc4": "pc4", "pc6": "pc6"}


def incident_counts_by_area(con, *, scope: Scope, level: str, period: Period, group: str,
                            within: str | None = None) -> pd.DataFrame:
    """Registrations of bundle ``group`` in ``period`` per area of ``level`` in scope,
    optionally only inside gemeente ``within``. Columns: code, count."""
    column = LEVEL_COLUMNS[level]
    where, params = area_filter(scope, "i.gm_code")
    extra, extra_params = ("AND i.gm_code = ?", [within]) if within else ("", [])
    return con.execute(f"""
        SELECT i.{column} AS code, count(*)::BIGINT AS count
        FROM incidents i
        WHERE {where} {extra}
          AND i.occurred_date >= ? AND i.occurred_date < ?
          AND i.type_code IN (SELECT type_code FROM type_groups WHERE group_code = ?)
        GROUP BY i.{column}""",
        [*params, *extra_params, period.start, period.end, group]).df()
