"""The integraal ondermijningsbeeld (``/ondermijning?gemeente=GM..``): key figures and a trend
per indicator, a buurt map, a wijk table, the incidents (detail 2 and up), the teamchef's
duiding and the gemeente's own signals. Builders take the dataclasses of
``data.queries.ondermijning``; no queries here. ``trend_figure`` is also the product's chart.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from layouts import format as fmt
from layouts.controls import data_grid, dropdown
from layouts.figures import (GRAPH_CONFIG, NO_DATA, STATIC_GRAPH_CONFIG, data_table,
                             message_figure, whole_number_axis)

TITLE = "Integraal ondermijningsbeeld"


def parse_search(search) -> str:
    """The gemeente of the URL ('' when none); checked against the scope by the callbacks."""
    if not isinstance(search, str):
        return ""
    values = parse_qs(search.lstrip("?")).get("gemeente") or [""]
    return values[0][:20]


def search_for(gemeente: str) -> str:
    return "?" + urlencode({"gemeente": gemeente})


def page(gemeenten: list[tuple[str, str]], gemeente: str, may_write: bool):
    """The page frame; ``may_write``: the teamchef's duiding form is shown."""
    # Everyone gets the same components; only a teamchef sees the form (the callback checks
    # the role again: a forged request from anyone else is refused and logged).
    duiding_form = html.Div([
        dbc.Label("Nieuwe duiding", html_for="ond-duiding-tekst"),
        dbc.Textarea(id="ond-duiding-tekst", rows=5, maxLength=5000,
                     placeholder="Wat betekenen deze cijfers, wat ziet de politie, wat wordt er "
                                 "gedaan?"),
        dbc.Button("Duiding opslaan", id="ond-duiding-opslaan", n_clicks=0, color="primary",
                   className="mt-2"),
    ], className="mt-3", hidden=not may_write)
    return html.Div([
        dcc.Location(id="ond-url", refresh=False),
        html.H1(TITLE, className="h3"),
        html.P("Drugs, mensenhandel, wapens, explosies en brandstichting, invallen, witwassen en "
               "drugslabs: wat de politieregistratie ervan laat zien, met de duiding van de "
               "teamchef.", className="text-body-secondary"),
        dbc.Row([dbc.Col([
            dbc.Label("Gemeente", html_for="ond-gemeente"),
            dropdown(id="ond-gemeente", options=[{"label": n, "value": c} for c, n in gemeenten],
                     value=gemeente, clearable=False),
        ], md=4)], className="mb-3"),
        html.Div(id="ond-status", className="mb-2"),
        dcc.Loading(html.Div(id="ond-kerncijfers"), type="dot"),
        dbc.Card(dbc.CardBody([
            html.H2("Duiding door de teamchef", className="h5"),
            html.Div(id="ond-duiding"),
            duiding_form,
            html.Div(id="ond-duiding-melding", className="mt-2"),
            dcc.Store(id="ond-duiding-signaal"),
        ]), className="mb-3"),
        html.H2("Trend per indicator (laatste 36 maanden)", className="h5"),
        html.Div(id="ond-trends", className="mb-3"),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H2("Kaart", className="h5"),
                html.Div(id="ond-kaart"),
            ])), xxl=5, className="mb-3"),
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H2("Per wijk", className="h5"),
                html.Div(id="ond-wijken"),
            ])), xxl=7, className="mb-3"),
        ]),
        dbc.Card(dbc.CardBody([
            html.H2("Incidenten", className="h5"),
            dcc.Loading(html.Div(id="ond-incidenten"), type="dot"),
        ]), className="mb-3"),
        dbc.Card(dbc.CardBody([
            html.H2("Signalen van de gemeente", className="h5"),
            html.Div(id="ond-signalen"),
        ]), className="mb-3"),
    ])


def refused(message):
    return html.Div([html.H1(TITLE, className="h3"), message])


def status(picture, name: str):
    if picture.start is None:
        return html.P(f"{name}: geen gegevens.")
    return html.P(f"{name}, laatste 12 volledige maanden "
                  f"({fmt.period(picture.start, picture.end)}) tegenover de 12 maanden ervoor.",
                  className="mb-0")


def cards(picture):
    """One card per indicator: the count, the change with its mark, what it measures, source."""
    out = []
    for f in picture.figures:
        ind = f.indicator
        if f.current is None:
            value = html.Div(NO_DATA, className="key-figure-value key-figure-none",
                             **{"data-indicator": ind.key, "data-value": ""})
            detail = html.Div(f.reason.replace(f"{NO_DATA}: ", "").capitalize() or NO_DATA,
                              className="small")
        else:
            pct = f.change.pct
            tone = ("text-body-secondary" if pct is None or not f.change.significant
                    else "text-danger" if pct > 0 else "text-success")
            previous = NO_DATA if f.previous is None else fmt.integer(f.previous)
            value = html.Div(fmt.integer(f.current), className="key-figure-value",
                             **{"data-indicator": ind.key, "data-value": str(f.current)})
            detail = html.Div([html.Span(fmt.percent_change(pct), className=tone),
                               html.Span(f" t.o.v. 12 maanden ervoor ({previous}); "
                                         f"{mark(f.change)}")],
                              className="key-figure-change small")
        codes = ", ".join(ind.codes) or "geen code"
        out.append(dbc.Card(dbc.CardBody([
            html.Div(ind.label, className="key-figure-title"), value, detail,
            html.Div(ind.measures, className="small text-body-secondary mt-1"),
            html.Div(f"Bron: {f.source or 'geen'} · codes: {codes}",
                     className="small text-body-secondary"),
        ]), className="key-figure ond-card", id=f"ond-card-{ind.key}"))
    return html.Div(out, className="key-figures")


def mark(change) -> str:
    if change.z is None:
        return "geen vergelijking mogelijk"
    return "significant" if change.significant else "binnen normale schommeling"


def trend_figure(figure) -> go.Figure:
    """The indicator's registrations per month (a gap where no source covers a month, never
    0); provisional months lighter."""
    if figure.current is None and all(c is None for c in figure.counts):
        return message_figure(f"{figure.indicator.label}: {figure.reason}")
    provisional = [figure.provisional_from is not None and m >= figure.provisional_from
                   for m in figure.months]
    fig = go.Figure()
    fig.add_bar(x=list(figure.months), y=list(figure.counts), name="Geregistreerd",
                marker=dict(color=[f"rgba(0,114,178,{0.4 if p else 1})" for p in provisional],
                            pattern_shape=["/" if p else "" for p in provisional]),
                customdata=[fmt.month(m) for m in figure.months],
                hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>")
    ticks = [m for m in figure.months if m.month in (1, 7)]
    fig.update_layout(margin=dict(l=40, r=8, t=8, b=36), separators=",.", plot_bgcolor="white",
                      showlegend=False,
                      xaxis=dict(showgrid=False, tickvals=ticks,
                                 ticktext=[f"{fmt.MONTHS[m.month - 1]}<br>{m.year}"
                                           for m in ticks]),
                      yaxis=dict(gridcolor="#e5e5e5"))
    return whole_number_axis(fig)


def trends(picture):
    charts = []
    for f in picture.figures:
        empty = f.current is None and all(c is None for c in f.counts)
        body = (html.P(f.reason[:1].upper() + f.reason[1:], className="text-body-secondary small")
                if empty else  # no empty chart: its text alternative would have no values
                dcc.Graph(figure=trend_figure(f), config=STATIC_GRAPH_CONFIG,
                          style={"height": "200px"},
                          id={"type": "ond-trend", "key": f.indicator.key}))
        charts.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.H3(f.indicator.label, className="h6"), body,
        ])), md=6, xl=4, className="mb-3"))
    return dbc.Row(charts)


def wijk_table(table):
    """The product's wijk table (``data.products.ondermijning.wijk_section``): wijk names with
    one column per indicator; its first column (the code) goes into ``data-code``."""
    if not table.rows:
        return html.P(f"Per wijk: {NO_DATA}.")
    header = html.Thead(html.Tr([html.Th("Wijk"), *[html.Th(h, className="text-end")
                                                   for h in table.header[2:]]]))
    body = html.Tbody([
        html.Tr([html.Td(row[1]), *[html.Td(_cell(v), className="text-end") for v in row[2:]]],
                **{"data-code": row[0]})
        for row in table.rows])
    return html.Div([data_table([header, body], size="sm", className="mb-1 ond-wijken"),
                     html.P(table.note, className="small text-body-secondary mb-0")])


def _cell(value) -> str:
    if value is None:
        return NO_DATA
    if isinstance(value, str):
        return value
    return fmt.integer(value)


def incident_table(section):
    """The products' incident list section in the project's grid (AG Grid, 25 rows a page: a
    plain table of hundreds of rows would hold the browser up)."""
    table = section.tables[0]
    fields = [f"c{i}" for i in range(len(table.header))]
    rows = [{f: "" if v is None else str(v) for f, v in zip(fields, row)} for row in table.rows]
    return html.Div([
        html.P(" ".join(section.paragraphs), className="small"),
        data_grid(id="ond-incidenten-grid", no_rows="Geen incidenten", rowData=rows,
                  columnDefs=[{"field": f, "headerName": h} for f, h in zip(fields, table.header)],
                  defaultColDef={"resizable": True, "sortable": True, "minWidth": 100},
                  dashGridOptions={"pagination": True, "paginationPageSize": 25,
                                   "paginationPageSizeSelector": False,
                                   "enableCellTextSelection": True,
                                   "suppressColumnVirtualisation": True},
                  style={"height": "560px", "width": "100%"},
                  className="ag-theme-quartz ond-incidenten")])


def map_graph(section):
    if not section.figures:
        return html.P(" ".join(section.paragraphs))
    fig = section.figures[0]
    return html.Div([dcc.Graph(figure=fig.figure, config=GRAPH_CONFIG, id="ond-kaart-grafiek",
                               style={"height": "420px"}),
                     html.P(" ".join(section.paragraphs) + " " + fig.note,
                            className="small text-body-secondary mb-0")])


def duiding(item):
    if item is None:
        return html.P("De teamchef heeft nog geen duiding geschreven.",
                      className="text-body-secondary mb-0", id="ond-duiding-leeg")
    paragraphs = [p.strip() for p in item.text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return html.Div([*[html.P(p) for p in paragraphs],
                     html.P(f"— {item.author}, {item.role}, {fmt.moment(item.at)}",
                            className="small text-body-secondary mb-0 ond-duiding-auteur")],
                    id="ond-duiding-tekst-getoond")


def signals(totals, name: str):
    """The gemeente's own sources beside the police figures (the driehoek's table of
    ``layouts/bronnen.py``), or why there are none."""
    from data.queries.ondermijning import NO_SIGNALS
    from layouts.bronnen import totals_section

    if totals is None or totals.empty:
        return html.P(NO_SIGNALS, className="mb-0", id="ond-signalen-tekst")
    return totals_section(totals, name, table_id="ond-signalen-tabel")
