"""Report section ``slates``: the live slate policy against baselines, by cascade IPS.

One pass over the joined, activated slate decisions of the window (the same decisions and
the same replay as ``elicit ope``: :func:`service.evaluate.policy_values.slate_chunk`), chunk by chunk
with mergeable statistics, gives for every target policy its cascade IPS and
self-normalised cascade IPS values with intervals, its weight diagnostics, and its paired
difference from the live policy (per-decision cascade IPS values of target minus logged,
t-interval and p-value), so memory stays flat however long the log.

The same pass feeds data health (one read of the log, not two). Targets without a model
are replayed for a whole chunk at once (service/reports/slate_block.py); model-backed
ones (``learned``, ``cap_free_greedy``) above ``REPORT_REPLAY_SAMPLE`` decisions on a
uniform random sample (service/reports/replay_sample.py), and their rows say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy import stats

from bandit.errors import InvalidInput
from bandit.ope import StreamingEstimate
from bandit.ope.design import Design, design_concern
from bandit.ope.diagnostics import MIN_EFFECTIVE_SAMPLE
from bandit.ope.evidence import Evidence
from bandit.ope.moments import Moments
from bandit.slates import SlateModel
from policies.recalling_model import RecallingModel
from policies.slate_baselines import CapFreeGreedySlatePolicy, MostPopularSlatePolicy
from policies.slates import LearnedSlatePolicy, SlatePolicy, UniformSlatePolicy
from service.evaluate.policy_values import CHUNK
from service.evaluate.targets import POPULARITY_LOOKBACK_DAYS, popularity_table
from service.log.decisions import evaluation_query
from service.reports.context import ReportContext, covers_zero, interval_dict, verdict
from service.reports.pooled import record
from service.reports.replay_sample import ReplaySample
from service.reports.slate_pass import SlatePass, sampled_targets
from service.reports.window_pass import joined_chunks

DESCRIPTIONS = {
    "logged": "the live policy, as logged (on-policy average)",
    "learned": "the model live when the window began (never trained on it), with its exploration",
    "uniform": "uniformly random among allowed candidates",
    "most_popular": f"most consumed items in the {POPULARITY_LOOKBACK_DAYS} days before the window",
    "cap_free_greedy": "the newest model's best-scored item in every slot, no exploration",
}


def report_targets(ctx: ReportContext, popularity: Mapping[str, int], model: SlateModel) -> dict[str, SlatePolicy | None]:
    """The targets; ``model`` is the one live at the window's start (out of sample)."""
    # One model behind both, remembering its answers: they often ask it the same question.
    # Big enough for a chunk's questions (5,000 decisions, a few each): the design pass asks them
    # again right after the replay, and finds them remembered.
    recalling = RecallingModel(model, size=60_000)
    return {"logged": None, "learned": LearnedSlatePolicy(recalling),  # type: ignore[arg-type]
            "uniform": UniformSlatePolicy(), "most_popular": MostPopularSlatePolicy(popularity),
            "cap_free_greedy": CapFreeGreedySlatePolicy(recalling)}  # type: ignore[arg-type]


def paired(moments: Moments | None, alpha: float) -> dict[str, float | int | None]:
    """Mean of per-decision differences with its t-interval and two-sided p-value."""
    if moments is None:
        return {"difference": None, "low": None, "high": None, "p_value": None, "decisions": 0}
    n, mean = moments.n, float(moments.mean[0])
    result: dict[str, float | int | None] = {"difference": mean, "low": None, "high": None, "p_value": None, "decisions": n}
    if n < 2:
        return result
    se = math.sqrt(float(moments.comoment[0, 0]) / (n - 1) / n)
    if se == 0:  # every decision differs by the same amount: the difference is known
        return {**result, "low": mean, "high": mean, "p_value": float(mean == 0)}
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    return {**result, "low": mean - half, "high": mean + half, "p_value": float(2 * stats.t.sf(abs(mean) / se, n - 1))}


def _estimate(summary: StreamingEstimate, alpha: float) -> dict[str, float | None]:
    try:
        return interval_dict(summary.interval(alpha))
    except InvalidInput:  # self-normalised estimate undefined: the target never chose a logged prefix
        return {"value": None, "low": None, "high": None}


def evaluate(ctx: ReportContext, targets: Mapping[str, SlatePolicy | None], sample: ReplaySample) -> list[dict[str, Any]]:
    """Values, diagnostics and differences from the live policy, in one pass over the log
    (:class:`SlatePass`), or in time partitions merged (``ctx.sources.partitions``).

    The pass reads every slate decision of the window once: all of them feed the data
    health tally (left in ``ctx.shared`` for that section), the joined ones the estimates.
    """
    on_sample = set(sampled_targets(targets))
    # Light documents (no features, satiation or distributions) unless every decision is
    # replayed by a model anyway: then whole ones, in the one read. The read's tally is
    # left for data health.
    light = not sample.complete and bool(on_sample)
    partitions = getattr(ctx.sources, "partitions", None)
    if partitions is not None:
        state = partitions.slates(ctx, sample, light)
    else:
        state = SlatePass(list(targets))
        for chunk in joined_chunks(ctx, "slate", CHUNK, light=light):
            state.consume(chunk, targets, sample, ctx.store.decisions_by_id if light else None)
    sums, weights, differences = state.sums, state.weights, state.differences
    design = {name: state.design.get(name, (Design(), 0)) for name in targets if targets[name] is not None}
    promised: dict[str, Design | None] = {}
    for name in targets:
        n = sums[name][0].n
        total, seen = design.get(name, (Design(float(n), float(n)), n))  # the live policy: weights of 1
        # measured on the decisions read whole (the sample), scaled to every decision valued
        promised[name] = Design(n * total.second / seen, n * total.third / seen) if seen else None
        if name != "logged":  # per-decision differences from the live policy, pooled across nights
            record(ctx, f"slate.{name}", Evidence("mean", differences[name],
                                                  None if promised[name] is None else (promised[name],)))
    rows = []
    for name in targets:
        d = weights[name].result()
        cascade, self_normalised = (_estimate(summary, ctx.alpha) for summary in sums[name])
        rows.append({
            "policy": name,
            "description": DESCRIPTIONS.get(name, name),
            "decisions": sums[name][0].n,
            **cascade,
            "self_normalised": self_normalised,
            "diagnostics": {"rows": d.n, "effective_sample_size": d.effective_sample_size, "max_weight": d.max_weight,
                            "mean_weight": d.mean_weight, "zero_target_share": d.zero_target_share,
                            # what the propensities promise (service/evaluate/slate_design.py), in decisions
                            "design_effective_sample_size": promised[name].ess(sums[name][0].n) if promised[name] else None,
                            "design_concern": design_concern(None if promised[name] is None else [promised[name]],
                                                             sums[name][0].n)},
            "vs_live": None if name == "logged" else paired(differences[name], ctx.alpha),
            # Set when this target was replayed on a random sample of the window's decisions.
            "sample": {"decisions": sums[name][0].n, "population": sample.population}
            if name in on_sample and not sample.complete else None,
        })
    return rows


def slate_verdicts(ctx: ReportContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    n = rows[0]["decisions"]
    level = int(round(100 * (1 - ctx.alpha)))
    tiny = n < ctx.min_decisions
    found = []
    if tiny:
        found.append(verdict("not_enough_data", f"Not enough data to tell: only {n} slate decisions in the window were "
                             f"joined with their outcomes; comparisons need at least {ctx.min_decisions}."))
    for row in rows[1:]:
        diff = row["vs_live"]
        span = f"{level}% interval [{_num(diff['low'])}, {_num(diff['high'])}]"
        ess, slots = row["diagnostics"]["effective_sample_size"], row["diagnostics"]["rows"]
        concern = row["diagnostics"].get("design_concern")  # weights the sample may not have met
        heavy = concern is not None
        thin = heavy or ess < MIN_EFFECTIVE_SAMPLE  # its interval cannot vouch for itself
        # tested comparisons carry their p-value: the report controls the false-discovery rate across them
        p_value = None if tiny or thin else diff["p_value"]
        if tiny or thin or covers_zero(diff["low"], diff["high"]):
            text = (f"Not enough data to tell whether {row['policy']} would do better or worse than the live policy "
                    f"(difference {_num(diff['difference'])} per slate, {span}"
                    + (f"; {concern} decisions" if heavy else
                       f"; it rests on an effective sample size of {ess:.1f}, below {MIN_EFFECTIVE_SAMPLE:.0f}" if thin
                       else "")
                    + ").")
            found.append(verdict("not_enough_data", text + _sampled(row), policy=row["policy"], p_value=p_value))
        else:
            direction = "more" if diff["difference"] > 0 else "less"
            text = (f"{row['policy']} would earn {abs(diff['difference']):.3f} {direction} reward per slate than the live "
                    f"policy ({span}, p = {diff['p_value']:.2g}).")
            found.append(verdict("finding", text + _sampled(row), policy=row["policy"], p_value=p_value))
        if slots and ess < max(30.0, 0.1 * slots):
            found.append(verdict("warning", f"Estimates for {row['policy']} rest on few decisions: effective sample "
                                 f"size {ess:.0f} of {slots} served slots.", policy=row["policy"]))
    return found


def _sampled(row: Mapping[str, Any]) -> str:
    sample = row.get("sample")
    if not sample:
        return ""
    return (f" Estimated on a random sample of {sample['decisions']:,} of the {sample['population']:,} decisions "
            "(its replay is too slow for all of them).")


def _num(value: float | None) -> str:
    return "undefined" if value is None else f"{value:+.3f}"


def slates_section(ctx: ReportContext) -> dict[str, Any]:
    popularity, source = popularity_table(ctx.store, ctx.since_ms)
    model, version = ctx.sources.slate_models.as_of(ctx.since_ms)
    # learned and cap_free_greedy: the model live when the window began, never one trained on it
    base = {"estimator": "CascadeIPS", "alpha": ctx.alpha, "model_version": version, "popularity": source}
    joined = ctx.store.count_decisions(evaluation_query("slate", ctx.since_ms, ctx.until_ms))
    if joined == 0:
        note = "no joined slate decisions in the window"
        return {"status": "no_data", "note": note, **base, "policies": [],
                "verdicts": [verdict("not_enough_data", f"Not enough data to tell: {note}.")]}
    targets = report_targets(ctx, popularity, model)
    sample = ReplaySample.for_window(joined, ctx.config, ctx.since_ms, ctx.until_ms)
    rows = evaluate(ctx, targets, sample)
    replay = {**sample.as_dict(), "targets": sampled_targets(targets)}
    return {"status": "ok", "note": None, **base, "replay_sample": replay, "policies": rows,
            "verdicts": slate_verdicts(ctx, rows)}
