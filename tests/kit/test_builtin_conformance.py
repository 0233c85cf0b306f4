"""The seven built-in plugins pass the conformance kit, on the hub's own routes (hub/defaults/routes.toml).

Each class is what a plugin author writes in the plugin's own tests; the built-ins take
the records other agencies send them from each other's samples.
"""

from __future__ import annotations

from hub.testing import PluginConformance, canonical_records
from plugins import contractor, court, hotline, housing, hrss, police, union

CONTRACTOR_SETTINGS = {"contractors": {"91370103QEFLCR639M": {"name": "山东鲁建建工集团有限公司",
                                                              "key": "conformance-only-key"}}}
RECORDS = canonical_records(hrss, police, housing, court, union, contractor, hotline,
                            settings={"contractor": CONTRACTOR_SETTINGS})
# The procuratorate's supervision opinion reaches labour inspection as a NOTICE; its plugin
# is a separate distribution (examples/procuratorate), so the record is written out here.
RECORDS["supervision_opinion"] = [{
    "type": "supervision_opinion", "source_agency": "procuratorate", "source_ref": "济历检立监〔2023〕5号",
    "received_at": "2023-07-10T09:05:00+08:00", "opinion_no": "济历检立监〔2023〕5号",
    "transfer_no": "YS37010320230912", "opinion": "explain_not_opening", "reason": "欠薪数额较大且经责令支付仍不支付",
    "reply_due_on": "2023-07-17", "procuratorate": "济南市历下区人民检察院", "issued_at": "2023-07-10T09:00:00+08:00",
}]
# The police's samples uphold their decline on reconsideration; a case opened after all goes
# to the court as well (reopened-case-to-court).
RECORDS["reconsideration_decision"].append({
    "type": "reconsideration_decision", "source_agency": "police", "source_ref": "YS37010320230881/FYJD/20230728100000",
    "received_at": "2023-07-28T10:30:00+08:00", "transfer_no": "YS37010320230881", "decision": "opened",
    "police_case_no": "A370103202300881", "decided_at": "2023-07-28T10:00:00+08:00",
})

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


class TestHotline(PluginConformance):
    plugin = hotline
    records = RECORDS
