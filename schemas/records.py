"""Canonical record schemas: one per record type of the contract.

Every record carries the envelope (``record_id``, ``type``, ``schema_version``,
``source_agency``, ``source_ref``, ``matter_id``, ``received_at``) and its own key
fields. ``LINKS`` names the numbers that tie a record to its arrears matter, as
(namespace, field) pairs; a list field links by each of its items.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import ClassVar

import marshmallow as ma

from schemas import fields as f
from schemas.messages import ruled

SCHEMA_VERSION = "1.2"
"""The canonical schemas' version, major.minor (see ``schemas.versions``): 1.1 added
``supervision_opinion``; 1.2 added individual employers, workers one by one and the
criminal-linkage steps (reconsideration, supervision request, extension, payment,
reconsideration decision, materials request, assignment answer, credit listing), the facts
of early warning on construction projects (account deposit, worker payout, deposit event,
missed funding, roster entry, labour contract, payroll month, risk) and the 12345 hotline's
work order and satisfaction call-back (a clue's figures optional). A record's
``schema_version`` is its type's ``VERSION``: the
version in which that type last changed."""
_FIRST_VERSION = "1.0"

_str = ma.fields.String
_int = ma.fields.Integer
_bool = ma.fields.Boolean
_date = ma.fields.Date
_list = ma.fields.List
_nested = ma.fields.Nested


class _Text(ma.validate.Length):
    """1 to ``max`` characters, not all of them blank (spaces only is no value: rule ``required``)."""

    def __init__(self, max: int):  # noqa: A002  (marshmallow's own name)
        super().__init__(min=1, max=max, error=ruled("must be 1 to {max} characters", "length"))

    def __call__(self, value):
        if isinstance(value, str) and value and not value.strip():
            raise ma.ValidationError(ruled("must not be blank", "required"))
        return super().__call__(value)


_nonblank = _Text(200)
_code = _Text(64)
_ref = _Text(200)  # an agency's reference: a number, or numbers joined (the police's YSBH/TYPE/time)


def _d(text: str) -> dict:
    return {"description": text}


def _one_of(choices) -> ma.validate.OneOf:
    return ma.validate.OneOf(choices, error=ruled("must be one of: {choices}", "enum"))


def _at_least(n: int) -> ma.validate.Range:
    return ma.validate.Range(min=n, max=10**9, error=ruled("must be between {min} and {max}", "range"))


class _Strict(ma.Schema):
    class Meta:
        # A field the schema does not know is a plugin bug or a schema mismatch: refuse it.
        unknown = ma.RAISE


class RecordSchema(_Strict):
    """The envelope every canonical record carries."""

    TYPE: ClassVar[str] = ""
    LINKS: ClassVar[tuple[tuple[str, str], ...]] = ()
    VERSION: ClassVar[str] = _FIRST_VERSION

    record_id = _str(load_default=None, metadata=_d("the hub's id of this record"))
    type = _str(required=True, metadata=_d("record type"))
    schema_version = _str(load_default=_FIRST_VERSION, metadata=_d("canonical schema version, major.minor"))
    source_agency = _str(required=True, metadata=_d("agency code the record came from"))
    source_ref = _str(required=True, validate=_ref, metadata=_d("the agency's own number for it"))
    matter_id = _str(load_default=None, allow_none=True, metadata=_d("the arrears matter it belongs to"))
    received_at = f.OffsetDateTime(required=True, metadata=_d("when it was received"))
    accepted_at = f.OffsetDateTime(load_default=None, allow_none=True,
                                   metadata=_d("when the hub accepted it (hub clock)"))

    @ma.validates("type")
    def _type_matches(self, value, **kwargs):
        if self.TYPE and value != self.TYPE:
            raise ma.ValidationError(ruled(f"must be {self.TYPE!r}", "enum"))


class PersonSchema(_Strict):
    name = _str(required=True, validate=_nonblank)
    id_number = f.IdNumber(load_default=None, allow_none=True, metadata=_d("personal data"))
    mobile = f.Mobile(load_default=None, allow_none=True, metadata=_d("personal data"))


class ComplainantSchema(PersonSchema):
    mobile = f.Mobile(required=True, metadata=_d("personal data"))


class CompanySchema(_Strict):
    """A party named by its unified social credit code (a contractor, a mediation's employer)."""

    name = _str(required=True, validate=_nonblank)
    uscc = f.Uscc(load_default=None, allow_none=True)


class RequiredUsccEmployerSchema(CompanySchema):
    uscc = f.Uscc(required=True)


class EmployerSchema(CompanySchema):
    """An employer: a company (``uscc``) or an individual without the standing to employ
    (不具备用工主体资格的个人, a 包工头: ``id_number``), Criminal Law Art. 276-1 and the
    2013 interpretation Art. 7."""

    id_number = f.IdNumber(load_default=None, allow_none=True, metadata=_d("personal data: an individual employer"))


def _exactly_one_employer(uscc, id_number, key: str) -> None:
    """A company or a person, never both or neither (rule ``exactly-one``, keyed by the USCC)."""
    if bool(uscc) == bool(id_number):
        what = "both are given" if uscc else "neither is given"
        raise ma.ValidationError({key: [ruled(f"the employer is a company (uscc) or an individual (id_number): exactly one, "
                                              f"{what}", "exactly-one")]})


class TransferEmployerSchema(EmployerSchema):
    """A transfer's employer: exactly one of ``uscc`` and ``id_number``."""

    @ma.validates_schema
    def _one(self, data, **kwargs):
        _exactly_one_employer(data.get("uscc"), data.get("id_number"), "uscc")


class SuspectSchema(_Strict):
    name = _str(required=True, validate=_nonblank)
    id_number = f.IdNumber(required=True, metadata=_d("personal data"))
    role = _str(load_default=None, allow_none=True)


class DefendantSchema(_Strict):
    name = _str(required=True, validate=_nonblank)
    id_number = f.IdNumber(load_default=None, allow_none=True, metadata=_d("personal data"))


class WorkerSchema(_Strict):
    """One worker owed (1.2): the 2013 interpretation Art. 3 judges each worker's amount and months."""

    name = _str(required=True, validate=_nonblank)
    id_number = f.IdNumber(required=True, metadata=_d("personal data"))
    amount = f.Money(required=True, metadata=_d("owed to this worker"))
    period_from = f.Month(required=True)
    period_to = f.Month(required=True, metadata=_d("months the wages cover, inclusive"))

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["amount"] <= 0:
            raise ma.ValidationError({"amount": [ruled("must be more than 0", "range")]})
        if data["period_from"] > data["period_to"]:
            raise ma.ValidationError({"period_to": [ruled("must not be before period_from", "period-order")]})


def _workers_field() -> ma.fields.List:
    return _list(_nested(WorkerSchema), load_default=None, allow_none=True,
                 metadata=_d("the workers owed, one by one (1.2); absent: only the totals are known"))


def _check_workers(workers) -> None:
    """Each worker listed once (rule ``duplicate-worker``, keyed by the later item's id_number)."""
    seen: set[str] = set()
    for i, worker in enumerate(workers or ()):
        if worker["id_number"] in seen:
            raise ma.ValidationError({"workers": {i: {"id_number": [ruled("lists a worker listed before: one item a worker",
                                                                           "duplicate-worker")]}}})
        seen.add(worker["id_number"])


CHANNELS = ("qr_code", "hotline", "petition", "walk_in", "online", "referral")


class ClueSchema(RecordSchema):
    TYPE = "clue"
    VERSION = "1.2"  # employer.id_number
    LINKS = (("clue", "clue_no"),)

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))

    clue_no = _str(required=True, validate=_code)
    channel = _str(required=True, validate=_one_of(CHANNELS), metadata=_d("intake channel"))
    region_code = f.Division(required=True)
    complainant = _nested(ComplainantSchema, required=True)
    employer = _nested(EmployerSchema, required=True)
    project_code = _str(load_default=None, allow_none=True, validate=_code)
    # A 12345 work order gives the figures only when the caller said them: absent, not guessed.
    worker_count = _int(load_default=None, allow_none=True, strict=True, validate=_at_least(1))
    amount_owed = f.Money(load_default=None, allow_none=True)
    period_from = f.Month(load_default=None, allow_none=True)
    period_to = f.Month(load_default=None, allow_none=True)
    content = _str(load_default=None, allow_none=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data.get("amount_owed") is not None and data["amount_owed"] <= 0:
            raise ma.ValidationError({"amount_owed": [ruled("must be more than 0", "range")]})
        if data.get("period_from") and data.get("period_to") and data["period_from"] > data["period_to"]:
            raise ma.ValidationError({"period_to": [ruled("must not be before period_from", "period-order")]})


CASE_STATUSES = ("accepted", "opened", "mediating", "closed", "transferred", "rejected")


class CaseSchema(RecordSchema):
    TYPE = "case"
    VERSION = "1.2"  # workers
    LINKS = (("case", "case_no"), ("clue", "clue_nos"))

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))

    case_no = _str(required=True, validate=_code)
    clue_nos = _list(_str(validate=_code), required=True)
    status = _str(required=True, validate=_one_of(CASE_STATUSES))
    status_at = f.OffsetDateTime(required=True)
    first_contact_at = f.OffsetDateTime(load_default=None, allow_none=True)
    handler = _str(load_default=None, allow_none=True)
    amount_recovered = f.Money(load_default=None, allow_none=True)
    workers_paid = _int(load_default=None, allow_none=True, strict=True, validate=_at_least(0))
    workers = _workers_field()

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        _check_workers(data.get("workers"))


class PaymentOrderSchema(RecordSchema):
    TYPE = "payment_order"
    VERSION = "1.2"  # employer_id_number
    LINKS = (("order", "order_no"), ("case", "case_no"))

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))
    order_no = _str(required=True, validate=_code)
    case_no = _str(required=True, validate=_code)
    employer_uscc = f.Uscc(load_default=None, allow_none=True)
    employer_id_number = f.IdNumber(load_default=None, allow_none=True,
                                    metadata=_d("personal data: an individual employer, instead of employer_uscc"))
    amount = f.Money(required=True)
    issued_on = _date(required=True)
    due_on = _date(required=True)
    served_on = _date(load_default=None, allow_none=True)
    complied = _bool(required=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        _exactly_one_employer(data.get("employer_uscc"), data.get("employer_id_number"), "employer_uscc")
        if data["amount"] <= 0:
            raise ma.ValidationError({"amount": [ruled("must be more than 0", "range")]})
        if data["due_on"] <= data["issued_on"]:
            raise ma.ValidationError({"due_on": [ruled("must be after issued_on", "due-after-issue")]})


EVIDENCE_CODES = ("E01", "E02", "E03", "E04", "E05")


class CriminalTransferSchema(RecordSchema):
    TYPE = "criminal_transfer"
    VERSION = "1.2"  # an individual employer, workers
    LINKS = (("transfer", "transfer_no"), ("case", "case_no"), ("order", "order_no"))

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))
    transfer_no = _str(required=True, validate=_code)
    case_no = _str(required=True, validate=_code)
    order_no = _str(required=True, validate=_code)
    employer = _nested(TransferEmployerSchema, required=True)
    suspects = _list(_nested(SuspectSchema), required=True,
                     validate=ma.validate.Length(min=1, error=ruled("needs at least one suspect", "min-items")))
    worker_count = _int(required=True, strict=True, validate=_at_least(1))
    amount_owed = f.Money(required=True)
    evidence = _list(_str(validate=_one_of(EVIDENCE_CODES)), required=True)
    transferred_on = _date(required=True)
    police_unit = _str(required=True, validate=_code)
    summary = _str(load_default=None, allow_none=True)
    workers = _workers_field()

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["amount_owed"] <= 0:
            raise ma.ValidationError({"amount_owed": [ruled("must be more than 0", "range")]})
        workers = data.get("workers")
        if workers is None:
            return
        _check_workers(workers)
        if data["worker_count"] != len(workers):
            raise ma.ValidationError({"worker_count": [ruled(f"must equal the number of workers listed, {len(workers)}",
                                                             "worker-count")]})
        total = sum(w["amount"] for w in workers)
        if data["amount_owed"] != total:
            raise ma.ValidationError({"amount_owed": [ruled(f"must equal the sum of the workers' amounts, "
                                                            f"{format(total, 'f')}", "sum")]})


class PoliceReceiptSchema(RecordSchema):
    TYPE = "police_receipt"
    LINKS = (("transfer", "transfer_no"),)

    transfer_no = _str(required=True, validate=_code)
    officer = _str(load_default=None, allow_none=True)


DECISIONS = ("opened", "declined", "returned")


class _TransferDecisionSchema(RecordSchema):
    """The police's decision on a transfer: a case opened (its number required) or not (a reason required)."""

    LINKS = (("transfer", "transfer_no"), ("police_case", "police_case_no"))
    NEEDS_REASON: ClassVar[tuple[str, ...]] = ()

    transfer_no = _str(required=True, validate=_code)
    decision = _str(required=True)
    police_case_no = _str(load_default=None, allow_none=True, validate=_code)
    decided_at = f.OffsetDateTime(required=True)
    reason = _str(load_default=None, allow_none=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["decision"] == "opened" and not data.get("police_case_no"):
            raise ma.ValidationError({"police_case_no": [ruled("required when the case is opened", "required-if")]})
        if data["decision"] in self.NEEDS_REASON and not (data.get("reason") or "").strip():
            raise ma.ValidationError({"reason": [ruled(f"required when {' or '.join(self.NEEDS_REASON)}",
                                                       "required-if")]})


class PoliceDecisionSchema(_TransferDecisionSchema):
    TYPE = "police_decision"
    NEEDS_REASON = ("declined", "returned")

    decision = _str(required=True, validate=_one_of(DECISIONS))


PROCEDURES = ("criminal", "civil")
VERDICTS = ("guilty", "not_guilty", "exempted", "plaintiff_wins", "plaintiff_loses", "settled")


class CourtJudgmentSchema(RecordSchema):
    TYPE = "court_judgment"
    VERSION = "1.2"  # employer_id_number
    LINKS = (("court_case", "case_number"), ("transfer", "transfer_no"), ("case", "hrss_case_no"))

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))

    case_number = f.CourtCaseNumber(required=True, validate=_code)
    court_code = _str(load_default=None, allow_none=True)
    procedure = _str(required=True, validate=_one_of(PROCEDURES))
    transfer_no = _str(load_default=None, allow_none=True, validate=_code)
    hrss_case_no = _str(load_default=None, allow_none=True, validate=_code)
    employer_uscc = f.Uscc(load_default=None, allow_none=True)
    employer_id_number = f.IdNumber(load_default=None, allow_none=True,
                                    metadata=_d("personal data: an individual employer, instead of employer_uscc"))
    defendants = _list(_nested(DefendantSchema), load_default=list)
    verdict = _str(required=True, validate=_one_of(VERDICTS))
    sentence_months = _int(load_default=None, allow_none=True, strict=True, validate=_at_least(0))
    amount_ordered = f.Money(required=True)
    decided_on = _date(required=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        _exactly_one_employer(data.get("employer_uscc"), data.get("employer_id_number"), "employer_uscc")
        if data["procedure"] == "criminal" and not data.get("defendants"):
            raise ma.ValidationError({"defendants": [ruled("required in a criminal judgment", "required-if")]})


ENFORCEMENT_STATUSES = ("opened", "partially_paid", "paid", "terminated")


class CourtEnforcementSchema(RecordSchema):
    TYPE = "court_enforcement"
    VERSION = "1.2"  # employer_uscc / employer_id_number
    LINKS = (("court_case", "case_number"), ("court_case", "judgment_case_number"))

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))

    case_number = f.CourtCaseNumber(required=True, validate=_code)
    judgment_case_number = f.CourtCaseNumber(required=True, validate=_code)
    status = _str(required=True, validate=_one_of(ENFORCEMENT_STATUSES))
    amount_paid = f.Money(required=True)
    updated_on = _date(required=True)
    employer_uscc = f.Uscc(load_default=None, allow_none=True)
    employer_id_number = f.IdNumber(load_default=None, allow_none=True, metadata=_d("personal data"))

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data.get("employer_uscc") and data.get("employer_id_number"):
            _exactly_one_employer(True, True, "employer_uscc")


OUTCOMES = ("agreed", "partial", "failed")


class MediationResultSchema(RecordSchema):
    TYPE = "mediation_result"
    LINKS = (("mediation", "mediation_no"), ("clue", "clue_no"), ("case", "case_no"))

    mediation_no = _str(required=True, validate=_code)
    clue_no = _str(load_default=None, allow_none=True, validate=_code)
    case_no = _str(load_default=None, allow_none=True, validate=_code)
    mediated_on = _date(required=True)
    employer = _nested(CompanySchema, required=True)
    worker_count = _int(required=True, strict=True, validate=_at_least(1))
    amount_disputed = f.Money(required=True)
    outcome = _str(required=True, validate=_one_of(OUTCOMES))
    amount_agreed = f.Money(load_default=None, allow_none=True)
    amount_paid = f.Money(load_default=None, allow_none=True)
    pay_by = _date(load_default=None, allow_none=True)
    mediator = _str(load_default=None, allow_none=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["outcome"] in ("agreed", "partial") and data.get("amount_agreed") is None:
            raise ma.ValidationError({"amount_agreed": [ruled("required when agreed or partial", "required-if")]})


PROJECT_STATUSES = ("under_construction", "halted", "completed")
PROJECT_RISKS = ("no_special_account", "no_wage_deposit", "no_real_name")


class ProjectSchema(RecordSchema):
    TYPE = "project"
    LINKS = (("project", "project_code"),)

    project_code = _str(required=True, validate=_code)
    name = _str(required=True, validate=_nonblank)
    region_code = f.Division(required=True)
    builder_uscc = f.Uscc(required=True)
    contractor = _nested(RequiredUsccEmployerSchema, required=True)
    started_on = _date(required=True)
    special_account = _bool(required=True)
    wage_deposit = f.Money(required=True)
    real_name = _bool(required=True)
    status = _str(required=True, validate=_one_of(PROJECT_STATUSES))
    risks = _list(_str(validate=_one_of(PROJECT_RISKS)), load_default=list,
                  metadata=_d("early-warning risks: set while under construction"))

    @ma.post_load
    def _risks(self, data, **kwargs):
        risks = []
        if data["status"] == "under_construction":
            if not data["special_account"]:
                risks.append("no_special_account")
            if data["wage_deposit"] <= 0:
                risks.append("no_wage_deposit")
            if not data["real_name"]:
                risks.append("no_real_name")
        data["risks"] = risks
        return data


class PayrollShortfallSchema(RecordSchema):
    TYPE = "payroll_shortfall"
    LINKS = (("project", "project_code"),)

    project_code = _str(required=True, validate=_code)
    month = f.Month(required=True)
    worker_count = _int(required=True, strict=True, validate=_at_least(1))
    amount_due = f.Money(required=True)
    amount_paid = f.Money(required=True)
    amount_short = f.Money(required=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["amount_due"] - data["amount_paid"] != data["amount_short"]:
            raise ma.ValidationError({"amount_short": [ruled("must equal amount_due - amount_paid", "sum")]})


REPLY_OUTCOMES = ("settled", "disputed")


class ContractorReplySchema(RecordSchema):
    """A general contractor's head office answers an arrears notice (三交办 hand-off)."""

    TYPE = "contractor_reply"
    LINKS = (("contractor_reply", "reply_no"), ("clue", "clue_no"), ("case", "case_no"))

    reply_no = _str(required=True, validate=_code)
    contractor = _nested(RequiredUsccEmployerSchema, required=True)
    notice_id = _str(load_default=None, allow_none=True, metadata=_d("the hub notice it answers"))
    clue_no = _str(load_default=None, allow_none=True, validate=_code)
    case_no = _str(load_default=None, allow_none=True, validate=_code)
    project_code = _str(load_default=None, allow_none=True, validate=_code)
    outcome = _str(required=True, validate=_one_of(REPLY_OUTCOMES))
    amount_paid = f.Money(required=True)
    workers_paid = _int(load_default=None, allow_none=True, strict=True, validate=_at_least(0))
    replied_at = f.OffsetDateTime(required=True)
    note = _str(load_default=None, allow_none=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if not (data.get("clue_no") or data.get("case_no")):
            raise ma.ValidationError({"clue_no": [ruled("a reply names the clue or the case it answers", "required-if")]})


OPINIONS = ("explain_not_opening", "open_case", "recommend_transfer", "no_objection")


class SupervisionOpinionSchema(RecordSchema):
    """The procuratorate's supervision of a transfer (立案监督意见, Criminal Procedure Law Art. 113)."""

    TYPE = "supervision_opinion"
    VERSION = "1.1"
    LINKS = (("supervision_opinion", "opinion_no"), ("transfer", "transfer_no"), ("case", "case_no"),
             ("police_case", "police_case_no"))

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))
    opinion_no = _str(required=True, validate=_code, metadata=_d("the procuratorate's document number"))
    transfer_no = _str(load_default=None, allow_none=True, validate=_code)
    case_no = _str(load_default=None, allow_none=True, validate=_code,
                   metadata=_d("labour inspection's case, when no transfer was made (recommend_transfer)"))
    police_case_no = _str(load_default=None, allow_none=True, validate=_code)
    opinion = _str(required=True, validate=_one_of(OPINIONS), metadata=_d(
        "explain_not_opening: the police must explain why no case was opened (要求说明不立案理由); "
        "open_case: the police are told to open one (通知立案); recommend_transfer: labour inspection "
        "should transfer the case (建议移送); no_objection: the decision stands"))
    reason = _str(load_default=None, allow_none=True)
    reply_due_on = _date(load_default=None, allow_none=True, metadata=_d("when the answer is due"))
    procuratorate = _str(required=True, validate=_nonblank, metadata=_d("the issuing procuratorate"))
    prosecutor = _str(load_default=None, allow_none=True)
    issued_at = f.OffsetDateTime(required=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if not (data.get("transfer_no") or data.get("case_no")):
            raise ma.ValidationError({"transfer_no": [ruled("an opinion names the transfer or the case it supervises",
                                                            "required-if")]})
        if data["opinion"] != "no_objection" and not data.get("reason"):
            raise ma.ValidationError({"reason": [ruled("required unless no_objection", "required-if")]})


# -- criminal linkage steps (1.2) ----------------------------------------------------------------


class _Step(RecordSchema):
    VERSION = "1.2"

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))


class _TransferRequestSchema(_Step):
    """Labour inspection asks for a further step on a transfer, with its reason."""

    LINKS = (("transfer", "transfer_no"),)

    transfer_no = _str(required=True, validate=_code)
    requested_on = _date(required=True)
    reason = _str(required=True, validate=_Text(2000))


class ReconsiderationRequestSchema(_TransferRequestSchema):
    """Labour inspection asks the police to reconsider a decline (提请复议), within 3 days of
    it (行政执法机关移送涉嫌犯罪案件的规定 Art. 9). Whether the transfer was declined is the
    hub's check, not the record's."""

    TYPE = "reconsideration_request"


class SupervisionRequestSchema(_TransferRequestSchema):
    """Labour inspection asks the procuratorate to supervise the police's decline (建议立案监督,
    Art. 9 of the same rules, after the reconsideration is upheld)."""

    TYPE = "supervision_request"


class CaseExtensionSchema(_Step):
    """A case's handling period extended with approval by up to 30 working days
    (劳动保障监察条例 Art. 17)."""

    TYPE = "case_extension"
    LINKS = (("case", "case_no"),)

    case_no = _str(required=True, validate=_code)
    approved_on = _date(required=True)
    working_days = _int(required=True, strict=True, validate=ma.validate.Range(
        min=1, max=30, error=ruled("must be between {min} and {max} working days", "range")))
    reason = _str(load_default=None, allow_none=True)


class WagePaymentSchema(_Step):
    """Wages paid after an order or a transfer (支付情况); ``full``: all owed is now paid.
    Criminal Law Art. 276-1 para. 3: paid before prosecution, punishment may be reduced or waived."""

    TYPE = "wage_payment"
    LINKS = (("case", "case_no"), ("transfer", "transfer_no"))

    case_no = _str(required=True, validate=_code)
    transfer_no = _str(load_default=None, allow_none=True, validate=_code)
    amount_paid = f.Money(required=True)
    paid_on = _date(required=True)
    workers_paid = _int(load_default=None, allow_none=True, strict=True, validate=_at_least(0))
    full = _bool(required=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["amount_paid"] <= 0:
            raise ma.ValidationError({"amount_paid": [ruled("must be more than 0", "range")]})


RECONSIDERATION_DECISIONS = ("opened", "upheld")


class ReconsiderationDecisionSchema(_TransferDecisionSchema):
    """The police's answer to a reconsideration, within 3 days (same rules, Art. 9): a case
    opened after all, or the decline upheld."""

    TYPE = "reconsideration_decision"
    VERSION = "1.2"
    NEEDS_REASON = ("upheld",)

    schema_version = _str(load_default=VERSION, metadata=_d("canonical schema version, major.minor"))
    decision = _str(required=True, validate=_one_of(RECONSIDERATION_DECISIONS))


class MaterialsRequestSchema(_Step):
    """The police ask for missing materials within 24 hours of receipt instead of deciding
    (补充材料通知; same rules, Art. 8)."""

    TYPE = "materials_request"
    LINKS = (("transfer", "transfer_no"),)

    transfer_no = _str(required=True, validate=_code)
    missing = _str(required=True, validate=_Text(2000), metadata=_d("what is missing, in words"))
    requested_at = f.OffsetDateTime(required=True)


ANSWER_RESULTS = ("resolved", "in_progress", "unsubstantiated")


class AssignmentAnswerSchema(_Step):
    """The construction department's answer to an assignment (交办回复): it closes the
    assignment's answer deadline."""

    TYPE = "assignment_answer"
    LINKS = (("assignment", "assignment_no"),)

    assignment_no = _str(required=True, validate=_ref, metadata=_d("the hub's ASSIGNMENT message id"))
    answered_on = _date(required=True)
    result = _str(required=True, validate=_one_of(ANSWER_RESULTS))
    amount_paid = f.Money(load_default=None, allow_none=True)
    note = _str(load_default=None, allow_none=True)
    answered_by = f.Division(load_default=None, allow_none=True,
                             metadata=_d("for an agency of several senders by area (the governments): the "
                                         "answering one's division code"))


# -- the 12345 hotline (1.2) -----------------------------------------------------------------------


class WorkOrderSchema(_Step):
    """A 12345 work order (工单): the hotline's own number for a complaint, the clue it
    became (``clue_no``, same matter) and the time by which the platform wants the result
    (办结时限, ``reply_by``)."""

    TYPE = "work_order"
    LINKS = (("work_order", "work_order_no"), ("clue", "clue_no"))

    work_order_no = _str(required=True, validate=_code)
    clue_no = _str(required=True, validate=_code, metadata=_d("the clue the work order became"))
    taken_at = f.OffsetDateTime(required=True, metadata=_d("when the call was taken (not the envelope's accepted_at)"))
    reply_by = f.OffsetDateTime(required=True, metadata=_d("the result is due by then (办结时限)"))

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["reply_by"] <= data["taken_at"]:
            raise ma.ValidationError({"reply_by": [ruled("must be after taken_at, when the call was taken", "after-taken")]})


class SatisfactionSchema(_Step):
    """The hotline's call back to the caller of a work order (回访). A caller reached who
    says not resolved or not paid reopens the matter."""

    TYPE = "satisfaction"
    LINKS = (("work_order", "work_order_no"),)

    work_order_no = _str(required=True, validate=_code)
    called_at = f.OffsetDateTime(required=True)
    reached = _bool(required=True)
    resolved = _bool(load_default=None, allow_none=True)
    paid = _bool(load_default=None, allow_none=True, metadata=_d("wages paid in full, as the caller says"))
    satisfied = _bool(load_default=None, allow_none=True)
    remark = _str(load_default=None, allow_none=True, validate=_Text(2000))


# -- early warning on construction projects (1.2): the banks' wage accounts, the real-name roster --


class _ProjectFact(_Step):
    """A fact about a construction project, joined to the project's matter by its code."""

    LINKS = (("project", "project_code"),)

    project_code = _str(required=True, validate=_code)


class NamedWorkerSchema(_Strict):
    """A worker named by the fact (a payout, a roster line, a contract): the identity number is
    checked (GB 11643) and is personal data; the rules join on it hashed."""

    name = _str(required=True, validate=_nonblank)
    id_number = f.IdNumber(required=True, metadata=_d("personal data"))


class AccountDepositSchema(_ProjectFact):
    """The builder's labour-cost money reached the wage special account (人工费用拨付,
    保障农民工工资支付条例 Art. 29)."""

    TYPE = "account_deposit"

    account_no = _str(required=True, validate=_code, metadata=_d("the wage special account (专户账号)"))
    credited_on = _date(required=True)
    amount = f.Money(required=True)
    payer_uscc = f.Uscc(required=True, metadata=_d("who paid it in (the builder)"))
    month = f.Month(required=True, metadata=_d("the month of labour cost it funds"))


PAYOUT_RESULTS = ("paid", "failed")


class WorkerPayoutSchema(_ProjectFact):
    """Wages paid from the special account into one worker's own account (代发, Art. 31)."""

    TYPE = "worker_payout"

    account_no = _str(required=True, validate=_code)
    worker = _nested(NamedWorkerSchema, required=True)
    amount = f.Money(required=True)
    paid_on = _date(required=True)
    result = _str(required=True, validate=_one_of(PAYOUT_RESULTS))
    failure_reason = _str(load_default=None, allow_none=True, validate=_nonblank)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["result"] == "failed" and not data.get("failure_reason"):
            raise ma.ValidationError({"failure_reason": [ruled("required when the payout failed", "required-if")]})


DEPOSIT_EVENTS = ("lodged", "guarantee", "drawn", "returned", "reduced")


class DepositEventSchema(_ProjectFact):
    """A wage deposit event (工资保证金, Art. 32): cash lodged, a bank guarantee (保函) issued in
    its place, drawn to pay arrears, returned, reduced."""

    TYPE = "deposit_event"

    contractor_uscc = f.Uscc(required=True)
    event = _str(required=True, validate=_one_of(DEPOSIT_EVENTS))
    amount = f.Money(required=True)
    event_on = _date(required=True)
    guarantee_no = _str(load_default=None, allow_none=True, validate=_code)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data["event"] == "guarantee" and not data.get("guarantee_no"):
            raise ma.ValidationError({"guarantee_no": [ruled("required for a bank guarantee", "required-if")]})


class MissedFundingSchema(_ProjectFact):
    """The bank's notice that the builder did not put the agreed labour cost into the account
    for a month (Art. 27: the bank tells of funds not paid in as agreed)."""

    TYPE = "missed_funding"

    account_no = _str(required=True, validate=_code)
    month = f.Month(required=True)
    amount_due = f.Money(required=True)
    amount_credited = f.Money(required=True)
    builder_uscc = f.Uscc(required=True)


class RosterEntrySchema(_ProjectFact):
    """A worker on a project's real-name roster (实名制进退场, Art. 28); ``left_on`` empty while on site."""

    TYPE = "roster_entry"

    worker = _nested(NamedWorkerSchema, required=True)
    team = _str(load_default=None, allow_none=True)
    trade = _str(load_default=None, allow_none=True)
    entered_on = _date(required=True)
    left_on = _date(load_default=None, allow_none=True)
    subcontractor_uscc = f.Uscc(load_default=None, allow_none=True)

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        if data.get("left_on") and data["left_on"] < data["entered_on"]:
            raise ma.ValidationError({"left_on": [ruled("must not be before entered_on", "date-order")]})


PAY_BASES = ("monthly", "daily", "piece")


class LabourContractSchema(_ProjectFact):
    """A labour contract signed on the platform (电子劳动合同, Art. 28)."""

    TYPE = "labour_contract"

    contract_no = _str(required=True, validate=_code)
    worker = _nested(NamedWorkerSchema, required=True)
    employer_uscc = f.Uscc(required=True)
    signed_on = _date(required=True)
    pay_basis = _str(required=True, validate=_one_of(PAY_BASES))
    wage_rate = f.Money(required=True, metadata=_d("per month, per day, or per piece, as pay_basis says"))
    ends_on = _date(load_default=None, allow_none=True)


PAY_METHODS = ("special_account", "bank", "cash")


_HASH_RE = re.compile(r"^[0-9a-f]{40}$")
_ROW_KEYS = {"worker", "days", "amount_due", "amount_paid", "paid_on", "method"}
_YUAN_RE = re.compile(r"^(?:0|[1-9][0-9]{0,14})\.[0-9]{2}$")


class PayrollRows(ma.fields.Field):
    """A month's payroll rows, one a worker: ``{worker, days, amount_due, amount_paid,
    paid_on, method}``, the worker by the hash of the identity number (40 hex,
    ``schemas.validators.id_hash``): the rules match rows to payouts, the roster and
    contracts on it, and the record keeps no identity number. Checked row by row in one
    pass (a month of a large site holds thousands: a nested schema per row would cost more
    than everything else the hub does with the batch); errors name ``rows.<i>.<field>``."""

    _money = f.Money()

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ma.ValidationError(ruled("must be a list of rows", "type"))
        if not value:
            raise ma.ValidationError(ruled("must hold at least one row", "length"))
        return [self._row(i, row) for i, row in enumerate(value)]

    def _row(self, i: int, row) -> dict:
        def bad(field: str, why: str):
            return ma.ValidationError({i: {field: [why]}})

        if not isinstance(row, dict):
            raise ma.ValidationError({i: [ruled("must be an object", "type")]})
        if not row.keys() <= _ROW_KEYS:
            raise bad(sorted(set(row) - _ROW_KEYS)[0], ruled("Unknown field.", "unknown-field"))
        worker = row.get("worker")
        if not isinstance(worker, str) or not _HASH_RE.fullmatch(worker):
            raise bad("worker", ruled("must be an identity number's 40-hex hash", "id-hash"))
        days = row.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 31:
            raise bad("days", ruled("must be between 0 and 31", "range"))
        out = {"worker": worker, "days": days}
        for field in ("amount_due", "amount_paid"):
            amount = row.get(field)
            if isinstance(amount, str) and _YUAN_RE.fullmatch(amount):
                out[field] = amount  # canonical already: two places
                continue
            try:
                out[field] = self._money._serialize(self._money.deserialize(amount), None, None)
            except ma.ValidationError as exc:
                raise bad(field, exc.messages[0] if exc.messages else ruled("money", "money-format")) from None
        paid_on, method = row.get("paid_on"), row.get("method")
        if paid_on is not None:
            try:
                if not isinstance(paid_on, str) or len(paid_on) != 10:
                    raise ValueError
                dt.date.fromisoformat(paid_on)
            except ValueError:
                raise bad("paid_on", ruled("must be a date YYYY-MM-DD", "date")) from None
        if method is not None and method not in PAY_METHODS:
            raise bad("method", ruled(f"must be one of: {', '.join(PAY_METHODS)}", "enum"))
        out["paid_on"], out["method"] = paid_on, method
        return out

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class PayrollMonthSchema(_ProjectFact):
    """A project's payroll rows for a month (工资发放) as one batch reported them: a row a
    worker, the later batch's row for a worker and month taking the earlier's place."""

    TYPE = "payroll_month"

    month = f.Month(required=True)
    rows = PayrollRows(required=True)


RISK_RULES = ("missed-labour-cost", "payout-failed", "payout-missing", "cash-payment", "unpaid-rostered-worker",
              "below-contract", "no-wage-deposit", "deposit-not-topped-up", "payroll-shortfall", "late-payment",
              "no-special-account", "no-real-name")
RISK_CATEGORIES = ("bank", "project", "payroll")
RISK_STATUSES = ("raised", "cleared")


class RiskSchema(_ProjectFact):
    """An early warning on a project, made by the hub (``source_agency`` ``hub``) when a rule's
    condition holds (``raised``) and again when the fact that cures it arrives (``cleared``).
    ``raised_by`` is the record that raised it; ``category`` says which notice labour
    inspection gets (bank, project, payroll)."""

    TYPE = "risk"

    risk_no = _str(required=True, validate=_code, metadata=_d("the hub's number of the warning (预警编号)"))
    rule = _str(required=True, validate=_one_of(RISK_RULES))
    category = _str(required=True, validate=_one_of(RISK_CATEGORIES))
    status = _str(required=True, validate=_one_of(RISK_STATUSES))
    month = f.Month(load_default=None, allow_none=True)
    amount = f.Money(load_default=None, allow_none=True, metadata=_d("the money at risk, when the rule has one"))
    worker_count = _int(load_default=None, allow_none=True, strict=True, validate=_at_least(0))
    amount_due = f.Money(load_default=None, allow_none=True)
    amount_paid = f.Money(load_default=None, allow_none=True)
    amount_short = f.Money(load_default=None, allow_none=True)
    detail = _str(required=True, validate=_Text(500), metadata=_d("what the rule found, in words (no personal data)"))
    source = _str(required=True, validate=_Text(300), metadata=_d("the law or setting the rule applies"))
    raised_on = _date(required=True)
    cleared_on = _date(load_default=None, allow_none=True)
    raised_by = _str(load_default=None, allow_none=True, metadata=_d("record_id of the fact that raised it"))
    cleared_by = _str(load_default=None, allow_none=True, metadata=_d("record_id of the fact that cured it"))
    region_code = f.Division(load_default=None, allow_none=True)
LISTING_ACTIONS = ("list", "remove", "expire")


class ListedPersonSchema(_Strict):
    """A person listed with the employer: its legal representative or another person responsible."""

    name = _str(required=True, validate=_nonblank)
    id_number = f.IdNumber(required=True, metadata=_d("personal data"))
    role = _str(load_default=None, allow_none=True)


class CreditListingSchema(_Step):
    """A decision on the list of employers in serious breach of wage payment
    (拖欠农民工工资失信联合惩戒对象名单, 人社部令第45号): listed for a term, removed early, or
    the term ended. Labour inspection decides; the hub distributes. The employer is a company
    (``credit_code``) or an individual (``id_number``): exactly one. ``start_date`` and
    ``end_date`` are the listing's term; for an early removal or an expiry ``end_date`` is the
    day it left the list."""

    TYPE = "credit_listing"
    LINKS = (("listing", "list_no"), ("case", "case_no"))

    list_no = _str(required=True, validate=_code)
    action = _str(required=True, validate=_one_of(LISTING_ACTIONS),
                  metadata=_d("list; remove: early removal; expire: the term ended"))
    credit_code = f.Uscc(load_default=None, allow_none=True)
    id_number = f.IdNumber(load_default=None, allow_none=True,
                           metadata=_d("personal data: an individual employer, instead of credit_code"))
    name = _str(required=True, validate=_nonblank, metadata=_d("the employer's name"))
    persons = _list(_nested(ListedPersonSchema), load_default=None, allow_none=True,
                    metadata=_d("persons responsible, listed with the employer"))
    basis = _str(load_default=None, allow_none=True, validate=_Text(2000),
                 metadata=_d("the ground and the facts (required to list)"))
    decision_date = _date(required=True)
    start_date = _date(required=True, metadata=_d("the first day on the list"))
    end_date = _date(load_default=None, allow_none=True,
                     metadata=_d("the term's last day (required to list); removed or expired: the day it left"))
    case_no = _str(load_default=None, allow_none=True, validate=_code)
    region_code = f.Division(load_default=None, allow_none=True, metadata=_d("the employer's district"))

    @ma.validates_schema
    def _checks(self, data, **kwargs):
        credit_code, id_number = data.get("credit_code"), data.get("id_number")
        if bool(credit_code) == bool(id_number):
            what = "both are given" if credit_code else "neither is given"
            raise ma.ValidationError({"credit_code": [ruled(f"the employer is a company (credit_code) or an individual "
                                                            f"(id_number): exactly one, {what}", "exactly-one")]})
        if data["action"] == "list":
            for name in ("basis", "end_date"):
                if not data.get(name):
                    raise ma.ValidationError({name: [ruled("required to list", "required-if")]})
        if data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ma.ValidationError({"end_date": [ruled("must not be before start_date", "period-order")]})
        seen: set[str] = set()
        for i, person in enumerate(data.get("persons") or ()):
            if person["id_number"] in seen:
                raise ma.ValidationError({"persons": {i: {"id_number": [ruled("lists a person listed before",
                                                                              "duplicate-person")]}}})
            seen.add(person["id_number"])


RECORD_SCHEMAS: dict[str, type[RecordSchema]] = {
    cls.TYPE: cls
    for cls in (
        ClueSchema, CaseSchema, PaymentOrderSchema, CriminalTransferSchema, PoliceReceiptSchema,
        PoliceDecisionSchema, CourtJudgmentSchema, CourtEnforcementSchema, MediationResultSchema,
        ProjectSchema, PayrollShortfallSchema, ContractorReplySchema, SupervisionOpinionSchema,
        ReconsiderationRequestSchema, SupervisionRequestSchema, CaseExtensionSchema, WagePaymentSchema,
        ReconsiderationDecisionSchema, MaterialsRequestSchema, AssignmentAnswerSchema,
        CreditListingSchema, AccountDepositSchema, WorkerPayoutSchema, DepositEventSchema, MissedFundingSchema,
        RosterEntrySchema, LabourContractSchema, PayrollMonthSchema, RiskSchema, WorkOrderSchema, SatisfactionSchema,
    )
}

# Built once: schema instances are reused for every record.
SCHEMAS: dict[str, RecordSchema] = {name: cls() for name, cls in RECORD_SCHEMAS.items()}

# Fields that hold personal data, by dotted path (list items included).
PERSONAL_FIELDS = ("complainant.id_number", "complainant.mobile", "suspects.id_number", "defendants.id_number",
                   "employer.id_number", "employer_id_number", "workers.id_number", "id_number",
                   "persons.id_number", "worker.id_number")
