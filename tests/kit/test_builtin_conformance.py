"""The built-in plugins pass the conformance kit, on the hub's own routes (hub/defaults/routes.toml).

Each class is what a plugin author writes in the plugin's own tests; the built-ins take
the records other agencies send them from each other's samples.
"""

from __future__ import annotations

from hub.testing import PluginConformance, canonical_records
from plugins import bank, contractor, court, gov, hotline, housing, hrss, police, union

CONTRACTOR_SETTINGS = {"contractors": {"91370103QEFLCR639M": {"name": "山东鲁建建工集团有限公司",
                                                              "key": "conformance-only-key"}}}
GOV_SETTINGS = {"governments": {"370103": {"name": "历下区人民政府", "key": "conformance-only-key"}}}
RECORDS = canonical_records(hrss, police, housing, court, union, contractor, bank, gov, hotline,
                            settings={"contractor": CONTRACTOR_SETTINGS, "gov": GOV_SETTINGS})
# The procuratorate's supervision opinion reaches labour inspection as a NOTICE; its plugin
# is a separate distribution (examples/procuratorate), so the record is written out here.
RECORDS["supervision_opinion"] = [{
    "type": "supervision_opinion", "source_agency": "procuratorate", "source_ref": "济历检立监〔2023〕5号",
    "received_at": "2023-07-10T09:05:00+08:00", "opinion_no": "济历检立监〔2023〕5号",
    "transfer_no": "YS37010320230912", "opinion": "explain_not_opening", "reason": "欠薪数额较大且经责令支付仍不支付",
    "reply_due_on": "2023-07-17", "procuratorate": "济南市历下区人民检察院", "issued_at": "2023-07-10T09:00:00+08:00",
}]
# The hub's own early warnings on a project (hub.casework.risks) reach labour inspection as a NOTICE
# and housing as a RISK row: one raised, one cleared.
RECORDS["risk"] = [{
    "type": "risk", "source_agency": "hub", "source_ref": "rsk_conformance1", "received_at": "2023-05-16T00:00:05+08:00",
    "risk_no": "rsk_conformance1", "project_code": "37010320236387", "rule": "payroll-shortfall",
    "category": "payroll", "status": status, "month": "2023-04", "amount": "17976.00", "worker_count": 3,
    "amount_due": "17976.00", "amount_paid": "0.00", "amount_short": "17976.00",
    "detail": "3 worker(s) paid less than due; payday 2023-05-15", "source": "保障农民工工资支付条例 Arts. 3, 12, 14",
    "raised_on": "2023-05-16", "region_code": "370103", **extra,
} for status, extra in (("raised", {}), ("cleared", {"cleared_on": "2023-05-20"}))] + [{
    "type": "risk", "source_agency": "hub", "source_ref": f"rsk_conformance{i}", "received_at": "2023-05-06T10:00:00+08:00",
    "risk_no": f"rsk_conformance{i}", "project_code": "37010320236387", "rule": rule, "category": category,
    "status": "raised", "detail": detail, "source": source, "raised_on": "2023-05-06", "region_code": "370103", **extra,
} for i, (rule, category, detail, source, extra) in enumerate((
    ("missed-labour-cost", "bank", "应拨付 43155.00, 实际拨付 25179.00", "保障农民工工资支付条例 Arts. 24, 27, 29",
     {"month": "2023-04", "amount": "17976.00"}),
    ("no-wage-deposit", "project", "neither a cash deposit nor a valid bank guarantee", "保障农民工工资支付条例 Art. 32",
     {}),
), start=2)]
# The police's samples uphold their decline on reconsideration; a case opened after all goes
# to the court as well (reopened-case-to-court).
RECORDS["reconsideration_decision"].append({
    "type": "reconsideration_decision", "source_agency": "police", "source_ref": "YS37010320230881/FYJD/20230728100000",
    "received_at": "2023-07-28T10:30:00+08:00", "transfer_no": "YS37010320230881", "decision": "opened",
    "police_case_no": "A370103202300881", "decided_at": "2023-07-28T10:00:00+08:00",
})

# Labour inspection's listing decisions (人社部令第45号) reach the employer's district
# government: a company by credit code, an individual by identity number.
RECORDS["credit_listing"] = [{
    "type": "credit_listing", "source_agency": "hrss", "source_ref": "SX370103202301", "received_at":
    "2023-08-01T09:00:00+08:00", "list_no": "SX370103202301", "action": "list", "credit_code": "91370103JURQ283F5B",
    "name": "海岱建筑劳务有限公司", "basis": "拒不支付劳动报酬被判处刑罚（人社部令第45号第五条）",
    "decision_date": "2023-08-01", "start_date": "2023-08-01", "end_date": "2026-07-31", "region_code": "370103",
}, {
    "type": "credit_listing", "source_agency": "hrss", "source_ref": "SX370103202302", "received_at":
    "2023-08-02T09:00:00+08:00", "list_no": "SX370103202302", "action": "list", "id_number": "37010319821226234X",
    "name": "王某", "basis": "个人用工拖欠农民工工资数额较大（人社部令第45号第五条）",
    "decision_date": "2023-08-02", "start_date": "2023-08-02", "end_date": "2026-08-01", "region_code": "370103",
}]
# A 12345 work order's matter accepted, then transferred, tells the hotline each stage.
RECORDS["case"] += [{**RECORDS["case"][0], "status": status, "status_at": at}
                    for status, at in (("accepted", "2023-05-22T15:00:00+08:00"),
                                       ("transferred", "2023-06-20T10:00:00+08:00"))]


class TestHrss(PluginConformance):
    plugin = hrss
    records = RECORDS


class TestPolice(PluginConformance):
    plugin = police
    records = RECORDS


class TestHousing(PluginConformance):
    plugin = housing
    records = RECORDS

    def read_back(self, rendered, delivery):
        """housing's outbound CSV rows as canonical fields (it reads none of these kinds itself);
        ``CREDIT``'s 动作 is a word of the format (列入 / 移出 / 到期), the action's code in the record."""
        import csv
        import io

        header, row = csv.reader(io.StringIO(rendered.body.decode("utf-8-sig")))
        cells = dict(zip(header, row, strict=True))
        if delivery.kind == "CREDIT":
            subject = cells["统一社会信用代码或身份证号"]
            person = len(subject) == 18 and subject[:17].isdigit()
            return {"list_no": cells["名单编号"], "name": cells["名称"], "basis": cells["依据"] or None,
                    "action": {v: k for k, v in housing.outbound.CREDIT_ACTIONS.items()}[cells["动作"]],
                    "credit_code": None if person else subject, "id_number": subject if person else None,
                    "start_date": cells["列入日期"], "end_date": cells["移出日期"] or None}
        if delivery.kind == "RISK":
            return {"risk_no": cells["预警编号"], "project_code": cells["项目编号"], "rule": cells["规则"],
                    "month": cells["所属月份"] or None, "amount": cells["金额(元)"] or None,
                    "detail": cells["说明"] or None, "raised_on": cells["预警日期"]}
        return {"clue_no": cells["线索编号"], "project_code": cells["项目编号"],
                "contractor_uscc": cells["总包单位统一社会信用代码"], "worker_count": int(cells["欠薪人数"]),
                "amount_owed": cells["欠薪金额(元)"]}


class TestCourt(PluginConformance):
    plugin = court
    records = RECORDS


class TestUnion(PluginConformance):
    plugin = union
    records = RECORDS


class TestContractor(PluginConformance):
    plugin = contractor
    records = RECORDS
    settings = CONTRACTOR_SETTINGS


def test_every_builtin_plugin_is_tested_here():
    from importlib.metadata import entry_points

    builtin = {ep.name for ep in entry_points(group="wagehub") if ep.value.startswith("plugins.")}
    tested = {cls.plugin.__name__.rsplit(".", 1)[-1] for cls in PluginConformance.__subclasses__()
              if cls.__module__ == __name__}
    assert builtin == tested


class TestBank(PluginConformance):
    plugin = bank
    records = RECORDS


class TestGov(PluginConformance):
    plugin = gov
    records = RECORDS
    settings = GOV_SETTINGS


class TestHotline(PluginConformance):
    plugin = hotline
    records = RECORDS
