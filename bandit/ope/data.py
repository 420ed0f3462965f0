"""Logged bandit data, validated once so every estimator can trust its arrays."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from bandit.errors import InvalidInput

_FLOAT_FIELDS = ("reward", "p_log", "p_target", "q_hat", "q_target")


class SlateLayout(NamedTuple):
    """Where each slate row sits in a dense (decision x slot) grid.

    Estimators scatter per-row values into ``(n_decisions, n_slots)`` matrices with
    :meth:`dense`, so work is one vectorised pass whatever order rows arrived in.
    """

    row_decision: np.ndarray  # int index of each row's decision, 0..n_decisions-1
    row_slot: np.ndarray  # slot of each row
    present: np.ndarray  # (n_decisions, n_slots) bool, True where a row exists

    def dense(self, values: np.ndarray, fill: float) -> np.ndarray:
        grid = np.full(self.present.shape, fill, dtype=np.float64)
        grid[self.row_decision, self.row_slot] = values
        return grid


def _float_array(name: str, value: Any) -> np.ndarray:
    try:
        # A copy, so that freezing it below never freezes the caller's array.
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} must be numeric: {exc}", field=name) from exc
    if array.ndim != 1:
        raise InvalidInput(f"{name} must be one-dimensional, got shape {array.shape}", field=name)
    if not np.isfinite(array).all():
        raise InvalidInput(f"{name} contains NaN or infinite values", field=name)
    return array


def _slot_array(value: Any) -> np.ndarray:
    array = np.array(value)
    if array.ndim != 1:
        raise InvalidInput(f"slot must be one-dimensional, got shape {array.shape}", field="slot")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            raise InvalidInput("slot must hold whole numbers", field="slot")
    elif array.dtype.kind not in "iu":
        raise InvalidInput(f"slot must hold integers, got dtype {array.dtype}", field="slot")
    if array.size and array.min() < 0:
        raise InvalidInput("slot must be >= 0 (slots are 0-based)", field="slot")
    return array.astype(np.int64)


@dataclass(frozen=True, eq=False)
class LoggedData:
    """One row per logged action (per slot for slates), as numpy float64 arrays.

    ``p_log`` is the probability with which the logging policy chose the logged action,
    ``p_target`` the probability the evaluated policy gives that same action. ``q_hat``
    is a reward model's prediction for the logged action, ``q_target`` its expected
    reward under the target policy. Slate rows carry ``decision`` and 0-based ``slot``.

    >>> data = LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.25], p_target=[1.0, 0.5])
    >>> data.weight
    array([2., 2.])
    >>> len(data)
    2
    """

    reward: np.ndarray
    p_log: np.ndarray
    p_target: np.ndarray
    slot: np.ndarray | None = None
    q_hat: np.ndarray | None = None
    q_target: np.ndarray | None = None
    decision: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                self._freeze(name, _float_array(name, value))
        if self.slot is not None:
            self._freeze("slot", _slot_array(self.slot))
        if self.decision is not None:
            decision = np.array(self.decision)
            if decision.ndim != 1:
                raise InvalidInput("decision must be one-dimensional", field="decision")
            self._freeze("decision", decision)
        n = self.reward.size
        if n == 0:
            raise InvalidInput("logged data is empty: reward has no rows", field="reward")
        for name in ("p_log", "p_target", "slot", "q_hat", "q_target", "decision"):
            value = getattr(self, name)
            if value is not None and value.size != n:
                raise InvalidInput(f"{name} has {value.size} rows, reward has {n}", field=name)
        # A logged probability of 0 would make the row impossible to have been logged;
        # the design forbids it, and the weight p_target / p_log would be infinite.
        if not ((self.p_log > 0) & (self.p_log <= 1)).all():
            raise InvalidInput("p_log must lie in (0, 1]", field="p_log")
        if not ((self.p_target >= 0) & (self.p_target <= 1)).all():
            raise InvalidInput("p_target must lie in [0, 1]", field="p_target")

    def _freeze(self, name: str, array: np.ndarray) -> None:
        array.setflags(write=False)
        object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return int(self.reward.size)

    @cached_property
    def weight(self) -> np.ndarray:
        """Importance weight p_target / p_log of every row."""
        weight = self.p_target / self.p_log
        weight.setflags(write=False)
        return weight

    def require(self, name: str, user: str) -> np.ndarray:
        """The optional array ``name``, or an InvalidInput saying ``user`` needs it."""
        value = getattr(self, name)
        if value is None:
            raise InvalidInput(f"{user} needs {name}, which was not given", field=name)
        return value

    @cached_property
    def slates(self) -> SlateLayout:
        """Rows grouped by decision and ordered by slot; validated on first use."""
        slot = self.require("slot", "a slate estimator")
        decision = self.require("decision", "a slate estimator")
        try:
            _, row_decision = np.unique(decision, return_inverse=True)
        except TypeError as exc:  # mixed, unorderable ids such as 1 and "a"
            raise InvalidInput(f"decision ids must be mutually comparable: {exc}", field="decision") from exc
        row_decision = row_decision.reshape(-1)
        n_decisions = int(row_decision.max()) + 1
        n_slots = int(slot.max()) + 1
        hits = np.bincount(row_decision * n_slots + slot, minlength=n_decisions * n_slots)
        if hits.max() > 1:
            raise InvalidInput("a decision has the same slot twice", field="slot")
        present = hits.reshape(n_decisions, n_slots).astype(bool)
        # Cascade weights multiply the ratios of all earlier slots, so a missing earlier
        # slot would silently give a wrong weight: demand slots 0..k-1 per decision.
        if (present[:, 1:] & ~present[:, :-1]).any():
            raise InvalidInput("each decision's slots must be 0, 1, ..., k-1 without gaps", field="slot")
        return SlateLayout(row_decision, slot, present)
