"""Properties: streaming summaries merge to the batch result; more data, tighter intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bandit.errors import InvalidInput
from bandit.ope import (
    DM,
    DR,
    IPS,
    SNIPS,
    CascadeIPS,
    ClippedIPS,
    Estimator,
    LoggedData,
    SlateIPS,
    SNCascadeIPS,
    StreamingDiagnostics,
    StreamingEstimate,
    diagnostics,
)

ROW_ESTIMATORS = [IPS(), SNIPS(), ClippedIPS(max_weight=3.0), DM(), DR()]
SLATE_ESTIMATORS = [CascadeIPS(), SNCascadeIPS(), SlateIPS()]
FIELDS = ("reward", "p_log", "p_target", "slot", "q_hat", "q_target", "decision")


def _random_log(rng: np.random.Generator, decisions: int, min_p_log: float = 0.05) -> LoggedData:
    """Slates of 1 to 3 slots (so chunks see different slate lengths), rows shuffled."""
    lengths = rng.integers(1, 4, decisions)
    slot = np.concatenate([np.arange(k) for k in lengths])
    decision = np.repeat(np.arange(decisions), lengths)
    n = slot.size
    order = rng.permutation(n)
    p_target = rng.uniform(0, 1, n) * (rng.random(n) > 0.2)  # some rows the target never picks
    return LoggedData(
        reward=rng.normal(0.5, 1.0, n)[order],
        p_log=rng.uniform(min_p_log, 1.0, n)[order],
        p_target=p_target[order],
        slot=slot[order],
        q_hat=rng.uniform(0, 1, n)[order],
        q_target=rng.uniform(0, 1, n)[order],
        decision=decision[order],
    )


def _subset(data: LoggedData, rows: np.ndarray) -> LoggedData:
    return LoggedData(**{name: getattr(data, name)[rows] for name in FIELDS})


def _merge_randomly(parts: list, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """Merge summaries pairwise in a random tree, so every order of + is exercised."""
    parts = list(parts)
    while len(parts) > 1:
        i, j = sorted(rng.choice(len(parts), 2, replace=False))
        right, left = parts.pop(j), parts.pop(i)
        parts.append(left + right if rng.random() < 0.5 else right + left)
    return parts[0]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _assert_same(stream: StreamingEstimate, estimator: Estimator, data: LoggedData) -> None:
    try:
        batch_estimate = estimator.estimate(data)
    except InvalidInput:
        # Self-normalised estimators are undefined when the target gives zero weight
        # to all rows it needs; the merged summary must say so too, not make up a value.
        with pytest.raises(InvalidInput):
            stream.estimate()
        return
    assert _close(stream.estimate(), batch_estimate)
    for method in ("gaussian", "bernstein"):
        for merged, batch in zip(stream.interval(0.1, method), estimator.interval(data, 0.1, method)):
            assert _close(merged, batch), (method, merged, batch)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), decisions=st.integers(2, 40), chunks=st.integers(1, 8))
def test_streaming_merge_equals_batch(seed: int, decisions: int, chunks: int) -> None:
    rng = np.random.default_rng(seed)
    data = _random_log(rng, decisions)
    # Chunks hold whole decisions (slate estimators need them) but are otherwise random.
    cuts = np.sort(rng.choice(np.arange(1, decisions), min(chunks, decisions) - 1, replace=False))
    groups = np.split(rng.permutation(decisions), cuts)
    parts = [_subset(data, np.flatnonzero(np.isin(data.decision, group))) for group in groups]
    for estimator in ROW_ESTIMATORS + SLATE_ESTIMATORS:
        summaries = [StreamingEstimate(estimator).update(part) for part in parts]
        _assert_same(_merge_randomly(summaries, rng), estimator, data)
        # update() chained over the chunks is the same as merging
        chained = StreamingEstimate(estimator)
        for part in parts:
            chained = chained.update(part)
        assert chained.n == _merge_randomly(summaries, rng).n
        _assert_same(chained, estimator, data)
    merged_diagnostics = _merge_randomly([StreamingDiagnostics().update(part) for part in parts], rng).result()
    batch = diagnostics(data)
    for merged_value, batch_value in zip(merged_diagnostics.__dict__.values(), batch.__dict__.values()):
        assert _close(merged_value, batch_value)


def test_streaming_refuses_mixing_estimators_and_empty_summaries() -> None:
    data = LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[1.0, 1.0])
    with pytest.raises(ValueError) as caught:
        StreamingEstimate(IPS()).update(data) + StreamingEstimate(SNIPS()).update(data)
    assert caught.value.field == "estimator"
    with pytest.raises(ValueError):
        StreamingEstimate(IPS()).estimate()
    # summaries are immutable: update returns a new one
    empty = StreamingEstimate(IPS())
    assert empty.update(data).n == 2 and empty.n == 0


def _repeat(data: LoggedData, times: int) -> LoggedData:
    return LoggedData(**{name: np.tile(getattr(data, name), times) for name in FIELDS})


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), decisions=st.integers(3, 30))
def test_more_of_the_same_data_gives_a_tighter_interval(seed: int, decisions: int) -> None:
    data = _random_log(np.random.default_rng(seed), decisions)
    doubled = _repeat(data, 2)
    doubled = LoggedData(**{**{name: getattr(doubled, name) for name in FIELDS},
                            "decision": np.concatenate([data.decision, data.decision + decisions])})
    # Twice the units with the same spread: sqrt(V / n) and the 1 / (n - 1) range term
    # both shrink, strictly whenever the terms are not all equal.
    for estimator in ROW_ESTIMATORS + SLATE_ESTIMATORS:
        try:
            estimator.estimate(data)
        except InvalidInput:
            continue  # undefined (all needed weights zero): nothing to compare
        for method in ("gaussian", "bernstein"):
            single = estimator.interval(data, method=method)
            double = estimator.interval(doubled, method=method)
            assert double.estimate == pytest.approx(single.estimate, rel=1e-9, abs=1e-12)
            if single.width > 1e-9:
                assert double.width < single.width


def test_more_independent_data_gives_a_tighter_bootstrap_interval() -> None:
    # Ten times the rows shrink the width by about sqrt(10) = 3.2; with 300 replicates
    # the width's Monte Carlo error is under 10 %, so "narrower" cannot fail by chance.
    for seed in range(5):
        rng = np.random.default_rng(seed)
        # p_log >= 0.3 bounds slot weights by 3.3, so the widths are not ruled by one
        # extreme weight, which would make any width comparison a coin toss.
        small, large = (_random_log(rng, n, min_p_log=0.3) for n in (100, 1000))
        for estimator in (IPS(), SNIPS(), DR(), CascadeIPS()):
            narrow = estimator.interval(large, method="bootstrap", n_boot=300, seed=seed)
            wide = estimator.interval(small, method="bootstrap", n_boot=300, seed=seed)
            assert narrow.width < wide.width
