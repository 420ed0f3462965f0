"""gunicorn configuration for production.

    gunicorn -c service/cli/gunicorn_conf.py 'service.http.app:create_app()'

Every setting can be overridden on the command line or with ``GUNICORN_CMD_ARGS``; the
ones elicit cares about read ``ELICIT_BIND``, ``ELICIT_WORKERS``, ``ELICIT_THREADS``.

* gthread workers: a request spends most of its time waiting for MongoDB, so threads
  give concurrency cheaply; each worker process holds its own models (VW is not fork-safe
  and neither is pymongo, hence no ``preload_app``).
* Prometheus multiprocess mode: the workers' counters are shared files in
  ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless set), so any worker's
  ``/metrics`` reports the whole server; a dead worker's live gauges are dropped.
* ``graceful_timeout`` leaves room for ``SHUTDOWN_FLUSH_S`` (the spool is shipped on exit).
* gunicorn's access log is off: elicit writes its own JSON access line per request, with
  the URL rule instead of the raw path (which may hold a user id) and the event id.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

bind = os.environ.get("ELICIT_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("ELICIT_WORKERS", str(min(8, 2 * (os.cpu_count() or 1) + 1))))
worker_class = "gthread"
threads = int(os.environ.get("ELICIT_THREADS", "8"))
timeout = 60  # a stuck worker is replaced after this long
graceful_timeout = 30  # SIGTERM: finish requests and ship the spool (SHUTDOWN_FLUSH_S=10 by default)
keepalive = 5
max_requests = 0  # workers hold models in memory: no recycling by count
limit_request_line = 4094  # URL length bound (ids in paths are bounded again by MAX_PATH_PARAM)
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None
errorlog = "-"
loglevel = "info"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.http.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    """Fresh shared metric files for this server (stale ones would add old counts)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = tempfile.mkdtemp(prefix="elicit-prometheus-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def worker_exit(server: Any, worker: Any) -> None:
    """Graceful worker exit: stop background jobs and ship this worker's spool."""
    app = getattr(worker, "wsgi", None)
    runtime = getattr(app, "extensions", {}).get("elicit") if app is not None else None
    if runtime is not None:
        runtime.close()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
