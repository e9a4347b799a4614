"""The gebiedsscan (issue #7): a profile of a gemeente or a police unit (basisteam, district,
eenheid: the sum of its gemeenten, all of which must be in scope) over the last 12 complete
months before the reference date.

Sections: key figures with the developments in words; the ten most registered crime types
with the rate per 1,000 inhabitants against the average rate of the *other* gemeenten in scope
of the same population band (:data:`BANDS`; said so when the band holds fewer than 3
gemeenten, and then no average is shown); the monthly trend over three years; the buurten that
stand out (rate per 1,000 against their gemeente's rate, exact Poisson test; counts below gemeente
level count what the disclosure model releases (``data.disclosure``): for detail level 1 the
types the police publish per buurt, and the gemeente's rate is then counted the same way);
the burglary pattern (day x hour from incident times for detail level 2 and up,
completed/attempted per month otherwise, a month's split only where it pins no buurt's); and a
map of the
buurten drawn as filled polygons (no tiles, so it renders offline and in print).
"""
from __future__ import annotations

import json
import math
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from data import disclosure
from data.catalog import indicator_title, indicator_types
from data.periods import Period, add_months, month_range
from data.products.comparisons import (BLUE, GREY, SIGNIFICANCE_NOTE, _layout, developments,
                                       figure_dict, indicator_codes, per_month, period_label,
                                       provisional_note, total)
from data.products.model import KINDS, Content, Figure, Section, Table
from data.queries import burglary
from data.queries import comparisons as q
from data.queries import coverage
from data.queries.areas import incident_counts_by_area
from data.queries.map import geometry
from data.queries.products import product_area
from data.stats import ALPHA, poisson_change, poisson_p_expected
from layouts import format as fmt

#: Population bands for "gemeenten of similar size": [lower, upper) and label.
BANDS = ((0, 20_000, "minder dan 20.000 inwoners"), (20_000, 50_000, "20.000–50.000 inwoners"),
         (50_000, 100_000, "50.000–100.000 inwoners"),
         (100_000, 250_000, "100.000–250.000 inwoners"),
         (250_000, None, "250.000 inwoners of meer"))
#: A band needs at least this many gemeenten (the area included) for an average to be shown.
MIN_BAND = 3
TOP_TYPES = 10
TREND_MONTHS = 36
#: Buurten named in the text at most.
NAMED_BUURTEN = 5
#: Map colour classes (light to dark) and buurten without inhabitants.
CLASS_COLOURS = ("#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08306b")
NO_RATE_COLOUR = "#f0f0f0"
#: A month whose attempt split is not shown (data/disclosure.py): its total only.
NO_SPLIT_COLOUR = "#bdbdbd"
WEEKDAYS_LONG = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


def band(inhabitants) -> tuple[int, str] | None:
    """Index and label of the population band of ``inhabitants`` (None when unknown)."""
    if inhabitants is None or pd.isna(inhabitants):
        return None
    for i, (low, high, label) in enumerate(BANDS):
        if inhabitants >= low and (high is None or inhabitants < high):
            return i, label
    return None


def gebiedsscan(con, *, scope, area: str, reference: date, profile=None) -> Content:
    """``area``: a gemeente, basisteam, district or eenheid code, or buurt codes separated by
    commas (detail level 3 only, see ``data.queries.comparisons.buurt_set``)."""
    chosen = area.split(",") if isinstance(area, str) else []
    if len(chosen) > 1 or (chosen and chosen[0].strip().upper().startswith("BU")):
        resolved = q.buurt_set(con, scope=scope, codes=chosen)
    else:
        resolved = product_area(con, scope=scope, area=area)
    end = date(reference.year, reference.month, 1)
    period = Period(add_months(end, -12), end)
    previous = period.shifted(-12)
    trend_from = add_months(end, -TREND_MONTHS)
    fetch_from = min(trend_from, previous.start)
    if resolved.buurten:
        monthly = q.buurt_type_counts(con, scope=scope, buurten=resolved.buurten,
                                      start=fetch_from, end=end)
    else:
        monthly = q.monthly_type_counts(con, scope=scope, gemeenten=resolved.gemeenten,
                                        start=fetch_from, end=end)
    first, latest, provisional_from = q.data_months(con, scope=scope,
                                                     gemeenten=resolved.gemeenten)
    year = add_months(end, -1).year
    people = q.gemeente_population(con, scope=scope, year=year)
    mine = people[people["code"].isin(resolved.gemeenten)]
    if resolved.buurten:
        mine = pd.concat([q.buurt_population(con, scope=scope, gemeente=gm, year=year)
                          for gm in resolved.gemeenten])
        mine = mine[mine["code"].isin(resolved.buurten)]
    inhabitants = (None if mine["population"].isna().any()
                   else int(mine["population"].sum()))
    comparable = first is not None and previous.start >= first
    if not resolved.buurten:
        span = coverage.incident_span(con, scope=scope)
        if span is None or not (span.start <= previous.start and period.end <= span.end):
            return _without_incidents(con, scope, resolved, period, inhabitants, profile)

    sections = [
        _key_section(con, resolved, period, monthly, inhabitants, comparable, profile),
        _types_section(con, scope, resolved, period, monthly, inhabitants, people),
        _trend_section(con, monthly, trend_from, end, provisional_from, first),
    ]
    buurten = _buurten(con, scope, resolved, period, people)
    sections.append(_buurten_section(con, scope, resolved, period, buurten))
    names = dict(zip(people["code"], people["name"]))
    sections.append(_burglary_section(con, scope, resolved, period, monthly, comparable, names))
    sections.append(_map_section(con, scope, resolved, period, buurten))

    notes = [SIGNIFICANCE_NOTE]
    if disclosure.restricted(scope, "buurt"):
        notes.append(disclosure.LIST_NOTE)
    note = provisional_note(provisional_from, end)
    if note:
        notes.append(note)
    if latest is None or latest < end:
        notes.append("Let op: de periode is nog niet compleet.")
    return Content(kind="gebiedsscan", title=f"{KINDS['gebiedsscan'][0]} {resolved.name}",
                   area_code=resolved.code, area_name=resolved.name,
                   period_label=period_label(period), reference_date=end, sections=sections,
                   detail=scope.detail, notes=notes)


def _without_incidents(con, scope, resolved, period, inhabitants, profile) -> Content:
    """The gebiedsscan where the incident registration does not cover the period and the year
    before it: the key figures that other sources cover (``data.queries.coverage``: CBS
    counts, the PC4 file), "geen gegevens" for the rest, and no section that needs incidents
    (types, buurten, trend, burglary per wijk, map) rather than one full of false zeros."""
    previous = period.shifted(-12)
    rows, changes = [], []
    for code in indicator_codes(con, profile):
        cells = coverage.totals(con, scope=scope, gemeenten=resolved.gemeenten,
                                indicators=[code], periods=[period, previous])[code]
        now, before = cells[period], cells[previous]
        change = poisson_change(now.value, before.value)
        changes.append((indicator_title(con, code), change))
        rate = (round(now.value * 1000 / inhabitants, 1)
                if inhabitants and now.value is not None else None)
        rows.append([indicator_title(con, code),
                     coverage.NO_DATA if now.value is None else now.value,
                     coverage.NO_DATA if before.value is None else before.value, rate,
                     None if change.pct is None else round(change.pct, 1),
                     "geen vergelijking mogelijk" if change.z is None else
                     ("significant" if change.significant else "binnen normale schommeling")])
    label = period_label(period)
    table = Table(f"Kerncijfers, {label}",
                  ["Indicator", label, period_label(previous), "Per 1.000 inwoners",
                   "Verschil (%)", "Significantie"], rows, sheet="Kerncijfers",
                  note=f"“{coverage.NO_DATA}”: geen bron voor die periode (niet 0).")
    missing = ("De politieregistratie (incidenten) dekt deze periode en het jaar ervoor niet: "
               "de onderdelen per soort misdrijf, per buurt, het verloop per maand, "
               "woninginbraak per wijk en de kaart ontbreken daarom — geen gegevens, niet 0.")
    sections = [Section("Kerncijfers", [f"Geregistreerd in {resolved.name}, {label}, "
                                        "vergeleken met de twaalf maanden daarvoor, voor zover "
                                        "een bron ze dekt:",
                                        *developments(changes, than="een jaar eerder")], [table]),
                Section("Geen incidentgegevens", [missing])]
    return Content(kind="gebiedsscan", title=f"{KINDS['gebiedsscan'][0]} {resolved.name}",
                   area_code=resolved.code, area_name=resolved.name, period_label=label,
                   reference_date=period.end, sections=sections, detail=scope.detail,
                   notes=[missing, SIGNIFICANCE_NOTE])


# -- sections --------------------------------------------------------------------------------

def _key_section(con, resolved, period, monthly, inhabitants, comparable, profile) -> Section:
    rows, changes = [], []
    for code in indicator_codes(con, profile):
        types = indicator_types(con, code)
        current = total(monthly, types, period.start, period.end)
        before = period.shifted(-12)
        previous = total(monthly, types, before.start, before.end) if comparable else None
        change = poisson_change(current, previous)
        changes.append((indicator_title(con, code), change))
        rate = round(current * 1000 / inhabitants, 1) if inhabitants else None
        rows.append([indicator_title(con, code), current, previous, rate,
                     None if change.pct is None else round(change.pct, 1),
                     "geen vergelijking mogelijk" if change.z is None else
                     ("significant" if change.significant else "binnen normale schommeling")])
    label = period_label(period)
    intro = (f"{resolved.name} telt {fmt.integer(inhabitants)} inwoners. Geregistreerd in "
             f"{label}, vergeleken met de twaalf maanden daarvoor:" if inhabitants else
             f"Geregistreerd in {resolved.name}, {label}, vergeleken met de twaalf maanden "
             "daarvoor:")
    table = Table(f"Kerncijfers, {label}",
                  ["Indicator", label, period_label(period.shifted(-12)), "Per 1.000 inwoners",
                   "Verschil (%)", "Significantie"], rows, sheet="Kerncijfers")
    return Section("Kerncijfers", [intro, *developments(changes, than="een jaar eerder")],
                   [table])


def _types_section(con, scope, resolved, period, monthly, inhabitants, people) -> Section:
    titles = q.crime_type_list(con, scope=scope)
    now = monthly[(monthly["month"] >= period.start) & (monthly["month"] < period.end)
                  & monthly["type_code"].isin(titles["code"])]
    counts = now.groupby("type_code")["count"].sum()
    top = titles.assign(count=titles["code"].map(counts).fillna(0).astype(int))
    top = top[top["count"] > 0].sort_values(["count", "code"], ascending=[False, True]) \
        .head(TOP_TYPES)
    if resolved.buurten:
        averages, text, column = _gemeente_rates(con, scope, resolved, period, people)
    else:
        averages, text, column = _band_rates(con, scope, resolved, period, people,
                                             inhabitants)
    rows = []
    for rank, t in enumerate(top.itertuples(), 1):
        rate = round(t.count * 1000 / inhabitants, 1) if inhabitants else None
        average = averages.get(t.code, 0.0) if averages is not None else None
        difference = (round((rate - average) / average * 100, 1)
                      if rate is not None and average else None)
        rows.append([rank, t.title, int(t.count), rate, average, difference])
    paragraphs = [text]
    if len(top):
        first = top.iloc[0]
        paragraphs.insert(0, f"Het meest geregistreerd: {first['title']} "
                             f"({fmt.integer(first['count'])}).")
    table = Table(f"Top {TOP_TYPES} soorten misdrijf, {period_label(period)}",
                  ["Rang", "Soort misdrijf", "Aantal", "Per 1.000 inwoners", column,
                   "Verschil (%)"], rows, sheet="Top 10", note=text)
    return Section("Meest voorkomende misdrijven", paragraphs, [table])


def _rates(counts: pd.DataFrame, codes, population: float) -> dict[str, float]:
    """Per type: registrations of gemeenten ``codes`` together per 1,000 of ``population``."""
    rows = counts[counts["gm_code"].isin(list(codes))].groupby("type_code")["count"].sum()
    return {code: n * 1000 / population for code, n in rows.items()}


def _band_rates(con, scope, resolved, period, people, inhabitants):
    """Per type the average rate of the other gemeenten in scope in the area's population
    band (None when the band has fewer than MIN_BAND gemeenten), the sentence saying so and
    the column title."""
    column = "Gemiddelde vergelijkbare gemeenten (per 1.000)"
    own = band(inhabitants)
    if own is None:
        return None, ("Het aantal inwoners is onbekend; een vergelijking met andere gemeenten "
                      "is niet mogelijk."), column
    others = people[~people["code"].isin(resolved.gemeenten)].copy()
    others["band"] = [None if (b := band(p)) is None else b[0] for p in others["population"]]
    peers = others[others["band"] == own[0]]
    if len(peers) + 1 < MIN_BAND:
        return None, (f"De groep gemeenten met {own[1]} telt binnen uw gebied minder dan "
                      f"{MIN_BAND} gemeenten; er is daarom geen vergelijking met vergelijkbare "
                      "gemeenten."), column
    counts = q.gemeente_type_counts(con, scope=scope, start=period.start, end=period.end)
    per_peer = [_rates(counts, [p.code], float(p.population)) for p in peers.itertuples()]
    codes = set().union(*per_peer)
    averages = {c: round(sum(r.get(c, 0.0) for r in per_peer) / len(per_peer), 1)
                for c in codes}
    return averages, (f"Vergeleken met het gemiddelde per 1.000 inwoners van de {len(peers)} "
                      f"andere gemeenten met {own[1]} binnen uw gebied."), column


def _gemeente_rates(con, scope, resolved, period, people):
    """For a set of buurten: per type the rate of their gemeente(n) as a whole."""
    mine = people[people["code"].isin(resolved.gemeenten)]
    names = ", ".join(mine["name"])
    column = "Gemeente (per 1.000)"
    if mine["population"].isna().any() or not mine["population"].sum():
        return None, f"Het aantal inwoners van {names} is onbekend.", column
    counts = q.gemeente_type_counts(con, scope=scope, start=period.start, end=period.end)
    rates = _rates(counts, resolved.gemeenten, float(mine["population"].sum()))
    return ({c: round(r, 1) for c, r in rates.items()},
            f"Vergeleken met {names} als geheel (per 1.000 inwoners).", column)


def _trend_section(con, monthly, start, end, provisional_from, first) -> Section:
    types = indicator_types(con, "alle_misdrijven")
    months = [m for m in month_range(start, end) if first is not None and m >= first]
    counts = per_month(monthly, types, start, end)
    provisional = [provisional_from is not None and m >= provisional_from for m in months]
    fig = go.Figure()
    final = [m for m, p in zip(months, provisional) if not p]
    late = [m for m, p in zip(months, provisional) if p]
    fig.add_bar(x=[m.isoformat() for m in final], y=[counts[m] for m in final],
                name="Geregistreerd", marker_color=BLUE)
    if late:
        fig.add_bar(x=[m.isoformat() for m in late], y=[counts[m] for m in late],
                    name="Voorlopig", marker=dict(color="rgba(0,114,178,0.35)",
                                                  pattern_shape="/"))
    ticks = [m for m in months if m.month in (1, 7)]
    _layout(fig, barmode="overlay",
            xaxis=dict(showgrid=False, tickvals=[m.isoformat() for m in ticks],
                       ticktext=[f"{fmt.MONTHS[m.month - 1]}<br>{m.year}" for m in ticks]))
    label = period_label(Period(months[0], end)) if months else ""
    return Section("Ontwikkeling", [f"Alle misdrijven per maand, {label}."] if months else
                   ["Geen gegevens beschikbaar."],
                   figures=[Figure("Alle misdrijven per maand", figure_dict(fig),
                                   "Voorlopige maanden zijn gearceerd." if late else "")])


def _buurten(con, scope, resolved, period, people, group: str = "alle_misdrijven"
             ) -> pd.DataFrame:
    """Every buurt of the area's gemeenten: count of ``group`` (all misdrijven unless said; as
    released for the scope: NotPublished when nothing of it is), inhabitants, rate, and the
    Poisson test of its count against its gemeente's rate (counted like the buurten when the
    release leaves types out)."""
    frames = []
    for gm in resolved.gemeenten:
        counts = incident_counts_by_area(con, scope=scope, level="buurt", period=period,
                                         group=group, within=gm)
        pop = q.buurt_population(con, scope=scope, gemeente=gm,
                                 year=add_months(period.end, -1).year)
        if disclosure.restricted(scope, "buurt"):
            gm_total = int(counts["count"].sum())
        else:
            gm_total = int(incident_counts_by_area(
                con, scope=scope, level="gemeente", period=period, group=group,
                within=gm)["count"].sum())
        gm_people = people.loc[people["code"] == gm, "population"]
        gm_rate = (gm_total / float(gm_people.iloc[0])
                   if len(gm_people) and not pd.isna(gm_people.iloc[0]) and gm_people.iloc[0]
                   else None)
        frame = pop.merge(counts[["code", "count"]], on="code", how="left")
        frame["gemeente"] = people.loc[people["code"] == gm, "name"].iloc[0]
        frame["gm_rate"] = gm_rate
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    if resolved.buurten:
        frame = frame[frame["code"].isin(resolved.buurten)].reset_index(drop=True)
    rates, zs, ps = [], [], []
    for row in frame.itertuples():
        visible = not pd.isna(row.count)
        people_n = None if pd.isna(row.population) else float(row.population)
        if not visible or not people_n:
            rates.append(None)
            zs.append(None)
            ps.append(None)
            continue
        rates.append(round(row.count * 1000 / people_n, 1))
        expected = row.gm_rate * people_n if row.gm_rate else None
        zs.append((row.count - expected) / math.sqrt(expected) if expected else None)
        ps.append(poisson_p_expected(row.count, expected) if expected else None)
    frame["per_1000"] = rates
    frame["z"] = zs  # direction only; the exact p decides significance
    frame["p"] = ps
    return frame


def _standing(z, p) -> str | None:
    if z is None or pd.isna(z) or p is None or pd.isna(p):
        return None
    if p < ALPHA:
        return "significant hoger" if z > 0 else "significant lager"
    return "binnen normale schommeling"


def _stands_out(b) -> bool:
    return _standing(b.z, b.p) == "significant hoger"


def _buurten_section(con, scope, resolved, period, buurten: pd.DataFrame) -> Section:
    multi = len(resolved.gemeenten) > 1
    order = buurten.assign(_rate=buurten["per_1000"].astype("Float64"))
    order = order.sort_values(["_rate", "code"], ascending=[False, True], na_position="last")
    rows = []
    for b in order.itertuples():
        count = None if pd.isna(b.count) else int(b.count)
        row = [b.name, b.wijk, None if pd.isna(b.population) else int(b.population), count,
               None if pd.isna(b.per_1000) else b.per_1000, _standing(b.z, b.p)]
        rows.append([b.gemeente, *row] if multi else row)
    header = ["Buurt", "Wijk", "Inwoners", "Misdrijven", "Per 1.000 inwoners",
              "T.o.v. gemeente"]
    table = Table(f"Misdrijven per buurt, {period_label(period)}",
                  ["Gemeente", *header] if multi else header, rows, sheet="Buurten",
                  note=disclosure.release(con, scope=scope, level="buurt",
                                          indicator="alle_misdrijven").note())
    standing_out = [b for b in order.itertuples() if _stands_out(b)][:NAMED_BUURTEN]
    paragraphs = []
    for b in standing_out:
        paragraphs.append(
            f"{b.name} ({b.wijk}): {fmt.integer(b.count)} misdrijven, "
            f"{fmt.decimal(b.per_1000)} per 1.000 inwoners, significant meer dan gemiddeld in "
            f"{b.gemeente} ({fmt.decimal(b.gm_rate * 1000)} per 1.000).")
    if paragraphs:
        paragraphs.insert(0, "Buurten met significant meer misdrijven per 1.000 inwoners dan "
                             "hun gemeente:")
    else:
        paragraphs.append("Geen buurt heeft significant meer misdrijven per 1.000 inwoners dan "
                          "zijn gemeente.")
    paragraphs.append("Buurten met weinig inwoners (bedrijventerreinen, uitgaansgebieden) "
                      "hebben al snel een hoog cijfer per 1.000 inwoners.")
    return Section("Opvallende buurten", paragraphs, [table])


def _burglary_section(con, scope, resolved, period, monthly, comparable, names) -> Section:
    types = indicator_types(con, burglary.GROUP)
    before = period.shifted(-12)
    change = poisson_change(total(monthly, types, period.start, period.end),
                            total(monthly, types, before.start, before.end) if comparable
                            else None)
    paragraphs = developments([(indicator_title(con, burglary.GROUP), change)],
                              than="een jaar eerder")
    figures = []
    if scope.detail >= 2:
        cells = (q.buurt_weekday_hour(con, scope=scope, buurten=resolved.buurten, types=types,
                                      start=period.start, end=period.end) if resolved.buurten
                 else burglary.weekday_hour(con, scope=scope, gemeenten=resolved.gemeenten,
                                            period=period))
        figure, peak = weekday_hour_figure(cells, "Woninginbraken naar dag en uur",
                                           "woninginbraken")
        figures.append(figure)
        if peak:
            paragraphs.append(peak)
    else:
        months = burglary.attempts_by_month(con, scope=scope, gemeenten=resolved.gemeenten,
                                            start=period.start, end=period.end)
        fig = go.Figure()
        labels = [fmt.month(m) for m in months["month"]]
        hidden = months["split_hidden"].to_numpy(bool)
        for column, name, colour in (("voltooid", "Voltooid", BLUE), ("poging", "Poging", GREY)):
            fig.add_bar(x=labels, y=_plain(months[column]), name=name, marker_color=colour)
        if hidden.any():
            fig.add_bar(x=labels, y=_plain(months["totaal"].where(hidden)),
                        name="Totaal (uitsplitsing niet getoond)", marker_color=NO_SPLIT_COLOUR)
        _layout(fig, barmode="stack")
        figures.append(Figure(
            "Woninginbraken per maand: voltooid en poging", figure_dict(fig),
            "In maanden met alleen een totaal zou de uitsplitsing met de openbare buurtcijfers "
            "te herleiden zijn tot één buurt." if hidden.any() else ""))
        shown = months[~hidden]
        done, tried = int(shown["voltooid"].sum()), int(shown["poging"].sum())
        if done + tried:
            paragraphs.append(f"{fmt.integer(tried / (done + tried) * 100)}% van de woninginbraken "
                              "bleef bij een poging"
                              + (" (in de maanden waarvan de uitsplitsing getoond wordt)."
                                 if hidden.any() else "."))
    table, named = _burglary_buurten(con, scope, resolved, period, names)
    if named:
        paragraphs.append("De meeste woninginbraken per buurt: " + ", ".join(named) + ".")
    return Section("Woninginbraak", paragraphs, [table], figures)


def weekday_hour_figure(cells: pd.DataFrame, title: str, what: str) -> tuple[Figure, str]:
    """A day x hour heatmap of ``cells`` (columns weekday, hour, count: the query layer's
    ``weekday_hour_counts``) and the sentence naming its busiest hour ("" when empty)."""
    grid = [[int(cells[(cells.weekday == d) & (cells.hour == h)]["count"].sum())
             for h in range(24)] for d in range(7)]
    fig = go.Figure(go.Heatmap(z=grid, x=[f"{h:02d}" for h in range(24)],
                               y=list(burglary.WEEKDAYS), colorscale="Blues",
                               colorbar=dict(title="Aantal")))
    fig.update_layout(margin=dict(l=48, r=12, t=24, b=36), separators=",.",
                      yaxis=dict(autorange="reversed"), xaxis=dict(title="Uur"))
    peak = ""
    if cells["count"].sum():
        top = cells.sort_values(["count", "weekday", "hour"],
                                ascending=[False, True, True]).iloc[0]
        peak = (f"De meeste {what} vonden plaats op {WEEKDAYS_LONG[int(top.weekday)]} tussen "
                f"{int(top.hour):02d}.00 en {(int(top.hour) + 1) % 24:02d}.00 uur.")
    return Figure(title, figure_dict(fig), "Tijdstip zoals geregistreerd (pleegtijd)."), peak


def _burglary_buurten(con, scope, resolved, period, names) -> tuple[Table, list[str]]:
    """Woninginbraken per buurt, most first."""
    multi = len(resolved.gemeenten) > 1
    frames = [incident_counts_by_area(con, scope=scope, level="buurt", period=period,
                                      group=burglary.GROUP, within=gm)
              for gm in resolved.gemeenten]
    frame = pd.concat(frames, ignore_index=True)
    if resolved.buurten:
        frame = frame[frame["code"].isin(resolved.buurten)]
    frame = frame.assign(_n=frame["count"].astype("Float64")).sort_values(
        ["_n", "code"], ascending=[False, True], na_position="last")
    rows = []
    for b in frame.itertuples():
        count = None if pd.isna(b.count) else int(b.count)
        row = [b.name or b.code, count]
        rows.append([names.get(b.gm_code, b.gm_code), *row] if multi else row)
    top = frame[frame["_n"] > 0].head(3)
    named = [f"{b.name or b.code} ({fmt.integer(b.count)})" for b in top.itertuples()]
    header = ["Buurt", "Woninginbraken"]
    table = Table(f"Woninginbraken per buurt, {period_label(period)}",
                  ["Gemeente", *header] if multi else header, rows, sheet="Woninginbraak buurten")
    return table, named


def _plain(column) -> list:
    """A nullable column as a list for plotly: None where there is no value."""
    return [None if pd.isna(v) else float(v) for v in column]


def _rings(geometry: dict) -> list[list]:
    polygons = (geometry["coordinates"] if geometry["type"] == "MultiPolygon"
                else [geometry["coordinates"]] if geometry["type"] == "Polygon" else [])
    return [polygon[0] for polygon in polygons if polygon]  # outer rings only


def _map_section(con, scope, resolved, period, buurten: pd.DataFrame,
                 what: str = "Misdrijven") -> Section:
    """Buurten coloured by ``what`` (the count ``buurten`` holds) per 1,000 inhabitants."""
    shapes = {}
    for gm in resolved.gemeenten:
        collection = json.loads(geometry(con, scope=scope, level="buurt", within=gm))
        shapes.update({f["id"]: f["geometry"] for f in collection["features"]
                       if not resolved.buurten or f["id"] in resolved.buurten})
    rates = buurten.loc[buurten["per_1000"].notna(), "per_1000"].astype(float)
    edges = sorted(set(rates.quantile([0.2, 0.4, 0.6, 0.8]).round(1))) if len(rates) else []
    classes: dict[str, list] = {}
    for b in buurten.itertuples():
        if b.code not in shapes:
            continue
        if pd.isna(b.per_1000):
            key = "geen inwoners"
        else:
            index = sum(b.per_1000 >= e for e in edges)
            key = index
        classes.setdefault(key, []).append(b.code)
    bounds = [None, *edges, None]
    fig = go.Figure()
    for index in range(len(edges) + 1):
        if index not in classes:
            continue
        low, high = bounds[index], bounds[index + 1]
        name = (f"minder dan {fmt.decimal(high)}" if low is None else
                f"{fmt.decimal(low)} of meer" if high is None else
                f"{fmt.decimal(low)} tot {fmt.decimal(high)}")
        _polygons(fig, [shapes[c] for c in classes[index]], name, CLASS_COLOURS[
            min(index, len(CLASS_COLOURS) - 1) if len(edges) >= 4 else
            min(index * 2, len(CLASS_COLOURS) - 1)])
    if "geen inwoners" in classes:
        _polygons(fig, [shapes[c] for c in classes["geen inwoners"]], "geen inwoners",
                  NO_RATE_COLOUR)
    lats = [pt[1] for g in shapes.values() for ring in _rings(g) for pt in ring]
    ratio = 1 / math.cos(math.radians(sum(lats) / len(lats))) if lats else 1
    fig.update_layout(margin=dict(l=8, r=8, t=24, b=8), separators=",.", plot_bgcolor="white",
                      legend=dict(title=dict(text=f"{what} per 1.000 inwoners")),
                      xaxis=dict(visible=False),
                      yaxis=dict(visible=False, scaleanchor="x", scaleratio=ratio))
    return Section("Kaart", [f"{what} per 1.000 inwoners per buurt, {period_label(period)}."],
                   figures=[Figure(f"{what} per 1.000 inwoners per buurt", figure_dict(fig),
                                   "Klassen op kwintielen van de buurten met inwoners.")])


def _polygons(fig: go.Figure, geometries: list[dict], name: str, colour: str) -> None:
    """One legend entry: all outer rings of ``geometries`` as one filled scatter trace."""
    xs, ys = [], []
    for g in geometries:
        for ring in _rings(g):
            xs.extend([pt[0] for pt in ring] + [None])
            ys.extend([pt[1] for pt in ring] + [None])
    fig.add_scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour, name=name,
                    line=dict(color="white", width=0.6), hoverinfo="skip")
