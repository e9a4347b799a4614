"""The vectorised incident generator shared by the demo region and the real geography.

Expected registrations per (type, month, buurt) come from national rates per inhabitant, local
factors, hot spots, seasonality and a trend; counts are drawn per cell (Poisson, or multinomial
when an exact total is asked), and then every incident gets a time (weekday x hour profile of
its type), a registration delay, an attempt flag, a place (an address or sample point of its
buurt, clustered at hot spots), texts and an id, all with numpy. Incidents come out as Arrow
tables of about ``chunk_rows`` rows, ready for :func:`data.incidents.append_incidents`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.demo.patterns import DELAYS, TIME_CLASSES, TypeTable, time_weights
from data.demo.texts import TextTable
from data.incidents import INCIDENT_COLUMNS

_HOURS_IN_MONTH = 31 * 24


@dataclass
class Strings:
    """A string column stored once per item (buurt or point): codes into ``values``, -1 = null."""

    codes: np.ndarray
    values: pa.Array

    @classmethod
    def of(cls, items) -> "Strings":
        codes, uniques = pd.factorize(pd.Series(items, dtype=object), use_na_sentinel=True)
        return cls(codes.astype(np.int32), pa.array(list(uniques), type=pa.string()))

    def take(self, index) -> pa.DictionaryArray:
        idx = self.codes[index]
        indices = pa.array(idx, type=pa.int32(), mask=idx < 0) if (idx < 0).any() else pa.array(idx)
        return pa.DictionaryArray.from_arrays(indices, self.values)


@dataclass
class Points:
    """Places where incidents can be put, grouped by buurt (``start``/``count`` per buurt)."""

    start: np.ndarray
    count: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    jitter_m: np.ndarray | None = None  # max random displacement per point (stays in the buurt)
    pc4: Strings | None = None
    pc6: Strings | None = None
    street: Strings | None = None
    house_number: Strings | None = None


@dataclass
class HotSpot:
    """A persistent hot spot: extra registrations in one buurt, as a share of the expected
    yearly count of the ``members`` buurten (e.g. its gemeente) per type index."""

    bu_index: int
    shares: dict[int, float]
    members: np.ndarray  # bool per buurt
    points: np.ndarray  # point indices near the hot spot
    focus: float = 0.75  # share of its hot-spot-type incidents placed at those points


@dataclass
class Territory:
    """Where incidents can happen: buurten with codes, inhabitants per year and points."""

    bu_code: Strings
    wk_code: Strings
    gm_code: Strings
    re_code: Strings
    basisteam: Strings
    years: tuple[int, ...]
    population: np.ndarray  # (B, Y)
    per_capita: np.ndarray  # (T, B) yearly registrations per inhabitant
    points: Points
    hotspots: list[HotSpot] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.population.shape[0]


@dataclass(frozen=True)
class Month:
    first: np.datetime64  # first day
    year: int
    month: int
    days: int  # days of the month inside the window
    days_in_month: int


def months_between(start: date, end: date) -> list[Month]:
    """Calendar months from ``start`` (a first day) up to ``end`` (exclusive)."""
    out = []
    first = np.datetime64(start, "M")
    stop = np.datetime64(end, "D")
    while first.astype("datetime64[D]") < stop:
        nxt = first + 1
        d0 = first.astype("datetime64[D]")
        d1 = min(nxt.astype("datetime64[D]"), stop)
        y, m = divmod(int(first.astype(np.int64)), 12)
        out.append(Month(d0, 1970 + y, m + 1, int((d1 - d0).astype(np.int64)),
                         int((nxt.astype("datetime64[D]") - d0).astype(np.int64))))
        first = nxt
    return out


def expected_per_year(territory: Territory, types: TypeTable) -> np.ndarray:
    """Expected registrations per (year, type, buurt) including hot spots: (Y, T, B)."""
    out = np.empty((len(territory.years), len(types.codes), territory.size))
    for yi in range(len(territory.years)):
        e = territory.per_capita * territory.population[:, yi][None, :]
        for spot in territory.hotspots:
            for t, share in spot.shares.items():
                e[t, spot.bu_index] += share * e[t, spot.members].sum()
        out[yi] = e
    return out


def generate(territory: Territory, types: TypeTable, texts: TextTable, *, start: date,
             end: date, rng: np.random.Generator, total: int | None = None,
             chunk_rows: int = 2_000_000, id_prefix: str = "D", batch: str = "demo",
             progress=None) -> Iterator[pa.Table]:
    """Incidents that occurred from ``start`` up to ``end`` (exclusive), as Arrow tables.

    Without ``total`` counts follow the rates, and registrations that would fall after
    ``end`` are left out (they have not been registered yet, as in real data). With ``total``
    exactly that many incidents are made and late registrations are pulled before ``end``.
    """
    months = months_between(start, end)
    if not months:
        raise ValueError(f"empty period {start} .. {end}")
    year_index = {y: i for i, y in enumerate(territory.years)}
    expected = expected_per_year(territory, types)  # (Y, T, B)
    per_type_year = expected.sum(axis=2)  # (Y, T)
    mid = (len(months) - 1) / 2
    factors = []  # per month: (T,) factor on the yearly expectation
    for mi, m in enumerate(months):
        trend = (1 + types.trend) ** ((mi - mid) / 12)
        factors.append(types.season[:, m.month - 1] / 12 * trend * m.days / m.days_in_month)
    month_sums = np.array([(per_type_year[year_index[m.year]] * f).sum()
                           for m, f in zip(months, factors)])
    if total is not None and month_sums.sum() <= 0:
        raise ValueError("no inhabitants: cannot spread incidents over the buurten")
    targets = largest_remainder(month_sums, total) if total is not None else None
    clock = _Clock(types, months)
    end_ts = np.datetime64(datetime.combine(end, datetime.min.time()), "s")
    next_id = 0
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    pending_rows = 0
    for mi, m in enumerate(months):
        lam = expected[year_index[m.year]] * factors[mi][:, None]
        if targets is None:
            counts = rng.poisson(lam)
        else:
            p = lam.ravel() / max(lam.sum(), 1e-300)
            counts = rng.multinomial(int(targets[mi]), p).reshape(lam.shape)
        t_idx, b_idx = np.nonzero(counts)
        n = counts[t_idx, b_idx]
        pending.append((np.repeat(t_idx, n).astype(np.int32), np.repeat(b_idx, n).astype(np.int32),
                        np.full(int(n.sum()), mi, dtype=np.int32)))
        pending_rows += int(n.sum())
        if pending_rows >= chunk_rows or mi == len(months) - 1:
            t_all, b_all, m_all = (np.concatenate(a) for a in zip(*pending))
            pending, pending_rows = [], 0
            table = _materialize(territory, types, texts, clock, t_all, b_all, m_all, rng,
                                 end_ts=end_ts, exact=total is not None, first_id=next_id,
                                 id_prefix=id_prefix, batch=batch)
            next_id += table.num_rows
            if progress:
                progress(f"incidents up to {m.year}-{m.month:02d}: {next_id:,}")
            yield table


def largest_remainder(weight, total: int) -> np.ndarray:
    """Non-negative integers proportional to ``weight`` that sum to ``total`` exactly
    (equal shares when all weights are zero)."""
    weight = np.asarray(weight, float)
    if weight.sum() > 0:
        share = weight / weight.sum() * total
    else:
        share = np.full(len(weight), total / len(weight))
    base = np.floor(share).astype(np.int64)
    rest = int(total - base.sum())
    if rest > 0:
        base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base


class _Clock:
    """Draws occurrence times from the weekday x hour profile of a type class in a month."""

    def __init__(self, types: TypeTable, months: list[Month]):
        self.months = months
        self.first_seconds = np.array([m.first.astype("datetime64[s]").astype(np.int64)
                                       for m in months])
        n_class, n_month = len(TIME_CLASSES), len(months)
        cdf = np.empty((n_class, n_month, _HOURS_IN_MONTH))
        profiles = {(c, mo): time_weights(name, mo) for c, name in enumerate(TIME_CLASSES)
                    for mo in range(1, 13)}
        day = np.arange(31)
        for mi, m in enumerate(months):
            weekday = (int(((m.first.astype(np.int64)) + 3) % 7) + day) % 7  # 1970-01-01 = Thu
            valid = (day < m.days)[:, None]
            for c in range(n_class):
                w = (profiles[(c, m.month)][weekday] * valid).ravel()
                cum = np.cumsum(w)
                cdf[c, mi] = cum / cum[-1] if cum[-1] > 0 else np.linspace(0, 1, len(cum))
                cdf[c, mi, -1] = 1.0
        self.n_month = n_month
        blocks = np.arange(n_class * n_month, dtype=float)[:, None]
        self.flat = (cdf.reshape(n_class * n_month, -1) + blocks).ravel()
        self.time_class = types.time_class

    def draw(self, rng, t_idx, m_idx) -> np.ndarray:
        """Occurrence times in seconds since 1970 (naive local time, whole minutes)."""
        block = self.time_class[t_idx].astype(np.int64) * self.n_month + m_idx
        pos = np.searchsorted(self.flat, block + rng.random(len(t_idx)), side="right")
        hour = np.minimum(pos - block * _HOURS_IN_MONTH, _HOURS_IN_MONTH - 1)
        minute = rng.integers(0, 60, len(t_idx))
        return self.first_seconds[m_idx] + hour * 3600 + minute * 60


_DELAY_SHARE = np.zeros((len(DELAYS), 4))
_DELAY_MEDIAN = np.ones((len(DELAYS), 4))
_DELAY_SIGMA = np.zeros((len(DELAYS), 4))
for _i, _parts in enumerate(DELAYS.values()):
    for _k, (_share, _median, _sigma) in enumerate(_parts):
        _DELAY_SHARE[_i, _k], _DELAY_MEDIAN[_i, _k], _DELAY_SIGMA[_i, _k] = _share, _median, _sigma
_DELAY_CUM = np.cumsum(_DELAY_SHARE, axis=1)
_DELAY_CUM /= _DELAY_CUM[:, -1:]


def _delays(rng, types: TypeTable, t_idx) -> np.ndarray:
    """Registration delay in seconds (whole minutes, at least one)."""
    d = types.delay_class[t_idx]
    comp = (rng.random(len(t_idx))[:, None] >= _DELAY_CUM[d]).sum(axis=1)
    comp = np.minimum(comp, _DELAY_CUM.shape[1] - 1)
    seconds = _DELAY_MEDIAN[d, comp] * np.exp(_DELAY_SIGMA[d, comp] * rng.standard_normal(len(d)))
    return np.maximum(np.round(seconds / 60), 1).astype(np.int64) * 60


def _places(rng, territory: Territory, t_idx, b_idx) -> np.ndarray:
    """Point index per incident: a random point of its buurt, or near a hot spot."""
    pts = territory.points
    idx = pts.start[b_idx] + (rng.random(len(b_idx)) * pts.count[b_idx]).astype(np.int64)
    if territory.hotspots:
        u = rng.random(len(b_idx))
        v = rng.random(len(b_idx))
        for spot in territory.hotspots:
            types = np.fromiter(spot.shares, dtype=np.int64)
            hit = (b_idx == spot.bu_index) & np.isin(t_idx, types) & (u < spot.focus)
            if hit.any() and len(spot.points):
                idx[hit] = spot.points[(v[hit] * len(spot.points)).astype(np.int64)]
    return idx


def _materialize(territory: Territory, types: TypeTable, texts: TextTable, clock: _Clock,
                 t_idx, b_idx, m_idx, rng, *, end_ts, exact: bool, first_id: int,
                 id_prefix: str, batch: str) -> pa.Table:
    occurred = clock.draw(rng, t_idx, m_idx)
    registered = occurred + _delays(rng, types, t_idx)
    end = end_ts.astype(np.int64)
    late = registered >= end
    if exact:
        span = np.maximum(end - 60 - occurred[late], 0)
        pulled = (rng.random(int(late.sum())) * span).astype(np.int64) // 60 * 60
        registered[late] = occurred[late] + pulled
    else:
        keep = ~late
        t_idx, b_idx, m_idx = t_idx[keep], b_idx[keep], m_idx[keep]
        occurred, registered = occurred[keep], registered[keep]
    # Ids follow the order of registration, as in a real registration system.
    order = np.argsort(registered, kind="stable")
    t_idx, b_idx = t_idx[order], b_idx[order]
    occurred, registered = occurred[order], registered[order]
    n = len(t_idx)

    attempt = rng.random(n) < types.attempt[t_idx]
    point = _places(rng, territory, t_idx, b_idx)
    summary, mo = texts.pick(rng, t_idx)
    high_impact = types.high_impact[t_idx] | texts.mo_high_impact[mo]
    pts = territory.points
    lon, lat = pts.lon[point].copy(), pts.lat[point].copy()
    if pts.jitter_m is not None:
        radius = pts.jitter_m[point] * np.sqrt(rng.random(n))
        angle = rng.random(n) * 2 * np.pi
        lat += radius * np.sin(angle) / 111_320.0
        lon += radius * np.cos(angle) / (111_320.0 * np.cos(np.radians(lat)))

    numbers = pa.array(np.arange(first_id, first_id + n, dtype=np.int64)).cast(pa.string())
    ids = pc.utf8_lpad(numbers, width=9, padding="0")
    columns = {
        "id": pc.binary_join_element_wise(id_prefix, ids, ""),
        "registered_at": pa.array(registered.astype("datetime64[s]")),
        "occurred_at": pa.array(occurred.astype("datetime64[s]")),
        "occurred_date": pa.array(occurred.astype("datetime64[s]").astype("datetime64[D]")),
        "type_code": _dict(t_idx, types.codes),
        "attempt": pa.array(attempt),
        "high_impact": pa.array(high_impact),
        "re_code": territory.re_code.take(b_idx),
        "basisteam": territory.basisteam.take(b_idx),
        "gm_code": territory.gm_code.take(b_idx),
        "wk_code": territory.wk_code.take(b_idx),
        "bu_code": territory.bu_code.take(b_idx),
        "pc4": _optional(pts.pc4, point),
        "pc6": _optional(pts.pc6, point),
        "street": _optional(pts.street, point),
        "house_number": _optional(pts.house_number, point),
        "lon": pa.array(lon),
        "lat": pa.array(lat),
        "mo": _dict(mo, texts.mos),
        "summary": _dict(summary, texts.summaries),
        "batch": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                                pa.array([batch])),
    }
    return pa.table({c: columns[c] for c in INCIDENT_COLUMNS})


def _dict(index, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(index, dtype=np.int32)),
                                          pa.array(list(values), type=pa.string()))


def _optional(strings: Strings | None, index) -> pa.Array:
    if strings is None:
        return pa.nulls(len(index), type=pa.string())
    return strings.take(index)


def prefetch(items: Iterator, depth: int = 1) -> Iterator:
    """Iterate ``items`` in a background thread, ``depth`` items ahead, so that producing the
    next chunk (numpy, which releases the GIL) overlaps with consuming this one (DuckDB).
    Exceptions in the producer are raised in the consumer."""
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put((item, None))
        except BaseException as exc:  # handed to the consumer
            box.put((None, exc))
        else:
            box.put((done, None))

    thread = threading.Thread(target=produce, name="incident-generator", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = box.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(0.05)
