"""Gemeente sources (issue #17 item 1): the importer (good file, rejected rows with line
numbers, fatal error changes nothing, re-import replaces one source of one gemeente), the CLI,
who sees a source (scope attacks through the query layer, forged callbacks for another
gemeente: refused and logged), and Chromium: a gegevensbeheerder uploads a file on /bronnen
and sees it beside the police figures on /trends; another gemeente's mayor does not.

Real DuckDB (copies of the demo database), a real state database, the real server."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import date

import pytest

from data.accounts import Profile, User, set_profile
from data.importers import FatalImportError, run_import
from data.queries import sources as q
from data.scope import OutOfScope, Scope, resolve_scope
from data.state import StateDB
from data.store import Store

from .conftest import (ROOT, LiveServer, dash_callback, demo_copy, follow_source_job, http_login,
                       login, state_rows)

OWN, OTHER = "GMD001", "GMD002"

GOOD = """area_code,period,category,count
GMD001,2025-01,parkeren,12
WKD00101,2025-01,afval,5
BUD0010101,2025-02,afval,3
WKD00201,2025-02,afval,3
WKD00101,2025-13,afval,3
XX,2025-02,afval,3
WKD00101,2025-02,,3
WKD00101,2025-02,afval,-1
WKD00101,2025,afval,4
WKD00101,2025-01,afval,7
WKD00101,2025-03,afval,2
"""


@pytest.fixture
def store(demo_db, tmp_path):
    return Store(demo_copy(demo_db, tmp_path / "db"))


def manager(gm: str) -> Scope:
    """The scope of a gegevensbeheerder of ``gm`` (what resolve_scope gives that role)."""
    return Scope(frozenset({gm}), 1, sources=frozenset({gm}), manages=frozenset({gm}))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows_of(store, gm, source):
    return store.read().execute(
        "SELECT area_code, period_start, category, count FROM gemeente_source_counts"
        " WHERE owner = ? AND source = ? ORDER BY ALL", [gm, source]).fetchall()


def test_import_accepts_good_rows_and_rejects_the_rest_by_line(store, tmp_path):
    path = write(tmp_path, "boa.csv", GOOD)
    result = run_import(store, "source", path, options={
        "scope": manager(OWN), "gemeente": OWN, "source": "handhaving",
        "title": "BOA-registraties", "by": "test"})
    assert (result.rows, result.rejected, result.total) == (4, 7, 22)
    rejected = (tmp_path / "boa.csv.rejected.csv").read_text()
    for line, reason in ((5, "lies in gemeente GMD002, not in GMD001"), (6, "bad period 2025-13"),
                         (7, "unknown area code XX"), (8, "missing category"),
                         (9, "negative count -1"), (10, "is a year; this file is per month"),
                         (11, "duplicate of line 3")):
        assert any(row.startswith(f"{line},") and reason in row
                   for row in rejected.splitlines()), (line, reason, rejected)
    assert rows_of(store, OWN, "handhaving") == [
        ("BUD0010101", date(2025, 2, 1), "afval", 3), ("GMD001", date(2025, 1, 1), "parkeren", 12),
        ("WKD00101", date(2025, 1, 1), "afval", 5), ("WKD00101", date(2025, 3, 1), "afval", 2)]


def test_periods_weeks_days_and_the_grain(store, tmp_path):
    path = write(tmp_path, "w.csv", "gebied;datum;categorie;aantal\nWKD00101;2025-W01;x;1\n"
                                    "WKD00101;2025-W02;x;2\nWKD00101;2025-01-15;x;9\n")
    result = run_import(store, "source", path, options={
        "scope": manager(OWN), "gemeente": OWN, "source": "w", "title": "Weken"})
    assert (result.rows, result.rejected, result.detail["grain"]) == (2, 1, "week")
    assert [r[1] for r in rows_of(store, OWN, "w")] == [date(2024, 12, 30), date(2025, 1, 6)]


def test_fatal_errors_change_nothing(store, tmp_path):
    run_import(store, "source", write(tmp_path, "a.csv", GOOD), options={
        "scope": manager(OWN), "gemeente": OWN, "source": "handhaving", "title": "BOA"})
    before = rows_of(store, OWN, "handhaving")
    version = store.path.resolve()
    bad_files = {
        "missing.csv": "area_code,period,count\nGMD001,2025-01,3\n",       # no category column
        "empty.csv": "",
        "others.csv": "area_code,period,category,count\nWKD00201,2025-01,x,3\n",  # nothing own
        "latin1.csv": None,
    }
    for name, text in bad_files.items():
        path = tmp_path / name
        if text is None:
            path.write_bytes("area_code,period,category,count\nGMD001,2025-01,caf\xe9,3\n"
                             .encode("latin-1"))
        else:
            path.write_text(text)
        with pytest.raises(FatalImportError):
            run_import(store, "source", path, options={
                "scope": manager(OWN), "gemeente": OWN, "source": "handhaving", "title": "BOA"})
    for options in ({"gemeente": OWN, "source": "Bad Name!", "title": "x"},
                    {"gemeente": "GMX999", "source": "ok", "title": "x"},
                    {"gemeente": OWN, "source": "ok", "title": ""}):
        with pytest.raises(FatalImportError):
            run_import(store, "source", write(tmp_path, "ok.csv", GOOD),
                       options={"scope": manager(options["gemeente"]), **options})
    assert store.path.resolve() == version  # no new version was swapped in
    assert rows_of(store, OWN, "handhaving") == before


def test_reimport_replaces_that_source_of_that_gemeente_only(store, tmp_path):
    opts = {"source": "handhaving", "title": "BOA"}
    run_import(store, "source", write(tmp_path, "a.csv", GOOD), options={"gemeente": OWN, "scope": manager(OWN), **opts})
    other = "area_code,period,category,count\nWKD00201,2025-01,x,8\n"
    run_import(store, "source", write(tmp_path, "b.csv", other), options={"gemeente": OTHER, "scope": manager(OTHER), **opts})
    again = "area_code,period,category,count\nWKD00101,2026-01,afval,1\n"
    run_import(store, "source", write(tmp_path, "c.csv", again), options={"gemeente": OWN, "scope": manager(OWN), **opts})
    assert rows_of(store, OWN, "handhaving") == [("WKD00101", date(2026, 1, 1), "afval", 1)]
    assert rows_of(store, OTHER, "handhaving") == [("WKD00201", date(2025, 1, 1), "x", 8)]
    assert len(rows_of(store, OWN, "boa")) > 0  # the demo's own sources are untouched


def test_only_a_manager_of_the_gemeente_imports_or_deletes_its_source(store, tmp_path):
    """The write rule lives in the data layer (not only in the /bronnen callback): a mayor's
    scope, a gegevensbeheerder of another gemeente and an empty scope are refused by the
    importer and by ``delete_source``; nothing is written (no new version)."""
    from data.importers.sources import delete_source

    run_import(store, "source", write(tmp_path, "a.csv", GOOD), options={
        "scope": manager(OWN), "gemeente": OWN, "source": "handhaving", "title": "BOA"})
    before, version = rows_of(store, OWN, "handhaving"), store.path.resolve()
    mayor = Scope(frozenset({OWN}), 3, sources=frozenset({OWN}))  # sees, does not manage
    for scope, gm in ((mayor, OWN), (manager(OTHER), OWN), (manager(OWN), OTHER),
                      (Scope(), OWN), (manager(OWN).__class__(manages=frozenset({OWN})), OWN)):
        with pytest.raises(OutOfScope):
            run_import(store, "source", write(tmp_path, "b.csv", GOOD), options={
                "scope": scope, "gemeente": gm, "source": "handhaving", "title": "x"})
        with pytest.raises(OutOfScope):
            delete_source(store, scope=scope, gemeente=gm, source="handhaving")
    assert store.path.resolve() == version
    assert rows_of(store, OWN, "handhaving") == before
    assert delete_source(store, scope=manager(OWN), gemeente=OWN, source="handhaving") == 4
    assert rows_of(store, OWN, "handhaving") == []


def test_only_the_gegevensbeheerder_scope_manages(demo_db):
    """resolve_scope gives ``manages`` to a gegevensbeheerder (its own gemeenten) only."""
    con = Store(demo_db).read()

    def profile(_gm):
        return Profile(_gm, detail=3)

    scopes = {role: resolve_scope(User(name=role, role=role, gemeenten=(OWN,)), con=con,
                                  profile_for=profile)
              for role in ("gegevensbeheerder", "burgemeester", "adviseur", "dienst", "teamchef")}
    assert scopes["gegevensbeheerder"].manages == frozenset({OWN})
    assert all(not scope.manages for role, scope in scopes.items() if role != "gegevensbeheerder")
    assert (scopes["gegevensbeheerder"].fingerprint()
            != Scope(scopes["gegevensbeheerder"].gemeenten, 3, sources=frozenset({OWN})).fingerprint())


def test_cli_import_source(demo_db, tmp_path):
    db = demo_copy(demo_db, tmp_path / "db")
    path = write(tmp_path, "boa.csv", GOOD)
    env = {**os.environ, "DASHBOARD_STATE_DB": str(tmp_path / "state.sqlite")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), "import",
                               "source", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    done = cli("--gemeente", OWN, "--source", "handhaving", "--title", "BOA-registraties",
               "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert '"rows": 4' in done.stdout and '"rejected": 7' in done.stdout
    fatal = cli("--gemeente", OWN, "--source", "handhaving", "--title", "BOA",
                str(write(tmp_path, "bad.csv", "a,b\n1,2\n")))
    assert fatal.returncode == 2 and "category" in fatal.stderr


# -- who sees a source ------------------------------------------------------------------------

def test_scope_sources_follow_role_gemeente_and_profile(demo_db, tmp_path):
    con = Store(demo_db).read()
    state = StateDB(tmp_path / "state.sqlite")

    def scope(user):
        return resolve_scope(user, con=con, profile_for=lambda c: Profile(c) if c != OWN
                             else __import__("data.accounts").accounts.get_profile(state, c))
    own = scope(User("g", "gegevensbeheerder", gemeenten=(OWN,)))
    assert own.sources == {OWN} and own.detail == 1
    assert scope(User("b", "burgemeester", gemeenten=(OWN,))).sources == {OWN}
    assert scope(User("b2", "burgemeester", gemeenten=(OTHER,))).sources == {OTHER}
    teamchef = User("t", "teamchef", gemeenten=(OWN,))
    analist = User("a", "analist", eenheden=("REDL",))
    assert not scope(teamchef).sources and not scope(analist).sources
    set_profile(state, OWN, by="test", bronnen_delen=["teamchef"])
    assert scope(teamchef).sources == {OWN} and not scope(analist).sources
    set_profile(state, OWN, by="test", bronnen_delen=["teamchef", "analist"])
    assert scope(analist).sources == {OWN}
    assert not scope(User("x", "beheerder")).sources


def test_queries_refuse_a_source_outside_the_scope(demo_db):
    con = Store(demo_db).read()
    own = Scope(frozenset({OWN}), 1, "Havenstad", frozenset({OWN}))
    other = Scope(frozenset({OTHER}), 3, "Veendijk", frozenset({OTHER}))
    police = Scope(frozenset({OWN, OTHER}), 3, "Teamchef")  # sees the gemeenten, not the sources
    assert set(q.list_sources(con, scope=own)["source"]) == {"boa", "overlast"}
    for scope in (other, police, Scope()):
        assert q.list_sources(con, scope=scope).empty
        with pytest.raises(OutOfScope):
            q.source_series(con, scope=scope, gm_code=OWN, source="boa")
        with pytest.raises(OutOfScope):
            q.source_map_values(con, scope=scope, gm_code=OWN, source="boa", level="wijk",
                                start=date(2025, 1, 1), end=date(2025, 1, 31))
        assert q.source_totals(con, scope=scope, gm_code=OWN, reference=date(2026, 1, 1)).empty
    # sources is never wider than gemeenten: a forged Scope with sources outside gemeenten
    forged = Scope(frozenset({OTHER}), 3, "x", frozenset({OWN}))
    with pytest.raises(OutOfScope):
        q.source_series(con, scope=forged, gm_code=OWN, source="boa")


def test_series_and_map_values_say_geen_gegevens_outside_the_source(demo_db):
    con = Store(demo_db).read()
    own = Scope(frozenset({OWN}), 1, "Havenstad", frozenset({OWN}))
    info = q.get_source(con, scope=own, gm_code=OWN, source="boa")
    before = date(info["period_from"].year - 1, 1, 1)
    series = q.source_series(con, scope=own, gm_code=OWN, source="boa", start=before,
                             end=info["period_to"])
    outside = series[series["period_start"] < info["period_from"]]
    assert len(outside) >= 12 and outside["count"].isna().all()
    assert outside["reason"].str.startswith("geen gegevens").all()
    inside = series[series["period_start"] >= info["period_from"]]
    assert inside["count"].notna().all() and int(inside["count"].sum()) == int(info["total"])
    assert series.attrs["label"] == "Bron: gemeente Havenstad — BOA-registraties"
    yearly = q.source_series(con, scope=own, gm_code=OWN, source="boa", grain="year")
    assert yearly.attrs["grain"] == "year"
    weekly = q.source_series(con, scope=own, gm_code=OWN, source="boa", grain="week")
    assert weekly.attrs["grain"] == "month"  # never finer than the source
    last = info["period_to"]
    values = q.source_map_values(con, scope=own, gm_code=OWN, source="boa", level="wijk",
                                 start=last, end=date(last.year, last.month, 28))
    direct = con.execute("SELECT sum(count) FROM gemeente_source_counts WHERE owner = ? AND"
                         " source = 'boa' AND period_start = ?", [OWN, last]).fetchall()[0][0]
    assert int(values["count"].sum()) == int(direct)
    early = q.source_map_values(con, scope=own, gm_code=OWN, source="boa", level="wijk",
                                start=before, end=date(before.year, 1, 31))
    assert early["count"].isna().all() and early["reason"].notna().all()


# -- the server: forged requests, then the browser -------------------------------------------

@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    server = LiveServer(demo_copy(demo_db, tmp_path_factory.mktemp("sources")))
    yield server
    server.stop()


def _upload_values(gm, name="handhaving", title="BOA-registraties", text=GOOD,
                   filename="boa.csv"):
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    return {"bronnen-upload.contents": contents, "bronnen-upload.filename": filename,
            "bronnen-gemeente.value": gm, "bronnen-naam.value": name,
            "bronnen-titel.value": title, "bronnen-refresh.data": 0}


def _refused(server, user, view):
    return state_rows(server.db, "SELECT count(*) FROM protocol_log WHERE user = ? AND view = ?"
                      " AND outcome = 'refused'", (user, view))[0][0]


def test_forged_uploads_and_deletes_are_refused_and_logged(server):
    db_before = server.db.resolve()
    # a gegevensbeheerder of Havenstad uploading for Veendijk
    session = http_login(server, "gegevensbeheerder")
    before = _refused(server, "gegevensbeheerder", "bronnen/upload")
    answer = dash_callback(session, server, "bronnen-result.children", _upload_values(OTHER),
                           trigger="bronnen-upload.contents")
    assert answer.status_code == 200 and "geen toegang" in answer.text
    assert _refused(server, "gegevensbeheerder", "bronnen/upload") == before + 1
    # a wrong file: a clear error, logged, nothing changed
    wrong = dash_callback(session, server, "bronnen-result.children",
                          _upload_values(OWN, filename="boa.xlsx"),
                          trigger="bronnen-upload.contents")
    assert "alleen CSV" in wrong.text
    # Havenstad's own mayor is no gegevensbeheerder; Veendijk's mayor even less
    for name in ("burgemeester", "burgemeester2"):
        other = http_login(server, name)
        answer = dash_callback(other, server, "bronnen-result.children", _upload_values(OWN),
                               trigger="bronnen-upload.contents")
        assert "geen toegang" in answer.text, name
        assert _refused(server, name, "bronnen/upload") == 1
    # deleting Havenstad's source from Veendijk's session
    mayor2 = http_login(server, "burgemeester2")
    key = {"type": "bronnen-verwijder", "key": f"{OWN}/boa"}
    spec = {"bronnen-upload.contents": None}
    answer = _delete(mayor2, server, key, spec)
    assert "geen toegang" in answer.text
    assert _refused(server, "burgemeester2", "bronnen/verwijderen") == 1
    assert server.db.resolve() == db_before  # nothing was written
    # the list of another gemeente shows nothing of Havenstad
    listing = dash_callback(mayor2, server, "bronnen-list.children",
                            {"bronnen-refresh.data": 0})
    assert "BOA-registraties" not in listing.text and "bronnen-leeg" in listing.text
    # a forged trends request for Havenstad's source
    chart = dash_callback(mayor2, server, "trends-bron-note.children",
                          {"trends-bron.value": f"{OWN}|boa", "trends-grain.value": "maand"})
    assert "geen toegang" in chart.text and "BOA" not in chart.text
    assert _refused(server, "burgemeester2", "trends/bronnen") == 1


def _delete(session, server, key, values):
    """The manage callback as a click on a delete button with id ``key`` sends it."""
    import json

    spec = next(s for s in session.get(server.url + "/_dash-dependencies").json()
                if s["output"].strip(".").startswith("bronnen-result.children"))
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in spec["output"].strip(".").split("...")]
    inputs = [{"id": "bronnen-upload", "property": "contents", "value": None},
              [{"id": key, "property": "n_clicks", "value": 1}]]
    state = [{"id": d["id"], "property": d["property"], "value": values.get(
        f"{d['id']}.{d['property']}")} for d in spec["state"]]
    return session.post(server.url + "/_dash-update-component", json={
        "output": spec["output"], "outputs": outputs, "inputs": inputs, "state": state,
        "changedPropIds": [json.dumps(key, separators=(",", ":"), sort_keys=True)
                           + ".n_clicks"]})


@pytest.fixture
def patient_expect():
    """Assertions that wait up to 30 s: the machine is shared, pages can be slow."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    yield expect
    expect.set_options(timeout=5_000)


def test_gegevensbeheerder_uploads_and_sees_it_beside_police_figures(server, page, tmp_path,
                                                                     patient_expect):
    expect = patient_expect
    from urllib.parse import quote

    from data.periods import add_months

    # the last 12 complete months before the demo's today (the map's default period)
    this_month = date.today().replace(day=1)
    months = [add_months(this_month, -k) for k in range(12, 0, -1)]
    csv = tmp_path / "overlast-jeugd.csv"
    csv.write_text("area_code,period,category,count\n" + "".join(
        f"WKD00101,{m:%Y-%m},jeugd,{41 + i}\n" for i, m in enumerate(months))
        + f"WKD00201,{months[0]:%Y-%m},jeugd,3\n", encoding="utf-8")
    page.set_default_timeout(60_000)
    login(page, server, "gegevensbeheerder")
    page.goto(server.url + "/bronnen")
    expect(page.locator("#bronnen-tabel")).to_contain_text("BOA-registraties")
    page.fill("#bronnen-naam", "jeugd")
    page.fill("#bronnen-titel", "Jeugdoverlast")
    page.locator("#bronnen-upload input[type=file]").set_input_files(str(csv))
    expect(page.locator("#bronnen-ok")).to_contain_text("12 rijen geïmporteerd")
    expect(page.locator("#bronnen-afgewezen")).to_contain_text("lies in gemeente GMD002")
    expect(page.locator("#bronnen-tabel")).to_contain_text("Jeugdoverlast")
    assert state_rows(server.db, "SELECT count(*) FROM protocol_log WHERE user ="
                      " 'gegevensbeheerder' AND view = 'bronnen/upload' AND outcome = 'ok'"
                      )[0][0] == 1
    # beside the police trend, labelled with its source
    page.goto(server.url + "/trends")
    expect(page.locator("#trends-graph .main-svg").first).to_be_visible()
    from .conftest import pick
    pick(page, "#trends-bron", "Havenstad — Jeugdoverlast (alle categorieën)")
    expect(page.locator("#trends-bron-note")).to_contain_text(
        "Bron: gemeente Havenstad — Jeugdoverlast")
    expect(page.locator("#trends-bron-graph")).to_contain_text("Jeugdoverlast")
    # on the map: the source as a "Soort", per wijk, labelled with its source
    page.goto(server.url + "/kaart?niveau=wijk&gebied=GMD001&type="
              + quote("bron:GMD001|jeugd"))
    expect(page.locator("#kaart-subtitle")).to_contain_text("Jeugdoverlast")
    panel = page.locator("#kaart-panel")
    expect(panel).to_contain_text("Bron: gemeente Havenstad — Jeugdoverlast")
    expect(panel).to_contain_text("Centrum")
    expect(panel).to_contain_text(str(sum(range(41, 53))))  # 558 in Centrum
    # another gemeente's mayor sees neither the source nor the chart
    page.context.clear_cookies()
    login(page, server, "burgemeester2")
    page.goto(server.url + "/trends")
    expect(page.locator("#trends-graph .main-svg").first).to_be_visible()
    expect(page.locator("#trends-bronnen")).to_be_hidden()
    assert "Jeugdoverlast" not in page.content()
    page.goto(server.url + "/kaart")
    page.locator("#kaart-type").click()
    from .conftest import choices
    expect(choices(page).first).to_be_visible()
    assert not any("Bron: gemeente" in t for t in choices(page).all_inner_texts())
    page.keyboard.press("Escape")
    page.goto(server.url + "/bronnen")
    expect(page.locator("#bronnen-leeg")).to_be_visible()
    expect(page.locator("#bronnen-form")).to_be_hidden()


def test_teamchef_sees_sources_only_when_the_profile_shares_them(server):
    """The agreement profile's flag, set with the real CLI, decides the teamchef's view; the
    teamchef's forged request before that is refused and logged."""
    values = {"trends-bron.value": f"{OWN}|boa", "trends-grain.value": "maand"}
    teamchef = http_login(server, "teamchef")
    before = dash_callback(teamchef, server, "trends-bron-note.children", values)
    assert "geen toegang" in before.text and "BOA" not in before.text
    assert _refused(server, "teamchef", "trends/bronnen") == 1
    env = {**os.environ, "DASHBOARD_STATE_DB": str(server.db.parent / "appstate.sqlite")}

    def profile(*args):
        done = subprocess.run([sys.executable, "-m", "dashboard", "--db", str(server.db),
                               "profiles", "set", OWN, *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    profile("--bronnen-delen", "teamchef")
    after = dash_callback(teamchef, server, "trends-bron-note.children", values)
    note = after.json()["response"]["trends-bron-note"]["children"]
    assert note.startswith("Bron: gemeente Havenstad — BOA-registraties")
    analist = http_login(server, "analist")
    assert "geen toegang" in dash_callback(analist, server, "trends-bron-note.children",
                                           values).text
    profile("--bronnen-delen")  # shared with nobody again
    assert "geen toegang" in dash_callback(teamchef, server, "trends-bron-note.children",
                                           values).text


def test_driehoek_lists_the_sources_with_12_month_totals(server):
    from data.periods import add_months

    mayor = http_login(server, "burgemeester")
    answer = dash_callback(mayor, server, "driehoek-bronnen.children",
                           {"driehoek-gemeente.value": OWN}).json()
    text = str(answer["response"]["driehoek-bronnen"]["children"])
    assert "Bron: gemeente Havenstad — BOA-registraties" in text
    reference = date.today().replace(day=1)
    con = Store(server.db).read()
    current, previous = (con.execute(
        "SELECT sum(count) FROM gemeente_source_counts WHERE owner = ? AND source = 'boa' AND"
        " period_start >= ? AND period_start < ?", [OWN, add_months(reference, -12 * (k + 1)),
                                                   add_months(reference, -12 * k)]
    ).fetchall()[0][0] for k in (0, 1))
    from layouts import format as fmt
    assert f"'{fmt.integer(current)}'" in text and f"'{fmt.integer(previous)}'" in text
    # another gemeente's mayor asking for Havenstad: refused and logged
    mayor2 = http_login(server, "burgemeester2")
    forged = dash_callback(mayor2, server, "driehoek-bronnen.children",
                           {"driehoek-gemeente.value": OWN})
    assert "geen toegang" in forged.text and "BOA" not in forged.text
    assert _refused(server, "burgemeester2", "driehoek/bronnen") == 1
    own = dash_callback(mayor2, server, "driehoek-bronnen.children",
                        {"driehoek-gemeente.value": OTHER}).json()
    assert "BOA" not in str(own["response"])


def test_themed_report_section_for_sources(demo_db):
    """The 'bronnen' section of a themed report: each visible source's total in the period
    and a year before, labelled; nothing for a scope that does not see the sources."""
    from data.periods import add_months
    from data.products.templates import Template
    from data.products.thema import thema

    con = Store(demo_db).read()
    template = Template("bronnen", "bestuurlijk", ("woninginbraak",), "maand",
                        ("kerncijfers", "bronnen"), "maandelijks")
    reference = date.today().replace(day=1)
    own = Scope(frozenset({OWN}), 1, "Havenstad", frozenset({OWN}))
    content = thema(con, scope=own, area=OWN, reference=reference, template=template)
    section = next(s for s in content.sections if s.title == "Gemeentelijke bronnen")
    table = section.tables[0]
    rows = {r[0]: r[1:] for r in table.rows}
    assert set(rows) == {"Bron: gemeente Havenstad — BOA-registraties",
                         "Bron: gemeente Havenstad — Overlastmeldingen"}
    last = add_months(reference, -1)
    direct = [con.execute("SELECT sum(count) FROM gemeente_source_counts WHERE owner = ? AND"
                          " source = 'boa' AND period_start = ?", [OWN, m]).fetchall()[0][0]
              for m in (last, add_months(last, -12))]
    assert list(rows["Bron: gemeente Havenstad — BOA-registraties"]) == direct
    police = Scope(frozenset({OWN}), 3, "Teamchef")  # the profile shares nothing
    content = thema(con, scope=police, area=OWN, reference=reference, template=template)
    section = next(s for s in content.sections if s.title == "Gemeentelijke bronnen")
    assert not section.tables and "Geen gemeentelijke bronnen" in section.paragraphs[0]


def test_api_series_for_own_gemeente_and_refused_for_another(server):
    """GET /api/v1/sources: the owner's users get the series (null with a reason outside the
    source's span); another gemeente's token is refused (403) and the refusal logged."""
    import requests

    from data.tokens import create_token

    state = StateDB(server.db.parent / "appstate.sqlite")

    def call(user, **params):
        token = create_token(state, user, label="test", by=user)[1]
        return requests.get(f"{server.url}/api/v1/sources", params=params, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})
    own = call("burgemeester", gemeente=OWN, source="boa", grain="year")
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["label"] == "Bron: gemeente Havenstad — BOA-registraties"
    assert body["grain"] == "year" and body["rows"]
    assert any(r["count"] is None and r["reason"].startswith("geen gegevens")
               for r in body["rows"])  # the first and last year are partly covered
    before = _refused(server, "burgemeester2", "api/bronnen")
    forged = call("burgemeester2", gemeente=OWN, source="boa")
    assert forged.status_code == 403 and "BOA" not in forged.text
    assert _refused(server, "burgemeester2", "api/bronnen") == before + 1
    assert call("burgemeester", gemeente=OWN).status_code == 400  # source is required
    assert call("burgemeester", gemeente=OWN, source="boa", extra="x").status_code == 400


def test_gegevensbeheerder_uploads_and_deletes_over_http(server):
    """The page's own requests: an upload with a fatal error changes nothing and says why; a
    good upload lands; the delete button removes that source only; each is logged. The
    writes run as background jobs: the upload's answer only says the job is queued."""
    session = http_login(server, "gegevensbeheerder")
    version = server.db.resolve()
    queued = dash_callback(session, server, "bronnen-result.children",
                           _upload_values(OWN, name="tijdelijk", text="a;b\n1;2\n"),
                           trigger="bronnen-upload.contents")
    assert "bronnen-taak-wacht" in queued.text or "bronnen-taak-bezig" in queued.text
    assert "rijen" not in queued.text  # the request did not wait for the import
    fatal = follow_source_job(session, server, queued)
    assert "Niet ge\\u00efmporteerd" in fatal.text and "category" in fatal.text
    assert server.db.resolve() == version
    queued = dash_callback(session, server, "bronnen-result.children",
                           _upload_values(OWN, name="tijdelijk", title="Tijdelijk"),
                           trigger="bronnen-upload.contents")
    good = follow_source_job(session, server, queued)
    assert "4 rijen ge\\u00efmporteerd" in good.text and "7 rijen afgewezen" in good.text
    assert rows_of(Store(server.db), OWN, "tijdelijk")
    # Another user who got hold of the job id learns nothing of it: refused and logged.
    job = queued.json()["response"]["bronnen-taak"]["data"]
    mayor = http_login(server, "burgemeester")
    before = _refused(server, "burgemeester", "bronnen/taak")
    spied = dash_callback(mayor, server, "bronnen-taak-status.children",
                          {"bronnen-taak-tik.n_intervals": 1, "bronnen-taak.data": job,
                           "bronnen-refresh.data": 0}, trigger="bronnen-taak-tik.n_intervals")
    assert "geen toegang" in spied.text and "rijen" not in spied.text
    assert _refused(server, "burgemeester", "bronnen/taak") == before + 1
    answer = follow_source_job(session, server, _delete(
        session, server, {"type": "bronnen-verwijder", "key": f"{OWN}/tijdelijk"}, {}))
    assert "verwijderd" in answer.text
    assert not rows_of(Store(server.db), OWN, "tijdelijk")
    assert rows_of(Store(server.db), OWN, "boa")  # the other sources stay
    logged = state_rows(server.db, "SELECT view, outcome FROM protocol_log WHERE user ="
                        " 'gegevensbeheerder' AND filters LIKE '%tijdelijk%' ORDER BY id")
    assert logged == [("bronnen/upload", "refused"), ("bronnen/upload", "ok"),
                      ("bronnen/verwijderen", "ok")]
