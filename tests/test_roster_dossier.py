"""The real-name roster feeds the criminal dossier: a transfer's (or its case's) workers are
checked against the project's roster (保障农民工工资支付条例 Art. 28), its payroll rows and the
bank's payouts through the special account (Art. 31); with no workers listed, the roster's
unpaid workers are suggested to labour inspection."""

from __future__ import annotations

from hub.casework.linkage import check_dossier, roster_check
from hub.config import load_settings
from schemas.validators import id_check_char, id_hash, mask_id_number

P = "37010320236387"


def wid(i: int) -> str:
    first17 = f"370103{1975 + i}0303{i:03d}"
    return first17 + id_check_char(first17)


def on_roster(i: int, entered="2023-03-01", left=None) -> dict:
    return {"type": "roster_entry", "project_code": P, "worker": {"name": f"工人{i}", "id_number": wid(i)},
            "entered_on": entered, "left_on": left}


def payroll(i: int, month: str, due="6000.00", paid="0.00") -> dict:
    return {"type": "payroll_month", "project_code": P, "month": month,
            "rows": [{"worker": id_hash(wid(i)), "days": 22, "amount_due": due, "amount_paid": paid}]}


def payout(i: int, on: str, amount="6000.00", result="paid") -> dict:
    return {"type": "worker_payout", "project_code": P, "worker": {"name": f"工人{i}", "id_number": wid(i)},
            "amount": amount, "paid_on": on, "result": result}


def claimed(i: int, amount="6000.00", months=("2023-04", "2023-04")) -> dict:
    return {"name": f"工人{i}", "id_number": wid(i), "amount": amount, "period_from": months[0],
            "period_to": months[1]}


def test_no_roster_no_section():
    assert roster_check([claimed(1)], [payroll(1, "2023-04")]) is None


def test_listed_workers_are_checked_against_roster_payroll_and_payouts():
    related = [on_roster(1), on_roster(2), on_roster(3), on_roster(4, left="2023-03-20"),
               payroll(1, "2023-04"), payroll(2, "2023-04", paid="6000.00"), payroll(3, "2023-04"),
               payout(2, "2023-05-10"), payout(3, "2023-05-10", result="failed")]
    out = roster_check([claimed(1), claimed(2), claimed(5)], related)
    issues = {(d["name"], d["issue"]) for d in out["differences"]}
    assert issues == {
        ("工人2", "paid-by-bank"), ("工人2", "payroll-paid"),  # claims wages the bank and payroll say were paid
        ("工人5", "not-on-roster"),  # listed, but never on the project's roster
        ("工人3", "unlisted-unpaid"),  # on site, unpaid per the payroll (a failed payout pays nothing), not listed
    }  # 工人1 agrees; 工人4 left before the month claimed
    assert out["period"] == ["2023-04", "2023-04"] and out["projects"] == [P] and out["listed"] == 3
    assert all(d["id_number"] == mask_id_number(d["id_number"]) or "*" in d["id_number"] for d in out["differences"])
    assert not any(wid(i) in str(out) for i in range(1, 6))  # identity numbers only masked


def test_without_workers_the_rosters_unpaid_are_suggested_for_the_clues_period():
    related = [{"type": "clue", "clue_no": "XS1", "period_from": "2023-03", "period_to": "2023-04"},
               on_roster(1), on_roster(2), on_roster(3, entered="2023-04-01"),
               payroll(1, "2023-03", paid="6000.00"), payroll(1, "2023-04", paid="1000.00"),
               payroll(2, "2023-03", paid="6000.00"), payroll(2, "2023-04", paid="6000.00")]
    out = roster_check([], related)
    assert out["listed"] == 0 and out["differences"] == []
    by_name = {s["name"]: s for s in out["suggested"]}
    assert set(by_name) == {"工人1", "工人3"}
    assert by_name["工人1"]["owed"] == "5000.00" and by_name["工人1"]["months_short"] == ["2023-04"]
    assert by_name["工人3"]["months_without_payroll"] == ["2023-04"]


def test_the_dossier_carries_the_roster_check():
    settings = load_settings({}, environ={})
    transfer = {"type": "criminal_transfer", "transfer_no": "YS1", "case_no": "AJ1", "order_no": "ZL1",
                "worker_count": 1, "amount_owed": "6000.00", "evidence": ["E01", "E02", "E03", "E04"],
                "transferred_on": "2023-06-20", "employer": {"name": "某公司", "uscc": "91370103QEFLCR639M"},
                "suspects": [], "workers": [claimed(1)]}
    result = check_dossier(transfer, [on_roster(2), payroll(2, "2023-04")], settings["linkage"])
    assert result["roster"]["differences"][0]["issue"] == "not-on-roster"
    # a transfer without workers takes its case's
    case = {"type": "case", "case_no": "AJ1", "workers": [claimed(2)]}
    result = check_dossier({**transfer, "workers": []}, [case, on_roster(2), payroll(2, "2023-04")],
                           settings["linkage"])
    assert result["roster"]["listed"] == 1 and result["roster"]["differences"] == []
