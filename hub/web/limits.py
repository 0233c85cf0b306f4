"""Failed sign-ins and bad tokens: logged at once, audited in aggregate, and slowed.

An address past ``auth.max_failures`` failures within ``auth.failure_window`` seconds is
answered ``429`` (with ``Retry-After``) on every route that authenticates, until its
oldest failure leaves the window; a success does not wipe the count. Failures are
counted, not requests: a busy agency system with a good token is never slowed. The count
is kept in the process (no shared store is needed, nor Flask-Limiter, which limits
requests rather than failures): under several server processes each keeps its own, so a
reverse proxy in front should limit too. Each failure is logged with its address and
reason, never the token or password; the audit log gets one ``auth.failures`` entry per
``auth.report_seconds`` with the counts by address and kind, so a guessing run cannot
flood the chain.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from hub.casework import audit
from hub.contract.errors import HubError

log = logging.getLogger(__name__)


class TooManyFailures(HubError):
    code = "too_many_failures"
    status = 429

    def __init__(self, retry_after: float):
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(f"too many failed sign-ins or bad tokens from this address: try again in {seconds} s",
                         details={"retry_after": seconds})
        self.headers = {"Retry-After": str(seconds)}


class FailureLimiter:
    def __init__(self, settings: dict[str, Any], clock: Callable[[], float] = time.monotonic):
        self.max_failures = settings["max_failures"]
        self.window = settings["failure_window"]
        self.report_seconds = settings["report_seconds"]
        self.clock = clock
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._counts: Counter[tuple[str, str]] = Counter()  # (address, kind) since the last report
        self._since = clock()
        self._since_wall = dt.datetime.now(dt.UTC)

    def check(self, address: str) -> None:
        """Raise :class:`TooManyFailures` while ``address`` is over the limit."""
        now = self.clock()
        with self._lock:
            recent = self._recent.get(address)
            if recent is None:
                return
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if not recent:
                del self._recent[address]
            elif len(recent) >= self.max_failures:
                raise TooManyFailures(recent[0] + self.window - now)

    def failed(self, address: str, kind: str, reason: str) -> None:
        """Count a failure (``kind``: ``signin`` or ``token``) and log it."""
        log.warning("%s failed from %s: %s", "console sign-in" if kind == "signin" else "bearer token", address,
                    reason)
        with self._lock:
            self._recent.setdefault(address, deque()).append(self.clock())
            self._counts[(address, kind)] += 1

    def report_due(self, store, force: bool = False) -> None:
        """Append the counts since the last report to the audit log, when one is due."""
        now = self.clock()
        with self._lock:
            if not self._counts or (not force and now - self._since < self.report_seconds):
                return
            counts, self._counts = self._counts, Counter()
            started, self._since, self._since_wall = self._since_wall, now, dt.datetime.now(dt.UTC)
        by_address: dict[str, dict[str, int]] = {}
        for (address, kind), n in sorted(counts.items()):
            by_address.setdefault(address, {})[kind] = n
        details = {"from": started.isoformat(timespec="seconds"),
                   "to": self._since_wall.isoformat(timespec="seconds"),
                   "total": sum(counts.values()), "by_address": by_address}
        try:
            with store.transaction() as session:
                audit.append(session, "hub", "auth.failures", f"{len(by_address)} address(es)", details)
        except Exception:  # noqa: BLE001  (the store is down: keep the counts for the next report)
            log.exception("could not audit %d authentication failure(s)", details["total"])
            with self._lock:
                self._counts.update(counts)


def limiter() -> FailureLimiter:
    return current_app.extensions["wagehub.failures"]


def client_address() -> str:
    return request.remote_addr or "unknown"
