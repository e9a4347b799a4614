"""Routing and the dataset badge in the navigation bar."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, html
from dash import State

from callbacks import kaart as kaart_cb
from callbacks import burglary as burglary_cb
from callbacks import driehoek as driehoek_cb
from callbacks import trends as trends_cb
from dashboard.auth import current_scope, current_user, get_db
from data.queries import map as map_q
from data.queries.overview import dataset_summary
from layouts import format as fmt
from layouts import admin, kaart, pages
from layouts.shell import PAGES, shell


def register(app) -> None:
    app.validation_layout = html.Div([shell(), pages.overview(), pages.not_found(),
                                      admin.beheer(), admin.own_log(),
                                      kaart.kaart([], [], ""), trends_cb.validation_page(),
                                      burglary_cb.validation_page(),
                                      *driehoek_cb.validation_pages()])

    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
    def route(pathname, search=None):
        if not isinstance(pathname, str):
            return pages.not_found()
        if pathname == "/":
            return pages.overview()
        if pathname == "/beheer":
            user = current_user()
            return admin.beheer() if user and user.role == "beheerder" else admin.no_access()
        if pathname == "/mijn-log":
            return admin.own_log()
        if pathname == "/kaart":
            return _kaart()
        if pathname == "/trends":
            return trends_cb.page(search)
        if pathname == "/trends/woninginbraak":
            return burglary_cb.page()
        if pathname == "/driehoek":
            return driehoek_cb.page(search)
        if pathname == "/presentatie":
            return driehoek_cb.presentation_page(search)
        if pathname in PAGES:
            return pages.not_yet(PAGES[pathname][1])
        return pages.not_found()

    def _kaart():
        """The map page with its choices; the data arrive through callbacks/kaart.py."""
        con, scope = get_db(), current_scope()
        periods = [(key, kaart_cb.period_label(key, period))
                   for key, period in map_q.period_options(con, scope=scope)]
        return kaart.kaart(map_q.bundle_options(con, scope=scope), periods,
                           flask.current_app.config["VB_SETTINGS"].tile_url)

    @app.callback(Output("user-menu", "children"), Input("url", "pathname"))
    def user_menu(_pathname):
        user = current_user()
        items = [dbc.DropdownMenuItem("Mijn log", href="/mijn-log")]
        if user.role == "beheerder":
            items.insert(0, dbc.DropdownMenuItem("Beheer", href="/beheer"))
        items.append(dbc.DropdownMenuItem("Uitloggen", href="/logout", external_link=True,
                                          id="logout-link"))
        return dbc.DropdownMenu(items, label=f"{user.name} · {user.role}", align_end=True,
                                color="secondary", size="sm", id="user-dropdown")

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
