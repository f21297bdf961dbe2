"""`top_k(..., rescore=)` keeps recall@10 >= 0.99 at its default candidate count on every tier.

A smaller, seeded version of benchmarks/bench_recall.py: 20,000 unit vectors around 50 wide
clusters in 384 dimensions, 32 queries drawn the same way. Spread 2 is the widest clustered
set of the study; there binary needs hundreds of candidates per result, int4 tens.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lattice_embed import simd
from lattice_embed.simd.search import HEAP_CANDIDATES, RESCORE_FACTORS

ROWS, DIMS, CLUSTERS, QUERIES, K = 20_000, 384, 50, 32, 10


def clustered_set(spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, queries): unit vectors, each a random centre plus noise of norm about `spread`."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, DIMS), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(n: int) -> np.ndarray:
        noise = rng.standard_normal((n, DIMS), dtype=np.float32) * np.float32(
            spread / math.sqrt(DIMS))
        x = centres[rng.integers(0, CLUSTERS, n)] + noise
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return draw(ROWS), draw(QUERIES)


def recall(exact: np.ndarray, found: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact, found)]))


@pytest.fixture(scope="module", params=[1.0, 2.0], ids=lambda spread: f"spread={spread}")
def wide_clusters(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, q = clustered_set(request.param, seed=15)
    exact, _ = simd.top_k(q, x, K, "cosine")
    return x, q, exact


@pytest.mark.parametrize("tier", ["int8", "bf16", "int4", "binary"])
def test_default_rescoring_keeps_recall_at_10(
    wide_clusters: tuple[np.ndarray, np.ndarray, np.ndarray], tier: str
) -> None:
    x, q, exact = wide_clusters
    stored = simd.quantize(x, tier)
    found, scores = simd.top_k(q, stored, K, "cosine", rescore=x)
    assert recall(exact, found) >= 0.99, tier
    # the default is factor * k candidates, and the scores are the exact float32 ones
    same, _ = simd.top_k(q, stored, K, "cosine", rescore=x, candidates=RESCORE_FACTORS[tier] * K)
    assert np.array_equal(found, same)
    assert np.allclose(scores, np.take_along_axis(simd.similarity(q, x, "cosine"), found, 1),
                       rtol=0, atol=1e-6)


def test_the_old_uniform_default_was_not_enough_for_binary(
    wide_clusters: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    """4 candidates per result (the default of every tier before) loses binary's neighbours on
    this set: the set is hard enough for the binary default to matter."""
    x, q, exact = wide_clusters
    four = simd.top_k(q, simd.quantize(x, "binary"), K, "cosine", rescore=x, candidates=4 * K)[0]
    assert recall(exact, four) < 0.9


def test_the_defaults_grow_with_the_tiers_noise() -> None:
    assert set(RESCORE_FACTORS) == {"int8", "int4", "binary", "bf16"}
    assert RESCORE_FACTORS["bf16"] <= RESCORE_FACTORS["int8"] < RESCORE_FACTORS["int4"] \
        < RESCORE_FACTORS["binary"]
    assert (RESCORE_FACTORS["int8"], RESCORE_FACTORS["int4"], RESCORE_FACTORS["binary"]) == \
        (4, 64, 512)  # as the README and top_k's docstring say


@pytest.mark.parametrize("tier", ["int8", "int4", "binary", "bf16"])
def test_candidates_are_capped_at_the_rows(tier: str) -> None:
    """More candidates than rows (the default on a small matrix, or given) rescore every row:
    the exact float32 top k, and k > N gives the N rows."""
    x, q = clustered_set(2.0, seed=3)
    x, q = x[:300], q[:4]
    stored = simd.quantize(x, tier)
    exact, exact_scores = simd.top_k(q, x, K, "cosine")
    for candidates in (None, 300, 301, 10_000):
        found, scores = simd.top_k(q, stored, K, "cosine", rescore=x, candidates=candidates)
        if tier == "binary" or candidates is not None:  # every row rescored: exact
            assert np.array_equal(found, exact), (tier, candidates)
            assert np.allclose(scores, exact_scores, rtol=0, atol=1e-6), (tier, candidates)
    found, _ = simd.top_k(q[0], stored, 500, "cosine", rescore=x)
    assert sorted(found.tolist()) == list(range(300))
    with pytest.raises(ValueError, match=r"candidates \(9\) must be at least k \(10\)"):
        simd.top_k(q, stored, K, "cosine", rescore=x, candidates=9)
    with pytest.raises(TypeError, match="candidates must be an integer, got float"):
        simd.top_k(q, stored, K, "cosine", rescore=x, candidates=40.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("candidates", [40, HEAP_CANDIDATES, HEAP_CANDIDATES + 1, 1200])
def test_both_ways_of_picking_candidates_rank_ties_by_index(candidates: int) -> None:
    """Pools up to HEAP_CANDIDATES come from the kernels' heap, larger ones from numpy's
    argpartition of the compressed scores: either way the result is ranked by exact score,
    ties to the lower index, and a pool of every row gives the exact float32 top k."""
    x, q = clustered_set(1.0, seed=4)
    x = np.concatenate([x[:600], x[:600]])  # row i + 600 repeats row i: every score tied
    stored = simd.quantize(x, "binary")
    found, scores = simd.top_k(q[:3], stored, 2 * K, "cosine", rescore=x, candidates=candidates)
    for rows, row_scores in zip(found, scores):
        assert all(a > b or (a == b and i < j) for a, b, i, j in
                   zip(row_scores, row_scores[1:], rows, rows[1:]))
    if candidates >= len(x):
        assert np.array_equal(found, simd.top_k(q[:3], x, 2 * K, "cosine")[0])
