"""The learner's fast path learns exactly what the per-slot reference path learns.

The learner builds example text with caches (service/learn/slate_examples.py) and learns a
decision's slots in one ``VWModel.learn_many``; the reference is ``learn_slate_decision``
through ``SlateModel.learn_slot``, one slot at a time. Same text, and the same VW calls
on it in the same order, make VW's arithmetic the same: so the tolerance is zero — the
saved models are compared byte for byte and the predictions with ``array_equal``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bandit.slates import Candidate, SlateModel, slot_example, slot_text
from service.learn.slate_examples import SlateExamples, learn_slate_decision
from service.store.compact import candidate_satiations
from tests.helpers import candidates


def reference_texts(decision: dict[str, Any], rewards: list[float]) -> list[list[str]]:
    """The lines the reference path would learn, recorded by a stand-in SlateModel."""
    recorded: list[list[str]] = []

    class Recorder:
        def learn_slot(self, context: str, actions: Any, slot: str, chosen: int, cost: float, probability: float) -> None:
            recorded.append(slot_example(context, actions, slot, f"{chosen}:{cost!r}:{probability!r}"))

    learn_slate_decision(Recorder(), decision, rewards)  # type: ignore[arg-type]
    return recorded


def decision_of(items: list[dict[str, Any]], served: list[tuple[str, list[str]]], **extra: Any) -> dict[str, Any]:
    return {
        "context": extra.get("context", {"device": "tv"}),
        "candidates": items,
        "slots": extra.get("slots", [{"id": str(k), "features": {}} for k in range(len(served))]),
        "chosen": [{"slot": k, "item_id": item, "allowed": allowed, "probability": 1 / len(allowed)}
                   for k, (item, allowed) in enumerate(served)],
    }


def test_cached_text_follows_the_content_not_the_id() -> None:
    """One item id logged with different features, types and satiation in turn, through one
    cache: a cache keyed on the id, or on values that compare equal (``1 == True``), would
    repeat an earlier text where the reference writes another."""
    examples = SlateExamples()
    variants = [{"x": 1}, {"x": 1.0}, {"x": True}, {"x": "1"}, {"x": 1}, {}, {"x": ["a", "b"]}]
    seen = set()
    for features in variants:
        items = [{"id": "a", "features": features, "satiation": {"exp_cat": 1.0, "exhausted": True}},
                 {"id": "b", "category": "c", "kind": None, "features": None}]
        decision = decision_of(items, [("a", ["a", "b"]), ("b", ["b"])],
                               slots=[{"id": "0", "features": {"pos": "top"}}, {"id": "1"}])
        texts = examples.examples(decision, [1.0, 0.0])
        assert texts == reference_texts(decision, [1.0, 0.0])
        seen.add("\n".join(texts[0]))
    assert len(seen) == 5  # 1 and 1.0 are one VW value, {"x": 1} comes twice
    for satiation in ({"exp_cat": 1.0, "exhausted": True}, {"exp_cat": True, "exhausted": 1.0}, {}):
        decision = decision_of([{"id": "a", "features": {}, "satiation": satiation}], [("a", ["a"])])
        assert examples.examples(decision, [0.5]) == reference_texts(decision, [0.5])


feature_values = st.one_of(
    st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 0.5, 1.0, -2.25, 1e-30]),
    st.text(max_size=3), st.lists(st.text(max_size=2), max_size=2),
)
logged_items = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c"]), "features": st.dictionaries(st.sampled_from(["x", "y", "z z"]), feature_values, max_size=3)},
    optional={"category": st.sampled_from(["k1", None]), "kind": st.sampled_from(["single", "bundle", None]),
              "satiation": st.dictionaries(st.sampled_from(["exp_cat", "exhausted"]), st.one_of(st.booleans(), st.floats(0, 2)))},
)


@given(st.lists(st.lists(logged_items, min_size=1, max_size=4), min_size=1, max_size=6), st.data())
def test_texts_equal_the_reference_path(decisions: list[list[dict[str, Any]]], data: st.DataObject) -> None:
    examples = SlateExamples(limit=5)  # small: the caches are cleared along the way too
    for items in decisions:
        ids = list(dict.fromkeys(item["id"] for item in items))
        served = [(ids[0], ids), (ids[-1], ids[-1:])]
        context = data.draw(st.dictionaries(st.sampled_from(["device", "hour"]), feature_values, max_size=2))
        decision = decision_of(items, served, context=context)
        rewards = data.draw(st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.3]), min_size=2, max_size=2))
        assert examples.examples(decision, rewards) == reference_texts(decision, rewards)


def served_decisions(client: Any, runtime: Any, clock: Any, count: int) -> None:
    """``count`` slates through the API (slot features, a third consumed), windows closed."""
    pool = candidates(12, features=4)
    pool[3]["features"]["fresh"] = True
    pool[5]["features"]["tags"] = ["x", "y"]
    for i in range(count):
        body = client.post("/v1/slates", json={
            "user_id": f"u{i % 4}", "context": {"segment": f"s{i % 3}", "hour": i % 24},
            "candidates": pool[i % 3:], "slots": [{"id": "top", "features": {"size": "big"}}, {"id": "rest"}, {"id": "end"}],
        }).get_json()
        if i % 3 == 0:
            consumed = {"item_id": body["slate"][i % 3]["item_id"], "type": "consume"}
            assert client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": [consumed]}).status_code < 300
        clock.advance(7)
    clock.advance(601)


def test_learner_publishes_the_model_of_the_reference_path(client: Any, runtime: Any, clock: Any) -> None:
    learner = runtime.learner.kinds["slate"]
    reference = runtime.slate_models.fresh()
    for _ in range(2):  # the second pass learns on top of the first one's model
        served_decisions(client, runtime, clock, 25)
        due = runtime.store.due_decisions("slate", clock.now_ms(), 1000)
        rewards = learner.rewards(due)
        assert any(any(r) for r in rewards.values())  # some reward is not zero
        for decision in due:
            learn_slate_decision(reference, decision, rewards[decision["_id"]])
        assert runtime.learner.run_once().by_kind["slate"].learned == len(due) == 25

        meta = runtime.store.latest_model_meta("slate")
        data = runtime.store.load_model(meta["file_id"])
        assert data == reference.to_bytes() != runtime.slate_models.fresh().to_bytes()
        # Predicting moves a model's counters and exploration state: ask copies.
        published, expected = SlateModel.from_bytes(data), SlateModel.from_bytes(reference.to_bytes())
        context = "|U segment=s1"
        actions = [Candidate(c["id"], c["features"], c["category"], c["creator"]).vw_text for c in candidates(12, 4)]
        for slot in range(3):
            assert np.array_equal(published.slot_pmf(context, actions, slot_text({}, slot)),
                                  expected.slot_pmf(context, actions, slot_text({}, slot)))


def test_compact_decisions_give_the_reference_text_with_bodies_read_once(client: Any, runtime: Any, clock: Any) -> None:
    served_decisions(client, runtime, clock, 12)
    full = runtime.store.due_decisions("slate", clock.now_ms(), 100)
    compact = runtime.store.due_compact("slate", clock.now_ms(), 100)
    assert [d["_id"] for d in full] == [d["_id"] for d in compact] and len(full) == 12
    assert all("item" in c and "features" not in c for c in compact[0]["candidates"])  # really references
    reads: list[int] = []

    def bodies(digests: Any) -> Any:
        reads.append(len(digests))
        return runtime.store.logged_item_bodies(digests)

    rewards = [0.0, 1.0, 0.5]
    prepared = SlateExamples(bodies=bodies)
    prepared.prepare(compact)
    assert reads == [12]  # one round trip for the 12 distinct items
    for expanded, stored in zip(full, compact):
        assert prepared.examples(stored, rewards) == reference_texts(expanded, rewards)
    assert reads == [12]
    cleared = SlateExamples(bodies=bodies, limit=3)  # its caches are cleared over and over: it reads bodies itself
    for expanded, stored in zip(full, compact):
        assert cleared.examples(stored, rewards) == reference_texts(expanded, rewards)


def test_the_learners_read_leaves_satiation_one_string_that_parses_to_the_whole_reads(
    client: Any, runtime: Any, clock: Any
) -> None:
    served_decisions(client, runtime, clock, 6)
    whole = runtime.store.due_decisions("slate", clock.now_ms(), 100)
    apart = runtime.store.due_compact("slate", clock.now_ms(), 100)
    assert [d["_id"] for d in whole] == [d["_id"] for d in apart] and len(whole) == 6
    for full, stored in zip(whole, apart):
        assert isinstance(stored["packed_satiation"], str)  # left unparsed by the read...
        assert not any("satiation" in candidate for candidate in stored["candidates"])
        expected = [candidate.get("satiation") for candidate in full["candidates"]]
        assert all(isinstance(values, dict) and values for values in expected)  # not trivially empty
        assert candidate_satiations(stored) == expected == candidate_satiations(full)  # ...and parses to the same
        assert "packed_distribution" not in stored and not any("distribution" in c for c in stored["chosen"])
