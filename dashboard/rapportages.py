"""The files of generated products, served by Flask (behind the login guard):
``GET /rapportages/<id>.html|.pdf|.xlsx|.csv``.

Each request checks ``data.products.archive.may_open`` for the logged-in user's scope, writes
the protocol-log row (view ``rapportages/open``; refusals too) and marks the product as opened
for the "Nieuw" badge *before* the stored bytes — exactly the frozen file — leave. HTML and PDF
open in the browser, XLSX and CSV download. The HTML is self-contained and served with a
Content-Security-Policy that allows no script and no outside request.
"""
from __future__ import annotations

import flask

from dashboard.auth import current_scope, current_user, get_state
from data.products import archive
from data.scope import OutOfScope

HTML_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def init_rapportages(server: flask.Flask) -> None:
    @server.route("/rapportages/<int:product_id>.<fmt>")
    def product_file(product_id: int, fmt: str):
        if fmt not in archive.FORMATS:
            return flask.Response("Onbekend formaat.", status=404, mimetype="text/plain")
        try:
            product, data = archive.open_product(
                get_state(), scope=current_scope(), user=current_user(),
                product_id=product_id, fmt=fmt, client=flask.request.remote_addr)
        except OutOfScope as exc:
            return flask.Response(str(exc), status=403, mimetype="text/plain; charset=utf-8")
        inline = fmt in ("html", "pdf")
        response = flask.Response(data, mimetype=archive.FORMATS[fmt])
        response.headers["Content-Disposition"] = (
            f'{"inline" if inline else "attachment"}; filename="{product.filename(fmt)}"')
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if fmt == "html":
            response.headers["Content-Security-Policy"] = HTML_POLICY
        return response
