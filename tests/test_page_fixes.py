"""Small page fixes of issue #15, in the layout builders and in Chromium against a real
gunicorn server on the demo database: a sentence instead of an empty chart, whole-number
count axes, the dates-reversed message on /incidenten and the woninginbraak period labels."""
from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest
from playwright.sync_api import expect

from layouts import trends as trends_layout
from layouts.figures import message_figure, whole_number_axis
from data.segments import connect as connect_db

from .conftest import login


@pytest.fixture(scope="module")
def con(demo_db):
    connection = connect_db(demo_db)
    yield connection
    connection.close()


# -- builders ---------------------------------------------------------------------------------

def test_small_count_axis_ticks_every_whole_number():
    fig = whole_number_axis(go.Figure(go.Scatter(y=[0, 2, 1, 3])))
    axis = fig.layout.yaxis
    assert (axis.tickmode, axis.tick0, axis.dtick, axis.tickformat) == ("linear", 0, 1, ",d")
    large = whole_number_axis(go.Figure(go.Bar(y=[120, 80])))
    assert large.layout.yaxis.dtick is None and large.layout.yaxis.tickformat == ",d"
    zeros = whole_number_axis(go.Figure(go.Scatter(y=[0, 0, None])))
    assert tuple(zeros.layout.yaxis.range) == (0, 1) and zeros.layout.yaxis.dtick == 1
    # stacked bars: the stack's height counts, not one trace's
    stack = go.Figure([go.Bar(y=[6, 1]), go.Bar(y=[5, 2])], layout=dict(barmode="stack"))
    assert whole_number_axis(stack).layout.yaxis.dtick is None


def _series(counts: dict[str, list[int]]):
    rows = []
    for code, values in counts.items():
        for i, v in enumerate(values):
            rows.append(dict(code=code, name=f"Buurt {code}", level="buurt",
                             start=date(2026, i + 1, 1), label=f"mnd {i + 1}", count=v))
    return type("Series", (), {"series": pd.DataFrame(rows), "grain": "maand", "note": ""})()


def _texts(component) -> str:
    out = []

    def walk(c):
        if c is None or isinstance(c, (int, float)):
            return
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        else:
            figure = getattr(c, "figure", None)
            if figure is not None:
                out.extend(a.text for a in go.Figure(figure).layout.annotations)
            walk(getattr(c, "children", None))
    walk(component)
    return " ".join(out)


def test_area_series_of_zeros_says_so():
    text = _texts(trends_layout.areas_panel(_series({"A": [0, 0, 0], "B": [0, 0, 0]})))
    assert "alle<br>aantallen zijn 0" in text or "alle aantallen zijn 0" in text
    mixed = _texts(trends_layout.areas_panel(_series({"A": [0, 0, 0], "B": [1, 0, 2]})))
    assert "Alle aantallen 0 (niets geregistreerd): Buurt A (buurt)." in mixed
    assert "Buurt B" not in mixed.split("Alle aantallen 0")[1]


def test_message_figure_has_no_axes_and_wraps():
    fig = message_figure("Geen politiecijfers voor de rol beheerder, en nog veel meer tekst.")
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    assert "<br>" in fig.layout.annotations[0].text and not fig.data


# -- in the browser ---------------------------------------------------------------------------

def _ticks(page, graph: str) -> list[str]:
    return page.evaluate(f"[...document.querySelectorAll('{graph} .ytick text')]"
                         ".map(e => e.textContent)")


@pytest.mark.browser
def test_beheerder_overview_says_there_are_no_police_figures(page, demo_server):
    login(page, demo_server, "beheerder")
    expect(page.locator("#overview-subtitle")).to_contain_text("Als beheerder ziet u geen "
                                                               "politiecijfers", timeout=20_000)
    expect(page.locator("#overview-trend .annotation-text")).to_contain_text(
        "Geen politiecijfers voor de rol beheerder")
    assert _ticks(page, "#overview-trend") == []  # no empty axes with 0, 1, 1, 2, 2
    expect(page.locator("#overview-gemeenten")).to_contain_text("Geen politiecijfers")


@pytest.mark.browser
def test_buurt_trend_axes_and_all_zero_series(page, demo_server, con):
    # a buurt with a few woninginbraken a month: whole-number ticks, each once
    login(page, demo_server, "burgemeester")  # detail level 1
    page.goto(demo_server.url + "/trends?gemeente=GMD001&indicator=woninginbraak&per=maand"
              "&gebied=BUD0010902")
    expect(page.locator("#trends-areas-graph .js-plotly-plot")).to_be_visible(timeout=20_000)
    page.wait_for_function("document.querySelectorAll('#trends-areas-graph .ytick').length > 1")
    ticks = _ticks(page, "#trends-areas-graph")
    assert ticks == [str(i) for i in range(len(ticks))], ticks
    # a buurt without ondermijning in the whole history: the chart says so
    none = con.execute("SELECT count(*) FROM incidents WHERE bu_code = 'BUD0010706' AND "
                       "type_code IN (SELECT type_code FROM type_groups WHERE group_code = "
                       "'ondermijning')").fetchall()[0][0]
    assert none == 0
    page.goto(demo_server.url + "/trends?gemeente=GMD001&indicator=ondermijning&per=maand"
              "&gebied=BUD0010706")
    expect(page.locator("#trends-areas-graph .annotation-text")).to_contain_text(
        "alle", timeout=20_000)
    expect(page.locator("#trends-areas-graph .annotation-text")).to_contain_text(
        "aantallen zijn 0")
    assert _ticks(page, "#trends-areas-graph") == []


@pytest.mark.browser
def test_incidenten_says_when_the_dates_are_reversed(page, demo_server):
    login(page, demo_server, "analist")
    page.goto(demo_server.url + "/incidenten")
    expect(page.locator("#incidenten-count")).to_contain_text("incidenten", timeout=20_000)
    page.fill("#incidenten-van", "2026-06-01")
    page.locator("#incidenten-van").press("Enter")
    page.fill("#incidenten-tot", "2026-01-01")
    page.locator("#incidenten-tot").press("Enter")
    expect(page.locator("#incidenten-status .filter-error")).to_have_text(
        "De begindatum ligt na de einddatum.", timeout=20_000)
    assert "van=2026-06-01" in page.url and "tot=2026-01-01" in page.url
    page.fill("#incidenten-tot", "2026-06-30")  # put right: the message goes, rows come back
    page.locator("#incidenten-tot").press("Enter")
    expect(page.locator("#incidenten-status .filter-error")).to_have_count(0, timeout=20_000)
    expect(page.locator("#incidenten-count")).to_contain_text("incident", timeout=20_000)


@pytest.mark.browser
def test_woninginbraak_labels_match_what_is_shown(page, demo_server, con):
    login(page, demo_server, "burgemeester")
    page.goto(demo_server.url + "/trends/woninginbraak")
    expect(page.locator("#burglary-status .burglary-years")).to_contain_text(
        "Per maand: de kalenderjaren", timeout=20_000)
    page.wait_for_function("() => { const g = document.querySelector("
                           "'#burglary-attempts .js-plotly-plot'); return g && g.data"
                           " && g.data.length === 4; }", timeout=20_000)
    names = page.evaluate("document.querySelector('#burglary-attempts .js-plotly-plot')"
                          ".data.map(t => t.name)")
    years = sorted({int(n.split()[-1]) for n in names})
    assert len(years) == 2
    expect(page.locator("#burglary-status .burglary-years")).to_contain_text(
        f"{years[0]} en {years[1]}")
    expect(page.locator("#burglary-status .burglary-period")).to_contain_text(
        "Laatste 12 volledige maanden (wijken en tijdstippen)")
    assert "laatste 12 maanden" not in page.locator("#burglary-status").inner_text().lower() \
        .replace("laatste 12 volledige maanden (wijken", "")
