"""Report section ``over_reaction``: the berserk index and what it costs in answers.

``berserk_index_by_day`` is filled from :func:`service.berserk.index_for_day` (issue 5)
for every UTC day that starts inside the window: likes of day D−1 against the slates of
day D. That function returns means only, so ``low``/``high`` are null until it returns
the per-like changes an interval needs. ``answer_rate_by_exposure`` (prompt answers
against recent berserk exposure) waits for prompts (issue 4) and stays empty. Never a
made-up number: a day without countable likes has no row.
"""

from __future__ import annotations

from typing import Any

from service.reports.context import ReportContext, iso

DAY_MS = 86_400_000
PENDING = "prompt decisions exist; answer rate by berserk exposure is computed once prompts land (issue 4)"


def berserk_days(ctx: ReportContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows per day and feedback value, per-day counts) for UTC days starting in the window."""
    history = getattr(ctx.runtime, "history", None)
    if history is None:  # before issue 5's slate history store
        return [], []
    from service.berserk import index_for_day

    rows, days = [], []
    day = -(-ctx.since_ms // DAY_MS) * DAY_MS  # first UTC midnight at or after since
    while day < ctx.until_ms:
        index = index_for_day(history, ctx.runtime.catalogue, day)
        date = iso(day)[:10]
        days.append({"day": date, "likes": index.likes, "skipped": index.skipped, "overall": index.overall})
        for feedback, value in (("up", index.up), ("double_up", index.double_up)):
            if value is not None:
                rows.append({"day": date, "feedback": feedback, "index": value, "low": None, "high": None})
        day += DAY_MS
    return rows, days


def over_reaction(ctx: ReportContext) -> dict[str, Any]:
    rows, days = berserk_days(ctx)
    prompts = ctx.counts()["prompt"]
    if rows:
        status, note = "ok", None
    elif prompts:
        status, note = "pending", PENDING
    else:
        status, note = "no_data", "no likes with slates before and after them, and no prompt decisions, in the window"
    return {
        "status": status,
        "note": note,
        "alpha": ctx.alpha,
        "berserk_days": days,  # {"day", "likes" counted, "skipped", "overall"}
        "berserk_index_by_day": rows,  # {"day", "feedback": "up"|"double_up", "index", "low", "high"}
        "answer_rate_by_exposure": [],  # {"bin", "low_edge", "high_edge", "prompts", "answer_rate", "low", "high"}
        "verdicts": [],
    }
