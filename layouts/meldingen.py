"""Meldingen: the bell in the header and the Meldingen page (structure and builders only)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.meldingen import NOTE_MAX, day_title, grouped, note_author, om_text, type_heading
from layouts import format as fmt

#: Poll interval of the header badge when no app settings are at hand (validation layout).
DEFAULT_POLL_MS = 30_000


def header_parts(poll_ms: int = DEFAULT_POLL_MS) -> list:
    """The bell (filled by the badge callback), its timer and the two signal stores."""
    return [
        html.Div(id="melding-bell", className="melding-bell me-3"),
        dcc.Interval(id="melding-interval", interval=max(int(poll_ms), 500)),
        # the unread ids the badge last showed; changes (and only changes) refresh the list
        dcc.Store(id="melding-signal"),
        # bumped when the user acknowledged something; makes the badge recount at once
        dcc.Store(id="melding-acked"),
    ]


def bell(count: int, notes: int = 0):
    """The bell link with the number of unacknowledged meldingen (no number at zero) and, when
    some of them carry a note not yet seen, a mark "van de teamchef"."""
    label = f"Meldingen: {count} ongelezen" if count else "Meldingen: geen nieuwe"
    if notes:
        label += f", waarvan {notes} met een notitie van de teamchef"
    # a CSS icon (assets/wcag.css), not the emoji: that is an empty box without an emoji font
    children = [html.Span(className="melding-bell-icon", **{"aria-hidden": "true"})]
    if count:
        children.append(dbc.Badge(str(count), color="danger", pill=True, id="melding-count",
                                  className="ms-1"))
    if notes:
        children.append(dbc.Badge("van de teamchef", color="info", text_color="dark", pill=True,
                                  id="melding-teamchef", className="ms-1"))
    children.append(html.Span(label, className="visually-hidden"))
    return dcc.Link(children, href="/meldingen", id="melding-bell-link", title=label,
                    className="text-light text-decoration-none")


def page():
    return html.Div([
        html.Div([
            html.H1("Meldingen", className="h3 mb-0 me-auto"),
            dbc.Button("Alles gezien", id="meldingen-alles-gezien", color="secondary",
                       size="sm", outline=True),
        ], className="d-flex align-items-center mb-2"),
        html.P("Incidenten met grote impact (volgens het afsprakenprofiel en uw eigen keuze op "
               "Mijn account) en invallen in uw gemeente(n), per dag en soort, nieuwste eerst. "
               "Nieuwe meldingen en notities van de teamchef verschijnen vanzelf.",
               className="text-muted small"),
        # bumped when a teamchef added a note: the list is drawn again
        dcc.Store(id="melding-noted"),
        html.Div(id="melding-notitie-bericht", role="status"),
        html.Div(id="meldingen-lijst", className="meldingen-lijst"),
    ], className="meldingen-page")


def _when(text: str | None) -> str:
    """Incident times are Dutch wall-clock times without zone; shown as they are."""
    return fmt.moment(text) or "-"


def melding_list(items: list[dict], *, can_note: bool = False):
    """Meldingen per day, then per type (headings with counts), one card per melding;
    acknowledged ones stay, greyed, without a button. ``can_note``: a teamchef, who gets a
    note field on each card."""
    if not items:
        return html.P("Geen meldingen.", className="text-muted meldingen-leeg")
    parts = []
    for day, types in grouped(items):
        total = sum(len(members) for _t, members in types)
        parts.append(html.H2(f"{day_title(day)} ({total} melding{'en' if total != 1 else ''})",
                             className="h5 mt-3 melding-dag"))
        for title, members in types:
            parts.append(html.H3(f"{day_title(day)} — {type_heading(title, len(members))}",
                                 className="h6 text-body-secondary melding-soortkop"))
            parts.extend(_card(item, can_note) for item in members)
    return html.Div(parts)


def _notes(item: dict) -> list:
    return [html.Div([
        html.Span("Van de teamchef", className="badge text-bg-info me-2"),
        html.Span(f"{note_author(note)} · {fmt.moment(note['at'])}",
                  className="small text-body-secondary"),
        html.Div(note["text"], className="melding-notitie-tekst"),
    ], className="melding-notitie border-start border-info border-3 ps-2 mt-2")
        for note in item.get("notes", ())]


def _note_form(item: dict):
    return html.Div([
        html.Label(["Notitie voor het gezag (u als teamchef)",
                    dbc.Textarea(id={"type": "melding-notitie-tekst", "id": item["id"]},
                                 maxLength=NOTE_MAX, rows=2,
                                 placeholder=f"Ten hoogste {NOTE_MAX} tekens",
                                 className="form-control-sm")], className="small w-100"),
        dbc.Button("Notitie toevoegen", id={"type": "melding-notitie-knop", "id": item["id"]},
                   size="sm", color="secondary", className="mt-1 melding-notitie-knop"),
    ], className="mt-2")


def _card(item: dict, can_note: bool = False):
    seen = item["acknowledged"]
    kind_color = "danger" if item["kind"] == "inval" else "warning"
    facts = [("Pleegdatum", _when(item["occurred_at"])),
             ("Geregistreerd", _when(item["registered_at"]))]
    if item["kind"] == "inval":
        facts.append(("Uitvoerende eenheid", item.get("executing_unit") or "onbekend"))
        facts.append(("Op last van het OM", om_text(item.get("om_ordered"))))
    if "incident_id" in item:
        facts.append(("Registratienummer", item["incident_id"]))
    if "wijk" in item:
        facts.append(("Wijk / buurt", f"{item.get('wijk') or '-'} / {item.get('buurt') or '-'}"))
    if "street" in item:
        address = " ".join(p for p in (item.get("street"), item.get("house_number")) if p)
        facts.append(("Adres", address or "-"))
        if item.get("mo"):
            facts.append(("Modus operandi", item["mo"]))
        if item.get("summary"):
            facts.append(("Samenvatting", item["summary"]))
    button = (html.Span("Gezien", className="text-muted small") if seen else
              dbc.Button("Gezien", id={"type": "melding-gezien", "id": item["id"]},
                         size="sm", color="primary", className="melding-gezien-knop"))
    return html.Div(html.Div([
        html.Div([
            dbc.Badge(item["kind_title"], color=kind_color, className="me-2 melding-soort",
                      text_color="dark" if kind_color == "warning" else None),
            html.Strong(f"{item['type_title']} in {item['gemeente']}", className="me-auto"),
            button,
        ], className="d-flex align-items-center mb-1"),
        html.Dl([part for label, value in facts
                 for part in (html.Dt(label, className="col-sm-3"),
                              html.Dd(value, className="col-sm-9 mb-0"))],
                className="row small mb-0"),
        *_notes(item),
        *([_note_form(item)] if can_note else []),
    ], className="card-body py-2"), className="card mb-2 melding"
        + (" melding-gezien" if seen else ""),  # greyed in assets/wcag.css, still legible
        id=f"melding-{item['id']}", **{"data-gm": item["gm_code"]})
