"""The third-party example and the scaffold's skeleton use only the plugin API, as the guide
says: ``hub``'s top level (the marker and value types), ``hub.testing`` in tests, and
``schemas``; never the hub's store, web, broker or pipeline."""

from __future__ import annotations

import ast

import pytest

from hub.cli.scaffold import render_plugin
from tests.kit.helpers import ROOT

ALLOWED_HUB = {"hub"}
ALLOWED_IN_TESTS = {"hub", "hub.testing"}


def hub_imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] == "hub"}


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "procuratorate").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_example_imports_only_the_plugin_api(path):
    allowed = ALLOWED_IN_TESTS if "tests" in path.relative_to(ROOT).parts[2:] else ALLOWED_HUB
    assert hub_imports(path.read_text(encoding="utf-8")) <= allowed


@pytest.mark.parametrize("name,text", sorted((n, t) for n, t in render_plugin("kitdemo").items() if n.endswith(".py")))
def test_the_skeleton_imports_only_the_plugin_api(name, text):
    allowed = ALLOWED_IN_TESTS if name.startswith("tests/") else ALLOWED_HUB
    assert hub_imports(text) <= allowed
