"""Routing and the dataset badge in the navigation bar."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dashboard.auth import current_scope, get_db
from data.queries.overview import dataset_summary
from layouts import format as fmt
from layouts import pages
from layouts.shell import PAGES, shell


def register(app) -> None:
    app.validation_layout = html.Div([shell(), pages.overview(), pages.not_found()])

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def route(pathname):
        if pathname == "/":
            return pages.overview()
        if pathname in PAGES:
            return pages.not_yet(PAGES[pathname][1])
        return pages.not_found()

    @app.callback(Output("dataset-badge", "children"), Input("url", "pathname"))
    def badge(_pathname):
        info = dataset_summary(get_db(), scope=current_scope())
        covered = (f"{fmt.month(info['first_month'])} – {fmt.month(info['last_month'])}"
                   if info["first_month"] else "geen gegevens")
        parts = [html.Span(info["name"], className="dataset-name"),
                 html.Span(covered, className="dataset-period ms-2")]
        if info["demo"]:
            parts.insert(0, dbc.Badge("DEMO", color="warning", text_color="dark",
                                      className="me-2", id="demo-badge"))
        return html.Div(parts, title=info["source"])
