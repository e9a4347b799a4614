"""The Kaart page: navigation state, geometry, values and the CSV export.

Data callbacks, each scoped and logged by ``data_callback``:

* ``kaart/navigatie`` turns the URL (``?niveau=&gebied=&type=&periode=&maat=``), the controls
  and clicks on the map into a view state, and writes it back to the URL so that a link
  reproduces the view. The area is checked against the scope of whoever opens the link.
* ``kaart/geometrie`` is not a callback but a plain GET (``geometry_response``): navigation
  gives the map layers a link, and dash-leaflet fetches the shapes itself, only when the level
  or area changes, straight from DuckDB's JSON (and from the browser cache the next time);
* ``kaart/waarden`` sends the values into the ``kaart-values`` store (a clientside callback
  restyles the drawn areas with them, ``assets/choropleth.js``), the legend and the side panel;
* ``kaart/export`` the CSV of exactly what the panel shows;
* ``kaart/punten`` the incident points (detail level 3 only; the switch and the layer are only
  on the page for such users, and the query refuses any other scope before touching data).

The stores in the browser only carry the user's choices: every callback re-checks them.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import dash
import flask
from dash import Input, Output, State, ctx

from callbacks.guard import Served, data_callback
from callbacks.kaart_state import (checked_highlight, choices, crumbs, drill, eenheid_code,
                                   home, is_source, offered_levels, parse_search, period_label,
                                   pick_filters, resolve, search_target, selection_title,
                                   stored, with_home)
from callbacks.kaart_values import (PANEL_ROWS, csv_text, current_values, hideout,
                                    incidents_href, panel_total, table)
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import protocol
from data.export import neutralise
from data.queries import coverage
from data.queries import map as q
from data.scope import OutOfScope, ensure_detail
from data import disclosure
from layouts import kaart as view


# -- view state ---------------------------------------------------------------------------------















# -- values -> hideout, legend, table -------------------------------------------------------------



























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
        Output("kaart-geo", "url"),
        Output("kaart-outline", "url"),
        Output("kaart-attribution", "children"),
        Output("kaart-markeer", "data"),
    ], [Input("kaart-url", "search"), Input("kaart-niveau", "value"),
        Input("kaart-type", "value"), Input("kaart-periode", "value"),
        Input("kaart-maat", "value"), Input("kaart-geo", "clickData")],
        [State("kaart-area", "data"), State("kaart-filters", "data"),
         State("kaart-geo", "url"), State("kaart-outline", "url"),
         State("kaart-markeer", "data")])
    def navigate(scope, search, level, group, period, measure, click, area_state, filter_state,
                 geo_url, outline_url, highlight):
        con = get_db()
        if scope.empty:
            raise OutOfScope("empty scope")
        trigger = ctx.triggered_id
        current = stored(area_state) or {}
        if trigger in (None, "kaart-url"):
            raw = with_home(parse_search(search), scope)
        else:
            raw = {"level": level, "area": current.get("area"), "group": group,
                   "period": period, "measure": measure}
            if trigger == "kaart-geo":
                feature = click.get("feature", click) if isinstance(click, dict) else None
                props = feature.get("properties") if isinstance(feature, dict) else None
                code = props.get("code") if isinstance(props, dict) else None
                old_level = current.get("level")
                if not isinstance(code, str) or drill(scope, old_level) is None:
                    return Served((dash.no_update,) * 13, rows=0)
                raw.update(level=drill(scope, old_level), area=code)
            # Another measure, type or period keeps the highlighted area; a new view drops it.
            same = raw["level"] == current.get("level") and trigger != "kaart-geo"
            raw["highlight"] = highlight if same else None
        state = resolve(con, scope, raw.get("level"), raw.get("area"))
        bundles, periods = choices(con, scope)
        filters = pick_filters(raw, bundles, periods)
        new_area = {"level": state["level"], "area": state["area"]}
        marked = checked_highlight(con, scope, state, raw.get("highlight"))
        search_out = view.query_string({**filters, **new_area, "highlight": marked})
        version = flask.current_app.config["VB_STORE"].meta().get("data_version", "")

        def changed(new, old):
            return new if new != old else dash.no_update
        return Served((
            "", changed(search_out, search if isinstance(search, str) else None),
            changed(state["level"], level), changed(filters["group"], group),
            changed(filters["period"], period), changed(filters["measure"], measure),
            changed(new_area, stored(area_state)), changed(filters, stored(filter_state)),
            crumbs(con, state, filters, scope),
            changed(geometry_url(scope, version, state["level"], state["area"]), geo_url),
            changed(geometry_url(scope, version, "gemeente", None), outline_url),
            "© CBS, © ESRI Nederland" if state["level"] == "pc4" else "© CBS",
            changed(marked, highlight),
        ), rows=0, filters={**new_area, **filters, **({"markeer": marked} if marked else {})})

    # The highlighted area: outlined, and the map zoomed to it once it is drawn.
    app.clientside_callback("function (code) { return window.vb.setHighlight(code); }",
                            Output("kaart-markeer-applied", "data"),
                            Input("kaart-markeer", "data"), prevent_initial_call=True)

    @data_callback(app, "kaart/zoeken", [
        Output("kaart-zoek-resultaten", "children"),
        Output("kaart-zoek-naar", "href"),
    ], [Input("kaart-zoek", "value"), Input("kaart-zoek", "n_submit")],
        [State("kaart-filters", "data")], prevent_initial_call=True)
    def search_areas(scope, text, _submitted, filter_state):
        """Areas (and at detail level 3 addresses) in scope matching the search text, as
        links that open the area on the map; Enter opens the first. Everything is scoped by
        the queries (data.queries.map search_areas, search_addresses)."""
        text = q.search_text(text)
        if len(text) < 2:
            return Served(([], dash.no_update), rows=0, filters={"zoekterm": text})
        con = get_db()
        found = q.search_areas(con, scope=scope, text=text)
        if scope.detail >= 3:
            found += q.search_addresses(con, scope=scope, text=text)
        filters = {k: v for k, v in (stored(filter_state) or {}).items()
                   if k in ("group", "period", "measure")}

        def link(result):
            target = search_target(result)
            measure = filters.get("measure")
            if measure == "per_1000" and target["level"] in ("pc4", "pc6"):
                measure = "count"  # no inhabitants per postcode: a rate would be all grey
            return "/kaart" + view.query_string({**filters, "measure": measure, **target})
        links = [(result, link(result)) for result in found]
        message = ""
        if scope.detail < 3 and q.needs_detail_3(text):
            message = ("Postcodes met letters (PC6) en adressen zoekt u alleen met "
                       "detailniveau 3; u vindt hier wijken, buurten en PC4.")
        elif not found:
            message = "Geen gebied gevonden in uw gebied."  # (the text is not echoed)
        submitted = "kaart-zoek.n_submit" in ctx.triggered_prop_ids
        go = links[0][1] if submitted and links else dash.no_update
        return Served((view.search_results(links, message), go), rows=len(found),
                      filters={"zoekterm": text})

    # A chosen result (a new URL) closes the list; typing opens it again.
    app.clientside_callback(
        """function (search, text) {
            var t = (window.dash_clientside.callback_context.triggered || [])[0];
            return !!(t && t.prop_id === "kaart-url.search");
        }""",
        Output("kaart-zoek-resultaten", "hidden"),
        Input("kaart-url", "search"), Input("kaart-zoek", "value"), prevent_initial_call=True)

    app.server.add_url_rule(GEOMETRY_PATH, "kaart_geometrie", geometry_response)

    @data_callback(app, "kaart/waarden", [
        Output("kaart-panel", "children"),
        Output("kaart-values", "data"),
        Output("kaart-legend", "children"),
        Output("kaart-subtitle", "children"),
    ], [Input("kaart-area", "data"), Input("kaart-filters", "data")],
        prevent_initial_call=True)
    def values(scope, area_state, filter_state):
        con = get_db()
        result = current_values(con, scope, area_state, filter_state)
        if result is None:
            return Served(("Geen gegevens beschikbaar voor uw gebied.", {}, [], ""), rows=0)
        state, filters, key, period, frame, title = result
        measure = filters["measure"]
        header, rows, codes = table(frame, measure, scope, limit=PANEL_ROWS)
        hide = hideout(frame, measure, scope)
        total_label, total = panel_total(con, scope, state, filters, period, frame)
        note = ""
        if measure == "change" and frame["change_pct"].isna().all():
            note = "Geen vergelijking mogelijk: er zijn geen gegevens over dezelfde periode een jaar eerder."
        elif measure == "per_1000" and frame["population"].isna().all():
            note = "Geen inwonertallen bekend voor dit niveau: geen cijfers per 1.000 inwoners."
        sources = sorted({s for s in frame["source"].dropna()})
        reasons = sorted({r for r in frame["reason"].dropna()})
        if sources and sources != [coverage.source_title(coverage.INCIDENTS)]:
            note = " ".join(filter(None, [f"Bron: {', '.join(sources)}.", note]))
        if reasons:  # no source covers these areas for the period: never a 0
            note = " ".join(filter(None, [
                f"“Geen gegevens” ({view.number(int(frame['count'].isna().sum()))} "
                f"gebieden): {'; '.join(reasons)}.", note]))
        late = int(frame["provisional"].fillna(False).astype(bool).sum())
        if late:
            note = " ".join(filter(None, [
                f"Voorlopig ({view.number(late)} {'gebied' if late == 1 else 'gebieden'}): late"
                " registraties of voorlopige bronscijfers kunnen nog wijzigen.", note]))
        undrawn = q.shapeless(con, scope=scope, level=state["level"],
                              codes=frame["code"].tolist())
        if undrawn:
            what = ("1 gebied staat" if len(undrawn) == 1
                    else f"{view.number(len(undrawn))} gebieden staan")
            note = " ".join(filter(None, [
                f"{what} niet op de kaart: er is geen grens van de indeling"
                " (wel in de tabel en de CSV).", note]))
        own_source = is_source(filters["group"])  # a gemeente source: no police release rules
        if disclosure.restricted(scope, state["level"]) and not own_source:
            note = " ".join(filter(None, [disclosure.release(
                con, scope=scope, level=state["level"], indicator=filters["group"]).note(),
                disclosure.LIST_NOTE, note]))
        if len(frame) > len(rows):
            note = " ".join(filter(None, [
                f"De {view.number(len(rows))} hoogste van {view.number(len(frame))} gebieden;"
                " de CSV bevat ze allemaal.", note]))
        links = ({code: incidents_href(code, filters, period) for code in codes}
                 if scope.detail >= 2 and not own_source else None)
        panel = view.panel(selection_title(state), total_label, total, header, rows, codes, note,
                           links)
        legend = view.legend(f"{title} · {view.MEASURE_LABELS[measure]}",
                             [tuple(entry) for entry in hide["legend"]])
        subtitle = (f"{selection_title(state)} · {title} · {period_label(key, period)} · "
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
        result = current_values(con, scope, area_state, filter_state)
        if result is None:
            return Served(("Geen gegevens om te downloaden.", dash.no_update), rows=0)
        state, filters, key, period, frame, _title = result
        header, rows, _codes = table(frame, filters["measure"], scope)
        # Names and codes come from boundary files (a beheerder's import): neither may arrive
        # in a spreadsheet as a formula. The other cells are numbers as the panel writes them
        # (-5, +3,2 %) and stay so.
        rows = [[neutralise(row[0]), neutralise(row[1]), *row[2:]] for row in rows]
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
        area_state, filter_state = stored(area_state), stored(filter_state)
        if area_state is None or filter_state is None:
            return Served(("", EMPTY_COLLECTION, True), rows=0)
        state = resolve(con, scope, area_state.get("level"), area_state.get("area"))
        enabled = state["level"] in view.POINT_LEVELS and state["within"] is not None
        if not enabled or switched_on is not True:
            return Served((points_unavailable(state), EMPTY_COLLECTION, not enabled), rows=0,
                          filters={"niveau": state["level"], "gebied": state["area"],
                                   "punten": False})
        bundles, periods = choices(con, scope)
        filters = pick_filters(filter_state, bundles, periods)
        resolved = q.pick_period(periods, filters["period"])
        if resolved is None or filters["group"] is None or is_source(filters["group"]):
            return Served(("Geen incidenten beschikbaar.", EMPTY_COLLECTION, False), rows=0)
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
        """A click on an area of the lowest level offered (buurt; PC6, or PC4 below detail
        level 3) opens its incidents, for users who may see incident lists; the other levels
        drill down (see ``navigate``)."""
        area_state = stored(area_state) or {}
        feature = click.get("feature", click) if isinstance(click, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        code = props.get("code") if isinstance(props, dict) else None
        if (drill(scope, area_state.get("level")) is not None or not isinstance(code, str)
                or scope.detail < 2):
            return Served(("", dash.no_update), rows=0)  # detail 1: no incident lists at all
        con = get_db()
        q.area(con, scope=scope, code=code)  # OutOfScope for a code outside the scope
        result = current_values(con, scope, area_state, filter_state)
        if result is None:
            return Served(("", dash.no_update), rows=0)
        _state, filters, _key, period, _frame, _title = result
        if is_source(filters["group"]):  # a gemeente source has no incidents
            return Served(("", dash.no_update), rows=0)
        return Served(("", incidents_href(code, filters, period)), rows=0,
                      filters={"gebied": code})


#: Where the map layers load their shapes from (dash-leaflet ``GeoJSON(url=...)``).
GEOMETRY_PATH = "/kaart/geometrie.json"


def geometry_url(scope, version: str, level: str, area: str | None) -> str:
    """The shapes of one (checked) level and area for ``scope``. The link names the scope's
    fingerprint and the data version, so the browser may cache it: another user (another
    scope) or new data gets another link, and the server refuses a link of another scope."""
    return GEOMETRY_PATH + "?" + urlencode(
        [(k, v) for k, v in (("niveau", level), ("gebied", area), ("s", scope.fingerprint()),
                             ("v", version)) if v])


def geometry_response():
    """``GET /kaart/geometrie.json?niveau=&gebied=&s=&v=``: the GeoJSON of the areas of one
    level in the logged-in user's scope, passed on as DuckDB built it (never parsed in
    Python: at 13,000 buurten parsing and re-encoding took 0.4 s of the 0.46 s). One protocol
    row per response. The level and area are checked exactly as the page checks them; a link
    made for another scope is refused (403, an empty collection so the map stays empty)."""
    scope, args = current_scope(), flask.request.args
    entry = dict(user=current_user(), scope=scope, view="kaart/geometrie",
                 client=flask.request.remote_addr)
    filters = {"niveau": args.get("niveau"), "gebied": args.get("gebied")}
    con = get_db()
    try:
        if scope.empty or args.get("s") != scope.fingerprint():
            raise OutOfScope("geometry link made for another scope")
        state = resolve(con, scope, args.get("niveau"), args.get("gebied") or None)
        text, features = q.geometry_features(
            con, scope=scope, level=state["level"], within=state["within"],
            parent=state["parent"], eenheid=eenheid_code(state))
    except OutOfScope as exc:
        protocol.record(get_state(), **entry, filters=filters, rows=0, outcome="refused",
                        detail=exc.detail)
        return flask.Response(json.dumps({**EMPTY_COLLECTION, "error": "Buiten uw gebied."}),
                              status=403, mimetype="application/geo+json")
    protocol.record(get_state(), **entry, filters={"niveau": state["level"],
                                                   "gebied": state["area"]}, rows=features)
    response = flask.Response(text, mimetype="application/geo+json")
    # Same link, same shapes (scope and data version are in it): cache in this browser only.
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.cache_per_link = True  # no Vary: Cookie (dashboard/auth.py SessionInterface)
    return response


def points_unavailable(state) -> str:
    """Why the "Incidenten tonen" switch is off limits in this view ('' when it is not): the
    points come per buurt or PC6 level inside one gemeente (and only at detail level 3: for
    anyone else the switch is not on the page at all)."""
    if state["level"] not in view.POINT_LEVELS:
        return (f"Incidenten tonen kan op het niveau {view.LEVEL_LABELS['buurt']} of "
                f"{view.LEVEL_LABELS['pc6']}, niet op {view.LEVEL_LABELS[state['level']]}: "
                "klik op een wijk of kies het niveau.")
    if state["within"] is None:
        return "Incidenten tonen kan binnen één gemeente: klik op een gemeente of wijk."
    return ""


#: Most incident points sent to the browser at once (newest first).
POINT_LIMIT = 5000
EMPTY_COLLECTION = {"type": "FeatureCollection", "features": []}






def page(_search=None):
    """The map page with its choices; the view itself comes from the URL via the callbacks."""
    con, scope = get_db(), current_scope()
    bundles, options = choices(con, scope)  # police bundles, then the gemeente sources
    periods = [(key, period_label(key, period)) for key, period in options]
    return view.kaart(bundles, periods,
                      flask.current_app.config["VB_SETTINGS"].tile_url,
                      points=not scope.empty and scope.detail >= 3,
                      levels=offered_levels(scope), start=home(scope))


def validation_page():
    return view.kaart([], [], "", points=True, levels=list(q.VIEW_LEVELS))
