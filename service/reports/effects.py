"""Report sections ``visibility_effect`` and ``format_effect``: one prompt factor varied,
the other held as logged.

Over the window's joined prompt decisions that asked, target a sets the factor to one
level and b to the other; both are valued by SNIPS on the same rows with the logging
probability of the logged level *given the other factor as logged* (why that is the right
weight: :mod:`service.evaluate.prompt_effects`), and a − b is a paired comparison
(:class:`service.evaluate.policy_values.StreamingComparison`, t-interval and p-value). One pass over
the log, chunk by chunk, shared with the other prompt sections (service/reports/prompt_pass.py).
The visibility effect also goes by client ``segment`` and gives
the raw (on-policy) answer rate per day, visibility and format that the page draws.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bandit.ope import SNIPS, StreamingDiagnostics, StreamingEstimate
from bandit.ope.design import Design
from bandit.ope.evidence import Evidence
from bandit.ope.paired import StreamingComparison
from service.evaluate.policy_values import answered as answered_within_window
from service.evaluate.prompt_effects import FACTORS, factor_design, factor_rows
from service.reports.context import ReportContext, verdict
from service.reports.pooled import record
from service.reports.prompt_pass import prompt_pass, register
from service.reports.prompts import binomial, diagnostics_dict, estimate, no_prompts, paired_verdict

#: by_segment keeps the segments with the most prompts; a high-cardinality "segment"
#: (a user id, say) would otherwise make the report as long as the log.
MAX_SEGMENTS = 20


@dataclass
class FactorTally:
    """Mergeable sums for targets a and b (per metric) and their paired differences."""

    metrics: tuple[str, ...]
    a: dict[str, StreamingEstimate] = field(default_factory=dict)
    b: dict[str, StreamingEstimate] = field(default_factory=dict)
    paired: dict[str, StreamingComparison] = field(default_factory=dict)
    weights_a: StreamingDiagnostics = field(default_factory=StreamingDiagnostics)
    weights_b: StreamingDiagnostics = field(default_factory=StreamingDiagnostics)
    logged: Counter[str] = field(default_factory=Counter)  # prompts asked at each level
    design: tuple[Design, Design] = (Design(), Design())  # what the propensities promise (bandit/ope/design.py)

    def __post_init__(self) -> None:
        for metric in self.metrics:
            self.a[metric], self.b[metric] = StreamingEstimate(SNIPS()), StreamingEstimate(SNIPS())
            self.paired[metric] = StreamingComparison(SNIPS())

    def add(self, used: list[Mapping[str, Any]], rows: Mapping[str, Any], factor: str) -> None:
        if not used:
            return
        for metric, (data_a, data_b) in rows.items():
            self.a[metric] = self.a[metric].update(data_a)
            self.b[metric] = self.b[metric].update(data_b)
            self.paired[metric] = self.paired[metric].update(data_a, data_b)
        first = rows[self.metrics[0]]
        self.weights_a, self.weights_b = self.weights_a.update(first[0]), self.weights_b.update(first[1])
        self.logged.update(d["chosen"][factor] for d in used)
        a, b = factor_design(used, factor)
        self.design = (self.design[0] + a, self.design[1] + b)

    def evidence(self, metric: str) -> Evidence:
        return Evidence.of_comparison(self.paired[metric], self.design)

    def concern(self) -> str | None:
        """Why the weights of a or b cannot carry a normal interval yet (None: they can)."""
        return self.evidence(self.metrics[0]).concern()

    @property
    def n(self) -> int:
        return self.weights_a.n

    def smallest_ess(self) -> float:
        """The smaller effective sample size of targets a and b: what a verdict rests on."""
        return min(self.weights_a.result().effective_sample_size, self.weights_b.result().effective_sample_size)


Cells = Counter[tuple[str, str, str]]  # (local day, visibility, format) → count


class FactorPass:
    """Fed by the prompt pass: the overall tally, tallies by ``by(decision)`` (skipped
    where None), and prompts/answers per (local day, visibility, format)."""

    def __init__(self, ctx: ReportContext, factor: str, metrics: tuple[str, ...],
                 by: Callable[[Mapping[str, Any]], str | None] | None = None) -> None:
        self.factor, self.metrics, self.by = factor, metrics, by
        self.total = FactorTally(metrics)
        self.groups: defaultdict[str, FactorTally] = defaultdict(lambda: FactorTally(metrics))
        self.shown: Cells = Counter()
        self.answered: Cells = Counter()
        self.zone = ZoneInfo(str(ctx.config["REPORT_TIMEZONE"]))

    def add(self, chunk: Sequence[Mapping[str, Any]]) -> None:
        factor, metrics = self.factor, self.metrics
        used, rows = factor_rows(chunk, factor, metrics)
        self.total.add(used, rows, factor)
        for d in (d for d in chunk if d["chosen"].get("format") is not None):
            key = (dt.datetime.fromtimestamp(d["t"] / 1000, self.zone).date().isoformat(), d["chosen"]["visibility"],
                   d["chosen"]["format"])
            self.shown[key] += 1
            self.answered[key] += int(answered_within_window(d))
        if self.by is not None:
            split: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
            for d in used:
                if (group := self.by(d)) is not None:
                    split[group].append(d)
            for group, part in split.items():
                self.groups[group].add(*factor_rows(part, factor, metrics), factor)

    def result(self) -> tuple[FactorTally, dict[str, FactorTally], Cells, Cells]:
        return self.total, dict(self.groups), self.shown, self.answered


def segment_of(decision: Mapping[str, Any]) -> str | None:
    value = (decision.get("context") or {}).get("segment")
    return None if value is None or isinstance(value, (dict, list)) else str(value)


VISIBILITY_WHAT = "whether public prompts are answered more or less often than private ones"
VISIBILITY_FOUND = ("Public prompts are answered {pp:.1f} percentage points {direction} often than private ones, "
                    "format held as logged")


def visibility_effect(ctx: ReportContext) -> dict[str, Any]:
    """Answer rate of "always public" minus "always private", format held as logged."""
    base = {"metric": "answer_rate", "a": "always_public", "b": "always_private", "estimator": "SNIPS", "alpha": ctx.alpha}
    nothing = {"difference": None, "low": None, "high": None, "p_value": None, "always_public": None,
               "always_private": None, "diagnostics": None, "by_segment": [], "answer_rate_by_day": []}
    empty = no_prompts(ctx)
    if empty is not None:
        said = verdict("not_enough_data", f"Not enough data to tell {VISIBILITY_WHAT}: {empty['note']}.")
        return {**empty, **base, **nothing, "verdicts": [said]}
    total, segments, shown, answered = prompt_pass(ctx)["visibility_effect"].result()
    by_day = [{"day": day, "visibility": v, "format": f, "prompts": shown[(day, v, f)], "answered": answered[(day, v, f)],
               **binomial(answered[(day, v, f)], shown[(day, v, f)], ctx.alpha)} for day, v, f in sorted(shown)]
    diff = total.paired["answered"].result(ctx.alpha)
    record(ctx, "visibility.answer_rate", total.evidence("answered"))
    verdicts = [paired_verdict(ctx, diff, total.n, VISIBILITY_WHAT, VISIBILITY_FOUND, ess=total.smallest_ess(),
                               concern=total.concern())]
    by_segment = []
    for name, part in sorted(segments.items(), key=lambda item: (-item[1].n, item[0]))[:MAX_SEGMENTS]:
        d = part.paired["answered"].result(ctx.alpha)
        by_segment.append({"segment": name, **d, "decisions": part.n,
                           "always_public": estimate(part.a["answered"], ctx.alpha),
                           "always_private": estimate(part.b["answered"], ctx.alpha)})
        escaped = name.replace("{", "{{").replace("}", "}}")  # the client's segment value is not a format string
        verdicts.append(paired_verdict(ctx, d, part.n, f"{VISIBILITY_WHAT} in segment {name}",
                                       VISIBILITY_FOUND + f" in segment {escaped}", ess=part.smallest_ess(),
                                       concern=part.concern(), segment=name))
    return {
        "status": "ok" if total.n else "no_data", "note": None if total.n else "no prompt in the window asked",
        **base, **diff, "decisions": total.n,
        "always_public": estimate(total.a["answered"], ctx.alpha), "always_private": estimate(total.b["answered"], ctx.alpha),
        "diagnostics": {"always_public": diagnostics_dict(total.weights_a.result()),
                        "always_private": diagnostics_dict(total.weights_b.result())},
        "segments": len(segments), "by_segment": by_segment, "answer_rate_by_day": by_day, "verdicts": verdicts,
    }


FORMAT_METRICS = {"answer_rate": "answered", "bits_per_prompt": "bits"}
FORMAT_TEXT = {
    "answer_rate": ("whether graded prompts are answered more or less often than single ones",
                    "Graded prompts are answered {pp:.1f} percentage points {direction} often than single ones, "
                    "visibility held as logged"),
    "bits_per_prompt": ("whether graded thumbs elicit more or less information per prompt than single ones",
                        "Graded thumbs elicit {size:.3f} bits {direction} per prompt than single ones, "
                        "visibility held as logged"),
}


def format_effect(ctx: ReportContext) -> dict[str, Any]:
    """Single vs graded thumbs: answer rate and information per prompt (bits)."""
    empty_level = {"prompts": 0, "answer_rate": None, "bits_per_prompt": None}
    base = {"estimator": "SNIPS", "alpha": ctx.alpha}
    empty = no_prompts(ctx)
    if empty is not None:
        return {**empty, **base, "single": dict(empty_level), "graded": dict(empty_level),
                "difference": {"answer_rate": None, "bits_per_prompt": None}, "diagnostics": None,
                "verdicts": [verdict("not_enough_data", f"Not enough data to tell {FORMAT_TEXT['bits_per_prompt'][0]}: "
                                     f"{empty['note']}.")]}
    total, _, _, _ = prompt_pass(ctx)["format_effect"].result()
    graded, single = FACTORS["format"]  # a = graded, b = single: differences are graded − single
    levels = {
        graded: {"prompts": total.logged[graded], **{k: estimate(total.a[m], ctx.alpha) for k, m in FORMAT_METRICS.items()}},
        single: {"prompts": total.logged[single], **{k: estimate(total.b[m], ctx.alpha) for k, m in FORMAT_METRICS.items()}},
    }
    difference = {k: total.paired[m].result(ctx.alpha) for k, m in FORMAT_METRICS.items()}
    for k, m in FORMAT_METRICS.items():
        record(ctx, f"format.{k}", total.evidence(m))
    return {
        "status": "ok" if total.n else "no_data", "note": None if total.n else "no prompt in the window asked",
        "decisions": total.n, **base, "single": levels[single], "graded": levels[graded], "difference": difference,
        "diagnostics": {"graded": diagnostics_dict(total.weights_a.result()),
                        "single": diagnostics_dict(total.weights_b.result())},
        "verdicts": [paired_verdict(ctx, difference[k], total.n, *FORMAT_TEXT[k], ess=total.smallest_ess(),
                                    concern=total.concern(), metric=k) for k in FORMAT_METRICS],
    }


register("visibility_effect", lambda ctx: FactorPass(ctx, "visibility", ("answered",), by=segment_of))
register("format_effect", lambda ctx: FactorPass(ctx, "format", tuple(FORMAT_METRICS.values())))
