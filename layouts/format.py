"""Dutch number, date and period formatting for everything the UI shows."""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from data.periods import add_months

MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
MONTHS_LONG = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
               "september", "oktober", "november", "december")


def integer(value) -> str:
    """12345 -> '12.345'; None -> '–'."""
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{int(round(value)):,}".replace(",", ".")


def decimal(value, places: int = 1) -> str:
    """12345.67 -> '12.345,7'; None -> '–'."""
    if value is None or value != value:
        return "–"
    text = f"{value:,.{places}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def percent_change(value) -> str:
    """+12.34 -> '+12,3%'; None -> 'n.v.t.'."""
    if value is None or value != value:
        return "n.v.t."
    return ("+" if value > 0 else "") + decimal(value, 1) + "%"


def month(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def period(start: date, end_exclusive: date) -> str:
    """Whole months [start, end) -> 'dec 2025 t/m nov 2026'."""
    return f"{month(start)} t/m {month(add_months(end_exclusive, -1))}"


# -- moments shown to people --------------------------------------------------------------------

#: The zone every time shown to a person is in. Times are kept in UTC inside (the state database,
#: the protocol log, product provenance); they become Dutch wall-clock time only here.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def moment(value, *, seconds: bool = False) -> str:
    """A point in time as a person in the Netherlands reads it: '03-12-2026 22:05' (with
    ``seconds`` '03-12-2026 22:05:23'), in Europe/Amsterdam time, summer or winter.

    ``value`` is a datetime or ISO 8601 text. A value with a zone (UTC in the state database)
    is converted to Amsterdam time; one without a zone is taken as Dutch wall-clock time
    already (how incident times are stored) and only formatted. None or '' gives ''; text that
    is no time comes back as it was."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(AMSTERDAM)
    return value.strftime("%d-%m-%Y %H:%M:%S" if seconds else "%d-%m-%Y %H:%M")


def day(value) -> str:
    """A calendar date as '03-12-2026' (a date, or ISO 'JJJJ-MM-DD' text)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    return value.strftime("%d-%m-%Y")


# -- filters shown to people --------------------------------------------------------------------

#: Dutch labels for the filter keys the protocol log and the export provenance record (the
#: query layer's names, the URL and API parameters, the admin search). Keys that are Dutch
#: already ('gemeente', 'periode', ...) are shown as they are, with a capital.
FILTER_LABELS = {
    "start": "Van", "from": "Van", "end": "Tot en met", "to": "Tot en met",
    "since": "Vanaf", "types": "Soorten", "type": "Soort", "group": "Soort",
    "areas": "Gebieden", "area": "Gebied", "attempt": "Poging", "high_impact": "High impact",
    "text": "Zoektekst", "q": "Zoektekst", "columns": "Kolommen", "sort": "Sortering",
    "format": "Formaat", "sep": "Scheidingsteken", "job": "Exporttaak", "check": "Controle",
    "level": "Niveau", "period": "Periode", "measure": "Maat", "limit": "Aantal",
    "offset": "Vanaf rij", "user": "Gebruiker", "view": "Weergave", "outcome": "Uitkomst",
    "inputs": "Invoer", "fout": "Fout", "aantal": "Aantal", "per": "Per", "maat": "Maat",
    "dia": "Dia", "aan": "Aan", "wijzigingen": "Wijzigingen", "dataversie": "Dataversie",
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def filter_label(key: str) -> str:
    return FILTER_LABELS.get(key) or key.replace("_", " ").capitalize()


def filter_value(value) -> str:
    """One filter value in Dutch: dates as dd-mm-jjjj, yes/no as ja/nee, lists joined."""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if value is None:
        return "–"
    if isinstance(value, int):
        return integer(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(filter_value(v) for v in value) if value else "–"
    if isinstance(value, dict):  # e.g. profile changes: {"detail": {"oud": 1, "nieuw": 2}}
        return ", ".join(f"{filter_label(str(k)).lower()} ({filter_value(v)})"
                         if isinstance(v, dict) else f"{filter_label(str(k)).lower()}: "
                         f"{filter_value(v)}" for k, v in value.items())
    if isinstance(value, (datetime, date)):
        return moment(value) if isinstance(value, datetime) else day(value)
    text = str(value)
    if _ISO_DAY.match(text):
        return day(text)
    if _ISO_MOMENT.match(text):
        return moment(text)
    return text


def filters(value) -> str:
    """Recorded filters as a person reads them: 'Van: 01-01-2026 · Soorten: WI, FI'.
    ``value`` is a dict or its JSON text (as the protocol log stores it); '' when empty."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return value
    if not isinstance(value, dict):
        return filter_value(value)
    return " · ".join(f"{filter_label(str(k))}: {filter_value(v)}" for k, v in value.items())
