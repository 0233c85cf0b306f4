"""``wagehub plugins new NAME``: a working plugin distribution to start from.

The files are templates in :mod:`hub.cli.scaffold.templates` (Python strings, so they ship
with the hub as code). The skeleton reads and writes a simple JSON ``CASE`` message, and
passes the conformance kit (``hub.testing``) on its own sample as generated.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from hub import __version__ as hub_version
from hub.cli.scaffold import templates

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def names(code: str) -> dict[str, str]:
    """The names a plugin for agency ``code`` goes by."""
    if not NAME_RE.match(code or ""):
        raise ValueError(f"plugin name {code!r} must be an agency code: lower-case letters, digits and _, "
                         "starting with a letter, at most 32 characters")
    return {
        "code": code,
        "code_upper": code.upper(),
        "dist": "wagehub-" + code.replace("_", "-"),
        "package": f"wagehub_{code}",
        "hub_version": hub_version,
    }


def render_plugin(code: str) -> dict[str, str]:
    """Relative path -> text of every file of the plugin distribution for ``code``."""
    values = names(code)
    out = {}
    for path, text in templates.FILES.items():
        out[string.Template(path).substitute(values)] = string.Template(text).substitute(values)
    return out


def write_plugin(code: str, directory: str | Path = ".") -> Path:
    """Write the distribution under ``directory``; returns its folder (``wagehub-<code>``)."""
    files = render_plugin(code)
    root = Path(directory) / names(code)["dist"]
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty: choose another --dir or remove it")
    for rel, text in sorted(files.items()):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root
