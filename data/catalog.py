"""Crime types, non-crime incident types and the bundles the monitors use.

The 59 SoortMisdrijf codes come from ``data/reference/crime_types.csv`` (Politie/CBS table
47018NED, see ``data/reference/build.py``). Non-crime incident types (meldingen that are not a
misdrijf, which a driehoeksmonitor needs) and the bundles are defined here.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from data.sql import scalar

REFERENCE = Path(__file__).resolve().parent / "reference"

TOTAL_CODE = "0.0.0"

#: Non-crime incident types (police "incidenten" that are not a misdrijf). Codes start with N so
#: they never collide with SoortMisdrijf codes. Rates per 100,000 inhabitants per year are
#: rounded orders of magnitude from published police annual figures, used by the demo generator.
INCIDENT_TYPES = {
    "N01": ("Overlast jeugd", 560.0),
    "N02": ("Verward/overlastgevend persoon", 780.0),
    "N03": ("Burenruzie", 250.0),
    "N04": ("Drugsoverlast", 140.0),
    "N05": ("Verkeersongeval (melding)", 420.0),
    "N06": ("Inval/doorzoeking", 4.0),
    "N07": ("Geluidsoverlast", 600.0),
}

#: Types whose registrations count as High Impact Crime.
HIGH_IMPACT_TYPES = ("1.1.1", "1.4.1", "1.4.2", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7")

#: Bundles: code -> (Dutch title, member type codes). "alle_misdrijven" is filled from the list.
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "woninginbraak": ("Woninginbraak", ("1.1.1",)),
    "hic": ("High Impact Crime", HIGH_IMPACT_TYPES),
    "geweld": ("Geweld", ("1.4.1", "1.4.2", "1.4.3", "1.4.4", "1.4.5")),
    "vermogen": ("Vermogensmisdrijven", (
        "1.1.1", "1.1.2", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.4.6", "1.4.7",
        "1.5.2", "1.6.2", "2.5.1", "2.5.2")),
    "ondermijning": ("Ondermijning", ("1.6.3", "3.1.1", "3.1.2", "3.1.3")),
    "drugs": ("Drugs", ("2.1.1", "3.1.1", "N04")),
    "vernieling": ("Vernieling en overlast", ("2.2.1", "3.6.4", "N01", "N07")),
    "fietsdiefstal": ("Fietsdiefstal", ("1.2.3",)),
    "overlast": ("Overlast (niet-misdrijf)", ("N01", "N02", "N03", "N04", "N07")),
}


@dataclass(frozen=True)
class CrimeType:
    code: str
    title: str
    description: str
    kind: str  # 'totaal' | 'misdrijf' | 'incident'
    brengdelict: bool | None
    high_impact: bool
    sort_key: int
    rate_per_100k: float  # national registrations per 100,000 inhabitants per year


@cache
def crime_types() -> tuple[CrimeType, ...]:
    """All types: the total, the 58 SoortMisdrijf types and the non-crime incident types."""
    with open(REFERENCE / "national_rates.csv", encoding="utf-8", newline="") as fh:
        rates = {row["code"]: float(row["per_100k_per_year"]) for row in csv.DictReader(fh)}
    types = []
    with open(REFERENCE / "crime_types.csv", encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            kind = "totaal" if row["code"] == TOTAL_CODE else "misdrijf"
            types.append(CrimeType(
                code=row["code"], title=row["title"], description=row["description"], kind=kind,
                brengdelict=None if row["brengdelict"] == "" else row["brengdelict"] == "1",
                high_impact=row["code"] in HIGH_IMPACT_TYPES, sort_key=i,
                rate_per_100k=rates.get(row["code"], 0.0)))
    for j, (code, (title, rate)) in enumerate(INCIDENT_TYPES.items()):
        types.append(CrimeType(code, title, "Incident (geen misdrijf)", "incident", None,
                               False, 1000 + j, rate))
    return tuple(types)


def group_members() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Bundles including 'alle_misdrijven' (every SoortMisdrijf type except the total)."""
    alle = tuple(t.code for t in crime_types() if t.kind == "misdrijf")
    return {**GROUPS, "alle_misdrijven": ("Alle misdrijven", alle)}


def seed_catalog(con) -> None:
    """Fill crime_types, type_groups and the land row of a new database (no-op when present)."""
    if scalar(con, "SELECT count(*) FROM crime_types"):
        return
    con.execute("INSERT OR IGNORE INTO areas (code, level, name) VALUES ('NL00', 'land', 'Nederland')")
    con.executemany(
        "INSERT INTO crime_types VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(t.code, t.title, t.description, t.kind, t.brengdelict, t.high_impact, t.sort_key)
         for t in crime_types()])
    con.executemany(
        "INSERT INTO type_groups VALUES (?, ?, ?)",
        [(g, title, code) for g, (title, codes) in group_members().items() for code in codes])


def indicator_types(con, indicator: str) -> list[str]:
    """The crime/incident type codes an indicator stands for: the members of a bundle, or the
    type itself (never the total). Empty for an unknown code."""
    rows = con.execute(
        "SELECT type_code FROM type_groups WHERE group_code = ? "
        "UNION SELECT code FROM crime_types WHERE code = ? AND kind <> 'totaal'",
        [indicator, indicator]).fetchall()
    return sorted(r[0] for r in rows)


def indicator_title(con, indicator: str) -> str:
    """The Dutch title of a bundle or type code (the code itself when unknown)."""
    rows = con.execute(
        "SELECT any_value(group_title) FROM type_groups WHERE group_code = ? "
        "UNION ALL SELECT title FROM crime_types WHERE code = ?", [indicator, indicator]).fetchall()
    return next((r[0] for r in rows if r[0]), indicator)
