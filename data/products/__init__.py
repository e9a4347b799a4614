"""Information products (Rapportages): built from the query layer, rendered, frozen, scheduled.

* :mod:`data.products.model` — the medium-independent content (sections, tables, figures);
* builders, one function per kind with the signature
  ``fn(con, *, scope, area: str, reference: date, profile) -> Content`` (the themed report,
  ``thema``, also takes its ``template``), registered in
  :data:`BUILDERS` as ``"module:function"`` so the registry imports nothing until used;
* rendering (HTML with print CSS, PDF, XLSX, CSV), freezing and scheduling: see the modules
  named in docs/architecture.md.
"""
from __future__ import annotations

from importlib import import_module

from data.products.asof import as_of
from data.products.model import KINDS, Content

#: kind -> "module:function" of its builder.
BUILDERS: dict[str, str] = {
    "stuurgegevens": "data.products.monthly:stuurgegevens",
    "tabellenboek": "data.products.monthly:tabellenboek",
    "incidentenrapport": "data.products.incidentlists:incidentenrapport",
    "operationeel_beeld": "data.products.incidentlists:operationeel_beeld",
    "perioderapportage": "data.products.comparisons:perioderapportage",
    "jaarverslag": "data.products.comparisons:jaarverslag",
    "halfjaarcijfers": "data.products.comparisons:halfjaarcijfers",
    "jaarafsluiting": "data.products.comparisons:jaarafsluiting",
    "gebiedsscan": "data.products.gebiedsscan:gebiedsscan",
    "thema": "data.products.thema:thema",
    "ondermijningsbeeld": "data.products.ondermijning:ondermijningsbeeld",
}
assert set(BUILDERS) == set(KINDS)


def build(con, *, scope, kind: str, area: str, reference, profile=None,
          template=None) -> Content:
    """The content of product ``kind`` for ``area`` up to ``reference`` within ``scope``;
    ``template``: the themed report's template (kind ``thema`` only)."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown product kind {kind!r}")
    module, function = BUILDERS[kind].split(":")
    builder = getattr(import_module(module), function)
    reference_day = reference.date() if hasattr(reference, "date") else reference
    with as_of(con, reference_day, scope.gemeenten) as view:  # registrations up to and including the peildatum
        extra = {"template": template} if template is not None else {}
        return builder(view, scope=scope, area=area, reference=reference, profile=profile,
                       **extra)
