"""Responses that hold up to a browser attack (dashboard/security.py) and charts that offer no
way out of the building (layouts/figures.py GRAPH_CONFIG): headers on every kind of response,
the request body limit, Dash's callback envelope, and every page in Debian's Chromium under the
Content-Security-Policy — against the real gunicorn server on the demo database."""
from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect

import flask

from dashboard.security import FOREIGN, MAX_BODY, allowed_origins, from_own_site, tile_source
from data.state import StateDB
from data.tokens import create_token

from .conftest import LiveServer, http_login, login

OWN = "GMD001"  # the demo burgemeester's gemeente

HARDENING = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
             "X-Frame-Options": "DENY"}


def _policy(response) -> dict[str, list[str]]:
    text = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in text.split(";") if part.strip()}


def _hardened(response, where: str) -> None:
    for name, value in HARDENING.items():
        assert response.headers.get(name) == value, (where, name)
    policy = _policy(response)
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], where
    assert policy["form-action"] == ["'self'"] and policy["connect-src"] == ["'self'"], where
    scripts = policy["script-src"]
    assert scripts[0] == "'self'" and len(scripts) >= 2, where  # Dash's inline scripts
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", s) for s in scripts[1:]), scripts
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where


def _forge(spec: dict) -> dict:
    """A callback request with every input and state None (as test_access._forge)."""
    deps = lambda kind: [{"id": d["id"], "property": d["property"], "value": None}  # noqa: E731
                         for d in spec[kind]]
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in spec["output"].strip(".").split("...")]
    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": deps("inputs"), "state": deps("state"), "changedPropIds": []}


def _callback(session, server, first_output: str) -> requests.Response:
    specs = {s["output"].strip(".").split("...")[0]: s
             for s in session.get(server.url + "/_dash-dependencies").json()}
    return session.post(server.url + "/_dash-update-component",
                        json=_forge(specs[first_output]))


# -- headers ------------------------------------------------------------------------------------

def test_every_kind_of_response_is_hardened_and_police_data_is_not_stored(demo_server, demo_db):
    mayor = http_login(demo_server, "burgemeester")
    analist = http_login(demo_server, "analist")
    beheerder = http_login(demo_server, "beheerder")
    token = create_token(StateDB(demo_db.parent / "appstate.sqlite"), "burgemeester",
                         label="headers", by="burgemeester")[1]
    api = {"Authorization": f"Bearer {token}"}
    url = demo_server.url
    answers = {
        "login page": requests.get(url + "/login"),
        "page": mayor.get(url + "/"),
        "page /kaart": mayor.get(url + "/kaart"),
        "dash layout": mayor.get(url + "/_dash-layout"),
        "callback: key figures": _callback(mayor, demo_server, "overview-subtitle.children"),
        "callback: meldingen": _callback(mayor, demo_server, "meldingen-lijst.children"),
        "callback: incident rows": _callback(analist, demo_server, "incidenten-count.children"),
        "api counts": requests.get(url + "/api/v1/counts", headers=api),
        "api refusal": requests.get(url + "/api/v1/counts"),
        "own log download": mayor.get(url + "/mijn-log.csv"),
        "protocol download": beheerder.get(url + "/beheer/protocol.csv"),
        "incident export": analist.get(url + "/incidenten/export.csv",
                                       params={"columns": "id,pleegdatum", "from": "2099-01-01"}),
        "export status": analist.get(url + "/incidenten/export-status", params={"job": "x" * 8}),
        "product file": mayor.get(url + "/rapportages/999999.html"),
        "unauthenticated callback": requests.post(url + "/_dash-update-component", json={}),
    }
    assert answers["callback: key figures"].status_code == 200
    assert "key-figure-value" in answers["callback: key figures"].text
    assert answers["api counts"].status_code == 200 and answers["api counts"].json()["rows"]
    assert answers["own log download"].status_code == 200
    assert answers["protocol download"].status_code == 200
    assert answers["incident export"].status_code == 200
    for where, response in answers.items():
        _hardened(response, where)
        assert response.headers.get("Cache-Control") == "no-store", where
        assert "Strict-Transport-Security" not in response.headers, where  # plain http here


def test_static_files_and_map_shapes_stay_cacheable(demo_server):
    session = http_login(demo_server, "burgemeester")
    asset = session.get(demo_server.url + "/assets/theme.css")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")
    _hardened(asset, "asset")
    navigation = _callback(session, demo_server, "kaart-message.children")
    link = navigation.json()["response"]["kaart-geo"]["url"]
    assert link.startswith("/kaart/geometrie.json?")
    shapes = session.get(demo_server.url + link)
    assert shapes.status_code == 200
    assert shapes.headers["Cache-Control"] == "private, max-age=86400"
    _hardened(shapes, "map shapes")
    # Cacheable because they hold public boundaries only: code, name and polygon, no counts.
    features = shapes.json()["features"]
    assert features and all(set(f["properties"]) == {"code", "name"} for f in features)
    refused = session.get(demo_server.url + link.replace("s=", "s=x"))
    assert refused.status_code == 403 and refused.headers["Cache-Control"] == "no-store"


@pytest.fixture(scope="module")
def https_server(demo_db):
    """Served as behind TLS (secure cookies), with a base-map tile server."""
    server = LiveServer(demo_db, workers=1, env={
        "DASHBOARD_SECURE_COOKIES": "true",
        "DASHBOARD_TILE_URL": "https://{s}.tiles.example.org/grijs/{z}/{x}/{y}.png"})
    yield server
    server.stop()


def test_hsts_and_tile_origin_only_when_configured(https_server, demo_server):
    secure = requests.get(https_server.url + "/login")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert _policy(secure)["img-src"] == ["'self'", "data:", "blob:",
                                         "https://*.tiles.example.org"]
    plain = requests.get(demo_server.url + "/login")  # DASHBOARD_TILE_URL="" (no tiles)
    assert "Strict-Transport-Security" not in plain.headers
    assert _policy(plain)["img-src"] == ["'self'", "data:", "blob:"]


@pytest.mark.parametrize("url,source", [
    ("https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/{z}/{x}/{y}.png",
     "https://service.pdok.nl"),
    ("https://tile-{s}.example.org:8443/{z}/{x}/{y}.png", "https://*.example.org:8443"),
    ("", None), ("/tiles/{z}/{x}/{y}.png", None), ("javascript:alert(1)", None),
    ("https://example.org;script-src */{z}.png", None),
])
def test_tile_source(url, source):
    assert tile_source(url) == source


# -- request bodies and Dash's envelope ---------------------------------------------------------

def test_a_large_body_gets_413_and_the_server_stays_healthy(demo_server):
    session = http_login(demo_server, "analist")
    specs = session.get(demo_server.url + "/_dash-dependencies").json()
    spec = next(s for s in specs if s["output"].startswith("..trends-status"))
    body = _forge(spec)
    body["inputs"][0]["value"] = "x" * (21 * 1024 * 1024)  # the 21 MB of the issue
    response = session.post(demo_server.url + "/_dash-update-component", data=json.dumps(body),
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.text == "Verzoek te groot."
    body["inputs"][0]["value"] = ["GMD001"] + ["y" * 100] * ((MAX_BODY - 20_000) // 105)
    response = session.post(demo_server.url + "/_dash-update-component", json=body)
    assert response.status_code == 200, "a body under the limit is not refused for its size"
    assert _callback(session, demo_server, "overview-subtitle.children").status_code == 200


def test_callback_envelopes_the_page_never_sends_get_400(demo_server):
    session = http_login(demo_server, "analist")
    specs = session.get(demo_server.url + "/_dash-dependencies").json()
    spec = next(s for s in specs if s["output"].startswith("..trends-status"))
    good = _forge(spec)
    clientside = next(s for s in specs if s.get("clientside_function"))
    forged = [[], "x", {**good, "output": "nope.children"}, _forge(clientside),
              {k: v for k, v in good.items() if k != "inputs"}, {**good, "inputs": {}},
              {**good, "inputs": good["inputs"][:2]}, {**good, "outputs": good["outputs"][:3]},
              {**good, "inputs": ["x"] * len(good["inputs"])}, {**good, "state": None},
              # outputs that are not the callback's: another id, another property
              {**good, "outputs": [{**good["outputs"][0], "id": "overview-subtitle"},
                                   *good["outputs"][1:]]},
              {**good, "outputs": [*good["outputs"][:-1],
                                   {**good["outputs"][-1], "property": "style"}]}]
    # A pattern output (the profile's products, ALL) sent as one plain id: Dash's dispatch
    # raised "Output does not match callback definition", a 500.
    profile = next(s for s in specs if s["output"].startswith("..profile-message"))
    pattern = next(i for i, o in enumerate(_forge(profile)["outputs"]) if "{" in o["id"])
    outputs = _forge(profile)["outputs"]
    outputs[pattern] = {"id": outputs[pattern]["id"], "property": "value"}
    forged.append({**_forge(profile), "outputs": outputs})
    outputs = _forge(profile)["outputs"]
    outputs[pattern] = [{"id": {"type": "profile-product", "product": "x"}, "property": "style"}]
    forged.append({**_forge(profile), "outputs": outputs})
    for body in forged:
        response = session.post(demo_server.url + "/_dash-update-component", json=body)
        assert response.status_code == 400, json.dumps(body)[:200]
        assert response.json() == {"error": "Ongeldig verzoek. Herlaad de pagina."}
    # JSON nested deeper than Python's recursion limit (10 kB): RecursionError, a 500, before
    nested = json.dumps(good).replace('"value": null', '"value": ' + "[" * 3000 + "]" * 3000, 1)
    for text in ("[" * 5000 + "]" * 5000, nested):
        response = session.post(demo_server.url + "/_dash-update-component", data=text,
                                headers={"Content-Type": "application/json"})
        assert response.status_code == 400, text[:80]
        assert response.json() == {"error": "Ongeldig verzoek. Herlaad de pagina."}
    # Ids beyond the state database's INTEGER: no such product or concept (an OverflowError,
    # a 500, before)
    for path in ("/rapportages/99999999999999999999999.pdf",
                 "/rapportages/9223372036854775808.html",
                 "/rapportages/concept/99999999999999999999999.html"):
        assert session.get(demo_server.url + path).status_code == 404, path
    assert session.post(demo_server.url + "/_dash-update-component",
                        json=good).status_code == 200


def test_requests_from_other_sites_are_refused_before_anything_runs(demo_server):
    """A page on another site (or a sibling subdomain, or a sandboxed frame) that gets the
    mayor's browser to post — a callback, the logout, a login into the attacker's account —
    is refused with 403 before the session, the CSRF check or any callback runs; requests of
    this site's own pages, and of scripts that name no origin, are served."""
    session = http_login(demo_server, "burgemeester")
    specs = session.get(demo_server.url + "/_dash-dependencies").json()
    good = _forge(next(s for s in specs if s["output"].startswith("..trends-status")))
    url = demo_server.url + "/_dash-update-component"
    own = demo_server.url  # http://127.0.0.1:<port>
    foreign = [{"Origin": "http://evil.example"},
               {"Origin": "null", "Sec-Fetch-Site": "cross-site"},  # a sandboxed frame
               {"Origin": own.replace("127.0.0.1", "localhost")},  # same machine, other host
               {"Origin": own.rsplit(":", 1)[0] + ":1"},  # same host, other port
               {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"},
               {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]
    for headers in foreign:
        response = session.post(url, json=good, headers=headers)
        assert response.status_code == 403, headers
        assert response.json() == {"error": FOREIGN}
    for headers in ({"Origin": own}, {"Origin": own + "/"}, {"Sec-Fetch-Site": "same-origin"},
                    # this site's own form: browsers send null under Referrer-Policy no-referrer
                    {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
                    {"Origin": own.replace("http://", "https://")}, {}):  # TLS ends at a proxy
        assert session.post(url, json=good, headers=headers).status_code == 200, headers
    # The logout form's own CSRF token does not help a foreign page: she stays logged in.
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      session.get(demo_server.url + "/logout").text).group(1)
    out = session.post(demo_server.url + "/logout", data={"csrf_token": token},
                       headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert out.status_code == 403 and out.text == FOREIGN
    assert session.post(url, json=good, headers={"Origin": own}).status_code == 200
    # Login CSRF (the victim's browser logged in to the attacker's account): refused too.
    other = requests.Session()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      other.get(demo_server.url + "/login").text).group(1)
    login = other.post(demo_server.url + "/login", allow_redirects=False, headers={
        "Origin": "http://evil.example"}, data={"name": "analist", "password": "demo-analist",
                                               "csrf_token": token})
    assert login.status_code == 403
    assert other.post(url, json=good, headers={"Origin": own}).status_code == 401
    # Safe methods and the token API are not the check's business (links, API clients).
    assert session.get(demo_server.url + "/kaart",
                       headers={"Origin": "http://evil.example"}).status_code == 200


@pytest.mark.parametrize("headers,setting,own", [
    ({"Origin": "https://vb.politie.nl"}, "https://vb.politie.nl", True),
    ({"Origin": "https://VB.politie.nl/"}, " https://vb.politie.nl/ , https://x.nl", True),
    ({"Origin": "https://vb.politie.nl.evil.example"}, "https://vb.politie.nl", False),
    ({"Origin": "https://evil.example"}, "", False),
    ({"Origin": "http://app.internal:8050"}, "", True),  # the request's own Host
    ({"Origin": "javascript://app.internal:8050"}, "", False),
    ({"Origin": ""}, "", False),
    ({"Sec-Fetch-Site": "none"}, "", True),  # typed or bookmarked by the user
    ({"Sec-Fetch-Site": "same-site"}, "", False),
    ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, "", True),
    ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, "", False),
])
def test_origins_behind_a_proxy_that_changes_the_host(headers, setting, own):
    """DASHBOARD_ORIGINS names the public origin where a proxy hands the app another Host."""
    app = flask.Flask(__name__)
    with app.test_request_context("/_dash-update-component", method="POST",
                                  base_url="http://app.internal:8050", headers=headers):
        assert from_own_site(flask.request, allowed_origins(setting)) is own


# -- in the browser: every page under the policy ------------------------------------------------

#: Listens for policy violations from the first script on (before Dash runs).
LISTEN = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.effectiveDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' +
  e.lineNumber));"""

#: Page -> what shows that its data arrived and drew (for users who may see police data).
PAGES = {
    "/": ".js-plotly-plot g.trace",
    "/kaart": ".leaflet-overlay-pane path.leaflet-interactive",
    "/trends": "#trends-graph g.trace",
    "/trends/woninginbraak": ".js-plotly-plot g.trace",
    "/driehoek": ".driehoek-card .js-plotly-plot g.trace",
    f"/presentatie?gemeente={OWN}": ".pres-graph g.trace",
    "/meldingen": "#meldingen-lijst *",
    "/ondermijning": "#ond-trends .js-plotly-plot g.trace",
    "/bronnen": "#page h1",
    "/incidenten": "#incidenten-count:not(:empty), #page .alert",  # a mayor: the refusal
    "/rapportages": "#rapportages-lijst *",
    "/beheer": "#page h1",
    "/mijn-log": "#own-log-count:not(:empty)",
}


@pytest.mark.browser
@pytest.mark.parametrize("user", ["burgemeester", "analist", "beheerder"])
def test_every_page_renders_under_the_policy(page, demo_server, user):
    messages = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}")
            if m.type == "error" or "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.add_init_script(LISTEN)
    page.goto(demo_server.url + "/login")
    assert page.evaluate("window.__csp") == []
    login(page, demo_server, user)
    for path, drawn in PAGES.items():
        page.goto(demo_server.url + path)
        if user == "analist" and path == "/incidenten":
            drawn = ".ag-center-cols-container .ag-row"  # AG Grid draws the rows (detail 3)
        if user != "beheerder":  # the beheerder may see no police data: nothing to draw
            expect(page.locator(drawn).first).to_be_attached(timeout=20_000)
        else:
            expect(page.locator("#page > *").first).to_be_attached(timeout=20_000)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], (user, path)
        assert messages == [], (user, path, messages)
        external = page.evaluate("Array.from(document.querySelectorAll('a[href], [src]'))"
                                 ".map(e => e.href || e.src).filter(u => u && "
                                 "!u.startsWith(location.origin) && !/^(data|blob):/.test(u))")
        assert external == [], (user, path, external)
    # The listener works and the policy is enforced: an injected inline script is refused.
    ran = page.evaluate("() => { const s = document.createElement('script');"
                        " s.textContent = 'window.__injected = 1'; document.body.append(s);"
                        " return window.__injected === 1; }")
    page.wait_for_function("window.__csp.length > 0")
    assert not ran and page.evaluate("window.__csp")[0].startswith("script-src")


@pytest.mark.browser
def test_charts_download_png_and_offer_no_way_out(page, demo_server):
    login(page, demo_server, "burgemeester")
    for path in ("/", "/trends", "/trends/woninginbraak", "/driehoek"):
        page.goto(demo_server.url + path)
        expect(page.locator(".js-plotly-plot g.trace").first).to_be_attached(timeout=20_000)
        graphs = page.evaluate("""Array.from(document.querySelectorAll('.js-plotly-plot'))
            .map(g => ({cloud: g._context.showSendToCloud, server: g._context.plotlyServerURL,
                        logo: g._context.displaylogo}))""")
        assert graphs and all(g == {"cloud": False, "server": "", "logo": False}
                              for g in graphs), (path, graphs)
        titles = page.evaluate("Array.from(document.querySelectorAll('.modebar-btn'))"
                               ".map(b => b.getAttribute('data-title') || '')")
        assert not [t for t in titles if re.search(r"cloud|share|studio|plotly|edit|link", t,
                                                   re.I)], (path, titles)
        assert page.locator(".modebar-btn--logo, .modebar a[href^='http']").count() == 0
        if path != "/driehoek":  # sparklines have no toolbar
            assert any("PNG" in t for t in titles), (path, titles)
    page.goto(demo_server.url + "/")
    graph = page.locator("#overview-trend")
    expect(graph.locator("g.trace").first).to_be_attached(timeout=20_000)
    graph.hover()
    with page.expect_download() as download:
        graph.locator(".modebar-btn[data-title*='PNG']").click()
    assert download.value.suggested_filename.endswith(".png")
