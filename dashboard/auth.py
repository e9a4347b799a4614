"""Who is asking, and what may they see: login in front of Dash, and the user's scope.

* Unauthenticated requests to a Dash endpoint (``/_dash-*``) get 401; other pages redirect to
  ``/login``. Only the login page and static assets are open; ``/api/v1/`` is left to
  ``dashboard/api.py`` (bearer tokens, no cookie).
* Sessions end after ``DASHBOARD_IDLE_MINUTES`` without a person's request: timer-driven
  callbacks (:func:`is_background`) do not count. The session cookie names the account's id and
  session generation (``data.accounts.user_for_session``), so logout, a new password, a new role
  or removal end every session of the account on the server.
* :func:`current_scope` builds the Scope on the server from the logged-in user (never from the
  request) via ``data.scope.resolve_scope``; anonymous users get DENY.
"""
from __future__ import annotations

import time

import flask
import flask_login
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

import data.ratelimit  # noqa: F401  (registers the vbsqlite:// and vbpostgresql:// schemes)
from data.accounts import get_profile, user_for_session
from data.scope import DENY, Scope, resolve_scope

#: Paths open without a session: exactly these (``/_health`` is the load balancer's check,
#: dashboard/cluster.py), and files under /assets/ (no near-prefixes such as /loginx, no dot
#: segments).
OPEN_EXACT = frozenset({"/login", "/logout", "/_favicon.ico", "/_health"})
OPEN_PREFIX = "/assets/"


def is_open(path: str) -> bool:
    if path in OPEN_EXACT:
        return True
    return path.startswith(OPEN_PREFIX) and ".." not in path.split("/")


def is_background(request) -> bool:
    """A callback fired by a timer (the meldingen bell, a presentation's refresh), not by a
    person: every property that changed is an ``n_intervals``. Such requests are answered but
    do not count as activity for the idle timeout."""
    if request.path != "/_dash-update-component" or request.method != "POST":
        return False
    from dashboard.security import json_body

    body = json_body(request)
    changed = body.get("changedPropIds") if isinstance(body, dict) else None
    return (isinstance(changed, list) and bool(changed)
            and all(isinstance(c, str) and c.endswith(".n_intervals") for c in changed))
#: The data-delivery API authenticates by bearer token only (dashboard/api.py), never by cookie.
API_PATH = "/api/v1/"


def get_db():
    """The read-only DuckDB connection of this process (reopened after a data refresh)."""
    return flask.current_app.config["VB_STORE"].read()


def get_state():
    """The application state database (users, profiles, protocol log)."""
    return flask.current_app.config["VB_STATE"]


def current_user():
    user = flask_login.current_user
    return user if getattr(user, "is_authenticated", False) else None


def current_scope() -> Scope:
    """The logged-in user's scope, built once per request; DENY when nobody is logged in."""
    if "vb_scope" not in flask.g:
        user = current_user()
        state = get_state()
        flask.g.vb_scope = DENY if user is None else resolve_scope(
            user, con=get_db(), profile_for=lambda code: get_profile(state, code),
            memo=scope_memo)
    return flask.g.vb_scope


def scope_memo(key, compute):
    """resolve_scope's DuckDB lookups, cached per role and areas and data version."""
    from dashboard.caching import cached

    return cached("scope-areas", compute, scope=None, extra=key)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except for responses marked ``cache_per_link``: they do
    not vary by cookie. Their link alone decides their content (the map shapes' link names the
    scope and data version, see callbacks/kaart.py), and the session cookie changes with every
    request (the idle timer), so ``Vary: Cookie`` would keep the browser from ever reusing
    them. They are still only served to a logged-in user whose scope matches the link."""

    def save_session(self, app, session, response):
        super().save_session(app, session, response)
        if getattr(response, "cache_per_link", False):
            kept = [v for v in response.vary if v.lower() != "cookie"]
            response.headers.remove("Vary")  # (HeaderSet.discard does not always write back)
            if kept:
                response.headers["Vary"] = ", ".join(kept)


def init_auth(server: flask.Flask, state, settings) -> Limiter:
    """Session settings, flask-login, CSRF for Flask forms, the login guard and rate limits."""
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=settings.idle_minutes * 60,
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    server.session_interface = SessionInterface()
    manager = flask_login.LoginManager(server)

    @manager.user_loader
    def load_user(session_id):
        user = user_for_session(state, session_id)
        if user is None or (user.demo and not server.config["VB_DEMO"]):
            return None
        return user

    csrf = CSRFProtect()
    csrf.init_app(server)
    # Dash posts JSON to its own endpoints; SameSite=Lax cookies keep other sites out of them.
    server.config["WTF_CSRF_CHECK_DEFAULT"] = False
    server.config["VB_CSRF"] = csrf

    @server.before_request
    def guard():
        path = flask.request.path
        if path.startswith(API_PATH):
            return None  # token authentication in dashboard/api.py; the session is not used
        if is_open(path):
            if path in ("/login", "/logout") and flask.request.method == "POST":
                csrf.protect()
            return None
        seen = flask.session.get("vb_seen")
        if current_user() is not None and seen and time.time() - seen > settings.idle_minutes * 60:
            flask_login.logout_user()
            flask.session.clear()
            if not path.startswith("/_dash-"):
                return flask.redirect(flask.url_for("login.login", reden="verlopen", next=path))
        if current_user() is None:
            if path.startswith("/_dash-"):
                return flask.jsonify(error="Niet ingelogd."), 401
            return flask.redirect(flask.url_for("login.login", next=flask.request.full_path
                                                .rstrip("?")))
        if not seen or not is_background(flask.request):
            flask.session["vb_seen"] = time.time()
        return None

    # Counters: Flask-Limiter's own Redis storage on a cluster, else the state database.
    storage = settings.redis_url or state.limiter_uri()
    return Limiter(get_remote_address, app=server, default_limits=[], storage_uri=storage,
                   key_prefix="vb-limits", headers_enabled=True, strategy="fixed-window")
