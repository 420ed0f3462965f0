"""Auto-optimize: an offline evaluation of each kind every ``AUTO_OPTIMIZE_DAYS``, applied by
the same rule as a manual apply (the optimized setting's value and lower bound must beat the
live setting's), keeping the newest 24 runs (service/store/settings.py).

Exactly one worker runs it: the ``auto-optimize`` lease in ``locks``, taken the way the
nightly report takes its own (service/reports/scheduler.py), for ``REPORT_LEASE_S``. A run
is due when the newest automatic evaluation of the kind is ``AUTO_OPTIMIZE_DAYS`` old (event
time) or there is none; it covers the ``AUTO_OPTIMIZE_DAYS`` before now. A kind with fewer
than ``EVALUATION_MIN_DECISIONS`` joined decisions in that window is skipped until it has them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from bandit.errors import ElicitError, InvalidInput
from service.core.clock import Clock
from service.core.errors import ApplyRefused
from service.runtime.evaluations import KINDS, Evaluations
from service.store import Store
from service.store.settings import SettingsStore

log = logging.getLogger("elicit")
LEASE = "auto-optimize"
DAY_MS = 86_400_000


class AutoOptimizer:
    def __init__(self, store: Store, settings: SettingsStore, evaluations: Evaluations, config: Mapping[str, Any],
                 clock: Clock) -> None:
        self.store, self.settings, self.evaluations, self.clock = store, settings, evaluations, clock
        self.days = float(config["AUTO_OPTIMIZE_DAYS"])
        self.lease_ms = int(float(config["REPORT_LEASE_S"]) * 1000)
        self.holder = uuid.uuid4().hex

    @property
    def enabled(self) -> bool:
        return self.days > 0

    def due(self, kind: str, now_ms: int) -> bool:
        newest = self.settings.newest_evaluation(kind, "auto")
        return newest is None or now_ms - int(newest["created_at"]) >= self.days * DAY_MS

    def run_due(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        """The runs made now (none when off, not due, or another worker holds the lease)."""
        if not self.enabled:
            return []
        now_ms = self.clock.now_ms() if now_ms is None else now_ms
        if not any(self.due(kind, now_ms) for kind in KINDS):
            return []
        if not self.store.acquire_lease(LEASE, self.holder, now_ms, self.lease_ms):
            return []
        runs: list[dict[str, Any]] = []
        try:
            for kind in [kind for kind in KINDS if self.due(kind, now_ms)]:
                found = self._run(kind, now_ms)
                if found is not None:
                    runs.append(found)
        finally:
            self.store.release_lease(LEASE, self.holder)
        return runs

    def _run(self, kind: str, now_ms: int) -> dict[str, Any] | None:
        since = now_ms - int(self.days * DAY_MS)
        try:
            doc = self.evaluations.start(kind, since, now_ms, run="auto", background=False)
        except InvalidInput as exc:  # too few decisions: not an error, just not yet
            log.info("auto-optimize %s: skipped: %s", kind, exc.message)
            return None
        if doc["status"] != "done":
            return doc
        try:
            outcome: dict[str, Any] = {"applied": True, **self.evaluations.apply(doc["_id"], "optimized")}
        except ApplyRefused as exc:
            outcome = {"applied": False, "reason": exc.message, **exc.bounds}
        except ElicitError as exc:
            outcome = {"applied": False, "reason": exc.message}
        self.settings.update_evaluation(doc["_id"], {"auto": outcome})
        return {**doc, "auto": outcome}

    def wake(self) -> None:
        try:
            self.run_due()
        except Exception:
            log.exception("auto-optimize failed; it will be retried")
