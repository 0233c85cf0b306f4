"""The hub's conformance kit on this plugin (docs/plugins.md, "Testing your plugin")."""

import datetime as dt
import json
from pathlib import Path

from hub.testing import PluginConformance, canonical_records
from plugins import hrss, police
from schemas.fields import BEIJING

import wagehub_procuratorate

DECISIONS = {"1": "opened", "2": "declined", "3": "returned"}


def iso(beijing: str) -> str:
    return dt.datetime.strptime(beijing, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).isoformat()


class TestConformance(PluginConformance):
    plugin = wagehub_procuratorate
    routes = Path(__file__).resolve().parent.parent / "routes.toml"
    # What the routes send us: transfers (hrss) and police decisions (police), from their samples.
    records = canonical_records(hrss, police)

    def read_back(self, rendered, delivery):
        """A document the hub wrote, as the procuratorate's system reads it, in canonical names."""
        doc = json.loads(rendered.body)
        if doc["docType"] == "LAQK":
            return {"transfer_no": doc.get("transferNo"), "decision": DECISIONS.get(doc.get("decisionCode")),
                    "police_case_no": doc.get("policeCaseNo"), "decided_at": iso(doc["decidedAt"]),
                    "reason": doc.get("reason")}
        if doc["docType"] == "ZFQK":
            return {"case_no": doc.get("caseNo"), "transfer_no": doc.get("transferNo"),
                    "amount_paid": doc.get("amountPaid"), "paid_on": doc.get("paidOn"),
                    "workers_paid": doc.get("paidWorkers"), "full": {"1": True, "0": False}.get(doc.get("full"))}
        if doc["docType"] == "JDJY":
            return {"transfer_no": doc.get("transferNo"), "requested_on": doc.get("requestedOn"),
                    "reason": doc.get("reason")}
        employer = doc.get("employer") or {}
        return {
            "transfer_no": doc.get("transferNo"), "case_no": doc.get("caseNo"), "order_no": doc.get("orderNo"),
            "order_due_on": doc.get("orderDueOn"),
            "employer": {"name": employer.get("name"), "uscc": employer.get("creditCode"),
                         "id_number": employer.get("idNo")},
            "suspects": [{"name": s.get("name"), "id_number": s.get("idNo"), "role": s.get("role")}
                         for s in doc.get("suspects", [])],
            "worker_count": doc.get("workerCount"), "amount_owed": doc.get("amountOwed"),
            "evidence": doc.get("evidence"), "transferred_on": doc.get("transferredOn"),
            "police_unit": doc.get("policeUnit"), "summary": doc.get("summary"),
            "workers": [{"name": w.get("name"), "amount": w.get("amount"), "period_from": w.get("periodFrom"),
                         "period_to": w.get("periodTo")} for w in doc["workers"]] if "workers" in doc else None,
        }
