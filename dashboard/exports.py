"""Incident exports served by Flask (behind the login guard): CSV streamed, XLSX via a temp file.

``GET /incidenten/export.csv`` and ``/incidenten/export.xlsx`` take the incident filter as query
parameters exactly as ``parse_filter`` reads them (``from, to, type, area, attempt, high_impact,
q``) plus ``sort``, ``columns`` (the visible grid columns, comma separated), ``sep`` (``;`` or
``,``, CSV only) and an optional ``job`` id for progress. The scope comes from the logged-in user.

Before the first byte: a malformed parameter is a 400 with a Dutch text, anything outside the
scope (an area, a level-3 column, sort or text search) a 403 logged as refused, and a served
export writes exactly one protocol-log row. ``GET /incidenten/export-status?job=...`` returns the
progress of the user's own job as JSON. With ``check=1`` a route only answers whether the export
may start (204, or the 400/403 it would give) without producing or logging data; the page's
export links (``dashboard/assets/incidenten.js``) ask this first so that a refusal appears as a
message on the page instead of replacing it (``data/export_jobs.py``; it carries counts only and is
not logged, the export itself is).

The XLSX export is heavy. The page's link carries ``taak=1``: the request is checked as above,
then a background job (``data/jobs``, kind ``export-xlsx``) is submitted and the answer is at
once ``202 {"job", "status", "bestand"}``; the page polls ``/jobs/<id>`` and downloads
``/jobs/<id>/bestand`` (``dashboard/jobs.py``) when it is done. The job checks the request
against the owner's scope again when it runs. While the user has a job active it is refused
with a 429 and a Dutch message (logged as refused); ``check=1`` gives the same answer, so the
page shows it. Without ``taak`` (scripts) the workbook is built in the request under a lease of
``data/heavy.py`` (one per user, ``DASHBOARD_HEAVY_SLOTS`` on the server; 429 when busy).
"""
from __future__ import annotations

import os
import tempfile
from datetime import datetime

import flask

from dashboard.auth import current_scope, current_user, get_db, get_state
from data import heavy, jobs, protocol
from data.export import (SEPARATORS, ExportTooLarge, check_xlsx_size, csv_chunks,
                         export_queries, provenance, xlsx_file)
from data.export_jobs import Progress, job_status
from data.queries.incidents import (FilterError, count_incidents, parse_filter, parse_sort,
                                    resolve_columns)
from data.scope import OutOfScope

FILTER_KEYS = ("from", "to", "type", "area", "attempt", "high_impact", "q")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportRequest:
    """An export request checked against the scope: filter, sort, columns and row count."""

    def __init__(self, con, scope, args, *, fmt: str):
        params = {k: (args.getlist(k) if k in ("type", "area") else args.get(k))
                  for k in FILTER_KEYS}
        job = args.get("job") or None
        if job is not None and not jobs.valid_job_id(job):
            raise FilterError("job: gebruik 8 tot 64 letters, cijfers of streepjes.")
        sep = args.get("sep") or ";"
        if sep not in SEPARATORS:
            raise FilterError("sep: gebruik ';' of ','.")
        self.job, self.sep, self.format = job, sep, fmt
        self.flt = parse_filter(params)
        self.sort_text = args.get("sort") or "-pleegdatum"
        self.sort = parse_sort(self.sort_text)
        self.columns = args.get("columns") or None
        chosen = resolve_columns(scope=scope, keys=self.columns)
        export_queries(con, scope=scope, flt=self.flt, sort=self.sort, columns=self.columns)
        self.total = count_incidents(con, scope=scope, flt=self.flt)
        if fmt == "xlsx":
            check_xlsx_size(self.total)
        self.log_filters = {**self.flt.describe(), "columns": [c.key for c in chosen],
                            "sort": self.sort_text, "format": fmt}
        if fmt == "csv":
            self.log_filters["sep"] = sep


def dataset_label(store) -> str | None:
    meta = store.meta()
    name = meta.get("dataset_name") or ("demo" if meta.get("demo") == "true" else None)
    version = meta.get("data_version")
    return f"{name} ({version})" if name and version else name or version


def _text(message: str, status: int) -> flask.Response:
    return flask.Response(message, status=status, content_type="text/plain; charset=utf-8")


def _filename(ext: str) -> str:
    return f"incidenten-{datetime.now():%Y%m%d-%H%M}.{ext}"


def init_exports(server: flask.Flask) -> None:
    def checked(fmt: str):
        """(request, None) or (None, error response). Refusals are logged."""
        user, scope = current_user(), current_scope()
        view = f"incidenten/export-{fmt}"
        try:
            return ExportRequest(get_db(), scope, flask.request.args, fmt=fmt), None
        except OutOfScope as exc:
            protocol.record(get_state(), user=user, scope=scope, view=view,
                            filters={k: v for k, v in flask.request.args.items()}, rows=0,
                            client=flask.request.remote_addr, outcome="refused",
                            detail=exc.detail)
            return None, _text(str(exc), 403)
        except (FilterError, ExportTooLarge) as exc:
            return None, _text(str(exc), 400)

    def start(req: ExportRequest, user) -> Progress | flask.Response:
        progress = Progress(get_state(), job=req.job, user=user.name, total=req.total,
                            kind=f"export-{req.format}")
        if not progress.start():
            return _text("job: dit nummer is al in gebruik; kies een ander.", 409)
        return progress

    def busy(fmt: str, exc: heavy.Busy) -> flask.Response:
        protocol.record(get_state(), user=current_user(), scope=current_scope(),
                        view=f"incidenten/export-{fmt}",
                        filters={k: v for k, v in flask.request.args.items()}, rows=0,
                        client=flask.request.remote_addr, outcome="refused", detail=exc.detail)
        response = _text(str(exc), 429)
        response.headers["Retry-After"] = "60"
        return response

    def background(req: ExportRequest, user, kind: str) -> flask.Response:
        """Submit the export as a job (the browser's job id when it sent one); 202 at once."""
        from dashboard.jobs import submit

        args = {k: flask.request.args.getlist(k) for k in flask.request.args
                if k not in ("job", "taak", "check")}
        try:
            job = submit(flask.current_app.config["VB_SETTINGS"], get_state(), kind=kind,
                         user=user.name, payload={"args": args}, job_id=req.job,
                         client=flask.request.remote_addr, total=req.total)
        except ValueError:
            return _text("job: dit nummer is al in gebruik; kies een ander.", 409)
        response = flask.jsonify(job=job.id, status=f"/jobs/{job.id}",
                                 bestand=f"/jobs/{job.id}/bestand", rows=req.total)
        response.status_code = 202
        response.headers["Cache-Control"] = "no-store"
        return response

    def prepare(fmt: str, heavy_kind: str | None = None):
        """(request, user, provenance, progress, lease) of an export that may start, or the
        response that ends it here: a refusal, the answer to ``check=1``, or a job-id clash.
        With ``heavy_kind`` the export runs under a lease of ``data/heavy.py`` (the caller
        releases it), or is refused with a 429; otherwise the lease is None."""
        req, error = checked(fmt)
        if error is not None:
            return error
        user, check, lease = current_user(), flask.request.args.get("check"), None
        if heavy_kind is not None and flask.request.args.get("taak"):
            try:
                if check:
                    jobs.check(get_state(), user=user.name, kind=heavy_kind)
                    return flask.Response(status=204)
                return background(req, user, heavy_kind)
            except heavy.Busy as exc:
                return busy(fmt, exc)
        if heavy_kind is not None:
            slots = flask.current_app.config["VB_SETTINGS"].heavy_slots
            try:
                if check:
                    heavy.check(get_state(), user=user.name, kind=heavy_kind, slots=slots)
                else:
                    lease = heavy.acquire(get_state(), user=user.name, kind=heavy_kind,
                                          slots=slots)
            except heavy.Busy as exc:
                return busy(fmt, exc)
        if check:  # the page asks first whether the export may start
            return flask.Response(status=204)
        progress = start(req, user)
        if isinstance(progress, flask.Response):
            if lease is not None:
                lease.release()
            return progress
        info = provenance(user=user.name, flt=req.flt,
                          dataset=dataset_label(flask.current_app.config["VB_STORE"]))
        return req, user, info, progress, lease

    @server.route("/incidenten/export.csv")
    def incidents_csv():
        prepared = prepare("csv")
        if isinstance(prepared, flask.Response):
            return prepared
        req, user, info, progress, _lease = prepared
        scope, con = current_scope(), get_db()
        chunks = csv_chunks(con, scope=scope, flt=req.flt, sort=req.sort, columns=req.columns,
                            sep=req.sep, info=info, progress=progress)
        protocol.record(get_state(), user=user, scope=scope, view="incidenten/export-csv",
                        filters=req.log_filters, rows=req.total,
                        client=flask.request.remote_addr)

        def body():
            try:
                yield from chunks
            except GeneratorExit:
                progress.fail("afgebroken")
                raise
            except Exception as exc:
                progress.fail(f"mislukt: {type(exc).__name__}")
                raise
            progress.finish()

        return flask.Response(flask.stream_with_context(body()),
                              content_type="text/csv; charset=utf-8", headers={
                                  "Content-Disposition":
                                      f'attachment; filename="{_filename("csv")}"',
                                  "X-Export-Rows": str(req.total),
                                  "Cache-Control": "no-store"})

    def xlsx_handle(req: ExportRequest, user, info, progress, scope, con):
        """Write the workbook to a temporary file, log it, and return an open handle on it."""
        fd, path = tempfile.mkstemp(prefix="vb-export-", suffix=".xlsx")
        os.close(fd)
        try:
            try:
                xlsx_file(con, scope=scope, flt=req.flt, sort=req.sort, columns=req.columns,
                          info=info, path=path, progress=progress)
            except Exception as exc:
                progress.fail(f"mislukt: {type(exc).__name__}")
                raise
            protocol.record(get_state(), user=user, scope=scope, view="incidenten/export-xlsx",
                            filters=req.log_filters, rows=req.total,
                            client=flask.request.remote_addr)
            return open(path, "rb")
        finally:
            os.unlink(path)  # an open handle keeps the data readable until the response ends

    @server.route("/incidenten/export.xlsx")
    def incidents_xlsx():
        prepared = prepare("xlsx", heavy_kind="export-xlsx")
        if isinstance(prepared, flask.Response):
            return prepared
        req, user, info, progress, lease = prepared
        scope, con = current_scope(), get_db()
        try:
            handle = xlsx_handle(req, user, info, progress, scope, con)
        finally:
            lease.release()  # the workbook is built (or failed); sending it is light
        progress.finish()
        response = flask.send_file(handle, mimetype=XLSX_MIME, as_attachment=True,
                                   download_name=_filename("xlsx"), max_age=0)
        response.headers["X-Export-Rows"] = str(req.total)
        response.headers["Cache-Control"] = "no-store"
        return response

    @server.route("/incidenten/export-status")
    def export_status():
        """``{total, done, finished, error}`` of the user's own export job."""
        job = flask.request.args.get("job", "")
        if not jobs.valid_job_id(job):
            return flask.jsonify(error="Ongeldig exportnummer."), 400
        status = job_status(get_state(), job=job, user=current_user().name)
        if status is None:
            return flask.jsonify(error="Onbekende export."), 404
        response = flask.jsonify(status)
        response.headers["Cache-Control"] = "no-store"
        return response
