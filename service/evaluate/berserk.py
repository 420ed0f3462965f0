"""The berserk index on the service's own log (``elicit berserk``, the nightly report), and
what a naive recommender would have done on the same slates.

The live index says how much elicit's slates flood a user after a like; its caps keep it
near zero by design. What that protects users from is the counterfactual: a recommender
without the caps (:class:`~policies.slate_baselines.CapFreeGreedySlatePolicy`, the same
learned model, greedy) replayed on the same logged slates of the day after each like.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.berserk import BASELINE_DAYS, DAY_MS, BerserkIndex, Like, Slot, berserk_index, share_like
from policies.sampling import clean_pmf
from policies.slates import SlatePolicy, asking
from service.evaluate.policy_values import replay_rule
from service.log.decisions import candidates_of, slot_pairs
from service.store.state import CatalogueStore, SlateHistoryStore


def _likes_and_slots(
    history: SlateHistoryStore, catalogue: CatalogueStore, day_start_ms: int
) -> tuple[list[Like], dict[str, list[Slot]], list[dict[str, Any]]]:
    like_docs = history.likes_between(day_start_ms - DAY_MS, day_start_ms)
    users = {doc["user"] for doc in like_docs}
    decisions = history.served_slots(users, day_start_ms - DAY_MS - BASELINE_DAYS * DAY_MS, day_start_ms + DAY_MS)
    slots: dict[str, list[Slot]] = defaultdict(list)
    seen_items: dict[str, dict[str, Any]] = {}
    for decision in decisions:
        info = {c["id"]: c for c in decision.get("candidates", [])}
        seen_items.update(info)
        for choice in decision.get("chosen", []):
            item = info.get(choice["item_id"], {})
            slots[decision["user"]].append(Slot(decision["t"], item.get("category"), item.get("creator")))
    catalogued = catalogue.get_many({doc["item_id"] for doc in like_docs})
    likes = []
    for doc in like_docs:
        item = catalogued.get(doc["item_id"]) or seen_items.get(doc["item_id"]) or {}
        likes.append(Like(doc["user"], doc["item_id"], doc["value"], doc["t"], item.get("category"), item.get("creator")))
    return likes, slots, decisions


def index_for_day(history: SlateHistoryStore, catalogue: CatalogueStore, day_start_ms: int) -> BerserkIndex:
    """Likes of day D−1 against slates of day D and the week before each like."""
    likes, slots, _ = _likes_and_slots(history, catalogue, day_start_ms)
    return berserk_index(likes, slots, day_start_ms)


@dataclass(frozen=True)
class NaiveDay:
    """Per counted like of day D−1: the share of the liked item's category or creator in
    the user's slots on D as elicit served them, and as the cap-free recommender would
    have (expected, from its replayed slot distributions along its own greedy slate)."""

    served: tuple[float, ...]
    naive: tuple[float, ...]


def naive_shares(
    history: SlateHistoryStore, catalogue: CatalogueStore, day_start_ms: int, target: SlatePolicy
) -> NaiveDay:
    likes, slots, decisions = _likes_and_slots(history, catalogue, day_start_ms)
    day = [d["_id"] for d in decisions if day_start_ms <= d["t"] < day_start_ms + DAY_MS]
    whole = history.whole(day) if day else []
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in whole:
        by_user[doc["user"]].append(doc)
    served, naive = [], []
    for like in likes:
        after = [s for s in slots.get(like.user, ()) if day_start_ms <= s.t < day_start_ms + DAY_MS]
        if not after or not by_user.get(like.user):
            continue
        hits = [hit for doc in by_user[like.user] for hit in _expected_hits(target, doc, like)]
        if hits:
            served.append(share_like(like, after))
            naive.append(float(np.mean(hits)))
    return NaiveDay(tuple(served), tuple(naive))


def _expected_hits(target: SlatePolicy, doc: dict[str, Any], like: Like) -> list[float]:
    """Slot by slot along the target's own (greedy) slate: the probability that the slot
    holds the liked item's category or creator; the caps are not applied (only the
    client's per-slot exclusions and no repeats). A document without its slots (not
    written by a decider) cannot be replayed and counts nothing."""
    if not doc.get("slots") or not doc.get("candidates"):
        return []
    candidates, rule = candidates_of(doc), replay_rule(doc, ignore_caps=True)
    hit = np.array([(like.category is not None and c.category == like.category)
                    or (like.creator is not None and c.creator == like.creator) for c in candidates], dtype=float)
    chosen: list[Any] = []
    out: list[float] = []
    with asking(target, doc["context"], candidates) as ask:
        for position, (_, features) in enumerate(slot_pairs(doc)):
            keep = [i for i, c in enumerate(candidates) if rule(c, chosen)]
            if not keep:
                break
            pmf = clean_pmf(ask(keep, features, position))
            out.append(float(pmf @ hit[keep]))
            chosen.append(candidates[keep[int(np.argmax(pmf))]])
    return out
