"""``wagehub dead-letters``: what failed, and replaying it after a fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


@click.group("dead-letters")
def dead_letters() -> None:
    """What failed, and replaying it after a fix."""


@dead_letters.command("list")
@click.option("--agency")
@click.option("--status", type=click.Choice(["open", "replayed", "all"]), default="open", show_default=True)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def dead_letters_list(agency: str | None, status: str, limit: int, as_json: bool) -> None:
    """List dead letters with agency, kind, reason and size of the kept bytes."""
    from hub.services.dead_letters import dead_letters

    rows = dead_letters(open_hub(), limit=limit, agency=agency, status=None if status == "all" else status)
    if as_json:
        click.echo(json.dumps([{"id": r.id, "agency": r.agency, "kind": r.kind, "message_id": r.message_id,
                                "row": r.row or None, "reason": r.reason, "field": r.field, "rule": r.rule,
                                "status": r.status, "bytes": len(r.body)} for r in rows], ensure_ascii=False,
                              indent=2))
        return
    for r in rows:
        row = f" row {r.row}" if r.row else ""
        click.echo(f"#{r.id} [{r.status}] {r.agency} {r.kind or '-'} {r.message_id}{row}: {r.reason} "
                   f"({len(r.body)} bytes)")
    click.echo(f"{len(rows)} dead letter(s)", err=True)


@dead_letters.command("replay")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--file", "fixed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay these fixed bytes instead of the kept ones (one id only).")
@click.option("--signature", help="The agency's x-wagehub-signature of the fixed bytes (sha256=<hex>).")
@click.option("--accept-unsigned", is_flag=True,
              help="Let bytes in whose signature does not hold (audited): needs --by and --reason.")
@click.option("--by", help="With --accept-unsigned: the admin user account of the person who decides it.")
@click.option("--reason", help="With --accept-unsigned: why.")
def dead_letters_replay(ids: tuple[int, ...], fixed: Path | None, signature: str | None, accept_unsigned: bool,
                        by: str | None, reason: str | None) -> None:
    """Feed dead letters IDS through the pipeline again (after a fix). The agency's
    signature is checked again, as on arrival."""
    from hub.services.dead_letters import replay, unsigned_override

    if (fixed or signature) and len(ids) > 1:
        fail(HubError("--file and --signature go with one id"))
    if (by or reason) and not accept_unsigned:
        fail(HubError("--by and --reason go with --accept-unsigned"))
    hub = open_hub()
    failed = 0
    try:
        override = unsigned_override(hub.store, by, reason) if accept_unsigned else None
    except HubError as exc:
        fail(exc)
    for dl_id in ids:
        try:
            result = replay(hub, dl_id, fixed.read_bytes() if fixed else None, signature=signature, override=override,
                            actor=f"user:{override['by']}@cli" if override else "cli")
        except HubError as exc:
            click.echo(f"#{dl_id}: {exc}")
            failed += 1
            continue
        outcome = result["outcome"] or {}
        status = result["dead_letter"]["status"]
        click.echo(f"#{dl_id}: {status}: {outcome.get('status')}, {len(outcome.get('records') or [])} record(s)"
                   + ("" if status == "replayed" else f"; still failing: {result['dead_letter']['reason']}"))
        failed += status != "replayed"
    sys.exit(1 if failed else 0)
