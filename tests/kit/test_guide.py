"""docs/plugins.md keeps in step with the hook specs (as datasette's plugin hook docs do),
and its first example is a working plugin."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from hub.contract import hookspecs
from hub.testing import Conformance

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
TEXT = GUIDE.read_text(encoding="utf-8")


def spec_line(name: str) -> str:
    """``def name(arg: type, ...) -> type:`` exactly as hookspecs.py declares it."""
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}:"


def section(name: str) -> str:
    match = re.search(rf"^### `{name}\(.*?(?=^##)", TEXT, flags=re.M | re.S)
    assert match, f"docs/plugins.md has no section ### `{name}(...)`"
    return match.group(0)


def test_hook_names_are_the_specs():
    specs = {n for n, f in vars(hookspecs).items() if inspect.isfunction(f) and hasattr(f, "wagehub_spec")}
    assert specs == set(hookspecs.HOOK_NAMES)


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_every_hook_is_documented_with_its_exact_signature(name):
    text = section(name)
    params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert text.startswith(f"### `{name}({params})`"), text.splitlines()[0]
    assert f"```python\n{spec_line(name)}\n```" in text, f"the guide's signature of {name} is not {spec_line(name)}"


@pytest.mark.parametrize("name", hookspecs.HOOK_NAMES)
def test_first_result_hooks_say_so(name):
    firstresult = getattr(hookspecs, name).wagehub_spec["firstresult"]
    assert ("First non-None result wins" in " ".join(section(name).split())) == firstresult


def test_the_guide_documents_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^### `(\w+)\(", TEXT, flags=re.M))
    value_types = {"AgencyInfo", "NativeMessage", "Parsed", "Rejected", "Delivery", "Rendered", "Sample"}
    assert documented - value_types == set(hookspecs.HOOK_NAMES)


def test_every_value_type_field_is_documented():
    import dataclasses

    import hub

    for name in ("AgencyInfo", "NativeMessage", "Parsed", "Rejected", "Delivery", "Rendered", "Sample"):
        text = re.search(rf"^### `{name}`\n(.*?)(?=^##)", TEXT, flags=re.M | re.S).group(1)
        for field in dataclasses.fields(getattr(hub, name)):
            assert f"`{field.name}`" in text, f"{name}.{field.name} is not in the guide"


def test_every_canonical_type_is_in_the_guide():
    from schemas import RECORD_SCHEMAS

    for rtype in RECORD_SCHEMAS:
        assert f"| `{rtype}`" in TEXT, rtype


def test_the_first_example_is_a_plugin_that_passes_the_kit():
    code = re.search(r"A whole, working plugin, in one module:\n\n```python\n(.*?)```", TEXT, flags=re.S).group(1)
    plugin = types.ModuleType("guide_example")
    exec(compile(code, "docs/plugins.md", "exec"), plugin.__dict__)  # noqa: S102  (our own document)
    routes = [{"name": "receipt-to-myagency", "type": "police_receipt", "to": "myagency", "kind": "RECEIPT",
               "fields": ["transfer_no", "received_at"]}]
    Conformance(plugin, routes=routes).check_all()


def test_the_refs_keys_are_the_hubs():
    from hub.casework.matters import REF_NAMES

    text = " ".join(re.search(r"^### `Delivery`\n(.*?)(?=^##)", TEXT, flags=re.M | re.S).group(1).split())
    listed = re.search(r"under the keys (.*?): only those", text).group(1)
    assert set(re.findall(r"`(\w+)`", listed)) == set(REF_NAMES.values())
