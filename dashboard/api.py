"""The data-delivery API: ``/api/v1/`` JSON and CSV for other systems.

* ``GET /api/v1/counts`` — counts per area, exactly what the map shows (``data.queries.map``),
  under the same disclosure model (``data.disclosure``): below the gemeente a detail-1 user
  gets what the police publish per wijk, buurt or PC4, exactly; ``release`` in the answer says
  which types a bundle counts there, and a bundle with none of them published is refused (403);
* ``GET /api/v1/incidents`` — what the incident table shows (``data.queries.incidents``): a page
  as JSON, or the whole filtered set as a streamed CSV (``data.export.csv_chunks``);
* ``GET /api/v1/openapi.json`` — the description below (:data:`OPENAPI`), public: it holds no
  data.

The description is the contract: every parameter is checked here exactly as it is described
(enumerations, formats, bounds; a parameter given twice or empty is refused), so a request the
description allows is never refused as malformed and one it forbids is never answered. A
property-based test (tests/test_api_contract.py, schemathesis) holds the two together.

CSV answers are plain machine-readable CSV: UTF-8 without BOM, the header on row 1; a text cell
that starts like a spreadsheet formula (``= + - @``, tab, CR) gets a leading ``'`` as in every
export (numbers are written as numbers, so a -5 stays -5). Who, when,
which data and which filters travel in ``X-Veiligheidsbeeld-*`` response headers
(:func:`provenance_headers`, on JSON answers too); the exports for people (the Incidenten page,
the ``export`` command) keep their provenance line.

Authentication is a per-user bearer token (``data/tokens.py``); the session cookie does not
count here, and the cookie-login guard in ``dashboard/auth.py`` leaves ``/api/v1/`` to this
module. The scope is resolved from the token's user exactly as for the web pages; nothing in a
request can widen it. Every data call, refused ones included, writes one protocol-log row
(with the token's id whenever a valid token came with it) before anything leaves. Errors are
``{"error": "<Nederlandse melding>", "status": N}``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
from datetime import datetime

import flask
import pandas as pd
from werkzeug.exceptions import HTTPException

from dashboard.auth import get_db, get_state, scope_memo
from data import protocol
from data.accounts import get_profile
from data.catalog import crime_types, group_members
from data.export import SEPARATORS, csv_chunks, neutralise_row
from data.queries import map as mapq
from data.queries.incidents import (COLUMNS, MAX_PAGE, FilterError, count_incidents, parse_day,
                                    incident_page, parse_filter, parse_sort, resolve_columns)
from data.scope import DENY, OutOfScope, resolve_scope
from data import disclosure
from data.tokens import authenticate

PREFIX = "/api/v1"
FORMATS = ("json", "csv")
#: /counts also answers as GeoJSON: the same rows with their CBS shapes.
COUNT_FORMATS = (*FORMATS, "geojson")
DEFAULT_LIMIT = 100
#: The answer's media types. CSV: RFC 4180's ``header=present``, UTF-8 without BOM.
JSON_TYPE = "application/json"
GEOJSON_TYPE = "application/geo+json"
CSV_TYPE = "text/csv; charset=utf-8; header=present"

#: Endpoint -> protocol-log view name.
VIEWS = {"api.counts": "api/counts", "api.incidents": "api/incidents",
         "api.source_series": "api/bronnen"}
#: The operations and the one method they answer (anything else under them: 405).
OPERATIONS = {"counts", "incidents", "openapi.json", "sources"}
#: A gemeente source's name (data/importers/sources.py: SLUG) and the grains of its series.
SOURCE_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"
SOURCE_GRAINS = ("day", "week", "month", "year")

# -- what a parameter may be (the description below is built from the same values) ------------

#: Bundles (``type`` of /counts), 'alle_misdrijven' first, from the catalog the database is
#: seeded with (data/catalog.py).
BUNDLES: tuple[str, ...] = ("alle_misdrijven",
                            *(code for code in group_members() if code != "alle_misdrijven"))
#: Bundles and single types (``type`` of /incidents): what ``indicator_types`` knows.
INDICATORS: tuple[str, ...] = (*BUNDLES, *(t.code for t in crime_types() if t.kind != "totaal"))
FLAGS = ("ja", "nee", "true", "false", "1", "0")
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
#: ``sort`` values: a sortable column, '-' before it for descending.
SORTS = tuple(f"{sign}{c.key}" for c in COLUMNS if c.sort is not None for sign in ("-", ""))
GEMEENTE_CODE = r"^GM[0-9A-Z]{4}$"  # GM0363; the demo's GMD001
#: Any area or organisation code: GM0363, WK036301, BU03630101, 1012, 1012AB, REDL-B-centrum.
AREA_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
PERIOD_KEY = r"^(12m|[0-9]{4})$"
MAX_TEXT = 200  # q
MAX_CODE = 100  # one area code
MAX_TYPES, MAX_AREAS = 100, 500  # as data.queries.incidents.parse_filter

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


class NotAvailable(LookupError):
    """A well-formed request for something there is no data for (404), e.g. a year outside
    the data. The message is Dutch and safe to show."""


class Unauthenticated(PermissionError):
    def __init__(self, detail: str):
        super().__init__(MESSAGES[401])
        self.detail = detail


def error(status: int, message: str | None = None) -> flask.Response:
    response = flask.jsonify(error=message or MESSAGES.get(status, "Fout."), status=status)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="veiligheidsbeeld"'
    if status == 405:
        response.headers["Allow"] = "GET, HEAD, OPTIONS"
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
    return resolve_scope(user, con=get_db(), profile_for=lambda code: get_profile(state, code),
                         memo=scope_memo)


def _params() -> dict:
    """The request parameters for the protocol log (shortened)."""
    return {k: ",".join(flask.request.args.getlist(k))[:200] for k in flask.request.args}


def _log(view: str, *, user, scope, rows, outcome="ok", detail=None, filters=None) -> None:
    """One protocol-log row for this request; it names the token when a valid one came with
    it (an unknown or revoked token identifies nothing, so its row has no token id)."""
    auth = token_auth()
    protocol.record(get_state(), user=user, scope=scope, view=view,
                    filters=filters if filters is not None else _params(), rows=rows,
                    client=flask.request.remote_addr, outcome=outcome, detail=detail,
                    token_id=auth[1].id if auth else None)


def serve(view: str, handler):
    """Authenticate, resolve the scope, run ``handler(con, scope, user)`` and log the call
    (ok or refused) before the response leaves. ``handler`` returns (response, rows, filters);
    the response gets the provenance headers here."""
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
    except NotAvailable as exc:
        _log(view, user=user, scope=scope, rows=0, outcome="refused", detail=f"404: {exc}")
        return error(404, str(exc))
    _log(view, user=user, scope=scope, rows=rows, filters={**_params(), **filters})
    response.headers.update(provenance_headers(user=user, scope=scope, filters=filters,
                                               rows=rows))
    return response


# -- provenance -----------------------------------------------------------------------------------

#: Response headers of every answer with data (JSON and CSV), in the description below.
PROVENANCE = {
    "X-Veiligheidsbeeld-Bron": "De dataset (naam uit de database).",
    "X-Veiligheidsbeeld-Dataversie": "Versie van de data waaruit het antwoord komt; verandert "
                                     "bij elke import.",
    "X-Veiligheidsbeeld-Gemaakt-Op": "Tijdstip van het antwoord (ISO 8601).",
    "X-Veiligheidsbeeld-Gemaakt-Door": "Gebruiker van de token.",
    "X-Veiligheidsbeeld-Detailniveau": "Detailniveau van de gebruiker (1-3).",
    "X-Veiligheidsbeeld-Filters": "De toegepaste keuzes als JSON-object.",
    "X-Veiligheidsbeeld-Rijen": "Aantal rijen in dit antwoord (CSV: het hele bestand).",
}
#: Printable ASCII except '%': what a header value keeps as is (the rest is percent-encoded).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7f) if chr(c) != "%")


def header_value(text) -> str:
    """An ASCII-safe header value: UTF-8 percent-encoding of everything outside printable
    ASCII (and of '%'); ``urllib.parse.unquote`` gives the text back."""
    return urllib.parse.quote(str(text), safe=_HEADER_SAFE)


def provenance_headers(*, user, scope, filters: dict, rows: int,
                       generated: datetime | None = None) -> dict[str, str]:
    """Who, when, which data and which filters: the ``X-Veiligheidsbeeld-*`` headers."""
    meta = flask.current_app.config["VB_STORE"].meta()
    generated = generated or datetime.now().astimezone()
    values = {
        "X-Veiligheidsbeeld-Bron": meta.get("dataset_name") or "Veiligheidsbeeld",
        "X-Veiligheidsbeeld-Dataversie": meta.get("data_version") or "onbekend",
        "X-Veiligheidsbeeld-Gemaakt-Op": generated.isoformat(timespec="seconds"),
        "X-Veiligheidsbeeld-Gemaakt-Door": user.name,
        "X-Veiligheidsbeeld-Detailniveau": scope.detail,
        "X-Veiligheidsbeeld-Filters": json.dumps(
            {k: v for k, v in filters.items() if v is not None}, ensure_ascii=False,
            sort_keys=True, separators=(",", ":")),
        "X-Veiligheidsbeeld-Rijen": rows,
    }
    return {name: header_value(value) for name, value in values.items()}


# -- parameters -----------------------------------------------------------------------------------
# Strict on purpose: exactly what the description allows, nothing it forbids.

def _known_only(args, path: str) -> None:
    """Refuse a parameter the operation does not describe (a typo such as ``form=`` would
    otherwise silently deliver everything)."""
    known = PARAMETERS[path]
    unknown = next((name for name in args if name not in known), None)
    if unknown is not None:
        raise BadParameter(f"onbekende parameter {unknown[:40]!r}; hier kunnen: "
                           f"{', '.join(sorted(known))}.")


def _one(args, name: str) -> str | None:
    """The value of a single-valued parameter, None when absent; given twice or empty: 400."""
    values = args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadParameter(f"{name}: geef deze parameter hooguit één keer.")
    if values[0] == "":
        raise BadParameter(f"{name}: geef een waarde of laat de parameter weg.")
    return values[0]


def _many(args, name: str, options=None, *, most: int | None = None,
          longest: int | None = None, pattern: str | None = None) -> list[str] | None:
    """The values of a list parameter (repeated and/or comma-separated), None when absent."""
    values = args.getlist(name)
    if not values:
        return None
    parts = [part for value in values for part in value.split(",")]
    if any(part == "" for part in parts):
        raise BadParameter(f"{name}: lege waarde in de lijst.")
    if options is not None:
        unknown = next((p for p in parts if p not in options), None)
        if unknown is not None:
            raise BadParameter(f"{name}: onbekende waarde {unknown[:40]!r}; zie "
                               f"/api/v1/openapi.json.")
    if longest is not None and any(len(p) > longest for p in parts):
        raise BadParameter(f"{name}: een waarde is langer dan {longest} tekens.")
    if pattern is not None:
        wrong = next((p for p in parts if not re.fullmatch(pattern, p)), None)
        if wrong is not None:
            raise BadParameter(f"{name}: ongeldige code {wrong[:40]!r}.")
    if most is not None and len(parts) > most:
        raise BadParameter(f"{name}: hooguit {most} waarden.")
    return parts


def _choice(args, name: str, options, default: str | None) -> str | None:
    value = _one(args, name)
    if value is None:
        return default
    if value not in options:
        raise BadParameter(f"{name}: kies uit {', '.join(options)} (kreeg {value[:40]!r}).")
    return value


def _integer(args, name: str, default: int, low: int, high: int | None = None) -> int:
    text = _one(args, name)
    if text is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,12}", text):
        raise BadParameter(f"{name}: geef een geheel getal (kreeg {text[:40]!r}).")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"tussen {low} en {high}" if high is not None else f"minstens {low}"
        raise BadParameter(f"{name}: moet {bound} liggen (kreeg {value}).")
    return value


def _date(args, name: str) -> str | None:
    text = _one(args, name)
    if text is not None and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise BadParameter(f"{name}: gebruik een datum als JJJJ-MM-DD (kreeg {text[:40]!r}).")
    return None if text is None else parse_day(text, name).isoformat()


def _text(args, name: str, longest: int) -> str | None:
    text = _one(args, name)
    if text is not None and len(text) > longest:
        raise BadParameter(f"{name}: langer dan {longest} tekens.")
    return text


def _filter_params(args) -> dict:
    return {"from": _date(args, "from"), "to": _date(args, "to"),
            "attempt": _choice(args, "attempt", FLAGS, None),
            "high_impact": _choice(args, "high_impact", FLAGS, None),
            "q": _text(args, "q", MAX_TEXT),
            "type": _many(args, "type", INDICATORS, most=MAX_TYPES),
            "area": _many(args, "area", most=MAX_AREAS, longest=MAX_CODE, pattern=AREA_CODE)}


def _csv_response(chunks, filename: str) -> flask.Response:
    return flask.Response(chunks, content_type=CSV_TYPE,
                          headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _value(value):
    """A JSON number (or null) from a pandas cell."""
    if value is None or pd.isna(value):
        return None
    return int(value) if pd.api.types.is_integer(value) else float(value)


# -- GET /api/v1/counts -------------------------------------------------------------------------

COUNT_FIELDS = ("code", "name", "parent_code", "count", "previous", "change", "change_pct",
                "population", "per_1000", "value", "rank", "ranked", "parent_total", "source",
                "reason", "provisional")
_TEXT_FIELDS = ("code", "name", "parent_code", "source", "reason", "provisional")


def _text_value(value):
    return None if value is None or pd.isna(value) else str(value)


def count_rows(frame: pd.DataFrame) -> list[dict]:
    return [{"code": record["code"], "name": record["name"] or record["code"],
             "parent_code": record["parent_code"],
             "source": _text_value(record["source"]), "reason": _text_value(record["reason"]),
             "provisional": bool(record["provisional"]) and record["count"] is not pd.NA,
             **{key: _value(record[key]) for key in COUNT_FIELDS if key not in _TEXT_FIELDS}}
            for record in frame.to_dict("records")]


def _csv_cell(value):
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else value


def counts_csv(rows: list[dict], *, sep: str) -> str:
    """Plain CSV: the header on row 1, one row per area; an unknown value is an empty cell.
    Names and codes come from boundary files: a text cell is never a formula."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow(COUNT_FIELDS)
    for row in rows:
        writer.writerow(neutralise_row([_csv_cell(row[key]) for key in COUNT_FIELDS]))
    return out.getvalue()


def counts_handler(con, scope, user):
    args = flask.request.args
    _known_only(args, f"{PREFIX}/counts")
    level = _choice(args, "level", mapq.MAP_LEVELS, "gemeente")
    measure = _choice(args, "measure", mapq.MEASURES, "count")
    fmt = _choice(args, "format", COUNT_FORMATS, "json")
    sep = _choice(args, "sep", tuple(SEPARATORS), ";")
    group = _choice(args, "type", BUNDLES, "alle_misdrijven")
    key = _one(args, "period") or "12m"
    if not re.fullmatch(PERIOD_KEY, key):
        raise BadParameter(f"period: geef '12m' of een jaartal (kreeg {key[:40]!r}).")
    within = _one(args, "area")
    if within is not None:
        if not re.fullmatch(GEMEENTE_CODE, within):
            raise BadParameter(f"area: geef een gemeentecode zoals GM0363 (kreeg "
                               f"{within[:40]!r}).")
        info = mapq.area(con, scope=scope, code=within)  # OutOfScope outside scope or unknown
        if info["level"] != "gemeente":
            raise BadParameter(f"area: geef een gemeentecode (kreeg {info['level']} {within!r}).")
    if group not in {code for code, _ in mapq.bundle_options(con, scope=scope)}:
        raise BadParameter(f"type: bundel {group!r} ontbreekt in deze database.")
    options = dict(mapq.period_options(con, scope=scope))
    if key not in options:
        years = ", ".join(k for k in options if k != "12m") or "geen"
        raise NotAvailable(f"period: geen volledige gegevens voor {key}; kies '12m' of een jaar "
                           f"met gegevens ({years}).")
    period = options[key]
    release = disclosure.release(con, scope=scope, level=level, indicator=group)  # 403: none
    frame = mapq.map_values(con, scope=scope, level=level, period=period, group=group,
                            measure=measure, within=within, explain=True)
    rows = count_rows(frame)
    filters = {"level": level, "area": within, "period": key, "type": group,
               "measure": measure, "format": fmt}
    if fmt == "csv":
        text = counts_csv(rows, sep=sep)
        return _csv_response(text, f"aantallen-{level}-{key}.csv"), len(rows), filters
    query = {"level": level, "area": within,
             "period": {"key": key, "start": period.start.isoformat(),
                        "end": period.end.isoformat()},
             "type": group, "measure": measure,
             "release": {"types": list(release.members),
                         "left_out": [code for code, _ in release.left_out],
                         "note": release.note()}}
    if fmt == "geojson":
        text = counts_geojson(query, rows, mapq.shapes(con, scope=scope, level=level,
                                                       codes=[row["code"] for row in rows]))
        return flask.Response(text, content_type=GEOJSON_TYPE), len(rows), filters
    return flask.jsonify({**query, "rows": rows}), len(rows), filters


def sources_handler(con, scope, user):
    """A gemeente source's series (data/queries/sources.py): every period with its count, or
    null with the reason where the source does not cover it."""
    from data.queries import sources

    args = flask.request.args
    _known_only(args, f"{PREFIX}/sources")
    gemeente, source = _one(args, "gemeente"), _one(args, "source")
    if gemeente is None or not re.fullmatch(GEMEENTE_CODE, gemeente):
        raise BadParameter("gemeente: geef een gemeentecode zoals GM0363.")
    if source is None or not re.fullmatch(SOURCE_NAME, source):
        raise BadParameter("source: geef de naam van een gemeentelijke bron (a-z, 0-9, - of _).")
    category = _text(args, "category", 100)
    grain = _choice(args, "grain", SOURCE_GRAINS, "month")
    series = sources.source_series(con, scope=scope, gm_code=gemeente, source=source,
                                   category=category, grain=grain)  # OutOfScope: 403
    rows = [{"period": p.isoformat(), "count": None if pd.isna(n) else int(n),
             "reason": r if isinstance(r, str) else None}
            for p, n, r in zip(series["period_start"], series["count"], series["reason"])]
    filters = {"gemeente": gemeente, "source": source, "category": category,
               "grain": series.attrs["grain"]}
    return flask.jsonify({**filters, "label": series.attrs["label"], "rows": rows}), \
        len(rows), filters


def counts_geojson(query: dict, rows: list[dict], shapes: dict[str, str]) -> str:
    """The rows as a GeoJSON FeatureCollection (RFC 7946): one Feature per row, ``id`` the
    area code, the row's fields as properties exactly as in the JSON answer (a null count keeps
    its ``reason``) and the area's shape as geometry (null without a shape). The request's
    choices travel in the foreign member ``query`` (its ``type`` is the bundle; GeoJSON's own
    ``type`` is taken). Shapes are inserted as stored, never parsed."""
    head = json.dumps({"type": "FeatureCollection", "query": query}, ensure_ascii=False)
    features = ",".join(
        '{"type":"Feature","id":' + json.dumps(row["code"], ensure_ascii=False)
        + ',"properties":' + json.dumps(row, ensure_ascii=False)
        + ',"geometry":' + shapes.get(row["code"], "null") + "}"
        for row in rows)
    return head[:-1] + ',"features":[' + features + "]}"


# -- GET /api/v1/incidents ----------------------------------------------------------------------

def incidents_handler(con, scope, user):
    args = flask.request.args
    _known_only(args, f"{PREFIX}/incidents")
    fmt = _choice(args, "format", FORMATS, "json")
    sep = _choice(args, "sep", tuple(SEPARATORS), ";")
    flt = parse_filter(_filter_params(args))
    sort = parse_sort(_choice(args, "sort", SORTS, "-pleegdatum"))
    columns = _many(args, "columns", COLUMN_KEYS)
    offset = _integer(args, "offset", 0, 0)
    limit = _integer(args, "limit", DEFAULT_LIMIT, 1, MAX_PAGE)
    chosen = resolve_columns(scope=scope, keys=columns)  # detail level and column checks first
    filters = {"filter": flt.describe(), "sort": ("-" if sort.descending else "") + sort.column,
               "columns": [c.key for c in chosen], "format": fmt}
    if fmt == "csv":
        chunks = csv_chunks(con, scope=scope, flt=flt, sort=sort, columns=columns, sep=sep,
                            bom=False, header="key")  # scope checks run here, before any byte
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

    @bp.get("/sources")
    @limited
    def source_series():
        return serve("api/bronnen", sources_handler)

    @bp.get("/openapi.json")
    @limited
    def openapi():
        return flask.jsonify(OPENAPI)

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(rest):
        # Another method on an operation: 405 with Allow (RFC 9110); an unknown path: 404.
        return error(405 if rest in OPERATIONS else 404)

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


def _error_response(description: str, headers: dict | None = None) -> dict:
    out = {"description": description, "content": _json("Error")}
    if headers:
        out["headers"] = headers
    return out


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "414": {"$ref": "#/components/responses/UriTooLong"},
    "429": {"$ref": "#/components/responses/TooManyRequests"},
}


def _param(name: str, description: str, schema: dict, *, explode: bool | None = None) -> dict:
    out = {"name": name, "in": "query", "required": False, "description": description,
           "schema": schema}
    if explode is not None:
        out["style"], out["explode"] = "form", explode
    return out


def _list_param(name: str, description: str, items: dict, *, most: int | None = None) -> dict:
    schema = {"type": "array", "minItems": 1, "items": items}
    if most is not None:
        schema["maxItems"] = most
    return _param(name, description + " Herhaal de parameter per waarde (of scheid met "
                  "komma's).", schema, explode=True)


_NULL_INT = {"type": ["integer", "null"]}
_NULL_COUNT = {"type": ["integer", "null"], "minimum": 0}
_NULL_NUM = {"type": ["number", "null"]}
_ASCII = r"^[ -~]*$"  # header values: printable ASCII (the rest percent-encoded)
_CSV = {"text/csv": {
    "schema": {"type": "string", "description": "CSV volgens RFC 4180: UTF-8 zonder BOM, "
               "kolomnamen op rij 1, scheidingsteken volgens 'sep'."},
}}
_COUNTS_CSV = {"text/csv": {**_CSV["text/csv"], "example":
               "code;name;parent_code;count;previous;change;change_pct;population;per_1000;"
               "value;rank;ranked;parent_total;source;reason;provisional\r\nGM0363;Amsterdam;RE03;"
               ";;;;931298;;;;;;;geen gegevens voor 2021;false\r\n"}}
_INCIDENTS_CSV = {"text/csv": {**_CSV["text/csv"], "example":
                  "id;pleegdatum;registratiedatum;soort_code;soort;...\n"}}
_PROVENANCE_HEADERS = {
    name: {"description": text, "required": True,
           "schema": ({"type": "integer", "minimum": 1, "maximum": 3}
                      if name.endswith("Detailniveau") else
                      {"type": "integer", "minimum": 0} if name.endswith("Rijen") else
                      {"type": "string", "minLength": 1, "pattern": _ASCII})}
    for name, text in PROVENANCE.items()}


def _incident_column(column) -> dict:
    schema: dict = {"type": ["string", "null"],
                    "description": f"{column.title} (detailniveau {column.detail})"}
    if column.kind == "datetime":
        schema["pattern"] = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"
    elif column.kind == "bool":
        schema["enum"] = ["ja", "nee", None]
    return schema


#: The fields of a /counts answer besides its rows: the request's choices and the release (in
#: the GeoJSON answer the foreign member ``query``).
_COUNTS_QUERY = {
    "level": {"type": "string", "enum": list(mapq.MAP_LEVELS)},
    "area": {"type": ["string", "null"]},
    "period": {
        "type": "object", "additionalProperties": False,
        "required": ["key", "start", "end"],
        "properties": {"key": {"type": "string", "pattern": PERIOD_KEY},
                       "start": {"type": "string", "format": "date"},
                       "end": {"type": "string", "format": "date",
                               "description": "eerste dag na de periode"}}},
    "type": {"type": "string", "enum": list(BUNDLES)},
    "measure": {"type": "string", "enum": list(mapq.MEASURES)},
    "release": {
        "type": "object", "additionalProperties": False,
        "required": ["types", "left_out", "note"],
        "description": "Welke soorten de aantallen tellen (data/disclosure.py).",
        "properties": {
            "types": {"type": "array", "minItems": 1,
                      "items": {"type": "string"}},
            "left_out": {"type": "array", "items": {"type": "string"},
                         "description": "soorten van de bundel die op dit "
                                        "niveau niet worden gepubliceerd"},
            "note": {"type": "string"}}},
}

#: OpenAPI 3.1 description of this API (served at /api/v1/openapi.json). The one source of
#: truth for parameters and response shapes; the handlers above check exactly this, and
#: tests/test_api_contract.py drives the live server from it.
OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "Veiligheidsbeeld data-API",
        "version": "2.5.0",
        "description": (
            "Aantallen per gebied (wat de kaart toont) en incidentlijsten (wat de "
            "incidententabel toont), binnen de scope van de gebruiker van de token. Onder "
            "gemeenteniveau krijgt detailniveau 1 precies wat de politie zelf per wijk, buurt "
            "of postcode publiceert (zie 'release' in het antwoord en docs/disclosure.md). Elke aanroep wordt vastgelegd in het "
            "protocol (Wet politiegegevens).\n\n"
            "Parameters: alleen de beschreven; elk komt hooguit één keer voor (lijsten: "
            "herhaald of met komma's) en is nooit leeg; wat deze beschrijving niet toestaat "
            "krijgt 400.\n\n"
            "CSV is machineleesbaar: UTF-8 zonder BOM, kolomnamen op rij 1. De herkomst (bron, "
            "dataversie, tijdstip, gebruiker, detailniveau, filters, aantal rijen) staat in de "
            "X-Veiligheidsbeeld-*-koppen van elk antwoord met gegevens, JSON en CSV; die "
            "koppen zijn ASCII, andere tekens procent-gecodeerd (UTF-8)."),
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": {
        f"{PREFIX}/counts": {"get": {
            "operationId": "getCounts",
            "summary": "Aantallen per gebied (kaart)",
            "parameters": [
                _param("level", "Gebiedsniveau (pc6 alleen bij detailniveau 3).",
                       {"type": "string", "enum": list(mapq.MAP_LEVELS), "default": "gemeente"}),
                _param("area", "Gemeentecode om binnen te kijken (zoals op de kaart); een "
                       "gemeente buiten uw scope of een onbekende code geeft 403.",
                       {"type": "string", "pattern": GEMEENTE_CODE}),
                _param("period", "'12m' (laatste 12 volledige maanden) of een kalenderjaar; een "
                       "jaar zonder volledige gegevens in uw scope geeft 404.",
                       {"type": "string", "pattern": PERIOD_KEY, "default": "12m"}),
                _param("type", "Bundelcode. Onder gemeenteniveau telt een bundel bij "
                       "detailniveau 1 alleen de soorten die de politie daar publiceert; een "
                       "bundel zonder zulke soorten geeft 403.", {"type": "string", "enum": list(BUNDLES),
                                               "default": "alle_misdrijven"}),
                _param("measure", "Maat: aantal, per 1.000 inwoners of verandering t.o.v. een "
                       "jaar eerder (%).", {"type": "string", "enum": list(mapq.MEASURES),
                                            "default": "count"}),
                _param("format", "Antwoord als JSON, als CSV (UTF-8 zonder BOM, kolomnamen op "
                       "rij 1) of als GeoJSON: dezelfde rijen als FeatureCollection met de "
                       "CBS-grenzen (WGS84, vereenvoudigd tot ca. 8 m), de velden van de rij "
                       "als properties.",
                       {"type": "string", "enum": list(COUNT_FORMATS), "default": "json"}),
                {"$ref": "#/components/parameters/sep"},
            ],
            "responses": {
                "200": {"description": "Een rij per gebied in scope (CSV: een onbekende "
                                       "waarde is een lege cel; GeoJSON: een Feature per rij, "
                                       "geometry null voor een gebied zonder grens).",
                        "headers": _PROVENANCE_HEADERS,
                        "content": {**_json("CountsResponse"), **_COUNTS_CSV,
                                    GEOJSON_TYPE: {"schema": {
                                        "$ref": "#/components/schemas/CountsFeatureCollection"}}}},
                **_ERRORS,
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }},
        f"{PREFIX}/incidents": {"get": {
            "operationId": "getIncidents",
            "summary": "Incidentlijst (detailniveau 2 en hoger)",
            "parameters": [
                _param("from", "Eerste pleegdatum (JJJJ-MM-DD, inclusief).",
                       {"type": "string", "format": "date"}),
                _param("to", "Laatste pleegdatum (JJJJ-MM-DD, inclusief; niet voor 'from', "
                       "anders 400).", {"type": "string", "format": "date"}),
                _list_param("type", "Soort- of bundelcodes.",
                            {"type": "string", "enum": list(INDICATORS)}, most=MAX_TYPES),
                _list_param("area", "Gebiedscodes op elk niveau: eenheid, district, basisteam, "
                            "gemeente, wijk, buurt, PC4, PC6. Een onbekende code geeft 400, een "
                            "gebied buiten uw scope 403.",
                            {"type": "string", "minLength": 1, "maxLength": MAX_CODE,
                             "pattern": AREA_CODE}, most=MAX_AREAS),
                _param("attempt", "Alleen pogingen (ja) of alleen voltooide (nee).",
                       {"type": "string", "enum": list(FLAGS)}),
                _param("high_impact", "Alleen high impact crime (ja) of juist niet (nee).",
                       {"type": "string", "enum": list(FLAGS)}),
                _param("q", "Zoektekst in samenvatting en modus operandi (detailniveau 3).",
                       {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}),
                _param("sort", "Sorteerkolom, '-' ervoor voor aflopend; kolommen van "
                       "detailniveau 3 alleen voor niveau 3.",
                       {"type": "string", "enum": list(SORTS), "default": "-pleegdatum"}),
                _param("offset", "Eerste rij (JSON).", {"type": "integer", "minimum": 0,
                                                        "maximum": 10 ** 12 - 1,
                                                        "default": 0}),
                _param("limit", "Aantal rijen (JSON).",
                       {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                        "default": DEFAULT_LIMIT}),
                _list_param("columns", "Kolommen; standaard alle kolommen van uw detailniveau "
                            "(kolommen van detailniveau 3 vragen geeft anders 403).",
                            {"type": "string", "enum": list(COLUMN_KEYS)}),
                {"$ref": "#/components/parameters/format"},
                {"$ref": "#/components/parameters/sep"},
            ],
            "responses": {
                "200": {"description": "JSON: één pagina plus het totaal; CSV: de hele "
                                       "gefilterde set (gestreamd), kolomnamen zoals in "
                                       "'columns'.",
                        "headers": _PROVENANCE_HEADERS,
                        "content": {**_json("IncidentsResponse"), **_INCIDENTS_CSV}},
                **_ERRORS,
            },
        }},
        f"{PREFIX}/sources": {"get": {
            "operationId": "getSourceSeries",
            "summary": "Gemeentelijke bron: aantallen per periode",
            "parameters": [
                {**_param("gemeente", "De gemeente die de bron bezit; een bron die u niet mag "
                          "zien (een andere gemeente, of niet gedeeld) of die niet bestaat "
                          "geeft 403.", {"type": "string", "pattern": GEMEENTE_CODE}),
                 "required": True},
                {**_param("source", "Naam van de bron (zoals bij de import).",
                          {"type": "string", "pattern": SOURCE_NAME}), "required": True},
                _param("category", "Alleen deze categorie.",
                       {"type": "string", "minLength": 1, "maxLength": 100}),
                _param("grain", "Periode; nooit fijner dan de bron zelf telt.",
                       {"type": "string", "enum": list(SOURCE_GRAINS), "default": "month"}),
            ],
            "responses": {
                "200": {"description": "Elke periode van de bron met het aantal; null met een "
                                       "reden buiten de periode die de bron dekt.",
                        "headers": _PROVENANCE_HEADERS, "content": _json("SourceSeries")},
                **_ERRORS,
            },
        }},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "getOpenAPI",
            "summary": "Deze beschrijving (openbaar, zonder gegevens)",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {
                    "application/json": {"schema": {"type": "object",
                                                    "required": ["openapi", "paths"]}}}},
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
                       "description": "Antwoord als JSON of als CSV (UTF-8 zonder BOM, "
                                      "kolomnamen op rij 1).",
                       "schema": {"type": "string", "enum": list(FORMATS), "default": "json"}},
            "sep": {"name": "sep", "in": "query", "required": False,
                    "description": "Scheidingsteken van de CSV.",
                    "schema": {"type": "string", "enum": list(SEPARATORS), "default": ";"}},
        },
        "responses": {
            "BadRequest": _error_response("Ongeldige parameter."),
            "Unauthorized": _error_response(
                "Geen, onbekende of ingetrokken token.",
                {"WWW-Authenticate": {"required": True, "schema": {"type": "string",
                                                                   "pattern": "^Bearer "}}}),
            "Forbidden": _error_response("Buiten de scope of boven het detailniveau van de "
                                         "gebruiker."),
            "NotFound": _error_response("Geen gegevens voor de gevraagde periode."),
            "UriTooLong": {
                "description": "Het adres is te lang (de webserver, gunicorn, neemt een "
                               "verzoekregel van hooguit 4094 tekens aan): vraag minder "
                               "gebieden of soorten per keer. Dit antwoord komt van de "
                               "webserver, niet van de API: HTML, geen JSON.",
                "content": {"text/html": {"schema": {"type": "string"}}}},
            "TooManyRequests": _error_response(
                "Te veel verzoeken met deze token.",
                {"Retry-After": {"required": True, "description": "Seconden tot het volgende "
                                 "venster.", "schema": {"type": "integer", "minimum": 0}}}),
        },
        "schemas": {
            "SourceSeries": {
                "type": "object", "additionalProperties": False,
                "required": ["gemeente", "source", "category", "grain", "label", "rows"],
                "properties": {
                    "gemeente": {"type": "string"}, "source": {"type": "string"},
                    "category": {"type": ["string", "null"]},
                    "grain": {"type": "string", "enum": list(SOURCE_GRAINS)},
                    "label": {"type": "string", "description": "'Bron: gemeente <naam> — "
                                                               "<titel>'"},
                    "rows": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["period", "count", "reason"],
                        "properties": {"period": {"type": "string", "format": "date"},
                                       "count": {"type": ["integer", "null"], "minimum": 0},
                                       "reason": {"type": ["string", "null"]}}}},
                },
            },
            "Error": {
                "type": "object", "required": ["error", "status"],
                "additionalProperties": False,
                "properties": {"error": {"type": "string", "minLength": 1},
                               "status": {"type": "integer", "minimum": 400, "maximum": 599}},
            },
            "CountRow": {
                "type": "object", "additionalProperties": False,
                "required": list(COUNT_FIELDS),
                "properties": {
                    "code": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "minLength": 1},
                    "parent_code": {"type": ["string", "null"]},
                    "count": _NULL_COUNT,
                    "previous": {**_NULL_COUNT, "description": "zelfde periode een jaar eerder; "
                                                           "null wanneer de gegevens niet zo ver "
                                                           "teruggaan"},
                    "change": {**_NULL_INT, "description": "count - previous"},
                    "change_pct": _NULL_NUM,
                    "population": _NULL_COUNT,
                    "per_1000": {**_NULL_NUM, "minimum": 0},
                    "value": {**_NULL_NUM, "description": "de gekozen maat"},
                    "rank": {"type": ["integer", "null"], "minimum": 1,
                             "description": "1 = hoogste binnen het bovenliggende gebied"},
                    "ranked": _NULL_COUNT,
                    "parent_total": _NULL_COUNT,
                    "source": {"type": ["string", "null"],
                               "description": "waar het aantal vandaan komt (politieregistratie "
                                              "of het geïmporteerde bestand)"},
                    "reason": {"type": ["string", "null"],
                               "description": "waarom een cijfer van de rij null is: count "
                                              "('geen gegevens voor ...'), anders previous, "
                                              "change, change_pct of per_1000 ('geen "
                                              "vergelijking: ...', 'geen cijfer per 1.000 "
                                              "inwoners: ...'; die van de gekozen maat eerst, "
                                              "gescheiden door '; '); null wanneer alle "
                                              "cijfers er zijn"},
                    "provisional": {"type": "boolean",
                                    "description": "voorlopig: de periode bevat maanden waarin "
                                                   "nog late registraties kunnen volgen, of "
                                                   "cijfers die de bron voorlopig noemt (CBS *)"},
                },
            },
            "CountsResponse": {
                "type": "object", "additionalProperties": False,
                "required": [*_COUNTS_QUERY, "rows"],
                "properties": {
                    **_COUNTS_QUERY,
                    "rows": {"type": "array", "items": {"$ref": "#/components/schemas/CountRow"}},
                },
            },
            "CountsFeatureCollection": {
                "type": "object", "additionalProperties": False,
                "required": ["type", "query", "features"],
                "description": "GeoJSON (RFC 7946). 'query' (een foreign member) heeft de velden "
                               "van het JSON-antwoord behalve 'rows'.",
                "properties": {
                    "type": {"const": "FeatureCollection"},
                    "query": {"type": "object", "additionalProperties": False,
                              "required": list(_COUNTS_QUERY), "properties": _COUNTS_QUERY},
                    "features": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["type", "id", "properties", "geometry"],
                        "properties": {
                            "type": {"const": "Feature"},
                            "id": {"type": "string", "minLength": 1},
                            "properties": {"$ref": "#/components/schemas/CountRow"},
                            "geometry": {
                                "type": ["object", "null"], "required": ["type", "coordinates"],
                                "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]},
                                               "coordinates": {"type": "array"}}}}}},
                },
            },
            "IncidentRow": {
                "type": "object", "additionalProperties": False,
                "description": "Alleen de gevraagde kolommen; kolommen van detailniveau 3 alleen "
                               "voor niveau 3.",
                "properties": {c.key: _incident_column(c) for c in COLUMNS},
            },
            "IncidentsResponse": {
                "type": "object", "additionalProperties": False,
                "required": ["total", "offset", "limit", "columns", "rows"],
                "properties": {
                    "total": {"type": "integer", "minimum": 0},
                    "offset": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                    "columns": {"type": "array", "minItems": 1,
                                "items": {"type": "string", "enum": list(COLUMN_KEYS)}},
                    "rows": {"type": "array", "maxItems": MAX_PAGE,
                             "items": {"$ref": "#/components/schemas/IncidentRow"}},
                },
            },
        },
    },
}


#: Operation path -> the names of its query parameters (from the description above).
PARAMETERS: dict[str, frozenset[str]] = {
    path: frozenset(
        (OPENAPI["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p
         else p)["name"] for p in item["get"].get("parameters", ()))
    for path, item in OPENAPI["paths"].items()}
