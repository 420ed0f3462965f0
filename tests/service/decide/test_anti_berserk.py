"""Slates that don't go berserk: the oven, the momos, the comedian (scenarios over HTTP),
the catalogue API, and the berserk index on a hand-made log."""

from __future__ import annotations

import json
from typing import Any

from service.cli.main import main

DAY_S = 86_400


def put_items(client: Any, items: list[dict[str, Any]]) -> None:
    response = client.put("/v1/items", json={"items": items})
    assert response.status_code == 200, response.get_json()


def slate(client: Any, user: str, ids: list[str], slots: int) -> dict[str, Any]:
    response = client.post("/v1/slates", json={"user_id": user, "candidates": [{"id": i} for i in ids], "slots": slots})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_catalogue_round_trip_and_inline_values_win(client: Any, runtime: Any) -> None:
    put_items(client, [{"id": "i1", "category": "books", "creator": "ann", "kind": "durable", "features": {"pages": 300}}])
    assert client.get("/v1/items/i1").get_json()["kind"] == "durable"
    assert client.get("/v1/items/nope").status_code == 404
    put_items(client, [{"id": "i1", "category": "films", "creator": "ann"}])
    assert client.get("/v1/items/i1").get_json()["category"] == "films"  # replaced, not merged
    bad = client.put("/v1/items", json={"items": [{"id": "x", "features": {"f": [1]}}]})
    assert bad.status_code == 422 and bad.get_json()["field"] == "items[0].features.f[0]"
    body = client.post("/v1/slates", json={"user_id": "u", "candidates": [{"id": "i1", "category": "inline"}], "slots": 1,
                                           "event_id": "e"}).get_json()
    stored = runtime.store.get_decision(body["event_id"])["candidates"][0]
    assert stored["category"] == "inline" and stored["creator"] == "ann" and stored["kind"] == "single"


def test_the_oven_durable_purchase_hides_its_category_for_90_days(client: Any, clock: Any) -> None:
    ovens = [{"id": f"oven{i}", "category": "ovens", "creator": f"maker{i}", "kind": "durable"} for i in range(3)]
    others = [{"id": f"pan{i}", "category": f"pans{i}", "creator": f"smith{i}", "kind": "repeatable"} for i in range(5)]
    put_items(client, ovens + others)
    first = slate(client, "alice", ["oven0"], 1)
    outcome = {"outcomes": [{"item_id": "oven0", "type": "purchase"}]}
    assert client.post(f"/v1/slates/{first['event_id']}/outcomes", json=outcome).status_code == 202

    everything = [item["id"] for item in ovens + others]
    bob_saw_ovens = 0
    for _ in range(30):  # every 3 days for 90 days, less an hour
        clock.advance(3 * DAY_S - 120)
        alice = slate(client, "alice", everything, 4)
        assert not [s for s in alice["slate"] if s["item_id"].startswith("oven")]
        reasons = {e["item_id"]: e["reason"] for e in alice["excluded"]}
        assert reasons["oven0"] in {"durable_cooldown", "consumed"}  # bought, so also consumed
        assert reasons["oven1"] == reasons["oven2"] == "durable_cooldown"
        bob_saw_ovens += any(s["item_id"].startswith("oven") for s in slate(client, "bob", everything, 4)["slate"])
    # 3 of 8 candidates are ovens and 4 slots are filled: bob gets one nearly every time.
    assert bob_saw_ovens >= 25
    clock.advance(DAY_S)  # day 90 has passed
    assert any(s["item_id"].startswith("oven") for _ in range(5) for s in slate(client, "alice", everything, 4)["slate"])


def test_the_comedian_exhausted_creator_is_capped_at_one_per_slate(make_app: Any, clock: Any) -> None:
    app = make_app(CAP_PER_CREATOR=5)  # so that only exhaustion limits the comedian
    client = app.test_client()
    comic = [{"id": f"bit{i}", "category": f"show{i}", "creator": "comic"} for i in range(10)]
    fillers = [{"id": f"doc{i}", "category": f"doc{i}", "creator": f"maker{i}"} for i in range(6)]
    put_items(client, comic + fillers)
    ids = [item["id"] for item in comic + fillers]

    before = slate(client, "carol", [c["id"] for c in comic], 4)
    assert len(before["slate"]) == 4  # not exhausted yet: several of the comedian's items per slate
    consumed: set[str] = set()
    while len(consumed) < 8:
        body = slate(client, "carol", [c["id"] for c in comic if c["id"] not in consumed], 1)
        item = body["slate"][0]["item_id"]
        client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": [{"item_id": item, "type": "consume"}]})
        consumed.add(item)
        clock.advance(60)

    runtime = app.extensions["elicit"]
    for _ in range(10):
        body = slate(client, "carol", ids, 5)
        served = [s["item_id"] for s in body["slate"]]
        assert sum(item.startswith("bit") for item in served) <= 1
        decision = runtime.store.get_decision(body["event_id"])
        remaining = [c for c in decision["candidates"] if c["creator"] == "comic"]
        assert len(remaining) == 2 and all(c["satiation"]["exhausted"] is True for c in remaining)
        assert {e["item_id"] for e in body["excluded"] if e["reason"] == "consumed"} == consumed
        if any(item.startswith("bit") for item in served):
            assert [e["reason"] for e in body["excluded"] if e["item_id"] in {c["id"] for c in remaining}] == ["creator_exhausted"]
    fresh = slate(client, "dave", [c["id"] for c in comic], 4)  # another user is unaffected
    assert len(fresh["slate"]) == 4


def _decision(event_id: str, user: str, t: int, served: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "_id": event_id, "kind": "slate", "t": t, "user": user, "activated": True, "window_end": t,
        "candidates": [{"id": i, "category": cat, "creator": cr} for i, cat, cr in served],
        "chosen": [{"slot": k, "item_id": i} for k, (i, _, _) in enumerate(served)],
        "learn_version": None,
    }


def test_berserk_index_on_a_hand_made_log(runner: Any, runtime: Any) -> None:
    day = 1_767_398_400_000  # 2026-01-03T00:00Z: likes on 01-02, slates on 01-03
    hour = 3_600_000
    put = runtime.store.insert_decision
    # u1 liked a momo (up) at 01-02 12:00. Before: 4 slots, 1 momo → 0.25. After: 4 slots, 3 momos → 0.75.
    put(_decision("a1", "u1", day - 3 * 24 * hour, [("m0", "momos", "chef"), ("p0", "pizza", "x"), ("p1", "pizza", "y"), ("s0", "soup", "z")]))
    put(_decision("a2", "u1", day + 2 * hour, [("m1", "momos", "k"), ("m2", "momos", "l"), ("p2", "pizza", "y")]))
    put(_decision("a3", "u1", day + 5 * hour, [("m3", "momos", "q")]))
    # u2 double-upped a chef's item at 01-02 20:00. Before: 2 slots, 0 of chef/category → 0. After: 2 slots, 1 by chef → 0.5.
    put(_decision("b1", "u2", day - 2 * 24 * hour, [("x1", "salad", "a"), ("x2", "salad", "b")]))
    put(_decision("b2", "u2", day + hour, [("x3", "salad", "chef"), ("x4", "stew", "c")]))
    # u3 liked something but saw no slate on 01-03: skipped.
    put(_decision("c1", "u3", day - 24 * hour, [("m9", "momos", "chef")]))
    # a slate after the day, and a like two days back, must not count
    put(_decision("a4", "u1", day + 25 * hour, [("m5", "momos", "chef")]))
    feedback = runtime.user_state.users.feedback
    feedback.insert_many([
        {"user": "u1", "item_id": "m0", "value": "up", "visibility": "private", "t": day - 12 * hour},
        {"user": "u2", "item_id": "t1", "value": "double_up", "visibility": "public", "t": day - 4 * hour},
        {"user": "u3", "item_id": "m9", "value": "up", "visibility": "private", "t": day - 2 * hour},
        {"user": "u1", "item_id": "s0", "value": "up", "visibility": "private", "t": day - 30 * hour},
        {"user": "u1", "item_id": "p0", "value": "down", "visibility": "private", "t": day - 6 * hour},
    ])
    runtime.catalogue.upsert([{"id": "t1", "category": "tapas", "creator": "chef"}], 0)
    result = runner.invoke(main, ["berserk", "--day", "2026-01-03", "--json"])
    assert result.exit_code == 0, result.output
    index = json.loads(result.output)
    # up: u1 0.75 − 0.25 = 0.5; double_up: u2 0.5 − 0 = 0.5; overall mean of the two = 0.5; u3 skipped
    assert index == {"day": "2026-01-03", "overall": 0.5, "up": 0.5, "double_up": 0.5, "likes": 2, "skipped": 1}


def test_the_momos_a_like_does_not_flood_a_double_up_lifts_the_cap(client: Any, clock: Any) -> None:
    momos = [{"id": f"momo{i}", "category": "momos", "creator": f"kitchen{i}", "kind": "repeatable"} for i in range(6)]
    others = [{"id": f"dish{i}", "category": f"dish{i}", "creator": f"cook{i}", "kind": "repeatable"} for i in range(3)]
    put_items(client, momos + others)
    ids = [item["id"] for item in momos + others]
    liked = client.post("/v1/feedback", json={"user_id": "erin", "item_id": "momo0", "value": "up", "visibility": "private"})
    assert liked.status_code == 201, liked.get_json()
    for _ in range(20):
        clock.advance(3600)
        served = [s["item_id"] for s in slate(client, "erin", ids, 5)["slate"]]
        assert sum(item.startswith("momo") for item in served) <= 2  # the like is heard, not force-fed
    loved = client.post("/v1/feedback", json={"user_id": "erin", "item_id": "momo0", "value": "double_up", "visibility": "public"})
    assert loved.status_code == 201
    counts = []
    for _ in range(20):
        clock.advance(3600)
        body = slate(client, "erin", ids, 5)
        counts.append(sum(s["item_id"].startswith("momo") for s in body["slate"]))
        assert "cap" not in {e["reason"] for e in body["excluded"] if e["item_id"].startswith("momo")}
    # 6 momos and 3 others for 5 slots: with the category cap lifted, at least two slots are
    # always momos and most slates hold three or more.
    assert min(counts) >= 2 and max(counts) >= 3 and sum(c >= 3 for c in counts) >= 10
    clock.advance(15 * DAY_S)  # the lift lasts 14 days
    later = [s["item_id"] for s in slate(client, "erin", ids, 5)["slate"]]
    assert sum(item.startswith("momo") for item in later) <= 2
