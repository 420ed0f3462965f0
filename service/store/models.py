"""Versioned models: the one each worker serves, hot-loaded from MongoDB.

Version 0 is a fresh, untrained model; the learner publishes 1, 2, ... as GridFS
snapshots. A worker checks for a newer version every ``MODEL_REFRESH_S`` seconds (and the
in-process learner tells it at once), swapping the model atomically between requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from service.store import Store

M = TypeVar("M")


class ModelRegistry(Generic[M]):
    """The model of one kind (``slate`` | ``prompt``) that this process serves."""

    def __init__(self, store: Store, kind: str, new: Callable[[], M], load: Callable[[bytes], M]) -> None:
        self.store = store
        self.kind = kind
        self._new = new
        self._load = load
        self._lock = threading.Lock()
        self._model: M = new()
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    @property
    def version_id(self) -> str:
        return f"{self.kind}-v{self._version}"

    def fresh(self) -> M:
        """A new, untrained model of this kind (version 0), built as configured."""
        return self._new()

    def load(self, data: bytes) -> M:
        """A model from snapshot bytes (the learner continues from the latest one)."""
        return self._load(data)

    def current(self) -> tuple[M, str]:
        """The model and its version id, read together so a decision logs the version it used."""
        with self._lock:
            return self._model, f"{self.kind}-v{self._version}"

    def as_of(self, t_ms: int) -> tuple[M, str]:
        """The model that was live at event time ``t_ms`` — the newest published by then —
        and its version id (version 0, untrained, if none was). An off-policy target built
        from it was trained only on decisions before ``t_ms``: judged on a window that
        starts there, it is out of sample."""
        meta = self.store.model_meta_before(self.kind, t_ms)
        if meta is None:
            return self._new(), f"{self.kind}-v0"
        version = int(meta["version"])
        with self._lock:
            if version == self._version:
                return self._model, f"{self.kind}-v{version}"
        return self._load(self.store.load_model(meta["file_id"])), f"{self.kind}-v{version}"

    def refresh(self) -> bool:
        """Load the newest published version if it is newer than ours."""
        meta = self.store.latest_model_meta(self.kind)
        if meta is None or int(meta["version"]) <= self._version:
            return False
        model = self._load(self.store.load_model(meta["file_id"]))
        with self._lock:
            if int(meta["version"]) > self._version:
                self._model, self._version = model, int(meta["version"])
        return True
