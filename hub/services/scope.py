"""District scope: a principal whose role carries districts (viewer@370103,
agency:gov@370100) sees only the matters of its area. A matter's district is
``Matter.region_code`` (``hub.casework.matters.district``), a city's code takes in its
districts; a matter of no known district is in no area. Outside the scope is not found."""

from __future__ import annotations

from sqlalchemy import or_, select

from hub.casework import matters, owners
from hub.contract.errors import NotFound
from hub.services.principals import Principal
from hub.store.models import Matter
from schemas.divisions import area_prefixes


def scope_condition(viewer: Principal, column):
    """SQL: the division code in ``column`` lies in the principal's scope (None: unscoped)."""
    scope = viewer.scope
    if not scope:
        return None
    return or_(*[column == p if len(p) == 6 else column.like(f"{p}%") for p in area_prefixes(scope)])


def in_scope_matters(viewer: Principal, column):
    """SQL: the matter id in ``column`` is of a matter in the principal's scope (None: unscoped)."""
    condition = scope_condition(viewer, Matter.region_code)
    return None if condition is None else column.in_(select(Matter.id).where(condition))


def matter_in_scope(session, viewer: Principal, matter_id: str | None) -> bool:
    if not viewer.scope:
        return True
    live = matters.resolve(session, matter_id) if matter_id else None
    region = session.scalar(select(Matter.region_code).where(Matter.id == live)) if live else None
    return viewer.covers(region)


def scoped_views(session, viewer: Principal, views: list[dict]) -> list[dict]:
    """The views (each with its ``matter_id``) of matters in the principal's scope."""
    if not viewer.scope:
        return views
    ids = sorted({v["matter_id"] for v in views if v.get("matter_id")})
    regions: dict[str, str | None] = {}
    for i in range(0, len(ids), 500):
        regions.update(session.execute(select(Matter.id, Matter.region_code).where(Matter.id.in_(ids[i:i + 500]))).all())
    return [v for v in views if viewer.covers(regions.get(v.get("matter_id")))]


def matter_for_owner(session, viewer: Principal, matter_id: str) -> None:
    """A matter outside the principal's district scope is not found (as on every route)."""
    if not matter_in_scope(session, viewer, matter_id):
        raise NotFound(f"no matter {matter_id}")


def project_for_owner(session, viewer: Principal, project_code: str) -> None:
    matter_id = owners.project_matter(session, project_code)
    if matter_id is not None and not matter_in_scope(session, viewer, matter_id):
        raise NotFound(f"no project {project_code} is known to the hub")
