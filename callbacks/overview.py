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
        data = cached("overview", lambda: overview_data(get_db(), scope), scope=scope)
        period = data["period"]
        if period is None:  # e.g. the beheerder, who sees no police data at all
            user = current_user()
            sentence = (BEHEERDER_SENTENCE if user and user.role == "beheerder"
                        else "Geen gegevens beschikbaar voor uw gebied.")
            short = ("Geen politiecijfers voor de rol beheerder." if user and
                     user.role == "beheerder" else "Geen gegevens voor uw gebied.")
            return Served((sentence, [], figures.message_figure(short), "",
                           html.Div(short, className="text-body-secondary")), rows=0)
        if data["yearly"]:  # no monthly data at all: the newest year some source covers
            subtitle = (f"{scope.label or 'Uw gebied'} · nieuwste jaar met gegevens: "
                        f"{period.start.year} (geen maandcijfers)")
        else:
            subtitle = (f"{scope.label or 'Uw gebied'} · laatste 12 volledige maanden: "
                        f"{fmt.period(period.start, period.end)}")
        trend, table = data["trend"], data["table"]
        note = ("Lichte, gearceerde maanden zijn voorlopig: late registraties kunnen nog volgen."
                if trend["provisional"].any() else "")
        if trend.empty:
            note = ("Geen maandcijfers van alle misdrijven voor deze periode: geen gegevens "
                    "(de geladen bronnen hebben alleen jaarcijfers of alleen woninginbraak).")
        figure = (figures.message_figure("Geen maandcijfers: geen gegevens.") if trend.empty
                  else figures.monthly_trend(trend))
        return Served(
            (subtitle, figures.key_figure_cards(data["key_figures"]),
             figure, note, figures.gemeente_table(table)),
            rows=len(table),
            filters={"periode": [str(period.start), str(period.end)]})


def overview_data(con, scope) -> dict:
    """The overview's figures for ``scope``: the period (the last 12 complete months, else the
    newest year some source covers; None without any data), the monthly trend over 36 months,
    the key figures and the per-gemeente table. They depend on the data and the scope only, so
    the callback keeps them per data version and scope (``dashboard.caching.cached``): the
    Overzicht is the page every login opens."""
    period, yearly = q.last_complete_months(con, scope=scope, months=12), False
    if period is None:
        years = coverage.covered_years(con, scope=scope)
        if not years:
            return {"period": None}
        period, yearly = Period(date(years[0], 1, 1), date(years[0] + 1, 1, 1)), True
    trend_period = Period(period.shifted(-24).start, period.end)
    return {"period": period, "yearly": yearly,
            "trend": q.monthly_series(con, scope=scope, group="alle_misdrijven",
                                      period=trend_period),
            "table": q.gemeente_table(con, scope=scope, period=period),
            "key_figures": q.key_figures(con, scope=scope, period=period)}
