"""What rendering costs a relay, per recipient and kind, and what a process pool would add.

The mix's messages (``bench/mix.py``) go through the pipeline of an embedded hub; every
outbox row they leave is then rendered as the relay does (``Relay._render``: the plugin's
renderer, the headers, the signature), timed per recipient and kind. The same deliveries
are rendered again in a pool of 2 worker processes (``ProcessPoolExecutor``), the way a
relay would hand rendering off its thread: the round trip per delivery (the delivery
pickled there, the rendered body back) is set beside the cost of rendering in place.

    python bench/renderers.py [N]     # N mix messages (default 600)
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mix  # noqa: E402

import hub  # noqa: E402

_registry = None


def _render_there(delivery: hub.Delivery) -> int:
    """In a pool process: render one delivery with the recipient's plugin (loaded once)."""
    global _registry
    if _registry is None:
        from hub.config import load_settings
        from hub.runtime import Hub

        _registry = Hub(load_settings({"hub": {"var_dir": tempfile.mkdtemp()}}, environ={})).registry
    return len(_registry.get(delivery.recipient).render(delivery).body)


def run(n: int = 600) -> dict:
    from sqlalchemy import select

    from hub.config import load_settings
    from hub.messaging.relay import Relay
    from hub.runtime import Hub
    from hub.store.models import Outbox

    settings = load_settings({"hub": {"var_dir": tempfile.mkdtemp(prefix="wagehub-bench-render-")}}, environ={})
    h = Hub(settings)
    logging.getLogger("hub").setLevel(logging.WARNING)
    h.pipeline.process([hub.NativeMessage(agency="housing", body=mix.PROJECTS.encode(), message_id="projects",
                                          content_type="text/csv", content_encoding="utf-8", kind="PROJECT")])
    items = mix.set_up_items(n, "", 0)
    messages = [hub.NativeMessage(agency=a, body=b, message_id=f"setup-{i}", content_type=c, content_encoding=e,
                                  kind=hd.get("x-wagehub-kind"), headers=hd) for i, (a, b, c, e, hd) in enumerate(items)]
    for i in range(n):
        a, b, c, e, hd = mix.make(i)
        messages.append(hub.NativeMessage(agency=a, body=b, message_id=f"m-{i}", content_type=c, content_encoding=e,
                                          kind=hd.get("x-wagehub-kind"), headers=hd))
    for k in range(0, len(messages), 100):
        h.pipeline.process(messages[k:k + 100])
    relay = Relay(h.store, h.registry, None, settings)
    with h.store.transaction() as session:
        rows = list(session.execute(select(Outbox.__table__)))
    times: dict[str, list[float]] = {}
    deliveries = []
    cpu = time.process_time()
    for row in rows:
        start = time.perf_counter()
        out = relay._render(row)
        times.setdefault(f"{row.recipient} {row.kind}", []).append(1000 * (time.perf_counter() - start))
        deliveries.append(out.delivery)
    result = {"deliveries": len(rows), "in_place": {k: {"count": len(v), "ms_median": round(statistics.median(v), 3),
                                                      "ms_mean": round(statistics.fmean(v), 3)}
                                                  for k, v in sorted(times.items())}}
    in_place_cpu = time.process_time() - cpu
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_render_there, deliveries[:50]))  # start-up and plugin loading are not timed
        start, cpu = time.perf_counter(), time.process_time()
        list(pool.map(_render_there, deliveries, chunksize=1))
        pool_ms, pool_cpu = 1000 * (time.perf_counter() - start), time.process_time() - cpu
    result["in_place_cpu_ms_per_delivery"] = round(1000 * in_place_cpu / len(rows), 3)
    result["pool_wall_ms_per_delivery"] = round(pool_ms / len(rows), 3)
    result["pool_relay_cpu_ms_per_delivery"] = round(1000 * pool_cpu / len(rows), 3)
    h.shutdown()
    return result


def table(r: dict) -> str:
    lines = [f"{'recipient, kind':<28}{'deliveries':>11}{'ms median':>11}{'ms mean':>9}"]
    for k, v in r["in_place"].items():
        lines.append(f"{k:<28}{v['count']:>11,}{v['ms_median']:>11}{v['ms_mean']:>9}")
    lines.append(f"in place, on the relay's thread: {r['in_place_cpu_ms_per_delivery']} ms CPU a delivery (render, "
                 f"headers, signature); handed to a pool of 2 processes: {r['pool_relay_cpu_ms_per_delivery']} ms CPU "
                 f"a delivery left on the relay's side (pickling, the pool's threads), "
                 f"{r['pool_wall_ms_per_delivery']} ms wall a delivery")
    return "\n".join(lines)


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
    print(table(result))
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(result, indent=2))
