"""Gemeentelijke bronnen (/bronnen): the list (a data view) and the gegevensbeheerder's upload
and delete (writes, checked against the account re-read from the state database and the scope,
every attempt written to the protocol log). The write itself is a background job (kind
``source``, data/jobs/tasks.py): a new data version copies the database, which no web worker
should wait for; the page follows the job and shows its outcome."""
from __future__ import annotations

import base64
import binascii
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, ctx

from callbacks.guard import Served, data_callback, refusal
from dashboard.auth import current_scope, current_user, get_db, get_state
from dashboard.jobs import status as job_state
from dashboard.jobs import submit as submit_job
from data import protocol
from data.accounts import SOURCE_ROLE, gemeente_choices, get_user
from data.heavy import Busy
from data.importers.sources import check_names
from data.queries.sources import list_sources
from data.scope import OutOfScope
from layouts import bronnen as layout
from layouts.jobs import job_status

def _manager(gm_code) -> object:
    """The acting gegevensbeheerder of ``gm_code``, re-read from the state database; raises
    OutOfScope for anyone else (another role, another gemeente, a disabled account)."""
    user = current_user()
    fresh = get_user(get_state(), user.name) if user is not None else None
    scope = current_scope()
    if (fresh is None or fresh.disabled or fresh.role != SOURCE_ROLE
            or not isinstance(gm_code, str) or gm_code not in fresh.gemeenten
            or gm_code not in scope.sources):
        raise OutOfScope(f"managing sources of {gm_code!r} requires a gegevensbeheerder of that"
                         f" gemeente, not {getattr(fresh, 'role', None)} of"
                         f" {list(getattr(fresh, 'gemeenten', ()))}")
    return fresh


def page(_search=None):
    user = current_user()
    scope = current_scope()
    can = user is not None and user.role == SOURCE_ROLE
    gemeenten = ([(c, n) for c, n in gemeente_choices(get_db()) if c in scope.sources]
                 if can else [])
    return layout.page(can_upload=can, gemeenten=gemeenten)


def validation_page():
    return layout.page(can_upload=True, gemeenten=[])


def _log(view, *, filters, rows, outcome="ok", detail=None):
    protocol.record(get_state(), user=current_user(), scope=current_scope(), view=view,
                    filters=filters, rows=rows, client=flask.request.remote_addr,
                    outcome=outcome, detail=detail)


def upload(contents, filename, gm_code, name, title, description) -> dict:
    """Check an uploaded file and its names in the request (a refusal or a clear error at
    once) and return the payload of the source job that imports it; a dict with ``error``
    for a bad file or name."""
    filters = {"gemeente": str(gm_code)[:20], "bron": str(name)[:40],
               "bestand": str(filename)[:100]}
    try:
        _manager(gm_code)
    except OutOfScope as exc:
        _log("bronnen/upload", filters=filters, rows=0, outcome="refused", detail=exc.detail)
        raise
    try:
        check_names(gm_code, name, title)
        if not isinstance(filename, str) or not filename.lower().endswith(".csv"):
            raise ValueError("alleen CSV-bestanden (.csv) worden geaccepteerd")
        if not isinstance(contents, str) or "," not in contents:
            raise ValueError("het bestand kon niet worden gelezen")
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
        if len(data) > layout.MAX_UPLOAD:
            raise ValueError(f"het bestand is groter dan {layout.MAX_UPLOAD // 1024} kB")
    except (ValueError, binascii.Error) as exc:
        _log("bronnen/upload", filters=filters, rows=0, outcome="refused", detail=str(exc))
        return {"error": str(exc)}
    return {"op": "import", "gemeente": gm_code, "source": name, "title": title,
            "description": description, "filename": Path(filename).name,
            "data": base64.b64encode(data).decode("ascii")}


def _submit(payload: dict):
    """Queue the source job (the import or delete runs on the job backend, never in this
    request: a new data version copies the database). Returns the manage outputs."""
    try:
        job = submit_job(flask.current_app.config["VB_SETTINGS"], get_state(), kind="source",
                         user=current_user().name, client=flask.request.remote_addr,
                         payload=payload)
    except Busy as exc:
        return dbc.Alert(str(exc), color="warning", id="bronnen-bezig"), None, None, True
    return None, job_status(job.public(), "bronnen", "Niet verwerkt"), job.id, False


def outcome(result: dict):
    """What a finished source job shows: the import's result (or its fatal error), or the
    source deleted."""
    if result.get("op") == "delete":
        return dbc.Alert(f"Bron “{result.get('source')}” verwijderd ({result.get('removed')}"
                         " rijen).", color="info", id="bronnen-verwijderd")
    return layout.result(result)


def register(app) -> None:
    @data_callback(app, "bronnen/lijst", [Output("bronnen-list", "children")],
                   [Input("bronnen-refresh", "data")])
    def source_view(scope, _refresh):
        frame = list_sources(get_db(), scope=scope)
        user = current_user()
        deletable = set()
        if user is not None and user.role == SOURCE_ROLE:
            deletable = {f"{o}/{s}" for o, s in zip(frame["owner"], frame["source"])
                         if o in user.gemeenten}
        return Served((layout.source_list(frame, deletable=deletable),), rows=len(frame))

    @app.callback(Output("bronnen-result", "children"),
                  Output("bronnen-taak-status", "children", allow_duplicate=True),
                  Output("bronnen-taak", "data"), Output("bronnen-taak-tik", "disabled"),
                  Input("bronnen-upload", "contents"),
                  Input({"type": "bronnen-verwijder", "key": ALL}, "n_clicks"),
                  State("bronnen-upload", "filename"), State("bronnen-gemeente", "value"),
                  State("bronnen-naam", "value"), State("bronnen-titel", "value"),
                  State("bronnen-omschrijving", "value"), prevent_initial_call=True)
    def manage(contents, clicks, filename, gm_code, name, title, description):
        """An upload or a delete click: checked here (a refusal or a bad file answers in
        ``bronnen-result`` at once), then queued as a source job that :func:`source_job`
        follows in ``bronnen-taak-status``."""
        trigger = ctx.triggered_id
        unchanged = (dash.no_update,) * 4
        try:
            if isinstance(trigger, dict):
                if not any(clicks or []):
                    return unchanged
                owner, _, source = str(trigger.get("key", "")).partition("/")
                try:
                    _manager(owner)
                except OutOfScope as exc:
                    _log("bronnen/verwijderen", rows=0, outcome="refused", detail=exc.detail,
                         filters={"gemeente": owner[:20], "bron": source[:40],
                                  "actie": "verwijderd"})
                    raise
                return _submit({"op": "delete", "gemeente": owner, "source": source})
            if contents is None:
                return unchanged
            payload = upload(contents, filename, gm_code, name, title, description)
            if payload.get("error"):
                return layout.result(payload), None, None, True
            return _submit(payload)
        except OutOfScope as exc:
            return refusal(str(exc)), None, None, True

    @data_callback(app, "bronnen/taak",
                   [Output("bronnen-taak-status", "children"),
                    Output("bronnen-refresh", "data"),
                    Output("bronnen-taak-tik", "disabled", allow_duplicate=True)],
                   [Input("bronnen-taak-tik", "n_intervals")],
                   [State("bronnen-taak", "data"), State("bronnen-refresh", "data")],
                   prevent_initial_call=True, log="on_change")
    def source_job(scope, _n, job_id, refresh):
        """The user's own source job: queued, progress, then its outcome (and the list
        reloads) or the Dutch error. Logged when the status changes."""
        if not isinstance(job_id, str):
            return Served((dash.no_update, dash.no_update, True), 0, {})
        job = job_state(flask.current_app.config["VB_SETTINGS"], get_state(), job_id,
                        current_user().name)
        if job is None:
            raise OutOfScope("unknown job or another user's")
        filters = {"taak": job.id, "status": job.status}
        if job.status == "done":
            bump = refresh + 1 if isinstance(refresh, int) else 1
            return Served((outcome(job.result or {}), bump, True), 1, filters)
        finished = job.status == "failed"
        return Served((job_status(job.public(), "bronnen", "Niet verwerkt"), dash.no_update,
                       finished), 0, filters)
