"""What becomes of a message: its outcome, and why it or its rows were refused."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hub.contract.types import NativeMessage
from hub.messaging.pipeline.spool import RecordSpool


@dataclass(slots=True)  # a batch file may hold many (one per bad row) until its transaction
class Failure:
    """Why a message or a row was refused (no personal data in any of it)."""

    reason: str
    field: str | None = None
    rule: str | None = None
    kind: str | None = None
    row: int = 0
    body: bytes | None = None


class Failures:
    """An outcome's failures, in order, as a list holds them (append, iterate, index).

    A batch file may have hundreds of thousands, one per bad row with the row's bytes, all
    held until its transaction. Past each ``BLOCK`` they are pickled and compressed: the
    rows of one file are much alike, so a block takes about a tenth of the memory
    (``bench/housing_payroll.py --hub --bad-every 1``).
    """

    BLOCK = 1000

    def __init__(self, items: Iterable[Failure] = ()):
        self._blocks: list[bytes] = []  # BLOCK failures each, pickled and compressed
        self._tail: list[Failure] = []
        for item in items:
            self.append(item)

    def append(self, failure: Failure) -> None:
        self._tail.append(failure)
        if len(self._tail) >= self.BLOCK:
            self._blocks.append(zlib.compress(pickle.dumps(self._tail, protocol=pickle.HIGHEST_PROTOCOL), 1))
            self._tail = []

    def insert(self, index: int, failure: Failure) -> None:
        items = list(self)
        items.insert(index, failure)
        self.clear()
        for item in items:
            self.append(item)

    def pop(self) -> Failure:
        if not self._tail and self._blocks:
            self._tail = pickle.loads(zlib.decompress(self._blocks.pop()))
        return self._tail.pop()

    def clear(self) -> None:
        self._blocks, self._tail = [], []

    def __len__(self) -> int:
        return len(self._blocks) * self.BLOCK + len(self._tail)

    def __iter__(self) -> Iterator[Failure]:
        for block in self._blocks:
            yield from pickle.loads(zlib.decompress(block))
        yield from self._tail

    def __getitem__(self, index: int) -> Failure:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("failure index out of range")
        block, at = divmod(index, self.BLOCK)
        return pickle.loads(zlib.decompress(self._blocks[block]))[at] if block < len(self._blocks) else self._tail[at]

    def __repr__(self) -> str:
        return f"Failures({len(self)})"


@dataclass
class Outcome:
    """What became of one message."""

    agency: str
    message_id: str | None
    status: str = "accepted"
    """``accepted`` (possibly with some rows dead-lettered), ``duplicate``, or ``rejected``."""
    records: list[str] = field(default_factory=list)
    dead_letters: list[int] = field(default_factory=list)
    failures: Failures = field(default_factory=Failures)
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency, "message_id": self.message_id, "status": self.status,
            "records": self.records, "dead_letters": self.dead_letters, "kind": self.kind,
            "errors": [{"reason": f.reason, "field": f.field, "rule": f.rule, "row": f.row or None}
                       for f in self.failures],
        }


@dataclass
class _Prepared:
    message: NativeMessage
    outcome: Outcome
    records: RecordSpool = field(default_factory=RecordSpool)  # (record, fingerprint), compact when many
    whole_failure: Failure | None = None
