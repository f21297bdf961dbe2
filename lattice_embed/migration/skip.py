"""Why an item was permanently left out of a migration."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from .._serde import (
    BARE_NAME,
    Json,
    check_str,
    check_usize,
    expect_object,
    expect_unit,
    read_usize,
    snake_case,
    split_variant,
    unknown_variant,
)

__all__ = [
    "ContentDeleted",
    "ContentTooLarge",
    "InvalidEncoding",
    "ManualSkip",
    "PermanentApiError",
    "SkipReason",
]


class SkipReason(ABC):
    """Why one item will never get a target embedding (the original's `SkipReason`).

    Build one with the constructors, which mirror the Rust variants:
    `SkipReason.content_too_large(size, max)`, `.invalid_encoding(encoding)`,
    `.content_deleted()`, `.permanent_api_error(message)`, `.manual_skip(reason)`.
    `str(reason)` is the original's message, e.g. `content too large: 10 bytes (max 5)`.
    Each variant is also a class (`ContentTooLarge`, ...) for `isinstance` and `match`.
    """

    RUST_NAME: ClassVar[str]

    @staticmethod
    def content_too_large(size: int, max: int) -> ContentTooLarge:
        return ContentTooLarge(size, max)

    @staticmethod
    def invalid_encoding(encoding: str) -> InvalidEncoding:
        return InvalidEncoding(encoding)

    @staticmethod
    def content_deleted() -> ContentDeleted:
        return ContentDeleted()

    @staticmethod
    def permanent_api_error(message: str) -> PermanentApiError:
        return PermanentApiError(message)

    @staticmethod
    def manual_skip(reason: str) -> ManualSkip:
        return ManualSkip(reason)

    @abstractmethod
    def to_dict(self) -> Json:
        """Serde's externally tagged form, e.g. `{"invalid_encoding": "latin1"}`."""

    @classmethod
    def from_dict(cls, data: object) -> SkipReason:
        """Read any variant (snake_case, or its PascalCase Rust name)."""
        name, payload = split_variant(data, "SkipReason")
        variant = _VARIANTS.get(name)
        if variant is None:
            raise unknown_variant("SkipReason", name, [snake_case(v.RUST_NAME) for v in _ORDER])
        # Called on a subclass, only that variant will do (the variants have no subclasses).
        if cls is not SkipReason and variant is not cls:
            raise ValueError(f"expected {cls.__name__}, got SkipReason {name!r}")
        return variant._from_payload(payload, f"SkipReason {name!r}")

    @classmethod
    @abstractmethod
    def _from_payload(cls, payload: object, where: str) -> SkipReason:
        """Build this variant from the value under its tag."""


def _read_text(payload: object, where: str) -> str:
    """The string a newtype variant such as `{"manual_skip": "..."}` carries."""
    if payload is BARE_NAME:
        raise ValueError(f"{where} needs a string value, got a bare variant name")
    return check_str(payload, where)


@dataclass(frozen=True)
class ContentTooLarge(SkipReason):
    size: int
    max: int

    RUST_NAME: ClassVar[str] = "ContentTooLarge"

    def __post_init__(self) -> None:
        check_usize(self.size, "ContentTooLarge.size")
        check_usize(self.max, "ContentTooLarge.max")

    def __str__(self) -> str:
        return f"content too large: {self.size} bytes (max {self.max})"

    def to_dict(self) -> Json:
        return {"content_too_large": {"size": self.size, "max": self.max}}

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> ContentTooLarge:
        obj = expect_object(payload, where)
        return cls(read_usize(obj, "size", where), read_usize(obj, "max", where))


@dataclass(frozen=True)
class InvalidEncoding(SkipReason):
    encoding: str

    RUST_NAME: ClassVar[str] = "InvalidEncoding"

    def __post_init__(self) -> None:
        check_str(self.encoding, "InvalidEncoding.encoding")

    def __str__(self) -> str:
        return f"invalid encoding: {self.encoding}"

    def to_dict(self) -> Json:
        return {"invalid_encoding": self.encoding}

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> InvalidEncoding:
        return cls(_read_text(payload, where))


@dataclass(frozen=True)
class ContentDeleted(SkipReason):
    RUST_NAME: ClassVar[str] = "ContentDeleted"

    def __str__(self) -> str:
        return "content deleted"

    def to_dict(self) -> Json:
        return "content_deleted"

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> ContentDeleted:
        expect_unit(payload, where)
        return cls()


@dataclass(frozen=True)
class PermanentApiError(SkipReason):
    message: str

    RUST_NAME: ClassVar[str] = "PermanentApiError"

    def __post_init__(self) -> None:
        check_str(self.message, "PermanentApiError.message")

    def __str__(self) -> str:
        return f"permanent API error: {self.message}"

    def to_dict(self) -> Json:
        return {"permanent_api_error": self.message}

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> PermanentApiError:
        return cls(_read_text(payload, where))


@dataclass(frozen=True)
class ManualSkip(SkipReason):
    reason: str

    RUST_NAME: ClassVar[str] = "ManualSkip"

    def __post_init__(self) -> None:
        check_str(self.reason, "ManualSkip.reason")

    def __str__(self) -> str:
        return f"manually skipped: {self.reason}"

    def to_dict(self) -> Json:
        return {"manual_skip": self.reason}

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> ManualSkip:
        return cls(_read_text(payload, where))


_ORDER: tuple[type[SkipReason], ...] = (
    ContentTooLarge,
    InvalidEncoding,
    ContentDeleted,
    PermanentApiError,
    ManualSkip,
)
# Serde writes snake_case; the PascalCase Rust names are read too (harmless, and the
# same leniency the crate shows for models and states).
_VARIANTS: dict[str, type[SkipReason]] = {
    **{variant.RUST_NAME: variant for variant in _ORDER},
    **{snake_case(variant.RUST_NAME): variant for variant in _ORDER},
}
