"""What a generated information product is made of, independent of its output format.

A builder (``data/products/builders.py``) turns the query layer's figures into a
:class:`Content` for one area and reference date, within a scope; renderers
(``data/products/render.py``) turn that into HTML (with print CSS), PDF, XLSX and CSV. Builders
never format for a medium and renderers never query: the numbers in every format are the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: Product kinds: key -> (Dutch title, tabular?). Keys are used in agreement profiles
#: (``Profile.products``: kind -> frequency), URLs and file names.
KINDS: dict[str, tuple[str, bool]] = {
    "stuurgegevens": ("Maandelijkse stuurgegevens", True),
    "tabellenboek": ("Tabellenboek", True),
    "perioderapportage": ("Vier-, acht- of twaalfmaandsrapportage", True),
    "jaarverslag": ("Jaarverslag", True),
    "halfjaarcijfers": ("Halfjaarcijfers", True),
    "jaarafsluiting": ("Jaarafsluiting basisteam", True),
    "gebiedsscan": ("Gebiedsscan", True),
    "incidentenrapport": ("(Twee)wekelijks incidentenrapport", True),
    "operationeel_beeld": ("Dagelijks algemeen operationeel beeld", True),
    "thema": ("Themarapportage", True),
    "ondermijningsbeeld": ("Integraal ondermijningsbeeld", True),  # built from a template (data/products/templates.py)
}
#: Kinds built from a template of the profile, never on their own ("Nu maken", concepts).
TEMPLATED = ("thema",)


@dataclass
class Table:
    """A table: ``rows`` hold plain values (str, int, float or None = unknown); a figure the
    scope's release does not publish is a string saying so (e.g. ``"niet openbaar"``, with
    the reason in ``note``). ``sheet`` names its XLSX sheet (max 31 characters)."""
    title: str
    header: list[str]
    rows: list[list]
    sheet: str = ""
    note: str = ""


@dataclass
class Figure:
    """A chart as a plotly figure dict (``fig.to_plotly_json()``), drawn by the renderers."""
    title: str
    figure: dict
    note: str = ""


@dataclass
class Commentary:
    """The police's own words on a section (a "beschouwing") or on the whole product (the
    "duiding"), added to a concept and released with it (``data/products/concepts.py``).
    ``text``: paragraphs separated by blank lines; ``attribution``: "— name, role, vastgesteld
    dd-mm-jjjj"; ``label``: the heading above it ("" for none)."""
    text: str
    attribution: str
    label: str = "Beschouwing van de politie"

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.text.replace("\r\n", "\n").split("\n\n") if p.strip()]


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)  # generated sentences, Dutch
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    commentary: Commentary | None = None  # released with a concept only


@dataclass
class Content:
    """One product for one area and period, ready to render and freeze."""
    kind: str
    title: str
    area_code: str  # a gemeente, basisteam, district or eenheid code
    area_name: str
    period_label: str  # e.g. "januari t/m april 2026"
    reference_date: date  # the data are counted up to (not including) this date
    sections: list[Section] = field(default_factory=list)
    detail: int = 1  # the scope's detail level the content was built for
    notes: list[str] = field(default_factory=list)  # provisional months, disclosure, sources
    correction: str = ""  # "Correctie op versie N: <reason>" on a corrected release
