"""Signed HTTPS webhooks, for plugins whose agency has no queue (a contractor's head office,
a district government): the body signed with the recipient's key as on the queues, the
hub's headers beside it, one ``requests`` session per relay thread."""

from __future__ import annotations

import threading
from typing import Any

import requests

_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def post_signed(url: str, key: str, body: bytes, content_type: str, headers: dict[str, Any],
                settings: dict[str, Any]) -> None:
    """POST ``body`` to ``url``; anything but a 2xx raises (the relay retries the delivery).
    ``settings`` gives ``timeout`` (seconds) and ``verify`` (the TLS check, as requests takes it)."""
    from hub.messaging.outbox import signature_for

    http_headers = {
        "Content-Type": f"{content_type}; charset=utf-8",
        "X-Wagehub-Message-Id": str(headers.get("message_id")),
        "X-Wagehub-Signature": signature_for(key, body),
        "X-Wagehub-Record-Type": str(headers.get("x-wagehub-record-type")),
        "X-Wagehub-Matter": str(headers.get("x-wagehub-matter")),
    }
    response = _session().post(url, data=body, headers=http_headers,
                               timeout=(min(3.0, settings["timeout"]), settings["timeout"]),
                               verify=settings["verify"], allow_redirects=False)
    if not 200 <= response.status_code < 300:
        response.raise_for_status()
        raise requests.HTTPError(f"webhook answered {response.status_code}")


def close() -> None:
    """Close this thread's session (a plugin's ``on_shutdown``)."""
    session = getattr(_local, "session", None)
    if session is not None:
        session.close()
        _local.session = None
