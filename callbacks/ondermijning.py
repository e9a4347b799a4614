"""The integraal ondermijningsbeeld (``/ondermijning``): three data views.

* ``ondermijning`` — key figures, trends, map, wijk table, duiding, signals of the gemeente
  (from the URL or the selector, checked against the scope);
* ``ondermijning/incidenten`` — the incident list (detail 2 and up; the query refuses less);
* ``ondermijning/duiding`` — a teamchef saves a new duiding (anyone else is refused).
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State

from callbacks.guard import Served, data_callback, refused_page
from dashboard.auth import current_scope, current_user, get_db, get_state
from data.periods import Period
from data.products import ondermijning as product
from data.queries import ondermijning as q
from data.queries import coverage
from data.queries.trends import chosen_gemeente, gemeente_options
from data.scope import OutOfScope
from layouts import ondermijning as layout


def _gemeente(scope, con, requested) -> str:
    return chosen_gemeente(con, scope=scope, requested=requested)[0]


def _may_write() -> bool:
    return getattr(current_user(), "role", None) in q.DUIDING_ROLES


def page(search):
    con, scope = get_db(), current_scope()
    try:
        gemeente = _gemeente(scope, con, layout.parse_search(search))
    except OutOfScope as exc:
        return layout.refused(refused_page("ondermijning", search, exc))
    return layout.page(gemeente_options(con, scope=scope), gemeente, _may_write())


def validation_page():
    return layout.page([], "", True)


def register(app) -> None:
    @data_callback(app, "ondermijning", [
        Output("ond-status", "children"),
        Output("ond-kerncijfers", "children"),
        Output("ond-trends", "children"),
        Output("ond-kaart", "children"),
        Output("ond-wijken", "children"),
        Output("ond-signalen", "children"),
        Output("ond-url", "search"),
    ], [Input("ond-gemeente", "value")])
    def fill(scope, requested):
        con = get_db()
        gemeente, name = chosen_gemeente(con, scope=scope, requested=requested)
        picture = q.picture(con, scope=scope, gemeente=gemeente)
        if picture.start is None:
            wijken = kaart = layout.html.P("Geen gegevens.")
        else:
            period = Period(picture.start, picture.end)
            wijken = layout.wijk_table(product.wijk_section(con, scope, gemeente, name, period,
                                                            "").tables[0])
            area = _area(con, scope, gemeente)
            kaart = layout.map_graph(product.map_section(con, scope, area, period))
        signals = (q.gemeente_signals(con, scope=scope, gemeente=gemeente,
                                      reference=picture.end)
                   if picture.start is not None else None)
        return Served(
            (layout.status(picture, name), layout.cards(picture), layout.trends(picture),
             kaart, wijken, layout.signals(signals, name),
             layout.search_for(gemeente)),
            rows=len(picture.figures),
            filters={"gemeente": gemeente,
                     "indicatoren": [f.indicator.key for f in picture.figures]})

    @data_callback(app, "ondermijning/incidenten", [Output("ond-incidenten", "children")],
                   [Input("ond-gemeente", "value")])
    def incidents(scope, requested):
        con = get_db()
        gemeente = _gemeente(scope, con, requested)
        if scope.detail < 2:  # the page's own request; a forged one is refused by the query
            return Served((dbc.Alert(product.LIST_DETAIL_NOTE.replace("dit rapport", "deze "
                                                                     "pagina"),
                                     color="secondary", className="mb-0",
                                     id="ond-geen-lijst"),), 0, {"gemeente": gemeente})
        picture_end = coverage.newest_month(con, scope=scope)  # the picture's end
        if picture_end is None:
            return Served((layout.html.P("Geen gegevens."),), 0, {"gemeente": gemeente})
        period = product.period_of(picture_end)
        section = q.incident_rows(con, scope=scope, gemeente=gemeente, period=period)
        return Served((layout.incident_table(section),), len(section.tables[0].rows),
                      {"gemeente": gemeente, "van": period.start.isoformat(),
                       "tot": period.end.isoformat()})

    @data_callback(app, "ondermijning/duiding/lezen", [Output("ond-duiding", "children")],
                   [Input("ond-gemeente", "value"), Input("ond-duiding-signaal", "data")])
    def read(scope, requested, _signal):
        gemeente = _gemeente(scope, get_db(), requested)
        item = q.latest_duiding(get_state(), scope=scope, gemeente=gemeente)
        return Served((layout.duiding(item),), int(item is not None), {"gemeente": gemeente})

    @data_callback(app, "ondermijning/duiding",
                   [Output("ond-duiding-melding", "children"),
                    Output("ond-duiding-signaal", "data")],
                   [Input("ond-duiding-opslaan", "n_clicks")],
                   [State("ond-gemeente", "value"), State("ond-duiding-tekst", "value")],
                   prevent_initial_call=True)
    def save(scope, clicks, requested, text):
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update, dash.no_update), 0, {})
        con, state = get_db(), get_state()
        gemeente = _gemeente(scope, con, requested)
        try:
            item = q.write_duiding(state, scope=scope, user=current_user(), gemeente=gemeente,
                                   text=text)
        except q.DuidingError as exc:
            return Served((dbc.Alert(str(exc), color="warning", className="mb-0"),
                           dash.no_update), 0, {"gemeente": gemeente, "opgeslagen": False})
        return Served((dbc.Alert("Duiding opgeslagen.", color="success", className="mb-0",
                                 id="ond-duiding-opgeslagen"), item.at), 1,
                      {"gemeente": gemeente, "opgeslagen": True, "tekens": len(item.text)})


def _area(con, scope, gemeente):
    from data.queries.products import product_area

    return product_area(con, scope=scope, area=gemeente)
