"""Near-repeat risk for woninginbraak (type 1.1.1): after a residential burglary the risk for
homes within a few hundred metres is raised for a few weeks (Townsley, Homel & Chaseling 2003;
Bowers & Johnson 2004; Ratcliffe's Near Repeat Calculator).

The model is deliberately the one police analysts use to target prevention: a *flagged zone*
is the disc of ``distance_m`` metres (default 200) around every burglary registered in the
last ``days`` days (default 14) up to the reference date (default: the newest incident date of
the scope's data). Day 0 is the burglary's own day; a burglary ``days`` or more days old flags
nothing. Distances are great-circle metres (haversine on the incidents' WGS84 lon/lat; at a
few hundred metres the error is far below a metre). Both parameters come from the gemeente's
agreement profile (``profiles.near_repeat``, :func:`parse_params` checks the bounds).

What a scope gets (docs/disclosure.md):

* detail 3: the zones (:func:`zones`, the burglaries with their coordinates, address, wijk,
  buurt and days of raised risk left) for the map layer and the list;
* detail 2: per wijk the number of burglaries that flag a zone now (:func:`wijk_counts`),
  exact — a detail-2 user sees the same incidents with date, wijk and buurt in the list;
* detail 1: per wijk only what the disclosure model releases below the gemeente: woninginbraken
  of whole ended months (``data.queries.areas.incident_counts_by_area``). A count over the last
  14 days per wijk is not a sum of public month cells (it would date a burglary inside a
  month, and the running month is not released below the gemeente), so the mayor's table counts
  the newest ended month per wijk and says so.

Where the data cannot carry the model the answer is "geen gegevens" with a reason, never 0:
no incidents in scope, no burglary with coordinates in the data, or a reference date outside
the incident data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from data.queries.areas import incident_counts_by_area
from data.queries.overview import last_complete_months
from data.scope import Scope, area_filter, ensure_detail, ensure_gemeente

TYPE = "1.1.1"
#: Bounds of the profile's parameters: metres and days.
DISTANCE_BOUNDS = (50, 1000)
DAYS_BOUNDS = (3, 60)


@dataclass(frozen=True)
class Params:
    distance_m: int = 200
    days: int = 14


DEFAULT = Params()


def parse_params(value) -> Params:
    """The near-repeat parameters of a profile: a JSON text or dict with ``afstand_m``
    (metres, 50–1000) and ``dagen`` (days, 3–60); missing keys take the defaults. Raises
    ValueError with a Dutch message on anything else."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError("Near-repeat-instelling is geen geldige JSON.") from exc
    if not isinstance(value, dict):
        raise ValueError("Near-repeat-instelling moet een object zijn met afstand_m en dagen.")
    unknown = set(value) - {"afstand_m", "dagen"}
    if unknown:
        raise ValueError(f"Onbekende near-repeat-instelling: {', '.join(sorted(unknown))}.")

    def number(key, default, bounds, unit):
        raw = value.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or int(raw) != raw:
            raise ValueError(f"Near-repeat {unit} moet een geheel getal tussen {bounds[0]} en "
                             f"{bounds[1]} zijn.")
        if not bounds[0] <= raw <= bounds[1]:
            raise ValueError(f"Near-repeat {unit} moet tussen {bounds[0]} en {bounds[1]} liggen.")
        return int(raw)

    return Params(number("afstand_m", DEFAULT.distance_m, DISTANCE_BOUNDS, "afstand (meter)"),
                  number("dagen", DEFAULT.days, DAYS_BOUNDS, "periode (dagen)"))


def params_for(profile_for, gemeenten) -> Params:
    """The parameters agreed for ``gemeenten`` (codes): one gemeente's profile, the strictest
    (largest distance, longest period) over several gemeenten' profiles, defaults without any.
    ``profile_for(gm_code)`` returns the agreement profile (``data.accounts.get_profile``).
    Settings, not data: no scope is needed (the queries that use them take one)."""
    found = [parse_params(getattr(profile_for(gm), "near_repeat", {}) or {})
             for gm in sorted(gemeenten)]
    if not found:
        return DEFAULT
    return Params(max(p.distance_m for p in found), max(p.days for p in found))


def _haversine_sql(lon1: str, lat1: str, lon2: str, lat2: str) -> str:
    """SQL for the great-circle distance in metres between two WGS84 points."""
    return (f"(2 * 6371008.8 * asin(sqrt(pow(sin(radians({lat2} - {lat1}) / 2), 2)"
            f" + cos(radians({lat1})) * cos(radians({lat2}))"
            f" * pow(sin(radians({lon2} - {lon1}) / 2), 2))))")


@dataclass(frozen=True)
class Coverage:
    """Whether the data carry the model for a scope, and the reference date."""
    reference: date | None
    reason: str | None  # "geen gegevens" reason, None when covered


def coverage(con, *, scope: Scope, reference: date | None = None) -> Coverage:
    """The reference date (``reference``, default the newest incident date in scope) and,
    when the data cannot carry the model, the reason."""
    where, params = area_filter(scope, "gm_code")
    newest, first, located = con.execute(f"""
        SELECT max(occurred_date), min(occurred_date),
               count(*) FILTER (WHERE type_code = ? AND lon IS NOT NULL AND lat IS NOT NULL)
        FROM incidents WHERE {where}""", [TYPE, *params]).fetchone()
    if newest is None:
        return Coverage(None, "geen gegevens: er zijn geen incidenten geladen voor uw gebied")
    ref = reference or newest
    if not first <= ref <= newest:
        return Coverage(ref, "geen gegevens: de incidenten beslaan "
                             f"{first:%d-%m-%Y} tot en met {newest:%d-%m-%Y}")
    if not located:
        return Coverage(ref, "geen gegevens: de woninginbraken in de gegevens hebben geen "
                             "coördinaten")
    return Coverage(ref, None)


def zones(con, *, scope: Scope, params: Params = DEFAULT, reference: date | None = None,
          within: str | None = None, limit: int = 2000) -> pd.DataFrame:
    """The flagged zones now (detail level 3 only): every burglary (1.1.1, with coordinates)
    of the last ``params.days`` days up to ``reference`` in scope (optionally in gemeente
    ``within``), newest first. Columns: id, occurred_date, street, house_number, pc6, gm_code,
    wk_code, wijk, bu_code, buurt, lon, lat, days_left (days of raised risk left, counting
    the reference day), radius_m."""
    ensure_detail(scope, 3)
    if within is not None:
        ensure_gemeente(scope, within)
    ref = reference or coverage(con, scope=scope).reference
    where, params_sql = area_filter(scope, "i.gm_code")
    if ref is None:
        ref = date(1900, 1, 1)
    frame = con.execute(f"""
        SELECT i.id, i.occurred_date, i.street, i.house_number, i.pc6, i.gm_code,
               i.wk_code, w.name AS wijk, i.bu_code, b.name AS buurt, i.lon, i.lat,
               (? - date_diff('day', i.occurred_date, ?::DATE))::INTEGER AS days_left,
               ?::INTEGER AS radius_m
        FROM incidents i
        LEFT JOIN areas w ON w.code = i.wk_code
        LEFT JOIN areas b ON b.code = i.bu_code
        WHERE {where} AND i.type_code = ? AND i.lon IS NOT NULL AND i.lat IS NOT NULL
          AND i.occurred_date <= ?::DATE AND i.occurred_date > ?::DATE - ?::INTEGER
          AND (?::VARCHAR IS NULL OR i.gm_code = ?)
        ORDER BY i.occurred_date DESC, i.id
        LIMIT ?""",
        [params.days, ref, params.distance_m, *params_sql, TYPE, ref, ref, params.days,
         within, within, limit]).df()
    frame["occurred_date"] = pd.to_datetime(frame["occurred_date"]).dt.date
    return frame


def flagged_points(con, *, scope: Scope, points: list[tuple[float, float]],
                   params: Params = DEFAULT, reference: date | None = None) -> list[bool]:
    """For each (lon, lat) of ``points``: whether it lies in a flagged zone now (detail level
    3: it tells where recent burglaries were)."""
    ensure_detail(scope, 3)
    if not points:
        return []
    ref = reference or coverage(con, scope=scope).reference or date(1900, 1, 1)
    where, params_sql = area_filter(scope, "i.gm_code")
    distance = _haversine_sql("i.lon", "i.lat", "p.lon", "p.lat")
    rows = con.execute(f"""
        WITH p AS (SELECT unnest(?::DOUBLE[]) AS lon, unnest(?::DOUBLE[]) AS lat,
                          unnest(range(?)) AS n)
        SELECT p.n, bool_or(i.id IS NOT NULL) FROM p
        LEFT JOIN incidents i ON {where} AND i.type_code = ? AND i.lon IS NOT NULL
             AND i.occurred_date <= ?::DATE AND i.occurred_date > ?::DATE - ?::INTEGER
             AND {distance} <= ?
        GROUP BY p.n ORDER BY p.n""",
        [[p[0] for p in points], [p[1] for p in points], len(points), *params_sql, TYPE,
         ref, ref, params.days, params.distance_m]).fetchall()
    return [bool(flag) for _, flag in rows]


@dataclass(frozen=True)
class WijkCounts:
    """Per wijk of one gemeente: the burglaries that flag a zone now (detail 2–3), or the
    released month count (detail 1). ``frame`` columns: code, name, count (Int64; <NA> when
    there are no data); ``reason`` says why there is no figure at all."""
    frame: pd.DataFrame
    #: The days counted, both included (None when there is no figure).
    start: date | None
    end: date | None
    #: True when the count is the disclosure model's release (detail 1: an ended month).
    monthly: bool
    params: Params
    reason: str | None = None


def wijk_counts(con, *, scope: Scope, gemeente: str, params: Params = DEFAULT,
                reference: date | None = None) -> WijkCounts:
    """Per wijk of ``gemeente``: how many woninginbraken drive a raised near-repeat risk.
    Detail 2–3: the burglaries of the last ``params.days`` days (those flagging a zone).
    Detail 1: what the disclosure model releases per wijk — woninginbraken of the newest ended
    month (a sum of public 47018NED cells); the running days are not released below the
    gemeente."""
    ensure_detail(scope, 1)
    ensure_gemeente(scope, gemeente)
    wijken = con.execute(
        "SELECT code, name FROM areas WHERE level = 'wijk' AND gm_code = ? ORDER BY code",
        [gemeente]).df()
    cover = coverage(con, scope=scope, reference=reference)
    empty = wijken.assign(count=pd.array([pd.NA] * len(wijken), dtype="Int64"))
    if scope.detail < 2:
        period = last_complete_months(con, scope=scope, months=1)
        if period is None:
            return WijkCounts(empty, None, None, True, params,
                              "geen gegevens: geen afgesloten maand in de gegevens")
        counts = incident_counts_by_area(con, scope=scope, level="wijk", period=period,
                                         group=TYPE, within=gemeente)
        frame = wijken.merge(counts[["code", "count"]], on="code", how="left")
        frame["count"] = frame["count"].astype("Int64")
        return WijkCounts(frame, period.start, period.end - timedelta(days=1), True, params)
    if cover.reason:
        return WijkCounts(empty, None, None, False, params, cover.reason)
    ref = cover.reference
    where, params_sql = area_filter(scope, "gm_code")
    counts = con.execute(f"""
        SELECT wk_code AS code, count(*) AS count FROM incidents
        WHERE {where} AND gm_code = ? AND type_code = ? AND lon IS NOT NULL
          AND occurred_date <= ?::DATE AND occurred_date > ?::DATE - ?::INTEGER
        GROUP BY wk_code""", [*params_sql, gemeente, TYPE, ref, ref, params.days]).df()
    frame = wijken.merge(counts, on="code", how="left")
    frame["count"] = frame["count"].fillna(0).astype("Int64")  # incidents cover the window
    unplaced = counts.loc[counts["code"].isna(), "count"].sum()
    if unplaced:  # registrations without a wijk still count, in a row of their own
        frame = pd.concat([frame, pd.DataFrame({"code": [None], "name": ["Zonder wijk"],
                                                "count": pd.array([unplaced], dtype="Int64")})],
                          ignore_index=True)
    start = ref - timedelta(days=params.days - 1)
    return WijkCounts(frame, start, ref, False, params)
