"""Model identity and the encoders the engine embeds with.

A space is named by its model and pinned by a fingerprint, so two models never share one. A
model is a registry name (`all-minilm-l6-v2`, any alias `EmbeddingModel.parse` reads) or a model
folder (`config.json`, `model.safetensors`, `tokenizer.json`, with or without
sentence-transformers' `modules.json` and `1_Pooling`). The fingerprint is a SHA-256 over the
weights, the tokenizer, the config and the pipeline (pooling, normalization, token limit, role
prompts): another pooling of the same weights is another model.

`Encoder` is what the engine needs from a model; `NativeEncoder` runs either kind in-process on
the native encoder. Any object with the same methods works (a remote API, a test double), as long
as its `spec` says truthfully what it is.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..model import EmbeddingModel
from ..service._bert import read_folder
from ..service.base import MAX_TEXT_BYTES, FloatArray, LoadOnce
from ..service.errors import ModelInitializationError, ModelNotFoundError, TextTooLongError
from ..service.model_files import resolve_model_dir, sha256_file
from ..service.native import FolderModel
from .records import SpaceSpec

__all__ = ["Encoder", "EncoderFactory", "NativeEncoder", "resolve_reference"]

_MAX_CALL = 256
"""Texts per call into the encoder: bounds its working memory for any batch size."""


class Encoder(Protocol):
    """A model the engine can embed with: its identity and two roles."""

    @property
    def spec(self) -> SpaceSpec:
        """The space this model's vectors belong to (name, width, fingerprint)."""
        ...

    def embed_documents(self, texts: list[str]) -> FloatArray:
        """Vectors for stored documents (the model's document prompt, if any), `(n, d)`."""
        ...

    def embed_queries(self, texts: list[str]) -> FloatArray:
        """Vectors for search queries (the model's query prompt, if any), `(n, d)`."""
        ...

    def close(self) -> None:
        ...


EncoderFactory = Callable[[str], Encoder]
"""Makes the encoder of a model reference: a registry name or a folder path."""


def resolve_reference(reference: str) -> tuple[str, Path, EmbeddingModel | None]:
    """A model reference as (space name, model folder, registry model or None).

    A folder is named by its absolute path; a registry model by its display name, its files
    found as the native encoder finds them (`service.model_files`). Raises ModelNotFoundError
    for a folder that does not exist or a model found nowhere, ValueError for an unknown name.
    """
    path = Path(reference).expanduser()
    if path.is_dir():
        folder = path.resolve()
        return str(folder), folder, None
    if os.sep in reference or reference.startswith((".", "~")):
        raise ModelNotFoundError(f"model folder {reference} does not exist")
    model = EmbeddingModel.parse(reference)
    return model.display_name, resolve_model_dir(model).path, model


class NativeEncoder:
    """A registry model or a model folder on the native encoder (`service.FolderModel`).

    Identity is computed at construction (the files are hashed: about 0.1 s for MiniLM's
    90 MB); the weights load on the first text. Registry models prepend the registry's role
    instructions; folders the prompts in their `config_sentence_transformers.json`.
    """

    def __init__(self, reference: str, *, threads: int | None = None) -> None:
        name, folder, model = resolve_reference(reference)
        try:
            pipeline = read_folder(folder, model)
        except ModelInitializationError:
            raise
        except (OSError, ValueError, KeyError) as error:
            raise ModelInitializationError(f"{reference}: {error}") from error
        if model is not None:
            self._query_prompt = model.query_instruction or ""
            self._document_prompt = model.document_instruction or ""
        else:
            self._query_prompt = pipeline.settings.prompt("query")
            self._document_prompt = pipeline.settings.prompt("document", "passage")
        details = {
            "registry_model": model.display_name if model is not None else None,
            "folder": str(folder),
            "pooling": pipeline.pooling.value,
            "normalized": pipeline.normalize,
            "max_tokens": pipeline.max_tokens,
            "query_prompt": self._query_prompt,
            "document_prompt": self._document_prompt,
        }
        hashes = {name: sha256_file(folder / name)
                  for name in ("model.safetensors", "tokenizer.json", "config.json")}
        identity = json.dumps({"files": hashes, "pipeline": details | {"folder": None}},
                              sort_keys=True)
        self._spec = SpaceSpec(
            name=name,
            dimensions=pipeline.config.hidden_size,
            fingerprint=hashlib.sha256(identity.encode()).hexdigest(),
            source=name,
            details=details | {"weights_sha256": hashes["model.safetensors"]},
        )
        self._loaded = LoadOnce(lambda: FolderModel(folder, model, threads=threads))

    def __repr__(self) -> str:
        return f"NativeEncoder({self._spec.describe()})"

    @property
    def spec(self) -> SpaceSpec:
        return self._spec

    def _encode(self, texts: list[str], prompt: str) -> FloatArray:
        for index, text in enumerate(texts):
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > MAX_TEXT_BYTES:
                raise TextTooLongError(size, MAX_TEXT_BYTES, index)
        loaded = self._loaded()
        prepared = [prompt + text for text in texts] if prompt else texts
        parts = [loaded.encode(prepared[start:start + _MAX_CALL])
                 for start in range(0, len(prepared), _MAX_CALL)]
        if not parts:
            return np.empty((0, self._spec.dimensions), np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def embed_documents(self, texts: list[str]) -> FloatArray:
        return self._encode(texts, self._document_prompt)

    def embed_queries(self, texts: list[str]) -> FloatArray:
        return self._encode(texts, self._query_prompt)

    def close(self) -> None:
        if self._loaded.value is not None:
            self._loaded.value.close()
