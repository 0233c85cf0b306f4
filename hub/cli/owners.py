"""``wagehub owners``: name a matter's 包案 leader and a project's 五员 group (audited), and
list the leaders with the matters they own and their overdue steps.

Added to the ``wagehub`` group at the end of :mod:`hub.cli.main`; this module imports nothing
from it (``python -m hub.cli.main`` runs that module as ``__main__``).
"""

from __future__ import annotations

import json

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


@click.group()
def owners() -> None:
    """Named owners: a matter's 包案 leader, a project's 五员 group (linkage office, admins)."""


@owners.command("set-leader")
@click.argument("matter_id")
@click.option("--name", required=True, help="The leader's name.")
@click.option("--post", required=True, help="The leader's post (职务), e.g. 副区长.")
@click.option("--unit", required=True, help="The leader's unit (单位), e.g. 市中区人民政府.")
@click.option("--by", required=True, help="Who names the leader (recorded in the audit log).")
def set_leader(matter_id: str, name: str, post: str, unit: str, by: str) -> None:
    """Name (or rename) MATTER_ID's 包案 leader."""
    from hub.casework import owners as named

    try:
        with open_hub().store.transaction() as session:
            leader = named.set_leader(session, matter_id, {"name": name, "post": post, "unit": unit}, f"cli:{by}")
    except HubError as exc:
        fail(exc)
    click.echo(f"{matter_id}: leader {leader['name']} ({leader['unit']} {leader['post']})")


@owners.command("clear-leader")
@click.argument("matter_id")
@click.option("--by", required=True, help="Who clears it (recorded in the audit log).")
def clear_leader(matter_id: str, by: str) -> None:
    """Clear MATTER_ID's 包案 leader."""
    from hub.casework import owners as named

    try:
        with open_hub().store.transaction() as session:
            named.clear_leader(session, matter_id, f"cli:{by}")
    except HubError as exc:
        fail(exc)
    click.echo(f"{matter_id}: no leader")


@owners.command("set-group")
@click.argument("project_code")
@click.option("--member", "members", multiple=True, required=True, metavar="POST:NAME",
              help="A member as post:name (repeat, one to ten), e.g. --member 劳资专管员:李四.")
@click.option("--by", required=True, help="Who names the group (recorded in the audit log).")
def set_group(project_code: str, members: tuple[str, ...], by: str) -> None:
    """Name (or rename) PROJECT_CODE's 五员 group."""
    from hub.casework import owners as named

    parsed = []
    for member in members:
        post, sep, name = member.replace("：", ":").partition(":")
        if not sep:
            raise click.BadParameter(f"{member!r} is not post:name", param_hint="--member")
        parsed.append({"post": post.strip(), "name": name.strip()})
    try:
        with open_hub().store.transaction() as session:
            group = named.set_group(session, project_code, {"members": parsed}, f"cli:{by}")
    except HubError as exc:
        fail(exc)
    click.echo(f"{project_code}: " + "；".join(f"{m['post']}：{m['name']}" for m in group["members"]))


@owners.command("list")
@click.option("--leader", help="One leader's matters, with their overdue steps.")
@click.option("--json", "as_json", is_flag=True)
def list_(leader: str | None, as_json: bool) -> None:
    """The leaders and how many matters each owns; with --leader, that leader's matters."""
    from hub.casework import owners as named

    with open_hub().store.sessions() as session:
        items = named.owned(session, leader) if leader else named.leaders(session)
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if leader:
        for m in items:
            late = "; ".join(f"{s['title']} ({s['owner']}, due {s['due_at'][:16]})" for s in m["overdue_steps"])
            click.echo(f"{m['matter_id']}  {len(m['overdue_steps'])} overdue" + (f": {late}" if late else ""))
        click.echo(f"{len(items)} matter(s) owned by {leader}", err=True)
    else:
        for item in items:
            click.echo(f"{item['name']}  {item['unit']} {item['post']}  {item['matters']} matter(s)")
        click.echo(f"{len(items)} leader(s)", err=True)
