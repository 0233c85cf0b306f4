"""The daily bulletin (日通报): one Beijing calendar day's figures, by district.

Every figure is read from the canonical records and deadlines of the store, for the day
``[00:00, 24:00)`` in ``hub.timezone`` (Asia/Shanghai, UTC+8):

``clues_by_channel``, ``clues_total``, ``amount_owed``
    clues whose ``received_at`` falls on the day (the record's business time,
    ``records.occurred_at``). A clue number counts once; its latest version gives the
    channel and the amount.
``first_contacts_on_time`` / ``first_contacts_late``
    ``first_contact`` deadlines done that day: ``met`` is on time, ``late`` is late.
    First contacts still not made and already overdue at the end of the day count as
    late too; ``first_contacts_late_open`` says how many of the late ones they are.
``cases_opened`` / ``cases_closed``
    case numbers with a case record of status ``opened`` / ``closed`` whose
    ``status_at`` falls on the day, each number once.
``amount_recovered`` / ``workers_paid``
    from the cases closed that day (the latest closing record of each case number).
``transfers_by_stage``
    every criminal transfer made by the end of the day, by its stage at the end of the
    day: the last step of :func:`hub.casework.transfers.transfer_view`'s timeline dated before
    the end of the day (the current status when a view has no timeline). Steps
    reported later are not known to an earlier day's bulletin only when they are dated
    later: a step dated on or before the day counts even if it arrived afterwards.
``risks``
    early warnings on construction projects (``hub.casework.risks``) raised that day, counted by
    district and rule: ``risk`` records of status ``raised`` whose ``raised_on`` is the day
    (a list of ``{region_code, region_name, rule, count}``, beside the district table).
``overdue_total`` / ``overdue_by_owner`` and ``overdue_items``
    deadlines open at the end of the day with ``due_at`` before it: those still
    ``open``, and those done ``late`` after the day (so a past day's bulletin does not
    change when the step is finally done, or becomes moot). A window that is a right
    (reconsideration, supervision: ``deadlines.WINDOWS``) never counts.

A record's district is its own ``region_code``; else the ``region_code`` of its
matter's first clue (else first project); else ``unknown``. A deadline's district is
its ``region_code``, else its matter's. Money is a decimal string in yuan, two places.

:func:`publish_bulletin` writes the day's bulletin to the outbox for every subscribing
agency, once per day (``message_id`` ``bulletin-<day>-<agency>``); :func:`due_day` tells a
clock (``hub.messaging.scheduler``) which day is due, so the hub publishes it by itself at ``bulletin.time``.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hub.casework import matters
from hub.casework.transfers import STATUSES, transfer_view
from hub.ids import BEIJING, iso, now_beijing
from hub.messaging import outbox
from hub.messaging.outbox import OutboxRow
from hub.store.models import Deadline, Outbox, Record, utcnow
from schemas.divisions import division_name
from schemas.records import CHANNELS

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
TOTAL = "total"
CENT = decimal.Decimal("0.01")
ROUTE = "daily-bulletin"
RECORD_TYPE = "daily_bulletin"
MATTER = "bulletin"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CHANNEL_NAMES = {"qr_code": "扫码", "hotline": "热线", "petition": "信访", "walk_in": "来访", "online": "网上",
                 "referral": "转办"}
STAGE_NAMES = {"held": "暂缓待补", "transferred": "已移送", "received": "已接收", "opened": "已立案",
               "declined": "不予立案", "returned": "退回补充", "reconsidering": "提请复议", "supervised": "立案监督",
               "judged": "已判决", "closed": "已结案"}


# -- the day ----------------------------------------------------------------------------------

def report_tz(settings: Mapping[str, Any]) -> dt.tzinfo:
    """``hub.timezone`` as a tzinfo (a fixed UTC+8 when the system has no zone database)."""
    name = settings["hub"]["timezone"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
            return BEIJING
        raise


def day_window(day: dt.date, settings: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """The day as ``[start, end)``, aware, in the report timezone."""
    tz = report_tz(settings)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start, end


def due_day(now: dt.datetime, settings: Mapping[str, Any]) -> dt.date | None:
    """The day whose bulletin is due at ``now``: yesterday (report timezone) once
    ``bulletin.time`` has passed today, else None. A naive ``now`` is read as UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    local = now.astimezone(report_tz(settings))
    hour, minute = (int(x) for x in settings["bulletin"]["time"].split(":"))
    if local.time().replace(tzinfo=None) >= dt.time(hour, minute):
        return local.date() - dt.timedelta(days=1)
    return None


def yesterday(settings: Mapping[str, Any], now: dt.datetime | None = None) -> dt.date:
    now = now or utcnow()
    return now.astimezone(report_tz(settings)).date() - dt.timedelta(days=1)


# -- districts ------------------------------------------------------------------------------

def chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def matter_districts(session: Session, matter_ids: Iterable[str]) -> dict[str, str]:
    """Each matter's district: the ``region_code`` of its first clue, else first project."""
    ids = sorted({m for m in matter_ids if m})
    clue: dict[str, str] = {}
    project: dict[str, str] = {}
    for chunk in chunks(ids):
        rows = session.execute(
            select(Record.matter_id, Record.type, Record.data)
            .where(Record.matter_id.in_(chunk), Record.type.in_(("clue", "project")))
            .order_by(Record.occurred_at, Record.seq))
        for matter_id, rtype, data in rows:
            code = data.get("region_code")
            if code:
                (clue if rtype == "clue" else project).setdefault(matter_id, code)
    return {m: clue.get(m) or project.get(m) or UNKNOWN for m in ids}


def region_name(code: str) -> str:
    if code == UNKNOWN:
        return "未知区划"
    if code == TOTAL:
        return "合计"
    return division_name(code) or code


# -- building -------------------------------------------------------------------------------

def _figures(code: str) -> dict[str, Any]:
    return {
        "region_code": code,
        "region_name": region_name(code),
        "clues_total": 0,
        "clues_by_channel": {c: 0 for c in CHANNELS},
        "amount_owed": decimal.Decimal(0),
        "first_contacts_on_time": 0,
        "first_contacts_late": 0,
        "first_contacts_late_open": 0,
        "cases_opened": 0,
        "cases_closed": 0,
        "amount_recovered": decimal.Decimal(0),
        "workers_paid": 0,
        "transfers_by_stage": {s: 0 for s in STATUSES},
        "overdue_total": 0,
        "overdue_by_owner": {},
    }


def _money(value: Any) -> decimal.Decimal:
    if value in (None, ""):
        return decimal.Decimal(0)
    return decimal.Decimal(str(value))


def _moment(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A timeline time (a date, or a time with or without offset) as an aware datetime."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def stage_at(view: Mapping[str, Any], end: dt.datetime, tz: dt.tzinfo) -> str | None:
    """A transfer's stage just before ``end``; None when it was not transferred yet."""
    timeline = view.get("timeline") or []
    if not timeline:
        return view.get("status")
    stage = None
    for step in timeline:
        at = _moment(step.get("at"), tz)
        if at is None or at < end:  # an undated step cannot be placed later: it counts
            stage = step.get("status")
    return stage


def _records(session: Session, rtype: str, start: dt.datetime, end: dt.datetime, *where) -> list[Record]:
    return list(session.scalars(
        select(Record).where(Record.type == rtype, Record.occurred_at >= start, Record.occurred_at < end, *where)
        .order_by(Record.occurred_at, Record.seq)))


def _latest_by(rows: list[Record], field: str) -> dict[str, Record]:
    """The latest record of each number (rows come oldest first)."""
    out: dict[str, Record] = {}
    for row in rows:
        out[str(row.data.get(field) or row.source_ref)] = row
    return out


def open_at_end(end: dt.datetime):
    """Deadlines still open at ``end`` and due before it (see the module docstring)."""
    from hub.casework.deadlines import WINDOWS

    # (a step that became moot, or was done late, after the day was still open that day;
    # a window, such as the right to ask for reconsideration, is never overdue)
    return and_(Deadline.due_at < end, Deadline.start_at < end, Deadline.rule.not_in(sorted(WINDOWS)),
                or_(Deadline.status == "open",
                    and_(Deadline.status.in_(("late", "moot")), Deadline.done_at >= end)))


def build_bulletin(session: Session, day: dt.date, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of ``day`` per district and in total (definitions: module docstring)."""
    tz = report_tz(settings)
    start, end = day_window(day, settings)

    clues = _latest_by(_records(session, "clue", start, end), "clue_no")
    cases = _records(session, "case", start, end, Record.data["status"].as_string().in_(("opened", "closed")))
    transfer_nos = list(dict.fromkeys(session.scalars(
        select(Record.source_ref).where(Record.type == "criminal_transfer", Record.occurred_at < end)
        .order_by(Record.seq))))
    views = [v for v in (transfer_view(session, n) for n in transfer_nos) if v is not None]
    done_contacts = list(session.scalars(
        select(Deadline).where(Deadline.rule == "first_contact", Deadline.done_at >= start, Deadline.done_at < end,
                               Deadline.status.in_(("met", "late")))))
    overdue = list(session.scalars(select(Deadline).where(open_at_end(end))
                                   .order_by(Deadline.due_at, Deadline.key)))
    raised = _records(session, "risk", start, end, Record.data["status"].as_string() == "raised")

    matter_ids = {r.matter_id for r in clues.values()} | {r.matter_id for r in cases}
    matter_ids |= {v["matter_id"] for v in views}
    matter_ids |= {d.matter_id for d in done_contacts + overdue if not d.region_code}
    matter_ids |= {r.matter_id for r in raised if not r.data.get("region_code")}
    districts = matter_districts(session, matter_ids)

    def district_of(data: Mapping[str, Any], matter_id: str | None) -> str:
        return data.get("region_code") or districts.get(matter_id or "", UNKNOWN)

    def deadline_district(d: Deadline) -> str:
        if d.region_code:
            return d.region_code
        code = districts.get(d.matter_id, UNKNOWN)
        if code == UNKNOWN:  # a row left on a matter merged since: its live matter's district
            live = matters.resolve(session, d.matter_id)
            if live and live != d.matter_id:
                code = districts[d.matter_id] = matter_districts(session, [live]).get(live, UNKNOWN)
        return code

    table: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        if code not in table:
            table[code] = _figures(code)
        return table[code]

    for record in clues.values():
        fig = row(district_of(record.data, record.matter_id))
        fig["clues_total"] += 1
        channel = record.data.get("channel")
        fig["clues_by_channel"][channel] = fig["clues_by_channel"].get(channel, 0) + 1
        fig["amount_owed"] += _money(record.data.get("amount_owed"))

    opened: dict[str, set[str]] = defaultdict(set)
    closed: dict[str, Record] = {}
    for record in cases:
        case_no = str(record.data.get("case_no") or record.source_ref)
        if record.data["status"] == "opened":
            opened[district_of(record.data, record.matter_id)].add(case_no)
        else:
            closed[case_no] = record  # oldest first: the last one wins
    for code, numbers in opened.items():
        row(code)["cases_opened"] += len(numbers)
    for record in closed.values():
        fig = row(district_of(record.data, record.matter_id))
        fig["cases_closed"] += 1
        fig["amount_recovered"] += _money(record.data.get("amount_recovered"))
        fig["workers_paid"] += int(record.data.get("workers_paid") or 0)

    for view in views:
        stage = stage_at(view, end, tz)
        if stage is None:
            continue
        stages = row(districts.get(view["matter_id"], UNKNOWN))["transfers_by_stage"]
        stages[stage] = stages.get(stage, 0) + 1

    for d in done_contacts:
        fig = row(deadline_district(d))
        fig["first_contacts_on_time" if d.status == "met" else "first_contacts_late"] += 1

    risk_counts: dict[tuple[str, str], int] = defaultdict(int)
    for record in raised:
        risk_counts[(district_of(record.data, record.matter_id), record.data.get("rule"))] += 1

    items = []
    for d in overdue:
        code = deadline_district(d)
        fig = row(code)
        fig["overdue_total"] += 1
        fig["overdue_by_owner"][d.owner] = fig["overdue_by_owner"].get(d.owner, 0) + 1
        if d.rule == "first_contact":
            fig["first_contacts_late"] += 1
            fig["first_contacts_late_open"] += 1
        items.append({"region_code": code, "region_name": region_name(code), "rule": d.rule, "title": d.title,
                      "subject": d.subject, "owner": d.owner, "due_at": d.due_at.astimezone(tz).isoformat(),
                      "matter_id": d.matter_id})

    rows = [table[c] for c in sorted(table, key=lambda c: (c == UNKNOWN, c))]
    total = _figures(TOTAL)
    for fig in rows:
        for key, value in fig.items():
            if isinstance(value, dict):
                for k, n in value.items():
                    total[key][k] = total[key].get(k, 0) + n
            elif key not in ("region_code", "region_name"):
                total[key] += value
    for fig in [*rows, total]:
        fig["overdue_by_owner"] = dict(sorted(fig["overdue_by_owner"].items()))
        for key in ("amount_owed", "amount_recovered"):
            fig[key] = format(fig[key].quantize(CENT), "f")
    items.sort(key=lambda i: (i["region_code"] == UNKNOWN, i["region_code"], i["due_at"], i["rule"]))
    return {
        "title": "欠薪线索处置日通报",
        "date": day.isoformat(),
        "timezone": settings["hub"]["timezone"],
        "from": start.isoformat(),
        "to": end.isoformat(),
        "generated_at": now_beijing().astimezone(tz).isoformat(),
        "districts": rows,
        "total": total,
        "overdue_items": items,
        "risks": [{"region_code": code, "region_name": region_name(code), "rule": rule, "count": n}
                  for (code, rule), n in sorted(risk_counts.items(), key=lambda kv: (kv[0][0] == UNKNOWN, kv[0]))],
        "followup": followup_figures(session, day, settings),
    }


def followup_figures(session: Session, day: dt.date, settings: Mapping[str, Any]) -> dict[str, Any]:
    from hub.casework.followup import figures

    return figures(session, day, settings)


FOLLOWUP_ROWS = (("drawn", "回头看抽取件数 drawn"), ("calls", "当日回访 calls"), ("reached", "联系上 reached"),
                 ("resolved", "已解决 resolved"), ("paid_full", "工资全额支付 paid in full"),
                 ("lawful", "程序合法 lawful"), ("satisfied", "满意 satisfied"), ("reopened", "重新办理 reopened"))


def for_area(bulletin: Mapping[str, Any], areas: Collection[str]) -> dict[str, Any]:
    """The bulletin as a principal limited to ``areas`` (division codes; a city's takes in its
    districts) sees it: those districts' rows, their total, their overdue items. No areas:
    the whole bulletin."""
    if not areas:
        return dict(bulletin)
    from schemas.divisions import covers

    def mine(code: str) -> bool:
        return any(covers(area, code) for area in areas)

    rows = [dict(r) for r in bulletin["districts"] if mine(r["region_code"])]
    total = _figures(TOTAL)
    for fig in rows:
        for key, value in fig.items():
            if isinstance(value, dict):
                for k, n in value.items():
                    total[key][k] = total[key].get(k, 0) + n
            elif key in ("amount_owed", "amount_recovered"):
                total[key] += decimal.Decimal(value)
            elif key not in ("region_code", "region_name"):
                total[key] += value
    total["overdue_by_owner"] = dict(sorted(total["overdue_by_owner"].items()))
    for key in ("amount_owed", "amount_recovered"):
        total[key] = format(total[key].quantize(CENT), "f")
    items = [i for i in bulletin["overdue_items"] if mine(i["region_code"])]
    risks = [r for r in bulletin.get("risks", []) if mine(r["region_code"])]
    from hub.casework import followup

    return {**bulletin, "areas": sorted(areas), "districts": rows, "total": total, "overdue_items": items,
            "risks": risks, "followup": followup.for_area(bulletin["followup"], mine)}


# -- writers ----------------------------------------------------------------------------------

def to_json(bulletin: Mapping[str, Any]) -> bytes:
    return json.dumps(bulletin, ensure_ascii=False, indent=2).encode("utf-8")


def _owners(bulletin: Mapping[str, Any]) -> list[str]:
    return sorted({o for fig in [*bulletin["districts"], bulletin["total"]] for o in fig["overdue_by_owner"]})



def columns(bulletin: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """The district table's columns: (english key, header, getter). Money getters return str."""
    cols: list[tuple[str, str, Any]] = [
        ("region_code", "区划代码", lambda f: f["region_code"]),
        ("region_name", "区划名称", lambda f: f["region_name"]),
        ("clues_total", "线索总数", lambda f: f["clues_total"]),
    ]
    for c in CHANNELS:
        cols.append((f"clues_{c}", f"线索·{CHANNEL_NAMES.get(c, c)}", lambda f, c=c: f["clues_by_channel"].get(c, 0)))
    cols += [
        ("amount_owed", "涉及欠薪金额(元)", lambda f: f["amount_owed"]),
        ("first_contacts_on_time", "首次联系按时", lambda f: f["first_contacts_on_time"]),
        ("first_contacts_late", "首次联系超时", lambda f: f["first_contacts_late"]),
        ("first_contacts_late_open", "其中超时未联系", lambda f: f["first_contacts_late_open"]),
        ("cases_opened", "立案数", lambda f: f["cases_opened"]),
        ("cases_closed", "结案数", lambda f: f["cases_closed"]),
        ("amount_recovered", "追回金额(元)", lambda f: f["amount_recovered"]),
        ("workers_paid", "兑付人数", lambda f: f["workers_paid"]),
    ]
    for s in STATUSES:
        cols.append((f"transfers_{s}", f"移送·{STAGE_NAMES.get(s, s)}", lambda f, s=s: f["transfers_by_stage"].get(s, 0)))
    cols.append(("overdue_total", "逾期事项", lambda f: f["overdue_total"]))
    for o in _owners(bulletin):
        cols.append((f"overdue_{o}", f"逾期·{o}", lambda f, o=o: f["overdue_by_owner"].get(o, 0)))
    return cols


MONEY_COLUMNS = ("amount_owed", "amount_recovered")
TEXT_COLUMNS = ("region_code", "region_name")


def header(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def safe_text(value: str) -> str:
    """Neutralise spreadsheet formula injection: text starting = + - @ (or tab, CR) gets a ``'``."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(bulletin: Mapping[str, Any]) -> bytes:
    """One row per district and a total row; UTF-8 with BOM (Excel reads it as such)."""
    cols = columns(bulletin)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(zh, en) for en, zh, _ in cols])
    for fig in [*bulletin["districts"], bulletin["total"]]:
        cells = []
        for en, _, get in cols:
            value = get(fig)
            cells.append(safe_text(str(value)) if en in TEXT_COLUMNS else value)
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(bulletin: Mapping[str, Any]) -> bytes:
    """Sheet 日通报 (title row, header row, one row per district, total) and sheet 逾期事项."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    def cell_value(value: Any) -> Any:
        return safe_text(value) if isinstance(value, str) else value

    cols = columns(bulletin)
    wb = Workbook()
    ws = wb.active
    ws.title = "日通报"
    ws.append([cell_value(f"{bulletin['title']} {bulletin['date']} ({bulletin['timezone']})")])
    ws.append([header(zh, en) for en, zh, _ in cols])
    for fig in [*bulletin["districts"], bulletin["total"]]:
        ws.append([decimal.Decimal(get(fig)) if en in MONEY_COLUMNS else cell_value(get(fig)) for en, _, get in cols])
    for i, (en, _, _) in enumerate(cols, start=1):
        if en in MONEY_COLUMNS:
            for (cell,) in ws.iter_rows(min_row=3, min_col=i, max_col=i):
                cell.number_format = "#,##0.00"
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C3"

    items = wb.create_sheet("逾期事项")
    fields = (("region_code", "区划代码"), ("region_name", "区划名称"), ("rule", "事项"), ("title", "标题"),
              ("subject", "对象"), ("owner", "责任单位"), ("due_at", "期限"), ("matter_id", "案件编号"))
    items.append([header(zh, en) for en, zh in fields])
    for item in bulletin["overdue_items"]:
        items.append([cell_value(item.get(en)) for en, _ in fields])
    for cell in items[1]:
        cell.font = Font(bold=True)
    items.freeze_panes = "A2"

    follow = wb.create_sheet("回头看")
    follow.append(["项目 (figure)", "数量 (count)"])
    for key, title in FOLLOWUP_ROWS:
        follow.append([title, bulletin["followup"][key]])
    for cell in follow[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


WRITERS = {"json": to_json, "csv": to_csv, "xlsx": to_xlsx}
MIMETYPES = {"json": "application/json", "csv": "text/csv", "xlsx": XLSX_MIMETYPE}


# -- publishing -----------------------------------------------------------------------------

def _installed(installed: Any) -> Collection[str]:
    """Agency codes from a :class:`hub.contract.plugins.Registry` or from a collection of codes."""
    if hasattr(installed, "codes") and callable(installed.codes):
        return set(installed.codes())
    return set(installed)


def message_id(day: dt.date, agency: str) -> str:
    return f"bulletin-{day.isoformat()}-{agency}"


def publish_bulletin(session: Session, day: dt.date, settings: Mapping[str, Any], installed: Any) -> int:
    """Write the day's bulletin to the outbox for each subscriber with a plugin installed.

    ``installed``: the registry, or the installed agency codes. Returns the rows written;
    a day already published to an agency is skipped, so calling it again writes none.
    The caller commits.
    """
    cfg = settings["bulletin"]
    codes = _installed(installed)
    targets = []
    for agency in dict.fromkeys(cfg["subscribers"]):
        if agency in codes:
            targets.append(agency)
        else:
            log.warning("bulletin subscriber %s has no installed plugin; skipped", agency)
    ids = {agency: message_id(day, agency) for agency in targets}
    if not ids:
        return 0
    existing = set(session.scalars(select(Outbox.message_id).where(Outbox.message_id.in_(list(ids.values())))))
    todo = [agency for agency in targets if ids[agency] not in existing]
    if not todo:
        return 0
    record = {**build_bulletin(session, day, settings), "type": RECORD_TYPE}
    created = iso(now_beijing())
    for agency in todo:
        outbox.enqueue(session, OutboxRow.new(
            message_id=ids[agency], record_id=f"bulletin-{day.isoformat()}", record_type=RECORD_TYPE,
            source_agency="hub", matter_id=MATTER, recipient=agency, kind=cfg["kinds"].get(agency, cfg["kind"]), route=ROUTE,
            payload={"record": record, "refs": {}, "params": {"notice_kind": cfg["notice_kind"]},
                     "created_at": created},
        ))
    session.flush()
    log.info("bulletin of %s written for %s", day.isoformat(), ", ".join(todo))
    return len(todo)

