"""``wagehub demo``: one whole arrears matter through the hub, on the embedded defaults.

Every installed plugin's sample messages are published as their agency would, in the
order the events happened; the hub's workers run in this process, and a small webhook
receiver on 127.0.0.1 plays the agencies that have no queue; then the matter's timeline,
what each agency received, and the dead letters of the bad samples are printed.
"""

from __future__ import annotations

import http.server
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from hub.client import publish_native, read_out
from hub.config import DEFAULTS, load_settings
from hub.errors import InvalidMessage
from hub.ids import BEIJING
from hub.runtime import Hub, Workers
from hub.store.models import DeadLetter, Inbox, Outbox, Record
from hub.types import NativeMessage
from schemas.validators import mask_id_number, mask_mobile

SUMMARY_FIELDS = ("clue_no", "case_no", "order_no", "transfer_no", "status", "decision", "police_case_no",
                  "case_number", "verdict", "outcome", "project_code", "month", "amount_owed", "amount",
                  "amount_ordered", "amount_paid", "amount_short", "amount_agreed", "worker_count", "risks")


def _summary(record: dict) -> str:
    parts = []
    for name in SUMMARY_FIELDS:
        value = record.get(name)
        if value not in (None, "", []):
            parts.append(f"{name}={value}")
    complainant = record.get("complainant") or {}
    if complainant.get("mobile"):
        parts.append(f"mobile={mask_mobile(complainant['mobile'])}")
    if complainant.get("id_number"):
        parts.append(f"id={mask_id_number(complainant['id_number'])}")
    return " ".join(parts)


class _Sink(http.server.ThreadingHTTPServer):
    """Takes webhook POSTs and keeps them, as a contractor's head office would."""

    daemon_threads = True

    def __init__(self):
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, dict(self.headers), body))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def _fill(value: Any, port: int) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, port) for k, v in value.items()}
    return value.replace("{sink_port}", str(port)) if isinstance(value, str) else value


def run_demo(var_dir: str, timeout: float, echo: Callable[[str], None] = print) -> int:
    sink = _Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    demo_settings = _fill(tomllib.loads((DEFAULTS / "demo.toml").read_text(encoding="utf-8")),
                          sink.server_address[1])
    settings = load_settings({**demo_settings, "hub": {"var_dir": var_dir, "broker_url": "", "database_url": ""}})
    try:
        return _run(settings, sink, var_dir, timeout, echo)
    finally:
        sink.shutdown()
        sink.server_close()


def _run(settings, sink: _Sink, var_dir: str, timeout: float, echo: Callable[[str], None]) -> int:
    hub = Hub(settings)
    hub.declare_topology()
    samples = []
    for adapter in hub.registry.adapters.values():
        for sample in adapter.samples():
            samples.append((sample.at or "", adapter, sample))
    samples.sort(key=lambda s: (s[2].bad, s[0]))
    good = [s for s in samples if not s[2].bad]
    bad = [s for s in samples if s[2].bad]
    echo(f"wagehub demo: {len(hub.registry.adapters)} agencies ({', '.join(hub.registry.codes())}), "
         f"{len(good)} sample messages and {len(bad)} bad ones; embedded broker and database in {var_dir}/")
    started = time.monotonic()
    with Workers(hub):
        with hub.connection() as conn:
            for _, adapter, sample in samples:
                native = NativeMessage(adapter.code, sample.body, kind=sample.kind, headers=dict(sample.headers))
                try:
                    key = adapter.key_for(native)
                except InvalidMessage:
                    key = None
                publish_native(conn, adapter.code, sample.body, content_type=sample.content_type,
                               content_encoding=sample.content_encoding, kind=sample.kind,
                               message_id=f"demo-{adapter.code}-{sample.name}", key=key,
                               headers=dict(sample.headers), settings=settings)
                echo(f"  {'bad ' if sample.bad else ''}{adapter.code:>8} → hub  {sample.kind or '':<10} {sample.name}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with hub.store.sessions() as session:
                done = session.execute(select(func.count()).select_from(Inbox)).scalar() + \
                    session.execute(select(func.count(func.distinct(DeadLetter.message_id)))
                                    .where(~DeadLetter.message_id.in_(select(Inbox.message_id)))).scalar()
                pending = session.execute(select(func.count()).select_from(Outbox)
                                          .where(Outbox.status == "pending")).scalar()
            if done >= len(samples) and pending == 0:
                break
            time.sleep(0.2)
        else:
            echo(f"timed out after {timeout}s: {done} of {len(samples)} messages handled, {pending} deliveries pending")
            return 1
    elapsed = time.monotonic() - started
    with hub.store.sessions() as session:
        top = session.execute(select(Record.matter_id, func.count()).group_by(Record.matter_id)
                              .order_by(func.count().desc())).first()
        matter_id = top[0]
        records = list(session.scalars(select(Record).where(Record.matter_id == matter_id)
                                       .order_by(Record.occurred_at, Record.seq)))
        deliveries = list(session.scalars(select(Outbox).where(Outbox.matter_id == matter_id).order_by(Outbox.id)))
        others = session.execute(select(func.count()).select_from(Record).where(Record.matter_id != matter_id)).scalar()
        dead = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    echo("")
    echo(f"Matter {matter_id}: {len(records)} records from "
         f"{len({r.source_agency for r in records})} agencies, in time order")
    for r in records:
        echo(f"  {r.occurred_at.astimezone(BEIJING).strftime('%Y-%m-%d %H:%M')}  {r.source_agency:<8} {r.type:<18} "
             f"{_summary(r.data)}")
    if others:
        echo(f"  (+{others} record(s) on other matters, e.g. early warnings on projects)")
    echo("")
    echo("Delivered by the hub (each in the recipient's own format):")
    for d in deliveries:
        echo(f"  {d.route:<28} → {d.recipient:<10} {d.kind:<14} {d.status}")
    echo("")
    with hub.connection() as conn:
        for code in hub.registry.codes():
            got = read_out(conn, code, settings, timeout=0.5)
            if got:
                kinds = Counter(m.headers.get("x-wagehub-kind") for m in got)
                encodings = Counter(m.content_encoding for m in got)
                echo(f"  wagehub.out.{code:<8} {len(got)} message(s): "
                     + ", ".join(f"{k} ×{n}" for k, n in kinds.items())
                     + f"  ({', '.join(f'{e}' for e in encodings)})")
    for path, headers, _body in sink.received:
        echo(f"  webhook {path:<17} 1 message: {headers.get('X-Wagehub-Record-Type')} "
             f"(signed {headers.get('X-Wagehub-Signature', '')[:14]}…)")
    echo("")
    echo(f"Dead letters ({len(dead)}), each with its original bytes, replayable after a fix:")
    for dl in dead:
        row = f" row {dl.row}" if dl.row else ""
        echo(f"  #{dl.id} {dl.agency:<8} {dl.kind or '-':<10}{row} {dl.reason}")
    echo("")
    echo(f"done in {elapsed:.1f}s. Next: `wagehub run` serves the API on http://127.0.0.1:8000/ "
         f"(see README).")
    hub.shutdown()
    return 0
