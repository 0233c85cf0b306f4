"""Every process's metrics are scraped: a running ``wagehub worker`` serves its own
``/metrics`` (``--metrics-port``), and the API under ``gunicorn -w 2`` with the shipped
config (``hub/web/gunicorn_conf.py``) answers every worker's counters, whichever answers the
scrape. Real processes on loopback ports, as an operator runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import sample, wait_for
from tests.integration.test_contractor import PROJECT, USCC  # a project whose contractor has a webhook

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(url: str) -> dict[str, float]:
    """A Prometheus text page as ``{'name{labels}': value}``."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in samples.items()
               if k.split("{")[0] == name and all(w in k for w in want))


def documented_metrics() -> list[str]:
    """The metric names docs/deployment.md tells operators to alert on."""
    section = DOCS.read_text(encoding="utf-8").split("## What to watch", 1)[1].split("\n## ", 1)[0]
    names = sorted(set(re.findall(r"`(wagehub_[a-z_]+)", section)))
    assert len(names) >= 6, names
    return names


@pytest.fixture
def env(settings, cli_env):
    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    env = {k: v for k, v in cli_env.items() if not k.startswith("PROMETHEUS_")}
    env.update(WAGEHUB_LINKAGE__CHECK_EVERY="3600", WAGEHUB_RELAY__BACKOFF_START="0.2",
               WAGEHUB_RELAY__BACKOFF_MAX="0.5")
    return env


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_a_running_worker_serves_its_batches_deliveries_and_retries(env, hub, agency, tmp_path):
    # The contractor's head office is down (nothing listens on its port): its webhook
    # deliveries are retried, the union's referral goes out on its queue.
    config = tmp_path / "hub.toml"
    config.write_text(f'[plugins.contractor.contractors.{USCC}]\nurl = "http://127.0.0.1:{free_port()}/hq"\n'
                      'key = "contractor-key-1"\n', encoding="utf-8")
    port = free_port()
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker", "--metrics-port", str(port)],
                              env={**env, "WAGEHUB_CONFIG": str(config)}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_for(lambda: _answers(url), timeout=60, interval=0.2)
        agency.publish("housing", PROJECT, message_id="proj-1", content_type="text/csv",
                       content_encoding="utf-8-sig", headers={"x-wagehub-kind": "PROJECT"})
        wait_for(lambda: total(scrape(url), "wagehub_inbound_messages_total", agency="housing"), timeout=60)
        agency.publish("hrss", sample("hrss-clue.json"), message_id="clue-1")

        def retried_and_sent():
            s = scrape(url)
            return s if (total(s, "wagehub_deliveries_total", agency="contractor", outcome="retry") >= 2
                         and total(s, "wagehub_deliveries_total", outcome="sent") >= 1) else None

        got = wait_for(retried_and_sent, timeout=60, interval=0.3)
    finally:
        stop(worker)
        log.close()
        print((tmp_path / "worker.log").read_text(errors="replace")[-3000:])
        print(scrape_or_none(url))
    assert got['wagehub_inbound_messages_total{agency="hrss",outcome="accepted"}'] == 1
    assert got['wagehub_inbound_messages_total{agency="housing",outcome="accepted"}'] == 1
    assert got["wagehub_batch_seconds_count"] >= 2 and got["wagehub_relay_batch_seconds_count"] >= 1
    assert got['wagehub_plugin_enabled{plugin="hrss"}'] == 1
    assert got["wagehub_outbox_pending"] >= 1  # the contractor's notice, waiting for its retry
    assert "wagehub_dead_letters_open" in got
    names = {k.split("{")[0].removesuffix("_count").removesuffix("_sum").removesuffix("_bucket") for k in got}
    assert set(documented_metrics()) <= names, set(documented_metrics()) - names
    # The listing of what a worker's scrape returns (pytest -s shows it).
    print(json.dumps(sorted(names)))


def _answers(url: str) -> bool:
    try:
        scrape(url)
    except OSError:
        return False
    return True


@pytest.mark.skipif(shutil.which("gunicorn", path=os.path.dirname(sys.executable)) is None,
                    reason="gunicorn is not installed (pip install -e '.[test]')")
def test_a_scrape_of_two_gunicorn_workers_counts_what_both_handled(env, hub, token, tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"left over from an earlier run")  # emptied at start
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:hub.web.gunicorn_conf", "-w", "2", "-b", f"127.0.0.1:{port}",
         "hub.web.app:create_app()"],
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}, stdout=log, stderr=log, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    headers = {**token("agency:hrss"), "Content-Type": "application/json"}
    clue = json.loads(sample("hrss-clue.json"))
    try:
        wait_for(lambda: _answers(f"{base}/metrics"), timeout=90, interval=0.3)
        wait_for(lambda: len({p.name.rsplit("_", 1)[1] for p in shared.glob("histogram_*.db")}) == 2, timeout=60)

        def post(i: int) -> None:
            doc = json.loads(json.dumps(clue))
            doc["data"]["clueNo"] = f"{doc['data']['clueNo']}{i:03d}"
            request = urllib.request.Request(f"{base}/api/v1/inbound/hrss", data=json.dumps(doc).encode(),
                                             headers={**headers, "Message-Id": f"g-{i}"}, method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                assert response.status in (200, 202)

        # Concurrent requests: each sync worker takes one at a time, so both take some.
        threads = [threading.Thread(target=lambda k=k: [post(k * 5 + j) for j in range(5)]) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        scrapes = [scrape(f"{base}/metrics") for _ in range(6)]
    finally:
        stop(server)
        log.close()
    assert not (shared / "counter_1.db").exists()
    assert [total(s, "wagehub_inbound_messages_total", agency="hrss") for s in scrapes] == [20.0] * 6, \
        (tmp_path / "gunicorn.log").read_text(errors="replace")[-3000:]
    assert all(s.get('wagehub_plugin_enabled{plugin="hrss"}') == 1 for s in scrapes)


def test_the_worker_refuses_a_metrics_port_already_taken(env, hub):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "hub.cli.main", "worker", "--metrics-port", str(port)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"--metrics-port: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def scrape_or_none(url):
    try:
        return scrape(url)
    except OSError:
        return None


def test_a_worker_sharing_a_metrics_directory_makes_it_or_says_why_not(env, hub, tmp_path):
    shared = tmp_path / "not-yet" / "metrics"
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker", "--metrics-port", str(port)],
                              env={**env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        got = wait_for(lambda: scrape_or_none(f"http://127.0.0.1:{port}/metrics"), timeout=60, interval=0.2)
    finally:
        stop(worker)
    assert list(shared.glob("histogram_*.db")) and got["wagehub_batch_seconds_count"] == 0
    (tmp_path / "a-file").write_text("")
    bad = subprocess.run([sys.executable, "-m", "hub.cli.main", "worker"], capture_output=True, text=True, timeout=60,
                         env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "a-file" / "metrics")})
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"PROMETHEUS_MULTIPROC_DIR={tmp_path / 'a-file' / 'metrics'}: cannot make" in bad.stderr
