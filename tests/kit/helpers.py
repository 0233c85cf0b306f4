"""Running pytest on a plugin's own tests in a separate process, as its author would."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kit_registered() -> bool:
    """True when the hub's ``pytest11`` entry point is installed (setup.cfg)."""
    return any(ep.value == "hub.testing" for ep in entry_points(group="pytest11"))


def run_pytest(*args: str, cwd: Path, pythonpath: list[Path] = (), timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m pytest ARGS`` in ``cwd``; the kit loaded by its entry point, or by ``-p`` until it has one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    inherited = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in [*pythonpath, ROOT]), *inherited])
    plugin = [] if kit_registered() else ["-p", "hub.testing"]
    return subprocess.run([sys.executable, "-m", "pytest", *plugin, "-p", "no:cacheprovider", "-W", "error", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
