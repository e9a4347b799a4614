"""Beheer (administration) and Mijn log pages."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from data.accounts import FREQUENCIES, MIN_PASSWORD
from data.meldingen import DEFAULT_TYPES, type_options
from data.products.model import KINDS, TEMPLATED
from layouts import format as fmt
from layouts.controls import data_grid, date_input, dropdown
from layouts.figures import data_table

#: The product kinds a profile schedules, with their titles (data.products.model.KINDS; a
#: themed report is scheduled by its template).
PRODUCTS = {kind: title for kind, (title, _tabular) in KINDS.items() if kind not in TEMPLATED}

LOG_COLUMNS = [
    # Shown in Amsterdam time (``tijd``, data.protocol.readable), sorted by the UTC instant,
    # filtered as text (AG Grid would take the ISO text for a date and offer the browser's
    # date field, in the browser's language).
    {"field": "at", "headerName": "Tijd", "width": 170, "cellDataType": "text",
     "valueFormatter": {"function": "params.data.tijd"},
     "filterValueGetter": {"function": "params.data.tijd"}},
    {"field": "user", "headerName": "Gebruiker", "width": 130},
    {"field": "role", "headerName": "Rol", "width": 120},
    {"field": "view", "headerName": "Weergave", "width": 170},
    {"field": "outcome", "headerName": "Uitkomst", "width": 110},
    {"field": "rows", "headerName": "Rijen", "width": 90},
    {"field": "level", "headerName": "Niveau", "width": 90},
    {"field": "scope", "headerName": "Gemeenten", "flex": 1},
    {"field": "filters", "headerName": "Filters", "flex": 1},
    {"field": "client", "headerName": "Adres", "width": 130},
]


def log_grid(grid_id: str):
    return data_grid(id=grid_id, columnDefs=LOG_COLUMNS, rowData=[],
                     defaultColDef={"sortable": True, "filter": True, "resizable": True},
                     dashGridOptions={"pagination": True, "paginationPageSize": 50},
                     # fit the columns to the grid whenever it resizes: no stale column
                     # widths (a header wider than the grid) after the page's layout settles
                     columnSize="responsiveSizeToFit",
                     style={"height": "520px"}, className="ag-theme-alpine")


def beheer():
    frequency_options = [{"label": "geen", "value": ""}] + [
        {"label": f, "value": f} for f in FREQUENCIES]
    return html.Div([
        html.H1("Beheer", className="h3"),
        html.Div(id="beheer-status"),
        account_card(),
        dbc.Card(dbc.CardBody([
            html.H2("Afsprakenprofiel per gemeente", className="h5"),
            dbc.Row([
                dbc.Col([dbc.Label("Gemeente", html_for="profile-gemeente"),
                         dropdown(id="profile-gemeente", clearable=False)], md=4),
                dbc.Col([dbc.Label("Detailniveau", html_for="profile-detail"),
                         dbc.RadioItems(id="profile-detail", options=[
                             {"label": "1 · cijfers tot buurt/PC4", "value": 1},
                             {"label": "2 · + incidentlijsten zonder adres", "value": 2},
                             {"label": "3 · + adres, modus operandi en toelichting", "value": 3}],
                             value=1)], md=8),
            ], className="mb-3"),
            dbc.Label("Indicatoren driehoeksmonitor", html_for="profile-driehoek"),
            dropdown(id="profile-driehoek", multi=True, className="mb-3"),
            dbc.Label("Periodieke producten"),
            dbc.Row([dbc.Col([html.Div(label, className="small"),
                              dropdown(id={"type": "profile-product", "product": key},
                                           options=frequency_options, value="",
                                           clearable=False)], md=3, className="mb-2")
                     for key, label in PRODUCTS.items()]),
            dbc.Label("Eerst vaststellen door de politie (concept met beschouwing)",
                      html_for="profile-vaststellen", className="mt-2"),
            dropdown(id="profile-vaststellen", multi=True, options=[
                {"label": title, "value": kind} for kind, title in PRODUCTS.items()],
                placeholder="Geen: alle producten gaan automatisch uit"),
            html.Div("De gemeente krijgt deze producten pas als een teamchef of analist ze "
                     "heeft vastgesteld; de andere gaan automatisch uit (reports run --due).",
                     className="small text-body-secondary mb-2"),
            dbc.Row([
                dbc.Col([dbc.Label("Near-repeat: afstand (meter, 50–1000)",
                                   html_for="profile-nr-afstand"),
                         dbc.Input(id="profile-nr-afstand", type="number", min=50, max=1000,
                                   step=10, value=200)], md=4),
                dbc.Col([dbc.Label("Near-repeat: periode (dagen, 3–60)",
                                   html_for="profile-nr-dagen"),
                         dbc.Input(id="profile-nr-dagen", type="number", min=3, max=60,
                                   step=1, value=14)], md=4),
            ], className="mb-2"),
            *melding_choice("profile-melding", "Meldingen: soorten met grote impact",
                            "Standaard: " + ", ".join(DEFAULT_TYPES)
                            + ". Invallen (N06) altijd.",
                            [{"label": "direct (één e-mail per melding)", "value": "direct"},
                             {"label": "dagelijks (één overzicht per dag)",
                              "value": "dagelijks"}]),
            dbc.Label("Gemeentelijke bronnen delen met", html_for="profile-bronnen"),
            dbc.Checklist(id="profile-bronnen", inline=True, value=[], options=[
                {"label": "Teamchef", "value": "teamchef"},
                {"label": "Analist", "value": "analist"}]),
            html.Div("De eigen gebruikers van de gemeente zien haar bronnen altijd; andere "
                     "gemeenten nooit.", className="small text-body-secondary mb-2"),
            dbc.Button("Opslaan", id="profile-save", color="primary", className="mt-2"),
            html.Div(id="profile-message", className="mt-2"),
        ]), className="mb-3"),
        token_card(),
        dbc.Card(dbc.CardBody([
            html.H2("Protocollog", className="h5"),
            dbc.Row([
                dbc.Col(dbc.Input(id="log-user", placeholder="Gebruiker"), md=3),
                dbc.Col(date_input(id="log-since", placeholder="Vanaf (dd-mm-jjjj)"), md=3),
                dbc.Col(dbc.Input(id="log-view", placeholder="Weergave"), md=2),
                dbc.Col(dropdown(id="log-outcome", placeholder="Uitkomst", options=[
                    {"label": "ok", "value": "ok"}, {"label": "geweigerd", "value": "refused"}]),
                    md=2),
                dbc.Col(html.A("Exporteer CSV", id="log-export", href="/beheer/protocol.csv",
                               className="btn btn-outline-secondary w-100"), md=2),
            ], className="mb-2"),
            html.Div(id="log-count", className="small text-body-secondary mb-1"),
            log_grid("log-grid"),
        ])),
    ])


#: Roles a beheerder gives on /beheer (service accounts: the token card below).
ACCOUNT_ROLES = {
    "burgemeester": "Burgemeester (gemeenten)",
    "adviseur": "Adviseur (gemeenten)",
    "gegevensbeheerder": "Gegevensbeheerder (gemeente: eigen bronnen importeren)",
    "teamchef": "Teamchef (gemeenten, districten of basisteams)",
    "analist": "Analist (regionale eenheden)",
    "beheerder": "Beheerder (geen politiecijfers)",
}


def account_card():
    """Accounts (callbacks/admin.py, data/accounts.py): add one, disable or enable it, reset
    its password. A password left empty is generated and shown once."""
    return dbc.Card(dbc.CardBody([
        html.H2("Accounts", className="h5"),
        html.P("Een nieuw of gereset wachtwoord dat u leeg laat, wordt gegenereerd en één keer "
               f"getoond; zelf gekozen: minstens {MIN_PASSWORD} tekens. Uitschakelen en een "
               "nieuw wachtwoord beëindigen direct alle sessies van het account. Elke wijziging "
               "staat in het protocol.", className="small text-body-secondary"),
        dbc.Row([
            dbc.Col([dbc.Label("Gebruikersnaam", html_for="account-name"),
                     dbc.Input(id="account-name", maxLength=60, autoComplete="off")], md=3),
            dbc.Col([dbc.Label("Rol", html_for="account-role"),
                     dropdown(id="account-role", clearable=False, value="burgemeester",
                              options=[{"label": label, "value": role}
                                       for role, label in ACCOUNT_ROLES.items()])], md=3),
            dbc.Col([dbc.Label("Gebieden", html_for="account-areas"),
                     dropdown(id="account-areas", multi=True,
                              placeholder="Gemeenten, eenheden of teams")], md=3),
            dbc.Col([dbc.Label("Wachtwoord (optioneel)", html_for="account-password"),
                     dbc.Input(id="account-password", type="password", autoComplete="new-password",
                               placeholder="leeg: genereren")], md=3),
        ], className="mb-2 g-2"),
        dbc.Button("Account aanmaken", id="account-create", color="primary", className="mb-3"),
        dbc.Row([
            dbc.Col([dbc.Label("Account", html_for="account-select"),
                     dropdown(id="account-select", placeholder="Kies een account")], md=4),
            dbc.Col([dbc.Label("Nieuw wachtwoord (optioneel)", html_for="account-new-password"),
                     dbc.Input(id="account-new-password", type="password",
                               autoComplete="new-password", placeholder="leeg: genereren")],
                    md=3),
            dbc.Col(html.Div([
                dbc.Button("Wachtwoord resetten", id="account-reset", color="secondary",
                           outline=True),
                dbc.Button("Uitschakelen", id="account-disable", color="danger", outline=True),
                dbc.Button("Inschakelen", id="account-enable", color="success", outline=True),
            ], className="d-flex flex-wrap gap-2"), md=5, className="d-flex align-items-end"),
        ], className="mb-2 g-2"),
        html.Div(id="account-message", className="mb-2", **{"aria-live": "polite"}),
        html.Div(id="account-list"),
    ]), className="mb-3")


def account_table(users):
    """Every account with role, areas and status (never a password or its hash)."""
    rows = [html.Tr([html.Td(u.name), html.Td(u.role),
                     html.Td(", ".join(u.gemeenten + u.eenheden) or "–"),
                     html.Td("uitgeschakeld" if u.disabled else "actief",
                             className="text-danger" if u.disabled else "")],
                    **{"data-name": u.name, "data-disabled": str(u.disabled).lower()})
            for u in users]
    return data_table([html.Thead(html.Tr([html.Th(h) for h in (
        "Gebruiker", "Rol", "Gebieden", "Status")])), html.Tbody(rows)],
        size="sm", className="account-table mb-0")


def token_card():
    """Service accounts and their API tokens (callbacks/admin.py). Personal tokens are made by
    their owners on Mijn account; the beheerder sees and may revoke every token."""
    return dbc.Card(dbc.CardBody([
        html.H2("Dienstaccounts en API-tokens", className="h5"),
        html.P(["Voor een koppeling tussen systemen (bijv. het GIS van een gemeente) maakt u een "
                "dienstaccount met openlijk vastgelegde gemeenten; het ziet wat een gebruiker van "
                "die gemeenten volgens het afsprakenprofiel ziet, alleen via de data-API (",
                html.A("/api/v1/", href="/api/v1/openapi.json"), "). Persoonlijke tokens maken "
                "gebruikers zelf aan onder Mijn account. Een token wordt alleen direct na het "
                "aanmaken getoond."], className="small text-body-secondary"),
        dbc.Row([
            dbc.Col([dbc.Label("Nieuw dienstaccount", html_for="service-name"),
                     dbc.Input(id="service-name", maxLength=60, placeholder="bijv. gis-havenstad")],
                    md=4),
            dbc.Col([dbc.Label("Gemeenten", html_for="service-gemeenten"),
                     dropdown(id="service-gemeenten", multi=True)], md=5),
            dbc.Col(dbc.Button("Dienstaccount aanmaken", id="service-create", color="secondary",
                               className="w-100"), md=3, className="d-flex align-items-end"),
        ], className="mb-3"),
        dbc.Row([
            dbc.Col([dbc.Label("Dienstaccount", html_for="token-user"),
                     dropdown(id="token-user", placeholder="Kies een dienstaccount")], md=4),
            dbc.Col([dbc.Label("Omschrijving", html_for="token-label"),
                     dbc.Input(id="token-label", maxLength=100, placeholder="bijv. GIS-systeem")],
                    md=5),
            dbc.Col(dbc.Button("Token aanmaken", id="token-create", color="primary",
                               className="w-100"), md=3, className="d-flex align-items-end"),
        ], className="mb-2"),
        html.Div(id="token-message", className="mb-2"),
        dbc.Row([
            dbc.Col(dropdown(id="token-revoke-id", placeholder="Token om in te trekken"),
                    md=9),
            dbc.Col(dbc.Button("Intrekken", id="token-revoke", color="danger", outline=True,
                               className="w-100"), md=3),
        ], className="mb-2"),
        html.Div(id="token-list"),
    ]), className="mb-3")


def melding_choice(prefix: str, title: str, hint: str, delivery_options: list) -> list:
    """The choice of large-impact types and delivery of meldingen: the profile's on /beheer
    (``profile-melding-*``) and a user's own narrowing on /mijn-account (``mijn-melding-*``)."""
    return [
        dbc.Label(title, html_for=f"{prefix}-types", className="mt-2"),
        dropdown(id=f"{prefix}-types", multi=True,
                 options=[{"label": label, "value": code} for code, label in type_options()],
                 placeholder=hint),
        html.Div(hint, className="small text-body-secondary mb-2"),
        dbc.Label("Meldingen per e-mail", html_for=f"{prefix}-delivery"),
        dbc.RadioItems(id=f"{prefix}-delivery", options=delivery_options, inline=True,
                       className="mb-2"),
    ]


def my_meldingen_card():
    """Mijn account: the user's own narrowing of the meldingen (callbacks/account.py)."""
    return dbc.Card(dbc.CardBody([
        html.H2("Mijn meldingen", className="h5"),
        html.P("Kies welke soorten u als melding wilt krijgen (een deel van wat het "
               "afsprakenprofiel van uw gemeente als grote impact telt; leeg: alles uit het "
               "profiel) en hoe u ze per e-mail krijgt. Invallen krijgt u altijd.",
               className="small text-body-secondary"),
        html.Div(id="mijn-melding-profiel", className="small mb-2"),
        *melding_choice("mijn-melding", "Mijn soorten", "Leeg: alle soorten uit het profiel",
                        [{"label": "zoals het profiel", "value": ""},
                         {"label": "direct", "value": "direct"},
                         {"label": "dagelijks overzicht", "value": "dagelijks"}]),
        dbc.Button("Opslaan", id="mijn-melding-opslaan", color="primary", size="sm"),
        html.Div(id="mijn-melding-bericht", className="mt-2", role="status"),
    ]), className="mb-3")


def my_account(user, scope_label: str):
    """Mijn account: who you are, and your own API tokens (callbacks/account.py)."""
    return html.Div([
        html.H1("Mijn account", className="h3"),
        html.Dl([html.Dt("Gebruiker"), html.Dd(user.name, id="mijn-account-naam"),
                 html.Dt("Rol"), html.Dd(user.role),
                 html.Dt("Gegevens"), html.Dd(scope_label or "geen")], className="mb-3"),
        my_meldingen_card(),
        dbc.Card(dbc.CardBody([
            html.H2("Mijn API-tokens", className="h5"),
            html.P(["Met een persoonlijke token haalt u uw eigen gegevens op via de data-API (",
                    html.A("/api/v1/", href="/api/v1/openapi.json"), "), met precies uw rechten. "
                    "Elk gebruik staat op naam van u en de token in het protocol. De token wordt "
                    "alleen direct na het aanmaken getoond; deel hem met niemand."],
                   className="small text-body-secondary"),
            dbc.Row([
                dbc.Col([dbc.Label("Omschrijving", html_for="own-token-label"),
                         dbc.Input(id="own-token-label", maxLength=100,
                                   placeholder="bijv. eigen Excel-koppeling")], md=8),
                dbc.Col(dbc.Button("Token aanmaken", id="own-token-create", color="primary",
                                   className="w-100"), md=4, className="d-flex align-items-end"),
            ], className="mb-2"),
            html.Div(id="own-token-message", className="mb-2"),
            dbc.Row([
                dbc.Col(dropdown(id="own-token-revoke-id", placeholder="Token om in te trekken"),
                        md=8),
                dbc.Col(dbc.Button("Intrekken", id="own-token-revoke", color="danger",
                                   outline=True, className="w-100"), md=4),
            ], className="mb-2"),
            html.Div(id="own-token-list"),
        ])),
    ])


def token_table(every, table_id: str):
    """Tokens as a table (never the token itself: only its first characters)."""
    rows = [html.Tr([html.Td(t.id), html.Td(t.user), html.Td(t.label or "–"),
                     html.Td(html.Code(t.prefix + "…")),
                     html.Td(fmt.moment(t.created_at)),
                     html.Td("ingetrokken " + fmt.moment(t.revoked_at)
                             if t.revoked_at else "actief")]) for t in every]
    if not rows:
        return html.Div("Nog geen tokens.", className="small text-body-secondary")
    return data_table([html.Thead(html.Tr([html.Th(h) for h in (
        "Nr.", "Gebruiker", "Omschrijving", "Begint met", "Aangemaakt", "Status")])),
        html.Tbody(rows)], size="sm", className=f"{table_id} token-table mb-0")


def own_log():
    return html.Div([
        html.H1("Mijn log", className="h3"),
        html.P("Alle keren dat u politiegegevens bekeek of downloadde, zoals vastgelegd in het "
               "protocol (Wet politiegegevens).", className="text-body-secondary"),
        html.Div(id="own-log-count", className="small mb-1"),
        html.A("Download als CSV", href="/mijn-log.csv", className="btn btn-outline-secondary mb-2"),
        log_grid("own-log-grid"),
    ])


def no_access():
    return html.Div([html.H1("Geen toegang", className="h3"),
                     dbc.Alert("U heeft geen toegang tot deze pagina.", color="warning")])
