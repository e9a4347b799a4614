"""The Incidenten page: filter bar, row count, export links and the incident grid.

The grid uses AG Grid's infinite row model: the browser holds only the pages it shows and asks
the server for rows through ``getRowsRequest`` (see callbacks/incidenten.py). Filters live in
the bar above the grid and in the URL, so a filtered list can be shared and the map can link
to it; sorting is done by clicking column headers.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.export import XLSX_ROW_LIMIT
from layouts.controls import data_grid, date_input, dropdown

#: URL keys (Dutch, as on the other pages) -> filter parameter names of the query layer.
URL_KEYS = {"van": "from", "tot": "to", "type": "type", "gebied": "area", "poging": "attempt",
            "hic": "high_impact", "zoek": "q"}
ATTEMPT_CHOICES = [{"label": "Alle", "value": ""}, {"label": "Voltooid", "value": "nee"},
                   {"label": "Poging", "value": "ja"}]
PAGE_SIZE = 100

def query_string(params: dict) -> str:
    """``?van=...`` for the filter parameters (query-layer names) that are set."""
    reverse = {v: k for k, v in URL_KEYS.items()}
    pairs = [(reverse[k], ",".join(v) if isinstance(v, (list, tuple)) else v)
             for k, v in params.items() if k in reverse and v not in (None, "", [], ())]
    return "?" + urlencode(pairs) if pairs else ""


def column_defs(columns) -> list[dict]:
    defs = []
    for c in columns:
        d = {"field": c.key, "headerName": c.title, "sortable": c.sort is not None,
             "filter": False, "resizable": True}
        if c.key == "pleegdatum":
            d["sort"] = "desc"
        if c.kind == "datetime":
            d["width"] = 150
        elif c.kind == "bool":
            d["width"] = 110
        elif c.key in ("mo", "samenvatting"):
            d["width"] = 320
            d["tooltipField"] = c.key
        defs.append(d)
    return defs


def _choice(ident: str, label: str, placeholder: str, options, value):
    """A labelled multi-select of (code, label) options."""
    return dbc.Col([
        dbc.Label(label, html_for=ident),
        dropdown(id=ident, multi=True, placeholder=placeholder, value=list(value or []),
                 options=[{"label": text, "value": code} for code, text in options]),
    ], md=3)


def filter_error(message: str):
    return dbc.Alert(message, color="warning", className="py-2 mb-2 filter-error")


def no_access(reason: str):
    return html.Div([
        html.H1("Incidenten", className="h3"),
        dbc.Alert(reason, color="secondary", className="mt-3", id="incidenten-geen-toegang"),
    ])


def incidenten(*, columns, types, areas, params: dict, key: str, text_search: bool):
    """The page. ``params`` are the filter parameters from the URL (query-layer names);
    ``key`` identifies this filter state, so a row count can be matched to its filter."""
    controls = dbc.Row([
        dbc.Col([
            dbc.Label("Pleegdatum van – tot en met", html_for="incidenten-van"),
            html.Div([
                date_input(id="incidenten-van", date=params.get("from")),
                html.Span("–", **{"aria-hidden": "true"}),
                date_input(id="incidenten-tot", date=params.get("to")),
            ], className="d-flex align-items-center gap-1 vb-date-range"),
            dbc.Label("Pleegdatum tot en met", html_for="incidenten-tot",
                      className="visually-hidden"),
        ], md=3),
        _choice("incidenten-type", "Soort of bundel", "Alle soorten", types, params.get("type")),
        _choice("incidenten-gebied", "Gebied", "Heel uw gebied", areas, params.get("area")),
        dbc.Col([
            dbc.Label("Zoek in samenvatting en MO", html_for="incidenten-zoek"),
            dbc.Input(id="incidenten-zoek", type="search", debounce=True,
                      value=params.get("q") or "", disabled=not text_search,
                      placeholder="bijv. fiets" if text_search
                      else "alleen op detailniveau 3"),
        ], md=3),
    ], className="g-2 mb-2")
    flags = dbc.Row([
        dbc.Col(dbc.RadioItems(id="incidenten-poging", options=ATTEMPT_CHOICES, inline=True,
                               value=params.get("attempt") or ""), width="auto"),
        dbc.Col(dbc.Checklist(id="incidenten-hic", inline=True,
                              options=[{"label": "Alleen high impact", "value": "ja"}],
                              value=["ja"] if params.get("high_impact") == "ja" else []),
                width="auto"),
        dbc.Col(html.Div(id="incidenten-count", className="fw-semibold",
                         **{"aria-live": "polite"}), className="ms-auto text-end"),
    ], className="g-3 align-items-center mb-2")
    exports = html.Div([
        html.Span("Exporteren:", className="me-2 text-body-secondary"),
        html.A("CSV (;)", id="incidenten-export-csv", href="#",
               className="incidenten-export btn btn-sm btn-outline-primary me-2"),
        html.A("CSV (,)", id="incidenten-export-csv-komma", href="#",
               className="incidenten-export btn btn-sm btn-outline-primary me-2"),
        html.A("Excel (XLSX)", id="incidenten-export-xlsx", href="#",
               className="incidenten-export btn btn-sm btn-outline-primary me-3",
               title=f"Excel tot {XLSX_ROW_LIMIT:,} rijen; gebruik CSV voor grotere selecties"
               .replace(",", ".")),
        html.Span(id="incidenten-export-status", className="small text-body-secondary",
                  **{"aria-live": "polite"}),
    ], className="mb-2 d-flex align-items-center flex-wrap")
    grid = data_grid(
        id="incidenten-grid", no_rows="Geen incidenten", rowModelType="infinite", columnDefs=column_defs(columns),
        defaultColDef={"resizable": True, "filter": False, "minWidth": 90,
                       "sortingOrder": ["asc", "desc"]},
        dashGridOptions={"pagination": True, "paginationPageSize": PAGE_SIZE,
                         "paginationPageSizeSelector": False, "cacheBlockSize": PAGE_SIZE,
                         "maxBlocksInCache": 20, "infiniteInitialRowCount": 1,
                         "tooltipShowDelay": 300,
                         "enableCellTextSelection": True, "suppressColumnVirtualisation": True},
        getRowId="params.data.id", style={"height": "640px", "width": "100%"},
        className="ag-theme-quartz incidenten-grid")
    return html.Div([
        dcc.Location(id="incidenten-url", refresh=False),
        dcc.Store(id="incidenten-filter", data={**params, "key": key}),
        dcc.Store(id="incidenten-purged"),
        dcc.Store(id="incidenten-total"),
        dcc.Store(id="incidenten-counted"),
        html.Div([
            html.H1("Incidenten", className="h3 mb-0"),
            html.Div("Geregistreerde incidenten in uw gebied, nieuwste eerst. Klik op een "
                     "kolomkop om te sorteren.", className="text-body-secondary"),
        ], className="mb-3"),
        controls, flags, exports,
        html.Div(id="incidenten-status"),
        grid,
    ])
