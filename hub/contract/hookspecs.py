"""The plugin contract: every hook an agency adapter can implement.

Call conventions (see docs/plugins.md): the hub calls hooks with keyword arguments
only. An adapter's per-message hooks (``parse_*``, ``render_*``, settings and lifecycle)
are called on that adapter alone, so an implementation never has to check which agency
it is being asked about. ``register_*`` hooks are called on every plugin and their
results collected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.contract.markers import hookspec
from hub.contract.types import AgencyInfo, Delivery, NativeMessage, Parsed, Rejected, Rendered, Sample


@hookspec
def register_agency() -> AgencyInfo:
    """Declare the agency this plugin adapts.

    Called once when the plugin manager is built. Return an :class:`hub.AgencyInfo`
    with the agency code (queue suffix and routing key), the native kinds read and
    written, the settings schema and the canonical schema version it speaks. A
    plugin adapts exactly one agency.
    """


@hookspec(firstresult=True)
def parse_settings(settings: dict[str, Any]) -> dict[str, Any] | None:
    """Check and normalise this plugin's settings (``[plugins.<code>]`` plus env).

    Called at start-up and whenever the plugin is enabled, after the declarative
    ``AgencyInfo.settings_schema`` (if any) has loaded them. Raise
    :class:`hub.SettingsError` with a message naming the setting to refuse them;
    return the settings to use, or None to keep them as they are.
    First non-None result wins.
    """


@hookspec
def on_startup(settings: dict[str, Any]) -> None:
    """The plugin is about to be used in this process; ``settings`` are checked.

    Runs before the adapter's first message or delivery in every process (a worker as it
    starts, the API before it parses), and again once the plugin is enabled after being
    disabled. Open what the adapter needs for its life (HTTP sessions, caches). Must not block.
    """


@hookspec
def on_shutdown() -> None:
    """The hub process is stopping, or the plugin was disabled: release what ``on_startup``
    opened (called only after it)."""


@hookspec(firstresult=True)
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> Iterable[Parsed | Rejected] | None:
    """Turn one native inbound message into canonical records.

    Called by the pipeline for every message on ``wagehub.in.<code>`` (or posted to
    ``/api/v1/inbound/<code>``), after signature and duplicate checks. Return an
    iterable (a generator is welcome: batches may be large) of :class:`hub.Parsed`
    records and, for bad rows of a batch, :class:`hub.Rejected` items; the rest of
    the batch goes on. Raise :class:`hub.InvalidMessage` (reason, field, rule) when
    the message as a whole cannot be read. Any other exception is treated as a bug
    in the plugin: retried a few times, then dead-lettered with its summary.
    First non-None result wins.
    """


@hookspec(firstresult=True)
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered | None:
    """Write one canonical record as this agency's native outbound message.

    Called by the outbox relay for each delivery a route assigns to this agency.
    ``delivery.record`` holds only the fields the route allows; ``delivery.kind`` the
    native kind the route asks for. Return :class:`hub.Rendered` (body bytes, content
    type and encoding). Rendering must be deterministic: a retried delivery must give
    the same bytes. First non-None result wins.
    """


@hookspec(firstresult=True)
def key_from_message(message: NativeMessage, settings: dict[str, Any]) -> str | None:
    """The HMAC key that must have signed this inbound message, when it is not ``settings["key"]``.

    For an agency whose senders each hold their own key (every general contractor has
    its own): pick it from the message (a header, say). Return None to use the
    plugin's ``key`` setting. Called before ``parse_message``; a message whose
    signature does not match goes to the dead letters as unauthenticated.
    First non-None result wins.
    """


@hookspec(firstresult=True)
def deliver_rendered(delivery: Delivery, rendered: Rendered, headers: dict[str, Any],
                     settings: dict[str, Any]) -> bool | None:
    """Deliver a rendered message yourself, for an agency that has no queue (webhooks).

    When a plugin implements it, the outbox relay calls it instead of publishing to
    ``wagehub.out.<code>``, on a relay of its own so a slow recipient never delays the
    queues. ``headers`` are the hub's delivery headers (``x-wagehub-*``, ``message_id``).
    Return True once the recipient has taken the message. Raise
    :class:`hub.Undeliverable` when it can never be delivered (no address configured):
    the delivery is set aside with the reason. Any other exception is a transient
    failure: the delivery is retried with backoff. First non-None result wins.
    """


@hookspec
def register_samples() -> Iterable[Sample]:
    """Return native sample messages (good and bad) this plugin ships.

    Used by ``wagehub demo`` (the good ones, replayed in ``Sample.at`` order across
    agencies) and by conformance tests (the bad ones must be refused with a reason).
    """


HOOK_NAMES = (
    "register_agency", "parse_settings", "on_startup", "on_shutdown",
    "parse_message", "render_record", "key_from_message", "deliver_rendered", "register_samples",
)

__all__ = list(HOOK_NAMES) + ["Parsed", "Rejected"]
