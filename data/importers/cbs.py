"""What CBS/Politie downloads share: measure columns, period labels, statistical symbols, and
labels instead of codes.

Two forms of the same tables reach the counts importer:

* the open-data **TypedDataSet** (``ID;SoortMisdrijf;RegioS;Perioden;TotaalGeregistreerde
  Misdrijven_1;...``): codes (``GM0363``, ``T001161``, ``2020JJ00``) padded with spaces;
* the **StatLine CSV** a user downloads from the table view (``"Soort misdrijf";"Regio's";
  "Perioden";"Totaal geregistreerde misdrijven (aantal)";...``): labels (``Amsterdam``,
  ``Misdrijven, totaal``, ``2024*``, ``2024 maart``), decimal commas and CBS's symbols
  (``.`` not available, ``x`` secret, ``-`` nil).

Both may hold several measures: registered crimes, cleared crimes (opgehelderd) and
registrations of suspects. :func:`measure_columns` finds them by name in either form and ignores
derived columns (relative, per 1,000 inhabitants).
"""
from __future__ import annotations

import re

from data.catalog import TOTAL_CODE
from data.importers.csvfile import CsvFile

#: Measures a counts file may hold, keyed by the column name reduced to its letters (the
#: TypedDataSet key without its ``_N`` suffix, or the StatLine label without group and unit).
#: ``registered`` goes to ``counts``, the others to ``measure_counts``.
MEASURES = {
    "registered": ("geregistreerdemisdrijven", "totaalgeregistreerdemisdrijven"),
    "cleared": ("opgehelderdemisdrijven", "totaalopgehelderdemisdrijven"),
    "suspects": ("registratiesvanverdachten",),
}
#: Crime types of other CBS classifications that are the same figure as a 47018NED code:
#: 83648NED's "Misdrijven, totaal" is the total of all registered crimes.
TYPE_ALIASES = {"T001161": TOTAL_CODE, "misdrijven, totaal": TOTAL_CODE}
#: The land as CBS labels it.
LAND_LABELS = {"nederland": "NL00"}
#: CBS writes Nederland as NL01; the area registry calls it NL00.
CBS_LAND = {"NL01": "NL00"}
#: Cell values that mean "no figure": not available, secret (CBS's statistical symbols).
MISSING_SYMBOLS = (".", "x")
#: "-" is CBS's symbol for nil: zero.
NIL_SYMBOL = "-"
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
          "september", "oktober", "november", "december")


def measure_key(column: str) -> str:
    """``TotaalOpgehelderdeMisdrijven_4`` and ``Opgehelderde misdrijven/Totaal opgehelderde
    misdrijven (aantal)`` both become ``totaalopgehelderdemisdrijven``."""
    name = column.rsplit("/", 1)[-1]
    name = re.sub(r"\([^)]*\)\s*$", "", name).strip()
    name = re.sub(r"_\d+$", "", name)
    return re.sub(r"[^a-z]", "", name.lower())


def measure_columns(csv: CsvFile) -> dict[str, str]:
    """{measure: column} for the measure columns of the file, first match per measure."""
    found: dict[str, str] = {}
    for column in csv.columns:
        key = measure_key(column)
        for measure, keys in MEASURES.items():
            if key in keys and measure not in found:
                found[measure] = column
    return found


def period_label_sql(expr: str) -> tuple[str, str]:
    """SQL for (period, starred) of a StatLine period label: ``2024*`` -> (``2024``, true),
    ``2024 maart`` -> ``2024-03``, ``2024 1e kwartaal`` -> ``2024-Q1``; codes such as
    ``2024MM03`` pass through. One or two stars mark provisional figures."""
    bare = f"lower(trim(regexp_replace({expr}, '\\*+$', '')))"
    months = "[" + ", ".join(f"'{m}'" for m in MONTHS) + "]"
    month = f"list_position({months}, regexp_extract({bare}, '^\\d{{4}} ([a-z]+)$', 1))"
    period = (f"CASE WHEN regexp_full_match({bare}, '\\d{{4}} ({'|'.join(MONTHS)})')"
              f" THEN left({bare}, 4) || '-' || lpad({month}::VARCHAR, 2, '0')"
              f" WHEN regexp_full_match({bare}, '\\d{{4}} [1-4](e|ste|de)? kwartaal')"
              f" THEN left({bare}, 4) || '-Q' || substr({bare}, 6, 1)"
              f" ELSE trim(regexp_replace({expr}, '\\*+$', '')) END")
    return period, f"regexp_matches({expr}, '\\*$')"


def count_text_sql(expr: str, *, labels: bool) -> str:
    """SQL turning a cell into text a DECIMAL cast reads, or NULL for a missing figure
    (empty, ``.``, ``x``). ``-`` (nil) is ``0``. With ``labels`` (StatLine CSV) spaces and dots
    between groups of three digits are thousands separators and a comma is the decimal point."""
    missing = ", ".join(f"'{s}'" for s in MISSING_SYMBOLS)
    text = f"CASE WHEN {expr} IN ({missing}) THEN NULL WHEN {expr} = '{NIL_SYMBOL}' THEN '0'"
    if not labels:
        return f"{text} ELSE {expr} END"
    squeezed = f"regexp_replace({expr}, '[ ' || chr(160) || chr(8239) || ']', '', 'g')"
    grouped = (f"CASE WHEN regexp_full_match({squeezed}, '\\d{{1,3}}(\\.\\d{{3}})+')"
               f" THEN replace({squeezed}, '.', '') ELSE replace({squeezed}, ',', '.') END")
    return f"{text} ELSE {grouped} END"


def create_label_tables(con) -> None:
    """``_area_labels(key, code, n)``: gemeente names (and Nederland) from the area registry;
    ``_type_labels(key, code, n)``: crime type titles and the aliases. ``key`` is the lower-case
    label with single spaces; ``n`` > 1 marks a label that several codes share."""
    land = " UNION ALL ".join(f"SELECT '{k}', '{v}', 1" for k, v in LAND_LABELS.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _area_labels AS
        SELECT {label_key_sql('name')} AS key, min(code) AS code, count(*) AS n
        FROM areas WHERE level = 'gemeente' AND name IS NOT NULL GROUP BY 1
        UNION ALL {land}""")
    aliases = " UNION ALL ".join(f"SELECT '{k.lower()}', '{v}', 1" for k, v in TYPE_ALIASES.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _type_labels AS
        SELECT {label_key_sql('title')} AS key, min(code) AS code, count(*) AS n
        FROM crime_types GROUP BY 1
        UNION ALL {aliases}""")


def label_key_sql(expr: str) -> str:
    """A label as it is looked up: lower case, single spaces, without CBS's " (gemeente)"
    (StatLine's "Groningen (gemeente)" beside "Groningen (PV)")."""
    return (f"regexp_replace(lower(trim(regexp_replace({expr}, '\\s+', ' ', 'g'))),"
            f" ' \\(gemeente\\)$', '')")
