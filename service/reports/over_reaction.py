"""Report section ``over_reaction``: the berserk index and what it costs in answers.

``berserk_index_by_day`` is filled from :func:`service.evaluate.berserk.index_for_day`
for every UTC day that starts inside the window: likes of day D−1 against the slates of
day D, with a t-interval over the per-like changes (:meth:`BerserkIndex.interval`). A day
without countable likes has no row; one with a single like has no interval.

``answer_rate_by_exposure``: the window's joined prompt decisions that asked, binned by
the user's recent berserk exposure — the prompt decision's derived ``berserk_share``, the
share of the user's slate slots of the last 24 h from categories they liked
(:func:`service.decide.prompt_state.derive_context`) — each bin with its observed answer rate and
Wilson interval. Bins: exactly 0 (no over-reaction to see), (0, 0.2], (0.2, 0.4] and
above 0.4: 0 is its own bin because most users have no recent like at all, and 0.2 steps
keep a few hundred prompts per bin on a modest night. These are on-policy rates, an
association: the policy chose whom to ask, and exposure is not randomised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from scipy import stats

from bandit.ope.evidence import Evidence
from policies.recalling_model import RecallingModel
from policies.slate_baselines import CapFreeGreedySlatePolicy
from service.evaluate.berserk import index_for_day, naive_shares
from service.evaluate.policy_values import answered
from service.reports.context import ReportContext, covers_zero, iso, verdict
from service.reports.pooled import record
from service.reports.prompt_pass import prompt_pass, register
from service.reports.prompts import binomial, num, span

DAY_MS = 86_400_000
#: The derived-context key holding recent berserk exposure (service/decide/prompt_state.py).
EXPOSURE_KEY = "berserk_share"
#: (bin, low edge, high edge): the first is exactly 0, the others (low, high].
BINS: tuple[tuple[str, float, float], ...] = (("0", 0.0, 0.0), ("(0, 0.2]", 0.0, 0.2), ("(0.2, 0.4]", 0.2, 0.4),
                                              ("> 0.4", 0.4, 1.0))


def bin_of(share: float) -> int:
    """>>> [bin_of(x) for x in (0.0, 0.05, 0.2, 0.2001, 0.4, 0.9)]
    [0, 1, 1, 2, 2, 3]"""
    if share <= 0:
        return 0
    return next((i for i, (_, _, high) in enumerate(BINS) if i and share <= high), len(BINS) - 1)

def berserk_days(ctx: ReportContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    """(rows per day and feedback value, per-day counts, likes behind each row) for UTC
    days starting in the window; the per-like changes are recorded for the pooled figures."""
    history = ctx.sources.history
    rows, days, counted = [], [], []
    changes: dict[str, list[float]] = {"up": [], "double_up": []}
    day = -(-ctx.since_ms // DAY_MS) * DAY_MS  # first UTC midnight at or after since
    while day < ctx.until_ms:
        index = index_for_day(history, ctx.sources.catalogue, day)
        date = iso(day)[:10]
        days.append({"day": date, "likes": index.likes, "skipped": index.skipped, "overall": index.overall})
        for feedback, value in (("up", index.up), ("double_up", index.double_up)):
            changes[feedback] += index.changes.get(feedback, ())
            if value is not None:
                low, high = index.interval(feedback, ctx.alpha)
                rows.append({"day": date, "feedback": feedback, "index": value, "low": low, "high": high})
                counted.append(len(index.changes.get(feedback, ())))
        day += DAY_MS
    for feedback, values in changes.items():
        record(ctx, f"berserk.{feedback}", Evidence.of_values(values))
    return rows, days, counted


def naive_recommender(ctx: ReportContext) -> dict[str, Any]:
    """The index a recommender without the caps would have had on the same logged slates:
    the cap-free greedy target (the model live at the window's start) replayed on each
    liking user's slates of the next day (service/evaluate/berserk.py)."""
    model, version = ctx.sources.slate_models.as_of(ctx.since_ms)
    target = CapFreeGreedySlatePolicy(RecallingModel(model))  # type: ignore[arg-type]
    served: list[float] = []
    naive: list[float] = []
    day = -(-ctx.since_ms // DAY_MS) * DAY_MS
    while day < ctx.until_ms:
        found = naive_shares(ctx.sources.history, ctx.sources.catalogue, day, target)
        served += found.served
        naive += found.naive
        day += DAY_MS
    differences = [n - s for n, s in zip(naive, served)]
    record(ctx, "berserk.caps", Evidence.of_values(differences))
    out: dict[str, Any] = {"likes": len(served), "model_version": version,
                           "served_share": sum(served) / len(served) if served else None,
                           "naive_share": sum(naive) / len(naive) if naive else None,
                           "difference": None, "low": None, "high": None}
    if len(differences) >= 2:
        mean = sum(differences) / len(differences)
        sd = math.sqrt(sum((x - mean) ** 2 for x in differences) / (len(differences) - 1))
        half = float(stats.t.ppf(1 - ctx.alpha / 2, len(differences) - 1)) * sd / math.sqrt(len(differences))
        out.update(difference=mean, low=mean - half, high=mean + half)
    return out


def naive_verdict(ctx: ReportContext, naive: Mapping[str, Any]) -> dict[str, Any]:
    if naive["likes"] < 2 or naive["difference"] is None:
        return verdict("not_enough_data", "Not enough data to tell how much a recommender without the caps would "
                       f"over-react: {naive['likes']} likes with slates the day after.")
    return verdict("info", f"Without the caps, {100 * naive['naive_share']:.0f} % of slots the day after a like would "
                   f"come from the liked item's category or creator; elicit served {100 * naive['served_share']:.0f} % "
                   f"({naive['likes']} likes; difference {num(naive['difference'])}, "
                   f"{span(ctx, naive['low'], naive['high'])}).")


class ExposureTally:
    """Asked prompts and answers per exposure bin, fed by the prompt pass (joined prompts;
    those that asked count)."""

    def __init__(self, ctx: ReportContext) -> None:
        self.prompts, self.answers, self.missing = [0] * len(BINS), [0] * len(BINS), 0

    def add(self, chunk: Sequence[Mapping[str, Any]]) -> None:

        for decision in chunk:
            if decision.get("ask") != True:  # noqa: E712 — the query's ``ask: True``, as the server matches it
                continue
            share = (decision.get("derived") or {}).get(EXPOSURE_KEY)
            if not isinstance(share, (int, float)):
                self.missing += 1
                continue
            index = bin_of(float(share))
            self.prompts[index] += 1
            self.answers[index] += int(answered(decision))


register("over_reaction", ExposureTally)


def answer_rate_by_exposure(ctx: ReportContext) -> tuple[list[dict[str, Any]], int]:
    """(a row per bin, asked prompts without an exposure feature) over joined asked prompts."""
    tally = prompt_pass(ctx)["over_reaction"]
    rows = []
    for (name, low, high), n, k in zip(BINS, tally.prompts, tally.answers):
        rate = binomial(k, n, ctx.alpha)
        rows.append({"bin": name, "low_edge": low, "high_edge": high, "prompts": n, "answered": k,
                     "answer_rate": rate["rate"], "low": rate["low"], "high": rate["high"]})
    return rows, tally.missing


def exposure_verdict(ctx: ReportContext, rows: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Exposed (share > 0) minus unexposed answer rate, with a Wald interval for a
    difference of two independent proportions."""
    n0, k0 = rows[0]["prompts"], rows[0]["answered"]
    n1, k1 = sum(r["prompts"] for r in rows[1:]), sum(r["answered"] for r in rows[1:])
    if n0 + n1 == 0:
        return None
    what = "whether prompts are answered less often after slates over-reacted to a like"
    if min(n0, n1) < ctx.min_decisions:
        return verdict("not_enough_data", f"Not enough data to tell {what}: {n1} prompts to users with recent berserk "
                       f"exposure, {n0} without (at least {ctx.min_decisions} each needed).")
    p0, p1 = k0 / n0, k1 / n1
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    half = float(stats.norm.ppf(1 - ctx.alpha / 2)) * se
    diff, low, high = p1 - p0, p1 - p0 - half, p1 - p0 + half
    p_value = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else None
    if covers_zero(low, high):
        return verdict("not_enough_data", f"Not enough data to tell {what} (exposed − unexposed answer rate "
                       f"{num(diff)}, {span(ctx, low, high)}).", p_value=p_value)
    direction = "less" if diff < 0 else "more"
    return verdict("finding", f"Prompts to users with recent berserk exposure were answered {100 * abs(diff):.1f} "
                   f"percentage points {direction} often than to users without ({span(ctx, low, high)}); an "
                   "association, not a measured effect: exposure was not randomised.", p_value=p_value)


def _t_p_value(mean: float, low: float | None, high: float | None, n: int, alpha: float) -> float | None:
    """Two-sided p-value of the t-test behind a t-interval ``[low, high]`` at level 1 − alpha."""
    if low is None or high is None or n < 2:
        return None
    se = (high - low) / (2 * float(stats.t.ppf(1 - alpha / 2, n - 1)))
    return float(2 * stats.t.sf(abs(mean) / se, n - 1)) if se > 0 else float(mean == 0)


def berserk_verdicts(ctx: ReportContext, rows: list[Mapping[str, Any]], counted: list[int]) -> list[dict[str, Any]]:
    found = []
    for row, likes in zip(rows, counted):
        about = {"day": row["day"], "feedback": row["feedback"], "p_value": _t_p_value(row["index"], row["low"],
                                                                                       row["high"], likes, ctx.alpha)}
        what = f"whether slates over-reacted to {row['feedback']} likes of the day before {row['day']}"
        if likes < ctx.min_decisions or covers_zero(row["low"], row["high"]):
            found.append(verdict("not_enough_data", f"Not enough data to tell {what}: index {num(row['index'])} from "
                                 f"{likes} likes, {span(ctx, row['low'], row['high'])}.", **about))
        else:
            direction = "more" if row["index"] > 0 else "fewer"
            article = "an" if row["feedback"] == "up" else "a"
            found.append(verdict("finding", f"After {article} {row['feedback']}, slates on {row['day']} held "
                                 f"{100 * abs(row['index']):.1f} percentage points {direction} slots from the liked "
                                 f"category or creator than before ({span(ctx, row['low'], row['high'])}).", **about))
    return found


def over_reaction(ctx: ReportContext) -> dict[str, Any]:
    rows, days, counted = berserk_days(ctx)
    exposure, missing = answer_rate_by_exposure(ctx) if ctx.counts()["prompt"] else ([], 0)
    has_prompts = any(r["prompts"] for r in exposure)
    verdicts = berserk_verdicts(ctx, rows, counted)
    naive = naive_recommender(ctx)
    verdicts.append(naive_verdict(ctx, naive))
    if has_prompts and (line := exposure_verdict(ctx, exposure)) is not None:
        verdicts.append(line)
    if rows or has_prompts:
        status, note = "ok", None
    else:
        status, note = "no_data", "no likes with slates before and after them, and no joined prompts that asked, in the window"
    return {
        "status": status,
        "note": note,
        "alpha": ctx.alpha,
        "berserk_days": days,  # {"day", "likes" counted, "skipped", "overall"}
        "berserk_index_by_day": rows,  # {"day", "feedback": "up"|"double_up", "index", "low", "high"}
        "naive_recommender": naive,  # the cap-free greedy target on the same next-day slates
        "exposure_key": EXPOSURE_KEY,
        "prompts_without_exposure": missing,
        "answer_rate_by_exposure": exposure if has_prompts else [],
        "verdicts": verdicts,
    }
