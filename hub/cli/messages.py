"""``wagehub send`` (a file to the hub as an agency would) and ``wagehub tail`` (what the hub
sent an agency, and why nothing, when nothing)."""

from __future__ import annotations

import base64
from pathlib import Path

import click

from hub.cli.common import open_hub


@click.command()
@click.argument("agency")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", help="Native kind, when the body does not say it (x-wagehub-kind).")
@click.option("--message-id", help="Default: derived from the body's SHA-256 (a resend is a duplicate).")
@click.option("--content-type", help="Default: from the file's extension.")
@click.option("--encoding", "content_encoding", help="content_encoding: utf-8, utf-8-sig, gb18030 or binary.")
def send(agency: str, file: Path, kind: str | None, message_id: str | None, content_type: str | None,
         content_encoding: str | None) -> None:
    """Publish FILE to the hub as AGENCY would (its bytes untouched)."""
    from hub.config import load_settings
    from hub.messaging.broker import connect
    from hub.messaging.client import guess_content_type, publish_native

    settings = load_settings()
    key = (settings.get("plugins", {}).get(agency) or {}).get("key")
    with connect(settings) as conn:
        mid = publish_native(conn, agency, file.read_bytes(), content_type=content_type or guess_content_type(file),
                             message_id=message_id, content_encoding=content_encoding, kind=kind, key=key,
                             settings=settings)
    click.echo(mid)


@click.command()
@click.argument("agency")
@click.option("-n", "--count", type=int, help="Stop after this many messages.")
@click.option("-f", "--follow", is_flag=True, help="Keep waiting for new messages.")
@click.option("--keep", is_flag=True, help="Leave the messages on the queue (peek).")
@click.option("--raw", is_flag=True, help="Print bodies base64-encoded instead of decoded.")
def tail(agency: str, count: int | None, follow: bool, keep: bool, raw: bool) -> None:
    """Read what the hub sent AGENCY (from wagehub.out.AGENCY)."""
    from hub.config import load_settings
    from hub.messaging.broker import connect, declare_topology
    from hub.messaging.client import describe_body, read_out

    settings = load_settings()
    with connect(settings) as conn:
        declare_topology(conn, [agency], settings)
        total = 0
        while True:
            got = read_out(conn, agency, settings, limit=count, timeout=1.0 if follow else 2.0, keep=keep)
            for m in got:
                total += 1
                click.echo(f"--- {m.message_id} {m.headers.get('x-wagehub-record-type')} "
                           f"{m.headers.get('x-wagehub-kind')} from {m.headers.get('x-wagehub-source')} "
                           f"matter {m.headers.get('x-wagehub-matter')} ({m.content_type}, {m.content_encoding})")
                click.echo(base64.b64encode(m.body).decode() if raw else describe_body(m.body, m.content_type,
                                                                                      m.content_encoding))
            if not follow or (count and total >= count):
                break
    if not total:
        click.echo(f"(nothing on wagehub.out.{agency}: the queue is empty)", err=True)
        for line in _why_empty(agency):
            click.echo(f"  {line}", err=True)


def _why_empty(agency: str) -> list[str]:
    """Why an agency's queue may be empty, from the store and the broker: messages no worker
    has taken, transfers held for the linkage office, deliveries waiting or refused, a
    disabled plugin, or what was read before; the route table when none of these."""
    from sqlalchemy import func, select

    from hub.services.traffic import queue_depths
    from hub.store.models import Outbox, TransferHold

    hub = open_hub()
    lines = []
    waiting = {code: d["in"] for code, d in queue_depths(hub, hub.registry.codes()).items() if d["in"]}
    if waiting:
        lines.append(f"{sum(waiting.values())} message(s) wait on "
                     + ", ".join(f"wagehub.in.{c} ({n})" for c, n in waiting.items())
                     + ": no worker has taken them; start one (wagehub worker, or wagehub run)")
    held_routes = [r.name for r in hub.routes if r.to == agency and r.hold]
    with hub.store.sessions() as session:
        if held_routes:
            for hold in session.scalars(select(TransferHold).where(TransferHold.status == "held")
                                        .order_by(TransferHold.checked_at)):
                missing = "; ".join(m.get("detail") or m["item"] for m in (hold.missing or {}).get("missing", []))
                lines.append(f"transfer {hold.transfer_no} is held for the linkage office (route "
                             f"{', '.join(held_routes)}), missing: {missing}. It goes when the office releases it: "
                             f"wagehub transfers release {hold.transfer_no} --by NAME --reason '...' "
                             f"(or returns it to labour inspection: wagehub transfers return ...)")
        by_status = dict(session.execute(select(Outbox.status, func.count()).where(Outbox.recipient == agency)
                                         .group_by(Outbox.status)).all())
    if by_status.get("pending"):
        lines.append(f"{by_status['pending']} delivery(ies) to {agency} not yet sent: a worker's relay sends them")
    if by_status.get("undeliverable"):
        lines.append(f"{by_status['undeliverable']} delivery(ies) to {agency} could not be rendered (undeliverable)")
    if hub.registry.get(agency) is not None and not hub.registry.is_enabled(agency):
        lines.append(f"plugin {agency} is disabled: wagehub plugins enable {agency}")
    if by_status.get("sent"):
        lines.append(f"{by_status['sent']} message(s) were sent here before and have been read "
                     f"(by an earlier tail, which takes what it reads unless --keep, or by {agency}'s system)")
    if not lines:
        routes = [f"{r.name} ({r.type})" for r in hub.routes if r.to == agency]
        lines.append(f"nothing has been routed to {agency} yet; its routes: {', '.join(routes) or 'none'}")
    hub.store.dispose()
    return lines
