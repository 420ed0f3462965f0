"""One learner per deployment (the learner lease) and exactly-once under overlap, in-process.

Two runtimes on one database stand for two processes; the manual clock moves the lease
through expiry. The real-process version is tests/system/test_multiprocess.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.core.errors import LeaseLost
from tests.helpers import slate_request


def decide(app: Any, count: int, prefix: str) -> None:
    client = app.test_client()
    for i in range(count):
        assert client.post("/v1/slates", json=slate_request(event_id=f"{prefix}{i}", user=f"u{i}")).status_code == 201


def learned_versions(runtime: Any) -> dict[str, int | None]:
    return {d["_id"]: d["learn_version"] for d in runtime.store.iter_decisions({"kind": "slate"})}


def test_standby_waits_until_the_lease_expires(make_app: Any, clock: Any) -> None:
    first, second = make_app(LEARNER_LEASE_S=30), make_app(LEARNER_LEASE_S=30)
    a, b = first.extensions["elicit"].leased_learner, second.extensions["elicit"].leased_learner
    assert a.pass_if_leader() is not None and a.leading
    clock.advance(29)
    assert b.pass_if_leader() is None and not b.leading
    assert a.pass_if_leader() is not None  # renews: now held until 59 s
    clock.advance(29)
    assert b.pass_if_leader() is None
    clock.advance(31)  # a fell silent (died): its lease lapsed
    decide(second, 4, "z")
    clock.advance(601)
    result = b.pass_if_leader()
    assert result is not None and result.learned == 4 and b.leading
    assert a.pass_if_leader() is None and not a.leading  # a comes back as the standby
    first.extensions["elicit"].close()
    b.lease.release()
    assert second.extensions["elicit"].leased_learner.pass_if_leader() is not None  # released: free at once


def test_a_learner_that_lost_its_lease_publishes_nothing_and_loses_nothing(make_app: Any, clock: Any) -> None:
    first, second = make_app(), make_app()
    rt_a, rt_b = first.extensions["elicit"], second.extensions["elicit"]
    decide(first, 6, "d")
    clock.advance(601)
    # a claims, then finds its lease gone before publishing (b took over meanwhile).
    asked = []

    def guard() -> bool:
        asked.append(True)
        return len(asked) == 1  # yes before claiming, no before publishing

    with pytest.raises(LeaseLost):
        rt_a.learner.kinds["slate"].run_once(guard)
    assert rt_a.store.latest_model_meta("slate") is None
    assert set(learned_versions(rt_a).values()) == {1}  # claimed for v1, not published
    result = rt_b.learner.run_once()
    assert result.by_kind["slate"].released == 6 and result.by_kind["slate"].learned == 6
    assert rt_b.store.latest_model_meta("slate")["decisions"] == 6
    # a, back, starts from the published model and finds nothing left to learn.
    assert rt_a.learner.run_once().learned == 0
    assert set(learned_versions(rt_a).values()) == {1}


def test_a_learner_that_lost_the_race_to_publish_gets_its_claims_released(make_app: Any, clock: Any) -> None:
    """b publishes v1 while a had claimed some decisions for v1 too: a's publish is refused
    and its claims, at a published version but under another token, are learned again."""
    first, second = make_app(), make_app()
    rt_a, rt_b = first.extensions["elicit"], second.extensions["elicit"]
    decide(first, 4, "p")
    clock.advance(601)
    slate_a = rt_a.learner.kinds["slate"]
    won: list[str] = []

    def a_claims_meanwhile() -> bool:  # b's guard runs after b read what is due, before b claims
        if not won:
            won.extend(rt_a.store.claim_batch(1, {"p0": [0.0], "p1": [0.0]}, clock.now_ms(), "a-token"))
        return True

    assert rt_b.learner.run_once(a_claims_meanwhile).by_kind["slate"].learned == 2  # b: p2, p3 into v1
    assert won == ["p0", "p1"]
    assert slate_a.run_once().learned == 2  # a (fresh pass): releases p0, p1 and learns them into v2
    versions = learned_versions(rt_a)
    assert versions == {"p0": 2, "p1": 2, "p2": 1, "p3": 1}
    assert [rt_a.store.latest_model_meta("slate")["decisions"]] == [2]


def test_learn_once_takes_the_lease_and_hands_it_back(make_app: Any, clock: Any, runner: Any) -> None:
    from service.cli.main import main
    from service.core.clock import SystemClock

    clock.set(SystemClock().now_ms())  # the CLI runs on the wall clock: share it
    app = make_app(REWARD_WINDOW_S=0)  # due at once
    decide(app, 3, "c")
    runtime = app.extensions["elicit"]
    holder = runtime.leased_learner
    assert holder.lease.hold()  # another learner (this app) is active: the CLI stands by
    refused = runner.invoke(main, ["learn", "--once"])
    assert refused.exit_code != 0 and "another learner holds the learner lease" in refused.output
    holder.lease.release()
    done = runner.invoke(main, ["learn", "--once"])
    assert done.exit_code == 0, done.output
    assert '"learned": 3' in done.output
    assert holder.lease.hold()  # the CLI released the lease on exit


def test_an_unknown_learner_mode_is_refused(make_app: Any) -> None:
    with pytest.raises(ValueError, match="LEARNER must be in_process or external"):
        make_app(LEARNER="everywhere")
