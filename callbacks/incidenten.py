"""The Incidenten page: filters -> URL and filter store; grid row requests -> rows and count.

* the filter bar writes the filter parameters to a store and to the URL (no data involved);
* a browser-side callback empties the grid's row cache when the filters change, so the grid
  asks again from row 0;
* ``incidenten/rijen`` (scoped and logged) answers each grid request with one page of rows from
  ``data.queries.incidents`` and the number of matching rows;
* the export links carry the same filter, the visible columns and the sort to the streamed
  export routes (dashboard/exports.py), which check the scope again.
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlencode

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.guard import Served, data_callback, refused_page
from dashboard.auth import current_scope, get_db
from data.queries import incidents as q
from data.queries.trends import indicator_options
from data.scope import OutOfScope
from layouts import format as fmt
from layouts import incidenten as view


def parse_search(search) -> dict:
    """Filter parameters (query-layer names) from a URL query string (unvalidated)."""
    if not isinstance(search, str):
        return {}
    raw = parse_qs(search.lstrip("?"))
    out = {}
    for url_key, key in view.URL_KEYS.items():
        if raw.get(url_key):
            value = raw[url_key][0]
            out[key] = [v for v in value.split(",") if v] if key in ("type", "area") else value
    return out


def filter_params(start, end, types, areas, attempt, high_impact, text) -> dict:
    """The store's filter parameters from the controls (strings and lists of strings only)."""
    def strings(value):
        if isinstance(value, str):
            value = [value]
        return [v for v in value if isinstance(v, str) and v][:100] if isinstance(value, list) else []

    def text_value(value):
        return value.strip()[:200] if isinstance(value, str) and value.strip() else None
    params = {"from": text_value(start), "to": text_value(end), "type": strings(types),
              "area": strings(areas), "attempt": attempt if attempt in ("ja", "nee") else None,
              "high_impact": "ja" if isinstance(high_impact, list) and "ja" in high_impact
              else None, "q": text_value(text)}
    return {k: v for k, v in params.items() if v not in (None, [], "")}


#: What the page says when the dates are the wrong way round (the data layer refuses the
#: filter with its own, API-facing text; the page speaks to a person).
DATES_REVERSED = "De begindatum ligt na de einddatum."


def filter_message(params, exc: Exception) -> str:
    """The sentence above the empty grid for a filter the data layer refused."""
    if not isinstance(exc, q.FilterError):
        return "Ongeldige aanvraag."
    params = params if isinstance(params, dict) else {}
    try:
        start, end = q.parse_day(params.get("from"), "from"), q.parse_day(params.get("to"), "to")
    except q.FilterError:
        return str(exc)
    return DATES_REVERSED if start and end and end < start else str(exc)


def sort_from(request_sort) -> q.Sort:
    """The query-layer sort from AG Grid's sortModel (first entry; default newest first)."""
    if isinstance(request_sort, list) and request_sort and isinstance(request_sort[0], dict):
        first = request_sort[0]
        column = first.get("colId")
        if isinstance(column, str):
            return q.parse_sort(("-" if first.get("sort") == "desc" else "") + column)
    return q.Sort()


def export_href(kind: str, params: dict, column_state) -> str:
    """The export URL for the filter, the grid's visible columns (in their order) and sort."""
    params = params if isinstance(params, dict) else {}
    query = {k: ",".join(v) if isinstance(v, list) else v for k, v in params.items()
             if k in view.URL_KEYS.values() and isinstance(v, (str, list))}
    if isinstance(column_state, list) and column_state:
        visible = [c.get("colId") for c in column_state
                   if isinstance(c, dict) and not c.get("hide") and isinstance(c.get("colId"), str)]
        query["columns"] = ",".join(visible)
        sorted_columns = [c for c in column_state if isinstance(c, dict) and c.get("sort")]
        if sorted_columns:
            query["sort"] = ("-" if sorted_columns[0]["sort"] == "desc" else "") + \
                sorted_columns[0]["colId"]
    if kind == "csv-komma":
        query["sep"] = ","
    query["job"] = uuid.uuid4().hex
    if kind == "xlsx":
        query["taak"] = "1"  # a background job (dashboard/exports.py), the page polls it
    path = "/incidenten/export.xlsx" if kind == "xlsx" else "/incidenten/export.csv"
    return path + "?" + urlencode(query)


def register(app) -> None:
    @app.callback(
        Output("incidenten-filter", "data"), Output("incidenten-url", "search"),
        Input("incidenten-van", "date"), Input("incidenten-tot", "date"),
        Input("incidenten-type", "value"), Input("incidenten-gebied", "value"),
        Input("incidenten-poging", "value"), Input("incidenten-hic", "value"),
        Input("incidenten-zoek", "value"), prevent_initial_call=True)
    def choose(start, end, types, areas, attempt, high_impact, text):
        if current_scope().detail < 2:  # no incident lists: nothing to choose or echo
            raise PreventUpdate
        params = filter_params(start, end, types, areas, attempt, high_impact, text)
        return {**params, "key": uuid.uuid4().hex}, view.query_string(params)

    app.clientside_callback(
        """function (params) {
            try {
                const api = dash_ag_grid.getApi('incidenten-grid');
                if (api) { api.purgeInfiniteCache(); }
            } catch (e) { /* grid not mounted yet: it will ask for rows itself */ }
            return window.dash_clientside.no_update;
        }""",
        Output("incidenten-purged", "data"), Input("incidenten-filter", "data"),
        prevent_initial_call=True)

    @data_callback(app, "incidenten/rijen", [
        Output("incidenten-status", "children"),
        Output("incidenten-grid", "getRowsResponse"),
    ], [Input("incidenten-grid", "getRowsRequest")], [State("incidenten-filter", "data")],
        prevent_initial_call=True)
    def rows(scope, request, params):
        """One block of rows. The row count comes separately (``count`` below) so that a slow
        count never delays the rows: the grid learns the total when it arrives."""
        con = get_db()
        request = request if isinstance(request, dict) else {}
        try:
            flt = q.parse_filter(params if isinstance(params, dict) else {})
            sort = sort_from(request.get("sortModel"))
            start = max(0, int(request.get("startRow") or 0))
            end = max(start, int(request.get("endRow") or start + view.PAGE_SIZE))
            page = q.incident_page(con, scope=scope, flt=flt, sort=sort, offset=start,
                                   limit=end - start)
        except (q.FilterError, TypeError, ValueError) as exc:
            message = filter_message(params, exc)
            return Served((view.filter_error(message), {"rowData": [], "rowCount": 0}),
                          rows=0, filters={"fout": message})
        # The last block tells the grid where the list ends; otherwise the count does.
        last = start + len(page) if len(page) < end - start else -1
        return Served(("", {"rowData": page, "rowCount": last}), rows=len(page),
                      filters={**flt.describe(), "sort": ("-" if sort.descending else "")
                               + sort.column, "offset": start})

    @data_callback(app, "incidenten/aantal", [
        Output("incidenten-count", "children"),
        Output("incidenten-total", "data"),
    ], [Input("incidenten-filter", "data")])
    def count(scope, params):
        """The number of matching incidents, shown at all times and given to the grid."""
        con = get_db()
        try:
            flt = q.parse_filter(params if isinstance(params, dict) else {})
            total = q.count_incidents(con, scope=scope, flt=flt)
        except q.FilterError:
            return Served(("", None), rows=0)  # the rows callback shows the message
        text = f"{fmt.integer(total)} incident{'' if total == 1 else 'en'}"
        key = params.get("key") if isinstance(params, dict) else None
        key = key if isinstance(key, str) and re.fullmatch(r"[0-9a-f]{32}", key) else None
        return Served((text, {"key": key, "total": total}), rows=0,
                      filters={**flt.describe(), "aantal": total})

    # Give the grid the total once both the count and the grid are there (in either order),
    # and only if the count belongs to the current filter.
    app.clientside_callback(
        """function (total, response, params) {
            if (!total || !params || total.key !== params.key) {
                return window.dash_clientside.no_update;
            }
            try {
                const api = dash_ag_grid.getApi('incidenten-grid');
                if (api && api.getDisplayedRowCount() !== total.total) {
                    api.setRowCount(total.total, true);
                }
            } catch (e) { /* grid not mounted yet: the next rows response retries */ }
            return window.dash_clientside.no_update;
        }""",
        Output("incidenten-counted", "data"), Input("incidenten-total", "data"),
        Input("incidenten-grid", "getRowsResponse"), State("incidenten-filter", "data"),
        prevent_initial_call=True)

    @app.callback(
        Output("incidenten-export-csv", "href"), Output("incidenten-export-csv-komma", "href"),
        Output("incidenten-export-xlsx", "href"),
        Input("incidenten-filter", "data"), Input("incidenten-grid", "columnState"))
    def export_links(params, column_state):
        if current_scope().detail < 2:
            raise PreventUpdate
        return tuple(export_href(kind, params, column_state)
                     for kind in ("csv", "csv-komma", "xlsx"))


def page(search=None):
    """The page for the logged-in user: no grid at all below detail level 2."""
    con, scope = get_db(), current_scope()
    if scope.empty:
        return view.no_access("U heeft geen toegang tot incidentgegevens.")
    if scope.detail < 2:
        return view.no_access(
            "Uw afsprakenprofiel geeft toegang tot cijfers (detailniveau 1): kaarten, trends "
            "en tellingen tot op buurt. Lijsten van afzonderlijke incidenten zijn daarin niet "
            "opgenomen. Neem contact op met uw politie-eenheid als u die nodig heeft.")
    raw = parse_search(search)
    params = filter_params(raw.get("from"), raw.get("to"), raw.get("type"), raw.get("area"),
                           raw.get("attempt"), [raw.get("high_impact")], raw.get("q"))
    try:
        q.where_clause(con, scope=scope, flt=q.parse_filter(params))
    except OutOfScope as exc:
        return view.no_access(refused_page("incidenten", search, exc))
    except q.FilterError:
        pass  # the page opens; the row callback shows the message
    return view.incidenten(
        columns=q.columns_for(scope=scope), types=indicator_options(con, scope=scope),
        areas=q.area_options(con, scope=scope, extra=params.get("area") or ()),
        params=params, key=uuid.uuid4().hex, text_search=scope.detail >= 3)


def validation_page():
    return view.incidenten(columns=list(q.COLUMNS), types=[], areas=[], params={}, key="",
                           text_search=True)
