"""What a first visit loads (#15, first paint): dcc.Graph's plotly.js is the cartesian bundle
of the plotly.js version the installed plotly package ships; static files go out compressed,
compressed once per worker; fingerprinted assets may be kept a year. Against the real server
(gunicorn) on the demo database; the chart drawn with it in Debian's Chromium."""
from __future__ import annotations

import re
from pathlib import Path

import plotly
import pytest
import requests
from playwright.sync_api import expect

from dashboard import PLOTLY_BUNDLE, _StaticCompressed, _static_key

from .conftest import http_login, login

PLOTLY_LINK = "/_dash-component-suites/plotly/package_data/plotly.min.js"


def _version(text: str) -> str:
    return re.search(r"plotly\.js (?:\([a-z]+ - minified\) )?v(\d+\.\d+\.\d+)", text[:300]).group(1)


def test_the_bundle_is_the_plotly_js_of_the_installed_plotly_package():
    """A plotly upgrade that changes plotly.js must bring the matching cartesian bundle
    (``npm pack plotly.js-cartesian-dist-min@<version>``): the figures plotly.py builds are
    written for its own plotly.js."""
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    bundle = PLOTLY_BUNDLE.read_text()[:300]
    assert "cartesian" in bundle
    assert _version(bundle) == _version(shipped.read_text()[:300])


#: Every address in the vendored bundle, and why none of them is fetched: XML namespaces,
#: licence and documentation links inside comments or error texts, and the two online services
#: plotly.js knows, both switched off by ``layouts.figures.GRAPH_CONFIG`` (``plotlyServerURL``,
#: ``topojsonURL`` blank; the cartesian bundle has no map traces that would load topojson).
#: The CSP's ``connect-src 'self'`` would refuse any of them anyway.
INERT_ADDRESSES = {
    "http://www.w3.org/2000/svg", "http://www.w3.org/2000/xmlns/", "http://www.w3.org/1999/xlink",
    "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/1999/xhtml",
    "https://plotly.com/javascript/animations/", "https://plotly.com/",
    "https://feross.org/opensource", "https://feross.org", "http://feross.org",
    "https://github.com/voidqk/polybooljs", "https://github.com/d3/d3-time-format/tree/v2.2.3",
    "https://github.com/d3/d3-format/tree/v1.4.5", "http://syntheti.cc",
    "http://getify.mit-license.org",
    "https://cloud.plotly.com/newchart",  # Chart Studio: plotlyServerURL "" and buttons removed
    "https://cdn.plot.ly/un/",  # topojson for map traces: none in this bundle, topojsonURL ""
}


def test_the_vendored_bundle_names_no_address_it_could_fetch():
    """The app works offline: a new address in an upgraded bundle must be looked at."""
    from layouts.figures import GRAPH_CONFIG

    text = (Path(__file__).resolve().parent.parent / "dashboard" / "vendor"
            / "plotly-cartesian.min.js").read_text(encoding="utf-8")
    found = set(re.findall(r"https?://[A-Za-z0-9./_-]*", text))
    assert found <= INERT_ADDRESSES, sorted(found - INERT_ADDRESSES)
    assert GRAPH_CONFIG["plotlyServerURL"] == "" and GRAPH_CONFIG["topojsonURL"] == ""


def test_the_compress_cache_keeps_static_files_only():
    cache = _StaticCompressed()
    cache.set("br;None", b"an answer")  # a callback answer, a page: no static key
    assert cache.get("br;None") is None
    cache.set("br;/assets/x.css?m=1", b"kept")
    assert cache.get("br;/assets/x.css?m=1") == b"kept" and cache.get("gzip;/assets/x.css?m=1") is None


@pytest.mark.parametrize("method,path,static", [
    ("GET", "/assets/theme.css", True), ("GET", PLOTLY_LINK, True),
    ("POST", "/_dash-update-component", False), ("GET", "/_dash-layout", False),
    ("GET", "/kaart/geometrie.json", False), ("GET", "/api/v1/areas", False),
    ("POST", "/assets/theme.css", False)])
def test_only_static_links_have_a_compress_cache_key(method, path, static):
    import flask

    with flask.Flask(__name__).test_request_context(path, method=method):
        key = _static_key(flask.request)
    assert (key is not None) == static


def test_plotly_link_serves_the_cartesian_bundle_compressed(demo_server):
    session = http_login(demo_server, "burgemeester")
    first = session.get(demo_server.url + PLOTLY_LINK, headers={"Accept-Encoding": "br"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    assert first.headers["Content-Type"].startswith("application/javascript")
    assert "cartesian" in first.text[:200]
    assert len(first.content) == PLOTLY_BUNDLE.stat().st_size
    assert first.headers["Cache-Control"] == "no-cache"  # a fixed link: revalidate
    again = session.get(demo_server.url + PLOTLY_LINK, headers={
        "Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert requests.get(demo_server.url + PLOTLY_LINK).status_code in (401, 302)  # logged out


def test_assets_are_compressed_and_kept_by_their_versioned_link(demo_server):
    session = http_login(demo_server, "burgemeester")
    page = session.get(demo_server.url + "/")
    link = re.search(r'href="(/assets/bootstrap\.min\.css\?m=[^"]+)"', page.text).group(1)
    css = session.get(demo_server.url + link, headers={"Accept-Encoding": "br, gzip"},
                      stream=True)
    wire = css.raw.read()  # as sent
    assert css.headers["Content-Encoding"] in ("br", "gzip")
    assert len(wire) < 60_000  # bootstrap.min.css is 227 kB
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    bare = session.get(demo_server.url + "/assets/theme.css")  # no version in the link
    assert "immutable" not in bare.headers.get("Cache-Control", "")
    # Callback answers and pages are never cached or shared: still no-store.
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.browser
def test_the_overview_chart_is_drawn_with_the_cartesian_bundle(page, demo_server):
    login(page, demo_server, "burgemeester")
    expect(page.locator("#overview-trend .js-plotly-plot g.trace").first).to_be_attached(
        timeout=30_000)
    assert page.evaluate("window.Plotly.version") == _version(PLOTLY_BUNDLE.read_text()[:300])
    loaded = page.evaluate("[...document.scripts].map(s => s.src).filter(s => s.includes("
                           "'plotly.min.js'))")
    assert len(loaded) == 1 and loaded[0].endswith(PLOTLY_LINK)
