"""The trends page: controls, the series chart and the year-to-date chart.

The page state lives in the URL query string (``?gemeente=GM0001,GM0002&indicator=geweld&per=
maand&maat=absoluut``) so that a link reproduces the view; the server re-applies the scope of
whoever opens it. Figure builders take the frames of ``data.queries.trends``; no queries here.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from data.scope import eenheid_label
from layouts import format as fmt
from layouts.controls import dropdown
from layouts.figures import (BLUE, GRAPH_CONFIG, GREY, ORANGE, data_table, message_figure,
                             whole_number_axis)

NO_DATA = "geen gegevens"

GRAIN_LABELS = {"week": "Week", "maand": "Maand", "kwartaal": "Kwartaal", "jaar": "Jaar"}
MEASURES = {"absoluut": "Aantal", "per1000": "Per 1.000 inwoners"}
COMPARE_LABELS = {"eenheid": "Regionale eenheid",
                  "grootte": "Gemeenten van vergelijkbare grootte (landelijk)"}
DEFAULTS = {"gemeente": [], "indicator": "alle_misdrijven", "per": "maand", "maat": "absoluut",
            "gebied": [], "vergelijk": []}
AREA_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                "#000000")


def parse_search(search) -> dict:
    """Page state from a query string; unknown keys are ignored, missing ones get defaults.
    Values are not trusted: the callback checks them against the scope."""
    state = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()}
    if not isinstance(search, str):
        return state
    query = parse_qs(search.lstrip("?"))
    if query.get("gemeente"):
        state["gemeente"] = [c for c in query["gemeente"][0].split(",") if c][:50]
    if query.get("gebied"):
        state["gebied"] = [c for c in query["gebied"][0].split(",") if c][:50]
    if query.get("vergelijk"):
        state["vergelijk"] = [c for c in query["vergelijk"][0].split(",")
                              if c in COMPARE_LABELS]
    for key in ("indicator", "per", "maat"):
        if query.get(key):
            state[key] = query[key][0][:40]
    if state["per"] not in GRAIN_LABELS:
        state["per"] = DEFAULTS["per"]
    if state["maat"] not in MEASURES:
        state["maat"] = DEFAULTS["maat"]
    return state


def search_for(gemeenten, indicator: str, grain: str, measure: str, areas=(),
               compare=()) -> str:
    params = {}
    if gemeenten:
        params["gemeente"] = ",".join(gemeenten)
    if areas:
        params["gebied"] = ",".join(areas)
    params.update(indicator=indicator, per=grain, maat=measure)
    if compare:
        params["vergelijk"] = ",".join(compare)
    return "?" + urlencode(params, safe=",")


def trends(gemeenten: list[tuple[str, str]], indicators: list[tuple[str, str]], state: dict,
           areas: list[tuple[str, str]] = (), sources: list[tuple[str, str]] = ()):
    """The page; ``state`` from :func:`parse_search`. An out-of-scope gemeente in the URL stays
    in the value (so the callback refuses) but never gets a label here. ``areas``: (code,
    label) of the wijken and buurten in scope; ``sources``: (key, label) of the gemeente
    sources the scope sees (layouts/bronnen.py: the "Gemeentelijke bronnen" chart)."""
    from layouts import bronnen
    return html.Div([
        dcc.Location(id="trends-url", refresh=False),
        html.Div([
            html.H1("Trends", className="h3 mb-0"),
            html.Div(["Ontwikkeling door de tijd, met vergelijking met vorig jaar. ",
                      dcc.Link("Woninginbrakenmonitor", href="/trends/woninginbraak",
                               id="trends-burglary-link")],
                     className="text-body-secondary"),
        ], className="mb-3"),
        dbc.Row([
            dbc.Col([dbc.Label("Gemeenten", html_for="trends-gemeenten"),
                     dropdown(id="trends-gemeenten", multi=True,
                                  options=[{"label": n, "value": c} for c, n in gemeenten],
                                  value=state["gemeente"],
                                  placeholder="Alle gemeenten in uw gebied")], lg=4),
            dbc.Col([dbc.Label("Indicator", html_for="trends-indicator"),
                     dropdown(id="trends-indicator", clearable=False,
                                  options=[{"label": t, "value": c} for c, t in indicators],
                                  value=state["indicator"])], lg=3),
            dbc.Col([dbc.Label("Per"),
                     dbc.RadioItems(id="trends-grain", inline=True, value=state["per"],
                                    options=[{"label": v, "value": k}
                                             for k, v in GRAIN_LABELS.items()])], lg=3),
            dbc.Col([dbc.Label("Maat"),
                     dbc.RadioItems(id="trends-measure", inline=True, value=state["maat"],
                                    options=[{"label": v, "value": k}
                                             for k, v in MEASURES.items()])], lg=2),
        ], className="mb-3 g-3 trends-controls"),
        dbc.Row([
            dbc.Col([dbc.Label("Wijken en buurten (vergelijken)", html_for="trends-areas"),
                     dropdown(id="trends-areas", multi=True,
                                  options=[{"label": n, "value": c} for c, n in areas],
                                  value=state["gebied"],
                                  placeholder="Kies wijken of buurten (typ om te zoeken)")],
                    lg=7),
            dbc.Col([dbc.Label("Vergelijk de gemeente (per 1.000 inwoners) met"),
                     dbc.Checklist(id="trends-compare", value=state["vergelijk"],
                                   options=[{"label": v, "value": k}
                                            for k, v in COMPARE_LABELS.items()])], lg=5),
        ], className="mb-3 g-3 trends-controls"),
        html.Div(id="trends-status", className="mb-2"),
        dbc.Card(dbc.CardBody([
            dcc.Loading(dcc.Graph(id="trends-graph", config=GRAPH_CONFIG,
                                  style={"height": "380px"}), type="dot"),
            html.Div(id="trends-note", className="small text-body-secondary"),
        ]), className="mb-3"),
        bronnen.trends_section(sources),
        dbc.Card(dbc.CardBody([
            html.H2("Cumulatief dit jaar t.o.v. vorig jaar", className="h5"),
            html.Div(id="trends-ytd-note", className="small mb-2"),
            dcc.Graph(id="trends-ytd", config=GRAPH_CONFIG, style={"height": "300px"}),
        ]), className="mb-3"),
        html.Div(id="trends-compare-panel"),
        html.Div(id="trends-performance-panel"),
        html.Div(id="trends-areas-panel"),
    ])


def refused(message):
    """The page when its link names an area outside the user's scope: the refusal only."""
    return html.Div([
        html.H1("Trends", className="h3"),
        html.Div(message, id="trends-status", className="mb-3"),
        dcc.Link("Naar de trends van uw eigen gebied", href="/trends"),
    ])


# -- figures -----------------------------------------------------------------------------------


def _number(value, measure: str) -> str:
    if value is None or value != value:
        return "geen gegevens"
    return fmt.decimal(value, 2) if measure == "per1000" else fmt.integer(value)


def _hover(row, measure: str) -> str:
    value = row.per_1000 if measure == "per1000" else row["count"]
    previous = row.previous_per_1000 if measure == "per1000" else row.previous
    parts = [f"<b>{row.label}</b>: {_number(value, measure)}"]
    if row.provisional:
        parts[0] += " (voorlopig)"
    if row.previous is not None and row.previous == row.previous:
        parts.append(f"Zelfde periode vorig jaar: {_number(previous, measure)} "
                     f"({fmt.percent_change(row.change_pct)})")
    parts.append(f"Verandering: {row.change}")
    return "<br>".join(parts)


def trend_figure(trend, measure: str) -> go.Figure:
    """Registered counts (provisional periods dashed), the same period last year and the
    12-month moving average."""
    fig = go.Figure()
    frame = trend.series if trend is not None else None
    ticks, texts = [], []
    if frame is None or frame.empty:
        return message_figure("Geen gegevens voor deze keuze.")
    if measure != "per1000" and not _any_count(frame["count"]) \
            and not _any_count(frame["previous"]):
        return message_figure("Geen registraties in deze periode: alle aantallen zijn 0.")
    if frame is not None and not frame.empty:
        frame = frame.reset_index(drop=True)
        value = "per_1000" if measure == "per1000" else "count"
        previous = "previous_per_1000" if measure == "per1000" else "previous"
        average = "moving_avg_per_1000" if measure == "per1000" else "moving_avg"
        hover = [_hover(row, measure) for _, row in frame.iterrows()]
        x = [d.isoformat() for d in frame["start"]]
        final = ~frame["provisional"].astype(bool)
        fig.add_scatter(
            x=[x[i] for i in frame.index[final]], y=frame.loc[final, value].tolist(),
            name="Geregistreerd", mode="lines+markers", line=dict(color=BLUE, width=2.5),
            hovertext=[hover[i] for i in frame.index[final]], hoverinfo="text")
        if (~final).any():
            rows = list(frame.index[~final])
            if rows[0] > 0:
                rows.insert(0, rows[0] - 1)  # connect the dashed part to the solid line
            fig.add_scatter(
                x=[x[i] for i in rows], y=frame.loc[rows, value].tolist(),
                name="Voorlopig", mode="lines+markers",
                line=dict(color=BLUE, width=2.5, dash="dash"), marker=dict(symbol="circle-open"),
                hovertext=[hover[i] for i in rows], hoverinfo="text")
        fig.add_scatter(x=x, y=frame[previous].tolist(), name="Zelfde periode vorig jaar",
                        mode="lines", line=dict(color=ORANGE, width=1.5, dash="dot"),
                        hoverinfo="skip")
        if frame[average].notna().any() and trend.grain != "jaar":
            fig.add_scatter(x=x, y=frame[average].tolist(), name="12-maands gemiddelde",
                            mode="lines", line=dict(color=GREY, width=1.5), hoverinfo="skip")
        significant = frame["significant"].astype(bool) & final
        if significant.any():
            fig.add_scatter(
                x=[x[i] for i in frame.index[significant]],
                y=frame.loc[significant, value].tolist(), name="Significante verandering",
                mode="markers", marker=dict(color="#D55E00", size=11, symbol="diamond-open",
                                            line=dict(width=2)), hoverinfo="skip")
        ticks, texts = _ticks(frame, trend.grain)
    fig.update_layout(
        margin=dict(l=56, r=12, t=8, b=48), separators=",.", hovermode="closest",
        legend=dict(orientation="h", y=1.1, x=0), plot_bgcolor="white",
        xaxis=dict(showgrid=False, tickvals=ticks, ticktext=texts),
        yaxis=dict(gridcolor="#e5e5e5", rangemode="tozero",
                   tickformat=",.2f" if measure == "per1000" else ",d"))
    return fig if measure == "per1000" else whole_number_axis(fig)


def _any_count(values) -> bool:
    """Whether a column of counts holds anything other than 0 or no value."""
    return bool((values.astype("Float64").fillna(0) != 0).any())


def _ticks(frame, grain: str):
    starts = list(frame["start"])
    if grain == "maand":
        chosen = [d for d in starts if d.month in (1, 4, 7, 10)]
        return ([d.isoformat() for d in chosen],
                [f"{fmt.MONTHS[d.month - 1]}<br>{d.year}" for d in chosen])
    if grain == "week":
        chosen, seen = [], set()
        for d in starts:
            key = (d.year, (d.month - 1) // 3)
            if key not in seen:
                seen.add(key)
                chosen.append(d)
        return ([d.isoformat() for d in chosen],
                [f"wk {d.isocalendar()[1]}<br>{d.isocalendar()[0]}" for d in chosen])
    return [d.isoformat() for d in starts], [str(label).replace(" (", "<br>(")
                                             for label in frame["label"]]


def ytd_figure(trend) -> go.Figure:
    fig = go.Figure()
    if trend is not None and trend.ytd_year is not None and not trend.ytd.empty:
        months = [fmt.MONTHS[m - 1] for m in trend.ytd["month"]]
        fig.add_scatter(x=months, y=trend.ytd["previous"].tolist(),
                        name=str(trend.ytd_year - 1), mode="lines",
                        line=dict(color=ORANGE, dash="dot", width=2),
                        hovertemplate="%{x}: %{y:,.0f}<extra>" + str(trend.ytd_year - 1) + "</extra>")
        fig.add_scatter(x=months, y=trend.ytd["current"].tolist(), name=str(trend.ytd_year),
                        mode="lines+markers", line=dict(color=BLUE, width=2.5),
                        hovertemplate="%{x}: %{y:,.0f}<extra>" + str(trend.ytd_year) + "</extra>")
    fig.update_layout(margin=dict(l=56, r=12, t=8, b=36), separators=",.",
                      legend=dict(orientation="h", y=1.12, x=0), plot_bgcolor="white",
                      xaxis=dict(showgrid=False),
                      yaxis=dict(gridcolor="#e5e5e5"))
    return whole_number_axis(fig)


def ytd_note(trend, change) -> str:
    """'t/m okt 2026: 235 tegen 225 in dezelfde maanden van 2025 (+4,4%; binnen normale
    schommeling).'"""
    if trend is None or trend.ytd_through is None:
        return ""
    return (f"t/m {fmt.month(trend.ytd_through)}: {fmt.integer(change.current)} tegen "
            f"{fmt.integer(change.previous)} in dezelfde maanden van {trend.ytd_year - 1} "
            f"({fmt.percent_change(change.pct)}; {change.label}).")


def status(trend, names: list[str], measure: str):
    """The line above the chart: what is shown, and the latest complete period's change."""
    where = ", ".join(names) if names else "alle gemeenten in uw gebied"
    head = f"{trend.title} · {where} · per {GRAIN_LABELS[trend.grain].lower()}"
    if measure == "per1000":
        head += " · per 1.000 inwoners"
    children = [html.Div(head, className="fw-semibold trends-heading")]
    if trend.note:
        children.append(dbc.Alert(trend.note, color="secondary", className="mt-2 mb-0"))
    return html.Div(children, **{"data-indicator": trend.indicator, "data-grain": trend.grain,
                                 "data-gemeenten": ",".join(trend.gemeenten)})


def note(trend) -> str:
    if trend is None or trend.series.empty:
        return ""
    parts = []
    if trend.series["provisional"].any():
        parts.append("Gestippelde lijn: voorlopige cijfers (late registraties kunnen nog volgen).")
    if trend.series["partial"].any():
        parts.append("De laatste periode is nog niet compleet.")
    parts.append("Significant: de verandering t.o.v. dezelfde periode vorig jaar is groter dan "
                 "normale schommeling (exacte Poisson-toets, 95%).")
    return " ".join(parts)


# -- wijken/buurten and comparisons ------------------------------------------------------------


def areas_panel(series, message: str = ""):
    """A card with one line per chosen wijk or buurt (counts), or with ``message`` when the
    chosen indicator is not published at that level for the user (data/disclosure.py)."""
    if message:
        return dbc.Card(dbc.CardBody([
            html.H2("Wijken en buurten", className="h5"),
            dbc.Alert(message, color="secondary", className="mb-0 trends-areas-not-published")]),
            className="mb-3")
    if series is None or series.series.empty:
        return ""
    frame = series.series
    fig = go.Figure()
    ticks: dict[str, str] = {}
    zero = []  # areas with nothing registered (or released) in the whole period
    for i, (code, rows) in enumerate(frame.groupby("code", sort=False)):
        rows = rows.reset_index(drop=True)
        name = f"{rows['name'].iloc[0]} ({rows['level'].iloc[0]})"
        if not _any_count(rows["count"]):
            zero.append(name)
        colour = AREA_COLOURS[i % len(AREA_COLOURS)]
        x = [d.isoformat() for d in rows["start"]]
        for d, label in zip(x, rows["label"]):
            ticks.setdefault(d, str(label).replace(" (", "<br>("))
        y = [int(v) for v in rows["count"]]
        fig.add_scatter(x=x, y=y, name=name, mode="lines+markers", connectgaps=False,
                        line=dict(color=colour, width=2), customdata=[code] * len(x),
                        hovertext=[f"<b>{name}</b><br>{label}: {fmt.integer(v)}"
                                   for label, v in zip(rows["label"], y)], hoverinfo="text")
    every = max(1, len(ticks) // 12)
    keys = list(ticks)[::every]
    fig.update_layout(
        margin=dict(l=56, r=12, t=8, b=48), separators=",.", hovermode="closest",
        legend=dict(orientation="h", y=1.12, x=0), plot_bgcolor="white",
        xaxis=dict(showgrid=False, tickvals=keys, ticktext=[ticks[k] for k in keys]),
        yaxis=dict(gridcolor="#e5e5e5"))
    whole_number_axis(fig)
    notes = [f"Aantallen per {GRAIN_LABELS[series.grain].lower()}, uit de incidentregistratie."]
    if zero and len(zero) == frame["code"].nunique():
        fig = message_figure("Geen registraties in deze periode: alle aantallen zijn 0.")
    elif zero:
        notes.append("Alle aantallen 0 (niets geregistreerd): " + ", ".join(zero) + ".")
    if series.note:
        notes.append(series.note)
    return dbc.Card(dbc.CardBody(html.Div([
        html.H2("Wijken en buurten", className="h5"),
        dcc.Graph(id="trends-areas-graph", figure=fig, config=GRAPH_CONFIG,
                  style={"height": "340px"}),
        html.Div(" ".join(notes), className="small text-body-secondary trends-areas-note"),
    ], **{"data-grain": series.grain})), className="mb-3")


def compare_panel(comparison, gemeente_name: str, chosen, message: str = ""):
    """A card with the gemeente's rate per 1,000 inhabitants beside its eenheid's and the
    average of similar-sized gemeenten in scope (per chosen grain), and, for "grootte", per
    year beside the national average of its size band and the whole country from the public
    CBS gemeente totals (:func:`national_table`)."""
    if message:
        return dbc.Card(dbc.CardBody([html.H2("Vergelijking", className="h5"),
                                      html.Div(message, className="trends-compare-message")]),
                        className="mb-3")
    if comparison is None:
        return ""
    national = national_table(comparison.national, gemeente_name) if "grootte" in chosen \
        else None
    frame = comparison.series
    if frame.empty:
        if national is None:
            return ""
        parts = [html.H2(f"Vergelijking: {gemeente_name}", className="h5")]
        if "eenheid" in chosen:
            parts.append(html.Div(f"Regionale eenheid: {comparison.note or 'geen gegevens.'}",
                                  className="small trends-compare-note"))
        return dbc.Card(dbc.CardBody([*parts, national]), className="mb-3")
    x = [d.isoformat() for d in frame["start"]]
    fig = go.Figure()
    lines = [("gemeente", gemeente_name, BLUE, None)]
    if "eenheid" in chosen and comparison.eenheid:
        lines.append(("eenheid", eenheid_label(comparison.eenheid_name), GREY, "dash"))
    if "grootte" in chosen and comparison.band_gemeenten:
        lines.append(("grootte", f"Gemiddelde gemeenten {comparison.band} in uw gebied "
                                 f"({len(comparison.band_gemeenten)})", ORANGE, "dot"))
    for column, name, colour, dash in lines:
        values = [None if v != v else round(float(v), 4) for v in frame[column]]
        fig.add_scatter(x=x, y=values, name=name, mode="lines+markers",
                        line=dict(color=colour, width=2.5 if column == "gemeente" else 2,
                                  dash=dash),
                        hovertext=[f"<b>{name}</b><br>{label}: {_number(v, 'per1000')}"
                                   for label, v in zip(frame["label"], values)],
                        hoverinfo="text")
    every = max(1, len(x) // 12)
    fig.update_layout(
        margin=dict(l=56, r=12, t=8, b=48), separators=",.", hovermode="closest",
        legend=dict(orientation="h", y=1.12, x=0), plot_bgcolor="white",
        xaxis=dict(showgrid=False, tickvals=x[::every],
                   ticktext=[str(t).replace(" (", "<br>(") for t in frame["label"]][::every]),
        yaxis=dict(gridcolor="#e5e5e5", rangemode="tozero", tickformat=",.2f"))
    notes = [f"Geregistreerd per 1.000 inwoners, per {GRAIN_LABELS[comparison.grain].lower()}."]
    if comparison.note:
        notes.append(comparison.note)
    if "eenheid" in chosen and comparison.eenheid:
        notes.append("De eenheid: alle gemeenten van de regionale eenheid samen (één totaal, "
                     "geen cijfers van afzonderlijke gemeenten).")
    if "grootte" in chosen and comparison.band_gemeenten:
        notes.append(f"Vergelijkbare grootte in uw gebied: {comparison.band}; gemiddelde van "
                     f"{len(comparison.band_gemeenten)} andere gemeente(n) in uw gebied.")
    return dbc.Card(dbc.CardBody([
        html.H2(f"Vergelijking: {gemeente_name}", className="h5"),
        dcc.Graph(id="trends-compare-graph", figure=fig, config=GRAPH_CONFIG,
                  style={"height": "320px"}),
        html.Div(" ".join(notes), className="small text-body-secondary trends-compare-note"),
        *([national] if national is not None else []),
    ]), className="mb-3")


def _years_text(years) -> str:
    """[2010, 2011, 2012, 2015] -> '2010–2012 en 2015'."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]


def _cell(value, text: str, key: str):
    """A table cell with its exact value in ``data-<key>`` ('' when there is none)."""
    return html.Td(text, **{f"data-{key}": "" if value is None else str(value)})


def national_table(national, gemeente_name: str):
    """Per year: the gemeente per 1,000 inhabitants, the average of the other gemeenten of its
    size band in the whole country and the whole country, from public CBS figures only; and
    which years the public figures do not cover (said, never left out silently)."""
    head = html.H3("Landelijk: gemeenten van vergelijkbare grootte", className="h6 mt-3")
    if national is None or not national.years:
        message = national.note if national is not None and national.note else \
            "Geen openbare CBS-cijfers per gemeente beschikbaar."
        return html.Div([head, html.Div(message, className="small trends-national-note")],
                        className="trends-national")
    rows = []
    for y in reversed(national.covered):
        label = f"{y.year} (voorlopig)" if y.provisional else str(y.year)
        band = (f"{fmt.decimal(y.band_rate, 1)} ({y.band_size})" if y.band_rate is not None
                else "geen andere gemeenten")
        rows.append(html.Tr([
            html.Td(label), _cell(y.rate, fmt.decimal(y.rate, 1), "value"),
            html.Td(y.band or "", className="small"),
            _cell(y.band_rate, band, "value"),
            _cell(y.national_rate, fmt.decimal(y.national_rate, 1), "value"),
        ], **{"data-year": str(y.year), "data-band-size": str(y.band_size),
              "data-national-size": str(y.national_size)}))
    parts = [head]
    if rows:
        parts.append(data_table([
            html.Thead(html.Tr([html.Th(h) for h in (
                "Jaar", gemeente_name, "Grootteklasse", "Gemiddelde andere gemeenten (aantal)",
                "Nederland")])),
            html.Tbody(rows)], size="sm", className="mb-1 trends-national-table"))
    notes = [f"Geregistreerde misdrijven (alle misdrijven) per 1.000 inwoners per jaar, alleen "
             f"uit openbare cijfers: {national.source} en het inwonertal van hetzelfde jaar, "
             "voor alle gemeenten van Nederland (ook buiten uw gebied). Grootteklasse naar het "
             "inwonertal van dat jaar; Nederland: alle gemeenten met cijfers samen."]
    missing_population = [y.year for y in national.uncovered if y.count is not None]
    missing_counts = [y.year for y in national.uncovered if y.count is None]
    if missing_population:
        notes.append(f"Voor {_years_text(missing_population)} zijn er CBS-cijfers maar geen "
                     "inwonertallen van die jaren: geen vergelijking per 1.000 inwoners.")
    if missing_counts:
        notes.append(f"Voor {_years_text(missing_counts)} zijn er geen CBS-cijfers van deze "
                     "gemeente.")
    parts.append(html.Div(" ".join(notes), className="small text-body-secondary "
                                                     "trends-national-note"))
    return html.Div(parts, className="trends-national")


def clearance_card(clearance, names: list[str]):
    """Politieprestaties: registered and cleared crimes and the clearance rate per year for
    the chosen gemeenten (``names``) together, beside the national rate; "geen gegevens"
    where CBS has no figure (never 0). Nothing when the database holds no cleared crimes at
    all (the demo)."""
    if clearance is None or not clearance.available:
        return ""
    where = (names[0] if len(names) == 1 else ", ".join(names) + " samen" if len(names) <= 3
             else f"{len(names)} gemeenten samen")
    rows = []
    for y in reversed(clearance.years):
        label = f"{y.year} (voorlopig)" if y.provisional else str(y.year)
        national = (fmt.decimal(y.national_rate, 1) + "%" if y.national_rate is not None
                    else NO_DATA)
        if y.rate is None and y.registered is None:
            some = len(clearance.gemeenten) - len(y.missing)
            text = (f"{NO_DATA} voor {len(y.missing)} van de {len(clearance.gemeenten)} "
                    "gemeenten" if some else NO_DATA)
            cells = [html.Td(text, colSpan=3, className="text-body-secondary",
                             **{"data-value": ""})]
        else:
            cells = [_cell(y.registered, fmt.integer(y.registered), "value"),
                     _cell(y.cleared, fmt.integer(y.cleared), "value"),
                     _cell(y.rate, fmt.decimal(y.rate, 1) + "%" if y.rate is not None
                           else NO_DATA, "value")]
        rows.append(html.Tr([html.Td(label), *cells,
                             _cell(y.national_rate, national, "value")],
                            **{"data-year": str(y.year)}))
    return dbc.Card(dbc.CardBody([
        html.H2("Opgehelderde misdrijven (politieprestaties)", className="h5"),
        html.Div(f"{where} · alle misdrijven, per jaar", className="small mb-2"),
        data_table([
            html.Thead(html.Tr([html.Th(h) for h in (
                "Jaar", "Geregistreerd", "Opgehelderd", "Ophelderingspercentage",
                "Nederland")])),
            html.Tbody(rows)], size="sm", className="mb-1 trends-clearance-table"),
        html.Div(f"Alle misdrijven per jaar. Ophelderingspercentage: opgehelderde gedeeld door "
                 f"geregistreerde misdrijven van hetzelfde jaar (uit de gepubliceerde, afgeronde "
                 f"aantallen). Bron: {clearance.source}. "
                 f"“{NO_DATA}”: CBS heeft voor dat jaar geen cijfer.",
                 className="small text-body-secondary trends-clearance-note"),
    ]), className="mb-3 trends-clearance")
