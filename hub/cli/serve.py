"""``wagehub run`` (the API server and the workers in one process) and ``wagehub worker``
(workers only, to scale out)."""

from __future__ import annotations

import json
import time

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-workers", is_flag=True, help="Serve the API only.")
def run(host: str, port: int, no_workers: bool) -> None:
    """Run the API server and the workers (consumer and outbox relay) in one process."""
    from werkzeug.serving import WSGIRequestHandler, run_simple

    class QueueHeaders(WSGIRequestHandler):
        """Over HTTP an agency sends the queue's headers (``message_id``, ``content_type``,
        ``content_encoding``): keep header names with an underscore, which Werkzeug drops.
        A dashed header of the same name (``Message-Id``) wins."""

        def send_error(self, code, message=None, explain=None):
            """A request Werkzeug refuses before the app sees it (a bad request line, a URL
            or headers too long) is answered in the API's JSON error shape, not an HTML page;
            the message is the status's own phrase (the request line may hold personal data)."""
            phrase = self.responses.get(code, ("error", ""))[0]
            body = json.dumps({"error": {"code": phrase.lower().replace(" ", "_").replace("-", "_"),
                                         "message": phrase, "details": {}}}).encode()
            self.log_error("code %d, message %s", code, phrase)
            self.send_response(code, phrase)
            self.send_header("Connection", "close")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)

        def send_header(self, keyword, value):
            """No ``Server: Werkzeug/… Python/…`` header: it tells a prober which versions to attack."""
            if keyword.lower() != "server":
                super().send_header(keyword, value)

        def make_environ(self):
            environ = super().make_environ()
            for key, value in self.headers.items():
                name = key.upper().replace("-", "_")
                if "_" in key and name != "CONTENT_LENGTH":
                    environ.setdefault(name if name == "CONTENT_TYPE" else f"HTTP_{name}", value.replace("\r\n", ""))
            return environ

    import signal

    from hub.runtime import Workers
    from hub.web.app import create_app

    def stop(*_):
        raise KeyboardInterrupt  # the server returns, and the finally below stops the workers

    signal.signal(signal.SIGTERM, stop)
    hub = open_hub()
    hub.log_start()
    app = create_app(hub=hub)
    workers = None
    if not no_workers:
        workers = Workers(hub)
        workers.start()
    click.echo(f"wagehub: API on http://{host}:{port}/ (broker {_safe_url(hub.broker_url)}, "
               f"database {_safe_url(hub.settings['hub']['database_url'])})", err=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=QueueHeaders)
    finally:
        if workers:
            workers.stop()  # signs the chain's head as it is left
        else:
            hub.checkpoint()
            hub.shutdown()


@click.command()
@click.option("--metrics-port", type=int, help="Serve Prometheus metrics (GET /metrics) on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address of the metrics server.")
def worker(metrics_port: int | None, metrics_host: str) -> None:
    """Run workers only (consume inbound queues, relay the outbox): start several to scale out."""
    import signal

    from hub.runtime import Workers

    hub = open_hub()
    hub.log_start()
    workers = Workers(hub)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    server = _serve_metrics(hub, metrics_host, metrics_port) if metrics_port is not None else None
    workers.start()
    click.echo(f"wagehub worker: consuming {', '.join(hub.registry.enabled_codes())}", err=True)
    try:
        while not stopping and all(t.is_alive() for t in workers.threads):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        workers.stop()
        if server is not None:
            server.shutdown()


def _serve_metrics(hub, host: str, port: int):
    from hub import metrics

    try:
        server = metrics.serve(hub, port, host)
    except OSError as exc:
        hub.shutdown()
        fail(HubError(f"--metrics-port: cannot listen on {host}:{port}: {exc.strerror}"))
    shared = metrics.multiprocess_dir()
    click.echo(f"wagehub worker: metrics on http://{host}:{server.server_port}/metrics"
               + (f" (every process of {shared})" if shared else ""), err=True)
    return server


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True) if "://" in url else url
    except Exception:  # noqa: BLE001
        return url.split("@")[-1]
