"""Join decisions with outcomes when their reward window closes, learn, publish.

Exactly-once learning without multi-document transactions: a pass that will publish
model version ``v + 1`` first *claims* its due decisions with conditional updates
(``learn_version: None → v + 1``, stamped with the pass's claim token; a few batched
writes per chunk of due decisions, ``Store.claim_batch``), learns only what it claimed,
makes sure the claims are durable (``Store.confirm_claims``, once per pass rather than a
journal flush per decision), then publishes the snapshot with the token. The next chunk is read and claimed while
this one is learned (:meth:`KindLearner._claimed`, service/core/prefetch.py). A learner that dies between claiming and publishing leaves claims above
the latest published version, and one that lost the race to publish ``v + 1`` leaves
claims at it under a token the published model does not carry; the next pass releases
both first (``Store.release_unpublished``), so every decision ends up in exactly one
published model. One learner runs per deployment (a lease, service/learn/lease.py);
``guard`` lets it check it still holds the lease before each claim and before publishing.

Each kind of decision (``slate`` here, ``prompt`` in :mod:`service.learn.prompt_learner`) is a
:class:`KindLearner` with its own model, reward join and examples; :class:`Learner` runs
one pass of each.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bandit.slates import SlateModel
from policies.rewards import SlateReward
from service.core.clock import Clock
from service.core.errors import ClaimsLost, LeaseLost
from service.core.gc_passes import fewer_full_collections
from service.core.prefetch import Prefetched
from service.learn.slate_examples import SlateExamples
from service.store import Store
from service.store.models import ModelRegistry

M = TypeVar("M", bound=Any)
Guard = Callable[[], bool]
Chunk = tuple[list[dict[str, Any]], dict[str, Any], set[str]]  # due decisions, rewards by id, ids won
#: Decisions read and claimed per chunk (a few store round trips): big enough that a
#: round trip's own cost stays small; the first chunk is smaller so that learning starts
#: early (nothing overlaps the first read and claim), and each later one grows by half:
#: reading and claiming a decision costs the store about half of what learning it costs
#: here (~0.5 against ~1 ms on nx-27017), so a chunk twice the last one came late.
CLAIM_CHUNK = 500
FIRST_CHUNK = 100
#: Decisions whose examples are built before VW learns them in one call
#: (:meth:`KindLearner.learn_run`): VW's weights and the text caches each stay warm in the
#: CPU caches for a run of decisions instead of taking turns per decision — ~5 % less CPU
#: for building and learning a pass — while the text held at once stays ~1.5 MB.
LEARN_RUN = 20


def due_chunks(read: Callable[[int], list[dict[str, Any]]], limit: int) -> Iterator[list[dict[str, Any]]]:
    """Up to ``limit`` due decisions in chunks of ``FIRST_CHUNK``, then half as many again
    each time up to ``CLAIM_CHUNK``; ``read(n)`` gives the oldest ``n`` decisions still due.

    Each chunk is a query of its own (bounded, served from the index: nx-27017 builds
    only what it returns, so the first chunk comes at once instead of after everything
    that is due), and it continues where the last stopped because the caller claims a
    chunk before it asks for the next: what it claimed is no longer due. A decision read
    twice therefore had its claim undone meanwhile (another learner released it, or a
    failover lost it); the pass could not publish anyway (``confirm_claims`` would miss
    it), and claiming it again would learn it twice, so that is :class:`ClaimsLost`.

    >>> due = [{"_id": i} for i in range(1501)]
    >>> def read(n):  # what the caller claims is gone from what is due
    ...     chunk = due[:n]; del due[:n]; return chunk
    >>> [len(chunk) for chunk in due_chunks(read, 5000)]
    [100, 150, 225, 337, 500, 189]
    """
    seen: set[Any] = set()
    size, read_so_far = FIRST_CHUNK, 0
    while read_so_far < limit:
        asked = min(size, limit - read_so_far)
        chunk = read(asked)
        ids = {decision["_id"] for decision in chunk}
        if not ids.isdisjoint(seen):
            raise ClaimsLost(f"{len(ids & seen)} decisions claimed earlier in this pass are due again")
        seen |= ids
        if chunk:
            yield chunk
        if len(chunk) < asked:
            return  # nothing more is due
        read_so_far += len(chunk)
        size = min(size * 3 // 2, CLAIM_CHUNK)


@dataclass(frozen=True)
class LearnPass:
    """``learned`` and ``released`` summed over kinds; ``version`` is the slate model's;
    ``by_kind`` has each kind's own pass."""

    learned: int
    version: int
    released: int
    by_kind: Mapping[str, LearnPass] = field(default_factory=dict)


def slate_rewards(decision: Mapping[str, Any], outcome_docs: list[Mapping[str, Any]], reward: SlateReward) -> list[float]:
    """Per-slot rewards from the outcomes that arrived inside the reward window."""
    window_end = decision["window_end"]
    events = [
        (outcome["item_id"], outcome["type"], float(outcome.get("value", 1.0)))
        for doc in outcome_docs
        if doc["t"] <= window_end
        for outcome in doc["outcomes"]
    ]
    return reward.slot_rewards([choice["item_id"] for choice in decision["chosen"]], events)


class KindLearner(Generic[M]):
    """The claim-learn-publish loop for one kind of decision; subclasses say how a
    decision's reward is joined (:meth:`rewards`) and how it becomes examples (:meth:`learn`)."""

    kind = ""

    def __init__(self, store: Store, registry: ModelRegistry[M], config: Mapping[str, Any], clock: Clock) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._model: M | None = None
        self._model_version = -1
        self._examples_seen = 0

    def rewards(self, due: list[dict[str, Any]]) -> dict[str, Any]:
        """The reward of each due decision, by event id (what ``claim_for_learning`` stores)."""
        raise NotImplementedError

    def learn(self, model: M, decision: Mapping[str, Any], reward: Any) -> int:
        """Train ``model`` on one decision; returns the number of VW examples."""
        raise NotImplementedError

    def learn_run(self, model: M, run: list[tuple[Mapping[str, Any], Any]]) -> int:
        """Train ``model`` on consecutive ``(decision, reward)`` s, in order; returns the
        number of VW examples. One :meth:`learn` after another unless a kind does better."""
        return sum(self.learn(model, decision, reward) for decision, reward in run)

    def due(self, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """The oldest ``limit`` decisions still due at ``now_ms``, in the form :meth:`learn` takes."""
        return self.store.due_decisions(self.kind, now_ms, limit)

    def _base_model(self) -> tuple[M, int, Mapping[str, Any]]:
        """The newest published model (ours in memory if it is that one), its version and
        its index document (``claim``: the token it was published with; ``decisions``: how
        many it learned; empty if there is none)."""
        meta = self.store.latest_model_meta(self.kind)
        version = 0 if meta is None else int(meta["version"])
        if self._model is None or self._model_version != version:
            if meta is None:
                self._model, self._examples_seen = self.registry.fresh(), 0
            else:
                self._model = self.registry.load(self.store.load_model(meta["file_id"]))
                self._examples_seen = int(meta.get("examples_seen", 0))
            self._model_version = version
        return self._model, version, meta or {}

    def _claimed(self, version: int, token: str, guard: Guard) -> Iterator[Chunk]:
        """What was due at the start of the pass (up to ``LEARN_BATCH``), oldest first, in
        chunks (:meth:`due`): each with its rewards and the ids this pass won.

        ``guard`` is asked before every claim: no before the first ends the pass quietly,
        no later raises :class:`LeaseLost` (what is claimed is released by the next
        holder, as when the lease is lost before publishing).

        After the last claim the claims are made durable and counted
        (``Store.confirm_claims``), while the last chunk is being learned: a count short
        of what was won raises :class:`ClaimsLost` after that chunk, before anything is
        published. (Publishing would put a decision whose claim was lost — a failover —
        in the model while it is due again: learned twice.)"""
        now_ms, won_in_all = self.clock.now_ms(), 0
        for read, due in enumerate(due_chunks(lambda size: self.due(now_ms, size), int(self.config["LEARN_BATCH"]))):
            if not guard():
                if read:
                    raise LeaseLost(f"{self.kind} learner lost its lease while claiming for v{version}")
                return
            rewards = self.rewards(due)
            # Claimed before the next chunk is read: due_chunks relies on it.
            won = set(self.store.claim_batch(version, rewards, self.clock.now_ms(), token))
            won_in_all += len(won)
            yield due, rewards, won
        if won_in_all and not self.store.confirm_claims(self.kind, version, token, won_in_all):
            # Claims that did survive are released next pass.
            raise ClaimsLost(f"{self.kind} learner: claims for v{version} were not all durable; nothing published")

    def run_once(self, guard: Guard | None = None) -> LearnPass:
        """Learn every decision whose window has closed (up to ``LEARN_BATCH``).

        ``guard`` is asked before each claim and before publishing; False stops the pass
        (the learner lease was lost, service/learn/lease.py)."""
        # A chunk's documents live long enough to reach the oldest generation (service/core/gc_passes.py).
        with self._lock, fewer_full_collections():
            try:
                return self._pass(guard or (lambda: True))
            except BaseException:
                # The in-memory model may hold examples no snapshot has: reload next time.
                self._model, self._model_version = None, -1
                raise

    def _pass(self, guard: Guard) -> LearnPass:
        model, base, meta = self._base_model()
        released = self.store.release_unpublished(self.kind, base, meta.get("claim"), meta.get("decisions"))
        version, token = base + 1, uuid.uuid4().hex
        learned = 0
        # The next chunks are read and claimed while this one is learned (service/core/prefetch.py).
        with Prefetched(self._claimed(version, token, guard)) as chunks:
            for due, rewards, won in chunks:
                run = [(decision, rewards[decision["_id"]]) for decision in due if decision["_id"] in won]
                for start in range(0, len(run), LEARN_RUN):
                    self._examples_seen += self.learn_run(model, run[start:start + LEARN_RUN])
                learned += len(run)
        if not learned:
            return LearnPass(0, base, released)
        # Every claim was confirmed durable by now (_claimed).
        if not guard():
            # Another learner took over: our claims are above its base and it releases them.
            raise LeaseLost(f"{self.kind} learner lost its lease before publishing v{version}")
        self.store.save_model(
            self.kind, version, model.to_bytes(),
            {"examples_seen": self._examples_seen, "decisions": learned, "published_at": self.clock.now_ms(),
             "claim": token},
        )
        self._model_version = version
        self.registry.refresh()
        return LearnPass(learned, version, released)


class SlateLearner(KindLearner[SlateModel]):
    kind = "slate"

    def __init__(self, store: Store, registry: ModelRegistry[SlateModel], config: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(store, registry, config, clock)
        self.reward = SlateReward(dict(config["SLATE_REWARDS"]))
        self.examples = SlateExamples(bodies=store.logged_item_bodies)

    def due(self, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """As stored, unexpanded, with the texts of items new to this learner encoded."""
        due = self.store.due_compact(self.kind, now_ms, limit)
        self.examples.prepare(due)
        return due

    def rewards(self, due: list[dict[str, Any]]) -> dict[str, Any]:
        outcomes = self.store.outcomes_for([decision["_id"] for decision in due])
        return {decision["_id"]: slate_rewards(decision, outcomes[decision["_id"]], self.reward) for decision in due}

    def learn(self, model: SlateModel, decision: Mapping[str, Any], reward: Any) -> int:
        return self.learn_run(model, [(decision, reward)])

    def learn_run(self, model: SlateModel, run: list[tuple[Mapping[str, Any], Any]]) -> int:
        """Every served slot of the run under one VW lock, the text from the learner's caches."""
        return model.vw.learn_many([example for decision, reward in run for example in self.examples.examples(decision, reward)])


class Learner:
    """One pass of every kind's learner; one per deployment (see ``run_once``)."""

    def __init__(self, *kinds: KindLearner[Any]) -> None:
        self.kinds = {learner.kind: learner for learner in kinds}

    def run_once(self, guard: Guard | None = None) -> LearnPass:
        """Each kind learns even if another fails; the first failure is raised afterwards."""
        passes: dict[str, LearnPass] = {}
        failure: BaseException | None = None
        for kind, learner in self.kinds.items():
            try:
                passes[kind] = learner.run_once(guard)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        slate = passes.get("slate", LearnPass(0, 0, 0))
        return LearnPass(
            sum(p.learned for p in passes.values()), slate.version, sum(p.released for p in passes.values()), passes
        )
