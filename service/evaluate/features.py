"""Feature importance: how much progressive-validation value is lost when a feature is left out.

For each namespace (VW's ``--ignore`` of its letter, which drops its interactions too)
and each top-level feature (the key removed from every decision's context, or from every
candidate's features, before the decisions are scored and learned), the setting is scored
again by progressive validation (service/evaluate/progressive.py), and the drop in value
from the full setting is its importance. Drops are scaled so the largest is 100 (a feature
whose removal helps scores 0). A drop's 95 % interval treats the two estimates as
independent — they are positively correlated, being on the same decisions, so it is
conservative (wider than a paired interval would be).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from service.evaluate.progressive import Decisions, Learning, Scored, progressive_value

NAMESPACES: dict[str, dict[str, str]] = {
    "slate": {"U": "context", "A": "item features", "I": "item identity", "S": "slot", "X": "satiation"},
    "prompt": {"U": "client context", "D": "derived context", "A": "action"},
}
Z95 = 1.959963984540054


def top_level_features(decisions: Iterable[Mapping[str, Any]], kind: str, sample: int = 1000) -> list[str]:
    """``context.<key>`` and (slates) ``item.<key>`` for every key seen in the first ``sample`` decisions.

    >>> top_level_features([{"context": {"g": 1}, "candidates": [{"id": "a", "features": {"genre": "x"}}]}], "slate")
    ['context.g', 'item.genre']
    """
    context: dict[str, None] = {}
    items: dict[str, None] = {}
    for decision in islice(decisions, sample):
        context.update(dict.fromkeys(decision.get("context") or {}))
        if kind == "slate":
            for candidate in decision.get("candidates") or ():
                items.update(dict.fromkeys(candidate.get("features") or {}))
    return [f"context.{key}" for key in context] + [f"item.{key}" for key in items]


def without(decision: Mapping[str, Any], feature: str) -> dict[str, Any]:
    """A copy of ``decision`` without the top-level ``feature`` (``context.<key>`` or ``item.<key>``).

    >>> without({"context": {"g": 1, "n": 2}}, "context.n")["context"]
    {'g': 1}
    >>> without({"candidates": [{"id": "a", "features": {"genre": "x", "n": 1}}]}, "item.genre")["candidates"]
    [{'id': 'a', 'features': {'n': 1}}]
    """
    where, _, key = feature.partition(".")
    copy = dict(decision)
    if where == "context":
        copy["context"] = {k: v for k, v in (decision.get("context") or {}).items() if k != key}
    elif where == "item":
        copy["candidates"] = [{**c, "features": {k: v for k, v in (c.get("features") or {}).items() if k != key}}
                              for c in decision.get("candidates") or ()]
    else:
        raise ValueError(f"not a top-level feature: {feature!r}")
    return copy


def feature_importance(decisions: Decisions, learning: Learning, vw_args: str, kind: str,
                       features: Iterable[str] | None = None, namespaces: bool = True) -> list[dict[str, Any]]:
    """One row per namespace and top-level feature, most important first (see the module doc)."""
    full = progressive_value(decisions, learning, vw_args)
    names = list(features) if features is not None else top_level_features(decisions(), kind)
    scored: list[tuple[str, Scored]] = []
    if namespaces:
        for letter, what in NAMESPACES[kind].items():
            scored.append((f"namespace {letter} ({what})", progressive_value(decisions, learning, f"{vw_args} --ignore {letter}")))
    for name in names:
        stripped: Decisions = lambda name=name: (without(d, name) for d in decisions())  # type: ignore[misc]  # noqa: E731
        scored.append((name, progressive_value(stripped, learning, vw_args)))
    rows = []
    for name, value in scored:
        drop = full.value - value.value
        half = Z95 * math.hypot(_se(full), _se(value))
        rows.append({"feature": name, "drop": drop, "low": drop - half, "high": drop + half, "value_without": value.value})
    top = max((row["drop"] for row in rows), default=0.0)
    scale = 100.0 / top if top > 0 else 0.0
    for row in rows:
        row["importance"] = max(row["drop"], 0.0) * scale
        row["importance_low"], row["importance_high"] = row["low"] * scale, row["high"] * scale
    rows.sort(key=lambda row: -row["drop"])
    return rows


def _se(scored: Scored) -> float:
    return (scored.interval.high - scored.interval.low) / (2 * Z95)
