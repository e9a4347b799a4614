"""Monthly products: the *Maandelijkse stuurgegevens* (VNG-INP model) and the *Tabellenboek*.

Both cover the last complete month before ``reference`` (the data are counted up to, not
including, that date) for a gemeente, or for a basisteam, district or eenheid (police roles).
Figures at gemeente level come from the monthly gemeente counts (``data.queries.products``);
counts per wijk from ``data.queries.areas.incident_counts_by_area``, the map's query, so
small counts are hidden ("<5") for scopes below detail level 3 exactly as on the map.
"""
from __future__ import annotations

from datetime import date

import plotly.graph_objects as go

from data.periods import Period, add_months
from data.products.model import KINDS, Content, Figure, Section, Table
from data.queries.areas import incident_counts_by_area
from data import disclosure
from data.catalog import indicator_types
from data.queries import coverage
from data.queries.products import product_area

#: A figure no source covers, in every table and sentence (never 0).
NO_DATA = coverage.NO_DATA

MONTH_NAMES = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
               "september", "oktober", "november", "december")
SHORT_MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov",
                "dec")
#: Bundles in the key-figure table of the stuurgegevens and the tables of the tabellenboek.
BUNDLES = ("alle_misdrijven", "woninginbraak", "hic", "geweld", "vermogen", "fietsdiefstal",
           "vernieling", "drugs", "ondermijning", "overlast")
#: Bundles per wijk in the tabellenboek (one column each).
#: A wijk cell of a bundle the scope's release does not publish per wijk (data/disclosure.py).
NOT_PUBLISHED = "niet openbaar"
WIJK_BUNDLES = ("alle_misdrijven", "woninginbraak", "hic", "geweld", "vermogen", "overlast")
SOURCE_NOTE = ("Bron: politieregistraties (registratiedatum niet later dan de peildatum). "
               "Cijfers van de laatste maanden zijn voorlopig: late registraties kunnen nog "
               "volgen.")


# -- shared helpers (also used by data.products.incidentlists) ---------------------------------

def month_label(month: date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def short_month(month: date) -> str:
    return f"{SHORT_MONTHS[month.month - 1]} {month.year}"


def day_label(day: date) -> str:
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def change_pct(current, previous):
    """Change in percent, one decimal; None when there is nothing to compare with."""
    if current is None or not previous:
        return None
    return round((current - previous) * 100.0 / previous, 1)


def dutch_int(n: int) -> str:
    return f"{int(n):,}".replace(",", ".")


def change_words(current: int, previous: int) -> str:
    pct = change_pct(current, previous)
    if pct is None:
        return "geen vergelijking mogelijk (vorig jaar nul)"
    if pct == 0:
        return "evenveel als een jaar eerder"
    word = "meer" if pct > 0 else "minder"
    return f"{str(abs(pct)).replace('.', ',')}% {word} dan een jaar eerder ({dutch_int(previous)})"


def report_month(reference: date) -> date:
    """The last complete month before ``reference``."""
    return add_months(date(reference.year, reference.month, 1), -1)


def disclosure_note(scope) -> str | None:
    """The sentence on figures below the gemeente for a scope at detail level 1."""
    return disclosure.LIST_NOTE if disclosure.restricted(scope, "wijk") else None


def _figure_json(fig) -> dict:
    return fig.to_plotly_json()


# -- stuurgegevens -----------------------------------------------------------------------------

def _periods(month: date) -> tuple[Period, Period, Period, Period]:
    """The month, the same month a year earlier, this year up to and including the month and
    the same months a year earlier."""
    previous = date(month.year - 1, month.month, 1)
    return (Period(month, add_months(month, 1)), Period(previous, add_months(previous, 1)),
            Period(date(month.year, 1, 1), add_months(month, 1)),
            Period(date(month.year - 1, 1, 1), add_months(previous, 1)))


def _figures(con, scope, gemeenten, indicator: str, month: date) -> list:
    """[month, month a year earlier, change %, year to date, a year earlier, change %] of
    ``indicator`` over ``gemeenten`` from ``data.queries.coverage``: "geen gegevens" where no
    source covers a period (and then no change), never 0."""
    periods = _periods(month)
    cells = coverage.totals(con, scope=scope, gemeenten=gemeenten, indicators=[indicator],
                            periods=periods)[indicator]
    this, last, ytd, ytd_ly = (cells[p].value for p in periods)

    def shown(value):
        return NO_DATA if value is None else value
    return [shown(this), shown(last), change_pct(this, last), shown(ytd), shown(ytd_ly),
            change_pct(ytd, ytd_ly)]


def _counted(value) -> bool:
    return isinstance(value, int)


def stuurgegevens(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """All registered crime of the month by type, against the same month last year, and the
    year to date against last year (VNG-INP model). Every figure comes from
    ``data.queries.coverage``; a period no source covers says "geen gegevens", and so does the
    sentence, never "0 misdrijven"."""
    where = product_area(con, scope=scope, area=area)
    month = report_month(reference)
    previous_month = date(month.year - 1, month.month, 1)
    m_cur, m_prev = month_label(month), month_label(previous_month)
    ytd_cur = f"jan t/m {SHORT_MONTHS[month.month - 1]} {month.year}"
    ytd_prev = f"jan t/m {SHORT_MONTHS[month.month - 1]} {month.year - 1}"
    header = [m_cur, m_prev, "Verschil (%)", ytd_cur, ytd_prev, "Verschil (%)"]
    titles = dict(con.execute(
        "SELECT group_code, any_value(group_title) FROM type_groups"
        " WHERE group_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [list(BUNDLES)]).fetchall())

    key_rows, totals = [], None
    for group in (g for g in BUNDLES if g in titles):
        values = _figures(con, scope, where.gemeenten, group, month)
        key_rows.append([titles[group], *values])
        if group == "alle_misdrijven":
            totals = values
    totals = totals or [NO_DATA, NO_DATA, None, NO_DATA, NO_DATA, None]

    type_rows = []
    sums = [0, 0, 0, 0]
    for code, title in con.execute("SELECT code, title FROM crime_types WHERE kind = 'misdrijf'"
                                   " ORDER BY sort_key").fetchall():
        values = _figures(con, scope, where.gemeenten, code, month)
        plain = [values[i] for i in (0, 1, 3, 4)]
        for i, v in enumerate(plain):
            sums[i] = sums[i] + v if _counted(v) and _counted(sums[i]) else NO_DATA
        if any(_counted(v) and v for v in plain):
            type_rows.append([code, title, *values])
    type_rows.append(["", "Totaal misdrijven", sums[0], sums[1],
                      change_pct(*[v if _counted(v) else None for v in sums[:2]]), sums[2],
                      sums[3], change_pct(*[v if _counted(v) else None for v in sums[2:]])])

    if _counted(totals[0]):
        sentences = [
            f"In {m_cur} zijn in {where.name} {dutch_int(totals[0])} misdrijven geregistreerd, "
            + (f"{change_words(totals[0], totals[1])}." if _counted(totals[1]) else
               "geen vergelijking met een jaar eerder mogelijk (geen gegevens).")]
    else:
        sentences = [f"Voor {m_cur} zijn er in {where.name} geen gegevens over alle misdrijven: "
                     "de geladen bronnen dekken deze maand niet (dat is iets anders dan 0)."]
    if _counted(totals[3]):
        sentences.append(
            f"Van januari tot en met {MONTH_NAMES[month.month - 1]} {month.year} zijn het er "
            f"{dutch_int(totals[3])}, "
            + (f"{change_words(totals[3], totals[4])}." if _counted(totals[4]) else
               "geen vergelijking met een jaar eerder mogelijk (geen gegevens)."))
    covered = [(row[0], row[1]) for row in key_rows
               if _counted(row[1]) and row[0] != titles.get("alle_misdrijven")]
    if not _counted(totals[0]) and covered:
        sentences.append("Wel gegevens: " + ", ".join(f"{t.lower()} {dutch_int(v)}"
                                                      for t, v in covered) + ".")

    months = [date(month.year, m, 1) for m in range(1, 13)]
    monthly = coverage.totals(
        con, scope=scope, gemeenten=where.gemeenten, indicators=["alle_misdrijven"],
        periods=[Period(add_months(m, shift), add_months(m, shift + 1))
                 for m in months for shift in (0, -12)])["alle_misdrijven"]

    def month_value(m: date):
        return monthly[Period(m, add_months(m, 1))].value
    this_year = [month_value(m) if m <= month else None for m in months]
    last_year = [month_value(add_months(m, -12)) for m in months]
    fig = go.Figure([
        go.Bar(x=list(SHORT_MONTHS), y=last_year, name=str(month.year - 1),
               marker_color="#9fb7d6"),
        go.Bar(x=list(SHORT_MONTHS), y=this_year, name=str(month.year), marker_color="#1f4e8c"),
    ])
    fig.update_layout(barmode="group", template="plotly_white", height=380,
                      margin=dict(l=50, r=20, t=30, b=40), legend=dict(orientation="h", y=1.1),
                      yaxis_title="misdrijven", separators=",.")

    sections = [
        Section("Kerncijfers", paragraphs=sentences, tables=[Table(
            f"Kerncijfers {m_cur}", ["Indicator", *header], key_rows, sheet="Kerncijfers",
            note="Bundels overlappen: een misdrijf kan in meer bundels vallen. "
                 f"“{NO_DATA}”: geen bron voor die periode (niet 0).")],
            figures=[Figure(f"Alle misdrijven per maand, {month.year} en {month.year - 1}",
                            _figure_json(fig))]),
        Section("Misdrijven naar soort", paragraphs=[
            "Alle soorten misdrijven (SoortMisdrijf, Politie/CBS) met ten minste één "
            "registratie in de vergeleken periodes."], tables=[Table(
                f"Misdrijven naar soort, {m_cur}", ["Code", "Soort", *header], type_rows,
                sheet="Naar soort")]),
    ]
    if len(where.gemeenten) > 1:
        rows = [[code, where.names[code],
                 *_figures(con, scope, [code], "alle_misdrijven", month)]
                for code in where.gemeenten]
        sections.append(Section("Per gemeente", tables=[Table(
            f"Alle misdrijven per gemeente, {m_cur}", ["Code", "Gemeente", *header], rows,
            sheet="Per gemeente")]))
    return Content(kind="stuurgegevens", title=KINDS["stuurgegevens"][0], area_code=where.code,
                   area_name=where.name, period_label=m_cur, reference_date=reference,
                   sections=sections, detail=scope.detail, notes=[SOURCE_NOTE])


# -- tabellenboek ------------------------------------------------------------------------------

def tabellenboek(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """Monthly tables: crime types per gemeente, the wijken per bundle (small counts hidden
    below detail level 3) and the last 13 months per bundle."""
    where = product_area(con, scope=scope, area=area)
    month = report_month(reference)
    m_cur = month_label(month)
    period = Period(month, add_months(month, 1))

    type_rows = []
    totals: list = [0] * len(where.gemeenten)
    for code, title in con.execute("SELECT code, title FROM crime_types WHERE kind = 'misdrijf'"
                                   " ORDER BY sort_key").fetchall():
        cells = coverage.gemeente_counts(con, scope=scope, gemeenten=where.gemeenten,
                                         indicator=code, periods=[period])
        values = [cells[(gm, period)].value for gm in where.gemeenten]
        totals = [t + v if v is not None and t != NO_DATA else NO_DATA
                  for t, v in zip(totals, values)]
        if any(values):
            shown = [NO_DATA if v is None else v for v in values]
            type_rows.append([code, title, *shown] + (
                [sum(values) if None not in values else NO_DATA] if len(values) > 1 else []))
    type_rows.append(["", "Totaal misdrijven", *totals] + (
        [sum(totals) if NO_DATA not in totals else NO_DATA] if len(totals) > 1 else []))
    names = [where.names[code] for code in where.gemeenten]
    sections = [Section("Misdrijven naar soort", tables=[Table(
        f"Misdrijven naar soort en gemeente, {m_cur}",
        ["Code", "Soort", *names] + (["Totaal"] if len(names) > 1 else []), type_rows,
        sheet="Soort x gemeente", note=f"“{NO_DATA}”: geen bron voor deze maand (niet 0).")])]

    releases = {}
    for group in WIJK_BUNDLES:
        try:
            releases[group] = disclosure.release(con, scope=scope, level="wijk", indicator=group)
        except disclosure.NotPublished:
            releases[group] = None  # nothing of it is published per wijk for this scope
    notes_wijk = [r.note() for r in releases.values() if r is not None and r.note()]
    if any(r is None for r in releases.values()):
        notes_wijk.append(f"'{NOT_PUBLISHED}': de politie publiceert deze cijfers niet per wijk.")
    for code in where.gemeenten:
        columns = {group: incident_counts_by_area(con, scope=scope, level="wijk",
                                                  period=period, group=group, within=code)
                   for group in WIJK_BUNDLES if releases[group] is not None}
        gemeente = {group: incident_counts_by_area(con, scope=scope, level="gemeente",
                                                   period=period, group=group, within=code)
                    for group in WIJK_BUNDLES}
        titles = {g: _bundle_title(con, g) for g in WIJK_BUNDLES}
        base = columns[WIJK_BUNDLES[0]]
        rows = []
        for i, r in enumerate(base.itertuples()):
            cells = []
            for group in WIJK_BUNDLES:
                cells.append(_shown(columns[group]["count"].iloc[i]) if group in columns
                             else NOT_PUBLISHED)
            rows.append([r.code, r.name or r.code, *cells])
        rows.append([code, f"Totaal {where.names[code]}",
                     *[_shown(gemeente[g]["count"].iloc[0]) if len(gemeente[g]) else NO_DATA
                       for g in WIJK_BUNDLES]])
        sections.append(Section(f"Wijken in {where.names[code]}", tables=[Table(
            f"Misdrijven en overlast per wijk, {where.names[code]}, {m_cur}",
            ["Wijkcode", "Wijk", *[titles[g] for g in WIJK_BUNDLES]], rows,
            sheet=_sheet(f"Wijken {where.names[code]}"),
            note=" ".join(notes_wijk))]))

    months = [add_months(month, -i) for i in range(12, -1, -1)]
    month_periods = [Period(m, add_months(m, 1)) for m in months]
    titles = {g: _bundle_title(con, g) for g in BUNDLES}
    month_rows = []
    groups = [g for g in BUNDLES if indicator_types(con, g)]
    found = coverage.totals(con, scope=scope, gemeenten=where.gemeenten, indicators=groups,
                            periods=month_periods)
    for group in groups:
        values = [found[group][p].value for p in month_periods]
        month_rows.append([titles[group], *[NO_DATA if v is None else v for v in values]])
    fig = go.Figure([go.Scatter(x=[short_month(m) for m in months],
                                y=[v if _counted(v) else None for v in row[1:]], name=row[0],
                                mode="lines+markers")
                     for row in month_rows if row[0] in ("Alle misdrijven",)])
    fig.update_layout(template="plotly_white", height=340, margin=dict(l=50, r=20, t=30, b=40),
                      yaxis_title="misdrijven", separators=",.", showlegend=False,
                      yaxis_rangemode="tozero")
    sections.append(Section("Verloop per maand", tables=[Table(
        f"Registraties per maand naar bundel, {where.name}",
        ["Bundel", *[short_month(m) for m in months]], month_rows, sheet="Per maand",
        note="Bundels overlappen: een misdrijf kan in meer bundels vallen.")],
        figures=[Figure(f"Alle misdrijven per maand, {where.name}", _figure_json(fig))]))
    notes = [SOURCE_NOTE]
    if disclosure_note(scope):
        notes.append(disclosure_note(scope))
    return Content(kind="tabellenboek", title=KINDS["tabellenboek"][0], area_code=where.code,
                   area_name=where.name, period_label=m_cur, reference_date=reference,
                   sections=sections, detail=scope.detail, notes=notes)


def _shown(value):
    """A count cell: the number, or "geen gegevens" (<NA>: no source covers it)."""
    import pandas as pd
    return NO_DATA if pd.isna(value) else int(value)


def _bundle_title(con, group: str) -> str:
    from data.catalog import indicator_title
    return indicator_title(con, group)


def _sheet(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, " ")
    return name[:31]
