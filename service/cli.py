"""The ``elicit`` command line (click, which Flask already brings)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from service.config import load_config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """elicit: slates and feedback prompts with exact propensities, evaluated off-policy."""


@main.command()
@click.option("--port", type=int, default=27017, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Default: $ELICIT_DATA_DIR or ./.elicit")
@click.option("--host", default="127.0.0.1", show_default=True)
def store(port: int, data_dir: str | None, host: str) -> None:
    """Run the embedded MongoDB-compatible store (nx-27017) in the foreground."""
    from service.store import EmbeddedMongo

    directory = Path(data_dir or load_config()["DATA_DIR"])
    server = EmbeddedMongo(directory, port=port, host=host).start()
    click.echo(f"embedded store listening: {server.uri} (data in {directory.resolve() / 'store'})")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Run the service (single process, learner in the background).

    Starts the embedded store when ELICIT_MONGO_URI is unset, and stops it on exit.
    """
    from werkzeug.serving import make_server

    from service.app import create_app

    app = create_app()
    server = make_server(host, port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    click.echo(f"elicit serving on http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["elicit"].close()


@main.command()
@click.option("--once", is_flag=True, help="Run one pass and exit (the only mode for now).")
def learn(once: bool) -> None:
    """Join closed reward windows with outcomes and learn (one pass)."""
    from service.app import create_app

    app = create_app({"BACKGROUND_JOBS": False})
    runtime = app.extensions["elicit"]
    try:
        result = runtime.learner.run_once()
        click.echo(json.dumps({"learned": result.learned, "version": result.version, "released": result.released}))
    finally:
        runtime.close()


@main.command()
@click.option("--users", type=int, default=200, show_default=True)
@click.option("--days", type=int, default=3, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=".elicit/demo", show_default=True)
def demo(users: int, days: int, seed: int, data_dir: str) -> None:
    """The main job: embedded store, the service over HTTP, simulated users, learning."""
    from simulator.demo import run_demo

    summary: dict[str, Any] = run_demo(users=users, days=days, seed=seed, data_dir=Path(data_dir))
    click.echo(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
