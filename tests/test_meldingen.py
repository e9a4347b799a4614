"""Meldingen (alerts) on large-impact incidents and raids: created by a real incident import into a
copy of the demo database, read through the scoped functions, mailed to a real SMTP sink
(aiosmtpd on 127.0.0.1) and shown in the header of a real gunicorn server in Chromium."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from dashboard.config import Settings
from data import meldingen
from data.accounts import (ensure_demo_accounts, get_profile, get_user, set_email, set_profile,
                           add_user)
from data.scope import DENY, OutOfScope, resolve_scope
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, LiveServer, free_port, login

LOCAL = ZoneInfo("Europe/Amsterdam")
HEADER = ("id;registered_at;occurred_at;type_code;high_impact;lon;lat;street;house_number;mo;"
          "summary\n")


class Sink:
    """An SMTP server on 127.0.0.1 that keeps every message it receives."""

    def __init__(self):
        self.messages = []

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = message_from_bytes(envelope.content, policy=default_policy)
                sink.messages.append((list(envelope.rcpt_tos), msg["Subject"],
                                      msg.get_body(("plain",)).get_content()))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address):
        return [m for m in self.messages if address in m[0]]

    def stop(self):
        self.controller.stop()


def cli(*args, db: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    import os
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def _now(**delta) -> str:
    return (datetime.now(LOCAL).replace(tzinfo=None) + timedelta(**delta)).strftime(
        "%Y-%m-%dT%H:%M:%S")


def _location(store: Store, gm_code: str) -> tuple[float, float]:
    """Coordinates of a demo incident placed in a buurt of ``gm_code``."""
    return store.read().execute(
        "SELECT lon, lat FROM incidents WHERE gm_code = ? AND bu_code IS NOT NULL"
        " AND lon IS NOT NULL ORDER BY id LIMIT 1", [gm_code]).fetchall()[0]


def _row(incident_id, type_code, where, *, hours_ago=1, street="", mo="", summary=""):
    lon, lat = where
    return (f"{incident_id};{_now(hours=-hours_ago)};{_now(hours=-hours_ago - 2)};{type_code};;"
            f"{lon};{lat};{street};{'12' if street else ''};{mo};{summary}\n")


@pytest.fixture(scope="module")
def world(demo_db, tmp_path_factory):
    """A copy of the demo database with its own state: mayors with e-mail, the second mayor's
    gemeente at detail level 3, and an import of one high-impact incident (own gemeente of
    'burgemeester'), one raid (gemeente of 'burgemeester2'), one old high-impact incident and one
    ordinary incident, all through the CLI with a live SMTP sink."""
    folder = tmp_path_factory.mktemp("meldingen")
    db = folder / "meldingen.duckdb"
    shutil.copyfile(Store(demo_db).current_file(), db)
    store = Store(db)
    state = StateDB(folder / "appstate.sqlite")
    ensure_demo_accounts(state, store.read())
    own = get_user(state, "burgemeester").gemeenten[0]
    other = get_user(state, "burgemeester2").gemeenten[0]
    assert own != other
    set_profile(state, other, by="test", detail=3)
    for name in ("burgemeester", "burgemeester2", "analist"):
        set_email(state, name, f"{name}@example.org")
    sink = Sink()
    env = {"DASHBOARD_SMTP_HOST": "127.0.0.1", "DASHBOARD_SMTP_PORT": str(sink.port),
           "DASHBOARD_SMTP_FROM": "veiligheidsbeeld@example.org"}
    csv = folder / "nieuw.csv"
    csv.write_text(HEADER
                   + _row("T-HIC-1", "1.4.2", _location(store, own), street="Hoogstraat",
                          mo="MOTEKST-geweld", summary="SAMENVATTING-hic")
                   + _row("T-INVAL-1", "N06", _location(store, other), street="Invalweg",
                          mo="MOTEKST-inval", summary="SAMENVATTING-inval")
                   + _row("T-OUD-1", "1.4.5", _location(store, own), hours_ago=24 * 30)
                   + _row("T-FIETS-1", "1.2.3", _location(store, own)), encoding="utf-8")
    result = cli("import", "incidents", csv, "--json", db=db, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 4
    yield dict(db=db, store=store, state=state, own=own, other=other, sink=sink, env=env,
               folder=folder, import_stderr=result.stderr)
    sink.stop()


def _scope(world, name):
    user = get_user(world["state"], name)
    return user, resolve_scope(user, con=world["store"].read(),
                               profile_for=lambda c: get_profile(world["state"], c))


def test_import_creates_one_melding_per_high_impact_or_raid_incident(world):
    rows = world["state"].query("SELECT incident_id, gm_code, kind FROM meldingen ORDER BY 1")
    assert [tuple(r) for r in rows] == [("T-HIC-1", world["own"], "high_impact"),
                                        ("T-INVAL-1", world["other"], "inval")]
    assert "meldingen 2" in world["import_stderr"]


def test_scoped_reads_follow_gemeente_and_detail_level(world):
    state, con = world["state"], world["store"].read()
    user, scope = _scope(world, "burgemeester")  # detail 1 (default profile)
    items = [i for i in meldingen.list_meldingen(state, con, scope=scope, user=user)
             if i["id"] in _ids(world, "T-HIC-1", "T-INVAL-1")]
    assert [i["gm_code"] for i in items] == [world["own"]]
    assert items[0]["kind"] == "high_impact" and items[0]["type_code"] == "1.4.2"
    assert not {"street", "house_number", "mo", "summary", "wijk", "buurt",
                "incident_id"} & set(items[0])
    user2, scope2 = _scope(world, "burgemeester2")  # detail 3
    items2 = [i for i in meldingen.list_meldingen(state, con, scope=scope2, user=user2)
              if i["id"] in _ids(world, "T-HIC-1", "T-INVAL-1")]
    assert [i["kind"] for i in items2] == ["inval"]
    assert items2[0]["street"] == "Invalweg" and items2[0]["mo"] == "MOTEKST-inval"
    assert items2[0]["buurt"] and items2[0]["wijk"]
    beheerder = get_user(state, "beheerder")
    assert meldingen.list_meldingen(state, con, scope=DENY, user=beheerder) == []
    assert meldingen.unread(state, scope=DENY, user=beheerder) == []
    # Acknowledging refuses another gemeente's melding, and only marks it for this user.
    (inval_id,) = _ids(world, "T-INVAL-1")
    with pytest.raises(OutOfScope):
        meldingen.acknowledge(state, scope=scope, user=user, ids=[inval_id])
    assert meldingen.acknowledge(state, scope=scope2, user=user2, ids=[inval_id]) == 1
    assert inval_id not in meldingen.unread(state, scope=scope2, user=user2)
    analist, ascope = _scope(world, "analist")
    assert inval_id in meldingen.unread(state, scope=ascope, user=analist)
    state.connection().execute("DELETE FROM melding_acks WHERE user = 'burgemeester2'")


def _ids(world, *incident_ids):
    rows = world["state"].query("SELECT id FROM meldingen WHERE incident_id IN (%s) ORDER BY"
                                " incident_id" % ",".join("?" * len(incident_ids)), incident_ids)
    return [r[0] for r in rows]


def test_mails_reach_exactly_the_right_people_at_their_detail_level(world):
    sink = world["sink"]
    mine = sink.to("burgemeester@example.org")
    assert len(mine) == 1
    _to, subject, body = mine[0]
    assert "Grote impact" in subject
    for secret in ("Hoogstraat", "MOTEKST", "SAMENVATTING", "Invalweg", "T-HIC-1"):
        assert secret not in body  # level 1: no address, no text, no registration number
    assert "Pleegdatum" in body
    theirs = sink.to("burgemeester2@example.org")
    assert len(theirs) == 1 and "Inval/doorzoeking" in theirs[0][1]
    assert "Invalweg 12" in theirs[0][2] and "MOTEKST-inval" in theirs[0][2]
    assert "Hoogstraat" not in theirs[0][2]
    analist = sink.to("analist@example.org")
    assert len(analist) == 2  # detail 3 in both gemeenten
    assert sum("Hoogstraat 12" in m[2] for m in analist) == 1
    assert sum("Invalweg 12" in m[2] for m in analist) == 1
    # every mail was logged before it left, and recorded so that it is never sent again
    log = sqlite3.connect(world["folder"] / "appstate.sqlite")
    logged = log.execute("SELECT count(*) FROM protocol_log WHERE view = 'meldingen/mail'"
                         ).fetchall()[0][0]
    sent = log.execute("SELECT count(*) FROM melding_mails WHERE outcome = 'sent'").fetchall()[0][0]
    log.close()
    assert logged == sent == len(sink.messages)


def test_a_failed_mail_is_recorded_and_retried_never_raises(world):
    state, store = world["state"], world["store"]
    add_user(state, "wethouder", "adviseur", "een-lang-wachtwoord", gemeenten=[world["own"]],
             email="wethouder@example.org")
    dead = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_from="vb@example.org")
    result = meldingen.send_mails(state, store.read(), dead, days=7, demo=True)
    assert result.sent == 0 and result.failed >= 1
    live = Settings(smtp_host="127.0.0.1", smtp_port=world["sink"].port,
                    smtp_from="vb@example.org")
    retried = meldingen.send_mails(state, store.read(), live, days=7, demo=True)
    assert retried.sent == result.failed and retried.failed == 0
    assert meldingen.send_mails(state, store.read(), live, days=7, demo=True).sent == 0
    assert len(world["sink"].to("wethouder@example.org")) == retried.sent


@pytest.mark.browser
def test_badge_and_page_in_the_browser(world, page, browser):
    db, state = world["db"], world["state"]
    server = LiveServer(db, env={"DASHBOARD_MELDING_POLL_SECONDS": "1"})
    try:
        own_unread = len(meldingen.unread(state, scope=_scope(world, "burgemeester")[1],
                                          user="burgemeester"))
        login(page, server, "burgemeester")
        expect(page.locator("#melding-count")).to_have_text(str(own_unread), timeout=20_000)
        page.click("#melding-bell-link")
        expect(page).to_have_url(server.url + "/meldingen")
        cards = page.locator(".melding")
        expect(cards).to_have_count(own_unread, timeout=20_000)
        hic = page.locator(f"#melding-{_ids(world, 'T-HIC-1')[0]}")
        expect(hic).to_contain_text("Grote impact")
        expect(page.locator("#page")).not_to_contain_text("Hoogstraat")  # detail level 1
        assert page.locator(f"#melding-{_ids(world, 'T-INVAL-1')[0]}").count() == 0

        # The other mayor sees the raid in their gemeente, never the first mayor's melding.
        other = browser.new_context()
        page2 = other.new_page()
        login(page2, server, "burgemeester2")
        page2.goto(server.url + "/meldingen")
        raid = page2.locator(f"#melding-{_ids(world, 'T-INVAL-1')[0]}")
        expect(raid).to_contain_text("Invalweg", timeout=20_000)  # detail level 3
        expect(page2.locator("#melding-count")).to_have_text(re.compile(r"\d+"))
        assert page2.locator(f"#melding-{_ids(world, 'T-HIC-1')[0]}").count() == 0
        for i in range(page2.locator(".melding").count()):
            assert page2.locator(".melding").nth(i).get_attribute("data-gm") == world["other"]
        other.close()

        # Acknowledging updates the badge and greys the melding.
        hic.locator(".melding-gezien-knop").click()
        expect(hic).to_have_class(re.compile("melding-gezien"), timeout=20_000)
        if own_unread == 1:
            expect(page.locator("#melding-count")).to_have_count(0, timeout=20_000)
        else:
            expect(page.locator("#melding-count")).to_have_text(str(own_unread - 1),
                                                                 timeout=20_000)
        page.click("#meldingen-alles-gezien")
        expect(page.locator("#melding-count")).to_have_count(0, timeout=20_000)

        # A melding created while the page is open appears without a reload.
        page.evaluate("window.__nietHerladen = true")
        csv = world["folder"] / "later.csv"
        csv.write_text(HEADER + _row("T-HIC-2", "1.6.1", _location(world["store"], world["own"])),
                       encoding="utf-8")
        result = cli("import", "incidents", csv, "--json", db=db)
        assert result.returncode == 0, result.stderr
        expect(page.locator("#melding-count")).to_have_text("1", timeout=30_000)
        expect(page.locator(f"#melding-{_ids(world, 'T-HIC-2')[0]}")).to_be_visible(
            timeout=20_000)
        assert page.evaluate("window.__nietHerladen") is True
    finally:
        server.stop()
    # Polling did not flood the protocol log: badge rows only when the answer changed.
    log = sqlite3.connect(world["folder"] / "appstate.sqlite")
    badge_rows = log.execute("SELECT count(*) FROM protocol_log WHERE view = 'meldingen/badge'"
                             " AND user = 'burgemeester'").fetchall()[0][0]
    log.close()
    assert 1 <= badge_rows <= 8


def test_scan_is_idempotent(world):
    """Runs last: a scan over the whole window also picks up the demo's own recent incidents."""
    first = cli("meldingen", "scan", "--json", db=world["db"], env=world["env"])
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["mails_failed"] == 0
    ids = [r[0] for r in world["state"].query("SELECT incident_id FROM meldingen")]
    assert len(ids) == len(set(ids))
    assert {"T-HIC-1", "T-INVAL-1"} <= set(ids)
    assert "T-OUD-1" not in ids and "T-FIETS-1" not in ids
    sent = len(world["sink"].messages)
    again = cli("meldingen", "scan", "--json", db=world["db"], env=world["env"])
    assert json.loads(again.stdout) == {"meldingen": 0, "mails_sent": 0, "mails_failed": 0}
    assert len(world["sink"].messages) == sent
