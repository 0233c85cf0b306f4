"""The dishonest-employer list (拖欠农民工工资失信联合惩戒对象名单管理暂行办法, 人社部令第45号):
the hub proposes, labour inspection decides, the hub distributes and ends the term.

- Art. 5 para. 1 item (1): wages owed reaching the amount of the crime of refusing to pay,
  ordered paid within a time limit and not paid: the grounds the hub can see
  (``order_unpaid``, ``transfer_opened``, ``criminal_judgment``);
- the term of three years, and early removal on labour inspection's decision (see
  docs/listing.md for the provisions and what the hub cannot see).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from hub.casework import listing
from hub.contract.types import NativeMessage
from hub.ids import BEIJING
from hub.messaging import scheduler
from hub.store.models import DeadLetter, Inbox, Outbox, Record
from tests.integration.test_legal_cases import (
    BOSS,  # noqa: I001
    CASE,
    TRANSFER,
    USCC,
    base,
    decision,
    receipt,
    render,
    transfer,
)

TODAY = dt.datetime.now(BEIJING).date()
LIST_NO = "SX3701032023L001"
_seq = iter(range(1, 10**6))


def ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def listing_msg(action: str = "LIST", list_no: str = LIST_NO, *, decided: dt.date = TODAY - dt.timedelta(days=10),
                start: dt.date | None = None, end: dt.date | None = None, boss: bool = False, **extra) -> NativeMessage:
    start = start or decided + dt.timedelta(days=1)
    data = {"listNo": list_no, "action": action, "employerName": "张某某" if boss else "海岱建筑劳务有限公司",
            "decisionDate": ymd(decided), "startDate": ymd(start), "caseNo": CASE, **extra}
    data.update({"employerIdNo": BOSS} if boss else {"creditCode": USCC})
    if action == "LIST":
        data.setdefault("basis", "人社部令第45号第五条第一款第（一）项")
        data.setdefault("persons", [{"name": "徐建国", "idNo": BOSS, "role": "法定代表人"}])
        if end is not None or "endDate" not in extra:
            data["endDate"] = ymd(end or start.replace(year=start.year + 3) - dt.timedelta(days=1))
    elif end is not None:
        data["endDate"] = ymd(end)
    n = next(_seq)
    doc = {"msgType": "LISTING", "msgId": f"HRSS-SX-{n}", "sendTime": "20230920100000", "data": data}
    return NativeMessage("hrss", json.dumps(doc, ensure_ascii=False).encode(), f"listing-{n}", "application/json")


def opened_case(boss: bool = False) -> list[NativeMessage]:
    return [*base(boss=boss), transfer(boss=boss), receipt(), decision("opened", "2023-06-23 10:00:00")]


def rows(hub, *where) -> list[Outbox]:
    with hub.store.sessions() as session:
        return list(session.scalars(select(Outbox).where(*where).order_by(Outbox.id)))


def credit_rows(hub, recipient: str) -> list[Outbox]:
    return rows(hub, Outbox.record_type == "credit_listing", Outbox.recipient == recipient)


def csv_row(rendered) -> dict[str, str]:
    header, row = csv.reader(io.StringIO(rendered.body.decode("utf-8-sig")))
    return dict(zip(header, row, strict=True))


def process(hub, *messages):
    outcomes = [o for m in messages for o in hub.pipeline.process([m])]
    return outcomes


def test_a_listing_proposed_decided_distributed_and_expired_at_its_term(hub):
    """Art. 5 para. 1 (1): the police open the case; the hub proposes the employer to labour
    inspection once; its LIST decision reaches the construction department (CREDIT), the
    court (credit_listing) and the government of the matter's district (gov CREDIT) with the
    term; the day after the term's last day the hub expires it by itself, once, and tells
    the three again."""
    outcomes = process(hub, *opened_case())
    assert all(o.status == "accepted" for o in outcomes), [o.to_dict() for o in outcomes]
    [proposed] = rows(hub, Outbox.record_type == "listing_candidate")
    notice = json.loads(render(hub, proposed).body)
    assert (proposed.recipient, notice["msgType"], notice["data"]["kind"]) == ("hrss", "NOTICE", "LISTING_CANDIDATE")
    record = notice["data"]["record"]
    assert record["ground"] == "transfer_opened" and record["basis"] == "人社部令第45号第五条第一款第（一）项"
    assert record["employer"] == {"name": "海岱建筑劳务有限公司", "uscc": USCC}
    assert record["amount_owed"] == 38284800 and record["term_years"] == 3  # money in fen, as hrss writes it
    assert notice["data"]["refs"]["transferNo"] == TRANSFER
    # the order's fall due unpaid is the same matter: proposed once, whatever the ground
    assert listing.propose_due(hub) == 0

    end = TODAY + dt.timedelta(days=3 * 365)
    assert process(hub, listing_msg(end=end))[0].status == "accepted"
    housing, court = credit_rows(hub, "housing"), credit_rows(hub, "court")
    assert len(housing) == len(court) == 1
    sent = csv_row(render(hub, housing[0]))
    assert sent == {"名单编号": LIST_NO, "统一社会信用代码或身份证号": USCC, "名称": "海岱建筑劳务有限公司", "动作": "列入",
                    "列入日期": str(TODAY - dt.timedelta(days=9)), "移出日期": str(end),
                    "依据": "人社部令第45号第五条第一款第（一）项"}
    doc = json.loads(render(hub, court[0]).body)
    assert doc == {"type": "credit_listing", "list_no": LIST_NO, "action": "list", "credit_code": USCC,
                   "name": "海岱建筑劳务有限公司", "start_date": str(TODAY - dt.timedelta(days=9)), "end_date": str(end),
                   "basis": "人社部令第45号第五条第一款第（一）项"}
    assert BOSS not in json.dumps(housing[0].payload) + json.dumps(court[0].payload)  # the persons stay home
    [government] = credit_rows(hub, "gov")
    body = json.loads(render(hub, government).body)
    assert {k: body[k] for k in ("type", "listNo", "creditCode", "action", "endDate", "regionCode")} == {
        "type": "CREDIT", "listNo": LIST_NO, "creditCode": USCC, "action": "列入", "endDate": str(end),
        "regionCode": "370103"}  # the matter's district: labour inspection's LISTING names none
    with hub.store.sessions() as session:
        assert listing.listing(session, LIST_NO)["status"] == "listed"

    # the term runs to its last day: nothing expires on it, the day after it does, once
    last_day = dt.datetime.combine(end, dt.time(23, 0), BEIJING)
    assert listing.expire_due(hub, last_day) == 0
    after = last_day + dt.timedelta(hours=2)
    assert scheduler.Scheduler(hub).run_once(after) >= 1
    assert listing.expire_due(hub, after + dt.timedelta(days=1)) == 0
    housing, court = credit_rows(hub, "housing"), credit_rows(hub, "court")
    assert len(housing) == len(court) == len(credit_rows(hub, "gov")) == 2
    expired = csv_row(render(hub, housing[1]))
    assert (expired["动作"], expired["移出日期"]) == ("到期", str(end))
    assert json.loads(render(hub, court[1]).body)["action"] == "expire"
    with hub.store.sessions() as session:
        view = listing.listing(session, LIST_NO)
        own = session.scalars(select(Record).where(Record.type == "credit_listing",
                                                   Record.source_agency == "hub")).one()
    assert view["status"] == "expired" and [h["action"] for h in view["history"]] == ["list", "expire"]
    assert own.data["decision_date"] == str(end + dt.timedelta(days=1)) and own.matter_id == view["matter_id"]
    assert process(hub, listing_msg("EXPIRE", end=end))[0].failures[0].rule == "ended"  # the term ended once


def test_a_listing_without_end_date_is_refused_whole_and_replays_once_fixed(hub):
    """A LIST needs its term (endDate): refused with the field and the rule, kept with its
    bytes, nothing of it applied; replayed once fixed."""
    message = listing_msg(endDate=None)
    [outcome] = process(hub, message)
    assert outcome.status == "rejected" and not outcome.records
    failure = outcome.failures[0]
    assert (failure.field, failure.rule) == ("data.endDate", "required-if")
    assert rows(hub, Outbox.record_type == "credit_listing") == []
    with hub.store.sessions() as session:
        dead = session.get(DeadLetter, outcome.dead_letters[0])
        assert dead.body == message.body
        assert listing.listings(session) == []
        assert session.scalars(select(Inbox).where(Inbox.message_id == message.message_id)).first() is None
    doc = json.loads(message.body)
    doc["data"]["endDate"] = ymd(TODAY + dt.timedelta(days=1000))
    fixed = NativeMessage("hrss", json.dumps(doc, ensure_ascii=False).encode(), message.message_id,
                          "application/json")
    [again] = hub.pipeline.process([fixed], replay_of=outcome.dead_letters[0])
    assert again.status == "accepted" and len(credit_rows(hub, "housing")) == 1


def test_early_removal_ends_the_term_and_states_are_checked(hub):
    """Labour inspection removes a listing early (信用修复): sent on as 移出 with its day; the
    hub expires nothing after it. A removal of an unknown listing, a second end, a removal
    naming another employer and a second LIST under one number are refused whole."""
    process(hub, *opened_case())
    process(hub, listing_msg())
    removed_on = TODAY - dt.timedelta(days=2)
    [wrong] = process(hub, listing_msg("REMOVE", decided=removed_on, start=TODAY - dt.timedelta(days=9), boss=True))
    assert (wrong.status, wrong.failures[0].rule) == ("rejected", "same-employer")
    [removed] = process(hub, listing_msg("REMOVE", decided=removed_on, start=TODAY - dt.timedelta(days=9)))
    assert removed.status == "accepted"
    sent = csv_row(render(hub, credit_rows(hub, "housing")[-1]))
    assert (sent["动作"], sent["移出日期"]) == ("移出", str(removed_on))  # no endDate: the decision's date
    far = dt.datetime.now(BEIJING) + dt.timedelta(days=4 * 365)
    assert listing.expire_due(hub, far) == 0
    listed_from = TODAY - dt.timedelta(days=9)
    for message, rule in ((listing_msg("REMOVE", "SX-NONE", decided=removed_on, start=listed_from), "unknown-listing"),
                          (listing_msg("EXPIRE", decided=removed_on, start=listed_from), "ended"),
                          (listing_msg(end=TODAY + dt.timedelta(days=500)), "once")):
        [outcome] = process(hub, message)
        assert outcome.status == "rejected" and outcome.failures[0].rule == rule, (rule, outcome.to_dict())
    with hub.store.sessions() as session:
        view = listing.listing(session, LIST_NO)
    assert view["status"] == "removed" and view["ended_on"] == str(removed_on)
    assert [h["action"] for h in view["history"]] == ["list", "remove"]
    [again] = process(hub, listing_msg())  # the same LIST resent under another message id: applied once
    assert again.status == "accepted" and not again.records


def test_an_individual_employer_is_listed_by_identity_number(hub, client, token):
    """An individual without the standing to employ (包工头) is listed by identity number: the
    court and the construction department receive it (they must know whom they restrict); the
    console and the API mask it for a viewer; the listed person is not proposed again."""
    process(hub, *opened_case(boss=True))
    [proposed] = rows(hub, Outbox.record_type == "listing_candidate")
    assert proposed.payload["record"]["employer"] == {"name": "张某某", "id_number": BOSS}
    [outcome] = process(hub, listing_msg(boss=True))
    assert outcome.status == "accepted"
    assert csv_row(render(hub, credit_rows(hub, "housing")[0]))["统一社会信用代码或身份证号"] == BOSS
    doc = json.loads(render(hub, credit_rows(hub, "court")[0]).body)
    assert doc["id_number"] == BOSS and "credit_code" not in doc
    with hub.store.sessions() as session:
        key = listing.subject_key(listing.listing(session, LIST_NO))
    assert key.startswith("p") and BOSS not in key  # joined by its hash
    masked = BOSS[:6] + "********" + BOSS[-4:]
    body = client.get("/api/v1/listings", headers=token("viewer")).get_data(as_text=True)
    assert BOSS not in body and masked in body
    assert BOSS in client.get("/api/v1/listings", headers=token("linkage")).get_data(as_text=True)
    # a second matter of the same person while listed: no second proposal
    assert listing.propose_due(hub) == 0


def test_the_console_lists_the_listings_with_their_history(hub, app):
    """The console's list: status, term and history; an individual's number masked for a
    viewer, shown to the linkage office; no page for an agency user."""
    from hub.web.auth import create_token
    from tests.console.conftest import sign_in

    process(hub, *opened_case(boss=True), listing_msg(boss=True))
    listing.expire_due(hub, dt.datetime.now(BEIJING) + dt.timedelta(days=4 * 365))
    pages = {}
    for role in ("viewer", "linkage", "agency:hrss"):
        client = app.test_client()
        assert sign_in(client, create_token(hub.store, role)).status_code == 302
        pages[role] = client.get("/console/listings")
    assert pages["agency:hrss"].status_code == 403
    viewer, linkage_page = pages["viewer"].get_data(as_text=True), pages["linkage"].get_data(as_text=True)
    assert f'data-list="{LIST_NO}" data-status="expired"' in viewer
    assert "期满移出 term ended" in viewer and "列入 listed" in viewer  # its history: listed, then the term's end
    assert BOSS not in viewer and BOSS[:6] + "********" + BOSS[-4:] in viewer
    assert BOSS in linkage_page


@pytest.mark.parametrize("grounds,expected", [(["order_unpaid"], 1), (["transfer_opened", "criminal_judgment"], 0)])
def test_order_unpaid_is_proposed_by_the_clock_and_the_grounds_are_settings(settings, grounds, expected):
    """Art. 5 para. 1 (1) as the hub sees it without any police decision: the order fell due
    unpaid and the amount is relatively large (the transfer's approval step started). A ground
    left out of ``[listing] grounds`` proposes nothing."""
    from hub.runtime import Hub

    settings["listing"] = {**settings["listing"], "grounds": grounds}
    hub = Hub(settings)
    try:
        process(hub, *base())
        assert rows(hub, Outbox.record_type == "listing_candidate") == []  # nothing shows it yet
        assert listing.propose_due(hub) == expected
        assert listing.propose_due(hub) == 0  # once
        if expected:
            [row] = rows(hub, Outbox.record_type == "listing_candidate")
            assert row.payload["record"]["ground"] == "order_unpaid"
    finally:
        hub.shutdown()


@pytest.mark.parametrize("grounds", [[], ["nonsense"]])
def test_the_grounds_setting_is_checked(settings, grounds):
    from hub.config import load_settings

    if grounds:
        with pytest.raises(Exception, match="listing"):
            load_settings({"listing": {"grounds": grounds}}, environ={})
    else:
        assert load_settings({"listing": {"grounds": grounds}}, environ={})["listing"]["grounds"] == []
