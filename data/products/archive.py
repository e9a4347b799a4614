"""Frozen products: generate, store, list, open — and who may open what.

A generated product is frozen. Its files (HTML, PDF and, when tabular, XLSX and CSV) are
written once into a folder of their own under the products folder (``DASHBOARD_PRODUCTS_DIR``,
default ``products/`` beside the DuckDB database) and its metadata into the ``products`` table
of the state database: kind, area and its gemeenten, period, reference date, the data version
(``store.meta()``), generation time and author, the detail level it was built for, and per
file its name, size and SHA-256. Rows are never updated (a trigger
refuses it). Opening a product serves the stored bytes (checked against the hash), so it opens
identically later; generating the same kind, area and period again makes a new version.

A product is bound to the scope it was built for (:func:`may_open`): whoever opens it must see
every gemeente of its area, at (at least) its detail level. Every generation writes a protocol-log row (view ``rapportages/genereer``) in the
same transaction as the product row; every opened or downloaded file one row
(``rapportages/open``) before its bytes leave.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from data import protocol
from data.accounts import RETIRED_THRESHOLD
from data.products import build
from data.products.model import KINDS
from data.products.render import Provenance, render_all
from data.scope import OutOfScope, Scope
from data.state import StateDB, dumps, now, unique_violation

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}


@dataclass(frozen=True)
class Product:
    id: int
    kind: str
    area_code: str
    area_name: str
    gemeenten: tuple[str, ...]
    period_key: str
    period_label: str
    reference_date: str
    version: int
    data_version: str
    generated_at: str
    generated_by: str
    detail: int
    scheduled: bool
    folder: str
    files: dict  # format -> {"name", "bytes", "sha256"}

    @property
    def title(self) -> str:
        return KINDS.get(self.kind, (self.kind,))[0]

    def filename(self, fmt: str) -> str:
        return f"{self.kind}-{self.area_code}-{self.period_key}-v{self.version}.{fmt}"


def _product(row) -> Product:
    return Product(row["id"], row["kind"], row["area_code"], row["area_name"],
                   tuple(json.loads(row["gemeenten"])), row["period_key"], row["period_label"],
                   row["reference_date"], row["version"], row["data_version"],
                   row["generated_at"], row["generated_by"], row["detail"],
                   bool(row["scheduled"]), row["folder"], json.loads(row["files"]))


def may_open(scope: Scope, product: Product) -> bool:
    """True when ``scope`` covers the product's area at its detail level."""
    if scope.empty or not product.gemeenten:
        return False
    if not set(product.gemeenten) <= set(scope.gemeenten):
        return False
    if scope.detail < product.detail:
        return False
    return True


def _data_version(store) -> tuple[str, str]:
    meta = store.meta()
    name = meta.get("dataset_name") or ("demo" if meta.get("demo") == "true" else "")
    return meta.get("data_version") or "onbekend", name


#: Kinds with a section that lives in the state database (builders read DuckDB only):
#: kind -> "module:function(state, scope, content) -> content", applied before rendering.
STATE_SECTIONS = {"ondermijningsbeeld": "data.products.ondermijning:with_duiding"}


def _state_sections(kind: str, state: StateDB, scope: Scope):
    from importlib import import_module

    module, function = STATE_SECTIONS[kind].split(":")
    add = getattr(import_module(module), function)
    return lambda content, _version: add(state, scope, content)


def generate(store, state: StateDB, folder: Path, *, kind: str, area: str, reference,
             scope: Scope, profile=None, user=None, by: str | None = None, period_key: str,
             scheduled: bool = False, client: str | None = None, annotate=None,
             on_register=None, template=None, job: str | None = None) -> tuple[Product, dict]:
    """Build, render, store and register one product; returns it with timings in seconds
    ({"build", "render", "total"}). ``user`` (a User or None) and ``by`` name the author.

    A released concept (``data/products/concepts.py``) passes ``annotate(content, version)``,
    which adds the police's commentary to the built content for the version about to be
    registered, and ``on_register(tx, product_id, version)``, run in the transaction that
    registers the product (it records the release; raising there registers nothing).
    ``template``: the template of a themed report (kind ``thema``).

    ``job``: the background job (``data/jobs``) making it, recorded with the product (unique).
    A retried job whose product is registered already gets that product back (timings None)
    instead of a second one; one that died before registering builds it again from scratch
    (its files are written under a fresh folder name; a half-written folder is never
    registered)."""
    if kind not in KINDS:
        raise ValueError(f"unknown product kind {kind!r}")
    if scope.empty:
        raise OutOfScope("empty scope")
    if job is not None and (made := product_of_job(state, job)) is not None:
        return made, {"build": None, "render": None, "total": None}
    started = time.perf_counter()
    if annotate is None and kind in STATE_SECTIONS:  # e.g. the ondermijningsbeeld's duiding
        annotate = _state_sections(kind, state, scope)
    con = store.read()
    data_version, dataset = _data_version(store)
    content = build(con, scope=scope, kind=kind, area=area, reference=reference,
                    profile=profile, template=template)
    built = time.perf_counter()
    author = by or getattr(user, "name", None) or "onbekend"
    generated_at = now()
    rows = sum(len(t.rows) for s in content.sections for t in s.tables)
    gemeenten = sorted(_gemeenten(con, scope, area))
    # The version number is only known inside the transaction; the files carry it in their
    # Info sheet/header, so reserve it first (a retry takes the next one on a clash).
    for _attempt in range(5):
        version = _next_version(state, kind, area, period_key)
        info = Provenance(generated_at=generated_at, generated_by=author,
                          data_version=data_version, dataset=dataset, version=version)
        final = annotate(content, version) if annotate is not None else content
        files = render_all(final, info, tabular=KINDS[kind][1])
        rendered = time.perf_counter()
        target = Path(folder) / kind / area / f"{period_key}-v{version}-{uuid.uuid4().hex[:8]}"
        manifest = _write_files(target, files, kind, area, period_key, version)
        try:
            with state.transaction() as tx:
                cursor = tx.execute(
                    "INSERT INTO products (kind, area_code, area_name, gemeenten, period_key,"
                    " period_label, reference_date, version, data_version, generated_at,"
                    " generated_by, detail, threshold, scheduled, folder, files, job)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, area, content.area_name, dumps(gemeenten), period_key,
                     content.period_label, _iso(content.reference_date), version, data_version,
                     generated_at, author, content.detail, RETIRED_THRESHOLD, int(scheduled),
                     str(target), dumps(manifest), job))
                product_id = cursor.lastrowid
                protocol.append_row(
                    tx, user=author, role=getattr(user, "role", None) or "systeem",
                    scope=scope, view="rapportages/genereer",
                    filters={"product": product_id, "soort": kind, "gebied": area,
                             "periode": period_key, "versie": version,
                             "dataversie": data_version, "gepland": scheduled,
                             **({"taak": job} if job is not None else {})},
                    level=scope.detail, rows=rows, client=client, outcome="ok")
                if on_register is not None:
                    on_register(tx, product_id, version)
            break
        except Exception as exc:  # noqa: BLE001 - a version clash: remove the files, retry
            _remove(target)
            if not unique_violation(exc):
                raise
            if job is not None and (made := product_of_job(state, job)) is not None:
                return made, {"build": None, "render": None, "total": None}  # a twin won
    else:
        raise RuntimeError("could not register the product (version clashes)")
    product = get_product(state, product_id)
    return product, {"build": round(built - started, 2),
                     "render": round(rendered - built, 2),
                     "total": round(time.perf_counter() - started, 2)}


def _gemeenten(con, scope, area) -> tuple[str, ...]:
    from data.queries.products import product_area
    return product_area(con, scope=scope, area=area).gemeenten


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _next_version(state: StateDB, kind: str, area: str, period_key: str) -> int:
    rows = state.query("SELECT coalesce(max(version), 0) FROM products WHERE kind = ? AND"
                       " area_code = ? AND period_key = ?", (kind, area, period_key))
    return int(rows[0][0]) + 1


def _write_files(target: Path, files: dict, kind, area, period_key, version) -> dict:
    target.mkdir(parents=True, exist_ok=False)
    manifest = {}
    for fmt, data in files.items():
        name = f"{kind}-{area}-{period_key}-v{version}.{fmt}"
        tmp = target / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target / name)
        os.chmod(target / name, 0o440)
        manifest[fmt] = {"name": name, "bytes": len(data),
                         "sha256": hashlib.sha256(data).hexdigest()}
    return manifest


def _remove(target: Path) -> None:
    if target.is_dir():
        for path in target.iterdir():
            path.unlink(missing_ok=True)
        target.rmdir()


def get_product(state: StateDB, product_id: int) -> Product | None:
    rows = state.query("SELECT * FROM products WHERE id = ?", (int(product_id),))
    return _product(rows[0]) if rows else None


def product_of_job(state: StateDB, job: str) -> Product | None:
    rows = state.query("SELECT * FROM products WHERE job = ?", (job,))
    return _product(rows[0]) if rows else None


def all_products(state: StateDB) -> list[Product]:
    return [_product(r) for r in state.query("SELECT * FROM products ORDER BY id DESC")]


def list_products(state: StateDB, *, scope: Scope) -> list[Product]:
    """The products ``scope`` may open, newest first."""
    if scope.empty:
        return []
    return [p for p in all_products(state) if may_open(scope, p)]


def exists(state: StateDB, *, kind: str, area: str, period_key: str,
           scheduled: bool = True) -> bool:
    return bool(state.query(
        "SELECT 1 FROM products WHERE kind = ? AND area_code = ? AND period_key = ?"
        " AND scheduled >= ? LIMIT 1", (kind, area, period_key, int(scheduled))))


def read_bytes(product: Product, fmt: str) -> bytes:
    """The stored file of ``fmt``, exactly as generated (its SHA-256 is checked)."""
    entry = product.files.get(fmt)
    if entry is None:
        raise KeyError(fmt)
    data = (Path(product.folder) / entry["name"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise RuntimeError(f"product {product.id}: {fmt} file does not match its hash")
    return data


def open_product(state: StateDB, *, scope: Scope, user, product_id: int, fmt: str,
                 client: str | None = None) -> tuple[Product, bytes]:
    """The bytes of one file of a product for ``user``: refused (OutOfScope, logged) unless
    :func:`may_open`; logged (``rapportages/open``) and marked as opened before returning."""
    product = get_product(state, product_id)
    filters = {"product": int(product_id), "formaat": fmt}
    if product is None or fmt not in product.files or not may_open(scope, product):
        detail = ("no such product or format" if product is None or fmt not in product.files
                  else f"product {product_id} outside the scope")
        protocol.record(state, user=user, scope=scope, view="rapportages/open",
                        filters=filters, rows=0, client=client, outcome="refused",
                        detail=detail)
        raise OutOfScope(detail)
    data = read_bytes(product, fmt)
    filters.update(soort=product.kind, gebied=product.area_code, periode=product.period_key,
                   versie=product.version)
    with state.transaction() as tx:
        protocol.append_row(tx, user=getattr(user, "name", None),
                            role=getattr(user, "role", None), scope=scope,
                            view="rapportages/open", filters=filters, level=scope.detail,
                            rows=1, client=client, outcome="ok")
        if getattr(user, "name", None):
            tx.execute("INSERT OR IGNORE INTO product_opens VALUES (?, ?, ?)",
                       (product.id, user.name, now()))
    return product, data


def opened_ids(state: StateDB, user_name: str) -> set[int]:
    return {r[0] for r in state.query("SELECT product_id FROM product_opens WHERE user = ?",
                                      (user_name,))}


def unread(state: StateDB, *, scope: Scope, user) -> list[int]:
    """Ids of the products ``user`` may open and has not opened yet, newest first."""
    if scope.empty or user is None:
        return []
    seen = opened_ids(state, user.name)
    return [p.id for p in list_products(state, scope=scope) if p.id not in seen]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
