"""Rapportages: the generated products the user may open, "Nu maken", and for the police
(teamchef, analist) the concepts they complete and release (structure only)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import format as fmt
from layouts.controls import dropdown
from layouts.figures import data_table

FORMAT_LABELS = (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "XLSX"), ("csv", "CSV"))


def kinds_note(police: bool, any_kind: bool) -> str:
    """Which products "Nu maken" offers, and why."""
    if police:
        return "Alle producten (politie)."
    if not any_kind:
        return "Voor deze gemeente zijn geen producten afgesproken in het afsprakenprofiel."
    return "De producten die het afsprakenprofiel voor deze gemeente afspreekt."


def page(kinds: list[tuple[str, str]], areas: list[tuple[str, str]], police: bool = False,
         concept_kinds: list[tuple[str, str]] = (), template_form=None):
    """``kinds``/``areas``: (value, label) choices for the "Nu maken" form (the kinds offered
    for the first area; callbacks/rapportages.py follows the chosen area); ``police``: the
    user may prepare concepts (the "Concepten" card, with ``concept_kinds``);
    ``template_form``: the "Themarapportage" card (:func:`templates_card`) for those who may
    save templates."""
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
        html.P(kinds_note(police, bool(kinds)), id="rapportages-soort-uitleg",
               className="text-muted small mb-0 mt-1"),
        html.P("Maakt het product voor de laatste volledige periode, binnen uw eigen "
               "toegang. Dit gebeurt op de achtergrond; u kunt één rapportage of export "
               "tegelijk laten maken.", className="text-muted small mb-0 mt-2"),
        html.Div(id="rapportages-melding", className="mt-2"),
        html.Div(id="rapportages-taak-status", className="mt-2", role="status",
                 **{"aria-live": "polite"}),
        dcc.Store(id="rapportages-taak", data=None),
        dcc.Interval(id="rapportages-taak-tik", interval=1000, disabled=True),
    ]), className="mb-3")
    return html.Div([
        html.H1("Rapportages", className="h3"),
        html.P("De periodieke producten voor uw gemeente(n) volgens het afsprakenprofiel, en de "
               "producten die u zelf maakte. Een product is bevroren: het opent later precies "
               "zo als het gemaakt is.", className="text-muted small"),
        form if areas else html.Div(),
        concepts_card(list(concept_kinds) or kinds, areas) if police and areas else html.Div(),
        template_form if template_form is not None else html.Div(),
        dcc.Store(id="rapportages-signal", data=0),
        html.Div(id="rapportages-lijst", className="rapportages-lijst"),
    ], className="rapportages-page")


def _when(text: str) -> str:
    return fmt.moment(text)


def product_list(products, seen: set[int], correctable: set[int] = frozenset()):
    """One row per product, newest first, with links to every stored format (and for the
    products in ``correctable`` — released concepts, for the police — "Correctie")."""
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
        if p.id in correctable:
            links.append(html.A("Correctie", href=f"/rapportages?correctie={p.id}",
                                className="ms-2 product-correctie", id=f"product-{p.id}-correctie"))
        rows.append(html.Tr([
            html.Td([html.Span(p.title, className="fw-semibold"),
                     dbc.Badge("Nieuw", color="danger", className="ms-2 product-nieuw")
                     if new else None]),
            html.Td(p.area_name), html.Td(p.period_label),
            html.Td(f"v{p.version}"), html.Td(_when(p.generated_at)),
            html.Td(links)],
            id=f"product-{p.id}", className="product-row" + (" product-new" if new else ""),
            **{"data-kind": p.kind, "data-area": p.area_code}))
    return data_table([html.Thead(html.Tr([html.Th(h) for h in (
        "Product", "Gebied", "Periode", "Versie", "Gemaakt", "Openen")])), html.Tbody(rows)],
        size="sm", hover=True, className="rapportages-tabel")


def badge(count: int):
    """The count of new products beside the navigation link (nothing at zero)."""
    if not count:
        return ""
    return dbc.Badge(str(count), color="danger", pill=True, className="ms-1",
                     id="rapportages-count", title=f"{count} nieuwe rapportages")


# -- concepts (police only) --------------------------------------------------------------------

def concepts_card(kinds: list[tuple[str, str]], areas: list[tuple[str, str]]):
    """"Concepten": make a concept and the list of open concepts."""
    return dbc.Card(dbc.CardBody([
        html.H2("Concepten", className="h6"),
        html.P("Een concept is een product met uw duiding en beschouwingen. De gemeente ziet "
               "het pas als u het vaststelt.", className="text-muted small"),
        dbc.Row([
            dbc.Col(dropdown(id="concept-soort", options=[
                {"label": label, "value": value} for value, label in kinds],
                value="gebiedsscan" if any(k == "gebiedsscan" for k, _ in kinds)
                else (kinds[0][0] if kinds else None), clearable=False), md=5),
            dbc.Col(dropdown(id="concept-gebied", options=[
                {"label": label, "value": value} for value, label in areas],
                value=areas[0][0] if areas else None, clearable=False), md=4),
            dbc.Col(dbc.Button("Concept maken", id="concept-maak", color="secondary"), md=3),
        ], className="g-2"),
        dcc.Loading(html.Div(id="concept-maak-melding", className="mt-2")),
        dcc.Location(id="rapportages-naar", refresh=True),
        html.Div(id="concepten-lijst", className="concepten-lijst mt-2"),
    ]), className="mb-3")


def concept_list(concepts):
    if not concepts:
        return html.P("Er zijn geen open concepten.", className="text-muted small concepten-leeg")
    rows = [html.Tr([
        html.Td(html.A(c.title, href=f"/rapportages?concept={c.id}", id=f"concept-{c.id}-open",
                       className="concept-link")),
        html.Td(c.area_name), html.Td(c.period_label),
        html.Td("correctie" if c.corrects else ("gepland" if c.scheduled else "")),
        html.Td(f"{c.created_by}, {_when(c.created_at)}")],
        id=f"concept-{c.id}", className="concept-row",
        **{"data-kind": c.kind, "data-area": c.area_code}) for c in concepts]
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in (
        "Concept", "Gebied", "Periode", "Soort", "Aangemaakt")])), html.Tbody(rows)],
        size="sm", hover=True, className="concepten-tabel")


def revision_text(revision) -> str:
    if not revision.revision:
        return "Nog niet opgeslagen."
    return (f"Opgeslagen door {revision.author} ({revision.role}) op {_when(revision.at)}, "
            f"revisie {revision.revision}.")


def concept_page(concept, revision, corrected_version: int | None, released=None):
    """One concept: a textarea for the duiding and one per section, Opslaan, Voorbeeld and
    Vaststellen. ``released``: the product it became (then no form)."""
    texts = revision.texts
    head = [html.H1(f"Concept: {concept.title}", className="h3"),
            html.P(f"{concept.area_name} · {concept.period_label}", className="lead mb-1"),
            html.P(html.A("Terug naar Rapportages", href="/rapportages"), className="small")]
    if released is not None:
        return html.Div([*head, dbc.Alert([
            f"Vastgesteld als versie {released.version}. ",
            html.A("Openen (PDF)", href=f"/rapportages/{released.id}.pdf", target="_blank")],
            color="success", id="concept-vastgesteld")], className="concept-page")
    fields = []
    if concept.corrects is not None:
        fields.append(dbc.Alert(f"Correctie op versie {corrected_version}. Zeg wat er "
                                "veranderd is; dat staat op de eerste pagina.", color="info"))
        fields += [dbc.Label("Reden van de correctie", html_for="concept-reden"),
                   dcc.Textarea(id={"type": "concept-reden", "index": 0},
                                value=texts.get("reden") or "", className="form-control mb-3",
                                style={"minHeight": "4em"})]
    duiding = texts.get("duiding") or {}
    fields += [dbc.Label("Duiding van de politie (de eerste sectie van het product)",
                         html_for="concept-duiding", className="fw-semibold"),
               dcc.Textarea(id="concept-duiding", value=duiding.get("text", ""),
                            className="form-control mb-3", style={"minHeight": "8em"})]
    for index, title in enumerate(concept.sections):
        block = texts["secties"].get(title) or {}
        fields += [dbc.Label(f"Beschouwing bij “{title}”", className="fw-semibold",
                             html_for=f"concept-beschouwing-{index}"),
                   dcc.Textarea(id={"type": "concept-beschouwing", "index": index},
                                value=block.get("text", ""), className="form-control mb-3",
                                style={"minHeight": "5em"})]
    buttons = html.Div([
        dbc.Button("Opslaan", id="concept-opslaan", color="primary", className="me-2"),
        html.A("Voorbeeld", href=f"/rapportages/concept/{concept.id}.html", target="_blank",
               className="btn btn-outline-secondary me-2", id="concept-voorbeeld"),
        dbc.Button("Vaststellen", id="concept-vaststellen", color="success"),
    ], id="concept-knoppen", className="mb-2")
    return html.Div([
        *head,
        dbc.Alert("Concept — nog niet vastgesteld. De gemeente ziet het pas na vaststellen; "
                  "daarna is het bevroren.", color="warning", className="small"),
        dcc.Store(id="concept-id", data=concept.id),
        *fields,
        html.P("Lege velden komen niet in het product. Voorbeeld toont het opgeslagen concept "
               "precies zoals de gemeente het krijgt.", className="text-muted small"),
        buttons,
        html.Div(id="concept-melding", className="mt-2"),
        html.Div(id="concept-taak-status", className="mt-2", role="status",
                 **{"aria-live": "polite"}),
        dcc.Store(id="concept-taak", data=None),
        dcc.Interval(id="concept-taak-tik", interval=1000, disabled=True),
        html.P(revision_text(revision), id="concept-revisie", className="text-muted small"),
    ], className="concept-page")


def correction_page(product):
    """Start a correction of a released product: the reason, and "Correctie starten"."""
    return html.Div([
        html.H1(f"Correctie: {product.title}", className="h3"),
        html.P(f"{product.area_name} · {product.period_label} · versie {product.version}",
               className="lead mb-1"),
        html.P(html.A("Terug naar Rapportages", href="/rapportages"), className="small"),
        html.P("Een correctie is een nieuw concept met de beschouwingen van deze versie. Na "
               "vaststellen krijgt de gemeente een nieuwe versie; de oude blijft zoals hij is.",
               className="text-muted small"),
        dcc.Store(id="correctie-product", data=product.id),
        dbc.Label("Wat is er veranderd?", html_for="correctie-reden"),
        dcc.Textarea(id="correctie-reden", className="form-control mb-2",
                     style={"minHeight": "4em"}),
        dbc.Button("Correctie starten", id="correctie-start", color="primary"),
        dcc.Loading(html.Div(id="correctie-melding", className="mt-2")),
        dcc.Location(id="correctie-naar", refresh=True),
    ], className="correction-page")


# -- themed-report templates (teamchef, analist, beheerder) ---------------------------------

def templates_card(gemeenten, themes, titles, periods, sections, frequencies, saved):
    """"Themarapportage": save a template in a gemeente's agreement profile. Every argument is
    a list of (value, label) choices, ``saved`` the (gemeente, name, description) of the
    templates there are."""
    def options(choices):
        return [{"label": label, "value": value} for value, label in choices]

    def field(label, control_id, control, md):
        return dbc.Col([dbc.Label(label, html_for=control_id, className="small mb-0"), control],
                       md=md)
    return dbc.Card(dbc.CardBody([
        html.H2("Themarapportage", className="h6"),
        html.P("Een sjabloon in het afsprakenprofiel: thema, periode en onderdelen. De "
               "rapportage wordt gemaakt zoals de andere periodieke producten.",
               className="text-muted small"),
        dbc.Row([
            field("Gemeente", "sjabloon-gemeente", dropdown(
                id="sjabloon-gemeente", options=options(gemeenten),
                value=gemeenten[0][0] if gemeenten else None, clearable=False), 4),
            field("Naam (a-z, 0-9, -)", "sjabloon-naam", dbc.Input(
                id="sjabloon-naam", type="text", maxLength=40), 4),
            field("Soort", "sjabloon-soort", dropdown(
                id="sjabloon-soort", options=options(titles), value=titles[0][0],
                clearable=False), 4),
        ], className="g-2"),
        dbc.Row([
            field("Thema (bundels en soorten)", "sjabloon-thema", dropdown(
                id="sjabloon-thema", options=options(themes), multi=True), 6),
            field("Periode", "sjabloon-periode", dropdown(
                id="sjabloon-periode", options=options(periods), value=periods[0][0],
                clearable=False), 3),
            field("Hoe vaak", "sjabloon-frequentie", dropdown(
                id="sjabloon-frequentie", options=options(frequencies), value="maandelijks",
                clearable=False), 3),
        ], className="g-2 mt-1"),
        dbc.Label("Onderdelen", html_for="sjabloon-secties", className="small mb-0 mt-2"),
        dbc.Checklist(id="sjabloon-secties", options=options(sections),
                      value=[value for value, _ in sections][:3], inline=True),
        dbc.Button("Sjabloon opslaan", id="sjabloon-opslaan", color="secondary",
                   className="mt-2"),
        dcc.Loading(html.Div(id="sjabloon-melding", className="mt-2")),
        html.Ul([html.Li(f"{gm}: {name} — {description}") for gm, name, description in saved],
                className="small mt-2 sjablonen-lijst"),
    ]), className="mb-3")
