"""Shared fixtures. Everything runs for real: DuckDB files in tmp_path, the real data in
../shared/data (tests that need it skip with a clear message when that folder is absent)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from data.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder ../shared/data."""
    if not (SHARED_DATA / "gemeente_2025.geojson").is_file():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


#: Real boundaries for a database of eenheden, gemeenten and PC4 areas (file, level, vintage).
REAL_PC4_BOUNDARIES = (("regionale_eenheid_2024.geojson", "eenheid", None),
                       ("gemeente_2025.geojson", "gemeente", None),
                       ("pc4.geojson", "pc4", 2020))


def import_real(store: Store, shared: Path, folder: Path, boundaries=REAL_PC4_BOUNDARIES,
                files=()) -> None:
    """Import real boundaries and then files ``(name, kind)`` from ../shared/data with the real
    importers; the files are copied into ``folder`` first, so rejected rows land there."""
    from data.importers import run_import

    for name, level, vintage in boundaries:
        run_import(store, "boundaries", shared / name,
                   rejected_file=folder / f"{name}.rejected.csv",
                   options={"level": level, "vintage": vintage})
    for name, kind in files:
        shutil.copyfile(shared / name, folder / name)
        run_import(store, kind, folder / name)


@pytest.fixture
def store(tmp_path) -> Store:
    """An empty store on a temporary DuckDB file (created on the first write)."""
    return Store(tmp_path / "test.duckdb")


# -- a real server and a real browser ----------------------------------------------------------


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """gunicorn serving ``create_app()`` on 127.0.0.1, as the Procfile does."""

    def __init__(self, db: Path, env: dict | None = None, workers: int = 2):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = db.parent / f"server-{self.port}.log"
        environ = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_TILE_URL": "",
                   **(env or {})}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(
            [gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--no-control-socket", "--timeout", "120", "dashboard:create_app()"],
            cwd=ROOT, env=environ, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        bound = f"Listening at: {self.url} ({self.proc.pid})"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            if bound not in self.log.read_text():  # the port is ours, not a concurrent run's
                time.sleep(0.2)
                continue
            try:
                urllib.request.urlopen(self.url + "/_dash-layout", timeout=2)
                return
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP error means the server answers
                    return
                time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo database, built once per test session exactly as `python -m dashboard demo`."""
    from data.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(Store(path))
    return path


def follow_source_job(session, server, answer, timeout: float = 120):
    """Follow the /bronnen source job a manage answer queued, as the page's timer does (on
    ``server``, any endpoint with ``url``): the status callback's answer once it finished."""
    job = answer.json()["response"]["bronnen-taak"]["data"]
    assert isinstance(job, str), answer.text[:500]
    deadline = time.monotonic() + timeout
    tick = 0
    while time.monotonic() < deadline:
        tick += 1
        status = dash_callback(session, server, "bronnen-taak-status.children",
                               {"bronnen-taak-tik.n_intervals": tick, "bronnen-taak.data": job,
                                "bronnen-refresh.data": 0},
                               trigger="bronnen-taak-tik.n_intervals")
        assert status.status_code == 200, status.text[:500]
        if "taak-wacht" not in status.text and "taak-bezig" not in status.text:
            return status
        time.sleep(0.25)
    raise AssertionError(f"source job {job} did not finish in {timeout} s")


def edit_incidents(con, *updates) -> None:
    """Change incidents on writable connection ``con`` as a correction would: incidents live
    in immutable segments (data/segments.py), so every row is staged, each of ``updates`` (an
    UPDATE of the staging table ``{staging}``, or a pair of it and its parameters) applied
    there, and the rows written again as a new segment with the derived counts rebuilt."""
    from data.incidents import STAGING, append_incidents, clear_incidents, finalize_incidents

    append_incidents(con, con.sql("SELECT * FROM incidents").to_arrow_table())
    for update in updates:
        sql, params = update if isinstance(update, tuple) else (update, ())
        con.execute(sql.format(staging=STAGING), list(params))
    clear_incidents(con)
    finalize_incidents(con)


def demo_copy(demo_db: Path, folder: Path) -> Path:
    """A copy of the demo database's current version in ``folder`` (a plain file, with no state
    database yet): for a server whose accounts, profiles and log are its own."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "demo.duckdb"
    shutil.copyfile(demo_db.resolve(), copy)
    return copy


def state_rows(db: Path, sql: str = "SELECT count(*) FROM protocol_log", params=()) -> list:
    """Rows of the state database (protocol log, users) beside database ``db``."""
    import sqlite3

    con = sqlite3.connect(db.parent / "appstate.sqlite")
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_server(demo_db):
    server = LiveServer(demo_db)
    yield server
    server.stop()


def login(page, server: LiveServer, name: str, password: str | None = None) -> None:
    """Log a browser page in through the real login form (demo password by default)."""
    page.goto(server.url + "/login")
    page.fill("#name", name)
    page.fill("#password", password or f"demo-{name}")
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")


# An open Dash dropdown's choices: labels around a checkbox (radio for a single choice);
# dashboard/assets/wcag.js takes away Dash's role="option" (axe: nested-interactive).
CHOICES = ".dash-dropdown-content .dash-options-list-option"


def choices(page):
    """The choices of the open dropdown on ``page``."""
    return page.locator(CHOICES)


def pick(page, dropdown: str, option: str, *, exact: bool = True) -> None:
    """Open ``dropdown`` (a CSS selector) and click the choice labelled ``option``, as a
    person does, until the control shows it chosen (a callback that redraws the options just
    then closes the open list: the choice is made again). ``exact``: the whole label, else a
    part of it."""
    import re

    from playwright.sync_api import expect

    label = re.compile(rf"^\s*{re.escape(option)}\s*$") if exact else option
    for attempt in range(3):
        page.locator(dropdown).click()
        choice = choices(page).filter(has_text=label).first
        choice.click()
        try:
            expect(page.locator(dropdown)).to_contain_text(option, timeout=5_000)
            return
        except AssertionError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def logout(page, server: LiveServer) -> None:
    """Log a browser page out as a person does: the confirmation page's POST (with CSRF)."""
    page.goto(server.url + "/logout")
    page.click("#logout-confirm")
    page.wait_for_url(server.url + "/login?reden=uitgelogd")


def http_login(server: LiveServer, name: str, password: str | None = None):
    """A requests.Session logged in through the login form (with its CSRF token)."""
    import re

    import requests

    session = requests.Session()
    form = session.get(server.url + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = session.post(server.url + "/login", allow_redirects=False, data={
        "name": name, "password": password or f"demo-{name}", "csrf_token": token})
    assert response.status_code == 302, response.text[:500]
    return session


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser (pytest-playwright hook)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: install Debian's packages `chromium chromium-driver` "
                    "(apt-get install -y chromium chromium-driver); .ci/run does this.")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"],
    }


def dash_callback(session, server: LiveServer, output: str, values: dict,
                  trigger: str | None = None):
    """POST one Dash callback as the browser sends it: the callback whose first output is
    ``output`` (``"component.property"``), each input/state value from ``values`` (keyed
    ``"component.property"``; missing ones are None), ``trigger`` as the changed property.
    A pattern input (``ALL``) is keyed by its type, ``"{type}.property"``, and takes a list
    of ``(id dict, value)``, one per component on the page (none when missing); its trigger
    is ``json.dumps(id dict, separators=(",", ":"), sort_keys=True) + ".property"``."""
    import json

    spec = next(s for s in session.get(server.url + "/_dash-dependencies").json()
                if s["output"].strip(".").startswith(output))
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in spec["output"].strip(".").split("...")]
    if not spec["output"].startswith(".."):  # one output: Dash sends it alone, not as a list
        outputs = outputs[0]

    def entry(d):
        if d["id"].startswith("{"):  # a pattern: one entry per matching component
            key = "{" + json.loads(d["id"])["type"] + "}." + d["property"]
            return [{"id": ident, "property": d["property"], "value": value}
                    for ident, value in values.get(key) or []]
        return {"id": d["id"], "property": d["property"],
                "value": values.get(f"{d['id']}.{d['property']}")}

    def entries(deps):
        return [entry(d) for d in deps]
    return session.post(server.url + "/_dash-update-component", json={
        "output": spec["output"], "outputs": outputs, "inputs": entries(spec["inputs"]),
        "state": entries(spec["state"]), "changedPropIds": [trigger] if trigger else []})
