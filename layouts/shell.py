"""The page frame: navigation bar with the dataset badge, and the routed content area."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import flask
from dash import dcc, html

from layouts import meldingen

#: Path -> (navigation label, page title). The router in callbacks/shell.py renders these.
PAGES = {
    "/": ("Overzicht", "Overzicht"),
    "/kaart": ("Kaart", "Kaart"),
    "/trends": ("Trends", "Trends en monitors"),
    "/driehoek": ("Driehoek", "Driehoeksmonitor"),
    "/ondermijning": ("Ondermijning", "Integraal ondermijningsbeeld"),
    "/incidenten": ("Incidenten", "Incidenten"),
    "/rapportages": ("Rapportages", "Rapportages"),
    "/meldingen": ("Meldingen", "Meldingen"),
    "/bronnen": ("Bronnen", "Gemeentelijke bronnen"),
}


def _melding_poll_ms() -> int:
    """The badge's poll interval from the app settings (a default outside a request)."""
    try:
        return int(flask.current_app.config["VB_SETTINGS"].melding_poll_seconds * 1000)
    except (RuntimeError, KeyError):
        return meldingen.DEFAULT_POLL_MS


def shell():
    """The layout of every page; data arrives through callbacks, never at import time."""
    nav = dbc.Nav(
        [dbc.NavItem(dbc.NavLink(
            # the number of new products; aria-hidden keeps the link's name "Rapportages"
            [label, html.Span(id="rapportages-badge", **{"aria-hidden": "true"})]
            if path == "/rapportages" else label,
            href=path, active="exact", id=f"nav-{label.lower()}"))
         for path, (label, _title) in PAGES.items()],
        navbar=True, className="me-auto")
    return html.Div([
        # the first tab stop (WCAG 2.4.1); assets/wcag.js moves focus to the content
        html.A("Naar de inhoud", href="#page", id="skip-link",
               className="skip-link visually-hidden-focusable"),
        dcc.Location(id="url"),
        dbc.Navbar(
            dbc.Container([
                dbc.NavbarBrand("Veiligheidsbeeld", href="/", className="fw-semibold"),
                # below the xl breakpoint (phones, tablets, 1024 px) the rest folds behind the
                # toggler (callbacks/shell.py opens it, and closes it on navigation)
                html.Button(html.Span(className="navbar-toggler-icon"), id="nav-toggler",
                            n_clicks=0, type="button", className="navbar-toggler",
                            **{"aria-label": "Menu", "aria-controls": "nav-collapse",
                               "aria-expanded": "false"}),
                dbc.Collapse([
                nav,
                html.Div(id="dataset-badge", className="dataset-badge text-end me-3"),
                *meldingen.header_parts(_melding_poll_ms()),
                html.Div(id="user-menu", className="user-menu"),
                ], id="nav-collapse", is_open=False, navbar=True),
            ], fluid=True),
            color="dark", dark=True, expand="xl", className="mb-3"),
        dbc.Container(html.Main(id="page", role="main", tabIndex="-1"), fluid=True, className="pb-5"),
    ])
