"""The layers of the hub: what the API, the console and the command line share lives in
``hub.services``, which knows nothing of HTTP; the command line works through it."""

from __future__ import annotations

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parents[1] / "hub"


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def under(names: set[str], *prefixes: str) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))


def test_services_import_neither_flask_nor_the_web_layer():
    for path in sorted((HUB / "services").rglob("*.py")):
        assert not under(imported(path), "flask", "werkzeug", "hub.web"), path.name


def test_only_wagehub_run_builds_the_flask_app():
    users = [p.name for p in sorted((HUB / "cli").rglob("*.py")) if under(imported(p), "flask", "hub.web")]
    assert users == ["serve.py"]
