"""Rapportages: the generated products the user may open, and "Nu maken" (structure only)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import format as fmt
from layouts.controls import dropdown

FORMAT_LABELS = (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "XLSX"), ("csv", "CSV"))


def page(kinds: list[tuple[str, str]], areas: list[tuple[str, str]]):
    """``kinds``/``areas``: (value, label) choices for the "Nu maken" form."""
    form = dbc.Card(dbc.CardBody([
        html.H2("Nu maken", className="h6"),
        dbc.Row([
            dbc.Col(dropdown(id="rapportages-soort", options=[
                {"label": label, "value": value} for value, label in kinds],
                value=kinds[0][0] if kinds else None, clearable=False), md=5),
            dbc.Col(dropdown(id="rapportages-gebied", options=[
                {"label": label, "value": value} for value, label in areas],
                value=areas[0][0] if areas else None, clearable=False), md=4),
            dbc.Col(dbc.Button("Nu maken", id="rapportages-maak", color="primary",
                               disabled=not areas), md=3),
        ], className="g-2"),
        html.P("Maakt het product voor de laatste volledige periode, binnen uw eigen "
               "toegang. Dit duurt enkele seconden; u kunt één rapportage of export tegelijk "
               "laten maken.", className="text-muted small mb-0 mt-2"),
        dcc.Loading(html.Div(id="rapportages-melding", className="mt-2")),
    ]), className="mb-3")
    return html.Div([
        html.H1("Rapportages", className="h3"),
        html.P("De periodieke producten voor uw gemeente(n) volgens het afsprakenprofiel, en de "
               "producten die u zelf maakte. Een product is bevroren: het opent later precies "
               "zo als het gemaakt is.", className="text-muted small"),
        form if areas else html.Div(),
        dcc.Store(id="rapportages-signal", data=0),
        html.Div(id="rapportages-lijst", className="rapportages-lijst"),
    ], className="rapportages-page")


def _when(text: str) -> str:
    return fmt.moment(text)


def product_list(products, seen: set[int]):
    """One row per product, newest first, with links to every stored format."""
    if not products:
        return html.P("Er zijn nog geen rapportages voor u.", className="text-muted "
                                                                         "rapportages-leeg")
    rows = []
    for p in products:
        new = p.id not in seen
        links = [html.A(label, href=f"/rapportages/{p.id}.{fmt}", className="me-2 product-link",
                        target="_blank" if fmt in ("html", "pdf") else None,
                        id=f"product-{p.id}-{fmt}")
                 for fmt, label in FORMAT_LABELS if fmt in p.files]
        rows.append(html.Tr([
            html.Td([html.Span(p.title, className="fw-semibold"),
                     dbc.Badge("Nieuw", color="danger", className="ms-2 product-nieuw")
                     if new else None]),
            html.Td(p.area_name), html.Td(p.period_label),
            html.Td(f"v{p.version}"), html.Td(_when(p.generated_at)),
            html.Td(links)],
            id=f"product-{p.id}", className="product-row" + (" product-new" if new else ""),
            **{"data-kind": p.kind, "data-area": p.area_code}))
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in (
        "Product", "Gebied", "Periode", "Versie", "Gemaakt", "Openen")])), html.Tbody(rows)],
        size="sm", hover=True, className="rapportages-tabel")


def badge(count: int):
    """The count of new products beside the navigation link (nothing at zero)."""
    if not count:
        return ""
    return dbc.Badge(str(count), color="danger", pill=True, className="ms-1",
                     id="rapportages-count", title=f"{count} nieuwe rapportages")
