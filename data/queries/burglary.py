"""The woninginbraakmonitor: completed versus attempted burglaries (type 1.1.1) per month,
the wijken with the largest increase, and when burglaries happen (day of week x hour).

Monthly counts come from the gemeente counts (derived from incidents), or — when only the
imported open data are loaded — from the PC4 monthly counts summed to their gemeente through
``areas.gm_code``. Wijk counts go through ``data.queries.areas`` (the disclosure model); the
attempt split is shown to detail level 1 only in months where it pins no buurt's split
(``data.disclosure.pinned_split_months``); the heat map reads incident times and needs detail
level 2.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from data import disclosure
from data.queries.areas import incident_counts_by_area
from data.periods import Period, add_months
from data.queries.overview import last_complete_months as overview_months
from data.scope import Scope, area_filter, ensure_detail

TYPE = "1.1.1"
GROUP = "woninginbraak"
WEEKDAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")


def attempts_by_month(con, *, scope: Scope, gemeenten, start: date, end: date) -> pd.DataFrame:
    """Registrations of 1.1.1 per month in [start, end) for ``gemeenten`` (already checked
    against the scope), split into completed and attempted. Columns: month, totaal, voltooid,
    poging, onbekend (counts without the split; Int64), provisional, split_hidden (the month's
    split would pin a buurt's for this scope, see ``data.disclosure``: the three split
    columns are <NA> and only ``totaal`` is given)."""
    where, params = area_filter(scope, "gm")
    frame = con.execute(f"""
        WITH gm_level AS (
            SELECT area_code AS gm, period_start AS month, attempt, count, provisional
            FROM counts
            WHERE level = 'gemeente' AND period_type = 'M' AND type_code = ?
              AND (source = 'incidents' OR NOT EXISTS (
                   SELECT 1 FROM counts WHERE source = 'incidents'))),
        pc4_level AS (
            SELECT a.gm_code AS gm, c.period_start AS month, c.attempt, c.count, c.provisional
            FROM counts c JOIN areas a ON a.code = c.area_code
            WHERE c.level = 'pc4' AND c.period_type = 'M' AND c.type_code = ?
              AND NOT EXISTS (SELECT 1 FROM gm_level)),
        src AS (SELECT * FROM gm_level UNION ALL SELECT * FROM pc4_level)
        SELECT month,
               coalesce(sum(count) FILTER (WHERE attempt = false), 0)::BIGINT AS voltooid,
               coalesce(sum(count) FILTER (WHERE attempt = true), 0)::BIGINT AS poging,
               coalesce(sum(count) FILTER (WHERE attempt IS NULL), 0)::BIGINT AS onbekend,
               bool_or(provisional) AS provisional
        FROM src
        WHERE {where} AND gm IN (SELECT unnest(?::VARCHAR[])) AND month >= ? AND month < ?
        GROUP BY month ORDER BY month""",
        [TYPE, TYPE, *params, list(gemeenten), start, end]).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    split = ["voltooid", "poging", "onbekend"]
    frame["totaal"] = frame[split].sum(axis=1).astype("Int64")
    hidden = disclosure.pinned_split_months(con, scope=scope, gemeenten=gemeenten, types=[TYPE],
                                            start=start, end=end)
    frame["split_hidden"] = frame["month"].isin(hidden)
    for column in split:
        frame[column] = frame[column].astype("Int64").mask(frame["split_hidden"])
    return frame[["month", "totaal", *split, "provisional", "split_hidden"]]


def last_complete_months(con, *, scope: Scope, months: int = 12) -> Period | None:
    """The last ``months`` complete months of burglary data in scope. With incidents loaded
    this is the overview's period (the newest month is still running). With only imported
    monthly counts (the PC4 file) the newest month of the file is not known to be complete
    either: the file carries no marker and no registration past its end (the real file's last
    month, June 2026, is partial and would read as a sharp drop), so the period ends before
    it. None when there is nothing."""
    period = overview_months(con, scope=scope, months=months)
    if period is not None:
        return period
    where, params = area_filter(scope, "a.gm_code")
    newest = con.execute(f"""
        SELECT max(c.period_start) FROM counts c JOIN areas a ON a.code = c.area_code
        WHERE c.level = 'pc4' AND c.period_type = 'M' AND c.type_code = ? AND {where}""",
        [TYPE, *params]).fetchall()[0][0]
    if newest is None:
        return None
    return Period(add_months(newest, -months), newest)


def wijk_changes(con, *, scope: Scope, gemeente: str, period: Period) -> pd.DataFrame:
    """Per wijk of ``gemeente``: woninginbraken in ``period`` and the 12 months before, the
    change and the rate per 1,000 inhabitants. Sorted by the largest increase first."""
    current = incident_counts_by_area(con, scope=scope, level="wijk", period=period,
                                      group=GROUP, within=gemeente)
    previous = incident_counts_by_area(con, scope=scope, level="wijk", period=period.shifted(-12),
                                       group=GROUP, within=gemeente)
    frame = current[["code", "name", "count"]].merge(
        previous[["code", "count"]].rename(columns={"count": "previous"}), on="code")
    population = con.execute(
        "SELECT code, arg_max(population, year) AS inwoners FROM population "
        "WHERE code IN (SELECT unnest(?::VARCHAR[])) AND year <= ? GROUP BY code",
        [frame["code"].tolist(), period.end.year]).df()
    frame = frame.merge(population, on="code", how="left")
    frame["count"] = frame["count"].astype("Int64")
    frame["previous"] = frame["previous"].astype("Int64")
    frame["change"] = frame["count"] - frame["previous"]
    frame["per_1000"] = (frame["count"].astype("Float64") * 1000
                         / frame["inwoners"].astype("Float64")).round(1)
    return frame.sort_values(["change", "code"], ascending=[False, True],
                             na_position="last").reset_index(drop=True)


def weekday_hour(con, *, scope: Scope, gemeenten, period: Period) -> pd.DataFrame:
    """Woninginbraken per day of week (0 = Monday) and hour of the day from incident times,
    every cell present. Needs detail level 2 (incident-level information)."""
    return weekday_hour_counts(con, scope=scope, column="gm_code", codes=gemeenten,
                               types=[TYPE], start=period.start, end=period.end)


def weekday_hour_counts(con, *, scope: Scope, column: str, codes, types, start: date,
                        end: date) -> pd.DataFrame:
    """Registrations of ``types`` in the areas ``codes`` (gemeenten: column ``gm_code``, or
    buurten: ``bu_code``) per day of week (0 = Monday) and hour, every cell present.
    Detail level 2 and up. Columns: weekday, hour, count."""
    ensure_detail(scope, 2)
    if column not in ("gm_code", "bu_code"):
        raise ValueError(f"no day x hour counts by {column!r}")
    where, params = area_filter(scope, "gm_code")
    return con.execute(f"""
        WITH hits AS (
            SELECT isodow(occurred_at) - 1 AS weekday, hour(occurred_at) AS hour,
                   count(*) AS n
            FROM incidents
            WHERE {where} AND {column} IN (SELECT unnest(?::VARCHAR[]))
              AND type_code IN (SELECT unnest(?::VARCHAR[]))
              AND occurred_date >= ? AND occurred_date < ?
            GROUP BY ALL)
        SELECT d.weekday, h.hour, coalesce(hits.n, 0)::BIGINT AS count
        FROM range(7) d(weekday) CROSS JOIN range(24) h(hour)
        LEFT JOIN hits ON hits.weekday = d.weekday AND hits.hour = h.hour
        ORDER BY 1, 2""", [*params, list(codes), list(types), start, end]).df()


def has_incidents(con, *, scope: Scope, gemeenten) -> bool:
    """True when incidents (not only imported counts) are loaded for ``gemeenten``."""
    where, params = area_filter(scope, "gm_code")
    return bool(con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM incidents WHERE {where} "
        "AND gm_code IN (SELECT unnest(?::VARCHAR[])) LIMIT 1)",
        [*params, list(gemeenten)]).fetchall()[0][0])
