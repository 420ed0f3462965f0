"""A chunk of logged slate decisions as padded arrays, replayed for many targets at once.

The report replays every joined slate of a night for every target. Per candidate and
slot in Python (``policies.slates.replay_slate`` with the logged eligibility rule) that
was ~7 ms a decision; here each decision is read into arrays once, the allowed sets of
all its slots come from one vectorised pass (``policies.guards.allowed_masks``), and
targets that need no per-slot call (``logged``, ``uniform``, ``most_popular``) are
replayed for the whole chunk in a few numpy operations. Targets that do need one (a VW
model) are asked exactly what ``replay_slate`` asks, only for the decisions given.

Rows of :meth:`SlateBlock.rows` come out as ``service.evaluate.policy_values.slate_chunk`` makes them
(one per served slot, decision by decision, slot by slot), so the estimates are the same
to rounding: ``tests/service/reports/test_fast.py`` holds them to 1e-9.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from bandit.ope import LoggedData
from policies.guards import CapArrays, CapState, allowed_masks
from policies.slates import SlatePolicy, replay_allowed, replay_slate
from service.evaluate.policy_values import ignores_caps, replay_rule
from service.log.decisions import candidates_of, slot_pairs

Decision = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class SlateBlock:
    """D decisions, candidates padded to C columns, slots to S.

    ``regular[d]``: candidate ids are distinct and every served item is one of them — the
    vectorised replay applies; other decisions are replayed by ``replay_slate`` itself.

    >>> doc = {"_id": "d1", "context": {}, "caps": None, "reward": [1.0, 0.0],
    ...        "candidates": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "slots": [{"id": "s0"}, {"id": "s1"}],
    ...        "chosen": [{"slot": 0, "item_id": "b", "probability": 0.5}, {"slot": 1, "item_id": "a", "probability": 0.5}]}
    >>> block = SlateBlock.of([doc])
    >>> block.served.tolist(), block.rows(block.replay(None, False)).reward.tolist()
    ([[1, 0]], [1.0, 0.0])
    """

    decisions: Sequence[Decision]
    ids: list[Any]  # code → candidate id (creators and categories share the table)
    ident: np.ndarray  # (D, C) code of each candidate's id, -1 padding
    creator: np.ndarray  # (D, C) code, -1 None or padding
    category: np.ndarray  # (D, C)
    valid: np.ndarray  # (D, C) a real candidate
    served: np.ndarray  # (D, S) column of the served item, -1 no such slot (or irregular)
    present: np.ndarray  # (D, S) the decision served slot k
    p_log: np.ndarray  # (D, S) logged probability, 1 where absent
    reward: np.ndarray  # (D, S) reward, 0 where absent
    slot: np.ndarray  # (D, S) logged slot number
    regular: np.ndarray  # (D,)
    excluded: np.ndarray | None  # (D, S, C) per-slot exclusions, None when no decision has any
    caps: CapArrays

    @classmethod
    def of(cls, decisions: Sequence[Decision]) -> SlateBlock:
        # Python gathers flat lists (the one unavoidable loop over documents); numpy places
        # them in one assignment per array, not one per decision.
        flat: dict[str, list[Any]] = {"id": [], "creator": [], "category": [], "served": [], "p_log": [], "slot": [],
                                      "reward": []}
        creators, categories, caps, exclusions, regular = [], [], [], [], []
        for doc in decisions:
            candidates, chosen = doc["candidates"], doc["chosen"]
            ids = [c["id"] for c in candidates]
            creators.append([c.get("creator") for c in candidates])
            categories.append([c.get("category") for c in candidates])
            flat["id"] += ids
            flat["creator"] += creators[-1]
            flat["category"] += categories[-1]
            column = {item: index for index, item in enumerate(ids)}
            items = [c["item_id"] for c in chosen]
            n = len(items)
            regular.append(len(column) == len(ids) and n <= len(doc["slots"]) and all(item in column for item in items))
            flat["served"] += [column[item] for item in items] if regular[-1] else [-1] * n
            flat["p_log"] += [c["probability"] for c in chosen]
            flat["slot"] += [c["slot"] for c in chosen]
            rewards = doc.get("reward") or [0.0] * n
            flat["reward"] += [float(rewards[k]) for k in range(n)]
            caps.append(CapState.from_dict(doc.get("caps")))
            exclusions.append([s.get("excluded") or () for s in doc["slots"]])
        table = list(dict.fromkeys(flat["id"] + flat["creator"] + flat["category"]))
        codes = {value: code for code, value in enumerate(table)}
        codes[None] = -1
        valid = _ragged([len(d["candidates"]) for d in decisions])
        present = _ragged([len(d["chosen"]) for d in decisions])

        def grid(values: list[Any], where: np.ndarray, fill: float, dtype: Any) -> np.ndarray:
            out = np.full(where.shape, fill, dtype=dtype)
            out[where] = values
            return out

        ident, creator, category = (grid(list(map(codes.__getitem__, flat[name])), valid, -1, np.int64)
                                    for name in ("id", "creator", "category"))
        return cls(decisions, table, ident, creator, category, valid, grid(flat["served"], present, -1, np.int64),
                   present, grid(flat["p_log"], present, 1.0, np.float64), grid(flat["reward"], present, 0.0, np.float64),
                   grid(flat["slot"], present, 0, np.int64), np.array(regular, dtype=bool),
                   _excluded(exclusions, ident, codes, present.shape[1]),
                   CapArrays.of(caps, creators, categories, valid.shape[1]))

    @cached_property
    def _capped(self) -> np.ndarray:
        return allowed_masks(self.ident, self.creator, self.category, self.valid, self.served, self.excluded, self.caps)

    @cached_property
    def _cap_free(self) -> np.ndarray:
        return allowed_masks(self.ident, self.creator, self.category, self.valid, self.served, self.excluded, None)

    def masks(self, ignore_caps: bool) -> np.ndarray:
        """``(D, S, C)``: what each slot allowed under the logged rule, or without the caps."""
        return self._cap_free if ignore_caps else self._capped

    def replay(self, target: SlatePolicy | None, ignore_caps: bool | None = None,
               subset: np.ndarray | None = None) -> np.ndarray:
        """``(D, S)``: the target's probability of each served item (``replay_slate``'s
        numbers), for the decisions in ``subset`` (default all; others are left at 0)."""
        return self.replay_all({"target": target}, subset, None if ignore_caps is None else {"target": ignore_caps})["target"]

    def replay_all(self, targets: Mapping[str, SlatePolicy | None], subset: np.ndarray | None = None,
                   ignore_caps: Mapping[str, bool] | None = None) -> dict[str, np.ndarray]:
        """:meth:`replay` for several targets; ``ignore_caps`` by name (default: each target's
        own ``service.evaluate.policy_values.ignores_caps``). Targets asked slot by slot are asked
        decision by decision, all of them in turn, so they share the decision's candidates
        (their encoded text) and a model that remembers its answers (``RecallingModel``)."""
        chosen = np.ones(len(self.decisions), dtype=bool) if subset is None else subset
        cap_free = {name: ignores_caps(target) if ignore_caps is None or name not in ignore_caps else ignore_caps[name]
                    for name, target in targets.items()}
        result: dict[str, np.ndarray] = {}
        column = np.maximum(self.served, 0)
        for name, target in targets.items():
            if target is None:
                result[name] = self.p_log
            elif hasattr(target, "served_probabilities"):
                masks = self.masks(cap_free[name])
                allowed = np.take_along_axis(masks, column[:, :, None], axis=2)[:, :, 0] & self.present
                p = np.where(allowed, target.served_probabilities(masks, self.served, self.ids, self.ident), 0.0)
                result[name] = np.where(chosen[:, None], p, 0.0)
            else:
                result[name] = np.zeros(self.present.shape)
        slow = {name: t for name, t in targets.items() if t is not None and not hasattr(t, "served_probabilities")}
        for d in np.flatnonzero(chosen & (~self.regular | bool(slow))):
            doc, n = self.decisions[d], int(self.present[d].sum())
            candidates, slots = candidates_of(doc), slot_pairs(doc)
            for name, target in targets.items():
                if target is None or (self.regular[d] and name not in slow):
                    continue
                if self.regular[d]:
                    replayed = replay_allowed(target, doc["context"], candidates, slots, self.served[d, :n].tolist(),
                                              self.masks(cap_free[name])[d])
                else:  # exactly the old path, whatever it does
                    replayed = replay_slate(target, doc["context"], candidates, slots,
                                            [c["item_id"] for c in doc["chosen"]], replay_rule(doc, cap_free[name]))
                result[name][d, :n] = [replayed[k] for k in range(n)]
        return result

    def rows(self, p_target: np.ndarray, subset: np.ndarray | None = None) -> LoggedData:
        """One row per served slot of the decisions in ``subset`` (default all)."""
        keep = self.present if subset is None else self.present & subset[:, None]
        decision = np.broadcast_to(np.arange(len(self.decisions))[:, None], keep.shape)
        return LoggedData(reward=self.reward[keep], p_log=self.p_log[keep], p_target=p_target[keep],
                          slot=self.slot[keep], decision=decision[keep])


def _ragged(lengths: list[int]) -> np.ndarray:
    """``(len(lengths), max)`` mask of the first ``lengths[d]`` columns of each row.

    >>> _ragged([1, 3]).astype(int).tolist()
    [[1, 0, 0], [1, 1, 1]]
    """
    sizes = np.array(lengths, dtype=np.int64)
    return np.arange(int(sizes.max(initial=0)))[None, :] < sizes[:, None]


def _excluded(per_slot: list[list[Sequence[str]]], ident: np.ndarray, codes: Mapping[str | None, int],
              depth: int) -> np.ndarray | None:
    """``(D, S, C)`` per-slot exclusions as masks; None when no decision excludes anything."""
    if not any(any(slots) for slots in per_slot):
        return None
    excluded = np.zeros((ident.shape[0], depth, ident.shape[1]), dtype=bool)
    for d, slots in enumerate(per_slot):
        for k, ids in enumerate(slots[:depth]):
            if ids:
                known = [codes[i] for i in ids if i in codes]
                excluded[d, k] = np.isin(ident[d], known) & (ident[d] >= 0)
    return excluded
