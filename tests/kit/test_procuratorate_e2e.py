"""The third-party procuratorate plugin (examples/procuratorate), installed with pip as a
separate distribution, end to end over the queues: discovered by its entry point,
enabled at runtime, fed transfers and police decisions, answering with a supervision
opinion that reaches labour inspection.

Skipped unless the distribution is installed: ``pip install ./examples/procuratorate``
(.ci/run does it before the suite).
"""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.store.models import Outbox, Record
from tests.helpers import sample, wait_for
from tests.kit.helpers import ROOT, run_pytest

EXAMPLE = ROOT / "examples" / "procuratorate"
INSTALLED = any(ep.name == "procuratorate" for ep in entry_points(group="wagehub"))
pytestmark = pytest.mark.skipif(not INSTALLED, reason="the example plugin is not installed: "
                                                      "pip install ./examples/procuratorate")
HRSS = ["hrss-clue.json", "hrss-case.json", "hrss-order.json", "hrss-transfer.json"]
FACTS = json.loads(sample("facts.json"))


def routes_file(tmp_path: Path) -> Path:
    """The hub's routes, plus the example's routes.toml where the hub's lack them."""
    hub_routes = (ROOT / "hub" / "defaults" / "routes.toml").read_text(encoding="utf-8")
    have = {r["name"] for r in tomllib.loads(hub_routes).get("routes", [])}
    text = (EXAMPLE / "routes.toml").read_text(encoding="utf-8")
    missing = [r for r in tomllib.loads(text)["routes"] if r["name"] not in have]
    if not missing:
        return ROOT / "hub" / "defaults" / "routes.toml"
    path = tmp_path / "routes.toml"
    path.write_text(hub_routes + "\n" + text, encoding="utf-8")
    return path


@pytest.fixture
def hub_with_example(settings, tmp_path):
    from hub.runtime import Hub, Workers

    settings["hub"]["routes_file"] = str(routes_file(tmp_path))
    h = Hub(settings)
    h.declare_topology()
    with Workers(h) as workers:
        yield h, workers
    h.shutdown()


def test_installed_for_real_and_discovered_by_its_entry_point():
    import wagehub_procuratorate

    from hub.contract.plugins import Registry, build_plugin_manager

    # The installed distribution, not the source folder next to these tests.
    assert EXAMPLE not in Path(wagehub_procuratorate.__file__).resolve().parents
    registry = Registry(build_plugin_manager(), {})
    adapter = registry.get("procuratorate")
    assert adapter.plugin is wagehub_procuratorate and adapter.name == "procuratorate"
    assert adapter.info.schema_version == "1.2" and registry.is_enabled("procuratorate")


def test_its_own_suite_passes_with_the_kit():
    run = run_pytest("-q", str(EXAMPLE / "tests"), cwd=ROOT)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "19 passed" in out, out


def pending_for(h, recipient: str) -> list[str]:
    with h.store.sessions() as session:
        return list(session.scalars(select(Outbox.kind).where(Outbox.recipient == recipient,
                                                               Outbox.status == "pending")))


def test_transfers_and_decisions_in_an_opinion_out(hub_with_example, agency):
    h, _workers = hub_with_example
    # Enabled at runtime: while it is off, what the routes send it waits in the outbox.
    h.set_plugin_enabled("procuratorate", False, actor="test")
    for name in HRSS:
        agency.publish("hrss", sample(name), message_id=f"e2e-{name}")
    [ajys] = agency.receive("police", 1)
    for name, mid in (("police-receipt.xml", "e2e-p1"), ("police-decision.xml", "e2e-p2")):
        agency.publish("police", sample(name), message_id=mid, content_type="application/xml",
                       content_encoding="gb18030")
    assert sorted(json.loads(m.raw)["data"]["kind"] for m in agency.receive("hrss", 2)) == [
        "POLICE_DECISION", "POLICE_RECEIPT"]
    assert sorted(wait_for(lambda: len(pending_for(h, "procuratorate")) == 2 and pending_for(h, "procuratorate"))) \
        == ["LAQK", "YSCB"]
    assert agency.drain("procuratorate", wait=0.5) == []

    h.set_plugin_enabled("procuratorate", True, actor="test")
    got = {m.headers["x-wagehub-kind"]: m for m in agency.receive("procuratorate", 2)}
    assert set(got) == {"YSCB", "LAQK"}
    transfer = json.loads(got["YSCB"].raw)
    assert transfer["docType"] == "YSCB" and transfer["transferNo"] == FACTS["transfer_no"]
    assert transfer["caseNo"] == FACTS["case_no"] and transfer["amountOwed"] == FACTS["amount_yuan"]
    assert transfer["employer"]["creditCode"] == FACTS["employer_uscc"] and transfer["orderDueOn"] == "2023-06-15"
    assert got["YSCB"].headers["x-wagehub-matter"] == ajys.headers["x-wagehub-matter"]
    decision = json.loads(got["LAQK"].raw)
    assert decision == {"docType": "LAQK", "docId": got["LAQK"].properties["message_id"],
                        "sentAt": decision["sentAt"], "transferNo": FACTS["transfer_no"], "decisionCode": "1",
                        "policeCaseNo": "A370103202300880", "decidedAt": "2023-06-28 15:00:00"}

    # The procuratorate answers with its own system's document, over its queue.
    opinion = {"docType": "JDYJ", "docNo": "济历检立监〔2023〕11号", "issuedAt": "2023-07-03 10:00:00",
               "procuratorate": "济南市历下区人民检察院", "prosecutor": "赵明", "transferNo": transfer["transferNo"],
               "policeCaseNo": decision["policeCaseNo"], "opinionType": "9"}
    agency.publish("procuratorate", json.dumps(opinion, ensure_ascii=False).encode("utf-8"),
                   message_id="JC-2023-11", headers={"x-wagehub-kind": "JDYJ"})

    def opinion_notice():
        for message in agency.receive("hrss", 1, timeout=1):
            body = json.loads(message.raw)
            if body["data"]["kind"] == "SUPERVISION_OPINION":
                return body
        return None

    notice = wait_for(opinion_notice, timeout=30)
    assert notice["msgType"] == "NOTICE"
    assert notice["data"]["refs"]["transferNo"] == FACTS["transfer_no"]
    assert notice["data"]["refs"]["caseNo"] == FACTS["case_no"]
    record = notice["data"]["record"]
    assert record["opinion"] == "no_objection" and record["opinion_no"] == "济历检立监〔2023〕11号"
    assert record["source_agency"] == "procuratorate" and record["schema_version"] == "1.1"

    with h.store.sessions() as session:
        stored = session.scalars(select(Record).where(Record.type == "supervision_opinion")).one()
    assert stored.matter_id == ajys.headers["x-wagehub-matter"]  # joined the transfer's matter
