"""Criminal-case transfers as a principal may see them: the board (filtered, overdue ones
first), one transfer, and the linkage office's decision on a held one."""

from __future__ import annotations

from hub.casework import linkage
from hub.casework.transfers import transfer_numbers, transfer_view
from hub.contract.errors import NotFound
from hub.services.principals import Principal
from hub.services.scope import matter_in_scope, scoped_views

LIST_FIELDS = ("transfer_no", "status", "matter_id", "region_code", "case_no", "employer", "amount_owed",
               "worker_count", "transferred_on", "deadlines", "overdue", "dossier")
"""What a transfer on a page of ``GET /transfers`` carries."""


def transfer_list(h, viewer: Principal, *, status: str | None = None, district: str | None = None,
                  overdue: bool = False) -> list[dict]:
    """Every transfer in the principal's districts as ``transfer_view`` gives it, of
    ``status``, in ``district`` (a division code; trailing zeros: the area) and only the
    overdue ones if asked; overdue ones first, then by number. ``status`` is not checked:
    an unknown one matches nothing."""
    district = (district or "").rstrip("0") or None
    with h.store.sessions() as session:
        views = scoped_views(session, viewer, [v for v in (transfer_view(session, n, h.settings)
                                                           for n in transfer_numbers(session)) if v])
    views = [v for v in views if (not status or v["status"] == status) and (not overdue or v["overdue"])
             and (not district or (v["region_code"] or "").startswith(district))]
    views.sort(key=lambda v: (not v["overdue"], v["transfer_no"]))  # overdue first
    return views


def transfer(h, viewer: Principal, transfer_no: str) -> dict | None:
    """One transfer in full (None: none, or outside the principal's districts)."""
    with h.store.sessions() as session:
        view = transfer_view(session, transfer_no, h.settings)
        if view is not None and not matter_in_scope(session, viewer, view["matter_id"]):
            view = None
    return view


def check_transfer_scope(h, viewer: Principal, transfer_no: str) -> None:
    """A scoped principal decides only on transfers of its area (else: not found)."""
    if viewer.scope and transfer(h, viewer, transfer_no) is None:
        raise NotFound(f"no transfer {transfer_no}")


def decide(h, viewer: Principal, transfer_no: str, decision: str, actor: str, reason: str | None = None) -> dict:
    """Release (to the police) or return (to labour inspection) a held transfer of the
    principal's districts; the hold's view."""
    check_transfer_scope(h, viewer, transfer_no)
    return linkage.decide(h.pipeline, transfer_no, decision, actor, reason)
