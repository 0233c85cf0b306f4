"""The records of one message wait for their transaction in a spool: in order, with the
native field names of the ones the state check may refuse, compact past the first chunk."""

from __future__ import annotations

import sys

from hub.messaging.pipeline.spool import RecordSpool


def record(i: int) -> dict:
    return {"type": "worker_payout", "source_ref": f"B/1/{i}", "worker_name": "高秀英", "amount": f"{i}.00",
            "workers": [{"id_hash": "ab" * 32}], "paid": i % 2 == 0}


def test_records_come_back_in_order_and_equal_across_the_packed_chunks():
    spool = RecordSpool(chunk=10)
    for i in range(35):  # the first chunk kept, two packed, five being filled
        spool.append(record(i), f"fp{i}", {"amount": "金额"} if i == 17 else None)
    assert len(spool) == 35 and spool
    assert [fp for _, fp in spool] == [f"fp{i}" for i in range(35)]
    assert [r for r, _ in spool] == [record(i) for i in range(35)]
    names = {fp: n for _, fp, n in spool.entries() if n}
    assert names == {"fp17": {"amount": "金额"}}
    # twice: iterating does not consume
    assert sum(1 for _ in spool) == 35


def test_a_packed_record_is_a_fresh_dict_each_pass_and_the_first_chunk_the_same():
    spool = RecordSpool(chunk=2)
    first, later = record(0), record(5)
    for r in (first, record(1), record(2), record(3), later):
        spool.append(r, "fp")
    passed = [r for r, _ in spool]
    assert passed[0] is first
    assert passed[2] is not record(2) and passed[2] == record(2)


def test_clear_empties_it():
    spool = RecordSpool([(record(i), "fp") for i in range(5)], chunk=2)
    spool.clear()
    assert len(spool) == 0 and not spool and list(spool) == []


def test_many_records_wait_in_a_fraction_of_their_size_as_dicts():
    """The point of the spool: a batch file's rows as dicts would take about 3 KB each."""
    spool = RecordSpool()
    for i in range(20_000):
        spool.append(record(i), f"{i:064x}")
    packed = sum(sys.getsizeof(b) for b in spool._packed)
    assert packed < 20_000 * 200
