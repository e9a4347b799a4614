"""The landing page: key figures of the last 12 complete months for everything in scope."""
from __future__ import annotations

from dash import Input, Output

from dashboard.auth import current_scope, get_db
from data.queries import overview as q
from layouts import figures
from layouts import format as fmt


def register(app) -> None:
    @app.callback(
        Output("overview-subtitle", "children"),
        Output("overview-cards", "children"),
        Output("overview-trend", "figure"),
        Output("overview-trend-note", "children"),
        Output("overview-gemeenten", "children"),
        Input("overview-cards", "id"),
    )
    def fill(_):
        con, scope = get_db(), current_scope()
        period = q.last_complete_months(con, scope=scope, months=12)
        if period is None:
            empty = "Geen gegevens beschikbaar voor uw gebied."
            return empty, [], figures.monthly_trend(None), "", ""
        trend_period = q.Period(period.shifted(-24).start, period.end)
        subtitle = f"{scope.label or 'Uw gebied'} · laatste 12 volledige maanden: " \
                   f"{fmt.period(period.start, period.end)}"
        trend = q.monthly_series(con, scope=scope, group="alle_misdrijven", period=trend_period)
        note = ("Lichte, gearceerde maanden zijn voorlopig: late registraties kunnen nog volgen."
                if trend["provisional"].any() else "")
        return (subtitle,
                figures.key_figure_cards(q.key_figures(con, scope=scope, period=period)),
                figures.monthly_trend(trend), note,
                figures.gemeente_table(q.gemeente_table(con, scope=scope, period=period)))
