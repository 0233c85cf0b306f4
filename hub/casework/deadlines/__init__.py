"""The deadline engine: every time limit on a matter's steps, from the matter's records.

Each rule says which record opens a step, when it starts, how long it may take (from
``[deadlines]`` in the settings: hours, calendar days, working days on China's official
calendar with its make-up working days, or the same day), which record shows it done,
and which agency owes it. Deadlines are derived state: :func:`compute` is a pure
function of the records, and :func:`refresh` rewrites a matter's rows in the pipeline's
transaction whenever a record joins it. An ``open`` deadline past its due time is
overdue (worked out when read, never stored); a step done after its due time is ``late``.
"""

from __future__ import annotations

from hub.casework.deadlines.history import (
    CLOSED,
    COURT,
    PAID,
    ROUND_TYPES,
    amount_large,
    matter_ends,
    matter_reopenings,
    reopens,
    round_of,
    transfer_rounds,
    work_order_lives,
)
from hub.casework.deadlines.rows import MATTERS_AT_ONCE, WINDOW_PASSED, refresh, refresh_many, state, view
from hub.casework.deadlines.rules import (
    CRIMINAL_RULES,
    DECLINE_OPTIONS,
    EXPLICIT_DUE,
    RULES,
    SUBJECT_FIELDS,
    TRANSFER_REGULATION,
    WINDOWS,
    Due,
    Rule,
    subject_field,
)
from hub.casework.deadlines.steps import compute
from hub.casework.deadlines.workdays import add_working_days, due_time, is_working_day, when

__all__ = [
    "CLOSED", "COURT", "CRIMINAL_RULES", "DECLINE_OPTIONS", "EXPLICIT_DUE", "MATTERS_AT_ONCE", "PAID", "ROUND_TYPES",
    "RULES", "SUBJECT_FIELDS", "TRANSFER_REGULATION", "WINDOWS", "WINDOW_PASSED", "Due", "Rule", "add_working_days",
    "amount_large", "compute", "due_time", "is_working_day", "matter_ends", "matter_reopenings", "refresh",
    "refresh_many", "reopens", "round_of", "state", "subject_field", "transfer_rounds", "view", "when",
    "work_order_lives",
]
