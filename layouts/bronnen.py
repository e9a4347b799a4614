"""Gemeentelijke bronnen (/bronnen): a gemeente's own datasets. The gegevensbeheerder uploads
a CSV (the same importer and checks as ``import source``), sees the result and manages the
list; the gemeente's other users see the list read-only."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

import plotly.graph_objects as go

from layouts import controls
from layouts import format as fmt
from layouts.figures import GRAPH_CONFIG, NO_DATA, data_table, message_figure

GREEN = "#009E73"

#: Largest file the upload takes (the request body limit of dashboard/security.py is 1 MB and
#: the browser sends the file base64-encoded).
MAX_UPLOAD = 512 * 1024
GRAIN_NL = {"day": "per dag", "week": "per week", "month": "per maand", "year": "per jaar"}


def page(*, can_upload: bool, gemeenten: list[tuple[str, str]]):
    """The page; the upload form only for a gegevensbeheerder (the server checks again)."""
    form = dbc.Card(dbc.CardBody([
        html.H2("Bron importeren", className="h5"),
        html.P(["Een CSV-bestand met de kolommen ", html.Code("area_code,period,category,count"),
                " (optioneel ", html.Code("lon,lat"), "); periode als 2026-03-15, 2026-W11,"
                " 2026-03 of 2026. Gebieden liggen in uw gemeente. Opnieuw importeren vervangt"
                " de bron. Hoogstens 512 kB."], className="small"),
        dbc.Row([
            dbc.Col([dbc.Label("Gemeente", html_for="bronnen-gemeente"),
                     controls.dropdown(id="bronnen-gemeente", clearable=False,
                                       options=[{"label": n, "value": c} for c, n in gemeenten],
                                       value=gemeenten[0][0] if gemeenten else None)], md=3),
            dbc.Col([dbc.Label("Naam (kort)", html_for="bronnen-naam"),
                     dbc.Input(id="bronnen-naam", placeholder="handhaving", maxLength=40)], md=3),
            dbc.Col([dbc.Label("Titel", html_for="bronnen-titel"),
                     dbc.Input(id="bronnen-titel", placeholder="BOA-registraties",
                               maxLength=120)], md=3),
            dbc.Col([dbc.Label("Omschrijving", html_for="bronnen-omschrijving"),
                     dbc.Input(id="bronnen-omschrijving", maxLength=200)], md=3),
        ], className="g-2 mb-2"),
        dcc.Upload(id="bronnen-upload", max_size=MAX_UPLOAD, accept=".csv,text/csv",
                   children=html.Div(["Sleep een CSV-bestand hierheen of ",
                                      html.A("kies een bestand", href="#")]),
                   className="border rounded p-3 text-center bg-light"),
        html.Div(id="bronnen-result", className="mt-3", role="status", **{"aria-live": "polite"}),
        # The import (or delete) runs as a background job; the page follows it here.
        html.Div(id="bronnen-taak-status", className="mt-3", role="status",
                 **{"aria-live": "polite"}),
        dcc.Store(id="bronnen-taak", data=None),
        dcc.Interval(id="bronnen-taak-tik", interval=1000, disabled=True),
    ]), id="bronnen-form", className="mb-4", style=None if can_upload else {"display": "none"})
    return html.Div([
        html.H1("Gemeentelijke bronnen", className="h3"),
        html.P("Eigen gegevens van de gemeente (zoals handhaving of overlastmeldingen). Ze staan"
               " naast de cijfers van de politie op Trends, de Kaart en de Driehoek, altijd met"
               " de bron erbij.", className="text-muted"),
        form,
        dcc.Store(id="bronnen-refresh", data=0),
        html.H2("Bronnen", className="h5"),
        html.Div(id="bronnen-list"),
    ])


def result(outcome: dict):
    """The outcome of an upload: rows imported and rejected rows, or the fatal error."""
    if outcome.get("error"):
        return dbc.Alert([html.Strong("Niet geïmporteerd; er is niets gewijzigd. "),
                          outcome["error"]], color="danger", id="bronnen-fout")
    parts = [html.P(f"{fmt.integer(outcome['rows'])} rijen geïmporteerd in "
                    f"“{outcome['title']}”, {fmt.integer(outcome['rejected'])} rijen afgewezen.",
                    id="bronnen-ok")]
    if outcome.get("rejections"):
        parts.append(data_table([
            html.Thead(html.Tr([html.Th("Regel"), html.Th("Reden")])),
            html.Tbody([html.Tr([html.Td(r["line"]), html.Td(r["reason"])])
                        for r in outcome["rejections"]])], size="sm", id="bronnen-afgewezen"))
    return dbc.Alert(parts, color="success" if not outcome["rejected"] else "warning")


def source_list(frame: pd.DataFrame, *, deletable: set[str]):
    """The sources as a table; a delete button on the rows in ``deletable`` (owner/source)."""
    if frame.empty:
        return html.P("Er zijn (nog) geen gemeentelijke bronnen die u kunt zien.",
                      id="bronnen-leeg", className="text-muted")
    rows = []
    for r in frame.itertuples():
        key = f"{r.owner}/{r.source}"
        action = (dbc.Button("Verwijderen", size="sm", color="outline-danger",
                             id={"type": "bronnen-verwijder", "key": key})
                  if key in deletable else "")
        rows.append(html.Tr([
            html.Td(r.gemeente), html.Td([html.Strong(r.title), html.Br(),
                                          html.Small(r.description or "", className="text-muted")]),
            html.Td(r.source), html.Td(", ".join(_categories(r.categories))),
            html.Td(f"{fmt.month(r.period_from)} – {fmt.month(r.period_to)}"
                    f" ({GRAIN_NL.get(r.grain, r.grain)})"),
            html.Td(fmt.integer(r.rows), className="text-end"),
            html.Td(fmt.moment(r.imported_at) if r.imported_at is not None else NO_DATA),
            html.Td(r.imported_by or ""), html.Td(action)]))
    return data_table([
        html.Thead(html.Tr([html.Th(h) for h in (
            "Gemeente", "Titel", "Naam", "Categorieën", "Periode", "Rijen", "Laatste import",
            "Door", "")])),
        html.Tbody(rows)], id="bronnen-tabel", size="sm")


# -- beside the police figures ---------------------------------------------------------------

def source_options(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(key, label) per source and per category of a source: ``owner|source[|category]``."""
    out = []
    for r in frame.itertuples():
        out.append((f"{r.owner}|{r.source}", f"{r.gemeente} — {r.title} (alle categorieën)"))
        out += [(f"{r.owner}|{r.source}|{c}", f"{r.gemeente} — {r.title}: {c}")
                for c in _categories(r.categories)]
    return out


def parse_key(key) -> tuple[str, str, str | None]:
    """(owner, source, category) from a key of :func:`source_options`; ValueError otherwise."""
    if not isinstance(key, str) or key.count("|") not in (1, 2):
        raise ValueError("not a source key")
    owner, source, *rest = key.split("|")
    return owner, source, (rest[0] if rest else None)


def trends_section(sources: list[tuple[str, str]]):
    """The "Gemeentelijke bronnen" card under the police trend (empty without sources)."""
    return dbc.Card(dbc.CardBody([
        html.H2("Gemeentelijke bronnen", className="h5"),
        dbc.Label("Bron", html_for="trends-bron"),
        controls.dropdown(id="trends-bron", clearable=False,
                          options=[{"label": t, "value": k} for k, t in sources],
                          value=sources[0][0] if sources else None),
        # the chart itself comes with the data (series_chart): no empty chart without sources
        dcc.Loading(html.Div(id="trends-bron-chart"), type="dot"),
        html.Div(id="trends-bron-note", className="small text-body-secondary"),
    ]), className="mb-3", id="trends-bronnen",
        style=None if sources else {"display": "none"})


def series_figure(series: pd.DataFrame) -> go.Figure:
    """A source's series as bars, titled with its source; periods without data are gaps."""
    if series.empty:
        return message_figure(NO_DATA)
    covered = series[series["count"].notna()]
    fig = go.Figure(go.Bar(x=[pd.Timestamp(p) for p in covered["period_start"]],
                           y=[int(v) for v in covered["count"]], marker_color=GREEN,
                           name=series.attrs.get("title", "")))
    fig.update_layout(title={"text": series.attrs.get("label", ""), "font": {"size": 14}},
                      margin={"l": 50, "r": 10, "t": 40, "b": 40}, showlegend=False,
                      yaxis={"rangemode": "tozero"})
    return fig


def series_chart(series: pd.DataFrame):
    return dcc.Graph(id="trends-bron-graph", figure=series_figure(series), config=GRAPH_CONFIG,
                     style={"height": "300px"})


def series_note(series: pd.DataFrame) -> str:
    missing = int(series["count"].isna().sum()) if not series.empty else 0
    text = series.attrs.get("label", "")
    if missing:
        text += f" · {missing} perioden: {NO_DATA} (buiten de periode van de bron)"
    return text


def _categories(value) -> list[str]:
    """A list column's value (DuckDB gives a numpy array, or None) as a list."""
    return [] if value is None else [str(v) for v in value]


def totals_section(frame: pd.DataFrame, name: str, table_id: str = "driehoek-bronnen-tabel"):
    """The driehoek's "Gemeentelijke bronnen": the last 12 months against the 12 before, per
    source, each labelled with its source; nothing when the gemeente has no visible sources."""
    if frame.empty:
        return ""

    def cell(value):
        return NO_DATA if pd.isna(value) else fmt.integer(value)

    rows = []
    for r in frame.itertuples():
        change = ("" if pd.isna(r.current) or pd.isna(r.previous) or not r.previous
                  else fmt.percent_change((r.current - r.previous) / r.previous * 100))
        rows.append(html.Tr([html.Td(r.label), html.Td(cell(r.current), className="text-end",
                                                       title=r.reason or None),
                             html.Td(cell(r.previous), className="text-end",
                                     title=r.reason or None),
                             html.Td(change, className="text-end")]))
    return dbc.Card(dbc.CardBody([
        html.H2(f"Gemeentelijke bronnen van {name}", className="h5"),
        html.P("Eigen gegevens van de gemeente, geen politiecijfers.",
               className="small text-body-secondary"),
        data_table([html.Thead(html.Tr([html.Th("Bron"),
                                        html.Th("Laatste 12 maanden", className="text-end"),
                                        html.Th("12 maanden daarvoor", className="text-end"),
                                        html.Th("Verschil", className="text-end")])),
                    html.Tbody(rows)], size="sm", id=table_id)]))
