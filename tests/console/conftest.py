"""Fixtures for the web console: a hub with the whole sample matter loaded (every plugin's
good and bad samples, as their agencies send them) plus a second, held transfer that is
not overdue, and test clients signed in as each role."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from hub.contract.types import NativeMessage
from hub.ids import now_beijing
from hub.messaging.outbox import signature_for
from hub.store.models import DeadLetter, Record
from tests.helpers import sample

FACTS = json.loads(sample("facts.json"))
CONTRACTOR_KEY = "contractor-key-1"
SECOND = {"clue_no": "XS3701022023050101", "case_no": "AJ370102202300101", "order_no": "ZLZF37010220230101",
          "transfer_no": "YS37010220230101", "area": "370102", "project_code": "37010220230101"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the console in headless Chromium (Playwright)")


def id_number(first17: str) -> str:
    """A valid GB 11643 identity number from its first 17 digits."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def second_matter(today: dt.date | None = None) -> list[tuple[str, bytes]]:
    """Another complaint (district 370102) whose transfer lacks a served order: held by the
    dossier check, with no deadline running, so it is not overdue."""
    today = today or now_beijing().date()  # (the hub counts days in Beijing time)
    clue = json.loads(sample("hrss-clue.json"))
    clue["msgId"] = "HRSS-370102-101-1"
    clue["data"].update(clueNo=SECOND["clue_no"], areaCode=SECOND["area"], projectCode=SECOND["project_code"],
                        amountFen=12600000, workerCount=7, channel="02",
                        complainant={"name": "李秀兰", "idNo": id_number("37010219880412152"),
                                     "mobile": "13705310101"})
    case = json.loads(sample("hrss-case.json"))
    case["msgId"] = "HRSS-370102-101-2"
    case["data"].update(caseNo=SECOND["case_no"], clueNos=[SECOND["clue_no"]], handler="370102劳动保障监察大队")
    transfer = json.loads(sample("hrss-transfer.json"))
    transfer["msgId"] = "HRSS-370102-101-4"
    transfer["data"].update(transferNo=SECOND["transfer_no"], caseNo=SECOND["case_no"], orderNo=SECOND["order_no"],
                            amountFen=12600000, workerCount=7, transferDate=today.strftime("%Y%m%d"),
                            suspects=[{"name": "赵德明", "idNo": id_number("37010219700305331"), "role": "法定代表人"}])
    return [(f"second-{name}", json.dumps(doc, ensure_ascii=False).encode())
            for name, doc in (("clue", clue), ("case", case), ("transfer", transfer))]


@dataclass
class Loaded:
    """What the loaded hub holds, by name."""

    matter_id: str
    second_matter_id: str
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Dead letter id by sample name (``hrss-bad-idcheck.json``)."""


def sample_messages(hub) -> list[tuple[str, NativeMessage]]:
    """Every plugin's samples, good and bad, in the order of their events, as sent."""
    out = []
    samples = sorted(((s.at, a, s) for a in hub.registry.adapters.values() for s in a.samples()),
                     key=lambda item: item[0])
    for _, adapter, s in samples:
        headers = {**s.headers, **({"x-wagehub-kind": s.kind} if s.kind else {})}
        if adapter.code == "contractor":
            headers["x-wagehub-signature"] = signature_for(CONTRACTOR_KEY, s.body)
        out.append((s.name, NativeMessage(adapter.code, s.body, f"whole-{s.name}", s.content_type,
                                          s.content_encoding, s.kind, headers)))
    for name, body in second_matter():
        out.append((name, NativeMessage("hrss", body, name, "application/json", "utf-8")))
    return out


def describe(hub) -> Loaded:
    with hub.store.sessions() as session:
        first = session.scalars(select(Record.matter_id).where(Record.source_ref == FACTS["transfer_no"])).first()
        second = session.scalars(select(Record.matter_id).where(Record.source_ref == SECOND["transfer_no"])).first()
        dead = {m.removeprefix("whole-"): i for i, m in session.execute(select(DeadLetter.id, DeadLetter.message_id))}
    return Loaded(first, second, dead)


def contractor_settings(settings, url: str = "http://127.0.0.1:9/hq") -> None:
    settings["plugins"] = {"contractor": {"contractors": {FACTS["contractor_uscc"]: {"url": url,
                                                                                      "key": CONTRACTOR_KEY}}}}


@pytest.fixture
def hub(settings):
    """The hub with the general contractor's head office configured (its replies are signed)."""
    from hub.runtime import Hub

    contractor_settings(settings)
    h = Hub(settings)
    h.declare_topology()
    yield h
    h.shutdown()


@pytest.fixture
def loaded(hub) -> Loaded:
    """The whole sample matter and the second matter, applied by the pipeline directly."""
    for _, message in sample_messages(hub):
        hub.pipeline.process([message])
    return describe(hub)


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client, token: str):
    page = client.get("/console/signin")
    return client.post("/console/signin", data={"token": token, "csrf_token": csrf_of(page.text)})


@pytest.fixture
def console(app, hub):
    """``console("admin")`` -> a test client signed in to the console with a fresh token of that role."""
    from hub.web.auth import create_token

    def make(role: str):
        client = app.test_client()
        response = sign_in(client, create_token(hub.store, role))
        assert response.status_code == 302, response.text
        client.csrf = lambda path="/console/": csrf_of(client.get(path).text)
        return client

    return make
