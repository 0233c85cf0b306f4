"""Early warning on construction projects (源头治理): rules over a project's facts that warn
of arrears weeks before a worker complains.

The facts are the records the construction platform and the banks send about a project,
joined to the project's matter by its code (the same matter as complaints about it): the
project itself, the special account's deposits (``account_deposit``), payouts
(``worker_payout``), wage-deposit events (``deposit_event``), missed funding
(``missed_funding``), the real-name roster (``roster_entry``), labour contracts
(``labour_contract``) and payroll rows (``payroll_month``: a month's rows, workers hashed).

Like the deadline engine, a project's risks are derived state: :func:`compute` is a pure
function of its records, the settings and the clock, giving one :class:`Condition` per
rule, project and month whose condition holds, with the time it is to be raised (a payroll
shortfall not before payday, 保障农民工工资支付条例 Arts. 12 and 14). :func:`refresh`
compares them with the ``project_risks`` rows in the pipeline's transaction: a condition
whose time has come is raised once (a ``risk`` record, routed like any record: to labour
inspection as a NOTICE, to housing as RISK); one whose condition no longer holds is
cleared (a ``risk`` record of status ``cleared``, naming the fact that cured it). A
resend changes no fact, so it raises nothing again. :func:`sweep`, run by the scheduler,
raises what was pending once its time comes. The rules and how each reads the formats:
docs/risks.md.

The package, by seam: ``months`` (months, paydays, money), ``facts`` (the fact record types
and the figures derived from them), ``rules`` (the rules and :func:`compute`), ``state``
(:func:`refresh`, :func:`sweep` and the risk records) and ``view`` (the console's project
page). Callers import from here; the constants read by the code (``FACTS_AT_ONCE``) live in
the submodule that reads them.
"""

from hub.casework.risks.facts import FACT_TYPES, payroll_rows
from hub.casework.risks.months import CENT, add_months, end_of_day, month_end, month_of, month_start, pay_day
from hub.casework.risks.rules import REGULATION, RULES, Condition, RiskRule, compute
from hub.casework.risks.state import due_matters, fingerprint, refresh, risk_record, stored_row, sweep
from hub.casework.risks.view import project_view

__all__ = [
    "CENT", "FACT_TYPES", "REGULATION", "RULES", "Condition", "RiskRule", "add_months", "compute", "due_matters",
    "end_of_day", "fingerprint", "month_end", "month_of", "month_start", "pay_day", "payroll_rows", "project_view",
    "refresh", "risk_record", "stored_row", "sweep",
]
