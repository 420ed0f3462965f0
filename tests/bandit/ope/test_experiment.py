"""User-level arm contrasts: the confidence sequence covers the truth at every look, tightens
with more users, and the relative effect's interval is about the ratio, not the difference."""

from __future__ import annotations

import numpy as np

from bandit.ope.experiment import ArmMetric, contrast
from bandit.ope.sequence import ConfidenceSequence

SEQUENCE = ConfidenceSequence(0.05, 2000)


def arm(rng: np.random.Generator, users: int, rate: float) -> ArmMetric:
    """Users with 1–20 slates each and a per-user rate around ``rate`` (users differ: gamma
    heterogeneity), likes Poisson given both — clustered, as real users are."""
    slates = rng.integers(1, 21, users).astype(float)
    own = rate * rng.gamma(4.0, 0.25, users)  # mean rate, sd rate/2 between users
    return ArmMetric(rng.poisson(own * slates).astype(float), slates)


def test_the_sequence_covers_the_truth_at_every_look() -> None:
    # 300 experiments, each looked at after 200, 400, ..., 2,000 users per arm. The truth of the
    # ratio-of-sums estimand is rate_t / rate_c − 1 = −0.25 (the slate counts have the same law in
    # both arms). Time-uniform 95 %: an experiment fails if ANY look misses. Allowed: at most 8 %
    # of 300 (a binomial 95 % upper bound for a true 5 % is ~7.6 %), and an asymptotic sequence
    # is a little liberal at the first looks.
    rng = np.random.default_rng(2024)
    misses = 0
    for _ in range(300):
        treatment, control = arm(rng, 2000, 0.15), arm(rng, 2000, 0.2)
        for n in range(200, 2001, 200):
            result = contrast(ArmMetric(treatment.numerator[:n], treatment.denominator[:n]),
                              ArmMetric(control.numerator[:n], control.denominator[:n]), SEQUENCE)
            if not result.relative.low <= -0.25 <= result.relative.high:
                misses += 1
                break
    print(f"experiments whose sequence missed the truth at some look: {misses}/300")
    assert misses <= 24


def test_no_effect_is_rarely_a_finding_and_more_users_tighten_the_interval() -> None:
    rng = np.random.default_rng(7)
    found = sum(contrast(arm(rng, 1000, 0.2), arm(rng, 1000, 0.2), SEQUENCE).found for _ in range(200))
    print(f"false findings under no effect: {found}/200")
    assert found <= 10  # 5 % of 200 is 10; a sequence at one look is more conservative than that
    small = contrast(arm(rng, 200, 0.2), arm(rng, 200, 0.2), SEQUENCE).difference.width
    large = contrast(arm(rng, 5000, 0.2), arm(rng, 5000, 0.2), SEQUENCE).difference.width
    assert large < small / 3  # 25× the users: ~5× narrower (√25), less the sequence's slow growth


def test_a_user_weighs_by_denominator_and_empty_users_are_left_out() -> None:
    metric = ArmMetric.of([1.0, 9.0, 4.0], [1.0, 9.0, 0.0])
    assert metric.users == 2 and metric.value == 1.0
    # One heavy user's many slates are one unit of variance, not nine.
    assert np.isclose(metric.linearised().sum(), 0.0)


def test_too_few_users_give_no_interval() -> None:
    result = contrast(ArmMetric.of([1.0], [2.0]), ArmMetric.of([1.0, 2.0], [2.0, 2.0]), SEQUENCE)
    assert not result.found and result.p_value == 1.0 and np.isinf(result.difference.low)


def test_the_standard_error_behind_the_interval_matches_the_spread_of_the_estimate() -> None:
    # The sequence's width is sd · f(n); its sd must be the estimator's: across 400 replications
    # with unequal arms (30 % / 70 % of users), the empirical sd of the relative effect and the
    # one the interval implies agree within 12 % (the sd of a sample sd over 400 draws is ~3.5 %;
    # a variance that forgot the 1/π of each arm would be off by 30–80 %).
    rng = np.random.default_rng(11)
    estimates, implied = [], []
    for _ in range(400):
        result = contrast(arm(rng, 600, 0.15), arm(rng, 1400, 0.2), SEQUENCE)
        n = sum(result.users)
        half = (result.relative.high - result.relative.low) / 2
        implied.append(half / SEQUENCE.half_width(1.0, n) / np.sqrt(n))
        estimates.append(result.relative.estimate)
    ratio = float(np.std(estimates, ddof=1) / np.mean(implied))
    print(f"empirical sd / implied standard error: {ratio:.3f}")
    assert 0.88 < ratio < 1.12
