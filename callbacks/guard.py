"""The one way a callback serves police data: ``data_callback``.

It builds the scope on the server, calls the view function with it, writes the protocol-log row
*before* the response leaves, and turns an out-of-scope request into a short Dutch message (the
detail goes to the log only). Every data view registers here, so tests can enumerate them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import dash
import dash_bootstrap_components as dbc
import flask

from dashboard.auth import current_scope, current_user, get_state
from data import protocol
from data.heavy import Busy
from data.state import dumps
from data.scope import OutOfScope

#: Output ids of every data callback, filled at registration (for tests and documentation).
DATA_VIEWS: dict[str, str] = {}


@dataclass
class Served:
    """What a data view returns: the Dash outputs, and what the protocol log records."""
    outputs: tuple
    rows: int
    filters: dict = field(default_factory=dict)


def refusal(message: str):
    return dbc.Alert(message, color="warning", className="mb-0 refusal")


def refused_page(view: str, search, exc: OutOfScope):
    """For a page builder asked (by a link) for data outside the scope: log the refusal and
    return the message. Pages refuse whole rather than let a control silently drop the
    unknown value and show the user's own area instead."""
    protocol.record(get_state(), user=current_user(), scope=current_scope(), view=view,
                    filters={"inputs": [str(search)[:200]]}, rows=0,
                    client=flask.request.remote_addr, outcome="refused", detail=exc.detail)
    return refusal(str(exc))


def data_callback(app, view: str, outputs: list, inputs: list, states: list = (),
                  prevent_initial_call: bool = False, log: str = "always", running=None):
    """Register ``fn(scope, *values) -> Served`` as a logged, scoped Dash callback.

    The first output must accept children: it carries the refusal message when the request is
    out of scope; the other outputs are left unchanged then. ``prevent_initial_call`` is passed
    to Dash (for views that only run when another callback or a click feeds them), and so is
    ``running`` (e.g. disable a button while the view works). A heavy action refused by
    ``data/heavy.py`` (``Busy``) is logged and shown like an out-of-scope request.

    ``log="on_change"`` is for views that a timer polls (the meldingen badge): a response is
    logged unless this login session already logged the very same answer (same scope, rows and
    filters) for the view, so an unchanged poll adds no row but every new answer does. Refusals
    are always logged."""
    if log not in ("always", "on_change"):
        raise ValueError(f"log must be 'always' or 'on_change', not {log!r}")

    def decorator(fn):
        def callback(*values):
            scope = current_scope()
            entry = dict(db=get_state(), user=current_user(), scope=scope, view=view,
                         client=flask.request.remote_addr)
            try:
                served = fn(scope, *values)
            except (OutOfScope, Busy) as exc:
                protocol.record(**entry, filters={"inputs": _short(values)}, rows=0,
                                outcome="refused", detail=exc.detail)
                return (refusal(str(exc)), *([dash.no_update] * (len(outputs) - 1)))
            digest = _digest(scope, served) if log == "on_change" else None
            if digest is None or flask.session.get(f"vb_logged:{view}") != digest:
                protocol.record(**entry, filters=served.filters, rows=served.rows)
                if digest is not None:
                    flask.session[f"vb_logged:{view}"] = digest
            return served.outputs

        app.callback(*outputs, *inputs, *states, prevent_initial_call=prevent_initial_call,
                     running=running)(callback)
        DATA_VIEWS[f"{outputs[0].component_id}.{outputs[0].component_property}"] = view
        return fn
    return decorator


def _digest(scope, served: Served) -> str:
    text = dumps([scope.fingerprint(), served.rows, served.filters])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _short(values) -> list:
    return [v if isinstance(v, (str, int, float, type(None))) else str(v)[:200] for v in values]
