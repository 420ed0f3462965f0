"""Row-level off-policy estimators: IPS, SNIPS, clipped IPS, DM and DR.

Each is a frozen dataclass naming the per-row columns it averages; intervals,
bootstrap, streaming and comparison come from :class:`bandit.ope.core.Estimator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandit.errors import InvalidInput
from bandit.ope.core import Estimator
from bandit.ope.data import LoggedData


@dataclass(frozen=True)
class IPS(Estimator):
    """Inverse propensity scoring: mean of w * r. Unbiased when p_log > 0 everywhere.

    >>> data = LoggedData(reward=[1.0, 0.0, 1.0], p_log=[0.5, 0.5, 0.25], p_target=[1.0, 0.5, 0.25])
    >>> IPS().estimate(data)  # (2*1 + 1*0 + 1*1) / 3
    1.0
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        return (data.weight * data.reward)[None, :]


@dataclass(frozen=True)
class ClippedIPS(Estimator):
    """IPS with weights capped at ``max_weight``: biased, with bounded variance.

    >>> data = LoggedData(reward=[1.0, 1.0], p_log=[0.1, 0.5], p_target=[1.0, 0.5])
    >>> ClippedIPS(max_weight=5.0).estimate(data)  # (min(10, 5) + 1) / 2
    3.0
    """

    max_weight: float

    def __post_init__(self) -> None:
        if not self.max_weight > 0:
            raise InvalidInput(f"max_weight must be > 0, got {self.max_weight}", field="max_weight")

    def columns(self, data: LoggedData) -> np.ndarray:
        return (np.minimum(data.weight, self.max_weight) * data.reward)[None, :]


@dataclass(frozen=True)
class SNIPS(Estimator):
    """Self-normalised IPS: sum(w r) / sum(w). Slightly biased, far less variance.

    Intervals linearise the ratio (delta method): per-row terms w (r - V) / mean(w).

    >>> data = LoggedData(reward=[1.0, 0.0, 1.0], p_log=[0.5, 0.5, 0.25], p_target=[1.0, 0.5, 0.25])
    >>> SNIPS().estimate(data)  # (2 + 0 + 1) / (2 + 1 + 1)
    0.75
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        weight = data.weight
        return np.stack([weight * data.reward, weight])

    def statistic(self, means: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(means[..., 1] > 0, means[..., 0] / means[..., 1], np.nan)

    def gradient(self, means: np.ndarray) -> np.ndarray:
        numerator, denominator = means[0], means[1]
        return np.array([1 / denominator, -numerator / denominator**2])


@dataclass(frozen=True)
class DM(Estimator):
    """Direct method: mean of the reward model's value of the target policy, q_target.

    >>> data = LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[1.0, 0.0], q_target=[0.5, 0.25])
    >>> DM().estimate(data)
    0.375
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        return data.require("q_target", "DM")[None, :]


@dataclass(frozen=True)
class DR(Estimator):
    """Doubly robust: q_target + w (r - q_hat); unbiased if either w or q is right.

    >>> data = LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[1.0, 0.0],
    ...                   q_hat=[0.5, 0.5], q_target=[0.5, 0.25])
    >>> DR().estimate(data)  # ((0.5 + 2 * 0.5) + (0.25 + 0)) / 2
    0.875
    """

    def columns(self, data: LoggedData) -> np.ndarray:
        q_hat = data.require("q_hat", "DR")
        q_target = data.require("q_target", "DR")
        return (q_target + data.weight * (data.reward - q_hat))[None, :]
