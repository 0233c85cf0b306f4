"""Every built-in plugin uses only the plugin API: ``hub``'s top level, the helpers of
``hub.contract`` meant for plugins, and ``schemas``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ALLOWED_HUB = {"hub", "hub.contract.types", "hub.contract.errors", "hub.contract.webhooks",
               "hub.contract.workbook"}


@pytest.mark.parametrize("name", ["hrss", "police", "housing", "court", "union", "contractor", "bank",
                                  "hotline", "gov"])
def test_imports_only_the_plugin_api(name):
    plugin = importlib.import_module(f"plugins.{name}")
    for source in Path(plugin.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [f"{node.module}.{a.name}" if node.module == "hub.contract" else node.module for a in node.names]
                if isinstance(node, ast.ImportFrom) and node.module else [])
            for imported in names:
                if imported.split(".")[0] == "hub":
                    assert imported in ALLOWED_HUB, f"{source.name} imports {imported}"
                if imported.split(".")[0] == "plugins":
                    assert imported.startswith(plugin.__name__), f"{source.name} imports {imported}"


def test_invalid_message_of_names_the_field_and_the_rule():
    from hub import InvalidMessage

    exc = InvalidMessage.of("data.amountFen", "integer-fen", "must be an integer number of fen", "CLUE")
    assert (exc.reason, exc.field, exc.rule, exc.kind) == (
        "data.amountFen must be an integer number of fen (rule: integer-fen)", "data.amountFen", "integer-fen", "CLUE")
    whole = InvalidMessage.of(None, "type", "must be a JSON object")
    assert (whole.reason, whole.field, whole.kind) == ("message must be a JSON object (rule: type)", None, None)
    assert whole.to_dict()["error"]["details"] == {"field": None, "rule": "type", "kind": None}


def test_samples_from_makes_the_register_samples_hook():
    import pluggy

    from hub.contract import hookspecs
    from plugins import police

    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hookspecs)
    pm.register(police)
    [samples] = pm.hook.register_samples()
    assert samples == police.register_samples() and samples[0].name == "police-receipt.xml"
    assert [(s.bad, s.content_type) for s in samples] == [(False, "application/xml")] * 5 + [(True, "application/xml")] * 4
    dtd = next(s for s in samples if s.name == "police-dtd.xml")  # read from samples/bad/, its own encoding
    assert (dtd.kind, dtd.reason, dtd.content_encoding, dtd.at) == ("AJJS", "DTD", "utf-8", "")
    assert {s.content_encoding for s in samples if s is not dtd} == {"gb18030"}
