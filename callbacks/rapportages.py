"""Rapportages: the list of products the user may open, the "Nieuw" count in the navigation
and "Nu maken". All three are data views (scoped, logged); the files themselves are served by
``dashboard/rapportages.py``. "Nu maken" submits a background job (``data/jobs``): one active
job per user, the queue bounds the server; a timer follows the job (queued, progress, the product
or the error) and its button stays disabled until the job ended. Releasing a concept
("Vaststellen") is a job of its own the same way."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, html

from callbacks.guard import Served, data_callback, refusal
from data import protocol
from dashboard.auth import current_scope, current_user, get_db, get_state
from dashboard.jobs import status as job_state
from dashboard.jobs import submit as submit_job
from data.accounts import POLICE_ROLES, get_profile
from data.products import archive, concepts, schedule
from data.products.model import KINDS
from data.queries.products import area_options, product_area
from data.scope import OutOfScope
from layouts import rapportages as layout
from layouts.jobs import job_status


def _kinds() -> list[tuple[str, str]]:
    return [(k, title) for k, (title, _tabular) in KINDS.items() if schedule.makeable(k)]


def _offered(state, area: str) -> list[tuple[str, str]]:
    """(kind, title) that "Nu maken" offers the current user for ``area`` (in scope)."""
    kinds = schedule.offered_kinds(getattr(current_user(), "role", None),
                                   get_profile(state, area))
    return [(k, KINDS[k][0]) for k in kinds]


UNKNOWN_PRODUCT = dbc.Alert("Onbekend product.", color="warning")


def _known_kind(kind) -> bool:
    """A kind "Nu maken" and concepts can make (themed reports come from their templates)."""
    return isinstance(kind, str) and schedule.makeable(kind)


def _latest(profile, kind: str):
    return schedule.latest_for(profile, kind, datetime.now())


def _own_job(job_id: str):
    """The current user's job (OutOfScope for an unknown job or another user's), its result
    and the filters its status view logs."""
    job = job_state(flask.current_app.config["VB_SETTINGS"], get_state(), job_id,
                    current_user().name)
    if job is None:
        raise OutOfScope("unknown job or another user's")
    return job, job.result or {}, {"taak": job.id, "status": job.status}


def _not_released(text: str):
    return dbc.Alert(text, color="warning", id="concept-niet-vastgesteld")


def _police() -> bool:
    return getattr(current_user(), "role", None) in POLICE_ROLES


def page(search=None):
    params = parse_qs((search or "").lstrip("?")) if isinstance(search, str) else {}
    if "concept" in params:
        return _concept_page(params["concept"][0])
    if "correctie" in params:
        return _correction_page(params["correctie"][0])
    scope = current_scope()
    areas = area_options(get_db(), scope=scope) if not scope.empty else []
    offered = _offered(get_state(), areas[0][0]) if areas else []
    return layout.page(offered, areas, police=_police(), concept_kinds=_kinds(),
                       template_form=_template_form(scope))


def _template_gemeenten(scope) -> list[tuple[str, str]]:
    """The gemeenten the user may save a template for: every one for a beheerder, those of
    the scope for a teamchef or analist, none for anyone else."""
    from data.accounts import gemeente_choices
    from data.products.templates import EDITORS

    role = getattr(current_user(), "role", None)
    if role not in EDITORS:
        return []
    every = gemeente_choices(get_db())
    return every if role == "beheerder" else [(c, n) for c, n in every if c in scope.gemeenten]


def _template_form(scope):
    from data.accounts import FREQUENCIES, type_choices
    from data.products import templates as tpl

    gemeenten = _template_gemeenten(scope)
    if not gemeenten:
        return None
    state = get_state()
    saved = [(gm, t.name, f"{tpl.TITLES[t.soort]}, {', '.join(t.theme)}, "
                          f"{tpl.PERIODS[t.period]}, {t.every}")
             for gm, _ in gemeenten for t in tpl.templates(state, gm)]
    return layout.templates_card(gemeenten, type_choices(get_db()), list(tpl.TITLES.items()),
                                 list(tpl.PERIODS.items()), list(tpl.SECTIONS.items()),
                                 [(f, f) for f in FREQUENCIES], saved)


def _id(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() and len(text) < 12 else None


def _concept_page(text):
    """A concept for its police author; anyone else gets a refusal (logged)."""
    state, scope, user = get_state(), current_scope(), current_user()
    try:
        concept = concepts.checked(state, user=user, scope=scope, concept_id=_id(text),
                                   view="rapportages/concept", client=flask.request.remote_addr)
    except OutOfScope as exc:
        return refusal(str(exc))
    revision = concepts.latest(state, concept.id)
    released = (archive.get_product(state, concept.released_product)
                if concept.released_product else None)
    protocol.record(state, user=user, scope=scope, view="rapportages/concept",
                    filters={"concept": concept.id, "revisie": revision.revision}, rows=1,
                    client=flask.request.remote_addr)
    return layout.concept_page(concept, revision, concepts._corrected_version(state, concept),
                               released)


def _correction_page(text):
    """Start a correction of a product, for the police whose scope covers it."""
    state, scope, user = get_state(), current_scope(), current_user()
    product_id = _id(text)
    product = archive.get_product(state, product_id) if product_id is not None else None
    if (product is None or not _police() or not archive.may_open(scope, product)
            or product.gemeenten != (product.area_code,)):
        protocol.record(state, user=user, scope=scope, view="rapportages/correctie",
                        filters={"product": product_id}, rows=0,
                        client=flask.request.remote_addr, outcome="refused",
                        detail="no such product, not a police role or outside the scope")
        return refusal(str(OutOfScope()))
    return layout.correction_page(product)


def validation_page():
    from data.products.concepts import Concept, Revision
    concept = Concept(0, "gebiedsscan", "GM0000", "x", ("GM0000",), "x", "x", "2000-01-01",
                      ("x",), "", "", False, 1)
    product = type("P", (), {"title": "x", "area_name": "x", "period_label": "x",
                             "version": 1, "id": 0})()
    return html.Div([
        layout.page([("stuurgegevens", "x")], [("GM0000", "x")], police=True,
                    template_form=layout.templates_card(
                        [("GM0000", "x")], [("x", "x")], [("x", "x")], [("x", "x")],
                        [("x", "x")], [("x", "x")], [])),
        layout.concept_page(concept, Revision(0, 0, dict(concepts.EMPTY, secties={}), "", "",
                                              ""), 1),
        layout.correction_page(product)])


def _folder():
    return flask.current_app.config["VB_SETTINGS"].products_path()


def register(app) -> None:
    @data_callback(app, "rapportages/lijst", [Output("rapportages-lijst", "children")],
                   [Input("rapportages-signal", "data")])
    def product_list(scope, _signal):
        products = archive.list_products(get_state(), scope=scope)
        user = current_user()
        seen = archive.opened_ids(get_state(), user.name) if user else set()
        correctable = concepts.released_ids(get_state()) if _police() else set()
        return Served((layout.product_list(products, seen, correctable),), len(products),
                      {"producten": [p.id for p in products][:50]})

    @data_callback(app, "rapportages/badge", [Output("rapportages-badge", "children")],
                   [Input("url", "pathname"), Input("melding-interval", "n_intervals")],
                   log="on_change")
    def badge(scope, _pathname, _n):
        ids = archive.unread(get_state(), scope=scope, user=current_user())
        return Served((layout.badge(len(ids)),), len(ids),
                      {"nieuw": len(ids), "producten": ids[:50]})

    @data_callback(app, "rapportages/maken",
                   [Output("rapportages-melding", "children"),
                    Output("rapportages-taak-status", "children", allow_duplicate=True),
                    Output("rapportages-taak", "data"),
                    Output("rapportages-taak-tik", "disabled", allow_duplicate=True),
                    Output("rapportages-maak", "disabled", allow_duplicate=True)],
                   [Input("rapportages-maak", "n_clicks")],
                   [State("rapportages-soort", "value"), State("rapportages-gebied", "value")],
                   prevent_initial_call=True)
    def make(scope, clicks, kind, area):
        """Submit the product job (``data/jobs``) and return at once; :func:`make_status`
        follows it. The job builds the scope again on its side when it runs."""
        if scope.empty:
            raise OutOfScope("empty scope")
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update,) * 5, 0, {})
        if not _known_kind(kind):
            return Served((UNKNOWN_PRODUCT, *(dash.no_update,) * 4), 0, {})
        if not isinstance(area, str):
            raise OutOfScope("no area")
        con, state = get_db(), get_state()
        product_area(con, scope=scope, area=area)  # OutOfScope outside the scope
        if kind not in dict(_offered(state, area)):  # a forged request for another kind
            raise OutOfScope(f"product {kind} is not agreed for {area}")
        # One active job per user (Busy, refused by the guard); the queue bounds the server.
        job = submit_job(flask.current_app.config["VB_SETTINGS"], state, kind="product",
                         user=current_user().name, client=flask.request.remote_addr,
                         payload={"kind": kind, "area": area, "now": datetime.now().isoformat()})
        return Served((None, job_status(job.public()), job.id, False, True), 1,
                      {"taak": job.id, "soort": kind, "gebied": area})

    @data_callback(app, "rapportages/taak",
                   [Output("rapportages-taak-status", "children"),
                    Output("rapportages-signal", "data"),
                    Output("rapportages-taak-tik", "disabled"),
                    Output("rapportages-maak", "disabled")],
                   [Input("rapportages-taak-tik", "n_intervals")],
                   [State("rapportages-taak", "data")], prevent_initial_call=True,
                   log="on_change")
    def make_status(scope, _n, job_id):
        """The user's own "Nu maken" job: queued, progress, then the product (the list
        reloads) or the Dutch error. Logged when the status changes."""
        if not isinstance(job_id, str):
            return Served((dash.no_update, dash.no_update, True, False), 0, {})
        job, made, filters = _own_job(job_id)
        if job.status == "done":
            seconds = made.get("seconds")
            message = dbc.Alert(
                f"Gemaakt: {made.get('title')}, {made.get('area_name')}, "
                f"{made.get('period_label')} (versie {made.get('version')}"
                + (f", {round(seconds)} s)." if seconds is not None else ")."),
                color="success", id="rapportages-gemaakt")
            return Served((message, made.get("product"), True, False), 1,
                          {**filters, "product": made.get("product")})
        finished = job.status == "failed"
        return Served((job_status(job.public()), dash.no_update, finished,
                       not finished), 0, filters)

    @data_callback(app, "rapportages/soorten",
                   [Output("rapportages-soort-uitleg", "children"),
                    Output("rapportages-soort", "options"), Output("rapportages-soort", "value")],
                   [Input("rapportages-gebied", "value")], [State("rapportages-soort", "value")],
                   prevent_initial_call=True)
    def kinds_for_area(scope, area, chosen):
        """The kinds "Nu maken" offers for the chosen gemeente (role and agreement profile)."""
        if scope.empty or not isinstance(area, str):
            raise OutOfScope("no area")
        product_area(get_db(), scope=scope, area=area)  # OutOfScope outside the scope
        offered = _offered(get_state(), area)
        options = [{"label": title, "value": kind} for kind, title in offered]
        value = chosen if chosen in dict(offered) else (offered[0][0] if offered else None)
        return Served((layout.kinds_note(_police(), bool(offered)), options, value),
                      len(offered), {"gebied": area})

    # -- themed-report templates ---------------------------------------------------------------

    @data_callback(app, "rapportages/sjabloon", [Output("sjabloon-melding", "children")],
                   [Input("sjabloon-opslaan", "n_clicks")],
                   [State("sjabloon-gemeente", "value"), State("sjabloon-naam", "value"),
                    State("sjabloon-soort", "value"), State("sjabloon-thema", "value"),
                    State("sjabloon-secties", "value"), State("sjabloon-periode", "value"),
                    State("sjabloon-frequentie", "value")],
                   prevent_initial_call=True,
                   running=[(Output("sjabloon-opslaan", "disabled"), True, False)])
    def save_template(scope, clicks, gemeente, name, soort, theme, sections, period, every):
        from data.accounts import AccountError
        from data.products import templates as tpl

        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update,), 0, {})
        texts = (gemeente, name, soort, period, every)
        if not all(isinstance(v, str) for v in texts) or not all(
                isinstance(v, list) and all(isinstance(x, str) for x in v)
                for v in (theme, sections)):
            raise ValueError("template fields are not plain values")
        user = current_user()
        template = tpl.Template(name.strip(), soort, tuple(theme), period, tuple(sections), every)
        try:
            tpl.add(get_state(), get_db(), gemeente, template, by=user.name, user=user,
                    scope=scope, client=flask.request.remote_addr)
        except AccountError as exc:
            return Served((dbc.Alert("Niet opgeslagen: kies een naam van kleine letters, "
                                     "cijfers en streepjes, ten minste één thema en één "
                                     "onderdeel.", color="warning", id="sjabloon-fout"),), 0,
                          {"gemeente": gemeente, "sjabloon": name, "fout": str(exc)[:200]})
        return Served((dbc.Alert(f"Sjabloon {template.name} opgeslagen voor {gemeente}.",
                                 color="success", id="sjabloon-opgeslagen"),), 1,
                      {"gemeente": gemeente, "sjabloon": template.name})

    # -- concepts (police only) ----------------------------------------------------------------

    @data_callback(app, "rapportages/concepten", [Output("concepten-lijst", "children")],
                   [Input("rapportages-signal", "data")])
    def concept_list(scope, _signal):
        found = concepts.list_concepts(get_state(), user=current_user(), scope=scope)
        return Served((layout.concept_list(found),), len(found),
                      {"concepten": [c.id for c in found][:50]})

    @data_callback(app, "rapportages/concept/maken",
                   [Output("concept-maak-melding", "children"),
                    Output("rapportages-naar", "href")],
                   [Input("concept-maak", "n_clicks")],
                   [State("concept-soort", "value"), State("concept-gebied", "value")],
                   prevent_initial_call=True,
                   running=[(Output("concept-maak", "disabled"), True, False)])
    def make_concept(scope, clicks, kind, area):
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update, dash.no_update), 0, {})
        if not _known_kind(kind):
            return Served((UNKNOWN_PRODUCT, dash.no_update), 0, {})
        if not isinstance(area, str):
            raise OutOfScope("no area")
        state = get_state()
        due, reference = _latest(get_profile(state, area), kind)
        concept, new = concepts.create(
            flask.current_app.config["VB_STORE"], state, kind=kind, area=area,
            reference=reference, period_key=due.key, scope=scope, user=current_user(),
            client=flask.request.remote_addr)
        message = dbc.Alert("Concept gemaakt." if new else "Er is al een concept voor deze "
                            "periode; dat wordt geopend.", color="success")
        return Served((message, f"/rapportages?concept={concept.id}"), 1,
                      {"concept": concept.id, "nieuw": new, "soort": kind, "gebied": area,
                       "periode": due.key})

    def _texts(concept, duiding, beschouwingen, reden):
        if not isinstance(beschouwingen, list) or len(beschouwingen) != len(concept.sections):
            raise ValueError("the sections do not match the concept")
        reason = reden[0] if isinstance(reden, list) and reden else None
        return duiding, dict(zip(concept.sections, beschouwingen)), reason

    def _changed(state, concept, duiding, sections, reason) -> bool:
        old = concepts.latest(state, concept.id).texts
        def text(block):
            return (block or {}).get("text", "")
        if (duiding or "").strip() != text(old.get("duiding")):
            return True
        if reason is not None and reason.strip() != (old.get("reden") or ""):
            return True
        return any((value or "").strip() != text(old["secties"].get(title))
                   for title, value in sections.items())

    @data_callback(app, "rapportages/concept/opslaan",
                   [Output("concept-melding", "children"), Output("concept-revisie", "children")],
                   [Input("concept-opslaan", "n_clicks")],
                   [State("concept-id", "data"), State("concept-duiding", "value"),
                    State({"type": "concept-beschouwing", "index": ALL}, "value"),
                    State({"type": "concept-reden", "index": ALL}, "value")],
                   prevent_initial_call=True)
    def save(scope, clicks, concept_id, duiding, beschouwingen, reden):
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update, dash.no_update), 0, {})
        state, user = get_state(), current_user()
        concept = concepts.checked(state, user=user, scope=scope, concept_id=concept_id,
                                   view="rapportages/concept/opslaan",
                                   client=flask.request.remote_addr)
        duiding, sections, reason = _texts(concept, duiding, beschouwingen, reden)
        try:
            revision = concepts.save(state, concept, user=user, scope=scope, duiding=duiding,
                                     sections=sections, reason=reason,
                                     client=flask.request.remote_addr)
        except concepts.ConceptClosed:
            return Served((dbc.Alert("Dit concept is al vastgesteld.", color="warning"),
                           dash.no_update), 0, {"concept": concept.id})
        return Served((dbc.Alert("Opgeslagen.", color="success", id="concept-opgeslagen",
                                 duration=4000),
                       layout.revision_text(revision)), 1,
                      {"concept": concept.id, "revisie": revision.revision})

    # its own output first: DATA_VIEWS is keyed by a callback's first output
    @data_callback(app, "rapportages/concept/vaststellen",
                   [Output("concept-knoppen", "children"),
                    Output("concept-melding", "children", allow_duplicate=True),
                    Output("concept-taak", "data"),
                    Output("concept-taak-tik", "disabled", allow_duplicate=True),
                    Output("concept-vaststellen", "disabled", allow_duplicate=True)],
                   [Input("concept-vaststellen", "n_clicks")],
                   [State("concept-id", "data"), State("concept-duiding", "value"),
                    State({"type": "concept-beschouwing", "index": ALL}, "value"),
                    State({"type": "concept-reden", "index": ALL}, "value")],
                   prevent_initial_call=True)
    def release(scope, clicks, concept_id, duiding, beschouwingen, reden):
        """Save what is on screen, then release it as a background job (``data/jobs``, kind
        ``release``); :func:`release_status` follows it."""
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update,) * 5, 0, {})
        state, user = get_state(), current_user()
        client = flask.request.remote_addr
        concept = concepts.checked(state, user=user, scope=scope, concept_id=concept_id,
                                   view="rapportages/concept/vaststellen", client=client)
        duiding, sections, reason = _texts(concept, duiding, beschouwingen, reden)
        try:
            if _changed(state, concept, duiding, sections, reason):  # release what is on screen
                concepts.save(state, concept, user=user, scope=scope, duiding=duiding,
                              sections=sections, reason=reason, client=client)
        except concepts.ConceptClosed:
            return Served((dash.no_update, _not_released("Dit concept is al vastgesteld."),
                           dash.no_update, dash.no_update, dash.no_update), 0,
                          {"concept": concept.id})
        job = submit_job(flask.current_app.config["VB_SETTINGS"], state, kind="release",
                         user=user.name, client=client, payload={"concept": concept.id})
        return Served((dash.no_update, job_status(job.public(), "concept"), job.id,
                       False, True), 1, {"concept": concept.id, "taak": job.id})

    @data_callback(app, "rapportages/concept/taak",
                   [Output("concept-taak-status", "children"),
                    Output("concept-knoppen", "children", allow_duplicate=True),
                    Output("concept-melding", "children", allow_duplicate=True),
                    Output("concept-taak-tik", "disabled"),
                    Output("concept-vaststellen", "disabled")],
                   [Input("concept-taak-tik", "n_intervals")],
                   [State("concept-taak", "data")], prevent_initial_call=True,
                   log="on_change")
    def release_status(scope, _n, job_id):
        if not isinstance(job_id, str):
            return Served((dash.no_update, dash.no_update, dash.no_update, True, False), 0, {})
        job, made, filters = _own_job(job_id)
        if job.status == "done":
            seconds = made.get("seconds")
            message = dbc.Alert([
                f"Vastgesteld: {made.get('title')}, {made.get('area_name')}, "
                f"{made.get('period_label')}, versie {made.get('version')}"
                + (f" ({round(seconds)} s)" if seconds is not None else "")
                + ". De gemeente ziet het nu. ",
                html.A("Openen (PDF)", href=f"/rapportages/{made.get('product')}.pdf",
                       target="_blank")], color="success", id="concept-vastgesteld")
            return Served((None, html.A("Terug naar Rapportages", href="/rapportages"),
                           message, True, True), 1, {**filters, "product": made.get("product")})
        if job.status == "failed":
            return Served((None, dash.no_update, _not_released(job.error), True, False), 0,
                          filters)
        return Served((job_status(job.public(), "concept"), dash.no_update,
                       dash.no_update, False, True), 0, filters)

    @data_callback(app, "rapportages/correctie",
                   [Output("correctie-melding", "children"), Output("correctie-naar", "href")],
                   [Input("correctie-start", "n_clicks")],
                   [State("correctie-product", "data"), State("correctie-reden", "value")],
                   prevent_initial_call=True,
                   running=[(Output("correctie-start", "disabled"), True, False)])
    def start_correction(scope, clicks, product_id, reason):
        if not isinstance(clicks, int) or clicks < 1:
            return Served((dash.no_update, dash.no_update), 0, {})
        user, state = current_user(), get_state()
        product = archive.get_product(state, product_id) if isinstance(product_id, int) else None
        if product is None or getattr(user, "role", None) not in POLICE_ROLES:
            raise OutOfScope("no such product or not a police role")
        if not isinstance(reason, str) or not reason.strip():
            return Served((dbc.Alert("Zeg wat er veranderd is.", color="warning"),
                           dash.no_update), 0, {"product": product.id})
        concept, _new = concepts.create(
            flask.current_app.config["VB_STORE"], state, kind=product.kind,
            area=product.area_code, reference=concepts.product_reference(product),
            period_key=product.period_key, scope=scope,
            user=user, corrects=product.id, reason=reason, client=flask.request.remote_addr)
        return Served((dbc.Alert("Correctieconcept gemaakt.", color="success"),
                       f"/rapportages?concept={concept.id}"), 1,
                      {"product": product.id, "concept": concept.id})
