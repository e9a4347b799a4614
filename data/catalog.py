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

from data.sql import per_connection, scalar

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



@dataclass(frozen=True)
class OndermijningIndicator:
    """One indicator of the integraal ondermijningsbeeld (issue #17 item 2): ``codes`` are the
    SoortMisdrijf or non-crime incident types it counts; without codes the registration does
    not hold it apart and ``no_data`` says why (shown as "geen gegevens", never 0).
    ``in_bundle``: its codes are members of the bundle "ondermijning"."""
    key: str
    label: str
    codes: tuple[str, ...]
    measures: str
    in_bundle: bool = False
    no_data: str = ""


#: The one definition of the ondermijning indicators; the bundle "ondermijning" is the union of
#: the codes marked ``in_bundle``.
ONDERMIJNING: tuple[OndermijningIndicator, ...] = (
    OndermijningIndicator(
        "drugs", "Drugs: productie en handel", ("3.1.1",),
        "Opiumwet: bezit, handel en vervaardigen van harddrugs (lijst 1) en softdrugs "
        "(lijst 2), F40-F45. De registratie splitst hard- en softdrugs niet uit.", True),
    OndermijningIndicator(
        "mensenhandel", "Mensenhandel en mensensmokkel", ("1.6.3", "3.1.2"),
        "Mensenhandel (seksuele, arbeids- en criminele uitbuiting, F561-F565, F5293) en "
        "mensensmokkel (F5294).", True),
    OndermijningIndicator(
        "wapens", "Wapens", ("3.1.3",),
        "Wet wapens en munitie: bezit en handel van vuurwapens en overige wapens (F70-F73).",
        True),
    OndermijningIndicator(
        "explosies", "Explosies en brandstichting", ("1.6.1",),
        "Brandstichting (F13) en bomaanslagen/ontploffingen (F14). Aanslagen op woningen en "
        "bedrijfspanden zijn in de registratie niet apart te onderscheiden van andere "
        "brandstichtingen."),
    OndermijningIndicator(
        "invallen", "Invallen en doorzoekingen", ("N06",),
        "Politie-invallen en doorzoekingen (incidentsoort N06, geen misdrijf), ook door "
        "landelijke eenheden."),
    OndermijningIndicator(
        "witwassen", "Witwassen", (),
        "Witwassen (F94).",
        no_data="witwassen (F94) is in de registratie samengevoegd met andere bijzondere "
                "wetten (2.7.2) en niet apart te tellen"),
    OndermijningIndicator(
        "drugslabs", "Opgerolde drugslabs", (),
        "Ontmantelde drugslaboratoria en dumpingen van drugsafval.",
        no_data="drugslabs en drugsafval (M0111) zijn in de registratie samengevoegd met "
                "andere bodemdelicten (2.6.2); een bron met ontmantelde drugslabs is niet "
                "gekoppeld"),
)

#: Bundles: code -> (Dutch title, member type codes). "alle_misdrijven" is filled from the list.
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "woninginbraak": ("Woninginbraak", ("1.1.1",)),
    "hic": ("High Impact Crime", HIGH_IMPACT_TYPES),
    "geweld": ("Geweld", ("1.4.1", "1.4.2", "1.4.3", "1.4.4", "1.4.5")),
    "vermogen": ("Vermogensmisdrijven", (
        "1.1.1", "1.1.2", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.4.6", "1.4.7",
        "1.5.2", "1.6.2", "2.5.1", "2.5.2")),
    "ondermijning": ("Ondermijning", tuple(sorted(
        code for i in ONDERMIJNING if i.in_bundle for code in i.codes))),
    "drugs": ("Drugs", ("2.1.1", "3.1.1", "N04")),
    "vernieling": ("Vernieling en overlast", ("2.2.1", "3.6.4", "N01", "N07")),
    "fietsdiefstal": ("Fietsdiefstal", ("1.2.3",)),
    "overlast": ("Overlast (niet-misdrijf)", ("N01", "N02", "N03", "N04", "N07")),
}


def ondermijning_codes() -> list[str]:
    """Every type code an ondermijning indicator counts."""
    return sorted({c for i in ONDERMIJNING for c in i.codes})


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


def indicator_members(con) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """{indicator: its member types as (code, title, kind), in the catalogue's order} for
    every bundle (its members) and every single type but the total (the type itself): read
    once per connection (``data.sql.per_connection``; reference data of the version)."""
    def compute():
        found: dict[str, list] = {}
        for indicator, code, title, kind, _ in con.execute(
                "SELECT g.group_code, g.type_code, t.title, t.kind, t.sort_key FROM type_groups g"
                " LEFT JOIN crime_types t ON t.code = g.type_code"
                " UNION ALL SELECT code, code, title, kind, sort_key FROM crime_types"
                " WHERE kind <> 'totaal' ORDER BY 1, 5 NULLS LAST, 2").fetchall():
            found.setdefault(indicator, []).append((code, title, kind))
        return {k: tuple(v) for k, v in found.items()}
    return per_connection(con, "catalog.indicator_members", compute)


def indicator_types(con, indicator: str) -> list[str]:
    """The crime/incident type codes an indicator stands for: the members of a bundle, or the
    type itself (never the total). Empty for an unknown code."""
    return sorted(code for code, _, _ in indicator_members(con).get(indicator, ()))


def indicator_title(con, indicator: str) -> str:
    """The Dutch title of a bundle or type code (the code itself when unknown)."""
    rows = con.execute(
        "SELECT any_value(group_title) FROM type_groups WHERE group_code = ? "
        "UNION ALL SELECT title FROM crime_types WHERE code = ?", [indicator, indicator]).fetchall()
    return next((r[0] for r in rows if r[0]), indicator)
