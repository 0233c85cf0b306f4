"""A worker process whose outbox relay stops dead at a chosen point, for the test to kill.

``python -m tests.faults.relay_harness STAGE MARKER`` runs the hub's workers as ``wagehub
worker`` does (settings from ``WAGEHUB_*``), except that the queue relay's publisher, on
its first batch, stops for good:

``before-publish``
    after the relay has claimed and rendered the rows (the inbound commit that wrote them
    is done) and before anything is published;
``after-publish``
    after the broker has taken the messages and before the relay learns it (their
    confirms never reach the relay, the rows are never marked sent): a lost confirm.

It then writes ``MARKER`` (the message ids of the batch, one a line) and waits to be
killed; the inbound consumer goes on committing meanwhile. No hook in the hub itself:
the publisher is swapped here, as any caller of :class:`hub.runtime.Workers` can.
"""

from __future__ import annotations

import os
import sys
import threading

from hub.messaging.broker import Publisher


class StallingPublisher(Publisher):
    def __init__(self, settings, stage: str, marker: str):
        super().__init__(settings)
        self.stage, self.marker = stage, marker

    def publish_many(self, messages):
        if self.stage == "after-publish":
            super().publish_many(messages)  # the broker has them (and confirms them): the relay never hears
        with open(self.marker + ".tmp", "w", encoding="utf-8") as fh:
            fh.write("".join(f"{m.message_id}\n" for m in messages))
        os.replace(self.marker + ".tmp", self.marker)
        threading.Event().wait()  # until SIGKILL


def main(stage: str, marker: str) -> None:
    from hub.runtime import Hub, Workers

    hub = Hub()
    workers = Workers(hub)
    workers.relay.publisher = StallingPublisher(hub.settings, stage, marker)
    workers.start()
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
