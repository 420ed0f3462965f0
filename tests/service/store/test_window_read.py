"""A window read in pieces is exactly the one read: the same decisions in the same order,
whatever the piece size, with decisions on piece boundaries and groups of equal event
time (smaller and larger than a piece) — against the server in use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import errors as mongo_errors

from service.core.errors import StoreError, StoreUnavailable
from service.store import Store, window_read
from service.store.window_read import indexable, pieces, prefetched


@pytest.fixture
def store(mongo_uri: str) -> Iterator[Store]:
    store = Store(mongo_uri, f"win_{uuid.uuid4().hex[:10]}")
    store.ensure_indexes()
    yield store
    store.drop_database()
    store.close()


def log(store: Store, times: list[int], kind: str = "prompt") -> None:
    """Decisions at ``times``, inserted in a shuffled order so insertion is not event-time order;
    every third of another kind (the read must skip them)."""
    order = sorted(range(len(times)), key=lambda i: (i * 7919) % len(times))
    docs = [{"_id": f"d{i:04d}", "kind": kind if i % 3 else "other", "t": times[i], "user": "u", "activated": True}
            for i in order]
    if docs:
        store.decisions.insert_many(docs)


def single_read(store: Store, query: dict[str, Any]) -> list[str]:
    return [doc["_id"] for doc in store.decisions.find(indexable(query)).sort("t", 1)]


def piecewise(store: Store, query: dict[str, Any], piece: int) -> list[list[str]]:
    return [[doc["_id"] for doc in part] for part in pieces(store.decisions, query, piece=piece, batch_size=2)]


TIMES = [5, 1, 3, 3, 3, 3, 3, 3, 3, 3, 2, 8, 8, 9, 1, 4, 4, 7, 7, 7, 6, 10, 11, 3]


@pytest.mark.parametrize("piece", [1, 2, 3, 4, 5, 7, 100])
def test_pieces_join_to_the_single_read(store: Store, piece: int) -> None:
    log(store, TIMES)
    query = {"kind": "prompt", "t": {"$gte": 1, "$lt": 11}, "activated": True}
    expected = single_read(store, query)
    parts = piecewise(store, query, piece)
    assert [i for part in parts for i in part] == expected
    assert len(expected) == sum(1 for i, t in enumerate(TIMES) if i % 3 and 1 <= t < 11)
    # Bounded: no piece is larger than the piece size unless it is one event time's group.
    times = {f"d{i:04d}": t for i, t in enumerate(TIMES)}
    assert all(len(part) <= piece or len({times[i] for i in part}) == 1 for part in parts)
    assert all(part for part in parts)


def test_store_iter_decisions_reads_in_pieces_in_order(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    log(store, TIMES, kind="slate")
    monkeypatch.setattr(window_read, "PIECE", 2)
    # pieces() took PIECE as a default at import: make the store's call see the small one.
    monkeypatch.setattr("service.store.mongo.pieces", lambda c, q, batch_size: window_read.pieces(c, q, 2, batch_size))
    query = {"kind": "slate", "t": {"$gte": 0, "$lt": 100}}
    assert [d["_id"] for d in store.iter_decisions(query)] == single_read(store, query)
    assert [d["t"] for d in store.iter_decisions({"kind": "slate"})] == sorted(t for i, t in enumerate(TIMES) if i % 3)


def test_a_query_with_an_exact_event_time_is_one_read(store: Store) -> None:
    log(store, TIMES)
    assert piecewise(store, {"kind": "prompt", "t": 3}, 2) == [single_read(store, {"kind": "prompt", "t": 3})]
    assert len(single_read(store, {"kind": "prompt", "t": 3})) == 6


# One store for all examples: each example clears it first.
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=6), max_size=30), st.integers(min_value=1, max_value=6))
def test_any_times_any_piece_size(store: Store, times: list[int], piece: int) -> None:
    store.decisions.delete_many({})
    log(store, times)
    query = {"kind": "prompt", "t": {"$gt": 0, "$lte": 5}}
    assert [i for part in piecewise(store, query, piece) for i in part] == single_read(store, query)


class Flaky:
    """A collection whose ``find`` fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def find(self, query: dict[str, Any]) -> Flaky:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self

    def sort(self, *args: Any) -> Flaky:
        return self

    def limit(self, n: int) -> Flaky:
        return self

    def batch_size(self, n: int) -> list[dict[str, Any]]:
        return [{"_id": "a", "t": 1}]


def test_a_piece_lost_mid_read_is_read_again_then_the_error_is_raised() -> None:
    cancelled = mongo_errors._OperationCancelled("operation cancelled")  # what was seen once under load
    flaky = Flaky(window_read.ATTEMPTS - 1, cancelled)
    assert list(pieces(flaky, {"kind": "slate"}, piece=5)) == [[{"_id": "a", "t": 1}]]  # type: ignore[arg-type]
    assert flaky.calls == window_read.ATTEMPTS
    with pytest.raises(StoreUnavailable):
        list(pieces(Flaky(window_read.ATTEMPTS, cancelled), {"kind": "slate"}, piece=5))  # type: ignore[arg-type]
    with pytest.raises(StoreError):  # not a connection problem: not retried
        list(pieces(Flaky(1, mongo_errors.OperationFailure("bad query")), {"kind": "slate"}, piece=5))  # type: ignore[arg-type]


def test_prefetched_keeps_order_raises_errors_and_stops_when_closed() -> None:
    assert list(prefetched(iter(range(50)), depth=2)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise StoreError("boom")

    got = []
    with pytest.raises(StoreError, match="boom"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1]
    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    reader = prefetched(endless())
    assert next(reader) == 0
    reader.close()
    import time

    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count <= 4  # the helper thread stopped
