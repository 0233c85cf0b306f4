"""An outcome's failures behave as a list, however many a batch file has: past a block
they are held compressed, and come back whole and in order."""

from __future__ import annotations

import pytest

from hub.messaging.pipeline import Failure, Failures


def failure(i: int) -> Failure:
    return Failure(f"row {i}: 身份证号 has a wrong check character (rule: id-check)", "身份证号", "id-check",
                   "PAYROLL", i, f"项目编号,工人姓名\r\n3701,工人{i}\r\n".encode("gb18030"))


def test_thousands_of_failures_come_back_whole_and_in_order():
    items = [failure(i) for i in range(2 * Failures.BLOCK + 7)]
    held = Failures(items)
    assert len(held) == len(items) and bool(held)
    assert list(held) == items
    assert held[0] == items[0] and held[Failures.BLOCK + 3] == items[Failures.BLOCK + 3] and held[-1] == items[-1]
    with pytest.raises(IndexError):
        held[len(items)]


def test_insert_pop_and_clear_keep_the_order():
    held = Failures(failure(i) for i in range(Failures.BLOCK))  # exactly one block, nothing after it
    held.insert(0, failure(-1))
    assert [f.row for f in held][:3] == [-1, 0, 1] and len(held) == Failures.BLOCK + 1
    assert held.pop().row == Failures.BLOCK - 1 and held.pop().row == Failures.BLOCK - 2
    held.clear()
    assert len(held) == 0 and not held and list(held) == []
    [one] = Failures([failure(5)])
    assert one.row == 5
