"""Shared controls with Dutch texts: every page builds its dropdowns, date fields and data grids
here, so no English text of a component ("Select All", "Page Size:", "mm/dd/yyyy") reaches a
user. The texts that components render in the browser without a prop for them (Plotly's chart
toolbar and month names, Leaflet's zoom buttons, the date picker's month names and buttons)
are Dutch through dashboard/assets/dutch.js and the locale files beside it."""
from __future__ import annotations

import json
from pathlib import Path

import dash_ag_grid as dag
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


#: How a date field shows and takes dates, and what it says while empty.
DATE_FORMAT = "DD-MM-YYYY"
DATE_PLACEHOLDER = "dd-mm-jjjj"


def date_input(*, id, date=None, placeholder: str = DATE_PLACEHOLDER, **kwargs):  # noqa: A002
    """A date field: dd-mm-jjjj, a Dutch calendar (date-fns' nl locale, weeks from Monday);
    its ``date`` property is ISO 'JJJJ-MM-DD' as the query layer takes it."""
    return dcc.DatePickerSingle(
        id=id, date=date, placeholder=placeholder, display_format=DATE_FORMAT,
        month_format="MMMM YYYY", first_day_of_week=1, clearable=True,
        className="vb-date " + kwargs.pop("className", ""), **kwargs)


#: AG Grid's own texts (pager, overlays, filter and column menus, screen-reader labels): AG
#: Grid's nl-NL locale (layouts/aggrid_nl.json, see aggrid_nl.LICENSE), with our wording
#: where theirs is stiff or wrong.
GRID_LOCALE = {
    **json.loads((Path(__file__).with_name("aggrid_nl.json")).read_text(encoding="utf-8")),
    "to": "t/m", "more": "meer", "loadingOoo": "Laden…", "noRowsToShow": "Geen rijen",
    "pageSizeSelectorLabel": "Rijen per pagina:", "ariaPageSizeSelectorLabel": "Rijen per pagina",
    "firstPage": "Eerste pagina", "lastPage": "Laatste pagina", "nextPage": "Volgende pagina",
    "previousPage": "Vorige pagina", "blanks": "(Leeg)", "filterOoo": "Filteren…",
    "searchOoo": "Zoeken…", "dateFormatOoo": "dd-mm-jjjj", "ariaFilterInput": "Filtertekst",
    "thousandSeparator": ".", "decimalSeparator": ",",
}


def data_grid(*, no_rows: str | None = None, dashGridOptions: dict | None = None,  # noqa: N803
              **kwargs) -> dag.AgGrid:
    """A dag.AgGrid with Dutch texts; ``no_rows`` is what an empty grid says."""
    locale = GRID_LOCALE if no_rows is None else {**GRID_LOCALE, "noRowsToShow": no_rows}
    return dag.AgGrid(dashGridOptions={"localeText": locale, **(dashGridOptions or {})},
                      **kwargs)
