"""Renderers: a product's :class:`~data.products.model.Content` as HTML, PDF, XLSX and CSV.

* **HTML** — one self-contained file: inline CSS (screen and print: A4, a page break before
  every section, a running header and footer in the page margins with title, area, period,
  generation time and data version), tables, and the figures as static SVG images. No script,
  no external reference: the frozen file opens identically anywhere, offline.
* **Figures** — drawn by plotly.js itself (the ``plotly.min.js`` shipped in the plotly Python
  package) in Debian's headless Chromium: one page per product plots every figure and exports
  it with ``Plotly.toImage(..., {format: 'svg'})``; the SVGs are read back from
  ``--dump-dom`` and embedded as ``data:image/svg+xml`` images. So the HTML and the PDF show the
  very same static rendering of the figure (no kaleido, no network).
* **PDF** — that HTML printed by headless Chromium (``--print-to-pdf --no-pdf-header-footer``;
  the running header/footer are CSS ``@page`` margin boxes).
* **XLSX** — xlsxwriter, an ``Info`` sheet with the provenance first, then one sheet per table
  (title, note, header row, rows). Numbers are numbers; every text cell is written as text
  with a leading ``'`` when it starts with ``= + - @`` tab or CR (no formula injection).
* **CSV** — one UTF-8 file with BOM and ``;``: a provenance line, then every table after a
  blank line and a title line (``# <title>``), header row, rows. Decimals with a comma; text
  cells neutralised like the XLSX.

Renderers never query: they only format what the builder put into the content.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from data.export import neutralise
from data.products.model import Commentary, Content, Table
from layouts import format as fmt

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-extensions", "--mute-audio", "--hide-scrollbars")
#: Pixel size the figures are drawn at (the image scales to the page width).
FIGURE_WIDTH, FIGURE_HEIGHT = 900, 400
CHROMIUM_TIMEOUT = 120


class RenderError(RuntimeError):
    pass


@dataclass(frozen=True)
class Provenance:
    """What the header, footer and Info sheet say about a frozen product."""
    generated_at: str  # ISO time
    generated_by: str
    data_version: str
    dataset: str = ""
    product_id: int | None = None
    version: int | None = None

    @property
    def generated_text(self) -> str:
        return fmt.moment(self.generated_at)


# -- formatting --------------------------------------------------------------------------------

def _number(value, percent: bool = False) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        text = f"{value:+.1f}" if percent else f"{value:.1f}"
        return text.replace(".", ",")
    return str(value)


def cell_text(value, header: str = "") -> str:
    """A cell as shown in HTML and PDF (Dutch number format, '–' for unknown)."""
    if value is None:
        return "–"
    if value == "":
        return ""
    return _number(value, percent="%" in header)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- figures -----------------------------------------------------------------------------------

def plotly_js() -> Path:
    import plotly
    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _chromium(args: list[str], workdir: Path) -> subprocess.CompletedProcess:
    profile = workdir / "profile"
    command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--crash-dumps-dir={workdir}", *args]
    try:
        done = subprocess.run(command, capture_output=True, timeout=CHROMIUM_TIMEOUT,
                              cwd=workdir, env={**os.environ, "HOME": str(workdir)})
    except FileNotFoundError as exc:
        raise RenderError(f"Chromium not found at {CHROMIUM}") from exc
    except subprocess.TimeoutExpired as exc:
        raise RenderError("Chromium did not finish in time") from exc
    return done


def figures_to_svg(figures: list[dict]) -> list[str]:
    """Every plotly figure dict drawn by plotly.js in headless Chromium, as SVG text."""
    if not figures:
        return []
    from plotly.io.json import to_json_plotly

    with tempfile.TemporaryDirectory(prefix="vb-figures-") as tmp:
        work = Path(tmp)
        divs = "".join(f'<div id="f{i}"></div>' for i in range(len(figures)))
        page = f"""<!doctype html><html><head><meta charset="utf-8">
<script src="{plotly_js().as_uri()}"></script></head><body>{divs}<pre id="out"></pre>
<script>
const figs = {to_json_plotly(figures)};
const size = {{width: {FIGURE_WIDTH}, height: {FIGURE_HEIGHT}}};
Promise.all(figs.map((f, i) => Plotly.newPlot('f' + i, f.data || [],
    Object.assign({{}}, f.layout || {{}}, size), {{staticPlot: true}})
  .then(gd => Plotly.toImage(gd, Object.assign({{format: 'svg'}}, size)))))
  .then(urls => {{ document.getElementById('out').textContent = 'OK' + JSON.stringify(urls); }})
  .catch(err => {{ document.getElementById('out').textContent = 'ERR' + err; }});
</script></body></html>"""
        source = work / "figures.html"
        source.write_text(page, encoding="utf-8")
        done = _chromium(["--virtual-time-budget=30000", "--dump-dom", source.as_uri()], work)
        dom = done.stdout.decode("utf-8", "replace")
        found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
        text = html.unescape(found.group(1)) if found else ""
        if not text.startswith("OK"):
            raise RenderError(f"figures were not drawn: {text[:300] or done.stderr[-300:]!r}")
        urls = json.loads(text[2:])
    return [urllib.parse.unquote(url.split(",", 1)[1]) for url in urls]


# -- HTML --------------------------------------------------------------------------------------

def _css_string(text: str) -> str:
    clean = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table_html(table: Table) -> str:
    out = [f'<table class="data"><caption>{html.escape(table.title)}</caption><thead><tr>']
    out += [f"<th>{html.escape(h)}</th>" for h in table.header]
    out.append("</tr></thead><tbody>")
    for row in table.rows:
        total = any(isinstance(v, str) and v.startswith("Totaal") for v in row[:2])
        out.append('<tr class="total">' if total else "<tr>")
        for value, head in zip(row, table.header):
            cls = ' class="num"' if _is_number(value) or (
                isinstance(value, str) and value.startswith("<")) else ""
            out.append(f"<td{cls}>{html.escape(cell_text(value, head))}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    if table.note:
        out.append(f'<p class="note">{html.escape(table.note)}</p>')
    return "".join(out)


def _commentary_html(commentary: Commentary) -> str:
    """The police's commentary: its paragraphs and who wrote and released it."""
    label = (f'<p class="commentary-label">{html.escape(commentary.label)}</p>'
             if commentary.label else "")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in commentary.paragraphs)
    return (f'<div class="commentary">{label}{paragraphs}'
            f'<p class="attribution">{html.escape(commentary.attribution)}</p></div>')


def html_document(content: Content, info: Provenance, svgs: list[str] | None = None) -> str:
    """The product as one self-contained HTML file (``svgs``: the figures, in order, as
    returned by :func:`figures_to_svg`; drawn when not given)."""
    figures = [f for s in content.sections for f in s.figures]
    if svgs is None:
        svgs = figures_to_svg([f.figure for f in figures])
    images = iter(svgs)
    head_left = f"{content.title} · {content.area_name}"
    head_right = content.period_label
    foot_left = f"Gemaakt {info.generated_text} · dataversie {info.data_version}"
    body = []
    for number, section in enumerate(content.sections, 1):
        body.append(f'<section id="sectie-{number}"><h2>{html.escape(section.title)}</h2>')
        body += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        if section.commentary is not None:
            body.append(_commentary_html(section.commentary))
        for figure in section.figures:
            svg = next(images)
            data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            body.append(f'<figure><img alt="{html.escape(figure.title)}" '
                        f'src="data:image/svg+xml;base64,{data}">'
                        f"<figcaption>{html.escape(figure.title)}</figcaption>")
            if figure.note:
                body.append(f'<p class="note">{html.escape(figure.note)}</p>')
            body.append("</figure>")
        body += [_table_html(t) for t in section.tables]
        body.append("</section>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in content.notes)
    facts = [("Gebied", f"{content.area_name} ({content.area_code})"),
             ("Periode", content.period_label),
             ("Peildatum", fmt.day(content.reference_date)),
             ("Gemaakt", f"{info.generated_text} door {info.generated_by}"),
             ("Dataversie", info.data_version + (f" · {info.dataset}" if info.dataset else "")),
             ("Detailniveau", str(content.detail))]
    if info.version is not None:
        facts.append(("Versie", str(info.version)))
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    return f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Veiligheidsbeeld">
<title>{html.escape(content.title)} · {html.escape(content.area_name)} · {html.escape(content.period_label)}</title>
<style>
@page {{ size: A4; margin: 20mm 14mm 18mm 14mm;
  @top-left {{ content: {_css_string(head_left)}; font: 8pt sans-serif; color: #555; }}
  @top-right {{ content: {_css_string(head_right)}; font: 8pt sans-serif; color: #555; }}
  @bottom-left {{ content: {_css_string(foot_left)}; font: 8pt sans-serif; color: #555; }}
  @bottom-right {{ content: "Pagina " counter(page) " van " counter(pages); font: 8pt sans-serif; color: #555; }}
}}
* {{ box-sizing: border-box; }}
body {{ font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10pt;
  color: #1a1a1a; margin: 0; line-height: 1.35; }}
header.product {{ border-bottom: 2px solid #1f4e8c; margin-bottom: 1em; padding-bottom: .5em; }}
header.product h1 {{ font-size: 18pt; margin: 0 0 .2em; color: #1f4e8c; }}
header.product .sub {{ font-size: 12pt; margin: 0 0 .6em; }}
dl.facts {{ display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; margin: 0;
  font-size: 9pt; }}
dl.facts dt {{ font-weight: bold; }} dl.facts dd {{ margin: 0; }}
.classification {{ font-size: 8pt; color: #8a1c1c; margin: .5em 0 0; }}
section {{ margin-top: 1.2em; }}
h2 {{ font-size: 14pt; color: #1f4e8c; margin: .2em 0 .5em; break-after: avoid; }}
section > p:first-of-type {{ break-before: avoid; }}
table.data {{ border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: .4em 0 1em; }}
table.data caption {{ text-align: left; font-weight: bold; padding: .2em 0; }}
table.data th, table.data td {{ border-bottom: 1px solid #d0d7e2; padding: 2px 5px;
  text-align: left; vertical-align: top; overflow-wrap: break-word; }}
table.data th {{ background: #eef2f8; }}
table.data td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.data tr.total td {{ font-weight: bold; border-top: 1px solid #1f4e8c; }}
thead {{ display: table-header-group; }}
tr, figure {{ break-inside: avoid; }}
figure {{ margin: .5em 0 1em; }}
figure img {{ width: 100%; height: auto; display: block; }}
figcaption {{ font-size: 9pt; color: #444; }}
.note {{ font-size: 8pt; color: #555; margin: .2em 0 .8em; }}
.notes {{ margin-top: .8em; font-size: 8pt; color: #444; break-inside: avoid; }}
.notes h3 {{ font-size: 9pt; margin: 0 0 .2em; }} .notes ul {{ margin: 0; padding-left: 1.2em; }}
.commentary {{ border-left: 3px solid #1f4e8c; background: #f4f7fb; padding: .3em .8em;
  margin: .4em 0 1em; break-inside: avoid; }}
.commentary p {{ margin: .3em 0; }}
.commentary-label {{ font-weight: bold; color: #1f4e8c; }}
.commentary .attribution {{ font-style: italic; color: #444; font-size: 9pt; }}
.correction {{ border: 1px solid #8a1c1c; color: #8a1c1c; padding: .3em .6em; margin: .6em 0 0;
  font-weight: bold; }}
@media screen {{ body {{ max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }}
  section {{ margin-top: 2em; }} }}
@media print {{ header.product {{ margin-top: 0; }} }}
</style></head>
<body>
<header class="product"><h1>{html.escape(content.title)}</h1>
<p class="sub">{html.escape(content.area_name)} · {html.escape(content.period_label)}</p>
<dl class="facts">{dl}</dl>
{_correction_html(content)}<p class="classification">Politiegegevens (Wet politiegegevens) — alleen voor de ontvanger; niet verder verspreiden.</p>
<div class="notes"><h3>Toelichting</h3><ul>{notes}</ul></div>
</header>
{''.join(body)}
</body></html>
"""


def _correction_html(content: Content) -> str:
    if not content.correction:
        return ""
    return f'<p class="correction">{html.escape(content.correction)}</p>'


# -- PDF ---------------------------------------------------------------------------------------

def pdf_bytes(document: str) -> bytes:
    """The HTML printed to PDF (A4) by headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="vb-pdf-") as tmp:
        work = Path(tmp)
        source, target = work / "product.html", work / "product.pdf"
        source.write_text(document, encoding="utf-8")
        done = _chromium(["--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                          f"--print-to-pdf={target}", source.as_uri()], work)
        if not target.is_file() or target.stat().st_size == 0:
            raise RenderError(f"no PDF: {done.stderr.decode('utf-8', 'replace')[-500:]}")
        return target.read_bytes()


# -- XLSX and CSV ------------------------------------------------------------------------------

def _tables(content: Content) -> list[Table]:
    return [t for s in content.sections for t in s.tables]


def _info_rows(content: Content, info: Provenance) -> list[tuple[str, str]]:
    rows = [("Product", content.title), ("Soort", content.kind),
            ("Gebied", content.area_name), ("Gebiedscode", content.area_code),
            ("Periode", content.period_label),
            ("Peildatum", fmt.day(content.reference_date)),
            ("Gemaakt op", info.generated_at), ("Gemaakt door", info.generated_by),
            ("Dataversie", info.data_version), ("Dataset", info.dataset),
            ("Detailniveau", str(content.detail))]
    if info.version is not None:
        rows.append(("Versie", str(info.version)))
    rows += [("Toelichting", note) for note in content.notes]
    if content.correction:
        rows.append(("Correctie", content.correction))
    for section in content.sections:  # the police's commentary, with its attribution
        if section.commentary is not None:
            label = section.commentary.label or section.title
            key = section.title if label == section.title else f"{label}: {section.title}"
            rows.append((key, f"{section.commentary.text.strip()} "
                              f"{section.commentary.attribution}"))
    return rows


def _sheet_names(tables: list[Table]) -> list[str]:
    used, names = {"info"}, []
    for n, table in enumerate(tables, 1):
        base = re.sub(r"[\[\]:*?/\\']", " ", table.sheet or table.title).strip()[:28] or f"Tabel {n}"
        name, k = base, 2
        while name.lower() in used:
            name, k = f"{base[:26]} {k}", k + 1
        used.add(name.lower())
        names.append(name)
    return names


def xlsx_bytes(content: Content, info: Provenance) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 12})
    decimal = book.add_format({"num_format": "0.0"})
    sheet = book.add_worksheet("Info")
    for r, (key, value) in enumerate(_info_rows(content, info)):
        sheet.write_string(r, 0, key, bold)
        sheet.write_string(r, 1, neutralise(value or ""))
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 90)
    tables = _tables(content)
    for table, name in zip(tables, _sheet_names(tables)):
        sheet = book.add_worksheet(name)
        sheet.write_string(0, 0, neutralise(table.title), title)
        if table.note:
            sheet.write_string(1, 0, neutralise(table.note))
        for c, head in enumerate(table.header):
            sheet.write_string(2, c, neutralise(head), bold)
        widths = [len(h) + 2 for h in table.header]
        for r, row in enumerate(table.rows, 3):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    sheet.write_string(r, c, "ja" if value else "nee")
                elif isinstance(value, int):
                    sheet.write_number(r, c, value)
                elif isinstance(value, float):
                    sheet.write_number(r, c, value, decimal)
                else:
                    sheet.write_string(r, c, neutralise(str(value)))
                if c < len(widths):
                    widths[c] = min(60, max(widths[c], len(str(value)) + 2))
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width)
        sheet.freeze_panes(3, 0)
    created = datetime.fromisoformat(info.generated_at)
    book.set_properties({"title": f"{content.title} {content.area_name} {content.period_label}",
                         "author": info.generated_by, "company": "Veiligheidsbeeld",
                         "comments": f"dataversie {info.data_version}",
                         "created": created.replace(tzinfo=None)})
    book.close()
    return out.getvalue()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return neutralise(str(value))


def csv_bytes(content: Content, info: Provenance, sep: str = ";") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow([neutralise(f"# Veiligheidsbeeld rapportage: {content.title}; "
                               f"{content.area_name} ({content.area_code}); "
                               f"{content.period_label}; gemaakt {info.generated_at} door "
                               f"{info.generated_by}; dataversie {info.data_version}")])
    for table in _tables(content):
        writer.writerow([])
        writer.writerow([f"# {table.title}"])
        writer.writerow([neutralise(h) for h in table.header])
        for row in table.rows:
            writer.writerow([_csv_value(v) for v in row])
        if table.note:
            writer.writerow([f"# {table.note}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_all(content: Content, info: Provenance, *, tabular: bool = True) -> dict[str, bytes]:
    """Every format of a product: {"html", "pdf"} plus {"xlsx", "csv"} when tabular."""
    document = html_document(content, info)
    files = {"html": document.encode("utf-8"), "pdf": pdf_bytes(document)}
    if tabular:
        files["xlsx"] = xlsx_bytes(content, info)
        files["csv"] = csv_bytes(content, info)
    return files
