"""MongoDB persistence: :class:`Store` (pymongo) and :class:`EmbeddedMongo` (nx-27017)."""

from service.store.embedded import EmbeddedMongo, free_port
from service.store.mongo import Store

__all__ = ["EmbeddedMongo", "Store", "free_port"]
