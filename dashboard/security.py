"""Responses that hold up to a browser attack: security headers, caching, a body limit and a
check of Dash's callback envelope. ``init_security(app, settings)`` is called by
``create_app`` once every callback is registered (the CSP hashes Dash's inline scripts).

* **Content-Security-Policy** on every response. Scripts only from this server plus the inline
  scripts Dash itself writes into its page (the renderer start and the clientside callbacks),
  by their SHA-256 hash (``Dash.csp_hashes``); no ``'unsafe-inline'`` and no ``'unsafe-eval'``
  for scripts (plotly.js, dash-leaflet and dash-ag-grid draw without them: every page checked
  in Chromium, tests/test_security_headers.py). Styles allow ``'unsafe-inline'``: plotly.js and
  the React components write ``<style>`` elements and ``style`` attributes. Images from this
  server, ``data:`` and ``blob:`` (plotly's PNG download, Leaflet), plus the base-map tile
  server's origin when ``DASHBOARD_TILE_URL`` is set. ``connect-src 'self'``: the page talks to
  no other host. ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for old browsers),
  ``object-src``/``base-uri 'none'``, ``form-action 'self'``. A route that sets a policy of
  its own keeps it: a frozen product's HTML (``dashboard/rapportages.py``) gets
  ``default-src 'none'`` plus its inline styles and images, stricter than the app's.
* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere;
  ``Strict-Transport-Security`` when ``DASHBOARD_SECURE_COOKIES=true`` (served over https).
* **Cache-Control: no-store** on every response — pages, callback answers, the API, log
  downloads, exports, product files, meldingen — except two kinds that carry no police data:
  static files (``/assets/``, Dash's component bundles, the favicon: Dash sets their caching),
  and the map shapes ``/kaart/geometrie.json`` (``callbacks/kaart.py: geometry_response``,
  marked ``cache_per_link``). Those hold only area codes, names and boundary polygons — public
  CBS (or demo) geometry, no counts — and their link names the scope's fingerprint and the data
  version, so they keep ``Cache-Control: private, max-age=86400``: cached in this browser only,
  and another scope or new data gives another link. (The values drawn on them come through a
  callback, which is ``no-store``.)
* **Request bodies** are limited to :data:`MAX_BODY` bytes (Flask ``MAX_CONTENT_LENGTH``):
  larger ones get 413 and a short Dutch message before anything parses them. The largest body
  the app itself sends is a map click (the clicked area's polygon in ``clickData``), a few kB
  on real CBS buurten and gemeenten; the other callbacks send well under 10 kB.
* **Requests from other sites**: a request that may change something (any method but GET,
  HEAD, OPTIONS) outside the token API must come from this site's own pages: its ``Origin``
  names this host (or one of ``DASHBOARD_ORIGINS``), or, without one (or ``null``: this site's
  own forms under ``no-referrer``), its ``Sec-Fetch-Site`` is ``same-origin``/``none`` or
  absent (a script, not a browser). Anything
  else gets 403 before a callback or the login form runs. Browsers already keep other sites
  out (the SameSite=Lax cookie; a JSON POST needs a CORS preflight this app never answers;
  the login and logout forms carry a CSRF token): this holds when one of those does not — an
  old browser, a sibling subdomain (same *site*, other *origin*), a sandboxed frame.
* **Dash's envelope** (``POST /_dash-update-component``) must name a server-side callback with
  as many inputs, states and outputs as it has, its outputs the ones the callback defines (a
  pattern's as the pattern allows); anything else gets 400 instead of a Dash ``KeyError`` or
  ``CallbackException`` (a 500). Malformed *values* inside a valid envelope are refused by
  the callback net in ``callbacks/guard.py``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import dash
import flask
from dash import _validate
from dash.exceptions import DashException

from dashboard.auth import API_PATH

#: Largest request body accepted (bytes). Measured: the largest real callback body is a map
#: click with the clicked polygon, a few kB; 1 MB leaves room for very detailed boundaries.
MAX_BODY = 1024 * 1024

#: Paths that serve static files (no police data); Dash and Flask set their caching.
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")

TOO_LARGE = "Verzoek te groot."
BAD_REQUEST = "Ongeldig verzoek. Herlaad de pagina."
FOREIGN = "Verzoek van een andere website geweigerd."

#: Methods that change nothing; every other one must come from this site's own pages.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``Sec-Fetch-Site`` values of a request this site's own page (or the user, typing) made.
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def tile_source(tile_url: str) -> str | None:
    """The CSP source of a tile URL template: its scheme and host (``{s}``-style subdomain
    placeholders become ``*.``); None for no tiles or an unusable URL."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    if "{" in host:
        labels = host.split(".")
        last = max(i for i, label in enumerate(labels) if "{" in label)
        if last == len(labels) - 1:
            return None
        host = "*." + ".".join(labels[last + 1:])
    if not re.fullmatch(r"[A-Za-z0-9.*:\[\]-]+", host):
        return None
    return f"{parts.scheme}://{host}"


def content_security_policy(app: dash.Dash, tile_url: str) -> str:
    """The policy for every response of ``app`` (call after every callback is registered)."""
    images = ["'self'", "data:", "blob:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _dependency(item) -> bool:
    """One input or state of a callback request: {id, property, value}, or a list of them for
    a wildcard (ALL) pattern."""
    if isinstance(item, list):
        return all(_dependency(i) and not isinstance(i, list) for i in item)
    return (isinstance(item, dict) and isinstance(item.get("property"), str)
            and isinstance(item.get("id"), (str, dict)))


def json_body(request):
    """The request's JSON body; None when it is not JSON or cannot be parsed, also when it
    nests deeper than Python's recursion limit (Flask's silent parsing lets that
    RecursionError through: a 500 for 10 kB of brackets)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def allowed_origins(setting: str) -> frozenset[str]:
    """``DASHBOARD_ORIGINS`` as a set of ``scheme://host[:port]`` (lower case, no slash)."""
    return frozenset(o.strip().rstrip("/").lower() for o in setting.split(",") if o.strip())


def from_own_site(request, origins: frozenset[str] = frozenset()) -> bool:
    """Whether a request was made by this site's own pages (see the module docstring): its
    ``Origin`` is this host (any scheme: TLS may end at a proxy in front) or one of
    ``origins``; without one, its ``Sec-Fetch-Site`` is absent or says so. ``Origin: null``
    counts as none: browsers send it for this site's own forms too (the pages' referrer policy
    is ``no-referrer``), and for a sandboxed frame, whose ``Sec-Fetch-Site`` then tells."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.strip().lower() != "null":
        origin = origin.strip().rstrip("/").lower()
        parts = urlsplit(origin)
        return origin in origins or (parts.scheme in ("http", "https") and bool(parts.netloc)
                                     and parts.netloc == request.host.lower())
    site = request.headers.get("Sec-Fetch-Site")
    return site is None or site.strip().lower() in OWN_FETCH_SITES


def valid_envelope(app: dash.Dash, body) -> bool:
    """Whether a callback request names a server-side callback of ``app`` with the right
    number of inputs, states and outputs, each shaped as Dash sends them."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return False
    spec = app.callback_map.get(body["output"])
    if spec is None or "callback" not in spec:  # unknown, or a clientside callback
        return False
    inputs, state = body.get("inputs"), body.get("state", [])
    if not (isinstance(inputs, list) and isinstance(state, list)
            and len(inputs) == len(spec["inputs"]) and len(state) == len(spec["state"])
            and all(_dependency(i) for i in inputs + state)):
        return False
    if spec.get("no_output"):  # Dash reads no outputs of such a callback
        return True
    # As many outputs as the callback has, each one it defines (a pattern's as its pattern
    # allows): Dash's own check, which would otherwise raise in dispatch (a 500).
    try:
        _validate.validate_output_spec(spec["output"], body.get("outputs"), dash.Output)
    except (DashException, KeyError, TypeError, AttributeError, ValueError):
        return False
    return True


def init_security(app: dash.Dash, settings) -> None:
    """Headers, body limit and envelope check on ``app.server`` (after the callbacks exist)."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    policy = content_security_policy(app, settings.tile_url)
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    if settings.secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=31536000"

    origins = allowed_origins(settings.origins)

    def check_origin():
        request = flask.request
        # The token API: its token travels in a header, which no other site can make a
        # browser send.
        if request.method in SAFE_METHODS or request.path.startswith(API_PATH):
            return None
        if from_own_site(request, origins):
            return None
        server.logger.warning("refused %s %s from origin %r (Sec-Fetch-Site %r)",
                              request.method, request.path, request.headers.get("Origin"),
                              request.headers.get("Sec-Fetch-Site"))
        if request.path.startswith("/_dash-"):
            return flask.jsonify(error=FOREIGN), 403
        return flask.Response(FOREIGN, status=403, mimetype="text/plain")

    # First of all request hooks: before the login's session check or CSRF check runs.
    server.before_request_funcs.setdefault(None, []).insert(0, check_origin)

    @server.before_request
    def check_envelope():
        request = flask.request
        if request.path != "/_dash-update-component" or request.method != "POST":
            return None
        if not valid_envelope(app, json_body(request)):
            return flask.jsonify(error=BAD_REQUEST), 400
        return None

    @server.errorhandler(413)
    def too_large(_exc):
        return flask.Response(TOO_LARGE, status=413, mimetype="text/plain")

    @server.after_request
    def secure(response: flask.Response) -> flask.Response:
        for name, value in headers.items():
            if name == "Content-Security-Policy" and name in response.headers:
                continue  # a route's own, stricter policy (a frozen product's HTML file)
            response.headers[name] = value
        path = flask.request.path
        if not (path.startswith(STATIC_PREFIXES) or getattr(response, "cache_per_link", False)):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
