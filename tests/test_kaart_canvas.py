"""Large map layers on canvas (#18 item 6): above ``vb.CANVAS_ABOVE`` areas the choropleth is
drawn by Leaflet's canvas renderer instead of an SVG path per area (assets/choropleth.js). The
demo's layers are small, so these tests lower the threshold in the page before its scripts run;
the page itself, the server and the data are the real ones (Debian's Chromium, gunicorn, the
demo database). Smaller layers keep their SVG paths and tab stops
(test_kaart_mayor.test_keyboard_only_from_gemeente_to_wijk_to_buurt runs at the default)."""
from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from callbacks.kaart_values import class_breaks
from data.segments import connect as connect_db

from .conftest import login
from .test_kaart import CHOROPLETH, TOOLTIP, _wait_for_panel

#: Set before assets/choropleth.js runs: layers of more than 5 areas go on canvas.
LOW_THRESHOLD = "window.vb = {CANVAS_ABOVE: 5};"

#: A point inside ``code``'s area, in page coordinates (searched on a grid over its pixel
#: bounds with the hit test Leaflet's canvas renderer itself uses), or null.
POINT_INSIDE = """(code) => {
  // A point well inside the area: of the grid points inside it and in no other area, the one
  // nearest its middle (a point near a border may be taken by the neighbour's click margin).
  const layer = window.vb.layers.find(l => l._map && l.feature.id === code);
  if (!layer) { return null; }
  const map = layer._map, b = layer._pxBounds, box = map.getContainer().getBoundingClientRect();
  const mid = b.getCenter();
  let best = null;
  for (let i = 1; i < 20; i++) {
    for (let j = 1; j < 20; j++) {
      const p = L.point(b.min.x + (b.max.x - b.min.x) * i / 20,
                        b.min.y + (b.max.y - b.min.y) * j / 20);
      const others = window.vb.layers.some(o => o !== layer && o._map && o._containsPoint(p));
      if (layer._containsPoint(p) && !others && (!best || p.distanceTo(mid) < best.distanceTo(mid))) {
        best = p;
      }
    }
  }
  if (!best) { return null; }
  const c = map.layerPointToContainerPoint(best);
  return [box.left + c.x, box.top + c.y];
}"""

#: Two neighbouring areas A and B and a point inside A's fill, outside every other fill, but
#: within 1.2 px of B's outline (where B's outline, 3 px wide while hovered, is drawn over A):
#: {a, b, point: [x, y] in page coordinates}, or null. Fills are tested by ray casting here,
#: not by Leaflet's hit test (which is what the test checks).
NEAR_A_BORDER = """() => {
  const layers = window.vb.layers.filter(l => l._map && l._parts && l._parts.length);
  const inside = (l, p) => {
    let odd = false;
    for (const ring of l._parts) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const a = ring[i], b = ring[j];
        if ((a.y > p.y) !== (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) {
          odd = !odd;
        }
      }
    }
    return odd;
  };
  const distance = (l, p) => Math.min(...l._parts.map(ring => Math.min(...ring.map(
    (a, i) => L.LineUtil.pointToSegmentDistance(p, a, ring[(i + 1) % ring.length])))));
  for (const a of layers) {
    for (const ring of a._parts) {
      for (let i = 0; i < ring.length; i++) {
        const m = ring[i].add(ring[(i + 1) % ring.length]).divideBy(2);
        for (const [dx, dy] of [[-1, 0], [1, 0], [0, -1], [0, 1], [-1, -1], [1, 1], [-1, 1], [1, -1]]) {
          const p = L.point(Math.round(m.x) + dx, Math.round(m.y) + dy);
          if (!inside(a, p) || layers.some(o => o !== a && inside(o, p))) { continue; }
          const b = layers.find(o => o !== a && distance(o, p) >= 0.4 && distance(o, p) <= 1.2);
          if (!b) { continue; }
          const map = a._map, box = map.getContainer().getBoundingClientRect();
          const c = map.layerPointToContainerPoint(p);
          return {a: a.feature.id, b: b.feature.id, point: [box.left + c.x, box.top + c.y]};
        }
      }
    }
  }
  return null;
}"""


@pytest.fixture(scope="module")
def con(demo_db, tmp_path_factory):
    copy = tmp_path_factory.mktemp("kaart-canvas") / "demo.duckdb"
    shutil.copyfile(demo_db, copy)
    connection = connect_db(copy)
    yield connection
    connection.close()


def _rgb(color: str) -> str:
    color = color.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (0, 2, 4)))


def _drawn(page) -> dict:
    """Per drawn area: its renderer ("canvas"/"svg"), fill colour and dash pattern."""
    return page.evaluate("""() => Object.fromEntries(window.vb.layers.filter(l => l._map).map(
        l => [l.feature.id, [l._renderer instanceof L.Canvas ? "canvas" : "svg",
                             l.options.fillColor, l.options.dashArray || null]]))""")


@pytest.mark.browser
def test_a_large_layer_is_drawn_on_canvas_in_the_classes_the_legend_names(page, demo_server, con):
    page.add_init_script(LOW_THRESHOLD)
    login(page, demo_server, "burgemeester")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied=GMD001&type=woninginbraak"
              f"&maat=per_1000")
    _wait_for_panel(page, "Buurten in Havenstad")
    buurten = con.execute("SELECT count(*) FROM areas WHERE level = 'buurt'"
                          " AND gm_code = 'GMD001'").fetchall()[0][0]
    page.wait_for_function(f"window.vb.layers.filter(l => l._map).length === {buurten}"
                           " && Object.keys(window.vb.hideout.values || {}).length > 20")
    expect(page.locator(".leaflet-overlay-pane canvas")).to_have_count(1)
    expect(page.locator(CHOROPLETH)).to_have_count(0)  # no SVG path per area
    expect(page.locator("#kaart-canvas-note")).to_have_text(re.compile(
        rf"Deze laag telt {buurten} gebieden .* zoekveld of de tabel\."))
    values = page.evaluate("window.vb.hideout.values")
    classes = class_breaks(list(values.values()), "per_1000")
    drawn = _drawn(page)
    assert len(drawn) == buurten and {r for r, _, _ in drawn.values()} == {"canvas"}
    for code, (_, fill, dash) in drawn.items():
        if code in values:
            assert _rgb(fill) == _rgb(classes.colors[classes.index(values[code])]), code
            assert dash is None
        else:  # no value: the grey, dashed "geen gegevens" of the legend, never a class colour
            assert (fill, dash) == ("#d9d9d9", "4 3"), code
    legend = page.locator("#kaart-legend .kaart-legend-item").all_inner_texts()
    assert legend[-1].strip() == "geen gegevens"
    # The pixels are there: the canvas is not blank where the first area lies.
    code = sorted(values)[0]
    x, y = page.evaluate(POINT_INSIDE, code)
    box = page.locator(".leaflet-overlay-pane canvas").bounding_box()
    colour = page.evaluate("""([x, y]) => {
        const canvas = document.querySelector('.leaflet-overlay-pane canvas');
        const r = canvas.getBoundingClientRect(), scale = canvas.width / r.width;
        return [...canvas.getContext('2d').getImageData(
            Math.round((x - r.left) * scale), Math.round((y - r.top) * scale), 1, 1).data];
    }""", [x, y])
    assert box and colour[3] > 0, colour


def _havenstad_wijken(page, server, *, canvas: bool) -> None:
    """The mayor of Havenstad on the map of its wijken (on canvas when ``canvas``), drawn."""
    if canvas:
        page.add_init_script(LOW_THRESHOLD)
    login(page, server, "burgemeester")
    page.goto(f"{server.url}/kaart?niveau=wijk&gebied=GMD001&maat=count")
    _wait_for_panel(page, "Wijken in Havenstad")
    page.wait_for_function("window.vb.layers.filter(l => l._map).length > 5"
                           " && Object.keys(window.vb.hideout.values || {}).length > 5")


@pytest.mark.browser
def test_canvas_areas_show_tooltips_and_drill_down_by_mouse(page, demo_server, con):
    _havenstad_wijken(page, demo_server, canvas=True)
    expect(page.locator(CHOROPLETH)).to_have_count(0)
    wijk, name = con.execute("SELECT code, name FROM areas WHERE level = 'wijk'"
                             " AND gm_code = 'GMD001' ORDER BY code LIMIT 1").fetchall()[0]
    # As a person does: move over the area until its tooltip shows. The point is found again
    # each time, because the map may still be settling (fitting its bounds) after the values.
    tooltip = page.locator(TOOLTIP)
    for attempt in range(10):
        x, y = page.evaluate(POINT_INSIDE, wijk)
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y, steps=3)
        try:
            expect(tooltip).to_contain_text(f"{name} ({wijk})", timeout=1_500)
            break
        except AssertionError:
            if attempt == 9:
                raise
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(rf"niveau=buurt&gebied={wijk}&"), timeout=20_000)
    _wait_for_panel(page, f"Buurten in {name}")
    buurten = con.execute("SELECT count(*) FROM areas WHERE level = 'buurt'"
                          " AND parent_code = ?", [wijk]).fetchall()[0][0]
    page.wait_for_function(f"window.vb.layers.filter(l => l._map).length === {buurten}")
    expected = "canvas" if buurten > 5 else "svg"
    assert {r for r, _, _ in _drawn(page).values()} == {expected}
    if expected == "svg":  # back below the threshold: paths (tab stops) and no canvas note
        expect(page.locator(CHOROPLETH)).to_have_count(buurten)
        expect(page.locator("#kaart-canvas-note")).to_have_text("")


@pytest.mark.browser
def test_a_small_layer_keeps_svg_paths_and_says_nothing(page, demo_server):
    """At the default threshold a gemeente's own layers stay SVG: tab stops, no canvas note."""
    login(page, demo_server, "burgemeester")
    page.goto(f"{demo_server.url}/kaart?niveau=buurt&gebied=GMD001&maat=count")
    _wait_for_panel(page, "Buurten in Havenstad")
    page.wait_for_function("Object.keys(window.vb.hideout.values || {}).length > 20")
    assert page.evaluate("window.vb.CANVAS_ABOVE") == 1500
    assert {r for r, _, _ in _drawn(page).values()} == {"svg"}
    assert page.locator(CHOROPLETH).count() == len(_drawn(page))
    assert page.locator(f"{CHOROPLETH}[tabindex='0']").count() == len(_drawn(page))
    expect(page.locator(".leaflet-overlay-pane canvas")).to_have_count(0)
    expect(page.locator("#kaart-canvas-note")).to_have_text("")


@pytest.mark.browser
@pytest.mark.parametrize("renderer", ["canvas", "svg"])
def test_near_a_border_the_area_under_the_pointer_shows_its_own_tooltip(page, demo_server, con,
                                                                         renderer):
    """Moving from area B into its neighbour A: a pixel inside A shows A, even where B's
    outline (wider while B is hovered, and drawn on top) reaches over it; on canvas and as
    SVG paths alike."""
    _havenstad_wijken(page, demo_server, canvas=renderer == "canvas")
    assert {r for r, _, _ in _drawn(page).values()} == {renderer}
    names = dict(con.execute("SELECT code, name FROM areas WHERE level = 'wijk'"
                             " AND gm_code = 'GMD001'").fetchall())
    tooltip = page.locator(TOOLTIP)
    for attempt in range(10):  # the map may still be settling: find the points again
        found = page.evaluate(NEAR_A_BORDER)
        assert found, "no two neighbouring wijken on the map"
        a, b = found["a"], found["b"]
        x, y = page.evaluate(POINT_INSIDE, b)
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y, steps=3)
        try:
            expect(tooltip).to_contain_text(f"{names[b]} ({b})", timeout=1_500)
        except AssertionError:
            continue
        page.mouse.move(*found["point"], steps=4)
        # Leaflet handles at most one pointer move per 32 ms on canvas: move once more, later,
        # so the last position is the one tested.
        page.wait_for_timeout(100)
        page.mouse.move(found["point"][0] + 0.01, found["point"][1])
        try:
            expect(tooltip).to_contain_text(f"{names[a]} ({a})", timeout=2_000)
            break
        except AssertionError:
            if attempt == 9 or page.evaluate(NEAR_A_BORDER) == found:
                raise  # the map stood still: B's outline took the pixel
