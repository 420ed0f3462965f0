"""Input validation of LoggedData and estimator arguments: ValueErrors naming the field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bandit.errors import InvalidInput
from bandit.ope import DM, DR, IPS, CascadeIPS, ClippedIPS, LoggedData, SlateIPS, compare

GOOD = dict(reward=[1.0, 0.0, 1.0], p_log=[0.5, 0.5, 0.25], p_target=[1.0, 0.0, 0.25])


def _raises(field: str, **kwargs: object) -> InvalidInput:
    with pytest.raises(ValueError) as caught:
        LoggedData(**{**GOOD, **kwargs})
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == field
    assert field in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("p_log", [0.5, 0.5]),
        ("p_target", [1.0, 0.0, 0.25, 0.5]),
        ("q_hat", [0.1]),
        ("q_target", [0.1, 0.2]),
        ("slot", [0, 1]),
        ("decision", [1, 2, 3, 4]),
    ],
)
def test_mismatched_lengths_name_the_argument(field: str, value: list[float]) -> None:
    _raises(field, **{field: value})


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_p_log_outside_zero_one(bad: float) -> None:
    _raises("p_log", p_log=[0.5, bad, 0.25])


@pytest.mark.parametrize("bad", [-0.01, 1.01])
def test_p_target_outside_unit_interval(bad: float) -> None:
    _raises("p_target", p_target=[1.0, bad, 0.25])


@pytest.mark.parametrize("field", ["reward", "p_log", "p_target", "q_hat", "q_target"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_refused(field: str, bad: float) -> None:
    _raises(field, **{field: [0.5, bad, 0.25]})


def test_empty_data() -> None:
    _raises("reward", reward=[], p_log=[], p_target=[])


def test_non_numeric_and_two_dimensional() -> None:
    _raises("reward", reward=["a", "b", "c"])
    _raises("p_log", p_log=[[0.5, 0.5, 0.25]])


def test_slots_must_be_non_negative_whole_numbers() -> None:
    _raises("slot", slot=[0, -1, 0], decision=[1, 1, 2])
    _raises("slot", slot=[0, 0.5, 0], decision=[1, 1, 2])


def test_weight_is_ratio_and_arrays_are_frozen_copies() -> None:
    reward = np.array([1.0, 0.0, 1.0])
    data = LoggedData(**{**GOOD, "reward": reward})
    np.testing.assert_array_equal(data.weight, [1.0 / 0.5, 0.0 / 0.5, 0.25 / 0.25])
    with pytest.raises(ValueError):
        data.reward[0] = 5.0
    reward[0] = 7.0  # the caller's array stays theirs, and the data does not change
    assert data.reward[0] == 1.0


def test_slate_estimator_needs_slot_and_decision() -> None:
    with pytest.raises(ValueError) as caught:
        CascadeIPS().estimate(LoggedData(**GOOD, slot=[0, 1, 0]))
    assert caught.value.field == "decision"
    with pytest.raises(ValueError) as caught:
        SlateIPS().estimate(LoggedData(**GOOD, decision=[1, 1, 2]))
    assert caught.value.field == "slot"


@pytest.mark.parametrize(("slot", "decision"), [([0, 0, 0], [1, 1, 2]), ([0, 2, 0], [1, 1, 2]), ([1, 2, 1], [1, 1, 2])])
def test_slates_need_slots_zero_to_k_without_duplicates(slot: list[int], decision: list[int]) -> None:
    data = LoggedData(**GOOD, slot=slot, decision=decision)
    with pytest.raises(ValueError) as caught:
        CascadeIPS().estimate(data)
    assert caught.value.field == "slot"


def test_model_estimators_name_the_missing_model() -> None:
    data = LoggedData(**GOOD, q_hat=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="q_target"):
        DM().estimate(data)
    with pytest.raises(ValueError, match="q_target"):
        DR().estimate(data)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=1.5), "alpha"),
        (dict(method="wald"), "method"),
        (dict(method="bootstrap", n_boot=0), "n_boot"),
    ],
)
def test_interval_arguments(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError) as caught:
        IPS().interval(LoggedData(**GOOD), **kwargs)
    assert caught.value.field == field


def test_clipping_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError) as caught:
        ClippedIPS(max_weight=0.0)
    assert caught.value.field == "max_weight"


def test_compare_refuses_two_different_logs() -> None:
    a = LoggedData(**GOOD)
    with pytest.raises(ValueError) as caught:
        compare(a, LoggedData(**{**GOOD, "p_log": [0.5, 0.5, 0.5]}))
    assert caught.value.field == "data_b" and "p_log" in str(caught.value)
    with pytest.raises(ValueError) as caught:
        compare(a, LoggedData(reward=[1.0], p_log=[0.5], p_target=[0.5]))
    assert caught.value.field == "data_b"
