"""Every store operation elicit uses, against the server in use (embedded nx-27017 here,
or real MongoDB with ELICIT_TEST_MONGO_URI). A new divergence of the embedded server
shows up here as a failing test, not as a subtle bug in the learner."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.errors import StoreError, StoreUnavailable
from service.store import Store, free_port


@pytest.fixture
def store(mongo_uri: str) -> Iterator[Store]:
    store = Store(mongo_uri, f"conf_{uuid.uuid4().hex[:10]}")
    store.ensure_indexes()
    store.ensure_indexes()  # idempotent: a second start-up must not fail
    yield store
    store.drop_database()
    store.close()


def decision(event_id: str, t: int, window_end: int | None, activated: bool = True) -> dict:
    return {"_id": event_id, "kind": "slate", "t": t, "user": "k", "activated": activated,
            "window_end": window_end, "learn_version": None, "learned_at": None, "reward": None}


def test_insert_decision_is_idempotent_on_event_id(store: Store) -> None:
    assert store.insert_decision(decision("a", 1, 10)) is None
    existing = store.insert_decision({**decision("a", 2, 20), "extra": True})
    assert existing is not None and existing["t"] == 1 and "extra" not in existing
    assert store.count_decisions() == 1


def test_due_decisions_follow_event_time_and_activation(store: Store) -> None:
    store.insert_decision(decision("late", 1, 500))
    store.insert_decision(decision("early", 1, 100))
    store.insert_decision(decision("deferred", 1, None, activated=False))
    assert [d["_id"] for d in store.due_decisions("slate", 99, 10)] == []
    assert [d["_id"] for d in store.due_decisions("slate", 500, 10)] == ["early", "late"]
    assert [d["_id"] for d in store.due_decisions("slate", 500, 1)] == ["early"]
    assert store.activate("deferred", 600, 700) is True
    assert store.activate("deferred", 650, 750) is False  # only once
    assert store.get_decision("deferred")["window_end"] == 700
    assert [d["_id"] for d in store.due_decisions("slate", 700, 10)] == ["early", "late", "deferred"]


def test_batch_claims_are_exclusive_and_name_their_winner(store: Store) -> None:
    for name in "abcd":
        store.insert_decision(decision(name, 1, 1))
    assert store.claim_batch(1, {"a": [0.5], "b": [1.0]}, 2, "t1") == ["a", "b"]
    # A second claimer of an overlapping batch wins only what was still free.
    assert store.claim_batch(2, {"c": [0.0], "b": [-1.0], "a": [0.0]}, 3, "t2") == ["c"]
    assert store.claim_batch(3, {}, 4, "t3") == []
    # Shared rewards (one update_many each) and single ones (a bulk write) in one batch.
    for name in "efgh":
        store.insert_decision(decision(name, 1, 1))
    assert store.claim_batch(4, {"e": [0.0, 0.0], "f": [1.0], "g": [0.0, 0.0], "a": [0.0, 0.0], "h": [0.5]}, 5, "t4") == ["e", "f", "g", "h"]
    assert [store.get_decision(n)["reward"] for n in "efgh"] == [[0.0, 0.0], [1.0], [0.0, 0.0], [0.5]]
    assert store.get_decision("a")["claim"] == "t1"
    b = store.get_decision("b")
    assert (b["learn_version"], b["reward"], b["learned_at"], b["claim"]) == (1, [1.0], 2, "t1")
    assert [d["_id"] for d in store.due_decisions("slate", 10, 10)] == ["d"]


def test_confirmed_claims_are_counted_by_kind_version_and_token(store: Store) -> None:
    for name in "abcd":
        store.insert_decision(decision(name, 1, 1))
    store.insert_decision({**decision("p", 1, 1), "kind": "prompt"})
    assert store.claim_batch(1, {"a": [0.5], "b": [1.0], "c": [0.0]}, 2, "t1") == ["a", "b", "c"]
    store.claim_batch(1, {"p": [1.0]}, 2, "t1")  # another kind, same version and token
    store.claim_batch(2, {"d": [1.0]}, 2, "t1")  # another version
    assert store.confirm_claims("slate", 1, "t1", 3) is True
    assert store.confirm_claims("slate", 1, "t1", 4) is False  # one more than is there: a claim was lost
    assert store.confirm_claims("slate", 1, "t2", 3) is False
    store.release_unpublished("slate", 0, None)  # another learner released them meanwhile
    assert store.confirm_claims("slate", 1, "t1", 3) is False
    assert [d["_id"] for d in store.due_decisions("slate", 10, 10)] == ["a", "b", "c", "d"]


def test_due_reads_are_bounded_and_continue_past_what_was_claimed(store: Store) -> None:
    """The learner reads a pass a chunk at a time, each the oldest still due: claiming a
    chunk is what moves the next read on (service/learn/learner.py, ``due_chunks``)."""
    for position, name in enumerate("edcba"):
        store.insert_decision(decision(name, 1, 1 + position))  # window ends: e first, a last
    store.insert_decision({**decision("p", 1, 1), "kind": "prompt"})
    assert [d["_id"] for d in store.due_compact("slate", 10, 2)] == ["e", "d"]
    assert [d["_id"] for d in store.due_decisions("slate", 10, 2)] == ["e", "d"]  # nothing claimed: the same
    store.claim_batch(1, {"e": [0.0], "d": [0.0]}, 2, "t")
    assert [d["_id"] for d in store.due_compact("slate", 10, 2)] == ["c", "b"]
    store.claim_batch(1, {"c": [0.0], "b": [0.0]}, 2, "t")
    assert [d["_id"] for d in store.due_compact("slate", 10, 2)] == ["a"]
    assert [d["_id"] for d in store.due_decisions("prompt", 10, 0)] == ["p"]  # a limit of 0 reads one, not all


def test_unpublished_claims_are_released(store: Store) -> None:
    for name in "abcde":
        store.insert_decision(decision(name, 1, 1))
    store.claim_batch(1, {"a": [0.5]}, 2, "won")  # in published v1
    store.claim_batch(1, {"b": [0.5]}, 2, "lost")  # claimed for v1 by a learner that did not publish it
    store.decisions.update_one({"_id": "e"}, {"$set": {"learn_version": 1}})  # v1, claimed before tokens
    store.claim_batch(2, {"c": [0.5]}, 3, "died")  # claimed for v2, never published
    assert store.release_unpublished("slate", 1, "won") == 3
    assert sorted(d["_id"] for d in store.due_decisions("slate", 10, 10)) == ["b", "c", "d", "e"]
    assert store.get_decision("b")["claim"] is None and store.get_decision("b")["reward"] is None
    assert store.get_decision("a")["learn_version"] == 1 and store.get_decision("a")["reward"] == [0.5]
    store.claim_batch(2, {"b": [0.1]}, 4, "x")
    store.claim_batch(1, {"c": [0.1]}, 4, "y")
    # A model published before claim tokens: only claims above it are released.
    assert store.release_unpublished("slate", 1, None) == 1
    assert sorted(d["_id"] for d in store.due_decisions("slate", 10, 10)) == ["b", "d", "e"]
    assert store.get_decision("c")["claim"] == "y"


class RecordingUpdates:
    """A collection that counts its ``update_many`` calls and passes everything on."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.updates = inner, 0

    def update_many(self, *args: Any, **kwargs: Any) -> Any:
        self.updates += 1
        return self.inner.update_many(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_release_told_what_the_model_learned_only_counts_when_nothing_is_stale(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in "abcd":
        store.insert_decision(decision(name, 1, 1))
    store.claim_batch(1, {"a": [0.5], "b": [1.0]}, 2, "won")  # the published v1 learned a and b
    recording = RecordingUpdates(store.decisions)
    monkeypatch.setattr(store, "decisions", recording)
    assert store.release_unpublished("slate", 1, "won", published=2) == 0 and recording.updates == 0
    store.claim_batch(1, {"c": [0.5]}, 2, "lost")  # a learner that lost the race to publish v1
    assert store.release_unpublished("slate", 1, "won", published=2) == 1 and recording.updates == 1
    store.claim_batch(2, {"d": [0.5]}, 3, "died")  # claimed for v2, never published
    assert store.release_unpublished("slate", 1, "won", published=2) == 1 and recording.updates == 2
    assert sorted(d["_id"] for d in store.due_decisions("slate", 10, 10)) == ["c", "d"]
    assert store.get_decision("a")["claim"] == "won" and store.get_decision("b")["learn_version"] == 1
    # A model from before claim tokens: only what is above it is stale, and here nothing is.
    assert store.release_unpublished("slate", 1, None) == 0 and recording.updates == 2
    assert store.release_unpublished("slate", 0, None) == 2 and recording.updates == 3


def test_releasing_one_kinds_claims_leaves_the_other_kinds_alone(store: Store) -> None:
    store.insert_decision(decision("s", 1, 1))
    store.insert_decision({**decision("p", 1, 1), "kind": "prompt"})
    store.claim_batch(1, {"s": [1.0]}, 2, "slate-token")
    store.claim_batch(1, {"p": [1.0]}, 2, "prompt-token")
    # The prompt learner's release (its v1 was published under its own token) must not touch
    # the slate claim at the same version number.
    assert store.release_unpublished("prompt", 1, "prompt-token") == 0
    assert store.get_decision("s")["learn_version"] == 1 and store.get_decision("s")["claim"] == "slate-token"


def test_outcomes_append_once_per_key_and_group_by_event(store: Store) -> None:
    assert store.insert_outcome({"_id": "e1/o1", "event_id": "e1", "t": 5, "outcomes": []}) is True
    assert store.insert_outcome({"_id": "e1/o1", "event_id": "e1", "t": 6, "outcomes": []}) is False
    store.insert_outcome({"_id": "e1/o0", "event_id": "e1", "t": 3, "outcomes": []})
    store.insert_outcome({"_id": "e2/o1", "event_id": "e2", "t": 4, "outcomes": []})
    grouped = store.outcomes_for(["e1", "e2", "e3"])
    assert [d["t"] for d in grouped["e1"]] == [3, 5] and len(grouped["e2"]) == 1 and grouped["e3"] == []
    assert store.outcomes_for(["e1", "e2", "e3", "e1"], chunk=1) == grouped  # bounded reads, each decision once


def test_models_round_trip_newest_first_and_versions_are_unique(store: Store) -> None:
    assert store.latest_model_meta("slate") is None
    big = bytes(range(256)) * 8192  # 2 MiB: several GridFS chunks
    for version in (1, 3, 2):
        store.save_model("slate", version, big + bytes([version]), {"examples_seen": version * 10})
    store.save_model("prompt", 9, b"other kind", {})
    meta = store.latest_model_meta("slate")
    assert meta is not None and meta["version"] == 3 and meta["examples_seen"] == 30
    assert store.load_model(meta["file_id"]) == big + bytes([3])
    with pytest.raises(StoreError):
        store.save_model("slate", 3, b"a second publisher", {})
    assert store.load_model(store.latest_model_meta("slate")["file_id"]) == big + bytes([3])


def test_iter_decisions_sorted_by_event_time(store: Store) -> None:
    for i, t in enumerate([30, 10, 20]):
        store.insert_decision(decision(f"d{i}", t, t))
    assert [d["t"] for d in store.iter_decisions({"kind": "slate"})] == [10, 20, 30]
    assert store.count_decisions({"t": {"$gte": 20}}) == 2
    assert store.count_decisions() == 3 and store.count_decisions({"t": {"$gt": 99}}) == 0
    store.claim_batch(1, {"d0": [0.0]}, 5, "k")
    assert store.count_decisions({"learn_version": {"$ne": None}}) == 1
    assert store.count_decisions({"kind": "slate", "learn_version": None}) == 2


def test_unreachable_store_maps_to_store_unavailable() -> None:
    store = Store(f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", "x", timeout_ms=200)
    with pytest.raises(StoreUnavailable):
        store.ping()
    with pytest.raises(StoreUnavailable):
        store.insert_decision(decision("a", 1, 1))


def test_lease_is_exclusive_until_released_or_expired(store: Store) -> None:
    first = store.ensure_lock("nightly", 100)
    assert first["holder"] is None and first["created_at"] == 100
    assert store.ensure_lock("nightly", 500)["created_at"] == 100  # created once, never reset
    assert store.acquire_lease("nightly", "a", 1_000, 60_000) is True
    assert store.acquire_lease("nightly", "b", 1_001, 60_000) is False  # held: the filter misses
    assert store.acquire_lease("nightly", "a", 1_002, 60_000) is False  # not re-entrant either
    assert store.release_lease("nightly", "b") is False  # only the holder releases
    assert store.release_lease("nightly", "a") is True
    assert store.acquire_lease("nightly", "b", 1_003, 60_000) is True
    assert store.acquire_lease("nightly", "c", 61_003, 60_000) is True  # b's lease expired
    assert store.release_lease("nightly", "b") is False  # b lost it: it may not free c's
    assert store.locks.count_documents({}) == 1


def test_a_lease_is_renewed_by_its_holder_only(store: Store) -> None:
    assert store.renew_lease("learner", "a", 0, 1_000) is False  # no lock yet
    assert store.acquire_lease("learner", "a", 0, 1_000) is True
    assert store.renew_lease("learner", "b", 500, 1_000) is False
    assert store.renew_lease("learner", "a", 900, 1_000) is True  # now until 1_900
    assert store.acquire_lease("learner", "b", 1_500, 1_000) is False  # the renewal counted
    assert store.renew_lease("learner", "a", 2_500, 1_000) is True  # lapsed but not taken: still a's
    assert store.acquire_lease("learner", "b", 4_000, 1_000) is True  # expired at 3_500
    assert store.renew_lease("learner", "a", 4_001, 1_000) is False  # taken: a has lost it
    assert store.release_lease("learner", "b") is True
    assert store.renew_lease("learner", "b", 4_002, 1_000) is False  # released means released


def test_lease_on_a_missing_lock_has_one_winner_among_threads(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: store.acquire_lease("race", f"h{i}", 10, 1_000), range(8)))
    assert won.count(True) == 1
    assert store.locks.find_one({"_id": "race"})["holder"] == f"h{won.index(True)}"


def test_reports_insert_once_and_list_newest_first(store: Store) -> None:
    assert store.list_reports(5) == [] and store.get_report("x") is None
    for night, created in (("nightly-2026-01-02", 10), ("nightly-2026-01-03", 20), ("nightly-2026-01-01", 20)):
        until = int(night[-2:])
        assert store.insert_report({"_id": night, "kind": "nightly", "created_at": created, "until": until,
                                    "sections": {"slates": {"n": until}}}) is True
    assert store.insert_report({"_id": "nightly-2026-01-02", "kind": "nightly", "created_at": 99, "until": 0}) is False
    assert store.get_report("nightly-2026-01-02")["created_at"] == 10
    store.insert_report({"_id": "on-demand-1", "kind": "on_demand", "created_at": 15, "until": 0, "sections": {}})
    listed = store.list_reports(3)
    assert [r["_id"] for r in listed] == ["nightly-2026-01-03", "nightly-2026-01-01", "on-demand-1"]
    assert all("sections" not in r for r in listed)
    assert store.list_reports(1, kind="nightly", full=True)[0]["sections"] == {"slates": {"n": 3}}
    assert store.existing_reports(["nightly-2026-01-01", "nightly-2026-01-09"]) == {"nightly-2026-01-01"}


def test_outcomes_between_is_a_half_open_event_time_range(store: Store) -> None:
    for t in (5, 10, 15, 20):
        store.insert_outcome({"_id": f"e/{t}", "event_id": "e", "t": t, "outcomes": [{"item_id": "i", "type": "consume"}]})
    assert sorted(doc["t"] for doc in store.outcomes_between(10, 20)) == [10, 15]


def test_recent_slates_are_the_users_newest_with_what_they_served(store: Store) -> None:
    for i, (user, kind, t) in enumerate([("k", "slate", 10), ("k", "slate", 30), ("k", "prompt", 40), ("j", "slate", 50), ("k", "slate", 5)]):
        store.insert_decision({**decision(f"r{i}", t, t + 5), "user": user, "kind": kind,
                               "chosen": [{"item_id": "m", "probability": 0.5}], "candidates": [{"id": "m", "category": "c"}]})
    recent = store.recent_slates("k", 8, 10)
    assert [d["_id"] for d in recent] == ["r1", "r0"]
    assert recent[0]["chosen"][0]["item_id"] == "m" and recent[0]["candidates"][0]["category"] == "c"
    assert [d["_id"] for d in store.recent_slates("k", 0, 1)] == ["r1"]


def test_a_prompt_takes_one_response_and_its_application_is_marked(store: Store) -> None:
    store.insert_decision({**decision("p", 1, 10), "kind": "prompt", "ask": True, "response": None})
    store.insert_decision({**decision("n", 1, 10), "kind": "prompt", "ask": False, "response": None})
    assert store.set_response("p", {"type": "thumbs_up", "t": 2, "applied_at": None}) is True
    assert store.set_response("p", {"type": "dismissed", "t": 3, "applied_at": None}) is False
    assert store.set_response("n", {"type": "thumbs_up", "t": 2, "applied_at": None}) is False
    store.mark_response_applied("p", 4)
    store.mark_response_applied("p", 5)  # only the first one counts
    assert store.get_decision("p")["response"] == {"type": "thumbs_up", "t": 2, "applied_at": 4}
    assert store.get_decision("n")["response"] is None


def test_user_events_apply_once_and_keep_nested_documents(store: Store) -> None:
    def add(state: dict) -> None:
        state["prompts"] = [*state.get("prompts", []), {"t": len(state.get("prompts", [])), "format": None, "ok": True}]
        state["shown"] = {**state.get("shown", {}), "single": state.get("shown", {}).get("single", 0) + 1}

    assert store.get_user("k") is None
    assert store.apply_user_event("k", "e1", add) is True
    assert store.apply_user_event("k", "e1", add) is False  # a retry of the same event
    assert store.apply_user_event("k", "e2", add, known=store.get_user("k")) is True
    stale = store.get_user("k")
    assert store.apply_user_event("k", "e3", add) is True
    assert store.apply_user_event("k", "e4", add, known=stale) is True  # a stale read loses once, then retries
    assert store.apply_user_event("k", "e5", add, known={}) is True  # "saw no document": the insert fails, it retries
    user = store.get_user("k")
    # sub-documents stay documents (nx-27017 would turn $push-ed ones into JSON strings)
    assert user["prompts"] == [{"t": i, "format": None, "ok": True} for i in range(5)]
    assert user["shown"] == {"single": 5} and user["events"] == ["e1", "e2", "e3", "e4", "e5"] and user["rev"] == 5
    store.users.update_one({"_id": "k"}, {"$set": {"slate": {"x": 1}}})  # another feature's fields survive
    assert store.apply_user_event("k", "e6", add) is True and store.get_user("k")["slate"] == {"x": 1}


def test_feedback_appends_once_and_public_reads_never_see_private(store: Store) -> None:
    for i, (user, visibility, t) in enumerate([("k", "public", 1), ("k", "private", 2), ("k", "public", 3), ("j", "public", 4)]):
        assert store.insert_feedback({"_id": f"f{i}", "user": user, "item_id": f"i{i}", "value": "up", "visibility": visibility, "t": t})
    assert store.insert_feedback({"_id": "f0", "user": "k", "item_id": "x", "value": "down", "visibility": "public", "t": 9}) is False
    assert [d["_id"] for d in store.public_feedback("k", 10)] == ["f2", "f0"]
    assert [d["_id"] for d in store.public_feedback("k", 1)] == ["f2"]
    assert store.count_feedback() == 4 and store.count_feedback({"visibility": "private"}) == 1


def test_slate_decisions_are_stored_compact_and_read_back_whole(store: Store, mongo_uri: str) -> None:
    def candidate(item_id: str, price: float) -> dict:
        return {"id": item_id, "features": {"price": price, "tags": ["a"], "geo": {"fr": True}}, "category": "c",
                "creator": None, "kind": "single", "satiation": {"exp_cat": 0.5}}

    full = {**decision("s1", 5, 10), "candidates": [candidate("x", 1.0), candidate("y", 2.0), candidate("z", 1.0)],
            "chosen": [{"slot": 0, "item_id": "y", "probability": 0.5, "allowed": ["x", "y", "z"], "distribution": [0.25, 0.5, 0.25]},
                       {"slot": 1, "item_id": "z", "probability": 1.0, "allowed": ["z"], "distribution": [1.0]}]}
    assert store.insert_decision(dict(full)) is None
    raw = store.decisions.find_one({"_id": "s1"})
    # Queryable parts stay native; the bulky ones are one JSON string (service/store/compact.py).
    assert "candidates" not in raw and raw["chosen"][0] == {"slot": 0, "item_id": "y", "probability": 0.5}
    assert store.decisions.find_one({"chosen.item_id": "z"}, {"_id": 1}) == {"_id": "s1"}
    packed = json.loads(raw["packed"])
    refs = packed["candidates"]
    assert refs[0]["item"] == refs[2]["item"] != refs[1]["item"]
    assert "features" not in refs[0] and "satiation" not in refs[0] and packed["allowed_at"] == [[0, 1, 2], [2]]
    assert json.loads(raw["packed_satiation"]) == [{"exp_cat": 0.5}] * 3
    assert json.loads(raw["packed_distribution"]) == [[0.25, 0.5, 0.25], [1.0]]
    # A light read: who was offered and served, without features, satiation or distributions.
    (light,) = store.iter_decisions({"_id": "s1"}, light=True)
    assert light["candidates"] == [{"id": c["id"], "category": "c", "creator": None, "kind": "single"} for c in full["candidates"]]
    assert light["chosen"][0] == {"slot": 0, "item_id": "y", "probability": 0.5, "allowed": ["x", "y", "z"]}
    assert {k: v for k, v in light.items() if k not in ("candidates", "chosen")} == {
        k: v for k, v in full.items() if k not in ("candidates", "chosen")}
    assert store.db["logged_items"].count_documents({}) == 2  # x and z share a body
    assert store.get_decision("s1") == full
    assert store.decisions_by_id(["nope", "s1"]) == [full]
    # Another process (its own Store, cold caches) logs the same bodies and reads them back.
    other = Store(mongo_uri, store.db.name)
    assert other.insert_decision({**full, "_id": "s2"}) is None
    assert store.db["logged_items"].count_documents({}) == 2
    assert other.insert_decision({**full, "chosen": []}) == full  # a replay returns the stored decision whole
    other.close()
    from service.store import compact

    compact._bodies.clear()  # a cold reader fetches the bodies
    assert [d["candidates"] for d in store.iter_decisions({"kind": "slate"})] == [full["candidates"]] * 2
    assert store.due_decisions("slate", 10, 5)[0]["chosen"] == full["chosen"]
    assert store.recent_slates("k", 0, 5)[0]["candidates"] == full["candidates"]
    # Documents logged before compaction pass through unchanged.
    store.decisions.insert_one({**full, "_id": "old"})
    assert store.get_decision("old") == {**full, "_id": "old"}


# One store for all examples is right here: each example logs under its own event id.
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(min_value=5e-324, max_value=1.0), min_size=1, max_size=8))
def test_packed_propensities_read_back_bit_for_bit(store: Store, probabilities: list[float]) -> None:
    """Propensities are sacred: whatever float64 was logged is what every reader gets."""
    candidates = [{"id": f"i{k}", "features": {}, "category": None, "creator": None, "kind": "single",
                   "satiation": {"exp_cat": p}} for k, p in enumerate(probabilities)]
    event_id = uuid.uuid4().hex
    doc = {**decision(event_id, 5, 10), "candidates": candidates,
           "chosen": [{"slot": 0, "item_id": "i0", "probability": probabilities[0],
                       "allowed": [c["id"] for c in candidates], "distribution": probabilities}]}
    assert store.insert_decision(dict(doc)) is None
    back = store.get_decision(event_id)
    assert back is not None
    assert [p.hex() for p in back["chosen"][0]["distribution"]] == [p.hex() for p in probabilities]
    assert back["chosen"][0]["probability"].hex() == probabilities[0].hex()
    assert [c["satiation"]["exp_cat"].hex() for c in back["candidates"]] == [p.hex() for p in probabilities]


def test_nightly_evidence_is_read_by_window_end_oldest_first(store: Store) -> None:
    for day, kind in ((1, "nightly"), (2, "on_demand"), (3, "nightly"), (4, "nightly")):
        assert store.insert_report({"_id": f"r{day}", "kind": kind, "created_at": day, "until": day * 10,
                                    "window": {"since": day * 10 - 10, "until": day * 10},
                                    "evidence": {"q": {"kind": "mean", "moments": None, "design": None}}, "sections": {}})
    found = store.nightly_evidence(10, 40)  # windows ending in (10, 40], nightly only
    assert [doc["_id"] for doc in found] == ["r3", "r4"] and found[0]["evidence"]["q"]["kind"] == "mean"
    assert "sections" not in found[0]


def test_the_model_live_at_a_time_is_the_newest_published_by_then(store: Store) -> None:
    for version, published in ((1, 100), (2, 200), (3, 300)):
        store.save_model("slate", version, b"model", {"published_at": published})
    assert store.model_meta_before("slate", 250)["version"] == 2
    assert store.model_meta_before("slate", 200)["version"] == 2  # published at the instant: it was live
    assert store.model_meta_before("slate", 99) is None and store.model_meta_before("prompt", 999) is None


def test_forgetting_leaves_a_tombstone_that_is_not_the_key(store: Store) -> None:
    from service.store.privacy import TOMBSTONE, PrivacyStore

    privacy = PrivacyStore(store.db)
    store.insert_decision({**decision("d1", 1, 10), "user": "key-of-u"})
    store.users.insert_one({"_id": "key-of-u", "slate": {}})
    counts = privacy.forget("key-of-u", now_ms=50)
    assert counts == {"user_state": 1, "feedback": 0, "decisions": 1}
    assert privacy.forgotten_at(["key-of-u", "someone"]) == {"key-of-u": 50}
    assert "key-of-u" not in json.dumps(list(store.db["forgotten"].find()))
    store.insert_decision({**decision("d2", 2, 20), "user": "key-of-u"})  # a late arrival, caught and rewritten
    store.tombstone_decision("d2", TOMBSTONE)
    assert store.get_decision("d2")["user"] == TOMBSTONE
    store.users.insert_one({"_id": "key-of-u", "slate": {}})
    privacy.erase_state(["key-of-u"])
    assert store.get_user("key-of-u") is None


def test_nested_keys_with_dollars_and_dots_are_stored_as_data(store: Store) -> None:
    """Request text rules (service/decide/text.py): such keys are kept, nested, never queried by."""
    doc = {**decision("odd", 1, 10), "kind": "prompt", "context": {"$where": "x", "geo.city": "Paris", "a": {"$b.c": 1}}}
    assert store.insert_decision(doc) is None
    assert store.get_decision("odd")["context"] == {"$where": "x", "geo.city": "Paris", "a": {"$b.c": 1}}
