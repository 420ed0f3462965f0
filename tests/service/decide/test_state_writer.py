"""Write-behind of exposure updates (service/decide/state_writer.py): batching, read-your-writes,
bounded memory, errors, shutdown — and, over HTTP, that a slate's exposure reaches the store."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from service.core.errors import StoreUnavailable
from service.decide.state_writer import Batch, StateWriter


class GatedWrites:
    """A write function that records batches and, while ``gate`` is clear, blocks."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, batch: Batch) -> None:
        self.entered.set()
        assert self.gate.wait(10)
        self.batches.append({user: dict(fields) for user, fields in batch.items()})


def test_what_queues_during_a_write_goes_out_in_one_bulk_write_with_the_latest_values() -> None:
    writes = GatedWrites()
    writer = StateWriter(writes)
    writer.put("u0", {"exp_cat.a": [1.0, 1]}, at=1)
    assert writes.entered.wait(5)  # the first batch is being written; the rest must wait for it
    for n in range(1, 50):
        writer.put(f"u{n % 10}", {"exp_cat.a": [float(n), n], f"seen_creator.c{n}": n}, at=n)
    writes.gate.set()
    assert writer.flush(5)
    assert len(writes.batches) == 2
    second = writes.batches[1]
    assert sorted(second) == sorted(f"u{n}" for n in range(10))
    assert second["u3"]["exp_cat.a"] == [43.0, 43]  # the last of 3, 13, ..., 43
    assert {k for k in second["u3"] if k.startswith("seen_creator")} == {f"seen_creator.c{n}" for n in range(3, 50, 10)}
    writer.close(1)


def test_reads_see_queued_and_inflight_fields_without_touching_the_stored_state() -> None:
    writes = GatedWrites()
    writer = StateWriter(writes)
    writer.put("u", {"exp_cat.a": [1.0, 1]}, at=1)
    assert writes.entered.wait(5)  # now in flight
    writer.put("u", {"exp_creator.k": [2.0, 2]}, at=1)  # now pending
    stored = {"exp_cat": {"b": [5.0, 0]}, "seen_creator": {"k": 0}}
    seen = writer.overlay("u", stored)
    assert seen == {"exp_cat": {"b": [5.0, 0], "a": [1.0, 1]}, "exp_creator": {"k": [2.0, 2]}, "seen_creator": {"k": 0}}
    assert stored == {"exp_cat": {"b": [5.0, 0]}, "seen_creator": {"k": 0}}
    assert writer.overlay("someone else", stored) == stored
    writes.gate.set()
    assert writer.flush(5)
    assert writer.overlay("u", stored) == stored  # written: the store has it now
    writer.close(1)


def test_pending_users_are_bounded_a_writer_waits_for_the_flush() -> None:
    writes = GatedWrites()
    writer = StateWriter(writes, max_pending=3)
    writer.put("first", {"x": 1}, at=1)
    assert writes.entered.wait(5)
    for n in range(3):
        writer.put(f"u{n}", {"x": n}, at=1)
    blocked = threading.Thread(target=writer.put, args=("one too many", {"x": 9}, 1))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()  # waits: three users are pending already
    writes.gate.set()
    blocked.join(5)
    assert not blocked.is_alive()
    assert writer.flush(5)
    assert {user for batch in writes.batches for user in batch} == {"first", "u0", "u1", "u2", "one too many"}
    writer.close(1)


def test_a_failed_write_is_reported_and_dropped_and_later_writes_go_on() -> None:
    failures: list[Exception] = []
    written: list[Batch] = []

    def write(batch: Batch) -> None:
        if "bad" in batch:
            raise StoreUnavailable("down")
        written.append(dict(batch))

    writer = StateWriter(write, on_error=failures.append)
    writer.put("bad", {"x": 1}, at=1)
    assert writer.flush(5)
    writer.put("good", {"x": 2}, at=1)
    assert writer.flush(5)
    assert [type(f) for f in failures] == [StoreUnavailable] and written == [{"good": {"x": 2}}]
    writer.close(1)


def test_close_writes_everything_and_later_puts_write_directly() -> None:
    writes = GatedWrites()
    writes.gate.set()
    writer = StateWriter(writes)
    for n in range(20):
        writer.put(f"u{n}", {"x": n}, at=1)
    writer.close(5)
    assert {user for batch in writes.batches for user in batch} == {f"u{n}" for n in range(20)}
    writer.put("late", {"x": 1}, at=1)
    assert writes.batches[-1] == {"late": {"x": 1}}


def test_a_slates_exposure_reaches_the_store_and_the_next_slate_counts_it(client: Any, app: Any) -> None:
    runtime = app.extensions["elicit"]
    body = {"user_id": "w1", "candidates": [{"id": f"i{k}", "category": "soup", "creator": f"chef{k}"} for k in range(4)],
            "slots": 2}
    first = client.post("/v1/slates", json=body)
    assert first.status_code == 201, first.get_json()
    second = client.post("/v1/slates", json=body)  # same process: sees the queued exposure at once
    decision = runtime.store.get_decision(second.get_json()["event_id"])
    assert {c["satiation"]["exp_cat"] for c in decision["candidates"]} == {2.0}
    assert runtime.state_writer.flush(5)
    from service.core.pseudonyms import user_key

    stored = runtime.user_state.users.get(user_key(str(runtime.config["SECRET"]), "w1"))
    assert stored["exp_cat"]["soup"][0] == pytest.approx(4.0)  # two slates × two soups, undecayed (same instant)


def test_a_linger_gathers_users_into_one_write_and_a_flush_ends_it_early() -> None:
    batches: list[Batch] = []
    writer = StateWriter(batches.append, linger_s=30.0)
    for n in range(5):
        writer.put(f"u{n}", {"x": n}, at=n)
    threading.Event().wait(0.2)  # well inside the linger: nothing written yet
    assert batches == []
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(writer.flush(5)))
    flusher.start()
    flusher.join(10)
    assert flushed == [True]  # the flush did not wait out the 30 s linger
    assert len(batches) == 1 and sorted(batches[0]) == [f"u{n}" for n in range(5)]
    writer.close(1)


def test_a_users_next_slate_sees_the_last_ones_exposure_while_its_write_is_still_held(client: Any, app: Any) -> None:
    """Read-your-writes per user: the exposure update is off the response path (the
    write-behind holds it here, not yet in the store), and the next decision counts it."""
    from service.core.pseudonyms import user_key

    runtime = app.extensions["elicit"]
    gated = GatedWrites()
    write = runtime.state_writer._write
    runtime.state_writer._write = lambda batch: (gated(batch), write(batch))
    body = {"user_id": "w2", "candidates": [{"id": f"i{k}", "category": "soup", "creator": f"chef{k}"} for k in range(4)],
            "slots": 2}
    assert client.post("/v1/slates", json=body).status_code == 201
    assert gated.entered.wait(10)  # the exposure write is in flight and held
    key = user_key(str(runtime.config["SECRET"]), "w2")
    assert "exp_cat" not in runtime.user_state.users.get(key)  # not in the store yet
    second = client.post("/v1/slates", json=body)
    decision = runtime.store.get_decision(second.get_json()["event_id"])
    assert {c["satiation"]["exp_cat"] for c in decision["candidates"]} == {2.0}  # the first slate's two soups
    gated.gate.set()
    assert runtime.state_writer.flush(10)
    assert runtime.user_state.users.get(key)["exp_cat"]["soup"][0] == pytest.approx(4.0)
