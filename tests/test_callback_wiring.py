"""Callbacks are wired to components that exist. Every id a callback reads or writes is in the
validation layout (callbacks/shell.py: every page's components), checked here on the server;
the pages themselves carry no validation layout (Dash would put all pages' structure, 212 kB
with the admin pages', in every page's HTML for a check the browser reports only in
development; `run --dev` turns that check back on)."""
from __future__ import annotations

import json
import re

from .conftest import demo_copy, http_login


def _layout_ids(component) -> tuple[set[str], list[dict]]:
    """The string ids and the dict (pattern-matching) ids in a component tree."""
    plain, patterned = set(), []
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not hasattr(node, "to_plotly_json"):
            continue
        ident = getattr(node, "id", None)
        if isinstance(ident, str):
            plain.add(ident)
        elif isinstance(ident, dict):
            patterned.append(ident)
        for name in getattr(node, "_prop_names", ()):
            value = getattr(node, name, None)
            if hasattr(value, "to_plotly_json") or isinstance(value, (list, tuple)):
                stack.append(value)
    return plain, patterned


def _ids_of(callback_key: str, spec: dict) -> list[str]:
    """The component ids (as Dash writes them: a string, or a dict as JSON) of a callback's
    outputs, inputs and states."""
    outputs = [part for part in callback_key.strip(".").split("...") if part]
    ids = [part.rsplit(".", 1)[0] for part in outputs]
    ids += [d["id"] for d in spec.get("inputs", []) + spec.get("state", [])]
    return ids


def _matches(pattern: dict, candidates: list[dict]) -> bool:
    """Whether a component with this pattern-matching id's keys and fixed values is there."""
    fixed = {k: v for k, v in pattern.items() if not isinstance(v, list)}
    return any(set(c) == set(pattern) and all(c[k] == v for k, v in fixed.items())
               for c in candidates)


def test_every_callback_reads_and_writes_components_that_exist(demo_db, tmp_path):
    from dashboard import create_app

    app = create_app({"db": demo_copy(demo_db, tmp_path / "app"), "tile_url": ""})
    plain, patterned = _layout_ids(app.validation_layout)
    assert {"page", "url", "kaart-map"} <= plain  # the walk reaches the pages
    missing = []
    for key, spec in app.callback_map.items():
        for ident in _ids_of(key, spec):
            ident = ident.split("@", 1)[0] if isinstance(ident, str) else ident
            if isinstance(ident, str) and ident.startswith("{"):
                ident = json.loads(ident)
            if isinstance(ident, dict):
                if not _matches(ident, patterned) and not _dynamic(ident):
                    missing.append(json.dumps(ident))
            elif ident not in plain:
                missing.append(ident)
    assert not missing, f"callbacks name components no page has: {sorted(set(missing))}"


def _dynamic(pattern: dict) -> bool:
    """Whether a pattern-matching id belongs to components a callback creates (a row's button,
    not in any page's layout): its type must still be one that layouts/ or callbacks/ make."""
    from pathlib import Path

    kind = pattern.get("type")
    if not isinstance(kind, str):
        return False
    root = Path(__file__).resolve().parent.parent
    return any(re.search(rf"[\"']type[\"']\s*:\s*[\"']{re.escape(kind)}[\"']", path.read_text())
               for folder in ("layouts", "callbacks") for path in (root / folder).glob("*.py"))


def test_pages_carry_no_validation_layout(demo_server):
    """A mayor's page holds no other page's structure (the beheer page's ids, say), and stays
    small."""
    session = http_login(demo_server, "burgemeester")
    html = session.get(demo_server.url + "/kaart").text
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)'
                                  r"</script>", html, re.S).group(1))
    assert "validation_layout" not in config
    assert "beheer-" not in html and len(html.encode()) < 20_000
