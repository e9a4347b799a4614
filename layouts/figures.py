"""Figure and table builders: data frames in, Dash components out. No queries here."""
from __future__ import annotations

import textwrap
from numbers import Real

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import html

from layouts import format as fmt

#: Colour-blind-safe accents (Okabe-Ito).
BLUE, ORANGE, GREY = "#0072B2", "#E69F00", "#7f7f7f"

#: The one chart configuration of every ``dcc.Graph``: Dutch, with "download as PNG", and no
#: button or link that sends a chart to an outside service. plotly.js 3 shows a "Share chart"
#: button (uploads the figure's data to Plotly Cloud, ``plotlyServerURL``) unless
#: ``showSendToCloud`` is False; older versions had "Edit in Chart Studio", the "Produced with
#: Plotly" logo link and ``showLink``. All off, the server URL blank, the buttons removed by
#: every name they have had.
GRAPH_CONFIG = {
    "locale": "nl",
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "topojsonURL": "",  # map traces' outlines come from cdn.plot.ly: none drawn, none fetched
    "modeBarButtonsToRemove": ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"],
}
#: Small charts without a toolbar (sparklines, presentation slides); same safe settings.
STATIC_GRAPH_CONFIG = {**GRAPH_CONFIG, "displayModeBar": False}


#: What a figure that no source covers shows, everywhere (never 0).
NO_DATA = "geen gegevens"

#: Below this largest value a count axis gets a tick at every whole number: Plotly's own
#: steps on a small range are fractional (0, 0.5, 1, ... printed by ",d" as 0, 1, 1, 2, 2).
#: From here on its steps (2, 5, 10, ...) are whole numbers anyway.
WHOLE_TICKS_BELOW = 10


def _top(fig: go.Figure, axis: str) -> float:
    """The largest value on ``axis`` (stacked bars: the sum of the traces' largest, an upper
    bound of the highest stack)."""
    tops = []
    for trace in fig.data:
        values = getattr(trace, axis[0], None)
        numbers = [float(v) for v in (() if values is None else values)
                   if isinstance(v, Real) and not isinstance(v, bool) and v == v]  # not NaN
        tops.append(max(numbers, default=0.0))
    if fig.layout.barmode == "stack":
        return sum(t for t in tops if t > 0)
    return max(tops, default=0.0)


def whole_number_axis(fig: go.Figure, axis: str = "yaxis") -> go.Figure:
    """Make ``axis`` of a figure of counts show whole numbers only (the one place for it):
    ``,d`` labels and, on a small range, a tick at every whole number; an axis of zeros
    only runs 0 to 1 rather than around 0."""
    top = _top(fig, axis)
    settings = {"tickformat": ",d", "rangemode": "tozero"}
    if top < WHOLE_TICKS_BELOW:
        settings.update(tickmode="linear", tick0=0, dtick=1)
    if top <= 0:
        settings["range"] = [0, 1]
    fig.update_layout({axis: settings})
    return fig


def message_figure(text: str) -> go.Figure:
    """A chart area that says ``text`` instead of drawing empty axes (no data, only zeros, or
    nothing this user may see); the text is wrapped (Plotly does not), so keep it short."""
    fig = go.Figure()
    fig.update_layout(
        xaxis=dict(visible=False), yaxis=dict(visible=False), plot_bgcolor="white",
        paper_bgcolor="white", margin=dict(l=12, r=12, t=12, b=12),
        annotations=[dict(text="<br>".join(textwrap.wrap(text, 44)), showarrow=False,
                          xref="paper", yref="paper", x=0.5, y=0.5,
                          font=dict(size=15, color="#343a40"))])
    return fig


def key_figure_cards(figures) -> list:
    """One card per key figure: count in the period and change against a year earlier; no
    figure ("geen gegevens") where no source covers the period, then the newest year that
    has one."""
    cards = []
    for f in figures:
        if f.current is None:
            body = [html.Div(f.title, className="key-figure-title"),
                    html.Div(NO_DATA, className="key-figure-value key-figure-none",
                             **{"data-group": f.group, "data-value": ""}),
                    html.Div(f.reason.replace(NO_DATA, "").strip().capitalize()
                             or "Geen bron voor deze periode", className="small")]
            if f.latest_year is not None:
                body.append(html.Div(f"Nieuwste jaarcijfer: {f.latest_year}: "
                                     f"{fmt.integer(f.latest_year_count)}",
                                     className="key-figure-latest small",
                                     **{"data-year": str(f.latest_year),
                                        "data-value": str(f.latest_year_count)}))
            cards.append(dbc.Card(dbc.CardBody(body), className="key-figure"))
            continue
        change = f.change_pct
        tone = "text-body-secondary" if change is None else ("text-danger" if change > 0 else "text-success")
        previous = NO_DATA if f.previous is None else fmt.integer(f.previous)
        body = [
            html.Div(f.title, className="key-figure-title"),
            html.Div(fmt.integer(f.current), className="key-figure-value",
                     **{"data-group": f.group, "data-value": str(f.current)}),
            html.Div([html.Span(fmt.percent_change(change), className=tone),
                      html.Span(f" t.o.v. vorig jaar ({previous})")],
                     className="key-figure-change small"),
        ]
        if f.source and f.source != "politieregistratie (incidenten)":
            body.append(html.Div(f"Bron: {f.source}", className="small text-body-secondary"))
        cards.append(dbc.Card(dbc.CardBody(body), className="key-figure"))
    return cards


def monthly_trend(frame) -> go.Figure:
    """Bars per month; provisional (still incomplete) months hatched and labelled 'voorlopig'."""
    fig = go.Figure()
    ticks = []
    if frame is not None and not frame.empty:
        labels = [fmt.month(m) for m in frame["month"]]
        frame = frame.assign(label=labels, count=frame["count"].astype(object).where(
            frame["count"].notna(), None))  # a month without a source: a gap, not 0
        final = frame[~frame["provisional"]]
        provisional = frame[frame["provisional"]]
        fig.add_bar(x=final["month"], y=final["count"], name="Geregistreerd", marker_color=BLUE,
                    customdata=final["label"], hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>")
        if not provisional.empty:
            fig.add_bar(x=provisional["month"], y=provisional["count"], name="Voorlopig",
                        marker=dict(color="rgba(0,114,178,0.35)", pattern_shape="/"),
                        customdata=provisional["label"],
                        hovertemplate="%{customdata}: %{y:,.0f} (voorlopig)<extra></extra>")
        ticks = [m for m in frame["month"] if m.month in (1, 7)]
    fig.update_layout(
        margin=dict(l=48, r=12, t=8, b=36), barmode="overlay", separators=",.",
        legend=dict(orientation="h", y=1.08, x=0), plot_bgcolor="white",
        xaxis=dict(showgrid=False, tickvals=ticks,
                   ticktext=[f"{fmt.MONTHS[m.month - 1]}<br>{m.year}" for m in ticks]),
        yaxis=dict(gridcolor="#e5e5e5"))
    return whole_number_axis(fig)


def data_table(children, **kwargs) -> dbc.Table:
    """Every table of the pages: a ``dbc.Table`` inside its own sideways-scrolling box
    (Bootstrap's ``.table-responsive``), so on a narrow screen (a phone) a wide table scrolls
    within the page instead of cutting columns off or widening the page."""
    return dbc.Table(children, responsive=True, **kwargs)


def gemeente_table(frame) -> dbc.Table:
    header = html.Thead(html.Tr([html.Th("Gemeente"), html.Th("Inwoners", className="text-end"),
                                 html.Th("Misdrijven", className="text-end"),
                                 html.Th("Per 1.000", className="text-end")]))
    body = html.Tbody([
        html.Tr([html.Td(row.name), html.Td(fmt.integer(row.inwoners), className="text-end"),
                 html.Td(NO_DATA if pd.isna(row.misdrijven) else fmt.integer(row.misdrijven),
                         className="text-end", title=row.reason or None),
                 html.Td(NO_DATA if pd.isna(row.per_1000) else fmt.decimal(row.per_1000),
                         className="text-end")],
                **{"data-code": row.code})
        for row in frame.itertuples()])
    return data_table([header, body], size="sm", hover=True, className="mb-0 gemeente-table")
