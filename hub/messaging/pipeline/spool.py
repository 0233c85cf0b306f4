"""The records parsed from one message, held between parsing and the transaction.

A message is parsed whole before its transaction opens, so a batch file's records wait in
memory meanwhile: as Python dicts, about 3 KB a row. The spool keeps the first ``chunk``
rows as they are and packs each further ``chunk`` into one zlib-compressed pickle (about
100 bytes a row, a microsecond a row each way), so a 100,000-row file waits in a few MB,
in memory only (the records carry personal data: nothing is written to disk before the
store). The pickles are the hub's own, made and read in one process.

Iterating gives fresh dicts for the packed entries: a consumer must not count on a change
it made to a record in one pass being there in the next.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Entry = tuple[dict[str, Any], str, Mapping[str, str] | None]  # (record, fingerprint, native names)


def weight(record: Mapping[str, Any]) -> int:
    """About how much a record holds, in rows: one, plus the items of its lists (a payroll
    month's workers). Limits counted in records would let a few large ones fill memory."""
    return 1 + sum(len(v) for v in record.values() if isinstance(v, list))


class RecordSpool:
    """An ordered, append-only list of ``(record, fingerprint)``, compact past ``chunk`` rows
    (by :func:`weight`)."""

    def __init__(self, entries: Iterable[tuple[dict[str, Any], str]] = (), chunk: int = 1000):
        self.chunk = chunk
        self.clear()
        for record, fp in entries:
            self.append(record, fp)

    def append(self, record: dict[str, Any], fingerprint: str, names: Mapping[str, str] | None = None) -> None:
        """Add one record; ``names`` maps its fields to the native ones (for error messages)."""
        entry = (record, fingerprint, dict(names) if names else None)
        self._len += 1
        self.types.add(record["type"])
        if not self._packed and not self._tail and self._head_weight < self.chunk:
            self._head.append(entry)  # most messages fit in the first chunk: kept as they are
            self._head_weight += weight(record)
            return
        self._tail.append(entry)
        self._tail_weight += weight(record)
        if self._tail_weight >= self.chunk:
            self._packed.append(zlib.compress(pickle.dumps(self._tail, pickle.HIGHEST_PROTOCOL), 1))
            self._tail, self._tail_weight = [], 0

    def clear(self) -> None:
        self._head: list[Entry] = []
        self._packed: list[bytes] = []
        self._tail: list[Entry] = []
        self._len = self._head_weight = self._tail_weight = 0
        self.types: set[str] = set()  # the record types it holds

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def entries(self) -> Iterator[Entry]:
        """Each ``(record, fingerprint, names)``, in the order they were added."""
        yield from self._head
        for blob in self._packed:
            yield from pickle.loads(zlib.decompress(blob))
        yield from self._tail

    def __iter__(self) -> Iterator[tuple[dict[str, Any], str]]:
        for record, fp, _ in self.entries():
            yield record, fp
