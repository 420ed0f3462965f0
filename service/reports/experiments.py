"""Report section ``experiments``: user-level experiments, arm against arm.

For every experiment that started before the report's end, over the whole experiment so
far (``start`` to the report's end or the stop, whichever is first — not the night
alone: its users are the unit, and a user's outcomes accumulate), per arm: users,
decisions, and per-user outcomes — likes given per slate shown (``up``/``double_up``
feedback, prompted or not), prompt answer rate (thumbs given per prompt shown),
consumption per slate (consumed or purchased items per slate), active days per user —
and the berserk index of the arm's slates (policies/berserk.py: how much the day after a
like was flooded with its category or creator).

Each arm after the first is compared with the first (the control, by convention):
ratios of sums with user-level (cluster-robust) confidence sequences
(bandit/ope/experiment.py), valid however many nights they are read; findings across an
experiment's metrics are controlled with Benjamini–Hochberg over the anytime p-values.
Forgotten users (their decisions tombstoned) are left out: they no longer are anyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from bandit.ope.experiment import ArmContrast, ArmMetric, contrast
from bandit.ope.multiple import benjamini_hochberg
from bandit.ope.sequence import ConfidenceSequence
from policies.berserk import DAY_MS, Like, Slot, berserk_index
from service.decide.experiments import Arm, Experiment
from service.reports.context import ReportContext, finite, iso
from service.store.experiments import decisions_query
from service.store.privacy import TOMBSTONE

CONSUMED = ("consume", "purchase")
COUNTED = ("likes_per_slate", "active_days")  # "fewer" likes, days; "less" of a rate
ANSWERS = ("thumbs_down", "thumbs_up", "double_thumbs_up")
#: Users at which the experiments' sequences are tightest (any fixed value keeps them valid).
TIGHTEST_AT = 2_000.0
#: Relative differences smaller than this either way are "no difference" in a verdict.
RELATIVE_RESOLUTION = 0.10
#: metric → (numerator, denominator, what a difference says, noun of the amount)
METRICS: dict[str, tuple[str, str, str]] = {
    "likes_per_slate": ("likes", "slates", "gave {amount} {direction} likes per slate shown"),
    "answer_rate": ("answered", "shown", "answered {amount} {direction} of the prompts they were shown"),
    "consumption_per_slate": ("consumed", "slates", "consumed {amount} {direction} per slate"),
    "active_days": ("days", "one", "were active on {amount} {direction} days"),
}


LABELS = {"likes_per_slate": "likes per slate shown", "answer_rate": "prompt answer rate",
          "consumption_per_slate": "consumption per slate", "active_days": "active days"}


def who(arm: Arm) -> str:
    """How a verdict names the users of an arm."""
    over, visibility = arm.settings.over_reaction, arm.settings.prompt_visibility
    parts = []
    if over is not None:
        parts.append("whose slates over-reacted to a" + (" double up" if over.on == "double_up" else " like"))
    if visibility is not None:
        parts.append(f"asked only in {visibility}")
    return f"users {' and '.join(parts)} (arm {arm.name!r})" if parts else f"users of arm {arm.name!r}"


def _tally(ctx: ReportContext, experiment: Experiment, until_ms: int) -> tuple[dict[str, dict[str, float]], dict[str, str],
                                                                              dict[str, Any]]:
    """Per user: counts over the experiment; each user's arm; likes and slots for the berserk index."""
    store = ctx.sources.experiments
    arms = [arm.name for arm in experiment.arms]
    query = decisions_query(experiment.name, arms, experiment.start_ms, until_ms)
    users: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    arm_of: dict[str, str] = {}
    days: dict[str, set[int]] = defaultdict(set)
    slates: list[str] = []
    owner: dict[str, str] = {}
    slots: dict[str, list[Slot]] = defaultdict(list)
    decisions = 0
    for doc in ctx.store.iter_decisions(query, light=True):  # what per-user outcomes need: no features
        user = doc["user"]
        if user == TOMBSTONE:
            continue
        decisions += 1
        arm_of[user] = doc["experiments"][experiment.name]
        tally = users[user]
        days[user].add(int(doc["t"]) // DAY_MS)
        if doc["kind"] == "slate":
            tally["slates"] += 1
            slates.append(doc["_id"])
            owner[doc["_id"]] = user
            slots[user] += [Slot(int(doc["t"]), c.get("category"), c.get("creator")) for c in doc.get("chosen") or []]
        elif doc.get("ask"):
            tally["shown"] += 1
            response = doc.get("response") or {}
            tally["answered"] += response.get("type") in ANSWERS
    for event_id, outcomes in ctx.store.outcomes_for(slates).items():
        for outcome in outcomes:
            users[owner[event_id]]["consumed"] += sum(o.get("type") in CONSUMED for o in outcome.get("outcomes") or [])
    likes = []
    for fb in store.feedback_between(sorted(arm_of), experiment.start_ms, until_ms):
        if fb.get("value") in ("up", "double_up"):
            users[fb["user"]]["likes"] += 1
            likes.append(Like(fb["user"], fb["item_id"], fb["value"], int(fb["t"]), fb.get("category"), fb.get("creator")))
    for user, active in days.items():
        users[user]["days"] = float(len(active))
        users[user]["one"] = 1.0
    return users, arm_of, {"likes": likes, "slots": slots, "decisions": decisions}


def _berserk(likes: list[Like], slots: Mapping[str, list[Slot]], members: set[str], since_ms: int,
             until_ms: int) -> dict[str, Any]:
    changes: list[float] = []
    day = -(-since_ms // DAY_MS) * DAY_MS + DAY_MS  # likes of a whole day inside the experiment
    while day < until_ms:
        index = berserk_index([x for x in likes if x.user in members and day - DAY_MS <= x.t < day], slots, day)
        changes += [c for values in index.changes.values() for c in values]
        day += DAY_MS
    mean = float(np.mean(changes)) if changes else None
    return {"index": mean, "likes_counted": len(changes)}


def _line(metric: str, treatment: Arm, control: Arm, result: ArmContrast, found: bool, level: int, days: float,
          users: int) -> dict[str, Any]:
    template = METRICS[metric][2]
    rel = result.relative
    basis = f"after {days:.0f} day(s), {users:,} users"
    span = f"{level} % confidence sequence [{rel.low:+.0%}, {rel.high:+.0%}]" if np.isfinite(rel.low) else ""
    if not np.isfinite(rel.estimate) or not np.isfinite(rel.low):
        return {"verdict": "not_enough_data", "text": f"{LABELS[metric]}: not enough data yet ({basis})."}
    fewer = "fewer" if metric in COUNTED else "less"
    said = template.format(amount=f"{abs(rel.estimate):.0%}", direction="more" if rel.estimate > 0 else fewer)
    if found:
        return {"verdict": "finding", "text": f"{who(treatment).capitalize()} {said} than those of arm "
                                              f"{control.name!r} ({span}, {basis})."}
    if -RELATIVE_RESOLUTION < rel.low and rel.high < RELATIVE_RESOLUTION:
        return {"verdict": "no_effect", "text": f"{who(treatment).capitalize()}: no difference in {LABELS[metric]} larger than "
                                                f"{RELATIVE_RESOLUTION:.0%} either way against {control.name!r} "
                                                f"({span}, {basis})."}
    return {"verdict": "not_enough_data", "text": f"{who(treatment).capitalize()}: {LABELS[metric]} {rel.estimate:+.0%} against "
                                                  f"{control.name!r}, not yet distinguishable from no difference "
                                                  f"({span}, {basis})."}


def one_experiment(ctx: ReportContext, experiment: Experiment) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                                         list[dict[str, Any]]]:
    """(summary, a row per arm, a row per contrast) of one experiment."""
    until = min(ctx.until_ms, experiment.stop_ms or ctx.until_ms)
    users, arm_of, extra = _tally(ctx, experiment, until)
    members = {arm.name: {u for u, a in arm_of.items() if a == arm.name} for arm in experiment.arms}
    arm_rows = []
    metrics: dict[str, dict[str, ArmMetric]] = {m: {} for m in METRICS}
    for arm in experiment.arms:
        who_ = sorted(members[arm.name])
        row: dict[str, Any] = {"experiment": experiment.name, "arm": arm.name, "users": len(who_),
                               "settings": arm.settings.as_dict()}
        for metric, (num, den, _) in METRICS.items():
            values = ArmMetric.of([users[u][num] for u in who_], [users[u][den] for u in who_])
            metrics[metric][arm.name] = values
            row[metric] = finite(values.value)
        berserk = _berserk(extra["likes"], extra["slots"], members[arm.name], experiment.start_ms, until)
        row.update(berserk_index=berserk["index"], likes_counted=berserk["likes_counted"])
        arm_rows.append(row)
    sequence = ConfidenceSequence(ctx.alpha, TIGHTEST_AT)
    control = experiment.arms[0]
    contrasts = [(metric, arm, contrast(metrics[metric][arm.name], metrics[metric][control.name], sequence))
                 for arm in experiment.arms[1:] for metric in METRICS]
    found = benjamini_hochberg([c.p_value for _, _, c in contrasts], q=ctx.alpha)
    level = int(round(100 * (1 - ctx.alpha)))
    days = max(0.0, (until - experiment.start_ms) / DAY_MS)
    rows = []
    for (metric, arm, result), is_found in zip(contrasts, found):
        line = _line(metric, arm, control, result, is_found, level, days, sum(result.users))
        rows.append({"experiment": experiment.name, "metric": metric, "arm": arm.name, "control": control.name,
                     "treatment_value": finite(result.treatment), "control_value": finite(result.control),
                     "difference": finite(result.difference.estimate), "low": finite(result.difference.low),
                     "high": finite(result.difference.high), "relative": finite(result.relative.estimate),
                     "relative_low": finite(result.relative.low), "relative_high": finite(result.relative.high),
                     "p_value": result.p_value, "users": list(result.users), "verdict": line["verdict"],
                     "text": line["text"]})
    summary = {"name": experiment.name, "since": iso(experiment.start_ms), "until": iso(until), "days": days,
               "decisions": extra["decisions"], "users": len(arm_of)}
    return summary, arm_rows, rows


def experiments_section(ctx: ReportContext) -> dict[str, Any]:
    """``experiments`` (one summary each), ``arms`` and ``contrasts`` (rows naming their
    experiment: the page renders each list as one table)."""
    store = ctx.sources.experiments
    empty = {"verdicts": [], "experiments": [], "arms": [], "contrasts": []}
    if store is None:
        return {"status": "no_data", "note": "no experiment store", **empty}
    running = [e for e in (Experiment.of(doc) for doc in store.all()) if e.start_ms < ctx.until_ms]
    if not running:
        return {"status": "no_data", "note": "no experiment has started", **empty}
    summaries, arms, contrasts = [], [], []
    for experiment in running:
        summary, arm_rows, contrast_rows = one_experiment(ctx, experiment)
        summaries.append(summary)
        arms += arm_rows
        contrasts += contrast_rows
    verdicts = [{"level": "info" if row["verdict"] == "no_effect" else row["verdict"],
                 "text": f"{row['experiment']}: {row['text']}"} for row in contrasts]
    return {"status": "ok", "note": None, "method": f"user-level ratios of sums, {int(round(100 * (1 - ctx.alpha)))} % "
            "confidence sequences (cluster-robust, by user); each arm against the first; findings controlled with "
            "Benjamini–Hochberg within an experiment", "experiments": summaries, "arms": arms, "contrasts": contrasts,
            "verdicts": verdicts}
