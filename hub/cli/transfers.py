"""``wagehub transfers``: the legal-linkage office follows criminal-case transfers and releases
or returns held ones."""

from __future__ import annotations

import json

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


@click.group()
def transfers() -> None:
    """Criminal-case transfers: follow them, release or return held ones (linkage office)."""


@transfers.command("list")
@click.option("--status", help="held, transferred, received, opened, declined, returned, judged or closed.")
@click.option("--overdue", is_flag=True, help="Only those with an overdue step.")
@click.option("--json", "as_json", is_flag=True)
def transfers_list(status: str | None, overdue: bool, as_json: bool) -> None:
    """Every transfer with its status and dossier check, overdue ones first."""
    from hub.services.principals import OPERATOR
    from hub.services.transfers import transfer_list

    views = transfer_list(open_hub(), OPERATOR, status=status, overdue=overdue)
    if as_json:
        click.echo(json.dumps(views, ensure_ascii=False, indent=2, default=str))
        return
    for v in views:
        missing = ", ".join(m["item"] for m in (v["dossier"] or {}).get("missing", []))
        click.echo(f"{v['transfer_no']:<22} {v['status']:<12} {'OVERDUE ' if v['overdue'] else ''}"
                   f"{v['amount_owed']} yuan, {v['worker_count']} workers" + (f"  missing: {missing}" if missing else ""))
    click.echo(f"{len(views)} transfer(s)", err=True)


@transfers.command("show")
@click.argument("transfer_no")
def transfers_show(transfer_no: str) -> None:
    """One transfer: dossier check, timeline, deadlines, options after a decline (JSON)."""
    from hub.services.principals import OPERATOR
    from hub.services.transfers import transfer

    view = transfer(open_hub(), OPERATOR, transfer_no)
    if view is None:
        fail(HubError(f"no transfer {transfer_no}"))
    click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))


def _decide(transfer_no: str, decision: str, reason: str | None, by: str) -> None:
    from hub.services.principals import OPERATOR
    from hub.services.transfers import decide

    try:
        view = decide(open_hub(), OPERATOR, transfer_no, decision, by, reason)
    except HubError as exc:
        fail(exc)
    click.echo(f"{transfer_no}: {view['status']}")


@transfers.command("release")
@click.argument("transfer_no")
@click.option("--reason", help="Why it goes despite the missing items.")
@click.option("--by", required=True, help="Who decides (recorded in the audit log).")
def transfers_release(transfer_no: str, reason: str | None, by: str) -> None:
    """Release a held transfer to the police."""
    _decide(transfer_no, "release", reason, f"linkage:{by}")


@transfers.command("return")
@click.argument("transfer_no")
@click.option("--reason", required=True, help="What labour inspection must complete.")
@click.option("--by", required=True, help="Who decides (recorded in the audit log).")
def transfers_return(transfer_no: str, reason: str, by: str) -> None:
    """Return a held transfer to labour inspection with the reasons."""
    _decide(transfer_no, "return", reason, f"linkage:{by}")
