"""Apprentice mode's progress: how often the learned policy would have served the baseline.

In apprentice mode every slate serves the application's baseline with probability 1 and
the learner learns from it (service/decide/slates.py). Per batch of decisions (1,000 by
default), in time order: the **match rate** — the share of decisions whose first slot the
model live at the time (the version each decision logged) would have filled with the
served baseline, as its single best choice (a tie, as an untrained model's, is no match)
— and the **reward of both**: the baseline's is the logged average; the learned policy's
is known only where it matches (there it served the same item), so it is the average over
the matches. Apprentice data has no overlap with any other policy — every logged
probability is 1 on the baseline and 0 elsewhere — so nothing else can be valued off
policy from it (docs/personalizer.md, "Apprentice mode").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

import numpy as np

from bandit.slates import SlateModel
from policies.slates import LearnedSlatePolicy
from service.log.decisions import candidates_of


def learned_choice(model: SlateModel, decision: Mapping[str, Any]) -> str | None:
    """The item ``model`` scores best for the decision's first slot over what was allowed
    there, or None when several tie for best."""
    first = decision["chosen"][0]
    by_id = {candidate.id: candidate for candidate in candidates_of(decision)}
    allowed = [by_id[item_id] for item_id in first["allowed"]]
    slot = decision["slots"][first["slot"]]
    pmf = LearnedSlatePolicy(model).slot_distribution(decision["context"], allowed, slot.get("features") or {}, 0)
    best = np.flatnonzero(pmf == pmf.max())
    return allowed[int(best[0])].id if len(best) == 1 else None


def apprentice_progress(
    decisions: Iterable[Mapping[str, Any]], model_of: Callable[[str], SlateModel], per: int = 1000
) -> list[dict[str, Any]]:
    """One row per ``per`` apprentice decisions (the last may be shorter): see the module doc."""
    rows: list[dict[str, Any]] = []
    served = (d for d in decisions if d.get("policy") == "apprentice" and d.get("chosen"))
    while batch := list(islice(served, per)):
        matches, baseline, learned = 0, [], []
        for decision in batch:
            reward = float((decision.get("reward") or [0.0])[0])
            baseline.append(reward)
            if learned_choice(model_of(str(decision["model_version"])), decision) == decision["chosen"][0]["item_id"]:
                matches += 1
                learned.append(reward)
        rows.append({"from": int(batch[0]["t"]), "until": int(batch[-1]["t"]), "decisions": len(batch),
                     "match_rate": matches / len(batch), "baseline_reward": float(np.mean(baseline)),
                     "learned_reward_on_matches": float(np.mean(learned)) if learned else None})
    return rows


class ModelsByVersion:
    """Published slate models by version id, each loaded once (version 0: untrained)."""

    def __init__(self, meta: Callable[[str], Mapping[str, Any] | None], load: Callable[[Any], bytes],
                 from_bytes: Callable[[bytes], SlateModel], fresh: Callable[[], SlateModel]) -> None:
        self._meta, self._load, self._from_bytes, self._fresh = meta, load, from_bytes, fresh
        self._models: dict[str, SlateModel] = {}

    def __call__(self, version_id: str) -> SlateModel:
        if version_id not in self._models:
            found = self._meta(version_id)
            self._models[version_id] = self._fresh() if found is None else self._from_bytes(self._load(found["file_id"]))
        return self._models[version_id]
