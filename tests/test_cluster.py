"""The cluster you can start here (issue #18 item 5): ``deploy/cluster`` starts two app
instances (gunicorn) on one PostgreSQL state, one Redis database and one shared data folder,
with HAProxy in front; these tests go through the balancer as a browser would.

Real PostgreSQL (127.0.0.1:5432; a fresh database, dropped afterwards), real Redis (database
:data:`REDIS_DB`, emptied before and after) and Debian's HAProxy; the tests skip, saying which,
when one of them is missing. No mocks."""
from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard import throttle

from .conftest import ROOT, dash_callback, demo_copy, follow_source_job, free_port
from .test_sessions import client, try_login
from .test_state_backends import PG_ADMIN, PG_MISSING

SCRIPT = ROOT / "deploy" / "cluster"
REDIS_DB = int(os.environ.get("VB_TEST_CLUSTER_REDIS_DB", "11"))
#: Jobs wait this long (a test hook of the demo database) so that a test can kill the worker
#: mid-job; Redis hands an unacknowledged job to a new worker after VISIBILITY seconds.
JOB_DELAY, VISIBILITY = 10, 5
API_LIMIT = 6  # requests per token and endpoint per minute on the test cluster
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")


def _redis_missing() -> str | None:
    import redis

    try:
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}", socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        return f"no Redis server answers on 127.0.0.1:6379 ({exc})"
    return None


def _missing() -> str | None:
    if HAPROXY is None:
        return "HAProxy is not installed (apt-get install -y haproxy; .ci/run does this)"
    return PG_MISSING or _redis_missing()


MISSING = _missing()
needs_cluster = pytest.mark.skipif(MISSING is not None, reason=f"cluster: {MISSING}")


@dataclass
class Endpoint:
    """Something with a ``url``, as the conftest helpers expect of a server."""
    url: str


class Cluster:
    def __init__(self, folder: Path):
        self.dir = folder
        self.database = "vbtest_cluster_" + uuid.uuid4().hex[:10]
        self.ports = [free_port(), free_port(), free_port()]
        self.balancer = Endpoint(f"http://127.0.0.1:{self.ports[0]}")
        self.instances = {"a": Endpoint(f"http://127.0.0.1:{self.ports[1]}"),
                          "b": Endpoint(f"http://127.0.0.1:{self.ports[2]}")}
        self.state_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.database

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "DASHBOARD_TILE_URL": "", "DASHBOARD_JOB_TEST_DELAY": str(JOB_DELAY),
               "DASHBOARD_JOBS_VISIBILITY_TIMEOUT": str(VISIBILITY),
               "DASHBOARD_API_RATE_LIMIT": f"{API_LIMIT} per minute"}
        return subprocess.run([sys.executable, str(SCRIPT), *args, "--dir", str(self.dir)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        done = self.run("start", "--ports", ",".join(map(str, self.ports)),
                        "--database", self.database, "--redis-db", str(REDIS_DB),
                        "--postgres", PG_ADMIN, "--workers", "1")
        assert done.returncode == 0, done.stdout + done.stderr

    def status(self) -> dict:
        return json.loads(self.run("status", "--json").stdout)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """``python -m dashboard`` with the cluster's settings (``deploy/cluster env``)."""
        env = dict(os.environ)
        for line in self.run("env").stdout.splitlines():
            key, _, value = shlex.split(line)[1].partition("=")  # export KEY=quoted value
            env[key] = value
        return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    def state(self):
        from data.state import StateDB
        return StateDB(self.state_url)

    def kill(self, name: str) -> None:
        """kill -9 a process of the cluster and its children (gunicorn's workers)."""
        pid = int((self.dir / "run" / f"{name}.pid").read_text())
        os.killpg(pid, signal.SIGKILL)

    def wait_balancer(self, expected: dict, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            seen = {k[-1]: v["balancer"] for k, v in self.status()["processes"].items()
                    if k.startswith("app-")}
            if seen == expected:
                return
            time.sleep(0.5)
        raise AssertionError(f"the balancer shows {seen}, not {expected}")


@pytest.fixture(scope="module")
def cluster(demo_db, tmp_path_factory):
    """A cluster started by the script (every test using it is marked ``needs_cluster``)."""
    import redis

    folder = tmp_path_factory.mktemp("cluster")
    # The shared folder (an NFS mount on real hosts) with the session's demo database in it:
    # `deploy/cluster start` builds the demo only when there is no database.
    demo_copy(demo_db, folder / "shared").rename(folder / "shared" / "veiligheidsbeeld.duckdb")
    redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
    cluster = Cluster(folder)
    try:
        cluster.start()
        scan = cluster.cli("meldingen", "scan", "--json")  # the demo's last week as meldingen
        assert scan.returncode == 0 and json.loads(scan.stdout)["meldingen"] > 0, scan.stderr
        yield cluster
    finally:
        stopped = cluster.run("stop", "--drop")
        assert stopped.returncode == 0, stopped.stderr


def _served(session) -> list:
    """Record the ``X-Served-By`` of every response ``session`` gets; returns the list."""
    served: list = []
    session.hooks["response"].append(
        lambda response, *args, **kwargs: served.append(response.headers.get("X-Served-By")))
    return served


def _login(address: str, where: Endpoint, name: str):
    session = client(address)
    assert try_login(session, where, name, f"demo-{name}") == 302
    return session


# -- through the balancer ----------------------------------------------------------------------

@needs_cluster
def test_the_script_reports_every_part_running_and_healthy(cluster):
    report = cluster.status()
    assert report["state"] == cluster.state_url and report["redis"].endswith(f"/{REDIS_DB}")
    for name in ("app-a", "app-b", "worker", "balancer"):
        assert report["processes"][name]["running"], report
    assert {report["processes"][f"app-{i}"]["balancer"] for i in "ab"} == {"UP"}
    assert (cluster.dir / "haproxy.cfg").is_file() and (cluster.dir / "log" / "app-a.log").is_file()
    assert oct((cluster.dir / "secret_key").stat().st_mode & 0o777) == "0o600"


@needs_cluster
def test_a_login_through_the_balancer_is_served_by_both_with_one_protocol_log(cluster):
    state = cluster.state()
    mayor = client("127.0.0.31")
    served = _served(mayor)
    assert try_login(mayor, cluster.balancer, "burgemeester", "demo-burgemeester") == 302
    before = state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
    for _ in range(6):  # one data view, six times, with the session the login made
        answer = dash_callback(mayor, cluster.balancer, "overview-subtitle.children",
                               {"overview-cards.id": "overview-cards"})
        assert answer.status_code == 200 and "Havenstad" in answer.text, answer.text[:300]
    assert {"a", "b"} <= set(served), served  # round robin: both instances answered
    # One protocol log: the rows of both instances in the one PostgreSQL state, with the
    # client's own address (not the balancer's: DASHBOARD_PROXIES=1 behind HAProxy).
    rows = state.query('SELECT "user", view, client FROM protocol_log WHERE id > ?'
                       " AND view = 'overzicht'", (before,))
    assert [tuple(r) for r in rows] == [("burgemeester", "overzicht", "127.0.0.31")] * 6


@needs_cluster
def test_one_login_rate_limit_for_both_instances_and_the_client_address_counts(cluster):
    attacker = client("127.0.0.90")
    served = _served(attacker)
    answers = [try_login(attacker, cluster.balancer, "adviseur", f"fout-{n}")
               for n in range(throttle.PER_ACCOUNT_ADDRESS.amount + 1)]
    assert {"a", "b"} <= set(served), served  # the guesses went to both instances
    # Ten guesses over both instances together, not ten on each.
    assert answers.count(401) == throttle.PER_ACCOUNT_ADDRESS.amount and answers[-1] == 429
    # A forged X-Forwarded-For does not make the attacker someone else: HAProxy appends the
    # address it saw, and only that last entry is trusted.
    attacker.headers["X-Forwarded-For"] = "127.0.0.99"
    assert try_login(attacker, cluster.balancer, "adviseur", "demo-adviseur") == 429
    # Another address (a colleague in the same town hall is another client) is not blocked:
    # the limits count clients, not the balancer in front of them.
    assert try_login(client("127.0.0.91"), cluster.balancer, "adviseur", "demo-adviseur") == 302


@needs_cluster
def test_one_api_rate_limit_for_both_instances(cluster):
    import requests

    from data.tokens import create_token

    token = create_token(cluster.state(), "burgemeester", label="cluster", by="burgemeester")[1]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    served = _served(api)
    answers = [api.get(cluster.balancer.url + "/api/v1/counts").status_code
               for _ in range(API_LIMIT + 1)]
    assert set(served) == {"a", "b"}, served
    assert answers == [200] * API_LIMIT + [429]  # not API_LIMIT on each instance


@needs_cluster
def test_one_meldingen_state_seen_on_one_instance_is_seen_on_the_other(cluster):
    a, b = cluster.instances["a"], cluster.instances["b"]
    # Havenstad's mayor: the demo's largest gemeente has meldingen in every week the demo is
    # built in (Veendijk's, a few a week, depend on the day the demo is built).
    mayor = _login("127.0.0.32", cluster.balancer, "burgemeester")

    def unread(where):
        answer = dash_callback(mayor, where, "melding-bell.children",
                               {"melding-interval.n_intervals": 1})
        assert answer.status_code == 200, answer.text[:300]
        return answer.json()["response"]["melding-signal"]["data"]

    ids = unread(a)
    assert ids and unread(b) == ids
    pattern = {"type": "melding-gezien", "id": ids[0]}
    acked = dash_callback(mayor, a, "melding-acked.data", {"{melding-gezien}.n_clicks": [
        (pattern, 1)]}, trigger=json.dumps(pattern, separators=(",", ":"), sort_keys=True)
        + ".n_clicks")
    assert acked.status_code == 200 and acked.json()["response"]["melding-acked"]["data"][
        "gezien"] == 1, acked.text[:300]
    assert unread(b) == ids[1:]  # seen on A, not new any more on B


SOURCE = """area_code,period,category,count
GMD001,2025-01,parkeren,12
WKD00101,2025-01,afval,5
WKD00101,2025-02,afval,7
"""


@needs_cluster
def test_an_import_on_one_instance_is_served_by_both(cluster):
    a, b = cluster.instances["a"], cluster.instances["b"]
    owner = _login("127.0.0.33", cluster.balancer, "gegevensbeheerder")

    def listing(where):
        answer = dash_callback(owner, where, "bronnen-list.children", {"bronnen-refresh.data": 0})
        assert answer.status_code == 200, answer.text[:300]
        return answer.text

    assert "Cameratoezicht" not in listing(a) + listing(b)
    contents = "data:text/csv;base64," + base64.b64encode(SOURCE.encode()).decode()
    upload = dash_callback(owner, a, "bronnen-result.children", {
        "bronnen-upload.contents": contents, "bronnen-upload.filename": "boa.csv",
        "bronnen-gemeente.value": "GMD001", "bronnen-naam.value": "camera",
        "bronnen-titel.value": "Cameratoezicht", "bronnen-refresh.data": 0},
        trigger="bronnen-upload.contents")
    # The import is a job: queued through A, run by the worker, followed through B (one jobs
    # table in the shared state).
    assert upload.status_code == 200 and "rijen" not in upload.text, upload.text[:500]
    done = follow_source_job(owner, b, upload)
    assert "3 rijen ge" in done.text, done.text[:500]
    # B serves the new data version from the shared folder on its next request.
    for where in (b, a):
        assert "Cameratoezicht" in listing(where)
    versions = cluster.dir / "shared" / ".veiligheidsbeeld.duckdb.versions"
    assert (cluster.dir / "shared" / "veiligheidsbeeld.duckdb").is_symlink() and versions.is_dir()


@needs_cluster
def test_killing_an_instance_loses_no_request_and_no_session(cluster):
    mayor = _login("127.0.0.34", cluster.balancer, "burgemeester")
    served = _served(mayor)
    cluster.kill("app-a")  # kill -9, workers and all
    # Every request is answered: a connection refused by A is retried on B at once, and the
    # health check takes A out of the rotation within seconds.
    for _ in range(8):
        assert mayor.get(cluster.balancer.url + "/_dash-layout").status_code == 200
    for _ in range(2):  # a data view (POST): the same session, served by B
        answer = dash_callback(mayor, cluster.balancer, "overview-subtitle.children",
                               {"overview-cards.id": "overview-cards"})
        assert answer.status_code == 200 and "Havenstad" in answer.text
    assert set(served) == {"b"}, served
    cluster.wait_balancer({"a": "DOWN", "b": "UP"})
    # `start` again starts what is missing (only A); the same session goes on on both.
    cluster.start()
    cluster.wait_balancer({"a": "UP", "b": "UP"})
    served.clear()
    for _ in range(6):
        assert mayor.get(cluster.balancer.url + "/_dash-layout").status_code == 200
    assert set(served) == {"a", "b"}, served


def _job(session, cluster, job: str) -> dict:
    answer = session.get(f"{cluster.balancer.url}/jobs/{job}")
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


def _wait_job(session, cluster, job, until, timeout: float = 180) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = _job(session, cluster, job)
        if until(status):
            return status
        assert status["status"] != "failed", status
        time.sleep(0.5)
    raise AssertionError(f"job {job}: {status}")


@needs_cluster
def test_a_product_job_survives_killing_the_worker_and_an_instance_mid_job(cluster):
    """"Nu maken" through the balancer runs on the Celery worker; the worker and app instance A
    are killed (-9) while it runs; `start` brings both back; the job is handed to the new
    worker, finishes, and makes exactly one product, logged once."""
    state = cluster.state()
    mayor = _login("127.0.0.35", cluster.balancer, "burgemeester")
    submitted = dash_callback(mayor, cluster.balancer, "rapportages-melding.children", {
        "rapportages-maak.n_clicks": 1, "rapportages-soort.value": "stuurgegevens",
        "rapportages-gebied.value": "GMD001"}, trigger="rapportages-maak.n_clicks")
    assert submitted.status_code == 200, submitted.text[:300]
    job = submitted.json()["response"]["rapportages-taak"]["data"]
    _wait_job(mayor, cluster, job, lambda s: s["status"] == "running" and s["done"] >= 2)
    worker = cluster.status()["processes"]["worker"]["pid"]
    cluster.kill("worker")
    cluster.kill("app-a")
    assert _job(mayor, cluster, job)["status"] == "running"  # not lost, not failed: waiting
    cluster.start()  # starts what is missing: the worker and instance A
    assert cluster.status()["processes"]["worker"]["pid"] != worker
    done = _wait_job(mayor, cluster, job, lambda s: s["status"] == "done")
    product = done["result"]["product"]
    # Exactly one product for the period, made by this job, on the second attempt, by the worker.
    row = state.query("SELECT kind, area_code, period_key, job FROM products WHERE id = ?",
                      (product,))[0]
    assert (row["kind"], row["area_code"], row["job"]) == ("stuurgegevens", "GMD001", job)
    assert state.query("SELECT count(*) FROM products WHERE kind = ? AND area_code = ?"
                       " AND period_key = ?", (row["kind"], row["area_code"],
                                               row["period_key"]))[0][0] == 1
    attempts, pid = state.query("SELECT attempts, pid FROM jobs WHERE id = ?", (job,))[0]
    assert attempts >= 2
    assert b"celery" in Path(f"/proc/{pid}/cmdline").read_bytes()  # the new worker's process
    logged = state.query("SELECT count(*) FROM protocol_log WHERE view = 'rapportages/genereer'"
                         " AND filters LIKE ?", (f"%{job}%",))[0][0]
    assert logged == 1
    folder = cluster.dir / "shared" / "products"
    assert any(folder.rglob("*.pdf")), "the product's files are in the shared folder"
    # Both instances serve it: the list of A and of B name the new product.
    for where in cluster.instances.values():
        listed = dash_callback(mayor, where, "rapportages-lijst.children",
                               {"rapportages-signal.data": 0})
        assert listed.status_code == 200 and "Maandelijkse stuurgegevens" in listed.text


# -- the parts an instance adds for the balancer (no cluster needed) ----------------------------

def _client_addresses(server) -> list:
    """Record the client address the app sees for each request to ``server``."""
    import flask

    seen: list = []

    @server.after_request
    def record(response):
        seen.append(flask.request.remote_addr)
        return response
    return seen


def test_health_check_is_open_light_and_fails_when_the_data_is_gone(demo_db, tmp_path):
    from dashboard import create_app

    db = demo_copy(demo_db, tmp_path / "app")
    server = create_app({"db": db, "tile_url": "", "instance": "a", "proxies": 1}).server
    seen = _client_addresses(server)
    web = server.test_client()
    answer = web.get("/_health")  # no session needed
    assert (answer.status_code, answer.text, answer.headers["X-Served-By"]) == (200, "ok", "a")
    assert web.get("/_healthx").status_code == 302  # the exact path only
    db.rename(db.with_suffix(".weg"))
    answer = web.get("/_health")
    assert answer.status_code == 503 and answer.text == "niet gereed"
    db.with_suffix(".weg").rename(db)
    # Behind one proxy the address it appended counts, never one the client wrote before it.
    web.get("/_health", headers={"X-Forwarded-For": "10.9.9.9, 10.0.0.1"},
            environ_base={"REMOTE_ADDR": "127.0.0.5"})
    assert seen[-1] == "10.0.0.1"


def test_without_the_settings_no_instance_header_and_no_trusted_forwarding(demo_db, tmp_path):
    from dashboard import create_app

    server = create_app({"db": demo_copy(demo_db, tmp_path / "app"), "tile_url": ""}).server
    seen = _client_addresses(server)
    answer = server.test_client().get("/_health", headers={"X-Forwarded-For": "10.0.0.1"},
                                      environ_base={"REMOTE_ADDR": "127.0.0.5"})
    assert answer.status_code == 200 and "X-Served-By" not in answer.headers
    assert seen == ["127.0.0.5"]  # a client could write anything in X-Forwarded-For
