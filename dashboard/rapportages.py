"""The files of generated products, served by Flask (behind the login guard):
``GET /rapportages/<id>.html|.pdf|.xlsx|.csv``; and the preview of a concept,
``GET /rapportages/concept/<id>.html``: the HTML as the gemeente will get it when released, for
the police roles whose scope covers it only (``data.products.concepts.may_edit``; anyone else
is refused, logged), built on request and logged (``rapportages/concept/voorbeeld``).

Each request checks ``data.products.archive.may_open`` for the logged-in user's scope, writes
the protocol-log row (view ``rapportages/open``; refusals too) and marks the product as opened
for the "Nieuw" badge *before* the stored bytes — exactly the frozen file — leave. HTML and PDF
open in the browser, XLSX and CSV download. The HTML is self-contained and served with a
Content-Security-Policy that allows no script and no outside request.
"""
from __future__ import annotations

import flask

from dashboard.auth import current_scope, current_user, get_state
from data import heavy, protocol
from data.products import archive, concepts
from data.scope import OutOfScope

#: A row id in a URL: larger numbers than the state database's INTEGER holds are no route (404),
#: not an OverflowError in the query (a 500).
ROW_ID = f"int(max={2 ** 63 - 1})"

HTML_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def init_rapportages(server: flask.Flask) -> None:
    @server.route(f"/rapportages/<{ROW_ID}:product_id>.<fmt>")
    def product_file(product_id: int, fmt: str):
        if fmt not in archive.FORMATS:
            return flask.Response("Onbekend formaat.", status=404, mimetype="text/plain")
        try:
            product, data = archive.open_product(
                get_state(), scope=current_scope(), user=current_user(),
                product_id=product_id, fmt=fmt, client=flask.request.remote_addr)
        except OutOfScope as exc:
            return flask.Response(str(exc), status=403, content_type="text/plain; charset=utf-8")
        inline = fmt in ("html", "pdf")
        response = flask.Response(data, content_type=archive.FORMATS[fmt])
        response.headers["Content-Disposition"] = (
            f'{"inline" if inline else "attachment"}; filename="{product.filename(fmt)}"')
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if fmt == "html":
            response.headers["Content-Security-Policy"] = HTML_POLICY
        return response

    @server.route(f"/rapportages/concept/<{ROW_ID}:concept_id>.html")
    def concept_preview(concept_id: int):
        state, scope, user = get_state(), current_scope(), current_user()
        client = flask.request.remote_addr
        try:
            concept = concepts.checked(state, user=user, scope=scope, concept_id=concept_id,
                                       view="rapportages/concept/voorbeeld", client=client)
            with heavy.slot(state, user=user.name, kind="voorbeeld",
                            slots=flask.current_app.config["VB_SETTINGS"].heavy_slots):
                data = concepts.preview(flask.current_app.config["VB_STORE"], state, concept,
                                        user=user, scope=scope, client=client)
        except OutOfScope as exc:
            return flask.Response(str(exc), status=403, content_type="text/plain; charset=utf-8")
        except heavy.Busy as exc:
            protocol.record(state, user=user, scope=scope, view="rapportages/concept/voorbeeld",
                            filters={"concept": concept_id}, rows=0, client=client,
                            outcome="refused", detail=exc.detail)
            return flask.Response(str(exc), status=429, content_type="text/plain; charset=utf-8")
        response = flask.Response(data, content_type=archive.FORMATS["html"])
        response.headers["Content-Disposition"] = (
            f'inline; filename="concept-{concept.id}-voorbeeld.html"')
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = HTML_POLICY
        return response
