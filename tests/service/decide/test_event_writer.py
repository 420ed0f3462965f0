"""Prompts counted as shown behind the response (service/decide/event_writer.py): the next
prompt of the user sees the count while its write is held, and a replay is counted once."""

from __future__ import annotations

import threading
from typing import Any


def held(runtime: Any) -> tuple[threading.Event, threading.Event]:
    """Hold the event writer's writes: ``(entered, gate)``; set ``gate`` to let them through."""
    entered, gate = threading.Event(), threading.Event()
    write = runtime.event_writer._write

    def gated(batch: Any) -> None:
        entered.set()
        assert gate.wait(10)
        write(batch)

    runtime.event_writer._write = gated
    return entered, gate


def asked(client: Any, runtime: Any, user: str, tries: int = 200) -> str:
    for n in range(tries):
        body = client.post("/v1/prompts", json={"user_id": user, "item_id": "m1", "context": {}, "event_id": f"{user}-{n}"}).get_json()
        if body["ask"]:
            return body["event_id"]
    raise AssertionError("the uniform policy never asked")


def test_the_next_prompt_counts_the_last_one_shown_while_its_write_is_held(client: Any, runtime: Any) -> None:
    entered, gate = held(runtime)
    first = asked(client, runtime, "w")
    assert entered.wait(10)  # the count is in flight, held
    key = runtime.prompts._user("w")
    assert not (runtime.store.get_user(key) or {}).get("prompts")  # not in the store yet
    second = client.post("/v1/prompts", json={"user_id": "w", "item_id": "m2", "context": {}, "event_id": "next"})
    derived = runtime.store.get_decision(second.get_json()["event_id"])["derived"]
    assert derived["prompts_1h"] == 1 and derived["since_last_prompt"] == "lt5m"  # read its own write
    # A retry of the first request replays it and queues its count again: counted once.
    replay = client.post("/v1/prompts", json={"user_id": "w", "item_id": "m1", "context": {}, "event_id": first})
    assert replay.status_code == 200
    gate.set()
    assert runtime.event_writer.flush(10)
    user = runtime.store.get_user(key)
    shown = [p["event_id"] for p in user["prompts"]]
    assert shown.count(first) == 1 and sum(user["shown"].values()) == 2 * len(shown)  # format + visibility per prompt
