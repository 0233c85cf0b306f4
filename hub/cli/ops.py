"""``wagehub prune`` and ``wagehub backup``: keeping the store (docs/deployment.md).

Added to the ``wagehub`` group at the end of :mod:`hub.cli.main`; this module imports nothing
from it (``python -m hub.cli.main`` runs that module as ``__main__``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from hub.contract.errors import HubError


@click.command()
@click.option("--before", "before", metavar="DATE", help="Prune only what is also older than DATE (YYYY-MM-DD, "
              "start of that day in hub.timezone). Never more than [retention] allows.")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def prune(before: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove delivered outbox payloads and dead letters past their retention ([retention]).

    Pruned payloads and bytes are replaced by their SHA-256 and each batch is an audit entry:
    the audit chain stays verifiable. Criminal transfers and their decisions are kept for
    retention.legal_hold_years.
    """
    from zoneinfo import ZoneInfo

    from hub.runtime import Hub
    from hub.store.retention import prune as run

    day = None
    if before:
        try:
            day = dt.date.fromisoformat(before)
        except ValueError:
            raise click.BadParameter(f"{before!r} is not a date (YYYY-MM-DD)", param_hint="--before") from None
    hub = Hub()
    cutoff = dt.datetime.combine(day, dt.time(), ZoneInfo(hub.settings["hub"]["timezone"])) if day else None

    def progress(kind: str, done: int, total: int) -> None:
        if not done:
            click.echo(f"{kind}: {total} to prune" + (" (dry run)" if dry_run else ""), err=True)
        else:
            click.echo(f"{kind}: {done}/{total}", err=True)

    try:
        report = run(hub.store, hub.settings, before=cutoff, dry_run=dry_run, actor="cli", progress=progress)
    finally:
        hub.shutdown()
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    verb = "would prune" if dry_run else "pruned"
    for kind, count in report.counts.items():
        limit = report.cutoffs[kind]
        click.echo(f"{kind:<22} {verb} {count:>8}  " + (f"(before {limit})" if limit else "(kept: retention 0)"))
    click.echo(f"legal hold: kept after {report.cutoffs['legal_hold'] or 'for ever'}")


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
def backup(dest: Path) -> None:
    """Back the store up into folder DEST, online: the hub may keep running.

    SQLite: the database and the embedded broker's file, by SQLite's online backup API.
    PostgreSQL: pg_dump's custom format (restore with pg_restore). RabbitMQ's queues are
    not the hub's to back up (docs/deployment.md).
    """
    from hub.config import load_settings
    from hub.store.backup import backup as run

    try:
        for line in run(load_settings(), dest):
            click.echo(line)
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Restore a backup from folder SOURCE into the store the settings name, which must be
    empty (stop the hub first). Then run wagehub db upgrade and wagehub audit verify."""
    from hub.config import load_settings
    from hub.store.backup import restore as run

    try:
        for line in run(load_settings(), source):
            click.echo(line)
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
