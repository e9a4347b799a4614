"""The Celery worker of the background jobs (``DASHBOARD_JOBS=celery``, see ``data/jobs``).

Start it with the same environment as the web servers (database, state, products folder, Redis)::

    DASHBOARD_REDIS_URL=redis://host:6379/0 .venv/bin/celery -A dashboard.worker worker \\
        --concurrency 2 --loglevel INFO

Redis is the broker; results live in the state database's ``jobs`` table (no result backend).
Reliability: ``acks_late`` (a message is acknowledged only after its job ended),
``task_reject_on_worker_lost`` (a pool process that dies puts the task back), prefetch 1 (a
worker holds no messages it is not running), and Redis's visibility timeout
(``DASHBOARD_JOBS_VISIBILITY_TIMEOUT``): a message of a worker killed mid-job goes to another
worker after that many seconds. The task is idempotent by job id (``data.jobs.tasks.run``).
The worker's ``--concurrency`` is the limit on jobs running at once.
"""
from __future__ import annotations

import sys
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

#: `celery -A dashboard.worker` finds this module through the working directory only while it
#: loads the app; the task imports the project's packages (data, layouts) later, from here.
ROOT = str(Path(__file__).resolve().parent.parent)

from dashboard.config import from_environment

TASK = "veiligheidsbeeld.run_job"
QUEUE = "veiligheidsbeeld"


def make_celery(settings) -> Celery:
    if not settings.redis_url:
        raise RuntimeError("DASHBOARD_JOBS=celery needs DASHBOARD_REDIS_URL (the broker)")
    app = Celery("veiligheidsbeeld", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.jobs_visibility_timeout},
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


def _settings():
    return from_environment().resolved()


app = make_celery(_settings()) if from_environment().redis_url else Celery("veiligheidsbeeld")


@worker_init.connect
def _needs_a_broker(**_):
    """Without ``DASHBOARD_REDIS_URL`` Celery would fall back to its default broker (AMQP on
    localhost) and retry connecting forever: stop at once and say why."""
    if not from_environment().redis_url:
        print("error: the worker needs DASHBOARD_REDIS_URL (Redis, the job queue's broker),"
              " the same as the web servers'", file=sys.stderr, flush=True)
        raise SystemExit(2)


@app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: str):
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from data.jobs.tasks import run

    run(job_id, _settings())
    return None
