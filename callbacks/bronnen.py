"""Gemeentelijke bronnen (/bronnen): the list (a data view) and the gegevensbeheerder's upload
and delete (writes, checked against the account re-read from the state database and the scope,
every attempt written to the protocol log)."""
from __future__ import annotations

import base64
import binascii
import re
import tempfile
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, ctx

from callbacks.guard import Served, data_callback, refusal
from dashboard.auth import current_scope, current_user, get_db, get_state
from data import protocol
from data.accounts import SOURCE_ROLE, gemeente_choices, get_user
from data.importers import FatalImportError, run_import
from data.importers.sources import check_names, delete_source
from data.queries.sources import list_sources
from data.scope import OutOfScope
from layouts import bronnen as layout

#: Rejected rows shown on the page (all are counted).
SHOWN_REJECTIONS = 50


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
    """Import one uploaded file as source ``name`` of ``gm_code``; the outcome as a dict."""
    filters = {"gemeente": str(gm_code)[:20], "bron": str(name)[:40],
               "bestand": str(filename)[:100]}
    try:
        user = _manager(gm_code)
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
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name)[:80] or "bron.csv"
    with tempfile.TemporaryDirectory(prefix="vb-bron-") as folder:
        path = Path(folder) / safe
        path.write_bytes(data)
        try:
            result = run_import(flask.current_app.config["VB_STORE"], "source", path,
                                rejected_file=Path(folder) / "afgewezen.csv",
                                options={"scope": current_scope(), "gemeente": gm_code,
                                         "source": name, "title": title,
                                         "description": description, "by": user.name})
        except FatalImportError as exc:
            message = exc.message + (f" (regel {exc.line})" if exc.line else "")
            _log("bronnen/upload", filters=filters, rows=0, outcome="refused",
                 detail=f"fatal: {message}"[:1000])
            return {"error": message}
        rejections = _rejections(Path(folder) / "afgewezen.csv")
    _log("bronnen/upload", filters={**filters, "afgewezen": result.rejected}, rows=result.rows)
    return {"rows": result.rows, "rejected": result.rejected, "title": title,
            "rejections": rejections[:SHOWN_REJECTIONS]}


def _rejections(path: Path) -> list[dict]:
    import csv
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"line": r["line"], "reason": r["reason"]} for r in csv.DictReader(fh)]


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

    @app.callback(Output("bronnen-result", "children"), Output("bronnen-refresh", "data"),
                  Input("bronnen-upload", "contents"),
                  Input({"type": "bronnen-verwijder", "key": ALL}, "n_clicks"),
                  State("bronnen-upload", "filename"), State("bronnen-gemeente", "value"),
                  State("bronnen-naam", "value"), State("bronnen-titel", "value"),
                  State("bronnen-omschrijving", "value"), State("bronnen-refresh", "data"),
                  prevent_initial_call=True)
    def manage(contents, clicks, filename, gm_code, name, title, description, refresh):
        trigger = ctx.triggered_id
        bump = (refresh or 0) + 1 if isinstance(refresh, int) else 1
        try:
            if isinstance(trigger, dict):
                if not any(clicks or []):
                    return dash.no_update, dash.no_update
                owner, _, source = str(trigger.get("key", "")).partition("/")
                filters = {"gemeente": owner[:20], "bron": source[:40], "actie": "verwijderd"}
                try:
                    _manager(owner)
                except OutOfScope as exc:
                    _log("bronnen/verwijderen", filters=filters, rows=0, outcome="refused",
                         detail=exc.detail)
                    raise
                removed = delete_source(flask.current_app.config["VB_STORE"],
                                        scope=current_scope(), gemeente=owner, source=source)
                _log("bronnen/verwijderen", filters=filters, rows=removed)
                return (dbc.Alert(f"Bron “{source}” verwijderd ({removed} rijen).",
                                         color="info", id="bronnen-verwijderd"), bump)
            if contents is None:
                return dash.no_update, dash.no_update
            return layout.result(upload(contents, filename, gm_code, name, title,
                                        description)), bump
        except OutOfScope as exc:
            return refusal(str(exc)), dash.no_update
