"""Corrupt model folders are refused at load with the library's own error, naming the file and
the field, on both encoders that read them (native and onnxruntime); a corrupt cached ONNX graph
is rebuilt. Each folder is the tiny random BERT of `fake_hub.write_tiny_bert` (no torch), then
broken in one place."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel
from lattice_embed.service import ModelInitializationError
from lattice_embed.service.native import NativeEmbeddingService
from tests.conftest import require_module

from .fake_hub import TINY_WORDS, write_tiny_bert

BGE = EmbeddingModel.BGE_SMALL_EN_V15  # 384 dimensions, CLS pooling, like the tiny model


def read_safetensors(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def write_safetensors(path: Path, header: dict[str, Any], data: bytes) -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def edit_config(**changes: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))
    return edit


def edit_header(tensor: str, **changes: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        header, data = read_safetensors(folder / "model.safetensors")
        header[tensor].update(changes)
        write_safetensors(folder / "model.safetensors", header, data)
    return edit


def poison(tensor: str, value: float, index: int = 0) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        header, data = read_safetensors(folder / "model.safetensors")
        begin = header[tensor]["data_offsets"][0] + 4 * index
        raw = bytearray(data)
        raw[begin:begin + 4] = np.float32(value).tobytes()
        write_safetensors(folder / "model.safetensors", header, bytes(raw))
    return edit


def overlap(folder: Path) -> None:
    header, data = read_safetensors(folder / "model.safetensors")
    bias = "bert.encoder.layer.0.output.dense.bias"
    other = "bert.encoder.layer.0.attention.output.dense.bias"
    header[bias]["data_offsets"] = header[other]["data_offsets"]  # both read the same bytes
    write_safetensors(folder / "model.safetensors", header, data)


def truncate(folder: Path) -> None:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])


def huge_header(folder: Path) -> None:
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 10**12) + raw[8:])


def shrink_vocab_table(folder: Path) -> None:
    """A table with fewer rows than the tokenizer has tokens: ids past it raised IndexError."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(folder / "model.safetensors"))
    name = "bert.embeddings.word_embeddings.weight"
    tensors[name] = tensors[name][:5].copy()
    save_file(tensors, str(folder / "model.safetensors"))


def reshape_tensor(folder: Path) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(folder / "model.safetensors"))
    name = "bert.encoder.layer.0.intermediate.dense.weight"
    tensors[name] = tensors[name][:, :100].copy()  # (32, 100), not (32, 384)
    save_file(tensors, str(folder / "model.safetensors"))


LAYER_W = "bert.encoder.layer.0.output.dense.weight"
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # name: (corruption, file named, what the message must say)
    "nan-weight": (poison(LAYER_W, float("nan"), 7), "model.safetensors",
                   f"tensor '{LAYER_W}' holds NaN or infinite values"),
    "inf-weight": (poison("bert.embeddings.LayerNorm.weight", float("inf")), "model.safetensors",
                   "tensor 'bert.embeddings.LayerNorm.weight' holds NaN or infinite values"),
    "nan-eps": (edit_config(layer_norm_eps=float("nan")), "config.json",
                "layer_norm_eps must be a finite number >= 0, got nan"),
    "inf-eps": (edit_config(layer_norm_eps=float("inf")), "config.json",
                "layer_norm_eps must be a finite number >= 0, got inf"),
    "zero-layers": (edit_config(num_hidden_layers=0), "config.json",
                    "num_hidden_layers must be an integer >= 1, got 0"),
    "negative-layers": (edit_config(num_hidden_layers=-1), "config.json",
                        "num_hidden_layers must be an integer >= 1, got -1"),
    "fractional-heads": (edit_config(num_attention_heads=2.5), "config.json",
                         "num_attention_heads must be an integer >= 1, got 2.5"),
    "missing-field": (edit_config(hidden_size=None), "config.json",
                      "hidden_size must be an integer >= 1, got None"),
    "negative-offset": (edit_header(LAYER_W, data_offsets=[-4, 100]), "model.safetensors",
                        f"tensor '{LAYER_W}': data_offsets [-4, 100]"),
    "overlapping-offsets": (overlap, "model.safetensors", "overlap"),
    "negative-shape": (edit_header(LAYER_W, shape=[-384, -32]), "model.safetensors",
                       f"tensor '{LAYER_W}': shape [-384, -32]"),
    "wrong-length": (edit_header(LAYER_W, shape=[384, 33]), "model.safetensors",
                     f"tensor '{LAYER_W}': shape [384, 33] of F32 takes 50688 bytes"),
    "truncated": (truncate, "model.safetensors", "past the end of the data"),
    "huge-header": (huge_header, "model.safetensors",
                    "header length 1000000000000 exceeds the file"),
    "short-vocabulary-table": (shrink_vocab_table, "tokenizer.json",
                               "'bert.embeddings.word_embeddings.weight' has 5 rows"),
    "wrong-shape": (reshape_tensor, "model.safetensors",
                    "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape (32, 100), "
                    "expected (32, 384)"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("tokenizers", "safetensors")
    return write_tiny_bert(tmp_path_factory.mktemp("corrupt") / "tiny")


def broken(tiny: Path, tmp_path: Path, case: str) -> tuple[Path, str, str]:
    import shutil

    folder = tmp_path / case
    shutil.copytree(tiny, folder)
    corrupt, file_name, message = CASES[case]
    corrupt(folder)
    return folder, str(folder / file_name), message


def test_the_intact_folder_loads(tiny: Path) -> None:
    vectors = NativeEmbeddingService(BGE, model_dir=tiny).embed(["the blue river", "a red stone"])
    assert vectors.shape == (2, 384) and np.all(np.isfinite(vectors))


@pytest.mark.parametrize("case", list(CASES))
def test_native_refuses_at_load(tiny: Path, tmp_path: Path, case: str) -> None:
    folder, file_name, message = broken(tiny, tmp_path, case)
    service = NativeEmbeddingService(BGE, model_dir=folder)
    with pytest.raises(ModelInitializationError) as caught:
        service.ensure_loaded()
    text = str(caught.value)
    assert file_name in text and message in text, text


@pytest.mark.parametrize("case", [c for c in CASES if c != "nan-weight" and c != "inf-weight"])
def test_onnx_refuses_at_load(tiny: Path, tmp_path: Path, case: str) -> None:
    require_module("onnx", "onnxruntime")
    from lattice_embed.service.onnx_encoder import OnnxEmbeddingService

    folder, file_name, message = broken(tiny, tmp_path, case)
    service = OnnxEmbeddingService(BGE, model_dir=folder, cache_dir=False)
    with pytest.raises(ModelInitializationError) as caught:
        service.ensure_loaded()
    text = str(caught.value)
    assert file_name in text and message in text, text
    assert text.count("model initialization failed") == 1  # not wrapped twice


@pytest.mark.parametrize("case", ["nan-weight", "inf-weight"])
def test_onnx_refuses_non_finite_weights_when_building(tiny: Path, tmp_path: Path,
                                                       case: str) -> None:
    require_module("onnx", "onnxruntime")
    from lattice_embed.service.onnx_encoder import OnnxEmbeddingService

    folder, file_name, message = broken(tiny, tmp_path, case)
    with pytest.raises(ModelInitializationError, match="holds NaN or infinite values") as caught:
        OnnxEmbeddingService(BGE, model_dir=folder, cache_dir=False).ensure_loaded()
    assert file_name in str(caught.value)


def test_a_word_row_of_nan_is_refused_when_used(tiny: Path, tmp_path: Path) -> None:
    """The word table stays a memory map at load (it is most of a model's bytes); the rows a
    batch uses are checked, so a NaN row is an error naming the table, never a NaN vector."""
    import shutil

    folder = tmp_path / "nan-row"
    shutil.copytree(tiny, folder)
    table = "bert.embeddings.word_embeddings.weight"
    river = 4 + TINY_WORDS.index("river")  # after [PAD], [UNK], [CLS], [SEP]
    poison(table, float("nan"), index=384 * river)(folder)
    service = NativeEmbeddingService(BGE, model_dir=folder)
    assert np.all(np.isfinite(service.embed(["the blue stone"])))
    with pytest.raises(ModelInitializationError,
                       match=f"tensor '{table}' row {river} holds NaN") as caught:
        service.embed(["the blue river"])
    assert str(folder / "model.safetensors") in str(caught.value)


def test_a_corrupt_cached_graph_is_rebuilt(tiny: Path, tmp_path: Path) -> None:
    require_module("onnx", "onnxruntime")
    from lattice_embed.service.onnx_encoder import OnnxEmbeddingService

    cache = tmp_path / "graphs"
    expected = OnnxEmbeddingService(BGE, model_dir=tiny, cache_dir=cache).embed(["the blue river"])
    (graph,) = cache.iterdir()
    good = graph.read_bytes()
    for damage in (good[: len(good) // 2], b"not a graph at all"):
        graph.write_bytes(damage)
        service = OnnxEmbeddingService(BGE, model_dir=tiny, cache_dir=cache)
        np.testing.assert_array_equal(service.embed(["the blue river"]), expected)
        assert graph.read_bytes() == good
