"""``wagehub audit``: check the tamper-evident audit log, sign its head."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.cli.common import open_hub


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--heads", "heads_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Signed heads kept elsewhere (JSON lines, as GET /api/v1/audit/heads gives them), "
                   "checked besides the hub's head file. Repeatable.")
def audit_verify(heads_files: tuple[str, ...]) -> None:
    """Walk the hash chain and hold it against the signed heads kept outside the database;
    exit 1 naming the first bad sequence number (a rewrite or a truncation) if it does not hold."""
    from hub.casework.audit import read_heads

    hub = open_hub()
    heads = [head for path in heads_files for head in read_heads(Path(path))]
    result = hub.verify_audit(heads)
    click.echo(json.dumps(result, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head now and append it to the head file (a no-op when nothing was
    appended since the last signed head)."""
    hub = open_hub()
    head = hub.checkpoint()
    click.echo(json.dumps(head or {"checkpoint": None, "reason": "nothing appended since the last signed head"},
                          ensure_ascii=False))
