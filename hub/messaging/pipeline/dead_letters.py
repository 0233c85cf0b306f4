"""Dead letters: a refused message's or row's original bytes, kept to replay."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter
from collections.abc import Collection, Iterable, Iterator

from sqlalchemy import insert, select

from hub.contract.errors import Conflict
from hub.contract.types import NativeMessage
from hub.messaging.pipeline.check import _clean, _fitted, _unstorable_fields, _unstorable_path
from hub.messaging.pipeline.outcome import Failure, Outcome
from hub.store import any_of
from hub.store.models import DeadLetter, utcnow

log = logging.getLogger("hub.messaging.pipeline")  # one logger for every stage


class DeadLettering:
    """Dead letters (a part of :class:`hub.messaging.pipeline.Pipeline`)."""

    def _dead_letters(self, session, msg: NativeMessage, failures: Collection[Failure],
                      replay_of: int | None) -> list[int]:
        """Store a dead letter for each failure (the original bytes: the row's, or the whole
        message's); returns their ids, in order. One that is stored already (a redelivery of
        the same message) is not stored twice. A batch file with many bad rows costs one
        query and a few bulk inserts, not two statements a row."""
        if replay_of is not None:
            return [replay_of] * len(failures)
        msg = _fitted(msg)
        if _unstorable_fields(msg):
            msg = dataclasses.replace(msg, message_id=_clean(msg.message_id), kind=_clean(msg.kind),
                                      content_type=_clean(msg.content_type),
                                      content_encoding=_clean(msg.content_encoding),
                                      headers={_clean(str(k)): _clean(v) for k, v in dict(msg.headers).items()})
        headers = {k: v for k, v in dict(msg.headers).items() if isinstance(v, (str, int, float, bool))}
        out: list[int] = []
        logged: Counter = Counter()  # rows by rule: the first is logged, the rest counted
        first: dict[str | None, tuple[int, str, int, str | None]] = {}  # rule -> the first row's
        statement = insert(DeadLetter).returning(DeadLetter.id, sort_by_parameter_order=True)
        for chunk in _chunks(failures, 1000):  # (so a file's bad rows are never all held at once)
            ids: dict[tuple[str, int, str], int | None] = {}  # (message id, row, sha) -> id
            keys, rows = [], []
            for failure in chunk:
                if _unstorable_path([failure.reason, failure.field, failure.rule, failure.kind]):
                    failure = dataclasses.replace(failure, reason=_clean(failure.reason), field=_clean(failure.field),
                                                  rule=_clean(failure.rule), kind=_clean(failure.kind))
                body = failure.body if failure.body is not None else msg.body
                sha = hashlib.sha256(body).hexdigest()
                key = (msg.message_id or f"missing-{sha[:16]}", failure.row, sha)
                keys.append(key)
                if key not in ids:
                    ids[key] = None
                    rows.append({"agency": msg.agency, "kind": failure.kind or msg.kind, "message_id": key[0],
                                 "row": failure.row, "reason": failure.reason, "field": failure.field,
                                 "rule": failure.rule, "body": body, "body_sha256": sha,
                                 "content_type": msg.content_type, "content_encoding": msg.content_encoding,
                                 "headers": headers})
            # Stored already: by a redelivery of this message, or by an earlier chunk or message of this batch.
            for row_id, message_id, row, sha in session.execute(
                    select(DeadLetter.id, DeadLetter.message_id, DeadLetter.row, DeadLetter.body_sha256)
                    .where(DeadLetter.agency == msg.agency, any_of(session, DeadLetter.message_id, {k[0] for k in ids}),
                           DeadLetter.row.between(min(k[1] for k in ids), max(k[1] for k in ids)))):
                if (message_id, row, sha) in ids:
                    ids[(message_id, row, sha)] = row_id
            rows = [r for r in rows if ids[(r["message_id"], r["row"], r["body_sha256"])] is None]
            if rows:
                for r, row_id in zip(rows, session.execute(statement, rows).scalars()):
                    ids[(r["message_id"], r["row"], r["body_sha256"])] = row_id
                    logged[r["rule"]] += 1
                    first.setdefault(r["rule"], (row_id, r["message_id"], r["row"], r["field"]))
            out.extend(ids[key] for key in keys)
        for rule, count in logged.items():  # a line per rule, not per row: a file may have thousands
            row_id, message_id, row, field_name = first[rule]
            log.warning("dead letter %d: %s message %s row %s: field %s, rule %s%s", row_id, msg.agency, message_id,
                        row or "-", field_name, rule, f" (and {count - 1} more with this rule)" if count > 1 else "")
        return out

    def _mark_replay(self, session, dead_letter_id: int, outcome: Outcome) -> None:
        dl = session.get(DeadLetter, dead_letter_id)
        if dl is None:
            return
        dl.attempts = (dl.attempts or 0) + 1
        dl.replayed_at = utcnow()
        dl.replay_result = outcome.to_dict()
        if outcome.status in ("accepted", "duplicate") and not outcome.failures:
            dl.status = "replayed"
        elif outcome.failures:
            first = outcome.failures[0]
            dl.reason, dl.field, dl.rule = first.reason, first.field, first.rule


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last may be shorter), taken as they come."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def message_for_replay(dl: DeadLetter, body: bytes | None = None, signature: str | None = None) -> NativeMessage:
    """The native message a dead letter stands for (a row replays alone, under its own id),
    with the signature it came with, or ``signature`` (of fixed bytes) in its place."""
    from hub.store.retention import PRUNED

    message_id = dl.message_id if not dl.row else f"{dl.message_id}#row{dl.row}"
    headers = dict(dl.headers or {})
    if headers.pop(PRUNED, None) and body is None:
        raise Conflict(f"dead letter {dl.id}: its bytes were pruned (retention); replay it with fixed bytes")
    if signature is not None:
        headers["x-wagehub-signature"] = signature
    return NativeMessage(agency=dl.agency, body=body if body is not None else dl.body, message_id=message_id,
                         content_type=dl.content_type or None,  # replayed after review, with or without one
                         content_encoding=dl.content_encoding, kind=headers.get("x-wagehub-kind"), headers=headers)
