"""Commands over the decision log: ``elicit ope``, ``export``, ``berserk`` and ``report``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from service.cli.offline import offline_runtime, parse_time
from service.cli.params import Finite


@click.command()
@click.option("--kind", type=click.Choice(["slate", "prompt"]), default="slate", show_default=True)
@click.option("--since", default=None, help="ISO date/time or epoch ms (default: the beginning)")
@click.option("--until", default=None, help="ISO date/time or epoch ms (default: now)")
@click.option("--policy", "policies", multiple=True,
              help="Target policy to evaluate; repeat for several (default: logged, learned, uniform).")
@click.option("--metric", type=click.Choice(["reward", "answered", "annoyed"]), default="reward", show_default=True,
              help="Prompts only: value, answer rate or annoyance rate.")
@click.option("--from-jsonl", "from_jsonl", type=click.File("r"), default=None, help="Evaluate an exported JSONL log instead.")
@click.option("--from-archive", "from_archive", type=click.Path(exists=True, file_okay=False), default=None,
              help="Evaluate the decisions archived by retention in this directory instead (ARCHIVE_DIR).")
@click.option("--alpha", type=Finite(0, 1, low_open=True, high_open=True), default=0.05, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ope(kind: str, since: str | None, until: str | None, policies: tuple[str, ...], metric: str, from_jsonl: Any,
        from_archive: str | None, alpha: float, as_json: bool) -> None:
    """Off-policy value of each named policy on the logged decisions."""
    from service.evaluate.policy_values import evaluate_prompts, evaluate_slates
    from service.evaluate.targets import prompt_targets, slate_targets
    from service.log.decisions import evaluation_query

    names = policies or ("logged", "learned", "uniform")
    runtime = offline_runtime()
    try:
        try:
            # learned: the model live at --since (out of sample); most_popular counts the days before it
            start = parse_time(since, 0) if since else runtime.clock.now_ms()
            targets: Any = (
                slate_targets(names, runtime.slate_models, runtime.store, start)
                if kind == "slate" else prompt_targets(names, runtime.prompt_models, start, float(runtime.config["PROMPT_FLOOR"]))
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if from_archive is not None:
            from service.cli.archive_commands import archived_decisions

            source = archived_decisions(from_archive, kind, parse_time(since, 0), parse_time(until, runtime.clock.now_ms()))
        elif from_jsonl is not None:
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
    from service.evaluate.export import read_jsonl

    try:
        return list(read_jsonl(handle))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.option("--format", "fmt", type=click.Choice(["dsjson", "jsonl"]), default="jsonl", show_default=True)
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("-o", "--output", type=click.File("w"), default="-", show_default=True)
def export(fmt: str, since: str | None, until: str | None, output: Any) -> None:
    """Write logged decisions as VW DSJSON or elicit JSONL."""
    from service.evaluate.export import write

    runtime = offline_runtime()
    try:
        query = {"t": {"$gte": parse_time(since, 0), "$lt": parse_time(until, runtime.clock.now_ms())}}
        count = write(runtime.store.iter_decisions(query), output, fmt)
    finally:
        runtime.close()
    click.echo(f"exported {count} decisions", err=True)


@click.command()
@click.option("--day", required=True, help="Day D (ISO date, UTC): likes of D-1 against slates of D.")
@click.option("--json", "as_json", is_flag=True)
def berserk(day: str, as_json: bool) -> None:
    """The berserk index: how much slates flood users with what they just liked."""
    from service.evaluate.berserk import index_for_day

    day_start = parse_time(day, 0)
    if day_start % 86_400_000:
        raise click.BadParameter("give a date (YYYY-MM-DD), not a time", param_hint="--day")
    runtime = offline_runtime()
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


@click.command()
@click.option("--since", default=None, help="ISO date/time or epoch ms (default: REPORT_WINDOW_DAYS before --until)")
@click.option("--until", default=None, help="ISO date/time or epoch ms (default: now)")
@click.option("--json", "json_file", type=click.File("w"), default=None, help="Also write the report's JSON here.")
@click.option("--html", "html_file", type=click.File("w"), default=None, help="Also write the report's HTML page here.")
@click.option("--from-archive", "from_archive", type=click.Path(exists=True, file_okay=False), default=None,
              help="Report on the decisions archived by retention in this directory (restored into a scratch database).")
@click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
              help="Run the slate pass in partitions on a local Dask cluster of this many processes (0: one pass here; "
                   "REPORT_DASK_SCHEDULER: that cluster). Needs elicit[dask].")
def report(since: str | None, until: str | None, json_file: Any, html_file: Any, from_archive: str | None,
           workers: int) -> None:
    """Build the off-policy report now (as the nightly job does), store it, print its verdicts."""
    from contextlib import ExitStack
    from dataclasses import replace

    from tqdm import tqdm

    from bandit.errors import InvalidInput
    from service.reports import build_report

    runtime = offline_runtime()
    try:
        until_ms = parse_time(until, runtime.clock.now_ms())
        since_ms = parse_time(since, until_ms - int(runtime.config["REPORT_WINDOW_DAYS"]) * 86_400_000)
        cluster = ExitStack()
        address = runtime.config.get("REPORT_DASK_SCHEDULER")
        if workers or address:  # the slate pass in partitions on Dask (service/reports/partitions.py)
            from service.reports.partitions import dask_partitions

            partitions = cluster.enter_context(dask_partitions(workers or None, None if workers else address))
            runtime.report_sources = replace(runtime.report_sources, partitions=partitions)
        with cluster, tqdm(unit="decision", desc="report", delay=2.0, file=sys.stderr) as bar:  # shows on long runs only
            try:
                if from_archive is not None:
                    from service.cli.archive_commands import report_from_archive

                    document = report_from_archive(runtime, from_archive, since_ms, until_ms, bar)
                else:
                    document = build_report(runtime.report_sources, since_ms, until_ms, progress=bar)
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
