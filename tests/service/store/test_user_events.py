"""Per-event updates of users' documents (service/store/user_events.py): the bulk apply the
event write-behind uses keeps every event of writers racing on one user, once each."""

from __future__ import annotations

import threading

from service.store import Store


def test_the_bulk_apply_keeps_every_event_of_writers_racing_on_one_user(store: Store) -> None:
    def add(state: dict) -> None:
        state["shown"] = {"single": state.get("shown", {}).get("single", 0) + 1}

    errors: list[BaseException] = []

    def one_by_one(name: str) -> None:
        try:
            for n in range(40):
                store.apply_user_event("k", f"{name}{n}", add)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def in_batches(name: str) -> None:
        try:
            for n in range(0, 40, 4):
                store.apply_user_events({"k": [(f"{name}{n + i}", add) for i in range(4)], f"other-{name}": [(f"x{n}", add)]})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one_by_one, args=(f"a{i}-",)) for i in range(2)]
    threads += [threading.Thread(target=in_batches, args=(f"b{i}-",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # Every event of every writer counted exactly once: no lost update, no double count.
    assert store.get_user("k")["shown"] == {"single": 160}
    assert store.get_user("other-b0-")["shown"] == {"single": 10}
    store.apply_user_events({"k": [("a0-0", add), ("new", add)]})  # a replay inside a batch is skipped
    assert store.get_user("k")["shown"] == {"single": 161}
