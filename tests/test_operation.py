"""Operated as README says: the run command serving, the CLI beside it, one state for both.

One test walks what an operator and a user do on one installation: README's `run` on a fresh
folder, an account added on the command line and used in Chromium, incidents imported while
the server serves, the demo rebuilt while it serves, and `log export` listing every protocol
row the server wrote before and after.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
import requests
from playwright.sync_api import expect

from data.segments import connect as connect_db
from data.state import StateDB
from data.tokens import create_token

from .conftest import ROOT, free_port, login


def cli(*args, db, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=300, check=check)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """README's run command on a folder without a database (relative --db, as a user types)."""
    folder = tmp_path_factory.mktemp("operated")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "--db", "instance/vb.duckdb",
                             "run", "--port", str(port), "--workers", "2"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "DASHBOARD_TILE_URL": "",
                                 "PYTHONPATH": str(ROOT)}, start_new_session=True)
    lines, deadline = [], time.time() + 300
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Listening at" in line or proc.poll() is not None:
            break
    assert "Listening at" in "".join(lines), "".join(lines)
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    while time.time() < deadline:  # the workers load the app after gunicorn listens
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=30).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    yield dict(db=folder / "instance" / "vb.duckdb", url=f"http://127.0.0.1:{port}", proc=proc)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(20)


def _one(db, sql, params=()):
    con = connect_db(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _incident_file(path, db, n: int) -> None:
    """``n`` incidents registered today at PC6 addresses of the demo's largest gemeente."""
    codes = [r[0] for r in _one(db, "SELECT code FROM areas WHERE level = 'pc6' ORDER BY code"
                                    " LIMIT ?", [n])]
    today = datetime.now().replace(microsecond=0)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["id", "registered_at", "occurred_at", "type_code", "attempt",
                      "high_impact", "pc6", "house_number", "street", "mo", "summary"])
        for i, code in enumerate(codes):
            out.writerow([f"OPS-{i}", today.isoformat(), (today - timedelta(hours=3)).isoformat(),
                          "1.1.1", "0", "", code, str(i + 1), "Testlaan", "", ""])


def _shown_count(page) -> int:
    return int("".join(ch for ch in page.locator("#incidenten-count").inner_text() if ch.isdigit()))


def _api_total(url, token) -> int:
    response = requests.get(url + "/api/v1/incidents?limit=1",
                            headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    return response.json()["total"]


@pytest.mark.browser
def test_one_state_for_server_and_cli_through_import_and_rebuild(served, page, tmp_path):
    db, url = served["db"], served["url"]
    # Everything the application keeps lives beside the link; the version folder holds only
    # DuckDB versions.
    assert db.is_symlink()
    assert (db.parent / "appstate.sqlite").is_file()
    versions = db.parent / f".{db.name}.versions"
    assert all(p.suffix == ".duckdb" for p in versions.iterdir()), list(versions.iterdir())

    # An account added on the command line logs in to the running server at once.
    eenheid = _one(db, "SELECT code FROM areas WHERE level = 'eenheid' ORDER BY code")[0][0]
    added = cli("users", "add", "jansen", "--role", "analist", "--eenheid", eenheid,
                "--password-stdin", db=db, stdin="jansen-wachtwoord\n")
    assert "added" in added.stdout
    login(page, type("S", (), {"url": url})(), "jansen", "jansen-wachtwoord")
    page.goto(url + "/incidenten")
    expect(page.locator("#incidenten-count")).to_contain_text("incident", timeout=30_000)
    shown_before = _shown_count(page)

    state = StateDB(db.parent / "appstate.sqlite")
    _record, token = create_token(state, "jansen", label="operatie", by="jansen")
    before = _api_total(url, token)

    # Import while serving: requests keep being answered, and the new rows are served after.
    answers, stop = [], threading.Event()

    def keep_asking():
        while not stop.is_set():
            answers.append(requests.get(url + "/api/v1/incidents?limit=1", timeout=60,
                                        headers={"Authorization": f"Bearer {token}"}).status_code)
            time.sleep(0.1)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        path = tmp_path / "nieuw.csv"
        _incident_file(path, db, 7)
        imported = cli("import", "incidents", str(path), "--json", db=db)
        assert json.loads(imported.stdout.strip().splitlines()[-1])["rows"] == 7
        time.sleep(1)
    finally:
        stop.set()
        asker.join()
    assert answers and set(answers) == {200}, answers
    assert _api_total(url, token) == before + 7
    page.goto(url + "/incidenten")
    expect(page.locator("#incidenten-count")).to_contain_text(
        f"{shown_before + 7:,}".replace(",", "."), timeout=30_000)

    # Rebuild the demo while serving: the old version goes, the server goes on with the new.
    rebuilt = cli("demo", "--json", db=db)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _api_total(url, token) == before  # a fresh demo: the imported rows are gone
    page.goto(url + "/incidenten")
    expect(page.locator("#incidenten-count")).to_contain_text("incident", timeout=30_000)
    assert all(p.suffix == ".duckdb" for p in versions.iterdir())

    # The command line's log export holds every row the server wrote, before and after.
    rows = [json.loads(line) for line in cli("log", "export", "--json", "--user", "jansen",
                                              db=db).stdout.splitlines()]
    api_rows = [r for r in rows if r["view"] == "api/incidents"]
    assert len(api_rows) == len(answers) + 3
    assert {r["token_id"] for r in api_rows} == {_record.id}
    assert any(r["view"].startswith("incidenten") for r in rows)
    # (The page's grid may still log its rows request meanwhile: the export counts the rows
    # at its moment, between the two direct counts.)
    page.goto("about:blank")
    direct = state.query("SELECT count(*) FROM protocol_log")[0][0]
    exported = len(json.loads("[" + ",".join(cli("log", "export", "--json", db=db).stdout
                                              .splitlines()) + "]"))
    assert direct <= exported <= state.query("SELECT count(*) FROM protocol_log")[0][0]
