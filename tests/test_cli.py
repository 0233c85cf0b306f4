"""The wagehub command line, run as a user would (a real process on the test's settings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import SAMPLES


@pytest.fixture
def env(settings):
    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    env.update(WAGEHUB_VAR_DIR=settings["hub"]["var_dir"], WAGEHUB_BROKER_URL=settings["hub"]["broker_url"],
               WAGEHUB_DATABASE_URL=settings["hub"]["database_url"])
    return env


def wagehub(env, *args, check=True, timeout=60, input=None):
    proc = subprocess.run([sys.executable, "-m", "hub.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_tokens_create_prints_the_token_alone(env, hub):
    out = wagehub(env, "tokens", "create", "--role", "agency:hrss").stdout
    assert out.count("\n") == 1 and out.startswith("wht_")
    bad = wagehub(env, "tokens", "create", "--role", "root", check=False)
    assert bad.returncode == 2 and "role must be" in bad.stderr
    assert wagehub(env, "tokens", "revoke", out.strip()).stdout.strip() == "revoked"


def test_a_token_for_one_of_several_senders_is_bound_to_it(env, hub):
    unbound = wagehub(env, "tokens", "create", "--role", "agency:contractor", check=False)
    assert unbound.returncode == 2 and "--sender" in unbound.stderr
    bound = wagehub(env, "tokens", "create", "--role", "agency:contractor", "--sender", "91370103qeflcr639m")
    assert bound.stdout.startswith("wht_")
    stray = wagehub(env, "tokens", "create", "--role", "agency:hrss", "--sender", "X", check=False)
    assert stray.returncode == 2 and "several senders" in stray.stderr


def test_plugins_list_enable_disable(env, hub):
    listing = wagehub(env, "plugins", "list").stdout
    assert "hrss" in listing and "police" in listing
    # Every row's health sits under HEALTH, however many kinds a plugin has.
    header, *rows = listing.splitlines()
    assert rows and all(row.rstrip().endswith(" ok") and row.index(" ok") + 1 == header.index("HEALTH")
                        for row in rows)
    wagehub(env, "plugins", "disable", "police")
    hub.refresh_plugin_state()
    assert not hub.registry.is_enabled("police")
    wagehub(env, "plugins", "enable", "police")
    hub.refresh_plugin_state()
    assert hub.registry.is_enabled("police")
    missing = wagehub(env, "plugins", "enable", "nope", check=False)
    assert missing.returncode == 2 and "no plugin named" in missing.stderr


def test_send_then_tail_through_a_running_worker(env, hub):
    """README, "Running it by hand": the order to pay, then the transfer, reach the police."""
    log = open(os.path.join(env["WAGEHUB_VAR_DIR"], "worker.log"), "wb")
    worker = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=env, stdout=log, stderr=log)
    try:
        for name in ("hrss-order.json", "hrss-transfer.json"):
            wagehub(env, "send", "hrss", str(SAMPLES / name))
        out = ""
        for _ in range(20):
            out += wagehub(env, "tail", "police", "-n", "1").stdout
            if "AJYS" in out:
                break
        assert "AJYS" in out and "<YSBH>YS37010320230880</YSBH>" in out
        assert "criminal_transfer" in out
        again = wagehub(env, "tail", "police").stderr
        assert "1 message(s) were sent here before and have been read" in again
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        log.close()


def test_dead_letters_list_and_replay(env, hub):
    from hub.contract.types import NativeMessage

    bad = (SAMPLES / "bad" / "hrss-bad-idcheck.json").read_bytes()
    hub.pipeline.process([NativeMessage("hrss", bad, "cli-bad", "application/json")])
    listing = wagehub(env, "dead-letters", "list").stdout
    assert "cli-bad" in listing and "data.complainant.idNo" in listing
    still = wagehub(env, "dead-letters", "replay", "1", check=False)
    assert still.returncode == 1 and "still failing" in still.stdout
    fixed = bad.replace(b"370103198212262340", b"37010319821226234X")
    path = os.path.join(env["WAGEHUB_VAR_DIR"], "fixed.json")
    with open(path, "wb") as fh:
        fh.write(fixed)
    done = wagehub(env, "dead-letters", "replay", "1", "--file", path)
    assert "replayed" in done.stdout


def test_replaying_unsigned_bytes_needs_a_named_admin(env, settings):
    from sqlalchemy import select

    from hub.contract.types import NativeMessage
    from hub.runtime import Hub
    from hub.services.accounts import create_user
    from hub.store.models import AuditEntry

    settings["plugins"] = {"hrss": {"key": "hrss-secret-key"}}
    env["WAGEHUB_PLUGINS__HRSS__KEY"] = "hrss-secret-key"
    hub = Hub(settings)
    body = (SAMPLES / "hrss-clue.json").read_bytes()
    [outcome] = hub.pipeline.process([NativeMessage("hrss", body, "unsigned-1", "application/json")])
    dead = str(outcome.dead_letters[0])
    still = wagehub(env, "dead-letters", "replay", dead, check=False)
    assert still.returncode == 1 and "hmac-signature-missing" in still.stdout  # checked again
    nameless = wagehub(env, "dead-letters", "replay", dead, "--accept-unsigned", "--reason", "phoned", check=False)
    assert nameless.returncode == 2 and "by" in nameless.stderr
    create_user(hub.store, "chen.admin", "admin", "a long enough password", min_length=12)
    done = wagehub(env, "dead-letters", "replay", dead, "--accept-unsigned", "--by", "chen.admin",
                   "--reason", "hrss confirmed the file by phone")
    assert "replayed" in done.stdout
    with hub.store.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "dead_letter.replay_unsigned")).one()
    assert entry.actor == "user:chen.admin@cli" and entry.details["reason"] == "hrss confirmed the file by phone"
    hub.shutdown()


def test_db_upgrade_and_help(env):
    assert "database at head" in wagehub(env, "db", "upgrade").stdout
    assert "demo" in wagehub(env, "--help").stdout


def test_demo_runs_one_matter_through_every_installed_agency(env, tmp_path):
    out = wagehub(env, "demo", "--dir", str(tmp_path / "demo"), timeout=120).stdout
    assert "criminal_transfer" in out and "police_decision" in out
    assert "wagehub.out.police" in out and "AJYS" in out and "NOTICE" in out
    assert "Dead letters" in out
    assert "13923720696" not in out and "37010319821226234X" not in out


def test_linkage_office_on_the_command_line(env, hub):
    import json as _json

    from hub.contract.types import NativeMessage

    def msg(name, mid, **data):
        doc = _json.loads((SAMPLES / name).read_bytes())
        doc["data"].update(data)
        return NativeMessage("hrss", _json.dumps(doc).encode(), mid, "application/json")

    hub.pipeline.process([msg("hrss-clue.json", "c"), msg("hrss-order.json", "o"),
                          msg("hrss-transfer.json", "t", evidence=["E01", "E02"])])
    listing = wagehub(env, "transfers", "list").stdout
    assert "YS37010320230880" in listing and "held" in listing and "evidence.E03" in listing
    shown = _json.loads(wagehub(env, "transfers", "show", "YS37010320230880").stdout)
    assert shown["dossier"]["status"] == "held"
    no_reason = wagehub(env, "transfers", "return", "YS37010320230880", "--by", "张科长", check=False)
    assert no_reason.returncode == 2
    out = wagehub(env, "transfers", "return", "YS37010320230880", "--by", "张科长", "--reason", "补充证据E03、E04")
    assert "returned" in out.stdout
    verified = wagehub(env, "audit", "verify")
    assert _json.loads(verified.stdout)["ok"] is True


def test_run_serves_the_api_with_the_queues_header_names(env, hub):
    """`wagehub run`: the contract's inbound headers over HTTP are the queue's, message_id and
    content_type included, though most servers drop header names with an underscore. No
    answer names the server software; on SIGTERM it signs the audit chain's head."""
    import http.client
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = wagehub(env, "tokens", "create", "--role", "agency:hrss").stdout.strip()
    log = open(os.path.join(env["WAGEHUB_VAR_DIR"], "run.log"), "wb")
    server = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "run", "--port", str(port), "--no-workers"], env=env,
                              stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        body = (SAMPLES / "hrss-clue.json").read_bytes()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/v1/inbound/hrss", body=body, headers={
            "Authorization": f"Bearer {token}", "message_id": "run-1", "content_type": "application/json",
            "content_encoding": "utf-8"})
        resp = conn.getresponse()
        assert resp.status == 202, resp.read()
        assert resp.getheader("Server") is None
        assert b'"message_id":"run-1"' in resp.read().replace(b" ", b"")

        # What the server refuses before the app sees it is JSON too, never an HTML page,
        # and does not echo the request (its URL may hold personal data).
        for raw, status in ((b"GET /api/v1/plugins?id=370103198212262340 HTTP/1.1 extra\r\n\r\n", 400),
                            (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414)):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw_conn:
                raw_conn.sendall(raw)
                answer = b""
                while chunk := raw_conn.recv(65536):
                    answer += chunk
            assert b"Werkzeug" not in answer and b"Python" not in answer
            if answer.startswith(b"HTTP/"):
                head, _, payload = answer.partition(b"\r\n\r\n")
                assert head.split()[1] == str(status).encode() and b"Content-Type: application/json" in head
            else:  # (a request line with no version it knows: the server answers as HTTP/0.9, a bare body)
                payload = answer
            error = json.loads(payload)["error"]
            assert error["code"] and error["message"] and error["details"] == {}
            assert b"370103198212262340" not in answer
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    verified = json.loads(wagehub(env, "audit", "verify").stdout)
    assert verified["ok"] is True and verified["heads_checked"] == 1


def test_a_message_sent_before_any_worker_ran_waits_in_its_queue(env, settings):
    """`wagehub send` declares the agency's queue as the workers do: on a broker no worker
    has set up yet, the exchange alone would route the message nowhere."""
    from hub.runtime import Hub, Workers
    from hub.store.models import Record
    from tests.helpers import count_rows, wait_for

    wagehub(env, "send", "hrss", str(SAMPLES / "hrss-clue.json"), "--message-id", "sent-first")
    hub = Hub(settings)
    try:
        with Workers(hub):
            wait_for(lambda: count_rows(hub, Record) == 1, timeout=30)
    finally:
        hub.shutdown()


def test_tail_keep_reads_each_message_once_and_leaves_them_queued(env, hub):
    """`tail --keep` is a peek: it ends, shows each message once, and leaves them queued."""
    from hub.runtime import Workers
    from tests.helpers import wait_for

    with Workers(hub):
        wagehub(env, "send", "hrss", str(SAMPLES / "hrss-clue.json"))
        wait_for(lambda: wagehub(env, "tail", "union", "--keep", "-n", "1", timeout=30).stdout, timeout=30)
    peek = wagehub(env, "tail", "union", "--keep", timeout=30).stdout  # no -n: ends once nothing more comes
    assert peek.count("clue-to-union") == 1 or peek.count("referral") >= 1
    assert wagehub(env, "tail", "union", "--keep", timeout=30).stdout == peek  # still there, once each
    assert wagehub(env, "tail", "union", timeout=30).stdout == peek  # taken now
    assert wagehub(env, "tail", "union", timeout=30).stdout == ""


def test_audit_checkpoint_then_verify_finds_a_cut(env, hub, tmp_path):
    from sqlalchemy import delete

    from hub.store.models import AuditEntry

    wagehub(env, "tokens", "create", "--role", "viewer")
    head = json.loads(wagehub(env, "audit", "checkpoint").stdout)
    assert head["seq"] >= 1 and head["signature"] and head["public_key"]
    assert json.loads(wagehub(env, "audit", "checkpoint").stdout)["checkpoint"] is None  # nothing new
    kept = tmp_path / "kept-heads.jsonl"
    kept.write_text(json.dumps(head) + "\n")
    assert json.loads(wagehub(env, "audit", "verify", "--heads", str(kept)).stdout)["heads_checked"] == 2
    with hub.store.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= head["seq"]))
    os.unlink(os.path.join(env["WAGEHUB_VAR_DIR"], "audit-heads.jsonl"))
    assert json.loads(wagehub(env, "audit", "verify").stdout)["ok"] is True  # nothing left to tell
    cut = wagehub(env, "audit", "verify", "--heads", str(kept), check=False)
    result = json.loads(cut.stdout)
    assert cut.returncode == 1 and result["first_bad_seq"] == head["seq"] and "truncated" in result["reason"]
