"""The berserk index on the service's own log (``elicit berserk``, the nightly report)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from policies.berserk import BASELINE_DAYS, DAY_MS, BerserkIndex, Like, Slot, berserk_index
from service.store.state import CatalogueStore, SlateHistoryStore


def index_for_day(history: SlateHistoryStore, catalogue: CatalogueStore, day_start_ms: int) -> BerserkIndex:
    """Likes of day D−1 against slates of day D and the week before each like."""
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
    return berserk_index(likes, slots, day_start_ms)
