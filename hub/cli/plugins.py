"""``wagehub plugins new NAME``: start a plugin distribution (see docs/plugins.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("new")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the distribution folder wagehub-NAME/.")
def new(name: str, directory: Path) -> None:
    """Write a working plugin for agency NAME: a distribution wagehub-NAME/ with its entry point,
    a mapping skeleton that passes the conformance kit on its own sample, and a README."""
    from hub.cli.scaffold import names, write_plugin

    try:
        root = write_plugin(name, directory)
    except (ValueError, FileExistsError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    n = names(name)
    click.echo(f"wrote {root}/ (distribution {n['dist']}, package {n['package']}, entry point "
               f"wagehub: {name} = {n['package']})")
    click.echo("next:")
    click.echo(f"  cd {root}")
    click.echo("  pip install -e .        # into the hub's environment")
    click.echo("  pytest                  # the conformance kit passes on the skeleton; then make it yours (README.md)")
