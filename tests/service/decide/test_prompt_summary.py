"""The prompt path's running summary of recent slates (service/decide/prompt_summary.py):
the same derived context as reading the log, no log read per prompt, and the backfill of
users whose state predates the summary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from service.decide.prompt_state import derive_context
from service.decide.prompt_summary import from_log
from service.decide.prompts import RECENT_SLATES

CATEGORIES = ("doc", "film", "news", "sport")
#: The features the summary feeds; the others come from the prompt state, read as before.
SUMMARISED = ("consumed", "consumed_amount", "berserk_share")


class LogReads:
    """A spy on elicit's own store class: the user keys of every read of recent slates without
    their candidates, as prompt decisions read them (explicit feedback reads them whole, for
    the item's category: not a decision, not on this path)."""

    def __init__(self, read: Any) -> None:
        self.read = read  # the store's own method, for the expected values
        self.users: list[str] = []

    def __call__(self, user: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("candidates") is False:
            self.users.append(user)
        return self.read(user, *args, **kwargs)


@pytest.fixture
def log_reads(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> LogReads:
    spy = LogReads(runtime.store.recent_slates)
    monkeypatch.setattr(runtime.store, "recent_slates", spy)
    return spy


def from_the_log(runtime: Any, log_reads: LogReads, user_id: str, item_id: str) -> dict[str, Any]:
    """What the prompt path derived before the summary: the user's slates and outcomes read from the log."""
    key = runtime.prompts._user(user_id)
    now = runtime.clock.now_ms()
    config = runtime.prompts.config
    slates = log_reads.read(key, now - int(config["PROMPT_HISTORY_S"] * 1000), RECENT_SLATES, candidates=False)
    outcomes = runtime.store.outcomes_for([s["_id"] for s in slates]) if slates else {}
    user = runtime.store.get_user(key) or {}
    return derive_context(user, from_log(slates, outcomes, item_id), {}, now, config)


def play(client: Any, runtime: Any, rng: np.random.Generator, users: list[str], steps: int) -> list[tuple[str, str]]:
    """Slates, consumption and likes of ``users`` over a few days; returns (user, item) pairs served."""
    served: list[tuple[str, str]] = []
    for step in range(steps):
        user = users[int(rng.integers(len(users)))]
        candidates = [{"id": f"i{int(i)}", "category": CATEGORIES[int(i) % 4]} for i in rng.choice(40, 6, replace=False)]
        body = client.post("/v1/slates", json={"user_id": user, "candidates": candidates, "slots": 3,
                                               "event_id": f"s{step}"}).get_json()
        items = [choice["item_id"] for choice in body["slate"]]
        served += [(user, item) for item in items]
        for item in items:
            if rng.random() < 0.4:
                value = float(rng.choice([0.25, 0.5, 1.0]))
                client.post(f"/v1/slates/s{step}/outcomes", json={"outcomes": [{"item_id": item, "type": "consume", "value": value}]})
            if rng.random() < 0.1:
                client.post("/v1/feedback", json={"user_id": user, "item_id": item, "value": "up", "visibility": "private"})
        runtime.clock.advance(float(rng.exponential(3 * 3600)))
    return served


def probe(client: Any, runtime: Any, user: str, item: str, event_id: str) -> dict[str, Any]:
    assert client.post("/v1/prompts", json={"user_id": user, "item_id": item, "context": {}, "event_id": event_id}).status_code == 201
    return runtime.store.get_decision(event_id)["derived"]


def test_the_summary_derives_what_the_log_read_derived_without_reading_the_log(
    client: Any, runtime: Any, log_reads: LogReads
) -> None:
    rng = np.random.default_rng(11)
    users = [f"u{i}" for i in range(5)]
    served = play(client, runtime, rng, users, 60)
    probes = [served[int(i)] for i in rng.choice(len(served), 25, replace=False)]
    for n, (user, item) in enumerate(probes):
        expected = from_the_log(runtime, log_reads, user, item)
        derived = probe(client, runtime, user, item, f"p{n}")
        # Exact: the same logged values summed (quarters, halves and ones: exact in any order).
        assert {k: derived[k] for k in SUMMARISED} == {k: expected[k] for k in SUMMARISED}, (user, item)
    assert log_reads.users == []  # every user's first slate marked the summary complete
    consumed = [from_the_log(runtime, log_reads, user, item)["consumed_amount"] for user, item in probes]
    assert sum(amount > 0 for amount in consumed) >= 5  # the probes did meet consumption


def test_a_user_whose_state_predates_the_summary_is_backfilled_by_their_next_prompt(
    client: Any, runtime: Any, log_reads: LogReads
) -> None:
    rng = np.random.default_rng(5)
    served = play(client, runtime, rng, ["old"], 12)
    runtime.state_writer.flush(5.0)
    key = runtime.prompts._user("old")
    # The user's state as written before the summary existed: the three fields gone.
    runtime.user_state.users.users.update_one(
        {"_id": key}, {"$unset": {"slate.summary": "", "slate.recent_slots": "", "slate.consumed_amounts": ""}})
    item = max(served, key=lambda pair: from_the_log(runtime, log_reads, *pair)["consumed_amount"])[1]
    expected = from_the_log(runtime, log_reads, "old", item)
    assert expected["consumed_amount"] > 0 and expected["berserk_share"] >= 0

    first = probe(client, runtime, "old", item, "p1")
    assert log_reads.users == [key]  # read from the log once, as before the summary
    runtime.state_writer.flush(5.0)
    state = runtime.user_state.users.get(key)
    assert state["summary"] == 1 and len(state["recent_slots"]) == 12
    second = probe(client, runtime, "old", item, "p2")
    assert log_reads.users == [key]  # and not again
    for derived in (first, second):
        assert {k: derived[k] for k in SUMMARISED} == {k: expected[k] for k in SUMMARISED}

    # A new slate and consumption after the backfill extend it (a fresh item: consumed ones are excluded).
    runtime.clock.advance(60)
    body = client.post("/v1/slates", json={"user_id": "old", "candidates": [{"id": "fresh", "category": "doc"}],
                                           "slots": 1, "event_id": "after"}).get_json()
    assert [choice["item_id"] for choice in body["slate"]] == ["fresh"]
    client.post("/v1/slates/after/outcomes", json={"outcomes": [{"item_id": "fresh", "type": "consume", "value": 2.0}]})
    third = probe(client, runtime, "old", "fresh", "p3")
    assert third["consumed_amount"] == 2.0
    assert {k: third[k] for k in SUMMARISED} == {k: from_the_log(runtime, log_reads, "old", "fresh")[k] for k in SUMMARISED}
    assert log_reads.users == [key]
