"""Who is asking, and what may they see.

Until accounts and login exist (issue 3) there is no user: in demo mode a visitor gets the
aggregate level (detail 1) of every gemeente in the demo database; outside demo mode nobody sees
anything (default deny). The scope is always built here, on the server.
"""
from __future__ import annotations

import flask

from data.scope import DENY, Scope, demo_visitor_scope


def get_db():
    """The read-only DuckDB connection of this process (reopened after a data refresh)."""
    return flask.current_app.config["VB_STORE"].read()


def current_scope() -> Scope:
    if not flask.current_app.config.get("VB_DEMO"):
        return DENY
    return demo_visitor_scope(get_db())
