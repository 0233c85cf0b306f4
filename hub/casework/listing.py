"""The list of employers in serious breach of wage payment (拖欠农民工工资失信联合惩戒对象名单,
人社部令第45号, see docs/listing.md).

Labour inspection decides; the hub proposes and distributes. When a matter meets a listing
ground the hub can see (``[listing] grounds``), it proposes the employer to labour
inspection once (``LISTING_CANDIDATE``). Labour inspection's decisions arrive as
``credit_listing`` records (list, early removal, expiry) and take the routes of any record
(the construction department, the court, the local government). A listing whose term has
ended without a decision saying so is expired by the hub itself, the day after its last
day, as a ``credit_listing`` of its own (source ``hub``) that takes the same routes.

A listing's state is read from its records (the type's records are few): its number's
first ``list``, then at most one ``remove`` or ``expire``. A record that cannot apply (a
removal of an unknown listing, a second end, another employer) is refused whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.casework import identity, matters
from hub.ids import BEIJING, iso, now_beijing
from hub.messaging import outbox
from hub.store.models import Deadline, Outbox, Record, utcnow

log = logging.getLogger(__name__)

TYPE = "credit_listing"
STATE_CHECKED = frozenset({TYPE})

# The grounds the hub can see, each a case of 人社部令第45号 Art. 5 para. 1 item (1): wages
# owed reaching the amount of the crime of refusing to pay (Criminal Law Art. 276-1),
# ordered paid within a time limit and not paid by then. Item (2) (a mass or extreme
# incident) and the rest of the procedure are labour inspection's to see and decide.
GROUNDS: dict[str, str] = {
    "order_unpaid": "责令限期支付逾期未支付，且欠薪数额达到拒不支付劳动报酬罪的数额标准 "
                    "an order to pay fell due unpaid, the amount relatively large",
    "transfer_opened": "公安机关对移送的拒不支付劳动报酬案件立案 the police opened the transferred case",
    "criminal_judgment": "人民法院判决构成拒不支付劳动报酬罪 the court convicted of refusing to pay",
}
BASIS = "人社部令第45号第五条第一款第（一）项"
STATUSES = ("listed", "removed", "expired")
_ENDED = {"remove": "removed", "expire": "expired"}


def region_of(session, matter_id: str) -> str | None:
    """The district a listing is sent to when its decision names none (labour inspection's
    format has no area): its matter's (the first clue's, else its project's)."""
    from hub.store.models import Matter

    row = session.get(Matter, matter_id)
    return row.region_code if row is not None else None


def subject_key(record: Mapping[str, Any]) -> str | None:
    """The listed employer as a joining key: its credit code, or its hashed identity number."""
    return identity.employer_key({"uscc": record.get("credit_code"), "id_number": record.get("id_number")})


# -- a listing's state, from its records --------------------------------------------------


def _records(session, list_nos: Iterable[str] | None = None) -> dict[str, list[tuple[Record, dict]]]:
    query = select(Record).where(Record.type == TYPE).order_by(Record.seq)
    if list_nos is not None:
        query = query.where(Record.source_ref.in_(sorted(set(list_nos))))
    out: dict[str, list[tuple[Record, dict]]] = {}
    for row in session.scalars(query):
        out.setdefault(row.data["list_no"], []).append((row, row.data))
    return out


def _view(list_no: str, rows: list[tuple[Record, dict]]) -> dict[str, Any] | None:
    listed = next((d for _, d in rows if d["action"] == "list"), None)
    if listed is None:
        return None
    ended = next((d for _, d in rows if d["action"] in _ENDED), None)
    return {
        "list_no": list_no, "status": _ENDED[ended["action"]] if ended else "listed",
        "name": listed["name"], "credit_code": listed.get("credit_code"), "id_number": listed.get("id_number"),
        "persons": listed.get("persons") or [], "basis": listed.get("basis"), "case_no": listed.get("case_no"),
        "region_code": listed.get("region_code"), "decision_date": listed["decision_date"],
        "start_date": listed["start_date"], "end_date": listed["end_date"],
        "ended_on": ended_on(ended) if ended else None, "matter_id": rows[0][0].matter_id,
        "history": [{"record_id": d["record_id"], "action": d["action"], "source_agency": d["source_agency"],
                     "decision_date": d["decision_date"], "start_date": d["start_date"],
                     "end_date": d.get("end_date"), "basis": d.get("basis"),
                     "accepted_at": row.accepted_at.astimezone(BEIJING).isoformat()} for row, d in rows],
    }


def ended_on(record: Mapping[str, Any]) -> str:
    """The day a removal or an expiry took the employer off the list: its ``end_date``, else
    the decision's date (as the recipients are told)."""
    return record.get("end_date") or record["decision_date"]


def listings(session, status: str | None = None) -> list[dict[str, Any]]:
    """Every listing with its history, the latest decided first."""
    views = [v for n, rows in _records(session).items() if (v := _view(n, rows)) is not None]
    views = [v for v in views if not status or v["status"] == status]
    return sorted(views, key=lambda v: (v["decision_date"], v["list_no"]), reverse=True)


def listing(session, list_no: str) -> dict[str, Any] | None:
    rows = _records(session, [list_no]).get(list_no)
    return _view(list_no, rows) if rows else None


def refusal(session, record: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """Why a listing decision cannot apply as the store holds its listing: (field, rule, why)."""
    rows = _records(session, [record["list_no"]]).get(record["list_no"], [])
    listed = next((d for _, d in rows if d["action"] == "list"), None)
    if record["action"] == "list":
        if listed is not None:
            return "list_no", "once", f"was listed before, on {listed['decision_date']}: a new listing takes a new number"
        return None
    if listed is None:
        return "list_no", "unknown-listing", "names no listing the hub holds: a removal or an expiry follows a LIST"
    ended = next((d for _, d in rows if d["action"] in _ENDED), None)
    if ended is not None:
        return "action", "ended", f"the listing already ended on {ended_on(ended)} ({_ENDED[ended['action']]})"
    if subject_key(record) != subject_key(listed):
        return "credit_code", "same-employer", "names another employer than the listing it ends"
    return None


# -- proposals: LISTING_CANDIDATE ----------------------------------------------------------

GROUND_TYPES = frozenset({"police_decision", "reconsideration_decision", "court_judgment"})


def ground_of(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """The listing ground a record shows, with the number it is known by."""
    rtype = record.get("type")
    if rtype in ("police_decision", "reconsideration_decision") and record.get("decision") == "opened":
        return "transfer_opened", record["transfer_no"]
    if rtype == "court_judgment" and record.get("procedure") == "criminal" \
            and record.get("verdict") in ("guilty", "exempted"):
        return "criminal_judgment", record["case_number"]
    return None


def _candidate_id(employer: str, number: str) -> str:
    return "cand_" + hashlib.sha256(f"{employer}:{number}".encode()).hexdigest()[:32]


def _employer(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The matter's employer as its latest record naming one gives it."""
    for r in reversed(records):
        if r["type"] == "criminal_transfer":
            return dict(r["employer"])
        if r["type"] in ("payment_order", "court_judgment") and (r.get("employer_uscc") or r.get("employer_id_number")):
            return {"name": None, "uscc": r.get("employer_uscc"), "id_number": r.get("employer_id_number")}
        if r["type"] == "clue" and (r["employer"].get("uscc") or r["employer"].get("id_number")):
            return dict(r["employer"])
    return None


def candidate(session, matter_id: str, ground: str, subject: str, settings: Mapping[str, Any],
              pending: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any] | None:
    """The outbox row proposing the matter's employer for listing on ``ground`` (shown by
    the record numbered ``subject``), or None: the ground is not configured, the employer
    was proposed for this matter before (on any ground), or is listed, or was listed for it."""
    cfg = settings["listing"]
    if ground not in cfg["grounds"] or not cfg["propose_to"]:
        return None
    live = matters.resolve(session, matter_id) or matter_id
    records = [r[0] for r in session.execute(select(Record.data).where(Record.matter_id == live)
                                             .order_by(Record.occurred_at, Record.seq))]
    employer = _employer(records)
    if employer is None:
        return None
    key = identity.employer_key(employer)
    refs = matters.refs(session, live, matters.DELIVERY_REFS)
    first = (refs.get("case_no") or refs.get("clue_no") or [subject])[0]
    record_id = _candidate_id(key, first)  # once per employer and matter (its first case or clue)
    if any(row.get("record_id") == record_id for row in pending) or \
            session.scalar(select(Outbox.id).where(Outbox.record_id == record_id).limit(1)) is not None:
        return None
    if any(r["type"] == TYPE for r in records) or \
            any(v["status"] == "listed" and subject_key(v) == key for v in listings(session)):
        return None
    if not employer.get("name"):
        employer["name"] = next((r["employer"]["name"] for r in reversed(records)
                                 if r["type"] in ("criminal_transfer", "clue")), None)
    numbers = {name: refs[name][0] for name in ("case_no", "order_no", "transfer_no", "clue_no") if refs.get(name)}
    facts = next((r for r in reversed(records) if r["type"] in ("criminal_transfer", "clue")), {})
    now = utcnow()
    record = {"type": "listing_candidate", "ground": ground, "ground_text": GROUNDS[ground], "basis": BASIS,
              "ground_ref": subject, "matter_id": live, "employer": {k: v for k, v in employer.items() if v},
              "amount_owed": facts.get("amount_owed"), "worker_count": facts.get("worker_count"),
              "term_years": cfg["term_years"], **numbers}
    return {
        "message_id": record_id, "record_id": record_id, "record_type": "listing_candidate",
        "source_agency": "hub", "matter_id": live, "recipient": cfg["propose_to"], "kind": "NOTICE",
        "route": f"listing-candidate-{ground}", "status": "pending", "attempts": 0, "next_attempt_at": now,
        "created_at": now, "claimed_until": None,
        "payload": {"record": record, "refs": refs, "params": {"notice_kind": "LISTING_CANDIDATE"},
                    "created_at": iso(now_beijing())},
    }


def propose_due(hub, now: dt.datetime | None = None) -> int:
    """Propose the employers of matters whose order to pay has fallen due unpaid with the
    amount relatively large: the ``transfer_approve`` step has started (it starts then, and
    only then) and was not made moot by the order's compliance before it fell due."""
    now = now or utcnow()
    if "order_unpaid" not in hub.settings["listing"]["grounds"]:
        return 0
    with hub.store.sessions() as session:
        started = [(d.matter_id, d.subject) for d in session.scalars(
            select(Deadline).where(Deadline.rule == "transfer_approve", Deadline.start_at <= now))
            if not (d.status == "moot" and d.done_at is not None and d.done_at < d.start_at)]
    made = 0
    for matter_id, order_no in started:
        try:
            with hub.store.transaction() as session:
                row = candidate(session, matter_id, "order_unpaid", order_no, hub.settings)
                if row is None:
                    continue
                outbox.enqueue(session, row, claim=False)
        except IntegrityError:
            continue  # another worker proposed it first
        log.info("proposed a listing candidate (order_unpaid) for matter %s", matter_id)
        made += 1
    return made


# -- the term's end --------------------------------------------------------------------------


def expire_due(hub, now: dt.datetime | None = None) -> int:
    """Expire each listing whose term has ended (its ``end_date`` is past, Beijing time)
    and that no decision ended: a ``credit_listing`` of the hub's own, once."""
    today = (now or utcnow()).astimezone(BEIJING).date()
    with hub.store.sessions() as session:
        due = [v for v in listings(session, "listed") if dt.date.fromisoformat(v["end_date"]) < today]
    made = 0
    for v in due:
        left = dt.date.fromisoformat(v["end_date"]) + dt.timedelta(days=1)
        record = {"type": TYPE, "source_ref": v["list_no"], "list_no": v["list_no"], "action": "expire",
                  "credit_code": v["credit_code"], "id_number": v["id_number"], "name": v["name"],
                  "decision_date": left.isoformat(), "start_date": v["start_date"], "end_date": v["end_date"],
                  "case_no": v["case_no"], "region_code": v["region_code"]}
        if hub.pipeline.apply_own(record, f"expire-{v['list_no']}", actor="hub"):
            log.info("listing %s expired at the end of its term", v["list_no"])
            made += 1
    return made
