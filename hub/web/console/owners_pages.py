"""Named owners on the console: the linkage office or an admin names a matter's 包案 leader
and a project's 五员 group (from the matter's page, audited); a leader's view lists the
matters each leader owns with their overdue steps."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from hub.casework import owners
from hub.contract.errors import BadRequest
from hub.services.scope import in_scope_matters, matter_for_owner, project_for_owner
from hub.store.models import MatterLeader
from hub.web.console.access import actor, allow, hub
from hub.web.console.blueprint import bp


@bp.post("/matters/<matter_id>/leader")
@allow("admin", "linkage")
def matter_leader(matter_id: str):
    data = {k: request.form.get(k, "") for k in owners.LEADER_FIELDS}
    with hub().store.transaction() as session:
        matter_for_owner(session, g.principal, matter_id)
        leader = owners.set_leader(session, matter_id, data, actor())
    flash(f"已指定包案领导 {leader['name']} the leader is named")
    return redirect(url_for("console.matter", matter_id=matter_id) + "#owners")


@bp.post("/matters/<matter_id>/leader/clear")
@allow("admin", "linkage")
def matter_leader_clear(matter_id: str):
    with hub().store.transaction() as session:
        matter_for_owner(session, g.principal, matter_id)
        owners.clear_leader(session, matter_id, actor())
    flash("已取消包案领导 the leader is cleared")
    return redirect(url_for("console.matter", matter_id=matter_id) + "#owners")


def members_from_text(text: str) -> list[dict[str, str]]:
    """``post：name`` (or ``post:name``) a line, as the group form sends them."""
    members = []
    for i, line in enumerate(line for line in text.splitlines() if line.strip()):
        post, sep, name = line.replace("：", ":").partition(":")
        if not sep:
            raise BadRequest(f"第 {i + 1} 行须为“职务：姓名” line {i + 1} must be post：name (rule: format)",
                             details={"field": f"members[{i}]", "rule": "format"})
        members.append({"name": name.strip(), "post": post.strip()})
    return members


@bp.post("/projects/<project_code>/group")
@allow("admin", "linkage")
def project_group(project_code: str):
    members = members_from_text(request.form.get("members", ""))
    with hub().store.transaction() as session:
        project_for_owner(session, g.principal, project_code)
        owners.set_group(session, project_code, {"members": members}, actor())
    flash(f"已保存五员 the group of {project_code} is saved")
    back = request.args.get("back")
    return redirect(url_for("console.matter", matter_id=back) + "#owners" if back
                    else url_for("console.leaders"))


@bp.get("/leaders")
@allow("admin", "linkage", "viewer")
def leaders():
    name = (request.args.get("name") or "").strip()[:100]
    with hub().store.sessions() as session:
        where = in_scope_matters(g.principal, MatterLeader.matter_id)  # a district user: its area's matters
        everyone = owners.leaders(session, where)
        mine = owners.owned(session, name, where=where) if name else []
    return render_template("console/leaders.html", leaders=everyone, name=name, matters=mine)
