"""Mijn account: a user's own narrowing of the meldingen, and own API tokens (created by that
user only, shown once)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx

from callbacks.admin import new_token_message
from dashboard.auth import current_scope, current_user, get_state
from data import meldingen, tokens
from data.accounts import get_profile
from layouts.admin import my_account, token_table


def page(_search):
    user = current_user()
    return my_account(user, current_scope().label)


def register(app) -> None:
    @app.callback(
        Output("mijn-melding-types", "value"), Output("mijn-melding-delivery", "value"),
        Output("mijn-melding-profiel", "children"), Output("mijn-melding-bericht", "children"),
        Input("mijn-melding-opslaan", "n_clicks"),
        State("mijn-melding-types", "value"), State("mijn-melding-delivery", "value"))
    def own_meldingen(clicks, types, delivery):
        """Read or save the logged-in user's own choice (never anyone else's; logged)."""
        user, scope, state = current_user(), current_scope(), get_state()
        message = None
        if ctx.triggered_id == "mijn-melding-opslaan" and clicks:
            try:
                if not (types is None or (isinstance(types, list)
                                          and all(isinstance(t, str) for t in types))):
                    raise meldingen.MeldingError("types must be a list of codes")
                meldingen.set_preferences(state, user, {"types": types or None,
                                                        "delivery": delivery or None},
                                          scope=scope)
                message = dbc.Alert("Uw keuze voor meldingen is opgeslagen.", color="success",
                                    className="mb-0")
            except meldingen.MeldingError as exc:
                message = dbc.Alert(str(exc), color="danger", className="mb-0")
        own = meldingen.get_preferences(state, user.name)
        profiles = [get_profile(state, gm) for gm in sorted(scope.gemeenten)]
        summary = "; ".join(
            f"{p.gm_code}: {', '.join(sorted(meldingen.profile_types(p)))} "
            f"({meldingen.profile_delivery(p)})" for p in profiles) or "geen gemeenten"
        return (own.get("types") or [], own.get("delivery") or "",
                f"Afsprakenprofiel: {summary}", message)


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
