"""User management on /beheer (issue #15): the data layer, a forged callback by a mayor, and in
Chromium the whole round: the beheerder adds an account, its user logs in, the beheerder
disables it and the user's session ends; a password reset ends sessions too. Every test runs
its own server on a copy of the demo database."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from data import accounts, tokens
from data.state import StateDB

from .conftest import LiveServer, dash_callback, demo_copy, http_login, login, pick


@pytest.fixture
def server(demo_db, tmp_path):
    db = demo_copy(demo_db, tmp_path / "db")
    live = LiveServer(db)
    live.state = StateDB(db.parent / "appstate.sqlite")
    yield live
    live.stop()


def _account_rows(state, user=None):
    rows = state.query("SELECT user, outcome, filters FROM protocol_log WHERE view = "
                       "'beheer/account' ORDER BY id")
    return [(r["user"], r["outcome"], json.loads(r["filters"])) for r in rows
            if user is None or r["user"] == user]


# -- data layer --------------------------------------------------------------------------------

def test_disabled_account_cannot_log_in_keep_a_session_or_use_a_token(tmp_path):
    state = StateDB(tmp_path / "appstate.sqlite")
    accounts.add_user(state, "beheer1", "beheerder", "lang-genoeg-1")
    user = accounts.add_user(state, "wh", "burgemeester", "lang-genoeg-2",
                             gemeenten=["GM0363"], by="beheer1")
    _, token = tokens.create_token(state, "wh", label="eigen", by="wh")
    assert accounts.verify(state, "wh", "lang-genoeg-2") is not None
    assert tokens.authenticate(state, token, demo=False) is not None
    session = user.get_id()
    disabled = accounts.set_disabled(state, "wh", True, by="beheer1")
    assert disabled.disabled and disabled.session_gen == user.session_gen + 1
    assert accounts.verify(state, "wh", "lang-genoeg-2") is None
    assert accounts.user_for_session(state, session) is None
    assert accounts.user_for_session(state, disabled.get_id()) is None  # not even a new one
    assert tokens.authenticate(state, token, demo=False) is None
    enabled = accounts.set_disabled(state, "wh", False, by="beheer1")
    assert not enabled.disabled and accounts.verify(state, "wh", "lang-genoeg-2") is not None
    assert accounts.user_for_session(state, session) is None  # the old session stays ended
    assert tokens.authenticate(state, token, demo=False) is not None
    accounts.set_password(state, "wh", "nieuw-wachtwoord", by="beheer1")
    with pytest.raises(accounts.AccountError):
        accounts.set_password(state, "wh", "kort", by="beheer1")
    with pytest.raises(accounts.AccountError):
        accounts.set_disabled(state, "niemand", True, by="beheer1")
    actions = [f["actie"] for _, _, f in _account_rows(state, "beheer1")]
    assert actions == ["aangemaakt", "uitgeschakeld", "ingeschakeld", "wachtwoord gewijzigd"]
    assert "nieuw-wachtwoord" not in json.dumps(_account_rows(state))
    # only an enabled beheerder manages accounts
    assert accounts.acting_beheerder(state, "beheer1").name == "beheer1"
    for name in ("wh", "niemand", None, ["beheer1"]):
        with pytest.raises(accounts.NotAllowed):
            accounts.acting_beheerder(state, name)
    accounts.set_disabled(state, "beheer1", True)
    with pytest.raises(accounts.NotAllowed):
        accounts.acting_beheerder(state, "beheer1")


# -- a forged callback ---------------------------------------------------------------------------

def _forge(session, server, trigger, **values):
    base = {"account-list.id": "account-list", "account-role.value": "burgemeester"}
    base.update({k.replace("__", "."): v for k, v in values.items()})
    return dash_callback(session, server, "account-message.children", base,
                         trigger=f"{trigger}.n_clicks")


def test_a_mayor_forging_the_account_callback_is_refused_and_logged(server):
    mayor = http_login(server, "burgemeester")
    made = _forge(mayor, server, "account-create", **{"account-name__value": "stiekem",
                                                      "account-areas__value": ["GMD001"],
                                                      "account-password__value": "x" * 12})
    assert made.status_code == 200 and "Geen toegang" in made.text
    assert accounts.get_user(server.state, "stiekem") is None
    assert "burgemeester2" not in made.text  # and no list of accounts
    off = _forge(mayor, server, "account-disable", **{"account-select__value": "beheerder"})
    assert "Geen toegang" in off.text
    reset = _forge(mayor, server, "account-reset", **{"account-select__value": "beheerder",
                                                      "account-new-password__value": "y" * 12})
    assert "Geen toegang" in reset.text
    assert not accounts.get_user(server.state, "beheerder").disabled
    assert accounts.verify(server.state, "beheerder", "demo-beheerder") is not None
    refused = _account_rows(server.state, "burgemeester")
    assert [(outcome, f["actie"]) for _, outcome, f in refused] == [
        ("refused", "account-create"), ("refused", "account-disable"),
        ("refused", "account-reset")]
    # the beheerder's own call goes through, with the password rule of the command line
    beheerder = http_login(server, "beheerder")
    short = _forge(beheerder, server, "account-create", **{
        "account-name__value": "kort", "account-areas__value": ["GMD001"],
        "account-password__value": "kort"})
    assert "minstens 8 tekens" in short.text and accounts.get_user(server.state, "kort") is None
    own = _forge(beheerder, server, "account-disable", **{"account-select__value": "beheerder"})
    assert "eigen account" in own.text and not accounts.get_user(server.state,
                                                                  "beheerder").disabled


# -- in the browser ------------------------------------------------------------------------------

@pytest.mark.browser
def test_beheerder_adds_user_who_logs_in_then_disables_and_resets(server, browser):
    admin = browser.new_context().new_page()
    login(admin, server, "beheerder")
    admin.goto(server.url + "/beheer")
    # the seven demo accounts (gegevensbeheerder included)
    expect(admin.locator(".account-table tbody tr")).to_have_count(7, timeout=20_000)
    admin.fill("#account-name", "wethouder")
    pick(admin, "#account-areas", "Havenstad (GMD001)")
    admin.keyboard.press("Escape")
    admin.get_by_role("button", name="Account aanmaken", exact=True).click()
    secret = admin.locator("#account-secret")
    expect(secret).to_be_visible(timeout=20_000)
    password = secret.inner_text().strip()
    assert len(password) >= 12
    expect(admin.locator(".account-table tr[data-name='wethouder']")).to_contain_text("actief")

    user = browser.new_context().new_page()
    login(user, server, "wethouder", password)
    expect(user.locator(".key-figure-value").first).to_be_visible(timeout=20_000)
    expect(user.locator("#overview-subtitle")).to_contain_text("Havenstad")

    pick(admin, "#account-select", "wethouder (burgemeester)")
    admin.get_by_role("button", name="Uitschakelen", exact=True).click()
    expect(admin.locator("#account-message")).to_contain_text("uitgeschakeld", timeout=20_000)
    expect(admin.locator(".account-table tr[data-name='wethouder']")).to_have_attribute(
        "data-disabled", "true")
    user.goto(server.url + "/trends")  # the session has ended on the server
    user.wait_for_url("**/login**", timeout=20_000)
    user.fill("#name", "wethouder")
    user.fill("#password", password)
    user.click("button[type=submit]")
    expect(user.locator("body")).to_contain_text("Onjuiste gebruikersnaam of wachtwoord")

    # enabled again with a password the beheerder sets; a later reset ends that session too
    admin.get_by_role("button", name="Inschakelen", exact=True).click()
    expect(admin.locator("#account-message")).to_contain_text("weer ingeschakeld",
                                                              timeout=20_000)
    admin.fill("#account-new-password", "door-beheer-gekozen")
    admin.get_by_role("button", name="Wachtwoord resetten").click()
    expect(admin.locator("#account-message")).to_contain_text("Nieuw wachtwoord",
                                                              timeout=20_000)
    expect(admin.locator("#account-secret")).to_have_count(0)  # chosen, so not shown
    expect(admin.locator("#account-new-password")).to_have_value("")
    login(user, server, "wethouder", "door-beheer-gekozen")
    admin.get_by_role("button", name="Wachtwoord resetten").click()  # generated this time
    expect(admin.locator("#account-secret")).to_be_visible(timeout=20_000)
    user.goto(server.url + "/driehoek")
    user.wait_for_url("**/login**", timeout=20_000)

    actions = [(outcome, f["actie"], f["gebruiker"])
               for _, outcome, f in _account_rows(server.state, "beheerder")]
    assert actions == [("ok", "aangemaakt", "wethouder"), ("ok", "uitgeschakeld", "wethouder"),
                       ("ok", "ingeschakeld", "wethouder"),
                       ("ok", "wachtwoord gewijzigd", "wethouder"),
                       ("ok", "wachtwoord gewijzigd", "wethouder")]
    logged = json.dumps(_account_rows(server.state))
    assert password not in logged and "door-beheer-gekozen" not in logged
