"""The kit fails plugins broken in the ways strangers break them, and says how."""

from __future__ import annotations

import logging
import textwrap

import pytest

from hub.testing import Conformance, ConformanceError
from tests.kit.broken import (
    base,
    drops_field,
    good,
    logs_id,
    misspelt_hook,
    raises_on_bad,
    unmarked_hook,
    wrong_argument,
)
from tests.kit.helpers import run_pytest


def kit(plugin) -> Conformance:
    return Conformance(plugin, routes=base.ROUTES)

# These run a plugin built to log an identity number: the kit must catch it.
pytestmark = pytest.mark.personal_data_in_logs


def test_the_control_plugin_passes():
    kit(good).check_all()


def test_a_field_dropped_on_the_way_out_fails_the_round_trip():
    with pytest.raises(ConformanceError) as info:
        kit(drops_field).check_round_trip()
    message = str(info.value)
    assert "route clue-to-kitfixture (clue -> NOTICE): amount_owed = '382848.00' is not in the rendered message" \
        in message
    assert "worker_count" not in message  # only what was dropped


def test_a_plain_exception_on_bad_input_fails():
    with pytest.raises(ConformanceError) as info:
        kit(raises_on_bad).check_bad_samples()
    message = str(info.value)
    assert "cut-off.json: parse_message raised JSONDecodeError" in message
    assert "raise hub.InvalidMessage" in message


def test_an_identity_number_in_a_log_line_fails():
    with pytest.raises(ConformanceError) as info:
        kit(logs_id).check_no_personal_data_in_logs()
    message = str(info.value)
    assert "logger tests.kit.broken.logs_id (DEBUG, logs_id.py:" in message
    assert "wrote personal data (370103********234X)" in message
    assert base.ID not in message  # the failure itself does not repeat it


def test_the_hubs_log_redaction_does_not_hide_it():
    from hub.logs import _install_redaction

    factory = logging.getLogRecordFactory()
    _install_redaction()
    try:
        with pytest.raises(ConformanceError, match="wrote personal data"):
            kit(logs_id).check_no_personal_data_in_logs()
    finally:
        logging.setLogRecordFactory(factory)


def test_a_misspelt_hook_fails():
    with pytest.raises(ConformanceError, match="unknown hook 'parse_mesage'"):
        kit(misspelt_hook).check_hooks()


def test_an_unmarked_hook_fails():
    with pytest.raises(ConformanceError, match="render_record is not marked with @hookimpl"):
        kit(unmarked_hook).check_hooks()


def test_an_argument_the_spec_lacks_fails():
    with pytest.raises(ConformanceError, match="msg"):
        kit(wrong_argument).check_hooks()


def test_each_broken_plugin_fails_only_its_own_check():
    expected = {drops_field: "round trip", raises_on_bad: "bad samples", logs_id: "personal data in logs"}
    for plugin, check in expected.items():
        with pytest.raises(ConformanceError) as info:
            kit(plugin).check_all()
        titles = [line for line in str(info.value).splitlines() if not line.startswith("  ")]
        assert titles == [f"plugin kitfixture: {check}:"], (plugin.__name__, titles)


def test_as_a_plugin_author_runs_it(tmp_path):
    """The pytest way, in a separate process: the control passes, each broken plugin fails."""
    tests = tmp_path / "test_kit_on_plugins.py"
    tests.write_text(textwrap.dedent("""
        from hub.testing import PluginConformance
        from tests.kit.broken import base, drops_field, good, logs_id, raises_on_bad


        class TestGood(PluginConformance):
            plugin = good
            routes = base.ROUTES


        class TestDropsField(PluginConformance):
            plugin = drops_field
            routes = base.ROUTES


        class TestRaisesOnBad(PluginConformance):
            plugin = raises_on_bad
            routes = base.ROUTES


        class TestLogsId(PluginConformance):
            plugin = logs_id
            routes = base.ROUTES


        def test_fixture(wagehub_conformance):
            wagehub_conformance(good, routes=base.ROUTES).check_all()
    """), encoding="utf-8")
    run = run_pytest("-q", "-rf", str(tests), cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "3 failed, 26 passed" in out, out
    for failed in ("TestDropsField::test_round_trip_keeps_every_value",
                   "TestRaisesOnBad::test_bad_samples_refused_with_a_reason",
                   "TestLogsId::test_no_personal_data_in_logs"):
        assert f"FAILED test_kit_on_plugins.py::{failed}" in out, out
