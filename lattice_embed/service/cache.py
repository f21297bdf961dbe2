"""An in-memory LRU of embeddings and a service wrapper that consults it first.

A port of the original's `cache.rs` and `CachedEmbeddingService` (§6.4-6.5 of the spec):
16 shards, each an LRU behind its own lock with its own hit and miss counters, so threads
embedding different texts rarely wait on each other. Keys are SHA-256 over the caller's text,
the model's display name, key version, active dimension and the role tag, so a query and a
passage (which get different instructions), or two MRL widths, never share an entry.

Keys are not stable across versions and must not be persisted. (Unlike the original, the
text's byte length is hashed first, so no text can run into the suffix of another key.)
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar, Union

import numpy as np

from ..model import EmbeddingModel, ModelConfig
from .base import (
    EmbeddingRole,
    EmbeddingService,
    FloatArray,
    TokenCount,
    _ServiceMethods,
    as_model,
    as_role,
    check_vectors,
    validate_texts,
)
from .errors import InferenceError, UnsupportedOperationError

__all__ = [
    "DEFAULT_CACHE_CAPACITY",
    "NUM_SHARDS",
    "CacheKey",
    "CacheStats",
    "CachedEmbeddingService",
    "EmbeddingCache",
    "ShardStats",
]

NUM_SHARDS: Final = 16
"""Shards per cache; a power of two, so a key's first byte picks one with a mask."""

DEFAULT_CACHE_CAPACITY: Final = 4000
"""About 6 MB of 384-dimensional float32 vectors."""

CacheKey = bytes
"""A 32-byte SHA-256 digest."""

VectorLike = Union[FloatArray, Sequence[float]]
"""What `put` stores (as a float32 copy)."""


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of the whole cache. `capacity` is the capacity asked for."""

    size: int
    capacity: int
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        """Hits over lookups; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


@dataclass(frozen=True)
class ShardStats:
    """A snapshot of one shard."""

    shard_id: int
    size: int
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        """Hits over lookups in this shard; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class _Shard:
    """One LRU (an OrderedDict, most recent last) and its counters, all under one lock."""

    __slots__ = ("capacity", "entries", "hits", "lock", "misses")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[CacheKey, FloatArray] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.lock = threading.Lock()

    def get(self, key: CacheKey) -> FloatArray | None:
        with self.lock:
            vector = self.entries.get(key)
            if vector is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return vector

    def put(self, key: CacheKey, vector: FloatArray) -> None:
        with self.lock:
            self.entries[key] = vector
            self.entries.move_to_end(key)
            while len(self.entries) > self.capacity:
                self.entries.popitem(last=False)


class EmbeddingCache:
    """A thread-safe sharded LRU from `compute_key` keys to read-only float32 vectors.

    Each shard holds `max(1, ceil(capacity / 16))` entries, so the cache may hold a little
    more than `capacity` (capacity 10 gives 16 slots); `stats().capacity` reports the
    capacity asked for. Capacity 0 disables it: lookups miss without counting, stores are
    dropped. `clear()` empties it but keeps the counters.
    """

    def __init__(self, capacity: int = DEFAULT_CACHE_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self._capacity = capacity
        per_shard = max(1, math.ceil(capacity / NUM_SHARDS))
        self._shards = [_Shard(per_shard) for _ in range(NUM_SHARDS)] if capacity else []

    @staticmethod
    def compute_key(
        text: str, config: ModelConfig, role: EmbeddingRole | str = EmbeddingRole.GENERIC
    ) -> CacheKey:
        """SHA-256 over the text and everything that makes its vector: model, key version,
        active dimension and role."""
        data = text.encode("utf-8", "surrogatepass")
        model = config.model
        tag = as_role(role).cache_tag
        suffix = f"{model.display_name}:{model.key_version}:{config.dimensions}:{tag}"
        digest = hashlib.sha256(len(data).to_bytes(8, "little"))
        digest.update(data)
        digest.update(suffix.encode())
        return digest.digest()

    @property
    def capacity(self) -> int:
        """The capacity asked for; 0 when disabled."""
        return self._capacity

    @property
    def is_enabled(self) -> bool:
        """False for capacity 0."""
        return bool(self._shards)

    def _shard(self, key: CacheKey) -> _Shard:
        return self._shards[key[0] & (NUM_SHARDS - 1)]

    def get(self, key: CacheKey) -> FloatArray | None:
        """The vector for `key` (read-only), marking it recently used; None on a miss."""
        if not self._shards:
            return None
        return self._shard(key).get(key)

    def get_many(self, keys: Sequence[CacheKey]) -> list[FloatArray | None]:
        """`get` for each key, in order."""
        return [self.get(key) for key in keys]

    def put(self, key: CacheKey, vector: VectorLike) -> None:
        """Store a copy of `vector` (read-only), evicting the shard's least recently used."""
        if not self._shards:
            return
        stored = np.array(vector, dtype=np.float32, copy=True)
        stored.flags.writeable = False
        self._shard(key).put(key, stored)

    def put_many(self, items: Sequence[tuple[CacheKey, VectorLike]]) -> None:
        """`put` for each `(key, vector)`."""
        for key, vector in items:
            self.put(key, vector)

    def clear(self) -> None:
        """Drop every entry; the hit and miss counters keep counting."""
        for shard in self._shards:
            with shard.lock:
                shard.entries.clear()

    def per_shard_stats(self) -> list[ShardStats]:
        """One snapshot per shard (none when disabled)."""
        stats = []
        for shard_id, shard in enumerate(self._shards):
            with shard.lock:
                stats.append(ShardStats(shard_id, len(shard.entries), shard.hits, shard.misses))
        return stats

    def stats(self) -> CacheStats:
        """Totals over the shards; size 0 and capacity 0 when disabled."""
        shards = self.per_shard_stats()
        return CacheStats(
            size=sum(s.size for s in shards),
            capacity=self._capacity,
            hits=sum(s.hits for s in shards),
            misses=sum(s.misses for s in shards),
        )

    def __len__(self) -> int:
        return self.stats().size

    def __repr__(self) -> str:
        stats = self.stats()
        return (
            f"EmbeddingCache(size={stats.size}, capacity={stats.capacity}, "
            f"hits={stats.hits}, misses={stats.misses})"
        )

ServiceT = TypeVar("ServiceT", bound=EmbeddingService)


class CachedEmbeddingService(_ServiceMethods, Generic[ServiceT]):
    """Any `EmbeddingService` with an `EmbeddingCache` in front.

    Validates the caller's texts before any lookup (the same errors whether a text is
    cached or not), looks every text up under its role, sends only the misses (each
    distinct text once) to `inner.embed_with_role`, which prepends the instruction, and
    returns the rows in input order. A batch that is all hits never calls `inner`. Not
    single-flight: two threads missing the same text may both embed it. Capacity 0 passes
    every call straight to `inner`.
    """

    name = "cached-embedding"

    def __init__(self, inner: ServiceT, capacity: int = DEFAULT_CACHE_CAPACITY) -> None:
        self._inner = inner
        self._cache = EmbeddingCache(capacity)

    @property
    def inner(self) -> ServiceT:
        """The wrapped service."""
        return self._inner

    @property
    def cache(self) -> EmbeddingCache:
        """The cache itself, for stats and clearing."""
        return self._cache

    def cache_stats(self) -> CacheStats:
        """`cache.stats()`."""
        return self._cache.stats()

    def clear_cache(self) -> None:
        """`cache.clear()` (counters are kept)."""
        self._cache.clear()

    def supports_model(self, model: EmbeddingModel | str) -> bool:
        """The inner service's answer."""
        return self._inner.supports_model(as_model(model))

    def model_config(self, model: EmbeddingModel | str | None = None) -> ModelConfig:
        """The inner service's configuration; it is part of every cache key."""
        return self._inner.model_config(None if model is None else as_model(model))

    def embed_with_role(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str,
        model: EmbeddingModel | str | None = None,
    ) -> FloatArray:
        """Cached rows for the texts seen before under this model and role, the rest embedded."""
        batch = validate_texts(texts)
        role = as_role(role)
        model = None if model is None else as_model(model)
        if not self._cache.is_enabled:
            return check_vectors(self._inner.embed_with_role(batch, role, model), len(batch))

        config = self._inner.model_config(model)
        keys = [EmbeddingCache.compute_key(text, config, role) for text in batch]
        rows = self._cache.get_many(keys)

        # Each distinct missing text once, in first-seen order.
        missing: dict[CacheKey, str] = {}
        for key, text, row in zip(keys, batch, rows):
            if row is None:
                missing.setdefault(key, text)
        fresh: dict[CacheKey, FloatArray] = {}
        if missing:
            vectors = check_vectors(
                self._inner.embed_with_role(list(missing.values()), role, model), len(missing)
            )
            fresh = dict(zip(missing, vectors))
            self._cache.put_many(list(fresh.items()))

        vectors_in_order = [row if row is not None else fresh[key] for key, row in zip(keys, rows)]
        widths = {vector.shape[-1] for vector in vectors_in_order}
        if len(widths) != 1:
            raise InferenceError(
                f"cached and new embeddings differ in dimension: {sorted(widths)}"
            )
        return np.stack(vectors_in_order).astype(np.float32, copy=False)

    def count_tokens(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str = EmbeddingRole.GENERIC,
        model: EmbeddingModel | str | None = None,
    ) -> list[TokenCount]:
        """The inner service's counts (never cached); UnsupportedOperationError if it has none."""
        batch = validate_texts(texts)
        count = getattr(self._inner, "count_tokens", None)
        if count is None:
            raise UnsupportedOperationError(f"{self._inner.name} cannot count tokens")
        chosen = None if model is None else as_model(model)
        counts: list[TokenCount] = count(batch, as_role(role), chosen)
        return counts

    def __repr__(self) -> str:
        return f"CachedEmbeddingService({self._inner!r}, capacity={self._cache.capacity})"
