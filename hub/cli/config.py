"""``wagehub config init DIR``: an operator's settings file to edit, from the packaged ones.

Added to the ``wagehub`` group at the end of :mod:`hub.cli.main`; this module imports nothing
from it (``python -m hub.cli.main`` runs that module as ``__main__``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

HEADER = """\
# wage-arrears-hub settings for this installation, written by `wagehub config init` from the
# hub's packaged defaults (version {version}). Use it with WAGEHUB_CONFIG={path}
# It layers over the packaged defaults: a key deleted here takes the packaged value, so keep
# only what you change if you want later versions' defaults. WAGEHUB_* environment
# variables still override what is here.
"""


@click.group("config")
def config() -> None:
    """The hub's settings files."""


@config.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that are there.")
def config_init(directory: Path, force: bool) -> None:
    """Write DIRECTORY/wagehub.toml (every setting at its packaged default, with its comment) and
    DIRECTORY/routes.toml (the routing table it names) to edit; point WAGEHUB_CONFIG at the first."""
    from hub import __version__
    from hub.config import DEFAULTS

    settings_file, routes_file = directory / "wagehub.toml", directory / "routes.toml"
    there = [str(p) for p in (settings_file, routes_file) if p.exists()]
    if there and not force:
        click.echo(f"error: {', '.join(there)} already there (--force overwrites)", err=True)
        sys.exit(2)
    defaults = (DEFAULTS / "default.toml").read_text(encoding="utf-8")
    body = defaults[defaults.index("\n[hub]"):].lstrip("\n")  # the packaged file's own header says "packaged"
    directory.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(HEADER.format(version=__version__, path=settings_file.resolve()) + "\n" + body,
                             encoding="utf-8")
    routes_file.write_text((DEFAULTS / "routes.toml").read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {settings_file} and {routes_file} (its routes_file, read beside it)")
    click.echo(f"use them with: export WAGEHUB_CONFIG={settings_file.resolve()}")
