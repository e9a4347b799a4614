"""Concepts: a product the police release ("vaststellen") with their own commentary.

A teamchef or analist prepares a product as a **concept** for a kind, a gemeente in their scope
and a period (or ``reports run --due`` does, for the kinds a gemeente's agreement profile lists
under ``vaststellen``). They write a **beschouwing** per section and an overall **duiding**,
look at the preview — the HTML exactly as the mayor will get it — and release it. Only the
release builds, freezes and registers the product (:func:`data.products.archive.generate`),
built with the scope a mayor of the gemeente gets, so the gemeente sees it like any other
product (with the "Nieuw" badge). Before that the gemeente sees nothing of it: concepts are
for the police roles whose scope covers the gemeente (:func:`may_edit`) and every other
request is refused and logged.

Storage (state database): ``concepts`` (one row per concept, never updated),
``concept_revisions`` (append-only: every save is a new revision holding all texts with, per
text, who last changed it; the latest revision counts) and ``concept_releases`` (one row per
released concept, naming its product, written in the transaction that registers the product).
Every new concept (``rapportages/concept/nieuw``), saved revision (``.../revisie``), preview
(``.../voorbeeld``) and release (``rapportages/vaststellen``) writes a protocol-log row, in the
transaction that stores it.

A **correction** is a new concept of the same kind, gemeente and period started from a
released product (its commentary copied); it needs a reason, and its release is the next
version of the product whose first page says "Correctie op versie N: <reason>".
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from data import protocol
from data.accounts import POLICE_ROLES, get_profile
from data.products import archive, build
from data.products.model import KINDS, Commentary, Content, Section
from data.scope import OutOfScope, Scope
from data.state import StateDB, dumps, now
from layouts import format as fmt

#: Title of the first section, the police's overall interpretation.
DUIDING_TITLE = "Duiding van de politie"
#: The longest text a block may hold (characters).
MAX_TEXT = 20_000


class ConceptClosed(ValueError):
    """The concept was released already (or is not a concept one can still change)."""


@dataclass(frozen=True)
class Concept:
    id: int
    kind: str
    area_code: str
    area_name: str
    gemeenten: tuple[str, ...]
    period_key: str
    period_label: str
    reference: str  # ISO date (or date-time for the operationeel beeld)
    sections: tuple[str, ...]  # the titles of the built product's sections
    created_at: str
    created_by: str
    scheduled: bool
    corrects: int | None  # the released product this concept corrects
    released_product: int | None = None
    released_at: str | None = None
    released_by: str | None = None

    @property
    def title(self) -> str:
        return KINDS.get(self.kind, (self.kind,))[0]

    @property
    def open(self) -> bool:
        return self.released_product is None

    def reference_value(self):
        value = datetime.fromisoformat(self.reference)
        return value if "T" in self.reference else value.date()


@dataclass(frozen=True)
class Revision:
    concept_id: int
    revision: int
    texts: dict  # {"duiding": block, "secties": {title: block}, "reden": str}; block: see _block
    author: str
    role: str
    at: str


def _block(text: str, author: str, role: str, at: str) -> dict:
    return {"text": text, "author": author, "role": role, "at": at}


EMPTY = {"duiding": None, "secties": {}, "reden": ""}


def _concept(row) -> Concept:
    return Concept(row["id"], row["kind"], row["area_code"], row["area_name"],
                   tuple(json.loads(row["gemeenten"])), row["period_key"], row["period_label"],
                   row["reference"], tuple(json.loads(row["sections"])), row["created_at"],
                   row["created_by"], bool(row["scheduled"]), row["corrects"],
                   row["product_id"], row["released_at"], row["released_by"])


_SELECT = ("SELECT c.*, r.product_id, r.at AS released_at, r.by AS released_by FROM concepts c"
           " LEFT JOIN concept_releases r ON r.concept_id = c.id")


def get_concept(state: StateDB, concept_id) -> Concept | None:
    rows = state.query(f"{_SELECT} WHERE c.id = ?", (int(concept_id),))
    return _concept(rows[0]) if rows else None


def all_concepts(state: StateDB) -> list[Concept]:
    return [_concept(r) for r in state.query(f"{_SELECT} ORDER BY c.id DESC")]


def may_edit(user, scope: Scope, concept: Concept) -> bool:
    """True for a police role (teamchef, analist) whose scope covers the concept's gemeenten.
    Nobody else — a mayor, an adviseur, a service account — sees a concept."""
    if getattr(user, "role", None) not in POLICE_ROLES or scope.empty or not concept.gemeenten:
        return False
    return set(concept.gemeenten) <= set(scope.gemeenten)


def list_concepts(state: StateDB, *, user, scope: Scope) -> list[Concept]:
    """The open (unreleased) concepts ``user`` may work on, newest first."""
    return [c for c in all_concepts(state) if c.open and may_edit(user, scope, c)]


def checked(state: StateDB, *, user, scope: Scope, concept_id, view: str,
            client: str | None = None) -> Concept:
    """The concept for ``user``; refused (OutOfScope, a protocol-log row) unless
    :func:`may_edit`, also for an unknown id (the message does not tell the two apart)."""
    concept = get_concept(state, concept_id) if isinstance(concept_id, int) else None
    if concept is None or not may_edit(user, scope, concept):
        detail = ("no such concept" if concept is None
                  else f"concept {concept_id} not for role {getattr(user, 'role', None)}"
                       " or outside the scope")
        protocol.record(state, user=user, scope=scope, view=view,
                        filters={"concept": concept_id if isinstance(concept_id, int) else None},
                        rows=0, client=client, outcome="refused", detail=detail)
        raise OutOfScope(detail)
    return concept


def exists(state: StateDB, *, kind: str, area: str, period_key: str) -> bool:
    """Whether any concept (open or released) of this kind, gemeente and period exists."""
    return bool(state.query("SELECT 1 FROM concepts WHERE kind = ? AND area_code = ? AND"
                            " period_key = ? LIMIT 1", (kind, area, period_key)))


def _open_concept(state: StateDB, kind: str, area: str, period_key: str) -> Concept | None:
    for row in state.query(f"{_SELECT} WHERE c.kind = ? AND c.area_code = ? AND"
                           " c.period_key = ? AND r.concept_id IS NULL ORDER BY c.id",
                           (kind, area, period_key)):
        return _concept(row)
    return None


def mayor_scope(con, state, gm_code: str) -> Scope:
    from data.products.schedule import mayor_scope as scope_of
    return scope_of(con, state, gm_code)


def create(store, state: StateDB, *, kind: str, area: str, reference, period_key: str,
           scope: Scope | None = None, user=None, by: str | None = None,
           scheduled: bool = False, corrects: int | None = None, reason: str = "",
           client: str | None = None) -> tuple[Concept, bool]:
    """A new concept (or the open one of this kind, gemeente and period); returns it and
    whether it is new. With ``user`` the area must be a gemeente inside ``scope`` and the user
    a police role. The content is built once (with the mayor's scope, as the release will be)
    to know its sections. ``corrects``: the id of a released product of the same kind,
    gemeente and period whose commentary is copied; ``reason`` says what the correction
    changes."""
    if kind not in KINDS:
        raise ValueError(f"unknown product kind {kind!r}")
    con = store.read()
    if user is not None:
        if getattr(user, "role", None) not in POLICE_ROLES:
            raise OutOfScope(f"role {getattr(user, 'role', None)} may not prepare a concept")
        if scope is None or scope.empty or area not in scope.gemeenten:
            raise OutOfScope(f"gemeente {area} outside the scope")
    gm = con.execute("SELECT 1 FROM areas WHERE code = ? AND level = 'gemeente'",
                     [area]).fetchall()
    if not gm:
        raise OutOfScope(f"{area} is not a gemeente")
    previous, texts = None, dict(EMPTY, secties={})
    if corrects is not None:
        previous = archive.get_product(state, corrects)
        if (previous is None or previous.kind != kind or previous.area_code != area
                or previous.period_key != period_key
                or (scope is not None and not archive.may_open(scope, previous))):
            raise OutOfScope(f"product {corrects} is not this kind, gemeente and period")
        source = _released_from(state, corrects)
        if source is not None:
            texts = copy.deepcopy(latest(state, source).texts)
            reference = get_concept(state, source).reference_value()
        texts["reden"] = (reason or "").strip()[:MAX_TEXT]
    elif (existing := _open_concept(state, kind, area, period_key)) is not None:
        return existing, False
    mayor = mayor_scope(con, state, area)
    content = build(con, scope=mayor, kind=kind, area=area, reference=reference,
                    profile=get_profile(state, area))
    author = by or getattr(user, "name", None) or "onbekend"
    role = getattr(user, "role", None) or "systeem"
    at = now()
    reference_text = reference.isoformat() if isinstance(reference, (date, datetime)) else str(
        reference)
    with state.transaction() as tx:
        cursor = tx.execute(
            "INSERT INTO concepts (kind, area_code, area_name, gemeenten, period_key,"
            " period_label, reference, sections, created_at, created_by, scheduled, corrects)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, area, content.area_name, dumps([area]), period_key, content.period_label,
             reference_text, dumps([s.title for s in content.sections]), at, author,
             int(scheduled), corrects))
        concept_id = cursor.lastrowid
        if previous is not None:  # the copied commentary is the correction's first revision
            tx.execute("INSERT INTO concept_revisions VALUES (?, 1, ?, ?, ?, ?)",
                       (concept_id, dumps(texts), author, role, at))
        protocol.append_row(
            tx, user=author, role=role, scope=scope, view="rapportages/concept/nieuw",
            filters={"concept": concept_id, "soort": kind, "gebied": area,
                     "periode": period_key, "gepland": scheduled, "correctie_op": corrects},
            level=scope.detail if scope else None, rows=1, client=client, outcome="ok")
    return get_concept(state, concept_id), True


def product_reference(product: archive.Product):
    """The reference a product was built with (what a correction of it is built with)."""
    day = date.fromisoformat(product.reference_date[:10])
    return (datetime.combine(day, datetime.min.time()) if product.kind == "operationeel_beeld"
            else day)


def _released_from(state: StateDB, product_id: int) -> int | None:
    rows = state.query("SELECT concept_id FROM concept_releases WHERE product_id = ?",
                       (int(product_id),))
    return rows[0][0] if rows else None


def revisions(state: StateDB, concept_id: int) -> list[Revision]:
    return [Revision(r["concept_id"], r["revision"], json.loads(r["texts"]), r["author"],
                     r["role"], r["at"])
            for r in state.query("SELECT * FROM concept_revisions WHERE concept_id = ?"
                                 " ORDER BY revision", (int(concept_id),))]


def latest(state: StateDB, concept_id: int) -> Revision:
    """The revision that counts (an empty one before the first save)."""
    found = revisions(state, concept_id)
    return found[-1] if found else Revision(concept_id, 0, dict(EMPTY, secties={}), "", "", "")


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError("a commentary text must be a string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"a commentary text holds at most {MAX_TEXT} characters")
    return value.replace("\r\n", "\n").strip()


def save(state: StateDB, concept: Concept, *, user, scope: Scope, duiding, sections: dict,
         reason=None, client: str | None = None) -> Revision:
    """A new revision with these texts (``sections``: section title -> beschouwing); a text
    that differs from the latest revision's is attributed to ``user``, the others keep their
    author. Refused once released. Revision and protocol-log row in one transaction."""
    if not may_edit(user, scope, concept):
        raise OutOfScope(f"concept {concept.id} not for this user")
    unknown = set(sections) - set(concept.sections)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)!r}")
    at = now()
    with state.transaction() as tx:
        if tx.execute("SELECT 1 FROM concept_releases WHERE concept_id = ?",
                      (concept.id,)).fetchall():
            raise ConceptClosed(f"concept {concept.id} was released")
        old = latest(state, concept.id).texts

        def merged(previous, text):
            text = _text(text)
            if previous and previous["text"] == text:
                return previous
            return _block(text, user.name, user.role, at) if text else None

        texts = {"duiding": merged(old.get("duiding"), duiding),
                 "secties": {}, "reden": _text(reason) if reason is not None
                 else old.get("reden", "")}
        for title in concept.sections:
            block = merged(old["secties"].get(title), sections.get(title,
                           (old["secties"].get(title) or {}).get("text")))
            if block:
                texts["secties"][title] = block
        number = tx.execute("SELECT coalesce(max(revision), 0) + 1 FROM concept_revisions"
                            " WHERE concept_id = ?", (concept.id,)).fetchone()[0]
        tx.execute("INSERT INTO concept_revisions VALUES (?, ?, ?, ?, ?, ?)",
                   (concept.id, number, dumps(texts), user.name, user.role, at))
        protocol.append_row(
            tx, user=user.name, role=user.role, scope=scope, view="rapportages/concept/revisie",
            filters={"concept": concept.id, "revisie": number, "soort": concept.kind,
                     "gebied": concept.area_code, "periode": concept.period_key,
                     "teksten": 1 + len(texts["secties"]) if texts["duiding"]
                     else len(texts["secties"])},
            level=scope.detail, rows=1, client=client, outcome="ok")
    return Revision(concept.id, number, texts, user.name, user.role, at)


def attribution(block: dict, released_on: date) -> str:
    return f"— {block['author']}, {block['role']}, vastgesteld {fmt.day(released_on)}"


def annotated(content: Content, concept: Concept, texts: dict, released_on: date,
              corrected_version: int | None = None) -> Content:
    """A copy of ``content`` with the police's commentary: the duiding as the first section,
    each beschouwing under its own section (a beschouwing whose section the content no longer
    has goes under the duiding, with the section's title), and the correction's reason."""
    result = copy.copy(content)
    sections, placed = [], set()
    for section in content.sections:
        block = texts["secties"].get(section.title)
        if block:
            section = copy.copy(section)
            section.commentary = Commentary(block["text"], attribution(block, released_on))
            placed.add(section.title)
        sections.append(section)
    leading = []
    if texts.get("duiding"):
        block = texts["duiding"]
        leading.append(Section(DUIDING_TITLE, commentary=Commentary(
            block["text"], attribution(block, released_on), label="")))
    for title, block in texts["secties"].items():
        if title not in placed:
            leading.append(Section(f"Beschouwing: {title}", commentary=Commentary(
                block["text"], attribution(block, released_on), label="")))
    result.sections = leading + sections
    if concept.corrects is not None:
        version = corrected_version or "?"
        reason = texts.get("reden") or "geen reden opgegeven"
        result.correction = f"Correctie op versie {version}: {reason}"
    return result


def _corrected_version(state: StateDB, concept: Concept) -> int | None:
    if concept.corrects is None:
        return None
    product = archive.get_product(state, concept.corrects)
    return product.version if product else None


def preview(store, state: StateDB, concept: Concept, *, user, scope: Scope,
            client: str | None = None) -> bytes:
    """The HTML as the mayor will get it if released now (built with the mayor's scope, the
    next version number, today as release date); logged (``rapportages/concept/voorbeeld``)
    before it leaves."""
    from data.products.render import Provenance, html_document

    if not may_edit(user, scope, concept):
        raise OutOfScope(f"concept {concept.id} not for this user")
    con = store.read()
    mayor = mayor_scope(con, state, concept.area_code)
    content = build(con, scope=mayor, kind=concept.kind, area=concept.area_code,
                    reference=concept.reference_value(),
                    profile=get_profile(state, concept.area_code))
    revision = latest(state, concept.id)
    final = annotated(content, concept, revision.texts, date.today(),
                      _corrected_version(state, concept))
    data_version, dataset = archive._data_version(store)
    info = Provenance(generated_at=now(), generated_by=user.name, data_version=data_version,
                      dataset=dataset, version=archive._next_version(
                          state, concept.kind, concept.area_code, concept.period_key))
    document = html_document(final, info).encode("utf-8")
    protocol.record(state, user=user, scope=scope, view="rapportages/concept/voorbeeld",
                    filters={"concept": concept.id, "revisie": revision.revision,
                             "soort": concept.kind, "gebied": concept.area_code,
                             "periode": concept.period_key}, rows=1, client=client)
    return document


def release(store, state: StateDB, folder: Path, concept: Concept, *, user, scope: Scope,
            client: str | None = None, job: str | None = None) -> tuple[archive.Product, dict]:
    """Vaststellen: build, freeze and register the product with the latest commentary (for
    the mayor's scope, as the next version); the release row and its protocol-log row
    (``rapportages/vaststellen``) are written in the transaction that registers the product.
    A correction needs a reason. Refused when released already, except for the background job
    (``job``) that released it: it gets its product back (a retried job)."""
    if job is not None and (made := archive.product_of_job(state, job)) is not None:
        return made, {"build": None, "render": None, "total": None}
    if not may_edit(user, scope, concept):
        raise OutOfScope(f"concept {concept.id} not for this user")
    if not concept.open:
        raise ConceptClosed(f"concept {concept.id} was released")
    revision = latest(state, concept.id)
    if concept.corrects is not None and not revision.texts.get("reden"):
        raise ConceptClosed("a correction needs its reason")
    started = time.perf_counter()
    con = store.read()
    mayor = mayor_scope(con, state, concept.area_code)
    released_on = date.today()
    corrected = _corrected_version(state, concept)

    def annotate(content, _version):
        return annotated(content, concept, revision.texts, released_on, corrected)

    def register(tx, product_id, version):
        if tx.execute("SELECT 1 FROM concept_releases WHERE concept_id = ?",
                      (concept.id,)).fetchall():
            raise ConceptClosed(f"concept {concept.id} was released")
        newest = tx.execute("SELECT coalesce(max(revision), 0) FROM concept_revisions"
                            " WHERE concept_id = ?", (concept.id,)).fetchone()[0]
        if newest != revision.revision:
            raise ConceptClosed(f"concept {concept.id} was saved again during the release")
        tx.execute("INSERT INTO concept_releases VALUES (?, ?, ?, ?, ?)",
                   (concept.id, product_id, now(), user.name, user.role))
        protocol.append_row(
            tx, user=user.name, role=user.role, scope=scope, view="rapportages/vaststellen",
            filters={"concept": concept.id, "revisie": revision.revision,
                     "product": product_id, "versie": version, "soort": concept.kind,
                     "gebied": concept.area_code, "periode": concept.period_key,
                     "correctie_op": concept.corrects},
            level=scope.detail, rows=1, client=client, outcome="ok")

    product, timing = archive.generate(
        store, state, folder, kind=concept.kind, area=concept.area_code,
        reference=concept.reference_value(), scope=mayor, user=user,
        profile=get_profile(state, concept.area_code),
        period_key=concept.period_key, scheduled=concept.scheduled, client=client,
        annotate=annotate, on_register=register, job=job)
    timing["release"] = round(time.perf_counter() - started, 2)
    return product, timing


def released_ids(state: StateDB) -> set[int]:
    """Ids of the products released from a concept (the ones a correction can start from)."""
    return {r[0] for r in state.query("SELECT product_id FROM concept_releases")}


def released_concept(state: StateDB, product_id: int) -> Concept | None:
    """The concept a product was released from (None for a product made without one)."""
    source = _released_from(state, product_id)
    return get_concept(state, source) if source is not None else None
