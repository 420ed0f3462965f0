"""Statistical validity by simulation: coverage of 95 % intervals and unbiasedness.

Synthetic logs with a known true value of the target policy, fixed seeds. Tolerances:
with 300 repetitions, the coverage of a correct 95 % interval has a binomial standard
error sqrt(0.95 * 0.05 / 300) = 1.26 %, so asking for >= 90 % leaves 4 standard errors
of room; a mean error is tested against 3 of its own standard errors. Because seeds
are fixed the outcome is deterministic; the margins say how unlikely a failure of a
correct implementation would be under another seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from bandit.ope import IPS, CascadeIPS, Estimator, LoggedData

REPETITIONS = 300
ROWS = 500

# Three actions, context-free: logging explores, target prefers the best action.
LOGGING = np.array([0.5, 0.3, 0.2])
TARGET = np.array([0.2, 0.3, 0.5])
MEAN_REWARD = np.array([0.2, 0.5, 0.8])
TRUE_VALUE = 0.2 * 0.2 + 0.3 * 0.5 + 0.5 * 0.8  # = 0.59


def _bandit_log(rng: np.random.Generator) -> LoggedData:
    action = rng.choice(3, size=ROWS, p=LOGGING)
    reward = (rng.random(ROWS) < MEAN_REWARD[action]).astype(float)
    return LoggedData(reward=reward, p_log=LOGGING[action], p_target=TARGET[action])


def _simulate(make_log: Callable[[np.random.Generator], LoggedData], estimator: Estimator, truth: float, seed: int) -> None:
    """Coverage of gaussian and bootstrap intervals, and the mean error, over repetitions."""
    rng = np.random.default_rng(seed)
    estimates: list[float] = []
    covered: dict[str, list[bool]] = {"gaussian": [], "bootstrap": []}
    for repetition in range(REPETITIONS):
        data = make_log(rng)
        estimates.append(estimator.estimate(data))
        for method in covered:
            # 200 bootstrap replicates keep the test fast; their Monte Carlo error in
            # the 2.5 % quantiles costs roughly a point of coverage, within the margin.
            low, high = estimator.interval(data, method=method, n_boot=200, seed=repetition)[1:]
            covered[method].append(low <= truth <= high)
    for method, hits in covered.items():
        assert np.mean(hits) >= 0.90, f"{method} coverage {np.mean(hits):.3f}"
    errors = np.array(estimates) - truth
    standard_error = errors.std(ddof=1) / np.sqrt(errors.size)
    assert abs(errors.mean()) < 3 * standard_error


def test_ips_intervals_cover_the_true_value() -> None:
    _simulate(_bandit_log, IPS(), TRUE_VALUE, seed=20240601)


# Slates: 2 slots filled without replacement from 4 items by Plackett-Luce policies.
LOGGING_SCORES = np.array([1.0, 1.0, 1.0, 1.0])
TARGET_SCORES = np.array([4.0, 2.0, 1.0, 0.5])
ATTRACTION = np.array([0.6, 0.4, 0.25, 0.1])  # cascade: click on the first attractive slot
DECISIONS = 400


def _slate_truth() -> float:
    """Expected clicks under the target policy, by enumerating all ordered pairs."""
    total = 0.0
    for first, second in itertools.permutations(range(4), 2):
        p_first = TARGET_SCORES[first] / TARGET_SCORES.sum()
        p_second = TARGET_SCORES[second] / (TARGET_SCORES.sum() - TARGET_SCORES[first])
        clicks = ATTRACTION[first] + (1 - ATTRACTION[first]) * ATTRACTION[second]
        total += p_first * p_second * clicks
    return total


def _slate_log(rng: np.random.Generator) -> LoggedData:
    def conditional(scores: np.ndarray, first: np.ndarray | None) -> np.ndarray:
        grid = np.tile(scores, (DECISIONS, 1))
        if first is not None:
            grid[np.arange(DECISIONS), first] = 0.0  # without replacement
        return grid / grid.sum(axis=1, keepdims=True)

    log0 = conditional(LOGGING_SCORES, None)
    first = (log0.cumsum(axis=1) < rng.random(DECISIONS)[:, None]).sum(axis=1)
    log1 = conditional(LOGGING_SCORES, first)
    second = np.minimum((log1.cumsum(axis=1) < rng.random(DECISIONS)[:, None]).sum(axis=1), 3)
    rows = np.arange(DECISIONS)
    click0 = rng.random(DECISIONS) < ATTRACTION[first]
    click1 = ~click0 & (rng.random(DECISIONS) < ATTRACTION[second])
    return LoggedData(
        reward=np.concatenate([click0, click1]).astype(float),
        p_log=np.concatenate([log0[rows, first], log1[rows, second]]),
        p_target=np.concatenate(
            [conditional(TARGET_SCORES, None)[rows, first], conditional(TARGET_SCORES, first)[rows, second]]
        ),
        slot=np.repeat([0, 1], DECISIONS),
        decision=np.concatenate([rows, rows]),
    )


def test_cascade_ips_intervals_cover_the_true_value() -> None:
    _simulate(_slate_log, CascadeIPS(), _slate_truth(), seed=77)
