"""The login and logout pages (plain Flask with a Flask-WTF form, in front of Dash).

Guessing is limited by :mod:`dashboard.throttle` *before* a password is checked; logout is a
POST with a CSRF token and ends every session of the account (``data.accounts.end_sessions``).
"""
from __future__ import annotations

from urllib.parse import urlparse

import flask
import flask_login
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dashboard import throttle
from data.accounts import end_sessions, verify

DEMO_ACCOUNTS_NOTE = """
<div class="alert alert-warning small mt-3 mb-0" id="demo-accounts">
  <strong>Demo.</strong> Accounts (wachtwoord <code>demo-&lt;naam&gt;</code>, bijv.
  <code>demo-burgemeester</code>): {names}.
</div>"""

#: The frame of the two plain pages in front of Dash (``{title}`` is filled in).
FRAME = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Veiligheidsbeeld</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css"><link rel="stylesheet" href="/assets/theme.css"><link rel="stylesheet" href="/assets/wcag.css">
</head><body class="d-flex align-items-center" style="min-height:100vh">
<main class="container" style="max-width:420px">
"""

LOGOUT_PAGE = FRAME.format(title="Uitloggen") + """  <h1 class="h3 mb-3">Uitloggen</h1>
  <form method="post" action="/logout" class="card card-body">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    <p>Wilt u uitloggen? Al uw sessies (ook op andere apparaten) worden dan beëindigd.</p>
    <button type="submit" class="btn btn-primary w-100" id="logout-confirm">Uitloggen</button>
  </form>
  <p class="mt-3"><a href="/">Terug naar Veiligheidsbeeld</a></p>
</main></body></html>"""

PAGE = FRAME.format(title="Inloggen") + """  <h1 class="h3 mb-1">Veiligheidsbeeld</h1>
  <p class="text-body-secondary">Log in om politie-informatie over uw gemeente te bekijken.</p>
  {% if message %}<div class="alert alert-{{ tone }}" role="alert" id="login-message">{{ message }}</div>{% endif %}
  <form method="post" action="{{ url_for('login.login', next=next) }}" class="card card-body" novalidate>
    {{ form.csrf_token }}
    <label class="form-label" for="name">Gebruikersnaam</label>
    {{ form.name(class_="form-control mb-3", autocomplete="username", autofocus=True) }}
    <label class="form-label" for="password">Wachtwoord</label>
    {{ form.password(class_="form-control mb-3", autocomplete="current-password") }}
    <button type="submit" class="btn btn-primary w-100">Inloggen</button>
  </form>
  {{ demo_note|safe }}
</main></body></html>"""


class LoginForm(FlaskForm):
    name = StringField("Gebruikersnaam", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Wachtwoord", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only local paths; anything else (another host, scheme) goes to the start page."""
    if not target:
        return "/"
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def init_login(server: flask.Flask, limiter, state, demo_users: list[str]) -> None:
    bp = flask.Blueprint("login", __name__)

    def render(form, message=None, tone="danger", status=200):
        note = DEMO_ACCOUNTS_NOTE.format(names=", ".join(demo_users)) if demo_users else ""
        html = flask.render_template_string(PAGE, form=form, message=message, tone=tone,
                                            next=_safe_next(flask.request.args.get("next")),
                                            demo_note=note)
        return html, status

    guard = throttle.LoginThrottle(limiter.storage if limiter else None, server.secret_key)

    @bp.route("/login", methods=["GET", "POST"])
    def login():
        form = LoginForm()
        if flask.request.method == "GET":
            reason = flask.request.args.get("reden")
            message = {"verlopen": "Uw sessie is verlopen. Log opnieuw in.",
                       "uitgelogd": "U bent uitgelogd."}.get(reason)
            return render(form, message, tone="info")
        if not form.validate_on_submit():
            return render(form, "Vul gebruikersnaam en wachtwoord in (of herlaad de pagina).",
                          status=400)
        name = form.name.data.strip()
        attempt = guard.attempt(name, flask.request.remote_addr,
                                flask.request.cookies.get(throttle.DEVICE_COOKIE))
        if attempt.refused:
            response = flask.make_response(render(form, attempt.message, status=attempt.status))
            if attempt.retry_after:
                response.headers["Retry-After"] = str(attempt.retry_after)
            return response
        user = verify(state, name, form.password.data)
        if user is None or (user.demo and not server.config["VB_DEMO"]):
            if not guard.failed(attempt):
                return render(form, throttle.UNAVAILABLE, status=503)
            return render(form, "Onjuiste gebruikersnaam of wachtwoord.", status=401)
        guard.succeeded(attempt)
        flask.session.clear()  # no session fixation
        flask_login.login_user(user)
        flask.session.permanent = True
        # The CSRF secret of this session (for the logout form) exists from the first response
        # on: set later by a callback, a concurrent callback's cookie could overwrite it.
        flask.g.pop("csrf_token", None)  # the form's token went with the old session
        generate_csrf()
        response = flask.redirect(_safe_next(flask.request.args.get("next")))
        guard.remember_device(response, user, secure=server.config["SESSION_COOKIE_SECURE"])
        return response

    @bp.route("/logout", methods=["GET", "POST"])
    def logout():
        """GET asks (a cross-site link logs nobody out); POST with the CSRF token logs out and
        ends every session of the account."""
        if flask.request.method == "GET":
            return flask.render_template_string(LOGOUT_PAGE)
        user = flask_login.current_user
        if getattr(user, "is_authenticated", False):
            end_sessions(state, user.name)
        flask_login.logout_user()
        flask.session.clear()
        return flask.redirect(flask.url_for("login.login", reden="uitgelogd"))

    server.register_blueprint(bp)
