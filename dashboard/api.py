"""The data-delivery API: ``/api/v1/`` JSON and CSV for other systems.

* ``GET /api/v1/counts`` — counts per area, exactly what the map shows (``data.queries.map``),
  with the same small-count suppression: a hidden cell is ``null`` with ``"suppressed": true``
  in JSON and the ``<5`` mark in CSV;
* ``GET /api/v1/incidents`` — what the incident table shows (``data.queries.incidents``): a page
  as JSON, or the whole filtered set as a streamed CSV (``data.export.csv_chunks``);
* ``GET /api/v1/openapi.json`` — the description below (:data:`OPENAPI`), public: it holds no
  data.

Authentication is a per-user bearer token (``data/tokens.py``); the session cookie does not
count here, and the cookie-login guard in ``dashboard/auth.py`` leaves ``/api/v1/`` to this
module. The scope is resolved from the token's user exactly as for the web pages; nothing in a
request can widen it. Every data call, refused ones included, writes one protocol-log row
before anything leaves. Errors are ``{"error": "<Nederlandse melding>", "status": N}``.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

import flask
import pandas as pd
from werkzeug.exceptions import HTTPException

from dashboard.auth import get_db, get_state
from data import protocol
from data.accounts import get_profile
from data.export import SEPARATORS, csv_chunks, provenance, provenance_line
from data.queries import map as mapq
from data.queries.incidents import (COLUMNS, MAX_PAGE, FilterError, count_incidents,
                                    incident_page, parse_filter, parse_sort, resolve_columns)
from data.scope import DENY, OutOfScope, resolve_scope
from data.suppression import mark
from data.tokens import authenticate

PREFIX = "/api/v1"
FORMATS = ("json", "csv")
DEFAULT_LIMIT = 100

#: Endpoint -> protocol-log view name.
VIEWS = {"api.counts": "api/counts", "api.incidents": "api/incidents"}

MESSAGES = {
    401: "Geen geldige API-token. Stuur de kop 'Authorization: Bearer <token>' mee; een token "
         "maakt de beheerder aan.",
    404: "Onbekend adres in de API; zie /api/v1/openapi.json.",
    405: "Deze methode is hier niet toegestaan; de API kent alleen GET.",
    429: "Te veel verzoeken met deze token; probeer het over een minuut opnieuw.",
    500: "Interne fout in de API; probeer het later opnieuw.",
}


class BadParameter(ValueError):
    """A malformed API parameter (400). The message is Dutch and safe to show."""


class Unauthenticated(PermissionError):
    def __init__(self, detail: str):
        super().__init__(MESSAGES[401])
        self.detail = detail


def error(status: int, message: str | None = None) -> flask.Response:
    response = flask.jsonify(error=message or MESSAGES.get(status, "Fout."), status=status)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="veiligheidsbeeld"'
    return response


# -- who is asking --------------------------------------------------------------------------------

def token_auth():
    """(user, token) of the request's bearer token, or None; computed once per request."""
    if "vb_api_auth" not in flask.g:
        scheme, _, text = flask.request.headers.get("Authorization", "").partition(" ")
        flask.g.vb_api_auth = (authenticate(get_state(), text.strip(),
                                            demo=flask.current_app.config["VB_DEMO"])
                               if scheme.lower() == "bearer" else None)
    return flask.g.vb_api_auth


def rate_key() -> str:
    """Rate-limit counter: per token, or per client address when there is no valid token."""
    auth = token_auth()
    return f"api-token:{auth[1].id}" if auth else f"api-addr:{flask.request.remote_addr}"


def _scope(user):
    state = get_state()
    return resolve_scope(user, con=get_db(), profile_for=lambda code: get_profile(state, code))


def _params() -> dict:
    """The request parameters for the protocol log (shortened)."""
    return {k: ",".join(flask.request.args.getlist(k))[:200] for k in flask.request.args}


def _log(view: str, *, user, scope, rows, outcome="ok", detail=None, filters=None) -> None:
    protocol.record(get_state(), user=user, scope=scope, view=view,
                    filters=filters if filters is not None else _params(), rows=rows,
                    client=flask.request.remote_addr, outcome=outcome, detail=detail)


def serve(view: str, handler):
    """Authenticate, resolve the scope, run ``handler(con, scope, user)`` and log the call
    (ok or refused) before the response leaves. ``handler`` returns (response, rows, filters)."""
    auth = token_auth()
    user, scope = (None, DENY) if auth is None else (auth[0], None)
    try:
        if auth is None:
            raise Unauthenticated("missing, unknown or revoked token")
        scope = _scope(user)
        if scope.empty:
            raise OutOfScope(f"role {user.role} sees no police data")
        response, rows, filters = handler(get_db(), scope, user)
    except Unauthenticated as exc:
        _log(view, user=None, scope=None, rows=0, outcome="refused", detail=exc.detail)
        return error(401)
    except OutOfScope as exc:
        _log(view, user=user, scope=scope, rows=0, outcome="refused", detail=exc.detail)
        return error(403, str(exc))
    except (BadParameter, FilterError) as exc:
        _log(view, user=user, scope=scope, rows=0, outcome="refused", detail=f"400: {exc}")
        return error(400, str(exc))
    _log(view, user=user, scope=scope, rows=rows, filters={**_params(), **filters})
    return response


# -- parameters -----------------------------------------------------------------------------------

def _choice(args, name: str, options, default: str) -> str:
    value = args.get(name) or default
    if value not in options:
        raise BadParameter(f"{name}: kies uit {', '.join(options)} (kreeg {value[:40]!r}).")
    return value


def _integer(args, name: str, default: int, low: int, high: int | None = None) -> int:
    text = args.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadParameter(f"{name}: geef een geheel getal (kreeg {text[:40]!r}).") from None
    if value < low or (high is not None and value > high):
        bound = f"tussen {low} en {high}" if high is not None else f"minstens {low}"
        raise BadParameter(f"{name}: moet {bound} liggen (kreeg {value}).")
    return value


def _filter_params(args) -> dict:
    out = {k: args.get(k) for k in ("from", "to", "attempt", "high_impact", "q")}
    out.update({k: args.getlist(k) or None for k in ("type", "area")})
    return out


def _csv_response(chunks, filename: str) -> flask.Response:
    return flask.Response(chunks, mimetype="text/csv; charset=utf-8",
                          headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _value(value):
    """A JSON number (or null) from a pandas cell."""
    if value is None or pd.isna(value):
        return None
    return int(value) if pd.api.types.is_integer(value) else float(value)


# -- GET /api/v1/counts -------------------------------------------------------------------------

COUNT_FIELDS = ("code", "name", "parent_code", "count", "suppressed", "previous",
                "previous_suppressed", "change", "change_pct", "population", "per_1000", "value",
                "rank", "ranked", "parent_total")
#: Fields that reveal the current count / the previous count; hidden with them.
_FROM_COUNT = ("count", "change", "change_pct", "per_1000", "value", "rank", "ranked")
_FROM_PREVIOUS = ("previous", "change", "change_pct")


def count_rows(frame: pd.DataFrame, measure: str) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        row = {"code": record["code"], "name": record["name"] or record["code"],
               "parent_code": record["parent_code"],
               "suppressed": bool(record["suppressed"]),
               "previous_suppressed": bool(record["previous_suppressed"])}
        for key in COUNT_FIELDS:
            if key not in row:
                row[key] = _value(record[key])
        # Belt and braces: whatever the query layer hid stays hidden in every derived field.
        if row["suppressed"]:
            row.update({k: None for k in _FROM_COUNT})
        if row["previous_suppressed"]:
            row.update({k: None for k in _FROM_PREVIOUS})
            if measure == "change":
                row.update(value=None, rank=None, ranked=None)
        rows.append({k: row[k] for k in COUNT_FIELDS})
    return rows


def counts_csv(rows: list[dict], *, scope, sep: str, info: dict) -> str:
    hidden = mark(scope)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow([provenance_line(info)])
    fields = [k for k in COUNT_FIELDS if k not in ("suppressed", "previous_suppressed")]
    writer.writerow(fields)
    for row in rows:
        cells = []
        for key in fields:
            value = row[key]
            if value is None and ((row["suppressed"] and key == "count")
                                  or (row["previous_suppressed"] and key == "previous")):
                value = hidden  # the mark for the hidden count; values derived from it stay empty
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return out.getvalue()


def counts_handler(con, scope, user):
    args = flask.request.args
    level = _choice(args, "level", mapq.MAP_LEVELS, "gemeente")
    measure = _choice(args, "measure", mapq.MEASURES, "count")
    fmt = _choice(args, "format", FORMATS, "json")
    sep = _choice(args, "sep", tuple(SEPARATORS), ";")
    within = args.get("area") or None
    if within is not None:
        info = mapq.area(con, scope=scope, code=within)  # OutOfScope outside scope or unknown
        if info["level"] != "gemeente":
            raise BadParameter(f"area: geef een gemeentecode (kreeg {info['level']} {within!r}).")
    bundles = [code for code, _ in mapq.bundle_options(con, scope=scope)]
    group = args.get("type") or "alle_misdrijven"
    if group not in bundles:
        raise BadParameter(f"type: onbekende bundel {group[:40]!r}; kies uit "
                           f"{', '.join(bundles)}.")
    options = dict(mapq.period_options(con, scope=scope))
    key = args.get("period") or "12m"
    if key not in options:
        raise BadParameter(f"period: kies '12m' of een jaar met gegevens "
                           f"({', '.join(k for k in options if k != '12m') or 'geen'}); "
                           f"kreeg {key[:40]!r}.")
    period = options[key]
    frame = mapq.map_values(con, scope=scope, level=level, period=period, group=group,
                            measure=measure, within=within)
    rows = count_rows(frame, measure)
    filters = {"level": level, "area": within, "period": key, "type": group,
               "measure": measure, "format": fmt}
    if fmt == "csv":
        info = {"gemaakt_door": user.name,
                "gemaakt_op": datetime.now().astimezone().isoformat(timespec="seconds"),
                "filters": {k: v for k, v in filters.items() if v is not None and k != "format"}}
        text = counts_csv(rows, scope=scope, sep=sep, info=info)
        return _csv_response(text, f"aantallen-{level}-{key}.csv"), len(rows), filters
    body = {"level": level, "area": within,
            "period": {"key": key, "start": period.start.isoformat(),
                       "end": period.end.isoformat()},
            "type": group, "measure": measure, "suppression_mark": mark(scope), "rows": rows}
    return flask.jsonify(body), len(rows), filters


# -- GET /api/v1/incidents ----------------------------------------------------------------------

def incidents_handler(con, scope, user):
    args = flask.request.args
    fmt = _choice(args, "format", FORMATS, "json")
    sep = _choice(args, "sep", tuple(SEPARATORS), ";")
    flt = parse_filter(_filter_params(args))
    sort = parse_sort(args.get("sort"))
    columns = args.getlist("columns") or None
    offset = _integer(args, "offset", 0, 0)
    limit = _integer(args, "limit", DEFAULT_LIMIT, 1, MAX_PAGE)
    chosen = resolve_columns(scope=scope, keys=columns)  # detail level and column checks first
    filters = {"filter": flt.describe(), "sort": ("-" if sort.descending else "") + sort.column,
               "columns": [c.key for c in chosen], "format": fmt}
    if fmt == "csv":
        info = provenance(user=user.name, flt=flt)
        chunks = csv_chunks(con, scope=scope, flt=flt, sort=sort, columns=columns, sep=sep,
                            info=info)  # scope checks run here, before the first byte
        total = count_incidents(con, scope=scope, flt=flt)
        response = _csv_response(flask.stream_with_context(chunks), "incidenten.csv")
        return response, total, filters
    total = count_incidents(con, scope=scope, flt=flt)
    rows = incident_page(con, scope=scope, flt=flt, sort=sort, offset=offset, limit=limit,
                         columns=columns)
    body = {"total": total, "offset": offset, "limit": limit,
            "columns": [c.key for c in chosen], "rows": rows}
    return flask.jsonify(body), len(rows), {**filters, "offset": offset, "limit": limit}


# -- the app ------------------------------------------------------------------------------------

def init_api(server: flask.Flask, limiter) -> None:
    """Register the ``/api/v1/`` blueprint, its rate limit and its JSON errors."""
    settings = server.config["VB_SETTINGS"]
    bp = flask.Blueprint("api", __name__, url_prefix=PREFIX)
    limited = limiter.limit(lambda: settings.api_rate_limit, key_func=rate_key)

    @bp.get("/counts")
    @limited
    def counts():
        return serve("api/counts", counts_handler)

    @bp.get("/incidents")
    @limited
    def incidents():
        return serve("api/incidents", incidents_handler)

    @bp.get("/openapi.json")
    @limited
    def openapi():
        return flask.jsonify(OPENAPI)

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(rest):
        return error(404)

    @bp.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 429:  # refused by the rate limit: logged like any refused call
            view = VIEWS.get(flask.request.endpoint)
            if view is not None:
                auth = token_auth()
                _log(view, user=auth[0] if auth else None, scope=None, rows=0,
                     outcome="refused", detail=f"429: rate limit {exc.description}")
        return error(exc.code or 500, MESSAGES.get(exc.code))

    @bp.errorhandler(Exception)
    def internal_error(exc):
        server.logger.exception("API error", exc_info=exc)
        return error(500)

    server.register_blueprint(bp)


# -- the description ----------------------------------------------------------------------------

def _json(schema_ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}


def _error_response(description: str) -> dict:
    return {"description": description, "content": _json("Error")}


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "429": {"$ref": "#/components/responses/TooManyRequests"},
}


def _param(name: str, description: str, schema: dict, *, explode: bool | None = None) -> dict:
    out = {"name": name, "in": "query", "required": False, "description": description,
           "schema": schema}
    if explode is not None:
        out["style"], out["explode"] = "form", explode
    return out


_NULL_INT = {"type": ["integer", "null"]}
_NULL_NUM = {"type": ["number", "null"]}
_CSV = {"text/csv": {"schema": {"type": "string"},
                     "example": "\ufeff# Veiligheidsbeeld export; ...\r\ncode;name;...\r\n"}}

#: OpenAPI 3.1 description of this API (served at /api/v1/openapi.json). The one source of
#: truth for parameters and response shapes; tests validate real responses against it.
OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "Veiligheidsbeeld data-API",
        "version": "1.0.0",
        "description": (
            "Aantallen per gebied (wat de kaart toont) en incidentlijsten (wat de "
            "incidententabel toont), binnen de scope van de gebruiker van de token. Kleine "
            "aantallen zijn afgeschermd zoals in de app. Elke aanroep wordt vastgelegd in het "
            "protocol (Wet politiegegevens)."),
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": {
        f"{PREFIX}/counts": {"get": {
            "operationId": "getCounts",
            "summary": "Aantallen per gebied (kaart)",
            "parameters": [
                _param("level", "Gebiedsniveau (pc6 alleen bij detailniveau 3).", {"type": "string", "enum": list(mapq.MAP_LEVELS),
                                                   "default": "gemeente"}),
                _param("area", "Gemeentecode om binnen te kijken (zoals op de kaart).",
                       {"type": "string"}),
                _param("period", "'12m' (laatste 12 volledige maanden) of een kalenderjaar.",
                       {"type": "string", "pattern": "^(12m|[0-9]{4})$", "default": "12m"}),
                _param("type", "Bundelcode.", {"type": "string", "default": "alle_misdrijven"}),
                _param("measure", "Maat: aantal, per 1.000 inwoners of verandering t.o.v. een "
                       "jaar eerder (%).", {"type": "string", "enum": list(mapq.MEASURES),
                                            "default": "count"}),
                {"$ref": "#/components/parameters/format"},
                {"$ref": "#/components/parameters/sep"},
            ],
            "responses": {
                "200": {"description": "Een rij per gebied in scope.",
                        "content": {**_json("CountsResponse"), **_CSV}},
                **_ERRORS,
            },
        }},
        f"{PREFIX}/incidents": {"get": {
            "operationId": "getIncidents",
            "summary": "Incidentlijst (detailniveau 2 en hoger)",
            "parameters": [
                _param("from", "Eerste pleegdatum (JJJJ-MM-DD, inclusief).",
                       {"type": "string", "format": "date"}),
                _param("to", "Laatste pleegdatum (JJJJ-MM-DD, inclusief).",
                       {"type": "string", "format": "date"}),
                _param("type", "Soort- of bundelcodes (komma-gescheiden of herhaald).",
                       {"type": "array", "items": {"type": "string"}}, explode=True),
                _param("area", "Gebiedscodes op elk niveau: eenheid, district, basisteam, "
                       "gemeente, wijk, buurt, PC4, PC6.",
                       {"type": "array", "items": {"type": "string"}}, explode=True),
                _param("attempt", "Alleen pogingen (ja) of alleen voltooide (nee).",
                       {"type": "string", "enum": ["ja", "nee", "true", "false", "1", "0"]}),
                _param("high_impact", "Alleen high impact crime (ja) of juist niet (nee).",
                       {"type": "string", "enum": ["ja", "nee", "true", "false", "1", "0"]}),
                _param("q", "Zoektekst in samenvatting en modus operandi (detailniveau 3).",
                       {"type": "string", "maxLength": 200}),
                _param("sort", "Sorteerkolom, '-' ervoor voor aflopend; standaard -pleegdatum.",
                       {"type": "string", "default": "-pleegdatum"}),
                _param("offset", "Eerste rij (JSON).", {"type": "integer", "minimum": 0,
                                                        "default": 0}),
                _param("limit", "Aantal rijen (JSON).",
                       {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                        "default": DEFAULT_LIMIT}),
                _param("columns", "Kolommen (komma-gescheiden of herhaald); standaard alle "
                       "kolommen van uw detailniveau.",
                       {"type": "array", "items": {"type": "string",
                                                   "enum": [c.key for c in COLUMNS]}},
                       explode=True),
                {"$ref": "#/components/parameters/format"},
                {"$ref": "#/components/parameters/sep"},
            ],
            "responses": {
                "200": {"description": "JSON: één pagina plus het totaal; CSV: de hele "
                                       "gefilterde set (gestreamd, met herkomstregel).",
                        "content": {**_json("IncidentsResponse"), **_CSV}},
                **_ERRORS,
            },
        }},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "getOpenAPI",
            "summary": "Deze beschrijving (openbaar, zonder gegevens)",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {
                    "application/json": {"schema": {"type": "object"}}}},
                "429": {"$ref": "#/components/responses/TooManyRequests"},
            },
        }},
    },
    "components": {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "API-token van een gebruiker (python -m dashboard tokens create)."}},
        "parameters": {
            "format": {"name": "format", "in": "query", "required": False,
                       "description": "Antwoord als JSON of CSV (UTF-8 met BOM).",
                       "schema": {"type": "string", "enum": list(FORMATS), "default": "json"}},
            "sep": {"name": "sep", "in": "query", "required": False,
                    "description": "Scheidingsteken van de CSV.",
                    "schema": {"type": "string", "enum": list(SEPARATORS), "default": ";"}},
        },
        "responses": {
            "BadRequest": _error_response("Ongeldige parameter."),
            "Unauthorized": _error_response("Geen, onbekende of ingetrokken token."),
            "Forbidden": _error_response("Buiten de scope of boven het detailniveau van de "
                                         "gebruiker."),
            "TooManyRequests": _error_response("Te veel verzoeken met deze token."),
        },
        "schemas": {
            "Error": {
                "type": "object", "required": ["error", "status"],
                "additionalProperties": False,
                "properties": {"error": {"type": "string"},
                               "status": {"type": "integer", "minimum": 400, "maximum": 599}},
            },
            "CountRow": {
                "type": "object", "additionalProperties": False,
                "required": list(COUNT_FIELDS),
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "parent_code": {"type": ["string", "null"]},
                    "count": {**_NULL_INT, "description": "null wanneer afgeschermd"},
                    "suppressed": {"type": "boolean"},
                    "previous": {**_NULL_INT, "description": "zelfde periode een jaar eerder"},
                    "previous_suppressed": {"type": "boolean"},
                    "change": {**_NULL_INT, "description": "count - previous"},
                    "change_pct": _NULL_NUM,
                    "population": _NULL_INT,
                    "per_1000": _NULL_NUM,
                    "value": {**_NULL_NUM, "description": "de gekozen maat"},
                    "rank": {**_NULL_INT, "description": "1 = hoogste binnen het bovenliggende "
                                                         "gebied"},
                    "ranked": _NULL_INT,
                    "parent_total": _NULL_INT,
                },
            },
            "CountsResponse": {
                "type": "object", "additionalProperties": False,
                "required": ["level", "area", "period", "type", "measure", "suppression_mark",
                             "rows"],
                "properties": {
                    "level": {"type": "string", "enum": list(mapq.MAP_LEVELS)},
                    "area": {"type": ["string", "null"]},
                    "period": {
                        "type": "object", "additionalProperties": False,
                        "required": ["key", "start", "end"],
                        "properties": {"key": {"type": "string"},
                                       "start": {"type": "string", "format": "date"},
                                       "end": {"type": "string", "format": "date",
                                               "description": "eerste dag na de periode"}}},
                    "type": {"type": "string"},
                    "measure": {"type": "string", "enum": list(mapq.MEASURES)},
                    "suppression_mark": {"type": "string", "description": "bijv. '<5' (CSV)"},
                    "rows": {"type": "array", "items": {"$ref": "#/components/schemas/CountRow"}},
                },
            },
            "IncidentRow": {
                "type": "object", "additionalProperties": False,
                "description": "Alleen de gevraagde kolommen; kolommen van detailniveau 3 alleen "
                               "voor niveau 3.",
                "properties": {c.key: {"type": ["string", "null"],
                                       "description": f"{c.title} (detailniveau {c.detail})"}
                               for c in COLUMNS},
            },
            "IncidentsResponse": {
                "type": "object", "additionalProperties": False,
                "required": ["total", "offset", "limit", "columns", "rows"],
                "properties": {
                    "total": {"type": "integer", "minimum": 0},
                    "offset": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                    "columns": {"type": "array",
                                "items": {"type": "string", "enum": [c.key for c in COLUMNS]}},
                    "rows": {"type": "array",
                             "items": {"$ref": "#/components/schemas/IncidentRow"}},
                },
            },
        },
    },
}
