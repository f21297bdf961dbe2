"""A small real embedding backend for testing the service layer without a model.

Each text's vector is a unit vector drawn from a generator seeded by the text's SHA-256, so
equal texts give equal vectors and different texts (including an instruction-prefixed one)
give different ones. Tokens are whitespace words plus 2 special tokens, cut at `max_tokens`.
It records every batch `_encode` receives, so tests can see what reached the backend.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import BaseEmbeddingService
from lattice_embed.service.base import FloatArray


def hashed_vector(text: str, dims: int) -> FloatArray:
    """The vector `HashingService` gives `text` (already prepared)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    seed = int.from_bytes(digest[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    result: FloatArray = vector / np.linalg.norm(vector)
    return result


class HashingService(BaseEmbeddingService):
    name = "hashing"

    def __init__(
        self, model: EmbeddingModel | ModelConfig | str | None = None, *, max_tokens: int = 8
    ) -> None:
        super().__init__(model)
        self.max_tokens = max_tokens
        self.batches: list[list[str]] = []
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        with self._lock:
            self.batches.append(list(texts))
        return np.stack([hashed_vector(text, config.dimensions) for text in texts])

    def _token_counts(self, texts: list[str], config: ModelConfig) -> list[tuple[int, int]]:
        counts = [len(text.split()) + 2 for text in texts]
        return [(count, min(count, self.max_tokens)) for count in counts]

    @property
    def encoded_texts(self) -> list[str]:
        """Every text `_encode` has seen, in order."""
        with self._lock:
            return [text for batch in self.batches for text in batch]


class MiscountingService(HashingService):
    """A broken backend that drops the last vector of every batch."""

    name = "miscounting"

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        return super()._encode(texts, config)[:-1]
