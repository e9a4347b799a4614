"""The trends page: one data callback from the controls to both charts and the URL."""
from __future__ import annotations

from dash import Input, Output

from callbacks.guard import Served, data_callback, refused_page
from dashboard.auth import current_scope, get_db
from data.queries import performance
from data.queries import trends as q
from data.scope import OutOfScope
from data.stats import poisson_change
from data.disclosure import NotPublished
from data.queries import sources
from layouts import bronnen
from layouts import trends as layout

#: Trends' grains as a gemeente source's grains (a source has no quarters: per month).
SOURCE_GRAIN = {"week": "week", "maand": "month", "kwartaal": "month", "jaar": "year"}


def _codes(value) -> list[str]:
    """Gemeente codes from a dropdown value (a list, or one string); anything else is none."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v][:50]


def register(app) -> None:
    register_sources(app)

    @data_callback(app, "trends", [
        Output("trends-status", "children"),
        Output("trends-graph", "figure"),
        Output("trends-note", "children"),
        Output("trends-ytd", "figure"),
        Output("trends-ytd-note", "children"),
        Output("trends-url", "search"),
        Output("trends-compare-panel", "children"),
        Output("trends-performance-panel", "children"),
        Output("trends-areas-panel", "children"),
    ], [Input("trends-gemeenten", "value"), Input("trends-indicator", "value"),
        Input("trends-grain", "value"), Input("trends-measure", "value"),
        Input("trends-areas", "value"), Input("trends-compare", "value")])
    def fill(scope, gemeenten, indicator, grain, measure, areas, compare):
        con = get_db()
        requested = _codes(gemeenten)
        codes = q.resolve_gemeenten(scope=scope, requested=requested)  # OutOfScope: refusal
        area_codes = sorted(set(_codes(areas)))[:q.MAX_AREAS]
        q.resolve_areas(con, scope=scope, requested=area_codes)  # OutOfScope: refusal
        compare = [c for c in q.COMPARISONS if isinstance(compare, list) and c in compare]
        indicators = dict(q.indicator_options(con, scope=scope))
        indicator = indicator if isinstance(indicator, str) and indicator in indicators \
            else q.DEFAULT_INDICATOR
        grain = grain if isinstance(grain, str) and grain in q.GRAINS else "maand"
        measure = measure if isinstance(measure, str) and measure in layout.MEASURES \
            else "absoluut"
        trend = q.trend(con, scope=scope, gemeenten=codes, indicator=indicator, grain=grain)
        names = dict(q.gemeente_options(con, scope=scope))
        shown = [names[c] for c in requested if c in names]
        ytd_change = None
        if trend.ytd_through is not None:
            month = trend.ytd_through.month - 1
            ytd_change = poisson_change(trend.ytd["current"].iloc[month],
                                        trend.ytd["previous"].iloc[month])
        areas_part, area_rows = "", 0
        if area_codes:
            try:
                series = q.area_series(con, scope=scope, areas=area_codes, indicator=indicator,
                                       grain=grain)
                areas_part, area_rows = layout.areas_panel(series), len(series.series)
            except NotPublished as exc:  # the gemeente series is still shown
                areas_part = layout.areas_panel(None, str(exc))
        compare_part, compare_rows = "", 0
        if compare and len(codes) == 1:
            comparison = q.comparison(con, scope=scope, gemeente=codes[0], indicator=indicator,
                                      grain=grain)
            compare_part = layout.compare_panel(comparison, names.get(codes[0], codes[0]),
                                                compare)
            compare_rows = len(comparison.series) + (
                len(comparison.national.years) if "grootte" in compare else 0)
        elif compare:
            compare_part = layout.compare_panel(None, "", compare,
                                                "Kies één gemeente om te vergelijken.")
        clearance = performance.clearance(con, scope=scope, gemeenten=codes)
        performance_part = layout.clearance_card(clearance, [names.get(c, c) for c in codes])
        return Served(
            (layout.status(trend, shown, measure), layout.trend_figure(trend, measure),
             layout.note(trend), layout.ytd_figure(trend),
             layout.ytd_note(trend, ytd_change) if ytd_change else "",
             layout.search_for(sorted(set(requested)), indicator, grain, measure, area_codes,
                               compare),
             compare_part, performance_part, areas_part),
            rows=len(trend.series) + area_rows + compare_rows + len(clearance.years),
            filters={"gemeenten": list(codes), "indicator": indicator, "per": grain,
                     "maat": measure, "gebied": area_codes, "vergelijk": compare})


def register_sources(app) -> None:
    @data_callback(app, "trends/bronnen", [
        Output("trends-bron-note", "children"), Output("trends-bron-chart", "children"),
    ], [Input("trends-bron", "value"), Input("trends-grain", "value")])
    def source_chart(scope, key, grain):
        if key is None:
            return Served(("", ""), rows=0)
        owner, source, category = bronnen.parse_key(key)
        series = sources.source_series(get_db(), scope=scope, gm_code=owner, source=source,
                                       category=category,
                                       grain=SOURCE_GRAIN.get(grain, "month"))
        return Served((bronnen.series_note(series), bronnen.series_chart(series)),
                      rows=len(series), filters={"gemeente": owner, "bron": source,
                                                 "categorie": category, "per": grain})


def page(search):
    """The page for the router, with the controls set from the URL query string. Options list
    only what the scope allows; the data arrive through ``fill``. A link naming a gemeente
    outside the scope gets the refusal (logged) and no page at all: the dropdown would
    otherwise silently drop the unknown value and show the user's own area instead."""
    con, scope = get_db(), current_scope()
    state = layout.parse_search(search)
    try:
        q.resolve_gemeenten(scope=scope, requested=state["gemeente"])
        q.resolve_areas(con, scope=scope, requested=state["gebied"])
    except OutOfScope as exc:
        return layout.refused(refused_page("trends", search, exc))
    return layout.trends(q.gemeente_options(con, scope=scope),
                         q.indicator_options(con, scope=scope), state,
                         q.area_options(con, scope=scope),
                         bronnen.source_options(sources.list_sources(con, scope=scope)))


def validation_page():
    return layout.trends([], [], layout.parse_search(""), [])
