"""The simulated population is a pure function of its seed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from simulator.params import DAY_MS, HOUR_MS, START_MS, SimulationParams
from simulator.population import Population

SMALL = SimulationParams(users=30, items=200)


def script(population: Population, days: int = 3) -> list[Any]:
    """A fixed driver: slates, reactions and prompts for every user; returns everything observed."""
    log: list[Any] = []
    for day in range(days):
        for user in population.users:
            now = START_MS + day * DAY_MS + 9 * HOUR_MS
            items = population.candidates(user, 5)
            slate = [{"slot": k, "item_id": item["id"]} for k, item in enumerate(items)]
            reactions = population.react_to_slate(user, slate, now)
            log.append((population.session_context(user, now), reactions))
            for reaction in reactions:
                if reaction["type"] in ("consume", "purchase"):
                    fmt = "graded" if day % 2 else "single"
                    log.append(population.answer_prompt(user, reaction["item_id"], True, fmt, "private", now + 60_000))
    return log


def traits(population: Population) -> list[tuple[Any, ...]]:
    return [(t.user_id, t.taste.tolist(), t.creator_affinity.tolist(), t.answer_propensity, t.sensitivity, t.device, t.social)
            for t in (u.traits for u in population.users)]


def test_same_seed_gives_the_same_catalogue_users_and_behaviour() -> None:
    a, b = Population(SMALL), Population(SMALL)
    assert a.catalogue == b.catalogue
    assert traits(a) == traits(b)
    log = script(a)
    assert log == script(b)
    # The script is not trivial: it saw consumption and every kind of prompt outcome that matters.
    answers = {entry for entry in log if isinstance(entry, str)}
    assert {"thumbs_up", "dismissed"} <= answers


def test_different_seeds_give_different_worlds() -> None:
    a, b = Population(SMALL), Population(replace(SMALL, seed=SMALL.seed + 1))
    assert a.catalogue != b.catalogue
    assert traits(a) != traits(b)
    assert script(a) != script(b)


def test_adding_users_changes_neither_the_catalogue_nor_existing_users() -> None:
    # Per-user seed streams (SeedSequence.spawn): a bigger population extends a smaller one.
    small, big = Population(SMALL), Population(replace(SMALL, users=SMALL.users + 20))
    assert small.catalogue == big.catalogue
    assert traits(big)[: SMALL.users] == traits(small)
    big.users = big.users[: SMALL.users]  # drive only the shared users
    assert script(small) == script(big)


def test_a_users_behaviour_does_not_depend_on_other_users() -> None:
    # Driving users in reverse order gives each user the same reactions.
    forward, backward = Population(SMALL), Population(SMALL)
    now = START_MS + 10 * HOUR_MS
    slate = [{"slot": k, "item_id": f"item{k}"} for k in range(5)]
    ahead = {u.traits.user_id: forward.react_to_slate(u, slate, now) for u in forward.users}
    behind = {u.traits.user_id: backward.react_to_slate(u, slate, now) for u in reversed(backward.users)}
    assert ahead == behind


def test_catalogue_items_have_elicits_shape() -> None:
    population = Population(SMALL)
    kinds = {item["kind"] for item in population.catalogue}
    assert kinds == {"single", "repeatable", "durable"}
    for item in population.catalogue:
        assert set(item) == {"id", "category", "creator", "kind", "features"}
        assert all(isinstance(v, (str, float)) for v in item["features"].values())
    assert len({item["id"] for item in population.catalogue}) == SMALL.items


def test_population_mean_sensitivity_follows_the_parameter() -> None:
    # Beta(m·k, (1−m)·k) has sd sqrt(m(1−m)/(k+1)) ≈ 0.22 at the defaults: 3,000 users give a
    # standard error of 0.004, so 0.02 is five of them.
    for mean in (0.2, 0.6):
        population = Population(SimulationParams(users=3000, items=10, mean_sensitivity=mean))
        observed = np.mean([u.traits.sensitivity for u in population.users])
        assert abs(observed - mean) < 0.02
    nobody = Population(SimulationParams(users=50, items=10, mean_sensitivity=0.0))
    assert {u.traits.sensitivity for u in nobody.users} == {0.0}


def test_session_context_holds_only_what_a_client_knows() -> None:
    population = Population(SMALL)
    context = population.session_context(population.users[0], START_MS + 26 * HOUR_MS)
    assert context["hour"] == 2 and context["weekday"] == 4  # 2026-01-02 02:00Z is a Friday
    assert context["device"] in SMALL.devices and context["social"] in ("high", "low")
    assert "sensitivity" not in context


def test_the_legacy_demo_calls_still_work() -> None:
    # service/cli/demo.py calls candidates(n), context(u), react(u, slate, by_id) with no time.
    population = Population(SMALL)
    items = population.candidates(5)
    assert len({item["id"] for item in items}) == 5
    slate = [{"slot": k, "item_id": item["id"]} for k, item in enumerate(items)]
    outcomes = population.react(3, slate, {item["id"]: item for item in population.catalogue})
    assert [o["item_id"] for o in outcomes] == [item["id"] for item in items]
    assert population.context(3) == population.session_context(3, START_MS)
    assert population.user_id(3) == "user3"
