"""Truth vs estimate on elicit's own log: what the demo's table and the end-to-end test check.

Every row pairs an off-policy **estimate** from the logged prompt decisions (IPS, paired
t-interval for differences: bandit/ope) with the simulator's **exact truth on the same
logged contexts**: for each decision the driver recorded, before the user's dice, every
action's answer probability and expected reward in that user's state then
(simulator/driver.py ``PromptTruth``). A target's truth is the mean over decisions of
Σ_a target(a | context) × truth(a), which is precisely what IPS estimates without bias, so
"the interval covers the truth" is a fair 95 % check.

Why logged contexts and not an on-policy rollout: elicit's prompt policy reads a context it
derives from its own records (answer rates, session flags, berserk share...); rebuilding
that inside the simulator would be a second implementation that can drift, while here the
learned model is evaluated on exactly the contexts elicit built, by the exact expectation
instead of Monte Carlo. What this leaves out is a policy's effect on the contexts it would
create itself (asking less keeps fatigue low); simulator.truth.prompt_policy_value has that.

Targets, with μ the logged distribution and "format held as logged" as in docs/report.md:
``always_public`` asks every time, public, with format f with probability μ(f/·)/μ(ask);
``always_private`` likewise; ``always_graded``/``always_single`` hold the logged visibility.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bandit.ope import IPS, LoggedData, diagnostics
from bandit.ope.compare import compare
from bandit.ope.diagnostics import MIN_EFFECTIVE_SAMPLE
from policies.prompts import LearnedPromptPolicy, PromptContext, parse_actions
from simulator.driver import PromptTruth
from simulator.params import DAY_MS, START_MS

BITS = {"single": 1.0, "graded": math.log2(3)}  # information of one answer (truth.py, docs/report.md)
ANSWERS = ("thumbs_down", "thumbs_up", "double_thumbs_up")
#: target(decision, actions) -> distribution over the decision's actions
Target = Callable[[Mapping[str, Any], list[str]], np.ndarray]


@dataclass(frozen=True)
class Row:
    name: str
    truth: float
    estimate: float
    low: float
    high: float
    #: Effective sample size (Kish) of the target's weights; the smaller of two for a difference.
    ess: float | None = None
    #: What the report says of it, where the row is one of the report's answers.
    verdict: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "truth": self.truth, "estimate": self.estimate, "low": self.low, "high": self.high,
                "ess": self.ess, "verdict": self.verdict, "covers": self.covers}

    @property
    def covers(self) -> bool:
        return self.low <= self.truth <= self.high


def _counted(decision: Mapping[str, Any]) -> str | None:
    response = decision.get("response")
    return response["type"] if response and response["t"] <= decision["window_end"] else None


def held(visibility: str | None = None, fmt: str | None = None) -> Target:
    """Always ask with this visibility (or format); the other part as the logging policy chose it."""

    def target(decision: Mapping[str, Any], actions: list[str]) -> np.ndarray:
        mu = np.asarray(decision["distribution"], dtype=float)
        parts = [a.partition("/") for a in actions]
        ask = sum(p for p, (f, _, v) in zip(mu, parts) if v)
        out = np.zeros(len(actions))
        for i, (f, _, v) in enumerate(parts):
            if v and (v == visibility or f == fmt):
                # mass of the held part: this format (or visibility) under either value of the other
                out[i] = sum(p for p, (f2, _, v2) in zip(mu, parts) if v2 and (f2 == f if visibility else v2 == v)) / ask
        return out

    return target


def always(action: str) -> Target:
    return lambda decision, actions: np.asarray([float(a == action) for a in actions])


def learned(models: Sequence[Any]) -> Target:
    """The learned VW prompt policy as served (with its exploration), on the logged context, as
    it stood at the start of the decision's day (``models[day]``): a model evaluated on the
    decisions it was trained on looks better than it is, so each day is judged out of sample."""
    def target(decision: Mapping[str, Any], actions: list[str]) -> np.ndarray:
        day = min(max(0, (int(decision["t"]) - START_MS) // DAY_MS), len(models) - 1)
        floor = float((decision.get("exploration") or {}).get("floor") or 0.0)  # as served
        return LearnedPromptPolicy(models[day], floor).distribution(PromptContext.of(decision), parse_actions(actions))

    return target


class Scorecard:
    """Estimates and exact truths of prompt targets over one set of logged prompt decisions."""

    def __init__(self, decisions: Iterable[Mapping[str, Any]], truths: Iterable[PromptTruth]) -> None:
        by_id = {truth.event_id: truth for truth in truths}
        # A driver's decisions only, and not those whose visibility an experiment arm imposed
        # (exploration.visibility): the other visibility had no chance there, so no estimate of it.
        self.decisions = [d for d in decisions if d["_id"] in by_id and not (d.get("exploration") or {}).get("visibility")]
        self.truths = [by_id[d["_id"]] for d in self.decisions]
        self.p_log = np.asarray([d["chosen"]["probability"] for d in self.decisions], dtype=float)
        chosen = [d["chosen"]["action"] for d in self.decisions]
        answered = np.asarray([_counted(d) in ANSWERS for d in self.decisions], dtype=float)
        self.observed = {
            "answer_rate": answered,
            "bits": answered * np.asarray([BITS.get(a.partition("/")[0], 0.0) for a in chosen]),
            "value": np.asarray([float(d.get("reward") or 0.0) for d in self.decisions]),
        }

    def __len__(self) -> int:
        return len(self.decisions)

    def _truth(self, metric: str, truth: PromptTruth, action: str) -> float:
        if metric == "value":
            return truth.reward[action]
        rate = truth.answered.get(action, 0.0)
        return rate * BITS[action.partition("/")[0]] if metric == "bits" and action != "none" else rate

    def _side(self, target: Target, metric: str) -> tuple[LoggedData, np.ndarray]:
        p_target, truth = [], []
        for decision, exact in zip(self.decisions, self.truths):
            actions = list(decision["actions"])
            pmf = target(decision, actions)
            p_target.append(float(pmf[actions.index(decision["chosen"]["action"])]))
            truth.append(sum(p * self._truth(metric, exact, a) for p, a in zip(pmf, actions)))
        data = LoggedData(reward=self.observed[metric], p_log=self.p_log, p_target=np.asarray(p_target))
        return data, np.asarray(truth)

    def value(self, name: str, target: Target, metric: str = "value") -> Row:
        data, truth = self._side(target, metric)
        interval = IPS().interval(data, 0.05)
        return Row(name, float(truth.mean()), interval.estimate, interval.low, interval.high, _ess(data))

    def difference(self, name: str, a: Target, b: Target, metric: str) -> Row:
        (data_a, truth_a), (data_b, truth_b) = self._side(a, metric), self._side(b, metric)
        result = compare(data_a, data_b, IPS(), alpha=0.05)
        return Row(name, float((truth_a - truth_b).mean()), result.difference, result.low, result.high,
                   min(_ess(data_a), _ess(data_b)))

    def rows(self, models: Sequence[Any]) -> list[Row]:
        """The demo's table: the two effects, then the learned policy against always-X."""
        rows = [
            self.difference("visibility effect: answer rate, public - private", held("public"), held("private"),
                            "answer_rate"),
            self.difference("format effect: answer rate, graded - single", held(fmt="graded"), held(fmt="single"),
                            "answer_rate"),
            self.difference("format effect: bits/prompt, graded - single", held(fmt="graded"), held(fmt="single"),
                            "bits"),
            self.value("value: learned prompt policy (each morning's model)", learned(models)),
        ]
        rows.append(self.value("value: uniform", lambda d, actions: np.full(len(actions), 1.0 / len(actions))))
        for action in ("single/public", "single/private", "graded/public", "graded/private"):
            rows.append(self.value(f"value: always {action}", always(action)))
        rows.append(self.difference("value: learned - always single/public", learned(models), always("single/public"),
                                    "value"))
        return rows

    def held_as_logged(self, varied: str, a: str, b: str, metric: str = "answer_rate") -> float:
        """Exact truth of the report's effects (docs/report.md): over the decisions that asked,
        the answer rate (or ``metric`` "bits") with ``varied`` ("visibility" or "format") set
        to ``a`` minus set to ``b``, the other factor as logged. The report estimates exactly
        this, so its interval must cover it."""
        deltas = []
        for decision, exact in zip(self.decisions, self.truths):
            fmt, visibility = decision["chosen"]["format"], decision["chosen"]["visibility"]
            if fmt is None:
                continue
            first = f"{fmt}/{a}" if varied == "visibility" else f"{a}/{visibility}"
            second = f"{fmt}/{b}" if varied == "visibility" else f"{b}/{visibility}"
            deltas.append(self._truth(metric, exact, first) - self._truth(metric, exact, second))
        return float(np.mean(deltas)) if deltas else float("nan")


def report_rows(report: Mapping[str, Any], card: Scorecard) -> list[Row]:
    """The report's own visibility and format effects against the exact truth on the same
    window's decisions; empty where a section has no estimate."""
    sections, rows = report.get("sections") or {}, []
    visibility = sections.get("visibility_effect") or {}
    if visibility.get("status") == "ok" and visibility.get("difference") is not None:
        rows.append(Row(f"report {report['_id']}: visibility effect{_thin(visibility)}",
                        card.held_as_logged("visibility", "public", "private"),
                        visibility["difference"], visibility["low"], visibility["high"], _smallest_ess(visibility)))
    fmt = sections.get("format_effect") or {}
    diff = (fmt.get("difference") or {}).get("answer_rate") if fmt.get("status") == "ok" else None
    if diff and diff.get("difference") is not None:
        rows.append(Row(f"report {report['_id']}: format effect (answer rate){_thin(fmt)}",
                        card.held_as_logged("format", "graded", "single"), diff["difference"], diff["low"], diff["high"],
                        _smallest_ess(fmt)))
    return rows


#: The report's pooled questions with a truth here: (question, row name, factor, a, b, metric).
POOLED = (("visibility.answer_rate", "visibility effect: answer rate", "visibility", "public", "private", "answer_rate"),
          ("format.answer_rate", "format effect: answer rate", "format", "graded", "single", "answer_rate"),
          ("format.bits_per_prompt", "format effect: bits/prompt", "format", "graded", "single", "bits"))


def pooled_rows(report: Mapping[str, Any], card: Scorecard) -> list[Row]:
    """The headline's answers (the evidence pooled since the start, with its confidence
    sequence) against the exact truth over the same decisions — ``card`` must hold every
    decision the pooled nights covered."""
    cumulative, rows = report.get("cumulative") or {}, []
    said = {a["question"]: a["verdict"] for a in (report.get("answers") or {}).get("questions", [])}
    for key, name, factor, a, b, metric in POOLED:
        figure = cumulative.get(key) or {}
        if figure.get("estimate") is None or figure.get("low") is None:
            continue
        rows.append(Row(f"answer since {str(figure.get('since'))[:10]} (confidence sequence): {name}",
                        card.held_as_logged(factor, a, b, metric), figure["estimate"], figure["low"], figure["high"],
                        figure.get("design_ess"), said.get(key)))
    return rows


def _ess(data: LoggedData) -> float:
    return diagnostics(data).effective_sample_size


def _smallest_ess(section: Mapping[str, Any]) -> float | None:
    """The smaller effective sample size of the section's two targets."""
    return min((d["effective_sample_size"] for d in (section.get("diagnostics") or {}).values() if d), default=None)


def _thin(section: Mapping[str, Any]) -> str:
    """A note on a row whose interval rests on too few weighted decisions for the report
    to claim anything from it (bandit.ope.diagnostics.MIN_EFFECTIVE_SAMPLE)."""
    smallest = _smallest_ess(section)
    return "" if smallest is None or smallest >= MIN_EFFECTIVE_SAMPLE else " (no verdict: ESS)"
