"""The Kaart page: navigation state, geometry, values and the CSV export.

Five data callbacks, each scoped and logged by ``data_callback``:

* ``kaart/navigatie`` turns the URL (``?niveau=&gebied=&type=&periode=&maat=``), the controls
  and clicks on the map into a view state, and writes it back to the URL so that a link
  reproduces the view. The area is checked against the scope of whoever opens the link.
* ``kaart/geometrie`` sends the shapes, only when the level or area changes;
* ``kaart/waarden`` sends the values into the ``kaart-values`` store (a clientside callback
  restyles the drawn areas with them, ``assets/choropleth.js``), the legend and the side panel;
* ``kaart/export`` the CSV of exactly what the panel shows;
* ``kaart/punten`` the incident points (detail level 3 only; the switch and the layer are only
  on the page for such users, and the query refuses any other scope before touching data).

The stores in the browser only carry the user's choices: every callback re-checks them.
"""
from __future__ import annotations

import html as html_text
import json
from datetime import timedelta
from urllib.parse import parse_qs

import dash
import flask
from dash import Input, Output, State, ctx

from callbacks.guard import Served, data_callback
from dashboard.auth import current_scope, get_db
from data.queries import map as q
from data.scope import OutOfScope, ensure_detail
from data.suppression import mark
from layouts import format as fmt
from layouts import incidenten as incidenten_view
from layouts import kaart as view

DRILL = {"eenheid": "gemeente", "gemeente": "wijk", "wijk": "buurt", "pc4": "pc6"}


def offered_levels(scope) -> list[str]:
    """The levels in the Niveau choice: the regionale eenheid only when the scope spans more
    than one gemeente."""
    return [level for level in q.VIEW_LEVELS
            if level != "eenheid" or len(scope.gemeenten) > 1]


def wide_buurten(scope) -> bool:
    """Whether the buurt layer may cover a whole eenheid or the whole scope (no gemeente):
    for users with exact figures (detail level 3, analysts) over more than one gemeente."""
    return scope.detail >= 3 and len(scope.gemeenten) > 1


# -- view state ---------------------------------------------------------------------------------

def parse_search(search) -> dict:
    """The view state a URL query string asks for (unvalidated)."""
    if not isinstance(search, str):
        return {}
    raw = parse_qs(search.lstrip("?"))
    keys = {"niveau": "level", "gebied": "area", "type": "group", "periode": "period",
            "maat": "measure"}
    return {key: raw[name][0] for name, key in keys.items() if raw.get(name)}


def resolve(con, scope, level, area_code) -> dict:
    """Check a (level, area) choice against the scope and complete it: ``within`` (the gemeente),
    ``parent`` (a wijk for buurten, a PC4 for PC6), ``eenheid`` (a regionale eenheid that
    narrows a gemeente or wide buurt layer) and the names for breadcrumb and titles.
    Raises OutOfScope for an area outside the scope (or unknown)."""
    if scope.empty:
        raise OutOfScope("empty scope")
    if level not in offered_levels(scope):
        level = "gemeente"
    info = q.area(con, scope=scope, code=area_code) if area_code else None
    eenheid = info if info is not None and info["level"] == "eenheid" else None
    state = {"level": level, "area": None, "within": None, "parent": None, "gemeente": None,
             "parent_info": None, "eenheid": None}
    if level == "eenheid":
        return state
    if level == "gemeente" or (level == "buurt" and wide_buurten(scope)
                               and (info is None or eenheid is not None)):
        return {**state, "area": eenheid["code"] if eenheid else None, "eenheid": eenheid}
    if info is None or eenheid is not None:
        candidates = q.narrow(con, scope=scope,
                              eenheid=eenheid["code"] if eenheid else None).gemeenten
        info = q.area(con, scope=scope, code=sorted(candidates)[0])
    gemeente = info if info["level"] == "gemeente" else q.area(con, scope=scope,
                                                               code=info["gm_code"])
    parent = None
    if level in q.PARENT_LEVEL and info["level"] == q.PARENT_LEVEL[level]:
        parent = info
    area = parent["code"] if parent else gemeente["code"]
    return {**state, "area": area, "within": gemeente["code"],
            "parent": parent["code"] if parent else None, "gemeente": gemeente,
            "parent_info": parent}


def _choices(con, scope):
    bundles = q.bundle_options(con, scope=scope)
    periods = q.period_options(con, scope=scope)
    return bundles, periods


def period_label(key: str, period) -> str:
    if key == "12m":
        return f"Laatste 12 maanden ({fmt.period(period.start, period.end)})"
    return key


def _filters(raw: dict, bundles, periods) -> dict:
    codes = [c for c, _ in bundles]
    keys = [k for k, _ in periods]
    return {
        "group": raw.get("group") if raw.get("group") in codes else (codes[0] if codes else None),
        "period": raw.get("period") if raw.get("period") in keys else (keys[0] if keys else None),
        "measure": raw.get("measure") if raw.get("measure") in q.MEASURES else "count",
    }


def _crumbs(state: dict, filters: dict, scope) -> list:
    def href(level, area=None):
        return "/kaart" + view.query_string({**filters, "level": level, "area": area})
    gemeente, parent, level = state["gemeente"], state["parent_info"], state["level"]
    if "eenheid" in offered_levels(scope):
        crumbs = [("Eenheden", href("eenheid"))]
        if state["eenheid"]:
            crumbs.append((state["eenheid"]["name"], href("gemeente", state["eenheid"]["code"])))
        elif level != "eenheid":
            crumbs.append(("Gemeenten", href("gemeente")))
    else:
        crumbs = [("Gemeenten", href("gemeente"))]
    if gemeente:
        crumbs.append((gemeente["name"], href("pc4" if level in ("pc4", "pc6") else "wijk",
                                              gemeente["code"])))
    if parent:
        crumbs.append((parent["name"], None))
    if level in ("buurt", "pc6") and not parent:
        crumbs.append((view.LEVEL_LABELS[level], None))
    return view.breadcrumb(crumbs)


def _stored(value) -> dict | None:
    return value if isinstance(value, dict) else None


# -- values -> hideout, legend, table -------------------------------------------------------------

def _quantile(sorted_values: list[float], p: float) -> float:
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
        low, high = ((_quantile(magnitudes, 1 / 3), _quantile(magnitudes, 2 / 3))
                     if magnitudes else (5.0, 15.0))
        low = max(low, 0.1)
        high = max(high, low * 2)
        return [-high, -low, low, high], list(view.DIVERGING)
    if not values:
        return [], [view.SEQUENTIAL[2]]
    breaks = sorted({round(_quantile(values, i / 5), 6) for i in range(1, 5)})
    breaks = [b for b in breaks if b < values[-1]]
    count = len(breaks) + 1
    palette = view.SEQUENTIAL
    colors = ([palette[round(i * (len(palette) - 1) / (count - 1))] for i in range(count)]
              if count > 1 else [palette[2]])
    return breaks, colors


def format_value(value, measure: str) -> str:
    if measure == "count":
        return view.number(value)
    if measure == "per_1000":
        return view.number(value, 1)
    return "–" if dash_na(value) else fmt.percent_change(float(value))


def _legend_labels(breaks, colors, measure) -> list[tuple[str, str]]:
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
PANEL_ROWS = 500


def table(frame, measure: str, scope, limit: int | None = None
          ) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows (formatted cells) and codes of the side panel (the first ``limit`` rows
    when given); the CSV uses the same."""
    hidden = mark(scope)
    frame = frame.assign(_v=frame["value"].astype("Float64"),
                         _c=frame["count"].astype("Float64"))
    frame = frame.sort_values(["_v", "_c", "name"], ascending=[False, False, True],
                              na_position="last")
    if limit is not None:
        frame = frame.head(limit)

    def count_cell(value, suppressed):
        return hidden if suppressed else view.number(value)

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
        cells = [row["name"] or row["code"], row["code"], count_cell(row["count"], row["suppressed"])]
        if measure == "per_1000":
            cells += [view.number(row["population"]), view.number(row["per_1000"], 1)]
        elif measure == "change":
            previous = count_cell(row["previous"], row["previous_suppressed"])
            change = view.number(row["change"])
            if change != "–" and not change.startswith("-") and row["change"] > 0:
                change = "+" + change
            cells += [previous, change, format_value(row["change_pct"], "change")]
        cells.append(rank_cell(row))
        rows.append([str(c) for c in cells])
    return header, rows, frame["code"].tolist()


def dash_na(value) -> bool:
    import pandas as pd
    return bool(pd.isna(value))


def hideout(frame, measure: str, scope) -> dict:
    """Values, class breaks, colours and tooltip parts for the style function in the browser.
    A tooltip travels as ``[name, shown value, rank, ranked]`` and ``assets/choropleth.js``
    builds its HTML: at 13k buurten whole HTML strings were 1.5 MB of a 2.4 MB response.
    Columns are read as plain lists: iterating pandas rows is slow at that size."""
    codes, names = frame["code"].tolist(), frame["name"].tolist()
    values_list = [None if dash_na(v) else float(v) for v in frame["value"].tolist()]
    values = {code: v for code, v in zip(codes, values_list) if v is not None}
    breaks, colors = class_breaks(list(values.values()), measure)
    hidden = mark(scope)
    tips = {}
    for code, name, value, count, suppressed, rank, ranked in zip(
            codes, names, values_list, frame["count"].tolist(), frame["suppressed"].tolist(),
            frame["rank"].tolist(), frame["ranked"].tolist()):
        shown = hidden if suppressed else format_value(value, measure)
        if measure != "count":
            shown = f"{shown} (aantal {hidden if suppressed else view.number(count)})"
        tips[code] = [str(name or code), shown, None if dash_na(rank) else int(rank),
                      None if dash_na(ranked) else int(ranked)]
    return {"values": values, "breaks": breaks, "colors": colors,
            "suppressed": [c for c, s in zip(codes, frame["suppressed"].tolist()) if s],
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


def _values(con, scope, area_state, filter_state):
    """Validated state, period and the values frame for the stored choices."""
    area_state, filter_state = _stored(area_state), _stored(filter_state)
    if area_state is None or filter_state is None:
        return None
    state = resolve(con, scope, area_state.get("level"), area_state.get("area"))
    bundles, periods = _choices(con, scope)
    filters = _filters(filter_state, bundles, periods)
    resolved = q.resolve_period(con, scope=scope, key=filters["period"])
    if resolved is None or filters["group"] is None:
        return None
    key, period = resolved
    frame = q.map_values(con, scope=scope, level=state["level"], period=period,
                         group=filters["group"], measure=filters["measure"],
                         within=state["within"], parent=state["parent"],
                         eenheid=_eenheid_code(state))
    titles = dict(bundles)
    return state, filters, key, period, frame, titles[filters["group"]]


def _eenheid_code(state) -> str | None:
    return state["eenheid"]["code"] if state.get("eenheid") else None


def _selection_title(state) -> str:
    label = view.LEVEL_LABELS[state["level"]]
    if state.get("eenheid"):
        return f"{label} in {state['eenheid']['name']}"
    if state["parent_info"]:
        return f"{label} in {state['parent_info']['name']}"
    if state["gemeente"]:
        return f"{label} in {state['gemeente']['name']}"
    return label


def register(app) -> None:
    # The values restyle the drawn areas in the browser (not through the GeoJSON `hideout`).
    app.clientside_callback("function (values) { return window.vb.applyValues(values); }",
                            Output("kaart-values-applied", "data"),
                            Input("kaart-values", "data"), prevent_initial_call=True)

    @data_callback(app, "kaart/navigatie", [
        Output("kaart-message", "children"),
        Output("kaart-url", "search"),
        Output("kaart-niveau", "value"),
        Output("kaart-type", "value"),
        Output("kaart-periode", "value"),
        Output("kaart-maat", "value"),
        Output("kaart-area", "data"),
        Output("kaart-filters", "data"),
        Output("kaart-breadcrumb", "children"),
    ], [Input("kaart-url", "search"), Input("kaart-niveau", "value"),
        Input("kaart-type", "value"), Input("kaart-periode", "value"),
        Input("kaart-maat", "value"), Input("kaart-geo", "clickData")],
        [State("kaart-area", "data"), State("kaart-filters", "data")])
    def navigate(scope, search, level, group, period, measure, click, area_state, filter_state):
        con = get_db()
        if scope.empty:
            raise OutOfScope("empty scope")
        trigger = ctx.triggered_id
        current = _stored(area_state) or {}
        if trigger in (None, "kaart-url"):
            raw = parse_search(search)
        else:
            raw = {"level": level, "area": current.get("area"), "group": group,
                   "period": period, "measure": measure}
            if trigger == "kaart-geo":
                feature = click.get("feature", click) if isinstance(click, dict) else None
                props = feature.get("properties") if isinstance(feature, dict) else None
                code = props.get("code") if isinstance(props, dict) else None
                old_level = current.get("level")
                if not isinstance(code, str) or old_level not in DRILL:
                    return Served((dash.no_update,) * 9, rows=0)
                raw.update(level=DRILL[old_level], area=code)
        state = resolve(con, scope, raw.get("level"), raw.get("area"))
        bundles, periods = _choices(con, scope)
        filters = _filters(raw, bundles, periods)
        new_area = {"level": state["level"], "area": state["area"]}
        search_out = view.query_string({**filters, **new_area})

        def changed(new, old):
            return new if new != old else dash.no_update
        return Served((
            "", changed(search_out, search if isinstance(search, str) else None),
            changed(state["level"], level), changed(filters["group"], group),
            changed(filters["period"], period), changed(filters["measure"], measure),
            changed(new_area, _stored(area_state)), changed(filters, _stored(filter_state)),
            _crumbs(state, filters, scope),
        ), rows=0, filters={**new_area, **filters})

    @data_callback(app, "kaart/geometrie", [
        Output("kaart-geo-message", "children"),
        Output("kaart-geo", "data"),
        Output("kaart-outline", "data"),
        Output("kaart-attribution", "children"),
    ], [Input("kaart-area", "data")], prevent_initial_call=True)
    def shapes(scope, area_state):
        con = get_db()
        area_state = _stored(area_state)
        if area_state is None:
            return Served(("", None, None, "© CBS"), rows=0)
        state = resolve(con, scope, area_state.get("level"), area_state.get("area"))
        data = json.loads(q.geometry(con, scope=scope, level=state["level"],
                                     within=state["within"], parent=state["parent"],
                                     eenheid=_eenheid_code(state)))
        outline = json.loads(q.geometry(con, scope=scope, level="gemeente"))
        attribution = "© CBS, © ESRI Nederland" if state["level"] == "pc4" else "© CBS"
        return Served(("", data, outline, attribution), rows=len(data["features"]),
                      filters={"niveau": state["level"], "gebied": state["area"]})

    @data_callback(app, "kaart/waarden", [
        Output("kaart-panel", "children"),
        Output("kaart-values", "data"),
        Output("kaart-legend", "children"),
        Output("kaart-subtitle", "children"),
    ], [Input("kaart-area", "data"), Input("kaart-filters", "data")],
        prevent_initial_call=True)
    def values(scope, area_state, filter_state):
        con = get_db()
        result = _values(con, scope, area_state, filter_state)
        if result is None:
            return Served(("Geen gegevens beschikbaar voor uw gebied.", {}, [], ""), rows=0)
        state, filters, key, period, frame, title = result
        measure = filters["measure"]
        header, rows, codes = table(frame, measure, scope, limit=PANEL_ROWS)
        hide = hideout(frame, measure, scope)
        total_label, total = _total(con, scope, state, filters, period, frame)
        note = ""
        if measure == "change" and frame["change_pct"].isna().all():
            note = "Geen vergelijking mogelijk: er zijn geen gegevens over dezelfde periode een jaar eerder."
        elif measure == "per_1000" and frame["population"].isna().all():
            note = "Geen inwonertallen bekend voor dit niveau: geen cijfers per 1.000 inwoners."
        if len(frame) > len(rows):
            note = " ".join(filter(None, [
                f"De {view.number(len(rows))} hoogste van {view.number(len(frame))} gebieden;"
                " de CSV bevat ze allemaal.", note]))
        links = ({code: incidents_href(code, filters, period) for code in codes}
                 if scope.detail >= 2 else None)
        panel = view.panel(_selection_title(state), total_label, total, header, rows, codes, note,
                           links)
        legend = view.legend(f"{title} · {view.MEASURE_LABELS[measure]}",
                             _legend_labels(hide["breaks"], hide["colors"], measure),
                             mark(scope) if frame["suppressed"].any() else None)
        subtitle = (f"{_selection_title(state)} · {title} · {period_label(key, period)} · "
                    f"{view.MEASURE_LABELS[measure]}")
        return Served((panel, hide, legend, subtitle), rows=len(frame),
                      filters={"niveau": state["level"], "gebied": state["area"], **filters})

    @data_callback(app, "kaart/export", [
        Output("kaart-csv-message", "children"),
        Output("kaart-download", "data"),
    ], [Input("kaart-csv", "n_clicks")], [State("kaart-area", "data"),
                                          State("kaart-filters", "data")],
        prevent_initial_call=True)
    def export(scope, clicks, area_state, filter_state):
        if not clicks:
            return Served(("", dash.no_update), rows=0)
        con = get_db()
        result = _values(con, scope, area_state, filter_state)
        if result is None:
            return Served(("Geen gegevens om te downloaden.", dash.no_update), rows=0)
        state, filters, key, period, frame, _title = result
        header, rows, _codes = table(frame, filters["measure"], scope)
        name = "_".join(str(p) for p in ("kaart", state["level"], state["area"] or "gebied",
                                         filters["group"], key, filters["measure"]))
        return Served(("", {"content": csv_text(header, rows), "filename": f"{name}.csv",
                            "type": "text/csv"}),
                      rows=len(rows),
                      filters={"niveau": state["level"], "gebied": state["area"], **filters,
                               "export": "csv"})

    @data_callback(app, "kaart/punten", [
        Output("kaart-punten-message", "children"),
        Output("kaart-punten-geo", "data"),
        Output("kaart-punten", "disabled"),
    ], [Input("kaart-punten", "value"), Input("kaart-area", "data"),
        Input("kaart-filters", "data")], prevent_initial_call=True)
    def points(scope, switched_on, area_state, filter_state):
        ensure_detail(scope, 3)  # even switched off: nobody else ever calls this view
        con = get_db()
        area_state, filter_state = _stored(area_state), _stored(filter_state)
        if area_state is None or filter_state is None:
            return Served(("", EMPTY_POINTS, True), rows=0)
        state = resolve(con, scope, area_state.get("level"), area_state.get("area"))
        enabled = state["level"] in view.POINT_LEVELS and state["within"] is not None
        if not enabled or switched_on is not True:
            return Served(("", EMPTY_POINTS, not enabled), rows=0,
                          filters={"niveau": state["level"], "gebied": state["area"],
                                   "punten": False})
        bundles, periods = _choices(con, scope)
        filters = _filters(filter_state, bundles, periods)
        resolved = q.resolve_period(con, scope=scope, key=filters["period"])
        if resolved is None or filters["group"] is None:
            return Served(("Geen incidenten beschikbaar.", EMPTY_POINTS, False), rows=0)
        key, period = resolved
        data = q.incident_points(con, scope=scope, within=state["within"],
                                 parent=state["parent"], period=period, group=filters["group"],
                                 limit=POINT_LIMIT)
        shown = len(data["features"])
        if data["capped"]:
            message = (f"Alleen de nieuwste {view.number(shown)} van "
                       f"{view.number(data['total'])} incidenten getoond.")
        else:
            message = f"{view.number(shown)} incidenten op de kaart."
        return Served((message, data, False), rows=shown,
                      filters={"niveau": state["level"], "gebied": state["area"],
                               "type": filters["group"], "periode": key, "punten": True})


    @data_callback(app, "kaart/naar-incidenten", [
        Output("kaart-selectie", "children"),
        Output("kaart-naar", "href"),
    ], [Input("kaart-geo", "clickData")], [State("kaart-area", "data"),
                                           State("kaart-filters", "data")],
        prevent_initial_call=True)
    def to_incidents(scope, click, area_state, filter_state):
        """A click on an area of the lowest level (buurt, PC6) opens its incidents, for users
        who may see incident lists; the other levels drill down (see ``navigate``)."""
        area_state = _stored(area_state) or {}
        feature = click.get("feature", click) if isinstance(click, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        code = props.get("code") if isinstance(props, dict) else None
        if area_state.get("level") in DRILL or not isinstance(code, str) or scope.detail < 2:
            return Served(("", dash.no_update), rows=0)  # detail 1: no incident lists at all
        con = get_db()
        q.area(con, scope=scope, code=code)  # OutOfScope for a code outside the scope
        result = _values(con, scope, area_state, filter_state)
        if result is None:
            return Served(("", dash.no_update), rows=0)
        _state, filters, _key, period, _frame, _title = result
        return Served(("", incidents_href(code, filters, period)), rows=0,
                      filters={"gebied": code})


#: Most incident points sent to the browser at once (newest first).
POINT_LIMIT = 5000
EMPTY_POINTS = {"type": "FeatureCollection", "features": []}


def incidents_href(code: str, filters: dict, period) -> str:
    """The Incidenten page for one area with the map's bundle and period."""
    last_day = period.end - timedelta(days=1)
    return "/incidenten" + incidenten_view.query_string(
        {"area": [code], "type": [filters["group"]], "from": period.start.isoformat(),
         "to": last_day.isoformat()})


def _total(con, scope, state, filters, period, frame) -> tuple[str, str]:
    """The figure the panel shows above the table: the parent area's count."""
    hidden = mark(scope)
    eenheid = state.get("eenheid")
    if state["level"] in ("gemeente", "eenheid"):
        label = f"Totaal {eenheid['name']}" if eenheid else "Totaal uw gebied"
        return label, view.number(frame["count"].sum())
    if state["parent_info"] is not None or state["level"] in ("wijk", "pc4"):
        name = (state["parent_info"] or state["gemeente"])["name"]
        value = frame["parent_total"].iloc[0] if len(frame) else None
        return f"Totaal {name}", hidden if dash_na(value) and len(frame) else view.number(value)
    total = q.gemeente_total(con, scope=scope, period=period, group=filters["group"],
                             within=state["within"], eenheid=_eenheid_code(state))
    name = (state["gemeente"] or eenheid or {}).get("name")
    return (f"Totaal {name}" if name else "Totaal uw gebied", view.number(total))


def page(_search=None):
    """The map page with its choices; the view itself comes from the URL via the callbacks."""
    con, scope = get_db(), current_scope()
    periods = [(key, period_label(key, period))
               for key, period in q.period_options(con, scope=scope)]
    return view.kaart(q.bundle_options(con, scope=scope), periods,
                      flask.current_app.config["VB_SETTINGS"].tile_url,
                      points=not scope.empty and scope.detail >= 3,
                      levels=offered_levels(scope))


def validation_page():
    return view.kaart([], [], "", points=True, levels=list(q.VIEW_LEVELS))
