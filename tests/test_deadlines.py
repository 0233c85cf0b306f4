"""The deadline engine: working days on China's calendar, each rule, met, late and open."""

from __future__ import annotations

import datetime as dt

from hub.casework import deadlines as dl
from hub.config import load_settings
from hub.ids import BEIJING
from plugins.hrss import inbound as hrss_in
from schemas import normalise_record
from tests.helpers import sample

LIMITS = load_settings(environ={})["deadlines"]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING) if "+" not in text else dt.datetime.fromisoformat(text)


def test_working_days_skip_the_national_day_holiday_and_count_its_make_up_days():
    # 2023: 29 Sept - 6 Oct off; Sat 7 and Sun 8 Oct are make-up working days.
    assert not dl.is_working_day(dt.date(2023, 10, 2))
    assert dl.is_working_day(dt.date(2023, 10, 7)) and dl.is_working_day(dt.date(2023, 10, 8))
    assert not dl.is_working_day(dt.date(2023, 10, 14))  # an ordinary Saturday
    assert dl.add_working_days(dt.date(2023, 9, 28), 1) == dt.date(2023, 10, 7)
    assert dl.add_working_days(dt.date(2023, 9, 28), 5) == dt.date(2023, 10, 11)
    # Spring Festival 2024: 10-17 Feb off, Sun 4 and Sun 18 Feb worked.
    assert dl.add_working_days(dt.date(2024, 2, 8), 2) == dt.date(2024, 2, 18)
    assert dl.add_working_days(dt.date(2024, 2, 2), 1) == dt.date(2024, 2, 4)


def test_limits_in_hours_days_working_days_and_the_same_day():
    start = at("2023-09-28T10:00:00")
    assert dl.due_time(start, {"same_day": True}) == at("2023-09-28T23:59:59")
    assert dl.due_time(start, {"hours": 24}) == at("2023-09-29T10:00:00")
    assert dl.due_time(start, {"days": 3}) == at("2023-10-01T23:59:59")
    assert dl.due_time(start, {"working_days": 5}) == at("2023-10-11T23:59:59")
    assert dl.due_time(start, {"working_days": 60}).date() == dl.add_working_days(dt.date(2023, 9, 28), 60)


def canonical(name: str, **envelope) -> dict:
    [p] = hrss_in.parse(__import__("hub").NativeMessage("hrss", sample(name), "m", "application/json"))
    return normalise_record({"type": p.type, "source_agency": "hrss", "source_ref": p.source_ref,
                             "received_at": "2023-06-20T09:00:00+08:00", **p.record, **envelope})


def police(kind: str, **fields) -> dict:
    base = {"type": kind, "source_agency": "police", "source_ref": "x", "transfer_no": "YS37010320230880"}
    if kind == "police_receipt":
        base.update(received_at="2023-06-21T09:30:00+08:00", officer="王德华")
    else:
        base.update(received_at="2023-06-28T16:00:00+08:00", decided_at="2023-06-28T15:00:00+08:00",
                    decision="opened", police_case_no="A1")
    base.update(fields)
    return normalise_record(base)


def by_rule(dues):
    return {d.rule: d for d in dues}


def test_the_sample_matter_has_every_step_met_late_or_open():
    records = [canonical("hrss-clue.json"), canonical("hrss-case.json"), canonical("hrss-order.json"),
               canonical("hrss-transfer.json"), police("police_receipt"), police("police_decision")]
    dues = by_rule(dl.compute(records, LIMITS))
    assert dues["first_contact"].status == "met"           # contacted at 11:00 the same day
    assert dues["first_contact"].due_at == at("2023-05-22T23:59:59")
    assert dues["accept_complaint"].status == "met"        # opened the same day
    assert dues["close_case"].status == "open"             # no closing record
    assert dues["close_case"].due_at.date() == dl.add_working_days(dt.date(2023, 5, 22), 60)
    assert dues["housing_answer"].status == "open"
    assert dues["gov_answer"].status == "open" and dues["gov_answer"].owner == "gov"  # 属地: the area's government
    assert dues["order_due"].due_at == at("2023-06-15T23:59:59") and dues["order_due"].status == "open"
    assert dues["police_decide"].due_at == at("2023-06-24T23:59:59")
    assert dues["police_decide"].status == "late"          # decided on 28 June
    assert dues["police_decide"].key == "police_decide:YS37010320230880#1"  # round 1
    assert "police_request_materials" not in dues          # nothing asked: a right unused, no step
    assert dues["handover_after_opening"].status == "open"
    assert all(d.owner in ("hrss", "police", "housing", "gov", "linkage") for d in dues.values())


def test_late_first_contact_and_returned_transfers():
    clue = canonical("hrss-clue.json")
    case = canonical("hrss-case.json")
    case["first_contact_at"] = "2023-05-23T08:00:00+08:00"
    dues = by_rule(dl.compute([clue, case], {**LIMITS, "first_contact": {"hours": 4}}))
    assert dues["first_contact"].due_at == at("2023-05-22T13:10:00") and dues["first_contact"].status == "late"
    returned = police("police_decision", decision="returned", police_case_no=None, reason="证据不足")
    dues = by_rule(dl.compute([canonical("hrss-transfer.json"), police("police_receipt"), returned], LIMITS))
    assert dues["police_request_materials"].status == "late"  # asked after 24 hours
    assert dues["complete_materials"].status == "open"
    again = canonical("hrss-transfer.json")
    again["transferred_on"] = "2023-06-30"
    dues = by_rule(dl.compute([canonical("hrss-transfer.json"), police("police_receipt"), returned, again], LIMITS))
    assert dues["complete_materials"].status == "met"


def test_a_complied_order_is_met():
    order = canonical("hrss-order.json", accepted_at="2023-06-10T10:00:00+08:00")
    paid = dict(order, complied=True)
    assert by_rule(dl.compute([order, paid], LIMITS))["order_due"].status == "met"


def step(records, key, **kw):
    return {d.key: d for d in dl.compute(records, LIMITS, **kw)}[key]


def transfer_again(on: str) -> dict:
    again = canonical("hrss-transfer.json")
    again["transferred_on"] = on
    return again


def test_a_resubmission_is_a_round_of_its_own_never_done_before_it_starts():
    """移送规定 Art. 8: the police decide within 3 days of each receipt; a second review's
    receipt and decision are its own (they once shared the first round's key)."""
    first = canonical("hrss-transfer.json")
    returned = police("police_decision", decision="returned", police_case_no=None, reason="缺工资表",
                      decided_at="2023-06-21T15:00:00+08:00")
    second_receipt = police("police_receipt", received_at="2023-06-24T09:00:00+08:00")
    opened = police("police_decision", decided_at="2023-06-25T10:00:00+08:00")
    records = [first, police("police_receipt"), returned, transfer_again("2023-06-23"), second_receipt, opened]
    one = step(records, "police_decide:YS37010320230880#1")
    two = step(records, "police_decide:YS37010320230880#2")
    assert one.status == "met" and one.done_at == at("2023-06-21T15:00:00")
    assert two.start_at == at("2023-06-24T09:00:00") and two.done_at == at("2023-06-25T10:00:00")
    assert two.status == "met" and two.done_at >= two.start_at
    assert step(records, "complete_materials:YS37010320230880#1").status == "met"
    assert dl.transfer_rounds(records)["YS37010320230880"][1].n == 2


def test_paid_in_full_moots_every_open_step_and_a_new_complaint_reopens():
    """Criminal Law Art. 276-1 ¶3: paid in full, nothing is left to chase; a later complaint is a new life."""
    clue, order = canonical("hrss-clue.json"), canonical("hrss-order.json")
    paid = normalise_record({"type": "wage_payment", "source_agency": "hrss", "source_ref": "p",
                             "case_no": "AJ370103202300880", "amount_paid": "382848.00", "paid_on": "2023-06-20",
                             "full": True, "received_at": "2023-06-20T10:00:00+08:00"})
    dues = {d.key: d for d in dl.compute([clue, order, paid], LIMITS)}
    assert dues["order_due:ZLZF37010320230880"].status == "moot"
    assert "paid in full" in dues["order_due:ZLZF37010320230880"].moot
    later = canonical("hrss-clue.json", received_at="2023-08-01T09:00:00+08:00")
    later["clue_no"] = "XS3701032023080001"
    dues = {d.key: d for d in dl.compute([clue, order, paid, later], LIMITS)}
    assert dues["first_contact:XS3701032023080001"].status == "open"
    assert dues["order_due:ZLZF37010320230880"].status == "moot"
    spared = {**dl_settings()["linkage"], "payment_moots_criminal_steps": False}
    receipt = police("police_receipt", received_at="2023-06-19T09:30:00+08:00")
    transfer = canonical("hrss-transfer.json")
    dues = {d.key: d for d in dl.compute([clue, order, transfer, receipt, paid], LIMITS, spared)}
    assert dues["police_decide:YS37010320230880#1"].status == "open"  # the criminal case goes on
    assert dues["order_due:ZLZF37010320230880"].status == "moot"


def dl_settings():
    return load_settings(environ={})


def test_an_extension_adds_its_working_days_to_the_closing_limit():
    """劳动保障监察条例 Art. 17: 60 working days, extended by up to 30 with approval."""
    case = canonical("hrss-case.json")
    ext = normalise_record({"type": "case_extension", "source_agency": "hrss", "source_ref": "e",
                            "case_no": "AJ370103202300880", "approved_on": "2023-08-01", "working_days": 30,
                            "received_at": "2023-08-01T10:00:00+08:00"})
    due = step([case, ext], "close_case:AJ370103202300880").due_at
    assert due.date() == dl.add_working_days(dt.date(2023, 5, 22), 90)


def test_a_window_that_passes_unused_is_moot_not_overdue():
    """移送规定 Art. 9: labour inspection may ask for reconsideration within 3 days: a right."""
    from hub.store.models import Deadline

    row = Deadline(key="reconsideration_request:YS1#1", rule="reconsideration_request", subject="YS1",
                   owner="hrss", title="t", source="s", start_at=at("2023-06-23T10:00:00"),
                   due_at=at("2023-06-26T23:59:59"), status="open")
    assert dl.view(row, at("2023-06-25T10:00:00"))["status"] == "open"
    view = dl.view(row, at("2023-07-01T10:00:00"))
    assert view["status"] == "moot" and view["moot_reason"] == dl.WINDOW_PASSED and not view["overdue"]


# -- the 12345 work order's answer (work_order_reply) --------------------------------------------

WORK_ORDER = {"type": "work_order", "work_order_no": "GD1", "clue_no": "GD1", "taken_at": "2023-05-20T10:15:00+08:00",
              "reply_by": "2023-07-31T18:00:00+08:00"}


def paid(on: str) -> dict:
    return {"type": "wage_payment", "case_no": "AJ1", "amount_paid": "100.00", "paid_on": on, "full": True}


def call(at_: str, **said) -> dict:
    return {"type": "satisfaction", "work_order_no": "GD1", "called_at": at_, "reached": True, **said}


def replies(records: list[dict], reopened=()) -> dict[str, str]:
    return {d.key: d.status for d in dl.compute(records, LIMITS, reopened=reopened) if d.rule == "work_order_reply"}


def test_the_work_order_s_answer_is_due_by_its_reply_by():
    assert replies([WORK_ORDER, paid("2023-06-10")]) == {"work_order_reply:GD1": "met"}
    assert replies([WORK_ORDER, paid("2023-08-10")]) == {"work_order_reply:GD1": "late"}
    [step] = [d for d in dl.compute([WORK_ORDER], LIMITS) if d.rule == "work_order_reply"]
    assert step.due_at == at("2023-07-31T18:00:00+08:00") and step.owner == "hrss" and step.status == "open"


def test_a_call_back_saying_not_paid_after_the_answer_owes_a_new_one():
    records = [WORK_ORDER, paid("2023-06-10"), call("2023-06-20T10:00:00+08:00", resolved=True, paid=False)]
    assert replies(records) == {"work_order_reply:GD1": "met", "work_order_reply:GD1#2": "open"}
    [again] = [d for d in dl.compute(records, LIMITS) if d.key == "work_order_reply:GD1#2"]
    assert again.due_at.date() == dl.add_working_days(dt.date(2023, 6, 20), 15)  # [deadlines.work_order_reply]
    # a later full payment answers it; the matter's other steps (a new life) run again meanwhile
    assert replies([*records, paid("2023-07-01")])["work_order_reply:GD1#2"] == "met"


def test_a_call_back_before_the_answer_or_saying_paid_owes_nothing_new():
    assert replies([WORK_ORDER, call("2023-06-01T10:00:00+08:00", paid=False)]) == {"work_order_reply:GD1": "open"}
    assert replies([WORK_ORDER, paid("2023-06-10"), call("2023-06-20T10:00:00+08:00", resolved=True, paid=True)]) \
        == {"work_order_reply:GD1": "met"}
    assert replies([WORK_ORDER, paid("2023-06-10"), call("2023-06-20T10:00:00+08:00", reached=False)]) \
        == {"work_order_reply:GD1": "met"}


def test_a_follow_up_saying_not_paid_reopens_too():
    records = [WORK_ORDER, paid("2023-06-10")]
    assert replies(records, reopened=[at("2023-06-25T09:00:00+08:00")])["work_order_reply:GD1#2"] == "open"
