"""Value types that hooks take and return: the whole vocabulary a plugin needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma

from hub.contract.errors import InvalidMessage, SettingsError, Undeliverable

__all__ = [
    "AgencyInfo", "NativeMessage", "Parsed", "Rejected", "Delivery", "Rendered", "Sample",
    "InvalidMessage", "SettingsError", "Undeliverable",
]


class PluginSettings(ma.Schema):
    """A plugin's settings schema to start from (``AgencyInfo.settings_schema``): it refuses
    a setting it does not know, so a misspelt one stops the start-up instead of being
    ignored, and declares ``key``, the HMAC-SHA256 key the hub checks inbound signatures
    and signs outbound messages with. Use it as it is, or subclass it to add settings."""

    class Meta:
        unknown = ma.RAISE

    key = ma.fields.String(load_default=None, allow_none=True,
                           metadata={"description": "HMAC-SHA256 key shared with the agency (secret)"})


@dataclass(frozen=True)
class AgencyInfo:
    """What a plugin declares about the agency it adapts (``register_agency``)."""

    code: str
    """Agency code: routing key and queue suffix (``wagehub.in.<code>``), lower case."""
    name: str
    """Human name, e.g. "人社 labour inspection"."""
    version: str
    """The plugin's own version."""
    kinds_in: tuple[str, ...] = ()
    """Native kinds the plugin reads (e.g. ``("CLUE", "TRANSFER")``)."""
    kinds_out: tuple[str, ...] = ()
    """Native kinds the plugin writes for its agency (e.g. ``("NOTICE",)``)."""
    settings_schema: ma.Schema | None = None
    """Validates the plugin's settings (``[plugins.<code>]`` in the config); None: any."""
    secret_settings: tuple[str, ...] = ("key",)
    """Settings never shown back (admin pages and APIs print them as ``***``)."""
    schema_version: str = "1"
    """Canonical schema major version the plugin reads and writes."""
    description: str = ""
    sender_header: str | None = None
    """For an agency with several senders, each with its own key (the general contractors'
    head offices): the inbound header that names the sender (compared in upper case). Each
    sender is then a principal of its own: its tokens and users are bound to it (``--sender``),
    and its message ids, receipts and records are its own, never another sender's."""
    sender_field: str | None = None
    """With ``sender_header``: the field of a record routed to this agency that names the
    sender it is for (the contractor's USCC), so each sender reads only what is its own."""
    sender_area: bool = False
    """With ``sender_header``: senders are division codes (GB/T 2260), each speaking for an
    area (the district and city governments). A record routed to this agency is for every
    sender whose area takes in its ``sender_field`` (a city takes in its districts)."""


@dataclass(frozen=True)
class NativeMessage:
    """A native message as it arrived, over a queue or HTTP. The body is untouched."""

    agency: str
    body: bytes
    message_id: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    kind: str | None = None
    """The ``x-wagehub-kind`` header, when the sender set it."""
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Parsed:
    """One canonical record read from a native message.

    ``record`` holds the canonical fields in their JSON form (money as ``"36000.00"``,
    times as ISO 8601 with offset); the hub validates it with the shared schema of
    ``type`` and adds the envelope (``record_id``, ``matter_id``, ...).
    """

    type: str
    record: dict[str, Any]
    source_ref: str
    kind: str
    row: int | None = None
    raw: bytes | None = None
    """For a row of a batch: that row alone, re-readable (header included), so a row
    that fails validation can be dead-lettered and replayed on its own."""
    fields: Mapping[str, str] | None = None
    """Canonical field paths as this format names them (a column, a tag, a JSON path), so
    that a refusal by the shared schema names the field the agency knows, the canonical
    path after it: ``{"region_code": "所属区划"}``. Map a list by its own path
    (``{"defendants": "body.defendants"}``): its items keep their index and fields. A path
    left out is named as the schema names it."""
    identity: str | None = None
    """What tells this record from another with the same content (default: nothing, the
    content is the record). The hub stores a record once, however often its message is
    sent: a record with the type, ``source_ref`` and content of one stored already is the
    same record sent again. A record derived from several rows (a batch's totals) names
    the rows it stands for here (a digest, never personal data itself), so a different
    batch with equal totals is a record of its own."""


@dataclass
class Rejected:
    """A row of a batch that cannot be read; the rest of the batch goes on."""

    reason: str
    kind: str | None = None
    field: str | None = None
    rule: str | None = None
    row: int | None = None
    raw: bytes | None = None


@dataclass(frozen=True)
class Delivery:
    """One outbound delivery: what ``render_record`` turns into native bytes."""

    recipient: str
    kind: str
    """Native kind to write (from the route)."""
    route: str
    record_type: str
    record: Mapping[str, Any]
    """The canonical record, already cut down to the fields the route allows."""
    refs: Mapping[str, list[str]]
    """Numbers of the matter the record belongs to: ``clue_no``, ``case_no``, ``order_no``,
    ``transfer_no``, ``project_code``, ... each a list (oldest first)."""
    message_id: str
    matter_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    """Route parameters from ``routes.toml`` (e.g. ``notice_kind``; ``due_on`` when the route names a ``due_rule``)."""
    created_at: str | None = None
    """When the delivery was decided: ISO 8601 with offset, always set by the hub; use it
    as the 'sent' time in the body so a retried delivery renders the same bytes."""


@dataclass(frozen=True)
class Rendered:
    """A native outbound message."""

    body: bytes
    content_type: str
    content_encoding: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """A native sample message a plugin ships (demo data and conformance tests)."""

    name: str
    body: bytes
    content_type: str
    content_encoding: str | None = None
    kind: str | None = None
    at: str = ""
    """ISO time of the event, so the demo can replay several agencies in order."""
    bad: bool = False
    """A sample that must be refused; ``reason`` says what should be named."""
    reason: str = ""
    headers: Mapping[str, Any] = field(default_factory=dict)
    """Extra message headers the sender sets (``x-wagehub-*``), besides the kind."""
