"""One learner per deployment: the ``learner`` lease and the loop that holds it.

Whoever holds the lease ``learner`` in ``locks`` learns; everyone else stands by. The
holder renews it every pass (and before claiming and before publishing, as the pass's
guard), so a standby takes over at most ``LEARNER_LEASE_S`` after the holder died, and a
holder that stalled past its lease and was replaced stops before publishing. The lease is
only about liveness: exactly-once holds even when two learners overlap (the claims,
service/learn/learner.py).

Three runners share it: ``elicit learner`` (this loop in its own process), the in-process
background job of ``elicit serve`` (unless ``LEARNER`` is ``external``), and
``elicit learn --once``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from service.core.clock import Clock
from service.learn.learner import Learner, LearnPass
from service.store import Store

log = logging.getLogger("elicit")

LEASE = "learner"


class LearnerLease:
    """This process's claim on the ``learner`` lease (times in the runtime's clock)."""

    def __init__(self, store: Store, clock: Clock, ttl_s: float) -> None:
        self.store = store
        self.clock = clock
        self.ttl_ms = int(ttl_s * 1000)
        # Host and pid make ``locks`` readable by an operator; the suffix keeps it unique.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def renew(self) -> bool:
        return bool(self.store.renew_lease(LEASE, self.holder, self.clock.now_ms(), self.ttl_ms))

    def hold(self) -> bool:
        """Keep the lease if ours, else take it if free or expired; True if we hold it now."""
        return self.renew() or bool(self.store.acquire_lease(LEASE, self.holder, self.clock.now_ms(), self.ttl_ms))

    def release(self) -> None:
        """Hand over at once (a standby need not wait for expiry)."""
        self.store.release_lease(LEASE, self.holder)


class LeasedLearner:
    """Learner passes, run only while this process holds the lease."""

    def __init__(self, learner: Learner, lease: LearnerLease, batch: int) -> None:
        self.learner = learner
        self.lease = lease
        self.batch = batch  # LEARN_BATCH: a pass that learned this many left a backlog
        self.leading = False

    def pass_if_leader(self) -> LearnPass | None:
        """One pass if we hold (or can take) the lease; None when standing by."""
        leading = self.lease.hold()
        if leading != self.leading:
            log.info("learner %s: %s", self.lease.holder, "active (holds the lease)" if leading else "standby")
            self.leading = leading
        if not leading:
            return None
        result = self.learner.run_once(guard=self.lease.renew)
        for kind, part in result.by_kind.items():
            if part.released:
                log.info("released %d %s claims no published model holds (a learner died or lost its lease)",
                         part.released, kind)
            if part.learned:
                log.info("learned %d decisions into %s-v%d", part.learned, kind, part.version)
        return result

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Pass after pass until ``stop`` is set; a failed pass is retried next time.
        A pass that learned a full batch is followed at once by the next (a backlog)."""
        try:
            while not stop.is_set():
                busy = False
                try:
                    result = self.pass_if_leader()
                    busy = result is not None and any(part.learned >= self.batch for part in result.by_kind.values())
                except Exception:
                    log.exception("learner pass failed; it will be retried")
                if not busy:
                    stop.wait(interval_s)
        finally:
            if self.leading:
                self.release_quietly()

    def release_quietly(self) -> None:
        try:
            self.lease.release()
        except Exception as exc:  # the store may be gone at shutdown; the lease then just expires
            log.warning("could not release the learner lease (%s); it expires by itself", exc)
        self.leading = False
