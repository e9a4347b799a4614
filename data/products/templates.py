"""Templates of themed reports (issue #16 part 2), kept in the gemeente's agreement profile.

A template says what a *bestuurlijke rapportage*, *fenomeenrapportage* or
*burgemeestersrapportage* holds: a theme (bundle and type codes of the catalog, non-crime
incident types included), the period it covers (:data:`PERIODS`, always compared with the same
period a year before), the sections in the author's order (:data:`SECTIONS`) and how often it is
made (a frequency of ``data.accounts.FREQUENCIES``, scheduled by ``reports run --due`` like the
other products). The area is the template's gemeente. Templates are stored as a JSON list in the
``templates`` column of ``profiles`` and changed through ``data.accounts.set_profile``, so every
change is a protocol-log row (``beheer/profiel``) like any other profile change.

Who may save one: a beheerder for any gemeente; a teamchef or analist for a gemeente of their
own scope (:func:`add`; anything else raises OutOfScope and is logged as refused).
The builder is ``data/products/thema.py``.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from data import protocol
from data.accounts import FREQUENCIES, POLICE_ROLES, AccountError, get_profile, set_profile
from data.periods import Period, add_months
from data.scope import OutOfScope

#: Title kinds: key -> Dutch title.
TITLES = {"bestuurlijk": "Bestuurlijke rapportage", "fenomeen": "Fenomeenrapportage",
          "burgemeester": "Burgemeestersrapportage"}
#: Period rules: key -> Dutch description.
PERIODS = {"maand": "de vorige maand", "kwartaal": "het vorige kwartaal",
           "jaar": "het vorige kalenderjaar", "12-maanden": "de laatste twaalf maanden"}
#: Sections the author chooses from: key -> Dutch heading (the builder's section titles).
SECTIONS = {"kerncijfers": "Kerncijfers", "trend": "Verloop per maand",
            "wijken": "Per wijk", "kaart": "Kaart", "dag-uur": "Dag en uur",
            "incidenten": "Incidenten", "politieprestaties": "Politieprestaties",
            "beschouwing": "Beschouwing", "bronnen": "Gemeentelijke bronnen"}
#: Roles that may save a template (a beheerder for any gemeente, police for their own).
EDITORS = ("beheerder", *POLICE_ROLES)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Template:
    name: str  # a-z, 0-9 and '-': part of the product's period key and file names
    soort: str  # a key of TITLES
    theme: tuple[str, ...]  # bundle or type codes
    period: str  # a key of PERIODS
    sections: tuple[str, ...]  # keys of SECTIONS, in order
    every: str  # a frequency (data.accounts.FREQUENCIES)
    title: str = ""  # optional subject, e.g. "Woninginbraak en geweld"

    def as_dict(self) -> dict:
        return {**asdict(self), "theme": list(self.theme), "sections": list(self.sections)}

    @classmethod
    def from_dict(cls, data: dict) -> "Template":
        return cls(data["name"], data["soort"], tuple(data["theme"]), data["period"],
                   tuple(data["sections"]), data["every"], data.get("title", ""))


def validate(con, template: Template) -> Template:
    """The template, or AccountError naming the first thing wrong with it. Theme codes must
    be bundles or crime/incident types of the catalog."""
    if not _NAME.match(template.name or ""):
        raise AccountError(f"template name {template.name!r}: use a-z, 0-9 and '-' "
                           "(at most 40 characters)")
    for value, allowed, what in ((template.soort, TITLES, "soort"),
                                 (template.period, PERIODS, "period"),
                                 (template.every, FREQUENCIES, "frequency")):
        if value not in allowed:
            raise AccountError(f"unknown {what} {value!r}; choose from {', '.join(allowed)}")
    if not template.theme:
        raise AccountError("a theme needs at least one bundle or type code")
    known = {code for code, _ in _theme_choices(con)}
    unknown = [c for c in template.theme if c not in known]
    if unknown:
        raise AccountError(f"unknown theme code {unknown[0]!r} (a bundle or type code)")
    if not template.sections:
        raise AccountError("choose at least one section")
    bad = [s for s in template.sections if s not in SECTIONS]
    if bad:
        raise AccountError(f"unknown section {bad[0]!r}; choose from {', '.join(SECTIONS)}")
    if len(set(template.sections)) != len(template.sections) or len(
            set(template.theme)) != len(template.theme):
        raise AccountError("a section or theme code occurs twice")
    if len(template.title) > 120:
        raise AccountError("the title is longer than 120 characters")
    return template


def _theme_choices(con) -> list[tuple[str, str]]:
    from data.accounts import type_choices
    return type_choices(con)


def templates(state, gm_code: str) -> list[Template]:
    return [Template.from_dict(t) for t in get_profile(state, gm_code).templates]


def get(state, gm_code: str, name: str) -> Template | None:
    return next((t for t in templates(state, gm_code) if t.name == name), None)


def check_editor(state, con, *, user, scope, gm_code: str, client: str | None = None) -> None:
    """Refuse (OutOfScope, a protocol-log row ``beheer/sjabloon``) unless ``user`` may save a
    template for ``gm_code``: a beheerder, or a teamchef/analist whose scope holds it. ``user``
    None is the command line's operator (a beheerder)."""
    if user is None:
        return
    role = getattr(user, "role", None)
    known = bool(con.execute("SELECT 1 FROM areas WHERE code = ? AND level = 'gemeente'",
                             [gm_code]).fetchall())
    allowed = known and (role == "beheerder" or (
        role in POLICE_ROLES and scope is not None and gm_code in scope.gemeenten))
    if not allowed:
        detail = f"template for {gm_code} not allowed for role {role} or outside the scope"
        protocol.record(state, user=user, scope=scope, view="beheer/sjabloon",
                        filters={"gemeente": gm_code}, rows=0, client=client,
                        outcome="refused", detail=detail)
        raise OutOfScope(detail)


def add(state, con, gm_code: str, template: Template, *, by: str, user=None, scope=None,
        client: str | None = None) -> Template:
    """Save ``template`` in the profile of ``gm_code`` (replacing one of the same name);
    logged as a profile change."""
    check_editor(state, con, user=user, scope=scope, gm_code=gm_code, client=client)
    validate(con, template)
    if not con.execute("SELECT 1 FROM areas WHERE code = ? AND level = 'gemeente'",
                       [gm_code]).fetchall():
        raise AccountError(f"{gm_code} is not a gemeente")
    kept = [t for t in get_profile(state, gm_code).templates if t["name"] != template.name]
    set_profile(state, gm_code, by=by, templates=[*kept, template.as_dict()],
                role=getattr(user, "role", None) or "beheerder")
    return template


def remove(state, con, gm_code: str, name: str, *, by: str, user=None, scope=None) -> bool:
    check_editor(state, con, user=user, scope=scope, gm_code=gm_code)
    current = get_profile(state, gm_code).templates
    kept = [t for t in current if t["name"] != name]
    if len(kept) == len(current):
        return False
    set_profile(state, gm_code, by=by, templates=kept,
                role=getattr(user, "role", None) or "beheerder")
    return True


def period_of(rule: str, reference: date) -> Period:
    """The period a template covers for a product made up to ``reference`` (exclusive): the
    last complete month, calendar quarter or calendar year before it, or its last twelve
    complete months."""
    end = date(reference.year, reference.month, 1)
    if rule == "maand":
        return Period(add_months(end, -1), end)
    if rule == "kwartaal":
        quarter_end = date(end.year, (end.month - 1) // 3 * 3 + 1, 1)
        return Period(add_months(quarter_end, -3), quarter_end)
    if rule == "jaar":
        return Period(date(end.year - 1, 1, 1), date(end.year, 1, 1))
    if rule == "12-maanden":
        return Period(add_months(end, -12), end)
    raise ValueError(f"unknown period rule {rule!r}")


def period_key(due_key: str, template: Template) -> str:
    """The product's period key: the schedule's period and the template's name."""
    return f"{due_key}-{template.name}"
