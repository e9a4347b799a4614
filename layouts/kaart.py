"""The Kaart page: a choropleth of one area level with controls, breadcrumb, legend and a side
panel. Structure and presentation only: the callbacks in ``callbacks/kaart.py`` fill it."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import dcc, html

from layouts.controls import dropdown
from layouts import format as fmt

LEVEL_LABELS = {"eenheid": "Regionale eenheden", "gemeente": "Gemeenten", "wijk": "Wijken", "buurt": "Buurten",
                "pc4": "Postcode (PC4)", "pc6": "Postcode (PC6)"}
MEASURE_LABELS = {"count": "Aantal", "per_1000": "Per 1.000 inwoners",
                  "change": "Verandering t.o.v. vorig jaar"}
#: Colour-blind-safe ColorBrewer palettes: sequential YlGnBu, diverging RdBu (blue = fewer).
SEQUENTIAL = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
DIVERGING = ("#0571b0", "#92c5de", "#f7f7f7", "#f4a582", "#ca0020")
UNKNOWN_COLOR = "#d9d9d9"
#: Rough centre of the Netherlands; the GeoJSON layer zooms to its data once it is loaded.
CENTER, ZOOM = (52.2, 5.3), 7


def query_string(state: dict) -> str:
    """``?niveau=..&gebied=..&type=..&periode=..&maat=..&markeer=..`` for a view state (empty
    keys left out)."""
    keys = (("niveau", "level"), ("gebied", "area"), ("type", "group"), ("periode", "period"),
            ("maat", "measure"), ("markeer", "highlight"))
    pairs = [(name, state[key]) for name, key in keys if state.get(key)]
    return "?" + urlencode(pairs) if pairs else ""


#: Levels at which the incident point layer can be switched on.
POINT_LEVELS = ("buurt", "pc6")


def kaart(bundles: list[tuple[str, str]], periods: list[tuple[str, str]], tile_url: str,
          points: bool = False, levels: list[str] | None = None, start: dict | None = None):
    """The page. ``bundles`` and ``periods`` are (value, label) choices; the TileLayer is only
    added when ``tile_url`` is set — without it gemeente outlines keep the map readable.
    ``points`` (detail level 3 only) adds the "Incidenten tonen" switch and the clustered
    incident layer; for everyone else neither exists on the page. ``levels`` are the levels
    offered in the Niveau choice (default: all but the regionale eenheid); ``start`` the level
    and measure the choices show before navigation fills them (callbacks/kaart_state.home)."""
    start = start or {}
    levels = levels or [k for k in LEVEL_LABELS if k != "eenheid"]
    layers = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, id="kaart-tiles"))
    layers += [
        # Gemeente outlines above the choropleth, in a pane that ignores the mouse.
        # Both layers load their shapes from a link (``url``) that navigation sets: see
        # callbacks/kaart.py, geometry_response.
        dl.Pane(dl.GeoJSON(id="kaart-outline", interactive=False,
                           style={"color": "#343a40", "weight": 2, "fill": False,
                                  "opacity": 0.9}),
                name="outline", style={"zIndex": 450, "pointerEvents": "none"}),
        # Leaflet's scale bar, metric only (m / km read the same in Dutch).
        dl.ScaleControl(position="bottomleft", imperial=False, metric=True, maxWidth=150),
        dl.GeoJSON(id="kaart-geo", zoomToBounds=True, hideout={},
                   style={"variable": "vb.choroplethStyle"},
                   hoverStyle={"variable": "vb.hoverStyle"},
                   onEachFeature={"variable": "vb.bindTooltip"}),
    ]
    if points:
        # Incidents as clustered markers (marker pane, above areas and outlines); filled by
        # the 'kaart/punten' callback, styled and given popups by assets/choropleth.js.
        layers.append(dl.GeoJSON(id="kaart-punten-geo", data=None, cluster=True,
                                 zoomToBoundsOnClick=True,
                                 superClusterOptions={"radius": 50, "maxZoom": 17},
                                 pointToLayer={"variable": "vb.incidentMarker"},
                                 onEachFeature={"variable": "vb.bindIncidentPopup"}))
    if points:
        # Near-repeat zones (detail level 3 only), filled by 'kaart/near-repeat-laag'.
        layers.append(dl.GeoJSON(id="kaart-nr-geo", data=None,
                                 pointToLayer={"variable": "vb.nearRepeatZone"},
                                 onEachFeature={"variable": "vb.bindNearRepeatPopup"}))
    controls = dbc.Row([
        dbc.Col([dbc.Label("Niveau", html_for="kaart-niveau", className="small mb-0"),
                 dropdown(id="kaart-niveau", clearable=False,
                          value=start.get("level", "gemeente"),
                              options=[{"label": LEVEL_LABELS[k], "value": k} for k in levels])],
                md=3, sm=6),
        dbc.Col([dbc.Label("Soort", html_for="kaart-type", className="small mb-0"),
                 dropdown(id="kaart-type", clearable=False,
                              value=bundles[0][0] if bundles else None,
                              options=[{"label": t, "value": c} for c, t in bundles])],
                md=3, sm=6),
        dbc.Col([dbc.Label("Periode", html_for="kaart-periode", className="small mb-0"),
                 dropdown(id="kaart-periode", clearable=False,
                              value=periods[0][0] if periods else None,
                              options=[{"label": t, "value": c} for c, t in periods])],
                md=3, sm=6),
        dbc.Col([dbc.Label("Maat", html_for="kaart-maat", className="small mb-0"),
                 dropdown(id="kaart-maat", clearable=False,
                          value=start.get("measure", "count"),
                              options=[{"label": v, "value": k}
                                       for k, v in MEASURE_LABELS.items()])],
                md=3, sm=6),
        dbc.Col(search_box(points), md=6, lg=4),
        dbc.Col([
            dbc.Switch(id="kaart-punten", label="Incidenten tonen", value=False, disabled=True,
                       className="mb-0"),
            dbc.Switch(id="kaart-nr", label="Near-repeat risico", value=False, className="mb-0"),
            html.Div(id="kaart-nr-message", className="small text-body-secondary",
                     role="status"),
            html.Div(id="kaart-punten-message", className="small text-body-secondary",
                     role="status"),
        ], md=6, lg=8, className="d-flex flex-wrap align-items-end gap-3", id="kaart-punten-col")
        if points else None,
    ], className="g-2 mb-2", id="kaart-controls")
    return html.Div([
        dcc.Location(id="kaart-url", refresh=False),
        dcc.Store(id="kaart-area"),
        dcc.Store(id="kaart-filters"),
        # Values, classes, colours and tooltips of the drawn areas (see assets/choropleth.js).
        dcc.Store(id="kaart-values"),
        dcc.Store(id="kaart-values-applied"),
        # The area the search led to (``?markeer=``): outlined and zoomed to in the browser.
        dcc.Store(id="kaart-markeer"),
        dcc.Store(id="kaart-markeer-applied"),
        html.Div([
            html.H1("Kaart", className="h3 mb-0"),
            html.Div(id="kaart-subtitle", className="text-body-secondary"),
        ], className="mb-2"),
        controls,
        html.Div(id="kaart-message"),
        dcc.Location(id="kaart-naar", refresh="callback-nav"),
        html.Div(id="kaart-selectie"),
        html.Nav(id="kaart-breadcrumb", className="kaart-breadcrumb mb-2",
                 **{"aria-label": "Kruimelpad"}),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.Div([
                    dl.Map(layers, id="kaart-map", center=CENTER, zoom=ZOOM, zoomSnap=0.25,
                           attributionControl=False, className="kaart-map"),
                    html.Div([html.Span("© CBS", id="kaart-attribution"),
                              html.Span(tile_credit(tile_url))], className="kaart-attribution"),
                ], className="kaart-map-wrap"),
                html.Div(id="kaart-legend", className="kaart-legend mt-2"),
                # Filled by assets/choropleth.js when a large layer is drawn on canvas
                # (its areas are then no tab stops): how to open one by keyboard.
                html.Div(id="kaart-canvas-note", className="small text-body-secondary",
                         role="status"),
            ], className="p-2")), lg=7, xxl=8, className="mb-3", id="kaart-map-col"),
            dbc.Col(dbc.Card(dbc.CardBody([
                dcc.Loading(html.Div(id="kaart-panel"), type="dot"),
                html.Div([
                    dbc.Button("Download CSV", id="kaart-csv", color="secondary", size="sm",
                               outline=True, className="mt-2"),
                    html.Div(id="kaart-csv-message"),
                    dcc.Download(id="kaart-download"),
                ]),
            ])), lg=5, xxl=4, className="mb-3", id="kaart-panel-col"),
        ]),
        near_repeat_card(),
    ], className="kaart-page")


def near_repeat_card():
    """The near-repeat section under the map: per wijk (detail 1–2) or the address list of the
    flagged zones (detail 3), filled by 'kaart/near-repeat'."""
    return dbc.Card(dbc.CardBody([
        html.H2("Near-repeat risico woninginbraak", className="h5"),
        html.P("Na een woninginbraak is het risico voor woningen in de buurt enkele weken "
               "verhoogd (near-repeat). De afstand en periode staan in het afsprakenprofiel.",
               className="small text-body-secondary mb-2"),
        dcc.Loading(html.Div(id="kaart-nr-inhoud"), type="dot"),
    ]), className="mb-3", id="kaart-nr-card")


def near_repeat_wijken(title: str, note: str, header: list[str], rows: list[list[str]]):
    """Per wijk: the count of burglaries behind a raised risk (or the released month count)."""
    return html.Div([
        html.P(title, className="mb-1 fw-semibold", id="kaart-nr-titel"),
        html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in header])),
                    html.Tbody([html.Tr([html.Td(rows[i][0]),
                                         html.Td(rows[i][1], className="text-end")])
                                for i in range(len(rows))])],
                   className="table table-sm mb-1", id="kaart-nr-tabel"),
        html.P(note, className="small text-body-secondary mb-0"),
    ])


def near_repeat_list(title: str, note: str, rows: list[dict]):
    """Detail 3: the flagged zones, newest first (date, address, buurt, days left)."""
    header = ["Datum", "Adres", "Wijk", "Buurt", "Nog dagen verhoogd"]
    return html.Div([
        html.P(title, className="mb-1 fw-semibold", id="kaart-nr-titel"),
        html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in header])),
                    html.Tbody([html.Tr([html.Td(r["date"]), html.Td(r["address"]),
                                         html.Td(r["wijk"]), html.Td(r["buurt"]),
                                         html.Td(r["left"], className="text-end")])
                                for r in rows])],
                   className="table table-sm mb-1", id="kaart-nr-lijst"),
        html.P(note, className="small text-body-secondary mb-0"),
    ])


def search_box(detail3: bool):
    """The search field: a wijk, buurt or PC4 by name or code for everyone, a PC6 or an address
    at detail level 3 (``detail3``); the results are links to the area on the map, filled by
    the 'kaart/zoeken' callback. Enter opens the first result."""
    what = "wijk, buurt, postcode" + (" of adres" if detail3 else " (PC4)")
    return html.Div([
        dbc.Label("Zoek een gebied", html_for="kaart-zoek", className="small mb-0"),
        dbc.Input(id="kaart-zoek", type="search", placeholder=f"Naam of code: {what}",
                  debounce=400, autocomplete="off", maxlength=100),
        html.Div(id="kaart-zoek-resultaten", className="kaart-zoek-lijst", role="region",
                 **{"aria-live": "polite", "aria-label": "Zoekresultaten"}),
        dcc.Location(id="kaart-zoek-naar", refresh="callback-nav"),
    ], className="kaart-zoek")


#: How a search result is described under its name.
RESULT_KINDS = {"gemeente": "Gemeente", "wijk": "Wijk", "buurt": "Buurt", "pc4": "Postcode (PC4)",
                "pc6": "Postcode (PC6)", "adres": "Adres"}


def search_results(results: list[tuple[dict, str]], message: str = ""):
    """The result list: (result, link) pairs from the search, then ``message``."""
    items = []
    for result, href in results:
        where = [RESULT_KINDS[result["level"]], result.get("pc6") or result["code"]]
        if result.get("parent") and result["level"] == "buurt":
            where.append(f"wijk {result['parent']}")
        if result.get("gemeente") and result["level"] != "gemeente":
            where.append(result["gemeente"])
        items.append(dcc.Link([html.Span(result["name"], className="fw-semibold"),
                               html.Span(" · ".join(where),
                                         className="d-block small text-body-secondary")],
                              href=href, className="list-group-item list-group-item-action py-1"))
    out = [html.Div(items, className="list-group shadow-sm")] if items else []
    if message:
        out.append(html.Div(message, className="small text-body-secondary bg-body px-2 py-1"))
    return out


def tile_credit(tile_url: str) -> str:
    """Credit for the base map, shown in the map's own attribution line (Leaflet's attribution
    control is off so that the boundary credit can change with the level)."""
    if not tile_url:
        return ""
    if "pdok" in tile_url.lower():
        return " · © Kadaster (BRT-Achtergrondkaart)"
    from urllib.parse import urlparse
    return f" · achtergrond: {urlparse(tile_url).hostname or 'kaartlagen'}"


def breadcrumb(crumbs: list[tuple[str, str | None]]):
    """(label, href) pairs; the last one is the current view and is not a link."""
    items = []
    for i, (label, href) in enumerate(crumbs):
        if i:
            items.append(html.Span("›", className="mx-1 text-body-secondary", **{"aria-hidden": "true"}))
        last = i == len(crumbs) - 1
        items.append(html.Span(label, className="fw-semibold", **{"aria-current": "page"})
                     if last or href is None
                     else dcc.Link(label, href=href, className="kaart-crumb"))
    return items


def legend(title: str, classes: list[tuple[str, str]]):
    """Colour boxes with their ranges, then the unknown swatch."""
    entries = [html.Div([html.Span(className="kaart-swatch", style={"background": color}),
                         html.Span(label)], className="kaart-legend-item")
               for color, label in classes]
    entries.append(html.Div([html.Span(className="kaart-swatch",
                                       style={"background": UNKNOWN_COLOR,
                                              "borderStyle": "dashed"}),
                             html.Span("geen gegevens")], className="kaart-legend-item"))
    return [html.Div(title, className="small fw-semibold"),
            html.Div(entries, className="kaart-legend-items")]


def panel(title: str, total_label: str, total: str, header: list[str], rows: list[list[str]],
          codes: list[str], note: str = "", links: dict | None = None):
    """The side panel: parent total and every area, highest value first. ``links`` maps codes
    to the incident list of the area (for users who may see incidents)."""
    links = links or {}

    def first_cell(text, code):
        if code in links:
            return html.Td(dcc.Link(text, href=links[code], title="Incidenten in dit gebied",
                                    className="incidenten-link"), className="name")
        return html.Td(text, className="name")
    def kind(i):  # name, code, then figures (right-aligned, never broken)
        return "name" if i == 0 else "code" if i == 1 else "num"
    table = dbc.Table([
        html.Thead(html.Tr([html.Th(h, className=kind(i), scope="col")
                            for i, h in enumerate(header)])),
        html.Tbody([html.Tr([first_cell(row[0], code)]
                            + [html.Td(c, className=kind(i)) for i, c in enumerate(row[1:], 1)],
                            **{"data-code": code})
                    for row, code in zip(rows, codes)]),
    ], size="sm", striped=True, hover=True, className="kaart-table mb-0")
    return [
        html.H2(title, className="h5"),
        html.Div([html.Span(total_label + ": "), html.Strong(total, id="kaart-total")],
                 className="mb-2"),
        html.Div(table, className="kaart-table-wrap"),
        html.Div(note, className="small text-body-secondary mt-1") if note else None,
    ]


def number(value, places: int = 0) -> str:
    """Dutch number, '–' for missing values (None, NaN, <NA>)."""
    import pandas as pd
    if value is None or pd.isna(value):
        return "–"
    return fmt.integer(value) if places == 0 else fmt.decimal(value, places)
