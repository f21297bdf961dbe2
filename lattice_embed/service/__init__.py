"""Embedding generation: the `EmbeddingService` API, roles, limits, errors, a cache, encoders.

Importing this package is cheap: it loads numpy and the registry only. The encoders are
imported on first use (`lattice_embed.service.NativeEmbeddingService` loads tokenizers and
safetensors; `OnnxEmbeddingService` onnx and onnxruntime; `SentenceTransformersService`
torch), so a caller pays only for the backend it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

from .base import (
    MAX_BATCH_SIZE,
    MAX_TEXT_BYTES,
    BaseEmbeddingService,
    EmbeddingRole,
    EmbeddingService,
    EmbedReport,
    TokenCount,
)

from .cache import CacheStats, CachedEmbeddingService, EmbeddingCache, ShardStats
from .errors import (
    EmbedError,
    HubUnreachableError,
    InferenceError,
    InvalidInputError,
    ModelInitializationError,
    ModelNotFoundError,
    TextTooLongError,
    UnsupportedModelError,
    UnsupportedOperationError,
)

if TYPE_CHECKING:
    from .native import NativeEmbeddingService
    from .onnx_encoder import OnnxEmbeddingService
    from .torch_encoder import SentenceTransformersService

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_TEXT_BYTES",
    "BaseEmbeddingService",
    "CacheStats",
    "CachedEmbeddingService",
    "EmbedError",
    "EmbedReport",
    "EmbeddingCache",
    "EmbeddingRole",
    "EmbeddingService",
    "HubUnreachableError",
    "InferenceError",
    "InvalidInputError",
    "ModelInitializationError",
    "ModelNotFoundError",
    "NativeEmbeddingService",
    "OnnxEmbeddingService",
    "SentenceTransformersService",
    "ShardStats",
    "TextTooLongError",
    "TokenCount",
    "UnsupportedModelError",
    "UnsupportedOperationError",
]

_LAZY = {
    "NativeEmbeddingService": ".native",
    "OnnxEmbeddingService": ".onnx_encoder",
    "SentenceTransformersService": ".torch_encoder",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
