"""Prometheus metrics. Labels carry agency codes and outcomes only, never personal data."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("wagehub_inbound_messages_total", "Inbound messages handled", ["agency", "outcome"])
DEAD_LETTERS = Counter("wagehub_dead_letters_total", "Dead letters written", ["agency"])
DELIVERIES = Counter("wagehub_deliveries_total", "Outbound deliveries", ["agency", "outcome"])
BATCH_SECONDS = Histogram("wagehub_batch_seconds", "Time to apply one inbound batch")
RELAY_SECONDS = Histogram("wagehub_relay_batch_seconds", "Time to render and publish one outbox batch")
OUTBOX_PENDING = Gauge("wagehub_outbox_pending", "Outbox rows not yet delivered")
DEAD_LETTERS_OPEN = Gauge("wagehub_dead_letters_open", "Dead letters waiting for a fix")
PLUGIN_ENABLED = Gauge("wagehub_plugin_enabled", "1 when the plugin is enabled", ["plugin"])
