"""``wagehub plugins``: list, enable and disable agency plugins, and start a new one
(``wagehub plugins new NAME``, see docs/plugins.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


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


@click.group()
def plugins() -> None:
    """List, enable and disable agency plugins (takes effect without a restart)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_list(as_json: bool) -> None:
    """Installed plugins with agency, version, kinds and state."""
    from hub.services.plugins import plugin_views

    rows = [{"name": p["name"], "agency": p["agency"], "version": p["version"], "enabled": p["enabled"],
             "in": ",".join(p["kinds_in"]), "out": ",".join(p["kinds_out"]), "health": p["health"]}
            for p in plugin_views(open_hub())]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    # Columns as wide as their longest value, so a plugin with many kinds stays aligned.
    table = [("NAME", "AGENCY", "VERSION", "ENABLED", "IN", "OUT", "HEALTH")]
    table += [(r["name"], r["agency"], r["version"], "yes" if r["enabled"] else "no", r["in"], r["out"],
               r["health"]) for r in rows]
    widths = [max(len(line[i]) for line in table) + 2 for i in range(6)]
    for line in table:
        click.echo("".join(cell.ljust(w) for cell, w in zip(line, widths)) + line[6])


@plugins.command("enable")
@click.argument("name")
def plugins_enable(name: str) -> None:
    """Enable plugin NAME: running workers start consuming its queue within a second."""
    try:
        open_hub().set_plugin_enabled(name, True, actor="cli")
    except HubError as exc:
        fail(exc)
    click.echo(f"{name}: enabled")


@plugins.command("disable")
@click.argument("name")
def plugins_disable(name: str) -> None:
    """Disable plugin NAME: workers stop consuming; its inbound queue keeps its messages."""
    try:
        open_hub().set_plugin_enabled(name, False, actor="cli")
    except HubError as exc:
        fail(exc)
    click.echo(f"{name}: disabled")


plugins.add_command(new)
