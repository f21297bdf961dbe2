"""A BERT-family encoder forward pass in numpy and the project's kernels (no torch).

Covers BERT (BGE, MiniLM) and XLM-RoBERTa (multilingual E5, paraphrase-multilingual) from a
`config.json` and a `model.safetensors`. The design follows what made a numpy encoder match
onnxruntime here:

* Tokens are packed: a batch is one `(total_tokens, hidden)` matrix with no padding, so every
  dense layer is one large matrix product (BLAS on one thread); only attention is per sequence,
  and sequences of equal length share one batched product.
* Weights are laid out once at load: `(in, out)` C-contiguous, Q/K/V fused into one product, the
  attention scale folded into Q, the token-type row folded into the position table.
* Bias + GELU, bias + residual + layer norm, and the attention softmax run in our SIMD kernels
  (`lattice_embed.simd.nn`), in place; normalization too (`lattice_embed.simd.normalize`).
* Parallelism is over the batch with Python threads (numpy and the kernels release the GIL);
  sequences are sorted by length so the threads get balanced, similar work.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lattice_embed.model import EmbeddingModel, Pooling
from lattice_embed.simd import normalize
from lattice_embed.simd.nn import bias_gelu_, layer_norm_, softmax_

from .errors import InferenceError, ModelInitializationError, UnsupportedModelError
from .folder import FolderSettings

__all__ = [
    "BertConfig", "BertEncoder", "FolderPipeline", "Tensors", "blas_limiter", "check_bert_model",
    "check_tensors", "check_threads", "check_vocabulary", "default_threads", "load_tensors",
    "read_folder", "read_header",
]

Array = np.ndarray[Any, np.dtype[Any]]

_PREFIXES = ("bert.", "roberta.", "model.")
_TOKENS_PER_PASS = 4096
"""Most tokens in one forward pass: bounds the working memory of a large batch of long texts
(activations are tokens x intermediate floats) while keeping the products large."""
_SCORES_PER_RUN = 1 << 22
"""Most attention scores (sequences x heads x length^2 floats, 16 MiB) computed at once."""
_ROBERTA_TYPES = {"roberta", "xlm-roberta", "camembert"}


def default_threads() -> int:
    """Threads for the encoder: `LATTICE_EMBED_NUM_THREADS`, else the cores this process may use."""
    value = os.environ.get("LATTICE_EMBED_NUM_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"LATTICE_EMBED_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: int | None) -> int | None:
    """A `threads=` argument: None (the default) or a positive int."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return threads


def check_bert_model(model: EmbeddingModel, backend: str) -> None:
    """Refuse a model a BERT-family encoder cannot run, with the reason."""
    if model.is_remote:
        raise UnsupportedModelError(
            f"{model} is a remote API model; {backend} runs local BERT-family models only"
        )
    if model.bert_pooling is None:
        raise UnsupportedModelError(
            f"{model} is a decoder model (last-token pooling); {backend} runs BERT-family "
            "models only (BGE, E5, MiniLM). Use SentenceTransformersService for it"
        )


@dataclass(frozen=True)
class BertConfig:
    """The facts of `config.json` the forward pass needs."""

    model_type: str
    hidden_size: int
    num_heads: int
    num_layers: int
    intermediate_size: int
    layer_norm_eps: float
    max_position_embeddings: int
    pad_token_id: int

    @property
    def is_roberta(self) -> bool:
        """RoBERTa-style position ids: they start after the padding index."""
        return self.model_type in _ROBERTA_TYPES

    @property
    def max_tokens(self) -> int:
        """The longest sequence the position table allows."""
        if self.is_roberta:
            return self.max_position_embeddings - self.pad_token_id - 1
        return self.max_position_embeddings

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        """Read and check `config.json`: ModelInitializationError naming the file and the field
        for anything the forward pass could not run with (a missing or non-integer size, a
        layer count below 1, a NaN or infinite `layer_norm_eps`, ...)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise _bad(path, f"cannot be read as JSON: {error}") from error
        if not isinstance(raw, dict):
            raise _bad(path, f"must hold a JSON object, got {type(raw).__name__}")
        model_type = str(raw.get("model_type", "bert"))
        act = raw.get("hidden_act", "gelu")
        if act != "gelu":
            raise _bad(path, f"hidden_act {act!r} is not supported (only the erf 'gelu')")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise _bad(path, "only absolute position embeddings are supported "
                             f"(position_embedding_type {raw.get('position_embedding_type')!r})")
        if model_type not in {"bert", *_ROBERTA_TYPES}:
            raise _bad(path, f"model_type {model_type!r} is not a BERT-family encoder")
        eps = raw.get("layer_norm_eps", 1e-12)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (
                math.isfinite(eps) and eps >= 0):
            raise _bad(path, f"layer_norm_eps must be a finite number >= 0, got {eps!r}")
        pad = raw.get("pad_token_id", 0)
        config = cls(
            model_type=model_type,
            hidden_size=_config_int(raw, "hidden_size", path, 1),
            num_heads=_config_int(raw, "num_attention_heads", path, 1),
            num_layers=_config_int(raw, "num_hidden_layers", path, 1),
            intermediate_size=_config_int(raw, "intermediate_size", path, 1),
            layer_norm_eps=float(eps),
            max_position_embeddings=_config_int(raw, "max_position_embeddings", path, 1),
            pad_token_id=0 if pad is None else _config_int(raw, "pad_token_id", path, 0),
        )
        if config.hidden_size % config.num_heads:
            raise _bad(path, f"hidden_size {config.hidden_size} is not a multiple of "
                             f"num_attention_heads {config.num_heads}")
        if config.max_tokens < 2:
            raise _bad(path, f"max_position_embeddings {config.max_position_embeddings} leaves "
                             f"{config.max_tokens} positions for tokens (pad_token_id "
                             f"{config.pad_token_id}); at least 2 are needed")
        return config


def _bad(path: Path, detail: str) -> ModelInitializationError:
    """The library's error for a model file that cannot be used, naming the file."""
    return ModelInitializationError(f"{path}: {detail}")


def _config_int(raw: dict[str, Any], key: str, path: Path, minimum: int) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(path, f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class FolderPipeline:
    """How one model folder turns text into a vector: its config, token limit, pooling and
    whether it normalizes, with the folder's own settings (`FolderSettings`) honoured."""

    config: BertConfig
    max_tokens: int
    pooling: Pooling
    normalize: bool
    settings: FolderSettings


def read_folder(folder: Path, model: EmbeddingModel | None = None) -> FolderPipeline:
    """The folder's config and pipeline.

    The token limit is the least of the position table's, sentence-transformers'
    `max_seq_length` (256 for all-MiniLM-L6-v2, which the registry allows 512) and, with a
    registry `model`, the registry's. Pooling and normalization are the folder's own where it
    declares them (`modules.json`, `1_Pooling/config.json`); where it does not, the registry
    model's pooling and L2 normalization, or, for a bare folder, what sentence-transformers does
    with one: mean pooling, not normalized. With `model`, the folder's width must be the
    registry's.
    """
    config = BertConfig.from_file(folder / "config.json")
    settings = FolderSettings.read(folder)
    limits = [config.max_tokens]
    if model is not None:
        if config.hidden_size != model.native_dimensions:
            raise _bad(folder / "config.json", f"hidden_size {config.hidden_size} is not the "
                       f"{model.native_dimensions} dimensions of {model}")
        limits.append(model.max_input_tokens)
    if settings.max_seq_length is not None:
        limits.append(settings.max_seq_length)
    default_pooling = model.bert_pooling if model is not None else None
    pooling = settings.pooling or default_pooling or Pooling.MEAN
    normalize = settings.normalize if settings.normalize is not None else model is not None
    return FolderPipeline(config, min(limits), pooling, normalize, settings)


@dataclass(frozen=True)
class _Layer:
    """One encoder layer's weights, laid out for `x @ w` on packed tokens."""

    qkv_w: Array  # (hidden, 3 * hidden), Q columns pre-scaled by 1/sqrt(head_dim)
    qkv_b: Array
    out_w: Array  # (hidden, hidden)
    out_b: Array
    ln1_g: Array
    ln1_b: Array
    up_w: Array  # (hidden, intermediate)
    up_b: Array
    down_w: Array  # (intermediate, hidden)
    down_b: Array
    ln2_g: Array
    ln2_b: Array


_DTYPES: dict[str, str] = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}
_ITEM_BYTES: dict[str, int] = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8,
    "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}
_MAX_HEADER = 100 << 20
"""The safetensors format's own bound on the JSON header (100 MiB)."""
_RENAMES = (("LayerNorm.gamma", "LayerNorm.weight"), ("LayerNorm.beta", "LayerNorm.bias"))
"""Older BERT checkpoints' names for the layer-norm parameters."""


class Tensors(dict[str, Array]):
    """A safetensors file's tensors by name (prefixes such as `bert.` removed), and where each
    came from, for error messages."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.names: dict[str, str] = {}

    def where(self, name: str) -> str:
        """`<file>: tensor '<its name in the file>'`."""
        return f"{self.path}: tensor '{self.names.get(name, name)}'"


def read_header(path: Path) -> tuple[dict[str, Any], int, int]:
    """A safetensors file's header, checked: (header, where the data starts, its length).

    Every tensor must have a dtype, a shape of sizes >= 0 and `data_offsets` [begin, end] with
    0 <= begin <= end <= the data's length, holding exactly shape x item size bytes (for the
    dtypes whose size is known), and no two tensors may share bytes. Anything else raises
    ModelInitializationError naming the file and the tensor.
    """
    try:
        file_size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise _bad(path, f"has {file_size} bytes, fewer than the 8-byte header length")
            size = int.from_bytes(prefix, "little")
            if size > file_size - 8 or size > _MAX_HEADER:
                raise _bad(path, f"header length {size} exceeds the file ({file_size} bytes) "
                                 f"or the format's {_MAX_HEADER}-byte limit")
            header = json.loads(handle.read(size))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise _bad(path, f"cannot be read as safetensors: {error}") from error
    if not isinstance(header, dict):
        raise _bad(path, "the header is not a JSON object")
    data_length = file_size - 8 - size
    spans: list[tuple[int, int, str]] = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        where = f"tensor '{key}'"
        if not isinstance(info, dict):
            raise _bad(path, f"{where}: its header entry is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str):
            raise _bad(path, f"{where}: dtype {dtype!r} is not a name")
        if not isinstance(shape, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise _bad(path, f"{where}: shape {shape!r} is not a list of sizes >= 0")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(n, int) and not isinstance(n, bool) for n in offsets)):
            raise _bad(path, f"{where}: data_offsets {offsets!r} are not [begin, end]")
        begin, end = offsets
        if not 0 <= begin <= end:
            raise _bad(path, f"{where}: data_offsets {offsets!r} are not 0 <= begin <= end")
        if end > data_length:
            raise _bad(path, f"{where}: data_offsets {offsets!r} reach past the end of the data "
                             f"({data_length} bytes; a truncated file?)")
        item = _ITEM_BYTES.get(dtype)
        if item is not None and end - begin != item * math.prod(shape):
            raise _bad(path, f"{where}: shape {shape!r} of {dtype} takes "
                             f"{item * math.prod(shape)} bytes, data_offsets {offsets!r} hold "
                             f"{end - begin}")
        spans.append((begin, end, key))
    spans.sort()
    reach, owner = 0, ""  # the furthest end so far, and whose it is
    for begin, end, key in spans:
        if begin < reach and end > begin:
            raise _bad(path, f"tensors '{owner}' and '{key}' overlap (bytes {begin} to "
                             f"{min(reach, end)} of the data)")
        if end > reach:
            reach, owner = end, key
    return header, 8 + size, data_length


def load_tensors(path: Path) -> Tensors:
    """Every tensor of a safetensors file as a read-only numpy view of a memory map.

    The format is an 8-byte little-endian header length, a JSON header (dtype, shape, byte
    offsets per tensor) and the raw bytes; the header is checked first (`read_header`).
    Mapping it instead of reading it (the `safetensors` package copies every tensor) keeps the
    embedding tables, the largest tensors, on disk except for the rows used, which is most of
    the cold start. `bert.`/`roberta.` prefixes are removed from the names, old
    `LayerNorm.gamma`/`beta` names become `weight`/`bias`; BF16 is widened to float32.
    """
    header, start, length = read_header(path)
    data = (np.memmap(path, dtype=np.uint8, mode="r", offset=start) if length
            else np.zeros(0, np.uint8))
    tensors = Tensors(path)
    for key, info in header.items():
        if key == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            wide = raw.view("<u2").astype(np.uint32) << 16
            array = wide.view(np.float32)
        elif info["dtype"] in _DTYPES:
            array = raw.view(_DTYPES[info["dtype"]])
        else:
            continue  # a dtype the encoder never needs (e.g. bool buffers)
        name = key
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        for old, new in _RENAMES:
            if name.endswith(old):
                name = name[: -len(old)] + new
        tensors[name] = array.reshape(info["shape"])
        tensors.names[name] = key
    return tensors


def _expected_shapes(config: BertConfig) -> dict[str, tuple[int | None, ...]]:
    """The tensors the forward pass reads and their shapes (None: any size)."""
    hidden, inter = config.hidden_size, config.intermediate_size
    shapes: dict[str, tuple[int | None, ...]] = {
        "embeddings.word_embeddings.weight": (None, hidden),
        "embeddings.position_embeddings.weight": (config.max_position_embeddings, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for i in range(config.num_layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            shapes[f"{p}attention.self.{name}.weight"] = (hidden, hidden)
            shapes[f"{p}attention.self.{name}.bias"] = (hidden,)
        shapes.update({
            f"{p}attention.output.dense.weight": (hidden, hidden),
            f"{p}attention.output.dense.bias": (hidden,),
            f"{p}attention.output.LayerNorm.weight": (hidden,),
            f"{p}attention.output.LayerNorm.bias": (hidden,),
            f"{p}intermediate.dense.weight": (inter, hidden),
            f"{p}intermediate.dense.bias": (inter,),
            f"{p}output.dense.weight": (hidden, inter),
            f"{p}output.dense.bias": (hidden,),
            f"{p}output.LayerNorm.weight": (hidden,),
            f"{p}output.LayerNorm.bias": (hidden,),
        })
    return shapes


TOKEN_TYPES = "embeddings.token_type_embeddings.weight"
WORDS = "embeddings.word_embeddings.weight"


def check_tensors(config: BertConfig, tensors: Tensors, *, words_finite: bool = True) -> None:
    """Every tensor the forward pass reads is there, with the shape `config` implies and only
    finite values (the word table too unless `words_finite` is False: then the rows a batch
    uses are checked as it runs). ModelInitializationError names the file and the tensor."""
    shapes = _expected_shapes(config)
    if TOKEN_TYPES in tensors:  # optional: a model without token types adds nothing
        shapes[TOKEN_TYPES] = (None, config.hidden_size)
    for name, shape in shapes.items():
        if name not in tensors:
            raise ModelInitializationError(f"{tensors.path}: missing tensor '{name}'")
        array = tensors[name]
        if len(array.shape) != len(shape) or any(
                want is not None and got != want for got, want in zip(array.shape, shape)):
            expected = ", ".join("any" if n is None else str(n) for n in shape)
            expected = f"({expected},)" if len(shape) == 1 else f"({expected})"
            raise ModelInitializationError(
                f"{tensors.where(name)} has shape {array.shape}, expected {expected}")
        if array.shape[0] == 0:
            raise ModelInitializationError(f"{tensors.where(name)} is empty")
        if (name != WORDS or words_finite) and not _all_finite(array):
            raise ModelInitializationError(f"{tensors.where(name)} holds NaN or infinite values")


def _all_finite(array: Array) -> bool:
    """Checked a block of rows at a time: no temporary as large as the tensor."""
    rows = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(-1, 1)
    step = max(1, (1 << 20) // max(1, rows.shape[1]))
    return all(bool(np.isfinite(rows[i:i + step]).all()) for i in range(0, len(rows), step))


def check_vocabulary(folder: Path, vocab_size: int) -> None:
    """The tokenizer's ids (0 to vocab_size - 1) all have a row in the word table, read from the
    safetensors header alone; else ModelInitializationError naming both files."""
    header, _, _ = read_header(folder / "model.safetensors")
    for key, info in header.items():
        name = key
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        if name == WORDS and isinstance(info, dict) and info.get("shape"):
            rows = info["shape"][0]
            if vocab_size > rows:
                raise ModelInitializationError(
                    f"{folder / 'tokenizer.json'} has {vocab_size} tokens, but "
                    f"{folder / 'model.safetensors'}: tensor '{key}' has {rows} rows: ids past "
                    "them have no embedding (a tokenizer from another model?)")
            return


def _f32(array: Array) -> Array:
    return np.ascontiguousarray(array, dtype=np.float32)


class BertEncoder:
    """A loaded BERT-family model: token ids in, pooled and L2-normalized embeddings out."""

    def __init__(self, folder: Path, *, threads: int | None = None) -> None:
        self.config = BertConfig.from_file(folder / "config.json")
        self.threads = threads if threads is not None else default_threads()
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        tensors = load_tensors(folder / "model.safetensors")
        # Everything but the word table is read (and copied) here; the word table stays a
        # memory map, and the rows each batch uses are checked as it runs.
        check_tensors(self.config, tensors, words_finite=False)
        self._words_where = tensors.where(WORDS)
        self._load(tensors)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._blas_one_thread = blas_limiter()

    def _load(self, t: dict[str, Array]) -> None:
        cfg = self.config
        hidden, heads = cfg.hidden_size, cfg.num_heads
        scale = np.float32(1.0 / np.sqrt(hidden // heads))
        self.word = _f32(t["embeddings.word_embeddings.weight"])
        positions = _f32(t["embeddings.position_embeddings.weight"])
        types = t.get(TOKEN_TYPES)
        # Every token has type 0 (one text per sequence), so its row joins the position table.
        self.position = positions + (_f32(types)[0] if types is not None else np.float32(0))
        self.position_offset = cfg.pad_token_id + 1 if cfg.is_roberta else 0
        self.emb_g = _f32(t["embeddings.LayerNorm.weight"])
        self.emb_b = _f32(t["embeddings.LayerNorm.bias"])
        self.layers: list[_Layer] = []
        for i in range(cfg.num_layers):
            p = f"encoder.layer.{i}."
            q_w = _f32(t[p + "attention.self.query.weight"]) * scale
            q_b = _f32(t[p + "attention.self.query.bias"]) * scale
            qkv_w = np.concatenate(
                [q_w, _f32(t[p + "attention.self.key.weight"]),
                 _f32(t[p + "attention.self.value.weight"])]
            )
            qkv_b = np.concatenate(
                [q_b, _f32(t[p + "attention.self.key.bias"]),
                 _f32(t[p + "attention.self.value.bias"])]
            )
            self.layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(qkv_w.T),
                    qkv_b=_f32(qkv_b),
                    out_w=np.ascontiguousarray(_f32(t[p + "attention.output.dense.weight"]).T),
                    out_b=_f32(t[p + "attention.output.dense.bias"]),
                    ln1_g=_f32(t[p + "attention.output.LayerNorm.weight"]),
                    ln1_b=_f32(t[p + "attention.output.LayerNorm.bias"]),
                    up_w=np.ascontiguousarray(_f32(t[p + "intermediate.dense.weight"]).T),
                    up_b=_f32(t[p + "intermediate.dense.bias"]),
                    down_w=np.ascontiguousarray(_f32(t[p + "output.dense.weight"]).T),
                    down_b=_f32(t[p + "output.dense.bias"]),
                    ln2_g=_f32(t[p + "output.LayerNorm.weight"]),
                    ln2_b=_f32(t[p + "output.LayerNorm.bias"]),
                )
            )

    # -- the forward pass ---------------------------------------------------------------

    def _attention(self, qkv: Array, lengths: Sequence[int]) -> Array:
        """Self-attention of each packed sequence; `qkv` rows are tokens, `lengths` sorted."""
        heads = self.config.num_heads
        hidden = self.config.hidden_size
        dim = hidden // heads
        context = np.empty((qkv.shape[0], hidden), np.float32)
        start, i = 0, 0
        while i < len(lengths):
            length = lengths[i]
            most = max(1, _SCORES_PER_RUN // (heads * length * length))
            run = 1
            while i + run < len(lengths) and lengths[i + run] == length and run < most:
                run += 1
            stop = start + run * length
            # (run, length, 3, heads, dim) -> (3, run, heads, length, dim): views, no copies.
            parts = qkv[start:stop].reshape(run, length, 3, heads, dim).transpose(2, 0, 3, 1, 4)
            scores = np.matmul(parts[0], parts[1].transpose(0, 1, 3, 2))
            softmax_(scores)
            mixed = np.matmul(scores, parts[2])  # (run, heads, length, dim)
            context[start:stop].reshape(run, length, heads, dim)[...] = mixed.transpose(0, 2, 1, 3)
            start, i = stop, i + run
        return context

    def _encode_sorted(self, seqs: Sequence[Sequence[int]], pooling: Pooling) -> Array:
        """Pooled, unnormalized states for sequences sorted by length (the work of one thread)."""
        cfg = self.config
        lengths = [len(s) for s in seqs]
        ids = np.fromiter((tok for s in seqs for tok in s), np.int64, sum(lengths))
        positions = np.concatenate([np.arange(n) for n in lengths]) + self.position_offset
        x = self.word[ids]
        finite = np.isfinite(x).all(axis=1)
        if not finite.all():
            row = int(ids[int(np.argmin(finite))])
            raise ModelInitializationError(
                f"{self._words_where} row {row} holds NaN or infinite values")
        x += self.position[positions]
        eps = cfg.layer_norm_eps
        layer_norm_(x, self.emb_g, self.emb_b, eps)
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            attended = self._attention(qkv, lengths) @ layer.out_w
            layer_norm_(attended, layer.ln1_g, layer.ln1_b, eps, bias=layer.out_b, residual=x)
            up = attended @ layer.up_w
            bias_gelu_(up, layer.up_b)
            x = up @ layer.down_w
            layer_norm_(x, layer.ln2_g, layer.ln2_b, eps, bias=layer.down_b, residual=attended)
        starts = np.zeros(len(lengths), np.intp)
        np.cumsum(lengths[:-1], out=starts[1:])
        if pooling is Pooling.CLS:
            return np.ascontiguousarray(x[starts])
        if pooling is not Pooling.MEAN:
            raise ValueError(f"pooling {pooling} is not a BERT pooling (CLS or MEAN)")
        sums = np.add.reduceat(x, starts, axis=0)
        sums /= np.asarray(lengths, np.float32)[:, None]
        return sums

    def encode(
        self, token_ids: Sequence[Sequence[int]], pooling: Pooling, normalized: bool = True
    ) -> Array:
        """`(n, hidden)` float32 embeddings of token-id sequences, in input order, L2-normalized
        unless `normalized` is False.

        Sequences must be non-empty and within `config.max_tokens` (the tokenizer truncates).
        """
        n = len(token_ids)
        out = np.empty((n, self.config.hidden_size), np.float32)
        if n == 0:
            return out
        limit = self.config.max_tokens
        for seq in token_ids:
            if not 0 < len(seq) <= limit:
                raise ValueError(f"a sequence has {len(seq)} tokens; expected 1 to {limit}")
        order = sorted(range(n), key=lambda i: len(token_ids[i]))
        lengths = [len(token_ids[i]) for i in order]
        passes = max(self.threads, -(-sum(lengths) // _TOKENS_PER_PASS))
        parts = [order[lo:hi] for lo, hi in _balanced_chunks(lengths, passes)]

        def run(idx: list[int]) -> Array:
            return self._encode_sorted([token_ids[i] for i in idx], pooling)

        with self._blas_one_thread():
            if len(parts) == 1:
                results = [run(parts[0])]
            else:
                results = list(self._executor().map(run, parts))
        for idx, pooled in zip(parts, results):
            out[idx] = pooled
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if bad.size:  # finite weights whose products overflow float32
            raise InferenceError(
                f"the model gave NaN or infinite values for {bad.size} of {n} sequences "
                f"(the first: sequence {bad[0]}); its weights overflow float32")
        if normalized:
            normalize(out, out=out)
        return out

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="lattice-bert")
            return self._pool

    def close(self) -> None:
        """Stop the worker threads (they are also stopped at interpreter exit)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None


def _balanced_chunks(sorted_lengths: Sequence[int], parts: int) -> list[tuple[int, int]]:
    """Split length-sorted sequences into at most `parts` contiguous runs of similar cost
    (one forward pass each; the threads take them in turn).

    Cost grows with the tokens (dense layers) plus their square (attention); contiguous runs keep
    equal lengths together, which the attention batches.
    """
    n = len(sorted_lengths)
    parts = max(1, min(parts, n))
    costs = np.cumsum([length * (64 + length) for length in sorted_lengths], dtype=np.float64)
    total = float(costs[-1])
    bounds = [0]
    for p in range(1, parts):
        cut = int(np.searchsorted(costs, total * p / parts)) + 1
        bounds.append(min(max(cut, bounds[-1] + 1), n - (parts - p)))
    bounds.append(n)
    return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i] < bounds[i + 1]]


class _OneBlasThread:
    """Holds BLAS to one thread while any encode runs, and restores it after the last one.

    The BLAS thread count is process-wide, so overlapping encodes share one hold: the first
    sets it, the last restores what was there (a plain nested `threadpool_limits` per call
    would restore out of order and could leave BLAS at one thread for good).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._hold: Any = None
        try:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
        except ImportError:  # BLAS keeps its threads: correct, but they compete with ours
            self._controller: Any = None
        else:
            self._controller = ThreadpoolController()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self._controller is None:
            yield
            return
        with self._lock:
            if self._users == 0:
                self._hold = self._controller.limit(limits=1, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._hold.restore_original_limits()
                    self._hold = None


_ONE_BLAS_THREAD: _OneBlasThread | None = None
_ONE_BLAS_THREAD_LOCK = threading.Lock()


def blas_limiter() -> Callable[[], AbstractContextManager[None]]:
    """The process's shared "BLAS on one thread" context (see `_OneBlasThread`)."""
    global _ONE_BLAS_THREAD
    with _ONE_BLAS_THREAD_LOCK:
        if _ONE_BLAS_THREAD is None:
            _ONE_BLAS_THREAD = _OneBlasThread()
        return _ONE_BLAS_THREAD
