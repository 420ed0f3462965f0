"""Each modelled effect is there, with the right sign and about the configured size.

Statistical checks run with fixed seeds, so they are deterministic; their tolerances are
Z = 4 standard errors (computed from the data) so that they would also pass under almost
any other seed (two-sided p ≈ 6e-5 per check), while an effect of the wrong size fails.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.behaviour import consume_probability, liking
from simulator.params import DAY_MS, HOUR_MS, START_MS, SimulationParams
from simulator.population import Population
from simulator.user import User

Z = 4.0
ANSWERS = ("thumbs_down", "thumbs_up", "double_thumbs_up")


def rate_and_se(hits: list[bool]) -> tuple[float, float]:
    p = float(np.mean(hits))
    return p, math.sqrt(max(p * (1 - p), 1e-12) / len(hits))


def fresh_answers(population: Population, fmt: str, visibility: str, per_user: int, first_day: int,
                  users: list[User] | None = None) -> list[bool]:
    """Whether each prompt was answered, every prompt the first of its day (no fatigue)."""
    return [population.answer_prompt(u, "item0", True, fmt, visibility, START_MS + (first_day + d) * DAY_MS) in ANSWERS
            for u in (population.users if users is None else users) for d in range(per_user)]


def test_public_answer_rate_is_private_times_one_minus_mean_sensitivity() -> None:
    params = SimulationParams(users=2000, items=20)
    population = Population(params)
    user = population.users[0]  # per user the rule is exact...
    private = population.answer_probabilities(user, "single", "private", START_MS)["answered"]
    public = population.answer_probabilities(user, "single", "public", START_MS)["answered"]
    assert math.isclose(public, private * (1 - user.traits.sensitivity))
    # ...and over the population the ratio of answer rates is 1 − mean sensitivity.
    p_private, se_private = rate_and_se(fresh_answers(population, "single", "private", 4, 0))
    p_public, se_public = rate_and_se(fresh_answers(population, "single", "public", 4, 10))
    ratio = p_public / p_private
    se_ratio = ratio * math.hypot(se_private / p_private, se_public / p_public)
    se_sensitivity = 0.22 / math.sqrt(params.users)  # sd of the Beta (see test_simulator_population)
    assert abs(ratio - (1 - params.mean_sensitivity)) < Z * math.hypot(se_ratio, se_sensitivity)


def test_graded_prompts_are_answered_less_often_by_the_configured_effort() -> None:
    params = SimulationParams(users=2000, items=20)
    p_single, se_single = rate_and_se(fresh_answers(Population(params), "single", "private", 4, 0))
    p_graded, se_graded = rate_and_se(fresh_answers(Population(params), "graded", "private", 4, 0))
    assert p_graded < p_single
    ratio = p_graded / p_single
    assert abs(ratio - (1 - params.graded_effort)) < Z * ratio * math.hypot(se_single / p_single, se_graded / p_graded)


def test_thumbs_follow_liking_and_single_prompts_have_no_double_up() -> None:
    population = Population(SimulationParams(users=300, answer_rate=1.0, dismiss_share=0.0))
    liked: dict[str, list[float]] = {a: [] for a in ANSWERS}
    for day in range(6):
        for user in population.users:
            item = population.catalogue[(user.traits.index * 7 + day) % len(population.catalogue)]
            fmt = "graded" if day % 2 else "single"
            answer = population.answer_prompt(user, item["id"], True, fmt, "private", START_MS + day * DAY_MS)
            if answer in ANSWERS:
                assert fmt == "graded" or answer != "double_thumbs_up"
                liked[answer].append(liking(user, item))
    means = {a: np.mean(v) for a, v in liked.items()}
    assert means["thumbs_down"] < means["thumbs_up"] < means["double_thumbs_up"]


def best_items(population: Population, user: User, kind: str, n: int) -> list[dict]:
    """The user's n most appealing items of one kind in their favourite category."""
    favourite = f"cat{user.traits.favourite_category}"
    items = [i for i in population.catalogue if i["kind"] == kind and i["category"] == favourite]
    return sorted(items, key=lambda i: -liking(user, i))[:n]


def test_satiation_lowers_consumption_and_rest_restores_it() -> None:
    params = SimulationParams(users=600)
    population = Population(params)
    rounds: dict[str, list[bool]] = {"first": [], "tenth": [], "rested": []}
    for user in population.users:
        items = best_items(population, user, "repeatable", 3)
        slate = [{"slot": k, "item_id": i["id"]} for k, i in enumerate(items)]
        for n in range(10):  # ten slates of the same repeatable favourites, an hour apart
            outcomes = population.react_to_slate(user, slate, START_MS + n * HOUR_MS)
            if n in (0, 9):
                rounds["first" if n == 0 else "tenth"] += [o["type"] == "consume" for o in outcomes]
        # Six half-lives of rest leave 1/64 of the exposure.
        rested = population.react_to_slate(user, slate, START_MS + 9 * HOUR_MS + 6 * 3 * DAY_MS)
        rounds["rested"] += [o["type"] == "consume" for o in rested]
    (first, se1), (tenth, se10), (rested, se_r) = (rate_and_se(rounds[k]) for k in ("first", "tenth", "rested"))
    assert first - tenth > Z * math.hypot(se1, se10)
    assert tenth < 0.6 * first  # a large effect, not a nuance
    assert abs(rested - first) < Z * math.hypot(se1, se_r)


def test_consumed_single_items_are_not_wanted_again() -> None:
    population = Population(SimulationParams(users=5))
    user = population.users[0]
    item = best_items(population, user, "single", 1)[0]
    assert consume_probability(population.params, user, item, 0, START_MS) > 0
    user.consumed[item["id"]] = 1
    assert consume_probability(population.params, user, item, 0, START_MS + 400 * DAY_MS) == 0.0


def test_a_durable_purchase_ends_purchases_in_its_category_for_months() -> None:
    params = SimulationParams(users=300, base_consume=0.9)
    population = Population(params)
    purchases: dict[str, list[int]] = {}
    for user in population.users:
        items = best_items(population, user, "durable", 3)
        slate = [{"slot": k, "item_id": i["id"]} for k, i in enumerate(items)]
        for day in list(range(0, 100, 2)) + list(range(130, 160, 2)):  # daily-ish for ~3 months, then after the need
            for o in population.react_to_slate(user, slate, START_MS + day * DAY_MS):
                if o["type"] == "purchase":
                    purchases.setdefault(user.traits.user_id, []).append(day)
    assert len(purchases) > 100  # enough buyers for the test to mean something
    for days in purchases.values():
        within = [d for d in days if d < days[0] + params.durable_need_days]
        assert within == [days[0]]  # one oven, then no more ovens while the need is met
    assert sum(len(days) > 1 for days in purchases.values()) > 10  # the need comes back


def test_fatigue_raises_abandonment_and_lowers_answers_with_prompts_that_day() -> None:
    params = SimulationParams(users=1500, items=20)
    population = Population(params)
    abandoned: list[list[bool]] = [[] for _ in range(6)]
    answered: list[list[bool]] = [[] for _ in range(6)]
    for user in population.users:
        for k in range(6):
            answer = population.answer_prompt(user, "item0", True, "single", "private", START_MS + k * 60_000)
            abandoned[k].append(answer == "abandoned")
            answered[k].append(answer in ANSWERS)
        next_day = population.answer_probabilities(user, "single", "private", START_MS + DAY_MS)
        assert next_day["abandoned"] == params.abandon_base  # a new day starts fresh
    (a0, se0), (a5, se5) = rate_and_se(abandoned[0]), rate_and_se(abandoned[5])
    expected = params.abandon_per_prompt * 5
    assert abs((a5 - a0) - expected) < Z * math.hypot(se0, se5)
    (r0, sr0), (r5, sr5) = rate_and_se(answered[0]), rate_and_se(answered[5])
    assert r0 - r5 > Z * math.hypot(sr0, sr5)


def test_users_flooded_after_a_like_are_burnt_and_answer_less() -> None:
    params = SimulationParams(users=1200, items=400)
    population = Population(params)
    flooded, calm = population.users[::2], population.users[1::2]
    before = {id(u): fresh_answers(population, "single", "private", 3, -20, [u]) for u in population.users}
    like_at = START_MS
    for i, user in enumerate(population.users):
        liked = population.catalogue[i % len(population.catalogue)]
        population.record_like(user, liked["id"], like_at)
        same = [x for x in population.catalogue if x["category"] == liked["category"] and x["id"] != liked["id"]]
        for hour in (2, 8, 14):  # three slates in the day after the like
            items = same[:5] if i % 2 == 0 else population.candidates(user, 5)
            population.react_to_slate(user, [{"slot": k, "item_id": x["id"]} for k, x in enumerate(items)],
                                      like_at + hour * HOUR_MS)
    # Judged lazily, at the user's first call after the watched day.
    after = {id(u): fresh_answers(population, "single", "private", 3, 5, [u]) for u in population.users}
    assert all(u.burnt for u in flooded)
    assert sum(u.burnt for u in calm) <= 0.01 * len(calm)  # 15 random slots rarely are half one category
    for group, multiplier in ((flooded, params.burnt_multiplier), (calm, 1.0)):
        (p0, se0) = rate_and_se([x for u in group for x in before[id(u)]])
        (p1, se1) = rate_and_se([x for u in group for x in after[id(u)]])
        ratio = p1 / p0  # the same users before and after: their own propensities cancel
        assert abs(ratio - multiplier) < Z * ratio * math.hypot(se0 / p0, se1 / p1)
