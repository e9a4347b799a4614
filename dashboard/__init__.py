"""Veiligheidsbeeld: the application factory.

``create_app(overrides)`` builds the Flask server and the Dash app on it. The same factory serves
``python -m dashboard run``, gunicorn (``"dashboard:create_app()"``) and the tests. Nothing is
created at import time.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dash
import flask

from dashboard.config import Settings, from_environment

ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(overrides: dict | None = None) -> dash.Dash:
    """Build the app. ``overrides`` (setting name -> value) go on top of the environment."""
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
        suppress_callback_exceptions=False,
        on_error=callback_error,
    )
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
    compressor in between would hold them up."""
    from flask_compress import Compress

    server.config.update(COMPRESS_MIMETYPES=COMPRESSED_TYPES, COMPRESS_STREAMS=False)
    Compress(server)


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
