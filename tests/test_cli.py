"""The command line as README shows it: `run` on a fresh folder, accounts, profiles, the log."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from .conftest import ROOT, free_port


def cli(*args, db, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(db), *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=120, check=check)


def test_run_builds_the_demo_then_serves(tmp_path):
    """README's run command on a machine without a database: demo first, then gunicorn."""
    db, port = tmp_path / "instance" / "vb.duckdb", free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "--db", str(db), "run",
                             "--port", str(port), "--workers", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "DASHBOARD_TILE_URL": ""}, start_new_session=True)
    try:
        lines, deadline = [], time.time() + 120
        while time.time() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Listening at" in line or proc.poll() is not None:
                break
        output = "".join(lines)
        assert "building the demo database" in output and "Demo database ready" in output, output
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10).read().decode()
        assert "Inloggen" in page and "demo-burgemeester" in page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    assert db.is_symlink() and db.resolve().is_file()


def test_users_lifecycle_and_password_rules(tmp_path):
    db = tmp_path / "x.duckdb"
    added = cli("users", "add", "jansen", "--role", "burgemeester", "--gemeente", "GM0363",
                "--password-stdin", db=db, stdin="een-lang-wachtwoord\n")
    assert "added" in added.stdout
    assert "jansen\tburgemeester\tGM0363" in cli("users", "list", db=db).stdout
    short = cli("users", "set-password", "jansen", "--password-stdin", db=db, stdin="kort\n",
                check=False)
    assert short.returncode == 1 and "8 characters" in short.stderr
    cli("users", "set-password", "jansen", "--password-stdin", db=db, stdin="nog-langer-wachtwoord\n")
    assert "disabled" in cli("users", "disable", "jansen", db=db).stdout
    assert "jansen\tburgemeester\tGM0363\tdisabled" in cli("users", "list", db=db).stdout
    assert "enabled" in cli("users", "enable", "jansen", db=db).stdout
    assert "disabled" not in cli("users", "list", db=db).stdout
    assert cli("users", "disable", "niemand", db=db, check=False).returncode == 1
    from data.state import StateDB
    logged = [r[0] for r in StateDB(tmp_path / "appstate.sqlite").query(
        "SELECT filters FROM protocol_log WHERE view = 'beheer/account' ORDER BY id")]
    assert ['"wachtwoord gewijzigd"' in f for f in logged].count(True) == 1
    assert any('"uitgeschakeld"' in f for f in logged)
    assert any('"ingeschakeld"' in f for f in logged)
    assert not any("nog-langer" in f for f in logged)  # the password itself never
    no_area = cli("users", "add", "x", "--role", "adviseur", "--password-stdin", db=db,
                  stdin="een-lang-wachtwoord\n", check=False)
    assert no_area.returncode == 1 and "--gemeente" in no_area.stderr
    duplicate = cli("users", "add", "jansen", "--role", "analist", "--eenheid", "RE05",
                    "--password-stdin", db=db, stdin="een-lang-wachtwoord\n", check=False)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert "removed" in cli("users", "remove", "jansen", db=db).stdout
    assert cli("users", "remove", "jansen", db=db, check=False).returncode == 1
    assert "jansen" not in cli("users", "list", db=db).stdout


def test_profile_changes_are_validated_and_logged(tmp_path):
    db = tmp_path / "x.duckdb"
    cli("profiles", "set", "GM0363", "--detail", "2", "--product",
        "incidentenrapport", "wekelijks", db=db)
    shown = json.loads(cli("profiles", "show", "GM0363", "--json", db=db).stdout)
    assert shown["detail"] == 2 and "threshold" not in shown  # retired: docs/disclosure.md
    assert shown["products"]["incidentenrapport"] == "wekelijks"
    bad = cli("profiles", "set", "GM0363", "--product", "tabellenboek", "soms", db=db, check=False)
    assert bad.returncode == 1 and "unknown frequency" in bad.stderr
    rows = [json.loads(line) for line in cli("log", "export", "--json", db=db).stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["view"] == "beheer/profiel"
    changes = json.loads(rows[0]["filters"])["wijzigingen"]
    assert changes["detail"] == {"oud": 1, "nieuw": 2} and "threshold" not in changes
    csv_text = cli("log", "export", db=db).stdout
    assert csv_text.splitlines()[0] == "id,at,user,role,scope,view,filters,level,rows,client,outcome,detail,token_id"


def test_profile_near_repeat_parameters_on_the_command_line(tmp_path):
    db = tmp_path / "x.duckdb"
    bad = cli("profiles", "set", "GM0363", "--near-repeat-meters", "5000", db=db, check=False)
    assert bad.returncode == 1 and "tussen 50 en 1000" in bad.stderr
    assert json.loads(cli("profiles", "show", "GM0363", "--json", db=db).stdout)[
        "near_repeat"] == {}  # nothing changed
    cli("profiles", "set", "GM0363", "--near-repeat-meters", "250", db=db)
    cli("profiles", "set", "GM0363", "--near-repeat-days", "21", db=db)
    shown = json.loads(cli("profiles", "show", "GM0363", "--json", db=db).stdout)
    assert shown["near_repeat"] == {"afstand_m": 250, "dagen": 21}
    assert 'near-repeat {"afstand_m": 250, "dagen": 21}' in cli("profiles", "show", db=db).stdout
