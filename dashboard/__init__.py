"""Veiligheidsbeeld: the application factory.

``create_app(overrides)`` builds the Flask server and the Dash app on it. The same factory serves
``python -m dashboard run``, gunicorn (``"dashboard:create_app()"``) and the tests. Nothing is
created at import time.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.config import Settings, from_environment

if TYPE_CHECKING:  # dash and flask are loaded by create_app: the command line needs neither
    import dash
    import flask

ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(overrides: dict | None = None) -> dash.Dash:
    """Build the app. ``overrides`` (setting name -> value) go on top of the environment."""
    import dash
    import flask

    from data.accounts import ensure_demo_accounts
    from data.cache import configure as configure_cache
    from data.state import StateDB
    from data.store import Store

    settings = from_environment().with_overrides(overrides).resolved()
    store = Store(settings.db, threads=settings.db_threads, memory_limit=settings.db_memory_limit)
    if not store.exists():
        raise RuntimeError(
            f"Database {settings.db} not found. Build the demo with `python -m dashboard demo` "
            "or import data first (see README.md).")
    demo = store.meta().get("demo") == "true"
    state = StateDB(settings.state_target())
    configure_cache(state, settings.redis_url)  # the session-account cache (data/cache.py)
    demo_users = ensure_demo_accounts(state, store.read()) if demo else []

    server = flask.Flask(__name__)
    server.config.update(
        SECRET_KEY=_secret_key(settings, demo),
        VB_SETTINGS=settings,
        VB_STORE=store,
        VB_STATE=state,
        VB_DEMO=demo,
    )
    from dashboard.api import init_api
    from dashboard.auth import init_auth
    from dashboard.caching import init_cache
    from dashboard.cluster import init_cluster
    from dashboard.downloads import init_downloads
    from dashboard.exports import init_exports
    from dashboard.jobs import init_jobs
    from dashboard.login import init_login
    from dashboard.rapportages import init_rapportages
    from dashboard.security import init_security
    from callbacks.guard import callback_error

    if settings.compress:
        _compress(server)
    init_cluster(server, settings)
    init_cache(server, settings)
    limiter = init_auth(server, state, settings)
    init_login(server, limiter, state, demo_users)
    init_downloads(server)
    init_exports(server)
    init_jobs(server)
    init_rapportages(server)
    init_api(server, limiter)
    app = dash.Dash(
        __name__,
        server=server,
        title="Veiligheidsbeeld",
        update_title=None,
        assets_folder=str(ASSETS),
        serve_locally=True,
        # No validation layout in the pages: with it Dash puts every page's structure (212 kB,
        # the admin pages' too) in each page's HTML for a check the browser only reports in
        # development. tests/test_callback_wiring.py checks the wiring instead; `run --dev`
        # turns the browser's check back on.
        suppress_callback_exceptions=True,
        on_error=callback_error,
    )
    _serve_plotly(app)
    # Every page is Dutch (WCAG 3.1.1; the login page has its own frame with the same).
    app.index_string = app.index_string.replace("<html>", '<html lang="nl">', 1)
    from callbacks import register_callbacks
    from layouts.shell import shell

    app.layout = shell
    register_callbacks(app)
    init_security(app, settings)  # last: the CSP hashes the inline scripts of every callback
    return app


#: Responses worth compressing: pages, scripts, callback answers, map shapes, CSV and SVG.
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "text/csv", "text/javascript",
                    "application/javascript", "application/json", "application/geo+json",
                    "image/svg+xml"]


def _compress(server: flask.Flask) -> None:
    """Compress responses (Flask-Compress: zstd, brotli or gzip, whatever the browser takes).
    The national buurt shapes shrink from 3.7 MB to about 0.6 MB. Streamed responses (the
    incident exports) are left as they are: they are written window by window, and a
    compressor in between would hold them up. Static files (Dash's bundles, plotly.js, the
    assets) are compressed once per worker and kept (:class:`_StaticCompressed`): a first visit
    fetches 3 MB of scripts, and compressing them anew for every visitor cost the server
    more than sending them."""
    import flask
    from flask_compress import Compress

    server.config.update(COMPRESS_MIMETYPES=COMPRESSED_TYPES, COMPRESS_STREAMS=False,
                         COMPRESS_CACHE_BACKEND=_StaticCompressed,
                         COMPRESS_CACHE_KEY=_static_key)
    Compress(server)

    @server.after_request
    def assets(response: flask.Response) -> flask.Response:
        """Runs before the compressor (after_request functions run last-registered first).
        Dash sends ``/assets/`` files as file streams, which the compressor leaves alone:
        read them into the response. Their links carry the file's time (``?m=``), so a
        changed file gets a new link: the browser may keep them a year, as Dash's bundles."""
        if flask.request.path.startswith("/assets/") and response.status_code == 200:
            if response.is_streamed:
                response.direct_passthrough = False
                response.set_data(response.get_data())
            if flask.request.args.get("m"):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _static_key(request: flask.Request) -> str | None:
    """Flask-Compress's cache key: the link of a static file (it names the file's version),
    None for everything else (pages, callback answers, data: never cached)."""
    from dashboard.security import STATIC_PREFIXES

    if request.method == "GET" and request.path.startswith(STATIC_PREFIXES):
        return request.full_path
    return None


class _StaticCompressed:
    """Flask-Compress's cache backend: compressed static files, per worker process, keyed by
    algorithm and link (:func:`_static_key`). A response without a static key (its key ends
    in ``;None``) is neither looked up nor kept."""

    def __init__(self):
        self._kept: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return None if key.endswith(";None") else self._kept.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";None") and len(self._kept) < 500:
            self._kept[key] = value


#: plotly.js for dcc.Graph: the "cartesian" dist bundle (bar, scatter, heatmap, box, pie, ...:
#: every trace the app draws) of the plotly.js version the installed plotly package ships,
#: 1.5 MB instead of that package's full 4.8 MB bundle (dashboard/licenses/README.md).
PLOTLY_BUNDLE = Path(__file__).resolve().parent / "vendor" / "plotly-cartesian.min.js"


def _serve_plotly(app: dash.Dash) -> None:
    """dcc.Graph loads plotly.js when the first chart is drawn, from the link Dash gives it to
    the plotly package's full bundle (``window._dashPlotlyJSURL`` with ``serve_locally``):
    that link serves :data:`PLOTLY_BUNDLE` instead. The fixed rule wins over Dash's
    ``<package>/<path>`` rule (Werkzeug matches static rules first). The link has no version
    in it, so the browser revalidates (ETag) rather than keeping it blindly."""
    import hashlib

    import flask

    body = PLOTLY_BUNDLE.read_bytes()
    etag = hashlib.sha256(body).hexdigest()[:20]

    def plotly_js():
        response = flask.Response(body, mimetype="application/javascript")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache"
        return response.make_conditional(flask.request)

    app.server.add_url_rule(
        f"{app.config.requests_pathname_prefix}_dash-component-suites/plotly/package_data/"
        "plotly.min.js", "plotly_js", plotly_js)


def _secret_key(settings: Settings, demo: bool) -> str:
    """The configured key; in demo mode a generated one kept beside the database, so that all
    workers share it. Outside demo mode a missing key is an error."""
    if settings.secret_key:
        return settings.secret_key
    if not demo:
        raise RuntimeError("DASHBOARD_SECRET_KEY is required outside demo mode.")
    path = settings.secret_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic and never overwrites: concurrent workers agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
