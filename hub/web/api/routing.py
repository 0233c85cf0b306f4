"""The API's routing: the blueprint, :func:`api_route` (roles and the OpenAPI entry of
every route) and what the resources share to read a request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, g, request

from hub.contract.errors import BadRequest
from hub.services import paging
from hub.services.principals import Principal
from hub.web.auth import refuse_unbound, require

bp = Blueprint("api", __name__, url_prefix="/api/v1")

ALL_READERS = ("admin", "linkage", "viewer", "agency")


@dataclass
class ApiRoute:
    rule: str
    methods: tuple[str, ...]
    roles: tuple[str, ...]
    summary: str
    endpoint: str
    params: list[dict[str, Any]] = field(default_factory=list)
    body: str | None = None
    response: str | None = None
    statuses: tuple[int, ...] = (200,)


API_ROUTES: list[ApiRoute] = []


def api_route(rule: str, methods=("GET",), *, roles: tuple[str, ...], summary: str, params=(), body=None,
              response=None, statuses=(200,), agency_arg: str | None = None):
    """Register a view on the blueprint behind a role check, and in the OpenAPI table."""

    def decorator(view: Callable):
        @functools.wraps(view)
        def wrapped(**kwargs):
            principal = require(hub().store, roles, agency=kwargs.get(agency_arg) if agency_arg else None)
            refuse_unbound(principal, hub().registry)
            refuse_nul(kwargs)
            return view(**kwargs)

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=list(methods))
        API_ROUTES.append(ApiRoute(rule=bp.url_prefix + rule, methods=tuple(methods), roles=roles, summary=summary,
                                   endpoint=f"api.{view.__name__}", params=list(params), body=body,
                                   response=response, statuses=tuple(statuses)))
        return wrapped

    return decorator


def hub():
    return current_app.extensions["wagehub"]


def viewer() -> Principal:
    """Who is calling (set by the role check of :func:`api_route`)."""
    return g.principal


def refuse_nul(path_values: dict[str, Any]) -> None:
    """A path or query value with a NUL character is a bad request (PostgreSQL text cannot hold one)."""
    for name, value in [*path_values.items(), *request.args.items(multi=True)]:
        if "\x00" in str(name) or (isinstance(value, str) and "\x00" in value):
            field = str(name).replace("\x00", "")
            raise BadRequest(f"{field} must not contain NUL characters", details={"field": field, "rule": "no-nul"})


def query_param(name, description, type_="string"):
    """An optional query parameter, as the OpenAPI document describes it."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": type_}}


def page_limit() -> int:
    """The request's ``limit``, within ``[api]``'s bounds."""
    return paging.page_size(request.args.get("limit"), hub().settings["api"])


def page_cursor() -> int:
    """The row number of the request's ``cursor`` (none: the start)."""
    return paging.decode_cursor(request.args.get("cursor"))


def json_object() -> dict:
    """The request's JSON object body; no body is an empty one. A body that is not JSON
    (truncated, or a form: ``curl -d`` sends one) is a ``400``, never taken for no body: a
    replay would otherwise feed the kept bytes through instead of the fixed ones."""
    if not request.get_data(cache=True):
        return {}
    payload = request.get_json(silent=True, force=True)
    if payload is None:
        raise BadRequest("the body is not JSON (send Content-Type: application/json)",
                         details={"field": "body", "rule": "json"})
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object", details={"field": "body", "rule": "type"})
    return payload
