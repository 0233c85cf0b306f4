"""contractor: general contractors' head offices, over HTTPS webhooks (三交办's third hand-off).

Contractors have no queue. The hub notifies a project's general contractor of arrears
on its project (``ARREARS_NOTICE``, POSTed to the contractor's webhook and signed with
its own key), and the contractor replies over HTTP (``REPLY``, signed with the same key,
posted to ``/api/v1/inbound/contractor``). See docs/formats/contractor.md.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import marshmallow as ma

from hub import (
    AgencyInfo,
    Delivery,
    InvalidMessage,
    NativeMessage,
    Parsed,
    Rendered,
    Undeliverable,
    hookimpl,
    samples_from,
)
from hub.contract import webhooks

__version__ = "1.0.0"

SAMPLES = Path(__file__).parent / "samples"
NOTICE = "ARREARS_NOTICE"
REPLY = "REPLY"
CONTRACTOR_HEADER = "x-wagehub-contractor"


class ContractorSchema(ma.Schema):
    class Meta:
        # A misspelt setting must stop the start-up, not be silently ignored.
        unknown = ma.RAISE

    name = ma.fields.String(load_default=None, allow_none=True)
    url = ma.fields.Url(load_default=None, allow_none=True, require_tld=False, schemes={"http", "https"},
                        metadata={"description": "webhook receiving ARREARS_NOTICE"})
    key = ma.fields.String(required=True, validate=ma.validate.Length(min=8),
                           metadata={"description": "HMAC-SHA256 key shared with this contractor (secret)"})


class ContractorSettingsSchema(ma.Schema):
    """``[plugins.contractor]``: per-contractor webhook and key, by USCC."""

    class Meta:
        # A misspelt setting must stop the start-up, not be silently ignored.
        unknown = ma.RAISE

    timeout = ma.fields.Float(load_default=10.0, validate=ma.validate.Range(0.1, 300))
    verify = ma.fields.Raw(load_default=True, metadata={"description": "TLS check: true, false or a CA bundle path"})
    contractors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(ContractorSchema),
                                 load_default=dict)

    @ma.post_load
    def _upper_keys(self, data, **kwargs):
        # Environment variables arrive lower-cased: USCCs are matched in upper case.
        data["contractors"] = {k.upper(): v for k, v in data["contractors"].items()}
        return data


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="contractor",
        name="总包单位总部 general contractors' head offices",
        version=__version__,
        kinds_in=(REPLY,),
        kinds_out=(NOTICE,),
        settings_schema=ContractorSettingsSchema(),
        secret_settings=("key",),
        schema_version="1",
        description="JSON over HTTPS webhooks, each contractor with its own key.",
        sender_header=CONTRACTOR_HEADER,
        sender_field="contractor_uscc",
    )


def _contractor(settings: dict[str, Any], uscc: str | None) -> dict[str, Any] | None:
    return settings.get("contractors", {}).get((uscc or "").upper())


@hookimpl
def key_from_message(message: NativeMessage, settings: dict[str, Any]) -> str:
    uscc = str(message.headers.get(CONTRACTOR_HEADER) or "")
    if not uscc:
        raise InvalidMessage.of(CONTRACTOR_HEADER, "required", "is required")
    contractor = _contractor(settings, uscc)
    if contractor is None:
        raise InvalidMessage.of(CONTRACTOR_HEADER, "unknown-contractor", "names no contractor known to the hub")
    return contractor["key"]


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    try:
        doc = json.loads(message.body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidMessage("message is not UTF-8 JSON (rule: json)", field="body", rule="json",
                             kind=REPLY) from None
    if not isinstance(doc, dict):
        raise InvalidMessage.of("body", "type", "must be a JSON object", REPLY)
    if doc.get("type") != REPLY:
        raise InvalidMessage.of("type", "enum", f"must be {REPLY}", REPLY)
    for name in ("reply_id", "contractor_uscc", "outcome", "amount_paid", "replied_at"):
        if doc.get(name) in (None, ""):
            raise InvalidMessage.of(name, "required", "is required", REPLY)
    for name in ("reply_id", "contractor_uscc", "outcome", "replied_at"):
        if not isinstance(doc[name], str):
            raise InvalidMessage.of(name, "type", "must be a string", REPLY)
    if not isinstance(doc["amount_paid"], str):
        raise InvalidMessage.of("amount_paid", "decimal-string", 'must be yuan as a decimal string like "1200.00"', REPLY)
    sender = str(message.headers.get(CONTRACTOR_HEADER) or "")
    if sender and sender.upper() != doc["contractor_uscc"].upper():
        raise InvalidMessage.of("contractor_uscc", "contractor-mismatch",
                                f"must be the contractor named by {CONTRACTOR_HEADER}", REPLY)
    known = _contractor(settings, doc["contractor_uscc"]) or {}
    record = {
        "reply_no": doc["reply_id"],
        "contractor": {"name": doc.get("contractor_name") or known.get("name") or doc["contractor_uscc"],
                       "uscc": doc["contractor_uscc"]},
        "outcome": doc["outcome"],
        "amount_paid": doc["amount_paid"],
        "replied_at": doc["replied_at"],
    }
    for name, target in (("notice_id", "notice_id"), ("clue_no", "clue_no"), ("case_no", "case_no"),
                         ("project_code", "project_code"), ("workers_paid", "workers_paid"), ("note", "note")):
        if doc.get(name) is not None:
            record[target] = doc[name]
    return [Parsed(type="contractor_reply", record=record, source_ref=doc["reply_id"], kind=REPLY)]


def _first(refs: dict, name: str) -> Any:
    values = refs.get(name) or []
    return values[0] if values else None


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    if delivery.kind != NOTICE:
        raise ValueError(f"contractor plugin writes {NOTICE}, not {delivery.kind}")
    record, refs = dict(delivery.record), dict(delivery.refs)
    body = {
        "type": NOTICE,
        "notice_id": delivery.message_id,
        "sent_at": delivery.created_at,
        "contractor_uscc": record.get("contractor_uscc"),
        "project_code": record.get("project_code") or _first(refs, "project_code"),
        "clue_no": record.get("clue_no") or _first(refs, "clue_no"),
        "case_no": record.get("case_no") or _first(refs, "case_no"),
        "employer": record.get("employer"),
        "worker_count": record.get("worker_count"),
        "amount_owed": record.get("amount_owed"),
        "received_at": record.get("received_at"),
    }
    return Rendered(body=json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                    content_type="application/json", content_encoding="utf-8")


@hookimpl
def deliver_rendered(delivery: Delivery, rendered: Rendered, headers: dict[str, Any],
                     settings: dict[str, Any]) -> bool:
    uscc = delivery.record.get("contractor_uscc")
    if not uscc:
        raise Undeliverable("no general contractor is known for this project (no project record with its USCC)")
    contractor = _contractor(settings, uscc)
    if contractor is None or not contractor.get("url"):
        raise Undeliverable(f"no webhook configured for contractor {uscc}")
    webhooks.post_signed(contractor["url"], contractor["key"], rendered.body, rendered.content_type, headers,
                         settings)
    return True


@hookimpl
def on_shutdown() -> None:
    webhooks.close()


register_samples = samples_from(
    __package__, headers={CONTRACTOR_HEADER: "91370103QEFLCR639M"},
    good=[("contractor-reply.json", REPLY, "2023-05-26T17:00:00+08:00")],
    bad=[("contractor-bad-outcome.json", REPLY, "outcome")],
)
