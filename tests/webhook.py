"""A real local HTTP server playing a webhook receiver (a contractor's head office)."""

from __future__ import annotations

import http.server
import threading


class WebhookServer(http.server.ThreadingHTTPServer):
    """Answers POSTs with ``status`` (changeable while it runs) and keeps what it took."""

    daemon_threads = True

    def __init__(self, status: int = 202, delay: float = 0.0):
        self.status = status
        self.delay = delay
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.attempts = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (the stdlib's name)
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.attempts += 1
                if server.delay:
                    time.sleep(server.delay)
                if 200 <= server.status < 300:
                    server.received.append((self.path, dict(self.headers), body))
                self.send_response(server.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hq"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
