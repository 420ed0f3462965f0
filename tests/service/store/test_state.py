"""Conformance of the catalogue, user-state and history operations (service/store/state.py)
against the server in use — including the nx-27017 divergences they work around."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from service.store import Store
from service.store.state import CatalogueStore, SlateHistoryStore, UserStateStore, field_key, unfield_key


@pytest.fixture
def store(mongo_uri: str) -> Iterator[Store]:
    store = Store(mongo_uri, f"state_{uuid.uuid4().hex[:10]}")
    yield store
    store.drop_database()
    store.close()


def test_catalogue_upsert_keeps_string_ids_and_replaces(store: Store) -> None:
    catalogue = CatalogueStore(store.db)
    catalogue.ensure_indexes()
    assert catalogue.upsert([{"id": "a", "creator": "c1"}, {"id": "b", "creator": "c1"}, {"id": "c", "creator": "c2"}], 5) == (3, 0)
    assert catalogue.upsert([{"id": "a", "creator": "c2", "kind": "durable"}, {"id": "z", "creator": "c2"}], 6) == (1, 1)
    assert catalogue.get("z")["_id"] == "z"  # an upserted replacement keeps the string id
    assert catalogue.get("a")["kind"] == "durable" and catalogue.get("a")["updated_at"] == 6
    assert set(catalogue.get_many(["a", "z", "missing"])) == {"a", "z"}
    assert catalogue.creator_sizes(["c1", "c2", "c3"]) == {"c1": 1, "c2": 3}


@pytest.mark.parametrize("name", ["plain", "a.b", "$x", "", "50%", "%2E", "ü ñ"])
def test_field_keys_survive_as_nested_map_keys(store: Store, name: str) -> None:
    users = UserStateStore(store.db)
    assert unfield_key(field_key(name)) == name
    users.set_fields("u", {f"consumed.{field_key(name)}": 7, f"by_creator.{field_key(name)}.{field_key('i.1')}": 8})
    users.set_fields("u", {f"by_creator.{field_key(name)}.{field_key('i2')}": 9})  # dotted $set adds to the map
    state = users.get("u")
    assert state["consumed"] == {field_key(name): 7}
    assert state["by_creator"][field_key(name)] == {field_key("i.1"): 8, field_key("i2"): 9}


def test_feedback_and_history_reads(store: Store) -> None:
    users = UserStateStore(store.db)
    users.ensure_indexes()
    history = SlateHistoryStore(store.db)
    users.feedback.insert_many([
        {"user": "u", "item_id": "a", "value": "down", "t": 10},
        {"user": "u", "item_id": "b", "value": "double_up", "t": 20},
        {"user": "v", "item_id": "c", "value": "up", "t": 30},
    ])
    users.set_fields("u", {"lifts.b": [20, None, "m"], "thumbs_down.a": 10})  # as record_feedback writes them
    assert users.get("u") == {"lifts": {"b": [20, None, "m"]}, "thumbs_down": {"a": 10}}
    assert [d["item_id"] for d in history.likes_between(0, 100)] == ["b", "c"]
    store.insert_decision({"_id": "d1", "kind": "slate", "user": "v", "t": 40, "chosen": [{"slot": 0, "item_id": "c", "probability": 1.0}],
                           "candidates": [{"id": "c", "category": "k", "creator": "m", "features": {"big": "x" * 100}}]})
    store.insert_decision({"_id": "d2", "kind": "prompt", "user": "v", "t": 41})
    (doc,) = history.served_slots(["v"], 0, 100)
    assert doc["chosen"][0]["item_id"] == "c" and doc["candidates"][0]["category"] == "k"
