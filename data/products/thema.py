"""Themed reports (``thema``, issue #16 part 2): a bestuurlijke rapportage, fenomeenrapportage
or burgemeestersrapportage built from a template (``data/products/templates.py``): its theme
(bundle and type codes), period (with the same period a year before) and sections in the
author's order.

Every section reuses the builders of the other kinds, so disclosure, scope and "geen gegevens"
are exactly theirs:

* ``kerncijfers`` — the comparison core of ``data.products.comparisons`` (coverage cells, the
  Poisson test) for the theme's codes;
* ``trend`` — its monthly bars per theme code against a year earlier;
* ``wijken`` — ``data.queries.areas.incident_counts_by_area`` per wijk, as the tabellenboek:
  below the gemeente a detail-1 scope counts the released types only (``data.disclosure``);
  a code of which nothing is released per wijk is left out, with the note saying so;
* ``kaart`` — the gebiedsscan's buurt map per theme code (per 1,000 inhabitants, released
  types only for detail 1; a code with nothing released per buurt is left out, said so);
* ``dag-uur`` — the gebiedsscan's day x hour heatmap of the theme's types (detail 2 and up);
* ``incidenten`` — the incidentenrapport's list with the columns the detail level allows
  (detail 2 and up; counts only at detail 1);
* ``politieprestaties`` — the clearance section of the comparison products ("geen gegevens"
  when no CBS figures are loaded);
* ``beschouwing`` — a placeholder for the police's commentary;
* ``bronnen`` — the gemeente's own sources the scope sees (``data.queries.sources``): each
  source's total in the period and a year before, labelled with the source ("geen gegevens"
  where it does not cover a period wholly).
"""
from __future__ import annotations

from datetime import date, timedelta

from pandas import NA

from data import disclosure
from data.catalog import indicator_title, indicator_types
from data.periods import add_months
from data.products import templates as tpl
from data.products.comparisons import (SIGNIFICANCE_NOTE, _clearance_section, _indicator_section,
                                       _load, _monthly_figure, _notes, period_label)
from data.products.gebiedsscan import _buurten, weekday_hour_figure
from data.products.gebiedsscan import _map_section as buurt_map
from data.products.incidentlists import LIST_DETAIL_NOTE, incident_list_section
from data.products.model import Content, Section, Table
from data.products.monthly import NO_DATA, NOT_PUBLISHED, _shown
from data.queries import coverage
from data.queries.areas import incident_counts_by_area
from data.queries.burglary import weekday_hour_counts
from data.queries.incidents import IncidentFilter

#: Why day x hour and the incident list need detail level 2.
DETAIL_2_NOTE = ("Niet op detailniveau 1 (afsprakenprofiel): tijdstippen en afzonderlijke "
                 "incidenten zijn er vanaf detailniveau 2.")
COMMENTARY_PLACEHOLDER = ("Ruimte voor de beschouwing van de politie: wat de cijfers betekenen "
                          "en wat er wordt gedaan.")


def thema(con, *, scope, area: str, reference: date, profile=None, template=None) -> Content:
    """The themed report of ``template`` (a :class:`data.products.templates.Template`) for
    gemeente ``area`` up to ``reference``."""
    if template is None:
        raise ValueError("a themed report is built from a template (reports template add)")
    period = tpl.period_of(template.period, reference)
    data = _load(con, scope, area, period)
    codes = list(template.theme)
    titles = {code: indicator_title(con, code) for code in codes}
    types = sorted({t for code in codes for t in indicator_types(con, code)})
    label = period_label(period)
    subject = template.title or ", ".join(titles[c] for c in codes)
    notes: list[str] = []
    sections = []
    for key in template.sections:
        heading = tpl.SECTIONS[key]
        if key == "kerncijfers":
            intro, table = _indicator_section(con, data, profile, codes)
            sections.append(Section(heading, intro.paragraphs, table.tables))
        elif key == "trend":
            sections.append(Section(heading, [
                f"Per maand, {label}, naast dezelfde maanden een jaar eerder."],
                figures=[_monthly_figure(con, data, code) for code in codes]))
        elif key == "wijken":
            sections.append(_wijk_section(con, scope, data, codes, titles, label, notes))
        elif key == "kaart":
            sections.append(_map_section(con, scope, data, codes, titles, label))
        elif key == "dag-uur":
            sections.append(_weekday_hour_section(con, scope, data, types, subject, heading))
        elif key == "incidenten":
            if scope.detail >= 2:
                flt = IncidentFilter(start=period.start, end=period.end - timedelta(days=1),
                                     types=tuple(types), areas=tuple(data.area.gemeenten))
                sections.append(incident_list_section(con, scope=scope, flt=flt, label=label,
                                                      title=heading))
            else:
                sections.append(Section(heading, [LIST_DETAIL_NOTE]))
        elif key == "politieprestaties":
            clearance = _clearance_section(con, scope, data)
            sections.append(clearance if clearance is not None else Section(heading, [
                f"Opgehelderde misdrijven in {data.area.name}: {NO_DATA} (er zijn geen "
                "CBS-cijfers over opgehelderde misdrijven geladen)."]))
        elif key == "beschouwing":
            sections.append(Section(heading, [COMMENTARY_PLACEHOLDER]))
        elif key == "bronnen":
            sections.append(source_section(con, scope=scope, gm_code=data.area.code,
                                           name=data.area.name, period=period,
                                           previous=data.previous, heading=heading))
    notes.extend(n for n in _notes(data) if n != SIGNIFICANCE_NOTE or "kerncijfers" in
                 template.sections)
    notes.insert(0, "Thema: " + ", ".join(f"{titles[c]} ({c})" for c in codes) + f"; periode: "
                 f"{tpl.PERIODS[template.period]} ({label}), vergeleken met "
                 f"{period_label(data.previous)}.")
    return Content(kind="thema", title=f"{tpl.TITLES[template.soort]} {subject}",
                   area_code=data.area.code, area_name=data.area.name, period_label=label,
                   reference_date=reference, sections=sections, detail=scope.detail,
                   notes=notes)


def source_section(con, *, scope, gm_code: str, name: str, period, previous,
                   heading: str) -> Section:
    """The gemeente's own sources (not police figures) in ``period`` and ``previous``, each
    labelled with its source; "geen gegevens" (None) where a source does not cover a period.
    Used by the themed reports and the integraal ondermijningsbeeld."""
    from data.queries.sources import period_totals

    label = period_label(period)
    totals = period_totals(con, scope=scope, gm_code=gm_code,
                           windows=[(period.start, period.end),
                                    (previous.start, previous.end)])
    if totals.empty:
        return Section(heading, [f"Geen gemeentelijke bronnen van {name} die u kunt zien."])
    rows = [[r.label, None if r.w0 is NA else int(r.w0), None if r.w1 is NA else int(r.w1)]
            for r in totals.itertuples()]
    reasons = sorted({r for r in totals["reason"].dropna()})
    return Section(heading, [f"Eigen gegevens van de gemeente {name}, geen"
                             f" politiecijfers; {label} en dezelfde periode een jaar eerder."],
                   [Table(f"Gemeentelijke bronnen, {label}", ["Bron", label,
                                                               period_label(previous)],
                          rows, sheet="Gemeentelijke bronnen",
                          note="; ".join(reasons))])


def _wijk_section(con, scope, data, codes, titles, label, notes) -> Section:
    """Per wijk of each gemeente, one column per theme code the scope's release has per wijk;
    a code with nothing released per wijk is named in the note instead."""
    shown, left_out, release_notes = [], [], []
    for code in codes:
        try:
            release = disclosure.release(con, scope=scope, level="wijk", indicator=code)
        except disclosure.NotPublished:
            left_out.append(code)
            continue
        shown.append(code)
        if release.note():
            release_notes.append(release.note())
    paragraphs = [f"Geregistreerd per wijk, {label}."]
    if left_out:
        paragraphs.append("Niet per wijk (" + NOT_PUBLISHED + "): "
                          + ", ".join(f"{titles[c]} ({c})" for c in left_out)
                          + ". De politie publiceert deze cijfers niet onder gemeenteniveau, "
                            "dus ook dit product niet op uw detailniveau.")
    if disclosure.restricted(scope, "wijk"):
        notes.append(disclosure.LIST_NOTE)
    tables = []
    for gm in data.area.gemeenten:
        if not shown:
            break
        columns = {code: incident_counts_by_area(con, scope=scope, level="wijk",
                                                 period=data.period, group=code, within=gm)
                   for code in shown}
        base = columns[shown[0]]
        rows = [[r.code, r.name or r.code,
                 *[_shown(columns[c]["count"].iloc[i]) for c in shown]]
                for i, r in enumerate(base.itertuples())]
        tables.append(Table(f"Per wijk, {data.area.names[gm]}, {label}",
                            ["Wijkcode", "Wijk", *[titles[c] for c in shown]], rows,
                            sheet=f"Wijken {gm}"[:31],
                            note=" ".join([*release_notes,
                                           f"“{NO_DATA}”: geen bron voor deze periode (niet 0)."])))
    return Section(tpl.SECTIONS["wijken"], paragraphs, tables)


def _map_section(con, scope, data, codes, titles, label) -> Section:
    """The gebiedsscan's buurt map (per 1,000 inhabitants) for each theme code the scope's
    release has per buurt; the others are named, left out."""
    from data.queries import comparisons as q

    people = q.gemeente_population(con, scope=scope, year=add_months(data.period.end, -1).year)
    figures, paragraphs, left_out = [], [], []
    for code in codes:
        try:
            buurten = _buurten(con, scope, data.area, data.period, people, group=code)
        except disclosure.NotPublished:
            left_out.append(code)
            continue
        if buurten["count"].isna().all():  # no source covers the period per buurt
            paragraphs.append(f"{titles[code]} per buurt: {NO_DATA} voor {label} (niet 0).")
            continue
        drawn = buurt_map(con, scope, data.area, data.period, buurten, what=titles[code])
        paragraphs += drawn.paragraphs
        figures += drawn.figures
    if left_out:
        paragraphs.append("Niet per buurt (" + NOT_PUBLISHED + "): "
                          + ", ".join(f"{titles[c]} ({c})" for c in left_out)
                          + ". De politie publiceert deze cijfers niet onder gemeenteniveau, "
                            "dus ook dit product niet op uw detailniveau.")
    return Section(tpl.SECTIONS["kaart"], paragraphs or [f"Kaart, {label}."], figures=figures)


def _weekday_hour_section(con, scope, data, types, subject, heading) -> Section:
    if scope.detail < 2:
        return Section(heading, [DETAIL_2_NOTE])
    cells = weekday_hour_counts(con, scope=scope, column="gm_code", codes=data.area.gemeenten,
                                types=types, start=data.period.start, end=data.period.end)
    figure, peak = weekday_hour_figure(cells, f"{subject} naar dag en uur", "registraties")
    span = coverage.incident_span(con, scope=scope)
    if span is None or not (span.start <= data.period.start and data.period.end <= span.end):
        return Section(heading, [f"Dag en uur: {NO_DATA} (de politieregistratie dekt deze "
                                 "periode niet; dat is iets anders dan 0)."])
    if not int(cells["count"].sum()):
        return Section(heading, ["Geen registraties van dit thema in deze periode (0)."])
    return Section(heading, [peak], figures=[figure])
