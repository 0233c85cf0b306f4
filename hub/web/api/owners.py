"""Named owners: a matter's 包案 leader, a project's 五员 group, and each leader's matters."""

from __future__ import annotations

from flask import jsonify, request

from hub.casework import owners
from hub.contract.errors import NotFound
from hub.services.scope import in_scope_matters, matter_for_owner, project_for_owner
from hub.store.models import MatterLeader
from hub.web.api.routing import api_route, hub, viewer


@api_route("/matters/<matter_id>/leader", methods=("PUT",), roles=("linkage", "admin"), body="leader",
           summary="Name the matter's 包案 leader {name, post, unit} (audited)", response="Leader",
           statuses=(200, 400, 404))
def matter_leader_set(matter_id: str):
    with hub().store.transaction() as session:
        matter_for_owner(session, viewer(), matter_id)
        return jsonify(owners.set_leader(session, matter_id, request.get_json(silent=True), viewer().actor))


@api_route("/matters/<matter_id>/leader", methods=("DELETE",), roles=("linkage", "admin"),
           summary="Clear the matter's 包案 leader (audited)", response="Leader", statuses=(200, 404))
def matter_leader_clear(matter_id: str):
    with hub().store.transaction() as session:
        matter_for_owner(session, viewer(), matter_id)
        owners.clear_leader(session, matter_id, viewer().actor)
    return jsonify({"matter_id": matter_id, "leader": None})


@api_route("/projects/<project_code>/group", methods=("PUT",), roles=("linkage", "admin"), body="group",
           summary="Name a project's 五员 group {members: [{name, post}]} (audited)", response="Group",
           statuses=(200, 400, 404))
def project_group_set(project_code: str):
    with hub().store.transaction() as session:
        project_for_owner(session, viewer(), project_code)
        return jsonify(owners.set_group(session, project_code, request.get_json(silent=True), viewer().actor))


@api_route("/projects/<project_code>/group", roles=("admin", "linkage", "viewer"),
           summary="A project's 五员 group", response="Group", statuses=(200, 404))
def project_group_get(project_code: str):
    with hub().store.sessions() as session:
        project_for_owner(session, viewer(), project_code)
        view = owners.project_group(session, project_code)
    if view is None:
        raise NotFound(f"project {project_code} has no group")
    return jsonify(view)


@api_route("/leaders", roles=("admin", "linkage", "viewer"),
           summary="The named 包案 leaders with the number of matters each owns", response="LeaderList")
def leaders():
    with hub().store.sessions() as session:
        return jsonify({"items": owners.leaders(session, in_scope_matters(viewer(), MatterLeader.matter_id)),
                        "next_cursor": None})


@api_route("/leaders/<name>/matters", roles=("admin", "linkage", "viewer"),
           summary="A leader's view: the matters the leader owns, with their overdue steps", response="MatterList")
def leader_matters(name: str):
    with hub().store.sessions() as session:
        return jsonify({"items": owners.owned(session, name, where=in_scope_matters(viewer(), MatterLeader.matter_id)),
                        "next_cursor": None})
