"""Confidence sequences: looked at every night, they still claim a false effect at most α of
the time; a fixed 95 % interval looked at as often does not.

The streams are what the report pools: nightly prompt logs with no visibility effect at
all (answers independent of visibility, users of different answer propensities), logged
with propensities like the floor's, valued as the report values them (SNIPS paired
comparison of "always public" and "always private", summaries merged night by night).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bandit.ope import LoggedData
from bandit.ope.estimators import SNIPS
from bandit.ope.evidence import Evidence
from bandit.ope.paired import StreamingComparison
from bandit.ope.sequence import ConfidenceSequence

RUNS, NIGHTS, PROMPTS = 200, 14, 150
CS = ConfidenceSequence(alpha=0.05, tightest_at=5000)


def night(rng: np.random.Generator) -> Evidence:
    """One night's prompts: π(public | format) between the floor's share and even, answers
    with each user's own propensity — the same whatever the visibility (no effect)."""
    p_public = rng.choice([0.06, 0.2, 0.5], size=PROMPTS)
    public = rng.random(PROMPTS) < p_public
    answered = (rng.random(PROMPTS) < rng.beta(2, 4, size=PROMPTS)).astype(float)
    p_log = np.where(public, p_public, 1 - p_public)
    a = LoggedData(reward=answered, p_log=p_log, p_target=public.astype(float))
    b = LoggedData(reward=answered, p_log=p_log, p_target=(~public).astype(float))
    return Evidence.of_comparison(StreamingComparison(SNIPS()).update(a, b))


def false_findings() -> tuple[int, int]:
    """(runs with a false finding on some night under the sequence, under fixed intervals)."""
    sequence_runs = fixed_runs = 0
    for run in range(RUNS):
        rng = np.random.default_rng([20261204, run])
        pooled: Evidence | None = None
        by_sequence = by_fixed = False
        for _ in range(NIGHTS):
            tonight = night(rng)
            pooled = tonight if pooled is None else pooled + tonight
            estimate, sd, n = pooled.linearised()  # type: ignore[misc]
            interval = CS.interval(estimate, sd, n)
            by_sequence |= not interval.low <= 0 <= interval.high
            fixed = StreamingComparison(SNIPS(), pooled.moments).result(0.05)
            by_fixed |= not fixed["low"] <= 0 <= fixed["high"]  # type: ignore[operator]
        sequence_runs += by_sequence
        fixed_runs += by_fixed
    return sequence_runs, fixed_runs


@pytest.mark.slow
def test_reading_every_night_finds_a_false_effect_at_most_alpha_of_the_time() -> None:
    by_sequence, by_fixed = false_findings()
    print(f"runs with a false finding, of {RUNS}: confidence sequence {by_sequence}, fixed interval {by_fixed}")
    # 200 seeded runs of 14 nightly looks. The sequence holds at every look at once with
    # probability 0.95, so at most 5 % of runs may show a false finding: 10 of 200. It is
    # conservative at 14 looks (a handful of runs, fixed by the seeds). The fixed 95 %
    # interval is right 95 % at each look, but over 14 looks of a growing log some look
    # excludes 0 in ~20 % of runs (the well-known peeking inflation): it must exceed 5 %,
    # and it does by far.
    assert by_sequence <= 0.05 * RUNS, by_sequence
    assert by_fixed > 0.05 * RUNS and by_fixed > 2 * by_sequence, (by_fixed, by_sequence)


def test_the_sequence_is_wider_than_a_fixed_interval_and_shrinks_with_data() -> None:
    fixed = 1.96 / math.sqrt(5000)
    assert CS.half_width(1.0, 5000) == pytest.approx(1.55 * fixed, rel=0.01)  # the price of peeking, at its tightest
    widths = [CS.half_width(1.0, n) for n in (100, 1_000, 10_000, 100_000)]
    assert widths == sorted(widths, reverse=True)
    assert CS.half_width(2.0, 1000) == pytest.approx(2 * CS.half_width(1.0, 1000))  # proportional to the spread


@pytest.mark.parametrize("n", [50, 800, 12_000])
def test_the_anytime_p_value_crosses_alpha_exactly_where_the_sequence_leaves_zero(n: int) -> None:
    half = CS.half_width(0.7, n)
    assert CS.p_value(half * 0.999, 0.7, n) > 0.05 > CS.p_value(half * 1.001, 0.7, n)
    assert CS.p_value(0.0, 0.7, n) == 1.0


def test_units_for_a_resolution_is_the_first_size_that_reaches_it() -> None:
    n = CS.units_for(0.45, 0.03)
    assert CS.half_width(0.45, n) <= 0.03 < CS.half_width(0.45, n - 1)
    assert CS.units_for(0.45, 1e-9) == math.inf  # more units than anyone will ever log
