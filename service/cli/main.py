"""The ``elicit`` command line (click, which Flask already brings)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from bandit.errors import ElicitError
from service.cli.archive_commands import retention
from service.cli.doctor import doctor
from service.cli.evaluate import evaluate, features
from service.cli.experiments import experiments
from service.cli.keys import keys
from service.cli.log_commands import berserk, export, ope, report
from service.cli.models import models
from service.cli.offline import offline_runtime
from service.cli.params import PORT, Finite
from service.core.config import load_config


class Commands(click.Group):
    """An error elicit raises on purpose (store unreachable, bad input, ...) ends a command
    with its message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ElicitError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """elicit: slates and feedback prompts with exact propensities, evaluated off-policy."""


@main.command()
@click.option("--port", type=PORT, default=27017, show_default=True)
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
@click.option("--port", type=PORT, default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="gunicorn worker processes; 0: one process, Werkzeug's threaded server (the demo's).")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True, help="Threads per gunicorn worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the service (learner in the background under the learner lease, unless
    ELICIT_LEARNER=external).

    Starts the embedded store when ELICIT_MONGO_URI is unset, and stops it on exit.
    """
    if workers:
        from service.cli.gunicorn_app import serve_elicit

        serve_elicit(host, port, workers, threads)
        return
    from werkzeug.serving import make_server

    from service.cli.gunicorn_app import freeze_startup_objects
    from service.http.app import create_app

    app = create_app()
    freeze_startup_objects()
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
@click.option("--once", is_flag=True, help="Run one pass and exit (the only mode for now; `elicit learner` loops).")
def learn(once: bool) -> None:
    """Join closed reward windows with outcomes and learn (one pass, under the learner lease)."""
    runtime = offline_runtime()
    try:
        result = runtime.leased_learner.pass_if_leader()
        if result is None:
            raise click.ClickException("another learner holds the learner lease; nothing learned")
        click.echo(json.dumps({"learned": result.learned, "version": result.version, "released": result.released}))
    finally:
        runtime.close()  # hands the lease back


@main.command()
def learner() -> None:
    """The learner as its own process: one active per deployment (a lease), others stand by.

    Loops every LEARN_INTERVAL_S until SIGTERM or Ctrl-C, then hands the lease over.
    """
    runtime = offline_runtime()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"elicit learner {runtime.leased_learner.lease.holder} started", err=True)
    try:
        runtime.leased_learner.run(stop, float(runtime.config["LEARN_INTERVAL_S"]))
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


#: ``elicit demo --experiment``'s choices (simulator/experiments.py EXPERIMENTS, kept light to import).
EXPERIMENT_NAMES = ("over-reaction", "visibility")


@main.command()
@click.option("--users", type=click.IntRange(1, 1_000_000), default=None,
              help="Simulated users  [default: 1000; 600 with --experiment]")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the population and of the service's sampling.")
@click.option("--sessions-per-day", type=Finite(0, 100, low_open=True), default=None,
              help="Sessions per user per simulated day, may be fractional  [default: service.cli.demo.SESSIONS_PER_DAY]")
@click.option("--candidates", type=click.IntRange(2, 500), default=None, help="Candidates per slate  [default: service.cli.demo.CANDIDATES]")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="Client threads  [default: service.cli.demo.THREADS; 1 replays exactly]")
@click.option("--data-dir", type=click.Path(file_okay=False), default=".elicit/demo", show_default=True,
              help="Where the report page is written.")
@click.option("--store-dir", type=click.Path(file_okay=False), default=None,
              help="The embedded store's files  [default: /dev/shm/elicit-demo-<uid> if it exists, else --data-dir]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the truth-vs-estimate rows and the headline answers here, as JSON.")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="Set a simulation parameter (simulator/params.py), e.g. burnt_multiplier=0.5; repeatable.")
@click.option("--experiment", type=click.Choice(sorted(EXPERIMENT_NAMES)), default=None,
              help="Run a user-level experiment (simulator/experiments.py) and add its truth-vs-estimate rows.")
def demo(users: int | None, days: int, seed: int, sessions_per_day: float | None, candidates: int | None,
         threads: int | None, data_dir: str, store_dir: str | None, json_path: str | None,
         assignments: tuple[str, ...], experiment: str | None) -> None:
    """The main job: embedded store, the service over HTTP, simulated users, learning, nightly reports."""
    from service.cli import demo as sim_demo
    from simulator.params import SimulationParams, overridden

    try:
        overridden(SimulationParams(), assignments)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from exc
    options = {"sessions_per_day": sessions_per_day, "candidates": candidates, "threads": threads,
               "store_dir": Path(store_dir) if store_dir else None}
    result = sim_demo.run_demo(users=users, days=days, seed=seed, data_dir=Path(data_dir), echo=click.echo,
                               assignments=assignments, experiment=experiment,
                               **{key: value for key, value in options.items() if value is not None})
    click.echo(sim_demo.summary(result))
    if json_path is not None:
        Path(json_path).write_text(json.dumps(sim_demo.as_json(result), indent=2, default=str))
        click.echo(f"truth-vs-estimate rows and answers: {json_path}")


main.add_command(keys)  # `elicit keys create|list|revoke` (service/cli/keys.py)
main.add_command(experiments)  # `elicit experiments list|show|start|stop` (service/cli/experiments.py)
for command in (ope, export, berserk, report):  # over the log (service/cli/log_commands.py)
    main.add_command(command)
main.add_command(retention)  # archive and delete expired days (service/cli/archive_commands.py)
main.add_command(doctor)  # what is wrong with this deployment (service/cli/doctor.py)
main.add_command(models)  # model snapshots to files and back (service/cli/models.py)
main.add_command(evaluate)  # offline evaluations of learning settings (service/cli/evaluate.py)
main.add_command(features)  # feature importance by progressive validation (service/cli/evaluate.py)


if __name__ == "__main__":
    sys.exit(main())
