"""The Kaart page's view state: which levels a scope is offered, what a URL asks for, and the
checked (level, area) choice with its names for breadcrumb and titles.

Everything here is re-derived on the server for every request from the user's choices (URL and
stores) and the server-side scope; nothing in the browser widens it.
"""
from __future__ import annotations

from urllib.parse import parse_qs

from dashboard.caching import cached
from data.queries import map as q
from data.scope import OutOfScope
from layouts import format as fmt
from layouts import kaart as view


DRILL = {"eenheid": "gemeente", "gemeente": "wijk", "wijk": "buurt", "pc4": "pc6"}


def offered_levels(scope) -> list[str]:
    """The levels in the Niveau choice: the regionale eenheid only when the scope spans more
    than one gemeente, PC6 only at detail level 3 (``q.LEVEL_DETAIL``)."""
    return [level for level in q.VIEW_LEVELS
            if (level != "eenheid" or len(scope.gemeenten) > 1)
            and q.level_allowed(level, scope=scope)]


def drill(scope, level: str | None) -> str | None:
    """The level a click on an area of ``level`` opens (gemeente -> wijk -> buurt, PC4 ->
    PC6), or None at the lowest level the scope is offered."""
    below = DRILL.get(level)
    return below if below in offered_levels(scope) else None


def wide_layers(scope) -> bool:
    """Whether the wijk, buurt and PC4 layers may cover a whole eenheid or the whole scope (no
    gemeente): for users with exact figures (detail level 3, analysts) over more than one
    gemeente. Others get these layers per gemeente (the first one in scope by default)."""
    return scope.detail >= 3 and len(scope.gemeenten) > 1


def home(scope) -> dict:
    """Where the map opens when a link does not say: a scope of one gemeente (a mayor) at its
    own wijken per 1,000 inhabitants; a wider scope at its gemeenten, counts. Whatever the
    URL does say wins (see :func:`with_home`)."""
    if len(scope.gemeenten) == 1 and "wijk" in offered_levels(scope):
        (gemeente,) = scope.gemeenten
        return {"level": "wijk", "area": gemeente, "measure": "per_1000"}
    return {"level": "gemeente", "area": None, "measure": "count"}


def with_home(raw: dict, scope) -> dict:
    """The choices of a URL completed with :func:`home`: a missing level (with its area when
    the URL names none) and a missing measure."""
    start = home(scope)
    raw = dict(raw)
    if not raw.get("level"):
        raw["level"] = start["level"]
        raw["area"] = raw.get("area") or start["area"]
    if not raw.get("measure"):
        raw["measure"] = start["measure"]
    return raw


def parse_search(search) -> dict:
    """The view state a URL query string asks for (unvalidated)."""
    if not isinstance(search, str):
        return {}
    raw = parse_qs(search.lstrip("?"))
    keys = {"niveau": "level", "gebied": "area", "type": "group", "periode": "period",
            "maat": "measure", "markeer": "highlight"}
    return {key: raw[name][0] for name, key in keys.items() if raw.get(name)}


def resolve(con, scope, level, area_code) -> dict:
    """Check a (level, area) choice against the scope and complete it: ``within`` (the gemeente),
    ``parent`` (a wijk for buurten, a PC4 for PC6), ``eenheid`` (a regionale eenheid that
    narrows a gemeente or wide wijk, buurt or PC4 layer) and the names for breadcrumb and titles.
    Raises OutOfScope for an area outside the scope (or unknown; a refusal is never cached).
    Asked by every Kaart callback of a view: cached per scope and data version."""
    return cached("kaart-resolve", lambda: _resolve(con, scope, level, area_code), scope=scope,
                  extra=(level, area_code))


def _resolve(con, scope, level, area_code) -> dict:
    if scope.empty:
        raise OutOfScope("empty scope")
    if level not in offered_levels(scope):
        level, area_code = home(scope)["level"], area_code or home(scope)["area"]
    info = q.area(con, scope=scope, code=area_code) if area_code else None
    eenheid = info if info is not None and info["level"] == "eenheid" else None
    state = {"level": level, "area": None, "within": None, "parent": None, "gemeente": None,
             "parent_info": None, "eenheid": None}
    if level == "eenheid":
        return state
    if level == "gemeente" or (level in q.WIDE_LEVELS and wide_layers(scope)
                               and (info is None or eenheid is not None)):
        return {**state, "area": eenheid["code"] if eenheid else None, "eenheid": eenheid}
    if info is None or eenheid is not None:
        candidates = q.narrow(con, scope=scope,
                              eenheid=eenheid["code"] if eenheid else None).gemeenten
        info = q.area(con, scope=scope, code=sorted(candidates)[0])
    gemeente = info if info["level"] == "gemeente" else q.area(con, scope=scope,
                                                               code=info["gm_code"])
    parent = None
    if level in q.PARENT_LEVEL and info["level"] == q.PARENT_LEVEL[level]:
        parent = info
    area = parent["code"] if parent else gemeente["code"]
    return {**state, "area": area, "within": gemeente["code"],
            "parent": parent["code"] if parent else None, "gemeente": gemeente,
            "parent_info": parent}


def checked_highlight(con, scope, state: dict, code) -> str | None:
    """The area to highlight on the map (``?markeer=``, set by the search): an area in scope
    (OutOfScope otherwise, as for ``gebied``) of the level shown, inside the shown gemeente and
    parent; None for anything else."""
    if not isinstance(code, str) or not code:
        return None
    info = q.area(con, scope=scope, code=code)
    if (info["level"] != state["level"]
            or (state["within"] is not None and info["gm_code"] != state["within"])
            or (state["parent"] is not None and info["parent"] != state["parent"])):
        return None
    return info["code"]


def search_target(result: dict) -> dict:
    """Where a search result leads: the level of the area, inside its gemeente (wijk, PC4) or
    parent (buurt in its wijk, PC6 in its PC4), with the area highlighted. An address opens
    its PC6."""
    level, code = result["level"], result["code"]
    if level == "adres":
        level = "pc6"
    area = {"gemeente": None, "wijk": result["gm_code"], "pc4": result["gm_code"]}.get(
        level, result["parent_code"])
    return {"level": level, "area": area, "highlight": code}


def choices(con, scope):
    """(bundles, periods) for the controls; the gemeente sources the scope sees follow the
    police bundles as choices ``bron:<owner>|<source>`` (callbacks/kaart_values.py). Asked by
    every Kaart callback: cached per scope and data version."""
    return cached("kaart-choices", lambda: _choices(con, scope), scope=scope)


def _choices(con, scope):
    bundles = q.bundle_options(con, scope=scope)
    if bundles:
        from data.queries.sources import list_sources
        bundles = bundles + [(f"{SOURCE_PREFIX}{r.owner}|{r.source}", r.label)
                             for r in list_sources(con, scope=scope).itertuples()]
    periods = q.period_options(con, scope=scope)
    return bundles, periods


#: A "Soort" choice that is a gemeente source rather than a police bundle.
SOURCE_PREFIX = "bron:"


def is_source(group) -> bool:
    return isinstance(group, str) and group.startswith(SOURCE_PREFIX)


def period_label(key: str, period) -> str:
    if key == "12m":
        return f"Laatste 12 maanden ({fmt.period(period.start, period.end)})"
    return key


def pick_filters(raw: dict, bundles, periods) -> dict:
    codes = [c for c, _ in bundles]
    keys = [k for k, _ in periods]
    return {
        "group": raw.get("group") if raw.get("group") in codes else (codes[0] if codes else None),
        "period": raw.get("period") if raw.get("period") in keys else (keys[0] if keys else None),
        "measure": raw.get("measure") if raw.get("measure") in q.MEASURES else "count",
    }


def crumbs(con, state: dict, filters: dict, scope) -> list:
    """The breadcrumb: the way up from the current view, each step a link, the current view
    last. A wider scope starts at its eenheden (or gemeenten); a scope of one gemeente at that
    gemeente, so a mayor reads "Havenstad › Wijken" (never "Gemeenten › Gemeenten")."""
    def href(level, area=None):
        return "/kaart" + view.query_string({**filters, "level": level, "area": area})
    gemeente, parent, level = state["gemeente"], state["parent_info"], state["level"]
    postcode = level in ("pc4", "pc6")
    if len(scope.gemeenten) == 1:
        (code,) = scope.gemeenten
        own = gemeente or q.area(con, scope=scope, code=code)
        crumbs = [(own["name"], href("gemeente"))]
        if level != "gemeente":
            crumbs.append((view.LEVEL_LABELS["pc4" if postcode else "wijk"],
                           href("pc4" if postcode else "wijk", own["code"])))
        if parent:
            crumbs.append((parent["name"], None))
        elif level in ("buurt", "pc6"):
            crumbs.append((view.LEVEL_LABELS[level], None))
        return view.breadcrumb(crumbs)
    if "eenheid" in offered_levels(scope):
        crumbs = [("Eenheden", href("eenheid"))]
        if state["eenheid"]:
            crumbs.append((state["eenheid"]["name"], href("gemeente", state["eenheid"]["code"])))
        elif level != "eenheid":
            crumbs.append(("Gemeenten", href("gemeente")))
    else:
        crumbs = [("Gemeenten", href("gemeente"))]
    if gemeente:
        crumbs.append((gemeente["name"], href("pc4" if postcode else "wijk", gemeente["code"])))
    if parent:
        crumbs.append((parent["name"], None))
    if (not parent and (level in ("buurt", "pc6") or (not gemeente and level != "eenheid"))
            and crumbs[-1][0] != view.LEVEL_LABELS[level]):
        crumbs.append((view.LEVEL_LABELS[level], None))
    return view.breadcrumb(crumbs)


def stored(value) -> dict | None:
    return value if isinstance(value, dict) else None


def eenheid_code(state) -> str | None:
    return state["eenheid"]["code"] if state.get("eenheid") else None


def selection_title(state) -> str:
    label = view.LEVEL_LABELS[state["level"]]
    if state.get("eenheid"):
        return f"{label} in {state['eenheid']['name']}"
    if state["parent_info"]:
        return f"{label} in {state['parent_info']['name']}"
    if state["gemeente"]:
        return f"{label} in {state['gemeente']['name']}"
    return label

