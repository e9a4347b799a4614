"""The landing page: key figures of the last 12 complete months for everything in scope."""
from __future__ import annotations

from datetime import date

from dash import Input, Output, html

from callbacks.guard import Served, data_callback
from dashboard.auth import current_user, get_db
from dashboard.caching import cached
from data.periods import Period
from data.queries import coverage
from data.queries import overview as q
from layouts import figures
from layouts import format as fmt


#: What the beheerder, who manages accounts but sees no police data, reads on the overview.
BEHEERDER_SENTENCE = ("Als beheerder ziet u geen politiecijfers. Accounts, afsprakenprofielen "
                      "en tokens beheert u onder Beheer (menu rechtsboven).")


def register(app) -> None:
    @data_callback(app, "overzicht", [
        Output("overview-subtitle", "children"),
        Output("overview-cards", "children"),
        Output("overview-trend", "figure"),
        Output("overview-trend-note", "children"),
        Output("overview-gemeenten", "children"),
    ], [Input("overview-cards", "id")])
    def fill(scope, _):
        con = get_db()
        period = q.last_complete_months(con, scope=scope, months=12)
        subtitle = (f"{scope.label or 'Uw gebied'} · laatste 12 volledige maanden: "
                    f"{fmt.period(period.start, period.end)}" if period else "")
        if period is None:  # no monthly data at all: the newest year some source covers
            years = coverage.covered_years(con, scope=scope)
            if not years:  # e.g. the beheerder, who sees no police data at all
                user = current_user()
                sentence = (BEHEERDER_SENTENCE if user and user.role == "beheerder"
                            else "Geen gegevens beschikbaar voor uw gebied.")
                short = ("Geen politiecijfers voor de rol beheerder." if user and
                         user.role == "beheerder" else "Geen gegevens voor uw gebied.")
                return Served((sentence, [], figures.message_figure(short), "",
                               html.Div(short, className="text-body-secondary")), rows=0)
            period = Period(date(years[0], 1, 1), date(years[0] + 1, 1, 1))
            subtitle = (f"{scope.label or 'Uw gebied'} · nieuwste jaar met gegevens: "
                        f"{years[0]} (geen maandcijfers)")
        trend, table, key_figures = cached(
            "overview", lambda: _figures(con, scope, period), scope=scope, extra=(period,))
        note = ("Lichte, gearceerde maanden zijn voorlopig: late registraties kunnen nog volgen."
                if trend["provisional"].any() else "")
        if trend.empty:
            note = ("Geen maandcijfers van alle misdrijven voor deze periode: geen gegevens "
                    "(de geladen bronnen hebben alleen jaarcijfers of alleen woninginbraak).")
        figure = (figures.message_figure("Geen maandcijfers: geen gegevens.") if trend.empty
                  else figures.monthly_trend(trend))
        return Served(
            (subtitle, figures.key_figure_cards(key_figures),
             figure, note, figures.gemeente_table(table)),
            rows=len(table),
            filters={"periode": [str(period.start), str(period.end)]})


def _figures(con, scope, period: Period) -> tuple:
    """The page's figures for ``period`` (cached per scope, period and data version): the
    monthly series of the period and the 24 months before it, the gemeente table and the key
    figures."""
    trend_period = Period(period.shifted(-24).start, period.end)
    return (q.monthly_series(con, scope=scope, group="alle_misdrijven", period=trend_period),
            q.gemeente_table(con, scope=scope, period=period),
            q.key_figures(con, scope=scope, period=period))
