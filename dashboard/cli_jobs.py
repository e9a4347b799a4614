"""Background jobs on the command line (``data/jobs``).

* ``--background`` on ``reports run --due``, ``meldingen mail`` and ``import KIND FILE``: queue
  the command as a job for the Celery worker (``DASHBOARD_JOBS=celery``) and print its id
  instead of running it here. The job runs the same code as the command (``data/jobs/tasks.py``).
  An import's FILE must be readable at the same path on the worker's host (shared storage).
  With the local backend there is no worker that outlives this command, so ``--background``
  is refused (exit 2): run the command without it.
* ``jobs status ID [--json]`` — one job; ``jobs list [--json] [--user NAME]`` — the jobs of the
  last day, newest first (operators see every user's jobs; payloads are parameters only).
"""
from __future__ import annotations

import json
import os
import sys


def add_background(parser) -> None:
    parser.add_argument("--background", action="store_true",
                        help="queue as a background job for the Celery worker "
                             "(DASHBOARD_JOBS=celery) and print the job id")


def add_jobs_parser(commands) -> None:
    jobs = commands.add_parser("jobs", help="background jobs (Nu maken, XLSX, imports, "
                                            "reports, mail)")
    jc = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    st = jc.add_parser("status", help="one job: status, progress, result or error")
    st.add_argument("id")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=cmd_jobs)
    ls = jc.add_parser("list", help="the jobs of the last day, newest first")
    ls.add_argument("--user")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(handler=cmd_jobs)


def _describe(job) -> dict:
    return {**job.public(), "user": job.user, "attempts": job.attempts, "backend": job.backend,
            "created_at": job.created_at, "updated_at": job.updated_at}


def cmd_jobs(args) -> int:
    from dashboard.cli import _state
    from data import jobs

    state = _state(args)
    if args.jobs_command == "status":
        job = jobs.get(state, args.id)
        if job is None:
            print(f"error: no job {args.id!r}", file=sys.stderr)
            return 1
        found = [job]
    else:
        found = jobs.recent(state, user=args.user)
    for job in found:
        if args.json:
            print(json.dumps(_describe(job), ensure_ascii=False))
        else:
            progress = f"{job.done}/{job.total}" if job.total else "-"
            print(f"{job.id}\t{job.kind}\t{job.user}\t{job.status}\t{progress}\t"
                  f"{job.created_at[:19]}\t{json.dumps(job.result) if job.result else ''}"
                  f"{job.error or ''}")
    return 0


def background(args, kind: str, payload: dict) -> int | None:
    """Queue the command as a job when ``--background`` was given (returns the exit code);
    None to run it here."""
    if not getattr(args, "background", False):
        return None
    settings = args.settings
    if settings.jobs != "celery":
        print("error: --background needs the Celery backend (DASHBOARD_JOBS=celery and "
              "DASHBOARD_REDIS_URL); without it, run the command without --background",
              file=sys.stderr)
        return 2
    from dashboard.cli import _operator, _state
    from dashboard.jobs import submit

    job = submit(settings, _state(args), kind=kind, user=_operator(), payload=payload,
                 exclusive=False)
    if job.status == "failed":
        print(f"error: {job.error}", file=sys.stderr)
        return 1
    print(json.dumps({"job": job.id, "kind": kind}) if getattr(args, "json", False)
          else f"queued job {job.id} ({kind}); follow it with `python -m dashboard jobs status "
               f"{job.id}`")
    return 0


def import_argv(args) -> list[str]:
    """The import command as the worker runs it: without --background and --db (the worker
    has its own), with the file as an absolute path."""
    argv, skip = [], False
    for token in args.argv:
        if skip:
            skip = False
            continue
        if token == "--db":
            skip = True
            continue
        if token == "--background" or token.startswith("--db="):
            continue
        argv.append(os.path.abspath(token) if token == str(args.file) else token)
    return argv
