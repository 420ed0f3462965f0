"""Paired comparison of two target policies, and weight diagnostics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bandit.ope import IPS, SNIPS, Comparison, LoggedData, compare, diagnostics

LOG = dict(reward=[1.0, 0.0, 1.0, 1.0], p_log=[0.5, 0.5, 0.5, 0.5])


def test_paired_difference_by_hand() -> None:
    # IPS terms: a = [2, 0, 2, 1], b = [1, 0, 1, 1]; differences [1, 0, 1, 0]
    # mean 0.5, sample variance (4 * 0.25) / 3 = 1/3, standard error sqrt(1/3 / 4)
    result = compare(
        LoggedData(p_target=[1.0, 0.0, 1.0, 0.5], **LOG), LoggedData(p_target=[0.5, 0.5, 0.5, 0.5], **LOG)
    )
    se = math.sqrt((1 / 3) / 4)
    t_975_3 = 3.182446305284263  # Student t, 3 degrees of freedom, from tables
    assert isinstance(result, Comparison)
    assert result.difference == 0.5
    assert result.low == pytest.approx(0.5 - t_975_3 * se, abs=1e-12)
    assert result.high == pytest.approx(0.5 + t_975_3 * se, abs=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(0.5 / se, 3), abs=1e-12)
    assert result.a.estimate == 1.25 and result.b.estimate == 0.75


def test_a_policy_against_itself() -> None:
    data = LoggedData(p_target=[1.0, 0.0, 1.0, 0.5], **LOG)
    result = compare(data, data, SNIPS())
    assert (result.difference, result.low, result.high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


# Three actions; targets A and B have the same true value 0.59, C has 0.35.
LOGGING = np.array([0.5, 0.3, 0.2])
MEAN_REWARD = np.array([0.2, 0.5, 0.8])
TARGET_A = np.array([0.2, 0.3, 0.5])  # 0.04 + 0.15 + 0.40 = 0.59
TARGET_B = np.array([0.35, 0.0, 0.65])  # 0.07 + 0 + 0.52 = 0.59
TARGET_C = np.array([0.6, 0.3, 0.1])  # 0.12 + 0.15 + 0.08 = 0.35


def _pair(rng: np.random.Generator, other: np.ndarray, rows: int = 500) -> tuple[LoggedData, LoggedData]:
    action = rng.choice(3, size=rows, p=LOGGING)
    log = dict(reward=(rng.random(rows) < MEAN_REWARD[action]).astype(float), p_log=LOGGING[action])
    return LoggedData(p_target=TARGET_A[action], **log), LoggedData(p_target=other[action], **log)


def test_p_values_hold_their_level_and_detect_a_real_difference() -> None:
    rng = np.random.default_rng(314)
    null = [compare(*_pair(rng, TARGET_B)).p_value for _ in range(300)]
    # A correct test rejects 5 % of the time under the null: binomial standard error over
    # 300 runs is 1.26 %, so 10 % is 4 standard errors above.
    assert np.mean(np.array(null) < 0.05) <= 0.10
    power = [compare(*_pair(rng, TARGET_C)).p_value < 0.05 for _ in range(100)]
    # A difference of 0.24 with about 0.05 standard error is 5 standard errors: power ~1.
    assert np.mean(power) >= 0.95


def test_pairing_beats_two_independent_intervals() -> None:
    data_a, data_b = _pair(np.random.default_rng(1), TARGET_B, rows=2000)
    result = compare(data_a, data_b, IPS())
    # The targets share most choices, so the per-row differences vary much less than
    # each estimate does; treating the estimates as independent would be wider.
    assert result.high - result.low < math.hypot(result.a.width, result.b.width)
    assert result.difference == pytest.approx(result.a.estimate - result.b.estimate, abs=1e-12)


def test_diagnostics_by_hand() -> None:
    # w = [2, 1, 2, 0]: sum 5, sum of squares 9 -> Kish ESS 25 / 9
    d = diagnostics(LoggedData(reward=[1.0, 0.0, 1.0, 1.0], p_log=[0.5, 0.5, 0.25, 0.5], p_target=[1.0, 0.5, 0.5, 0.0]))
    assert d.n == 4
    assert d.effective_sample_size == pytest.approx(25 / 9, abs=1e-15)
    assert (d.max_weight, d.mean_weight, d.zero_target_share) == (2.0, 1.25, 0.25)


def test_diagnostics_when_target_never_agrees() -> None:
    d = diagnostics(LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[0.0, 0.0]))
    assert (d.effective_sample_size, d.max_weight, d.mean_weight, d.zero_target_share) == (0.0, 0.0, 0.0, 1.0)
