"""What the parser benchmarks share: peak memory and a timed pass over a plugin's parser."""

from __future__ import annotations

import resource
import sys
import time

import hub


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024


def time_parse(parse_message, message: hub.NativeMessage) -> tuple[int, int, float]:
    """Run a plugin's ``parse_message`` to the end: (records, rejected rows, seconds)."""
    start = time.perf_counter()
    parsed = rejected = 0
    for item in parse_message(message=message, settings={}):
        if isinstance(item, hub.Rejected):
            rejected += 1
        else:
            parsed += 1
    return parsed, rejected, time.perf_counter() - start
