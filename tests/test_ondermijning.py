"""The integraal ondermijningsbeeld (issue #17 item 2): the indicators, the page /ondermijning
for a detail-1 mayor and a detail-3 teamchef in real Chromium, the teamchef's duiding reaching
the mayor, the product ``ondermijningsbeeld`` made with the real CLI for both detail levels
(figures recomputed straight from the incidents), and attacks: another gemeente by URL and by
forged callback, the incident list and the duiding by forged callbacks of a mayor — each
refused (or empty) and logged.

Real DuckDB (a copy of the demo database), real state database, real gunicorn; no mocks."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from data.catalog import GROUPS, ONDERMIJNING, crime_types, ondermijning_codes
from data.periods import Period, add_months
from data.queries import ondermijning as q
from data.scope import OutOfScope, Scope
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, LiveServer, dash_callback, demo_copy, http_login, login, state_rows

OWN, OTHER = "GMD001", "GMD002"
TIMEOUT = 90_000


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    db = demo_copy(demo_db, tmp_path_factory.mktemp("ondermijning"))
    live = LiveServer(db)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def con(server):
    return Store(server.db).read()


@pytest.fixture(scope="module")
def period(con) -> Period:
    """The last 12 complete months the page shows."""
    end = q.picture(con, scope=Scope(frozenset({OWN}), 1), gemeente=OWN).end
    return Period(add_months(end, -12), end)


def direct(con, types, start, end, gm=OWN, wijk=None, registered_before=None) -> int:
    """Registrations of ``types`` that occurred in [start, end), straight from the incidents."""
    sql = ("SELECT count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ?"
           " AND occurred_date < ? AND type_code IN (SELECT unnest(?::VARCHAR[]))")
    params = [gm, start, end, list(types)]
    if wijk:
        sql += " AND wk_code = ?"
        params.append(wijk)
    if registered_before:
        sql += " AND registered_at < ?"
        params.append(registered_before)
    return con.execute(sql, params).fetchall()[0][0]


def dutch(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# -- the indicators ------------------------------------------------------------------------------

def test_one_definition_of_the_indicators():
    known = {t.code for t in crime_types()}
    bundle = set(GROUPS["ondermijning"][1])
    assert bundle == {c for i in ONDERMIJNING if i.in_bundle for c in i.codes}
    assert bundle == {"1.6.3", "3.1.1", "3.1.2", "3.1.3"}  # the overview's bundle is unchanged
    for ind in ONDERMIJNING:
        assert ind.label and ind.measures
        assert set(ind.codes) <= known, ind.key
        assert ind.codes or ind.no_data, f"{ind.key}: no codes and no reason"
    keys = {i.key for i in ONDERMIJNING}
    assert {"drugs", "mensenhandel", "wapens", "explosies", "invallen", "witwassen",
            "drugslabs"} <= keys
    assert next(i for i in ONDERMIJNING if i.key == "invallen").codes == ("N06",)


def test_picture_equals_the_incidents_and_no_data_is_not_zero(con, period):
    picture = q.picture(con, scope=Scope(frozenset({OWN}), 1), gemeente=OWN)
    assert (picture.start, picture.end) == (period.start, period.end)
    for f in picture.figures:
        if not f.indicator.codes:
            assert f.current is None and f.previous is None
            assert f.reason.startswith("geen gegevens: ") and f.indicator.no_data in f.reason
            assert all(c is None for c in f.counts)
            continue
        assert f.current == direct(con, f.indicator.codes, period.start, period.end)
        assert f.previous == direct(con, f.indicator.codes, add_months(period.start, -12),
                                    period.start)
        assert len(f.counts) == 36 and sum(f.counts[-12:]) == f.current
    with pytest.raises(OutOfScope):
        q.picture(con, scope=Scope(frozenset({OWN}), 1), gemeente=OTHER)
    with pytest.raises(OutOfScope):
        q.picture(con, scope=Scope(), gemeente=OWN)


def test_wijk_counts_follow_the_disclosure_release(con, period):
    detail1 = Scope(frozenset({OWN}), 1)
    wijken, columns = q.wijk_counts(con, scope=detail1, gemeente=OWN, period=period)
    assert wijken
    # raids (N06, not a crime) are not published below the gemeente for detail 1
    assert set(columns["invallen"]) == {q.NOT_PUBLISHED}
    assert set(columns["witwassen"]) == {None}
    drugs = next(i for i in ONDERMIJNING if i.key == "drugs")
    for n, (code, _name) in enumerate(wijken):
        assert columns["drugs"][n] == direct(con, drugs.codes, period.start, period.end,
                                             wijk=code)
    _, full = q.wijk_counts(con, scope=Scope(frozenset({OWN}), 3), gemeente=OWN, period=period)
    raids = direct(con, ("N06",), period.start, period.end)
    assert sum(full["invallen"]) == raids - direct_without_wijk(con, period)


def direct_without_wijk(con, period) -> int:
    return con.execute("SELECT count(*) FROM incidents WHERE gm_code = ? AND type_code = 'N06'"
                       " AND occurred_date >= ? AND occurred_date < ? AND wk_code IS NULL",
                       [OWN, period.start, period.end]).fetchall()[0][0]


def test_incident_list_needs_detail_2(con, period):
    with pytest.raises(OutOfScope):
        q.incident_rows(con, scope=Scope(frozenset({OWN}), 1), gemeente=OWN, period=period)
    section = q.incident_rows(con, scope=Scope(frozenset({OWN}), 3), gemeente=OWN,
                              period=period)
    assert "Straat" in section.tables[0].header
    assert len(section.tables[0].rows) == direct(con, ondermijning_codes(), period.start, period.end)


def test_only_a_teamchef_in_scope_writes_the_duiding(tmp_path):
    from data.accounts import User

    state = StateDB(tmp_path / "state.sqlite")
    scope = Scope(frozenset({OWN}), 3)
    with pytest.raises(OutOfScope):
        q.write_duiding(state, scope=Scope(frozenset({OWN}), 1),
                        user=User("burgemeester", "burgemeester"), gemeente=OWN, text="x")
    with pytest.raises(OutOfScope):
        q.write_duiding(state, scope=scope, user=User("tc", "teamchef"), gemeente=OTHER,
                        text="x")
    with pytest.raises(q.DuidingError):
        q.write_duiding(state, scope=scope, user=User("tc", "teamchef"), gemeente=OWN,
                        text="   ")
    assert q.latest_duiding(state, scope=scope, gemeente=OWN) is None
    q.write_duiding(state, scope=scope, user=User("tc", "teamchef"), gemeente=OWN, text="een")
    q.write_duiding(state, scope=scope, user=User("tc", "teamchef"), gemeente=OWN, text="twee")
    assert q.latest_duiding(state, scope=scope, gemeente=OWN).text == "twee"
    with pytest.raises(Exception, match="append-only"):
        state.connection().execute("UPDATE ondermijning_duiding SET text = 'weg'")
    with pytest.raises(Exception, match="append-only"):
        state.connection().execute("DELETE FROM ondermijning_duiding")


# -- the page in Chromium ------------------------------------------------------------------------

def test_mayor_sees_counts_without_list_and_raids_not_per_wijk(page, server, con, period):
    login(page, server, "burgemeester")
    page.goto(server.url + "/ondermijning")
    expect(page.locator("#nav-ondermijning")).to_be_visible()
    drugs = page.locator("#ond-card-drugs .key-figure-value")
    expect(drugs).to_have_attribute("data-value", re.compile(r"\d+"), timeout=TIMEOUT)
    for ind in ONDERMIJNING:
        value = page.locator(f"#ond-card-{ind.key} .key-figure-value")
        if ind.codes:
            expected = direct(con, ind.codes, period.start, period.end)
            expect(value).to_have_attribute("data-value", str(expected))
        else:
            expect(value).to_have_text("geen gegevens")
    expect(page.locator("#ond-geen-lijst")).to_contain_text("geen lijst van incidenten",
                                                            timeout=TIMEOUT)
    expect(page.locator(".ond-incidenten")).to_have_count(0)
    table = page.locator(".ond-wijken")
    expect(table).to_contain_text("niet openbaar", timeout=TIMEOUT)
    expect(page.locator("#ond-wijken")).to_contain_text("Invallen en doorzoekingen publiceert")
    # the gemeente's own sources beside the police figures, labelled, with the same window
    signals = page.locator("#ond-signalen-tabel")
    for source, title in (("boa", "BOA-registraties"), ("overlast", "Overlastmeldingen")):
        total = con.execute(
            "SELECT sum(count) FROM gemeente_source_counts WHERE owner = ? AND source = ?"
            " AND period_start >= ? AND period_start < ?",
            [OWN, source, period.start, period.end]).fetchall()[0][0]
        row = signals.locator("tr", has_text=title)
        expect(row).to_contain_text(f"{total:,}".replace(",", "."), timeout=TIMEOUT)
    expect(page.locator("#ond-kaart-grafiek")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#ond-duiding-opslaan")).to_be_hidden()


def test_teamchef_sees_streets_writes_duiding_the_mayor_reads_it(browser, server, con, period):
    chef = browser.new_context().new_page()
    login(chef, server, "teamchef")
    chef.goto(server.url + f"/ondermijning?gemeente={OWN}")
    incidents = chef.locator(".ond-incidenten")
    expect(incidents).to_be_visible(timeout=TIMEOUT)
    expect(incidents.locator(".ag-header-row")).to_contain_text("Straat", timeout=TIMEOUT)
    street = con.execute(
        "SELECT street FROM incidents WHERE gm_code = ? AND type_code = '3.1.1'"
        " AND occurred_date >= ? AND occurred_date < ? AND street IS NOT NULL"
        " ORDER BY occurred_at LIMIT 1", [OWN, period.start, period.end]).fetchall()[0][0]
    expect(incidents.locator(".ag-center-cols-container")).to_contain_text(street)
    expect(chef.locator("#ond-duiding-leeg")).to_be_visible(timeout=TIMEOUT)
    # the profile does not share the gemeente's sources with the teamchef
    expect(chef.locator("#ond-signalen-tekst")).to_have_text(q.NO_SIGNALS)
    expect(chef.locator("#ond-signalen-tabel")).to_have_count(0)
    text = "Drugshandel rond het station neemt toe.\n\nWe zetten in op de aanpak van panden."
    chef.fill("#ond-duiding-tekst", text)
    chef.click("#ond-duiding-opslaan")
    expect(chef.locator("#ond-duiding-opgeslagen")).to_be_visible(timeout=TIMEOUT)
    expect(chef.locator("#ond-duiding")).to_contain_text("Drugshandel rond het station")
    chef.context.close()

    mayor = browser.new_context().new_page()
    login(mayor, server, "burgemeester")
    mayor.goto(server.url + "/ondermijning")
    shown = mayor.locator("#ond-duiding")
    expect(shown).to_contain_text("Drugshandel rond het station neemt toe.", timeout=TIMEOUT)
    expect(shown).to_contain_text("We zetten in op de aanpak van panden.")
    expect(shown.locator(".ond-duiding-auteur")).to_contain_text("teamchef, teamchef")
    mayor.context.close()
    rows = state_rows(server.db, "SELECT outcome FROM protocol_log WHERE view ="
                                 " 'ondermijning/duiding' AND user = 'teamchef'")
    assert ("ok",) in rows


# -- attacks -------------------------------------------------------------------------------------

def refused_rows(server, view, user="burgemeester") -> int:
    return state_rows(server.db, "SELECT count(*) FROM protocol_log WHERE view = ? AND user = ?"
                                 " AND outcome = 'refused'", (view, user))[0][0]


def test_mayor_asking_another_gemeente_is_refused_and_logged(page, server):
    before = refused_rows(server, "ondermijning")
    login(page, server, "burgemeester")
    page.goto(server.url + f"/ondermijning?gemeente={OTHER}")
    expect(page.locator(".refusal")).to_contain_text("geen toegang", timeout=TIMEOUT)
    expect(page.locator("#ond-kerncijfers")).to_have_count(0)
    assert refused_rows(server, "ondermijning") == before + 1

    session = http_login(server, "burgemeester")
    for output in ("ond-status.children", "ond-incidenten.children"):
        response = dash_callback(session, server, output, {"ond-gemeente.value": OTHER})
        assert response.status_code == 200
        body = response.text
        assert "geen toegang" in body
        assert '"data-value"' not in body and "Wijk" not in body
    assert refused_rows(server, "ondermijning") == before + 2
    assert refused_rows(server, "ondermijning/incidenten") >= 1


def test_detail_1_gets_no_list_by_a_forged_callback(server, con, period):
    session = http_login(server, "burgemeester")
    response = dash_callback(session, server, "ond-incidenten.children",
                             {"ond-gemeente.value": OWN})
    assert response.status_code == 200
    body = response.text
    ids = [r[0] for r in con.execute(
        "SELECT id FROM incidents WHERE gm_code = ? AND type_code IN (SELECT"
        " unnest(?::VARCHAR[])) AND occurred_date >= ? AND occurred_date < ? LIMIT 50",
        [OWN, ondermijning_codes(), period.start, period.end]).fetchall()]
    assert ids and not any(i in body for i in ids)
    assert "Straat" not in body and "Registratienummer" not in body
    # the same request as the teamchef does carry the list: the test can see a leak
    chef = http_login(server, "teamchef")
    answer = dash_callback(chef, server, "ond-incidenten.children", {"ond-gemeente.value": OWN})
    assert any(i in answer.text for i in ids)


def test_forged_duiding_by_a_mayor_or_for_another_gemeente_is_refused(server):
    before = refused_rows(server, "ondermijning/duiding")
    count = state_rows(server.db, "SELECT count(*) FROM ondermijning_duiding")[0][0]
    session = http_login(server, "burgemeester")
    response = dash_callback(session, server, "ond-duiding-melding.children", {
        "ond-duiding-opslaan.n_clicks": 1, "ond-gemeente.value": OWN,
        "ond-duiding-tekst.value": "Vervalst door de burgemeester"},
        trigger="ond-duiding-opslaan.n_clicks")
    assert "geen toegang" in response.text
    chef = http_login(server, "teamchef")
    response = dash_callback(chef, server, "ond-duiding-melding.children", {
        "ond-duiding-opslaan.n_clicks": 1, "ond-gemeente.value": "GMD004",
        "ond-duiding-tekst.value": "Buiten mijn gebied"},
        trigger="ond-duiding-opslaan.n_clicks")
    teamchef_scope = state_rows(server.db, "SELECT gemeenten FROM users WHERE name = 'teamchef'")
    if "geen toegang" not in response.text:  # GMD004 is in the teamchef's basisteam
        pytest.fail(f"teamchef wrote outside its scope? {teamchef_scope}")
    assert state_rows(server.db, "SELECT count(*) FROM ondermijning_duiding")[0][0] == count
    assert refused_rows(server, "ondermijning/duiding") == before + 1
    assert refused_rows(server, "ondermijning/duiding", "teamchef") >= 1


# -- the product ---------------------------------------------------------------------------------

def cli(server, *args):
    env = {**os.environ, "DASHBOARD_PRODUCTS_DIR": str(server.db.parent / "products")}
    done = subprocess.run([sys.executable, "-m", "dashboard", "--db", str(server.db), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("user,detail", [(None, 1), ("teamchef", 3)])
def test_product_for_both_detail_levels(server, con, user, detail):
    from data.accounts import User

    state = StateDB(server.db.parent / "appstate.sqlite")
    chef = Scope(frozenset({OWN}), 3)
    if q.latest_duiding(state, scope=chef, gemeente=OWN) is None:  # run alone: write one
        q.write_duiding(state, scope=chef, user=User("teamchef", "teamchef"), gemeente=OWN,
                        text="Drugshandel rond het station neemt toe.")
    reference = date(2026, 12, 1)
    args = ["reports", "generate", "ondermijningsbeeld", "--area", OWN, "--reference",
            reference.isoformat(), "--json"] + (["--as", user] if user else [])
    product = json.loads(cli(server, *args))
    assert product["detail"] == detail
    files, folder = product["files"], product["folder"]
    assert {"html", "pdf", "xlsx", "csv"} <= set(files)
    csv_text = open(os.path.join(folder, files["csv"]["name"]), encoding="utf-8-sig").read()
    start, end = add_months(reference, -12), reference
    # counted as of the peildatum: registered up to and including that day
    registered_before = reference + timedelta(days=1)
    for ind in ONDERMIJNING:
        line = next(x for x in csv_text.splitlines() if x.startswith(ind.label + ";"))
        cells = line.split(";")
        if ind.codes:
            expected = direct(con, ind.codes, start, end, registered_before=registered_before)
            assert cells[1] == str(expected), (ind.key, line)
        else:
            assert cells[1] == "geen gegevens", line
    text = pdf_text(os.path.join(folder, files["pdf"]["name"]))
    assert "Integraal ondermijningsbeeld" in text and "Duiding door de teamchef" in text
    assert "Signalen van de gemeente" in text
    # the mayor's product has the gemeente's own sources; the teamchef's (not shared) says so
    # (read in the CSV: the PDF's table cell breaks "BOA-registraties" at its hyphen)
    if user is None:
        assert "BOA-registraties" in csv_text and q.NO_SIGNALS not in text
    else:
        assert "BOA-registraties" not in csv_text and "BOA-" not in text
    assert "Drugshandel rond het station" in text  # the duiding written on the page
    wijk_lines = [x for x in csv_text.splitlines() if x.startswith("WKD001")]
    assert wijk_lines
    if detail == 1:
        assert "niet openbaar" in csv_text
        assert "geen lijst van incidenten" in text
        assert "Straat" not in csv_text
    else:
        assert "niet openbaar" not in csv_text
        assert "Straat" in csv_text and "Registratienummer" in csv_text


# -- accessibility (axe-core, as tests/test_accessibility.py) -------------------------------------

@pytest.mark.parametrize("user", ["burgemeester", "teamchef"])
def test_page_meets_wcag_aa(page, server, user):
    from .test_accessibility import _chart_texts, _report, axe_violations

    login(page, server, user)
    page.goto(server.url + "/ondermijning")
    expect(page.locator("#ond-kerncijfers .key-figure").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#ond-kaart-grafiek .js-plotly-plot g.trace").first).to_be_attached(
        timeout=TIMEOUT)
    expect(page.locator("#ond-incidenten > *").first).to_be_attached(timeout=TIMEOUT)
    if user == "teamchef":  # AG Grid built: header cells and rows
        expect(page.locator(".ond-incidenten .ag-row").first).to_be_attached(timeout=TIMEOUT)
    failing = _report({"/ondermijning": axe_violations(page)}, user)
    assert not failing, "\n".join(failing)
    texts = _chart_texts(page)
    assert texts and all(t.startswith("Grafiek: ") for t in texts), texts
