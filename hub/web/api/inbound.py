"""``POST /inbound/<agency>``: an agency's native message over HTTP, accepted as its queue's
messages are (or queued while its plugin is disabled)."""

from __future__ import annotations

import time

from flask import current_app, jsonify, request

from hub.contract.errors import BadRequest, Forbidden, HubError, NotFound, Unavailable
from hub.contract.types import NativeMessage
from hub.messaging.broker import IN_EXCHANGE, OutMessage, PublishError
from hub.web.api.routing import api_route, hub, viewer

# An admin may enable or disable a plugin through another process (another gunicorn worker,
# the CLI): each process reads the stored state again at most this often before it accepts
# or refuses an inbound message, so a decision takes effect everywhere within that time.
PLUGIN_STATE_TTL = 1.0


def fresh_plugin_state() -> None:
    now = time.monotonic()
    ext = current_app.extensions
    if now - ext.get("wagehub.plugin_state_at", float("-inf")) >= PLUGIN_STATE_TTL:
        hub().refresh_plugin_state()
        ext["wagehub.plugin_state_at"] = now


@api_route("/inbound/<agency>", methods=("POST",), roles=("admin", "agency"), agency_arg="agency",
           summary="Post a native message as an agency; 202 once durably accepted",
           body="native", response="Accepted", statuses=(202, 400, 404, 413, 422, 503))
def inbound(agency: str):
    h = hub()
    adapter = h.registry.get(agency)
    if adapter is None:
        raise NotFound(f"no plugin adapts agency {agency!r}")
    fresh_plugin_state()
    if request.content_length and request.content_length > h.settings["api"]["max_body"]:
        raise HubError("body too large", status=413)
    body = request.get_data(cache=False)
    message_id = request.headers.get("message_id") or request.headers.get("Message-Id") \
        or request.headers.get("X-Message-Id")
    if not message_id:
        # gunicorn (like nginx) drops header names with an underscore: over HTTP, send Message-Id.
        raise BadRequest("message_id header is required (over HTTP send it as Message-Id: servers such as gunicorn "
                         "drop header names that contain an underscore)",
                         details={"field": "message_id", "rule": "required"})
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip() or None
    if not content_type:
        raise BadRequest("Content-Type is required", details={"field": "content_type", "rule": "required"})
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower().startswith("x-wagehub-")}
    message = NativeMessage(agency=adapter.code, body=body, message_id=message_id, content_type=content_type,
                            content_encoding=request.headers.get("Content-Encoding"),
                            kind=headers.get("x-wagehub-kind"), headers=headers)
    sender = viewer().sender
    if sender is not None:
        named = adapter.sender_of(message)
        if named is None:
            headers[adapter.info.sender_header] = sender
        elif named != sender:
            raise Forbidden(f"{adapter.info.sender_header} must be your own sender {sender}, not {named[:80]}")
    if not h.registry.is_enabled(adapter.code):
        return queued(h, message)
    outcome = h.pipeline.process([message], actor=viewer().actor)[0]
    result = {**outcome.to_dict(), "message_id": message_id}  # as sent (the hub keeps <sender>/<id>)
    if outcome.status == "rejected":
        first = outcome.failures[0]
        status = 400 if first.rule in ("json", "xml", "xlsx", "csv", "encoding", "no-dtd") else 422
        return jsonify({"error": {"code": "rejected", "message": first.reason,
                                  "details": {**result, "field": first.field, "rule": first.rule}}}), status
    return jsonify(result), 202


def queued(h, message: NativeMessage):
    """A disabled agency's message waits in its queue, as its queue's messages do: published
    there with a publisher confirm (durably), applied once the plugin is enabled again.
    The queues are declared first: with no worker run yet, the exchange would route the
    message nowhere (and RabbitMQ would still confirm it)."""
    try:
        h.ensure_topology()
    except Exception as exc:  # noqa: BLE001  (the broker is down: nothing was taken)
        raise Unavailable("the broker did not take the message; send it again") from exc
    publisher = h.publisher()
    try:
        confirmed = publisher.publish_many([OutMessage(
            routing_key=message.agency, body=message.body, message_id=message.message_id,
            content_type=message.content_type, content_encoding=message.content_encoding,
            headers=dict(message.headers), exchange=IN_EXCHANGE)])
    except PublishError:
        confirmed = [False]
    finally:
        publisher.close()
    if not all(confirmed):
        raise Unavailable("the broker did not take the message; send it again")
    return jsonify({"agency": message.agency, "message_id": message.message_id, "status": "queued", "records": [],
                    "dead_letters": [], "errors": [], "kind": message.kind}), 202
