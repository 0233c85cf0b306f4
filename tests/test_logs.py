"""Log lines cannot be forged through logged values, and identity numbers are masked even
when letters touch them."""

from __future__ import annotations

import io
import logging

import pytest

from hub.contract.types import NativeMessage
from hub.logs import _install_redaction, redact
from tests.helpers import sample


@pytest.fixture
def hub_log():
    """The hub's record factory, and a handler formatting lines as ``wagehub run`` does."""
    factory = logging.getLogRecordFactory()
    _install_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
    logging.setLogRecordFactory(factory)


def test_control_characters_in_logged_values_are_escaped(hub_log):
    forged = "m-1\nERROR hub.casework.audit: chain rewritten\r\x1b[2K\u2028"
    logging.getLogger("hub.test").warning("message %s of kind %s", forged, "CLUE\x00")
    logging.getLogger("hub.test").warning("failed: %s", ValueError("bad id\nINFO forged"))
    logging.getLogger("hub.test").warning("mapping %(id)s", {"id": "x\ny"})
    lines = hub_log.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0] == r"WARNING hub.test: message m-1\nERROR hub.casework.audit: chain rewritten\r\x1b[2K\u2028 of kind CLUE\x00"
    assert lines[1] == r"WARNING hub.test: failed: bad id\nINFO forged"
    assert lines[2] == r"WARNING hub.test: mapping x\ny"


def test_a_message_id_cannot_forge_a_line_of_the_pipelines_log(hub, hub_log):
    mid = "evil\nINFO hub.casework.audit: audit chain verified"
    hub.pipeline.process([NativeMessage("hrss", sample("bad/hrss-bad-json.json"), mid, "application/json")])
    text = hub_log.getvalue()
    assert r"evil\nINFO hub.casework.audit" in text
    assert not any(line.startswith("INFO hub.casework.audit: audit chain verified") for line in text.splitlines())


@pytest.mark.parametrize("text, expected", [
    ("ID110101199003074518", "ID110101********4518"),
    ("idno=11010119900307451Xabc", "idno=110101********451Xabc"),
    ("身份证110101199003074518号", "身份证110101********4518号"),
    ("tel13800138000ext", "tel138****8000ext"),
    ("order 12345678901234567890", "order 12345678901234567890"),  # 20 digits: not an identity number
])
def test_identity_numbers_next_to_letters_are_masked(text, expected):
    assert redact(text) == expected
