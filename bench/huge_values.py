"""Measure the parsers on 10 MB values: every field of every good sample in turn holds a
10 MB string (in JSON also a 10-million-digit number), the cases the suite checks for
their outcome in ``tests/plugins/test_huge_values.py``. Prints, per agency, the cases, the
outcomes and the slowest and total CPU-bound wall time of ``parse_message`` plus the
canonical check. Usage: ``python bench/huge_values.py [AGENCY ...]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.plugins.test_huge_values import PLUGINS, cases, judge  # noqa: E402


def measure(agency: str) -> dict:
    seen: dict[str, int] = {}
    slowest, slowest_case, total = 0.0, "", 0.0
    for sample, name, body in cases(agency):
        started = time.perf_counter()
        outcome = judge(agency, sample, body)
        took = time.perf_counter() - started
        total += took
        if took > slowest:
            slowest, slowest_case = took, f"{sample.name} {name}"
        seen[outcome] = seen.get(outcome, 0) + 1
    return {"agency": agency, "cases": sum(seen.values()), "outcomes": seen, "slowest_s": round(slowest, 3),
            "slowest_case": slowest_case, "total_s": round(total, 3)}


def main(argv: list[str]) -> None:
    print(f"{'agency':<11}{'cases':>6}{'slowest s':>11}{'total s':>9}  slowest case")
    for agency in argv or sorted(PLUGINS):
        row = measure(agency)
        print(f"{agency:<11}{row['cases']:>6}{row['slowest_s']:>11.2f}{row['total_s']:>9.2f}  {row['slowest_case']}")


if __name__ == "__main__":
    main(sys.argv[1:])
