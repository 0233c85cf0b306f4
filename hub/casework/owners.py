"""Named owners (责任到人): a matter's 包案 leader and a project's 五员 management group.

The linkage office or an admin names them (API, console, ``wagehub owners``); each change is
audited. The leader shows wherever a matter's late step does: escalations (the record every
recipient renders carries ``leader``), the transfers board, the matter's page; a leader's
view lists the matters that leader owns with their overdue steps.

:func:`matter_leader` is the one accessor for a matter's owner (a merged-away matter's
leader follows it to the matter it was merged into).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.casework import audit, deadlines, matters
from hub.contract.errors import BadRequest, NotFound
from hub.ids import BEIJING
from hub.store.models import Deadline, Matter, MatterKey, MatterLeader, ProjectGroup, utcnow

LEADER_FIELDS = {"name": 100, "post": 100, "unit": 200}
MEMBER_FIELDS = {"name": 100, "post": 100}
MAX_MEMBERS = 10
"""A 五员 group names five posts (the city's practice); up to ten people are taken, as a
project may name deputies."""


def _text(data: Mapping[str, Any], field: str, limit: int, where: str = "") -> str:
    value = data.get(field)
    path = f"{where}{field}"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRequest(f"{path} is required (rule: required)", details={"field": path, "rule": "required"})
    if not isinstance(value, str):
        raise BadRequest(f"{path} must be a string (rule: type)", details={"field": path, "rule": "type"})
    value = value.strip()
    if len(value) > limit or "\x00" in value:
        raise BadRequest(f"{path} must be 1 to {limit} characters (rule: length)",
                         details={"field": path, "rule": "length"})
    return value


def check_leader(data: Any) -> dict[str, str]:
    """A leader ``{name, post, unit}``, each required text; BadRequest naming the field and rule."""
    if not isinstance(data, Mapping):
        raise BadRequest("the leader must be an object {name, post, unit} (rule: type)",
                         details={"field": "body", "rule": "type"})
    unknown = sorted(set(data) - set(LEADER_FIELDS))
    if unknown:
        raise BadRequest(f"{unknown[0]} is not a field of a leader (rule: unknown-field)",
                         details={"field": unknown[0], "rule": "unknown-field"})
    return {field: _text(data, field, limit) for field, limit in LEADER_FIELDS.items()}


def check_members(data: Any) -> list[dict[str, str]]:
    """A group's members ``[{name, post}, ...]``: 1 to ``MAX_MEMBERS``, each named once."""
    members = data.get("members") if isinstance(data, Mapping) else None
    if not isinstance(members, list) or not 1 <= len(members) <= MAX_MEMBERS:
        raise BadRequest(f"members must be a list of 1 to {MAX_MEMBERS} {{name, post}} (rule: length)",
                         details={"field": "members", "rule": "length"})
    out = []
    for i, member in enumerate(members):
        if not isinstance(member, Mapping) or set(member) - set(MEMBER_FIELDS):
            raise BadRequest(f"members[{i}] must be an object {{name, post}} (rule: type)",
                             details={"field": f"members[{i}]", "rule": "type"})
        out.append({field: _text(member, field, limit, f"members[{i}].") for field, limit in MEMBER_FIELDS.items()})
    seen = set()
    for i, member in enumerate(out):
        if (member["name"], member["post"]) in seen:
            raise BadRequest(f"members[{i}] is listed twice (rule: duplicate-member)",
                             details={"field": f"members[{i}]", "rule": "duplicate-member"})
        seen.add((member["name"], member["post"]))
    return out


def _live(session, matter_id: str) -> str:
    live = matters.resolve(session, matter_id)
    if live is None:
        raise NotFound(f"no matter {matter_id}")
    return live


def leader_view(row: MatterLeader | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"name": row.name, "post": row.post, "unit": row.unit, "set_by": row.set_by,
            "set_at": row.set_at.astimezone(BEIJING).isoformat()}


def matter_leader(session, matter_id: str) -> dict[str, Any] | None:
    """The matter's 包案 leader ``{name, post, unit, set_by, set_at}``, or None: the owner an
    escalation, the board and a government's webhook show. A matter merged into another
    answers with the live matter's leader, or else with a leader named on a matter merged into it."""
    live = matters.resolve(session, matter_id) or matter_id
    row = session.get(MatterLeader, live)
    if row is None:
        merged = select(Matter.id).where(Matter.merged_into == live)
        row = session.scalars(select(MatterLeader).where(MatterLeader.matter_id.in_(merged))
                              .order_by(MatterLeader.set_at.desc()).limit(1)).first()
    return leader_view(row)


def leaders_of(session, matter_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The leaders of several matters at once (a board's rows), by matter id."""
    rows = session.scalars(select(MatterLeader).where(MatterLeader.matter_id.in_(sorted(set(matter_ids)))))
    return {row.matter_id: leader_view(row) for row in rows}


def set_leader(session, matter_id: str, data: Any, actor: str) -> dict[str, Any]:
    """Name (or rename) the matter's leader; audited as ``owner.leader_set``."""
    leader = check_leader(data)
    live = _live(session, matter_id)
    row = session.get(MatterLeader, live)
    before = leader_view(row)
    if row is None:
        row = MatterLeader(matter_id=live, **leader, set_by=actor, set_at=utcnow())
        session.add(row)
    else:
        row.name, row.post, row.unit, row.set_by, row.set_at = (leader["name"], leader["post"], leader["unit"],
                                                                actor, utcnow())
    session.flush()
    audit.append(session, actor, "owner.leader_set", live,
                 {**leader, "before": {k: before[k] for k in LEADER_FIELDS} if before else None})
    return leader_view(row)


def clear_leader(session, matter_id: str, actor: str) -> None:
    live = _live(session, matter_id)
    row = session.get(MatterLeader, live)
    if row is None:
        raise NotFound(f"matter {live} has no leader")
    before = {k: getattr(row, k) for k in LEADER_FIELDS}
    session.delete(row)
    audit.append(session, actor, "owner.leader_cleared", live, {"before": before})


def group_view(row: ProjectGroup | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"project_code": row.project_code, "members": list(row.members.get("members", [])),
            "set_by": row.set_by, "set_at": row.set_at.astimezone(BEIJING).isoformat()}


def project_group(session, project_code: str) -> dict[str, Any] | None:
    return group_view(session.get(ProjectGroup, project_code))


def set_group(session, project_code: str, data: Any, actor: str) -> dict[str, Any]:
    """Name (or rename) a known project's 五员 group; audited as ``owner.group_set``."""
    members = check_members(data)
    if session.get(MatterKey, f"project:{project_code}") is None:
        raise NotFound(f"no project {project_code} is known to the hub")
    row = session.get(ProjectGroup, project_code)
    if row is None:
        row = ProjectGroup(project_code=project_code, members={"members": members}, set_by=actor, set_at=utcnow())
        session.add(row)
    else:
        row.members, row.set_by, row.set_at = {"members": members}, actor, utcnow()
    session.flush()
    audit.append(session, actor, "owner.group_set", f"project:{project_code}", {"members": members})
    return group_view(row)


def project_matter(session, project_code: str) -> str | None:
    """The matter a project's code belongs to (its district is the project's scope)."""
    key = session.get(MatterKey, f"project:{project_code}")
    return key.matter_id if key is not None else None


def matter_projects(session, matter_id: str) -> list[str]:
    """The project codes of a matter (its numbers)."""
    return sorted(k.removeprefix("project:") for k in session.scalars(
        select(MatterKey.key).where(MatterKey.matter_id == matter_id, MatterKey.key.startswith("project:"))))


def groups_of(session, matter_id: str) -> list[dict[str, Any]]:
    """The 五员 groups of the matter's projects."""
    codes = matter_projects(session, matter_id)
    if not codes:
        return []
    return [group_view(row) for row in session.scalars(select(ProjectGroup).where(ProjectGroup.project_code.in_(codes))
                                                       .order_by(ProjectGroup.project_code))]


def leaders(session, where=None) -> list[dict[str, Any]]:
    """Every named leader with the number of matters owned (``where``: an SQL condition on
    the matters counted, a district scope's)."""
    out: dict[tuple[str, str, str], int] = {}
    query = select(MatterLeader) if where is None else select(MatterLeader).where(where)
    for row in session.scalars(query):
        key = (row.name, row.post, row.unit)
        out[key] = out.get(key, 0) + 1
    return [{"name": n, "post": p, "unit": u, "matters": c} for (n, p, u), c in sorted(out.items())]


def owned(session, name: str, now: dt.datetime | None = None, where=None) -> list[dict[str, Any]]:
    """The matters a leader owns, each with its overdue steps (most overdue first), the
    matters with the most overdue steps first (``where``: as for :func:`leaders`)."""
    now = now or utcnow()
    query = select(MatterLeader).where(MatterLeader.name == name)
    rows = list(session.scalars(query if where is None else query.where(where)))
    out = []
    for row in rows:
        steps = [deadlines.view(d, now) for d in session.scalars(
            select(Deadline).where(Deadline.matter_id == row.matter_id).order_by(Deadline.due_at))]
        overdue = [s for s in steps if s["overdue"]]
        refs = matters.refs(session, row.matter_id, 1)
        out.append({"matter_id": row.matter_id, "leader": leader_view(row),
                    "numbers": {k: v[0] for k, v in refs.items() if v},
                    "open_steps": sum(s["status"] in ("open", "overdue") for s in steps),
                    "overdue_steps": overdue})
    return sorted(out, key=lambda m: (-len(m["overdue_steps"]), m["matter_id"]))
