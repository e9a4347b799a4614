"""The Kaart page's numbers as the browser gets them: the values frame for the stored choices,
class breaks and colours, the style/tooltip payload (``hideout``), the side panel table and its
CSV, and the total above the panel. All figures come from ``data.queries.map`` with the scope.
"""
from __future__ import annotations

from datetime import timedelta

from callbacks.kaart_state import (choices, eenheid_code, pick_filters, resolve, stored)
from data.queries import map as q
from layouts import format as fmt
from layouts import incidenten as incidenten_view
from layouts import kaart as view


def quantile(sorted_values: list[float], p: float) -> float:
    position = (len(sorted_values) - 1) * p
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def class_breaks(values: list[float], measure: str) -> tuple[list[float], list[str]]:
    """Upper bounds of all classes but the last, and their colours: quantile classes on a
    sequential palette; for changes symmetric classes around zero on a diverging palette."""
    values = sorted(values)
    if measure == "change":
        magnitudes = sorted(abs(v) for v in values if v)
        low, high = ((quantile(magnitudes, 1 / 3), quantile(magnitudes, 2 / 3))
                     if magnitudes else (5.0, 15.0))
        low = max(low, 0.1)
        high = max(high, low * 2)
        return [-high, -low, low, high], list(view.DIVERGING)
    if not values:
        return [], [view.SEQUENTIAL[2]]
    breaks = sorted({round(quantile(values, i / 5), 6) for i in range(1, 5)})
    breaks = [b for b in breaks if b < values[-1]]
    count = len(breaks) + 1
    palette = view.SEQUENTIAL
    colors = ([palette[round(i * (len(palette) - 1) / (count - 1))] for i in range(count)]
              if count > 1 else [palette[2]])
    return breaks, colors


#: What an area or total without any source for the period shows (never 0).
NO_DATA = "geen gegevens"


def format_value(value, measure: str) -> str:
    if measure == "count":
        return view.number(value)
    if measure == "per_1000":
        return view.number(value, 1)
    return "–" if dash_na(value) else fmt.percent_change(float(value))


def legend_labels(breaks, colors, measure) -> list[tuple[str, str]]:
    labels = []
    for i, color in enumerate(colors):
        if not breaks:
            text = "alle waarden"
        elif i == 0:
            text = f"≤ {format_value(breaks[0], measure)}"
        elif i == len(colors) - 1:
            text = f"> {format_value(breaks[-1], measure)}"
        else:
            text = f"{format_value(breaks[i - 1], measure)} – {format_value(breaks[i], measure)}"
        labels.append((color, text))
    return labels


#: Most rows in the side panel (highest values first); the CSV always holds every area. A
#: national buurt layer (13,000+ rows) would otherwise send megabytes of table to the browser.
PANEL_ROWS = 100


def table(frame, measure: str, scope, limit: int | None = None
          ) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows (formatted cells) and codes of the side panel (the first ``limit`` rows
    when given); the CSV uses the same."""
    frame = frame.assign(_v=frame["value"].astype("Float64"),
                         _c=frame["count"].astype("Float64"))
    frame = frame.sort_values(["_v", "_c", "name"], ascending=[False, False, True],
                              na_position="last")
    if limit is not None:
        frame = frame.head(limit)

    def rank_cell(row):
        return "–" if row["rank"] is None or dash_na(row["rank"]) else f"{row['rank']} van {row['ranked']}"

    header = ["Gebied", "Code", "Aantal"]
    if measure == "per_1000":
        header += ["Inwoners", "Per 1.000 inwoners"]
    elif measure == "change":
        header += ["Vorig jaar", "Verschil", "Verandering"]
    header.append("Rang")
    rows = []
    for _, row in frame.iterrows():
        cells = [row["name"] or row["code"], row["code"],
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


def dash_na(value) -> bool:
    import pandas as pd
    return bool(pd.isna(value))


def hideout(frame, measure: str, scope) -> dict:
    """Values, class breaks, colours and tooltip parts for the style function in the browser.
    A tooltip travels as ``[name, shown value, rank, ranked]`` and ``assets/choropleth.js``
    builds its HTML: at 13k buurten whole HTML strings were 1.5 MB of a 2.4 MB response.
    Columns are read as plain lists: iterating pandas rows is slow at that size."""
    codes, names = frame["code"].tolist(), frame["name"].tolist()
    values_list = plain(frame["value"], float)
    values = {code: v for code, v in zip(codes, values_list) if v is not None}
    breaks, colors = class_breaks(list(values.values()), measure)
    tips = {}
    for code, name, value, count, rank, ranked in zip(
            codes, names, values_list, plain(frame["count"], int),
            plain(frame["rank"], int), plain(frame["ranked"], int)):
        shown = format_value(value, measure)
        if count is None:  # no source covers this area and period: never a 0
            shown = NO_DATA
        elif measure != "count":
            shown = f"{shown} (aantal {view.number(count)})"
        tips[code] = [str(name or code), shown, rank, ranked]
    return {"values": values, "breaks": breaks, "colors": colors, "unknown": view.UNKNOWN_COLOR, "label": view.MEASURE_LABELS[measure], "tips": tips}


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
    frame = q.map_values(con, scope=scope, level=state["level"], period=period,
                         group=filters["group"], measure=filters["measure"],
                         within=state["within"], parent=state["parent"],
                         eenheid=eenheid_code(state), lean=True)
    titles = dict(bundles)
    return state, filters, key, period, frame, titles[filters["group"]]


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

