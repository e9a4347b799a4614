"""The *Integraal ondermijningsbeeld* (kind ``ondermijningsbeeld``, issue #17 item 2) for one
gemeente: the last 12 complete months before the reference date against the 12 before, per
ondermijning indicator (``data.catalog.ONDERMIJNING``) — key figures with their source, a
36-month trend, a table per wijk (the disclosure release of ``data.disclosure`` for detail 1),
the buurt map of the bundle "ondermijning" (the gebiedsscan's), the incidents (detail 2 and up)
and the gemeente's own signals. Everything comes from ``data.queries.ondermijning``, as on the
page /ondermijning.

The teamchef's duiding lives in the state database, which builders do not read: ``archive``
adds it through :func:`with_duiding` (``archive.STATE_SECTIONS``) as the product's first
section, the newest text at generation time with author, role and date.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from data import disclosure
from data.catalog import ONDERMIJNING
from data.periods import Period, add_months
from data.products.comparisons import SIGNIFICANCE_NOTE, change_row, figure_dict
from data.products.gebiedsscan import _buurten, _map_section
from data.products.incidentlists import LIST_DETAIL_NOTE
from data.products.model import Commentary, Content, Figure, Section, Table
from data.products.monthly import NO_DATA, NOT_PUBLISHED, SOURCE_NOTE
from data.queries import comparisons as cq
from data.queries import coverage
from data.queries import ondermijning as q
from data.queries.products import product_area
from layouts import format as fmt
from layouts.ondermijning import mark, trend_figure

SIGNALS_TITLE = "Signalen van de gemeente"

KIND = "ondermijningsbeeld"
TITLE = "Integraal ondermijningsbeeld"
DUIDING_TITLE = "Duiding door de teamchef"
NO_DUIDING = "De teamchef heeft voor deze gemeente nog geen duiding geschreven."


def period_of(reference: date) -> Period:
    """The last 12 complete months before ``reference`` (exclusive end: the first of its
    month)."""
    end = date(reference.year, reference.month, 1)
    return Period(add_months(end, -12), end)


def ondermijningsbeeld(con, *, scope, area: str, reference: date, profile=None) -> Content:
    where = product_area(con, scope=scope, area=area)
    if where.level != "gemeente":
        raise ValueError("een ondermijningsbeeld wordt per gemeente gemaakt")
    gemeente = where.code
    reference_day = reference.date() if hasattr(reference, "date") else reference
    period = period_of(reference_day)
    label = coverage.period_label(period)
    picture = q.picture(con, scope=scope, gemeente=gemeente, end=period.end)
    previous = Period(add_months(period.start, -12), period.start)

    rows = []
    for f in picture.figures:
        row = change_row(f.indicator.label, f.change)
        if f.current is None:
            row = [f.indicator.label, NO_DATA, NO_DATA, None, None, "geen vergelijking mogelijk"]
        rows.append([*row, ", ".join(f.indicator.codes) or "geen code",
                     f.source or f.reason])
    summary = Section("Kerncijfers", [
        f"Geregistreerd in {where.name}, {label}, tegenover {coverage.period_label(previous)}. "
        "Een indicator die de registratie niet apart houdt heeft geen cijfer (“geen "
        "gegevens”, met de reden), nooit 0."],
        tables=[Table(f"Ondermijning in {where.name}, {label}",
                      ["Indicator", label, coverage.period_label(previous), "Verschil",
                       "Verschil %", "Beoordeling", "Codes", "Bron"], rows,
                      sheet="Kerncijfers", note=SIGNIFICANCE_NOTE)])
    sections = [summary]
    for f in picture.figures:
        sentence = (f"{f.indicator.label}: {NO_DATA} ({f.reason.replace(NO_DATA + ': ', '')})."
                    if f.current is None else
                    f"{f.indicator.label}: {fmt.integer(f.current)} in {label} tegenover "
                    f"{NO_DATA if f.previous is None else fmt.integer(f.previous)} een jaar "
                    f"eerder ({mark(f.change)}). Bron: {f.source}.")
        figures = []
        if f.current is not None:
            figures.append(Figure(f"{f.indicator.label} per maand, laatste 36 maanden",
                                  figure_dict(trend_figure(f)),
                                  "Lichtere, gearceerde maanden zijn voorlopig."
                                  if f.provisional_from else ""))
        sections.append(Section(f.indicator.label, [f"Wat het meet: {f.indicator.measures}",
                                                    sentence], figures=figures))
    sections.append(wijk_section(con, scope, gemeente, where.name, period, label))
    sections.append(map_section(con, scope, where, period))
    if scope.detail >= 2:
        sections.append(q.incident_rows(con, scope=scope, gemeente=gemeente, period=period))
    else:
        sections.append(Section("Incidenten", [LIST_DETAIL_NOTE]))
    sections.append(_signals_section(con, scope, gemeente, where.name, period))
    notes = [SOURCE_NOTE, "Indicatoren: " + "; ".join(
        f"{i.label} ({', '.join(i.codes) or 'geen code'})" for i in ONDERMIJNING) + "."]
    if disclosure.restricted(scope, "wijk"):
        notes.append(disclosure.LIST_NOTE)
    return Content(kind=KIND, title=TITLE, area_code=gemeente, area_name=where.name,
                   period_label=label, reference_date=reference, sections=sections,
                   detail=scope.detail, notes=notes)


def wijk_section(con, scope, gemeente, name, period, label) -> Section:
    wijken, columns = q.wijk_counts(con, scope=scope, gemeente=gemeente, period=period)
    shown = [i for i in ONDERMIJNING if i.codes]
    rows = [[code, wijk, *[columns[i.key][n] if columns[i.key][n] is not None else NO_DATA
                           for i in shown]] for n, (code, wijk) in enumerate(wijken)]
    hidden = [i.label for i in shown if columns[i.key] and columns[i.key][0] == NOT_PUBLISHED]
    note = f"“{NO_DATA}”: geen bron voor deze periode (niet 0)."
    if hidden:
        note = (f"“{NOT_PUBLISHED}”: {', '.join(hidden)} publiceert de politie niet onder "
                "gemeenteniveau, dus ook dit product niet op uw detailniveau. " + note)
    return Section("Per wijk", [f"Geregistreerd per wijk in {name}, {label}."], tables=[
        Table(f"Ondermijning per wijk, {name}, {label}", ["Wijkcode", "Wijk",
              *[i.label for i in shown]], rows, sheet="Wijken", note=note)])


def map_section(con, scope, where, period) -> Section:
    people = cq.gemeente_population(con, scope=scope, year=add_months(period.end, -1).year)
    buurten = _buurten(con, scope, where, period, people, group="ondermijning")
    if buurten["count"].isna().all():
        return Section("Kaart", [f"Ondermijning per buurt: {NO_DATA} voor "
                                 f"{coverage.period_label(period)} (niet 0)."])
    section = _map_section(con, scope, where, period, buurten, what="Ondermijning")
    section.paragraphs.append("Ondermijning: drugs, mensenhandel en -smokkel, wapens "
                              "(de bundel “ondermijning”).")
    return section


def with_duiding(state, scope, content: Content) -> Content:
    """``content`` with the newest duiding of its gemeente as the first section (or a
    sentence that there is none yet)."""
    item = q.latest_duiding(state, scope=scope, gemeente=content.area_code)
    if item is None:
        section = Section(DUIDING_TITLE, [NO_DUIDING])
    else:
        section = Section(DUIDING_TITLE, commentary=Commentary(
            item.text, f"— {item.author}, {item.role}, {fmt.moment(item.at)}", label=""))
    return replace(content, sections=[section, *content.sections])


def _signals_section(con, scope, gemeente: str, name: str, period: Period) -> Section:
    """"Signalen van de gemeente": its own sources the scope sees over the product's period
    and the year before (the themed reports' section), or why there are none."""
    from data.products.thema import source_section

    if q.gemeente_signals(con, scope=scope, gemeente=gemeente, reference=period.end).empty:
        return Section(SIGNALS_TITLE, [q.NO_SIGNALS])
    return source_section(con, scope=scope, gm_code=gemeente, name=name, period=period,
                          previous=period.shifted(-12), heading=SIGNALS_TITLE)
