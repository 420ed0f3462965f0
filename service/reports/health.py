"""Report section ``data_health``: can the log in this window answer anything at all?

Per decision kind: how many decisions, how many were activated and joined with their
outcomes (learned), what share was ignored, the smallest logged probability (a tiny one
means huge importance weights); the effective sample sizes of the slate section's
targets; and plain-language verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

from service.reports.context import ReportContext, verdict
from service.reports.prompt_pass import prompt_pass
from service.reports.window_pass import CHUNK, IGNORED, KindTally, tally_key

SMALL_PROBABILITY = 1e-3


def kind_health(ctx: ReportContext, kind: str) -> dict[str, Any]:
    """This kind's health, from a pass over the log unless an earlier section made one."""
    if kind == "prompt":  # the prompt sections' one pass counts them too
        prompt_pass(ctx)
    shared = ctx.shared.get(tally_key(kind))
    if shared is not None:
        return shared.result()
    tally = KindTally(kind)
    iterator = ctx.tracked(ctx.store.iter_decisions(ctx.window_query(kind=kind)))
    while batch := list(islice(iterator, CHUNK)):
        tally.add(ctx, batch)
    return tally.result()


def health_verdicts(ctx: ReportContext, counts: Mapping[str, int], kinds: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = []
    if counts["total"] == 0:
        return [verdict("not_enough_data", "Not enough data to tell anything: there are no decisions in the window.")]
    for kind, h in kinds.items():
        if h["decisions"] == 0:
            found.append(verdict("info", f"No {kind} decisions in the window.", kind=kind))
            continue
        if h["joined"] < ctx.min_decisions:
            found.append(verdict("not_enough_data", f"Not enough data to tell: {h['joined']} of {h['decisions']} {kind} "
                                 f"decisions are joined with their outcomes (at least {ctx.min_decisions} needed).", kind=kind))
        elif h["share_joined"] < 0.5:
            found.append(verdict("warning", f"Only {h['share_joined']:.0%} of {kind} decisions are joined: reward windows "
                                 "still open, decisions never activated, or the learner is behind.", kind=kind))
        if h["share_ignored"] is not None and h["share_ignored"] > 0.9:
            found.append(verdict("warning", f"{h['share_ignored']:.0%} of {h['ignored_means']}: check that clients "
                                 "report what happened.", kind=kind))
        if h["smallest_probability"] is not None and h["smallest_probability"] < SMALL_PROBABILITY:
            found.append(verdict("warning", f"The smallest logged {kind} probability is {h['smallest_probability']:.2g}: "
                                 "estimates for policies that favour such choices rest on huge weights.", kind=kind))
    return found


def health_section(ctx: ReportContext) -> dict[str, Any]:
    counts = ctx.counts()
    kinds = {kind: kind_health(ctx, kind) for kind in IGNORED}
    slates = ctx.results.get("slates", {})
    ess = {row["policy"]: row["diagnostics"]["effective_sample_size"] for row in slates.get("policies", [])}
    return {
        "status": "ok" if counts["total"] else "no_data",
        "note": None if counts["total"] else "no decisions in the window",
        "decisions": {"total": counts["total"], "by_kind": {kind: counts[kind] for kind in IGNORED}},
        "kinds": kinds,
        "effective_sample_size": {"slate": ess},
        "verdicts": health_verdicts(ctx, counts, kinds),
    }
