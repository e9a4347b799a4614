"""Beheer: agreement profiles and the protocol log (beheerder only); Mijn log for everyone."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update

import flask

from callbacks.guard import Served, data_callback
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import accounts, protocol, tokens
from data.queries import near_repeat
from data.meldingen import DEFAULT_TYPES, profile_delivery
from data.scope import OutOfScope
from layouts import format as fmt
from layouts.admin import ACCOUNT_ROLES, PRODUCTS, account_table, token_table


def new_token_message(record, text):
    """The one time a new token is shown."""
    return dbc.Alert([f"Token {record.id} voor {record.user} aangemaakt. Kopieer hem nu; hij "
                      "wordt niet opnieuw getoond:", html.Br(),
                      html.Code(text, id="token-new", className="user-select-all")],
                     color="success", className="mb-0")


def require_beheerder():
    user = current_user()
    if user is None or user.role != "beheerder":
        raise OutOfScope(f"beheer requires role beheerder, not {getattr(user, 'role', None)}")
    return user


#: Dutch for the account errors of data/accounts.py (whose texts the command line prints).
ACCOUNT_ERRORS = (
    ("already exists", "Die gebruikersnaam bestaat al."),
    ("a password needs", f"Een wachtwoord heeft minstens {accounts.MIN_PASSWORD} tekens."),
    ("a name is required", "Vul een gebruikersnaam in."),
    ("needs at least one --gemeente", "Kies minstens één gemeente."),
    ("needs --gemeente", "Kies minstens één gemeente, district of basisteam."),
    ("needs at least one --eenheid", "Kies minstens één regionale eenheid."),
    ("unknown role", "Onbekende rol."),
    ("no user", "Dat account bestaat niet (meer)."),
)


def _account_error(exc: Exception) -> str:
    text = str(exc)
    return next((dutch for key, dutch in ACCOUNT_ERRORS if key in text), "Ongeldige invoer.")


def _secret_message(text: str, secret: str | None):
    """A change, with a generated password shown this once."""
    if secret is None:
        return dbc.Alert(text, color="success", className="mb-0")
    return dbc.Alert([text, " Het wachtwoord wordt niet opnieuw getoond:", html.Br(),
                      html.Code(secret, id="account-secret", className="user-select-all")],
                     color="success", className="mb-0")


def _area_options(role) -> list[dict]:
    """What the account form offers as areas for ``role`` (public names and codes)."""
    con = get_db()
    gemeenten = [{"label": f"{name} ({code})", "value": code}
                 for code, name in accounts.gemeente_choices(con)]
    units = accounts.unit_choices(con)
    if role == "analist":
        return [{"label": f"{name} ({code})", "value": code} for code, name in units["eenheden"]]
    if role == "teamchef":
        return gemeenten + [{"label": f"{name} ({code})", "value": code}
                            for code, name in units["teams"]]
    if role in accounts.GEMEENTE_ROLES:
        return gemeenten
    return []


def manage_account(action: str, *, name=None, role=None, areas=None, password=None,
                   selected=None, new_password=None):
    """One change on /beheer by the logged-in account: (message, clear the form). The acting
    account is re-read and must be an enabled beheerder (else NotAllowed, which the caller
    logs as a refusal); each change is logged by data/accounts.py in its own transaction."""
    state = get_state()
    actor = accounts.acting_beheerder(state, getattr(current_user(), "name", None))
    strings = [a for a in areas if isinstance(a, str)][:200] if isinstance(areas, list) else []
    if action == "account-create":
        role = role if role in ACCOUNT_ROLES else None
        if role is None:
            raise accounts.AccountError("unknown role")
        secret = None if password else accounts.new_password()
        user = accounts.add_user(
            state, name.strip()[:60] if isinstance(name, str) else "", role, password or secret,
            gemeenten=[] if role == "analist" else strings,
            eenheden=strings if role == "analist" else [], by=actor.name)
        return _secret_message(f"Account {user.name} ({user.role}) aangemaakt.", secret)
    if not isinstance(selected, str) or accounts.get_user(state, selected) is None:
        raise accounts.AccountError("no user")
    if action == "account-reset":
        secret = None if new_password else accounts.new_password()
        accounts.set_password(state, selected, new_password or secret, by=actor.name)
        return _secret_message(f"Nieuw wachtwoord voor {selected}; alle sessies van dit account "
                               "zijn beëindigd.", secret)
    if action == "account-disable":
        if selected == actor.name:
            raise accounts.AccountError("own account")
        accounts.set_disabled(state, selected, True, by=actor.name)
        return _secret_message(f"Account {selected} is uitgeschakeld; alle sessies zijn "
                               "beëindigd.", None)
    if action == "account-enable":
        accounts.set_disabled(state, selected, False, by=actor.name)
        return _secret_message(f"Account {selected} is weer ingeschakeld.", None)
    return None


def register(app) -> None:
    @app.callback(
        Output("account-message", "children"), Output("account-list", "children"),
        Output("account-select", "options"), Output("account-areas", "options"),
        Output("account-password", "value"), Output("account-new-password", "value"),
        Input("account-create", "n_clicks"), Input("account-reset", "n_clicks"),
        Input("account-disable", "n_clicks"), Input("account-enable", "n_clicks"),
        Input("account-list", "id"), Input("account-role", "value"),
        State("account-name", "value"), State("account-areas", "value"),
        State("account-password", "value"), State("account-select", "value"),
        State("account-new-password", "value"))
    def manage_accounts(_create, _reset, _disable, _enable, _id, role, name, areas, password,
                        selected, new_password):
        """Accounts on /beheer (no police data): add, disable/enable, reset a password. Only
        an enabled beheerder; anyone else's call (a forged request) is refused and logged."""
        action = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
        message, clear = None, no_update
        try:
            message = manage_account(
                action or "", name=name, role=role, areas=areas,
                password=password if isinstance(password, str) else None,
                selected=selected,
                new_password=new_password if isinstance(new_password, str) else None)
            clear = "" if message is not None else no_update  # typed passwords do not linger
        except accounts.NotAllowed as exc:
            protocol.record(get_state(), user=current_user(), scope=current_scope(),
                            view="beheer/account", filters={"actie": action}, rows=0,
                            client=flask.request.remote_addr, outcome="refused",
                            detail=str(exc))
            return (dbc.Alert("Geen toegang: alleen een beheerder beheert accounts.",
                              color="warning", className="mb-0"), [], [], [], None, None)
        except accounts.AccountError as exc:
            if action in ("account-create", "account-reset", "account-disable",
                          "account-enable"):
                message = dbc.Alert("U kunt uw eigen account niet uitschakelen."
                                    if str(exc) == "own account" else _account_error(exc),
                                    color="danger", className="mb-0")
        users = [u for u in accounts.list_users(get_state()) if u.role != accounts.SERVICE_ROLE]
        choices = [{"label": f"{u.name} ({u.role}{', uitgeschakeld' if u.disabled else ''})",
                    "value": u.name} for u in users]
        return (message, account_table(users), choices, _area_options(role), clear, clear)


    def _melding_settings(types, delivery) -> dict | None:
        """The profile form's meldingen choice (None: not sent, the profile keeps its own)."""
        if types is None and delivery is None:
            return None
        return {"types": types or [], "delivery": delivery or "direct"}

    @data_callback(app, "beheer/profiel-lezen", [
        Output("profile-message", "children"),
        Output("profile-gemeente", "options"),
        Output("profile-driehoek", "options"),
        Output("profile-detail", "value"),
        Output("profile-driehoek", "value"),
        Output({"type": "profile-product", "product": ALL}, "value"),
        Output("profile-gemeente", "value"),
        Output("profile-vaststellen", "value"),
        Output("profile-nr-afstand", "value"),
        Output("profile-nr-dagen", "value"),
        Output("profile-melding-types", "value"),
        Output("profile-melding-delivery", "value"),
        Output("profile-bronnen", "value"),
    ], [Input("profile-gemeente", "value")])
    def load_profile(_scope, gm_code):
        require_beheerder()
        con = get_db()
        gemeenten = accounts.gemeente_choices(con)
        options = [{"label": f"{name} ({code})", "value": code} for code, name in gemeenten]
        types = [{"label": title, "value": code} for code, title in accounts.type_choices(con)]
        gm_code = gm_code or (gemeenten[0][0] if gemeenten else None)
        if gm_code is None:
            return Served(("Geen gemeenten geladen.", [], types, 1, [], [""] * len(PRODUCTS),
                           None, [], near_repeat.DEFAULT.distance_m, near_repeat.DEFAULT.days,
                           [], "direct", []), rows=0)
        p = accounts.get_profile(get_state(), gm_code)
        stamp = (f"Laatst gewijzigd {fmt.moment(p.updated_at)} door {p.updated_by}."
                 if p.updated_at else "Standaardprofiel (nog niet vastgesteld).")
        nr = near_repeat.parse_params(p.near_repeat)
        return Served((stamp, options, types, p.detail, list(p.driehoek),
                       [p.products.get(key, "") for key in PRODUCTS], gm_code,
                       list(p.vaststellen), nr.distance_m, nr.days,
                       p.meldingen.get("types", list(DEFAULT_TYPES)), profile_delivery(p),
                       list(p.bronnen_delen)),
                      rows=1, filters={"gemeente": gm_code})

    @app.callback(
        Output("profile-message", "children", allow_duplicate=True),
        Input("profile-save", "n_clicks"),
        State("profile-gemeente", "value"), State("profile-detail", "value"),
        State("profile-driehoek", "value"),
        State({"type": "profile-product", "product": ALL}, "value"),
        State("profile-vaststellen", "value"),
        State("profile-nr-afstand", "value"), State("profile-nr-dagen", "value"),
        State("profile-melding-types", "value"), State("profile-melding-delivery", "value"),
        State("profile-bronnen", "value"),
        prevent_initial_call=True)
    def save_profile(_clicks, gm_code, detail, driehoek, frequencies, vaststellen,
                     nr_distance=None, nr_days=None, melding_types=None, melding_delivery=None,
                     bronnen=None):
        try:
            user = require_beheerder()
            products = {k: f for k, f in zip(PRODUCTS, frequencies) if f}
            if not (vaststellen is None or (isinstance(vaststellen, list)
                                           and all(isinstance(v, str) for v in vaststellen))):
                raise accounts.AccountError("vaststellen must be a list of products")
            if not (bronnen is None or (isinstance(bronnen, list)
                                        and all(isinstance(v, str) for v in bronnen))):
                raise accounts.AccountError("bronnen must be a list of roles")
            accounts.set_profile(get_state(), gm_code, by=user.name, detail=detail,
                                 driehoek=driehoek or [], products=products,
                                 vaststellen=vaststellen or [],
                                 near_repeat={"afstand_m": nr_distance, "dagen": nr_days},
                                 meldingen=_melding_settings(melding_types, melding_delivery),
                                 bronnen_delen=bronnen or [])
        except (OutOfScope, accounts.AccountError) as exc:
            return dbc.Alert(str(exc), color="danger", className="mb-0")
        return dbc.Alert(f"Profiel van {gm_code} opgeslagen en vastgelegd in het protocol.",
                         color="success", className="mb-0")

    @app.callback(
        Output("token-message", "children"),
        Output("token-list", "children"),
        Output("token-user", "options"),
        Output("token-revoke-id", "options"),
        Output("token-revoke-id", "value"),
        Output("service-gemeenten", "options"),
        Input("token-create", "n_clicks"), Input("token-revoke", "n_clicks"),
        Input("service-create", "n_clicks"), Input("token-list", "id"),
        State("token-user", "value"), State("token-label", "value"),
        State("token-revoke-id", "value"), State("service-name", "value"),
        State("service-gemeenten", "value"))
    def manage_tokens(_create, _revoke, _service, _id, user_name, label, token_id,
                      service_name, service_gemeenten):
        """Service accounts and API tokens (no police data): create a service account with
        openly set gemeenten, create a token for it (shown once), revoke any token, list."""
        try:
            user = require_beheerder()
        except OutOfScope as exc:
            return dbc.Alert(str(exc), color="warning", className="mb-0"), [], [], [], None, []
        message = None
        try:
            if ctx.triggered_id == "service-create":
                gemeenten = [str(g) for g in service_gemeenten or [] if isinstance(g, str)]
                account = accounts.add_user(get_state(), str(service_name or "").strip(),
                                            accounts.SERVICE_ROLE, "", gemeenten=gemeenten,
                                            by=user.name)
                message = dbc.Alert(f"Dienstaccount {account.name} aangemaakt voor "
                                    f"{', '.join(account.gemeenten)}.", color="success",
                                    className="mb-0")
            elif ctx.triggered_id == "token-create":
                if not user_name:
                    raise tokens.TokenError("Kies eerst een dienstaccount.")
                message = new_token_message(*tokens.create_token(
                    get_state(), str(user_name), label=str(label or ""), by=user.name))
            elif ctx.triggered_id == "token-revoke" and token_id:
                record = tokens.revoke_token(get_state(), int(token_id), by=user.name)
                message = dbc.Alert(f"Token {record.id} van {record.user} is ingetrokken.",
                                    color="success", className="mb-0")
        except (tokens.TokenError, accounts.AccountError, ValueError, TypeError) as exc:
            message = dbc.Alert(str(exc), color="danger", className="mb-0")
        every = tokens.list_tokens(get_state())
        services = [{"label": f"{u.name} ({', '.join(u.gemeenten)})", "value": u.name}
                    for u in accounts.list_users(get_state()) if u.role == accounts.SERVICE_ROLE]
        active = [{"label": f"{t.id} · {t.user} · {t.label or t.prefix + '…'}", "value": t.id}
                  for t in every if t.active]
        gemeenten = [{"label": f"{name} ({code})", "value": code}
                     for code, name in accounts.gemeente_choices(get_db())]
        return message, token_table(every, "token-table-all"), services, active, None, gemeenten

    @data_callback(app, "beheer/protocol", [
        Output("log-count", "children"),
        Output("log-grid", "rowData"),
        Output("log-export", "href"),
    ], [Input("log-user", "value"), Input("log-since", "date"), Input("log-view", "value"),
        Input("log-outcome", "value")])
    def search_log(_scope, user, since, view, outcome):
        require_beheerder()
        filters = {k: v for k, v in dict(user=user, since=since, view=view, outcome=outcome).items()
                   if v}
        rows = protocol.search(get_state(), **filters, limit=5000)
        href = "/beheer/protocol.csv" + (f"?{urlencode(filters)}" if filters else "")
        return Served((f"{len(rows):,} regels (hoogstens 5.000 getoond; de export bevat alles)"
                       .replace(",", "."), [protocol.readable(r) for r in rows], href),
                      rows=len(rows), filters=filters)

    @data_callback(app, "mijn-log", [
        Output("own-log-count", "children"),
        Output("own-log-grid", "rowData"),
    ], [Input("own-log-grid", "id")])
    def own_log(_scope, _):
        rows = protocol.search(get_state(), user=current_user().name, limit=5000)
        return Served((f"{len(rows)} regels", [protocol.readable(r) for r in rows]),
                      rows=len(rows))

