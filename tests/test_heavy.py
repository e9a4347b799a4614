"""Heavy actions cannot starve the server (data/heavy.py): at most one product generation or
XLSX export per user at a time, at most DASHBOARD_HEAVY_SLOTS on the whole server, refused at
once and politely (429 for the download, a message on the page), each refusal logged.

Leases on a real state database in tmp_path, taken by real processes; then a real gunicorn
server (three workers) on a copy of the demo database, with requests and Chromium."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time

import openpyxl
import pytest
from playwright.sync_api import expect

from data import heavy
from data.accounts import set_profile
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, LiveServer, http_login, login, demo_copy


def leases(state: StateDB) -> list[tuple]:
    return [tuple(r) for r in state.query("SELECT user, kind FROM heavy_leases ORDER BY id")]


@pytest.fixture
def state(tmp_path) -> StateDB:
    return StateDB(tmp_path / "appstate.sqlite")


# -- the leases ----------------------------------------------------------------------------------

def test_one_heavy_action_per_user(state):
    with heavy.slot(state, user="jansen", kind="export-xlsx", slots=5):
        with pytest.raises(heavy.Busy) as refused:
            heavy.acquire(state, user="jansen", kind="rapportage", slots=5)
        assert refused.value.reason == "user"
        assert str(refused.value) == heavy.USER_BUSY and "export-xlsx" in refused.value.detail
        with pytest.raises(heavy.Busy):
            heavy.check(state, user="jansen", kind="rapportage", slots=5)
        with heavy.slot(state, user="de-vries", kind="rapportage", slots=5):
            assert leases(state) == [("jansen", "export-xlsx"), ("de-vries", "rapportage")]
    assert leases(state) == []
    heavy.check(state, user="jansen", kind="rapportage", slots=5)  # free again
    with heavy.slot(state, user="jansen", kind="rapportage", slots=5):
        pass


def test_the_slots_are_shared_by_all_users(state):
    first = heavy.acquire(state, user="a", kind="rapportage", slots=2)
    heavy.acquire(state, user="b", kind="export-xlsx", slots=2)
    with pytest.raises(heavy.Busy) as refused:
        heavy.acquire(state, user="c", kind="rapportage", slots=2)
    assert refused.value.reason == "server" and str(refused.value) == heavy.SERVER_BUSY
    assert "2 slots" in refused.value.detail
    first.release()
    heavy.acquire(state, user="c", kind="rapportage", slots=2)
    with pytest.raises(heavy.Busy):  # fewer than one slot counts as one
        heavy.acquire(state, user="d", kind="rapportage", slots=0)
    assert sorted(u for u, _k in leases(state)) == ["b", "c"]


CHILD = """
import os, sys
from data import heavy
from data.state import StateDB
heavy.acquire(StateDB(sys.argv[1]), user=sys.argv[2], kind="rapportage", slots=1)
os._exit(0)  # dies holding the lease, as a worker killed by gunicorn's timeout
"""


def test_a_lease_of_a_dead_process_is_free_again(state):
    subprocess.run([sys.executable, "-c", CHILD, str(state.path), "jansen"], cwd=ROOT,
                   check=True, timeout=60)
    assert leases(state) == [("jansen", "rapportage")]  # left behind, expiry ten minutes away
    with heavy.slot(state, user="jansen", kind="rapportage", slots=1):
        assert leases(state) == [("jansen", "rapportage")]  # the new lease, the old one gone


def test_an_expired_lease_is_free_and_another_hosts_lease_counts_until_it_expires(state):
    heavy.acquire(state, user="jansen", kind="rapportage", slots=1, ttl=0.3)  # never released
    with pytest.raises(heavy.Busy):
        heavy.acquire(state, user="jansen", kind="rapportage", slots=1)  # this process lives
    time.sleep(0.4)
    heavy.acquire(state, user="jansen", kind="rapportage", slots=1).release()
    # Another host's process cannot be looked at: its lease holds until its expiry.
    with state.transaction() as con:
        con.execute("INSERT INTO heavy_leases (user, kind, host, pid, started_at, expires)"
                    " VALUES ('de-vries', 'rapportage', 'elders.invalid', 999999999, '', ?)",
                    (time.time() + 0.3,))
    with pytest.raises(heavy.Busy) as refused:
        heavy.acquire(state, user="jansen", kind="rapportage", slots=1)
    assert refused.value.reason == "server"
    time.sleep(0.4)
    heavy.acquire(state, user="jansen", kind="rapportage", slots=1)


RACER = """
import json, sys, time
from data import heavy
from data.state import StateDB
state, user, slots = StateDB(sys.argv[1]), sys.argv[2], int(sys.argv[3])
start = float(sys.argv[4])
while time.time() < start:
    time.sleep(0.001)
taken = refused = most = 0
while time.time() < start + 1.5:
    try:
        lease = heavy.acquire(state, user=user, kind="rapportage", slots=slots)
    except heavy.Busy:
        refused += 1
        continue
    taken += 1
    most = max(most, state.query("SELECT count(*) FROM heavy_leases")[0][0])
    time.sleep(0.002)
    lease.release()
print(json.dumps({"taken": taken, "refused": refused, "most": most}))
"""


@pytest.mark.parametrize("users", ["distinct", "one"])
def test_concurrent_processes_never_take_more_than_the_slots(state, users):
    slots = 2
    start = time.time() + 1.0  # every process imported and waiting
    racers = [subprocess.Popen(
        [sys.executable, "-c", RACER, str(state.path),
         f"user{n}" if users == "distinct" else "jansen", str(slots), str(start)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True) for n in range(6)]
    results = [json.loads(r.communicate(timeout=60)[0]) for r in racers]
    limit = slots if users == "distinct" else 1
    assert max(r["most"] for r in results) <= limit, results
    assert sum(r["taken"] for r in results) > 0 and sum(r["refused"] for r in results) > 0
    assert leases(state) == []


# -- the real server -------------------------------------------------------------------------

MAYOR = "burgemeester"  # GMD001; its profile is raised to detail 2 below so it may export rows


@pytest.fixture(scope="module")
def folder(demo_db, tmp_path_factory):
    return demo_copy(demo_db, tmp_path_factory.mktemp("heavy")).parent


@pytest.fixture(scope="module")
def server_state(folder):
    state = StateDB(folder / "appstate.sqlite")
    set_profile(state, "GMD001", by="test", detail=2)
    return state


@pytest.fixture(scope="module")
def server(folder, server_state):
    live = LiveServer(folder / "demo.duckdb", workers=3, env={"DASHBOARD_HEAVY_SLOTS": "2"})
    yield live
    live.stop()


@pytest.fixture(scope="module")
def month(folder) -> dict:
    """The last month of the demo data: a small export."""
    newest = Store(folder / "demo.duckdb").read().execute(
        "SELECT max(occurred_date) FROM incidents").fetchall()[0][0]
    return {"from": newest.replace(day=1).isoformat(), "to": newest.isoformat()}


def refusals(state, view, after):
    return [dict(r) for r in state.query(
        "SELECT user, outcome, detail FROM protocol_log WHERE view = ? AND id > ?"
        " AND outcome = 'refused' ORDER BY id", (view, after))]


def last_id(state):
    return state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


def test_xlsx_is_refused_while_the_user_or_the_server_is_busy(server, server_state, month):
    """Leases held by this test process (alive, on this host) stand for running actions."""
    mayor, teamchef = http_login(server, MAYOR), http_login(server, "teamchef")
    url = server.url + "/incidenten/export.xlsx"
    before = last_id(server_state)
    running = heavy.acquire(server_state, user=MAYOR, kind="rapportage", slots=2)
    try:
        for params in ({**month, "check": "1"}, month):
            answer = mayor.get(url, params=params)
            assert answer.status_code == 429 and answer.text == heavy.USER_BUSY
            assert answer.headers["Retry-After"] == "60"
        assert teamchef.get(url, params={**month, "check": "1"}).status_code == 204
        other = heavy.acquire(server_state, user="analist", kind="rapportage", slots=2)
        try:  # both slots taken: everybody waits, and says so at once
            answer = teamchef.get(url, params=month)
            assert answer.status_code == 429 and answer.text == heavy.SERVER_BUSY
        finally:
            other.release()
    finally:
        running.release()
    rows = refusals(server_state, "incidenten/export-xlsx", before)
    assert [r["user"] for r in rows] == [MAYOR, MAYOR, "teamchef"]
    assert all(r["detail"].startswith("heavy: export-xlsx refused") for r in rows)
    answer = mayor.get(url, params=month)
    assert answer.status_code == 200
    assert "Incidenten" in openpyxl.load_workbook(io.BytesIO(answer.content)).sheetnames
    assert server_state.query("SELECT count(*) FROM heavy_leases")[0][0] == 0


def wait_for_lease(state, user, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if state.query("SELECT 1 FROM heavy_leases WHERE user = ?", (user,)):
            return
        time.sleep(0.02)
    raise AssertionError(f"no heavy action of {user} started")


def test_a_running_export_refuses_the_second_and_others_still_get_in(server, server_state):
    """A real XLSX of all the mayor's incidents (about 80.000 rows: seconds) runs in a thread."""
    mayor = http_login(server, MAYOR)
    url = server.url + "/incidenten/export.xlsx"
    first = {}
    worker = threading.Thread(target=lambda: first.update(answer=mayor.get(url, timeout=300)))
    worker.start()
    try:
        wait_for_lease(server_state, MAYOR)
        started = time.time()
        second = mayor.get(url)
        assert second.status_code == 429 and second.text == heavy.USER_BUSY
        assert time.time() - started < 10  # at once, not after the first one
        other = http_login(server, "burgemeester2")  # the login form and argon2: a worker
        assert other.get(server.url + "/rapportages").status_code == 200
        assert other.get(server.url + "/_dash-layout").status_code == 200
        assert worker.is_alive()  # all of this while the export still ran
    finally:
        worker.join(300)
    assert first["answer"].status_code == 200
    assert int(first["answer"].headers["X-Export-Rows"]) > 10_000


@pytest.mark.browser
def test_nu_maken_is_disabled_while_it_works_and_a_second_tab_is_refused(
        page, server, server_state):
    login(page, server, MAYOR)
    second = page.context.new_page()
    for tab in (page, second):
        tab.goto(server.url + "/rapportages")
        expect(tab.locator("#rapportages-maak")).to_be_enabled(timeout=20_000)
    before = last_id(server_state)
    page.click("#rapportages-maak")
    expect(page.locator("#rapportages-maak")).to_be_disabled(timeout=10_000)
    # "Nu maken" is a background job (data/jobs): one active job per user
    assert server_state.query("SELECT 1 FROM jobs WHERE user = ? AND kind = 'product' AND"
                              " status IN ('queued', 'running')", (MAYOR,))
    second.click("#rapportages-maak")
    expect(second.locator(".refusal")).to_have_text(heavy.USER_BUSY, timeout=20_000)
    expect(page.locator("#rapportages-gemaakt")).to_be_visible(timeout=120_000)
    expect(page.locator("#rapportages-maak")).to_be_enabled()
    expect(second.locator("#rapportages-maak")).to_be_enabled()
    rows = refusals(server_state, "rapportages/maken", before)
    assert len(rows) == 1 and rows[0]["user"] == MAYOR
    assert rows[0]["detail"] == "jobs: product refused, product of this user still active"
    assert server_state.query("SELECT count(*) FROM heavy_leases")[0][0] == 0
