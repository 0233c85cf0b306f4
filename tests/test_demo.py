"""The demo shows what each agency received in its own format, and the README's "Running it
by hand" works as written: the order and the transfer reach the police; a transfer sent
alone is held, and ``wagehub tail`` says so and how to release it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from hub.cli.demo import SHOWN_LINES, SHOWN_WIDTH, run_demo, shown
from hub.contract.types import NativeMessage
from tests.helpers import SAMPLES, sample_personal_data


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory):
    lines: list[str] = []
    assert run_demo(str(tmp_path_factory.mktemp("demo") / "var"), 120, echo=lines.append) == 0
    return lines


def payloads(lines: list[str]) -> dict[str, list[str]]:
    """The received section's blocks: a header line, then the payload indented by four."""
    start = next(i for i, line in enumerate(lines) if line.startswith("What each agency received"))
    blocks: dict[str, list[str]] = {}
    current = None
    for line in lines[start + 2:]:
        if line.startswith("Dead letters"):
            break
        if line.startswith("  wagehub.out.") or line.startswith("  webhook "):
            # (a webhook by its path: the contractor's head office, the district government)
            current = " ".join(line.split()[:3 if line.startswith("  webhook ") else 2])
            blocks.setdefault(current, [])
        elif line.startswith("    ") and current:
            blocks[current].append(line[4:])
    return blocks


def test_the_demo_shows_each_native_payload(demo_lines):
    blocks = payloads(demo_lines)
    police = blocks["wagehub.out.police AJYS"]
    assert police[0] == '<?xml version="1.0" encoding="GB18030"?>' and "<YSBH>YS37010320230880</YSBH>" in police[8]
    assert "<SFZH>370103********5548</SFZH>" in [line.strip() for line in police]  # masked on the screen
    assert blocks["wagehub.out.housing ASSIGNMENT"][0].startswith("交办编号,线索编号,项目编号")
    notice = blocks["wagehub.out.hrss NOTICE"]
    assert notice[:2] == ["{", '  "msgType": "NOTICE",'] and re.match(r"\+ \d+ more NOTICE: \w+", notice[-1])
    union = blocks["wagehub.out.union referral"]
    assert union[0] == "[sheet 转办]" and union[2].endswith("139****0696")
    webhook = blocks["webhook POST /contractor-hq"]
    assert webhook[0] == "{" and '  "clue_no": "XS3701032023050880",' in webhook
    government = blocks["webhook POST /gov-370103"]  # the 属地 assignment to the district's government
    assert government[0] == "{" and '  "type": "ASSIGNMENT",' in government
    assert '  "clueNo": "XS3701032023050880",' in government
    assert "wagehub.out.court referral" in blocks


def test_the_demo_shows_the_complainant_s_loop(demo_lines):
    """Hotline in (a 12345 work order, on to labour inspection as its CLUE), each stage and the
    result out, the result's step met before replyBy, a call back saying not paid reopening it."""
    start = demo_lines.index("The complainant's loop (a work order from the hotline, answered in its own format):")
    loop = demo_lines[start + 1:start + 7]
    assert loop[0].startswith("  GD3701002023052000415  from hotline") and "hrss CLUE" in loop[1]
    assert "PROGRESS CASE_OPENED" in loop[2] and loop[2].endswith("RESULT")
    assert "paid no -> reopened, told: hrss NOTICE REOPENED" in loop[3]
    assert loop[4].split()[:2] == ["work_order_reply:GD3701002023052000415", "met"]
    assert loop[5].split()[0] == "work_order_reply:GD3701002023052000415#2"
    result = payloads(demo_lines)["wagehub.out.hotline RESULT"]
    assert '    "resolved": "1",' in result and '    "orderNo": "GD3701002023052000415",' in result


def test_long_payloads_are_cut_and_no_personal_data_shows(demo_lines):
    for name, block in payloads(demo_lines).items():
        shown = [line for line in block if not line.startswith("+ ")]
        assert len(shown) <= SHOWN_LINES + 1, name
        assert all(len(line) <= SHOWN_WIDTH for line in shown), name
        if len(shown) == SHOWN_LINES + 1:
            assert re.fullmatch(r"… \(\d+ more lines\)", shown[-1]), name
    text = "\n".join(demo_lines)
    assert not [value for value in sample_personal_data() if value in text]
    ids = re.findall(r"\bout_[0-9a-f*]+", text)
    assert ids and not [i for i in ids if "*" in i]  # the hub's ids are shown whole


def test_the_screen_masks_personal_data_not_the_hubs_ids():
    line = '"msgId": "out_01a24a4e17933558429f67c8", "mobile": "13912345678", <SFZH>11010119900307777X</SFZH>'
    assert shown(line) == ['"msgId": "out_01a24a4e17933558429f67c8", "mobile": "139****5678", '
                           '<SFZH>110101********777X</SFZH>']


@pytest.fixture
def env(cli_env):
    return cli_env


def wagehub(env, *args):
    return subprocess.run([sys.executable, "-m", "hub.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_tail_says_a_transfer_is_held_and_how_to_release_it(env, hub):
    hub.pipeline.process([NativeMessage("hrss", (SAMPLES / "hrss-transfer.json").read_bytes(), "t",
                                        "application/json")])
    tail = wagehub(env, "tail", "police")
    assert tail.returncode == 0 and tail.stdout == ""
    assert "nothing on wagehub.out.police: the queue is empty" in tail.stderr
    assert "transfer YS37010320230880 is held for the linkage office" in tail.stderr
    assert "no order to pay ZLZF37010320230880" in tail.stderr
    assert "wagehub transfers release YS37010320230880 --by NAME" in tail.stderr
    released = wagehub(env, "transfers", "release", "YS37010320230880", "--by", "张科长", "--reason", "补证中")
    assert released.returncode == 0, released.stderr
    after = wagehub(env, "tail", "police")
    assert "is held" not in after.stderr and "1 delivery(ies) to police not yet sent" in after.stderr


def test_tail_names_the_messages_no_worker_has_taken(env, hub):
    assert wagehub(env, "send", "hrss", str(SAMPLES / "hrss-order.json")).returncode == 0
    tail = wagehub(env, "tail", "police")
    assert "1 message(s) wait on wagehub.in.hrss (1): no worker has taken them" in tail.stderr


def test_the_demo_follows_a_resubmitted_and_a_reconsidered_transfer(demo_lines):
    """移送规定 Art. 8 and 9: a second round after the police asked for materials; a decline
    reconsidered into an opened case."""
    start = next(i for i, line in enumerate(demo_lines) if line.startswith("Criminal linkage:"))
    text = "\n".join(demo_lines[start:])
    assert re.search(r"police_decide:YS37010220230881#2\s+met", text)
    assert re.search(r"complete_materials:YS37010220230881#1\s+met", text)
    assert re.search(r"reconsidering\s+round 1", text) and re.search(r"reconsideration_answer:YS37010420230882#1\s+met",
                                                                       text)
    assert text.count("status now: opened") == 2
