"""The Kaart page's numbers as the browser gets them: the values frame for the stored choices,
class breaks and colours, the style/tooltip payload (``hideout``), the side panel table and its
CSV, and the total above the panel. All figures come from ``data.queries.map`` with the scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from callbacks.kaart_state import (SOURCE_PREFIX, choices, eenheid_code, is_source, pick_filters,
                                   resolve, stored)
from dashboard.caching import cached
from data.queries import map as q
from layouts import format as fmt
from layouts import incidenten as incidenten_view
from layouts import kaart as view


def quantile(sorted_values: list[float], p: float) -> float:
    position = (len(sorted_values) - 1) * p
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


#: The precision of a class break: whole numbers for counts and changes (%), tenths for rates.
UNIT = {"count": 1.0, "per_1000": 0.1, "change": 1.0}
#: Differences smaller than this share of the median are no separate classes (noise: a rate of
#: 2,1 against 2,3 per 1.000 is one class, not two colours).
NOISE = 0.1
#: Most classes of a sequential map (the palette's length).
MOST_CLASSES = len(view.SEQUENTIAL)


def nice_steps(largest: float, unit: float) -> list[float]:
    """The 1-2-5 steps (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, …) from the first at or above
    ``largest`` down to ``unit``, coarsest first."""
    import math
    exponent = math.floor(math.log10(max(largest, unit)))
    steps = []
    while True:
        for m in (5, 2, 1):
            step = round(m * 10.0 ** exponent, 10)
            if step < unit - 1e-12:
                return steps or [unit]
            steps.append(step)
        exponent -= 1


def nice_round(value: float, tolerance: float, unit: float) -> float:
    """``value`` rounded to the coarsest 1-2-5 step that moves it by at most ``tolerance``
    (a round 200 rather than 183; 183 when 200 would land in the next class)."""
    for step in nice_steps(2 * tolerance, unit):
        rounded = round(round(value / step) * step, 6)
        if abs(rounded - value) <= tolerance + 1e-9:
            return rounded
    return round(round(value / unit) * unit, 6)


def nice_magnitude(value: float, unit: float) -> float:
    """The 1-2-2,5-5 × 10ⁿ number nearest to ``value`` (on a log scale), at least ``unit``."""
    import math
    if value <= unit:
        return unit
    exponent = math.floor(math.log10(value))
    candidates = [m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1)
                  for m in (1, 2, 2.5, 5)]
    return round(min(candidates, key=lambda c: abs(math.log(c / value))), 6)


@dataclass
class Classes:
    """Map classes: class ``i`` holds the values with ``i`` breaks below them, a value equal to
    break ``j`` counting as above it when ``up[j]`` (so ``[10, 20]`` with ``up`` true reads
    "minder dan 10", "10 tot 20", "20 of meer"). ``colors`` and ``labels`` per class;
    assets/choropleth.js classifies exactly as :meth:`index`."""
    breaks: list[float]
    up: list[bool]
    colors: list[str]
    labels: list[str]

    def index(self, value: float) -> int:
        return sum(1 for b, up in zip(self.breaks, self.up) if value > b or (up and value == b))

    def legend(self, values) -> list[tuple[str, str]]:
        """(colour, label) of every class some value falls in (all classes without values)."""
        used = {self.index(v) for v in values}
        return [(color, label) for i, (color, label) in enumerate(zip(self.colors, self.labels))
                if not used or i in used]


def class_breaks(values: list[float], measure: str) -> Classes:
    """Readable classes for the map: see :func:`sequential_classes` (counts, rates) and
    :func:`change_classes` (changes)."""
    values = sorted(float(v) for v in values)
    if measure == "change":
        return change_classes(values)
    return sequential_classes(values, measure)


def sequential_classes(values: list[float], measure: str) -> Classes:
    """Rounded quantile classes on the sequential palette, lower bound included ("10 tot 20",
    "20 of meer"): at most five; fewer when there are few distinct values or when the values
    lie closer together than :data:`NOISE` of their median (nearly equal values: one class).
    Every break lies above the lowest value and at or below the highest, and every class holds
    at least one value; breaks lie at least the noise apart (and above the lowest value)."""
    unit = UNIT[measure]
    if not values:
        return Classes([], [], [view.SEQUENTIAL[2]], ["alle waarden"])
    low, high = values[0], values[-1]
    noise = max(unit, NOISE * abs(quantile(values, 0.5)))
    count = min(MOST_CLASSES, len(set(values)), 1 + int((high - low) / noise + 1e-9))
    points = [quantile(values, i / count) for i in range(1, count)]
    breaks: list[float] = []
    for i, point in enumerate(points):
        before = points[i - 1] if i else low
        after = points[i + 1] if i + 1 < len(points) else high
        gap = min(point - before, after - point)
        if gap <= 0:
            continue
        rounded = nice_round(point, gap / 2, unit)
        if low < rounded <= high and rounded - (breaks[-1] if breaks else low) >= noise - 1e-9:
            breaks.append(rounded)
    # Merge a class no value falls in (rounding can empty one) into the one below it.
    while True:
        probe = Classes(breaks, [True] * len(breaks), [], [])
        used = {probe.index(v) for v in values}
        empty = next((i for i in range(len(breaks) + 1) if i not in used), None)
        if empty is None:
            break
        del breaks[max(empty - 1, 0)]
    palette = view.SEQUENTIAL
    n = len(breaks) + 1
    colors = ([palette[round(i * (len(palette) - 1) / (n - 1))] for i in range(n)]
              if n > 1 else [palette[2]])
    shown = [format_break(b, measure) for b in breaks]
    if not breaks:
        labels = [format_break(low, measure) if low == high
                  else f"{format_break(low, measure)} – {format_break(high, measure)}"]
    else:
        labels = ([f"minder dan {shown[0]}"]
                  + [f"{a} tot {b}" for a, b in zip(shown, shown[1:])]
                  + [f"{shown[-1]} of meer"])
    return Classes(breaks, [True] * len(breaks), colors, labels)


def change_classes(values: list[float]) -> Classes:
    """Diverging classes around 0 for a change in percent: larger decrease, smaller decrease,
    unchanged (exactly 0%), smaller increase, larger increase. The threshold is the median size
    of the changes rounded to 1-2-2,5-5 × 10ⁿ; a decrease cannot exceed 100%, so its threshold
    stays below it (50% when the increases are larger)."""
    sizes = sorted(abs(v) for v in values if v)
    size = nice_magnitude(quantile(sizes, 0.5), UNIT["change"]) if sizes else 10.0
    down = size if size < 100 else 50.0
    breaks = [-down, 0.0, 0.0, size]
    up = [False, True, False, True]
    labels = [f"daling van {format_break(down, 'change')}% of meer",
              f"daling van minder dan {format_break(down, 'change')}%",
              "gelijk (0%)",
              f"stijging van minder dan {format_break(size, 'change')}%",
              f"stijging van {format_break(size, 'change')}% of meer"]
    return Classes(breaks, up, list(view.DIVERGING), labels)


def format_break(value: float, measure: str) -> str:
    """A class bound in Dutch, with no more decimals than it has (2,5 but 5 and 1.000)."""
    return fmt.integer(value) if float(value).is_integer() else fmt.decimal(value, 1)


#: What an area or total without any source for the period shows (never 0).
NO_DATA = "geen gegevens"


def format_value(value, measure: str) -> str:
    if measure == "count":
        return view.number(value)
    if measure == "per_1000":
        return view.number(value, 1)
    return "–" if dash_na(value) else fmt.percent_change(float(value))


#: Most rows in the side panel (highest values first); the CSV always holds every area. A
#: national buurt layer (13,000+ rows) would otherwise send megabytes of table to the browser.
PANEL_ROWS = 100


def list_rank(frame):
    """The frame with ``rank`` and ``ranked`` over all its rows (1 = highest value; ties share
    the lowest rank): the rank the panel, the CSV and the tooltips show, consistent with the
    list's order. (``map_values`` ranks within the parent area, e.g. a PC6 within its PC4, as
    the API documents; on a map of a whole gemeente that disagreed with the list.)"""
    value = frame["value"].astype("Float64")
    return frame.assign(rank=value.rank(method="min", ascending=False).astype("Int64"),
                        ranked=pd.array([int(value.notna().sum())] * len(frame), dtype="Int64"))


def table(frame, measure: str, scope, limit: int | None = None
          ) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows (formatted cells) and codes of the side panel (the first ``limit`` rows
    when given); the CSV uses the same."""
    frame = list_rank(frame)
    ranked = int(frame["ranked"].iloc[0]) if len(frame) else 0
    frame = frame.assign(_v=frame["value"].astype("Float64"),
                         _c=frame["count"].astype("Float64"))
    frame = frame.sort_values(["_v", "_c", "name"], ascending=[False, False, True],
                              na_position="last")
    if limit is not None:
        frame = frame.head(limit)

    def rank_cell(row):
        return "–" if row["rank"] is None or dash_na(row["rank"]) else view.number(row["rank"])

    header = ["Gebied", "Code", "Aantal"]
    if measure == "per_1000":
        header += ["Inwoners", "Per 1.000 inwoners"]
    elif measure == "change":
        header += ["Vorig jaar", "Verschil", "Verandering"]
    header.append(f"Rang (van {view.number(ranked)})")  # in this list, 1 = highest
    rows = []
    for _, row in frame.iterrows():
        cells = [shown_name(row["name"], row["code"]), row["code"],
                 NO_DATA if dash_na(row["count"]) else view.number(row["count"])]
        if measure == "per_1000":
            cells += [view.number(row["population"]), view.number(row["per_1000"], 1)]
        elif measure == "change":
            previous = view.number(row["previous"])
            change = view.number(row["change"])
            if change != "–" and not change.startswith("-") and row["change"] > 0:
                change = "+" + change
            cells += [previous, change, format_value(row["change_pct"], "change")]
        cells.append(rank_cell(row))
        rows.append([str(c) for c in cells])
    return header, rows, frame["code"].tolist()


def plain(series, kind) -> list:
    """A column as a list of plain Python ``kind`` values, None where missing (<NA>, NaN)."""
    return [None if missing else kind(v)
            for v, missing in zip(series.tolist(), series.isna().tolist())]


def shown_name(name, code: str) -> str:
    """An area's name, or its code when it has none (None, NaN or empty: a boundary without a
    name would otherwise show as "nan")."""
    return code if name is None or dash_na(name) or not str(name).strip() else str(name)


def dash_na(value) -> bool:
    import pandas as pd
    return bool(pd.isna(value))


def hideout(frame, measure: str, scope) -> dict:
    """Values, class breaks, colours and tooltip parts for the style function in the browser.
    A tooltip travels as ``[name, shown value, rank, ranked]`` and ``assets/choropleth.js``
    builds its HTML: at 13k buurten whole HTML strings were 1.5 MB of a 2.4 MB response.
    Columns are read as plain lists: iterating pandas rows is slow at that size."""
    frame = list_rank(frame)
    codes, names = frame["code"].tolist(), frame["name"].tolist()
    values_list = plain(frame["value"], float)
    values = {code: v for code, v in zip(codes, values_list) if v is not None}
    classes = class_breaks(list(values.values()), measure)
    tips = {}
    for code, name, value, count, rank, ranked in zip(
            codes, names, values_list, plain(frame["count"], int),
            plain(frame["rank"], int), plain(frame["ranked"], int)):
        shown = format_value(value, measure)
        if count is None:  # no source covers this area and period: never a 0
            shown = NO_DATA
        elif measure != "count":
            shown = f"{shown} (aantal {view.number(count)})"
        tips[code] = [shown_name(name, code), shown, rank, ranked]
    return {"values": values, "breaks": classes.breaks, "up": classes.up,
            "colors": classes.colors, "legend": classes.legend(values.values()),
            "unknown": view.UNKNOWN_COLOR, "label": view.MEASURE_LABELS[measure], "tips": tips}


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """UTF-8 with BOM (Excel), ';' separated, quoted where needed."""
    import csv
    import io
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def current_values(con, scope, area_state, filter_state):
    """Validated state, period and the values frame for the stored choices."""
    area_state, filter_state = stored(area_state), stored(filter_state)
    if area_state is None or filter_state is None:
        return None
    state = resolve(con, scope, area_state.get("level"), area_state.get("area"))
    bundles, periods = choices(con, scope)
    filters = pick_filters(filter_state, bundles, periods)
    resolved = q.pick_period(periods, filters["period"])
    if resolved is None or filters["group"] is None:
        return None
    key, period = resolved
    titles = dict(bundles)
    if is_source(filters["group"]):
        filters["measure"] = "count"  # a gemeente source is shown as counts only
        frame = source_values(con, scope, state, period, filters["group"], bundles[0][0])
        return state, filters, key, period, frame, titles[filters["group"]]
    args = dict(level=state["level"], period=period, group=filters["group"],
                measure=filters["measure"], within=state["within"], parent=state["parent"],
                eenheid=eenheid_code(state), lean=True)
    frame = cached("map-values", lambda: q.map_values(con, scope=scope, **args), scope=scope,
                   extra=sorted(args.items()))
    return state, filters, key, period, frame, titles[filters["group"]]


def source_values(con, scope, state, period, group: str, skeleton: str):
    """The map frame of a gemeente source: the areas of the view (as the police bundle
    ``skeleton`` lists them, so levels, names and ranks work as for every measure) with the
    source's counts; areas outside the owner gemeente, levels the source has no figures for
    and periods it does not cover wholly are "geen gegevens", never 0."""
    from data.queries import sources

    owner, source = group[len(SOURCE_PREFIX):].split("|", 1)
    info = sources.get_source(con, scope=scope, gm_code=owner, source=source)  # OutOfScope
    frame = q.map_values(con, scope=scope, level=state["level"], period=period,
                         group=skeleton, measure="count", within=state["within"],
                         parent=state["parent"], eenheid=eenheid_code(state), lean=True)
    last = period.end - timedelta(days=1)
    counts, reasons = {}, {}
    if state["level"] in ("wijk", "buurt", "pc4"):
        values = sources.source_map_values(con, scope=scope, gm_code=owner, source=source,
                                           level=state["level"], start=period.start, end=last)
        counts = {c: n for c, n in zip(values["area_code"], values["count"]) if not pd.isna(n)}
        reasons = {c: r for c, r in zip(values["area_code"], values["reason"]) if r}
    elif state["level"] == "gemeente":
        series = sources.source_series(con, scope=scope, gm_code=owner, source=source,
                                       grain=info["grain"], start=period.start, end=last)
        if len(series) and series["count"].notna().all():
            counts = {owner: int(series["count"].sum())}
        else:
            reasons = {owner: f"geen gegevens: {info['title']} dekt deze periode niet (geheel)"}
    outside = f"geen gegevens: {info['title']} is een bron van gemeente {info['gemeente']}"
    frame = frame.copy()
    frame["count"] = pd.array([counts.get(c) for c in frame["code"]], dtype="Int64")
    frame["reason"] = [None if c in counts else reasons.get(c, outside) for c in frame["code"]]
    frame["previous"] = pd.array([None] * len(frame), dtype="Int64")
    frame["change"] = frame["previous"]
    frame["change_pct"] = pd.array([None] * len(frame), dtype="Float64")
    frame["per_1000"] = frame["change_pct"]
    frame["value"] = frame["count"].astype("Float64")
    frame["rank"] = (frame.groupby("parent_code")["value"]
                     .rank(method="min", ascending=False).astype("Int64"))
    frame["ranked"] = frame.groupby("parent_code")["value"].transform("count").astype("Int64")
    total = frame["count"].sum() if frame["count"].notna().all() and len(frame) else None
    frame["parent_total"] = pd.array([total] * len(frame), dtype="Int64")
    frame["source"] = info["label"].removeprefix("Bron: ")
    frame["provisional"] = False
    return frame


def panel_total(con, scope, state, filters, period, frame) -> tuple[str, str]:
    """The figure the panel shows above the table: the parent area's count."""
    eenheid = state.get("eenheid")
    if state["level"] in ("gemeente", "eenheid"):
        label = f"Totaal {eenheid['name']}" if eenheid else "Totaal uw gebied"
        counts = frame["count"]
        return label, (NO_DATA if counts.isna().any() or counts.empty
                       else view.number(counts.sum()))
    if state["parent_info"] is not None or (state["level"] in ("wijk", "pc4")
                                            and state["gemeente"] is not None):
        name = (state["parent_info"] or state["gemeente"])["name"]
        value = frame["parent_total"].iloc[0] if len(frame) else None
        return f"Totaal {name}", NO_DATA if dash_na(value) else view.number(value)
    total = q.gemeente_total(con, scope=scope, period=period, group=filters["group"],
                             within=state["within"], eenheid=eenheid_code(state))
    name = (state["gemeente"] or eenheid or {}).get("name")
    return (f"Totaal {name}" if name else "Totaal uw gebied",
            NO_DATA if total is None else view.number(total))


def incidents_href(code: str, filters: dict, period) -> str:
    """The Incidenten page for one area with the map's bundle and period."""
    last_day = period.end - timedelta(days=1)
    return "/incidenten" + incidenten_view.query_string(
        {"area": [code], "type": [filters["group"]], "from": period.start.isoformat(),
         "to": last_day.isoformat()})

