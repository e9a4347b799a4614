"""Meta-tests: project rules that are easy to break without noticing."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import data.queries
from dashboard.cli import build_parser
from dashboard.config import ENVIRONMENT, from_environment

from .conftest import ROOT


def _query_functions():
    for module_info in pkgutil.iter_modules(data.queries.__path__):
        module = importlib.import_module(f"data.queries.{module_info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", fn


#: Functions that describe the database itself rather than police data (CLI `db info`).
UNSCOPED = {"data.queries.info.database_info", "data.queries.info.format_info",
            # parameter parsers: they read no data, the functions using their result check scope
            "data.queries.incidents.parse_filter", "data.queries.incidents.parse_sort",
            "data.queries.incidents.parse_day",
            # the near-repeat parameters of profiles (bounds check; settings, no data read)
            "data.queries.near_repeat.parse_params", "data.queries.near_repeat.params_for",
            # picks from options a scoped query (period_options) returned
            "data.queries.map.pick_period",
            # read only the typed text (clean it; is it a PC6 or an address?); search_areas
            # checks the scope
            "data.queries.map.search_text", "data.queries.map.needs_detail_3",
            # names, labels and sums of cells a scoped query (coverage.gemeente_counts) returned
            "data.queries.coverage.source_title", "data.queries.coverage.period_label",
            "data.queries.coverage.total",
            # whether a derived table holds a bundle (reads no figure of any area)
            "data.queries.coverage.precomputed"}


def test_every_query_function_requires_a_scope_keyword():
    checked = 0
    for name, fn in _query_functions():
        if name in UNSCOPED:
            continue
        parameter = inspect.signature(fn).parameters.get("scope")
        assert parameter is not None, f"{name} has no scope parameter"
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: scope must be keyword-only"
        assert parameter.default is inspect.Parameter.empty, f"{name}: scope must have no default"
        checked += 1
    assert checked >= 5


def test_no_sql_outside_data_layer():
    import re
    pattern = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b[^\n]*\bFROM\b|\bCREATE TABLE\b")
    for folder in ("callbacks", "layouts", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not pattern.search(path.read_text()), f"SQL in {path.relative_to(ROOT)}"


def test_every_setting_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text()
    for variable in ENVIRONMENT:
        assert f"`{variable}`" in readme, f"{variable} is not documented in README.md"


def test_settings_defaults_are_safe():
    settings = from_environment({})
    assert settings.host == "127.0.0.1" and settings.port == 8050
    assert settings.secret_key == ""
    assert from_environment({"DASHBOARD_TILE_URL": ""}).tile_url == ""


def _commands(parser, prefix=()):
    yield prefix
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))


@pytest.mark.parametrize("command", list(_commands(build_parser())), ids=" ".join)
def test_every_cli_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "dashboard", *command, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m dashboard" in result.stdout
