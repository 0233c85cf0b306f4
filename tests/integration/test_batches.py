"""Batches row by row: a bad row is dead-lettered with its number, the good rows go on,
the bad row is replayed alone after a fix, and a repeated batch raises nothing twice."""

from __future__ import annotations

import base64
import json

from sqlalchemy import func, select

from hub.store.models import DeadLetter, Outbox, Record
from tests.helpers import sample, wait_for

HEADER = "项目编号,工人姓名,身份证号,所属月份,出勤天数,应发工资(元),实发工资(元),发放日期,发放方式\n"
GOOD = [
    "37010320236387,张三,370103197611248807,2023-04,22,6704,0,,专户代发\n",
    "37010320236387,李四,370103199209279321,2023-04,28,5495,5495,2023-05-10,专户代发\n",
]
BAD = "37010320236387,王五,370103199209279320,2023-04,40,5000,0,,专户代发\n"  # bad check char, 40 days


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_bad_row_goes_to_dead_letters_and_the_rest_of_the_batch_goes_on(hub, workers, agency, client, token):
    batch = (HEADER + GOOD[0] + BAD + GOOD[1]).encode("gb18030")
    agency.publish("housing", batch, message_id="payroll-1", content_type="text/csv", content_encoding=None)
    # the early warnings on the project, past payday (docs/risks.md): the shortfall, and the
    # row "paid through the special account" that no bank payout shows
    notices = {json.loads(m.raw)["data"]["kind"]: json.loads(m.raw)["data"]["record"]
               for m in agency.receive("hrss", 2)}
    shortfall = notices["PAYROLL_SHORTFALL"]
    assert shortfall["rule"] == "payroll-shortfall" and notices["BANK_RISK"]["rule"] == "payout-missing"
    assert shortfall["worker_count"] == 1 and shortfall["amount_short"] == 670400
    wait_for(lambda: count(hub, DeadLetter) == 1)
    [dl] = client.get("/api/v1/dead-letters", headers=token("admin")).json["items"]
    assert dl["row"] == 2 and dl["agency"] == "housing" and dl["kind"] == "PAYROLL"
    assert "身份证号" in dl["reason"] and "370103199209279320" not in dl["reason"]
    kept = base64.b64decode(dl["body_base64"]).decode("gb18030")
    assert kept.splitlines() == [HEADER.strip(), BAD.strip()]  # the row alone, replayable

    # the same batch again (another message id): nothing raised twice
    agency.publish("housing", batch, message_id="payroll-1-again", content_type="text/csv")
    wait_for(lambda: count(hub, DeadLetter) == 2 or _inbox(hub) == 2)
    assert count(hub, Record, Record.type == "payroll_shortfall") == 1
    assert count(hub, Outbox, Outbox.record_type == "risk", Outbox.recipient == "hrss") == 2

    from schemas.validators import id_check_char

    good_id = "37010319920927932" + id_check_char("37010319920927932")
    fixed = HEADER + BAD.replace("370103199209279320", good_id).replace(",40,", ",20,")
    resp = client.post(f"/api/v1/dead-letters/{dl['id']}/replay", headers=token("admin"),
                       json={"body_base64": base64.b64encode(fixed.encode("gb18030")).decode()})
    assert resp.json["dead_letter"]["status"] == "replayed", resp.json
    assert count(hub, Record, Record.type == "payroll_shortfall") == 2


def _inbox(hub):
    from hub.store.models import Inbox

    return count(hub, Inbox)


def test_union_ledger_rows_over_the_queue(hub, workers, agency):
    agency.publish("union", sample("union-mediation.xlsx"), message_id="ledger-1",
                   content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   content_encoding="binary")
    [notice] = agency.receive("hrss", 1)
    body = json.loads(notice.raw)
    assert body["data"]["kind"] == "MEDIATION_RESULT" and body["data"]["record"]["outcome"] == "partial"


def test_thousands_of_bad_rows_each_keep_their_own_bytes_and_log_a_line_per_rule(hub, caplog):
    """A file whose every row is bad (a wrong column, say) is a dead letter a row, each
    with its own bytes, written in bulk; the log says it in a line per rule, not a line
    a row; and the same file redelivered stores none twice."""
    from hub.contract.types import NativeMessage

    rows = [BAD.replace("王五", f"工人{i}") for i in range(2500)]
    batch = (HEADER + GOOD[1] + "".join(rows)).encode("gb18030")
    message = NativeMessage(agency="housing", body=batch, message_id="payroll-bad", content_type="text/csv",
                            content_encoding="gb18030", kind="PAYROLL")
    [outcome] = hub.pipeline.process([message])
    assert outcome.status == "accepted" and len(outcome.dead_letters) == 2500 == len(set(outcome.dead_letters))
    with hub.store.sessions() as session:
        kept = {dl.row: dl.body for dl in session.scalars(select(DeadLetter))}
    assert sorted(kept) == list(range(2, 2502))  # data rows 2.. (row 1 is the good one)
    assert all(kept[n + 2].decode("gb18030").splitlines() == [HEADER.strip(), row.strip()]
               for n, row in enumerate(rows))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dead letter")]
    assert len(lines) == len({f.rule for f in outcome.failures}) and "more with this rule" in lines[0]
    assert "370103199209279320" not in caplog.text

    # delivered again before its commit was known (the inbox does not hold it): nothing twice
    from hub.store.models import Inbox

    with hub.store.transaction() as session:
        session.query(Inbox).delete()
    [again] = hub.pipeline.process([message])
    assert again.dead_letters == outcome.dead_letters
    assert count(hub, DeadLetter) == 2500


def test_rows_the_plugin_cannot_number_share_one_dead_letter_however_far_apart(settings):
    """Two refusals with no row number and no bytes of their own stand for the same thing
    (the whole body): one dead letter, even 1,500 refusals apart."""
    from hub import AgencyInfo, Rejected, hookimpl
    from hub.contract.types import NativeMessage
    from hub.runtime import Hub

    class Unnumbered:
        @hookimpl
        def register_agency(self):
            return AgencyInfo(code="unnumbered", name="rows without numbers", version="0.0.1", kinds_in=("X",))

        @hookimpl
        def parse_message(self, message, settings):
            same = Rejected(reason="an item is unreadable (rule: item)", field="item", rule="item")
            return [same] + [Rejected(reason=f"item {i} (rule: item)", field="item", rule="item", row=i + 1,
                                      raw=str(i).encode()) for i in range(1500)] + [same]

    hub = Hub(settings, extra_plugins=[Unnumbered()])
    try:
        [outcome] = hub.pipeline.process([NativeMessage(agency="unnumbered", body=b"x", message_id="m-1",
                                                        content_type="text/plain", kind="X")])
        assert len(outcome.dead_letters) == 1502 and outcome.dead_letters[0] == outcome.dead_letters[-1]
        assert count(hub, DeadLetter) == 1501
    finally:
        hub.shutdown()


def test_equal_totals_from_other_workers_are_a_shortfall_of_their_own(hub):
    """A shortfall is known again by the workers behind it, not by its totals: the same
    rows sent again are one shortfall; another worker's with equal totals (another batch,
    or a fixed row replayed alone) is a second one. Labour inspection hears of the
    project's shortfall for the month once (docs/risks.md: once per project and month)."""
    from hub.contract.types import NativeMessage

    def send(rows: list[str], message_id: str):
        body = (HEADER + "".join(rows)).encode("gb18030")
        [outcome] = hub.pipeline.process([NativeMessage(agency="housing", body=body, message_id=message_id,
                                                        content_type="text/csv", content_encoding="gb18030")])
        return outcome

    worker_a = "37010320236387,甲,370103197611248807,2023-04,22,100,0,,专户代发\n"
    worker_b = "37010320236387,乙,370103199209279321,2023-04,22,100,0,,专户代发\n"
    paid = GOOD[1]
    def shortfalls() -> int:
        return count(hub, Record, Record.type == "payroll_shortfall")

    send([worker_a], "p-a")
    assert shortfalls() == 1
    send([paid, worker_a], "p-a-again")
    assert shortfalls() == 1  # the same worker's row again: no second effect
    send([worker_b], "p-b")
    assert shortfalls() == 2  # equal totals, another worker
    with hub.store.sessions() as session:
        told = [o.payload["record"] for o in session.scalars(
            select(Outbox).where(Outbox.record_type == "risk", Outbox.recipient == "hrss").order_by(Outbox.id))
            if o.payload["record"]["rule"] == "payroll-shortfall"]
    assert len(told) == 1 and told[0]["worker_count"] == 1


def payout_file(rows: int, batch: str) -> bytes:
    """A bank PAYOUT file of ``rows`` good lines over three projects (docs/formats/bank.md)."""
    from schemas.validators import id_check_char

    lines, total = [f"H|102451000018|PAYOUT|{batch}|20230510|{rows}"], 0
    for i in range(rows):
        first17 = f"370103{1970 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        amount = 300000 + i
        total += amount
        lines.append(f"D|3701032023710{i % 3}|1602002419200123456|{first17 + id_check_char(first17)}|李明|{amount}"
                     f"|202305{1 + i % 28:02d}|0|")
    lines.append(f"T|{rows}|{total}")
    return "\r\n".join(lines).encode("gb18030") + b"\r\n"


def test_a_batch_past_the_spool_s_first_chunk_is_stored_whole_in_order_and_once(hub):
    """A large file's rows wait for the transaction packed (hub.messaging.pipeline.spool):
    every row is stored, in the file's order, with its own values, and the same rows sent
    again under another message id are the same records."""
    import hub as api

    rows = 3500  # the first 1,000 kept as they are, the rest packed
    body = payout_file(rows, "SPOOL1")
    [outcome] = hub.pipeline.process([api.NativeMessage("bank", body, "spool-1", "text/plain", "gb18030",
                                                        kind="PAYOUT")])
    assert outcome.status == "accepted" and len(outcome.records) == rows and not outcome.dead_letters
    with hub.store.sessions() as session:
        stored = session.execute(select(Record.data).where(Record.type == "worker_payout")
                                 .order_by(Record.seq)).scalars().all()
    assert [int(r["source_ref"].rsplit("/", 1)[1]) for r in stored] == list(range(2, rows + 2))  # file lines
    assert [r["project_code"][-1] for r in stored[:6]] == ["0", "1", "2", "0", "1", "2"]
    [again] = hub.pipeline.process([api.NativeMessage("bank", body, "spool-2", "text/plain", "gb18030",
                                                      kind="PAYOUT")])
    assert again.status in {"accepted", "duplicate"}
    assert count(hub, Record, Record.type == "worker_payout") == rows
