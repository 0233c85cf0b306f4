"""Tables of the hub's store. Alembic migrations in ``hub/store/migrations`` create them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.store.types import BigId, UtcDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UtcDateTime()}


class Matter(Base):
    """One arrears matter: every record of every agency about one arrears case."""

    __tablename__ = "matters"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    merged_into: Mapped[str | None] = mapped_column(String(40), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True, index=True)
    """The matter's district (GB/T 2260): its first clue's, else its first project's, else
    any of its records' (``hub.casework.matters.district``); what a district scope is judged by."""


class MatterKey(Base):
    """A number (``case:AJ...``) that identifies a matter."""

    __tablename__ = "matter_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    matter_id: Mapped[str] = mapped_column(String(40), ForeignKey("matters.id"), index=True)
    seq: Mapped[int] = mapped_column(BigId, default=0)


class Record(Base):
    """A canonical record, stored in its JSON form (``data``)."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("source_agency", "type", "fingerprint", name="uq_records_fingerprint"),
        Index("ix_records_matter", "matter_id", "occurred_at"),
        # A matter's latest record of a type (a route's extra fields): a seek, however big the matter.
        Index("ix_records_matter_type", "matter_id", "type", "seq"),
        Index("ix_records_type_seq", "type", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    schema_version: Mapped[str] = mapped_column(String(10))
    source_agency: Mapped[str] = mapped_column(String(40))
    source_ref: Mapped[str] = mapped_column(String(200), index=True)
    matter_id: Mapped[str] = mapped_column(String(40), ForeignKey("matters.id"))
    message_id: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column()
    accepted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column()


class Inbox(Base):
    """Message ids already applied: a redelivery or resend has no second effect."""

    __tablename__ = "inbox"

    agency: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    records: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class Outbox(Base):
    """A delivery to decide and keep until the broker has confirmed it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at", "id"),
        # An earlier pending row of the same matter and recipient (``waiting_behind``): a seek past
        # the rows already sent, not a walk over all of the matter's.
        Index("ix_outbox_matter", "matter_id", "recipient", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(80), unique=True)
    record_id: Mapped[str] = mapped_column(String(40), index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    source_agency: Mapped[str] = mapped_column(String(40))
    matter_id: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class DeadLetter(Base):
    """What could not be applied, with the original bytes, to fix and replay."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        UniqueConstraint("agency", "message_id", "row", "body_sha256", name="uq_dead_letter"),
        Index("ix_dead_letters_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message_id: Mapped[str] = mapped_column(String(200))
    row: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rule: Mapped[str | None] = mapped_column(String(80), nullable=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(120), nullable=True)
    content_encoding: Mapped[str | None] = mapped_column(String(40), nullable=True)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    replay_result: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class PluginState(Base):
    """An admin's enable/disable decision; survives restarts."""

    __tablename__ = "plugin_state"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class ApiToken(Base):
    """An API token, stored as its SHA-256 only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(80))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    sender: Mapped[str | None] = mapped_column(String(80), nullable=True)
    """For an agency with several senders (each contractor's head office): the one it speaks for."""


class User(Base):
    """A person who signs in to the console; the password is stored as its scrypt hash only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(80))
    sender: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ConsoleSession(Base):
    """A console sign-in, kept on the server: the cookie holds only its random id (stored
    here as its SHA-256), so signing out, disabling the user or revoking the token ends it."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    token_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    role: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class Deadline(Base):
    """A statutory or configured time limit on a step of a matter (``hub/casework/deadlines/``).

    Derived from the matter's records and rewritten whenever a record joins the matter;
    ``overdue`` is not stored: it is an ``open`` deadline whose ``due_at`` has passed.
    """

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_open", "status", "due_at"),)

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    matter_id: Mapped[str] = mapped_column(String(40), index=True)
    rule: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(300))
    start_at: Mapped[dt.datetime] = mapped_column()
    due_at: Mapped[dt.datetime] = mapped_column()
    done_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    """``open``, ``met``, ``late`` (done after its due time) or ``moot`` (closed unmet: the
    matter no longer needs it; ``done_at`` is then when it became moot)."""
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why a ``moot`` step is no longer needed."""
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProjectRisk(Base):
    """An early-warning rule's state on a project and month (``hub.casework.risks``): ``pending`` while
    its condition holds but its time has not come (a shortfall before payday), ``raised`` once
    told, ``cleared`` when the fact that cures it arrived. One row a rule, project and month:
    what makes a rule raise once, however often its facts are sent."""

    __tablename__ = "project_risks"
    __table_args__ = (Index("ix_project_risks_due", "status", "raise_at"),
                      Index("ix_project_risks_region", "region_code", "rule"))

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    matter_id: Mapped[str] = mapped_column(String(40), index=True)
    project_code: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(16))
    month: Mapped[str | None] = mapped_column(String(7), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    raise_at: Mapped[dt.datetime] = mapped_column()
    raised_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    raised_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """record_id of the fact that raised it."""
    cleared_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    risk_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The warning's number (预警编号): the risk record sent when it was raised."""
    amount: Mapped[str | None] = mapped_column(String(24), nullable=True)
    worker_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    """An overdue step escalated once per level: the responsible agency and the linkage
    office first, then, after a grace period, the supervisory level (督导)."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("deadline_key", "level", name="uq_escalation_level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deadline_key: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(20))
    matter_id: Mapped[str] = mapped_column(String(40), index=True)
    owner: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    """The matter's district when it was escalated."""
    supervision_group: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    """At the supervisory level: the group (``[linkage.supervision_groups]``) covering the district."""


class TransferHold(Base):
    """The dossier check of a criminal transfer, and the linkage office's decision on it."""

    __tablename__ = "transfer_holds"

    record_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    transfer_no: Mapped[str] = mapped_column(String(200), index=True)
    matter_id: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16))
    """``passed`` (went to the police at once), ``held``, ``released`` or ``returned``."""
    missing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FollowupResult(Base):
    """The call to a matter of the follow-up sample (回头看), by the linkage office or by the
    hotline (its SATISFACTION on a sampled matter's work order)."""

    __tablename__ = "followup_results"
    __table_args__ = (UniqueConstraint("matter_id", "sample_day", name="uq_followup_results_matter_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    matter_id: Mapped[str] = mapped_column(String(40), index=True)
    sample_day: Mapped[dt.date] = mapped_column(Date, index=True)
    """The day the matter closed, whose sample drew it."""
    called_at: Mapped[dt.datetime] = mapped_column()
    reached: Mapped[bool] = mapped_column(Boolean)
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    paid_full: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    lawful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    remark: Mapped[str | None] = mapped_column(Text, nullable=True)
    reopens: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(40))
    """Who called: ``linkage`` (the office, by the API, console or CLI) or an agency code."""
    recorded_by: Mapped[str] = mapped_column(String(80))
    record_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The agency's call-back record it came from, if any."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Tamper-evident log: each entry's hash covers its sequence number, its content and the
    previous hash (``hub.casework.audit``)."""

    __tablename__ = "audit_log"
    # (action, seq): the newest signing key and checkpoint are found without a scan.
    __table_args__ = (UniqueConstraint("seq", name="uq_audit_log_seq"), Index("ix_audit_log_action_seq", "action", "seq"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # 2: the hash covers seq; 1: written before sequence numbers (kept as they were).
    hash_version: Mapped[int] = mapped_column(Integer, default=2)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class MatterLeader(Base):
    """A matter's 包案 leader: the official who answers for it (责任到人), named by the linkage
    office or an admin (``hub/casework/owners.py``)."""

    __tablename__ = "matter_leaders"

    matter_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    post: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(200))
    set_by: Mapped[str] = mapped_column(String(120))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProjectGroup(Base):
    """A construction project's 五员 management group: its members' names and posts."""

    __tablename__ = "project_groups"

    project_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    members: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{"members": [{"name": ..., "post": ...}, ...]}``"""
    set_by: Mapped[str] = mapped_column(String(120))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
