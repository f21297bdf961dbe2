"""The embedding-service API: the `EmbeddingService` protocol, roles, limits and a base class.

A port of the original's `EmbeddingService` trait (§6.1-6.2 of the spec). Differences, each
for a Python caller:

* `embed` returns one float32 array of shape `(n, d)` instead of a list of vectors, and
  `model` is optional (None means the model the service is configured with).
* `name` is a read-only property (`service.name`), not a method as in Rust.
* The async twins (`aembed`, ...) run the blocking work in a thread (`asyncio.to_thread`),
  so an event loop keeps serving while a model encodes.

`BaseEmbeddingService` does everything but the model: it validates the caller's texts
(before any instruction is prepended, as the original does since 0.7.0), prepends the
registry's query or document instruction per role, checks what the model returned, and
derives every other method from `embed_with_role`. A backend implements `_encode` (and
`_token_counts` if it can count tokens).
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..model import DEFAULT_MODEL, EmbeddingModel, ModelConfig
from .errors import (
    InferenceError,
    InvalidInputError,
    ModelInitializationError,
    TextTooLongError,
    UnsupportedOperationError,
)

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_TEXT_BYTES",
    "BaseEmbeddingService",
    "EmbedReport",
    "EmbeddingRole",
    "EmbeddingService",
    "FloatArray",
    "LoadOnce",
    "TokenCount",
    "check_vectors",
    "prepare_texts",
    "validate_texts",
]

FloatArray = npt.NDArray[np.float32]
"""What every embed method returns: float32, `(n, d)` for a batch or `(d,)` for one text."""

_T = TypeVar("_T")

MAX_BATCH_SIZE: Final = 1000
"""Most texts one call accepts (the original's `DEFAULT_MAX_BATCH_SIZE`, "prevent OOM")."""

MAX_TEXT_BYTES: Final = 32768
"""Longest caller text in UTF-8 bytes, checked before any instruction is prepended."""


class EmbeddingRole(Enum):
    """What a text is for, which decides the instruction prepended to it.

    Asymmetric models want queries and documents marked (BGE: a query instruction; E5:
    `"query: "` / `"passage: "`); symmetric ones (MiniLM) get nothing either way. The value
    is the tag that keeps each role's vectors apart in the cache.
    """

    QUERY = "role:query"
    PASSAGE = "role:passage"
    GENERIC = "role:generic"

    @property
    def cache_tag(self) -> str:
        """`"role:query"`, `"role:passage"` or `"role:generic"`, as in the original's keys."""
        return self.value

    def instruction(self, model: EmbeddingModel) -> str:
        """The prefix this role puts before a text for `model`; empty when there is none."""
        if self is EmbeddingRole.QUERY:
            return model.query_instruction or ""
        if self is EmbeddingRole.PASSAGE:
            return model.document_instruction or ""
        return ""


@dataclass(frozen=True)
class TokenCount:
    """Tokens in one prepared text (instruction and special tokens included)."""

    before_truncation: int
    """What the tokenizer produced before cutting at the model's limit."""
    embedded: int
    """What the model actually saw."""

    @property
    def truncated(self) -> bool:
        """True when the model saw fewer tokens than the text has."""
        return self.before_truncation > self.embedded


@dataclass(frozen=True)
class EmbedReport:
    """`embed_with_report`'s result: the vectors and, for each text, its token counts."""

    embeddings: FloatArray
    token_counts: list[TokenCount]


@runtime_checkable
class EmbeddingService(Protocol):
    """What every embedding backend offers (the original's `EmbeddingService` trait).

    Batch methods return a float32 array `(n, d)`, row i for text i; single-text methods
    return `(d,)`. `model=None` means the model the service is configured with. Errors
    are `lattice_embed.service.errors.EmbedError` subclasses.
    """

    @property
    def name(self) -> str:
        """A short backend name, e.g. `"native-bert"` or `"cached-embedding"`."""
        ...

    def embed(self, texts: Sequence[str], model: EmbeddingModel | None = None) -> FloatArray:
        """Embed texts as they are (GENERIC role: no instruction)."""
        ...

    def embed_one(self, text: str, model: EmbeddingModel | None = None) -> FloatArray:
        """Embed one text; shape `(d,)`."""
        ...

    def embed_query(
        self, texts: Sequence[str], model: EmbeddingModel | None = None
    ) -> FloatArray:
        """Embed search queries (the model's query instruction prepended)."""
        ...

    def embed_passage(
        self, texts: Sequence[str], model: EmbeddingModel | None = None
    ) -> FloatArray:
        """Embed documents (the model's document instruction prepended)."""
        ...

    def embed_with_role(
        self, texts: Sequence[str], role: EmbeddingRole, model: EmbeddingModel | None = None
    ) -> FloatArray:
        """Embed texts for `role`; the limits apply to the caller's text, not the instruction."""
        ...

    def supports_model(self, model: EmbeddingModel) -> bool:
        """Whether `embed(..., model=model)` can work on this service."""
        ...

    def model_config(self, model: EmbeddingModel | None = None) -> ModelConfig:
        """The configuration (model and active dimension) this service embeds `model` with."""
        ...

    async def aembed(
        self, texts: Sequence[str], model: EmbeddingModel | None = None
    ) -> FloatArray:
        """`embed` in a worker thread."""
        ...

    async def aembed_one(self, text: str, model: EmbeddingModel | None = None) -> FloatArray:
        """`embed_one` in a worker thread."""
        ...

    async def aembed_query(
        self, texts: Sequence[str], model: EmbeddingModel | None = None
    ) -> FloatArray:
        """`embed_query` in a worker thread."""
        ...

    async def aembed_passage(
        self, texts: Sequence[str], model: EmbeddingModel | None = None
    ) -> FloatArray:
        """`embed_passage` in a worker thread."""
        ...

    async def aembed_with_role(
        self, texts: Sequence[str], role: EmbeddingRole, model: EmbeddingModel | None = None
    ) -> FloatArray:
        """`embed_with_role` in a worker thread."""
        ...


# -- helpers shared by every service ---------------------------------------------------------


def validate_texts(texts: Sequence[str]) -> list[str]:
    """Check the caller's batch against the original's limits and return it as a list.

    Raises TypeError for a bare string (a common slip: it would embed each character) or a
    non-string item, InvalidInputError for an empty or oversized batch, TextTooLongError for
    a text over `MAX_TEXT_BYTES` UTF-8 bytes.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"texts must be a list of strings, got a single {type(texts).__name__}; "
            "use embed_one(text) or embed([text])"
        )
    if not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    batch = list(texts)
    if not batch:
        raise InvalidInputError("no texts provided")
    if len(batch) > MAX_BATCH_SIZE:
        raise InvalidInputError(f"batch size {len(batch)} exceeds maximum {MAX_BATCH_SIZE}")
    for index, text in enumerate(batch):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] must be a str, got {type(text).__name__}")
        if not text.isascii():
            _check_encodable(text, index)
        # Most texts are far below the limit in characters; only encode the borderline ones.
        if len(text) * 4 > MAX_TEXT_BYTES:
            length = len(text.encode("utf-8"))
            if length > MAX_TEXT_BYTES:
                raise TextTooLongError(length, MAX_TEXT_BYTES, index)
    return batch


def _check_encodable(text: str, index: int) -> None:
    """A lone surrogate (half of a UTF-16 pair, e.g. from a bad decode with 'surrogateescape')
    is not Unicode text: no tokenizer can take it (tokenizers raised a bare TypeError)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = text[error.start]
        raise InvalidInputError(
            f"texts[{index}] holds a lone surrogate U+{ord(char):04X} at character {error.start}; "
            "it is not valid Unicode text (decode the input with errors='replace' first)"
        ) from None


def _check_one(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}; use embed() for a list")
    return text


def prepare_texts(texts: list[str], role: EmbeddingRole, model: EmbeddingModel) -> list[str]:
    """Prepend `role`'s instruction for `model` to each text (a no-op when there is none)."""
    instruction = role.instruction(model)
    return [instruction + text for text in texts] if instruction else texts


def check_vectors(vectors: object, count: int) -> FloatArray:
    """Return the model's output as a C-contiguous float32 `(count, d)` array.

    A backend that returns another number of rows would shift every later text onto the
    wrong vector; like the original's FP-035 check, that is an InferenceError.
    """
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise InferenceError(f"embedding service returned an array of shape {array.shape}")
    if array.shape[0] != count:
        raise InferenceError(
            f"embedding service returned {array.shape[0]} vectors for {count} inputs"
        )
    return array


class LoadOnce(Generic[_T]):
    """A backend's model, built on first use and once: concurrent first calls wait for one build.

    A build that failed is not retried for `retry_after` seconds (a missing or corrupt model is
    not hammered on every call): calls in between raise the same error again, as a fresh copy
    chained to the original (`__cause__`), so its traceback never grows. The next call after that
    retries, so a transient failure (a network blip during a download) does not disable the
    service for the life of the process. (The original keeps the first failure for good: a
    `OnceLock<Result<LoadedModel, String>>`.)
    """

    def __init__(
        self,
        build: Callable[[], _T],
        *,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: _T | None = None
        self._failure: Exception | None = None
        self._failed_at = 0.0
        self._retry_after = retry_after
        self._clock = clock

    @property
    def value(self) -> _T | None:
        """The built value, or None before a successful build (never builds)."""
        return self._value

    def __call__(self) -> _T:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is not None:
                return self._value
            failure = self._failure
            if failure is not None and self._clock() - self._failed_at < self._retry_after:
                raise _fresh_copy(failure) from failure
            try:
                self._value = self._build()
            except Exception as error:
                self._failure, self._failed_at = error, self._clock()
                raise
            self._failure = None
            return self._value


def _fresh_copy(error: Exception) -> Exception:
    """A new exception of the same type and message (without the original's traceback), to raise
    in its place: raising one object again and again grows its traceback with every raise."""
    try:
        twin = copy.copy(error)
    except Exception:  # an exception type that cannot be rebuilt from its args
        twin = None
    if type(twin) is not type(error) or str(twin) != str(error):
        twin = ModelInitializationError(f"{type(error).__name__}: {error}")
    assert twin is not None
    return twin


class _ServiceMethods(ABC):
    """The methods every service derives from `embed_with_role`; shared by the base class
    and by wrappers (the cache) that implement `embed_with_role` themselves."""

    @property
    @abstractmethod
    def name(self) -> str:
        """A short backend name; subclasses may set it as a class attribute."""

    @abstractmethod
    def embed_with_role(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str,
        model: EmbeddingModel | str | None = None,
    ) -> FloatArray:
        """Validate, prepend the role's instruction, embed; see `EmbeddingService`."""

    @abstractmethod
    def supports_model(self, model: EmbeddingModel | str) -> bool:
        """Whether this service can embed with `model`."""

    @abstractmethod
    def model_config(self, model: EmbeddingModel | str | None = None) -> ModelConfig:
        """The configuration `model` (None: the configured one) is embedded with."""

    def embed(self, texts: Sequence[str], model: EmbeddingModel | str | None = None) -> FloatArray:
        """Embed texts as they are (GENERIC role)."""
        return self.embed_with_role(texts, EmbeddingRole.GENERIC, model)

    def embed_one(self, text: str, model: EmbeddingModel | str | None = None) -> FloatArray:
        """Embed one text; shape `(d,)`."""
        vectors = self.embed_with_role([_check_one(text)], EmbeddingRole.GENERIC, model)
        vector: FloatArray = vectors[0]
        return vector

    def embed_query(
        self, texts: Sequence[str], model: EmbeddingModel | str | None = None
    ) -> FloatArray:
        """Embed search queries (the model's query instruction prepended)."""
        return self.embed_with_role(texts, EmbeddingRole.QUERY, model)

    def embed_passage(
        self, texts: Sequence[str], model: EmbeddingModel | str | None = None
    ) -> FloatArray:
        """Embed documents (the model's document instruction prepended)."""
        return self.embed_with_role(texts, EmbeddingRole.PASSAGE, model)

    async def aembed(
        self, texts: Sequence[str], model: EmbeddingModel | str | None = None
    ) -> FloatArray:
        """`embed` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.embed, texts, model)

    async def aembed_one(self, text: str, model: EmbeddingModel | str | None = None) -> FloatArray:
        """`embed_one` in a worker thread."""
        return await asyncio.to_thread(self.embed_one, text, model)

    async def aembed_query(
        self, texts: Sequence[str], model: EmbeddingModel | str | None = None
    ) -> FloatArray:
        """`embed_query` in a worker thread."""
        return await asyncio.to_thread(self.embed_query, texts, model)

    async def aembed_passage(
        self, texts: Sequence[str], model: EmbeddingModel | str | None = None
    ) -> FloatArray:
        """`embed_passage` in a worker thread."""
        return await asyncio.to_thread(self.embed_passage, texts, model)

    async def aembed_with_role(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str,
        model: EmbeddingModel | str | None = None,
    ) -> FloatArray:
        """`embed_with_role` in a worker thread."""
        return await asyncio.to_thread(self.embed_with_role, texts, role, model)

    def count_tokens(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str = EmbeddingRole.GENERIC,
        model: EmbeddingModel | str | None = None,
    ) -> list[TokenCount]:
        """Tokens per text, before truncation and embedded; UnsupportedOperationError here."""
        raise UnsupportedOperationError(f"{self.name} cannot count tokens")

    def embed_with_report(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str = EmbeddingRole.GENERIC,
        model: EmbeddingModel | str | None = None,
    ) -> EmbedReport:
        """The vectors of `embed_with_role` and the token counts of `count_tokens`."""
        counts = self.count_tokens(texts, role, model)
        return EmbedReport(self.embed_with_role(texts, role, model), counts)


class BaseEmbeddingService(_ServiceMethods):
    """An `EmbeddingService` for one configured model; a backend only runs the model.

    Subclasses set `name`, call `super().__init__(model)` and implement `_encode` (prepared
    texts to L2-normalized float32 vectors). They override `_token_counts` if they can count
    tokens, and `_resolve` (plus `supports_model`) if they serve more than one model.
    """

    def __init__(self, model: EmbeddingModel | ModelConfig | str | None = None) -> None:
        if model is None:
            config = ModelConfig(DEFAULT_MODEL)
        elif isinstance(model, ModelConfig):
            config = model
        elif isinstance(model, (EmbeddingModel, str)):
            config = ModelConfig(as_model(model))
        else:
            raise TypeError(
                "model must be an EmbeddingModel, a model name or a ModelConfig, "
                f"got {type(model).__name__}"
            )
        self._config = config

    @property
    def config(self) -> ModelConfig:
        """The model (and MRL dimension) this service was created for."""
        return self._config

    # -- what a backend implements ---------------------------------------------------------

    @abstractmethod
    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        """Embed prepared texts (instruction already prepended): float32 `(n, d)`, L2-normalized."""

    def _token_counts(self, texts: list[str], config: ModelConfig) -> list[tuple[int, int]]:
        """`(before_truncation, embedded)` per prepared text, special tokens included."""
        raise UnsupportedOperationError(f"{self.name} cannot count tokens")

    def _resolve(self, model: EmbeddingModel | str | None) -> ModelConfig:
        """The configuration to embed `model` with; this service serves only its own model."""
        if model is None or model is self._config.model:
            return self._config
        model = as_model(model)
        if model is self._config.model:
            return self._config
        raise InvalidInputError(
            f"requested model {model} but this service is loaded with {self._config.model}"
        )

    # -- the API ---------------------------------------------------------------------------

    def supports_model(self, model: EmbeddingModel | str) -> bool:
        """True for the configured model only (override with `_resolve` for more)."""
        return as_model(model) is self._config.model

    def model_config(self, model: EmbeddingModel | str | None = None) -> ModelConfig:
        """The configured `ModelConfig`; InvalidInputError for a model this service lacks."""
        return self._resolve(model)

    def embed_with_role(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str,
        model: EmbeddingModel | str | None = None,
    ) -> FloatArray:
        """Validate the caller's texts, prepend `role`'s instruction, encode."""
        batch = validate_texts(texts)
        config = self._resolve(model)
        prepared = prepare_texts(batch, _check_role(role), config.model)
        return check_vectors(self._encode(prepared, config), len(batch))

    def count_tokens(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str = EmbeddingRole.GENERIC,
        model: EmbeddingModel | str | None = None,
    ) -> list[TokenCount]:
        """Tokens per text with `role`'s instruction, before truncation and as embedded."""
        batch = validate_texts(texts)
        config = self._resolve(model)
        prepared = prepare_texts(batch, _check_role(role), config.model)
        return self._counts(prepared, config)

    def embed_with_report(
        self,
        texts: Sequence[str],
        role: EmbeddingRole | str = EmbeddingRole.GENERIC,
        model: EmbeddingModel | str | None = None,
    ) -> EmbedReport:
        """`embed_with_role`'s vectors (the same `_encode` call) with each text's token counts."""
        batch = validate_texts(texts)
        config = self._resolve(model)
        prepared = prepare_texts(batch, _check_role(role), config.model)
        counts = self._counts(prepared, config)
        vectors = check_vectors(self._encode(prepared, config), len(batch))
        return EmbedReport(vectors, counts)

    def _counts(self, prepared: list[str], config: ModelConfig) -> list[TokenCount]:
        pairs = self._token_counts(prepared, config)
        if len(pairs) != len(prepared):
            raise InferenceError(
                f"tokenizer returned {len(pairs)} token counts for {len(prepared)} inputs"
            )
        return [TokenCount(before, embedded) for before, embedded in pairs]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._config.model}, dims={self._config.dimensions})"


def as_model(model: EmbeddingModel | str) -> EmbeddingModel:
    """An `EmbeddingModel`, or one named by any name or alias `EmbeddingModel.parse` reads."""
    if isinstance(model, EmbeddingModel):
        return model
    if isinstance(model, str):
        return EmbeddingModel.parse(model)
    raise TypeError(f"model must be an EmbeddingModel or a model name, got {type(model).__name__}")


def as_role(role: EmbeddingRole | str) -> EmbeddingRole:
    """An `EmbeddingRole`, or one named "query", "passage" or "generic" (any case; the cache
    tags "role:query", ... too), as the CLI's --role takes them."""
    if isinstance(role, EmbeddingRole):
        return role
    if isinstance(role, str):
        name = role.strip().lower().removeprefix("role:")
        for member in EmbeddingRole:
            if member.name.lower() == name:
                return member
        names = ", ".join(member.name.lower() for member in EmbeddingRole)
        raise ValueError(f"unknown role {role!r}; valid roles: {names}")
    raise TypeError(f"role must be an EmbeddingRole or its name, got {type(role).__name__}")


_check_role = as_role
