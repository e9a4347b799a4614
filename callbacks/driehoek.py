"""The driehoeksmonitor and its presentation mode: one data callback each.

The indicators come from the gemeente's agreement profile (``data.accounts``); the gemeente
from the URL or the selector, checked against the scope (OutOfScope -> refusal, no data).
"""
from __future__ import annotations

from datetime import date

import flask
from dash import Input, Output, State, ctx

from callbacks.guard import Served, data_callback, refusal
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import protocol
from data.accounts import get_profile
from data.queries import driehoek as q
from data.queries import performance
from data.queries.trends import chosen_gemeente, gemeente_options
from data.scope import OutOfScope
from data.queries import sources
from layouts import bronnen
from layouts import driehoek as layout


def register(app) -> None:
    @data_callback(app, "driehoek", [
        Output("driehoek-status", "children"),
        Output("driehoek-cards", "children"),
        Output("driehoek-present", "href"),
        Output("driehoek-url", "search"),
        Output("driehoek-performance", "children"),
    ], [Input("driehoek-gemeente", "value")])
    def fill(scope, requested):
        con = get_db()
        gemeente, name = chosen_gemeente(con, scope=scope, requested=requested)
        profile = get_profile(get_state(), gemeente)
        monitor = q.monitor(con, scope=scope, gemeente=gemeente, indicators=profile.driehoek)
        clearance = performance.clearance(con, scope=scope, gemeenten=(gemeente,))
        return Served(
            (layout.status(monitor, name), layout.cards(monitor),
             layout.presentation_href(gemeente), layout.driehoek_search(gemeente),
             layout.performance_line(clearance)),
            rows=len(monitor.indicators) + (clearance.latest() is not None),
            filters={"gemeente": gemeente, "indicatoren": [i.code for i in monitor.indicators]})

    @data_callback(app, "driehoek/bronnen", [Output("driehoek-bronnen", "children")],
                   [Input("driehoek-gemeente", "value")])
    def source_totals(scope, requested):
        con = get_db()
        gemeente, name = chosen_gemeente(con, scope=scope, requested=requested)
        totals = sources.source_totals(con, scope=scope, gm_code=gemeente,
                                       reference=date.today().replace(day=1))
        return Served((bronnen.totals_section(totals, name),), rows=len(totals),
                      filters={"gemeente": gemeente})

    @data_callback(app, "driehoek/presentatie", [
        Output("pres-slide", "children"),
        Output("pres-counter", "children"),
        Output("pres-url", "search"),
        Output("pres-close", "href"),
    ], [Input("pres-prev", "n_clicks"), Input("pres-next", "n_clicks"),
        Input("pres-auto", "n_intervals"), Input("pres-refresh", "n_intervals"),
        Input("pres-auto-choice", "value")],
        [State("pres-url", "search")])
    def show(scope, _prev, _next, _auto, _refresh, auto, search):
        con = get_db()
        state = layout.parse_search(search)
        state["auto"] = layout.auto_choice(auto, state["auto"])  # the page's choice, in the URL
        gemeente, name = chosen_gemeente(con, scope=scope, requested=state["gemeente"])
        codes = q.known_indicators(con, scope=scope,
                                   codes=get_profile(get_state(), gemeente).driehoek)
        dia = state["dia"]
        step = {"pres-next": 1, "pres-auto": 1, "pres-prev": -1}.get(ctx.triggered_id, 0)
        if codes:
            dia = (min(dia, len(codes)) - 1 + step) % len(codes) + 1
        item = (q.indicator(con, scope=scope, gemeente=gemeente, code=codes[dia - 1])
                if codes else None)
        href = layout.presentation_href(gemeente, dia, state["auto"])
        return Served(
            (layout.slide(item, name), f"{dia} / {len(codes)}",
             href.split("/presentatie", 1)[1], "/driehoek" + layout.driehoek_search(gemeente)),
            rows=1 if item is not None else 0,
            filters={"gemeente": gemeente, "dia": dia,
                     "indicator": codes[dia - 1] if codes else None})

    # The auto-advance timer follows the choice on the page, in the browser.
    app.clientside_callback(
        """function (value) {
            var seconds = parseInt(value, 10) || 0;
            return [Math.max(seconds, 1) * 1000, seconds === 0];
        }""",
        Output("pres-auto", "interval"), Output("pres-auto", "disabled"),
        Input("pres-auto-choice", "value"), prevent_initial_call=True)


def _refuse(exc, search, view):
    protocol.record(get_state(), user=current_user(), scope=current_scope(), view=view,
                    filters={"inputs": [str(search)[:200]]}, rows=0,
                    client=flask.request.remote_addr, outcome="refused", detail=exc.detail)


def page(search):
    """The monitor for the router, on the gemeente from the URL (default: the first in scope).
    A link naming a gemeente outside the scope gets the refusal (logged) and no page."""
    con, scope = get_db(), current_scope()
    state = layout.parse_search(search)
    try:
        gemeente = chosen_gemeente(con, scope=scope, requested=state["gemeente"])[0]
    except OutOfScope as exc:
        _refuse(exc, search, "driehoek")
        return layout.refused(refusal(str(exc)))
    return layout.driehoek(gemeente_options(con, scope=scope), gemeente)


def presentation_page(search):
    con, scope = get_db(), current_scope()
    state = layout.parse_search(search)
    try:
        chosen_gemeente(con, scope=scope, requested=state["gemeente"])
    except OutOfScope as exc:
        _refuse(exc, search, "driehoek/presentatie")
        return layout.presentation_refused(refusal(str(exc)))
    return layout.presentation(state)


def validation_pages():
    return [layout.driehoek([], ""), layout.presentation(layout.parse_search(""))]
