"""The command line speaks like a click/Flask tool: --version, a bad setting in one line
with exit code 2, start-up notes once and quiet libraries, JSON logs on request."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import hub
from hub.cli.main import main
from hub.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(cli_env):
    return cli_env


def with_a_route_to_nowhere(env, tmp_path) -> dict:
    """The packaged routes and one to an agency no plugin adapts."""
    routes = tmp_path / "routes.toml"
    routes.write_text((DEFAULTS / "routes.toml").read_text(encoding="utf-8")
                      + '\n[[routes]]\nname = "clue-to-nowhere"\ntype = "clue"\nto = "nowhere"\nkind = "X"\n'
                        'fields = ["clue_no"]\n', encoding="utf-8")
    return {**env, "WAGEHUB_ROUTES_FILE": str(routes)}


def wagehub(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "hub.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_version_is_the_package_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"wagehub {hub.__version__}\n"


@pytest.mark.parametrize("variables, named", [
    ({"WAGEHUB_PIPELINE__BATCH_SIZE": "abc"}, "pipeline.batch_size (WAGEHUB_PIPELINE__BATCH_SIZE): Not a valid integer"),
    ({"WAGEHUB_MODE": "production", "WAGEHUB_SECRET_KEY": "shorter-than-32-bytes"}, "hub.secret_key"),
])
def test_a_setting_that_cannot_work_is_one_line_and_exit_code_2(variables, named, env):
    proc = wagehub({**env, **variables}, "plugins", "list")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and named in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.empty_database
def test_one_shot_commands_are_quiet_and_v_shows_the_migrations(env, tmp_path):
    env = with_a_route_to_nowhere(env, tmp_path)
    first = wagehub(env, "-v", "db", "upgrade")
    assert first.returncode == 0 and "alembic.runtime.migration: Running upgrade" in first.stderr
    for args in (["plugins", "list"], ["db", "upgrade"], ["tokens", "create", "--role", "viewer"]):
        proc = wagehub(env, *args)
        assert proc.returncode == 0 and proc.stderr == "", (args, proc.stderr)


def test_a_worker_says_the_routes_that_are_off_once_at_start_in_json(env, tmp_path):
    env = with_a_route_to_nowhere(env, tmp_path)
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "--log-format", "json", "worker"],
                                  env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while "consuming" not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
                assert worker.poll() is None, log.read_text(encoding="utf-8")
                time.sleep(0.2)
            time.sleep(1)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    off = [line for line in lines if "route(s) off" in line["message"]]
    assert len(off) == 1 and off[0]["level"] == "INFO" and off[0]["logger"] == "hub.runtime"
    said, names = off[0]["message"].split(": ", 1)
    assert "no installed plugin adapts" in said and "nowhere" in said and "clue-to-nowhere" in names
    assert not [line for line in lines if line["level"] == "WARNING"]


def test_json_log_lines_are_redacted_like_the_text_ones(capsys):
    from hub.logs import setup_logging

    setup_logging("INFO", "json")
    log = logging.getLogger("plugins.thirdparty")
    log.info("complainant %s, mobile %s", "110101199003077777", "13912345678")
    try:
        raise ValueError("bad mobile 13812345678")
    except ValueError:
        log.exception("could not read the message")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["complainant 110101********7777, mobile 139****5678",
                                                   "could not read the message"]
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "plugins.thirdparty"
    assert "138****5678" in lines[1]["exc"] and "13812345678" not in lines[1]["exc"]


def test_dev_says_what_it_sets_up(tmp_path):
    """./dev's first run names the venv it creates and the install it makes; the next is silent."""
    fake = tmp_path / "python"
    # A python that makes a venv whose python does nothing: ./dev's own steps, not pip's.
    fake.write_text('#!/bin/sh\nif [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"; '
                    'printf "#!/bin/sh\\nexit 0\\n" > "$3/bin/python"; chmod +x "$3/bin/python"; fi\n',
                    encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake), "WAGEHUB_VENV": str(tmp_path / "venv")}
    first = subprocess.run([str(ROOT / "dev"), "test"], env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert f"creating the virtual environment {tmp_path / 'venv'}" in first.stderr
    assert "installing the hub (editable) with its [test] extras" in first.stderr and "ready" in first.stderr
    again = subprocess.run([str(ROOT / "dev"), "test"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stderr == ""
