"""The woninginbraakmonitor page (``/trends/woninginbraak``): structure and figure builders."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from layouts.controls import dropdown
from layouts import format as fmt
from layouts.figures import (BLUE, GRAPH_CONFIG, GREY, ORANGE,  # noqa: F401 (GRAPH_CONFIG: callbacks)
                             data_table, whole_number_axis)


#: Dropdown value for all gemeenten of the scope together.
ALL = "alle"


def monitor(gemeenten: list[tuple[str, str]]):
    options = [{"label": n, "value": c} for c, n in gemeenten]
    if len(gemeenten) > 1:
        options.insert(0, {"label": "Alle gemeenten in uw gebied", "value": ALL})
    return html.Div([
        html.Div([
            html.H1("Woninginbrakenmonitor", className="h3 mb-0"),
            html.Div(["Woninginbraak (1.1.1): voltooid en poging, wijken en tijdstippen. ",
                      dcc.Link("Naar alle trends", href="/trends?indicator=woninginbraak")],
                     className="text-body-secondary"),
        ], className="mb-3"),
        dbc.Row(dbc.Col([dbc.Label("Gemeente", html_for="burglary-gemeente"),
                         dropdown(id="burglary-gemeente", clearable=False,
                                      options=options,
                                      value=gemeenten[0][0] if gemeenten else None)], lg=4),
                className="mb-3"),
        html.Div(id="burglary-status", className="mb-2"),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H2("Voltooid en poging per kalendermaand, dit jaar en vorig jaar",
                        className="h5"),
                dcc.Graph(id="burglary-attempts", config=GRAPH_CONFIG, style={"height": "340px"}),
            ])), lg=7, className="mb-3"),
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H2("Wijken: grootste stijging", className="h5"),
                html.Div(id="burglary-wijken"),
            ])), lg=5, className="mb-3"),
        ]),
        dbc.Card(dbc.CardBody([
            html.H2("Wanneer: dag van de week × uur", className="h5"),
            html.Div(id="burglary-heatmap"),
        ]), className="mb-3"),
    ])


def attempts_figure(frame, year: int) -> go.Figure:
    """Grouped bars per month: completed and attempted, this year solid, last year light. A
    month whose split is not shown (``split_hidden``, see data/disclosure.py) has one grey bar
    with its total instead."""
    fig = go.Figure()
    if frame is not None and not frame.empty:
        hidden = frame["split_hidden"].to_numpy(bool) if "split_hidden" in frame else None
        series = [("voltooid", "voltooid", BLUE), ("poging", "poging", ORANGE)]
        if hidden is not None and hidden.any():
            series.append(("totaal", "totaal (uitsplitsing niet getoond)", GREY))
        for y, opacity in ((year - 1, 0.45), (year, 1.0)):
            part = frame[[m.year == y for m in frame["month"]]]
            months = [fmt.MONTHS[m.month - 1] for m in part["month"]]
            for column, label, colour in series:
                values = part[column].astype("Float64")
                if column == "totaal":
                    values = values.where(part["split_hidden"].to_numpy(bool))
                fig.add_bar(x=months,
                            y=[None if pd.isna(v) else float(v) for v in values],
                            name=f"{label} {y}",
                            marker=dict(color=colour, opacity=opacity,
                                        pattern_shape="" if y == year else "/"),
                            offsetgroup=f"{column}{y}",
                            hovertemplate="%{x} " + str(y) + ": %{y:,.0f} " + label
                                          + "<extra></extra>")
    fig.update_layout(barmode="group", margin=dict(l=48, r=12, t=8, b=36), separators=",.",
                      legend=dict(orientation="h", y=1.12, x=0), plot_bgcolor="white",
                      xaxis=dict(categoryorder="array", categoryarray=list(fmt.MONTHS)),
                      yaxis=dict(gridcolor="#e5e5e5"))
    return whole_number_axis(fig)


def wijk_table(frame) -> dbc.Table:
    def cell(value, places=None):
        if value is None or pd.isna(value):  # a count no source covers: never 0
            return "–" if places else "geen gegevens"
        return fmt.decimal(value, places) if places else fmt.integer(value)

    def change(row):
        if pd.isna(row.change):
            return "–"
        return ("+" if row.change > 0 else "") + fmt.integer(row.change).replace("-", "−")

    header = html.Thead(html.Tr([html.Th("Wijk"), html.Th("Laatste 12 mnd", className="text-end"),
                                 html.Th("Jaar ervoor", className="text-end"),
                                 html.Th("Verschil", className="text-end"),
                                 html.Th("Per 1.000", className="text-end")]))
    body = html.Tbody([html.Tr([
        html.Td(row.name or row.code),
        html.Td(cell(row.count), className="text-end"),
        html.Td(cell(row.previous), className="text-end"),
        html.Td(change(row), className="text-end"),
        html.Td(cell(row.per_1000, 1), className="text-end"),
    ], **{"data-code": row.code}) for row in frame.head(10).itertuples()])
    return data_table([header, body], size="sm", hover=True, className="mb-0 burglary-wijken")


def heatmap(frame) -> go.Figure:
    grid = [[0] * 24 for _ in range(7)]
    for row in frame.itertuples():
        grid[int(row.weekday)][int(row.hour)] = int(row.count)
    fig = go.Figure(go.Heatmap(
        z=grid, x=[f"{h:02d}" for h in range(24)],
        y=["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
        colorscale="Blues", hovertemplate="%{y} %{x}:00 uur: %{z}<extra></extra>",
        colorbar=dict(title="aantal")))
    fig.update_layout(margin=dict(l=80, r=12, t=8, b=36), yaxis=dict(autorange="reversed"),
                      separators=",.")
    return fig
