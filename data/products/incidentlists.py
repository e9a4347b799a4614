"""Incident products: the *(Twee)wekelijks incidentenrapport* and the *Dagelijks algemeen
operationeel beeld*.

* The incidentenrapport covers the week or two weeks (the profile's frequency) before
  ``reference``: counts per agreed type (the profile's driehoek indicators) and, from detail
  level 2, the incidents themselves with the columns the detail level allows
  (``data.queries.incidents``: ``incident_page``/``resolve_columns``, the same checks as the
  Incidenten page). At detail level 1 it holds counts only.
* The operationeel beeld lists the larger incidents (high impact, raids) of the 24 hours before
  the reference time, anonymised for everyone: type, gemeente, hour of day, kind
  (``data.queries.products.larger_incidents`` selects nothing else).

Both count only where the incident registration covers every day of their period
(``data.queries.coverage.incidents_cover``, the rule of the other products' figures): a
period before the first registration or after the newest month of the data (a peildatum in
the future) is "geen gegevens" per gemeente, in every table and sentence, never 0.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from data.accounts import DEFAULT_DRIEHOEK
from data.catalog import indicator_title, indicator_types
from data.periods import add_months
from data.products.model import KINDS, Content, Section, Table
from data.products.monthly import NO_DATA, day_label, dutch_int
from data.queries import coverage
from data.queries.incidents import (COLUMN_BY_KEY, IncidentFilter, Sort, count_incidents,
                                    incident_page)
from data.queries.products import RAID_TYPE, gemeente_type_counts, larger_incidents, product_area

#: Incident rows in one report at most (a note says when there were more).
MAX_ROWS = 2000
#: Columns of the incident list per detail level (level 3 adds address and summary).
LIST_COLUMNS = {2: ("id", "pleegdatum", "soort", "poging", "high_impact", "gemeente", "wijk",
                    "buurt"),
                3: ("id", "pleegdatum", "soort", "poging", "high_impact", "gemeente", "wijk",
                    "buurt", "straat", "huisnummer", "mo", "samenvatting")}


#: Why a count of these products is "geen gegevens" (a sentence part, Dutch).
NOT_COVERED = "de politieregistratie dekt (een deel van) deze periode niet"
NO_DATA_NOTE = f"“{NO_DATA}”: {NOT_COVERED} (niet 0)."


def _sum(values: list):
    """The sum of count cells, or "geen gegevens" when any has no value."""
    return NO_DATA if NO_DATA in values else sum(values)


def _names(where, codes) -> str:
    """The area's name when ``codes`` are all its gemeenten, else their names."""
    if len(codes) == len(where.gemeenten):
        return where.name
    return ", ".join(where.names[g] for g in codes)


def _period_days(profile) -> int:
    frequency = (getattr(profile, "products", None) or {}).get("incidentenrapport")
    return 7 if frequency == "wekelijks" else 14


def incidentenrapport(con, *, scope, area: str, reference: date, profile=None) -> Content:
    where = product_area(con, scope=scope, area=area)
    days = _period_days(profile)
    start, last = reference - timedelta(days=days), reference - timedelta(days=1)
    label = f"{day_label(start)} t/m {day_label(last)}"
    selection = tuple(getattr(profile, "driehoek", None) or DEFAULT_DRIEHOEK)
    types = sorted({t for code in selection for t in indicator_types(con, code)})

    counts = gemeente_type_counts(con, scope=scope, gemeenten=where.gemeenten, types=types,
                                  start=start, end=reference)
    # Counted only where the incident registration covers every day of the period
    # (data.queries.coverage); elsewhere "geen gegevens", never 0.
    covered = coverage.incidents_cover(con, scope=scope, gemeenten=where.gemeenten,
                                       start=start, end=reference)
    titles = dict(zip(counts["type_code"], counts["title"]))
    multi = len(where.gemeenten) > 1
    rows = []
    for code in sorted(titles):
        frame = counts[counts["type_code"] == code]
        per = {g: int(n) for g, n in zip(frame["gm_code"], frame["count"])}
        values = [per.get(g, 0) if g in covered else NO_DATA for g in where.gemeenten]
        rows.append([code, titles[code], *values] + ([_sum(values)] if multi else []))
    totals = [int(counts.loc[counts["gm_code"] == g, "count"].sum()) if g in covered
              else NO_DATA for g in where.gemeenten]
    total = _sum(totals)
    rows.append(["", "Totaal", *totals] + ([total] if multi else []))
    header = ["Code", "Soort", *[where.names[g] for g in where.gemeenten]] + (
        ["Totaal"] if multi else [])
    missing = [g for g in where.gemeenten if g not in covered]
    if not missing:
        first = (f"In de periode {label} zijn in {where.name} {dutch_int(total)} incidenten "
                 "van de afgesproken soorten geregistreerd (pleegdatum in de periode).")
    else:
        first = (f"Voor de periode {label} zijn er in {_names(where, missing)} {NO_DATA} over "
                 f"incidenten van de afgesproken soorten: {NOT_COVERED} (dat is iets anders "
                 "dan 0)."
                 + "".join(f" In {where.names[g]} zijn het er {dutch_int(n)}."
                           for g, n in zip(where.gemeenten, totals) if g in covered))
    sections = [Section("Overzicht", paragraphs=[
        first,
        "Afgesproken soorten (afsprakenprofiel): "
        + ", ".join(indicator_title(con, code) for code in selection) + "."],
        tables=[Table(f"Incidenten naar soort, {label}", header, rows, sheet="Naar soort",
                      note=NO_DATA_NOTE if missing else "")])]

    notes = ["Bron: politieregistraties. Registraties van na de peildatum ontbreken nog."]
    if scope.detail >= 2 and covered:
        flt = IncidentFilter(start=start, end=last, types=tuple(types),
                             areas=tuple(g for g in where.gemeenten if g in covered))
        section = incident_list_section(con, scope=scope, flt=flt, label=label)
        if missing:
            section.paragraphs.append(f"Niet in de lijst: {_names(where, missing)} "
                                      f"({NO_DATA}: {NOT_COVERED}).")
        sections.append(section)
    elif scope.detail >= 2:
        sections.append(Section("Incidenten", paragraphs=[
            f"Incidenten: {NO_DATA} ({NOT_COVERED}; dat is iets anders dan 0)."]))
    else:
        notes.append(LIST_DETAIL_NOTE)
    return Content(kind="incidentenrapport", title=KINDS["incidentenrapport"][0],
                   area_code=where.code, area_name=where.name, period_label=label,
                   reference_date=reference, sections=sections, detail=scope.detail,
                   notes=notes)


#: Why a product holds no incident list at detail level 1.
LIST_DETAIL_NOTE = ("Detailniveau 1 (afsprakenprofiel): dit rapport bevat aantallen, geen "
                    "lijst van incidenten.")


def incident_list_section(con, *, scope, flt: IncidentFilter, label: str,
                          title: str = "Incidenten") -> Section:
    """The incidents of ``flt`` (at most :data:`MAX_ROWS`, oldest first) with the columns
    ``scope``'s detail level allows (2 or 3; the same checks as the Incidenten page)."""
    keys = LIST_COLUMNS[min(scope.detail, 3)]
    found = count_incidents(con, scope=scope, flt=flt)
    items: list[dict] = []
    while len(items) < min(found, MAX_ROWS):
        page = incident_page(con, scope=scope, flt=flt, sort=Sort("pleegdatum", False),
                             offset=len(items), limit=min(1000, MAX_ROWS - len(items)),
                             columns=",".join(keys))
        if not page:
            break
        items += page
    list_rows = [[item.get(k) for k in keys] for item in items]
    note = (f"De eerste {dutch_int(len(items))} van {dutch_int(found)} incidenten."
            if found > len(items) else "")
    return Section(title, paragraphs=[
        f"{dutch_int(found)} incidenten, oudste eerst. Kolommen volgens detailniveau "
        f"{scope.detail} van het afsprakenprofiel."],
        tables=[Table(f"Incidenten {label}", [COLUMN_BY_KEY[k].title for k in keys],
                      list_rows, sheet="Incidenten", note=note)])


def _moment(reference) -> datetime:
    if isinstance(reference, datetime):
        return reference.replace(tzinfo=None)
    return datetime(reference.year, reference.month, reference.day)


#: Length of the operational picture per agreed frequency (the schedule's periods end at
#: ``reference``); a month is the calendar month before it.
SPANS = {"dagelijks": 1, "wekelijks": 7, "tweewekelijks": 14}


def _span(profile, end: datetime) -> tuple[datetime, str]:
    """Start of the period the operational picture covers, and its frequency."""
    from data.products.schedule import frequency_for

    frequency = frequency_for(profile, "operationeel_beeld")
    if frequency in SPANS:
        return end - timedelta(days=SPANS[frequency]), frequency
    if frequency == "maandelijks":
        first = datetime(end.year, end.month, 1)
        return (first if first < end else
                datetime.combine(add_months(first.date(), -1), datetime.min.time())), frequency
    return end - timedelta(days=1), "dagelijks"


def _kind(r) -> str:
    return " en ".join(k for k, flag in (("high impact", r.high_impact), ("inval", r.inval))
                       if flag)


def operationeel_beeld(con, *, scope, area: str, reference, profile=None) -> Content:
    """Larger incidents of the period before ``reference`` (a date means its midnight) that
    the agreed frequency covers: 24 hours, a week, two weeks or the calendar month — every
    day of it, anonymised. A day's picture lists them per hour; a longer one groups them per
    day, gemeente, type and kind (with the number) so it stays compact."""
    where = product_area(con, scope=scope, area=area)
    end = _moment(reference)
    start, frequency = _span(profile, end)
    label = f"{start:%d-%m-%Y %H:%M} tot {end:%d-%m-%Y %H:%M}"
    # Listed only where the incident registration covers every day of the period
    # (data.queries.coverage); elsewhere "geen gegevens", never 0.
    covered = coverage.incidents_cover(
        con, scope=scope, gemeenten=where.gemeenten, start=start.date(),
        end=(end - timedelta(microseconds=1)).date() + timedelta(days=1))
    missing = [g for g in where.gemeenten if g not in covered]
    frame = larger_incidents(con, scope=scope, gemeenten=where.gemeenten, start=start, end=end)
    frame = frame[frame["gm_code"].isin(covered)]
    if frequency == "dagelijks":
        rows = [[f"{int(r.hour):02d}:00–{int(r.hour):02d}:59", r.gemeente, r.soort, _kind(r)]
                for r in frame.itertuples()]
        header = ["Tijdvak", "Gemeente", "Soort", "Aard"]
        what = f"in de 24 uur tot {end:%d-%m-%Y %H:%M}"
    else:
        grouped: dict[tuple, int] = {}
        for r in frame.itertuples():
            key = (r.day, r.gemeente, r.soort, _kind(r))
            grouped[key] = grouped.get(key, 0) + 1
        rows = [[f"{day:%d-%m-%Y}", gemeente, soort, kind, n]
                for (day, gemeente, soort, kind), n in grouped.items()]
        header = ["Dag", "Gemeente", "Soort", "Aard", "Aantal"]
        what = f"van {start:%d-%m-%Y} tot {end:%d-%m-%Y} ({frequency})"
    summary = []
    for code in where.gemeenten:
        part = frame[frame["gm_code"] == code]
        summary.append([where.names[code], int(part["high_impact"].sum()),
                        int((part["type_code"] == RAID_TYPE).sum()), len(part)]
                       if code in covered else [where.names[code], NO_DATA, NO_DATA, NO_DATA])
    summary.append(["Totaal", *[_sum([row[i] for row in summary]) for i in (1, 2, 3)]])
    if not missing:
        sentence = (f"{dutch_int(len(frame))} grotere incidenten (high impact of inval) in "
                    f"{where.name} {what}.")
    else:
        sentence = (f"Grotere incidenten (high impact of inval) in {_names(where, missing)} "
                    f"{what}: {NO_DATA} ({NOT_COVERED}; dat is iets anders dan 0)."
                    + "".join(f" In {row[0]}: {dutch_int(row[3])}." for row in summary[:-1]
                              if row[3] != NO_DATA))
    sections = [Section("Grotere incidenten", paragraphs=[sentence],
        tables=[Table("Per gemeente", ["Gemeente", "High impact", "Inval", "Totaal"], summary,
                      sheet="Per gemeente", note=NO_DATA_NOTE if missing else ""),
                Table("Incidenten (geanonimiseerd)", header, rows, sheet="Incidenten",
                      note=(f"Niet in de lijst: {_names(where, missing)} ({NO_DATA}: {NOT_COVERED})."
                            if missing else ""))])]
    notes = ["Geanonimiseerd: alleen soort, gemeente, dag of uur van de dag en aard; geen "
             "registratienummer, adres, buurt of tekst, op elk detailniveau.",
             "Bron: politieregistraties (pleegtijd in het tijdvak)."]
    # Anonymised at gemeente level: detail level 1 suffices to open it.
    return Content(kind="operationeel_beeld", title=KINDS["operationeel_beeld"][0],
                   area_code=where.code, area_name=where.name, period_label=label,
                   reference_date=end.date(), sections=sections, detail=1, notes=notes)
