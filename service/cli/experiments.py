"""``elicit experiments list|show|start|stop``: user-level experiments from the command line
(the same rules as ``/v1/experiments``: service/decide/experiments.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from service.cli.offline import offline_runtime


@click.group()
def experiments() -> None:
    """User-level experiments: define and start, stop (data kept), list, show with counts."""


@contextmanager
def _runtime() -> Iterator[Any]:
    runtime = offline_runtime()
    try:
        yield runtime
    finally:
        runtime.close()


def _show(runtime: Any, experiment: Any) -> dict[str, Any]:
    return {**experiment.as_json(runtime.clock.now_ms()),
            "counts": runtime.experiment_log.counts(experiment.name, [arm.name for arm in experiment.arms])}


@experiments.command("list")
def experiments_list() -> None:
    """Every experiment: status, arms and counts, one JSON object per line."""
    with _runtime() as runtime:
        for experiment in runtime.experiments.experiments(fresh=True):
            click.echo(json.dumps(_show(runtime, experiment)))


@experiments.command("show")
@click.argument("name")
def experiments_show(name: str) -> None:
    """One experiment, with users and decisions per arm."""
    with _runtime() as runtime:
        click.echo(json.dumps(_show(runtime, runtime.experiments.get(name)), indent=2))


@experiments.command("start")
@click.argument("name")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A definition (the body of PUT /v1/experiments/NAME): defines the experiment, starting now "
                   "unless it says otherwise.")
def experiments_start(name: str, path: str | None) -> None:
    """Define (with --file) and start NAME now; an already running one is left as it is."""
    with _runtime() as runtime:
        now = runtime.clock.now_ms()
        if path is not None:
            try:
                body = json.loads(Path(path).read_text(encoding="utf-8"))
            except ValueError as exc:
                raise click.BadParameter(f"not JSON: {exc}", param_hint="--file") from exc
            runtime.experiments.define(name, body, now)
        click.echo(json.dumps(_show(runtime, runtime.experiments.set_start(name, now)), indent=2))


@experiments.command("stop")
@click.argument("name")
def experiments_stop(name: str) -> None:
    """Stop NAME now: no new decision is tagged; everything logged stays."""
    with _runtime() as runtime:
        click.echo(json.dumps(_show(runtime, runtime.experiments.set_stop(name, runtime.clock.now_ms())), indent=2))
