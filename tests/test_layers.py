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


def module_name(path: Path) -> str:
    parts = path.relative_to(HUB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def hub_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(HUB.rglob("*.py")) if "migrations" not in p.parts}


def import_graph() -> dict[str, set[str]]:
    """Module → the hub modules it imports, anywhere in it (a lazy import inside a function
    is still a dependency); ``from package import module`` counts as the module."""
    modules = hub_modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target in imported(path):
            if target in modules and target != name:
                edges.add(target)
        # "from hub.x import y" names both hub.x and hub.x.y: a package counts only where no
        # submodule of it was named by the same statement
        graph[name] = {t for t in edges if not any(o.startswith(t + ".") for o in edges)
                       or (HUB.parent / (t.replace(".", "/") + ".py")).exists()}
    return graph


def test_no_import_circle_in_the_hub():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == []


def test_no_module_but_the_embedded_transport_passes_400_lines():
    long = {name: n for name, path in hub_modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert set(long) <= {"hub.messaging.embedded"}, long
