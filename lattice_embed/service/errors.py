"""The errors an embedding service raises: the original's `EmbedError` as Python exceptions.

Each class also derives from the built-in exception a Python caller would catch for that
kind of failure (`ValueError` for bad input, `FileNotFoundError` for missing model files,
`RuntimeError` for failures while loading or running a model), so `except ValueError` works
without importing this module. Messages keep the original's wording ("invalid input: ...",
"text too long: ... bytes exceeds maximum ... bytes").

Every class stores its constructor arguments in `args` and builds its message in `__str__`,
so the errors pickle (to worker processes) and round-trip unchanged.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EmbedError",
    "HubUnreachableError",
    "InferenceError",
    "InvalidInputError",
    "ModelInitializationError",
    "ModelNotFoundError",
    "TextTooLongError",
    "UnsupportedModelError",
    "UnsupportedOperationError",
]


class EmbedError(Exception):
    """Base of every error an embedding service raises (the original's `EmbedError`)."""

    prefix: ClassVar[str] = ""
    """Put before the detail in the message, e.g. `"invalid input: "`."""

    def __str__(self) -> str:
        return f"{self.prefix}{super().__str__()}"


class InvalidInputError(EmbedError, ValueError):
    """The caller's texts break a limit: an empty batch, more than 1000 texts, a wrong model."""

    prefix = "invalid input: "


class TextTooLongError(InvalidInputError):
    """One text is longer than `MAX_TEXT_BYTES` UTF-8 bytes (checked before any instruction)."""

    # `max` shadows the builtin on purpose: it is the original's field name.
    def __init__(self, length: int, max: int, index: int) -> None:  # noqa: A002
        super().__init__(length, max, index)
        self.length = length
        """The text's length in UTF-8 bytes."""
        self.max = max
        """The limit it exceeds."""
        self.index = index
        """The text's position in the batch."""

    def __str__(self) -> str:
        return (
            f"text too long: {self.length} bytes exceeds maximum {self.max} bytes "
            f"(text {self.index} of the batch)"
        )


class UnsupportedModelError(EmbedError, ValueError):
    """The backend cannot run this model at all (e.g. Qwen3 or a remote model on the native one)."""

    prefix = "model not supported: "


class ModelNotFoundError(EmbedError, FileNotFoundError):
    """The model's files are nowhere the resolver looked; the message says where it looked."""


class HubUnreachableError(ModelNotFoundError):
    """Not found locally, and the Hugging Face hub could not be reached to download it (found
    out with one quick connection attempt, before any download and its retries). The message
    names LATTICE_OFFLINE=1 / HF_HUB_OFFLINE=1, which skip the hub altogether."""


class ModelInitializationError(EmbedError, RuntimeError):
    """The model's files exist but could not be loaded (bad config, corrupt weights, ...)."""

    prefix = "model initialization failed: "


class InferenceError(EmbedError, RuntimeError):
    """Running the model failed, or it returned the wrong number of vectors."""

    prefix = "embedding inference failed: "


class UnsupportedOperationError(EmbedError, NotImplementedError):
    """The backend cannot do this operation, e.g. count tokens (the original's `Unsupported`)."""

    prefix = "unsupported operation: "
