"""Dossier check of criminal transfers, province thresholds, reconciliation, duplicates."""

from __future__ import annotations

import copy
from decimal import Decimal

from hub.config import load_settings
from hub.linkage import check_dossier, duplicates, reconcile
from tests.test_deadlines import canonical

LINKAGE = load_settings(environ={})["linkage"]


def sample_matter():
    return canonical("hrss-transfer.json"), [canonical("hrss-clue.json"), canonical("hrss-order.json")]


def items(result):
    return [m["item"] for m in result["missing"]]


def test_the_sample_dossier_is_complete():
    transfer, related = sample_matter()
    result = check_dossier(transfer, related, LINKAGE)
    assert result["complete"] and result["missing"] == []
    assert result["amount"]["per_worker"] == "15952.00" and result["amount"]["months"] == 4


def test_every_missing_item_is_listed():
    transfer, related = sample_matter()
    transfer["evidence"] = ["E01", "E02", "E04"]
    transfer["summary"] = "法定代表人已逃匿"
    transfer["suspects"] = [{"name": "徐建国", "id_number": "370103196601215549", "role": None}]
    order = related[1]
    order["served_on"] = None
    order["due_on"] = "2023-06-25"
    result = check_dossier(transfer, related, LINKAGE)
    assert not result["complete"]
    assert items(result) == ["order.served", "order.past_due", "evidence.E03", "evidence.E05", "suspects"]
    assert all(m["detail"] for m in result["missing"])
    no_order = check_dossier(transfer, [related[0]], LINKAGE)
    assert "order" in items(no_order)
    complied = copy.deepcopy(related)
    complied[1]["complied"] = True
    assert "order.unpaid" in items(check_dossier(transfer, complied, LINKAGE))


def test_thresholds_come_from_the_province_configuration():
    transfer, related = sample_matter()
    transfer.update(amount_owed="60000.00", worker_count=8)  # 7,500 per worker for 4 months
    assert check_dossier(transfer, related, LINKAGE)["complete"]
    strict = copy.deepcopy(LINKAGE)
    strict["thresholds"]["370000"].update(individual=Decimal("10000"))
    result = check_dossier(transfer, related, strict)
    assert items(result) == ["amount"] and "10000 yuan per worker" in result["missing"][0]["detail"]
    # ten or more workers and the collective figure: relatively large whatever each is owed
    transfer.update(amount_owed="36000.00", worker_count=12)
    assert check_dossier(transfer, related, strict)["complete"]
    strict["thresholds"]["370000"].update(collective=Decimal("50000"))
    assert items(check_dossier(transfer, related, strict)) == ["amount"]
    other = copy.deepcopy(LINKAGE)
    other["thresholds"]["320000"] = dict(other["thresholds"]["370000"], individual=Decimal("20000"))
    other["province"] = "320000"
    transfer.update(amount_owed="60000.00", worker_count=8)
    assert items(check_dossier(transfer, related, other)) == ["amount"]


def test_amounts_side_by_side_and_flagged_when_they_disagree():
    transfer, related = sample_matter()
    figures = reconcile([related[0], related[1], transfer], Decimal("1.00"))
    assert figures["claimed"] == figures["ordered"] == figures["transferred"] == "382848.00"
    assert figures["review"] is False
    transfer["amount_owed"] = "300000.00"
    figures = reconcile([related[0], related[1], transfer], Decimal("1.00"))
    assert figures["review"] is True and "82848.00" in figures["disagreements"][0]


def test_duplicate_complaints_are_recognised():
    first = canonical("hrss-clue.json")
    hotline = dict(copy.deepcopy(first), clue_no="XS-HOTLINE", channel="hotline",
                   complainant={"name": "李四", "mobile": "13800000000", "id_number": None},
                   period_from="2023-03", period_to="2023-05")
    later = dict(copy.deepcopy(hotline), clue_no="XS-LATER", period_from="2023-06", period_to="2023-07")
    same_person = dict(copy.deepcopy(first), clue_no="XS-PETITION", channel="petition",
                       employer={"name": "别的公司", "uscc": None}, project_code=None)
    dups = duplicates([first, hotline, later, same_person])
    assert {d["clue_no"]: d["reason"] for d in dups} == {
        "XS-HOTLINE": "same employer and project, overlapping period",
        "XS-PETITION": "same complainant identity number",
    }
