"""Report sections about feedback prompts: ``prompt_strategies``, ``visibility_effect``,
``format_effect``. Placeholders with the final shape (docs/report.md) until prompt
decisions and their off-policy targets exist (issue 4).

Each function returns the documented keys with empty lists and nulls and a ``status``:
``no_data`` ("no prompt decisions in the window") or ``pending`` (prompt decisions exist,
the estimate is not computed yet). Never a made-up number. Issue 4 replaces the bodies
of these three functions; the registry (:mod:`service.reports.sections`), the HTML page
and the figures already read the documented keys.
"""

from __future__ import annotations

from typing import Any

from service.reports.context import ReportContext

PENDING = "prompt decisions exist in the window; this estimate is computed once prompt off-policy targets land (issue 4)"


def prompt_status(ctx: ReportContext) -> dict[str, Any]:
    """``status``/``note``/``decisions`` shared by the prompt placeholders."""
    n = ctx.counts()["prompt"]
    if n == 0:
        return {"status": "no_data", "note": "no prompt decisions in the window", "decisions": 0}
    return {"status": "pending", "note": PENDING, "decisions": n}


def prompt_strategies(ctx: ReportContext) -> dict[str, Any]:
    """Every baseline prompt policy and the live learned one, valued on the log.

    ``policies`` rows: ``{"policy", "description", "decisions", "value": {value, low, high},
    "answer_rate": {...}, "annoyance_rate": {...}, "diagnostics": {...}, "vs_live": {difference,
    low, high, p_value, decisions} | null}``.
    """
    return {**prompt_status(ctx), "estimator": "SNIPS", "alpha": ctx.alpha, "policies": [], "verdicts": []}


def visibility_effect(ctx: ReportContext) -> dict[str, Any]:
    """Answer rate of "always public" minus "always private", format held as logged."""
    return {
        **prompt_status(ctx),
        "metric": "answer_rate",
        "a": "always_public",
        "b": "always_private",
        "alpha": ctx.alpha,
        "difference": None,
        "low": None,
        "high": None,
        "p_value": None,
        "by_segment": [],  # {"segment", "decisions", "difference", "low", "high", "p_value"}
        "answer_rate_by_day": [],  # {"day", "visibility", "format", "prompts", "answered", "rate", "low", "high"}
        "verdicts": [],
    }


def format_effect(ctx: ReportContext) -> dict[str, Any]:
    """Single vs graded thumbs: answer rate and information per prompt (bits)."""
    empty = {"prompts": 0, "answer_rate": None, "bits_per_prompt": None}  # the two as {value, low, high}
    return {
        **prompt_status(ctx),
        "alpha": ctx.alpha,
        "single": dict(empty),
        "graded": dict(empty),
        "difference": {"answer_rate": None, "bits_per_prompt": None},  # graded − single: {difference, low, high, p_value}
        "verdicts": [],
    }
