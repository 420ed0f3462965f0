"""A pass reads and claims in chunks, the next one beside the learning of this one
(service/core/prefetch.py): still exactly once when it stops half-way, and the model it
publishes is the reference path's. Tiny chunks make a handful of decisions several."""

from __future__ import annotations

from typing import Any

import pytest

import service.learn.learner as learner_module
from service.core.errors import ClaimsLost, LeaseLost
from service.learn.slate_examples import learn_slate_decision
from tests.helpers import slate_request


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learner_module, "FIRST_CHUNK", 2)
    monkeypatch.setattr(learner_module, "CLAIM_CHUNK", 3)


def decide(client: Any, clock: Any, count: int) -> None:
    for i in range(count):
        assert client.post("/v1/slates", json=slate_request(event_id=f"d{i}", user=f"u{i % 3}")).status_code == 201
        clock.advance(5)  # distinct window ends: one order for the reference and the learner
    clock.advance(601)


def learned_versions(runtime: Any) -> dict[str, Any]:
    return {d["_id"]: d["learn_version"] for d in runtime.store.iter_decisions({"kind": "slate"})}


def reference_bytes(runtime: Any, clock: Any) -> bytes:
    model = runtime.slate_models.fresh()
    due = runtime.store.due_decisions("slate", clock.now_ms(), 100)
    rewards = runtime.learner.kinds["slate"].rewards(due)
    for decision in due:
        learn_slate_decision(model, decision, rewards[decision["_id"]])
    return model.to_bytes()


def published_bytes(runtime: Any) -> bytes:
    return runtime.store.load_model(runtime.store.latest_model_meta("slate")["file_id"])


def test_chunks_learn_everything_once_into_the_reference_model(client: Any, runtime: Any, clock: Any) -> None:
    decide(client, clock, 8)  # chunks of 2, 3, 3
    expected = reference_bytes(runtime, clock)
    asked = []
    result = runtime.learner.kinds["slate"].run_once(lambda: asked.append(True) or True)
    assert result.learned == 8 and len(asked) == 4  # before each of 3 claims, and before publishing
    assert published_bytes(runtime) == expected
    assert set(learned_versions(runtime).values()) == {1}
    assert runtime.learner.run_once().learned == 0


def test_lease_lost_between_chunks_publishes_nothing_and_loses_nothing(client: Any, runtime: Any, clock: Any) -> None:
    decide(client, clock, 8)
    expected = reference_bytes(runtime, clock)
    asked = []

    def guard() -> bool:
        asked.append(True)
        return len(asked) == 1  # yes before the first claim, no before the second

    with pytest.raises(LeaseLost):
        runtime.learner.kinds["slate"].run_once(guard)
    assert runtime.store.latest_model_meta("slate") is None
    versions = learned_versions(runtime)
    assert sorted(v for v in versions.values() if v is not None) == [1, 1]  # the first chunk, claimed, unpublished
    result = runtime.learner.run_once()
    assert result.by_kind["slate"].released == 2 and result.learned == 8
    assert published_bytes(runtime) == expected  # learned once each, from a fresh model


def test_a_failure_while_learning_stops_claiming_and_leaves_no_half_model(
    client: Any, runtime: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide(client, clock, 14)  # chunks of 2, 3, 3, 3, 3
    expected = reference_bytes(runtime, clock)
    slate = runtime.learner.kinds["slate"]
    learn_run, runs = slate.learn_run, []

    def failing(model: Any, run: Any) -> int:
        runs.append([decision["_id"] for decision, _ in run])
        if len(runs) == 2:
            raise RuntimeError("VW failed")
        return learn_run(model, run)

    monkeypatch.setattr(slate, "learn_run", failing)
    with pytest.raises(RuntimeError, match="VW failed"):
        slate.run_once()
    assert [len(run) for run in runs] == [2, 3]  # a run is the decisions a chunk won (fewer than LEARN_RUN)
    claimed = [event_id for event_id, version in learned_versions(runtime).items() if version is not None]
    # The chunk being learned (the second), one handed over and one claimed: not the fifth.
    assert 5 <= len(claimed) <= 11
    monkeypatch.setattr(slate, "learn_run", learn_run)
    assert runtime.learner.run_once().learned == 14
    assert published_bytes(runtime) == expected  # the failed pass's first chunk is not in it


def test_runs_are_cut_at_learn_run_and_learn_what_one_at_a_time_learns(
    client: Any, runtime: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(learner_module, "CLAIM_CHUNK", 8)
    monkeypatch.setattr(learner_module, "LEARN_RUN", 3)
    decide(client, clock, 9)  # chunks of 2, 3, 4: runs of 2, 3, 3 + 1
    expected = reference_bytes(runtime, clock)
    slate = runtime.learner.kinds["slate"]
    learn_run, runs = slate.learn_run, []
    monkeypatch.setattr(slate, "learn_run", lambda model, run: runs.append(len(run)) or learn_run(model, run))
    assert runtime.learner.run_once().learned == 9
    assert runs == [2, 3, 3, 1]
    assert published_bytes(runtime) == expected


@pytest.mark.parametrize("lost, count", [("d0", 8), ("d6", 7)])
def test_a_claim_lost_before_it_was_durable_publishes_nothing_and_is_learned_once(
    client: Any, runtime: Any, clock: Any, monkeypatch: pytest.MonkeyPatch, lost: str, count: int
) -> None:
    """Claims are acknowledged before they are durable (``Store.confirm_claims`` makes sure
    of them once per pass): one that a failover rolls back must not be in a published
    model, or its decision, due again, would be learned twice. ``d0``'s loss shows when
    the next chunk reads it again; ``d6`` is in the last chunk (2, 3, 2), read by nobody
    after, so ``confirm_claims`` finds it."""
    decide(client, clock, count)
    expected = reference_bytes(runtime, clock)
    store, claim_batch = runtime.store, runtime.store.claim_batch

    def rolled_back(version: int, rewards: Any, now_ms: int, token: str) -> list[str]:
        won = claim_batch(version, rewards, now_ms, token)
        if lost in won:  # acknowledged, then lost: the document is as it was before the claim
            store.decisions.update_one({"_id": lost}, {"$set": {"learn_version": None, "reward": None,
                                                               "learned_at": None, "claim": None}})
        return won

    monkeypatch.setattr(store, "claim_batch", rolled_back)
    confirms: list[bool] = []
    confirm_claims = store.confirm_claims
    monkeypatch.setattr(store, "confirm_claims", lambda *args: confirms.append(confirm_claims(*args)) or confirms[-1])
    with pytest.raises(ClaimsLost):
        runtime.learner.kinds["slate"].run_once()
    assert confirms == ([] if lost == "d0" else [False])
    assert runtime.store.latest_model_meta("slate") is None
    left = sum(version is not None for version in learned_versions(runtime).values())
    assert left >= 1 and learned_versions(runtime)[lost] is None
    monkeypatch.setattr(store, "claim_batch", claim_batch)
    result = runtime.learner.run_once()
    assert result.by_kind["slate"].released == left and result.learned == count
    assert published_bytes(runtime) == expected  # the lost one once, the others once, from a fresh model
    assert set(learned_versions(runtime).values()) == {1}
