"""The catalogue: ``PUT /v1/items`` (bulk upsert) and ``GET /v1/items/<id>``.

Slate requests may then name candidates by id only; the catalogue fills in category,
creator, kind and features (inline values in the request win). Creator catalogue sizes
also decide when a user has exhausted a creator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field

from bandit.errors import InvalidInput, NotFound
from bandit.features import validate as validate_features
from service.core.clock import Clock
from service.decide.requests import Id, StrictModel, parse_model
from service.store.state import CatalogueStore

MAX_ITEMS_PER_PUT = 10_000


class ItemIn(StrictModel):
    id: Id
    category: Id | None = None
    creator: Id | None = None
    kind: Literal["single", "repeatable", "durable"] = "single"
    features: dict[str, Any] = Field(default_factory=dict)


class ItemsRequest(StrictModel):
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_PUT)


class Catalogue:
    """Catalogue writes and reads, with an in-process read cache for the decision path.

    Slate requests name the same items again and again; :meth:`lookup` answers from memory
    for ``CATALOGUE_CACHE_S`` wall seconds (absent ids too), so a slate costs no catalogue
    round trip in the steady state. A write through this process clears its cache at once;
    other workers see it within the cache time.
    """

    def __init__(self, store: CatalogueStore, config: Mapping[str, Any], clock: Clock) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.ttl_s = float(config.get("CATALOGUE_CACHE_S", 30.0))
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, item_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Catalogue documents of the ids that are in the catalogue."""
        now = time.monotonic()
        found: dict[str, dict[str, Any]] = {}
        missing = []
        for item_id in item_ids:
            cached = self._cache.get(item_id)
            if cached is not None and now - cached[0] < self.ttl_s:
                if cached[1] is not None:
                    found[item_id] = cached[1]
            else:
                missing.append(item_id)
        if missing:
            fetched = self.store.get_many(missing)
            with self._lock:
                if len(self._cache) > 500_000:  # bounded: a huge catalogue just re-reads
                    self._cache.clear()
                for item_id in missing:
                    self._cache[item_id] = (now, fetched.get(item_id))
            found.update(fetched)
        return found

    def cached(self, item_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What the cache holds for these ids, however old: for decisions made while the store is down."""
        found = {}
        for item_id in item_ids:
            entry = self._cache.get(item_id)
            if entry is not None and entry[1] is not None:
                found[item_id] = entry[1]
        return found

    def upsert(self, payload: Any) -> dict[str, Any]:
        request = parse_model(ItemsRequest, payload)
        seen: set[str] = set()
        for index, item in enumerate(request.items):
            if item.id in seen:
                raise InvalidInput(f"duplicate item id {item.id!r}", field=f"items[{index}].id")
            seen.add(item.id)
            validate_features(item.features, field=f"items[{index}].features", max_features=int(self.config["MAX_FEATURES"]))
        inserted, replaced = self.store.upsert([item.model_dump() for item in request.items], self.clock.now_ms())
        with self._lock:
            self._cache.clear()
        return {"inserted": inserted, "replaced": replaced}

    def get(self, item_id: str) -> dict[str, Any]:
        doc = self.store.get(item_id)
        if doc is None:
            raise NotFound(f"no item {item_id!r} in the catalogue", field="item_id")
        return {"id": doc["_id"], **{key: doc.get(key) for key in ("category", "creator", "kind", "features")},
                "updated_at": doc.get("updated_at")}
