"""Background jobs (data/jobs, dashboard/jobs.py, dashboard/worker.py): "Nu maken" and the XLSX
export run as jobs the browser follows; only the owner reads a job or downloads its file; the job
builds the scope again when it runs; a job whose process is killed mid-job is run again and
still makes exactly one product.

Real gunicorn, real Chromium, real DuckDB and state; the Celery part starts real `celery worker`
processes on the local Redis (a dedicated db number; skipped when Redis does not answer)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from data import jobs
from data.accounts import set_role
from data.state import StateDB

from .conftest import ROOT, LiveServer, dash_callback, demo_copy, http_login, login

OWN = "GMD001"
#: Seconds the test hook (DASHBOARD_JOB_TEST_DELAY) holds every job before its work.
DELAY = 6
REDIS = "redis://127.0.0.1:6379/13"


def make(session, server, kind="stuurgegevens", area=OWN):
    """"Nu maken" as the browser posts it; the submitted job's id (None when refused)."""
    response = dash_callback(session, server, "rapportages-melding.children",
                             {"rapportages-maak.n_clicks": 1, "rapportages-soort.value": kind,
                              "rapportages-gebied.value": area},
                             trigger="rapportages-maak.n_clicks")
    assert response.status_code == 200, response.text[:300]
    return response.json()["response"].get("rapportages-taak", {}).get("data"), response


def wait(session, server, job, timeout=120, until=("done", "failed")):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = session.get(f"{server.url}/jobs/{job}").json()
        if status["status"] in until:
            return status
        time.sleep(0.5)
    raise AssertionError(f"job {job} still {status}")


def _ended(state, job, timeout=120):
    """The job once it is done or failed (read from the state database, not through a
    session: its owner may have lost access meanwhile)."""
    deadline = time.time() + timeout
    while jobs.get(state, job).status not in ("done", "failed"):
        assert time.time() < deadline, f"job {job} did not end"
        time.sleep(0.5)
    return jobs.get(state, job)


def log_rows(state, view, after=0):
    return [dict(r) for r in state.query(
        "SELECT * FROM protocol_log WHERE view = ? AND id > ? ORDER BY id", (view, after))]


def last_id(state):
    return state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


@pytest.fixture(scope="module")
def folder(demo_db, tmp_path_factory):
    return demo_copy(demo_db, tmp_path_factory.mktemp("jobs")).parent


@pytest.fixture(scope="module")
def server(folder):
    live = LiveServer(folder / "demo.duckdb", env={"DASHBOARD_JOB_TEST_DELAY": str(DELAY),
                                                   "DASHBOARD_HEAVY_SLOTS": "2"})
    yield live
    live.stop()


@pytest.fixture(scope="module")
def state(server, folder):
    return StateDB(folder / "appstate.sqlite")


@pytest.mark.browser
def test_nu_maken_shows_the_queue_and_progress_then_the_product(page, server, state):
    login(page, server, "burgemeester")
    page.goto(server.url + "/rapportages")
    rows = page.locator(".rapportages-tabel .product-row")
    expect(page.locator("#rapportages-maak")).to_be_enabled(timeout=20_000)
    before = rows.count()
    started = time.monotonic()
    page.click("#rapportages-maak")
    # the callback returns at once: the job is queued or working, the button waits for it
    expect(page.locator("#rapportages-taak-wacht, #rapportages-taak-bezig")).to_be_visible(
        timeout=10_000)
    assert time.monotonic() - started < DELAY
    expect(page.locator("#rapportages-maak")).to_be_disabled()
    expect(page.locator("#rapportages-taak-voortgang")).to_be_visible(timeout=20_000)
    expect(page.locator("#rapportages-gemaakt")).to_be_visible(timeout=120_000)
    expect(page.locator("#rapportages-gemaakt")).to_contain_text("Maandelijkse stuurgegevens")
    expect(rows).to_have_count(before + 1, timeout=20_000)
    expect(page.locator("#rapportages-maak")).to_be_enabled()
    made = state.query("SELECT * FROM jobs WHERE user = 'burgemeester' AND kind = 'product'"
                       " ORDER BY created_at DESC LIMIT 1")[0]
    product = json.loads(made["result"])["product"]
    assert made["status"] == "done" and made["attempts"] == 1
    assert state.query("SELECT job FROM products WHERE id = ?", (product,))[0][0] == made["id"]
    expect(page.locator(f"#product-{product}")).to_be_visible()


def test_only_the_owner_reads_a_job_and_a_second_job_is_refused(server, state):
    owner, other = http_login(server, "burgemeester"), http_login(server, "adviseur")
    job, _ = make(owner, server)
    assert job and jobs.valid_job_id(job)
    # one active job per user: a second "Nu maken" is refused with the Dutch message
    second, response = make(owner, server)
    assert second is None and jobs.USER_BUSY in response.text
    before = last_id(state)
    refused = other.get(f"{server.url}/jobs/{job}")
    assert refused.status_code == 404 and refused.json() == {"error": "Onbekende taak."}
    assert other.get(f"{server.url}/jobs/{job}/bestand").status_code == 404
    logged = log_rows(state, "taken/status", before) + log_rows(state, "taken/bestand", before)
    assert [(r["user"], r["outcome"]) for r in logged] == [("adviseur", "refused")] * 2
    status = wait(owner, server, job)
    assert status["status"] == "done" and status["result"]["product"]
    assert set(status) == {"id", "kind", "status", "done", "total", "result", "error",
                           "finished"}  # no host, pid or payload for the browser
    # the adviseur's polling callback cannot follow the burgemeester's job either
    poll = dash_callback(other, server, "rapportages-taak-status.children",
                         {"rapportages-taak.data": job, "rapportages-taak-tik.n_intervals": 1},
                         trigger="rapportages-taak-tik.n_intervals")
    assert "geen toegang" in poll.text.lower() and "Gemaakt" not in poll.text


def test_a_user_who_lost_access_before_the_job_ran_is_refused(server, state):
    session = http_login(server, "burgemeester2")
    job, _ = make(session, server, area="GMD002")
    set_role(state, "burgemeester2", "burgemeester", gemeenten=["GMD003"])  # during the delay
    try:
        found = state.query("SELECT status, error FROM jobs WHERE id = ?", (job,))[0]
        assert found["status"] in ("queued", "running")  # the job had not done its work yet
        done = _ended(state, job)
        assert done.status == "failed" and done.error.startswith("Geen toegang")
        assert not state.query("SELECT 1 FROM products WHERE job = ?", (job,))
        refused = [r for r in log_rows(state, "rapportages/maken")
                   if r["outcome"] == "refused" and job in (r["filters"] or "")]
        assert len(refused) == 1 and refused[0]["user"] == "burgemeester2"
    finally:
        set_role(state, "burgemeester2", "burgemeester", gemeenten=["GMD002"])


@pytest.mark.browser
def test_a_gegevensbeheerder_who_lost_the_role_before_the_upload_ran_is_refused(server, state):
    """/bronnen checks the upload in the request and the job checks it again when it runs: an
    account that is no longer gegevensbeheerder by then writes nothing (the database stays
    the version it was) and the refusal is logged."""
    from .test_sources import _upload_values

    session = http_login(server, "gegevensbeheerder")
    before, version = last_id(state), server.db.resolve()
    answer = dash_callback(session, server, "bronnen-result.children",
                           {**_upload_values(OWN), "bronnen-naam.value": "laat"},
                           trigger="bronnen-upload.contents")
    assert answer.status_code == 200, answer.text[:300]
    job = answer.json()["response"]["bronnen-taak"]["data"]
    set_role(state, "gegevensbeheerder", "adviseur", gemeenten=[OWN])  # during the delay
    try:
        assert state.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] in (
            "queued", "running")  # the job had not done its work yet
        done = _ended(state, job)
        assert done.status == "failed" and done.error.startswith("Geen toegang")
        refused = [r for r in log_rows(state, "bronnen/upload", after=before)
                   if r["outcome"] == "refused" and job in (r["filters"] or "")]
        assert len(refused) == 1 and refused[0]["user"] == "gegevensbeheerder"
        assert server.db.resolve() == version  # nothing was written
    finally:
        set_role(state, "gegevensbeheerder", "gegevensbeheerder", gemeenten=[OWN])


@pytest.mark.browser
def test_xlsx_export_runs_as_a_job_and_only_the_owner_downloads_it(page, server, state,
                                                                   tmp_path):
    login(page, server, "analist")
    page.goto(server.url + "/incidenten?van=2026-10-01&tot=2026-10-31")
    expect(page.locator("#incidenten-export-xlsx")).not_to_have_attribute("href", "#",
                                                                            timeout=30_000)
    before = last_id(state)
    with page.expect_download(timeout=120_000) as info:
        page.locator("#incidenten-export-xlsx").click()
        expect(page.locator("#incidenten-export-status")).to_contain_text(
            "wachtrij", timeout=10_000)
        expect(page.locator("#incidenten-export-status")).to_contain_text("bezig",
                                                                          timeout=30_000)
    book = tmp_path / "export.xlsx"
    info.value.save_as(book)
    assert info.value.url.endswith("/bestand")
    sheet = openpyxl.load_workbook(book, read_only=True)["Incidenten"]
    rows = sum(1 for _ in sheet.iter_rows(min_row=2))
    made = log_rows(state, "incidenten/export-xlsx", before)
    assert [(r["user"], r["outcome"], r["rows"]) for r in made] == [("analist", "ok", rows)]
    job = json.loads(made[0]["filters"])["taak"]
    fetched = log_rows(state, "taken/bestand", before)
    assert [(r["user"], r["outcome"]) for r in fetched] == [("analist", "ok")]
    assert rows > 0 and jobs.get(state, job).status == "done"
    # someone else (even another analist) cannot download it: 404, logged
    other = http_login(server, "teamchef")
    after = last_id(state)
    refused = other.get(f"{server.url}/jobs/{job}/bestand")
    assert refused.status_code == 404 and not refused.content.startswith(b"PK")
    assert [r["outcome"] for r in log_rows(state, "taken/bestand", after)] == ["refused"]


def test_a_killed_local_job_process_is_run_again_and_makes_one_product(server, state):
    """The local backend: the pool process running the job is killed (SIGKILL) mid-job; the
    next status read on this host requeues it; it finishes once, with one product."""
    session = http_login(server, "adviseur")
    job, _ = make(session, server)
    deadline = time.time() + 60
    while (found := jobs.get(state, job)).status != "running" or found.done < 1:
        assert time.time() < deadline
        time.sleep(0.2)
    os.kill(found.pid, signal.SIGKILL)
    status = wait(session, server, job, timeout=180)
    assert status["status"] == "done", status
    assert jobs.get(state, job).attempts == 2
    assert len(state.query("SELECT 1 FROM products WHERE job = ?", (job,))) == 1
    logged = [r for r in log_rows(state, "rapportages/genereer") if job in r["filters"]]
    assert len(logged) == 1


# -- Celery ----------------------------------------------------------------------------------

def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not redis_answers(),
                                 reason="Redis on 127.0.0.1:6379 does not answer: the Celery "
                                        "backend needs it (apt-get install redis-server)")


class Worker:
    """A real `celery -A dashboard.worker worker` in its own process group."""

    def __init__(self, env: dict, log: Path, name: str):
        celery = str(Path(sys.executable).parent / "celery")
        self.log = log
        self.proc = subprocess.Popen(
            [celery, "-A", "dashboard.worker", "worker", "--concurrency", "1", "--loglevel",
             "INFO", "-n", f"{name}@%h", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 60
        while " ready." not in log.read_text():
            assert self.proc.poll() is None and time.time() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its pool process
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@needs_redis
def test_celery_worker_killed_mid_job_the_job_is_redelivered_and_makes_one_product(
        demo_db, tmp_path):
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    db = demo_copy(demo_db, tmp_path / "celery")
    settings = {"DASHBOARD_JOBS": "celery", "DASHBOARD_REDIS_URL": REDIS,
                "DASHBOARD_JOBS_VISIBILITY_TIMEOUT": "5", "DASHBOARD_JOB_TEST_DELAY": "8"}
    live = LiveServer(db, env=settings)
    env = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_TILE_URL": "", **settings}
    workers = [Worker(env, tmp_path / "worker1.log", "w1")]
    try:
        state = StateDB(db.parent / "appstate.sqlite")
        session = http_login(live, "burgemeester")
        job, _ = make(session, live)
        deadline = time.time() + 60
        while (found := jobs.get(state, job)).status != "running" or found.done < 2:
            assert time.time() < deadline, found
            time.sleep(0.2)
        assert found.pid != workers[0].proc.pid  # the prefork pool process runs it
        workers[0].kill()
        assert jobs.get(state, job).status == "running"  # nobody finished it
        # Redis hands the unacknowledged message out again once the visibility timeout has
        # passed: at a worker's start, else at kombu's periodic check (about every 100 s)
        time.sleep(6)
        workers.append(Worker(env, tmp_path / "worker2.log", "w2"))
        status = wait(session, live, job, timeout=180)
        assert status["status"] == "done", status
        assert jobs.get(state, job).attempts == 2
        products = state.query("SELECT id, folder FROM products WHERE job = ?", (job,))
        assert len(products) == 1 and products[0]["id"] == status["result"]["product"]
        folders = list((db.parent / "products" / "stuurgegevens" / OWN).iterdir())
        assert [f for f in folders if str(f) == products[0]["folder"]]
        assert len([f for f in folders if f.name.startswith(
            state.query("SELECT period_key FROM products WHERE id = ?",
                        (products[0]["id"],))[0][0])]) == len(
            state.query("SELECT 1 FROM products WHERE kind = 'stuurgegevens' AND"
                        " area_code = ? AND period_key = (SELECT period_key FROM products"
                        " WHERE job = ?)", (OWN, job)))  # no stray folder of the first try
        logged = [r for r in log_rows(state, "rapportages/genereer") if job in r["filters"]]
        assert len(logged) == 1
        assert "run_job" in (tmp_path / "worker2.log").read_text()
        # a job that is done is not run again when its message comes back
        from dashboard.config import from_environment
        from data.jobs.tasks import run
        assert run(job, from_environment({**env}).resolved()) is None
        assert len(state.query("SELECT 1 FROM products WHERE job = ?", (job,))) == 1
        command_line_jobs(env, state, tmp_path)
    finally:
        for worker in workers:
            worker.stop()
        live.stop()


def command_line_jobs(env, state, tmp_path):
    """``--background`` queues the command for the worker, which runs the command's own code:
    reports run --due, meldingen mail, an import."""
    population = tmp_path / "population.csv"
    population.write_text("area_code,year,population\nGMD001,2026,123456\n")
    commands = {"reports-due": ["reports", "run", "--due"],
                "meldingen-mail": ["meldingen", "mail"],
                "import": ["import", "population", str(population)]}
    queued = {}
    env = {**env, "DASHBOARD_JOB_TEST_DELAY": "0"}
    for kind, argv in commands.items():
        out = subprocess.run([sys.executable, "-m", "dashboard", *argv, "--background",
                              "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        queued[kind] = json.loads(out.stdout)["job"]
    deadline = time.time() + 300
    while any(jobs.get(state, j).status not in ("done", "failed") for j in queued.values()):
        assert time.time() < deadline, [jobs.get(state, j) for j in queued.values()]
        time.sleep(1)
    for kind, job_id in queued.items():
        found = jobs.get(state, job_id)
        assert (found.status, found.kind, found.user.startswith("cli:")) == ("done", kind, True)
    assert set(jobs.get(state, queued["reports-due"]).result) >= {"produced", "failed"}
    assert "mails_sent" in jobs.get(state, queued["meldingen-mail"]).result
    from data.store import Store
    con = Store(Path(env["DASHBOARD_DB"])).read()
    assert con.execute("SELECT population FROM population WHERE code = 'GMD001' AND"
                       " year = 2026").fetchall() == [(123456,)]
    # the local backend has no worker that outlives the command: refused, nothing queued
    local = subprocess.run([sys.executable, "-m", "dashboard", "meldingen", "mail",
                            "--background"], cwd=ROOT, env={**env, "DASHBOARD_JOBS": "local"},
                           capture_output=True, text=True, timeout=120)
    assert local.returncode == 2 and "DASHBOARD_JOBS=celery" in local.stderr


def test_generate_with_the_same_job_id_returns_the_first_product(folder, state):
    """The idempotence the retries rely on, at the archive itself."""
    from data.accounts import get_profile, get_user
    from data.products import archive, schedule
    from data.scope import resolve_scope
    from data.store import Store
    from datetime import datetime

    store = Store(folder / "demo.duckdb")
    user = get_user(state, "burgemeester")
    scope = resolve_scope(user, con=store.read(), profile_for=lambda c: get_profile(state, c))
    profile = get_profile(state, OWN)
    due, reference = schedule.latest_for(profile, "stuurgegevens", datetime.now())
    made = [archive.generate(store, state, folder / "products", kind="stuurgegevens", area=OWN,
                             reference=reference, scope=scope, profile=profile, user=user,
                             period_key=due.key, job="test-job-idempotent")[0]
            for _ in range(2)]
    assert made[0].id == made[1].id
    assert len(state.query("SELECT 1 FROM products WHERE job = 'test-job-idempotent'")) == 1


def test_a_job_whose_process_keeps_dying_is_given_up(tmp_path):
    """Celery re-delivers the task of a lost worker; after MAX_ATTEMPTS claims the job fails
    with a clear message instead of running (and killing a worker) for ever."""
    state = StateDB(tmp_path / "state.sqlite")
    job = jobs.submit(state, kind="reports-due", user="cli:test", payload={},
                      backend="celery")
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        claimed = jobs.claim(state, job.id)  # each claim: a worker started it, then died
        assert claimed.status == "running" and claimed.attempts == attempt
    assert jobs.claim(state, job.id) is None
    given_up = jobs.get(state, job.id)
    assert (given_up.status, given_up.error) == ("failed", jobs.LOST)
    assert jobs.claim(state, job.id) is None  # and stays so


def test_a_celery_worker_without_redis_stops_at_once_and_says_why(tmp_path):
    """Without DASHBOARD_REDIS_URL Celery would try its default broker forever; the worker
    stops with exit code 2 and names the setting."""
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_REDIS_URL"}
    env["DASHBOARD_DB"] = str(tmp_path / "none.duckdb")
    done = subprocess.run([sys.executable, "-m", "celery", "--workdir", str(ROOT), "-A",
                           "dashboard.worker", "worker", "--loglevel", "WARNING"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "DASHBOARD_REDIS_URL" in done.stderr
