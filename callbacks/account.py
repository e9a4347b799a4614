"""Mijn account: a user's own API tokens (created by that user only, shown once)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx

from callbacks.admin import new_token_message
from dashboard.auth import current_scope, current_user, get_state
from data import tokens
from layouts.admin import my_account, token_table


def page(_search):
    user = current_user()
    return my_account(user, current_scope().label)


def register(app) -> None:
    @app.callback(
        Output("own-token-message", "children"),
        Output("own-token-list", "children"),
        Output("own-token-revoke-id", "options"),
        Output("own-token-revoke-id", "value"),
        Input("own-token-create", "n_clicks"), Input("own-token-revoke", "n_clicks"),
        Input("own-token-list", "id"),
        State("own-token-label", "value"), State("own-token-revoke-id", "value"))
    def own_tokens(_create, _revoke, _id, label, token_id):
        """Create, revoke and list the logged-in user's own tokens; never anyone else's."""
        user = current_user()
        message = None
        try:
            if ctx.triggered_id == "own-token-create":
                message = new_token_message(*tokens.create_token(
                    get_state(), user.name, label=str(label or ""), by=user.name))
            elif ctx.triggered_id == "own-token-revoke" and token_id:
                record = tokens.revoke_token(get_state(), int(token_id), by=user.name)
                message = dbc.Alert(f"Token {record.id} is ingetrokken.", color="success",
                                    className="mb-0")
        except (tokens.TokenError, ValueError, TypeError) as exc:
            message = dbc.Alert(str(exc), color="danger", className="mb-0")
        own = tokens.list_tokens(get_state(), user=user.name)
        active = [{"label": f"{t.id} · {t.label or t.prefix + '…'}", "value": t.id}
                  for t in own if t.active]
        return message, token_table(own, "token-table-own"), active, None
