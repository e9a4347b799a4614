"""Themed reports (issue #16 part 2): a template saved in the agreement profile with the real
CLI, made by `reports run --due` (a real subprocess, real Chromium), read back with pdftotext
and checked against direct counts on the incidents; the disclosure model below the gemeente;
refusal of a template for a gemeente outside the author's scope; "geen gegevens", never 0.

Real DuckDB (a copy of the demo database) and a real state database; no mocks."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date

import pytest

from data.accounts import add_user, get_profile, set_profile
from data.catalog import indicator_types
from data.periods import add_months
from data.products import build
from data.products.templates import Template, period_of
from data.scope import Scope
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, demo_copy

OWN = "GMD001"
OTHERS = ("GMD002", "GMD003", "GMD004")
SECTIONS = "kerncijfers,trend,wijken,kaart,dag-uur,incidenten,politieprestaties,beschouwing"


@pytest.fixture(scope="module")
def folder(demo_db, tmp_path_factory):
    return demo_copy(demo_db, tmp_path_factory.mktemp("thema")).parent


@pytest.fixture(scope="module")
def con(folder):
    return Store(folder / "demo.duckdb").read()


@pytest.fixture(scope="module")
def newest(con) -> date:
    return con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0]


@pytest.fixture(scope="module")
def state(folder):
    state = StateDB(folder / "appstate.sqlite")
    for code in (OWN, *OTHERS):  # only the templates are due, not the default products
        set_profile(state, code, by="test", products={})
    return state


def cli(folder, *args, check=False):
    env = {**os.environ, "DASHBOARD_STATE_DB": str(folder / "appstate.sqlite"),
           "DASHBOARD_PRODUCTS_DIR": str(folder / "products")}
    done = subprocess.run([sys.executable, "-m", "dashboard", "--db", str(folder / "demo.duckdb"),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def dutch(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def direct_count(con, gm, types, start, end, peildatum) -> int:
    """Registrations of ``types`` occurred in [start, end) and registered up to and including
    the peildatum, straight from the incidents."""
    return con.execute(
        "SELECT count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ?"
        " AND occurred_date < ? AND registered_at < ?::DATE + INTERVAL 1 DAY"
        " AND type_code IN (SELECT unnest(?::VARCHAR[]))",
        [gm, start, end, peildatum, list(types)]).fetchall()[0][0]


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")


def test_template_made_by_reports_run_due(folder, state, con, newest):
    before = state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
    cli(folder, "reports", "template", "add", "--gemeente", OWN, "--name", "inbraak-geweld",
        "--soort", "fenomeen", "--theme", "woninginbraak,geweld,overlast",
        "--sections", SECTIONS, "--period", "kwartaal", "--every", "maandelijks", check=True)
    saved = get_profile(state, OWN).templates
    assert [t["name"] for t in saved] == ["inbraak-geweld"]
    logged = state.query("SELECT filters FROM protocol_log WHERE id > ? AND view = ?",
                         (before, "beheer/profiel"))
    assert len(logged) == 1 and "inbraak-geweld" in logged[0]["filters"]

    now = f"{newest.isoformat()}T10:00"
    run = cli(folder, "reports", "run", "--due", "--now", now, "--json", check=True)
    summary = json.loads(run.stdout)
    assert [(p["kind"], p["area"]) for p in summary["produced"]] == [("thema", OWN)]
    peildatum = date(newest.year, newest.month, 1)  # maandelijks: the month before ends here
    assert summary["produced"][0]["period"] == (
        f"{add_months(peildatum, -1):%Y-%m}-inbraak-geweld")
    row = state.query("SELECT folder, files FROM products WHERE kind = 'thema'")[0]
    text = pdf_text(f"{row['folder']}/{json.loads(row['files'])['pdf']['name']}")

    # the chosen sections, in the chosen order
    headings = ["Kerncijfers", "Verloop per maand", "Per wijk", "Kaart", "Dag en uur",
                "Incidenten", "Politieprestaties", "Beschouwing"]
    found = [re.search(rf"^{h}$", text, re.M) for h in headings]
    assert all(found), [h for h, m in zip(headings, found) if not m]
    assert [m.start() for m in found] == sorted(m.start() for m in found)
    assert "Fenomeenrapportage" in text

    # the theme's numbers equal a direct count, for the period and a year before
    quarter_end = date(peildatum.year, (peildatum.month - 1) // 3 * 3 + 1, 1)
    start = add_months(quarter_end, -3)
    for code, title in (("woninginbraak", "Woninginbraak"), ("geweld", "Geweld")):
        types = indicator_types(con, code)
        now_n = direct_count(con, OWN, types, start, quarter_end, peildatum)
        before_n = direct_count(con, OWN, types, add_months(start, -12),
                                add_months(quarter_end, -12), peildatum)
        assert now_n > 0
        assert re.search(rf"{title}: {re.escape(dutch(now_n))}[,.]", text), (title, now_n)
        assert re.search(rf"^ {title}\s+{re.escape(dutch(now_n))}\s+{re.escape(dutch(before_n))}"
                         rf"\s", text, re.M), (title, now_n, before_n)

    # detail 1 below the gemeente: overlast (not a crime) is left out per wijk, with the note
    wijk_part = text[found[2].start():found[3].start()]
    assert "Niet per wijk (niet openbaar): Overlast (niet-misdrijf)" in wijk_part
    assert not re.search(r"Wijkcode.*Overlast", wijk_part)
    map_part = " ".join(text[found[3].start():found[4].start()].split())
    assert "Niet per buurt (niet openbaar): Overlast (niet-misdrijf)" in map_part
    assert "Woninginbraak per 1.000 inwoners per buurt" in map_part
    # detail 1: no day x hour, no incident list; no CBS clearance in the demo: geen gegevens
    assert "vanaf\ndetailniveau 2" in text or "vanaf detailniveau 2" in text
    perf = text[found[6].start():found[7].start()]
    assert "geen gegevens" in perf and not re.search(r"\b0\b", perf)

    # idempotent: nothing is due the second time
    again = json.loads(cli(folder, "reports", "run", "--due", "--now", now, "--json",
                           check=True).stdout)
    assert again["produced"] == [] and again["failed"] == []


def test_template_for_another_gemeente_is_refused(folder, state):
    add_user(state, "chef-havenstad", "teamchef", "wachtwoord-1", gemeenten=(OWN,))
    add_user(state, "burg-havenstad", "burgemeester", "wachtwoord-1", gemeenten=(OWN,))
    args = ["reports", "template", "add", "--name", "geweld", "--theme", "geweld",
            "--sections", "kerncijfers", "--period", "maand", "--every", "maandelijks"]
    refused = cli(folder, *args, "--gemeente", OTHERS[0], "--as", "chef-havenstad")
    assert refused.returncode == 3 and "refused" in refused.stderr
    assert get_profile(state, OTHERS[0]).templates == ()
    rows = state.query("SELECT user, outcome FROM protocol_log WHERE view = 'beheer/sjabloon'")
    assert [(r["user"], r["outcome"]) for r in rows] == [("chef-havenstad", "refused")]
    mayor = cli(folder, *args, "--gemeente", OWN, "--as", "burg-havenstad")
    assert mayor.returncode == 3
    assert not any(t["name"] == "geweld" for t in get_profile(state, OWN).templates)
    cli(folder, *args, "--gemeente", OWN, "--as", "chef-havenstad", check=True)
    assert any(t["name"] == "geweld" for t in get_profile(state, OWN).templates)
    listed = cli(folder, "reports", "template", "list", "--gemeente", OWN, check=True).stdout
    assert "\tgeweld\t" in listed
    cli(folder, "reports", "template", "remove", "--gemeente", OWN, "--name", "geweld",
        "--as", "chef-havenstad", check=True)
    assert not any(t["name"] == "geweld" for t in get_profile(state, OWN).templates)


@pytest.mark.parametrize("change,message", [
    (("--theme", "woninginbraak,geen-bundel"), "unknown theme code 'geen-bundel'"),
    (("--sections", "kerncijfers,horoscoop"), "unknown section 'horoscoop'"),
    (("--name", "Met Spaties"), "template name"),
])
def test_invalid_templates_are_refused(folder, state, change, message):
    args = {"--gemeente": OWN, "--name": "fout", "--theme": "geweld", "--sections": "trend",
            "--period": "maand", "--every": "maandelijks"}
    args[change[0]] = change[1]
    done = cli(folder, "reports", "template", "add", *[x for kv in args.items() for x in kv])
    assert done.returncode == 1 and message in done.stderr
    assert not any(t["name"] in ("fout", "Met Spaties") for t in get_profile(state, OWN).templates)


def test_detail_2_lists_the_themes_incidents_and_no_data_is_geen_gegevens(con, newest):
    template = Template("t", "burgemeester", ("woninginbraak", "N01"), "maand",
                        ("kerncijfers", "wijken", "kaart", "dag-uur", "incidenten"),
                        "maandelijks")
    reference = date(newest.year, newest.month, 1)
    period = period_of("maand", reference)
    content = build(con, scope=Scope(frozenset({OWN}), 2), kind="thema", area=OWN,
                    reference=reference, template=template)
    sections = {s.title: s for s in content.sections}
    assert list(sections) == ["Kerncijfers", "Per wijk", "Kaart", "Dag en uur", "Incidenten"]
    assert [f.title for f in sections["Kaart"].figures] == [  # detail 2: N01 per buurt too
        "Woninginbraak per 1.000 inwoners per buurt", "Overlast jeugd per 1.000 inwoners per buurt"]
    types = sorted({*indicator_types(con, "woninginbraak"), *indicator_types(con, "N01")})
    expected = direct_count(con, OWN, types, period.start, period.end, reference)
    listed = sections["Incidenten"].tables[0].rows
    assert 0 < expected == len(listed)
    assert "Straat" not in sections["Incidenten"].tables[0].header  # detail 3 only
    assert sections["Dag en uur"].figures  # detail 2: the heatmap
    # detail 2 sees overlast jeugd (N01) per wijk, summing to the gemeente's count
    wijk = sections["Per wijk"].tables[0]
    column = wijk.header.index("Overlast jeugd")
    in_wijken = con.execute(
        "SELECT count(*) FROM incidents WHERE gm_code = ? AND type_code = 'N01' AND"
        " wk_code IS NOT NULL AND occurred_date >= ? AND occurred_date < ?"
        " AND registered_at < ?::DATE + INTERVAL 1 DAY",
        [OWN, period.start, period.end, reference]).fetchall()[0][0]
    assert sum(r[column] for r in wijk.rows) == in_wijken > 0

    # a month before any registration: "geen gegevens" in every figure, never 0
    first = con.execute("SELECT min(occurred_date) FROM incidents").fetchall()[0][0]
    early = build(con, scope=Scope(frozenset({OWN}), 1), kind="thema", area=OWN,
                  reference=add_months(date(first.year, first.month, 1), -6), template=template)
    key = early.sections[0]
    assert key.tables[0].rows and all(r[1] == "geen gegevens" for r in key.tables[0].rows)
    assert all("geen gegevens" in p for p in key.paragraphs[1:])
    wijken = early.sections[1].tables[0].rows
    assert wijken and all(r[2] == "geen gegevens" for r in wijken)
    assert not early.sections[2].figures  # no map of empty buurten
    assert "Woninginbraak per buurt: geen gegevens" in early.sections[2].paragraphs[0]


def test_old_state_database_gets_the_templates_column(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE profiles (gm_code TEXT PRIMARY KEY, detail INTEGER NOT NULL,"
                " threshold INTEGER NOT NULL, driehoek TEXT NOT NULL, products TEXT NOT NULL,"
                " updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)")
    old.execute("INSERT INTO profiles VALUES ('GMD001', 2, 5, '[]', '{}', 'x', 'y')")
    old.commit()
    old.close()
    state = StateDB(path)
    profile = get_profile(state, "GMD001")
    assert profile.detail == 2 and profile.templates == ()


def test_rapportages_form_saves_a_template_and_refuses_forged_requests(folder, state):
    """The "Themarapportage" card's callback as the browser posts it: the demo teamchef saves a
    template for Havenstad; a forged request for another gemeente, and one from the mayor, are
    refused with a protocol-log row and change no profile."""
    from .conftest import LiveServer, dash_callback, http_login

    server = LiveServer(folder / "demo.duckdb")
    try:
        def post(session, gemeente, name):
            return dash_callback(session, server, "sjabloon-melding.children", {
                "sjabloon-opslaan.n_clicks": 1, "sjabloon-gemeente.value": gemeente,
                "sjabloon-naam.value": name, "sjabloon-soort.value": "burgemeester",
                "sjabloon-thema.value": ["woninginbraak", "N01"],
                "sjabloon-secties.value": ["kerncijfers", "wijken"],
                "sjabloon-periode.value": "maand", "sjabloon-frequentie.value": "maandelijks",
            }, trigger="sjabloon-opslaan.n_clicks")

        def rapportages_page(session):  # the router (a single output, not a data view)
            return session.post(server.url + "/_dash-update-component", json={
                "output": "page.children", "outputs": {"id": "page", "property": "children"},
                "inputs": [{"id": "url", "property": "pathname", "value": "/rapportages"}],
                "state": [{"id": "url", "property": "search", "value": ""}],
                "changedPropIds": ["url.pathname"]}).text

        chef = http_login(server, "teamchef")
        card = rapportages_page(chef)
        assert "Themarapportage" in card and "sjabloon-opslaan" in card
        assert '"GMD002"' not in card.split("sjabloon-gemeente", 1)[1].split("sjabloon-naam")[0]
        assert "Themarapportage" not in rapportages_page(http_login(server, "burgemeester"))
        saved = post(chef, OWN, "via-formulier")
        assert saved.status_code == 200 and "sjabloon-opgeslagen" in saved.text
        mine = [t for t in get_profile(state, OWN).templates if t["name"] == "via-formulier"]
        assert mine and mine[0]["theme"] == ["woninginbraak", "N01"]

        before = state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
        forged = post(chef, OTHERS[0], "vervalst")
        assert forged.status_code == 200 and "refusal" in forged.text
        mayor = post(http_login(server, "burgemeester"), OWN, "van-de-burgemeester")
        assert mayor.status_code == 200 and "refusal" in mayor.text
        assert get_profile(state, OTHERS[0]).templates == ()
        assert not any(t["name"] == "van-de-burgemeester"
                       for t in get_profile(state, OWN).templates)
        refused = state.query("SELECT user, view FROM protocol_log WHERE id > ? AND"
                              " outcome = 'refused'", (before,))
        assert {(r["user"], r["view"]) for r in refused} >= {
            ("teamchef", "rapportages/sjabloon"), ("burgemeester", "rapportages/sjabloon")}
    finally:
        server.stop()
