"""The sharded LRU and the caching wrapper, over a small real backend."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import (
    CachedEmbeddingService,
    CacheStats,
    EmbeddingCache,
    EmbeddingRole,
    EmbeddingService,
    InferenceError,
    InvalidInputError,
    TextTooLongError,
    TokenCount,
)
from lattice_embed.service.cache import DEFAULT_CACHE_CAPACITY, NUM_SHARDS

from .hashing_service import HashingService, MiscountingService, hashed_vector

BGE = EmbeddingModel.BGE_SMALL_EN_V15
E5 = EmbeddingModel.MULTILINGUAL_E5_SMALL
QWEN = EmbeddingModel.QWEN3_EMBEDDING_0_6B


def _vec(value: float, dims: int = 4) -> np.ndarray:
    return np.full(dims, value, dtype=np.float32)


# -- EmbeddingCache ---------------------------------------------------------------------------


def test_keys_separate_text_model_version_dims_and_role() -> None:
    key = EmbeddingCache.compute_key
    base = key("hello", ModelConfig(BGE), EmbeddingRole.QUERY)
    assert len(base) == 32
    assert base == key("hello", ModelConfig(BGE), EmbeddingRole.QUERY)
    others = [
        key("hello!", ModelConfig(BGE), EmbeddingRole.QUERY),
        key("hello", ModelConfig(EmbeddingModel.BGE_BASE_EN_V15), EmbeddingRole.QUERY),
        key("hello", ModelConfig(BGE), EmbeddingRole.PASSAGE),
        key("hello", ModelConfig(BGE), EmbeddingRole.GENERIC),
    ]
    assert len({base, *others}) == 5
    assert key("x", ModelConfig(QWEN, 256)) != key("x", ModelConfig(QWEN, 512))
    assert key("x", ModelConfig(QWEN)) != key("x", ModelConfig(QWEN, 1024 - 1))
    assert key("x", ModelConfig(BGE)) == key("x", ModelConfig(BGE), EmbeddingRole.GENERIC)


def test_get_put_and_lru_eviction_within_a_shard() -> None:
    cache = EmbeddingCache(NUM_SHARDS * 2)  # two slots per shard
    config = ModelConfig(BGE)
    # Find three keys that land in the same shard.
    keys: list[bytes] = []
    index = 0
    while len(keys) < 3:
        candidate = EmbeddingCache.compute_key(f"text {index}", config)
        if not keys or candidate[0] % NUM_SHARDS == keys[0][0] % NUM_SHARDS:
            keys.append(candidate)
        index += 1
    first, second, third = keys
    assert cache.get(first) is None
    cache.put(first, _vec(1))
    cache.put(second, _vec(2))
    np.testing.assert_array_equal(cache.get(first), _vec(1))  # first is now the most recent
    cache.put(third, _vec(3))  # evicts second, the least recently used
    assert cache.get(second) is None
    np.testing.assert_array_equal(cache.get(first), _vec(1))
    np.testing.assert_array_equal(cache.get(third), _vec(3))
    stats = cache.stats()
    assert stats == CacheStats(size=2, capacity=32, hits=3, misses=2)
    assert stats.hit_rate == pytest.approx(0.6)


def test_stored_vectors_are_read_only_copies() -> None:
    cache = EmbeddingCache(10)
    vector = _vec(1)
    key = EmbeddingCache.compute_key("a", ModelConfig(BGE))
    cache.put(key, vector)
    vector[:] = 9
    stored = cache.get(key)
    assert stored is not None
    np.testing.assert_array_equal(stored, _vec(1))
    with pytest.raises(ValueError, match="read-only"):
        stored[0] = 5


def test_small_capacities_round_up_per_shard_but_report_the_request() -> None:
    cache = EmbeddingCache(10)
    config = ModelConfig(BGE)
    cache.put_many([(EmbeddingCache.compute_key(str(i), config), _vec(i)) for i in range(200)])
    stats = cache.stats()
    assert stats.capacity == 10
    assert 10 <= stats.size <= NUM_SHARDS  # one slot in each of the 16 shards
    assert sum(shard.size for shard in cache.per_shard_stats()) == stats.size


def test_clear_keeps_counters_and_stats_start_at_zero() -> None:
    cache = EmbeddingCache()
    assert cache.capacity == DEFAULT_CACHE_CAPACITY == 4000
    assert cache.stats() == CacheStats(0, 4000, 0, 0)
    assert cache.stats().hit_rate == 0.0
    key = EmbeddingCache.compute_key("a", ModelConfig(BGE))
    cache.put(key, _vec(1))
    assert cache.get_many([key, b"\x00" * 32]) == [pytest.approx(_vec(1)), None]
    cache.clear()
    assert cache.stats() == CacheStats(0, 4000, 1, 1)
    assert len(cache) == 0
    shards = cache.per_shard_stats()
    assert [shard.shard_id for shard in shards] == list(range(NUM_SHARDS))
    assert sum(shard.hits for shard in shards) == 1


def test_capacity_zero_disables_everything() -> None:
    cache = EmbeddingCache(0)
    key = EmbeddingCache.compute_key("a", ModelConfig(BGE))
    assert not cache.is_enabled
    cache.put(key, _vec(1))
    assert cache.get(key) is None
    assert cache.get_many([key]) == [None]
    assert cache.stats() == CacheStats(0, 0, 0, 0)
    assert cache.per_shard_stats() == []


def test_capacity_must_be_a_non_negative_int() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 0, got -1"):
        EmbeddingCache(-1)
    with pytest.raises(TypeError, match="capacity must be an int"):
        EmbeddingCache(1.5)  # type: ignore[arg-type]


# -- CachedEmbeddingService ------------------------------------------------------------------


def test_the_wrapper_is_an_embedding_service_with_the_inner_answers() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner)
    assert isinstance(service, EmbeddingService)
    assert service.name == "cached-embedding"
    assert service.inner is inner
    assert service.supports_model(BGE) and not service.supports_model(E5)
    assert service.model_config() == ModelConfig(BGE)
    assert service.cache_stats().capacity == 4000


def test_only_misses_reach_the_inner_service_and_order_is_kept() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner, capacity=100)
    first = service.embed(["a", "b"])
    second = service.embed(["c", "a", "b", "c", "d"])
    # "c" appears twice but is embedded once; "a" and "b" come from the cache.
    assert inner.batches == [["a", "b"], ["c", "d"]]
    np.testing.assert_array_equal(second, inner.embed(["c", "a", "b", "c", "d"]))
    np.testing.assert_array_equal(second[1:3], first)
    assert second.dtype == np.float32 and second.shape == (5, 384)
    stats = service.cache_stats()
    assert (stats.size, stats.hits, stats.misses) == (4, 2, 5)


def test_a_full_hit_never_calls_the_inner_service() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner)
    first = service.embed(["a", "b"])
    again = service.embed(["b", "a"])
    assert inner.batches == [["a", "b"]]
    np.testing.assert_array_equal(again, first[::-1])


def test_roles_have_their_own_entries_and_the_instruction_is_applied_once() -> None:
    inner = HashingService(E5)
    service = CachedEmbeddingService(inner)
    query = service.embed_query(["rust"])
    passage = service.embed_passage(["rust"])
    generic = service.embed(["rust"])
    assert inner.encoded_texts == ["query: rust", "passage: rust", "rust"]
    np.testing.assert_array_equal(query[0], hashed_vector("query: rust", 384))
    np.testing.assert_array_equal(passage[0], hashed_vector("passage: rust", 384))
    np.testing.assert_array_equal(generic[0], hashed_vector("rust", 384))
    np.testing.assert_array_equal(service.embed_query(["rust"]), query)  # a hit
    np.testing.assert_array_equal(service.embed_one("rust"), generic[0])
    assert len(inner.batches) == 3


def test_validation_comes_before_any_lookup() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner)
    service.embed(["ok"])
    for bad in ([], ["ok"] * 1001):
        with pytest.raises(InvalidInputError):
            service.embed(bad)
    with pytest.raises(TextTooLongError) as caught:
        service.embed(["ok", "x" * 40000])  # "ok" is cached, the error is the same
    assert caught.value.index == 1
    with pytest.raises(TypeError, match="embed_one"):
        service.embed("ok")
    assert service.cache_stats().hits + service.cache_stats().misses == 1


def test_a_wrong_model_is_refused_with_the_inner_error() -> None:
    service = CachedEmbeddingService(HashingService(BGE))
    with pytest.raises(InvalidInputError, match="requested model multilingual-e5-small"):
        service.embed(["a"], E5)


def test_a_miscounting_inner_service_is_an_inference_error() -> None:
    service = CachedEmbeddingService(MiscountingService(BGE))
    with pytest.raises(InferenceError, match="returned 1 vectors for 2 inputs"):
        service.embed(["a", "b"])
    assert service.cache_stats().size == 0


def test_capacity_zero_passes_straight_through() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner, capacity=0)
    service.embed(["a", "a"])
    service.embed(["a"])
    assert inner.batches == [["a", "a"], ["a"]]
    assert service.cache_stats() == CacheStats(0, 0, 0, 0)
    with pytest.raises(InvalidInputError):
        service.embed([])


def test_mrl_widths_do_not_share_entries() -> None:
    narrow = HashingService(ModelConfig(QWEN, 64))
    service = CachedEmbeddingService(narrow)
    assert service.embed(["a"]).shape == (1, 64)
    key_narrow = EmbeddingCache.compute_key("a", ModelConfig(QWEN, 64))
    key_wide = EmbeddingCache.compute_key("a", ModelConfig(QWEN, 128))
    assert service.cache.get(key_narrow) is not None
    assert service.cache.get(key_wide) is None


def test_clear_cache_forces_re_embedding() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner)
    service.embed(["a"])
    service.clear_cache()
    service.embed(["a"])
    assert inner.batches == [["a"], ["a"]]
    assert service.cache_stats().misses == 2


def test_token_counts_come_from_the_inner_service() -> None:
    inner = HashingService(E5, max_tokens=4)
    service = CachedEmbeddingService(inner)
    assert service.count_tokens(["a b"], EmbeddingRole.QUERY) == [TokenCount(5, 4)]
    report = service.embed_with_report(["a b"], EmbeddingRole.QUERY)
    np.testing.assert_array_equal(report.embeddings, inner.embed_query(["a b"]))
    assert report.token_counts == [TokenCount(5, 4)]
    with pytest.raises(InvalidInputError):
        service.count_tokens([])


def test_async_twins_go_through_the_cache() -> None:
    inner = HashingService(E5)
    service = CachedEmbeddingService(inner)

    async def main() -> None:
        first = await service.aembed_query(["x", "y"])
        second = await service.aembed_with_role(["y", "x"], EmbeddingRole.QUERY)
        np.testing.assert_array_equal(first[::-1], second)
        one = await service.aembed_one("x")
        np.testing.assert_array_equal(one, hashed_vector("x", 384))
        await service.aembed_passage(["x"])
        await service.aembed(["x"])

    asyncio.run(main())
    assert inner.encoded_texts == ["query: x", "query: y", "x", "passage: x"]


def test_threads_hammering_the_cache_get_right_vectors_and_consistent_stats() -> None:
    inner = HashingService(BGE)
    service = CachedEmbeddingService(inner, capacity=64)  # smaller than the text set: evictions
    texts = [f"text number {i}" for i in range(200)]
    expected = {text: hashed_vector(text, 384) for text in texts}
    lookups_per_call = 7
    calls = 400
    barrier = threading.Barrier(8)

    def work(seed: int) -> int:
        if seed < 8:
            barrier.wait()
        rng = np.random.default_rng(seed)
        batch = [texts[i] for i in rng.integers(0, len(texts), lookups_per_call)]
        vectors = service.embed(batch)
        for text, vector in zip(batch, vectors):
            np.testing.assert_array_equal(vector, expected[text])
        return len(batch)

    with ThreadPoolExecutor(max_workers=8) as pool:
        total = sum(pool.map(work, range(calls)))

    stats = service.cache_stats()
    assert total == calls * lookups_per_call
    assert stats.hits + stats.misses == total
    assert stats.hits > 0
    assert stats.size <= 64
    assert stats.size == sum(shard.size for shard in service.cache.per_shard_stats())
    # Every miss reached the inner service (duplicates within a batch only once).
    assert len(inner.encoded_texts) <= stats.misses
