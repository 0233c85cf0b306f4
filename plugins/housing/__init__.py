"""housing: the construction sector's real-name and wage platform (住建 / 实名制平台), CSV.

Reads ``PROJECT`` batches (projects under supervision) as canonical ``project`` records
and ``PAYROLL`` batches (wages due and paid per worker and month) as ``payroll_month``
records, a project's rows of a month in one (the worker by the hash of the identity
number), and derived ``payroll_shortfall`` records, one per project and month where
someone was paid less than due; (format 1.2) ``ANSWER`` rows (交办回复) as
``assignment_answer``, ``ROSTER`` rows (实名制进退场) as ``roster_entry`` and ``CONTRACT``
rows (电子劳动合同) as ``labour_contract`` records;
writes ``ASSIGNMENT`` (交办) for a clue that names a project and ``REMINDER`` (催办) when
its answer is overdue (see docs/formats/housing.md). ``source_ref`` is the project code,
``<project>/<month>`` for a shortfall, the assignment number for an answer, the contract
number for a contract, ``<project>/<month>`` for a month's payroll, ``<project>/<worker>/<entered>``
for a roster line (the worker's identity number hashed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rejected, Rendered, hookimpl, samples_from
from plugins.housing import inbound, outbound

__version__ = "1.0.0"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="housing",
        name="住建 real-name and wage platform (实名制平台)",
        version=__version__,
        kinds_in=inbound.KINDS_IN,
        kinds_out=outbound.KINDS_OUT,
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        schema_version="1",
        description="CSV batches with Chinese headers, UTF-8 with BOM or GB18030, money in yuan as text.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> Iterator[Parsed | Rejected]:
    return inbound.parse(message)


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    return outbound.render(delivery)


# good: file, kind, business time (the demo replays samples in this order); bad: what a refusal names.
# PROJECT: the earliest 开工日期 of the batch; PAYROLL: its latest 发放日期 (the April wages paid on
# 10 May, when the shortfall of the others shows). tests/plugins/test_housing.py checks them.
register_samples = samples_from(
    __package__, content_type="text/csv", content_encoding="utf-8-sig",
    good=[
        ("housing-project.csv", inbound.PROJECT, "2023-01-05T00:00:00+08:00"),
        ("housing-payroll.csv", inbound.PAYROLL, "2023-05-10T00:00:00+08:00", {"content_encoding": "gb18030"}),
        # format 1.2: the answer to the clue's assignment. Its 交办编号 is the hub's ASSIGNMENT message
        # id, which a real platform copies from what it received: a sample cannot know it.
        ("housing-answer.csv", inbound.ANSWER, "2023-05-30T00:00:00+08:00"),
        # format 1.2: the real-name roster (workers on site since March) and their labour contracts
        ("housing-contract.csv", inbound.CONTRACT, "2023-02-27T00:00:00+08:00"),
        ("housing-roster.csv", inbound.ROSTER, "2023-03-01T00:00:00+08:00"),
    ],
    bad=[
        ("housing-answer-bad-result.csv", inbound.ANSWER, "处理结果"),
        ("housing-roster-bad-id.csv", inbound.ROSTER, "身份证号"),
        ("housing-contract-bad-basis.csv", inbound.CONTRACT, "计薪方式"),
        ("housing-bad-deposit.csv", inbound.PROJECT, "工资保证金"),
    ],
)
