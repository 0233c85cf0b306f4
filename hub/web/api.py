"""The ``/api/v1`` routes of the contract.

Every route is declared with :func:`api_route`, which names the roles that may call it
and feeds both the access check and the OpenAPI document, so no route can be added
unprotected or undocumented.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import or_, select

from hub import keys
from hub.casework import audit, deadlines, linkage, matters, owners
from hub.casework.transfers import STATUSES, transfer_numbers, transfer_view
from hub.contract.errors import BadRequest, ConfigError, Forbidden, HubError, NotFound, Unavailable
from hub.contract.types import NativeMessage
from hub.ids import BEIJING
from hub.messaging.broker import IN_EXCHANGE, OutMessage, PublishError
from hub.messaging.pipeline import message_for_replay
from hub.messaging.routes import ENVELOPE
from hub.store.models import AuditEntry, DeadLetter, Deadline, Escalation, Matter, MatterLeader, Outbox, Record, utcnow
from hub.web.auth import refuse_unbound, require
from schemas.divisions import area_prefixes, covers
from schemas.validators import mask_id_number, mask_mobile, mask_name

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


def refuse_nul(path_values: dict[str, Any]) -> None:
    """A path or query value with a NUL character is a bad request (PostgreSQL text cannot hold one)."""
    for name, value in [*path_values.items(), *request.args.items(multi=True)]:
        if "\x00" in str(name) or (isinstance(value, str) and "\x00" in value):
            field = str(name).replace("\x00", "")
            raise BadRequest(f"{field} must not contain NUL characters", details={"field": field, "rule": "no-nul"})


def _q(name, description, type_="string"):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": type_}}


# -- paging -------------------------------------------------------------------------------------

def page_limit() -> int:
    cfg = hub().settings["api"]
    raw = request.args.get("limit")
    if raw is None:
        return cfg["page_size"]
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("limit must be an integer", details={"field": "limit", "rule": "integer"}) from None
    if not 1 <= limit <= cfg["page_max"]:
        raise BadRequest(f"limit must be between 1 and {cfg['page_max']}",
                         details={"field": "limit", "rule": "range"})
    return limit


def decode_cursor() -> int:
    raw = request.args.get("cursor")
    if not raw:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
        if not 0 <= value < 2**63:  # a row number: what a database column holds
            raise ValueError
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API gave out", details={"field": "cursor", "rule": "cursor"}) from None


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def page(items: list, last_key: int | None, has_more: bool) -> dict:
    """The contract's page: ``next_cursor`` is null on the last page."""
    return {"items": items, "next_cursor": encode_cursor(last_key) if has_more and last_key is not None else None}


def rows_page(rows: list, limit: int, key: Callable[[Any], int], view: Callable[[list], list]) -> dict:
    """A page from a query that read up to ``limit + 1`` rows after the cursor: the extra
    row only says there is a next page (a last page exactly full gets a null cursor)."""
    shown = rows[:limit]
    return page(view(shown), key(shown[-1]) if shown else None, len(rows) > limit)


def parse_since(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise BadRequest("since must be an ISO 8601 time with offset",
                         details={"field": "since", "rule": "datetime"}) from None
    if value.tzinfo is None:
        raise BadRequest("since must carry a UTC offset", details={"field": "since", "rule": "time-with-offset"})
    try:
        value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 at +14:00 is before the year 1 in UTC
        raise BadRequest("since must be a time between the years 1 and 9999 in UTC",
                         details={"field": "since", "rule": "datetime"}) from None
    return value


# -- personal data in responses -------------------------------------------------------------

def mask_personal(data: Any) -> Any:
    """Mask identity numbers, mobiles and the names of people (an object with an
    ``id_number`` and no USCC or credit code: complainants, suspects, defendants, workers, an
    individual employer, a listed person) for roles without personal-data access. Values already masked (a route's
    cut: ``139****0696``) are left as they are."""
    if isinstance(data, list):
        return [mask_personal(x) for x in data]
    if isinstance(data, Mapping):
        person = "id_number" in data and not (data.get("uscc") or data.get("credit_code"))
        out = {}
        for k, v in data.items():
            if isinstance(v, str) and "*" not in v and (k in MASKS or (person and k == "name")):
                out[k] = MASKS.get(k, mask_name)(v)
            else:
                out[k] = mask_personal(v)
        return out
    return data


MASKS = {"id_number": mask_id_number, "employer_id_number": mask_id_number, "mobile": mask_mobile}


def sees_personal_data() -> bool:
    return g.principal.role in ("admin", "linkage")


def visible_records(records: list[Record]) -> list[dict]:
    """The records as the caller may see them; those that are not theirs are left out.

    An agency sees what it sent in full, and what was routed to it as the route cut it.
    """
    agency = g.principal.agency
    if agency is None:
        return [r.data if sees_personal_data() else mask_personal(r.data) for r in records]
    routed_ids = [r.record_id for r in records if r.source_agency != agency]
    routed: dict[str, dict] = {}
    if routed_ids:
        with hub().store.sessions() as session:
            for record_id, payload in session.execute(
                    select(Outbox.record_id, Outbox.payload)
                    .where(Outbox.record_id.in_(routed_ids), Outbox.recipient == agency).order_by(Outbox.id)):
                # (no record: pruned by retention, no longer shown to the agency)
                if "record" in payload and for_sender(payload["record"]):
                    routed.setdefault(record_id, payload["record"])
    out = []
    for r in records:
        if r.source_agency == agency:
            if sent_by_me(r.message_id):
                out.append(r.data)
        elif r.record_id in routed:
            # The route's cut, with the envelope every record carries (the contract's
            # record_id ... matter_id and received_at; none of it personal data).
            out.append({**{k: r.data[k] for k in ENVELOPE if k in r.data}, **routed[r.record_id]})
    return out


# -- district scope ---------------------------------------------------------------------------
# A principal whose role carries districts (viewer@370103, agency:gov@370100) sees only the
# matters of its area: a matter's district is ``Matter.region_code`` (hub.casework.matters.district),
# a city's code takes in its districts; a matter of no known district is in no area.

def scope_condition(column):
    """SQL: the division code in ``column`` lies in the principal's scope (None: unscoped)."""
    scope = g.principal.scope
    if not scope:
        return None
    return or_(*[column == p if len(p) == 6 else column.like(f"{p}%") for p in area_prefixes(scope)])


def in_scope_matters(column):
    """SQL: the matter id in ``column`` is of a matter in the principal's scope (None: unscoped)."""
    condition = scope_condition(Matter.region_code)
    return None if condition is None else column.in_(select(Matter.id).where(condition))


def matter_in_scope(session, matter_id: str | None) -> bool:
    if not g.principal.scope:
        return True
    live = matters.resolve(session, matter_id) if matter_id else None
    region = session.scalar(select(Matter.region_code).where(Matter.id == live)) if live else None
    return g.principal.covers(region)


def scoped_views(session, views: list[dict]) -> list[dict]:
    """The views (each with its ``matter_id``) of matters in the principal's scope."""
    if not g.principal.scope:
        return views
    ids = sorted({v["matter_id"] for v in views if v.get("matter_id")})
    regions: dict[str, str | None] = {}
    for i in range(0, len(ids), 500):
        regions.update(session.execute(select(Matter.id, Matter.region_code).where(Matter.id.in_(ids[i:i + 500]))).all())
    return [v for v in views if g.principal.covers(regions.get(v.get("matter_id")))]


# -- agencies with several senders ------------------------------------------------------------
# (each general contractor's head office): a principal bound to one sender sees what that
# sender sent (its message ids are kept as ``<sender>/<id>``) and what was routed to it
# (the record's ``sender_field``), never another sender's.

def sent_by_me(message_id: str | None) -> bool:
    sender = g.principal.sender
    return sender is None or (message_id or "").startswith(f"{sender}/")


def for_sender(routed: dict) -> bool:
    """Whether a record routed to the principal's agency is for its sender."""
    sender = g.principal.sender
    if sender is None:
        return True
    adapter = hub().registry.get(g.principal.agency)
    field = adapter.info.sender_field if adapter is not None else None
    if not field:
        return False
    value = str(routed.get(field) or "").strip().upper()
    return covers(sender, value) if adapter.info.sender_area else value == sender


# -- inbound ------------------------------------------------------------------------------------

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
    sender = g.principal.sender
    if sender is not None:
        named = adapter.sender_of(message)
        if named is None:
            headers[adapter.info.sender_header] = sender
        elif named != sender:
            raise Forbidden(f"{adapter.info.sender_header} must be your own sender {sender}, not {named[:80]}")
    if not h.registry.is_enabled(adapter.code):
        return queued(h, message)
    outcome = h.pipeline.process([message], actor=g.principal.actor)[0]
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


# -- records and matters ---------------------------------------------------------------------

@api_route("/records/<record_id>", roles=ALL_READERS, summary="One canonical record", response="Record",
           statuses=(200, 404))
def record(record_id: str):
    with hub().store.sessions() as session:
        row = session.scalars(select(Record).where(Record.record_id == record_id)).first()
        if row is not None and not matter_in_scope(session, row.matter_id):
            row = None
    visible = visible_records([row]) if row is not None else []
    if not visible:
        raise NotFound(f"no record {record_id} visible to you")
    return jsonify(visible[0])


@api_route("/records", roles=ALL_READERS, summary="Canonical records, oldest first, paged",
           params=[_q("type", "record type"), _q("since", "accepted at or after (ISO 8601 with offset)"),
                   _q("limit", "page size, at most 500", "integer"), _q("cursor", "from next_cursor")],
           response="RecordPage", statuses=(200, 400))
def records():
    limit, after, since = page_limit(), decode_cursor(), parse_since(request.args.get("since"))
    rtype = request.args.get("type")
    principal = g.principal
    query = select(Record).where(Record.seq > after).order_by(Record.seq).limit(limit + 1)  # see rows_page
    if rtype:
        query = query.where(Record.type == rtype)
    if since:
        query = query.where(Record.accepted_at >= since)
    if principal.agency:
        routed = select(Outbox.record_id).where(Outbox.recipient == principal.agency)
        own = Record.source_agency == principal.agency
        if principal.sender:
            own = own & Record.message_id.startswith(f"{principal.sender}/", autoescape=True)
        query = query.where(or_(own, Record.record_id.in_(routed)))
    if (scoped := in_scope_matters(Record.matter_id)) is not None:
        query = query.where(scoped)
    with hub().store.sessions() as session:
        rows = list(session.scalars(query))
    return jsonify(rows_page(rows, limit, lambda r: r.seq, visible_records))


def matter_view(session, matter_id: str) -> dict | None:
    live = matters.resolve(session, matter_id)
    if live is None or not matter_in_scope(session, live):
        return None
    settings = hub().settings
    rows = list(session.scalars(select(Record).where(Record.matter_id == live)
                                .order_by(Record.occurred_at, Record.seq)))
    records = [r.data for r in rows]
    deliveries = list(session.scalars(select(Outbox).where(Outbox.matter_id == live).order_by(Outbox.id)))
    now = utcnow()
    steps = [deadlines.view(d, now) for d in session.scalars(
        select(Deadline).where(Deadline.matter_id == live).order_by(Deadline.due_at))]
    escalated = list(session.scalars(select(Escalation).where(Escalation.matter_id == live).order_by(Escalation.id)))
    leader = owners.matter_leader(session, live)
    return {
        "matter_id": live,
        "refs": matters.refs(session, live),
        "records": [dict(r.data, occurred_at=r.occurred_at.astimezone(BEIJING).isoformat()) for r in rows],
        "deliveries": [{"message_id": d.message_id, "record_id": d.record_id, "recipient": d.recipient,
                        "kind": d.kind, "route": d.route, "status": d.status,
                        "sent_at": d.sent_at.isoformat() if d.sent_at else None} for d in deliveries],
        "deadlines": [s for s in steps if s["status"] in ("open", "overdue")],
        "steps": steps,
        "next_steps": [{"owner": s["owner"], "title": s["title"], "due_at": s["due_at"], "overdue": s["overdue"]}
                       for s in steps if s["status"] in ("open", "overdue")],
        "escalations": [escalation_view(e, leader) for e in escalated],
        "leader": leader,
        "project_groups": owners.groups_of(session, live),
        "duplicates": linkage.duplicates(records),
        "reconciliation": linkage.reconcile(records, settings["linkage"]["reconciliation_tolerance"]),
    }


def escalation_view(e: Escalation, leader: dict | None = None) -> dict:
    """An escalation: ``owner`` the agency that owes the step, ``matter_owner`` the matter's 包案 leader."""
    return {"id": e.id, "deadline": e.deadline_key, "level": e.level, "owner": e.owner, "matter_id": e.matter_id,
            "region_code": e.region_code, "supervision_group": e.supervision_group,
            "at": e.created_at.astimezone(BEIJING).isoformat(),
            "matter_owner": {k: leader[k] for k in owners.LEADER_FIELDS} if leader else None}



# -- named owners: a matter's 包案 leader, a project's 五员 group ----------------------------------

@api_route("/matters/<matter_id>/leader", methods=("PUT",), roles=("linkage", "admin"), body="leader",
           summary="Name the matter's 包案 leader {name, post, unit} (audited)", response="Leader",
           statuses=(200, 400, 404))
def matter_leader_set(matter_id: str):
    with hub().store.session() as session:
        matter_for_owner(session, matter_id)
        return jsonify(owners.set_leader(session, matter_id, request.get_json(silent=True), g.principal.actor))


@api_route("/matters/<matter_id>/leader", methods=("DELETE",), roles=("linkage", "admin"),
           summary="Clear the matter's 包案 leader (audited)", response="Leader", statuses=(200, 404))
def matter_leader_clear(matter_id: str):
    with hub().store.session() as session:
        matter_for_owner(session, matter_id)
        owners.clear_leader(session, matter_id, g.principal.actor)
    return jsonify({"matter_id": matter_id, "leader": None})


@api_route("/projects/<project_code>/group", methods=("PUT",), roles=("linkage", "admin"), body="group",
           summary="Name a project's 五员 group {members: [{name, post}]} (audited)", response="Group",
           statuses=(200, 400, 404))
def project_group_set(project_code: str):
    with hub().store.session() as session:
        project_for_owner(session, project_code)
        return jsonify(owners.set_group(session, project_code, request.get_json(silent=True), g.principal.actor))


@api_route("/projects/<project_code>/group", roles=("admin", "linkage", "viewer"),
           summary="A project's 五员 group", response="Group", statuses=(200, 404))
def project_group_get(project_code: str):
    with hub().store.sessions() as session:
        project_for_owner(session, project_code)
        view = owners.project_group(session, project_code)
    if view is None:
        raise NotFound(f"project {project_code} has no group")
    return jsonify(view)


@api_route("/leaders", roles=("admin", "linkage", "viewer"),
           summary="The named 包案 leaders with the number of matters each owns", response="LeaderList")
def leaders():
    with hub().store.sessions() as session:
        return jsonify({"items": owners.leaders(session, in_scope_matters(MatterLeader.matter_id)),
                        "next_cursor": None})


@api_route("/leaders/<name>/matters", roles=("admin", "linkage", "viewer"),
           summary="A leader's view: the matters the leader owns, with their overdue steps", response="MatterList")
def leader_matters(name: str):
    with hub().store.sessions() as session:
        return jsonify({"items": owners.owned(session, name, where=in_scope_matters(MatterLeader.matter_id)),
                        "next_cursor": None})


def matter_for_owner(session, matter_id: str) -> None:
    """A matter outside the principal's district scope is not found (as on every route)."""
    if not matter_in_scope(session, matter_id):
        raise NotFound(f"no matter {matter_id}")


def project_for_owner(session, project_code: str) -> None:
    matter_id = owners.project_matter(session, project_code)
    if matter_id is not None and not matter_in_scope(session, matter_id):
        raise NotFound(f"no project {project_code} is known to the hub")


def group_arg() -> str | None:
    """The ``group`` query argument: a supervision group of ``[linkage.supervision_groups]``."""
    group = request.args.get("group") or None
    groups = hub().settings["linkage"]["supervision_groups"]
    if group is not None and group not in groups:
        raise BadRequest(f"group must be a supervision group: {', '.join(sorted(groups)) or 'none is configured'}",
                         details={"field": "group", "rule": "enum"})
    return group


@api_route("/matters/<matter_id>", roles=("admin", "linkage", "viewer"),
           summary="One arrears matter: its records from every agency in time order, deadlines, duplicates, "
                   "amounts side by side", response="Matter", statuses=(200, 404))
def matter(matter_id: str):
    with hub().store.sessions() as session:
        view = matter_view(session, matter_id)
    if view is None:
        raise NotFound(f"no matter {matter_id}")
    return jsonify(view if sees_personal_data() else mask_personal(view))


# -- transfers and the linkage office ------------------------------------------------------------

@api_route("/transfers", roles=("linkage", "admin"),
           summary="Criminal-case transfers with status, dossier check and deadlines; overdue ones first",
           params=[_q("status", "one of " + ", ".join(STATUSES)), _q("district", "division code (prefix)"),
                   _q("overdue", "true: only those with an overdue step"),
                   _q("limit", "page size", "integer"), _q("cursor", "from next_cursor")],
           response="TransferPage", statuses=(200, 400))
def transfers():
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", details={"field": "status", "rule": "enum"})
    district = (request.args.get("district") or "").rstrip("0") or None
    overdue = request.args.get("overdue", "").lower() in ("1", "true", "yes")
    limit, after = page_limit(), decode_cursor()
    settings = hub().settings
    with hub().store.sessions() as session:
        views = scoped_views(session, [v for v in (transfer_view(session, n, settings)
                                                   for n in transfer_numbers(session)) if v])
    views = [v for v in views if (not status or v["status"] == status) and (not overdue or v["overdue"])
             and (not district or (v["region_code"] or "").startswith(district))]
    views.sort(key=lambda v: (not v["overdue"], v["transfer_no"]))  # overdue first
    chosen = views[after:after + limit]
    keys = ("transfer_no", "status", "matter_id", "region_code", "case_no", "employer", "amount_owed",
            "worker_count", "transferred_on", "deadlines", "overdue", "dossier")
    items = [{k: v[k] for k in keys} for v in chosen]
    return jsonify(page(items, after + len(chosen), after + limit < len(views)))


@api_route("/transfers/<transfer_no>", roles=("linkage", "admin"),
           summary="One transfer: dossier check, receipts, decisions, court outcome, timeline, deadlines",
           response="Transfer", statuses=(200, 404))
def transfer(transfer_no: str):
    with hub().store.sessions() as session:
        view = transfer_view(session, transfer_no, hub().settings)
        if view is not None and not matter_in_scope(session, view["matter_id"]):
            view = None
    if view is None:
        raise NotFound(f"no transfer {transfer_no}")
    return jsonify(view)


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


def check_transfer_scope(transfer_no: str) -> None:
    """A scoped principal decides only on transfers of its area (else: not found)."""
    if not g.principal.scope:
        return
    with hub().store.sessions() as session:
        view = transfer_view(session, transfer_no, hub().settings)
        if view is None or not matter_in_scope(session, view["matter_id"]):
            raise NotFound(f"no transfer {transfer_no}")


def _decide(transfer_no: str, decision: str):
    payload = json_object()
    reason = payload.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("reason must be text", details={"field": "reason", "rule": "type"})
    if decision == "return" and not (reason or "").strip():
        raise BadRequest("a return needs the reasons", details={"field": "reason", "rule": "required"})
    check_transfer_scope(transfer_no)
    return jsonify(linkage.decide(hub().pipeline, transfer_no, decision, g.principal.actor, reason))


@api_route("/transfers/<transfer_no>/release", methods=("POST",), roles=("linkage",), body="decision",
           summary="Release a held transfer to the police (legal-linkage office)", response="Dossier",
           statuses=(200, 400, 404, 409))
def transfer_release(transfer_no: str):
    return _decide(transfer_no, "release")


@api_route("/transfers/<transfer_no>/return", methods=("POST",), roles=("linkage",), body="decision",
           summary="Return a held transfer to labour inspection with the reasons", response="Dossier",
           statuses=(200, 400, 404, 409))
def transfer_return(transfer_no: str):
    return _decide(transfer_no, "return")


@api_route("/escalations", roles=("linkage", "admin"),
           summary="Overdue steps escalated to their agency and the linkage office, then to supervision",
           params=[_q("level", "agency or supervision"),
                   _q("group", "a supervision group (督导组): its supervision-level escalations"),
                   _q("limit", "page size", "integer"), _q("cursor", "from next_cursor")],
           response="EscalationPage", statuses=(200, 400))
def escalations():
    limit, after = page_limit(), decode_cursor()
    group = group_arg()
    query = select(Escalation).where(Escalation.id > after).order_by(Escalation.id).limit(limit + 1)
    if request.args.get("level"):
        query = query.where(Escalation.level == request.args["level"])
    if group is not None:
        query = query.where(Escalation.supervision_group == group)
    if (scoped := in_scope_matters(Escalation.matter_id)) is not None:
        query = query.where(scoped)
    with hub().store.sessions() as session:
        rows = list(session.scalars(query))
        led = owners.leaders_of(session, [matters.resolve(session, e.matter_id) or e.matter_id for e in rows])
        live = {e.id: matters.resolve(session, e.matter_id) or e.matter_id for e in rows}
    return jsonify(rows_page(rows, limit, lambda e: e.id,
                             lambda rows: [escalation_view(e, led.get(live[e.id])) for e in rows]))


# -- the dishonest-employer list -----------------------------------------------------------------

@api_route("/listings", roles=("admin", "linkage", "viewer"),
           summary="The dishonest-employer list (失信联合惩戒对象名单): each listing with its term and history",
           params=[_q("status", "listed, removed or expired")], response="ListingList", statuses=(200, 400))
def listings():
    from hub.casework import listing

    status = request.args.get("status") or None
    if status is not None and status not in listing.STATUSES:
        raise BadRequest(f"status must be one of {', '.join(listing.STATUSES)}",
                         details={"field": "status", "rule": "enum"})
    with hub().store.sessions() as session:
        items = scoped_views(session, listing.listings(session, status))
    if not sees_personal_data():
        items = mask_personal(items)
    return jsonify({"items": items, "next_cursor": None})


@api_route("/listings/<list_no>", roles=("admin", "linkage", "viewer"),
           summary="One listing: the employer, its term and every decision on it", response="Listing",
           statuses=(200, 404))
def listing_one(list_no: str):
    from hub.casework import listing

    with hub().store.sessions() as session:
        view = listing.listing(session, list_no)
        if view is not None and not matter_in_scope(session, view["matter_id"]):
            view = None
    if view is None:
        raise NotFound(f"no listing {list_no}")
    return jsonify(view if sees_personal_data() else mask_personal(view))


# -- plugins --------------------------------------------------------------------------------------

def plugin_view(name: str) -> dict:
    h = hub()
    adapter = h.registry.adapters[name]
    info = adapter.info
    return {
        "name": name, "agency": info.code, "title": info.name, "version": info.version,
        "enabled": h.registry.is_enabled(info.code), "kinds_in": list(info.kinds_in),
        "kinds_out": list(info.kinds_out), "schema_version": info.schema_version,
        "health": "ok" if adapter.settings_error is None else f"settings invalid: {adapter.settings_error}",
        "settings": adapter.public_settings(),
    }


@api_route("/plugins", roles=("admin",), summary="Installed plugins: agency, version, enabled, health",
           response="PluginList")
def plugins():
    hub().refresh_plugin_state()
    return jsonify({"items": [plugin_view(n) for n in sorted(hub().registry.adapters)], "next_cursor": None})


def _toggle(name: str, enabled: bool):
    h = hub()
    if name not in h.registry.adapters and h.registry.get(name) is None:
        raise NotFound(f"no plugin named {name}")
    try:
        h.set_plugin_enabled(name, enabled, actor=g.principal.actor)
    except ConfigError as exc:
        raise HubError(str(exc), status=409) from exc
    adapter = h.registry.adapters.get(name) or h.registry.get(name)
    return jsonify(plugin_view(adapter.name))


@api_route("/plugins/<name>/enable", methods=("POST",), roles=("admin",), summary="Enable a plugin now",
           response="Plugin", statuses=(200, 404, 409))
def plugin_enable(name: str):
    return _toggle(name, True)


@api_route("/plugins/<name>/disable", methods=("POST",), roles=("admin",),
           summary="Disable a plugin now; its inbound queue keeps filling", response="Plugin", statuses=(200, 404))
def plugin_disable(name: str):
    return _toggle(name, False)


# -- dead letters ---------------------------------------------------------------------------------

def dead_letter_view(dl: DeadLetter) -> dict:
    return {
        "id": dl.id, "agency": dl.agency, "kind": dl.kind, "message_id": dl.message_id, "row": dl.row or None,
        "reason": dl.reason, "field": dl.field, "rule": dl.rule, "status": dl.status,
        "content_type": dl.content_type, "content_encoding": dl.content_encoding,
        "created_at": dl.created_at.isoformat(), "attempts": dl.attempts,
        "replayed_at": dl.replayed_at.isoformat() if dl.replayed_at else None, "replay_result": dl.replay_result,
        "body_base64": base64.b64encode(dl.body).decode(),
    }


@api_route("/dead-letters", roles=("admin",), summary="What failed, with reason and original bytes",
           params=[_q("agency", "agency code"), _q("kind", "native kind"), _q("status", "open or replayed"),
                   _q("limit", "page size", "integer"), _q("cursor", "from next_cursor")],
           response="DeadLetterPage", statuses=(200, 400))
def dead_letters():
    limit, after = page_limit(), decode_cursor()
    query = select(DeadLetter).where(DeadLetter.id > after).order_by(DeadLetter.id).limit(limit + 1)
    for arg, column in (("agency", DeadLetter.agency), ("kind", DeadLetter.kind), ("status", DeadLetter.status)):
        if request.args.get(arg):
            query = query.where(column == request.args[arg])
    with hub().store.sessions() as session:
        rows = list(session.scalars(query))
    return jsonify(rows_page(rows, limit, lambda r: r.id, lambda rows: [dead_letter_view(r) for r in rows]))


@api_route("/dead-letters/<int:dead_letter_id>/replay", methods=("POST",), roles=("admin",),
           summary="Feed a dead letter through again (optionally with fixed bytes: body_base64, and the agency's "
                   "signature of them); the signature is checked again unless accept_unsigned names the person "
                   "who decided it (by: an admin's username) and why (reason)",
           body="replay", response="ReplayResult", statuses=(200, 400, 404))
def dead_letter_replay(dead_letter_id: int):
    payload = json_object()
    fixed = None
    if payload.get("body_base64"):
        try:
            if not isinstance(payload["body_base64"], str):
                raise ValueError("not text")
            fixed = base64.b64decode(payload["body_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("body_base64 is not base64", details={"field": "body_base64", "rule": "base64"}) from None
    signature = payload.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise BadRequest("signature must be text (sha256=<hex>)", details={"field": "signature", "rule": "type"})
    override = None
    if payload.get("accept_unsigned") is not None:
        if payload["accept_unsigned"] is not True:
            raise BadRequest("accept_unsigned must be true when given", details={"field": "accept_unsigned",
                                                                                 "rule": "type"})
        override = unsigned_override(payload.get("by"), payload.get("reason"))
    return jsonify(replay(dead_letter_id, fixed, actor=g.principal.actor, signature=signature, override=override))


def unsigned_override(by: Any, reason: Any) -> dict[str, str]:
    """The person who decides that unauthenticated bytes go in (an enabled admin's
    username) and why: both required, both audited."""
    from hub.store.models import User

    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("accepting unsigned bytes needs the reason", details={"field": "reason", "rule": "required"})
    if not isinstance(by, str) or not by.strip():
        raise BadRequest("accepting unsigned bytes needs the person who decides it: by, an admin's username",
                         details={"field": "by", "rule": "required"})
    with hub().store.sessions() as session:
        user = session.scalars(select(User).where(User.username == by.strip())).first()
    if user is None or user.disabled_at is not None or user.role != "admin":
        raise BadRequest(f"by must name an enabled admin user account, not {by.strip()[:64]!r}",
                         details={"field": "by", "rule": "admin-user"})
    return {"by": user.username, "reason": reason.strip()}


def replay(dead_letter_id: int, body: bytes | None = None, actor: str = "cli", *, signature: str | None = None,
           override: dict[str, str] | None = None) -> dict:
    """Feed a dead letter through again. The agency's signature is checked again (of the
    fixed bytes: give ``signature``, made with the agency's key); ``override`` (the person
    and the reason, see :func:`unsigned_override`) accepts bytes without one, audited."""
    h = hub()
    if not 0 < dead_letter_id < 2 ** 63:  # beyond any database integer: no such row
        raise NotFound(f"no dead letter {dead_letter_id}")
    with h.store.sessions() as session:
        dl = session.get(DeadLetter, dead_letter_id)
        if dl is None:
            raise NotFound(f"no dead letter {dead_letter_id}")
        if dl.status == "replayed":
            return {"dead_letter": dead_letter_view(dl), "outcome": dl.replay_result}
        message = message_for_replay(dl, body, signature)
        kept_row = bool(dl.row) and body is None
    if h.registry.get(message.agency) is None:
        raise Forbidden(f"no plugin for agency {message.agency}")
    # A row's kept bytes were cut from a message whose signature held (rows are read only
    # after the check); anything else is checked again, unless a person overrides it.
    trusted = bool(override) or kept_row
    outcome = h.pipeline.process([message], replay_of=dead_letter_id, actor=actor, trusted=trusted)[0]
    with h.store.session() as session:
        details = {"outcome": outcome.status, "fixed_bytes": body is not None}
        if override:
            details.update(unsigned=True, by=override["by"], reason=override["reason"],
                           body_sha256=hashlib.sha256(message.body).hexdigest())
        audit.append(session, actor, "dead_letter.replay_unsigned" if override else "dead_letter.replay",
                     str(dead_letter_id), details)
        dl = session.get(DeadLetter, dead_letter_id)
        return {"dead_letter": dead_letter_view(dl), "outcome": outcome.to_dict()}


# -- audit ------------------------------------------------------------------------------------------

@api_route("/audit/verify", roles=("admin",), summary="Check the tamper-evident audit log end to end, against "
           "the signed heads kept outside the database", response="AuditResult", statuses=(200,))
def audit_verify():
    return jsonify(hub().verify_audit())


@api_route("/audit/heads", roles=ALL_READERS,
           summary="Signed heads of the audit chain (seq, hash, at, public_key, signature), newest first: keep "
                   "them, a later chain must still contain each",
           params=[_q("limit", "page size, at most 500", "integer"), _q("cursor", "from next_cursor")],
           response="HeadPage", statuses=(200, 400))
def audit_heads():
    limit, before = page_limit(), decode_cursor()
    heads = audit.newest_heads(hub().heads_file, limit + 1, before_seq=before or None)
    return jsonify(rows_page(heads, limit, key=lambda h: h["seq"], view=list))


@api_route("/audit/public-key", roles=ALL_READERS,
           summary="The hub's Ed25519 public key: checks receipts and signed heads offline", response="Key")
def audit_public_key():
    return jsonify({"algorithm": "Ed25519", "public_key": keys.public_b64(hub().audit_key),
                    "encoding": "base64 of the raw 32-byte key; signatures are over the JSON payload with sorted "
                                "keys and no spaces"})


@api_route("/receipts/<agency>/<message_id>", roles=("admin", "agency"), agency_arg="agency",
           params=[_q("sender", "an agency with several senders (contractor): whose message, for admins (an agency's "
                              "own token or user is bound to its sender)")],
           summary="A signed receipt for a message the agency sent: what became of it, checkable offline",
           response="Receipt", statuses=(200, 403, 404))
def receipt(agency: str, message_id: str):
    adapter = hub().registry.get(agency)
    sender = g.principal.sender or (request.args.get("sender") or "").strip().upper() or None
    if adapter is not None and adapter.info.sender_header and sender is None:
        raise BadRequest(f"agency {agency} has several senders: name the sender (?sender=)",
                         details={"field": "sender", "rule": "required"})
    kept = f"{sender}/{message_id}" if sender else message_id
    with hub().store.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.subject == f"{agency}/{kept}",
            AuditEntry.action.in_(("message.accepted", "message.rejected"))).order_by(AuditEntry.id.desc())).first()
    if entry is None:
        raise NotFound(f"no message {message_id} from {agency}")
    payload = {
        "agency": agency, **({"sender": sender} if sender else {}), "message_id": message_id,
        "status": entry.action.split(".", 1)[1],
        "records": entry.details.get("records", []), "dead_letters": entry.details.get("dead_letters", []),
        "body_sha256": entry.details.get("body_sha256"), "at": entry.at.astimezone(BEIJING).isoformat(),
        "audit_entry": entry.id, "audit_seq": entry.seq, "audit_hash": entry.hash,
    }
    return jsonify({"receipt": payload, "signature": audit.sign(hub().audit_key, payload), "algorithm": "Ed25519"})
