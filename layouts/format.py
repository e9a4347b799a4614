"""Dutch number, date and period formatting for everything the UI shows."""
from __future__ import annotations

from datetime import date

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
