"""The console's project page (account, deposit, guarantee, roster, payouts by month, early
warnings with their rule and the record that raised them) and the bulletin's risk counts,
against the whole sample matter (the demo's project 37010320236387)."""

from __future__ import annotations

import datetime as dt
import re

from hub.casework.bulletin import build_bulletin
from hub.ids import BEIJING
from tests.console.test_pages import rows_of

P = "37010320236387"


def test_the_project_page_shows_its_money_roster_and_risks(console, loaded):
    page = console("admin").get(f"/console/projects/{P}")
    assert page.status_code == 200
    html = page.text
    assert "370103安置房二期工程" in html and "1602002419200123456" in html
    assert "LG3701032023000118" in html and "有效 valid" in html  # the bank guarantee in place of cash
    roster = html.split('id="roster">', 1)[1].split("</dd>", 1)[0]
    assert "8 人" in roster and "劳动合同 contracts 8" in roster
    payouts = {re.search(r"<th[^>]*>([^<]+)</th>", r).group(1): r for r in rows_of(html, "payouts")}
    assert set(payouts) == {"2023-03", "2023-05"} and "42,152.00" in payouts["2023-03"]
    assert "25,179.00" in payouts["2023-05"] and "6,704.00" in payouts["2023-05"]  # 4 paid, 1 failed
    risks = rows_of(html, "risks")
    rules = {re.search(r"<code>([a-z-]+)</code>", r).group(1) for r in risks}
    assert {"missed-labour-cost", "payout-failed", "payroll-shortfall", "no-wage-deposit"} <= rules
    failed = next(r for r in risks if "payout-failed" in r)
    assert "预警 raised" in failed and re.search(r"<code>rec_[0-9A-Za-z]+</code>", failed)  # the record that raised it
    assert "保障农民工工资支付条例 Art. 31" in failed
    cleared = next(r for r in risks if "no-wage-deposit" in r)
    assert "已解除 cleared" in cleared


def test_viewers_see_the_project_agencies_do_not(console, loaded):
    assert console("viewer").get(f"/console/projects/{P}").status_code == 200
    assert console("agency:housing").get(f"/console/projects/{P}").status_code == 403
    assert console("admin").get("/console/projects/00000000000000").status_code == 404
    assert console("viewer@370103").get(f"/console/projects/{P}").status_code == 200  # its district
    assert console("viewer@370102").get(f"/console/projects/{P}").status_code == 404  # another's


def project_matter(hub) -> str:
    from hub.store.models import MatterKey

    with hub.store.sessions() as session:
        return session.get(MatterKey, f"project:{P}").matter_id


def test_the_matter_links_its_project_and_keeps_single_workers_off_the_timeline(console, loaded, hub):
    html = console("admin").get(f"/console/matters/{project_matter(hub)}").text
    assert f'/console/projects/{P}"' in html
    assert 'data-type="worker_payout"' not in html and 'data-type="payroll_month"' not in html
    assert 'id="worker-facts"' in html and 'data-type="risk"' in html


def test_the_bulletin_counts_risks_by_district_and_rule(hub, loaded, console):
    today = dt.datetime.now(BEIJING).date()
    with hub.store.sessions() as session:
        bulletin = build_bulletin(session, today, hub.settings)
    counts = {(r["region_code"], r["rule"]): r["count"] for r in bulletin["risks"]}
    assert counts[("370103", "payout-failed")] == 1 and counts[("370103", "no-wage-deposit")] == 1
    assert {code for code, _rule in counts} == {"370103"}
    with hub.store.sessions() as session:
        assert build_bulletin(session, today - dt.timedelta(days=1), hub.settings)["risks"] == []
    page = console("admin").get(f"/console/bulletin?date={today.isoformat()}").text
    rows = rows_of(page, "risks")
    assert any("payout-failed" in r and "370103" in r for r in rows)


def test_the_transfers_dossier_is_checked_against_the_roster(console, loaded, hub):
    """The transfer page shows the dossier's roster check, as the pipeline keeps it with the
    hold (hub.casework.linkage.roster_check, tests/test_roster_dossier.py): here the sample
    transfer's workers against the demo project's roster, payroll and payouts."""
    from sqlalchemy import select, update

    from hub.casework.linkage import latest_hold, matter_records, roster_check
    from hub.store.models import TransferHold
    from tests.console.conftest import FACTS

    with hub.store.transaction() as session:
        hold = latest_hold(session, FACTS["transfer_no"])
        transfer = next(r for r in matter_records(session, hold.matter_id) if r["record_id"] == hold.record_id)
        roster = roster_check(transfer.get("workers") or [], matter_records(session, project_matter(hub)))
        session.execute(update(TransferHold).where(TransferHold.record_id == hold.record_id)
                        .values(missing={**hold.missing, "roster": roster}))
        assert session.scalars(select(TransferHold)).first() is not None
    html = console("linkage").get(f"/console/transfers/{FACTS['transfer_no']}").text
    assert 'id="roster-h"' in html and P in html.split('id="roster-h"', 1)[1].split("</h3>", 1)[0]
    section = html.split('id="roster-h"', 1)[1].split("</section>", 1)[0]
    assert "roster-differences" in section  # the sample transfer's workers are not on the demo roster
    assert "not-on-roster" in section
    assert not re.search(r"\d{17}[\dX]", section)  # identity numbers masked
