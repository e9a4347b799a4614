"""The driehoeksmonitor (``/driehoek``) and its presentation mode (``/presentatie``).

Page state lives in the URL: ``/driehoek?gemeente=GM0001`` and
``/presentatie?gemeente=GM0001&dia=3&auto=30`` (slide 3, advancing every 30 seconds), so a
reload or a shared link opens the same screen; the server re-applies the scope of whoever opens
it. Builders take the dataclasses of ``data.queries.driehoek``; no queries here.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from layouts import format as fmt
from layouts import trends as trends_layout
from layouts.controls import dropdown
from layouts.figures import BLUE, GREY, ORANGE, STATIC_GRAPH_CONFIG, whole_number_axis

#: Auto-advance choices (seconds; 0 = off) and the data refresh of the presentation.
AUTO_CHOICES = (0, 15, 30, 60)
AUTO_LABELS = {0: "Uit", 15: "15 s", 30: "30 s", 60: "60 s"}
REFRESH_MS = 5 * 60 * 1000


# -- URL state ---------------------------------------------------------------------------------


def parse_search(search) -> dict:
    """{'gemeente': code or '', 'dia': int >= 1, 'auto': seconds}. Values are not trusted: the
    callbacks check the gemeente against the scope and clamp the slide."""
    state = {"gemeente": "", "dia": 1, "auto": 0}
    if not isinstance(search, str):
        return state
    query = parse_qs(search.lstrip("?"))
    if query.get("gemeente"):
        state["gemeente"] = query["gemeente"][0][:20]
    try:
        state["dia"] = max(1, min(int(query.get("dia", ["1"])[0]), 999))
    except ValueError:
        pass
    try:
        auto = int(query.get("auto", ["0"])[0])
        state["auto"] = auto if auto in AUTO_CHOICES else 0
    except ValueError:
        pass
    return state


def driehoek_search(gemeente: str) -> str:
    return "?" + urlencode({"gemeente": gemeente})


def presentation_href(gemeente: str, dia: int = 1, auto: int = 0) -> str:
    return "/presentatie?" + urlencode({"gemeente": gemeente, "dia": dia, "auto": auto})


def trends_href(gemeente: str, code: str) -> str:
    return "/trends" + trends_layout.search_for([gemeente], code, "maand", "absoluut")


# -- the monitor page --------------------------------------------------------------------------


def driehoek(gemeenten: list[tuple[str, str]], chosen: str):
    """The page; the gemeente selector only shows when the scope has several."""
    selector_style = {} if len(gemeenten) > 1 else {"display": "none"}
    return html.Div([
        dcc.Location(id="driehoek-url", refresh=False),
        html.Div([
            html.Div([
                html.H1("Driehoeksmonitor", className="h3 mb-0"),
                html.Div("De indicatoren uit het afsprakenprofiel van de gemeente: laatste 12 "
                         "volledige maanden tegen dezelfde maanden een jaar eerder.",
                         className="text-body-secondary"),
            ]),
            dbc.Button("Presenteren", id="driehoek-present", href=presentation_href(chosen),
                       color="primary", className="ms-auto align-self-start"),
        ], className="d-flex gap-3 mb-3"),
        html.Div([dbc.Label("Gemeente", html_for="driehoek-gemeente"),
                  dropdown(id="driehoek-gemeente", clearable=False,
                               options=[{"label": n, "value": c} for c, n in gemeenten],
                               value=chosen, style={"maxWidth": "24rem"})],
                 className="mb-3", style=selector_style),
        html.Div(id="driehoek-status", className="mb-2"),
        dcc.Loading(html.Div(id="driehoek-cards", className="driehoek-cards"), type="dot"),
        html.Div(id="driehoek-performance", className="mt-3"),
        html.Div(id="driehoek-bronnen", className="mt-3"),
        html.Div("Significant: de verandering is groter dan normale schommeling (exacte "
                 "Poisson-toets, 95%). Klik op een indicator voor de trend.",
                 className="small text-body-secondary mt-2"),
    ])


def refused(message, title: str = "Driehoeksmonitor", status_id: str = "driehoek-status"):
    """The page when its link names a gemeente outside the user's scope: the refusal only."""
    return html.Div([
        html.H1(title, className="h3"),
        html.Div(message, id=status_id, className="mb-3"),
        dcc.Link("Naar de driehoeksmonitor van uw eigen gebied", href="/driehoek"),
    ])


def status(monitor, name: str):
    if monitor.start is None:
        return dbc.Alert("Geen gegevens beschikbaar voor deze gemeente.", color="secondary")
    parts = [html.Span(name, className="fw-semibold"),
             html.Span(f" · {fmt.period(monitor.start, monitor.end)} tegen dezelfde maanden "
                       "een jaar eerder")]
    if monitor.unknown:
        parts.append(html.Div("Onbekende indicatoren in het profiel: "
                              + ", ".join(monitor.unknown), className="small text-danger"))
    return html.Div(parts, className="driehoek-heading",
                    **{"data-gemeente": monitor.gemeente})


def performance_line(clearance):
    """One line under the indicators: the gemeente's cleared crimes and clearance rate of the
    newest year with CBS figures, the year before and the national rate beside it; "geen
    gegevens" when CBS has none for the gemeente. Nothing without cleared crimes in the
    database (the demo)."""
    if clearance is None or not clearance.available:
        return ""
    latest = clearance.latest()
    head = html.Span("Opgehelderde misdrijven (politieprestaties): ", className="fw-semibold")
    source = html.Span(f" Bron: {clearance.source}, alle misdrijven, per jaar.",
                       className="small text-body-secondary")
    if latest is None:
        return html.Div([head, html.Span(trends_layout.NO_DATA + " voor deze gemeente."),
                         source], className="driehoek-performance", **{"data-year": ""})
    parts = [f"{latest.year}{' (voorlopig)' if latest.provisional else ''}: "
             f"{fmt.integer(latest.cleared)} van {fmt.integer(latest.registered)} "
             f"geregistreerde misdrijven opgehelderd ({_percent(latest.rate)})"]
    before = next((y for y in clearance.years if y.year == latest.year - 1), None)
    parts.append(f"{latest.year - 1}: {_percent(before.rate if before else None)}")
    parts.append(f"Nederland {latest.year}: {_percent(latest.national_rate)}")
    return html.Div([head, html.Span(" · ".join(parts)), source],
                    className="driehoek-performance",
                    **{"data-year": str(latest.year), "data-cleared": str(latest.cleared),
                       "data-registered": str(latest.registered)})


def _percent(value) -> str:
    return trends_layout.NO_DATA if value is None else fmt.decimal(value, 1) + "%"


def mark_badge(item):
    tone = {"significant": "text-bg-danger" if (item.change.z or 0) > 0 else "text-bg-success",
            "binnen normale schommeling": "text-bg-secondary"}.get(item.mark, "text-bg-light")
    return html.Span(item.mark, className=f"badge {tone} driehoek-mark",
                     **{"data-significant": str(item.change.significant).lower()})


def _value(value) -> str:
    """A count, or "geen gegevens" where no source covers the period (never 0)."""
    return "geen gegevens" if value is None else fmt.integer(value)


def change_text(item) -> str:
    if item.current is None:
        return item.reason or "geen gegevens"
    if item.previous is None:
        return "geen vergelijking met vorig jaar mogelijk"
    diff = item.current - item.previous
    return (f"{'+' if diff > 0 else ''}{fmt.integer(diff)} "
            f"({fmt.percent_change(item.change.pct)}) t.o.v. {fmt.integer(item.previous)} "
            "vorig jaar")


def cards(monitor) -> list:
    return [_card(monitor.gemeente, item) for item in monitor.indicators]


def _card(gemeente: str, item):
    return html.Div(html.Div([
        dcc.Link([
            html.H2(item.title, className="driehoek-title"),  # also the sparkline's title
            html.Div(_value(item.current), className="driehoek-value",
                     **{"data-value": "" if item.current is None else str(item.current)}),
        ], href=trends_href(gemeente, item.code), className="driehoek-link",
            title=f"Trend van {item.title}"),
        html.Div(change_text(item), className="driehoek-change small",
                 **{"data-previous": "" if item.previous is None else str(item.previous)}),
        mark_badge(item),
        dcc.Graph(figure=sparkline(item), config=STATIC_GRAPH_CONFIG,
                  className="driehoek-spark",
                  style={"height": "70px"}),
    ], className="card-body"), className="card driehoek-card", **{"data-indicator": item.code})


def _labels(item) -> list[str]:
    return [fmt.month(m) + (" (voorlopig)" if item.provisional_from and m >= item.provisional_from
                            else "") for m in item.months]


def sparkline(item) -> go.Figure:
    """The last 24 months as a small line; the last 12 in blue, the year before in grey."""
    x = [m.isoformat() for m in item.months]
    y = list(item.counts)
    labels = _labels(item)
    fig = go.Figure()
    # named for the chart's text alternative (assets/wcag.js); no legend shows them
    fig.add_scatter(x=x[:13], y=y[:13], mode="lines", line=dict(color=GREY, width=1.5),
                    name="Jaar eerder",
                    customdata=labels[:13], hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>")
    fig.add_scatter(x=x[12:], y=y[12:], mode="lines", line=dict(color=BLUE, width=2),
                    name="Laatste 12 maanden",
                    customdata=labels[12:], hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>")
    fig.update_layout(margin=dict(l=0, r=0, t=4, b=4), showlegend=False, separators=",.",
                      plot_bgcolor="white", paper_bgcolor="rgba(0,0,0,0)",
                      xaxis=dict(visible=False), yaxis=dict(visible=False, rangemode="tozero"),
                      hoverlabel=dict(font_size=12))
    return fig


# -- presentation mode -------------------------------------------------------------------------


def auto_choice(value, default: int = 0) -> int:
    """The auto-advance seconds picked on the page ('0', '15', ...), or ``default``."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return default
    return seconds if seconds in AUTO_CHOICES else default


def presentation(state: dict):
    """Full screen, no navigation bar (CSS hides it while ``.presentation-mode`` is on the
    page), one slide at a time; the slide arrives through the data callback. The page fills
    exactly one screen (assets/driehoek.css): the chart takes what title and controls leave,
    so the controls stay visible on a 1024x768 projector. "Volledig scherm" uses the browser's
    Fullscreen API (assets/presentation.js); the auto-advance choice is kept in the URL."""
    auto = state["auto"]
    return html.Div([
        dcc.Location(id="pres-url", refresh=False),
        dcc.Interval(id="pres-auto", interval=max(auto, 1) * 1000, disabled=auto == 0),
        dcc.Interval(id="pres-refresh", interval=REFRESH_MS),
        html.Div(id="pres-slide", className="pres-slide"),
        html.Div([
            html.Button("‹ Vorige", id="pres-prev", n_clicks=0, className="pres-button",
                        title="Vorige dia (pijltje links)"),
            html.Div(id="pres-counter", className="pres-counter"),
            html.Button("Volgende ›", id="pres-next", n_clicks=0, className="pres-button",
                        title="Volgende dia (pijltje rechts)"),
            html.Div([
                html.Label("Automatisch", htmlFor="pres-auto-choice", className="pres-auto-label"),
                dbc.Select(id="pres-auto-choice", value=str(auto), className="pres-auto-select",
                           options=[{"label": AUTO_LABELS[s], "value": str(s)}
                                    for s in AUTO_CHOICES]),
            ], className="pres-auto"),
            html.Button([html.Span("Volledig scherm", className="pres-fs-enter"),
                         html.Span("Scherm verlaten", className="pres-fs-exit")],
                        id="pres-fullscreen", n_clicks=0, type="button",
                        className="pres-button pres-fullscreen",
                        title="Volledig scherm aan of uit (toets F, Esc verlaat)"),
            html.A("Sluiten", id="pres-close", href="/driehoek", className="pres-close"),
        ], className="pres-controls"),
    ], className="presentation-mode")


def presentation_refused(message):
    return html.Div([
        html.Div(message, id="pres-slide", className="mb-3"),
        dcc.Link("Naar de driehoeksmonitor van uw eigen gebied", href="/driehoek"),
    ], className="presentation-mode pres-refused")


def key_sentence(item, *, title: bool = True) -> str:
    """'Woninginbraak: 132, 18% minder dan vorig jaar (significant)'; without the title
    ('132, 18% minder ...') under a slide's heading that already names the indicator."""
    prefix = f"{item.title}: " if title else ""
    head = prefix + _value(item.current)
    if item.current is None:
        text = item.reason or "geen gegevens"
        return prefix + (text if title else text[:1].upper() + text[1:])
    if item.change.pct is None:
        return head + " (geen vergelijking met vorig jaar mogelijk)"
    pct = round(item.change.pct)
    if pct == 0:
        trend = "evenveel als vorig jaar"
    else:
        trend = f"{fmt.integer(abs(pct))}% {'meer' if pct > 0 else 'minder'} dan vorig jaar"
    return f"{head}, {trend} ({item.mark})"


def slide(item, name: str):
    if item is None:
        return html.Div([html.H1("Geen gegevens", className="pres-title")])
    return html.Div([
        html.Div(f"{name} · {fmt.period(item.start, item.end)}", className="pres-kicker"),
        html.H1(item.title, className="pres-title", **{"data-indicator": item.code}),
        html.P(key_sentence(item, title=False), className="pres-sentence",
               **{"data-value": "" if item.current is None else str(item.current)}),
        dcc.Graph(figure=slide_figure(item), config=STATIC_GRAPH_CONFIG, responsive=True,
                  className="pres-graph"),
    ], className="pres-slide-body")


def slide_figure(item) -> go.Figure:
    """The last 12 months by month, and the same months a year earlier."""
    months = item.months[-12:]
    x = [f"{fmt.MONTHS[m.month - 1]} {m.year}" for m in months]
    labels = _labels(item)
    fig = go.Figure()
    fig.add_scatter(x=x, y=list(item.counts[:12]), name="Jaar eerder", mode="lines+markers",
                    line=dict(color=ORANGE, width=4, dash="dot"), marker=dict(size=10),
                    customdata=labels[:12],
                    hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>")
    fig.add_scatter(x=x, y=list(item.counts[12:]), name="Laatste 12 maanden",
                    mode="lines+markers", line=dict(color=BLUE, width=6), marker=dict(size=14),
                    customdata=labels[12:],
                    hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>")
    fig.update_layout(
        margin=dict(l=90, r=30, t=20, b=70), separators=",.", font=dict(size=24, color="#000"),
        legend=dict(orientation="h", y=1.08, x=0, font=dict(size=24)), plot_bgcolor="white",
        paper_bgcolor="white", hoverlabel=dict(font_size=22),
        xaxis=dict(showgrid=False, linecolor="#000", tickfont=dict(size=22)),
        yaxis=dict(gridcolor="#d0d0d0", tickfont=dict(size=22)))
    return whole_number_axis(fig)
