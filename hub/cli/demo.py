"""``wagehub demo``: one whole arrears matter through the hub, on the embedded defaults.

Every installed plugin's sample messages are published as their agency would, in the
order the events happened; the hub's workers run in this process, and a small webhook
receiver on 127.0.0.1 plays the agencies that have no queue; then the matter's timeline,
what each agency received in its own format (the payloads, indented and cut to a few lines,
identity numbers and mobiles masked on the screen), and the dead letters of the bad
samples are printed. Last, two criminal transfers (``hub/defaults/demo-stories.toml``) are
followed step by step: one resubmitted after the police asked for materials, one
reconsidered after a decline.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
import tomllib
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import defusedxml.ElementTree
from sqlalchemy import func, select

from hub.casework import listing
from hub.config import DEFAULTS, load_settings
from hub.contract.errors import InvalidMessage
from hub.contract.types import NativeMessage
from hub.ids import BEIJING
from hub.logs import redact
from hub.messaging.client import describe_body, publish_native, read_out
from hub.runtime import Hub, Workers
from hub.store.models import DeadLetter, Deadline, Inbox, Outbox, Record
from schemas.validators import mask_id_number, mask_mobile

# A payload's identity number or mobile stands alone (a value between tags, quotes or
# commas); digits inside the hub's hex ids (out_01a24a4e17933558429f...) are not one.
_PERSONAL = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|1\d{10})(?![0-9A-Za-z])")
SHOWN_LINES = 16  # of a payload, on the demo's screen
SHOWN_WIDTH = 120
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


def readable(body: bytes, content_type: str | None, encoding: str | None) -> str:
    """A native body as people read it: JSON and XML indented (their bytes carry no line
    breaks), a workbook's rows, other text as it is."""
    text = describe_body(body, content_type, encoding)
    kind = (content_type or "").lower()
    try:
        if "json" in kind:
            return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
        if "xml" in kind:
            declaration = text[:text.index("?>") + 2] if text.startswith("<?xml") else ""
            root = defusedxml.ElementTree.fromstring(text[len(declaration):])  # decoded: expat has no GB18030
            ElementTree.indent(root)
            return (declaration + "\n" if declaration else "") + ElementTree.tostring(root, encoding="unicode")
    except (ValueError, ElementTree.ParseError):
        pass
    return text


def shown(text: str, lines: int = SHOWN_LINES, width: int = SHOWN_WIDTH) -> list[str]:
    """The first ``lines`` lines, each cut to ``width``, identity numbers and mobiles masked."""
    all_lines = [_PERSONAL.sub(lambda m: redact(m.group()), line.rstrip()) for line in text.strip("\n").splitlines()]
    out = [line if len(line) <= width else line[:width - 1] + "…" for line in all_lines[:lines]]
    if len(all_lines) > lines:
        out.append(f"… ({len(all_lines) - lines} more lines)")
    return out


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


def _tell_stories(hub, settings, timeout: float) -> list[tuple[dict, dict]] | None:
    """Send each story's messages in order, each once the hub has taken the one before;
    returns each story with its transfer as the API shows it (None: timed out)."""
    from hub.casework.transfers import transfer_view

    stories = tomllib.loads((DEFAULTS / "demo-stories.toml").read_text(encoding="utf-8"))["stories"]
    out = []
    for story in stories:
        for i, message in enumerate(story["messages"]):
            message_id = f"demo-{story['transfer_no']}-{i}"
            body = message["body"].encode()
            adapter = hub.registry.get(message["agency"])
            try:
                key = adapter.key_for(NativeMessage(adapter.code, body, message_id, message["content_type"]))
            except InvalidMessage:
                key = None
            with hub.connection() as conn:
                publish_native(conn, message["agency"], body, content_type=message["content_type"],
                               message_id=message_id, key=key, settings=settings)
            deadline = time.monotonic() + timeout
            while not _taken(hub, message["agency"], message_id):
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.05)
        with hub.store.sessions() as session:
            out.append((story, transfer_view(session, story["transfer_no"], settings)))
    return out


def _taken(hub, agency: str, message_id: str) -> bool:
    """Applied or dead-lettered (an agency with several senders keeps ``<sender>/<id>``)."""
    with hub.store.sessions() as session:
        return any(session.execute(select(func.count()).select_from(model).where(
            model.agency == agency, (model.message_id == message_id)
            | model.message_id.endswith("/" + message_id, autoescape=True))).scalar() > 0
            for model in (Inbox, DeadLetter))


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


def _show_received(code: str, got: list, echo: Callable[[str], None]) -> None:
    by_kind: dict[str, list] = {}
    for m in got:
        by_kind.setdefault(m.headers.get("x-wagehub-kind") or "-", []).append(m)
    for kind, messages in by_kind.items():
        first = messages[0]
        echo("")
        echo(f"  wagehub.out.{code}  {kind}  {first.content_type}, {first.content_encoding}  "
             f"{first.headers.get('x-wagehub-record-type')} from {first.headers.get('x-wagehub-source')}")
        for line in shown(readable(first.body, first.content_type, first.content_encoding)):
            echo(f"    {line}")
        if len(messages) > 1:
            echo(f"    + {len(messages) - 1} more {kind}: "
                 + ", ".join(m.headers.get("x-wagehub-record-type") or "-" for m in messages[1:]))


def _pending(hub) -> int:
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(Outbox).where(Outbox.status == "pending")).scalar()


def _show_listings(hub, echo: Callable[[str], None]) -> None:
    """The dishonest-employer list: the hub's proposal, labour inspection's decision, where
    each decision went, and the term's end."""
    with hub.store.sessions() as session:
        views = listing.listings(session)
        proposals = list(session.scalars(select(Outbox).where(Outbox.record_type == "listing_candidate")
                                         .order_by(Outbox.id)))
        sent = {(d.record_id, d.recipient, d.kind) for d in session.scalars(
            select(Outbox).where(Outbox.record_type == listing.TYPE))}
    echo("")
    echo("The dishonest-employer list (人社部令第45号, docs/listing.md): proposed, decided, sent on, ended:")
    for p in proposals:
        record = p.payload["record"]
        echo(f"  proposed to {p.recipient} ({p.kind} LISTING_CANDIDATE): {record['employer'].get('name')}, "
             f"ground {record['ground']} ({record['ground_ref']}), {p.status}")
    for v in views:
        echo(f"  {v['list_no']}  {v['name']}  {v['status']}, on the list {v['start_date']} to "
             f"{v['ended_on'] or v['end_date']}")
        for h in v["history"]:
            to = sorted(f"{r} {k}" for rid, r, k in sent if rid == h["record_id"])
            echo(f"    {h['decision_date']}  {h['action']:<7} by {h['source_agency']:<5} → {', '.join(to) or '-'}")


def _show_work_orders(hub, echo: Callable[[str], None]) -> None:
    """The complainant's loop: each work order a hotline sent, what went back, its answer
    steps and the call backs (docs/linkage.md, "The complainant's loop")."""
    from hub.casework import deadlines

    with hub.store.sessions() as session:
        orders = [r.data for r in session.scalars(select(Record).where(Record.type == "work_order")
                                                  .order_by(Record.seq))]
        if not orders:
            return
        echo("")
        echo("The complainant's loop (a work order from the hotline, answered in its own format):")
        for order in orders:
            matter_id, number = order["matter_id"], order["work_order_no"]
            records = list(session.scalars(select(Record).where(Record.matter_id == matter_id).order_by(Record.seq)))
            deliveries = list(session.scalars(select(Outbox).where(Outbox.matter_id == matter_id)
                                              .order_by(Outbox.id)))
            steps = list(session.scalars(select(Deadline).where(Deadline.matter_id == matter_id,
                                                                Deadline.rule == "work_order_reply",
                                                                Deadline.subject == number)
                                         .order_by(Deadline.start_at)))
            echo(f"  {number}  from {order['source_agency']}, taken {order['taken_at'][:16].replace('T', ' ')}, "
                 f"result due by {order['reply_by'][:16].replace('T', ' ')}, matter {matter_id}")
            clue = {r.record_id for r in records if r.type == "clue" and r.source_ref == number}
            echo("    on to: " + ", ".join(f"{d.recipient} {d.kind}" for d in deliveries if d.record_id in clue))
            echo("    back:  " + ", ".join(
                f"{d.kind} {d.payload['params']['stage']}" if (d.payload or {}).get("params", {}).get("stage")
                else d.kind for d in deliveries if d.recipient == order["source_agency"]))
            for call in (r.data for r in records if r.type == "satisfaction" and r.data["work_order_no"] == number):
                said = ", ".join(f"{k} {'yes' if call.get(k) else 'no'}" for k in ("reached", "resolved", "paid")
                                 if call.get(k) is not None)
                told = ", ".join(f"{d.recipient} {d.kind} {d.payload['params']['notice_kind']}"
                                 for d in deliveries if d.record_type == "reopening")
                echo(f"    call back {call['called_at'][:16].replace('T', ' ')}: {said}"
                     + (f" -> reopened, told: {told}" if deadlines.reopens(call) else ""))
            for step in steps:
                status, _ = deadlines.state(step)
                echo(f"    {step.key:<48} {status:<8} due {step.due_at.astimezone(BEIJING).strftime('%Y-%m-%d %H:%M')}")


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
                # Each agency has its own consumer: the next event is sent once this one is
                # applied, as the days between them would have it (a clue's contractor is
                # known once the project is in the store).
                until = time.monotonic() + timeout
                while not _taken(hub, adapter.code, f"demo-{adapter.code}-{sample.name}") \
                        and time.monotonic() < until:
                    time.sleep(0.02)
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
        stories = _tell_stories(hub, settings, timeout)
        if stories is None:
            echo(f"timed out after {timeout}s on the criminal-linkage stories")
            return 1
        # The sample listing's term (three years from 2023) has ended: the hub expires it by
        # itself, as its clock would each day, and tells the agencies that restrict it.
        listing.expire_due(hub)
        until = time.monotonic() + timeout
        while _pending(hub) and time.monotonic() < until:
            time.sleep(0.1)
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
    _show_work_orders(hub, echo)
    echo("")
    echo("What each agency received, in its own format (the first of each kind; JSON and XML indented")
    echo("and cut here, identity numbers and mobiles masked on this screen only):")
    with hub.connection() as conn:
        for code in hub.registry.codes():
            _show_received(code, read_out(conn, code, settings, timeout=0.5), echo)
    by_path: dict[str, list[tuple[dict[str, str], bytes]]] = {}
    for path, headers, body in sink.received:
        by_path.setdefault(path, []).append((headers, body))
    for path, posts in by_path.items():  # the first POST to each webhook, as for the queues
        headers, body = posts[0]
        echo("")
        echo(f"  webhook POST {path}  {headers.get('Content-Type')}  {headers.get('X-Wagehub-Record-Type')}, "
             f"signed {headers.get('X-Wagehub-Signature', '')[:14]}…")
        for line in shown(readable(body, headers.get("Content-Type"), None)):
            echo(f"    {line}")
        if len(posts) > 1:
            echo(f"    + {len(posts) - 1} more: "
                 + ", ".join(sorted({str(h.get("X-Wagehub-Record-Type")) for h, _ in posts[1:]})))
    echo("")
    echo(f"Dead letters ({len(dead)}), each with its original bytes, replayable after a fix:")
    for dl in dead:
        row = f" row {dl.row}" if dl.row else ""
        echo(f"  #{dl.id} {dl.agency:<8} {dl.kind or '-':<10}{row} {dl.reason}")
    echo("")
    echo("Criminal linkage: two transfers followed step by step (docs/linkage.md):")
    for story, view in stories:
        echo(f"  {view['transfer_no']}  {story['title']}")
        for event in view["timeline"]:
            round_no = f" round {event['round']}" if event.get("round") else ""
            echo(f"    {(event['at'] or '')[:16].replace('T', ' ')}  {event['status']:<14}{round_no}")
        echo(f"    status now: {view['status']}; its steps:")
        for s in view["steps"]:
            echo(f"    {s['key']:<48} {s['status']:<8} due {s['due_at'][:16].replace('T', ' ')}")
    _show_listings(hub, echo)
    echo("")
    echo(f"done in {elapsed:.1f}s. Next: `wagehub run` serves the API on http://127.0.0.1:8000/ "
         f"(see README).")
    hub.shutdown()
    return 0
