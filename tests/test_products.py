"""Generated products (Rapportages): stuurgegevens, tabellenboek, incidentenrapport and
operationeel beeld as HTML, PDF (real Chromium), XLSX and CSV; their numbers against bare
DuckDB; scope and the disclosure model; freezing; `reports run --due`; the Rapportages page.

Real DuckDB (a copy of the demo database), real Chromium, poppler's pdftotext/pdftoppm, a real
gunicorn server; no mocks."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta

import numpy as np
import openpyxl
import pytest
from playwright.sync_api import expect

from data.accounts import get_profile, set_profile
from data.catalog import indicator_types
from data.periods import add_months
from data.products import archive, schedule
from data.products.model import KINDS, TEMPLATED
from data.scope import Scope
from data.state import StateDB
from data.store import Store

from .conftest import ROOT, LiveServer, http_login, login, logout, demo_copy

OWN = "GMD001"
#: Every kind of the seed's seven products (the period reports come in three variants); the
#: themed report needs a template (tests/test_thema.py).
MINE = tuple(k for k in KINDS if k not in TEMPLATED)


@pytest.fixture(scope="module")
def folder(demo_db, tmp_path_factory):
    return demo_copy(demo_db, tmp_path_factory.mktemp("products")).parent


@pytest.fixture(scope="module")
def store(folder):
    return Store(folder / "demo.duckdb")


@pytest.fixture(scope="module")
def con(store):
    return store.read()


@pytest.fixture(scope="module")
def state(folder):
    return StateDB(folder / "appstate.sqlite")


@pytest.fixture(scope="module")
def newest(con) -> date:
    return con.execute("SELECT max(occurred_date) FROM incidents").fetchall()[0][0]


@pytest.fixture(scope="module")
def reference(newest) -> date:
    return date(newest.year, newest.month, 1)


@pytest.fixture(scope="module")
def names(con) -> dict:
    return dict(con.execute("SELECT code, name FROM areas WHERE level = 'gemeente'").fetchall())


@pytest.fixture(scope="module")
def generated(store, state, folder, con, reference, newest):
    """The four products for Havenstad with a mayor's scope (detail 1), plus an
    incidentenrapport at detail 3 (a teamchef's scope), with their timings."""
    mayor = schedule.mayor_scope(con, state, OWN)
    assert mayor.detail == 1
    out, timings = {}, {}
    for kind in MINE:
        ref = (datetime(newest.year, newest.month, newest.day) if kind == "operationeel_beeld"
               else reference)
        product, timing = archive.generate(store, state, folder / "products", kind=kind,
                                           area=OWN, reference=ref, scope=mayor,
                                           by="test", period_key="test")
        out[kind], timings[kind] = product, timing
    police = Scope(frozenset(names_of(con)), 3)
    product, timings["incidentenrapport-3"] = archive.generate(
        store, state, folder / "products", kind="incidentenrapport", area=OWN,
        reference=reference, scope=police, by="test-teamchef", period_key="test")
    out["incidentenrapport-3"] = product
    print("timings", json.dumps(timings))
    return out


def names_of(con):
    return [r[0] for r in con.execute("SELECT code FROM areas WHERE level = 'gemeente'")
            .fetchall()]


def pdf_text(data: bytes, tmp_path) -> tuple[str, int]:
    path = tmp_path / "p.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True
                          ).stdout.decode()
    pages = int(next(line.split()[-1] for line in info.splitlines()
                     if line.startswith("Pages:")))
    return text, pages


def dutch(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def sheet_rows(book, name):
    """(header, rows) of a product sheet: title row 1, note row 2, header row 3."""
    rows = list(book[name].iter_rows(values_only=True))
    return list(rows[2]), [list(r) for r in rows[3:]]


def direct_by_type(con, gm, start, end, as_of):
    """Misdrijven per type occurred in [start, end) and registered up to and including the
    peildatum ``as_of`` (what a product counts)."""
    return dict(con.execute(
        "SELECT type_code, count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ?"
        " AND occurred_date < ? AND registered_at < ?::DATE + INTERVAL 1 DAY"
        " AND type_code IN (SELECT code FROM crime_types"
        " WHERE kind = 'misdrijf') GROUP BY 1", [gm, start, end, as_of]).fetchall())


# -- every kind: HTML, PDF, XLSX, CSV ----------------------------------------------------------

#: Titles that depend on the period (the product names the variant it is).
TITLES = {"perioderapportage": "maandsrapportage", "jaarverslag": "Jaarverslag",
          "halfjaarcijfers": "Halfjaarcijfers", "jaarafsluiting": "Jaarafsluiting"}


@pytest.mark.parametrize("kind", MINE)
def test_every_format_is_there_and_the_pdf_reads_right(generated, kind, tmp_path, names):
    product = generated[kind]
    assert set(product.files) == {"html", "pdf", "xlsx", "csv"}  # all four are tabular
    html = archive.read_bytes(product, "html").decode("utf-8")
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    title = TITLES.get(kind, KINDS[kind][0])
    assert title in html and names[OWN] in html
    assert "@page" in html and product.data_version in html
    text, pages = pdf_text(archive.read_bytes(product, "pdf"), tmp_path)
    assert pages >= 1
    flat = " ".join(text.split())
    assert title in flat and names[OWN] in flat
    assert "Pagina 1 van" in flat and product.data_version in flat  # the running footer
    # one date format for people (dd-mm-jjjj): no ISO date in the text, the peildatum included
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", flat.replace(product.data_version, "")), [
        m.group(0) for m in re.finditer(r"\b\d{4}-\d{2}-\d{2}\b", flat)][:5]
    assert re.search(r"Peildatum \d{2}-\d{2}-\d{4}", " ".join(
        re.sub(r"<[^>]+>", " ", html).split()))
    book = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(product, "xlsx")))
    assert book.sheetnames[0] == "Info" and len(book.sheetnames) >= 2
    info = {r[0]: r[1] for r in book["Info"].iter_rows(values_only=True)}
    assert info["Dataversie"] == product.data_version and info["Gebiedscode"] == OWN
    raw = archive.read_bytes(product, "csv")
    assert raw.startswith("\ufeff".encode()) and b";" in raw


def page_ink(data: bytes, tmp_path) -> list[float]:
    """Per PDF page, the share (%) of dark pixels between the running header and footer,
    from the page rendered by poppler's pdftoppm (20 dpi, grey)."""
    path = tmp_path / "ink.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "20", "-gray", str(path), str(tmp_path / "ink")],
                   check=True)
    shares = []
    for page in sorted(tmp_path.glob("ink-*.pgm")):
        magic, size, _depth, pixels = page.read_bytes().split(b"\n", 3)
        width, height = map(int, size.split())
        body = pixels[int(height * 0.1) * width:int(height * 0.9) * width]
        shares.append(sum(1 for b in body if b < 200) * 100 / len(body))
        page.unlink()
    return shares


@pytest.mark.parametrize("kind", [*MINE, "incidentenrapport-3"])
def test_no_page_is_almost_empty(generated, kind, tmp_path):
    """Sections flow on (no page per section): a page before the last holds at least 1.5%
    ink, the last one more than its header and footer. Before, stuurgegevens page 2 held
    one sentence and tabellenboek page 2 two rows."""
    shares = page_ink(archive.read_bytes(generated[kind], "pdf"), tmp_path)
    assert all(share >= 1.5 for share in shares[:-1]), shares
    assert shares[-1] > 0.2, shares


def test_stuurgegevens_equal_direct_duckdb(generated, con, reference, tmp_path):
    product = generated["stuurgegevens"]
    month = add_months(reference, -1)
    expected = direct_by_type(con, OWN, month, reference, reference)
    last_year = direct_by_type(con, OWN, date(month.year - 1, month.month, 1),
                               date(reference.year - 1, reference.month, 1), reference)
    total = sum(expected.values())
    assert total > 100
    book = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(product, "xlsx")))
    header, rows = sheet_rows(book, "Kerncijfers")
    alle = next(r for r in rows if r[0] == "Alle misdrijven")
    assert alle[1] == total and alle[2] == sum(last_year.values())
    header, rows = sheet_rows(book, "Naar soort")
    for row in rows:
        if row[0]:
            assert row[2] == expected.get(row[0], 0), row
            assert row[3] == last_year.get(row[0], 0), row
    assert rows[-1][1] == "Totaal misdrijven" and rows[-1][2] == total
    text, _ = pdf_text(archive.read_bytes(product, "pdf"), tmp_path)
    assert f"{dutch(total)} misdrijven geregistreerd" in " ".join(text.split())


def test_tabellenboek_equals_duckdb_and_hides_small_wijk_counts(generated, con, reference):
    product = generated["tabellenboek"]
    month = add_months(reference, -1)
    book = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(product, "xlsx")))
    header, rows = sheet_rows(book, "Soort x gemeente")
    expected = direct_by_type(con, OWN, month, reference, reference)
    assert {r[0]: r[2] for r in rows if r[0]} == {k: v for k, v in expected.items() if v}
    wijk_sheet = next(n for n in book.sheetnames if n.startswith("Wijken"))
    header, rows = sheet_rows(book, wijk_sheet)
    assert header[2] == "Alle misdrijven"
    # A mayor (detail 1) gets per wijk what the police publish: every misdrijf type but the
    # withheld ones (data/disclosure.py), exactly, small counts included.
    direct = dict(con.execute(
        "SELECT wk_code, count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ?"
        " AND occurred_date < ? AND type_code IN (SELECT type_code FROM type_groups"
        " WHERE group_code = 'alle_misdrijven') AND type_code NOT IN ('1.4.1', '3.2.1', '3.2.2')"
        " AND registered_at < ?::DATE + INTERVAL 1 DAY"
        " GROUP BY 1", [OWN, month, reference, reference]).fetchall())
    for row in rows[:-1]:
        assert row[2] == direct.get(row[0], 0), row
    assert any(1 <= row[2] <= 4 for row in rows[:-1]) or not any(
        1 <= n <= 4 for n in direct.values())
    overlast = header.index("Overlast (niet-misdrijf)")
    assert {row[overlast] for row in rows[:-1]} == {"niet openbaar"}
    assert rows[-1][2] == sum(expected.values())  # the gemeente total stays exact


def test_incidentenrapport_counts_and_list_per_detail_level(generated, con, reference, state):
    start = reference - timedelta(days=14)
    types = sorted({t for code in get_profile(state, OWN).driehoek
                    for t in indicator_types(con, code)})
    ids = [r[0] for r in con.execute(
        "SELECT id FROM incidents WHERE gm_code = ? AND occurred_date >= ? AND occurred_date < ?"
        " AND registered_at < ?::DATE + INTERVAL 1 DAY"
        " AND type_code IN (SELECT unnest(?::VARCHAR[])) ORDER BY occurred_at, id",
        [OWN, start, reference, reference, types]).fetchall()]
    assert ids
    mayor = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(generated["incidentenrapport"],
                                                                 "xlsx")))
    assert "Incidenten" not in mayor.sheetnames  # detail 1: counts only
    _, rows = sheet_rows(mayor, "Naar soort")
    assert rows[-1][1] == "Totaal" and rows[-1][2] == len(ids)
    police = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(
        generated["incidentenrapport-3"], "xlsx")))
    header, rows = sheet_rows(police, "Incidenten")
    assert header[0] == "Registratienummer" and "Straat" in header
    assert header[-2:] == ["Modus operandi", "Samenvatting"]  # detail 3: MO too
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert generated["incidentenrapport-3"].detail == 3
    html = archive.read_bytes(generated["incidentenrapport"], "html").decode("utf-8")
    agreed = re.search(r"<p>Afgesproken soorten[^<]*</p>", html).group(0)
    assert "Woninginbraak" in agreed and not re.search(r"\b\d\.\d\.\d\b|\bN0\d\b", agreed)


def test_operationeel_beeld_is_anonymised(generated, con, newest):
    product = generated["operationeel_beeld"]
    end = datetime(newest.year, newest.month, newest.day)
    found = con.execute(
        "SELECT id, street, summary FROM incidents WHERE gm_code = ? AND occurred_at >= ?"
        " AND occurred_at < ? AND (high_impact OR type_code = 'N06')",
        [OWN, end - timedelta(hours=24), end]).fetchall()
    book = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(product, "xlsx")))
    header, rows = sheet_rows(book, "Incidenten")
    assert header == ["Tijdvak", "Gemeente", "Soort", "Aard"] and len(rows) == len(found)
    html = archive.read_bytes(product, "html").decode("utf-8")
    for incident_id, street, summary in found:
        assert incident_id not in html
        assert not street or street not in html
        assert not summary or summary not in html


@pytest.mark.parametrize("kind", ["incidentenrapport", "operationeel_beeld"])
def test_incident_products_before_the_registration_say_geen_gegevens(store, state, folder, con,
                                                                      names, kind, tmp_path):
    """A peildatum months before the first registration (the tester's 2021-07-01): "geen
    gegevens" in the sentence and every count cell of the HTML, PDF, XLSX and CSV, never 0."""
    first = con.execute("SELECT min(occurred_date) FROM incidents").fetchall()[0][0]
    day = add_months(first, -5)
    reference = datetime(day.year, day.month, 1) if kind == "operationeel_beeld" else day
    product, _ = archive.generate(store, state, folder / "products", kind=kind, area=OWN,
                                  reference=reference,
                                  scope=schedule.mayor_scope(con, state, OWN), by="test",
                                  period_key="test-geen-gegevens")
    name = names[OWN]
    html = " ".join(re.sub(r"<[^>]+>", " ", archive.read_bytes(product, "html")
                           .decode("utf-8")).split())
    pdf = " ".join(pdf_text(archive.read_bytes(product, "pdf"), tmp_path)[0].split())
    csv = archive.read_bytes(product, "csv").decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(archive.read_bytes(product, "xlsx")))
    if kind == "incidentenrapport":
        for text in (html, pdf):
            assert f"zijn er in {name} geen gegevens over incidenten" in text
            assert not re.search(r"\b0 incidenten", text)
        assert "\n;Totaal;geen gegevens\n" in csv.replace("\r\n", "\n")
        _, rows = sheet_rows(book, "Naar soort")
        assert rows == [[None, "Totaal", "geen gegevens"]]
    else:
        for text in (html, pdf):
            assert f"in {name} in de 24 uur tot" in text and "geen gegevens" in text
            assert not re.search(r"\b0 grotere incidenten", text)
        lines = csv.replace("\r\n", "\n").split("\n")
        assert f"{name};geen gegevens;geen gegevens;geen gegevens" in lines
        assert "Totaal;geen gegevens;geen gegevens;geen gegevens" in lines
        assert not any(re.fullmatch(rf"({name}|Totaal);0;0;0", line) for line in lines)
        _, rows = sheet_rows(book, "Per gemeente")
        assert rows == [[name, *["geen gegevens"] * 3], ["Totaal", *["geen gegevens"] * 3]]


def test_mayor_products_hold_nothing_of_another_gemeente(generated, names, tmp_path):
    others = [(code, name) for code, name in names.items() if code != OWN]
    for kind in MINE:
        product = generated[kind]
        assert product.gemeenten == (OWN,)
        texts = [archive.read_bytes(product, "html").decode("utf-8"),
                 archive.read_bytes(product, "csv").decode("utf-8-sig"),
                 pdf_text(archive.read_bytes(product, "pdf"), tmp_path)[0]]
        for text in texts:
            for code, name in others:
                assert code not in text and name not in text, (kind, code)


def test_pdf_page_renders_to_a_non_blank_png(generated, tmp_path):
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(archive.read_bytes(generated["stuurgegevens"], "pdf"))
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    subprocess.run(["pdftoppm", "-gray", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "grey")], check=True)
    data = next(tmp_path.glob("grey*.pgm")).read_bytes()
    parts = data.split(b"\n", 3)  # P5, width height, maxval, pixels
    width, height = map(int, parts[1].split())
    pixels = np.frombuffer(parts[3][:width * height], np.uint8).reshape(height, width)
    assert abs(width - 413) <= 1 and abs(height - 585) <= 1  # A4 at 50 dpi
    dark = (pixels < 128).mean()
    assert 0.01 < dark < 0.5  # text, table and the chart's bars; not blank, not black
    chart = pixels[int(height * 0.33):int(height * 0.6)]
    assert (chart < 200).mean() > 0.03  # the bars of the figure are drawn


def test_may_open_binds_a_product_to_its_scope(generated):
    product = generated["tabellenboek"]  # GMD001, detail 1
    assert archive.may_open(Scope(frozenset({OWN}), 1), product)
    assert archive.may_open(Scope(frozenset({OWN, "GMD002"}), 3), product)
    assert not archive.may_open(Scope(frozenset({"GMD002"}), 3), product)
    assert not archive.may_open(Scope(frozenset(), 3), product)
    police = generated["incidentenrapport-3"]
    assert not archive.may_open(Scope(frozenset({OWN}), 2), police)
    assert archive.may_open(Scope(frozenset({OWN}), 3), police)


# -- scheduling --------------------------------------------------------------------------------

def test_latest_periods():
    now = datetime(2026, 11, 28, 10)  # a Saturday
    assert schedule.latest_period("dagelijks", now).key == "2026-11-27"
    week = schedule.latest_period("wekelijks", now)
    assert (week.key, week.start, week.reference) == ("2026-W47", date(2026, 11, 16),
                                                     date(2026, 11, 23))
    two = schedule.latest_period("tweewekelijks", now)
    assert (two.reference - two.start).days == 14 and two.reference <= date(2026, 11, 28)
    assert two.reference.weekday() == 0 and (two.reference - schedule.BIWEEKLY_EPOCH).days % 14 == 0
    assert schedule.latest_period("maandelijks", now).key == "2026-10"
    assert schedule.latest_period("viermaandelijks", now).key == "2026-T2"
    assert schedule.latest_period("viermaandelijks", datetime(2026, 1, 3)).key == "2025-T3"
    assert schedule.latest_period("halfjaarlijks", now).key == "2026-H1"
    assert schedule.latest_period("jaarlijks", now).key == "2025"


def test_reports_run_due_twice_produces_nothing_the_second_time(folder, tmp_path, newest):
    state_path = tmp_path / "schedule.sqlite"
    products = tmp_path / "out"
    state = StateDB(state_path)
    set_profile(state, OWN, by="test", products={"stuurgegevens": "maandelijks",
                                                 "operationeel_beeld": "dagelijks"})
    for code in ("GMD002", "GMD003", "GMD004"):
        set_profile(state, code, by="test", products={})
    env = {"DASHBOARD_STATE_DB": str(state_path), "DASHBOARD_PRODUCTS_DIR": str(products)}
    now = f"{newest.isoformat()}T10:00"

    def run(*extra):
        import os
        return subprocess.run([sys.executable, "-m", "dashboard", "--db",
                               str(folder / "demo.duckdb"), "reports", *extra], cwd=ROOT,
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, **env})

    first = run("run", "--due", "--now", now, "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert sorted((p["kind"], p["area"]) for p in summary["produced"]) == [
        ("operationeel_beeld", OWN), ("stuurgegevens", OWN)]
    assert {p["period"] for p in summary["produced"]} == {
        add_months(date(newest.year, newest.month, 1), -1).strftime("%Y-%m"),
        (newest - timedelta(days=1)).isoformat()}
    second = run("run", "--due", "--now", now, "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["produced"] == []
    log = (products / "reports.log").read_text()
    assert log.count(" produced #") == 2
    rows = state.query("SELECT user, view, filters FROM protocol_log WHERE view = ?",
                       ("rapportages/genereer",))
    assert len(rows) == 2 and {r["user"] for r in rows} == {schedule.SCHEDULER}
    listed = run("list")
    assert listed.returncode == 0 and listed.stdout.count("\n") == 2


# -- the Rapportages page and the file routes --------------------------------------------------

@pytest.fixture(scope="module")
def server(folder, generated):
    live = LiveServer(folder / "demo.duckdb")
    yield live
    live.stop()


def open_rows(state, before):
    return [dict(r) for r in state.query(
        "SELECT * FROM protocol_log WHERE view = 'rapportages/open' AND id > ? ORDER BY id",
        (before,))]


def last_id(state):
    return state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


def test_frozen_product_is_served_byte_identical_and_logged(server, generated, state):
    product = generated["stuurgegevens"]
    session = http_login(server, "burgemeester")
    before = last_id(state)
    first = session.get(f"{server.url}/rapportages/{product.id}.pdf")
    second = session.get(f"{server.url}/rapportages/{product.id}.pdf")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == archive.read_bytes(product, "pdf")
    assert first.headers["Content-Type"] == "application/pdf"
    page = session.get(f"{server.url}/rapportages/{product.id}.html")
    assert page.content == archive.read_bytes(product, "html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"  # one charset, not two
    assert session.get(f"{server.url}/rapportages/{product.id}.csv").headers[
        "Content-Type"] == "text/csv; charset=utf-8"
    xlsx = session.get(f"{server.url}/rapportages/{product.id}.xlsx")
    assert xlsx.headers["Content-Disposition"].startswith("attachment")
    rows = open_rows(state, before)
    assert [r["outcome"] for r in rows] == ["ok"] * 5 and rows[0]["user"] == "burgemeester"
    other = http_login(server, "burgemeester2")
    before = last_id(state)
    refused = other.get(f"{server.url}/rapportages/{product.id}.pdf")
    assert refused.status_code == 403 and "geen toegang" in refused.text
    police = session.get(f"{server.url}/rapportages/{generated['incidentenrapport-3'].id}.html")
    assert police.status_code == 403  # built at detail 3: not for a detail-1 mayor
    assert [r["outcome"] for r in open_rows(state, before)] == ["refused", "refused"]


@pytest.mark.browser
def test_rapportages_page_badge_open_and_other_mayor(page, server, generated, state):
    fresh = "adviseur"  # Havenstad too, and has opened nothing yet
    login(page, server, fresh)
    visible = [p for p in archive.list_products(state, scope=Scope(frozenset({OWN}), 1))]
    expect(page.locator("#rapportages-count")).to_have_text(str(len(visible)), timeout=20_000)
    page.get_by_role("link", name="Rapportages", exact=True).click()
    rows = page.locator(".rapportages-tabel .product-row")
    expect(rows).to_have_count(len(visible), timeout=20_000)
    ids = [int(rows.nth(i).get_attribute("id").split("-")[1]) for i in range(len(visible))]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert generated["incidentenrapport-3"].id not in ids
    target = generated["stuurgegevens"].id
    row = page.locator(f"#product-{target}")
    expect(row.locator(".product-nieuw")).to_have_count(1)
    with page.expect_popup() as popup:
        page.click(f"#product-{target}-html")
    expect(popup.value.locator("h1")).to_have_text(KINDS["stuurgegevens"][0])
    popup.value.close()
    page.reload()
    expect(page.locator(f"#product-{target}")).to_be_visible(timeout=20_000)
    expect(page.locator(f"#product-{target} .product-nieuw")).to_have_count(0)
    expect(page.locator("#rapportages-count")).to_have_text(str(len(visible) - 1))
    logout(page, server)
    login(page, server, "burgemeester2")
    page.goto(server.url + "/rapportages")
    expect(page.locator(".rapportages-leeg")).to_be_visible(timeout=20_000)
    expect(page.locator(".product-row")).to_have_count(0)
    # "Nu maken" for the own gemeente (Veendijk): a product appears, with the Nieuw badge
    page.click("#rapportages-maak")
    expect(page.locator("#rapportages-gemaakt")).to_be_visible(timeout=90_000)
    expect(page.locator(".product-row")).to_have_count(1, timeout=20_000)
    expect(page.locator(".product-row .product-nieuw")).to_have_count(1)
    made = archive.list_products(state, scope=Scope(frozenset({"GMD002"}), 1))
    assert len(made) == 1 and made[0].generated_by == "burgemeester2"


@pytest.mark.browser
def test_nu_maken_offers_the_agreed_kinds_per_role_and_refuses_others(page, server, state):
    """A gemeente user gets the kinds the agreement profile agrees for the chosen gemeente;
    the police every kind; a forged request for a kind not agreed is refused and logged."""
    from .conftest import choices, dash_callback

    agreed = [k for k in KINDS if k in get_profile(state, OWN).products]
    assert agreed and len(agreed) < len(KINDS)
    login(page, server, "adviseur")
    page.goto(server.url + "/rapportages")
    expect(page.locator("#rapportages-maak")).to_be_enabled(timeout=20_000)
    page.locator("#rapportages-soort").click()
    expect(choices(page).first).to_be_visible(timeout=10_000)
    assert choices(page).all_inner_texts() == [KINDS[k][0] for k in agreed]
    page.keyboard.press("Escape")
    logout(page, server)
    login(page, server, "analist")
    page.goto(server.url + "/rapportages")
    expect(page.locator("#rapportages-soort-uitleg")).to_contain_text("Alle producten",
                                                                      timeout=20_000)
    page.locator("#rapportages-soort").click()
    expect(choices(page).first).to_be_visible(timeout=10_000)
    from data.products.model import TEMPLATED

    assert len(choices(page).all_inner_texts()) == len(
        [k for k in KINDS if k not in TEMPLATED and schedule.builder_available(k)])

    other = next(k for k in KINDS if k not in agreed)
    session = http_login(server, "adviseur")
    before = state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]
    forged = dash_callback(session, server, "rapportages-melding.children",
                           {"rapportages-maak.n_clicks": 1, "rapportages-soort.value": other,
                            "rapportages-gebied.value": OWN}, trigger="rapportages-maak.n_clicks")
    assert forged.status_code == 200 and "geen toegang" in forged.text.lower(), forged.text[:300]
    rows = state.query("SELECT view, outcome, detail FROM protocol_log WHERE id > ?", (before,))
    assert [(r["view"], r["outcome"]) for r in rows] == [("rapportages/maken", "refused")]
    assert other in rows[0]["detail"]
    assert not [p for p in archive.list_products(state, scope=Scope(frozenset({OWN}), 1))
                if p.kind == other and p.generated_by == "adviseur"]
