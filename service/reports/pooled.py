"""Evidence pooled across nights: tonight's figures beside everything since the start.

Every section records the mergeable statistics behind each of its questions
(:func:`record`, an :class:`~bandit.ope.evidence.Evidence` per question). The report
stores them (``evidence``), and a nightly report pools them with the evidence the
earlier nightly reports stored (``Store.nightly_evidence``) — never by reading old
decisions again. Where the pooling starts: ``REPORT_SINCE`` (default: the first nightly
report), or the last ``REPORT_HISTORY_DAYS`` days when that is later. Nights whose
windows overlap an already pooled one (``REPORT_WINDOW_DAYS`` > 1) are left out, so no
decision counts twice. An on-demand report pools its own window only.

The pooled figure's interval is a confidence sequence (:mod:`bandit.ope.sequence`): it
may be read every night. Each night's own figure keeps its fixed-sample interval, and
both are in the figure's ``series`` for the page's nights-in-sequence plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy import stats

from bandit.ope.evidence import Evidence
from bandit.ope.sequence import ConfidenceSequence
from service.core.clock import epoch_ms
from service.reports.context import ReportContext, finite, iso

KEY = "evidence"
DAY_MS = 86_400_000
#: Units (prompts asked, slates, likes) at which the confidence sequence is tightest. Any
#: fixed value keeps it valid; from a few hundred to ~50,000 units its width stays within
#: ~25 % of the narrowest a sequence tuned to that size would have.
TIGHTEST_AT = 5_000.0
#: Traffic for "when will we know" is the last week's.
RATE_DAYS = 7


def record(ctx: ReportContext, key: str, evidence: Evidence) -> None:
    """A section's statistics behind question ``key``, for the store and the pooling."""
    ctx.shared.setdefault(KEY, {})[key] = evidence


def recorded(ctx: ReportContext) -> dict[str, Evidence]:
    return dict(ctx.shared.get(KEY, {}))


@dataclass(frozen=True)
class Night:
    report_id: str
    since_ms: int
    until_ms: int
    evidence: Mapping[str, Evidence]


def parse_since(value: Any) -> int | None:
    """``REPORT_SINCE``: epoch ms, an ISO date/time (UTC unless it says), or unset.

    >>> parse_since("2026-01-02"), parse_since(5), parse_since(None)
    (1767312000000, 5, None)
    """
    if value is None or value == "":
        return None
    return epoch_ms(value)


def start_of_pooling(config: Mapping[str, Any], until_ms: int) -> int | None:
    """The earliest window start that counts, or None (every stored night): the pooled
    figure covers at most the last ``REPORT_HISTORY_DAYS`` days up to tonight's end."""
    start = parse_since(config.get("REPORT_SINCE"))
    days = int(config.get("REPORT_HISTORY_DAYS") or 0)
    if days > 0:
        recent = until_ms - days * DAY_MS
        start = recent if start is None else max(start, recent)
    return start


def nights(ctx: ReportContext, tonight: Mapping[str, Evidence], report_id: str, nightly: bool) -> list[Night]:
    """The nights pooled, oldest first, tonight last."""
    own = Night(report_id, ctx.since_ms, ctx.until_ms, tonight)
    if not nightly:
        return [own]
    start = start_of_pooling(ctx.config, ctx.until_ms)
    pooled: list[Night] = []
    for doc in ctx.store.nightly_evidence(-1 if start is None else start - 1, ctx.since_ms):
        window = doc.get("window") or {}
        since, until = int(window.get("since", 0)), int(window.get("until", doc.get("until", 0)))
        if (start is not None and since < start) or (pooled and since < pooled[-1].until_ms) or until > ctx.since_ms:
            continue  # before the start, or overlapping a night already pooled
        evidence = {key: Evidence.from_dict(value) for key, value in (doc.get("evidence") or {}).items()}
        pooled.append(Night(str(doc["_id"]), since, until, evidence))
    return [*pooled, own]


def fixed(evidence: Evidence, alpha: float) -> dict[str, float | int | None]:
    """One night's own figure: estimate and fixed-sample t-interval (looked at once)."""
    found = evidence.linearised()
    if found is None:
        return {"estimate": None, "low": None, "high": None, "n": evidence.n}
    estimate, sd, n = found
    if n < 2:
        return {"estimate": finite(estimate), "low": None, "high": None, "n": n}
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    return {"estimate": finite(estimate), "low": finite(estimate - half), "high": finite(estimate + half), "n": n}


def sequence(evidence: Evidence, cs: ConfidenceSequence) -> dict[str, float | int | None]:
    """The pooled figure: estimate, confidence-sequence interval, anytime p-value."""
    found = evidence.linearised()
    if found is None:
        return {"estimate": None, "low": None, "high": None, "sd": None, "n": evidence.n, "p_value": None}
    estimate, sd, n = found
    interval = cs.interval(estimate, sd, n)
    return {"estimate": finite(estimate), "low": finite(interval.low), "high": finite(interval.high),
            "sd": finite(sd), "n": n, "p_value": cs.p_value(estimate, sd, n) if n >= 2 else None}


def pool(ctx: ReportContext, report_id: str, nightly: bool) -> dict[str, dict[str, Any]]:
    """Per question: the pooled figure with its confidence sequence, since when, the
    recent traffic (units per day) and every night's own and cumulative figures."""
    cs = ConfidenceSequence(ctx.alpha, TIGHTEST_AT)
    history = nights(ctx, recorded(ctx), report_id, nightly)
    keys = list(dict.fromkeys(key for night in history for key in night.evidence))
    figures: dict[str, dict[str, Any]] = {}
    for key in keys:
        total: Evidence | None = None
        series, first = [], None
        for night in history:
            part = night.evidence.get(key)
            if part is None or part.n == 0:  # a night with nothing to say is not a night of evidence
                continue
            first = night.since_ms if first is None else first
            total = part if total is None else total + part
            series.append({"night": night.report_id, "until": iso(night.until_ms), **fixed(part, ctx.alpha),
                           "cumulative": sequence(total, cs)})
        if total is None:
            continue
        recent = [n for n in history if n.until_ms > ctx.until_ms - RATE_DAYS * DAY_MS and key in n.evidence]
        # traffic counts every recent night, empty ones too: a quiet night is slow traffic
        days = sum(n.until_ms - n.since_ms for n in recent) / DAY_MS
        design = total.design_ess()
        figures[key] = {
            "key": key, "kind": total.kind, **sequence(total, cs), "method": "confidence sequence",
            "since": iso(first) if first is not None else None, "nights": len(series),
            "units_per_day": sum(n.evidence[key].n for n in recent) / days if days > 0 else 0.0,
            "design_ess": finite(design), "design_concern": total.concern(), "series": series,
        }
    return figures


def stored(ctx: ReportContext) -> dict[str, Any]:
    """The report's own evidence, as stored with it (what later nights pool)."""
    return {key: evidence.to_dict() for key, evidence in recorded(ctx).items()}
