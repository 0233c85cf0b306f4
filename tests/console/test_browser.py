"""The console in headless Chromium (Debian's ``chromium``, driven by Playwright) against a
running hub: the Flask app on a real port, the workers consuming real queues, and the
whole sample matter published through them as the agencies would.

Screenshots of every page land in ``tests/artifacts/console/``. Skipped, saying why,
when Chromium or Playwright is not installed (``pip install -e '.[browser]'`` and
``apt-get install chromium``).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.cli.demo import _taken
from hub.store.models import DeadLetter, Inbox, Outbox, Record
from hub.web.console.display import agency_name
from tests.console.conftest import FACTS, SECOND, contractor_settings, describe, sample_messages
from tests.helpers import TEST_BROKER_URL, TEST_DATABASE_URL, AgencyClient, sample, wait_for

CHROMIUM = os.environ.get("WAGEHUB_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
PASSWORD = "browser password 1"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]



def _missing(reason: str) -> None:
    """Skip, saying why; CI sets WAGEHUB_REQUIRE_BROWSER=1 so that a missing browser fails instead."""
    if os.environ.get("WAGEHUB_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not Path(CHROMIUM).exists():
    _missing(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set WAGEHUB_TEST_CHROMIUM)")
try:
    from playwright import sync_api
except ImportError:
    _missing("Playwright is not installed: pip install -e '.[browser]'")

pytestmark = pytest.mark.browser


class Live:
    """A running hub with the sample matter loaded, served on 127.0.0.1."""

    def __init__(self, tmp: Path):
        from kombu import Connection
        from werkzeug.serving import make_server

        from hub.config import load_settings
        from hub.runtime import Hub, Workers
        from hub.services.accounts import create_user
        from hub.web.app import create_app
        from hub.web.auth import create_token
        from tests.helpers import purge_queues, reset_database
        from tests.webhook import WebhookServer

        self.head_office = WebhookServer()
        settings = load_settings({
            "hub": {"var_dir": str(tmp / "var"), "broker_url": TEST_BROKER_URL or "",
                    "database_url": TEST_DATABASE_URL or ""},
            "relay": {"poll_interval": 0.05, "backoff_start": 0.2},
            "linkage": {"check_every": 3600}, "testing": True}, environ={})
        contractor_settings(settings, self.head_office.url)
        if TEST_DATABASE_URL:
            reset_database(TEST_DATABASE_URL)
        if TEST_BROKER_URL:
            purge_queues(settings)
        self.hub = Hub(settings)
        self.hub.declare_topology()
        self.workers = Workers(self.hub)
        self.workers.start()
        url = settings["hub"]["broker_url"]
        self.conn = Connection(url, **({"transport": "hub.messaging.embedded:Transport"} if url.startswith("embedded:") else {}))
        self.agency = AgencyClient(self.conn, settings)
        messages = sample_messages(self.hub)
        # One at a time, as the agencies' steps happen: a reconsideration before its decline,
        # or a message overtaking another agency's, is refused by the rules of the matter.
        for _, m in messages:
            self.agency.publish(m.agency, m.body, message_id=m.message_id, content_type=m.content_type,
                                content_encoding=m.content_encoding, headers=dict(m.headers))
            wait_for(lambda m=m: _taken(self.hub, m.agency, m.message_id), timeout=60)
        wait_for(lambda: self.count(Outbox, Outbox.status == "pending") == 0, timeout=30)
        self.loaded = describe(self.hub)
        self.tokens = {role: create_token(self.hub.store, role, label=f"browser {role}")
                       for role in ("admin", "linkage", "viewer", "agency:police")}
        self.users = {role: "browser." + role.split(":")[-1] for role in self.tokens}  # people sign in as users
        for role, username in self.users.items():
            create_user(self.hub.store, username, role, PASSWORD, min_length=12)
        app = create_app(hub=self.hub)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="console-http", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def count(self, model, *where) -> int:
        with self.hub.store.sessions() as session:
            return session.execute(select(func.count()).select_from(model).where(*where)).scalar()

    def dead_letter_ids(self, keep) -> set[int]:
        """The ids of the open dead letters ``keep(dead_letter)`` accepts, read from the store."""
        with self.hub.store.sessions() as session:
            return {d.id for d in session.scalars(select(DeadLetter).where(DeadLetter.status == "open")) if keep(d)}

    def transfer_views(self) -> list[dict]:
        """Every criminal transfer as the API describes it (status, overdue), by number."""
        from hub.casework.transfers import transfer_numbers, transfer_view

        with self.hub.store.sessions() as session:
            return [transfer_view(session, n, self.hub.settings) for n in sorted(transfer_numbers(session))]

    def record_types(self, matter_id: str) -> list[str]:
        """A matter's record types in the order of their events, read from the store."""
        with self.hub.store.sessions() as session:
            return list(session.scalars(select(Record.type).where(Record.matter_id == matter_id)
                                        .order_by(Record.occurred_at, Record.seq)))

    def steps(self, matter_id: str) -> list[dict]:
        """A matter's steps with their deadlines and status, as the API shows them."""
        from hub.casework import deadlines
        from hub.store.models import Deadline

        with self.hub.store.sessions() as session:
            return [deadlines.view(d) for d in session.scalars(select(Deadline).where(Deadline.matter_id == matter_id))]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.workers.stop()
        self.conn.release()
        self.head_office.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    hub = Live(tmp_path_factory.mktemp("console"))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


SHOTS: dict[str, float] = {}
"""Screenshots taken in this run, by name, with the time each was asked for."""


def shot(page, name: str, full: bool = True) -> None:
    SHOTS[name] = time.time() - 1  # file times may be coarser than the clock
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def sign_in(page, live, role: str, path: str = "/console/"):
    page.goto(live.url + path)
    assert "/console/signin" in page.url  # not signed in yet: sent to sign in, then back
    page.get_by_label("用户名").fill(live.users[role])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录 Sign in", exact=True).click()
    page.wait_for_load_state()
    assert "/console/signin" not in page.url


def shown_ids(rows) -> set[int]:
    """The dead letter ids a list's rows link to (``#12``)."""
    return {int(t.strip().lstrip("#")) for t in rows.locator("td a").all_inner_texts()}


def plugin_row(page, live, name: str) -> dict:
    page.goto(f"{live.url}/console/plugins")
    row = page.locator(f"#plugin-{name}")
    return {"enabled": row.get_attribute("data-enabled") == "true",
            "in": row.locator("[data-queue=in]").inner_text().strip()}


def test_sign_in_with_a_password_or_a_token(page, live):
    page.goto(live.url + "/console/")
    assert page.url.startswith(live.url + "/console/signin")
    shot(page, "01-signin")
    page.get_by_label("用户名").fill(live.users["admin"])
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录 Sign in", exact=True).click()
    assert page.get_by_role("alert").inner_text().startswith("用户名或密码错误")
    page.get_by_text("用访问令牌登录").click()  # systems' operators: a token, under the form
    page.get_by_label("访问令牌").fill("wht_not-a-real-token")
    page.get_by_role("button", name="用令牌登录 Sign in with the token").click()
    assert page.get_by_role("alert").inner_text().startswith("令牌无效")
    page.get_by_text("用访问令牌登录").click()
    page.get_by_label("访问令牌").fill(live.tokens["admin"])
    page.get_by_role("button", name="用令牌登录 Sign in with the token").click()
    page.wait_for_url(live.url + "/console/")
    assert page.get_by_role("heading", level=1).inner_text() == "控制台 Console"
    cookie = next(c for c in page.context.cookies() if c["name"] == "wagehub_console")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    nav = page.get_by_role("navigation").inner_text()
    for title in ("单位与插件", "死信", "案件时间线", "移送看板", "日通报", "审计"):
        assert title in nav
    shot(page, "02-home")
    page.get_by_role("button", name="退出 Sign out").click()
    page.wait_for_url("**/console/signin")


def test_disabling_a_plugin_stops_the_hub_consuming_and_enabling_resumes(page, live):
    sign_in(page, live, "admin", "/console/plugins")
    assert plugin_row(page, live, "hrss") == {"enabled": True, "in": "0"}
    assert page.locator("#plugin-hrss").inner_text().count("/") >= 2  # in/out of the last hour and day
    shot(page, "03-plugins")
    page.locator("#plugin-hrss").get_by_role("link", name="停用 Disable").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("停用 Disable：hrss")
    shot(page, "04-plugin-confirm")
    page.get_by_role("button", name="确认停用").click()
    assert "已停用" in page.get_by_role("status").inner_text()
    assert plugin_row(page, live, "hrss")["enabled"] is False

    live.agency.publish("hrss", sample("hrss-clue.json"), message_id="while-disabled")
    # the message waits on wagehub.in.hrss: the hub no longer consumes it
    wait_for(lambda: plugin_row(page, live, "hrss")["in"] == "1", timeout=20, interval=0.5)
    assert live.count(Inbox, Inbox.message_id == "while-disabled") == 0
    shot(page, "05-plugins-disabled")

    page.locator("#plugin-hrss").get_by_role("link", name="启用 Enable").click()
    page.get_by_role("button", name="确认启用").click()
    assert "已启用" in page.get_by_role("status").inner_text()
    wait_for(lambda: plugin_row(page, live, "hrss") == {"enabled": True, "in": "0"}, timeout=20, interval=0.5)
    wait_for(lambda: live.count(Inbox, Inbox.message_id == "while-disabled") == 1)
    page.goto(f"{live.url}/console/audit?action=plugin.")
    assert "plugin.disabled" in page.locator("#audit").inner_text()


def test_fix_and_replay_a_dead_letter(page, live):
    sign_in(page, live, "admin", "/console/dead-letters")
    # the filter matches the reason, the rule or the field: the same dead letters as a look at each one
    matching = live.dead_letter_ids(lambda d: "id_number" in f"{d.reason} {d.rule} {d.field}".lower())
    idcheck = live.loaded.dead_letters["hrss-bad-idcheck.json"]
    assert idcheck in matching and len(matching) < len(live.loaded.dead_letters)
    page.get_by_label("原因 Reason").fill("id_number")
    page.get_by_role("button", name="筛选 Filter").click()
    rows = page.locator("#dead-letters tbody tr")
    assert shown_ids(rows) == matching
    assert "id-number-gb11643" in rows.filter(has=page.get_by_role("link", name=f"#{idcheck}", exact=True)).inner_text()
    page.get_by_label("单位 Agency").select_option("hrss")
    page.get_by_role("button", name="筛选 Filter").click()
    assert shown_ids(rows) == matching & live.dead_letter_ids(lambda d: d.agency == "hrss")
    page.get_by_label("单位 Agency").select_option("")
    page.get_by_label("原因 Reason").fill("")
    page.get_by_role("button", name="筛选 Filter").click()
    assert shown_ids(rows) == set(live.loaded.dead_letters.values())  # every sample's, all open
    shot(page, "06-dead-letters")

    dead_letter_id = live.loaded.dead_letters["hrss-bad-idcheck.json"]
    page.get_by_role("link", name=f"#{dead_letter_id}", exact=True).click()
    assert "check character is wrong" in page.locator("#dl-reason").inner_text()
    body = page.locator("#dl-body").inner_text()
    assert "370103198212262340" in body  # the admin sees the original, decoded, unmasked
    shot(page, "07-dead-letter")
    fixed = page.get_by_label("报文 Message text")
    fixed.fill(fixed.input_value().replace("370103198212262340", FACTS["complainant_id"]))
    page.get_by_role("button", name="重放 Replay").click()
    assert "重放成功" in page.get_by_role("status").inner_text()
    assert page.locator("#dl-status").inner_text().startswith("已重放")
    assert "已接受 accepted" in page.locator("#replay-result").inner_text()
    shot(page, "08-dead-letter-replayed")
    with live.hub.store.sessions() as session:
        assert session.get(DeadLetter, dead_letter_id).status == "replayed"


def open_matter(page, live, number: str, matter_id: str) -> list[str]:
    """Find a matter by one of its numbers, open it, and return its timeline's record types."""
    page.goto(f"{live.url}/console/matters")
    page.get_by_label("线索、案件、移送、项目编号").fill(number)
    page.get_by_role("button", name="查找 Search").click()
    page.locator("#matter-results").get_by_role("link", name=matter_id).click()
    assert matter_id in page.get_by_role("heading", level=1).inner_text()
    return page.locator("#timeline > li").evaluate_all("items => items.map(li => li.dataset.type)")


def test_open_a_matter_by_its_clue_number(page, live):
    sign_in(page, live, "linkage", "/console/matters")
    types = open_matter(page, live, FACTS["clue_no"], live.loaded.matter_id)
    assert types == live.record_types(live.loaded.matter_id)  # every record, in the order of its events
    assert types.index("clue") < types.index("criminal_transfer") < types.index("police_receipt") \
        < types.index("court_judgment") < types.index("court_enforcement")
    assert {"mediation_result", "contractor_reply", "payment_order", "wage_payment", "credit_listing"} <= set(types)
    # paid in full once: the steps still open then are moot; the next steps listed are the
    # open ones the store holds (a call back saying not paid reopens the matter), or none
    steps = live.steps(live.loaded.matter_id)
    owed = [s for s in steps if s["status"] in ("open", "overdue")]
    assert page.locator("#next-steps tbody tr").count() == len(owed)
    if not owed:
        assert page.get_by_text("没有待办期限").is_visible()
    statuses = page.locator("#steps tbody tr td:nth-child(6)").all_inner_texts()
    moot = [s for s in steps if s["status"] == "moot"]
    assert moot and sum(s.startswith("无需办理 moot") for s in statuses) == len(moot)
    assert sum("逾期" in s for s in statuses) == sum(s["overdue"] for s in steps)
    shot(page, "09-matter")

    # a matter with an overdue step: who owes it, and that it is late, first in the list
    late = next(v for v in live.transfer_views() if v["overdue"])
    owed = min((s for s in live.steps(late["matter_id"]) if s["overdue"]), key=lambda s: s["due_at"])
    open_matter(page, live, late["transfer_no"], late["matter_id"])
    first = page.locator("#next-steps tbody tr").first
    assert "逾期 overdue" in first.inner_text() and "overdue" in first.get_attribute("class")
    assert agency_name(owed["owner"], live.hub.registry) in first.locator("th").inner_text()
    shot(page, "09-matter-overdue")


def test_transfers_board_lists_the_overdue_transfer_first(page, live):
    views = live.transfer_views()
    overdue = [v["transfer_no"] for v in views if v["overdue"]]
    on_time = [v["transfer_no"] for v in views if not v["overdue"]]
    assert overdue and on_time and SECOND["transfer_no"] in on_time  # both kinds, or the order proves nothing
    assert sorted(overdue) + sorted(on_time) != sorted(overdue + on_time)  # by number alone, another order
    sign_in(page, live, "linkage", "/console/transfers")
    rows = page.locator("#transfers tbody tr")
    shown = [rows.nth(i).get_attribute("data-transfer") for i in range(rows.count())]
    assert shown == sorted(overdue) + sorted(on_time)  # overdue first, then by number
    for i, number in enumerate(shown):
        late = number in overdue
        assert rows.nth(i).get_attribute("data-overdue") == ("true" if late else "false")
        assert ("overdue" in (rows.nth(i).get_attribute("class") or "")) is late
        assert ("逾期 overdue" in rows.nth(i).locator("th").inner_text()) is late
    held = rows.nth(shown.index(SECOND["transfer_no"]))
    assert "暂缓待补" in held.inner_text()  # held by the dossier check
    shot(page, "10-transfers")
    if os.environ.get("WAGEHUB_UPDATE_DOCS_SCREENSHOT"):
        docs = Path(__file__).resolve().parents[2] / "docs" / "console-transfers.png"
        page.set_viewport_size({"width": 1280, "height": 560})
        page.screenshot(path=str(docs))
        page.set_viewport_size({"width": 1366, "height": 860})

    with page.expect_download() as download:
        page.get_by_role("link", name="导出 XLSX Export").click()
    from openpyxl import load_workbook

    download.value.save_as(ARTIFACTS / "transfers.xlsx")
    wb = load_workbook(ARTIFACTS / "transfers.xlsx")
    values = [list(r) for r in wb["移送看板"].iter_rows(values_only=True)]
    assert [v[0] for v in values[1:]] == shown

    page.get_by_role("link", name=FACTS["transfer_no"], exact=True).click()
    assert "已结案" in page.locator("#transfer-status").inner_text()
    story = page.locator("#transfer-timeline").inner_text()
    for stage in ("已移送", "已接收", "已立案", "已判决", "已结案"):
        assert stage in story
    shot(page, "11-transfer")


def test_daily_bulletin_with_charts_downloads_as_xlsx(page, live):
    sign_in(page, live, "viewer", "/console/bulletin?date=2023-05-22")
    assert "欠薪线索处置日通报" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("#totals").inner_text().startswith("2")  # two new clues that day
    assert page.locator("figure.chart svg rect").count() >= 4
    assert "市中区" in page.locator("#districts").inner_text()
    shot(page, "12-bulletin")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 XLSX Download").click()
    assert download.value.suggested_filename == "bulletin-2023-05-22.xlsx"
    from openpyxl import load_workbook

    download.value.save_as(ARTIFACTS / download.value.suggested_filename)
    wb = load_workbook(ARTIFACTS / download.value.suggested_filename)
    assert wb.sheetnames == ["日通报", "逾期事项", "回头看"]
    assert page.get_by_role("button", name="打印 Print").is_visible()
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation").is_visible()
    shot(page, "13-bulletin-print")


def test_audit_chain_verifies_with_one_button(page, live):
    sign_in(page, live, "admin", "/console/audit")
    page.get_by_role("button", name="校验审计链 Verify the chain").click()
    assert page.locator("#verify-result").inner_text().startswith("审计链完整")
    assert "console.signed_in" in page.locator("#audit").inner_text()
    shot(page, "14-audit")


def test_an_agency_user_sees_only_its_own_traffic(page, live):
    sign_in(page, live, "agency:police", "/console/plugins")
    assert page.locator("#plugins tbody tr").count() == 1 and page.locator("#plugin-police").count() == 1
    assert "配置 Settings" not in page.content()
    nav = page.get_by_role("navigation").inner_text()
    assert "移送看板" not in nav and "日通报" not in nav and "审计" not in nav

    page.goto(f"{live.url}/console/dead-letters")
    assert set(page.locator("#dead-letters tbody tr td:nth-child(3)").all_inner_texts()) == {"police"}
    hrss_dead = live.loaded.dead_letters["hrss-bad-json.json"]
    assert page.goto(f"{live.url}/console/dead-letters/{hrss_dead}").status == 404
    assert page.goto(f"{live.url}/console/dead-letters?agency=hrss").status == 200
    assert "hrss" not in page.locator("main").inner_text().replace("hrss-", "")
    assert page.goto(f"{live.url}/console/transfers").status == 403
    shot(page, "15-forbidden")
    assert page.goto(f"{live.url}/console/transfers/{FACTS['transfer_no']}").status == 403
    assert page.goto(f"{live.url}/console/bulletin").status == 403
    assert page.goto(f"{live.url}/console/plugins/hrss/disable").status == 403
    assert page.goto(f"{live.url}/console/matters/{live.loaded.second_matter_id}").status == 404

    page.goto(f"{live.url}/console/matters/{live.loaded.matter_id}")
    types = page.locator("#timeline > li").evaluate_all("items => items.map(li => li.dataset.type)")
    assert {"criminal_transfer", "police_receipt", "police_decision"} <= set(types)  # routed to it, and its own
    assert not {"clue", "case", "mediation_result", "contractor_reply", "payment_order"} & set(types)
    html = page.content()  # the closed "all fields" panels too
    assert "370103196601215548" not in html and "370103********5548" in html  # the suspect's id, masked
    assert FACTS["complainant_mobile"] not in html and "王春生" not in html
    shot(page, "16-agency-matter")


def test_screenshots_were_saved():
    """Every screenshot the tests above took in this run is a PNG on disk, written by this run."""
    if not SHOTS:
        pytest.skip("no browser test took a screenshot in this run")
    for name, started in SHOTS.items():
        path = ARTIFACTS / f"{name}.png"
        assert path.exists() and path.stat().st_mtime >= started, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
