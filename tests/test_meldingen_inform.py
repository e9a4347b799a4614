"""Meldingen that inform (issue 17 item 3): the agreement profile's choice of large-impact types
and delivery, a user's own narrowing, the teamchef's note (to the mayor's bell, page and
e-mail, marked "van de teamchef"; anyone else refused and logged), raid fields from the
incident import, grouping per day and type, and one daily digest per user and day.

Real parts only: a copy of the demo database, real imports through the CLI, the real state
database, a real gunicorn server in Chromium and a real SMTP sink (aiosmtpd on 127.0.0.1)."""
from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from data import meldingen
from data.accounts import (add_user, ensure_demo_accounts, get_profile, get_user, set_email,
                           set_profile)
from data.demo.seed import demo_today
from data.scope import OutOfScope, resolve_scope
from data.state import StateDB
from data.store import Store

from .conftest import LiveServer, http_login, login
from .test_meldingen import Sink, _location, _now, cli

HEADER = ("id;registered_at;occurred_at;type_code;lon;lat;street;house_number;executing_unit;"
          "om_ordered\n")


def _row(incident_id, type_code, where, *, hours_ago=1, unit="", om=""):
    lon, lat = where
    return (f"{incident_id};{_now(hours=-hours_ago)};{_now(hours=-hours_ago - 2)};{type_code};"
            f"{lon};{lat};Kade;1;{unit};{om}\n")


def _scope(state, store, name):
    user = get_user(state, name)
    return user, resolve_scope(user, con=store.read(),
                               profile_for=lambda c: get_profile(state, c))


@pytest.fixture(scope="module")
def world(demo_db, tmp_path_factory):
    """A demo copy with its own state: mayors, adviseur and teamchef with e-mail, a teamchef of
    another gemeente, and an import of two raids with and without raid fields, a homicide and an
    assault (not large impact by default) in the first mayor's gemeente, plus rejected rows."""
    folder = tmp_path_factory.mktemp("inform")
    db = folder / "inform.duckdb"
    shutil.copyfile(Store(demo_db).current_file(), db)
    store = Store(db)
    state = StateDB(folder / "appstate.sqlite")
    ensure_demo_accounts(state, store.read())
    own = get_user(state, "burgemeester").gemeenten[0]
    other = get_user(state, "burgemeester2").gemeenten[0]
    add_user(state, "teamchef2", "teamchef", "demo-teamchef2", gemeenten=[other], demo=True)
    for name in ("burgemeester", "burgemeester2", "teamchef", "adviseur"):
        set_email(state, name, f"{name}@example.org")
    sink = Sink()
    env = {"DASHBOARD_SMTP_HOST": "127.0.0.1", "DASHBOARD_SMTP_PORT": str(sink.port),
           "DASHBOARD_SMTP_FROM": "veiligheidsbeeld@example.org"}
    here = _location(store, own)
    csv = folder / "invallen.csv"
    csv.write_text(HEADER
                   + _row("R-INVAL-1", "N06", here, unit="Landelijke Eenheid", om="ja")
                   + _row("R-INVAL-2", "N06", here, hours_ago=30)
                   + _row("R-MOORD-1", "1.4.2", here, hours_ago=3)
                   + _row("R-MISH-1", "1.4.5", here, hours_ago=2)
                   + _row("R-FOUT-1", "N06", here, om="misschien")
                   + _row("R-FOUT-2", "1.4.5", here, unit="Landelijke Eenheid"),
                   encoding="utf-8")
    result = cli("import", "incidents", csv, "--json", "--rejected-file",
                 folder / "afgewezen.csv", db=db, env=env)
    assert result.returncode == 0, result.stderr
    yield dict(db=db, store=store, state=state, own=own, other=other, sink=sink, env=env,
               folder=folder, summary=json.loads(result.stdout))
    sink.stop()


def _melding(world, incident_id):
    return world["state"].query("SELECT * FROM meldingen WHERE incident_id = ?",
                                (incident_id,))[0]


def test_raid_fields_are_imported_checked_and_shown_at_detail_1(world):
    assert world["summary"]["rows"] == 4 and world["summary"]["rejected"] == 2
    rejected = (world["folder"] / "afgewezen.csv").read_text(encoding="utf-8")
    assert "bad om_ordered value misschien" in rejected
    assert "for raids (type_code N06) only" in rejected
    raids = dict((r[0], r[1:]) for r in world["store"].read().execute(
        "SELECT id, executing_unit, om_ordered FROM raid_details WHERE id LIKE 'R-%'").fetchall())
    assert raids == {"R-INVAL-1": ("Landelijke Eenheid", True)}  # absent = no row: unknown
    user, scope = _scope(world["state"], world["store"], "burgemeester")
    assert scope.detail == 1
    items = {i["id"]: i for i in meldingen.list_meldingen(world["state"], world["store"].read(),
                                                          scope=scope, user=user)}
    one, two = (items[_melding(world, r)["id"]] for r in ("R-INVAL-1", "R-INVAL-2"))
    assert (one["executing_unit"], one["om_ordered"]) == ("Landelijke Eenheid", True)
    assert (two["executing_unit"], two["om_ordered"]) == (None, None)
    assert "street" not in one  # detail 1 still gets no address
    _title, lines = meldingen.describe(two)
    assert "Uitvoerende eenheid: onbekend" in lines and "Op last van het OM: onbekend" in lines
    # the direct mail of the import carried them
    mails = [m for m in world["sink"].to("burgemeester@example.org") if "Inval" in m[1]]
    assert any("Uitvoerende eenheid: Landelijke Eenheid" in m[2]
               and "Op last van het OM: ja" in m[2] for m in mails)
    assert any("Uitvoerende eenheid: onbekend" in m[2] for m in mails)


def test_the_profile_chooses_what_counts_as_large_impact(world):
    """The default list leaves out assaults; a profile that chooses them gets them."""
    state = world["state"]
    created = {r["incident_id"] for r in state.query("SELECT incident_id FROM meldingen")}
    assert {"R-INVAL-1", "R-INVAL-2", "R-MOORD-1"} <= created
    assert "R-MISH-1" not in created  # 1.4.5 Mishandeling: not by default
    set_profile(state, world["own"], by="test", meldingen={"types": ["geweld"]})
    try:
        made = meldingen.create_meldingen(state, world["store"].read(), days=7, batch="invallen.csv")
        assert [_melding(world, "R-MISH-1")["id"]] == made
    finally:
        set_profile(state, world["own"], by="test", meldingen={})
    with pytest.raises(meldingen.MeldingError):
        set_profile(state, world["own"], by="test", meldingen={"types": ["9.9.9"]})
    with pytest.raises(meldingen.MeldingError):
        set_profile(state, world["own"], by="test", meldingen={"delivery": "wekelijks"})


def test_demo_havenstad_mayor_gets_far_fewer_meldingen(demo_db, tmp_path):
    """Round 1 made every High Impact incident a melding; the default profile makes only the
    large-impact types one. Counted on the demo's last week for the mayor's gemeente."""
    store = Store(demo_db)
    con = store.read()
    state = StateDB(tmp_path / "state.sqlite")
    ensure_demo_accounts(state, con)
    havenstad = get_user(state, "burgemeester").gemeenten[0]
    days = 7 + max(0, (meldingen.local_now().date() - demo_today(store)).days)
    cutoff = meldingen.local_now() - timedelta(days=days)
    before = con.execute("SELECT count(*) FROM incidents WHERE gm_code = ? AND registered_at >= ?"
                         " AND (high_impact OR type_code = 'N06')", [havenstad, cutoff]
                         ).fetchall()[0][0]
    meldingen.create_meldingen(state, con, days=days)
    user, scope = _scope(state, store, "burgemeester")
    after = len(meldingen.list_meldingen(state, con, scope=scope, user=user))
    print(f"\nHavenstad, last demo week: {before} meldingen by the round-1 rule, {after} now")
    assert before >= 20 and 0 < after <= before // 3
    # every one of them is of a default type
    assert {i["type_code"] for i in meldingen.list_meldingen(state, con, scope=scope, user=user)
            } <= meldingen.expand(meldingen.DEFAULT_TYPES)


def test_demo_raids_carry_unit_and_om_order(demo_db):
    """The demo generator gives every raid its fields: mostly the regional unit, some national
    units, mostly ordered by the OM, and some left unknown (never all alike)."""
    con = Store(demo_db).read()
    raids = con.execute("SELECT count(*) FROM incidents WHERE type_code = 'N06'").fetchall()[0][0]
    rows = con.execute("SELECT r.executing_unit, r.om_ordered FROM raid_details r"
                       " JOIN incidents i USING (id) WHERE i.type_code = 'N06'").fetchall()
    assert raids > 20 and len(rows) == raids
    units = {u for u, _om in rows}
    assert {"Regionale eenheid Doggerland", "Landelijke Eenheid", None} <= units
    orders = [om for _u, om in rows]
    assert orders.count(True) > orders.count(False) > 0 and orders.count(None) > 0
    assert not con.execute("SELECT count(*) FROM raid_details r JOIN incidents i USING (id)"
                           " WHERE i.type_code <> 'N06'").fetchall()[0][0]


def test_a_user_narrows_the_profile_choice(world):
    state, con = world["state"], world["store"].read()
    user, scope = _scope(state, world["store"], "adviseur")
    everything = meldingen.list_meldingen(state, con, scope=scope, user=user)
    assert {"1.4.2", "N06"} <= {i["type_code"] for i in everything}
    meldingen.set_preferences(state, user, {"types": ["1.6.1"], "delivery": "dagelijks"},
                              scope=scope)
    try:
        narrowed = meldingen.list_meldingen(state, con, scope=scope, user=user)
        assert {i["type_code"] for i in narrowed} <= {"1.6.1", "N06"}  # raids always
        assert any(i["type_code"] == "N06" for i in narrowed)
        assert set(meldingen.unread(state, scope=scope, user=user)) == {i["id"] for i in narrowed}
        # the mayor of the same gemeente is not narrowed by the adviser's choice
        mayor, mscope = _scope(state, world["store"], "burgemeester")
        assert len(meldingen.list_meldingen(state, con, scope=mscope, user=mayor)) == len(everything)
        logged = state.query("SELECT count(*) FROM protocol_log WHERE view ="
                             " 'meldingen/voorkeuren' AND user = 'adviseur'")[0][0]
        assert logged == 1
    finally:
        meldingen.set_preferences(state, user, {}, scope=scope)


def test_digest_profile_sends_one_mail_per_user_per_day(world):
    """burgemeester2's gemeente gets a daily digest; two runs on one day send one mail."""
    state, sink, other = world["state"], world["sink"], world["other"]
    here = _location(world["store"], other)
    set_profile(state, other, by="test", meldingen={"delivery": "dagelijks"})
    csv = world["folder"] / "dag.csv"
    csv.write_text(HEADER + _row("D-INVAL-1", "N06", here, unit="Dienst Speciale Interventies")
                   + _row("D-INVAL-2", "N06", here, hours_ago=2, om="nee")
                   + _row("D-BRAND-1", "1.6.1", here, hours_ago=3), encoding="utf-8")
    before = len(sink.to("burgemeester2@example.org"))
    result = cli("import", "incidents", csv, "--json", db=world["db"], env=world["env"])
    assert result.returncode == 0, result.stderr
    # the import sends the digest when it is due (from 07:00), else the first run does; either
    # way the day has one digest
    for _ in range(2):
        run = cli("meldingen", "mail", "--digest", "--json", db=world["db"], env=world["env"])
        assert run.returncode == 0, run.stderr
    mine = sink.to("burgemeester2@example.org")[before:]
    digests = [m for m in mine if "dagoverzicht" in m[1]]
    assert len(digests) == 1, [m[1] for m in mine]
    assert len(mine) == 1  # no direct mail beside the digest
    body = digests[0][2]
    # per day of the offence: near midnight the three fall on two days (sum the day counts)
    def listed(title):
        return sum(int(n) for n in re.findall(rf"— (\d+) × {title}", body))
    assert (listed("Inval/doorzoeking"), listed("Brand/ontploffing")) == (2, 1), body
    assert "Uitvoerende eenheid: Dienst Speciale Interventies" in body
    assert "Op last van het OM: nee" in body
    rows = state.query("SELECT count(*) FROM melding_digests WHERE user = 'burgemeester2'")
    assert rows[0][0] == 1
    digest_rows = state.query("SELECT count(*) FROM melding_mails WHERE user = 'burgemeester2'"
                              " AND digest_day IS NOT NULL AND outcome = 'sent'")[0][0]
    assert digest_rows == 3
    # the mayor of the other gemeente (direct delivery) got none of these
    assert not any("D-" in m[2] or "Dienst Speciale" in m[2]
                   for m in sink.to("burgemeester@example.org"))


def _forge_note(session, server, melding_id, text):
    """The note callback as a forged request: a click on the note button of ``melding_id``."""
    spec = next(s for s in session.get(server.url + "/_dash-dependencies").json()
                if s["output"].strip(".").startswith("melding-noted.data"))
    button = {"type": "melding-notitie-knop", "id": melding_id}
    field = {"type": "melding-notitie-tekst", "id": melding_id}
    changed = json.dumps({"id": melding_id, "type": "melding-notitie-knop"},
                         separators=(",", ":")) + ".n_clicks"
    return session.post(server.url + "/_dash-update-component", json={
        "output": spec["output"],
        "outputs": [{"id": "melding-noted", "property": "data"},
                    {"id": "melding-notitie-bericht", "property": "children"}],
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
        "state": [[{"id": field, "property": "value", "value": text}],
                  [{"id": field, "property": "id", "value": field}]],
        "changedPropIds": [changed]})


@pytest.mark.browser
def test_teamchef_note_reaches_the_mayor_marked_van_de_teamchef(world, page, browser):
    state, sink = world["state"], world["sink"]
    moord = _melding(world, "R-MOORD-1")["id"]
    inval = _melding(world, "R-INVAL-1")["id"]
    server = LiveServer(world["db"], env={"DASHBOARD_MELDING_POLL_SECONDS": "1"})
    try:
        # The mayor sees the meldingen grouped per day and type, and the raid fields.
        login(page, server, "burgemeester")
        page.goto(server.url + "/meldingen")
        expect(page.locator(f"#melding-{inval}")).to_contain_text("Landelijke Eenheid",
                                                                 timeout=30_000)
        expect(page.locator(f"#melding-{inval}")).to_contain_text("Op last van het OM")
        expect(page.locator(".melding-soortkop").first).to_have_text(
            re.compile(r"^[A-Z][a-z]+dag \d{1,2} [a-z]+( \d{4})? — \d+ × .+"))
        expect(page.locator(".melding-soortkop", has_text="× Inval/doorzoeking").first
               ).to_be_visible()
        expect(page.locator(".melding-dag").first).to_be_visible()
        assert page.locator(".melding-notitie-knop").count() == 0  # a mayor cannot add notes
        page.click("#meldingen-alles-gezien")
        expect(page.locator("#melding-count")).to_have_count(0, timeout=20_000)
        sent_before = len(sink.to("burgemeester@example.org"))

        # The teamchef of the gemeente adds a note in the browser.
        chef_context = browser.new_context()
        chef = chef_context.new_page()
        login(chef, server, "teamchef")
        chef.goto(server.url + "/meldingen")
        card = chef.locator(f"#melding-{moord}")
        card.locator("textarea").fill("Verdachte aangehouden; geen gevaar voor de buurt.")
        card.locator(".melding-notitie-knop").click()
        expect(card).to_contain_text("Van de teamchef", timeout=20_000)
        expect(card).to_contain_text("Verdachte aangehouden")
        chef_context.close()

        # The mayor's bell counts it again, marked "van de teamchef", without a reload.
        expect(page.locator("#melding-count")).to_have_text("1", timeout=30_000)
        expect(page.locator("#melding-teamchef")).to_have_text("van de teamchef")
        mine = page.locator(f"#melding-{moord}")
        expect(mine).to_contain_text("Van de teamchef", timeout=20_000)
        expect(mine).to_contain_text("teamchef, teamchef")
        expect(mine).to_contain_text("Verdachte aangehouden; geen gevaar voor de buurt.")

        # A forged note from the mayor and from another gemeente's teamchef: refused, logged.
        for name, target in (("burgemeester", moord), ("teamchef2", moord)):
            session = http_login(server, name)
            answer = _forge_note(session, server, target, f"VERVALST door {name}")
            assert answer.status_code in (200, 204)
            assert "Notitie toegevoegd" not in answer.text
        notes = state.query("SELECT author, text FROM melding_notes WHERE melding_id = ?",
                            (moord,))
        assert [(r[0], r[1][:9]) for r in notes] == [("teamchef", "Verdachte")]
        refused = state.query("SELECT user FROM protocol_log WHERE view = 'meldingen/notitie'"
                              " AND outcome = 'refused' ORDER BY id")
        assert [r[0] for r in refused][-2:] == ["burgemeester", "teamchef2"]
        assert state.query("SELECT count(*) FROM protocol_log WHERE view = 'meldingen/notitie'"
                           " AND outcome = 'ok' AND user = 'teamchef'")[0][0] == 1
        # the note table is append-only
        with pytest.raises(Exception, match="append-only"):
            state.connection().execute("UPDATE melding_notes SET text = 'x'")
    finally:
        server.stop()

    # The note goes out by e-mail once, as an update marked "van de teamchef".
    runs = []
    for _ in range(2):
        run = cli("meldingen", "mail", "--json", db=world["db"], env=world["env"])
        assert run.returncode == 0, run.stderr
        runs.append(json.loads(run.stdout))
    assert runs[1] == {"mails_sent": 0, "mails_failed": 0}
    updates = [m for m in sink.to("burgemeester@example.org")[sent_before:]
               if "Verdachte" in m[2]]
    assert len(updates) == 1, [m[1] for m in updates]
    _to, subject, body = updates[0]
    assert subject.startswith("Veiligheidsbeeld – Update van de teamchef")
    assert "Van de teamchef (teamchef, teamchef," in body and "Verdachte aangehouden" in body
    assert state.query("SELECT count(*) FROM melding_mails WHERE user = 'burgemeester' AND"
                       " melding_id = ? AND note_id > 0 AND outcome = 'sent'", (moord,))[0][0] == 1


def test_note_rules_in_the_data_layer(world):
    state, store = world["state"], world["store"]
    inval = _melding(world, "R-INVAL-1")["id"]
    chef2, scope2 = _scope(state, store, "teamchef2")
    with pytest.raises(OutOfScope):  # another gemeente's melding
        meldingen.add_note(state, scope=scope2, user=chef2, melding_id=inval, text="x")
    chef, scope = _scope(state, store, "teamchef")
    with pytest.raises(meldingen.MeldingError):
        meldingen.add_note(state, scope=scope, user=chef, melding_id=inval, text="x" * 501)
    with pytest.raises(meldingen.MeldingError):
        meldingen.add_note(state, scope=scope, user=chef, melding_id=inval, text="   ")
    assert not state.query("SELECT 1 FROM melding_notes WHERE melding_id = ?", (inval,))
    # a note is not news to its author, but is to the mayor who had seen the melding
    mayor, mscope = _scope(state, store, "burgemeester")
    meldingen.acknowledge(state, scope=mscope, user=mayor, ids=[inval])
    assert inval not in meldingen.unread(state, scope=mscope, user=mayor)
    meldingen.add_note(state, scope=scope, user=chef, melding_id=inval, text="Rustig verlopen.")
    assert inval not in meldingen.unread(state, scope=scope, user=chef)
    assert inval in meldingen.unread(state, scope=mscope, user=mayor)
    assert meldingen.unread_notes(state, scope=mscope, user=mayor) >= 1


def test_profile_meldingen_on_the_command_line(world):
    result = cli("profiles", "set", world["own"], "--melding-types", "N06", "1.4.2", "hic",
                 "--melding-delivery", "dagelijks", db=world["db"])
    assert result.returncode == 0, result.stderr
    profile = get_profile(world["state"], world["own"])
    assert profile.meldingen == {"types": ["1.4.2", "N06", "hic"], "delivery": "dagelijks"}
    shown = cli("profiles", "show", world["own"], db=world["db"])
    assert "1.4.5" in shown.stdout and "(dagelijks)" in shown.stdout
    bad = cli("profiles", "set", world["own"], "--melding-types", "X.Y", db=world["db"])
    assert bad.returncode == 1 and "unknown type or bundle" in bad.stderr
    assert get_profile(world["state"], world["own"]).meldingen == profile.meldingen
    back = cli("profiles", "set", world["own"], "--melding-types", "standaard",
               "--melding-delivery", "direct", db=world["db"])
    assert back.returncode == 0, back.stderr
    assert get_profile(world["state"], world["own"]).meldingen == {"delivery": "direct"}


@pytest.mark.browser
def test_own_choice_on_mijn_account_and_profile_on_beheer(world, page, browser):
    """A user narrows the meldingen on /mijn-account (stored, logged, applied); the beheerder
    sets the profile's types and delivery on /beheer."""
    from .conftest import pick

    state, store = world["state"], world["store"]
    server = LiveServer(world["db"], env={"DASHBOARD_MELDING_POLL_SECONDS": "1"})
    try:
        login(page, server, "adviseur")
        page.goto(server.url + "/mijn-account")
        expect(page.locator("#mijn-melding-profiel")).to_contain_text("N06", timeout=30_000)
        pick(page, "#mijn-melding-types", "1.6.1 Brand/ontploffing")
        page.locator("#mijn-melding-delivery").get_by_text("dagelijks overzicht").click()
        page.click("#mijn-melding-opslaan")
        expect(page.locator("#mijn-melding-bericht")).to_contain_text("opgeslagen",
                                                                      timeout=20_000)
        assert meldingen.get_preferences(state, "adviseur") == {"types": ["1.6.1"],
                                                                "delivery": "dagelijks"}
        page.goto(server.url + "/meldingen")
        expect(page.locator(".melding").first).to_be_visible(timeout=30_000)
        shown = {page.locator(".melding").nth(i).get_attribute("id")
                 for i in range(page.locator(".melding").count())}
        user, scope = _scope(state, store, "adviseur")
        expected = {f"melding-{i['id']}" for i in meldingen.list_meldingen(
            state, store.read(), scope=scope, user=user)}
        assert shown == expected
        assert f"melding-{_melding(world, 'R-MOORD-1')['id']}" not in shown  # narrowed away
        assert f"melding-{_melding(world, 'R-INVAL-1')['id']}" in shown  # raids always

        admin = browser.new_context()
        beheer = admin.new_page()
        login(beheer, server, "beheerder")
        beheer.goto(server.url + "/beheer")
        pick(beheer, "#profile-gemeente", f"{world['other']}", exact=False)
        expect(beheer.locator("#profile-melding-types")).to_contain_text("1.4.2",
                                                                         timeout=30_000)
        pick(beheer, "#profile-melding-types", "Geweld (bundel)")
        beheer.locator("#profile-melding-delivery").get_by_text("direct").click()
        beheer.click("#profile-save")
        expect(beheer.locator("#profile-message")).to_contain_text("opgeslagen", timeout=20_000)
        profile = get_profile(state, world["other"])
        assert "geweld" in profile.meldingen["types"] and profile.meldingen["delivery"] == "direct"
        admin.close()
    finally:
        server.stop()
        meldingen.set_preferences(state, "adviseur", {})
