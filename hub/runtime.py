"""The hub's parts wired together: settings, store, plugins, routes and pipeline.

The web app, the workers and the CLI each build one :class:`Hub` and share nothing
else; several processes share state only through the database and the broker.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from hub import keys
from hub.casework import audit
from hub.config import load_settings, routes_path
from hub.contract.errors import BadRequest, ConfigError, SettingsError
from hub.contract.plugins import Registry, build_plugin_manager
from hub.messaging.broker import Publisher, connect, declare_topology
from hub.messaging.outbox import Subscribers
from hub.messaging.pipeline import Pipeline
from hub.messaging.routes import load_routes
from hub.store import Store
from hub.store.models import PluginState, utcnow

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, settings: Mapping[str, Any] | None = None, *, extra_plugins: Iterable[object] = (),
                 entry_points: bool = True, migrate: bool = True):
        self.settings = dict(settings) if settings is not None else load_settings()
        # No configured secret: the one kept under var/ (made on first start).
        self.settings["hub"] = {**self.settings["hub"], "secret_key": keys.session_secret(self.settings)}
        self.audit_key = keys.audit_signing_key(self.settings)
        self.heads_file = keys.heads_path(self.settings)
        self.pm = build_plugin_manager(extra_plugins, entry_points=entry_points)
        self.registry = Registry(self.pm, self.settings.get("plugins", {}))
        self.routes = []
        self.routes_off = []  # routes to an agency no installed plugin adapts (said by log_start)
        for route in load_routes(routes_path(self.settings)):
            (self.routes_off if self.registry.get(route.to) is None else self.routes).append(route)
        self.store = Store(self.settings["hub"]["database_url"])
        try:
            if migrate:
                self.store.ensure_schema()
            # Told of outbox rows committed that no one claimed (a process's relays subscribe).
            self.outbox = Subscribers()
            self.pipeline = Pipeline(self.store, self.registry, self.routes, self.settings, self.outbox)
            self._topology_declared = False
            self.refresh_plugin_state()
        except BaseException:  # a bad setting or a database down: no connection left open behind
            self.store.dispose()
            raise

    def log_start(self) -> None:
        """What a long-running process (server, worker) says once as it starts: the routes
        that are off because no installed plugin adapts their agency (a third-party
        plugin not installed, e.g.); one-shot commands do not repeat it."""
        if self.routes_off:
            agencies = sorted({r.to for r in self.routes_off})
            log.info("%d route(s) off, no installed plugin adapts %s: %s", len(self.routes_off),
                     ", ".join(agencies), ", ".join(r.name for r in self.routes_off))

    @property
    def broker_url(self) -> str:
        return self.settings["hub"]["broker_url"]

    def connection(self):
        return connect(self.settings)

    def publisher(self) -> Publisher:
        return Publisher(self.settings)

    def ensure_topology(self) -> None:
        """Declare the exchanges and queues once for this hub (a consumer or a publisher
        that must not find them missing calls it first); later calls do nothing."""
        if not self._topology_declared:
            self.declare_topology()

    def declare_topology(self, conn=None) -> None:
        """Declare the exchanges and every agency's queues now (on ``conn``, or a connection
        of its own, closed after: idempotent on the broker)."""
        own = conn is None
        conn = conn or self.connection()
        try:
            declare_topology(conn, self.registry.codes(), self.settings)
            self._topology_declared = True
        finally:
            if own:
                conn.release()

    # -- plugin state -------------------------------------------------------------------------

    def plugin_state(self) -> dict[str, bool]:
        with self.store.sessions() as session:
            return {row.name: row.enabled for row in session.scalars(select(PluginState))}

    def refresh_plugin_state(self) -> bool:
        """Read admins' enable/disable decisions; True when the enabled set changed."""
        return self.registry.apply_state(self.plugin_state())

    def check_binding(self, role: str, sender: str | None) -> str | None:
        """The sender a token or user of ``role`` is bound to (upper case): required for an
        agency with several senders, refused for any other role."""
        base, _, codes = role.partition("@")
        agency = base.split(":", 1)[1] if base.startswith("agency:") else None
        adapter = self.registry.get(agency) if agency else None
        several = adapter is not None and adapter.info.sender_header
        sender = (sender or "").strip().upper() or None
        scope = [c for c in codes.split(",") if c]
        if several and adapter.info.sender_area and sender is None and len(scope) == 1:
            sender = scope[0]  # a government speaks for its own area: agency:gov@370103
        if several and sender is None:
            raise BadRequest(f"agency {agency} has several senders: bind this one to its own with --sender "
                             f"(the {adapter.info.sender_header} it sends)", details={"field": "sender",
                                                                                       "rule": "required"})
        if sender is not None and not several:
            raise BadRequest(f"--sender goes only with the role of an agency that has several senders, not {role}",
                             details={"field": "sender", "rule": "not-allowed"})
        if sender is not None and not re.fullmatch(r"[0-9A-Z][0-9A-Z._-]{0,79}", sender):
            raise BadRequest("sender must be letters, digits, '.', '_' or '-'", details={"field": "sender",
                                                                                        "rule": "pattern"})
        return sender

    def set_plugin_enabled(self, name: str, enabled: bool, actor: str | None = None) -> None:
        adapter = self.registry.adapters.get(name) or self.registry.get(name)
        if adapter is None:
            raise ConfigError(f"no plugin named {name!r}; installed: {', '.join(sorted(self.registry.adapters))}")
        if enabled:
            try:
                adapter.check_settings()
            except SettingsError as exc:
                raise ConfigError(f"plugin {adapter.name} cannot be enabled: {exc}") from exc
        with self.store.transaction() as session:
            row = session.get(PluginState, adapter.name)
            if row is None:
                session.add(PluginState(name=adapter.name, enabled=enabled, updated_by=actor))
            else:
                row.enabled, row.updated_at, row.updated_by = enabled, utcnow(), actor
            audit.append(session, actor or "cli", "plugin.enabled" if enabled else "plugin.disabled", adapter.name)
        self.refresh_plugin_state()
        log.info("plugin %s %s by %s", adapter.name, "enabled" if enabled else "disabled", actor or "cli")

    # -- the audit chain's signed heads ---------------------------------------------------------

    def checkpoint(self) -> dict[str, Any] | None:
        """Sign the audit chain's head (when entries were appended since the last time) and
        append it to the head file; the signed head, or None."""
        return audit.checkpoint_now(self.store, self.audit_key, self.heads_file)

    def verify_audit(self, heads: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
        """Verify the chain against the head file's signed heads and ``heads`` (an auditor's)."""
        kept = audit.read_heads(self.heads_file) + list(heads)  # read before the chain: see audit.verify
        with self.store.sessions() as session:
            return audit.verify(session, kept, public_key=keys.public_b64(self.audit_key),
                                legacy_secrets=(self.settings["hub"]["secret_key"], keys.DEV_SECRET))

    # -- lifecycle ----------------------------------------------------------------------------

    # (The registry owns the adapters' lifecycle: each starts before its first use in any
    # process, and stops when disabled or here.)

    def startup(self) -> None:
        """Start every enabled adapter now, rather than at its first message."""
        self.registry.start()

    def shutdown(self) -> None:
        self.registry.stop()
        self.store.dispose()


class Workers:
    """The inbound consumers (one per agency: see :mod:`hub.messaging.worker`) and the outbox relays
    of one process, on threads."""

    def __init__(self, hub: Hub):
        from hub.messaging.relay import Relay
        from hub.messaging.scheduler import Scheduler
        from hub.messaging.worker import InboundWorker

        self.hub = hub
        self.stop_event = threading.Event()
        self.relay = Relay(hub.store, hub.registry, hub.publisher(), hub.settings)
        self.direct = Relay(hub.store, hub.registry, None, hub.settings, direct=True)
        # Every installed agency has its consumer; a disabled one's consumes nothing until enabled.
        self.inbound = {code: InboundWorker(hub, relay=self.relay, agencies=(code,)) for code in hub.registry.codes()}
        self.scheduler = Scheduler(hub, on_work=self._wake_relays)
        hub.outbox.subscribe(self.relay.poke)
        hub.outbox.subscribe(self.direct.poke)
        self.threads: list[threading.Thread] = []

    def _wake_relays(self) -> None:
        self.relay.poke()
        self.direct.poke()

    def start(self) -> None:
        self.hub.startup()
        self.threads = [
            *(threading.Thread(target=w.run, name=f"wagehub-inbound-{code}", daemon=True)
              for code, w in self.inbound.items()),
            threading.Thread(target=self.relay.run, args=(self.stop_event,), name="wagehub-relay", daemon=True),
            threading.Thread(target=self.direct.run, args=(self.stop_event,), name="wagehub-direct", daemon=True),
            threading.Thread(target=self.scheduler.run, args=(self.stop_event,), name="wagehub-clock", daemon=True),
        ]
        for t in self.threads:
            t.start()

    def stop(self, timeout: float = 10) -> None:
        # The inbound consumers first: their last batches are handed to the relay, which
        # delivers them before it stops too (else it waits for their claim to run out).
        for worker in self.inbound.values():
            worker.should_stop = True
        consumers = len(self.inbound)
        until = time.monotonic() + timeout
        for t in self.threads[:consumers]:
            t.join(max(0.0, until - time.monotonic()))
        self.stop_event.set()
        self.relay.wake.set()
        self.direct.wake.set()
        for t in self.threads[consumers:]:
            t.join(timeout)
        try:
            self.hub.checkpoint()  # the chain's head as it is left
        except Exception as exc:  # noqa: BLE001  (database down: the last minute's head stands)
            log.warning("audit checkpoint on shutdown failed: %s", type(exc).__name__)
        self.hub.shutdown()

    @property
    def consuming(self) -> list[str]:
        """The agencies whose queues are consumed now."""
        return [code for worker in self.inbound.values() for code in worker.consuming]

    def __enter__(self) -> Workers:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
