"""Meldingen: the header badge (polled), the Meldingen page and acknowledging ("Gezien").

Flow: the timer ``melding-interval`` (and an acknowledgement) fires the badge view, which puts
the unread ids into ``melding-signal`` only when they changed; a change re-renders the list on
the Meldingen page. Badge and list are data views (scoped and logged); the badge logs with
``log="on_change"`` so that polling every few seconds does not flood the protocol log.
"""
from __future__ import annotations

import dash
import flask
from dash import ALL, Input, Output, State, ctx

from callbacks.guard import Served, data_callback
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import meldingen, protocol
from data.scope import OutOfScope
from data.state import now
from layouts import meldingen as layout


def page(_search=None):
    return layout.page()


def register(app) -> None:
    @data_callback(app, "meldingen/badge",
                   [Output("melding-bell", "children"), Output("melding-signal", "data")],
                   [Input("melding-interval", "n_intervals"), Input("melding-acked", "data")],
                   [State("melding-signal", "data")], log="on_change")
    def badge(scope, _n, _acked, previous):
        if scope.empty:
            return Served(("", dash.no_update if previous == [] else []), 0, {"ongelezen": 0})
        ids = meldingen.unread(get_state(), scope=scope, user=current_user())
        signal = dash.no_update if previous == ids else ids
        return Served((layout.bell(len(ids)), signal), len(ids),
                      {"ongelezen": len(ids), "meldingen": ids[:50]})

    @data_callback(app, "meldingen/lijst", [Output("meldingen-lijst", "children")],
                   [Input("melding-signal", "data")])
    def melding_list(scope, _signal):
        items = meldingen.list_meldingen(get_state(), get_db(), scope=scope, user=current_user())
        return Served((layout.melding_list(items),), len(items),
                      {"meldingen": [i["id"] for i in items][:50]})

    @app.callback(Output("melding-acked", "data"),
                  Input({"type": "melding-gezien", "id": ALL}, "n_clicks"),
                  Input("meldingen-alles-gezien", "n_clicks"), prevent_initial_call=True)
    def acknowledge(_clicks, _all_clicks):
        """Writes acknowledgements for the current user only; serves no police data. An id
        outside the user's scope refuses the whole request and is logged as refused."""
        trigger = ctx.triggered_id
        if trigger is None or not any(t.get("value") for t in ctx.triggered):
            raise dash.exceptions.PreventUpdate
        if trigger == "meldingen-alles-gezien":
            ids = None
        elif isinstance(trigger, dict) and trigger.get("type") == "melding-gezien":
            try:
                ids = [int(trigger["id"])]
            except (TypeError, ValueError):
                raise dash.exceptions.PreventUpdate from None
        else:
            raise dash.exceptions.PreventUpdate
        scope, user, state = current_scope(), current_user(), get_state()
        try:
            done = meldingen.acknowledge(state, scope=scope, user=user, ids=ids)
        except OutOfScope as exc:
            protocol.record(state, user=user, scope=scope, view="meldingen/gezien",
                            filters={"meldingen": ids or "alle"}, rows=0,
                            client=flask.request.remote_addr,
                            outcome="refused", detail=exc.detail)
            raise dash.exceptions.PreventUpdate from None
        return {"gezien": done, "at": now()}
