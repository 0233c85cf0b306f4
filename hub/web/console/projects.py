"""A construction project's page: what the platform and the banks say of it, and its early
warnings (``hub.casework.risks``) with the rule and the record that raised each."""

from __future__ import annotations

from flask import g, render_template

from hub.casework import risks
from hub.contract.errors import NotFound
from hub.services.scope import matter_in_scope
from hub.web.console.access import allow, hub
from hub.web.console.blueprint import bp


@bp.get("/projects/<project_code>")
@allow("admin", "linkage", "viewer")
def project(project_code: str):
    with hub().store.sessions() as session:
        view = risks.project_view(session, project_code[:64])
        # a principal of a district sees the projects of its area only (none: not even that it exists)
        if view is not None and not matter_in_scope(session, g.principal, view["matter_id"]):
            view = None
    if view is None:
        raise NotFound(f"没有项目 {project_code} no project {project_code}")
    return render_template("console/project.html", p=view)
