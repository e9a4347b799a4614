"""The Kaart page's near-repeat section (woninginbraak, ``data/queries/near_repeat.py``).

Data callbacks, each scoped and logged by ``data_callback``:

* ``kaart/near-repeat`` the card under the map for the gemeente in view: at detail level 3 the
  list of flagged zones (date, address, wijk, buurt, days of raised risk left); below it the
  count per wijk (detail 2 the last days, detail 1 the released month count, see
  docs/disclosure.md). Which one is decided by the scope alone, never by the request.
* ``kaart/near-repeat-laag`` the zones as circles on the map (detail level 3 only: the switch
  and the layer are only on the page for such users, and the query refuses any other scope
  before touching data, so a forged request is refused and logged).
"""
from __future__ import annotations

from dash import Input, Output

from callbacks.guard import Served, data_callback
from callbacks.kaart_state import resolve, stored
from dashboard.auth import get_db, get_state
from data.accounts import get_profile
from data.queries import near_repeat as nr
from data.scope import Scope, ensure_detail
from layouts import format as fmt
from layouts import kaart as view

EMPTY_COLLECTION = {"type": "FeatureCollection", "features": []}


def _gemeente(con, scope: Scope, area_state) -> str | None:
    """The gemeente in view (checked against the scope), or the scope's only gemeente."""
    area_state = stored(area_state) or {}
    state = resolve(con, scope, area_state.get("level"), area_state.get("area"))
    if state["within"] is not None:
        return state["within"]
    return next(iter(scope.gemeenten)) if len(scope.gemeenten) == 1 else None


def _params(gemeente: str) -> nr.Params:
    return nr.params_for(lambda code: get_profile(get_state(), code), [gemeente])


def _address(row) -> str:
    return " ".join(str(v) for v in (row["street"], row["house_number"]) if v) or "onbekend"


def register(app) -> None:
    @data_callback(app, "kaart/near-repeat", [Output("kaart-nr-inhoud", "children")],
                   [Input("kaart-area", "data")], prevent_initial_call=True)
    def card(scope, area_state):
        ensure_detail(scope, 1)
        con = get_db()
        gemeente = _gemeente(con, scope, area_state)
        if gemeente is None:
            return Served(("Kies een gemeente op de kaart om het near-repeat-risico te zien.",),
                          rows=0)
        params = _params(gemeente)
        filters = {"gemeente": gemeente, "afstand_m": params.distance_m, "dagen": params.days}
        if scope.detail >= 3:
            cover = nr.coverage(con, scope=scope)
            if cover.reason:
                return Served((cover.reason.capitalize() + ".",), rows=0, filters=filters)
            zones = nr.zones(con, scope=scope, params=params, reference=cover.reference,
                             within=gemeente)
            rows = [{"date": fmt.day(r["occurred_date"]), "address": _address(r),
                     "wijk": r["wijk"] or "", "buurt": r["buurt"] or "",
                     "left": fmt.integer(r["days_left"])} for _, r in zones.iterrows()]
            title = (f"{fmt.integer(len(rows))} woninginbraken met verhoogd risico binnen "
                     f"{params.distance_m} m (peildatum {fmt.day(cover.reference)})")
            note = (f"Woningen binnen {params.distance_m} m van deze adressen hebben tot "
                    f"{params.days} dagen na de inbraak een verhoogd risico.")
            return Served((view.near_repeat_list(title, note, rows),), rows=len(rows),
                          filters={**filters, "niveau": "adres"})
        counts = nr.wijk_counts(con, scope=scope, gemeente=gemeente, params=params)
        if counts.reason:
            return Served((counts.reason.capitalize() + ".",), rows=0, filters=filters)
        frame = counts.frame
        rows = [[r["name"], "geen gegevens" if r["count"] is None or str(r["count"]) == "<NA>"
                 else fmt.integer(r["count"])] for _, r in frame.iterrows()]
        if counts.monthly:
            title = f"Woninginbraken per wijk in {fmt.month(counts.start)}"
            header = ["Wijk", "Woninginbraken"]
            note = ("Op uw detailniveau per wijk de woninginbraken van de laatste afgesloten "
                    "maand, zoals de politie ze openbaar maakt. Het actuele near-repeat-risico "
                    f"(de laatste {params.days} dagen) staat per wijk vanaf detailniveau 2 en op "
                    "adresniveau vanaf detailniveau 3: cijfers over lopende dagen per wijk "
                    "publiceert de politie niet.")
        else:
            title = ("Woninginbraken met verhoogd risico in de omgeving, per wijk "
                     f"({fmt.day(counts.start)} t/m {fmt.day(counts.end)})")
            header = ["Wijk", "Inbraken met verhoogd risico"]
            note = (f"Woningen binnen {params.distance_m} m van deze inbraken hebben tot "
                    f"{params.days} dagen na de inbraak een verhoogd risico (near-repeat).")
        return Served((view.near_repeat_wijken(title, note, header, rows),), rows=len(rows),
                      filters={**filters, "niveau": "wijk", "maand": counts.monthly})

    @data_callback(app, "kaart/near-repeat-laag", [
        Output("kaart-nr-message", "children"),
        Output("kaart-nr-geo", "data"),
    ], [Input("kaart-nr", "value"), Input("kaart-area", "data")], prevent_initial_call=True)
    def layer(scope, switched_on, area_state):
        ensure_detail(scope, 3)  # even switched off: nobody else ever calls this view
        con = get_db()
        gemeente = _gemeente(con, scope, area_state)
        if switched_on is not True:
            return Served(("", EMPTY_COLLECTION), rows=0, filters={"laag": False})
        if gemeente is None:
            return Served(("Kies een gemeente op de kaart voor het near-repeat risico.",
                           EMPTY_COLLECTION), rows=0, filters={"laag": True})
        params = _params(gemeente)
        zones = nr.zones(con, scope=scope, params=params, within=gemeente)
        features = [{"type": "Feature",
                     "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
                     "properties": {"radius_m": int(r["radius_m"]), "days": params.days,
                                    "days_left": int(r["days_left"]),
                                    "address": _address(r), "date": fmt.day(r["occurred_date"]),
                                    "buurt": r["buurt"] or "",
                                    "left": f"nog {int(r['days_left'])} dagen verhoogd risico"}}
                    for _, r in zones.iterrows()]
        message = (f"{fmt.integer(len(features))} zones van {params.distance_m} m rond "
                   f"woninginbraken van de laatste {params.days} dagen.")
        return Served((message, {"type": "FeatureCollection", "features": features}),
                      rows=len(features),
                      filters={"laag": True, "gemeente": gemeente, "afstand_m": params.distance_m,
                               "dagen": params.days})
