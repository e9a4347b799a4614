"""Meldingen: the header badge (polled), the Meldingen page and acknowledging ("Gezien").

Flow: the timer ``melding-interval`` (and an acknowledgement) fires the badge view, which puts
the unread ids into ``melding-signal`` only when they changed; a change re-renders the list on
the Meldingen page. Badge and list are data views (scoped and logged); the badge logs with
``log="on_change"`` so that polling every few seconds does not flood the protocol log.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
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
        state, user = get_state(), current_user()
        ids = meldingen.unread(state, scope=scope, user=user)
        notes = meldingen.unread_notes(state, scope=scope, user=user) if ids else 0
        signal = dash.no_update if previous == ids else ids
        return Served((layout.bell(len(ids), notes), signal), len(ids),
                      {"ongelezen": len(ids), "meldingen": ids[:50], "notities": notes})

    @data_callback(app, "meldingen/lijst", [Output("meldingen-lijst", "children")],
                   [Input("melding-signal", "data"), Input("melding-noted", "data")])
    def melding_list(scope, _signal, _noted):
        user = current_user()
        items = meldingen.list_meldingen(get_state(), get_db(), scope=scope, user=user)
        can_note = getattr(user, "role", None) in meldingen.NOTE_ROLES
        return Served((layout.melding_list(items, can_note=can_note),), len(items),
                      {"meldingen": [i["id"] for i in items][:50]})

    @app.callback(Output("melding-noted", "data"), Output("melding-notitie-bericht", "children"),
                  Input({"type": "melding-notitie-knop", "id": ALL}, "n_clicks"),
                  State({"type": "melding-notitie-tekst", "id": ALL}, "value"),
                  State({"type": "melding-notitie-tekst", "id": ALL}, "id"),
                  prevent_initial_call=True)
    def add_note(_clicks, texts, text_ids):
        """A teamchef's note on a melding (data/meldingen.add_note checks the role and scope,
        logs it, and logs and refuses anyone else or another gemeente's melding)."""
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(t.get("value") for t in ctx.triggered):
            raise dash.exceptions.PreventUpdate
        melding_id = trigger.get("id")
        text = next((t for t, i in zip(texts or [], text_ids or [])
                     if isinstance(i, dict) and i.get("id") == melding_id), None)
        try:
            meldingen.add_note(get_state(), scope=current_scope(), user=current_user(),
                               melding_id=melding_id, text=text,
                               client=flask.request.remote_addr)
        except OutOfScope:
            return dash.no_update, dbc.Alert("Alleen een teamchef van deze gemeente kan een "
                                             "notitie toevoegen.", color="warning")
        except meldingen.MeldingError as exc:
            return dash.no_update, dbc.Alert(str(exc), color="danger")
        return ({"notitie": melding_id, "at": now()},
                dbc.Alert("Notitie toegevoegd; het gezag ziet hem bij de melding.",
                          color="success"))

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
