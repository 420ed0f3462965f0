"""Slate estimators: cascade IPS, its self-normalised variant and whole-slate IPS.

The unit is a decision (one served slate), not a row: rows are scattered into a dense
(decision x slot) grid once, then every weight is a cumulative product along slots.
Slots are filled in order without replacement and each row logs the *conditional*
probability of its slot, so the probability of the first k+1 slots is the product of
the conditional ones, and so is the importance weight of that prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandit.ope.core import Estimator
from bandit.ope.data import LoggedData


def _prefix_weights(data: LoggedData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prefix weights W[d, k] = prod_{j<=k} w[d, j], rewards and presence, per grid cell."""
    layout = data.slates
    # Padding missing (later) slots with ratio 1 and reward 0 leaves every sum unchanged.
    weights = np.cumprod(layout.dense(data.weight, 1.0), axis=1)
    rewards = layout.dense(data.reward, 0.0)
    return weights, rewards, layout.present


@dataclass(frozen=True)
class CascadeIPS(Estimator):
    """Per-slot IPS under a cascade model: slot k weighted by the prefix 0..k.

    Value of a decision = sum over its slots of prefix weight x slot reward; the
    estimate is the mean over decisions. Unbiased when a slot's reward depends only
    on the items at and above it.

    >>> data = LoggedData(reward=[1.0, 1.0, 0.0], p_log=[0.5, 0.5, 0.5], p_target=[1.0, 0.5, 0.0],
    ...                   slot=[1, 0, 0], decision=["a", "a", "b"])
    >>> CascadeIPS().estimate(data)  # decision a: 1*1 + (1*2)*1; decision b: 0
    1.5
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        weights, rewards, _ = _prefix_weights(data)
        return (weights * rewards).sum(axis=1)[None, :]


@dataclass(frozen=True)
class SlateIPS(Estimator):
    """Whole-slate IPS: product of all slot ratios x sum of slot rewards.

    Makes no assumption on how slots interact, at the price of larger weights.

    >>> data = LoggedData(reward=[1.0, 1.0, 0.0], p_log=[0.5, 0.5, 0.5], p_target=[1.0, 0.5, 0.0],
    ...                   slot=[1, 0, 0], decision=["a", "a", "b"])
    >>> SlateIPS().estimate(data)  # decision a: (1*2) * (1+1); decision b: 0
    2.0
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        weights, rewards, _ = _prefix_weights(data)
        return (weights[:, -1] * rewards.sum(axis=1))[None, :]


@dataclass(frozen=True)
class SNCascadeIPS(Estimator):
    """Cascade IPS self-normalised per slot position.

    Slot k's value is sum_d W[d,k] r[d,k] / sum_d W[d,k] over decisions that have a
    slot k, scaled by the share of decisions that have one (so that slates of
    different lengths add up as in :class:`CascadeIPS`); the estimate sums over k.
    Columns come in blocks of three per slot (numerator, denominator, presence) so
    summaries of chunks with shorter slates merge by zero-padding.

    >>> data = LoggedData(reward=[1.0, 1.0, 0.0], p_log=[0.5, 0.5, 0.5], p_target=[1.0, 0.5, 0.0],
    ...                   slot=[1, 0, 0], decision=["a", "a", "b"])
    >>> SNCascadeIPS().estimate(data)  # slot 0: (1 + 0)/(1 + 0); slot 1: 1/2 * (2*1)/(2)
    1.5
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        weights, rewards, present = _prefix_weights(data)
        blocks = np.stack([weights * rewards, weights * present, present.astype(np.float64)], axis=2)
        return blocks.reshape(present.shape[0], -1).T

    @staticmethod
    def _split(means: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        blocks = means.reshape(means.shape[:-1] + (-1, 3))
        return blocks[..., 0], blocks[..., 1], blocks[..., 2]

    def statistic(self, means: np.ndarray) -> np.ndarray:
        numerator, denominator, share = self._split(means)
        with np.errstate(invalid="ignore", divide="ignore"):
            # A slot no decision has adds nothing; a slot whose prefixes the target
            # never chooses (denominator 0) leaves the estimate undefined (NaN).
            per_slot = np.where(share > 0, share * numerator / denominator, 0.0)
        return per_slot.sum(axis=-1)

    def gradient(self, means: np.ndarray) -> np.ndarray:
        numerator, denominator, share = self._split(means)
        safe = np.where(share > 0, denominator, 1.0)
        ratio = np.where(share > 0, numerator / safe, 0.0)
        return np.stack([share / safe, -share * ratio / safe, ratio], axis=-1).reshape(-1)
