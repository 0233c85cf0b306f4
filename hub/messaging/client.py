"""Agency-side helpers: publish a native message as an agency, read what the hub sent it.

This is what ``wagehub send`` and ``wagehub tail`` use; an agency system can do the same
with any AMQP client (see README: "Talking to the hub from an agency system").
"""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Producer

from hub.messaging.broker import IN_EXCHANGE, RETRY_POLICY, in_queue, out_queue, raw_body
from hub.messaging.outbox import signature_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {".json": "application/json", ".xml": "application/xml", ".csv": "text/csv", ".xlsx": XLSX}


def guess_content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def publish_native(conn: Connection, agency: str, body: bytes, *, content_type: str, message_id: str | None = None,
                   content_encoding: str | None = None, kind: str | None = None, key: str | None = None,
                   headers: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None) -> str:
    """Publish ``body`` untouched to ``wagehub.in`` with routing key ``agency``.

    Without ``message_id`` the body's SHA-256 is used, so sending the same file twice
    has one effect. With the hub's ``settings``, the agency's queue is declared first (as
    the workers declare it): a message sent before any worker ever ran waits there, where
    the exchange alone would route it nowhere.
    """
    message_id = message_id or "sha256-" + hashlib.sha256(body).hexdigest()[:32]
    headers = dict(headers or {})
    if kind:
        headers["x-wagehub-kind"] = kind
    if key:
        headers["x-wagehub-signature"] = signature_for(key, body)
    producer = Producer(conn.default_channel)
    declare = [IN_EXCHANGE, in_queue(conn, agency, settings)] if settings is not None else [IN_EXCHANGE]
    producer.publish(body, exchange=IN_EXCHANGE, routing_key=agency, declare=declare,
                     content_type=content_type, content_encoding=content_encoding or "binary",
                     message_id=message_id, headers=headers, delivery_mode=2, retry=True,
                     retry_policy=RETRY_POLICY)
    return message_id


@dataclass
class Received:
    body: bytes
    message_id: str | None
    content_type: str | None
    content_encoding: str | None
    headers: Mapping[str, Any]


def read_out(conn: Connection, agency: str, settings: Mapping[str, Any], *, limit: int | None = None,
             timeout: float = 2.0, keep: bool = False) -> list[Received]:
    """Take messages from ``wagehub.out.<agency>`` until ``limit`` or ``timeout`` idle seconds."""
    got: list[Received] = []
    held = []  # with keep: put back once read, not at once (it would come straight back, for ever)

    def on_message(message):
        props = dict(message.properties or {})
        got.append(Received(raw_body(message), props.get("message_id"), message.content_type, message.content_encoding,
                            dict(message.headers or {})))
        if keep:
            held.append(message)
        else:
            message.ack()

    queue = out_queue(conn, agency, settings)
    with Consumer(conn, queues=[queue], on_message=on_message, prefetch_count=limit or 100, accept=None):
        try:
            while limit is None or len(got) < limit:
                try:
                    conn.drain_events(timeout=timeout)
                except TimeoutError:
                    break
        finally:
            for message in held:
                message.requeue()
    return got


def describe_body(body: bytes, content_type: str | None, encoding: str | None) -> str:
    """A native body as text for people: decoded text, or a workbook's rows."""
    if content_type and "spreadsheetml" in content_type:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        lines = []
        for ws in wb.worksheets:
            lines.append(f"[sheet {ws.title}]")
            lines.extend(", ".join("" if v is None else str(v) for v in row) for row in ws.iter_rows(values_only=True))
        wb.close()
        return "\n".join(lines)
    for enc in ([encoding] if encoding and encoding != "binary" else []) + ["utf-8-sig", "gb18030"]:
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return base64.b64encode(body).decode()
