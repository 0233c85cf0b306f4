"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas."""

from __future__ import annotations

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

import hub
from hub.web.api import API_ROUTES
from schemas import RECORD_SCHEMAS


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class PageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Dict(), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class AcceptedSchema(ma.Schema):
    agency = ma.fields.String()
    message_id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "accepted, duplicate, or queued (the agency's plugin is "
                                                    "disabled: it waits in the agency's queue until enabled)"})
    records = ma.fields.List(ma.fields.String())
    dead_letters = ma.fields.List(ma.fields.Integer())
    errors = ma.fields.List(ma.fields.Dict())
    kind = ma.fields.String(allow_none=True)


class PluginSchema(ma.Schema):
    name = ma.fields.String()
    agency = ma.fields.String()
    title = ma.fields.String()
    version = ma.fields.String()
    enabled = ma.fields.Boolean()
    kinds_in = ma.fields.List(ma.fields.String())
    kinds_out = ma.fields.List(ma.fields.String())
    schema_version = ma.fields.String()
    health = ma.fields.String()
    settings = ma.fields.Dict()


class ReplaySchema(ma.Schema):
    body_base64 = ma.fields.String(metadata={"description": "fixed native bytes, base64; omit to replay as kept"})
    signature = ma.fields.String(metadata={"description": "the agency's x-wagehub-signature of the fixed bytes "
                                                          "(the signature is checked again on replay)"})
    accept_unsigned = ma.fields.Boolean(metadata={"description": "true: let bytes in whose signature does not hold "
                                                                "(audited; needs by and reason)"})
    by = ma.fields.String(metadata={"description": "with accept_unsigned: the deciding admin's username"})
    reason = ma.fields.String(metadata={"description": "with accept_unsigned: why"})



# Success responses that may be a download instead of JSON (``?format=csv|xlsx``).
DOWNLOADS = {"Bulletin": ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


def _response(name: str | None) -> dict:
    """The schema of a route's success response: a named component, a page, or an object."""
    if name in ("Accepted", "Plugin"):
        return {"$ref": f"#/components/schemas/{name}"}
    if name and name.endswith(("Page", "List")):
        return {"$ref": "#/components/schemas/Page"}
    return {"type": "object"}


def build_spec() -> dict:
    spec = APISpec(
        title="wage-arrears-hub API", version=hub.__version__, openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Exchange of wage-arrears records among agencies. Every /api/ route needs "
                             "Authorization: Bearer <token>."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("Page", schema=PageSchema)
    spec.components.schema("Accepted", schema=AcceptedSchema)
    spec.components.schema("Plugin", schema=PluginSchema)
    spec.components.schema("Replay", schema=ReplaySchema)
    for rtype, cls in sorted(RECORD_SCHEMAS.items()):
        spec.components.schema(f"Record_{rtype}", schema=cls)
    error_ref = {"$ref": "#/components/schemas/Error"}
    for route in API_ROUTES:
        path = route.rule
        params = []
        for part in path.split("/"):
            if part.startswith("<") and part.endswith(">"):
                conv, _, name = part[1:-1].rpartition(":")
                # Flask's int converter takes digits only: no sign, so no negative numbers.
                schema = {"type": "integer", "minimum": 0} if conv == "int" else {"type": "string"}
                params.append({"name": name, "in": "path", "required": True, "schema": schema})
                path = path.replace(part, "{" + name + "}")
        for method in route.methods:
            responses = {
                "400": {"description": "a value the API cannot take (a NUL character, a bad cursor, ...)",
                        "content": {"application/json": {"schema": error_ref}}},
                "401": {"description": "missing, bad, expired or revoked token",
                        "content": {"application/json": {"schema": error_ref}}},
                "403": {"description": "the token's role may not do this",
                        "content": {"application/json": {"schema": error_ref}}},
                "429": {"description": "too many failed sign-ins or bad tokens from this address lately: "
                                       "wait Retry-After seconds",
                        "content": {"application/json": {"schema": error_ref}}},
            }
            for status in route.statuses:
                if 200 <= status < 300:
                    content = {"application/json": {"schema": _response(route.response)}}
                    for media in DOWNLOADS.get(route.response or "", ()):
                        content[media] = {"schema": {"type": "string", "format": "binary"}}
                    responses[str(status)] = {"description": "OK", "content": content}
                else:
                    responses[str(status)] = {"description": "error",
                                              "content": {"application/json": {"schema": error_ref}}}
            operation = {
                "summary": route.summary,
                "description": "Roles: " + ", ".join("agency:<code>" if r == "agency" else r for r in route.roles),
                "operationId": route.endpoint.replace("api.", "") + ("" if len(route.methods) == 1 else f"_{method.lower()}"),
                "security": [{"bearer": []}],
                "parameters": params + route.params,
                "responses": responses,
            }
            if route.body == "native":
                operation["requestBody"] = {"required": True, "description": "the agency's native bytes, untouched",
                                            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
                operation["parameters"] = operation["parameters"] + [
                    {"name": "Message-Id", "in": "header", "required": True, "schema": {"type": "string"},
                     "description": "the message id, unique per agency (the queue's message_id; X-Message-Id and "
                                    "message_id are read too, but servers such as gunicorn drop header names "
                                    "with an underscore)"},
                    {"name": "x-wagehub-kind", "in": "header", "required": False, "schema": {"type": "string"}},
                    {"name": "x-wagehub-signature", "in": "header", "required": False, "schema": {"type": "string"}},
                ]
            elif route.body == "decision":
                operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"reason": {"type": "string", "description":
                                                                "why (required to return a transfer)"}}}}}}
            elif route.body == "leader":
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "post", "unit"], "additionalProperties": False,
                    "properties": {k: {"type": "string", "minLength": 1, "maxLength": n}
                                   for k, n in (("name", 100), ("post", 100), ("unit", 200))}}}}}
            elif route.body == "group":
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["members"], "properties": {"members": {
                        "type": "array", "minItems": 1, "maxItems": 10, "items": {
                            "type": "object", "required": ["name", "post"], "additionalProperties": False,
                            "properties": {k: {"type": "string", "minLength": 1, "maxLength": 100}
                                           for k in ("name", "post")}}}}}}}}
            elif route.body == "followup_result":
                from hub.casework.followup import result_input_schema

                operation["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": result_input_schema()}}}
            elif route.body == "replay":
                operation["requestBody"] = {"required": False, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Replay"}}}}
            spec.path(path=path, operations={method.lower(): operation})
    return spec.to_dict()
