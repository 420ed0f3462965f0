"""``elicit serve --workers N``: the Flask app under gunicorn, N worker processes.

The master process builds no app: each worker calls the factory after the fork (pymongo
clients, VW workspaces and scheduler threads do not survive a fork), so each has its own
store connection, models and background jobs — model refresh every ``MODEL_REFRESH_S``,
the nightly report under its lease, and the learner job under the learner lease unless
``LEARNER=external``. With no ``MONGO_URI`` the master starts the one embedded store and
hands its URI to the workers through the environment.

Also runs any other factory (``python -m service.cli.gunicorn_app module:factory``) under the
same server settings, so a benchmark's reference app is served exactly like elicit.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from service.core.config import load_config
from service.store import EmbeddedMongo

Factory = Callable[[], Any]


class FactoryApplication(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    """A gunicorn application whose workers each build their app with ``factory()``."""

    def __init__(self, factory: Factory, options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        # The production configuration first (JSON logs, Prometheus multiprocess files, the
        # spool shipped on worker exit: service/cli/gunicorn_conf.py), then this command's options.
        from service.cli import gunicorn_conf

        for key, value in vars(gunicorn_conf).items():
            if key in self.cfg.settings and key not in ("bind", "workers", "threads"):
                self.cfg.set(key, value)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = self.factory()
        freeze_startup_objects()
        return app


def freeze_startup_objects() -> None:
    """Everything built by now (modules, numpy, VW, the app) lives as long as the process:
    move it out of the cyclic collector's reach. A full (generation 2) collection scanned it
    all and paused a request for 50–110 ms; frozen, it scans what requests created."""
    gc.freeze()


def server_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """gthread workers: keep-alive connections, and a request waiting on the store does
    not hold up the worker's other connections."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": False,  # build the app in each worker, after the fork
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 30,
        "loglevel": "warning",
        # Heartbeat files on tmpfs when there is one: a worker blocked on disk is not a dead worker.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir(),
    }


def run(factory: Factory, host: str, port: int, workers: int, threads: int) -> None:
    FactoryApplication(factory, server_options(host, port, workers, threads)).run()


def worker_app() -> Any:
    """elicit's app as one worker builds it; each response names the worker
    (``X-Elicit-Worker: <pid>``), so an operator or a test can tell the workers apart."""
    from service.http.app import create_app

    app = create_app()
    pid = str(os.getpid())

    @app.after_request
    def name_worker(response: Any) -> Any:
        response.headers["X-Elicit-Worker"] = pid
        return response

    return app


def serve_elicit(host: str, port: int, workers: int, threads: int) -> None:
    """elicit's app in ``workers`` processes, with the embedded store when no URI is set."""
    config = load_config()
    embedded = None
    if not config.get("MONGO_URI"):
        embedded = EmbeddedMongo(Path(str(config["DATA_DIR"]))).start()
        os.environ["ELICIT_MONGO_URI"] = embedded.uri  # inherited by every worker
    try:
        run(worker_app, host, port, workers, threads)
    finally:
        if embedded is not None:
            embedded.stop()


def _factory(spec: str) -> Factory:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "create_app")  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve module:factory under elicit's gunicorn settings.")
    parser.add_argument("factory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    run(_factory(args.factory), args.host, args.port, args.workers, args.threads)


if __name__ == "__main__":
    main()
