"""The login and logout pages (plain Flask with a Flask-WTF form, in front of Dash)."""
from __future__ import annotations

from urllib.parse import urlparse

import flask
import flask_login
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from data.accounts import verify

#: Failed logins allowed per account and per client address before 429 (Flask-Limiter).
ACCOUNT_LIMIT = "10 per 10 minutes"
ADDRESS_LIMIT = "30 per 10 minutes"

DEMO_ACCOUNTS_NOTE = """
<div class="alert alert-warning small mt-3 mb-0" id="demo-accounts">
  <strong>Demo.</strong> Accounts (wachtwoord <code>demo-&lt;naam&gt;</code>, bijv.
  <code>demo-burgemeester</code>): {names}.
</div>"""

PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Inloggen · Veiligheidsbeeld</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css"><link rel="stylesheet" href="/assets/theme.css">
</head><body class="d-flex align-items-center" style="min-height:100vh">
<main class="container" style="max-width:420px">
  <h1 class="h3 mb-1">Veiligheidsbeeld</h1>
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


def _account_key() -> str:
    return "login-account:" + (flask.request.form.get("name") or "").strip().lower()


def _failed(response) -> bool:
    return response.status_code != 302


def init_login(server: flask.Flask, limiter, state, demo_users: list[str]) -> None:
    bp = flask.Blueprint("login", __name__)

    def render(form, message=None, tone="danger", status=200):
        note = DEMO_ACCOUNTS_NOTE.format(names=", ".join(demo_users)) if demo_users else ""
        html = flask.render_template_string(PAGE, form=form, message=message, tone=tone,
                                            next=_safe_next(flask.request.args.get("next")),
                                            demo_note=note)
        return html, status

    @bp.route("/login", methods=["GET", "POST"])
    @limiter.limit(ACCOUNT_LIMIT, key_func=_account_key, methods=["POST"], deduct_when=_failed)
    @limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=_failed)
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
        user = verify(state, form.name.data.strip(), form.password.data)
        if user is None or (user.demo and not server.config["VB_DEMO"]):
            return render(form, "Onjuiste gebruikersnaam of wachtwoord.", status=401)
        flask.session.clear()  # no session fixation
        flask_login.login_user(user)
        flask.session.permanent = True
        return flask.redirect(_safe_next(flask.request.args.get("next")))

    @bp.route("/logout", methods=["GET", "POST"])
    def logout():
        flask_login.logout_user()
        flask.session.clear()
        return flask.redirect(flask.url_for("login.login", reden="uitgelogd"))

    server.register_blueprint(bp)
