"""Pooled evidence is the evidence of everything at once: nights merged in any order give
the one-pass estimate, and a stored night reads back exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bandit.ope import LoggedData
from bandit.ope.design import Design
from bandit.ope.estimators import SNIPS
from bandit.ope.evidence import Evidence
from bandit.ope.multiple import benjamini_hochberg
from bandit.ope.paired import StreamingComparison


def paired(rng: np.random.Generator, n: int) -> tuple[LoggedData, LoggedData]:
    p_log = rng.uniform(0.05, 0.95, n)
    reward = (rng.random(n) < 0.4).astype(float)
    chosen = rng.random(n) < p_log
    return (LoggedData(reward=reward, p_log=np.where(chosen, p_log, 1 - p_log), p_target=chosen.astype(float)),
            LoggedData(reward=reward, p_log=np.where(chosen, p_log, 1 - p_log), p_target=(~chosen).astype(float)))


@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8), st.integers(0, 2**16))
def test_nights_pooled_equal_one_pass_over_all_of_them(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    nights = [paired(rng, n) for n in sizes]
    everything = LoggedData(**{column: np.concatenate([getattr(a, column) for a, _ in nights])
                               for column in ("reward", "p_log", "p_target")})
    other = LoggedData(reward=everything.reward, p_log=everything.p_log,
                       p_target=np.concatenate([b.p_target for _, b in nights]))
    one_pass = Evidence.of_comparison(StreamingComparison(SNIPS()).update(everything, other))
    pooled = None
    for a, b in reversed(nights):  # stored one by one, read back, merged in any order
        stored = json.loads(json.dumps(Evidence.of_comparison(StreamingComparison(SNIPS()).update(a, b)).to_dict()))
        night = Evidence.from_dict(stored)
        pooled = night if pooled is None else night + pooled
    found, expected = pooled.linearised(), one_pass.linearised()  # type: ignore[union-attr]
    if expected is None:
        assert found is None
        return
    assert found is not None and found[2] == expected[2]
    assert found[0] == pytest.approx(expected[0], abs=1e-9) and found[1] == pytest.approx(expected[1], rel=1e-7, abs=1e-9)


def test_means_pool_and_carry_their_design() -> None:
    a = Evidence("mean", Evidence.of_values([0.1, 0.3]).moments, design=(Design(4.0, 8.0),))
    b = Evidence("mean", Evidence.of_values([0.5]).moments, design=(Design(8.0, 64.0),))
    pooled = a + b
    assert pooled.linearised()[0] == pytest.approx(0.3) and pooled.design == (Design(12.0, 72.0),)  # type: ignore[index]
    assert pooled.design_ess() == pytest.approx(9 / 12)
    assert "heavy-tailed weights" in (pooled.concern() or "")  # an effective sample of 0.75 units
    assert (a + Evidence.of_values([0.5])).design is None  # a night without a design: unknown, not guessed
    with pytest.raises(ValueError):
        a + Evidence("paired")


def test_benjamini_hochberg_keeps_the_smallest_p_values_that_pass_the_step_up() -> None:
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.222, 0.251, 0.269, 0.275, 0.34]
    # m = 15, q = 0.05: the thresholds k q / m are 0.0033, 0.0067, 0.0100, ...; p(1) = 0.001 is
    # below its own, and no p(k) for k >= 2 is below k q / m (0.008 > 0.0067, 0.039 > 0.01, ...):
    # one finding, where fifteen tests at 5 % each would have claimed five
    assert benjamini_hochberg(p, q=0.05) == [True] + [False] * 14
    assert sum(x <= 0.05 for x in p) == 5
    assert benjamini_hochberg([0.04], q=0.05) == [True]  # one test: the plain level
    assert benjamini_hochberg([0.04, 0.04], q=0.05) == [True, True]  # step-up: k = 2 passes, so both
