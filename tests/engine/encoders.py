"""Encoders for engine tests that need no model: a text's vector is drawn from a generator seeded
by the SHA-256 of the model's salt and the text, so it is reproducible, differs between models,
and needs microseconds. A real `Encoder` (the engine is what these tests test)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import numpy as np

from lattice_embed.engine import SpaceSpec
from lattice_embed.service.base import FloatArray


def hashed(text: str, dims: int, salt: str) -> FloatArray:
    digest = hashlib.sha256(f"{salt}\0{text}".encode("utf-8", "surrogatepass")).digest()
    vector = np.random.default_rng(int.from_bytes(digest[:8], "little")).standard_normal(dims)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class HashEncoder:
    """A deterministic model named `name` with `dims` dimensions; `salt` is its "weights"."""

    def __init__(self, name: str, dims: int, salt: str | None = None,
                 fail: Callable[[str], Exception | None] | None = None) -> None:
        self.salt = salt if salt is not None else name
        fingerprint = hashlib.sha256(f"{name}/{dims}/{self.salt}".encode()).hexdigest()
        self._spec = SpaceSpec(name, dims, fingerprint, name)
        self.fail = fail
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()

    @property
    def spec(self) -> SpaceSpec:
        return self._spec

    def vector(self, text: str) -> FloatArray:
        return hashed(text, self._spec.dimensions, self.salt)

    def embed_documents(self, texts: list[str]) -> FloatArray:
        with self._lock:
            self.calls.append(list(texts))
        if self.fail is not None:
            for text in texts:
                error = self.fail(text)
                if error is not None:
                    raise error
        return np.stack([self.vector(t) for t in texts]) if texts else np.empty(
            (0, self._spec.dimensions), np.float32)

    def embed_queries(self, texts: list[str]) -> FloatArray:
        return self.embed_documents(texts)

    def close(self) -> None:
        pass


def factory(*encoders: HashEncoder) -> Callable[[str], HashEncoder]:
    """An encoder factory that knows these models by name."""
    known = {encoder.spec.name: encoder for encoder in encoders}

    def make(reference: str) -> HashEncoder:
        if reference not in known:
            raise ValueError(f"unknown model {reference!r}")
        return known[reference]

    return make
