"""Ground truth: on-policy policy values and the exact visibility and format effects."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from simulator.params import PROMPT_ACTIONS, START_MS, SimulationParams
from simulator.population import Population
from simulator.rollout import berserk_slate
from simulator.truth import (
    always,
    answer_rate,
    expected_reward,
    format_effect,
    ground_truth,
    monte_carlo_visibility_effect,
    prompt_policy_value,
    truth_table,
    visibility_effect,
)

PARAMS = SimulationParams()
Z = 4.0  # as in test_simulator_behaviour: deterministic under fixed seeds, robust to any other


def test_never_asking_is_worth_exactly_nothing() -> None:
    result = prompt_policy_value(PARAMS, always("none"), n_users=100, days=3, seed=1)
    assert result.decisions > 100
    assert (result.value, result.stderr, result.answer_rate, result.annoyance_rate, result.prompt_rate) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("fmt", ["single", "graded"])
def test_private_beats_public_when_people_are_sensitive(fmt: str) -> None:
    private = prompt_policy_value(PARAMS, always(f"{fmt}/private"), n_users=200, days=5, seed=2)
    public = prompt_policy_value(PARAMS, always(f"{fmt}/public"), n_users=200, days=5, seed=2)
    assert private.value - public.value > Z * math.hypot(private.stderr, public.stderr)
    assert private.answer_rate > public.answer_rate
    assert public.annoyance_rate > private.annoyance_rate  # unanswered prompts get dismissed


def test_without_sensitivity_visibility_changes_nothing() -> None:
    # The same seed and identical probabilities: the very same dice, so identical results.
    carefree = replace(PARAMS, mean_sensitivity=0.0)
    private = prompt_policy_value(carefree, always("graded/private"), n_users=60, days=3, seed=3)
    public = prompt_policy_value(carefree, always("graded/public"), n_users=60, days=3, seed=3)
    assert private == public
    assert visibility_effect(carefree) == {"single": 0.0, "graded": 0.0, "mix": 0.0}


def test_policies_may_answer_with_a_mapping_and_must_give_a_distribution() -> None:
    mixed = prompt_policy_value(PARAMS, lambda ctx, actions: {"none": 0.5, "single/private": 0.5}, n_users=60, days=2)
    assert 0.4 < mixed.prompt_rate < 0.6
    with pytest.raises(ValueError, match="distribution"):
        prompt_policy_value(PARAMS, lambda ctx, actions: [1.0, 1.0, 0, 0, 0], n_users=5, days=1)


def test_a_prompts_expected_reward_falls_with_prompts_that_day() -> None:
    population = Population(replace(PARAMS, users=1))
    rewards = []
    for k in range(5):
        rewards.append(expected_reward(population, 0, "graded/private", START_MS + k))
        population.answer_prompt(0, "item0", True, "graded", "private", START_MS + k)
    assert all(a > b for a, b in zip(rewards, rewards[1:]))
    assert rewards[0] > 0 > rewards[4]  # by the fifth prompt of a day, asking does harm


def test_policies_see_fatigue_and_stopping_early_pays() -> None:
    # Heavy users (12 sessions a day): a fixed policy that asks only the day's first three
    # prompts beats always asking — the behaviour the learned policy should find.
    def three_a_day(context: dict, actions: list[str]) -> list[float]:
        chosen = "graded/private" if context["prompts_today"] < 3 else "none"
        return [float(a == chosen) for a in actions]

    heavy = replace(PARAMS, sessions_per_day=12)
    careful = prompt_policy_value(heavy, three_a_day, n_users=400, days=3, seed=4)
    eager = prompt_policy_value(heavy, always("graded/private"), n_users=400, days=3, seed=4)
    assert careful.value - eager.value > Z * math.hypot(careful.stderr, eager.stderr)


def test_berserk_slates_burn_users_and_cost_answers() -> None:
    calm = prompt_policy_value(PARAMS, always("graded/private"), n_users=200, days=5, seed=5)
    flooded = prompt_policy_value(PARAMS, always("graded/private"), n_users=200, days=5, seed=5, slate_policy=berserk_slate)
    assert calm.answer_rate - flooded.answer_rate > 0.05


@pytest.mark.parametrize("fmt", ["single", "graded"])
def test_exact_visibility_effect_agrees_with_monte_carlo(fmt: str) -> None:
    params = replace(PARAMS, users=1500, items=20)
    exact = visibility_effect(Population(params))[fmt]
    estimate, stderr = monte_carlo_visibility_effect(params, fmt, prompts_per_user=6)
    assert abs(estimate - exact) < Z * stderr
    # Over the infinite population the effect is −(1 − abandon_base)·E[a]·(1 − effort)·E[s].
    effort = PARAMS.graded_effort if fmt == "graded" else 0.0
    expected = -(1 - PARAMS.abandon_base) * PARAMS.answer_rate * (1 - effort) * PARAMS.mean_sensitivity
    assert visibility_effect(PARAMS)[fmt] == pytest.approx(expected)
    assert exact == pytest.approx(expected, abs=0.02)  # 1,500 users' traits average close to the Beta means


def test_format_effect_trades_answers_for_bits() -> None:
    effect = format_effect(PARAMS)
    assert effect["answer_rate_graded_private"] == pytest.approx((1 - PARAMS.graded_effort) * effect["answer_rate_single_private"])
    assert effect["answer_rate_effect"] < 0 < effect["bits_effect"]  # fewer answers, more information
    assert effect["bits_graded"] == pytest.approx(math.log2(3) * effect["answer_rate_graded"])
    assert answer_rate(PARAMS, "single", "private") == effect["bits_single_private"]


def test_ground_truth_names_and_the_truth_table() -> None:
    truth = ground_truth(PARAMS, n_users=30, days=1, seed=6)
    assert {f"value.always_{a}" for a in PROMPT_ACTIONS} <= set(truth)
    assert truth["value.always_none"] == 0.0
    table = truth_table(truth, {"visibility_effect.mix": (-0.1, -0.15, -0.05), "format_effect.bits_effect": (0.1, 0.0, 0.3)})
    lines = table.splitlines()
    assert lines[1].startswith("visibility_effect.mix") and lines[1].endswith("NO")
    assert lines[2].endswith("yes")
