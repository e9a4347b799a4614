"""Routing and the dataset badge in the navigation bar."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask_wtf.csrf import generate_csrf

from callbacks import account as account_cb
from callbacks import bronnen as bronnen_cb
from callbacks import burglary as burglary_cb
from callbacks import driehoek as driehoek_cb
from callbacks import incidenten as incidenten_cb
from callbacks import kaart as kaart_cb
from callbacks import meldingen as meldingen_cb
from callbacks import ondermijning as ondermijning_cb
from callbacks import rapportages as rapportages_cb
from callbacks import trends as trends_cb
from dashboard.auth import current_scope, current_user, get_db
from dashboard.caching import cached
from data.queries.overview import dataset_summary
from layouts import admin, pages
from layouts import format as fmt
from layouts.shell import PAGES, shell


def _beheer(_search):
    user = current_user()
    return admin.beheer() if user and user.role == "beheerder" else admin.no_access()


#: Path -> page builder ``fn(search) -> layout``. Builders run in the request (the scope of the
#: logged-in user applies); data arrive through each page's own data callbacks.
ROUTES = {
    "/": lambda _search: pages.overview(),
    "/kaart": kaart_cb.page,
    "/trends": trends_cb.page,
    "/trends/woninginbraak": lambda _search: burglary_cb.page(),
    "/driehoek": driehoek_cb.page,
    "/presentatie": driehoek_cb.presentation_page,
    "/ondermijning": ondermijning_cb.page,
    "/incidenten": incidenten_cb.page,
    "/beheer": _beheer,
    "/mijn-log": lambda _search: admin.own_log(),
    "/mijn-account": account_cb.page,
    "/meldingen": meldingen_cb.page,
    "/rapportages": rapportages_cb.page,
    "/bronnen": bronnen_cb.page,
}


#: A stand-in account for the validation layout (component ids only; never shown).
_VALIDATION_USER = type("ValidationUser", (), {"name": "", "role": ""})()


def register(app) -> None:
    app.validation_layout = html.Div([shell(), pages.overview(), pages.not_found(),
                                      admin.beheer(), admin.own_log(), kaart_cb.validation_page(),
                                      admin.my_account(_VALIDATION_USER, ""),
                                      trends_cb.validation_page(), burglary_cb.validation_page(),
                                      incidenten_cb.validation_page(),
                                      meldingen_cb.page(), rapportages_cb.validation_page(),
                                      *driehoek_cb.validation_pages(),
                                      ondermijning_cb.validation_page(),
                                      bronnen_cb.validation_page()])

    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
    def route(pathname, search=None):
        if not isinstance(pathname, str):
            return pages.not_found()
        if pathname in ROUTES:
            return ROUTES[pathname](search)
        if pathname in PAGES:
            return pages.not_yet(PAGES[pathname][1])
        return pages.not_found()

    # The folded navigation (narrow screens): the toggler opens and closes it, a page change
    # closes it. In the browser: no request for a menu.
    app.clientside_callback(
        """function (clicks, pathname, open) {
            var trigger = (dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
            var next = trigger.indexOf("nav-toggler") === 0 ? !open : false;
            return [next, next ? "true" : "false"];
        }""",
        Output("nav-collapse", "is_open"), Output("nav-toggler", "aria-expanded"),
        Input("nav-toggler", "n_clicks"),
        Input("url", "pathname"), State("nav-collapse", "is_open"), prevent_initial_call=True)

    @app.callback(Output("user-menu", "children"), Input("url", "pathname"))
    def user_menu(_pathname):
        user = current_user()
        items = [dbc.DropdownMenuItem("Mijn account", href="/mijn-account"),
                 dbc.DropdownMenuItem("Mijn log", href="/mijn-log")]
        if user.role == "beheerder":
            items.insert(0, dbc.DropdownMenuItem("Beheer", href="/beheer"))
        # Logout is a POST with the CSRF token: a link from another site logs nobody out.
        items.append(html.Form([
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(),
                      id="logout-csrf"),
            html.Button("Uitloggen", type="submit", className="dropdown-item", id="logout-link"),
        ], method="POST", action="/logout"))
        # the role only where it is not the name already (the demo's "burgemeester")
        label = user.name if user.name == user.role else f"{user.name} · {user.role}"
        return dbc.DropdownMenu(items, label=label, align_end=True,
                                color="secondary", size="sm", id="user-dropdown")

    @app.callback(Output("dataset-badge", "children"), Input("url", "pathname"))
    def badge(_pathname):
        scope = current_scope()
        info = cached("dataset-summary", lambda: dataset_summary(get_db(), scope=scope),
                      scope=scope)
        covered = (f"{fmt.month(info['first_month'])} – {fmt.month(info['last_month'])}"
                   if info["first_month"] else "geen gegevens")
        parts = [html.Span(info["name"], className="dataset-name"),
                 html.Span(covered, className="dataset-period ms-2")]
        if info["demo"]:
            parts.insert(0, dbc.Badge("DEMO", color="warning", text_color="dark",
                                      className="me-2", id="demo-badge"))
        return html.Div(parts, title=info["source"])
