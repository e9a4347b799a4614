"""The woninginbraakmonitor (``/trends/woninginbraak``): one data callback per gemeente."""
from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from callbacks.guard import Served, data_callback
from dashboard.auth import current_scope, get_db
from data.queries import burglary as q
from data.scope import OutOfScope, ensure_gemeente
from layouts import burglary as layout
from layouts import format as fmt


def register(app) -> None:
    @data_callback(app, "trends/woninginbraak", [
        Output("burglary-status", "children"),
        Output("burglary-attempts", "figure"),
        Output("burglary-wijken", "children"),
        Output("burglary-heatmap", "children"),
    ], [Input("burglary-gemeente", "value")])
    def fill(scope, gemeente):
        if not isinstance(gemeente, str):
            gemeente = min(scope.gemeenten) if not scope.empty else ""
        if gemeente == layout.ALL and not scope.empty:
            gemeenten = sorted(scope.gemeenten)  # every gemeente in scope together
        else:
            ensure_gemeente(scope, gemeente)
            gemeenten = [gemeente]
        con = get_db()
        period = q.last_complete_months(con, scope=scope, months=12)
        if period is None:
            return Served(("Geen gegevens beschikbaar.", layout.attempts_figure(None, 0), "", ""),
                          rows=0)
        year = period.end.year if period.end.month > 1 else period.end.year - 1
        monthly = q.attempts_by_month(con, scope=scope, gemeenten=gemeenten,
                                      start=date(year - 1, 1, 1), end=period.end)
        if len(gemeenten) > 1:
            wijken, wijk_part = None, html.Div("Kies één gemeente voor de wijkcijfers.",
                                               className="text-body-secondary")
        elif q.has_incidents(con, scope=scope, gemeenten=gemeenten):
            wijken = q.wijk_changes(con, scope=scope, gemeente=gemeente, period=period)
            wijk_part = layout.wijk_table(wijken)
        else:
            wijken, wijk_part = None, html.Div(
                "Wijkcijfers zijn alleen beschikbaar als incidenten zijn ingelezen.",
                className="text-body-secondary")
        try:
            hours = q.weekday_hour(con, scope=scope, gemeenten=gemeenten, period=period)
            heat = _graph(layout.heatmap(hours)) if hours["count"].sum() else html.Div(
                "Geen incidenttijden beschikbaar (alleen maandcijfers ingelezen).",
                className="text-body-secondary")
        except OutOfScope:
            heat = dbc.Alert("Tijdstippen komen uit incidentgegevens; daarvoor is detailniveau 2 "
                             "nodig. Het afsprakenprofiel van uw gemeente staat dat niet toe.",
                             color="secondary", className="mb-0 burglary-no-detail")
        # The bars are calendar years (last year and this year up to the newest complete
        # month); the wijken and the day x hour pattern are the last 12 complete months.
        last = fmt.MONTHS_LONG[(period.end.month - 2) % 12]
        status = [html.Div(f"Per maand: de kalenderjaren {year - 1} en {year}"
                           + ("" if period.end.year > year else f" (t/m {last})") + ".",
                           className="burglary-years"),
                  html.Div("Laatste 12 volledige maanden (wijken en tijdstippen): "
                           f"{fmt.period(period.start, period.end)}.",
                           className="burglary-period")]
        if monthly["split_hidden"].any():
            status.append(html.Div(
                "In maanden met een grijze balk staat alleen het totaal: uit de uitsplitsing in "
                "voltooid en poging zou met de openbare buurtcijfers af te leiden zijn hoe het in "
                "één buurt zat.", className="small burglary-split-hidden"))
        status = html.Div(status, className="text-body-secondary", **{"data-gemeente": gemeente})
        return Served((status, layout.attempts_figure(monthly, year), wijk_part, heat),
                      rows=len(monthly) + (0 if wijken is None else len(wijken)),
                      filters={"gemeente": gemeente,
                               "periode": [str(period.start), str(period.end)]})


def _graph(figure):
    from dash import dcc
    return dcc.Graph(id="burglary-heatmap-graph", figure=figure, config=layout.GRAPH_CONFIG,
                     style={"height": "300px"})


def page():
    con, scope = get_db(), current_scope()
    from data.queries.trends import gemeente_options
    return layout.monitor(gemeente_options(con, scope=scope))


def validation_page():
    return layout.monitor([])
