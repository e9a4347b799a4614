"""The woninginbrakenmonitor on the real monthly PC4 burglary file (Misdaad in Kaart): after
importing it with the real gemeente and PC4 boundaries, the monitor's national monthly totals
equal the file's — in the query layer and as plotted in Debian's Chromium against a real
gunicorn server on that database. Skips when ../shared/data is absent."""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

import pytest
from playwright.sync_api import expect

from data.queries import burglary as bq
from data.scope import Scope
from data.store import Store

from .conftest import LiveServer, import_real, login, pick

FILE = "pc4_woninginbraak_monthly_misdaadinkaart.csv"
PASSWORD = "een-lang-wachtwoord"


@pytest.fixture(scope="module")
def pc4_db(shared_data, tmp_path_factory):
    """Eenheden, gemeenten, PC4 areas (which carry the PC4 -> gemeente lookup) and the
    gemeente -> eenheid lookup, then the PC4 burglary file; plus one national analist."""
    from data.accounts import add_user
    from data.state import StateDB

    folder = tmp_path_factory.mktemp("pc4real")
    store = Store(folder / "pc4.duckdb")
    import_real(store, shared_data, folder,
                files=(("gemeente_2025_regio_lookup.csv", "lookup"), (FILE, "counts")))
    eenheden = [r[0] for r in store.read().execute(
        "SELECT code FROM areas WHERE level = 'eenheid'").fetchall()]
    add_user(StateDB(folder / "appstate.sqlite"), "landelijk", "analist", PASSWORD,
             eenheden=eenheden)
    return store


def _file_totals(shared_data):
    """(month, attempt) -> incidents straight from the CSV, and the rows that name neither a
    known PC4 nor a gemeente (the importer rejects them: they belong to no gemeente)."""
    totals, unplaced = defaultdict(int), defaultdict(int)
    with open(shared_data / FILE, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            month = date.fromisoformat(row["month"] + "-01")
            key = (month, row["soort"] != "Woninginbraak")
            totals[key] += int(row["incidents"])
            if not row["gm_code"]:
                unplaced[key] += int(row["incidents"])
    return totals, unplaced


def _national(con):
    gemeenten = sorted(r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'gemeente'").fetchall())
    return Scope(frozenset(gemeenten), 3, label="Nederland"), gemeenten


def test_monitor_national_monthly_totals_equal_the_file(pc4_db, shared_data):
    con = pc4_db.read()
    scope, gemeenten = _national(con)
    totals, unplaced = _file_totals(shared_data)
    period = bq.last_complete_months(con, scope=scope, months=12)
    # The file's newest month (2026-06) is partial: nothing marks it complete, and no
    # registration lies past its end. It is left out.
    assert period.end == date(2026, 6, 1)
    frame = bq.attempts_by_month(con, scope=scope, gemeenten=gemeenten,
                                 start=date(2023, 1, 1), end=period.end)
    months = sorted({m for m, _ in totals})
    assert months[-1] == date(2026, 6, 1)
    assert [m for m in frame["month"]] == months[:-1]  # 2023-04 .. 2026-05, every month
    # Three rows (3 registrations) name an unknown PC4 and no gemeente: rejected on import.
    assert sum(unplaced.values()) == 3
    for row in frame.itertuples():
        assert row.voltooid == totals[(row.month, False)] - unplaced[(row.month, False)]
        assert row.poging == totals[(row.month, True)] - unplaced[(row.month, True)]
        assert row.onbekend == 0


@pytest.mark.browser
def test_monitor_page_plots_the_files_national_totals(pc4_db, shared_data, page):
    server = LiveServer(pc4_db.path, env={"DASHBOARD_SECRET_KEY": "test-" + "x" * 40})
    try:
        login(page, server, "landelijk", PASSWORD)
        page.goto(server.url + "/trends/woninginbraak")
        expect(page.locator("#burglary-status")).to_contain_text("Laatste 12", timeout=30_000)
        pick(page, "#burglary-gemeente", "Alle gemeenten in uw gebied", exact=False)
        expect(page.locator("#burglary-status [data-gemeente='alle']")).to_have_count(
            1, timeout=30_000)
        expect(page.locator("#burglary-wijken")).to_contain_text("Kies één gemeente")
        page.wait_for_function(
            "() => { const g = document.querySelector('#burglary-attempts .js-plotly-plot');"
            " return g && g.data && g.data.length === 4; }", timeout=30_000)
        traces = page.evaluate(
            "() => document.querySelector('#burglary-attempts .js-plotly-plot').data.map("
            "t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))")
    finally:
        server.stop()
    totals, unplaced = _file_totals(shared_data)
    months = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov",
              "dec")
    checked = 0
    for trace in traces:  # "voltooid 2025", "poging 2026", ...
        kind, year = trace["name"].split()
        for label, value in zip(trace["x"], trace["y"]):
            key = (date(int(year), months.index(label) + 1, 1), kind == "poging")
            assert value == totals[key] - unplaced[key], (trace["name"], label)
            checked += 1
    assert checked == 2 * (12 + 5)  # 2025 whole, 2026 up to May; completed and attempted
