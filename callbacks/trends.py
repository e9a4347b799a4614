"""The trends page: one data callback from the controls to both charts and the URL."""
from __future__ import annotations

import flask
from dash import Input, Output

from callbacks.guard import Served, data_callback, refusal
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import protocol
from data.queries import trends as q
from data.scope import OutOfScope
from data.stats import poisson_change
from layouts import trends as layout


def _codes(value) -> list[str]:
    """Gemeente codes from a dropdown value (a list, or one string); anything else is none."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v][:50]


def register(app) -> None:
    @data_callback(app, "trends", [
        Output("trends-status", "children"),
        Output("trends-graph", "figure"),
        Output("trends-note", "children"),
        Output("trends-ytd", "figure"),
        Output("trends-ytd-note", "children"),
        Output("trends-url", "search"),
    ], [Input("trends-gemeenten", "value"), Input("trends-indicator", "value"),
        Input("trends-grain", "value"), Input("trends-measure", "value")])
    def fill(scope, gemeenten, indicator, grain, measure):
        con = get_db()
        requested = _codes(gemeenten)
        codes = q.resolve_gemeenten(scope=scope, requested=requested)  # OutOfScope: refusal
        indicators = dict(q.indicator_options(con, scope=scope))
        indicator = indicator if isinstance(indicator, str) and indicator in indicators \
            else q.DEFAULT_INDICATOR
        grain = grain if grain in q.GRAINS else "maand"
        measure = measure if measure in layout.MEASURES else "absoluut"
        trend = q.trend(con, scope=scope, gemeenten=codes, indicator=indicator, grain=grain)
        names = dict(q.gemeente_options(con, scope=scope))
        shown = [names[c] for c in requested if c in names]
        ytd_change = None
        if trend.ytd_through is not None:
            month = trend.ytd_through.month - 1
            ytd_change = poisson_change(trend.ytd["current"].iloc[month],
                                        trend.ytd["previous"].iloc[month])
        return Served(
            (layout.status(trend, shown, measure), layout.trend_figure(trend, measure),
             layout.note(trend), layout.ytd_figure(trend),
             layout.ytd_note(trend, ytd_change) if ytd_change else "",
             layout.search_for(sorted(set(requested)), indicator, grain, measure)),
            rows=len(trend.series),
            filters={"gemeenten": list(codes), "indicator": indicator, "per": grain,
                     "maat": measure})


def page(search):
    """The page for the router, with the controls set from the URL query string. Options list
    only what the scope allows; the data arrive through ``fill``. A link naming a gemeente
    outside the scope gets the refusal (logged) and no page at all: the dropdown would
    otherwise silently drop the unknown value and show the user's own area instead."""
    con, scope = get_db(), current_scope()
    state = layout.parse_search(search)
    try:
        q.resolve_gemeenten(scope=scope, requested=state["gemeente"])
    except OutOfScope as exc:
        protocol.record(get_state(), user=current_user(), scope=scope, view="trends",
                        filters={"inputs": [str(search)[:200]]}, rows=0,
                        client=flask.request.remote_addr, outcome="refused", detail=exc.detail)
        return layout.refused(refusal(str(exc)))
    return layout.trends(q.gemeente_options(con, scope=scope),
                         q.indicator_options(con, scope=scope), state)


def validation_page():
    return layout.trends([], [], layout.parse_search(""))
