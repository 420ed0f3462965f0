"""The ``elicit`` command line (click, which Flask already brings)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from service.config import load_config
from service.keys_cli import keys


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
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="gunicorn worker processes; 0: one process, Werkzeug's threaded server (the demo's).")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True, help="Threads per gunicorn worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the service (learner in the background under the learner lease, unless
    ELICIT_LEARNER=external).

    Starts the embedded store when ELICIT_MONGO_URI is unset, and stops it on exit.
    """
    if workers:
        from service.gunicorn_app import serve_elicit

        serve_elicit(host, port, workers, threads)
        return
    from werkzeug.serving import make_server

    from service.app import create_app
    from service.gunicorn_app import freeze_startup_objects

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
    runtime = _offline_runtime()
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
    from service.learner_process import run_learner

    runtime = _offline_runtime()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"elicit learner {runtime.leased_learner.lease.holder} started", err=True)
    try:
        run_learner(runtime, stop)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


def parse_time(text: str | None, default_ms: int) -> int:
    """ISO date or datetime (UTC unless it says otherwise), or epoch milliseconds."""
    if text is None:
        return default_ms
    if text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is neither an ISO date/time nor epoch milliseconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _offline_runtime() -> Any:
    from service.app import create_app

    return create_app({"BACKGROUND_JOBS": False}).extensions["elicit"]


@main.command()
@click.option("--kind", type=click.Choice(["slate", "prompt"]), default="slate", show_default=True)
@click.option("--since", default=None, help="ISO date/time or epoch ms (default: the beginning)")
@click.option("--until", default=None, help="ISO date/time or epoch ms (default: now)")
@click.option("--policy", "policies", multiple=True,
              help="Target policy to evaluate; repeat for several (default: logged, learned, uniform).")
@click.option("--metric", type=click.Choice(["reward", "answered", "annoyed"]), default="reward", show_default=True,
              help="Prompts only: value, answer rate or annoyance rate.")
@click.option("--from-jsonl", "from_jsonl", type=click.File("r"), default=None, help="Evaluate an exported JSONL log instead.")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ope(kind: str, since: str | None, until: str | None, policies: tuple[str, ...], metric: str, from_jsonl: Any,
        alpha: float, as_json: bool) -> None:
    """Off-policy value of each named policy on the logged decisions."""
    from service.evaluation import evaluate_prompts, evaluate_slates, evaluation_query
    from service.targets import prompt_targets, slate_targets

    names = policies or ("logged", "learned", "uniform")
    runtime = _offline_runtime()
    try:
        try:
            since_ms = parse_time(since, 0) if since else None  # most_popular counts the days before it
            targets: Any = (
                slate_targets(runtime, names, since_ms=since_ms) if kind == "slate" else prompt_targets(runtime, names)
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if from_jsonl is not None:
            records = [r for r in _read_jsonl(from_jsonl) if r.get("kind") == kind and r.get("learn_version") is not None]
            source: Any = lambda: records  # noqa: E731
        else:
            query = evaluation_query(kind, parse_time(since, 0), parse_time(until, runtime.clock.now_ms()))
            source = lambda: runtime.store.iter_decisions(query)  # noqa: E731
        try:
            if kind == "slate":
                rows = evaluate_slates(source, targets, alpha=alpha)
            else:
                rows = evaluate_prompts(source, targets, alpha=alpha, metric=metric)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        results = [row.as_dict() for row in rows]
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    width = max([10] + [len(row["policy"]) + 2 for row in results])
    click.echo(f"{'policy':<{width}}{'estimator':<14}{'value':>9}{'low':>9}{'high':>9}{'decisions':>10}{'ESS':>10}"
               f"{'max w':>9}{'never':>7}")
    for row in results:
        click.echo(
            f"{row['policy']:<{width}}{row['estimator']:<14}{row['value']:>9.4f}{row['low']:>9.4f}{row['high']:>9.4f}"
            f"{row['decisions']:>10}{row['effective_sample_size']:>10.1f}{row['max_weight']:>9.2f}"
            f"{row['zero_target_share']:>7.2f}"
        )


def _read_jsonl(handle: Any) -> list[dict[str, Any]]:
    from service.export import read_jsonl

    try:
        return list(read_jsonl(handle))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--format", "fmt", type=click.Choice(["dsjson", "jsonl"]), default="jsonl", show_default=True)
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("-o", "--output", type=click.File("w"), default="-", show_default=True)
def export(fmt: str, since: str | None, until: str | None, output: Any) -> None:
    """Write logged decisions as VW DSJSON or elicit JSONL."""
    from service.export import write

    runtime = _offline_runtime()
    try:
        query = {"t": {"$gte": parse_time(since, 0), "$lt": parse_time(until, runtime.clock.now_ms())}}
        count = write(runtime.store.iter_decisions(query), output, fmt)
    finally:
        runtime.close()
    click.echo(f"exported {count} decisions", err=True)


@main.command()
@click.option("--day", required=True, help="Day D (ISO date, UTC): likes of D-1 against slates of D.")
@click.option("--json", "as_json", is_flag=True)
def berserk(day: str, as_json: bool) -> None:
    """The berserk index: how much slates flood users with what they just liked."""
    from service.berserk import index_for_day

    day_start = parse_time(day, 0)
    if day_start % 86_400_000:
        raise click.BadParameter("give a date (YYYY-MM-DD), not a time", param_hint="--day")
    runtime = _offline_runtime()
    try:
        result = index_for_day(runtime.history, runtime.catalogue, day_start).as_dict()
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps({"day": day, **result}))
        return
    fmt = lambda v: "n/a (no likes with slates before and after)" if v is None else f"{v:+.3f}"  # noqa: E731
    click.echo(f"berserk index for {day}: overall {fmt(result['overall'])}, up {fmt(result['up'])}, "
               f"double_up {fmt(result['double_up'])} ({result['likes']} likes, {result['skipped']} skipped)")


@main.command()
@click.option("--since", default=None, help="ISO date/time or epoch ms (default: REPORT_WINDOW_DAYS before --until)")
@click.option("--until", default=None, help="ISO date/time or epoch ms (default: now)")
@click.option("--json", "json_file", type=click.File("w"), default=None, help="Also write the report's JSON here.")
@click.option("--html", "html_file", type=click.File("w"), default=None, help="Also write the report's HTML page here.")
def report(since: str | None, until: str | None, json_file: Any, html_file: Any) -> None:
    """Build the off-policy report now (as the nightly job does), store it, print its verdicts."""
    from tqdm import tqdm

    from bandit.errors import InvalidInput
    from service.reports import build_report

    runtime = _offline_runtime()
    try:
        until_ms = parse_time(until, runtime.clock.now_ms())
        since_ms = parse_time(since, until_ms - int(runtime.config["REPORT_WINDOW_DAYS"]) * 86_400_000)
        with tqdm(unit="decision", desc="report", delay=2.0, file=sys.stderr) as bar:  # shows on long runs only
            try:
                document = build_report(runtime, since_ms, until_ms, progress=bar)
            except InvalidInput as exc:
                raise click.ClickException(str(exc)) from exc
        runtime.store.insert_report(document)
    finally:
        runtime.close()
    if json_file is not None:
        json.dump(document, json_file, indent=2, default=str)
    if html_file is not None:
        from service.reports.html import render_html

        html_file.write(render_html(document))
    click.echo(f"report {document['_id']}: {document['window']['since_iso']} to {document['window']['until_iso']}")
    for line in document["verdicts"]:
        click.echo(f"  [{line['level']}] {line['section']}: {line['text']}")


@main.command()
@click.option("--users", type=int, default=1000, show_default=True)
@click.option("--days", type=int, default=7, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the population and of the service's sampling.")
@click.option("--sessions-per-day", type=float, default=None,
              help="Sessions per user per simulated day, may be fractional  [default: simulator.demo.SESSIONS_PER_DAY]")
@click.option("--candidates", type=int, default=None, help="Candidates per slate  [default: simulator.demo.CANDIDATES]")
@click.option("--threads", type=int, default=None, help="Client threads  [default: simulator.demo.THREADS; 1 replays exactly]")
@click.option("--data-dir", type=click.Path(file_okay=False), default=".elicit/demo", show_default=True,
              help="Where the report page is written.")
@click.option("--store-dir", type=click.Path(file_okay=False), default=None,
              help="The embedded store's files  [default: /dev/shm/elicit-demo-<uid> if it exists, else --data-dir]")
def demo(users: int, days: int, seed: int, sessions_per_day: float | None, candidates: int | None,
         threads: int | None, data_dir: str, store_dir: str | None) -> None:
    """The main job: embedded store, the service over HTTP, simulated users, learning, nightly reports."""
    from simulator import demo as sim_demo

    options = {"sessions_per_day": sessions_per_day, "candidates": candidates, "threads": threads,
               "store_dir": Path(store_dir) if store_dir else None}
    result = sim_demo.run_demo(users=users, days=days, seed=seed, data_dir=Path(data_dir), echo=click.echo,
                               **{key: value for key, value in options.items() if value is not None})
    click.echo(sim_demo.summary(result))


main.add_command(keys)  # `elicit keys create|list|revoke` (service/keys_cli.py)


if __name__ == "__main__":
    sys.exit(main())
