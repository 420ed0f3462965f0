"""Two more slate baselines for the nightly report, in :class:`policies.slates.SlatePolicy` form.

Both return a distribution that is all on their favourite(s); :func:`fill_slate` and
:func:`replay_slate` pass it through :func:`policies.sampling.clean_pmf`, so every allowed
candidate keeps the floor ``MIN_SHARE / K`` — "deterministic-ish". The floor matters for
off-policy evaluation only in that the target's probability of a logged item is never
exactly zero; it does not make the baselines explore in any useful sense.

- :class:`MostPopularSlatePolicy` ranks candidates by a popularity table given at
  construction (the report builds it from consumptions logged *before* the evaluated
  window, so the baseline is what a "most popular" ranking computed yesterday would have
  served today, and the window's own outcomes are not used twice).
- :class:`CapFreeGreedySlatePolicy` takes, in every slot, the candidate the learned model
  scores best. Today that is the learned policy with epsilon → 0. Once per-slate caps
  exist it is meant to ignore them — replayed with ``no_repeats`` eligibility —
  which is what "cap-free" measures: what the caps cost or gain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from bandit.slates import Candidate, SlateModel
from policies.slates import LearnedSlatePolicy, SlotAsker, clean_served


def _all_on_best(scores: np.ndarray) -> np.ndarray:
    """Probability 1 shared equally by the top-scoring entries.

    >>> _all_on_best(np.array([1.0, 3.0, 3.0, 0.0])).tolist()
    [0.0, 0.5, 0.5, 0.0]
    """
    best = scores == scores.max()
    return best / best.sum()


class MostPopularSlatePolicy:
    """The most consumed allowed candidate in every slot; ties share; unknown items count 0.

    >>> policy = MostPopularSlatePolicy({"b": 5, "c": 2})
    >>> policy.slot_distribution({}, [Candidate("a"), Candidate("b"), Candidate("c")], {}, 0).tolist()
    [0.0, 1.0, 0.0]
    >>> policy.slot_distribution({}, [Candidate("a"), Candidate("c"), Candidate("d")], {}, 1).tolist()
    [0.0, 1.0, 0.0]
    >>> MostPopularSlatePolicy({}).slot_distribution({}, [Candidate("a"), Candidate("d")], {}, 0).tolist()
    [0.5, 0.5]
    """

    name = "most_popular"

    def __init__(self, popularity: Mapping[str, float]) -> None:
        self.popularity = dict(popularity)

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray:
        return _all_on_best(np.array([float(self.popularity.get(candidate.id, 0.0)) for candidate in allowed]))

    def served_probabilities(self, allowed: np.ndarray, served: np.ndarray, ids: Sequence[str], ident: np.ndarray) -> np.ndarray:
        """Vectorised replay (``policies.slates.VectorSlatePolicy``): the same numbers as
        :meth:`slot_distribution` through ``clean_pmf``, for every logged slot at once.

        >>> policy = MostPopularSlatePolicy({"b": 5})
        >>> allowed = np.array([[[True, True, True], [True, False, True]]])
        >>> policy.served_probabilities(allowed, np.array([[1, 0]]), ["a", "b", "c"], np.array([[0, 1, 2]])).round(4).tolist()
        [[0.9933, 0.5]]
        """
        table = np.array([float(self.popularity.get(item, 0.0)) for item in ids] or [0.0])
        popularity = table[np.maximum(ident, 0)]
        rows = np.arange(ident.shape[0])
        result = np.zeros(served.shape)
        for k in range(served.shape[1]):  # slot by slot: (D, C) temporaries, not (D, S, C)
            scores = np.where(allowed[:, k], popularity, -np.inf)
            best = allowed[:, k] & (scores == scores.max(axis=1, initial=-np.inf)[:, None])
            count, ties = allowed[:, k].sum(axis=1), best.sum(axis=1)
            raw = best[rows, np.maximum(served[:, k], 0)] / np.maximum(ties, 1)
            result[:, k] = clean_served(raw, np.where(ties < count, 0.0, raw), count)
        return result


class CapFreeGreedySlatePolicy:
    """Greedy on the learned model: all mass on the candidate(s) its distribution favours.

    VW's epsilon-greedy exploration puts its largest probability on the greedy action, so
    the argmax of the learned distribution is the model's best-scored candidate; an
    untrained model (uniform) makes every candidate a tie.

    >>> policy = CapFreeGreedySlatePolicy(SlateModel.new(epsilon=0.2))
    >>> policy.slot_distribution({}, [Candidate("a"), Candidate("b")], {}, 0).tolist()
    [0.5, 0.5]
    """

    name = "cap_free_greedy"

    def __init__(self, model: SlateModel) -> None:
        self.learned = LearnedSlatePolicy(model)

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray:
        return _greedy(self.learned.slot_distribution(context, allowed, slot_features, position))

    @contextmanager
    def slate(self, context: Mapping[str, Any], candidates: Sequence[Candidate]) -> Iterator[SlotAsker]:
        """The learned policy's slate session (VW parses the candidates once), made greedy."""
        with self.learned.slate(context, candidates) as ask:
            yield lambda keep, slot_features, position: _greedy(ask(keep, slot_features, position))


def _greedy(pmf: np.ndarray) -> np.ndarray:
    # float32 from VW: treat probabilities within rounding of the maximum as ties.
    return _all_on_best(np.where(pmf >= pmf.max() - 1e-6, 1.0, 0.0))
