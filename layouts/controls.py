"""Shared form controls with Dutch texts: every page builds its dropdowns here, so no English
text of the component ("Select All", "2 selected", "Search") reaches a user."""
from __future__ import annotations

from dash import dcc

#: The texts dcc.Dropdown renders itself (its ``labels`` prop).
DROPDOWN_LABELS = {
    "select_all": "Alles kiezen",
    "deselect_all": "Niets kiezen",
    "selected_count": "{num_selected} gekozen",
    "search": "Zoeken",
    "clear_search": "Zoektekst wissen",
    "clear_selection": "Keuze wissen",
    "no_options_found": "Geen keuzes gevonden",
}


def dropdown(**kwargs) -> dcc.Dropdown:
    """A dcc.Dropdown with Dutch texts. Give it a ``dbc.Label(..., html_for=id)``: that names
    it for screen readers (dashboard/assets/wcag.js, which also makes its button the tab stop
    and its open list a named group of checkboxes; no component property does either)."""
    return dcc.Dropdown(labels=DROPDOWN_LABELS, **kwargs)
