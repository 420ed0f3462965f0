"""Report section ``prompt_strategies`` and what the prompt sections share.

Every baseline prompt policy (never, uniform, once per session, always one format and
visibility) and the live learned one, valued on the window's joined prompt decisions in
one pass over the log (shared by every prompt section: service/reports/prompt_pass.py),
chunk by chunk: each target is replayed once per decision
(:func:`service.evaluate.policy_values.prompt_rows`) and its value, answer rate and annoyance rate are
SNIPS estimates with Gaussian (delta-method) intervals from mergeable statistics; its
value's paired difference from the live policy is a
:class:`service.evaluate.policy_values.StreamingComparison` (the numbers of ``bandit.ope.compare``).
The visibility and format effects live in :mod:`service.reports.effects`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scipy import stats

from bandit.errors import InvalidInput
from bandit.ope import SNIPS, Diagnostics, StreamingDiagnostics, StreamingEstimate
from bandit.ope.design import Design, design_concern
from bandit.ope.diagnostics import MIN_EFFECTIVE_SAMPLE
from bandit.ope.evidence import Evidence
from bandit.ope.paired import StreamingComparison
from service.evaluate.policy_values import prompt_replay, prompt_rows
from service.evaluate.targets import prompt_targets
from service.log.decisions import evaluation_query
from service.reports.context import ReportContext, covers_zero, interval_dict, verdict
from service.reports.pooled import record
from service.reports.prompt_pass import prompt_pass, register

#: Metrics of a strategy row → the PROMPT_METRICS they are estimated from.
STRATEGY_METRICS = {"value": "reward", "answer_rate": "answered", "annoyance_rate": "annoyed"}
DESCRIPTIONS = {
    "logged": "the live policy, as logged (on-policy average)",
    "learned": "the model live when the window began (never trained on it), with its exploration and floor",
    "without_floor": "the live policy without its exploration floor (each decision's own model and context)",
    "never": "never ask",
    "uniform": "every action equally likely",
    "once_per_session": "ask single/private once per session",
}
UNDEFINED = {"value": None, "low": None, "high": None}


def prompt_query(ctx: ReportContext) -> dict[str, Any]:
    """Prompt decisions that count: activated and joined (their response window closed)."""
    return evaluation_query("prompt", ctx.since_ms, ctx.until_ms)


def no_prompts(ctx: ReportContext) -> dict[str, Any] | None:
    """``status``/``note``/``decisions`` when there is nothing to evaluate, else None."""
    if ctx.counts()["prompt"] == 0:
        return {"status": "no_data", "note": "no prompt decisions in the window", "decisions": 0}
    if prompt_pass(ctx).evaluated == 0:
        return {"status": "no_data", "decisions": 0,
                "note": "no joined prompt decisions in the window (they join when their response window closes)"}
    return None


def estimate(summary: StreamingEstimate, alpha: float) -> dict[str, float | None]:
    """SNIPS with its Gaussian interval, or nulls where it is undefined (no weight at all)."""
    if summary.n == 0:
        return dict(UNDEFINED)
    try:
        return interval_dict(summary.interval(alpha))
    except InvalidInput:
        return dict(UNDEFINED)


def diagnostics_dict(d: Diagnostics) -> dict[str, float | int]:
    return {"rows": d.n, "effective_sample_size": d.effective_sample_size, "max_weight": d.max_weight,
            "mean_weight": d.mean_weight, "zero_target_share": d.zero_target_share}


def binomial(answered: int, prompts: int, alpha: float) -> dict[str, float | None]:
    """Observed rate with its Wilson score interval (scipy), nulls for no prompts.

    >>> {k: round(v, 4) for k, v in binomial(3, 10, 0.05).items()}
    {'rate': 0.3, 'low': 0.1078, 'high': 0.6032}
    """
    if prompts == 0:
        return {"rate": None, "low": None, "high": None}
    ci = stats.binomtest(answered, prompts).proportion_ci(1 - alpha, method="wilson")
    return {"rate": answered / prompts, "low": float(ci.low), "high": float(ci.high)}


def num(value: float | None, digits: int = 3) -> str:
    return "undefined" if value is None else f"{value:+.{digits}f}"


def span(ctx: ReportContext, low: float | None, high: float | None) -> str:
    return f"{int(round(100 * (1 - ctx.alpha)))}% interval [{num(low)}, {num(high)}]"


def strategy_names(ctx: ReportContext) -> list[str]:
    actions = [a.name for a in ctx.sources.prompt_actions if a.ask]  # the configured action set
    return ["logged", "learned", "without_floor", "never", "uniform", "once_per_session"] + [f"always:{a}" for a in actions]


def evidence_key(name: str) -> str:
    """The pooled question of a strategy against the live policy."""
    return "floor.cost" if name == "without_floor" else f"prompt.{name}"


class StrategyTally:
    """Every strategy's sums over the joined prompt decisions, fed by the prompt pass."""

    def __init__(self, ctx: ReportContext) -> None:
        self.targets = prompt_targets(strategy_names(ctx), ctx.sources.prompt_models, ctx.since_ms,
                                      float(ctx.config["PROMPT_FLOOR"]))
        self.sums = {name: {key: StreamingEstimate(SNIPS()) for key in STRATEGY_METRICS} for name in self.targets}
        self.weights = {name: StreamingDiagnostics() for name in self.targets}
        self.versus = {name: StreamingComparison(SNIPS()) for name in self.targets}
        self.design = {name: Design() for name in self.targets}  # what the propensities promise (bandit/ope/design.py)

    def add(self, chunk: Sequence[Mapping[str, Any]]) -> None:
        live = prompt_rows(chunk, None)
        for name, target in self.targets.items():
            if target is None:
                rows, design = live, Design(float(len(chunk)), float(len(chunk)))  # weights of exactly 1
            else:
                p_target, design = prompt_replay(list(chunk), target)
                rows = prompt_rows(chunk, target, p_target=p_target)
            self.design[name] += design
            for key, metric in STRATEGY_METRICS.items():
                self.sums[name][key] = self.sums[name][key].update(rows[metric])
            self.weights[name] = self.weights[name].update(rows["reward"])
            self.versus[name] = self.versus[name].update(rows["reward"], live["reward"])

    def evidence(self) -> dict[str, Evidence]:
        """Each strategy against the live policy, for the pooled figures."""
        return {evidence_key(name): Evidence.of_comparison(self.versus[name], (self.design[name], self.design["logged"]))
                for name, target in self.targets.items() if target is not None}

    def rows(self, alpha: float) -> list[dict[str, Any]]:
        return [{
            "policy": name,
            "description": DESCRIPTIONS.get(name, f"always ask {name.removeprefix('always:')}"),
            "decisions": self.weights[name].n,
            **{key: estimate(self.sums[name][key], alpha) for key in STRATEGY_METRICS},
            "diagnostics": {**diagnostics_dict(self.weights[name].result()),
                            "design_effective_sample_size": self.design[name].ess(self.weights[name].n),
                            "design_concern": design_concern([self.design[name]], self.weights[name].n)},
            "vs_live": None if name == "logged" else self.versus[name].result(alpha),
        } for name in self.targets]



register("prompt_strategies", StrategyTally)


def paired_verdict(
    ctx: ReportContext, diff: Mapping[str, Any], n: int, what: str, found: str, unit: str = "prompts asked",
    *, ess: float | None = None, concern: str | None = None, **about: Any
) -> dict[str, Any]:
    """The verdict on a paired difference over ``n`` units (``unit``: what they are);
    ``ess``: the smaller effective sample size of the two targets, if known; ``concern``:
    why the propensities say the weights cannot carry a normal interval yet (heavy or
    skewed tails the sample may not have met: :func:`bandit.ope.design.design_concern`).

    ``what`` completes "Not enough data to tell …"; ``found`` is the finding, formatted with
    ``{size}``, ``{pp}`` (size in percentage points) and ``{direction}`` ("more"/"less").
    Every verdict on a tested difference carries its ``p_value``: the report controls the
    false-discovery rate across the night's findings (service/reports/build.py).
    """
    about = {**about, "p_value": diff.get("p_value")}
    if n < ctx.min_decisions:
        return verdict("not_enough_data", f"Not enough data to tell {what}: only {n} {unit} (at least "
                       f"{ctx.min_decisions} needed).", **about)
    if concern is not None:
        return verdict("not_enough_data", f"Not enough data to tell {what}: {concern} {unit}, whatever this sample "
                       "happened to draw.", **{**about, "p_value": None})
    if ess is not None and ess < MIN_EFFECTIVE_SAMPLE:
        about["p_value"] = None
        return verdict("not_enough_data", f"Not enough data to tell {what}: the estimate rests on an effective "
                       f"sample size of {ess:.1f} of {n} {unit} (at least {MIN_EFFECTIVE_SAMPLE:.0f} needed; "
                       f"difference {num(diff['difference'])}, {span(ctx, diff['low'], diff['high'])}, which so few "
                       f"weighted decisions cannot vouch for).", **about)
    if diff["difference"] is None or covers_zero(diff["low"], diff["high"]):
        return verdict("not_enough_data", f"Not enough data to tell {what} (difference {num(diff['difference'])}, "
                       f"{span(ctx, diff['low'], diff['high'])}).", **about)
    direction = "more" if diff["difference"] > 0 else "less"
    text = found.format(size=abs(diff["difference"]), pp=100 * abs(diff["difference"]), direction=direction)
    return verdict("finding", f"{text} ({span(ctx, diff['low'], diff['high'])}, p = {diff['p_value']:.2g}).", **about)


def strategy_verdicts(ctx: ReportContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for row in rows[1:]:
        diff, name = row["vs_live"], row["policy"]
        ess, rows_seen = row["diagnostics"]["effective_sample_size"], row["diagnostics"]["rows"]
        found.append(paired_verdict(
            ctx, diff, row["decisions"], f"whether {name} would earn more or less per decision than the live policy",
            f"{name} would earn {{size:.3f}} {{direction}} reward per decision than the live policy",
            unit="joined prompt decisions", ess=ess, concern=row["diagnostics"]["design_concern"],
            policy=name))
        if rows_seen and ess < max(MIN_EFFECTIVE_SAMPLE, 0.1 * rows_seen):
            found.append(verdict("warning", f"Estimates for {name} rest on few decisions: effective sample size "
                                 f"{ess:.0f} of {rows_seen}.", policy=name))
    return found


def prompt_strategies(ctx: ReportContext) -> dict[str, Any]:
    """Every baseline prompt policy and the live learned one, valued on the log.

    ``policies`` rows: ``{"policy", "description", "decisions", "value": {value, low, high},
    "answer_rate": {...}, "annoyance_rate": {...}, "diagnostics": {...}, "vs_live": {difference,
    low, high, p_value, decisions} | null}``.
    """
    # learned: the model live when the window began, never one trained on it (named here)
    base = {"estimator": "SNIPS", "alpha": ctx.alpha,
            "model_version": ctx.sources.prompt_models.as_of(ctx.since_ms)[1], "floor": float(ctx.config["PROMPT_FLOOR"])}
    empty = no_prompts(ctx)
    if empty is not None:
        return {**empty, **base, "policies": [],
                "verdicts": [verdict("not_enough_data", f"Not enough data to tell: {empty['note']}.")]}
    tally = prompt_pass(ctx)["prompt_strategies"]
    for key, evidence in tally.evidence().items():
        record(ctx, key, evidence)
    rows = tally.rows(ctx.alpha)
    return {"status": "ok", "note": None, "decisions": rows[0]["decisions"], **base, "policies": rows,
            "verdicts": strategy_verdicts(ctx, rows)}
