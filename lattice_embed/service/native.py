"""`NativeEmbeddingService`: BERT-family models in-process, without torch or onnxruntime.

The original's default backend ("native-bert", §6.3 of the spec): one configured model, loaded
lazily on first use, once per instance; a failed load raises again for 30 s, then is retried.
Tokenization is the model's own `tokenizer.json`; the forward pass is `_bert.BertEncoder`
(numpy BLAS plus the project's SIMD kernels). Model files are found by
`model_files.resolve_model_dir` (an explicit folder, the lattice cache, an installed package,
then the hub at a pinned commit).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..model import EmbeddingModel, ModelConfig
from ._bert import (
    BertEncoder,
    check_bert_model,
    check_threads,
    check_vocabulary,
    read_folder,
)
from .base import BaseEmbeddingService, FloatArray, LoadOnce
from .errors import ModelInitializationError
from .model_files import HubPin, ResolvedModel, resolve_model_dir

__all__ = ["FolderModel", "NativeEmbeddingService"]


class FolderModel:
    """A BERT-family model folder, loaded: its tokenizer and forward pass, with the folder's own
    pooling, normalization and token limit (`read_folder`).

    `model`, when given, is the registry model the folder holds: its width is checked and its
    token limit, pooling and normalization apply where the folder is silent. Without it the
    folder stands alone, as sentence-transformers would load it. `encode` takes texts as they
    are (any role prompt already prepended) and does not check the service limits.
    """

    def __init__(
        self, folder: Path, model: EmbeddingModel | None = None, *, threads: int | None = None
    ) -> None:
        from ._tokenize import Tokenizer

        self.folder = folder
        self.pipeline = read_folder(folder, model)
        self.encoder = BertEncoder(folder, threads=threads)
        self.tokenizer = Tokenizer(folder / "tokenizer.json", self.pipeline.max_tokens)
        check_vocabulary(folder, self.tokenizer.vocab_size)

    @property
    def dimensions(self) -> int:
        return self.pipeline.config.hidden_size

    def encode(self, texts: list[str]) -> FloatArray:
        """Embed `texts`: float32 `(n, d)`, pooled and normalized as the folder says."""
        pipeline = self.pipeline
        ids = self.tokenizer.encode(texts)
        return self.encoder.encode(ids, pipeline.pooling, pipeline.normalize)

    def count(self, texts: list[str]) -> list[tuple[int, int]]:
        """`(before_truncation, embedded)` tokens per text."""
        return self.tokenizer.count(texts)

    def close(self) -> None:
        self.encoder.close()


class _Loaded:
    """What one successful load produced."""

    def __init__(self, resolved: ResolvedModel, model: EmbeddingModel, threads: int | None):
        self.resolved = resolved
        self.folder = FolderModel(resolved.path, model, threads=threads)


class NativeEmbeddingService(BaseEmbeddingService):
    """Embeds with a BERT-family model (BGE, E5, MiniLM) from its safetensors, in-process.

    model: an `EmbeddingModel`, its name or alias ("bge-small"), or a `ModelConfig` (default
    `EmbeddingModel.default()`, all-MiniLM-L6-v2). Qwen3 and text-embedding-3-small raise
    UnsupportedModelError here.
    model_dir: a folder with config.json, tokenizer.json and model.safetensors, used instead
    of the search (see `model_files`). hub: another repository/commit/checksums to download.
    threads: encoder threads (default `LATTICE_EMBED_NUM_THREADS`, else the cores).

    Loading happens on first use or `ensure_loaded()`, once: concurrent first calls wait for
    one load. A load that failed raises that error again (a fresh copy of it) for 30 seconds,
    then the next call tries again (see `LoadOnce`).
    """

    name = "native-bert"

    def __init__(
        self,
        model: EmbeddingModel | ModelConfig | str | None = None,
        *,
        model_dir: str | os.PathLike[str] | None = None,
        hub: HubPin | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(model)
        check_bert_model(self.config.model, "the native encoder")
        self._threads = check_threads(threads)
        self._model_dir = model_dir
        self._hub = hub
        self._loaded = LoadOnce(self._build)

    def ensure_loaded(self) -> Path:
        """Load the model now (finding or downloading it); returns the folder it came from."""
        return self._loaded().resolved.path

    @property
    def source(self) -> str:
        """Where the model was found: explicit, cache, package or hub (loads it)."""
        return self._loaded().resolved.source

    def _build(self) -> _Loaded:
        model = self.config.model
        try:
            resolved = resolve_model_dir(model, model_dir=self._model_dir, hub=self._hub)
            return _Loaded(resolved, model, self._threads)
        except (FileNotFoundError, ModelInitializationError):  # ModelNotFoundError included
            raise
        except ImportError as error:  # tokenizers (or huggingface_hub) not installed
            raise ModelInitializationError(
                f"{model}: {error}; the native encoder needs pip install 'lattice-embed[embed]'"
            ) from error
        except Exception as error:  # a bad config, tokenizer or weight file
            raise ModelInitializationError(f"{model}: {error}") from error

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        # Always the native width: no BERT-family model takes an MRL output dimension
        # (ModelConfig refuses one), so there is nothing to truncate.
        return self._loaded().folder.encode(texts)

    def _token_counts(self, texts: list[str], config: ModelConfig) -> list[tuple[int, int]]:
        return self._loaded().folder.count(texts)

    def close(self) -> None:
        """Stop the encoder's worker threads; the service reloads nothing and stays usable."""
        if self._loaded.value is not None:
            self._loaded.value.folder.close()
