"""`OnnxEmbeddingService`: BERT-family models on onnxruntime, the graph built without torch.

The graph is written node by node with the `onnx` helper API from the model folder's
`config.json` and `model.safetensors` (BERT: BGE and MiniLM; XLM-RoBERTa: multilingual E5),
so no exported `.onnx` file and no torch are needed. It computes the last hidden state;
pooling and normalization (the folder's own, else the registry's: `_bert.read_folder`) happen in
numpy afterwards.

The built graph is cached as a file, keyed by a SHA-256 over the builder version,
`config.json` and the weights, under `$LATTICE_EMBED_ONNX_CACHE`, else
`$XDG_CACHE_HOME/lattice_embed/onnx` (`~/.cache/...`); where that cannot be written, the
graph is built in memory each time. onnxruntime runs with `intra_op_num_threads` from the
`threads` argument, else `LATTICE_EMBED_NUM_THREADS`, else the cores, and with its CPU
memory arena off, so memory does not stay at the largest batch seen.

Needs the `onnx` extra: `pip install "lattice-embed[onnx]"`.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ..model import EmbeddingModel, ModelConfig, Pooling
from ..simd import normalize
from ._bert import check_bert_model, check_threads, default_threads
from .base import BaseEmbeddingService, FloatArray, LoadOnce
from .errors import InferenceError, ModelInitializationError
from .model_files import resolve_model_dir

if TYPE_CHECKING:
    import onnx

__all__ = ["OnnxEmbeddingService", "build_bert_onnx", "onnx_cache_dir"]

BUILDER_VERSION: Final = "1"
"""Part of the cache key: bump it when the graph `build_bert_onnx` writes changes."""

_OPSET: Final = 17  # LayerNormalization
_SUB_BATCH: Final = 64
"""Texts per onnxruntime call; texts are sorted by length first, so padding stays small."""

Array = np.ndarray[Any, np.dtype[Any]]


def onnx_cache_dir() -> Path:
    """Where built graphs are kept: `$LATTICE_EMBED_ONNX_CACHE`, else the user cache dir."""
    configured = os.environ.get("LATTICE_EMBED_ONNX_CACHE", "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lattice_embed" / "onnx"


class _GraphBuilder:
    """Collects nodes and initializers; each helper returns its output's name."""

    def __init__(self, weights: dict[str, Array]) -> None:
        from onnx import helper, numpy_helper

        self.helper = helper
        self.numpy_helper = numpy_helper
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, name: str, value: Array) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, key: str, *, transpose: bool = False) -> str:
        value = self.weights[key]
        return self.const(key, np.ascontiguousarray(value.T) if transpose else value)

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        self._count += 1
        output = f"{op_type.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [output], **attrs))
        return output

    def linear(self, x: str, prefix: str) -> str:
        product = self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True))
        return self.op("Add", product, self.weight(f"{prefix}.bias"))

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        gamma = f"{prefix}.weight" if f"{prefix}.weight" in self.weights else f"{prefix}.gamma"
        beta = f"{prefix}.bias" if f"{prefix}.bias" in self.weights else f"{prefix}.beta"
        return self.op(
            "LayerNormalization", x, self.weight(gamma), self.weight(beta), axis=-1, epsilon=eps
        )


def build_bert_onnx(folder: str | os.PathLike[str]) -> onnx.ModelProto:
    """An ONNX graph of the BERT-family encoder in `folder` (config.json, model.safetensors).

    Inputs `input_ids` and `attention_mask` (int64, `(batch, seq)`, right-padded); output
    `last_hidden_state` (float32, `(batch, seq, hidden)`). Token type ids are all 0 and are
    folded into the embeddings. XLM-RoBERTa position ids start after the padding index and
    count only real tokens, as transformers computes them.
    """
    import onnx
    from onnx import TensorProto, helper

    from ._bert import TOKEN_TYPES, BertConfig, check_tensors, load_tensors

    path = Path(folder)
    config = BertConfig.from_file(path / "config.json")
    tensors = load_tensors(path / "model.safetensors")
    check_tensors(config, tensors)  # every weight is read here anyway: the word table too
    weights = {name: np.ascontiguousarray(tensor, dtype=np.float32)
               for name, tensor in tensors.items()}
    if TOKEN_TYPES not in weights:  # a model without token types adds nothing
        weights[TOKEN_TYPES] = np.zeros((1, config.hidden_size), np.float32)
    hidden, heads = config.hidden_size, config.num_heads
    head_dim = hidden // heads
    eps = config.layer_norm_eps
    is_roberta = config.is_roberta
    pad = config.pad_token_id

    g = _GraphBuilder(weights)
    i64 = np.int64
    # Embeddings: word + position + token type 0, then layer norm.
    words = g.op("Gather", g.weight("embeddings.word_embeddings.weight"), "input_ids", axis=0)
    positions_table = g.weight("embeddings.position_embeddings.weight")
    if is_roberta:
        counted = g.op("CumSum", "attention_mask", g.const("one_axis", np.array(1, i64)))
        real = g.op("Mul", counted, "attention_mask")
        position_ids = g.op("Add", real, g.const("padding_idx", np.array(pad, i64)))
    else:
        seq_len = g.op(
            "Gather", g.op("Shape", "input_ids"), g.const("seq_axis", np.array(1, i64)), axis=0
        )
        position_ids = g.op(
            "Range", g.const("zero", np.array(0, i64)), seq_len, g.const("step", np.array(1, i64))
        )
    positions = g.op("Gather", positions_table, position_ids, axis=0)
    type_row = g.const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])
    embedded = g.op("Add", g.op("Add", words, positions), type_row)
    h = g.layer_norm(embedded, "embeddings.LayerNorm", eps)

    # Additive attention mask, (batch, 1, 1, seq): 0 for tokens, the float32 minimum for padding.
    mask_f = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    inverted = g.op("Sub", g.const("one_f", np.array(1.0, np.float32)), mask_f)
    minimum = np.array(np.finfo(np.float32).min, np.float32)
    additive = g.op("Mul", inverted, g.const("float_min", minimum))
    mask_4d = g.op("Unsqueeze", additive, g.const("mask_axes", np.array([1, 2], i64)))

    split_heads = g.const("split_heads", np.array([0, 0, heads, head_dim], i64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], i64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    one = g.const("one", np.array(1.0, np.float32))
    inv_sqrt2 = g.const("inv_sqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))

    for index in range(config.num_layers):
        p = f"encoder.layer.{index}"
        q = g.op("Reshape", g.linear(h, f"{p}.attention.self.query"), split_heads)
        k = g.op("Reshape", g.linear(h, f"{p}.attention.self.key"), split_heads)
        v = g.op("Reshape", g.linear(h, f"{p}.attention.self.value"), split_heads)
        q = g.op("Transpose", q, perm=[0, 2, 1, 3])
        k = g.op("Transpose", k, perm=[0, 2, 3, 1])
        v = g.op("Transpose", v, perm=[0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), mask_4d)
        probs = g.op("Softmax", scores, axis=-1)
        context = g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3])
        context = g.op("Reshape", context, merge_heads)
        attended = g.linear(context, f"{p}.attention.output.dense")
        h1 = g.layer_norm(g.op("Add", attended, h), f"{p}.attention.output.LayerNorm", eps)
        up = g.linear(h1, f"{p}.intermediate.dense")
        # erf GELU: 0.5 * x * (1 + erf(x / sqrt 2)); onnxruntime fuses the pattern.
        gelu = g.op(
            "Mul",
            g.op("Mul", up, half),
            g.op("Add", g.op("Erf", g.op("Mul", up, inv_sqrt2)), one),
        )
        down = g.linear(gelu, f"{p}.output.dense")
        h = g.layer_norm(g.op("Add", down, h1), f"{p}.output.LayerNorm", eps)

    g.nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"]))
    graph = helper.make_graph(
        g.nodes,
        "lattice_embed_bert",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden]
            )
        ],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="lattice_embed",
        producer_version=BUILDER_VERSION,
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.11
    onnx.checker.check_model(model)
    return model


def _graph_key(folder: Path) -> str:
    """SHA-256 over the builder version, config.json and the weights."""
    digest = hashlib.sha256(f"lattice_embed-bert-onnx-{BUILDER_VERSION}\0".encode())
    digest.update((folder / "config.json").read_bytes())
    with (folder / "model.safetensors").open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _cached_graph(folder: Path, cache_dir: Path | None) -> str | bytes:
    """A path to the cached graph (built and stored first if new), or the graph's bytes
    when there is no cache or it cannot be written."""
    data: bytes
    if cache_dir is None:
        data = build_bert_onnx(folder).SerializeToString()
        return data
    target = cache_dir / f"bert-{_graph_key(folder)}.onnx"
    if target.is_file():
        return str(target)
    data = build_bert_onnx(folder).SerializeToString()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, target)  # atomic: a reader never sees half a file
    except OSError:
        return data
    return str(target)


class _Session:
    """A loaded model: onnxruntime session, tokenizer and the facts to pad and pool."""

    def __init__(
        self, folder: Path, model: EmbeddingModel, threads: int, cache_dir: Path | None
    ) -> None:
        import onnxruntime as ort

        from ._bert import check_vocabulary, read_folder
        from ._tokenize import Tokenizer

        self.pipeline = read_folder(folder, model)
        self.max_tokens = self.pipeline.max_tokens
        self.pad_id = self.pipeline.config.pad_token_id
        self.tokenizer = Tokenizer(folder / "tokenizer.json", self.max_tokens)
        check_vocabulary(folder, self.tokenizer.vocab_size)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        graph = _cached_graph(folder, cache_dir)
        try:
            self.session = ort.InferenceSession(
                graph, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception:
            if not isinstance(graph, str):
                raise
            # A cached graph onnxruntime cannot read (truncated, overwritten): build it again.
            Path(graph).unlink(missing_ok=True)
            graph = _cached_graph(folder, cache_dir)
            self.session = ort.InferenceSession(
                graph, sess_options=options, providers=["CPUExecutionProvider"]
            )
        self.folder = folder

    def encode(self, token_ids: list[list[int]]) -> FloatArray:
        pooling = self.pipeline.pooling
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        hidden = self.session.get_outputs()[0].shape[-1]
        result = np.empty((len(token_ids), hidden), dtype=np.float32)
        for start in range(0, len(order), _SUB_BATCH):
            chunk = order[start : start + _SUB_BATCH]
            width = max(len(token_ids[i]) for i in chunk)
            ids = np.full((len(chunk), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                seq = token_ids[i]
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            (states,) = self.session.run(
                ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask}
            )
            if pooling is Pooling.CLS:
                pooled = states[:, 0]
            else:
                weights = mask[:, :, None].astype(np.float32)
                pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            result[chunk] = pooled
        if self.pipeline.normalize:
            normalize(result, out=result)
        return result


class OnnxEmbeddingService(BaseEmbeddingService):
    """Embeds with a BERT-family model (BGE, E5, MiniLM) on onnxruntime, in-process.

    model: an `EmbeddingModel`, its name or alias, or a `ModelConfig` (default all-MiniLM-L6-v2);
    Qwen3 and the remote model raise UnsupportedModelError. model_dir: a folder with
    config.json, tokenizer.json and model.safetensors instead of the search (`model_files`).
    threads: onnxruntime's intra-op threads (default `LATTICE_EMBED_NUM_THREADS`, else the
    cores). cache_dir: where built graphs are kept (default `onnx_cache_dir()`); False builds
    the graph in memory and writes nothing.

    The model is loaded on first use or `ensure_loaded()`, once per instance; a load that
    failed raises that error again for 30 seconds, then is retried (see `LoadOnce`).
    """

    name = "onnx-bert"

    def __init__(
        self,
        model: EmbeddingModel | ModelConfig | str | None = None,
        *,
        model_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        cache_dir: str | os.PathLike[str] | bool | None = None,
    ) -> None:
        super().__init__(model)
        check_bert_model(self.config.model, "OnnxEmbeddingService")
        self._threads = check_threads(threads)
        self._model_dir = model_dir
        if cache_dir is False:
            self._cache_dir: Path | None = None
        elif cache_dir is None or cache_dir is True:
            self._cache_dir = onnx_cache_dir()
        else:
            self._cache_dir = Path(cache_dir).expanduser()
        self._session = LoadOnce(self._build)

    @property
    def threads(self) -> int:
        """onnxruntime's intra-op thread count for this service."""
        return self._threads if self._threads is not None else default_threads()

    def ensure_loaded(self) -> Path:
        """Find the model, build (or reuse) its graph and start onnxruntime; returns the folder."""
        return self._session().folder

    def _build(self) -> _Session:
        model = self.config.model
        resolved = resolve_model_dir(model, model_dir=self._model_dir)
        try:
            return _Session(resolved.path, model, self.threads, self._cache_dir)
        except (ImportError, ModelInitializationError):
            raise
        except Exception as error:  # a bad config, tokenizer, weights or graph
            raise ModelInitializationError(f"{model}: {error}") from error

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        session = self._session()
        try:
            return session.encode(session.tokenizer.encode(texts))
        except Exception as error:
            raise InferenceError(f"onnxruntime: {error}") from error

    def _token_counts(self, texts: list[str], config: ModelConfig) -> list[tuple[int, int]]:
        return self._session().tokenizer.count(texts)
