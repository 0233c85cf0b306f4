"""Dossier check of criminal transfers, province thresholds, reconciliation, duplicates."""

from __future__ import annotations

import copy
from decimal import Decimal

from hub.casework.identity import duplicates
from hub.casework.linkage import check_dossier, reconcile
from hub.config import load_settings
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
    # 24 workers, 382,848 yuan: the collective branch; no list, so the one-worker branch is not judged
    assert result["amount"]["collective"] is True and result["amount"]["individual"] is None


def worker(amount: str, period_from: str = "2023-01", period_to: str = "2023-04") -> dict:
    return {"name": "工人", "id_number": "37010319821226234X", "amount": amount, "period_from": period_from,
            "period_to": period_to}


def test_one_worker_owed_enough_for_three_months_is_enough_never_the_average():
    """2013 interpretation Art. 3 (1): any one worker; amounts are never averaged."""
    transfer, related = sample_matter()
    five = [worker("20000.00"), *[worker("500.00", "2023-04") for _ in range(4)]]
    transfer.update(worker_count=5, amount_owed="22000.00", workers=five)
    result = check_dossier(transfer, related, LINKAGE)
    assert result["complete"] and result["amount"]["individual"] is True
    assert result["amount"]["qualifying_workers"] == 1
    # averaged: 6,000 each for 4 months would pass; each owed 2 months does not
    four = [worker("6000.00", "2023-03") for _ in range(4)]
    transfer.update(worker_count=4, amount_owed="24000.00", workers=four)
    assert items(check_dossier(transfer, related, LINKAGE)) == ["amount"]


def test_without_the_list_the_one_worker_branch_is_said_not_judged():
    transfer, related = sample_matter()
    transfer.update(amount_owed="60000.00", worker_count=8)
    result = check_dossier(transfer, related, LINKAGE)
    assert items(result) == ["amount"] and "could not be judged" in result["missing"][0]["detail"]
    # a single worker's total is his own: judged, with the clue's months
    transfer.update(amount_owed="6000.00", worker_count=1)
    assert check_dossier(transfer, related, LINKAGE)["complete"]


def test_an_individual_employer_needs_no_business_registration():
    """2013 interpretation Art. 7: a person without the standing to employ has no E03."""
    transfer, related = sample_matter()
    transfer["employer"] = {"name": "张某某", "uscc": None, "id_number": "370103196601215548"}
    transfer["evidence"] = ["E01", "E02", "E04"]
    result = check_dossier(transfer, related, LINKAGE)
    assert result["complete"] and result["employer"] == "individual"
    transfer["employer"] = {"name": "海岱", "uscc": "91370103JURQ283F5B", "id_number": None}
    assert items(check_dossier(transfer, related, LINKAGE)) == ["evidence.E03"]


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
    eight = [worker("7500.00") for _ in range(8)]
    transfer.update(amount_owed="60000.00", worker_count=8, workers=eight)  # 7,500 each for 4 months
    assert check_dossier(transfer, related, LINKAGE)["complete"]
    strict = copy.deepcopy(LINKAGE)
    strict["thresholds"]["370000"].update(individual=Decimal("10000"))
    result = check_dossier(transfer, related, strict)
    assert items(result) == ["amount"] and "one worker owed 10000 yuan" in result["missing"][0]["detail"]
    # ten or more workers and the collective figure: relatively large whatever each is owed
    transfer.update(amount_owed="36000.00", worker_count=12, workers=None)
    assert check_dossier(transfer, related, strict)["complete"]
    strict["thresholds"]["370000"].update(collective=Decimal("50000"))
    assert items(check_dossier(transfer, related, strict)) == ["amount"]
    other = copy.deepcopy(LINKAGE)
    other["thresholds"]["320000"] = dict(other["thresholds"]["370000"], individual=Decimal("20000"))
    other["province"] = "320000"
    transfer.update(amount_owed="60000.00", worker_count=8, workers=eight)
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
