"""Concept -> vastgesteld (#16 part 1): the police's commentary on a product.

A teamchef makes a gebiedsscan concept on /rapportages, writes a duiding and a beschouwing,
saves (append-only revisions, logged), previews and releases it; the mayor sees nothing of it
before (list, forged preview and save refused and logged) and the released product after, with
the commentary, its author and the release date in the PDF; a correction is the next version
whose first page names the change; ``reports run --due`` makes a concept, not a product, for a
kind the profile wants released. Real DuckDB (a demo copy), gunicorn, Chromium, pdftotext."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime

import pytest
from playwright.sync_api import expect

from data.accounts import get_profile, get_user, set_profile
from data.products import archive, concepts, schedule
from data.scope import Scope, resolve_scope
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, LiveServer, dash_callback, demo_copy, http_login, login, logout

OWN = "GMD001"  # Havenstad: the demo mayor's gemeente, in the demo teamchef's basisteam
DUIDING = "De daling van het aantal woninginbraken komt door de extra surveillance in Noord."
BESCHOUWING = "Het aantal winkeldiefstallen is hoger door een nieuwe aangifteprocedure."
REASON = "Het aantal inbraken in de haven was dubbel geteld."


@pytest.fixture(scope="module")
def folder(demo_db, tmp_path_factory):
    return demo_copy(demo_db, tmp_path_factory.mktemp("concepts")).parent


@pytest.fixture(scope="module")
def server(folder):
    live = LiveServer(folder / "demo.duckdb")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def state(folder, server):
    return StateDB(folder / "appstate.sqlite")


def pdf_text(data: bytes, tmp_path, first_page_only: bool = False) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(data)
    pages = ["-f", "1", "-l", "1"] if first_page_only else []
    text = subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    return " ".join(text.split())


def log_rows(state, view, since=0):
    return [dict(r) for r in state.query(
        "SELECT * FROM protocol_log WHERE view = ? AND id > ? ORDER BY id", (view, since))]


def last_id(state):
    return state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


def gebiedsscans(state, gm=OWN):
    return [p for p in archive.list_products(state, scope=Scope(frozenset({gm}), 1))
            if p.kind == "gebiedsscan"]


def test_an_older_state_database_gets_the_release_field(tmp_path):
    """A profiles table of the release before (no vaststellen column) is migrated: the
    profile reads as automatic and can be set to need a release."""
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE profiles (gm_code TEXT PRIMARY KEY, detail INTEGER NOT NULL,"
                " threshold INTEGER NOT NULL, driehoek TEXT NOT NULL, products TEXT NOT NULL,"
                " updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)")
    con.execute("INSERT INTO profiles VALUES ('GMD001', 2, 5, '[]', '{\"stuurgegevens\":"
                " \"maandelijks\"}', '2025-01-01', 'x')")
    con.commit()
    con.close()
    state = StateDB(path)
    old = get_profile(state, OWN)
    assert (old.detail, old.vaststellen) == (2, ())
    new = set_profile(state, OWN, by="test", vaststellen=["gebiedsscan"])
    assert get_profile(state, OWN).vaststellen == ("gebiedsscan",) == new.vaststellen
    assert get_profile(state, OWN).products == {"stuurgegevens": "maandelijks"}


@pytest.mark.browser
def test_teamchef_releases_a_gebiedsscan_the_mayor_sees_it_only_then(page, server, state,
                                                                     tmp_path):
    assert gebiedsscans(state) == []
    login(page, server, "teamchef")
    page.goto(server.url + "/rapportages")
    page.click("#concept-maak")  # gebiedsscan for Havenstad, the teamchef's only gemeente
    page.wait_for_url("**/rapportages?concept=*", timeout=60_000)
    concept_id = int(page.url.rsplit("=", 1)[1])
    concept = concepts.get_concept(state, concept_id)
    assert (concept.kind, concept.area_code, concept.open) == ("gebiedsscan", OWN, True)
    section = concept.sections.index("Meest voorkomende misdrijven")
    page.fill("#concept-duiding", "Eerste versie.")
    page.click("#concept-opslaan")
    expect(page.locator("#concept-revisie")).to_contain_text("revisie 1", timeout=20_000)
    page.fill("#concept-duiding", DUIDING)
    page.fill(f"""[id='{{"index":{section},"type":"concept-beschouwing"}}']""", BESCHOUWING)
    page.click("#concept-opslaan")
    expect(page.locator("#concept-revisie")).to_contain_text("revisie 2", timeout=20_000)
    revisions = concepts.revisions(state, concept_id)
    assert [r.revision for r in revisions] == [1, 2]  # every save a revision, both kept
    assert revisions[0].texts["duiding"]["text"] == "Eerste versie."
    assert revisions[1].texts["secties"]["Meest voorkomende misdrijven"]["text"] == BESCHOUWING
    saves = log_rows(state, "rapportages/concept/revisie")
    assert [(json.loads(r["filters"])["revisie"], r["user"]) for r in saves] == [
        (1, "teamchef"), (2, "teamchef")]
    with pytest.raises(sqlite3.DatabaseError):  # append-only
        with state.transaction() as tx:
            tx.execute("UPDATE concept_revisions SET texts = '{}'")

    # The preview: the HTML as the mayor will get it, scoped and logged.
    with page.expect_popup() as popup:
        page.click("#concept-voorbeeld")
    preview = popup.value
    expect(preview.locator("h2").first).to_have_text("Duiding van de politie", timeout=60_000)
    expect(preview.locator("body")).to_contain_text(BESCHOUWING)
    preview.close()
    assert log_rows(state, "rapportages/concept/voorbeeld")[-1]["outcome"] == "ok"

    # The mayor before the release: nothing in the list, a forged preview or save refused.
    mayor = http_login(server, "burgemeester")
    before = last_id(state)
    listed = dash_callback(mayor, server, "rapportages-lijst.children",
                           {"rapportages-signal.data": 0})
    assert listed.status_code == 200 and "gebiedsscan" not in listed.text
    forged = mayor.get(f"{server.url}/rapportages/concept/{concept_id}.html")
    assert forged.status_code == 403 and DUIDING not in forged.text
    saved = dash_callback(mayor, server, "concept-melding.children", {
        "concept-opslaan.n_clicks": 1, "concept-id.data": concept_id,
        "concept-duiding.value": "vervalst"}, trigger="concept-opslaan.n_clicks")
    assert saved.status_code == 200 and "geen toegang" in saved.text
    assert len(concepts.revisions(state, concept_id)) == 2
    refused = [r for r in state.query("SELECT * FROM protocol_log WHERE id > ? AND"
                                      " outcome = 'refused'", (before,))]
    assert {(r["user"], r["view"]) for r in refused} == {
        ("burgemeester", "rapportages/concept/voorbeeld"),
        ("burgemeester", "rapportages/concept/opslaan")}
    assert gebiedsscans(state) == []

    # Vaststellen.
    page.click("#concept-vaststellen")
    expect(page.locator("#concept-vastgesteld")).to_be_visible(timeout=120_000)
    released = concepts.get_concept(state, concept_id)
    assert not released.open
    [product] = gebiedsscans(state)
    assert (product.id, product.version) == (released.released_product, 1)
    row = log_rows(state, "rapportages/vaststellen")[-1]
    assert (row["user"], json.loads(row["filters"])["product"]) == ("teamchef", product.id)
    text = pdf_text(archive.read_bytes(product, "pdf"), tmp_path)
    today = date.today().strftime("%d-%m-%Y")
    assert "Duiding van de politie" in text and DUIDING in text and BESCHOUWING in text
    assert f"— teamchef, teamchef, vastgesteld {today}" in text
    assert text.index("Duiding van de politie") < text.index("Kerncijfers")
    assert text.index("Meest voorkomende misdrijven") < text.index(BESCHOUWING)
    v1 = archive.read_bytes(product, "pdf")

    # The mayor after the release: the product, marked Nieuw, the same bytes.
    logout(page, server)
    login(page, server, "burgemeester")
    page.goto(server.url + "/rapportages")
    row = page.locator(f"#product-{product.id}")
    expect(row).to_be_visible(timeout=20_000)
    expect(row.locator(".product-nieuw")).to_have_count(1)
    expect(page.locator("#concept-maak")).to_have_count(0)  # no concepts for a mayor
    assert mayor.get(f"{server.url}/rapportages/{product.id}.pdf").content == v1

    # A correction: a new concept from the released one, commentary copied; a new version.
    logout(page, server)
    login(page, server, "teamchef")
    page.goto(server.url + "/rapportages")
    page.click(f"#product-{product.id}-correctie")
    page.wait_for_url(f"**/rapportages?correctie={product.id}")
    page.fill("#correctie-reden", REASON)
    page.click("#correctie-start")
    page.wait_for_url("**/rapportages?concept=*", timeout=60_000)
    correction = int(page.url.rsplit("=", 1)[1])
    assert correction != concept_id
    expect(page.locator("#concept-duiding")).to_have_value(DUIDING)
    page.click("#concept-vaststellen")
    expect(page.locator("#concept-vastgesteld")).to_be_visible(timeout=120_000)
    second = next(p for p in gebiedsscans(state) if p.id != product.id)
    assert second.version == 2 and second.period_key == product.period_key
    first_page = pdf_text(archive.read_bytes(second, "pdf"), tmp_path, first_page_only=True)
    assert f"Correctie op versie 1: {REASON}" in first_page
    assert DUIDING in pdf_text(archive.read_bytes(second, "pdf"), tmp_path)
    assert archive.read_bytes(product, "pdf") == v1  # the first version stays frozen


def test_reports_run_due_makes_a_concept_when_the_profile_wants_a_release(folder, tmp_path,
                                                                           server):
    state_path = tmp_path / "schedule.sqlite"
    state = StateDB(state_path)
    set_profile(state, OWN, by="test", products={"gebiedsscan": "jaarlijks"},
                vaststellen=["gebiedsscan"])
    for code in ("GMD002", "GMD003", "GMD004"):
        set_profile(state, code, by="test", products={})
    env = {**os.environ, "DASHBOARD_STATE_DB": str(state_path),
           "DASHBOARD_PRODUCTS_DIR": str(tmp_path / "out")}

    def run():
        done = subprocess.run([sys.executable, "-m", "dashboard", "--db",
                               str(folder / "demo.duckdb"), "reports", "run", "--due", "--json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = run()
    assert first["produced"] == [] and first["failed"] == []
    assert [(c["kind"], c["area"]) for c in first["concepts"]] == [("gebiedsscan", OWN)]
    assert run()["concepts"] == []  # once
    assert state.query("SELECT count(*) FROM products")[0][0] == 0
    [concept] = concepts.all_concepts(state)
    assert concept.scheduled and concept.created_by == schedule.SCHEDULER
    assert concept.period_key == str(datetime.now().year - 1)
    # It is there for the gemeente's teamchef, and for no mayor.
    con = Store(folder / "demo.duckdb").read()
    server_state = StateDB(folder / "appstate.sqlite")  # the demo accounts
    for name, sees in (("teamchef", True), ("burgemeester", False)):
        user = get_user(server_state, name)
        scope = resolve_scope(user, con=con, profile_for=lambda c: get_profile(state, c))
        assert bool(concepts.list_concepts(state, user=user, scope=scope)) is sees, name
    rows = state.query("SELECT user FROM protocol_log WHERE view = 'rapportages/concept/nieuw'")
    assert [r["user"] for r in rows] == [schedule.SCHEDULER]
