"""The steps the engine knows: each rule's title, owner and legal source, and the sets of
steps that are handled alike (explicit due times, windows, criminal steps)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    owner: str
    source: str


TRANSFER_REGULATION = "行政执法机关移送涉嫌犯罪案件的规定"
RULES = {r.name: r for r in (
    Rule("first_contact", "首日对接 first contact with the complainant", "hrss", "city practice (Qingdao)"),
    Rule("accept_complaint", "受理 accept or reject the complaint", "hrss", "labour inspection rules"),
    Rule("close_case", "结案 close the labour inspection case", "hrss",
         "劳动保障监察条例 Art. 17 (60 working days, + up to 30 approved)"),
    Rule("housing_answer", "三交办 the construction department answers the assignment", "housing",
         "city practice"),
    Rule("gov_answer", "三交办 属地 the government of the project's area answers the assignment", "gov",
         "city practice"),
    Rule("order_due", "责令支付 the order to pay falls due", "hrss", "the order to pay"),
    Rule("mediation_pay", "调解协议 the employer pays what the mediation agreement says by its date", "hrss",
         "the mediation agreement (劳动争议调解仲裁法 Art. 15)"),
    Rule("transfer_approve", "批准移送 approve or refuse the transfer of a suspected crime", "hrss",
         f"{TRANSFER_REGULATION} Art. 5 ¶1"),
    Rule("transfer_handover", "移送 hand the approved transfer to the police", "hrss",
         f"{TRANSFER_REGULATION} Art. 5 ¶2"),
    Rule("linkage_decide", "两法衔接 the linkage office decides on a held dossier", "linkage",
         "city practice ([deadlines.linkage_decide])"),
    Rule("police_decide", "立案审查 police decide on the transfer", "police", f"{TRANSFER_REGULATION} Art. 8"),
    Rule("police_request_materials", "补充材料 police ask for missing materials", "police",
         "公安机关办理刑事案件程序规定 Art. 180"),
    Rule("complete_materials", "补充材料 labour inspection completes the materials", "hrss",
         "公安机关办理刑事案件程序规定 Art. 180"),
    Rule("handover_after_opening", "移交 hand over remaining materials after the case is opened", "hrss",
         f"{TRANSFER_REGULATION} Art. 12"),
    Rule("reconsideration_request", "提请复议 labour inspection may ask the police to reconsider a decline", "hrss",
         f"{TRANSFER_REGULATION} Art. 9"),
    Rule("reconsideration_answer", "复议决定 police answer a request for reconsideration", "police",
         f"{TRANSFER_REGULATION} Art. 9"),
    Rule("supervision_request", "建议立案监督 labour inspection may ask the procuratorate to supervise", "hrss",
         f"{TRANSFER_REGULATION} Art. 9"),
    Rule("procuratorate_reasons", "说明不立案理由 police explain to the procuratorate why no case was opened",
         "police", "公安机关办理刑事案件程序规定 Art. 183"),
    Rule("procuratorate_order", "通知立案 police open the case the procuratorate ordered", "police",
         "公安机关办理刑事案件程序规定 Art. 183"),
    Rule("work_order_reply", "12345 办理结果 answer the hotline's work order with its result", "hrss",
         "the work order's own 办结时限 (replyBy); once reopened: [deadlines.work_order_reply]"),
)}

# The number each step's subject is, by rule (the rest are transfer numbers).
SUBJECT_FIELDS = {"first_contact": "clue_no", "accept_complaint": "clue_no", "housing_answer": "clue_no",
                  "gov_answer": "clue_no",
                  "close_case": "case_no", "order_due": "order_no", "transfer_approve": "order_no",
                  "mediation_pay": "mediation_no", "work_order_reply": "work_order_no"}


def subject_field(rule: str) -> str:
    return SUBJECT_FIELDS.get(rule, "transfer_no")


# Steps whose due time the record itself gives (no [deadlines] limit).
EXPLICIT_DUE = frozenset({"order_due", "mediation_pay"})

# Steps that are a right, not a duty: a window that passes unused is moot, never overdue.
WINDOWS = frozenset({"reconsideration_request", "supervision_request"})

# Options shown after a decline, with their limits (rule name -> what it is).
DECLINE_OPTIONS = (
    ("reconsideration_answer", "申请复议 request reconsideration: the police answer within the limit", "police"),
    ("procuratorate_reasons", "检察院要求说明理由 the procuratorate asks for reasons: the police answer within the limit",
     "police"),
    ("procuratorate_order", "检察院通知立案 the procuratorate orders a case opened: the police carry it out within "
     "the limit", "police"),
)


@dataclass
class Due:
    key: str
    rule: str
    subject: str
    owner: str
    title: str
    source: str
    start_at: dt.datetime
    due_at: dt.datetime
    done_at: dt.datetime | None = None
    moot: str | None = None
    """Why the step is no longer needed (the matter was paid, closed...): closed unmet."""
    moot_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.done_at is not None:
            return "met" if self.done_at <= self.due_at else "late"
        return "moot" if self.moot else "open"


# The police's and the transfer's steps: payment before prosecution may reduce or waive the
# punishment (Criminal Law Art. 276-1 ¶3), it does not stop the case by itself; whether a
# full payment moots them is the setting [linkage] payment_moots_criminal_steps.
CRIMINAL_RULES = frozenset({"transfer_approve", "transfer_handover", "linkage_decide", "police_decide",
                            "police_request_materials", "complete_materials", "handover_after_opening",
                            "reconsideration_request", "reconsideration_answer", "supervision_request"})
