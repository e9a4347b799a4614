"""What an app instance needs behind a load balancer (``deploy/cluster``, README *Run as a
cluster*):

* ``GET /_health``: the balancer's health check. Open without a session and light: the
  database link resolves to a version file and the state database answers. 200 ``ok`` or 503;
  it carries no data and writes no protocol row.
* ``X-Served-By: <DASHBOARD_INSTANCE>`` on every response when the setting is set: which
  instance answered (a name the operator chose, nothing else).
* ``DASHBOARD_PROXIES``: trust that many proxies' ``X-Forwarded-For`` entries (werkzeug's
  ProxyFix), so that the login and API limits count, and the protocol log records, the
  client's address instead of the balancer's. Without it the header is ignored: a client
  could write anything there.
"""
from __future__ import annotations

import flask

HEALTH_PATH = "/_health"


def init_cluster(server: flask.Flask, settings) -> None:
    if settings.proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.proxies, x_proto=0,
                                   x_host=0, x_port=0, x_prefix=0)

    if settings.instance:
        @server.after_request
        def served_by(response: flask.Response) -> flask.Response:
            response.headers["X-Served-By"] = settings.instance
            return response

    @server.route(HEALTH_PATH)
    def health():
        try:
            server.config["VB_STORE"].version()  # the link resolves to a readable version
            server.config["VB_STATE"].ping()
        except Exception:  # noqa: BLE001 - any failure means: send no users here
            server.logger.exception("health check failed")
            return flask.Response("niet gereed", status=503, mimetype="text/plain")
        return flask.Response("ok", mimetype="text/plain")
