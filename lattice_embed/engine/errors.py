"""The engine's errors: each names what was asked, what stands in the way, and the numbers."""

from __future__ import annotations

__all__ = [
    "EngineError",
    "MigrationConflictError",
    "ModelMismatchError",
    "RollbackRefusedError",
    "StoreError",
]


class EngineError(Exception):
    """Base of every error the migration engine raises on purpose."""


class StoreError(EngineError):
    """The store cannot be opened or used: a bad path or URL, a server that is down, a missing
    extension, a schema of another version."""


class ModelMismatchError(EngineError, ValueError):
    """A model whose identity (name, width or weight fingerprint) differs from the space it
    would write to or read from. Spaces are never mixed."""


class MigrationConflictError(EngineError, ValueError):
    """An operation the migration's current state does not allow (the message says which
    state, and what would allow it)."""


class RollbackRefusedError(MigrationConflictError):
    """A rollback after the rollback window closed, or with nothing to roll back."""
