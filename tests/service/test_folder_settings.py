"""A model folder's own pipeline is honoured: sentence-transformers' modules.json, its Pooling
config, a Normalize module and the role prompts; what the native encoders cannot run is refused
naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lattice_embed.cli import main
from lattice_embed.engine.models import NativeEncoder
from lattice_embed.model import EmbeddingModel, Pooling
from lattice_embed.service import ModelInitializationError, NativeEmbeddingService
from lattice_embed.service.native import FolderModel

from ..conftest import require_module
from .tiny_models import cosines, minilm_dir

TEXTS = ["The cat sat on the mat.", "A kitten rested on a rug.", "Stock markets fell sharply."]


def derive(out: Path, pooling: str, *extra: str) -> Path:
    minilm_dir()
    assert main(["model", "derive", "all-minilm-l6-v2", str(out), "--pooling", pooling,
                 *extra]) == 0
    return out


@pytest.fixture(scope="module")
def cls_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return derive(tmp_path_factory.mktemp("models") / "minilm-cls", "cls")


def test_the_native_service_pools_as_the_folder_says(cls_folder: Path) -> None:
    model = EmbeddingModel.ALL_MINILM_L6_V2
    mean = NativeEmbeddingService(model, model_dir=minilm_dir()).embed(TEXTS)
    cls = NativeEmbeddingService(model, model_dir=cls_folder).embed(TEXTS)
    folder = FolderModel(cls_folder, model)
    assert folder.pipeline.pooling is Pooling.CLS and folder.pipeline.normalize
    np.testing.assert_array_equal(cls, folder.encode(TEXTS))
    assert cosines(mean, cls).max() < 0.95  # another pooling, other vectors
    np.testing.assert_allclose(np.linalg.norm(cls, axis=1), 1.0, rtol=1e-6)


def test_a_folder_without_normalize_gives_raw_vectors(tmp_path: Path) -> None:
    folder = derive(tmp_path / "raw", "mean", "--no-normalize")
    raw = FolderModel(folder).encode(TEXTS)
    unit = FolderModel(minilm_dir()).encode(TEXTS)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit,
                               rtol=1e-5, atol=1e-6)


def test_a_bare_folder_is_mean_pooled_and_unnormalized_as_sentence_transformers_does(
    tmp_path: Path,
) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (bare / name).symlink_to(minilm_dir() / name)
    pipeline = FolderModel(bare).pipeline
    assert (pipeline.pooling, pipeline.normalize) == (Pooling.MEAN, False)


def test_sentence_transformers_agrees_on_a_cls_folder(cls_folder: Path) -> None:
    require_module("torch", "sentence_transformers")
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(cls_folder), device="cpu").encode(TEXTS)
    native = FolderModel(cls_folder).encode(TEXTS)
    assert cosines(native, reference).min() >= 0.9999


@pytest.mark.parametrize("change, field", [
    ({"pooling_mode_max_tokens": True, "pooling_mode_cls_token": False}, "max_tokens"),
    ({"pooling_mode_mean_tokens": True}, "exactly one"),
])
def test_pooling_the_encoder_cannot_run_is_refused(tmp_path: Path, change: dict[str, bool],
                                                   field: str) -> None:
    folder = derive(tmp_path / "m", "cls")
    config = folder / "1_Pooling" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **change}))
    with pytest.raises(ModelInitializationError, match=f"1_Pooling/config.json: .*{field}"):
        FolderModel(folder)


def test_a_module_the_encoder_cannot_run_is_refused(tmp_path: Path) -> None:
    folder = derive(tmp_path / "m", "mean")
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense",
                    "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelInitializationError, match="modules.json: .*Dense"):
        NativeEmbeddingService(EmbeddingModel.ALL_MINILM_L6_V2, model_dir=folder).embed(["x"])


def test_a_folders_prompts_mark_queries_and_documents(tmp_path: Path) -> None:
    folder = derive(tmp_path / "m", "mean")
    (folder / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: ", "document": "passage: "}}))
    encoder = NativeEncoder(str(folder))
    plain = FolderModel(folder)
    np.testing.assert_array_equal(encoder.embed_queries(["x"]), plain.encode(["query: x"]))
    np.testing.assert_array_equal(encoder.embed_documents(["x"]), plain.encode(["passage: x"]))
    assert encoder.spec.details["query_prompt"] == "query: "
    # The prompts are part of the model's identity.
    assert encoder.spec.fingerprint != NativeEncoder(str(derive(tmp_path / "n", "mean"))
                                                     ).spec.fingerprint


def test_the_onnx_service_pools_as_the_folder_says(cls_folder: Path) -> None:
    require_module("onnxruntime", "onnx")
    from lattice_embed.service import OnnxEmbeddingService

    onnx = OnnxEmbeddingService(EmbeddingModel.ALL_MINILM_L6_V2, model_dir=cls_folder,
                                cache_dir=False).embed(TEXTS)
    assert cosines(onnx, FolderModel(cls_folder).encode(TEXTS)).min() >= 0.9999
