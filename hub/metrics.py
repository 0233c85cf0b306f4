"""Prometheus metrics. Labels carry agency codes and outcomes only, never personal data.

Counters and histograms are counted in the process that does the work: a gunicorn worker
for a POST, a ``wagehub worker`` for its batches and deliveries. Under gunicorn every
worker is a process of its own, so the API runs prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set up by ``hub/web/gunicorn_conf.py``) and whichever worker
answers ``GET /metrics`` sums the files of all of them. A ``wagehub worker`` serves its own
``/metrics`` with ``--metrics-port``. The gauges of the store (outbox pending, dead letters
open, plugins enabled) are read from the database at each scrape, so every process that
serves ``/metrics`` answers them alike.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


def _ensure_shared_dir() -> None:
    """In multiprocess mode each metric writes a file in the directory as it is made:
    make the directory, or say in one line why it cannot be."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            from hub.contract.errors import ConfigError

            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={path}: cannot make the metrics directory "
                              f"({exc.strerror})") from exc


_ensure_shared_dir()

MESSAGES = Counter("wagehub_inbound_messages_total", "Inbound messages handled", ["agency", "outcome"])
DEAD_LETTERS = Counter("wagehub_dead_letters_total", "Dead letters written", ["agency"])
DELIVERIES = Counter("wagehub_deliveries_total", "Outbound deliveries", ["agency", "outcome"])
BATCH_SECONDS = Histogram("wagehub_batch_seconds", "Time to apply one inbound batch")
RELAY_SECONDS = Histogram("wagehub_relay_batch_seconds", "Time to render and publish one outbox batch")


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, when this process is in it
    (the variable is read once, when prometheus_client is first imported)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class StoreCollector(Collector):
    """The gauges that describe the store rather than one process, read at each scrape."""

    def __init__(self, hub):
        self.hub = hub

    def collect(self):
        from sqlalchemy import func, select

        from hub.store.models import DeadLetter, Outbox

        pending = GaugeMetricFamily("wagehub_outbox_pending", "Outbox rows not yet delivered")
        open_ = GaugeMetricFamily("wagehub_dead_letters_open", "Dead letters waiting for a fix")
        enabled = GaugeMetricFamily("wagehub_plugin_enabled", "1 when the plugin is enabled", labels=["plugin"])
        try:
            with self.hub.store.sessions() as session:
                pending.add_metric([], session.execute(
                    select(func.count()).select_from(Outbox).where(Outbox.status == "pending")).scalar())
                open_.add_metric([], session.execute(
                    select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "open")).scalar())
            state = self.hub.plugin_state()
        except Exception as exc:  # noqa: BLE001  (metrics still answer while the database is down)
            log.warning("metrics: the store's gauges are left out: %s", type(exc).__name__)
            return
        for name, adapter in sorted(self.hub.registry.adapters.items()):
            on = state.get(name, True) and adapter.settings_error is None
            enabled.add_metric([name], 1 if on else 0)
        yield from (pending, open_, enabled)


class _Process(Collector):
    """This process's own metrics (the default registry), when not in multiprocess mode."""

    def collect(self):
        return REGISTRY.collect()


def scrape_registry(hub) -> CollectorRegistry:
    """What one scrape answers: every process's counters in multiprocess mode (else this
    process's), and the store's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(StoreCollector(hub))
    return registry


def exposition(hub) -> tuple[bytes, str]:
    """The body and content type of ``GET /metrics``."""
    return generate_latest(scrape_registry(hub)), CONTENT_TYPE_LATEST


def serve(hub, port: int, host: str = "127.0.0.1"):
    """Serve ``/metrics`` for a process that runs no web app (``wagehub worker``), on a
    thread; returns the server (``shutdown()`` stops it)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=scrape_registry(hub))
    return server
