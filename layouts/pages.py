"""Page layouts: static structure with empty containers that callbacks fill."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.figures import GRAPH_CONFIG


def overview():
    return html.Div([
        html.Div([
            html.H1("Overzicht", className="h3 mb-0"),
            html.Div(id="overview-subtitle", className="text-body-secondary"),
        ], className="mb-3"),
        dcc.Loading(html.Div(id="overview-cards", className="key-figures"), type="dot"),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H2("Misdrijven per maand, laatste 36 maanden", className="h5"),
                dcc.Graph(id="overview-trend", config=GRAPH_CONFIG,
                          style={"height": "340px"}),
                html.Div(id="overview-trend-note", className="small text-body-secondary"),
            ])), lg=7, className="mb-3"),
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H2("Per gemeente", className="h5"),
                html.Div(id="overview-gemeenten"),
            ])), lg=5, className="mb-3"),
        ]),
    ])


def not_yet(title: str):
    """A route whose page comes in a later release; it says so plainly and shows no data."""
    return html.Div([
        html.H1(title, className="h3"),
        dbc.Alert("Deze pagina is nog niet beschikbaar in deze versie van Veiligheidsbeeld.",
                  color="secondary", className="mt-3"),
    ])


def not_found():
    return html.Div([
        html.H1("Pagina niet gevonden", className="h3"),
        html.P(dcc.Link("Terug naar het overzicht", href="/")),
    ])
