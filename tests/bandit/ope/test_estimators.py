"""Exact values on small hand-computed inputs for every estimator and interval method.

Expected numbers are worked out by hand in the comments and written as arithmetic,
never obtained by calling the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bandit.ope import (
    DM,
    DR,
    IPS,
    SNIPS,
    CascadeIPS,
    ClippedIPS,
    Interval,
    LoggedData,
    SlateIPS,
    SNCascadeIPS,
)
from bandit.ope.bootstrap import poisson_counts, replicate_means
from bandit.ope.interval import percentile

Z95 = 1.959963984540054  # standard normal 97.5 % quantile, from tables
LN80 = math.log(4 / 0.05)  # Bernstein's log term, two-sided at alpha = 0.05

# w = p_target / p_log = [2, 1, 2, 0]; w * r = [2, 0, 2, 0]
DATA = LoggedData(
    reward=[1.0, 0.0, 1.0, 1.0],
    p_log=[0.5, 0.5, 0.25, 0.5],
    p_target=[1.0, 0.5, 0.5, 0.0],
    q_hat=[0.5, 0.5, 0.5, 0.5],
    q_target=[0.5, 0.25, 0.75, 1.0],
)


def assert_interval(actual: Interval, estimate: float, half: float) -> None:
    assert actual.estimate == pytest.approx(estimate, abs=1e-12)
    assert actual.low == pytest.approx(estimate - half, abs=1e-12)
    assert actual.high == pytest.approx(estimate + half, abs=1e-12)


def test_ips_estimate_and_intervals() -> None:
    # terms [2, 0, 2, 0]: mean 1, squared deviations 1 each, V = 4 / 3, range 2
    assert IPS().estimate(DATA) == 1.0
    assert_interval(IPS().interval(DATA), 1.0, Z95 * math.sqrt((4 / 3) / 4))
    assert_interval(
        IPS().interval(DATA, method="bernstein"),
        1.0,
        math.sqrt(2 * (4 / 3) * LN80 / 4) + 7 * 2 * LN80 / (3 * 3),
    )
    # alpha = 0.1 uses the 95 % normal quantile 1.6448536269514722
    assert_interval(IPS().interval(DATA, alpha=0.1), 1.0, 1.6448536269514722 * math.sqrt((4 / 3) / 4))


def test_clipped_ips() -> None:
    # weights clipped at 1.5: [1.5, 1, 1.5, 0]; terms [1.5, 0, 1.5, 0]: mean 0.75, V = 4 * 0.75^2 / 3
    assert ClippedIPS(max_weight=1.5).estimate(DATA) == 0.75
    assert_interval(ClippedIPS(1.5).interval(DATA), 0.75, Z95 * math.sqrt(0.75 / 4))
    # a threshold above every weight changes nothing
    assert ClippedIPS(max_weight=10.0).estimate(DATA) == IPS().estimate(DATA)


def test_snips_estimate_and_delta_method_intervals() -> None:
    # sum(w r) = 4, sum(w) = 5 -> 0.8; mean(w) = 1.25
    # linearised terms (w r - 0.8 w) / 1.25 = [0.4, -0.8, 0.4, 0] / 1.25 = [0.32, -0.64, 0.32, 0]
    # V = (0.32^2 + 0.64^2 + 0.32^2) / 3 = 0.6144 / 3 = 0.2048
    assert SNIPS().estimate(DATA) == pytest.approx(0.8, abs=1e-15)
    assert_interval(SNIPS().interval(DATA), 0.8, Z95 * math.sqrt(0.2048 / 4))
    # Bernstein range bound, gradient of mean(w r) / mean(w) at (1, 1.25) is (1/1.25, -1/1.25^2):
    # 0.8 * range(w r) + 0.64 * range(w) = 0.8 * 2 + 0.64 * 2 = 2.88
    assert_interval(
        SNIPS().interval(DATA, method="bernstein"),
        0.8,
        math.sqrt(2 * 0.2048 * LN80 / 4) + 7 * 2.88 * LN80 / (3 * 3),
    )


def test_snips_undefined_when_target_ignores_every_logged_action() -> None:
    data = LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[0.0, 0.0])
    assert IPS().estimate(data) == 0.0
    with pytest.raises(ValueError) as caught:
        SNIPS().estimate(data)
    assert caught.value.field == "p_target"


def test_dm() -> None:
    # mean of q_target [0.5, 0.25, 0.75, 1.0] = 2.5 / 4; deviations [-0.125, -0.375, 0.125, 0.375]
    assert DM().estimate(DATA) == 0.625
    variance = (0.125**2 * 2 + 0.375**2 * 2) / 3
    assert_interval(DM().interval(DATA), 0.625, Z95 * math.sqrt(variance / 4))


def test_dr() -> None:
    # q_target + w (r - q_hat) = [0.5 + 2*0.5, 0.25 + 1*(-0.5), 0.75 + 2*0.5, 1.0 + 0*0.5]
    #                          = [1.5, -0.25, 1.75, 1.0]: mean 1, V = (0.25 + 1.5625 + 0.5625 + 0) / 3
    assert DR().estimate(DATA) == 1.0
    assert_interval(DR().interval(DATA), 1.0, Z95 * math.sqrt((2.375 / 3) / 4))
    assert_interval(
        DR().interval(DATA, method="bernstein"),
        1.0,
        math.sqrt(2 * (2.375 / 3) * LN80 / 4) + 7 * 2.0 * LN80 / (3 * 3),
    )


def test_dr_equals_dm_when_model_is_exact_and_ips_when_model_is_zero() -> None:
    exact = LoggedData(
        reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[1.0, 0.0], q_hat=[1.0, 0.0], q_target=[0.75, 0.25]
    )
    assert DR().estimate(exact) == DM().estimate(exact) == 0.5
    zero = LoggedData(
        reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[1.0, 0.0], q_hat=[0.0, 0.0], q_target=[0.0, 0.0]
    )
    assert DR().estimate(zero) == IPS().estimate(zero) == 1.0


# Two slates, rows shuffled. Ratios p_target / p_log per slot:
#   decision "x": slot 0 r=1 ratio 0.25/0.5 = 0.5; slot 1 r=1 ratio 0.5/0.25 = 2; slot 2 r=0 ratio 1/0.5 = 2
#   decision "y": slot 0 r=0 ratio 1/1 = 1;        slot 1 r=1 ratio 0.25/0.5 = 0.5
SLATES = LoggedData(
    reward=[1.0, 0.0, 0.0, 1.0, 1.0],
    p_log=[0.5, 0.5, 1.0, 0.25, 0.5],
    p_target=[0.25, 1.0, 1.0, 0.5, 0.25],
    slot=[1, 2, 0, 1, 0],
    decision=["y", "x", "y", "x", "x"],
)


def test_cascade_ips() -> None:
    # x: prefix weights [0.5, 1, 2] -> 0.5*1 + 1*1 + 2*0 = 1.5; y: [1, 0.5] -> 0 + 0.5*1 = 0.5
    assert CascadeIPS().estimate(SLATES) == 1.0
    # two decisions with values 1.5 and 0.5: V = (0.25 + 0.25) / 1
    assert_interval(CascadeIPS().interval(SLATES), 1.0, Z95 * math.sqrt(0.5 / 2))


def test_slate_ips() -> None:
    # x: 0.5 * 2 * 2 = 2 times reward 2 -> 4; y: 1 * 0.5 times reward 1 -> 0.5
    assert SlateIPS().estimate(SLATES) == 2.25
    assert_interval(SlateIPS().interval(SLATES), 2.25, Z95 * math.sqrt((1.75**2 * 2) / 2))


def test_self_normalised_cascade_ips() -> None:
    # slot 0: (0.5*1 + 1*0) / (0.5 + 1) = 1/3; slot 1: (1*1 + 0.5*1) / (1 + 0.5) = 1;
    # slot 2: only x has one: share 1/2 times (2*0) / 2 = 0
    assert SNCascadeIPS().estimate(SLATES) == pytest.approx(1 / 3 + 1, abs=1e-15)


def test_slate_row_order_and_id_type_do_not_matter() -> None:
    order = [4, 3, 1, 0, 2]
    shuffled = LoggedData(
        reward=SLATES.reward[order],
        p_log=SLATES.p_log[order],
        p_target=SLATES.p_target[order],
        slot=SLATES.slot[order],
        decision=np.array([7, 7, 7, 3, 3]),  # x -> 7, y -> 3, as integers
    )
    for estimator in (CascadeIPS(), SNCascadeIPS(), SlateIPS()):
        assert estimator.estimate(shuffled) == pytest.approx(estimator.estimate(SLATES), abs=1e-15)


def test_single_slot_slates_reduce_to_ips() -> None:
    data = LoggedData(**{name: getattr(DATA, name) for name in ("reward", "p_log", "p_target")},
                      slot=[0, 0, 0, 0], decision=[1, 2, 3, 4])
    assert CascadeIPS().estimate(data) == SlateIPS().estimate(data) == IPS().estimate(data) == 1.0
    assert SNCascadeIPS().estimate(data) == pytest.approx(SNIPS().estimate(data), abs=1e-15)


def test_one_unit_gives_an_unbounded_interval() -> None:
    data = LoggedData(reward=[1.0], p_log=[0.5], p_target=[0.5])
    assert IPS().interval(data) == Interval(1.0, -math.inf, math.inf)
    assert IPS().interval(data, method="bernstein") == Interval(1.0, -math.inf, math.inf)


def test_percentile_interval_by_hand() -> None:
    # replicates 0..100: numpy's linear quantiles at 0.05 and 0.95 are exactly 5 and 95
    assert percentile(0.5, np.arange(101.0), alpha=0.1) == Interval(0.5, 5.0, 95.0)
    # NaN replicates (undefined ratio in that resample) are left out
    assert percentile(0.5, np.array([np.nan, 1.0, 3.0]), alpha=0.5) == Interval(0.5, 1.5, 2.5)


def test_bootstrap_of_constant_terms_is_degenerate() -> None:
    # every row has w r = 1, so every resample mean is 1
    data = LoggedData(reward=[1.0] * 5, p_log=[0.5] * 5, p_target=[0.5] * 5)
    assert IPS().interval(data, method="bootstrap", n_boot=50) == Interval(1.0, 1.0, 1.0)


def test_bootstrap_is_seeded_and_stays_within_term_range() -> None:
    # 40 rows: w r cycles through [2, 0, 2, 0] ten times
    data = LoggedData(reward=np.tile(DATA.reward, 10), p_log=np.tile(DATA.p_log, 10), p_target=np.tile(DATA.p_target, 10))
    first = IPS().interval(data, method="bootstrap", n_boot=300, seed=3)
    assert first == IPS().interval(data, method="bootstrap", n_boot=300, seed=3)
    assert first != IPS().interval(data, method="bootstrap", n_boot=300, seed=4)
    # resample means of terms in {0, 2} lie in [0, 2]; reaching an end needs all twenty
    # 2s (or 0s) left undrawn, probability e^-20, so the 2.5 % quantiles are inside
    assert 0.0 < first.low < first.estimate == 1.0 < first.high < 2.0


def test_bootstrap_agrees_with_gaussian_on_a_large_sample() -> None:
    rng = np.random.default_rng(11)
    n = 4000
    p_log = rng.uniform(0.2, 0.8, n)
    data = LoggedData(reward=rng.binomial(1, 0.4, n).astype(float), p_log=p_log, p_target=rng.uniform(0, 1, n))
    for estimator in (IPS(), SNIPS(), ClippedIPS(max_weight=2.0)):
        boot = estimator.interval(data, method="bootstrap", n_boot=1000, seed=0)
        gauss = estimator.interval(data)
        # For a mean of 4000 i.i.d. terms the bootstrap distribution is close to normal;
        # the width of a 1000-replicate percentile interval has a relative Monte Carlo
        # error of about 4 %, so 15 % is a > 3-sigma tolerance.
        assert boot.width == pytest.approx(gauss.width, rel=0.15)
        assert boot.estimate == gauss.estimate


def test_poisson_counts_follow_poisson_one() -> None:
    counts = poisson_counts(np.random.default_rng(5), (400, 2500)).ravel()
    frequencies = np.bincount(counts, minlength=6)[:6] / counts.size
    for k in range(6):
        pmf = math.exp(-1) / math.factorial(k)
        # binomial standard error of a frequency from 10^6 draws; 5 sigma
        assert abs(frequencies[k] - pmf) < 5 * math.sqrt(pmf * (1 - pmf) / counts.size)


def test_replicate_means_of_a_single_unit() -> None:
    # Each replicate draws the only unit Poisson(1) times: its mean is the value, or
    # undefined (NaN) when drawn 0 times, which happens with probability e^-1.
    means = replicate_means(np.array([[2.5]]), 2000, seed=1)
    drawn = means[~np.isnan(means)]
    assert (drawn == 2.5).all()
    # 2000 Bernoulli(e^-1) draws have standard error 0.011; 5 sigma
    assert abs(np.isnan(means).mean() - math.exp(-1)) < 0.055


def test_replicate_means_do_not_depend_on_threading(monkeypatch: pytest.MonkeyPatch) -> None:
    from bandit.ope import bootstrap

    columns = np.random.default_rng(2).random((2, 3000))
    threaded = replicate_means(columns, 200, seed=9)
    monkeypatch.setattr(bootstrap, "_THREADING_THRESHOLD", 1 << 62)
    monkeypatch.setattr(bootstrap.os, "cpu_count", lambda: 1)
    np.testing.assert_array_equal(threaded, replicate_means(columns, 200, seed=9))
