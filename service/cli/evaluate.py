"""``elicit evaluate``: an offline evaluation of learning settings, run now and stored."""

from __future__ import annotations

import json
from typing import Any

import click

from service.cli.offline import offline_runtime, parse_time


def _settings(handle: Any) -> dict[str, str]:
    """A JSON object of name → VW arguments."""
    try:
        found = json.load(handle)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--settings") from exc
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise click.BadParameter('a JSON object of name → VW arguments, e.g. {"mine": "--ccb_explore_adf -q UA"}',
                                 param_hint="--settings")
    return found


@click.command()
@click.option("--kind", type=click.Choice(["slate", "prompt"]), default="slate", show_default=True)
@click.option("--since", required=True, help="ISO date/time or epoch ms")
@click.option("--until", default=None, help="ISO date/time or epoch ms (default: now)")
@click.option("--settings", "settings_file", type=click.File("r"), default=None,
              help="JSON object: name → VW arguments, compared beside the live and optimized settings.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole stored document as JSON.")
def evaluate(kind: str, since: str, until: str | None, settings_file: Any, as_json: bool) -> None:
    """Value the logged, uniform, baseline, live, supplied and optimized policies on the window
    (learning settings by progressive validation); stored, so `POST /v1/evaluations/<id>/apply` can apply it."""
    supplied = _settings(settings_file) if settings_file is not None else {}
    runtime = offline_runtime()
    try:
        start, end = parse_time(since, 0), parse_time(until, runtime.clock.now_ms())
        doc = runtime.evaluations.start(kind, start, end, supplied, run="cli", background=False)
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    if doc["status"] != "done":
        raise click.ClickException(f"evaluation {doc['_id']} failed: {doc.get('error')}")
    result = doc["result"]
    click.echo(f"evaluation {doc['_id']}: {result['decisions']} {kind} decisions, {result['estimator']}, 95 % intervals")
    for row in result["policies"]:
        click.echo(f"  {row['name']:<16} {row['value']:8.4f}  [{row['low']:.4f}, {row['high']:.4f}]  {row['vw_args'] or ''}")
    for stage in result["search"]:
        click.echo(f"  stage {stage['stage']}: chose {stage['chose']}")


@click.command()
@click.option("--kind", type=click.Choice(["slate", "prompt"]), default="slate", show_default=True)
@click.option("--since", required=True, help="ISO date/time or epoch ms")
@click.option("--until", default=None, help="ISO date/time or epoch ms (default: now)")
@click.option("--feature", "names", multiple=True, help="Only these top-level features (context.<key>, item.<key>).")
@click.option("--no-namespaces", is_flag=True, help="Leave out the per-namespace rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def features(kind: str, since: str, until: str | None, names: tuple[str, ...], no_namespaces: bool, as_json: bool) -> None:
    """Importance of each namespace and top-level feature: the drop in progressive-validation
    value under the live settings when it is left out, scaled 0–100, with 95 % intervals."""
    runtime = offline_runtime()
    try:
        start, end = parse_time(since, 0), parse_time(until, runtime.clock.now_ms())
        rows = runtime.evaluations.features(kind, start, end, list(names) or None, namespaces=not no_namespaces)
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"  {row['feature']:<32} {row['importance']:6.1f}  drop {row['drop']:+.4f} "
                   f"[{row['low']:+.4f}, {row['high']:+.4f}]")
