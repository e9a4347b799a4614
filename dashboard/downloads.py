"""File downloads served by Flask (behind the login guard). Each download is logged before the
file leaves the server."""
from __future__ import annotations

import flask

from dashboard.auth import current_scope, current_user, get_state
from data import protocol


def _csv_response(text: str, filename: str) -> flask.Response:
    return flask.Response("\ufeff" + text, content_type="text/csv; charset=utf-8",
                          headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def init_downloads(server: flask.Flask) -> None:
    @server.route("/beheer/protocol.csv")
    def protocol_export():
        """The protocol log for the beheerder, filtered like the admin page."""
        user = current_user()
        args = {k: flask.request.args.get(k) or None for k in ("user", "since", "view", "outcome")}
        state = get_state()
        if user is None or user.role != "beheerder":
            protocol.record(state, user=user, scope=current_scope(), view="beheer/protocol-export",
                            filters=args, rows=0, client=flask.request.remote_addr,
                            outcome="refused", detail="role is not beheerder")
            return flask.Response("Geen toegang.", status=403)
        rows = protocol.search(state, **args, limit=1_000_000)
        protocol.record(state, user=user, scope=None, view="beheer/protocol-export", filters=args,
                        rows=len(rows), client=flask.request.remote_addr)
        return _csv_response(protocol.to_people_csv(rows), "protocol-log.csv")

    @server.route("/mijn-log.csv")
    def own_log_export():
        """A user's own protocol-log rows."""
        user = current_user()
        state = get_state()
        rows = protocol.search(state, user=user.name, limit=1_000_000)
        protocol.record(state, user=user, scope=None, view="mijn-log/export", filters={},
                        rows=len(rows), client=flask.request.remote_addr)
        return _csv_response(protocol.to_people_csv(rows), "mijn-log.csv")
