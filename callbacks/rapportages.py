"""Rapportages: the list of products the user may open, the "Nieuw" count in the navigation
and "Nu maken". All three are data views (scoped, logged); the files themselves are served by
``dashboard/rapportages.py``. "Nu maken" is a heavy action (``data/heavy.py``): one at a time
per user, a fixed number on the server; its button is disabled while it works."""
from __future__ import annotations

from datetime import datetime

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State

from callbacks.guard import Served, data_callback
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import heavy
from data.accounts import get_profile
from data.products import archive, schedule
from data.products.model import KINDS
from data.queries.products import area_options, product_area
from data.scope import OutOfScope
from layouts import rapportages as layout


def _kinds() -> list[tuple[str, str]]:
    return [(k, title) for k, (title, _tabular) in KINDS.items()
            if schedule.builder_available(k)]


def page(_search=None):
    scope = current_scope()
    areas = area_options(get_db(), scope=scope) if not scope.empty else []
    return layout.page(_kinds(), areas)


def validation_page():
    return layout.page([("stuurgegevens", "x")], [("GM0000", "x")])


def _folder():
    return flask.current_app.config["VB_SETTINGS"].products_path()


def register(app) -> None:
    @data_callback(app, "rapportages/lijst", [Output("rapportages-lijst", "children")],
                   [Input("rapportages-signal", "data")])
    def product_list(scope, _signal):
        products = archive.list_products(get_state(), scope=scope)
        user = current_user()
        seen = archive.opened_ids(get_state(), user.name) if user else set()
        return Served((layout.product_list(products, seen),), len(products),
                      {"producten": [p.id for p in products][:50]})

    @data_callback(app, "rapportages/badge", [Output("rapportages-badge", "children")],
                   [Input("url", "pathname"), Input("melding-interval", "n_intervals")],
                   log="on_change")
    def badge(scope, _pathname, _n):
        ids = archive.unread(get_state(), scope=scope, user=current_user())
        return Served((layout.badge(len(ids)),), len(ids),
                      {"nieuw": len(ids), "producten": ids[:50]})

    @data_callback(app, "rapportages/maken",
                   [Output("rapportages-melding", "children"),
                    Output("rapportages-signal", "data")],
                   [Input("rapportages-maak", "n_clicks")],
                   [State("rapportages-soort", "value"), State("rapportages-gebied", "value")],
                   prevent_initial_call=True,
                   running=[(Output("rapportages-maak", "disabled"), True, False)])
    def make(scope, clicks, kind, area):
        if scope.empty:
            raise OutOfScope("empty scope")
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update, dash.no_update), 0, {})
        if not isinstance(kind, str) or kind not in KINDS or not schedule.builder_available(kind):
            return Served((dbc.Alert("Onbekend product.", color="warning"),
                           dash.no_update), 0, {})
        if not isinstance(area, str):
            raise OutOfScope("no area")
        con, state = get_db(), get_state()
        product_area(con, scope=scope, area=area)  # OutOfScope outside the scope
        profile = get_profile(state, area)
        due = schedule.latest_period(schedule.frequency_for(profile, kind), datetime.now())
        reference = (datetime.combine(due.reference, datetime.min.time())
                     if kind == "operationeel_beeld" else due.reference)
        user = current_user()
        # One heavy action per user, a fixed number on the server; Busy is refused by the guard.
        with heavy.slot(state, user=user.name, kind="rapportage",
                        slots=flask.current_app.config["VB_SETTINGS"].heavy_slots):
            product, timing = archive.generate(
                flask.current_app.config["VB_STORE"], state, _folder(), kind=kind, area=area,
                reference=reference, scope=scope, profile=profile, user=user,
                period_key=due.key, client=flask.request.remote_addr)
        message = dbc.Alert(
            f"Gemaakt: {product.title}, {product.area_name}, {product.period_label} "
            f"(versie {product.version}, {round(timing['total'])} s).", color="success",
            id="rapportages-gemaakt")
        return Served((message, product.id), 1,
                      {"product": product.id, "soort": kind, "gebied": area,
                       "periode": due.key})
