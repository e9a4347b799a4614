"""Comparison products: a period against the same months a year earlier (issue #7).

* ``perioderapportage`` — vier-, acht- and twaalfmaandsrapportage: 1 January up to the newest
  4-, 8- or 12-month boundary on or before the reference date (1 May, 1 September, 1 January;
  reference 2026-05-01 gives januari t/m april 2026);
* ``jaarverslag`` — the calendar year before the newest 1 January on or before the reference,
  plus every SoortMisdrijf type and a five-year overview;
* ``halfjaarcijfers`` — the half year before the newest 1 January or 1 July on or before the
  reference (1 July: januari t/m juni; 1 January: juli t/m december of the year before);
* ``jaarafsluiting`` — the calendar year, as the jaarverslag but compact, with a table per
  gemeente when the area is a basisteam or district.

The area is a gemeente, or a basisteam, district or eenheid whose figures are the sum of its
gemeenten (``data.queries.products.product_area``): the unit must lie entirely inside the
scope, so unit products are for police roles (a mayor's scope is their own gemeente only).
All figures are at gemeente level or above, exact for every scope (data/disclosure.py). Every
change carries the Poisson test of ``data.stats``; the sentences call a change "significant"
only when that test says so, and "binnen normale schommeling" otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from data.accounts import DEFAULT_DRIEHOEK
from data.catalog import indicator_title, indicator_types
from data.periods import Period, add_months, month_range
from data.products.model import KINDS, Content, Figure, Section, Table
from data.queries import comparisons as q
from data.queries import coverage
from data.queries import performance
from data.queries.overview import KEY_GROUPS
from data.queries.products import ProductArea, product_area
from data.stats import Change, poisson_change
from layouts import format as fmt
from layouts.figures import whole_number_axis

BLUE, ORANGE, GREY = "#0072B2", "#E69F00", "#9e9e9e"
#: A figure no source covers, in every table and sentence (never 0).
NO_DATA = coverage.NO_DATA
#: Years in the jaarverslag's overview.
TREND_YEARS = 5


# -- shared helpers (also used by the gebiedsscan) ------------------------------------------

def indicator_codes(con, profile) -> list[str]:
    """The main bundles, then the profile's driehoek indicators (default ones without a
    profile), without duplicates and unknown codes."""
    driehoek = tuple(getattr(profile, "driehoek", None) or DEFAULT_DRIEHOEK)
    out = []
    for code in (*KEY_GROUPS, *driehoek):
        if code not in out and indicator_types(con, code):
            out.append(code)
    return out


def total(frame: pd.DataFrame, types, start: date, end: date) -> int:
    """Sum of ``count`` in a monthly type frame for ``types`` and months in [start, end)."""
    rows = frame[(frame["month"] >= start) & (frame["month"] < end)
                 & frame["type_code"].isin(list(types))]
    return int(rows["count"].sum())


def per_month(frame: pd.DataFrame, types, start: date, end: date) -> dict[date, int]:
    rows = frame[frame["type_code"].isin(list(types))].groupby("month")["count"].sum()
    return {m: int(rows.get(m, 0)) for m in month_range(start, end)}


def period_label(period: Period) -> str:
    first, last = period.start, add_months(period.end, -1)
    if first == last:
        return f"{fmt.MONTHS_LONG[first.month - 1]} {first.year}"
    if first.year == last.year:
        return (f"{fmt.MONTHS_LONG[first.month - 1]} t/m {fmt.MONTHS_LONG[last.month - 1]} "
                f"{last.year}")
    return (f"{fmt.MONTHS_LONG[first.month - 1]} {first.year} t/m "
            f"{fmt.MONTHS_LONG[last.month - 1]} {last.year}")


def mark(change: Change) -> str:
    """'significant', 'binnen normale schommeling' or 'geen vergelijking mogelijk'."""
    if change.z is None:
        return "geen vergelijking mogelijk"
    return "significant" if change.significant else "binnen normale schommeling"


def _pct_text(pct: float) -> str:
    value = abs(pct)
    return (fmt.integer(value) if round(value) >= 1 else fmt.decimal(value, 1)) + "%"


def sentence(title: str, change: Change, *, than: str = "vorig jaar") -> str:
    """'Woninginbraak: 132, 18% minder dan vorig jaar (significant).' Counts in Dutch format;
    a decrease is 'minder', an increase 'meer'."""
    if change.current is None:  # no source covers the period: never a 0
        return f"{title}: geen gegevens voor deze periode."
    current = fmt.integer(change.current)
    if change.previous is None or change.z is None:
        return f"{title}: {current} (geen vergelijking met {than} mogelijk)."
    if change.previous == 0:
        return f"{title}: {current}, tegen 0 {than} ({mark(change)})."
    if change.current == change.previous:
        return f"{title}: {current}, evenveel als {than} ({mark(change)})."
    direction = "meer" if change.current > change.previous else "minder"
    return f"{title}: {current}, {_pct_text(change.pct)} {direction} dan {than} ({mark(change)})."


def developments(rows: list[tuple[str, Change]], *, than: str = "vorig jaar") -> list[str]:
    """Sentences for the indicators: significant changes first (largest first), then the
    rest in the given order."""
    significant = sorted([r for r in rows if r[1].significant], key=lambda r: -abs(r[1].z))
    rest = [r for r in rows if not r[1].significant]
    return [sentence(title, change, than=than) for title, change in (*significant, *rest)]


def change_row(label, change: Change) -> list:
    pct = change.pct
    difference = (None if change.previous is None or change.current is None
                  else change.current - change.previous)
    return [label, NO_DATA if change.current is None else change.current,
            NO_DATA if change.previous is None else change.previous, difference,
            None if pct is None else round(pct, 1), mark(change)]


def provisional_note(provisional_from: date | None, end: date) -> str | None:
    if provisional_from is None or provisional_from >= end:
        return None
    last = add_months(end, -1)
    return (f"De cijfers van {fmt.MONTHS_LONG[provisional_from.month - 1]} "
            f"{provisional_from.year} t/m {fmt.MONTHS_LONG[last.month - 1]} {last.year} "
            "zijn voorlopig: late registraties kunnen nog volgen.")


def figure_dict(fig: go.Figure) -> dict:
    return fig.to_plotly_json()


def _layout(fig: go.Figure, **extra) -> go.Figure:
    """Counts on the y-axis (whole numbers only); call it after the traces are added."""
    fig.update_layout(margin=dict(l=48, r=12, t=24, b=36), separators=",.", plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.1, x=0),
                      yaxis=dict(gridcolor="#e5e5e5"), **extra)
    return whole_number_axis(fig)


SIGNIFICANCE_NOTE = ("Significant: het verschil met een jaar eerder is groter dan toevallige "
                     "schommeling (exacte Poisson-toets, 5%). Anders: binnen normale schommeling.")


# -- the comparison core ---------------------------------------------------------------------

@dataclass
class _Data:
    """The figures of one product: every count comes from ``data.queries.coverage`` for the
    area's gemeenten together, a number with its source or "geen gegevens" (never 0)."""
    con: object
    scope: object
    area: ProductArea
    period: Period
    previous: Period
    first: date | None
    latest: date | None
    provisional_from: date | None
    cache: dict = field(default_factory=dict)

    def cell(self, indicator: str, period: Period | None = None) -> coverage.Cell:
        """The area's count of ``indicator`` (bundle or type) in ``period`` (default: the
        product's period)."""
        period = period or self.period
        key = (indicator, period)
        if key not in self.cache:
            self.cache[key] = coverage.totals(
                self.con, scope=self.scope, gemeenten=self.area.gemeenten,
                indicators=[indicator], periods=[period])[indicator][period]
        return self.cache[key]

    def change(self, indicator: str, period: Period | None = None) -> Change:
        period = period or self.period
        return poisson_change(self.cell(indicator, period).value,
                              self.cell(indicator, period.shifted(-12)).value)


def _load(con, scope, area: str, period: Period) -> _Data:
    resolved = product_area(con, scope=scope, area=area)
    first, latest, provisional = q.data_months(con, scope=scope, gemeenten=resolved.gemeenten)
    return _Data(con, scope, resolved, period, period.shifted(-12), first, latest, provisional)


def _boundary(reference: date, months: tuple[int, ...]) -> date:
    """The newest first-of-month in ``months`` on or before ``reference``."""
    day = date(reference.year, reference.month, 1)
    while day.month not in months:
        day = add_months(day, -1)
    return day


def _notes(data: _Data) -> list[str]:
    notes = []
    main = data.cell("alle_misdrijven")
    if not main.known:
        notes.append(f"Geen gegevens: de geladen bronnen hebben geen cijfer van alle misdrijven "
                     f"voor {period_label(data.period)}. Cijfers die er wel zijn staan in dit "
                     "product; “geen gegevens” is nooit 0.")
    elif main.source != coverage.INCIDENTS:
        notes.append(f"Bron: {coverage.source_title(main.source)}"
                     + (f" ({main.derived})" if main.derived else "") + ".")
    notes.append(SIGNIFICANCE_NOTE)
    if data.latest is not None and data.latest < data.period.end:
        notes.append("Let op: de periode is nog niet compleet; de gegevens lopen tot en met "
                     f"{fmt.MONTHS_LONG[data.latest.month - 1]} {data.latest.year}.")
    note = provisional_note(data.provisional_from, data.period.end)
    if note:
        notes.append(note)
    elif main.provisional:
        notes.append("De cijfers van deze periode zijn voorlopig.")
    if main.known and not data.cell("alle_misdrijven", data.previous).known:
        notes.append("De gegevens gaan niet ver genoeg terug voor een vergelijking met een "
                     "jaar eerder.")
    return notes


def _indicator_section(con, data: _Data, profile, codes=None) -> tuple[Section, Section]:
    """'Belangrijkste ontwikkelingen' (sentences) and 'Cijfers per indicator' (table) of
    ``codes`` (default: :func:`indicator_codes` of the profile)."""
    rows, changes = [], []
    for code in (codes if codes is not None else indicator_codes(con, profile)):
        title = indicator_title(con, code)
        change = data.change(code)
        changes.append((title, change))
        rows.append(change_row(title, change))
    label, before = period_label(data.period), period_label(data.previous)
    table = Table(f"Geregistreerde aantallen, {label} en een jaar eerder",
                  ["Indicator", label, before, "Verschil", "Verschil (%)", "Significantie"],
                  rows, sheet="Indicatoren", note=SIGNIFICANCE_NOTE)
    intro = (f"Geregistreerde misdrijven en incidenten in {data.area.name}, {label}, "
             f"vergeleken met {before}.")
    return (Section("Belangrijkste ontwikkelingen", [intro, *developments(changes)]),
            Section("Cijfers per indicator", tables=[table]))


def _monthly_figure(con, data: _Data, group: str = "alle_misdrijven") -> Figure:
    """Bars per month: this period against the same months a year earlier; a month no source
    covers has no bar (and the note says so), never a 0."""
    months = month_range(data.period.start, data.period.end)

    def value(month: date) -> int | None:
        return data.cell(group, Period(month, add_months(month, 1))).value
    now = [value(m) for m in months]
    before = [value(add_months(m, -12)) for m in months]
    labels = [fmt.month(m) if data.period.start.year != add_months(data.period.end, -1).year
              else fmt.MONTHS[m.month - 1] for m in months]
    fig = go.Figure()
    if any(v is not None for v in before):
        fig.add_bar(x=labels, y=before, name=period_label(data.previous), marker_color=GREY)
    provisional = [data.provisional_from is not None and m >= data.provisional_from
                   for m in months]
    fig.add_bar(x=labels, y=now, name=period_label(data.period),
                marker=dict(color=[f"rgba(0,114,178,{0.4 if p else 1})" for p in provisional],
                            pattern_shape=["/" if p else "" for p in provisional]))
    _layout(fig, barmode="group")
    notes = ["Gearceerde maanden zijn voorlopig."] if any(provisional) else []
    if any(v is None for v in now):
        notes.append("Maanden zonder staaf: geen gegevens (de bron heeft geen maandcijfers).")
    return Figure(f"{indicator_title(con, group)} per maand, vergeleken met een jaar eerder",
                  figure_dict(fig), " ".join(notes))


def _gemeente_table(con, scope, data: _Data) -> Table:
    """For a unit: per gemeente all misdrijven now and a year earlier, and per 1,000."""
    cells = coverage.gemeente_counts(con, scope=scope, gemeenten=data.area.gemeenten,
                                     indicator="alle_misdrijven",
                                     periods=[data.period, data.previous])
    people = q.gemeente_population(con, scope=scope, year=add_months(data.period.end, -1).year)
    rows = []
    for gm in people[people["code"].isin(data.area.gemeenten)].itertuples():
        current = cells[(gm.code, data.period)].value
        previous = cells[(gm.code, data.previous)].value
        change = poisson_change(current, previous)
        inhabitants = None if pd.isna(gm.population) else int(gm.population)
        rate = (round(current * 1000 / inhabitants, 1) if inhabitants and current is not None
                else None)
        rows.append([gm.name, inhabitants, *change_row(None, change)[1:],
                     NO_DATA if current is None else rate])
    label = period_label(data.period)
    return Table(f"Alle misdrijven per gemeente, {label}",
                 ["Gemeente", "Inwoners", label, period_label(data.previous), "Verschil",
                  "Verschil (%)", "Significantie", "Per 1.000 inwoners"],
                 rows, sheet="Gemeenten")


def _comparison(con, *, scope, area: str, period: Period, profile, kind: str,
                per_gemeente: bool = True):
    data = _load(con, scope, area, period)
    developments_section, table_section = _indicator_section(con, data, profile)
    table_section.figures.append(_monthly_figure(con, data))
    sections = [developments_section, table_section]
    if per_gemeente and len(data.area.gemeenten) > 1:
        sections.append(Section("Per gemeente", tables=[_gemeente_table(con, scope, data)]))
    clearance = _clearance_section(con, scope, data)
    if clearance is not None:
        sections.append(clearance)
    title = f"{KINDS[kind][0]} {data.area.name}"
    notes = _notes(data)
    if not data.cell("alle_misdrijven").known:  # said on the first page, not only at the end
        developments_section.paragraphs.insert(0, notes[0])
    content = Content(kind=kind, title=title, area_code=data.area.code,
                      area_name=data.area.name, period_label=period_label(period),
                      reference_date=period.end, sections=sections, detail=scope.detail,
                      notes=notes)
    return content, data


# -- the builders ---------------------------------------------------------------------------

def perioderapportage(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """Vier-, acht- of twaalfmaandsrapportage up to the newest boundary (1 May, 1 September or
    1 January) on or before ``reference``."""
    end = _boundary(reference, (1, 5, 9))
    start = date(add_months(end, -1).year, 1, 1)
    content, _ = _comparison(con, scope=scope, area=area, period=Period(start, end),
                             profile=profile, kind="perioderapportage")
    months = len(month_range(start, end))
    word = {4: "Viermaandsrapportage", 8: "Achtmaandsrapportage",
            12: "Twaalfmaandsrapportage"}.get(months, f"{months}-maandsrapportage")
    content.title = f"{word} {content.area_name}"
    return content


def jaarverslag(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """The calendar year before the newest 1 January on or before ``reference``: the
    comparison, every SoortMisdrijf type and a five-year overview."""
    end = _boundary(reference, (1,))
    period = Period(date(end.year - 1, 1, 1), end)
    trend_from = date(end.year - TREND_YEARS, 1, 1)
    content, data = _comparison(con, scope=scope, area=area, period=period, profile=profile,
                                kind="jaarverslag")
    content.title = f"Jaarverslag {period.start.year} {data.area.name}"
    content.sections.append(_type_section(con, scope, data))
    content.sections.append(_trend_section(con, data, trend_from, profile))
    return content


def halfjaarcijfers(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """The half year before the newest 1 January or 1 July on or before ``reference``,
    against the same half year a year earlier."""
    end = _boundary(reference, (1, 7))
    period = Period(add_months(end, -6), end)
    content, data = _comparison(con, scope=scope, area=area, period=period, profile=profile,
                                kind="halfjaarcijfers")
    half = "eerste" if period.start.month == 1 else "tweede"
    content.title = f"Halfjaarcijfers {data.area.name}: {half} halfjaar {period.start.year}"
    return content


def jaarafsluiting(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """The calendar year before the newest 1 January on or before ``reference`` against the
    year before, for a basisteam (or district, eenheid, gemeente) with a table per gemeente."""
    end = _boundary(reference, (1,))
    period = Period(date(end.year - 1, 1, 1), end)
    content, data = _comparison(con, scope=scope, area=area, period=period, profile=profile,
                                kind="jaarafsluiting")
    prefix = "gemeente " if data.area.level == "gemeente" else ""
    content.title = f"Jaarafsluiting {period.start.year} {prefix}{data.area.name}"
    return content


# -- jaarverslag sections -------------------------------------------------------------------

def _type_section(con, scope, data: _Data) -> Section:
    types = q.crime_type_list(con, scope=scope)
    rows = []
    for t in types.itertuples():
        change = data.change(t.code)
        rows.append([t.code, *change_row(t.title, change)])
    label = period_label(data.period)
    table = Table(f"Alle soorten misdrijven, {label}",
                  ["Code", "Soort misdrijf", label, period_label(data.previous), "Verschil",
                   "Verschil (%)", "Significantie"], rows, sheet="Soorten misdrijf",
                  note="Indeling naar SoortMisdrijf (Politie/CBS).")
    return Section("Per soort misdrijf", tables=[table])


def _trend_section(con, data: _Data, trend_from: date, profile) -> Section:
    """Each indicator per calendar year; a year no source covers is "geen gegevens"; years
    before any figure are left out."""
    every = list(range(trend_from.year, data.period.start.year + 1))
    codes = indicator_codes(con, profile)
    values = {(code, y): data.cell(code, Period(date(y, 1, 1), date(y + 1, 1, 1))).value
              for code in codes for y in every}
    known = [y for y in every if any(values[(c, y)] is not None for c in codes)]
    years = [y for y in every if known and y >= known[0]]
    rows = [[indicator_title(con, code),
             *[NO_DATA if values[(code, y)] is None else values[(code, y)] for y in years]]
            for code in codes]
    table = Table(f"Vijfjaarsoverzicht {years[0] if years else ''}–{data.period.start.year}",
                  ["Indicator", *[str(y) for y in years]], rows, sheet="Vijf jaar")
    fig = go.Figure()
    fig.add_bar(x=[str(y) for y in years],
                y=[values.get(("alle_misdrijven", y)) for y in years],
                name="Alle misdrijven", marker_color=BLUE)
    _layout(fig, showlegend=False)
    paragraphs = []
    if len(years) < TREND_YEARS:
        paragraphs.append(f"De gegevens gaan terug tot {years[0]}; alleen volledige jaren zijn "
                          "opgenomen." if years else "Geen gegevens beschikbaar.")
    return Section("Ontwikkeling over vijf jaar", paragraphs, [table],
                   [Figure("Alle misdrijven per jaar", figure_dict(fig))])


# -- politieprestaties ---------------------------------------------------------------------

#: Years in the clearance table: the period's year and the ones before it.
CLEARANCE_YEARS = 5


def _percent(value) -> str:
    return fmt.decimal(value, 1) + "%"


def _clearance_figures(y) -> str:
    """'17.865 van de 76.605 geregistreerde misdrijven opgehelderd (23,3%); in heel Nederland
    23,9%.'"""
    national = (f"in heel Nederland {_percent(y.national_rate)}" if y.national_rate is not None
                else f"voor heel Nederland zijn er geen gegevens van {y.year}")
    provisional = " (voorlopige cijfers)" if y.provisional else ""
    return (f"{fmt.integer(y.cleared)} van de {fmt.integer(y.registered)} geregistreerde "
            f"misdrijven opgehelderd ({_percent(y.rate)}){provisional}; {national}.")


def _clearance_section(con, scope, data: _Data) -> Section | None:
    """Politieprestaties: cleared crimes and the clearance rate per year of the area's
    gemeenten together (CBS/Politie 83648NED), the period's year and the years before it, and
    the newest year with figures, with the national rate beside it. A year without a CBS
    figure says "geen gegevens" (never 0). None when the database holds no cleared crimes at
    all (the demo)."""
    year = add_months(data.period.end, -1).year
    figures = performance.clearance(con, scope=scope, gemeenten=data.area.gemeenten,
                                    through=year)
    if not figures.available:
        return None
    by_year = {y.year: y for y in figures.years}
    latest = next((y for y in reversed(figures.years) if y.year <= year and y.rate is not None),
                  None)
    years = sorted({*range(year - CLEARANCE_YEARS + 1, year + 1),
                    *([latest.year] if latest else [])})
    none = performance.NO_DATA
    rows = []
    for n in years:
        y = by_year.get(n)
        if y is None:  # before the first year the imported tables hold
            rows.append([str(n), none, none, none, none])
            continue
        rows.append([f"{n} (voorlopig)" if y.provisional else str(n),
                     none if y.registered is None else y.registered,
                     none if y.cleared is None else y.cleared,
                     none if y.rate is None else round(y.rate, 1),
                     none if y.national_rate is None else round(y.national_rate, 1)])
    name = data.area.name
    current = by_year.get(year)
    if current is not None and current.rate is not None:
        paragraphs = [f"In {year} zijn in {name} " + _clearance_figures(current)]
    else:
        paragraphs = [f"Voor {year} zijn er (nog) geen CBS-cijfers over opgehelderde "
                      f"misdrijven in {name}: geen gegevens."]
        if latest is not None:
            paragraphs.append(f"De meest recente CBS-cijfers zijn van {latest.year}: in "
                              f"{name} zijn toen " + _clearance_figures(latest))
        else:
            paragraphs.append(f"Voor {name} zijn er geen CBS-cijfers over opgehelderde "
                              "misdrijven.")
    if add_months(data.period.end, -12) != data.period.start:
        paragraphs.append("CBS publiceert opgehelderde misdrijven per jaar; de tabel toont "
                          "hele kalenderjaren.")
    note = (f"Bron: {figures.source}, alle misdrijven. Ophelderingspercentage: opgehelderde "
            "gedeeld door geregistreerde misdrijven van hetzelfde jaar (uit de gepubliceerde, door "
            "CBS afgeronde aantallen). "
            f"“{none}”: geen CBS-cijfer voor dat jaar"
            + (" (of niet voor elke gemeente van het gebied)." if len(data.area.gemeenten) > 1
               else "."))
    table = Table(f"Opgehelderde misdrijven {name}, {years[0]}–{years[-1]}",
                  ["Jaar", "Geregistreerd", "Opgehelderd", "Ophelderingspercentage",
                   "Nederland (percentage)"], rows, sheet="Opgehelderd", note=note)
    return Section("Opgehelderde misdrijven (politieprestaties)", paragraphs, [table])
