"""The bank plugin: GB18030 batch files with header and trailer (DEPOSIT, PAYOUT, GUARANTEE,
MISSED), one canonical record a detail line; the trailer checked; a resend applied once.

The bank's notices are the early warnings of 保障农民工工资支付条例 Art. 27 (the bank tells of
labour cost not paid into the special account as agreed) and Art. 31-32 (wages paid through
the special account; the wage deposit and the bank guarantee in its place).
"""

from __future__ import annotations

import pluggy
import pytest
from sqlalchemy import func, select

import hub
import hub.contract.hookspecs
import plugins.bank as bank
import schemas
from hub.store.models import DeadLetter, Record
from schemas.validators import id_check_char

BANK = "102451000018"
ACC = "1602002419200123456"
PROJECT = "37010320236387"
RECEIVED = "2023-06-20T09:00:00+08:00"


def worker_id(i: int) -> str:
    first17 = f"370103{1970 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return first17 + id_check_char(first17)


def file(kind: str, details: list[str], batch: str = "B1", *, count: int | None = None, total: int | None = None,
         amount_at: int | None = None) -> bytes:
    amount_at = amount_at or {"PAYOUT": 5, "DEPOSIT": 4, "GUARANTEE": 4, "MISSED": 4}[kind]
    if total is None:
        total = sum(int(d.split("|")[amount_at]) for d in details)
    n = len(details) if count is None else count
    lines = [f"H|{BANK}|{kind}|{batch}|20230510|{n}", *details, f"T|{n}|{total}"]
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


def payout(i: int, amount: int = 600000, result: str = "0", reason: str = "", project: str = PROJECT) -> str:
    return f"D|{project}|{ACC}|{worker_id(i)}|工人{i}|{amount}|20230510|{result}|{reason}"


def message(body: bytes, kind: str | None = None, message_id: str = "bank-1") -> hub.NativeMessage:
    return hub.NativeMessage(agency="bank", body=body, message_id=message_id, content_type="text/plain",
                             content_encoding="gb18030", kind=kind)


def parse(body: bytes, kind: str | None = None) -> list:
    return list(bank.parse_message(message=message(body, kind), settings={}))


def canonical(item: hub.Parsed) -> dict:
    return schemas.normalise_record({"type": item.type, "source_agency": "bank", "source_ref": item.source_ref,
                                     "received_at": RECEIVED, **item.record})


def test_registers_with_the_hub_specs():
    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hub.contract.hookspecs)
    pm.register(bank)
    pm.check_pending()
    (info,) = pm.hook.register_agency()
    assert info.code == "bank" and set(info.kinds_in) == {"DEPOSIT", "PAYOUT", "GUARANTEE", "MISSED"}
    assert info.kinds_out == ()  # the bank never receives anything


def test_each_kind_reads_into_its_record():
    samples = {s.name: s for s in bank.register_samples()}
    got = {}
    for name in ("bank-deposit.txt", "bank-payout.txt", "bank-guarantee.txt", "bank-missed.txt"):
        items = parse(samples[name].body, samples[name].kind)
        assert all(isinstance(i, hub.Parsed) for i in items)
        got[name] = [canonical(i) for i in items]
    (deposit,) = got["bank-deposit.txt"]
    assert (deposit["type"], deposit["amount"], deposit["month"], deposit["credited_on"]) == (
        "account_deposit", "42152.00", "2023-03", "2023-03-31")
    paid = [p for p in got["bank-payout.txt"] if p["result"] == "paid"]
    (failed,) = [p for p in got["bank-payout.txt"] if p["result"] == "failed"]
    assert len(paid) == 4 and failed["failure_reason"] == "收款账户户名不符" and failed["amount"] == "6704.00"
    assert failed["worker"]["id_number"] == "370103197611248807"
    (guarantee,) = got["bank-guarantee.txt"]
    assert (guarantee["event"], guarantee["guarantee_no"], guarantee["amount"]) == (
        "guarantee", "LG3701032023000118", "500000.00")
    (missed,) = got["bank-missed.txt"]
    assert (missed["month"], missed["amount_due"], missed["amount_credited"]) == ("2023-04", "43155.00", "25179.00")
    assert {r["project_code"] for rs in got.values() for r in rs} == {PROJECT}


def test_source_ref_is_bank_batch_and_line():
    items = parse(file("PAYOUT", [payout(1), payout(2)], batch="DF7"))
    assert [i.source_ref for i in items] == [f"{BANK}/DF7/2", f"{BANK}/DF7/3"]
    assert [i.row for i in items] == [2, 3]


@pytest.mark.parametrize("body, field, rule", [
    (file("PAYOUT", [payout(1), payout(2)], total=1), "trailer", "trailer-sum"),
    (file("PAYOUT", [payout(1), payout(2)], count=3), "trailer", "trailer-count"),
    (file("PAYOUT", [payout(1)])[:-len(b"T|1|600000\r\n")], "trailer", "trailer"),
    (file("PAYOUT", [payout(1)]) + b"D|x\r\n", "trailer", "trailer-last"),
    (b"H|102451000018|REFUND|B1|20230510|0\r\nT|0|0\r\n", "header.kind", "kind"),
    (b"H|1024510|PAYOUT|B1|20230510|0\r\nT|0|0\r\n", "header.bank", "bank-code"),
    (b"H|102451000018|PAYOUT|B1|20230510\r\nT|0|0\r\n", "header", "field-count"),
    (b"\xff\xfe|x\r\n", "header", "encoding"),
    (b"", "header", "header"),
    (file("PAYOUT", [payout(1)]).replace(b"\r\nD|", b"\r\nX|"), "line 2", "record-type"),
])
def test_a_bad_file_is_refused_whole_naming_the_rule(body, field, rule):
    with pytest.raises(hub.InvalidMessage) as err:
        parse(body)
    assert (err.value.field, err.value.rule) == (field, rule)
    assert f"rule: {rule}" in err.value.reason


def test_the_declared_kind_must_agree_with_the_header():
    with pytest.raises(hub.InvalidMessage) as err:
        parse(file("PAYOUT", [payout(1)]), kind="DEPOSIT")
    assert err.value.rule == "kind"


@pytest.mark.parametrize("line, field, rule", [
    (payout(9, amount=-5), "金额", "money-non-negative"),
    (payout(9).rsplit("|", 1)[0], None, "field-count"),  # a | missing
    (payout(9) + "|extra", None, "field-count"),
    (payout(9).replace(worker_id(9), worker_id(9)[:-1] + ("0" if worker_id(9)[-1] != "0" else "1")), "身份证号",
     "id-number-gb11643"),
    (payout(9, result="1"), "失败原因", "required-if"),
    (payout(9, result="7"), "结果", "enum"),
    (payout(9).replace("20230510", "20231350"), "代发日期", "date"),
    (payout(9, amount="12.5"), "金额", "money-fen"),
])
def test_a_bad_line_is_rejected_alone_with_its_line_number(line, field, rule):
    items = parse(file("PAYOUT", [payout(1), line, payout(2)],
                       total=1200000 + (int(line.split("|")[5]) if line.split("|")[5].lstrip("-").isdigit() else 0)))
    rejected = [i for i in items if isinstance(i, hub.Rejected)]
    assert [i.row for i in items if isinstance(i, hub.Parsed)] == [2, 4]
    (r,) = rejected
    assert (r.row, r.field, r.rule, r.kind) == (3, field, rule, "PAYOUT")
    assert r.reason.startswith("line 3: ") and f"rule: {rule}" in r.reason
    assert worker_id(9) not in r.reason
    # its dead letter is a file of its own, re-readable: a fixed line replays alone
    assert r.raw.startswith(f"H|{BANK}|PAYOUT|B1|20230510|1\r\n".encode()) and r.raw.count(b"\r\n") == 3


def test_gb18030_garbage_on_a_line_rejects_that_line():
    body = file("DEPOSIT", [f"D|{PROJECT}|{ACC}|20230331|100|91370103P0G7QEYF7X|202303"] * 2)
    body = body.replace(b"202303\r\nT", b"2023\x81\x20\r\nT")
    items = parse(body)
    assert [type(i).__name__ for i in items] == ["Parsed", "Rejected"]
    assert (items[1].row, items[1].rule) == (3, "encoding")


@pytest.mark.parametrize("kind, line, field, rule", [
    ("GUARANTEE", f"D|{PROJECT}|91370103QEFLCR639M|2|100|20230120|", "保函编号", "required-if"),
    ("GUARANTEE", f"D|{PROJECT}|91370103QEFLCR639M|9|100|20230120|", "类型", "enum"),
    ("MISSED", f"D|{PROJECT}|{ACC}|202313|100|0|91370103P0G7QEYF7X", "应拨付月份", "month-format"),
    ("MISSED", f"D|{PROJECT}|{ACC}|202304|100|100|91370103P0G7QEYF7X", "实际拨付金额", "range"),
    ("DEPOSIT", f"D||{ACC}|20230331|100|91370103P0G7QEYF7X|202303", "项目编号", "required"),
])
def test_each_kind_checks_its_fields(kind, line, field, rule):
    (r,) = parse(file(kind, [line]))
    assert isinstance(r, hub.Rejected) and (r.field, r.rule) == (field, rule)


def test_a_bad_credit_code_is_refused_by_the_schema_naming_the_column(running_hub):
    body = file("DEPOSIT", [f"D|{PROJECT}|{ACC}|20230331|100|91370103P0G7QEYF7Y|202303"])
    (outcome,) = running_hub.pipeline.process([message(body)])
    (failure,) = outcome.failures
    assert failure.field == "付款单位USCC" and failure.row == 2


def test_bad_line_endings_and_a_bare_lf_are_read():
    body = file("PAYOUT", [payout(1), payout(2)]).replace(b"\r\n", b"\n")
    assert [i.row for i in parse(body)] == [2, 3]


def test_the_bad_samples_are_refused_with_their_rule():
    for s in bank.register_samples():
        if not s.bad:
            continue
        try:
            items = parse(s.body, s.kind)
        except hub.InvalidMessage as exc:
            reasons = [f"{exc.reason} {exc.field}"]
        else:
            reasons = [f"{i.reason} {i.field}" for i in items if isinstance(i, hub.Rejected)]
            assert any(isinstance(i, hub.Parsed) for i in items), s.name  # the rest of the file goes on
        assert reasons and any(s.reason in r for r in reasons), (s.name, reasons)


def test_a_resend_of_the_same_batch_is_applied_once(running_hub):
    body = file("PAYOUT", [payout(1), payout(2, result="1", reason="账户冻结")], batch="DF9")
    first, = running_hub.pipeline.process([message(body, message_id="m1")])
    again, = running_hub.pipeline.process([message(body, message_id="m2")])  # the bank sends it again
    assert first.status == again.status == "accepted" and len(first.records) == 2 and again.records == []
    with running_hub.store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Record).where(Record.type == "worker_payout")) == 2


def test_a_trailer_mismatch_applies_nothing_and_keeps_the_file(running_hub):
    body = file("PAYOUT", [payout(1), payout(2)], total=7)
    (outcome,) = running_hub.pipeline.process([message(body)])
    assert outcome.status == "rejected" and outcome.records == []
    assert outcome.failures[0].rule == "trailer-sum"
    with running_hub.store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 0
        (dl,) = session.scalars(select(DeadLetter)).all()
        assert dl.body == body and dl.field == "trailer"


def test_a_bad_line_is_a_dead_letter_with_its_line_and_the_rest_applies(running_hub):
    body = file("PAYOUT", [payout(1), payout(2, amount=-1), payout(3)], total=1199999)
    (outcome,) = running_hub.pipeline.process([message(body)])
    assert outcome.status == "accepted" and len(outcome.records) == 2
    with running_hub.store.sessions() as session:
        (dl,) = session.scalars(select(DeadLetter)).all()
        assert (dl.row, dl.field, dl.rule) == (3, "金额", "money-non-negative")


def test_a_payout_for_an_unknown_project_is_kept_and_joins_the_project_when_it_arrives(running_hub):
    import plugins.housing as housing

    body = file("PAYOUT", [payout(1, project="37010320239999")])
    (outcome,) = running_hub.pipeline.process([message(body)])
    assert outcome.status == "accepted" and len(outcome.records) == 1
    project = ("\ufeff项目编号,项目名称,所属区划,建设单位统一社会信用代码,总包单位统一社会信用代码,总包单位名称,开工日期,专用账户,"
               "工资保证金(元),实名制,状态\r\n37010320239999,新项目,370103,91370103P0G7QEYF7X,91370103QEFLCR639M,"
               "山东鲁建建工集团有限公司,2023-01-05,是,100000,是,在建\r\n").encode("utf-8")
    running_hub.pipeline.process([hub.NativeMessage(agency="housing", body=project, message_id="p1",
                                                    content_type="text/csv", kind="PROJECT")])
    assert housing  # (the housing plugin is installed beside the bank's)
    with running_hub.store.sessions() as session:
        matters = dict(session.execute(select(Record.type, Record.matter_id)
                                       .where(Record.type.in_(("worker_payout", "project")))).all())
    assert matters["worker_payout"] == matters["project"]


def test_a_100000_payout_file_is_read_in_bounded_memory():
    import tracemalloc

    details = "".join(payout(i) + "\r\n" for i in range(100_000))
    body = (f"H|{BANK}|PAYOUT|BIG|20230510|100000\r\n{details}T|100000|{600000 * 100_000}\r\n").encode("gb18030")
    tracemalloc.start()
    n = 0
    for item in bank.parse_message(message=message(body), settings={}):
        n += isinstance(item, hub.Parsed)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 100_000
    assert peak < 5 * 2**20  # the parser keeps nothing per line: memory is the line at hand
