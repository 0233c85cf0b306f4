"""gunicorn settings for the hub's API:
``gunicorn -c python:hub.web.gunicorn_conf -w 8 -b 0.0.0.0:8000 'hub.web.app:create_app()'``.

Every gunicorn worker is a process with its own counters, so the API runs
prometheus_client's multiprocess mode: each worker writes its metrics to files in
``PROMETHEUS_MULTIPROC_DIR`` and ``GET /metrics``, whichever worker answers it, sums them
all. The master empties the directory before the first worker starts (counters from an
earlier run would add to this one's), makes one under the system's temporary folder when
the variable is not set (and removes it on exit), and does prometheus_client's
bookkeeping when a worker exits. Command-line options still win over these settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Agencies posting over HTTP send the queue's header names (message_id, content_encoding);
# gunicorn drops header names with an underscore unless told (docs/deployment.md).
header_map = "dangerous"
# gunicorn 24+ opens a control socket at one fixed path per user, which a second server on
# the host (a second hub, a test run) would take over; the hub needs none.
control_socket_disable = True

# Set here, at the top, so that the workers, forked from this master, see it before they
# first import prometheus_client (which reads it once, at import).
_made_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_dir = tempfile.mkdtemp(prefix="wagehub-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_dir


def on_starting(server):
    """Empty the metrics directory before the first worker starts."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def child_exit(server, worker):
    """A worker is gone: drop its live gauges' files (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_dir:
        shutil.rmtree(_made_dir, ignore_errors=True)
