"""What every report section is given, and the small helpers they share.

A section is a function ``section(ctx) -> dict`` (see :mod:`service.reports.sections`).
``ctx`` holds what the report reads (:class:`ReportSources`), the window, the interval level, a progress sink and the
results of the sections that ran before it (``ctx.results``), so a later section — data
health — can read an earlier one's diagnostics without a second pass over the log.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bandit.actions import ActionModel
from bandit.ope import Interval
from bandit.slates import SlateModel
from policies.prompts import PromptAction
from service.core.clock import Clock
from service.store import Store
from service.store.experiments import ExperimentStore
from service.store.models import ModelRegistry
from service.store.state import CatalogueStore, SlateHistoryStore

#: Decision kinds a report knows about (docs/design.md, "Collections").
KINDS = ("slate", "prompt")



class Progress(Protocol):
    """What a tqdm bar offers and the builder uses: a settable total and ``update``."""

    total: float | None

    def update(self, n: float = 1) -> Any: ...


class NoProgress:
    total: float | None = None

    def update(self, n: float = 1) -> None:
        return None


@dataclass(frozen=True)
class ReportSources:
    """What a report reads: the log, the published models, the configuration. The process's
    runtime fills it in (service/runtime/process.py)."""

    store: Store
    config: Mapping[str, Any]
    clock: Clock
    slate_models: ModelRegistry[SlateModel]
    prompt_models: ModelRegistry[ActionModel]
    #: the prompt policy's configured actions (PROMPT_ACTIONS)
    prompt_actions: Sequence[PromptAction]
    #: likes and served slots for the berserk index
    history: SlateHistoryStore
    catalogue: CatalogueStore
    #: experiment definitions and their users' feedback (None: the section says so)
    experiments: ExperimentStore | None = None
    #: runs the slate pass in time partitions (service/reports/partitions.py); None: one pass here
    partitions: Any = None


@dataclass
class ReportContext:
    sources: ReportSources
    since_ms: int
    until_ms: int
    alpha: float = 0.05
    min_decisions: int = 100
    progress: Progress = field(default_factory=NoProgress)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What one section's pass over the log leaves for a later one (one read, not two).
    shared: dict[str, Any] = field(default_factory=dict)
    _counts: dict[str, int] | None = None

    @property
    def store(self) -> Store:
        return self.sources.store

    @property
    def config(self) -> Mapping[str, Any]:
        return self.sources.config

    def window_query(self, **extra: Any) -> dict[str, Any]:
        return {"t": {"$gte": self.since_ms, "$lt": self.until_ms}, **extra}

    def counts(self) -> dict[str, int]:
        """Decisions in the window: ``total`` and one entry per known kind (cached)."""
        if self._counts is None:
            counts = {kind: self.store.count_decisions(self.window_query(kind=kind)) for kind in KINDS}
            counts["total"] = self.store.count_decisions(self.window_query())
            self._counts = counts
        return self._counts

    def tracked(self, items: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Pass ``items`` through, advancing the progress bar by one per item."""
        for item in items:
            yield item
            self.progress.update(1)


def finite(value: float | None) -> float | None:
    """JSON (and the report) has no infinities or NaN: an undefined number is null.

    >>> finite(1.5), finite(float("inf")), finite(float("nan")), finite(None)
    (1.5, None, None, None)
    """
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def interval_dict(interval: Interval) -> dict[str, float | None]:
    return {"value": finite(interval.estimate), "low": finite(interval.low), "high": finite(interval.high)}


def iso(ms: int) -> str:
    """>>> iso(1_767_225_600_000)
    '2026-01-01T00:00:00Z'"""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def covers_zero(low: float | None, high: float | None) -> bool:
    """An interval that is undefined or contains 0 cannot tell a sign.

    >>> covers_zero(-0.1, 0.2), covers_zero(0.05, 0.2), covers_zero(None, 0.2)
    (True, False, True)
    """
    return low is None or high is None or low <= 0.0 <= high


def verdict(level: str, text: str, **about: Any) -> dict[str, Any]:
    """One plain-language line. Levels: ``finding``, ``not_enough_data``, ``warning``, ``info``."""
    return {"level": level, "text": text, **about}
