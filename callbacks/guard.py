"""The one way a callback serves police data: ``data_callback``.

It builds the scope on the server, calls the view function with it, writes the protocol-log row
*before* the response leaves, and turns an out-of-scope request into a short Dutch message (the
detail goes to the log only). Every data view registers here, so tests can enumerate them.

Forged or malformed callback values (a list where a string is expected, a dict as a date, a
100 kB string) never make a 500: the exceptions they cause in a view (:data:`MALFORMED`) become
the same refusal, with a protocol-log row (outcome ``refused``) whose detail names the inputs
that were not plain values. Callbacks that serve no police data get the same net from
:func:`callback_error`, Dash's ``on_error`` handler (no update, a warning in the server log).
Any other exception (the protocol log cannot be written, the database is gone) still fails the
request: no data leaves without its log row.
"""
from __future__ import annotations

import hashlib
import logging
import sqlite3
from dataclasses import dataclass, field

import dash
import dash_bootstrap_components as dbc
import duckdb
import flask
import psycopg

from dashboard.auth import current_scope, current_user, get_state
from data import protocol
from data.heavy import Busy
from data.state import dumps
from data.scope import OutOfScope

#: Output ids of every data callback, filled at registration (for tests and documentation).
DATA_VIEWS: dict[str, str] = {}

#: What a malformed value raises inside a view or a query (wrong type, unparsable text, a
#: parameter SQLite, PostgreSQL or DuckDB cannot bind or convert, a number too large for
#: SQLite's INTEGER). Deliberately not: OSError, StoreError,
#: sqlite3.OperationalError/IntegrityError and psycopg.OperationalError (state database
#: unwritable or unreachable), DuckDB I/O errors.
MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError,
             sqlite3.InterfaceError, sqlite3.ProgrammingError, psycopg.DataError,
             duckdb.ConversionException,
             duckdb.TypeMismatchException, duckdb.InvalidInputException, duckdb.BinderException)

#: Message for a request the page itself would never send.
MALFORMED_MESSAGE = "Ongeldig verzoek. Herlaad de pagina."

logger = logging.getLogger(__name__)


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

    names = [f"{d.component_id}.{d.component_property}" for d in (*inputs, *states)]

    def decorator(fn):
        def callback(*values):
            scope = current_scope()
            entry = dict(db=get_state(), user=current_user(), scope=scope, view=view,
                         client=flask.request.remote_addr)

            def refuse(message: str, detail: str):
                protocol.record(**entry, filters={"inputs": _short(values)}, rows=0,
                                outcome="refused", detail=detail)
                return (refusal(message), *_unchanged())

            try:
                served = fn(scope, *values)
            except (OutOfScope, Busy) as exc:
                return refuse(str(exc), exc.detail)
            except MALFORMED as exc:
                logger.warning("view %s refused malformed input", view, exc_info=True)
                return refuse(MALFORMED_MESSAGE, _malformed(exc, names, values))
            if not _fits(served.outputs):
                return refuse(MALFORMED_MESSAGE, "outputs of the request do not match the page")
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
    return [v[:200] if isinstance(v, str) else v if isinstance(v, (int, float, type(None)))
            else str(v)[:200] for v in values]


def _kind(value) -> str:
    if isinstance(value, (str, list, dict)):
        return f"{type(value).__name__}({len(value)})"
    return type(value).__name__


def _plain(value) -> bool:
    """A value a control sends: a short string, a number, nothing, or a short flat list."""
    if isinstance(value, str):
        return len(value) <= 1000
    if isinstance(value, list):
        return len(value) <= 200 and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value)
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _malformed(exc: Exception, names: list[str], values) -> str:
    """The log detail: the error, then the inputs that were not plain values (every input's
    kind when all were plain)."""
    pairs = list(zip(names, values))
    odd = [(n, v) for n, v in pairs if not _plain(v)] or pairs
    inputs = ", ".join(f"{n}={_kind(v)}" for n, v in odd)
    return f"malformed input ({type(exc).__name__}: {str(exc)[:200]}); {inputs}"[:1000]


def _unchanged() -> list:
    """``no_update`` for every output after the first, as Dash wants it: a list with one
    entry per match for a wildcard (ALL) output."""
    spec = dash.ctx.outputs_list
    if not isinstance(spec, list):  # a single output: only the refusal
        return []
    return [[dash.no_update] * len(s) if isinstance(s, list) else dash.no_update
            for s in spec[1:]]


def _fits(outputs) -> bool:
    """Whether a view's outputs fit the outputs the request names (a forged request may list
    a wildcard output with more or fewer matches than the page has)."""
    spec = dash.ctx.outputs_list
    if not isinstance(spec, list):
        return True
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(spec):
        return False
    return all(not isinstance(s, list) or value is dash.no_update
               or (isinstance(value, (list, tuple)) and len(value) == len(s))
               for value, s in zip(outputs, spec))


def callback_error(exc: Exception):
    """Dash's ``on_error`` handler for every callback: a malformed value (forged request) makes
    no update and a warning in the server log; anything else is raised again (a 500)."""
    if isinstance(exc, MALFORMED):
        logger.warning("callback refused malformed input: %s: %s", type(exc).__name__,
                    str(exc)[:200])
        return None
    raise exc
